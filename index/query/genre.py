"""Genres: what kind of document each one is, and which kind a question says it is asking about.

Staff say "the notice", "the plan", 通知里, or "this law", 本法, 这部法律 instead of
a title. A document's genre is read from its own text, not its title (the seed
notice is untitled: its variants' headers disagree): a document most of whose
clauses are numbered articles (第十二条) is a law; one that calls itself a notice,
plan or opinion near its start is a notice. The fusion then favours documents of
the genre a question names.
"""

from __future__ import annotations

import re
from typing import Literal

from index.corpus.model import Collation

Genre = Literal["law", "notice", ""]

_ARTICLE = re.compile(r"^\s*第[一二三四五六七八九十百零〇两\d]+条")
# A law: at least this share of its clause groups open with an article number.
ARTICLE_SHARE = 0.3
# A notice names itself in its first clauses (its title line or opening sentence).
_NOTICE_SELF = re.compile(r"通知|实施方案|行动计划|工作方案|意见|规划|办法的通知|公告")
OPENING_GROUPS = 6

_ASKS_NOTICE = re.compile(
    r"\b(?:notice|circular|the plan|this plan|action plan|the document|this document|the file)\b"
    r"|通知|方案|文件里|文件中|这份文件|该文件|行动计划|规划里",
    re.IGNORECASE,
)
_ASKS_LAW = re.compile(
    r"\b(?:the law|this law|that law|statute|legislation|under the act|the act|regulations?)\b"
    r"|本法|这部法|该法|这个法|法律规定|法律里|法律中|法条|条例|依法|按法律",
    re.IGNORECASE,
)


def document_genre(collation: Collation) -> Genre:
    """A document's genre from its clauses: numbered articles make a law, a self-description at the
    start makes a notice; otherwise none."""
    groups = collation.groups
    if not groups:
        return ""
    articles = sum(1 for g in groups if _ARTICLE.match(g.canonical))
    if articles >= ARTICLE_SHARE * len(groups):
        return "law"
    opening = " ".join([collation.title, *(g.canonical for g in groups[:OPENING_GROUPS])])
    return "notice" if _NOTICE_SELF.search(opening) else ""


def asked_genre(question: str) -> Genre:
    """The genre a question names ("the notice", 本法), or "" when it names none or both."""
    notice, law = bool(_ASKS_NOTICE.search(question)), bool(_ASKS_LAW.search(question))
    if notice == law:
        return ""
    return "notice" if notice else "law"
