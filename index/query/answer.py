"""What a question asks for, and short answers to count questions.

- `asked_kind`: the kind of value a question asks for (an age, a sum of money, a length of time, a
  date, a share …) and whether a clause states one: a clause that states no value of the kind asked
  does not answer, however close its words (the answerability model reads it);
- `count_answer`: for a count question (多少 / 几 / how many), the number-and-measure span of a
  clause and which variants agree on it.
"""

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
    # 最低要什么学历 asks what, not how much.
    r"|minimum|maximum|多少|几[个次年天所条项名岁]|多久|多长|多大|比例|百分之|上限|下限|最[高低](?!.{0,3}(?:什么|哪))",
    re.IGNORECASE,
)
_STATED_QUANTITY = re.compile(
    r"\d|[一二三四五六七八九十百千万两]+(?:个|次|年|天|日|所|条|项|名|岁|周岁|倍|%|元|小时|人|月|分之)|百分之"
)
# Numbers that only number things: an article (第十二条), a chapter, a list item (（一）, 三、).
_NUMBERING = re.compile(
    r"第[一二三四五六七八九十百零〇\d]+[条章节款项编]|[（(][一二三四五六七八九十\d]+[）)]|[一二三四五六七八九十\d]+[、.．]"
)
_NUMBER = rf"(?:\d+(?:\.\d+)?|[{_NUMERALS}亿]+)"
# A calendar date or year (2021年9月1日, 九月十日, 二〇二二年): when something happens, not how long it lasts.
_DATE = re.compile(rf"(?:(?:1[89]|20)\d\d|[〇零一二三四五六七八九]{{4}})年|{_NUMBER}月{_NUMBER}[日号]")
_ASKS_AMOUNT = re.compile(r"多少|how much|minimum|maximum|最高|最低|上限|下限", re.IGNORECASE)
_DURATION = re.compile(rf"{_NUMBER}\s*(?:个)?(?:年|天|日|月|小时|周|星期|分钟|工作日|学时|课时)")


@dataclass(frozen=True)
class AnswerKind:
    """A kind of value a question asks for, and how a clause that gives one reads.

    The expected answer type of classic question answering: a clause that states no value of the
    kind asked ("How old must …?" against a clause with no age) does not answer, however close its
    words are. The first kind whose `asked` pattern matches is the question's.
    """

    name: str
    asked: re.Pattern[str]
    stated: re.Pattern[str]
    undated: bool = False  # read the clause with its dates removed (a date is no length of time)
    amount: bool = False  # `asked` names only the thing; the question must also ask how much of it

    def asked_in(self, question: str) -> bool:
        return bool(self.asked.search(question)) and (not self.amount or bool(_ASKS_AMOUNT.search(question)))

    def stated_in(self, text: str) -> bool:
        text = _NUMBERING.sub("", text)
        return bool(self.stated.search(_DATE.sub("", text) if self.undated else text))


def _kind(name: str, asked: str, stated: str, undated: bool = False, amount: bool = False) -> AnswerKind:
    flags = re.IGNORECASE
    return AnswerKind(name, re.compile(asked, flags), re.compile(stated, flags), undated, amount)


ANSWER_KINDS: tuple[AnswerKind, ...] = (
    # Where to call, write or look: a phone number, an e-mail, a website or a street address. ("地址"
    # and "address of" ask for one; a bare "address" is as often the verb, "how does the law address".)
    _kind(
        "contact",
        r"电话|手机号|联系方式|邮箱地址|哪个网站|什么网站|官网|官方网站|网址|地址|phone number|telephone"
        r"|e-?mail address|contact (?:number|details)|website|web ?site|\burl\b"
        r"|(?:street|mailing|postal|home|office) address|address of",
        # A house number (韶山路12号), never a date (9月10号, removed first) or a decree's (第591号).
        r"\d{3,}[-\s]?\d{4,}|@|https?:|www\.|\.(?:cn|com|org|net)\b|(?<![第\d])\d+号",
        undated=True,
    ),
    _kind(
        "share",
        r"百分之几|百分比|比例|几成|what (?:percentage|percent|share|proportion)",
        rf"%|百分之|分之|{_NUMBER}成",
    ),
    _kind(
        "age",
        r"几岁|多少岁|多大|年龄|how old|(?:what|which|minimum|maximum) age|age limit",
        rf"{_NUMBER}\s*(?:周岁|岁)|years? old",
    ),
    _kind(
        "date",
        r"哪一?年|几月几[日号]|哪一?天|什么日期|几号|几月份?|哪个月|(?:what|which) (?:year|date|day|month)",
        rf"{_DATE.pattern}|{_NUMBER}月",
    ),
    _kind(
        "frequency",
        r"多久.{0,3}一次|几次|多少次|how often|how many times",
        rf"{_NUMBER}\s*次|每[年月周季日天学]|定期|年度|annual|yearly",
    ),
    _kind(
        "duration",
        r"多久|多长时间|几年|多少年|几天|多少天|几个月|多少个月|几个?小时|多少个?小时|几周|多少周"
        r"|how long|how soon|how many (?:years|days|months|hours|weeks|minutes)"
        r"|how much (?:time|advance notice|notice)|deadline|期限|截止",
        _DURATION.pattern,
        undated=True,
    ),
    _kind(
        "money",
        r"钱|资金|经费|费用|学费|工资|薪|补贴|补助|奖学金|赔|罚|价|预算|元"
        r"|yuan|money|cost|price|fee|tuition|salary|wage|\bpaid\b|\bpay\b|fund|fine|compensation"
        r"|subsid|allowance|scholarship|budget",
        rf"{_NUMBER}\s*(?:万|亿)?元|倍|yuan",
        amount=True,
    ),
    _kind(
        "people",
        r"(?:多少|几)(?:个|名|位)?(?:人|学生|教师|老师|员工|职工|工人|用户|孩子|儿童|从业人员)"
        r"|how many (?:people|persons|students|teachers|staff|employees|workers|users|children|members)",
        rf"{_NUMBER}\s*(?:人|名|万人)",
    ),
    _kind(
        "measure",
        r"多高|多远|多重|多宽|多深|面积|how (?:tall|high|far|heavy|wide|deep)",
        rf"{_NUMBER}\s*(?:米|公里|千米|厘米|毫米|克|公斤|千克|吨|平方米|亩|公顷)",
    ),
    # Any other amount (how many, a limit): any quantity, article and list numbering aside, and dates
    # too (a clause that says only 2022年4月1日 tells no "how many").
    AnswerKind("quantity", _ASKS_QUANTITY, _STATED_QUANTITY, undated=True),
)


def asked_kind(question: str) -> AnswerKind | None:
    """The kind of value a question asks for (an age, a sum of money, a length of time …), if any."""
    return next((kind for kind in ANSWER_KINDS if kind.asked_in(question)), None)


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
