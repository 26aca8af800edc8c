"""The question analysed once, on the real index's tokenizer and dictionaries: what each stage reads."""

from __future__ import annotations

from index.query import Searcher
from index.retrieval.lexical import ChineseTokenizer


def test_traditional_characters_and_full_width_forms_are_read_as_simplified(searcher: Searcher) -> None:
    asked = searcher.analyse("  要建設多少個楚怡文化傳承基地？ ")
    assert asked.text == "要建设多少个楚怡文化传承基地?"
    assert not asked.english and asked.asks_count and not asked.asks_when
    assert any("楚怡" in concept.tokens for concept in asked.concepts)


def test_an_english_question_carries_its_translation_and_what_is_left_untranslated(
    searcher: Searcher,
) -> None:
    asked = searcher.analyse("When was the notice on zebra crossings issued?")
    assert asked.english and asked.asks_when and not asked.asks_count
    assert "zebra" in asked.untranslated and 0.0 <= asked.translated_share < 1.0
    assert [c.tokens for c in asked.untranslated_concepts if c.tokens == ["zebra"]]
    assert {c.tokens[0] for c in asked.english_concepts} >= {"notic", "zebra", "issu"}
    assert asked.embedded_text.startswith(asked.text)


def test_a_chinese_question_has_no_english_side(searcher: Searcher) -> None:
    asked = searcher.analyse("楚怡优秀技工院校要遴选建设多少所？")
    assert asked.english_concepts == [] and asked.untranslated == [] and asked.translated_share == 1.0
    assert asked.embedded_text == asked.text


def test_a_search_tokenises_once_and_scores_each_token_once_per_index(
    searcher: Searcher, monkeypatch
) -> None:
    import bm25s

    calls: dict[str, list] = {"words": [], "scored": []}
    words, get_scores = ChineseTokenizer.words, bm25s.BM25.get_scores

    def counted_words(self, text):
        calls["words"].append(text)
        return words(self, text)

    def counted_scores(self, tokens, *args, **kwargs):
        calls["scored"].append((id(self), tuple(tokens)))
        return get_scores(self, tokens, *args, **kwargs)

    monkeypatch.setattr(ChineseTokenizer, "words", counted_words)
    monkeypatch.setattr(bm25s.BM25, "get_scores", counted_scores)
    for question in (
        "全省遴选建设多少所楚怡优秀中职学校？",
        "How many high-level vocational colleges will be selected?",
    ):
        calls["words"].clear()
        calls["scored"].clear()
        assert searcher.search(question, 5).hits
        assert len(calls["words"]) == 1, calls["words"]  # the question's precise-mode words, once
        assert calls["scored"] and len(calls["scored"]) == len(set(calls["scored"])), (
            "a token was scored twice"
        )
