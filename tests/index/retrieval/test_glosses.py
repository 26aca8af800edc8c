"""Numbers across forms and English glosses from CC-CEDICT: the real dictionary and the real jieba."""

from __future__ import annotations

import pytest

from index.retrieval.glosses import EnglishAnalyzer, gloss_terms
from index.retrieval.lexical import ChineseTokenizer, numeral_form


@pytest.mark.parametrize(
    ("written", "digits"),
    [
        ("十六", "16"),
        ("一百", "100"),
        ("二十二", "22"),
        ("一百一十九", "119"),
        ("二〇二一", "2021"),
        ("三万五千", "35000"),
    ],
)
def test_chinese_numerals_read_as_digits(written: str, digits: str) -> None:
    assert numeral_form(written) == digits


def test_words_that_are_not_numbers_stay_as_they_are() -> None:
    assert [numeral_form(w) for w in ("周岁", "一批", "统一")] == ["周岁", "一批", "统一"]


def test_a_number_inside_a_word_also_stands_alone() -> None:
    tokens = ChineseTokenizer().tokens("不得招用未满十六周岁未成年人")
    assert "16" in tokens
    assert "16" in ChineseTokenizer().tokens("不满16岁的孩子")


def test_clause_words_gloss_into_stemmed_english() -> None:
    analyzer = EnglishAnalyzer()
    terms = gloss_terms(ChineseTokenizer().tokens("禁止向未成年人销售烟、酒"), analyzer)
    question = analyzer.terms("Is it legal to sell cigarettes or alcohol to minors?")
    assert {"sell", "cigarett", "alcohol", "minor"} <= set(question)
    assert {"sell", "cigarett", "wine", "minor"} <= set(terms)  # 酒's first sense is "wine"
    assert "insur" in gloss_terms(["工伤保险", "保险"], analyzer)


def test_a_homophone_typo_reads_as_the_one_corpus_word_that_sounds_so() -> None:
    from index.retrieval.homophones import Homophones, sound_of

    assert sound_of("楚怡") == sound_of("楚仪") == "chu yi"
    homophones = Homophones(["楚怡", "技工", "院校", "实施", "事实"])
    assert homophones.correction("楚仪") == "楚怡"
    assert homophones.correction("楚怡") is None  # a corpus word is not a typo
    assert homophones.correction("时事") is None  # two corpus words sound like it: ambiguous


def test_english_dates_and_counts_are_written_as_chinese_documents_write_them() -> None:
    from index.retrieval.expansion import numbers_and_dates

    assert numbers_and_dates("Does it take effect on May 1, 2021?") == [("may 1, 2021", "2021年5月1日")]
    assert numbers_and_dates("Is the term three years?") == [("three years", "3年")]
    assert numbers_and_dates("children under 16 years old") == [("16 years old", "16周岁")]
    tokens = ChineseTokenizer().tokens("期限为三年")
    assert "3" in tokens and "3" in ChineseTokenizer().tokens("3年")


def test_a_title_reads_as_its_words_and_their_english() -> None:
    from index.retrieval.glosses import sub_words, title_words

    assert sub_words("保护法") == ["保护", "法"]
    words = title_words(["中华人民共和国", "未成年人", "保护法"], EnglishAnalyzer())
    forms = {word[0]: set(word[1:]) for word in words}
    assert set(forms) == {"未成年人", "保护", "法"}  # the country's name names no document
    assert "minor" in forms["未成年人"] and "protect" in forms["保护"] and "law" in forms["法"]
