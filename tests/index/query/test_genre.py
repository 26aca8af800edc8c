"""Genres read from a document's own clauses, and the genre a question names (pure logic)."""

from __future__ import annotations

import pytest

from index.corpus.model import ClauseGroup, Collation, Support
from index.query.genre import asked_genre, document_genre


def _collation(texts: list[str], title: str = "") -> Collation:
    groups = [
        ClauseGroup(str(i), text, "v", (), "clause", [], Support(["v"], 1, 1)) for i, text in enumerate(texts)
    ]
    return Collation(variants=["v"], groups=groups, title=title)


def test_numbered_articles_make_a_law_and_a_self_description_a_notice() -> None:
    law = _collation(["总则", "第一条 为了保障教师的合法权益，制定本法。", "第二条 本法适用于各级各类学校。"])
    assert document_genre(law) == "law"
    notice = _collation(["湖南省人民政府办公厅关于印发《实施方案》的通知", "各市州人民政府："])
    assert document_genre(notice) == "notice"
    assert document_genre(_collation(["一段没有自我描述的文字。"])) == ""
    assert document_genre(_collation([])) == ""


@pytest.mark.parametrize(
    ("question", "genre"),
    [
        ("What does the notice say about funding?", "notice"),
        ("通知里说要建几所学校？", "notice"),
        ("Does this law apply to private schools?", "law"),
        ("本法所称教师是指什么人？", "law"),
        ("How many schools will be built?", ""),
        ("Does the notice follow the law?", ""),  # names both: no cue
    ],
)
def test_a_question_names_a_genre_or_none(question: str, genre: str) -> None:
    assert asked_genre(question) == genre
