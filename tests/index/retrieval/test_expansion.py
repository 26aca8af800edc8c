"""English-to-Chinese expansion: glossary phrases, dictionary words, corpus-restricted lexicon."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.retrieval.expansion import (
    QueryExpander,
    american_spelling,
    build_lexicon,
    lemma,
    load_glossary,
    load_synonyms,
    romanised_names,
)


def test_lemma_makes_crude_singulars() -> None:
    assert [lemma(w) for w in ["schools", "cities", "bases", "classes", "campus"]] == [
        "school",
        "city",
        "base",
        "class",
        "campus",
    ]
    # Words the suffix rules would mangle.
    assert [lemma(w) for w in ["does", "goes", "series"]] == ["do", "go", "series"]


def test_verb_forms_find_their_entry() -> None:
    expander = QueryExpander({"assess": ["评估"], "cultivate": ["培育"], "plan": ["规划"]}, {})
    assert expander.expand("It was assessed").terms == {"评估": 1.0}
    assert expander.expand("groups cultivated").terms == {"培育": 1.0}
    assert expander.expand("what is planned").terms == {"规划": 1.0}


def test_longest_glossary_phrase_wins() -> None:
    glossary = {"vocational": ["职业"], "vocational school": ["职业院校"], "school": ["学校"]}
    expansion = QueryExpander(glossary, {}).expand("Which vocational schools?")
    assert [m[0] for m in expansion.matched] == ["vocational school"]
    assert expansion.terms == {"职业院校": 1.0}


def test_dictionary_fills_in_below_the_glossary() -> None:
    expansion = QueryExpander({}, {"housing": ["住房"]}).expand("What about housing?")
    assert expansion.terms == {"住房": 0.5}


def test_words_that_frame_a_question_are_not_translated() -> None:
    lexicon = {"say": ["称"], "actually": ["实际"], "housing": ["住房"]}
    expansion = QueryExpander({}, lexicon).expand("What does the notice actually say about housing?")
    assert expansion.terms == {"住房": 0.5}


def test_chinese_questions_are_not_expanded() -> None:
    assert not QueryExpander(load_glossary(), {}).expand("楚怡技工院校建设多少所？").terms


def test_lexicon_only_keeps_words_the_corpus_has() -> None:
    lexicon = build_lexicon({"住房", "智库"})
    assert lexicon["housing"] == ["住房"] and lexicon["think tank"] == ["智库"]
    assert all(set(words) <= {"住房", "智库"} for words in lexicon.values())


def test_shipped_data_files_parse() -> None:
    assert len(load_glossary()) > 100
    assert "含" in load_synonyms()["包括"]


def test_a_malformed_glossary_line_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "g.tsv"
    path.write_text("housing 住房\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"g\.tsv:1"):
        load_glossary(path)


def test_a_phrasal_verb_is_looked_up_whole_though_its_particle_is_a_stopword() -> None:
    lexicon = {"beat up": ["殴打"], "beat": ["打赢"], "shut down": ["关闭"]}
    expander = QueryExpander({}, lexicon)
    assert [m[:2] for m in expander.expand("What happens to someone who beats up a teacher?").matched] == [
        ("beat up", ["殴打"])
    ]
    assert expander.expand("Can they shut down a shop?").terms == {"关闭": 0.5}
    # A stopword before the particle is no phrasal verb: "it up" is not looked up, even where an entry has it.
    assert QueryExpander({}, {"it up": ["它"]}).expand("Look it up").terms == {}


def test_names_spelt_in_pinyin_join_the_lexicon_and_common_words_do_not() -> None:
    """Pure logic on a made-up dictionary: 楚怡 (unknown to the dictionary and to jieba) and 新化 (a
    county and nothing else) are names; 处以 is a word jieba knows, 复兴 also a common word; 他克, a
    name, is spelt "take", which is an English word, so it stays out."""
    senses = {
        "新化": ("Xinhua county in Loudi, Hunan",),
        "复兴": ("Fuxing district", "to revive"),
        "他克": ("Take county",),
        "拿": ("to take",),
    }
    vocabulary = {"楚怡", "处以", "新化", "复兴", "他克"}
    names = romanised_names(vocabulary, senses, is_common_word=lambda word: word == "处以")
    assert names["chuyi"] == names["chu yi"] == ["楚怡"] and names["xinhua"] == ["新化"]
    assert "fuxing" not in names
    lexicon = build_lexicon(vocabulary, senses, is_common_word=lambda word: word == "处以")
    assert lexicon["chuyi"] == ["楚怡"] and lexicon["xin hua"] == ["新化"]
    assert "take" not in lexicon and "ta ke" not in lexicon


def test_british_spellings_the_dictionary_does_not_know_are_read_the_american_way() -> None:
    """Pure logic, on a made-up lexicon: CC-CEDICT glosses in American spelling, so "licence" and
    "centres" found nothing; a word is respelt only when it is unknown and its respelling is known."""
    lexicon = {
        word: ["译"]
        for word in (
            "center",
            "license",
            "organization",
            "behavior",
            "program",
            "analyze",
            "advise",
            "premise",
        )
    }
    expander = QueryExpander({}, lexicon)
    assert (
        expander.respell("Licence centres: organisations' behaviour, programmes; analysed")
        == "license centers: organizations' behavior, programs; analyzed"
    )
    # Known words stay, however British they look; so does a word whose respelling is unknown too.
    assert expander.respell("advise on the premises of a fertiliser plant") == (
        "advise on the premises of a fertiliser plant"
    )
    assert american_spelling("hour", lambda word: word == "hor") == "hour"  # "our" needs a stem before it
    assert american_spelling("labour", lambda word: word == "labor") == "labor"
