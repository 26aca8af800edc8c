"""Short answers to count questions (多少 / 几 / how many): the number-and-measure span, and who agrees."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from index.corpus.model import ClauseGroup

_COUNT_QUESTION = re.compile(
    r"多少|几[所个项家名条类批次种座]?|how\s+many|how\s+much|number\s+of", re.IGNORECASE
)
_NUMERALS = "〇零一二两三四五六七八九十百千万"
# A number and its measure ("5 所", "十四个", "12%"), or a share written out ("百分之十五"); never
# starting inside a longer number (二〇二六年 is not 二六年) or an ordinal (第十二条 counts nothing).
_QUANTITY = re.compile(
    rf"(?<![\d.第{_NUMERALS}])(?:百分之[{_NUMERALS}点]+|(\d+(?:\.\d+)?|[{_NUMERALS}]+)\s*"
    r"(所|个|项|家|名|人|条|类|次|种|座|支|份|万元|亿元|元|年|%))"
)
# A calendar year (2026年, 二〇二六年) is a date, not a count of years.
_YEAR = re.compile(r"(?:1[89]|20)\d\d|[〇零一二三四五六七八九]{4}")
_PIECE_BREAK = re.compile(r"[。;!?,、]")
_FOLLOW_WINDOW = 12


# A question that asks for an amount, a length of time, an age, a share, a limit: its answer states one.
_ASKS_QUANTITY = re.compile(
    r"how (?:much|many|long|old|often|soon)|what (?:percentage|percent|share|proportion|amount|age)"
    r"|minimum|maximum|多少|几[个次年天所条项名岁]|多久|多长|多大|比例|百分之|上限|下限|最高|最低",
    re.IGNORECASE,
)
_STATED_QUANTITY = re.compile(
    r"\d|[一二三四五六七八九十百千万两]+(?:个|次|年|天|日|所|条|项|名|岁|周岁|倍|%|元|小时|人|月|分之)|百分之"
)
# Numbers that only number things: an article (第十二条), a chapter, a list item (（一）, 三、).
_NUMBERING = re.compile(
    r"第[一二三四五六七八九十百零〇\d]+[条章节款项编]|[（(][一二三四五六七八九十\d]+[）)]|[一二三四五六七八九十\d]+[、.．]"
)


def asks_quantity(question: str) -> bool:
    """Whether a question asks for a quantity (how much, how long, 多少, 几年, a share, a limit)."""
    return bool(_ASKS_QUANTITY.search(question))


def states_quantity(text: str) -> bool:
    """Whether a clause states a quantity, its article and list numbering aside."""
    return bool(_STATED_QUANTITY.search(_NUMBERING.sub("", text)))


def is_count_question(question: str) -> bool:
    return bool(_COUNT_QUESTION.search(question))


def counted_phrase(question: str) -> str:
    """The words right after the count word: what the question counts."""
    match = _COUNT_QUESTION.search(question)
    if not match:
        return ""
    rest = question[match.end() :]
    if re.search(r"[A-Za-z]", match.group(0)):
        return " ".join(rest.split()[:3])
    return re.split(r"[?？,，。]", rest, maxsplit=1)[0][:10]


@dataclass
class Quantity:
    text: str
    start: int
    end: int


@dataclass
class CountAnswer:
    text: str
    group_id: str
    variants: list[str]
    count: int
    total: int
    disagreements: list[dict[str, str]] = field(default_factory=list)

    @property
    def agreed(self) -> bool:
        return not self.disagreements

    @property
    def summary(self) -> str:
        """One line for a person: the answer, how many variants carry it, who says otherwise."""
        line = f"{self.text} ({self.count} of {self.total} variants)"
        if self.disagreements:
            others = "; ".join(f"{d['variant']} says {d['text']}" for d in self.disagreements)
            line += f"; readings disagree: {others}"
        return line


def quantities(text: str) -> list[Quantity]:
    """The quantities a text states, in order: numbers with their measure, and written-out shares."""
    return [
        Quantity(m.group(0).replace(" ", ""), m.start(), m.end())
        for m in _QUANTITY.finditer(text)
        if not (m.group(2) == "年" and _YEAR.fullmatch(m.group(1)))
    ]


def asked_measure(question: str) -> str | None:
    """The measure word a Chinese count question names: 多少所 -> 所."""
    match = re.search(r"(?:多少|几)\s*(所|个|项|家|名|人|条|类|次|种|座|支|份)", question)
    return match.group(1) if match else None


def _score(
    text: str, quantity: Quantity, terms: list[str], counted: list[str], measure: str | None
) -> tuple[int, int, int, int, int]:
    """What is counted follows the number ("14个市州"); the clause piece around it should match the question."""
    following = text[quantity.end : quantity.end + _FOLLOW_WINDOW]
    names_counted = sum(len(t) for t in counted if t in following)
    same_measure = int(measure is not None and quantity.text.endswith(measure))
    follows = sum(len(t) for t in terms if t in following)
    piece_start = max((m.end() for m in _PIECE_BREAK.finditer(text, 0, quantity.start)), default=0)
    piece_end = next((m.start() for m in _PIECE_BREAK.finditer(text, quantity.end)), len(text))
    piece = text[piece_start:piece_end]
    overlap = sum(len(t) for t in terms if t in piece)
    return names_counted, same_measure, follows, overlap, -quantity.start


def _counted_noun(text: str, quantity: Quantity) -> str:
    return text[quantity.end : quantity.end + 4]


def count_answer(
    group: ClauseGroup, terms: list[str], counted: list[str] = (), measure: str | None = None
) -> CountAnswer | None:
    """The quantity in a group's canonical reading that best answers a count question, with its support.

    `terms` are the question's search terms; `counted` those naming what is
    counted (the words after 多少 / how many); `measure` the measure word asked.
    """
    found = quantities(group.canonical)
    if not found:
        return None
    best = max(found, key=lambda q: _score(group.canonical, q, terms, list(counted), measure))
    noun = _counted_noun(group.canonical, best)
    agreeing, disagreements = [], []
    for reading in group.readings:
        own = quantities(reading.text)
        if any(q.text == best.text for q in own):
            agreeing.append(reading.variant)
            continue
        rival = next((q for q in own if noun and _counted_noun(reading.text, q) == noun), None)
        if rival is not None:
            disagreements.append({"variant": reading.variant, "text": rival.text})
    return CountAnswer(
        text=best.text,
        group_id=group.id,
        variants=agreeing,
        count=len(agreeing),
        total=group.support.total,
        disagreements=disagreements,
    )
