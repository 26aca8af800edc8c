"""The question analysed once, on the real index's tokenizer and dictionaries: what each stage reads."""

from __future__ import annotations

from index.query import Searcher
from index.retrieval.lexical import QUESTION_FILLERS, ChineseTokenizer


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


def test_an_english_question_s_framing_words_are_not_left_untranslated(searcher: Searcher) -> None:
    """ "Does", "actually", "say", "I'm" frame an everyday question: they are neither untranslated content
    words (which would lower the translated share) nor English concepts; "does" is no "doe"."""
    asked = searcher.analyse("I'm a parent: what does the notice actually say about zebra crossings?")
    assert "zebra" in asked.untranslated
    assert not {"i'm", "doe", "do", "actually", "say"} & set(asked.untranslated), asked.untranslated
    assert {c.tokens[0] for c in asked.english_concepts} == {"parent", "notic", "zebra", "cross"}


def test_a_british_spelling_is_translated_as_the_american_one_is(searcher: Searcher) -> None:
    """CC-CEDICT's glosses spell "organization"; "organisations" found nothing on the real index."""
    british = searcher.analyse("Which organisations will train the talent?")
    american = searcher.analyse("Which organizations will train the talent?")
    assert british.expansion.terms == american.expansion.terms and "组织" in british.expansion.terms
    assert "organisation" not in british.untranslated
    assert british.text == "Which organisations will train the talent?"  # shown and embedded as asked


def test_a_name_spelt_in_pinyin_is_read_as_the_corpus_s_name(searcher: Searcher) -> None:
    """The seed notice's own name 楚怡 and the county 新化, written the way English writes them."""
    asked = searcher.analyse("How many Chuyi schools are there in Xinhua county?")
    assert {"楚怡", "新化"} <= set(asked.expansion.terms)
    assert "chuyi" not in asked.untranslated and "xinhua" not in asked.untranslated
    assert searcher.analyse("how many chu yi schools").expansion.terms.get("楚怡")


def test_a_chinese_question_has_no_english_side(searcher: Searcher) -> None:
    asked = searcher.analyse("楚怡优秀技工院校要遴选建设多少所？")
    assert asked.english_concepts == [] and asked.untranslated == [] and asked.translated_share == 1.0
    assert asked.embedded_text == asked.text


def test_everyday_chinese_asks_with_words_that_are_not_what_it_asks_about(searcher: Searcher) -> None:
    """Pronouns, particles, A-not-A forms and filler verbs say how a question is asked: they are not
    concepts, so neither BM25 nor the share of the question a clause covers counts them."""
    colloquial = searcher.analyse("通知里有没有提到给孩子搞职业启蒙教育？")
    words = {concept.tokens[0] for concept in colloquial.concepts}
    assert words == {"通知", "孩子", "职业"}, words  # 职业启蒙教育 is one concept, its parts its tokens
    assert any("启蒙" in concept.tokens for concept in colloquial.concepts)
    # The same words in a clause still count: the index keeps every token it was built with.
    assert "能够" in ChineseTokenizer().tokens("能够提供") and "能够" in QUESTION_FILLERS


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


def test_when_asks_for_a_time_only_where_it_opens_the_question_or_a_clause() -> None:
    """Pure logic: "when" inside a sentence is a conjunction, and a date there answers nothing; the
    word "date" asks for one, except in "up to date" and "to date"."""
    from index.query.analysis import ASKS_WHEN

    asking = [
        "When did the law come into force?",
        "And when was it issued?",
        "Since when?",
        "它是哪天开始施行的？",
        "teachers law start date",
        "effective dates of the amendments",
    ]
    not_asking = [
        "Can workers refuse when the boss orders something dangerous?",
        "is there a probation period when someone starts teaching",
        "How must a school respond when a student is bullied?",
        "Must the register be kept up to date?",
        "How many schools have joined to date?",
    ]
    assert [bool(ASKS_WHEN.search(q)) for q in asking] == [True] * len(asking)
    assert [bool(ASKS_WHEN.search(q)) for q in not_asking] == [False] * len(not_asking)


def test_a_title_written_as_one_word_names_its_document(built_index, embedder) -> None:
    """高等教育法 is one token to the tokenizer; the title's words 高等教育 and 法 are inside it."""
    from index.published import LoadedIndex

    config, _ = built_index
    index = LoadedIndex.load(config.index_dir, embedder.model_id)
    index.title_words = {
        "higher": [["高等教育", "higher", "educ"], ["法", "law"]],
        "teachers": [["教师", "teacher"], ["法", "law"]],
    }  # two titles, as pure data: the analysis reads nothing else
    searcher = Searcher(index, embedder)
    assert searcher.analyse("高等教育法是哪天开始施行的？").named_document == ("higher", 1.0)
    assert searcher.analyse("按教师法，教师工资不低于谁？").named_document == ("teachers", 1.0)
    # A lone 法 inside another word names no law; 教师 alone names half a title, and only one.
    assert searcher.analyse("这个方法好吗？").named_document is None
    assert searcher.analyse("教师的办法有哪些？").named_document == ("teachers", 0.5)
