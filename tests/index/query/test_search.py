"""Retrieval on the real index: Chinese and English questions, support-aware ranking, count answers."""

from __future__ import annotations

import json

from index.corpus.model import ClauseGroup, Reading, Support
from index.corpus.normalize import normalize_text
from index.query import Searcher
from index.query.answer import ANSWER_KINDS, asked_kind, count_answer, is_count_question
from index.query.fusion import CONFIDENCE_FEATURES
from tests.helpers import ROOT

CHECKS = [
    json.loads(line) for line in (ROOT / "tests/data/checks.jsonl").read_text(encoding="utf-8").splitlines()
]


def _answers(group: ClauseGroup, needles: list[str]) -> bool:
    texts = [group.canonical, *(r.text for r in group.readings)]
    return any(all(normalize_text(n) in t and len(t) <= 400 for n in needles) for t in texts)


def test_project_check_questions_are_answered_at_rank_one(searcher: Searcher) -> None:
    """Questions the project wrote itself (not the evaluation set), half of them English."""
    misses = []
    for item in CHECKS:
        hits = searcher.search(item["question"], 3).hits
        if not _answers(hits[0].group, item["must_contain"]):
            misses.append((item["id"], hits[0].group.canonical[:40]))
    assert len(misses) <= len(CHECKS) // 10, misses


def test_english_question_finds_the_chinese_clause_and_its_count(searcher: Searcher) -> None:
    result = searcher.search("How many high-level higher vocational colleges will be selected?", 3)
    assert "高水平高职专科院校" in result.hits[0].group.canonical
    assert result.expansion.matched  # the glossary took part
    assert result.answer is not None and result.answer.text == "10所"


def test_count_answer_reports_support_and_agreement(searcher: Searcher) -> None:
    result = searcher.search("全省遴选建设多少所楚怡优秀中职学校？", 3)
    answer = result.answer
    assert answer is not None and answer.text == "10所"
    assert answer.count == answer.total == 5 and answer.agreed


def test_lone_variant_clause_is_found_and_flagged(searcher: Searcher) -> None:
    hit = searcher.search("支持建设多少个产教融合实训基地？", 5).hits[0]
    assert "80个" in hit.group.canonical
    assert hit.group.support.count == 1 and "single_variant" in hit.group.flags


def test_loops_never_flood_results(searcher: Searcher) -> None:
    hits = searcher.search("加强学校党组织书记队伍建设", 10).hits
    texts = [h.group.canonical for h in hits]
    assert len(texts) == len(set(texts))
    assert sum("党组织书记" in t for t in texts) <= 2


def _group(canonical: str, readings: dict[str, str]) -> ClauseGroup:
    return ClauseGroup(
        id="g1",
        canonical=canonical,
        canonical_variant="a",
        section_path=(),
        kind="item",
        readings=[Reading(v, t, t, 1, 1, 0, len(t)) for v, t in readings.items()],
        support=Support(list(readings), len(readings), 3),
    )


def test_count_answer_names_disagreeing_variants() -> None:
    group = _group(
        "主要行业重点办好1所以上骨干高职院校,遴选建设10所高水平高职专科院校。",
        {
            "a": "主要行业重点办好1所以上骨干高职院校,遴选建设10所高水平高职专科院校。",
            "b": "主要行业重点办好1所以上骨干高职院校,遴选建设12所高水平高职专科院校。",
            "c": "主要行业重点办好1所以上骨干高职院校,遴选建设10所高水平高职专科院校。",
        },
    )
    answer = count_answer(group, ["高职专科", "高水平", "遴选"], counted=["高水平"], measure="所")
    assert answer is not None and answer.text == "10所"
    assert answer.variants == ["a", "c"] and answer.disagreements == [{"variant": "b", "text": "12所"}]
    assert not answer.agreed
    assert answer.summary == "10所 (2 of 3 variants); readings disagree: b says 12所"


def test_count_questions_are_recognised() -> None:
    assert is_count_question("遴选建设几所？") and is_count_question("How many bases?")
    assert not is_count_question("What will the think tank do?")


def _kind(question: str) -> str | None:
    kind = asked_kind(question)
    return kind.name if kind else None


def test_the_kind_of_value_a_question_asks_for_is_recognised() -> None:
    """Pure logic: the question's expected answer type, the most specific kind first."""
    assert _kind("How much is the tuition?") == "money" and _kind("补贴每月多少钱？") == "money"
    assert _kind("安全生产费用按营业收入的百分之几提取？") == "share"  # a share, though of a fee
    assert _kind("招工最小能招多大的孩子？") == "age" and _kind("At what age can a child work?") == "age"
    assert _kind("How long do shops have to take goods back?") == "duration"
    assert _kind("教育局多长时间内得处理？") == "duration" and _kind("体检多久做一次？") == "frequency"
    assert _kind("教师节是几月几号？") == "date" and _kind("What's their phone number?") == "contact"
    assert _kind("公司员工超过多少人就得设机构？") == "people" and _kind("珠穆朗玛峰有多高？") == "measure"
    assert _kind("遴选建设几所？") == "quantity" and _kind("What's the maximum class size?") == "quantity"
    assert _kind("当小学老师最低要什么学历？") is None  # the least what, not how much
    assert _kind("What does the tuition cover?") is None  # money named, no amount asked
    assert _kind("Who approves a new college?") is None and _kind("When does a business need one?") is None
    # A website or a street address is where to look or write: a contact, as a phone number is.
    assert _kind("结果会在哪个网站公布？") == "contact"
    assert _kind("What is the street address of the school?") == "contact"
    assert _kind("How does the law address bullying?") is None  # the verb asks for nothing typed
    assert _kind("网站能不能随便收集我的信息？") is None  # a website named, not asked for
    assert _kind("技能大赛一般是几月份比？") == "date" and _kind("Which month is safety month?") == "date"
    assert _kind("试用期有几个月？") == "duration"  # how many months is a length, not a month


def test_a_clause_states_the_kind_asked_or_not() -> None:
    """Pure logic: numbering and dates are not the values asked for."""
    kinds = {kind.name: kind for kind in ANSWER_KINDS}
    assert kinds["quantity"].stated_in("遴选建设5所左右楚怡优秀技工院校")
    assert kinds["quantity"].stated_in("试用期为三个月")
    assert not kinds["quantity"].stated_in("2022年4月1日")  # a date is when, not how many
    # Article and list numbers number things; they state no quantity.
    assert not kinds["quantity"].stated_in("第十二条 教师应当遵守宪法、法律和职业道德。")
    assert not kinds["quantity"].stated_in("（一）加强组织领导。三、保障措施")
    # A date is when, not how long: 九月十日 answers no "how many days".
    assert not kinds["duration"].stated_in("第六条每年九月十日为教师节。")
    assert kinds["duration"].stated_in("应当在接到申诉的三十日内作出处理")
    assert kinds["date"].stated_in("第六条每年九月十日为教师节。")
    assert kinds["age"].stated_in("不得招用未满十六周岁的未成年人")
    assert not kinds["age"].stated_in("招用3名工人")
    assert kinds["money"].stated_in("处五十万元以上一百万元以下的罚款")
    assert not kinds["money"].stated_in("建设30个")
    assert kinds["share"].stated_in("按百分之十五提取") and not kinds["share"].stated_in("按规定提取")
    assert kinds["contact"].stated_in("详见 www.hunan.gov.cn 公告")
    assert kinds["contact"].stated_in("地址：长沙市韶山路12号")
    assert not kinds["contact"].stated_in("由省教育厅在官方网站公布")  # names a website, gives none
    assert not kinds["contact"].stated_in("每年9月10号为教师节")  # a date is no house number
    assert not kinds["contact"].stated_in("国务院令第591号公布")  # nor is a decree's number


def test_a_kind_nothing_states_counts_against_answering(searcher) -> None:
    """The feature is set when the first result states no value of the kind asked, and the fitted
    model lowers the confidence for it."""
    index = CONFIDENCE_FEATURES.index("kind_missing")
    asked = searcher.search("How much money does each think tank expert get paid per month?", top_k=3)
    kind = asked_kind("How much money does each think tank expert get paid per month?")
    assert kind is not None and kind.name == "money"
    stated = kind.stated_in(asked.hits[0].group.canonical)
    assert asked.features[index] == float(not stated)
    assert searcher.search("What will the think tank do?").features[index] == 0.0
    missing, present = (
        (*asked.features[:index], value, *asked.features[index + 1 :]) for value in (1.0, 0.0)
    )
    assert searcher.fusion.confidence(missing) < searcher.fusion.confidence(present)


def test_a_question_nothing_answers_is_judged_unanswerable(searcher) -> None:
    asked = searcher.search("What is the budget for the 2030 Asian Games?")
    assert asked.hits, "the closest passages are still listed"
    assert not asked.answerable and asked.confidence < searcher.fusion.answerable_at
    answered = searcher.search("楚怡优秀技工院校要遴选建设多少所？")
    assert answered.answerable and answered.confidence > 0.9


def test_traditional_characters_find_the_same_clause(searcher) -> None:
    simplified = searcher.search("要建设多少个楚怡文化传承基地？", 1).hits[0].group
    traditional = searcher.search("要建設多少個楚怡文化傳承基地？", 1).hits[0].group
    assert traditional.id == simplified.id and "20个" in traditional.canonical


def test_a_when_question_finds_the_dated_clause(searcher) -> None:
    import re

    for question in ("When was the notice issued?", "这个通知是什么时候印发的？"):
        top = searcher.search(question, 1).hits[0].group
        assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日", top.canonical), top.canonical


def test_a_question_naming_a_document_by_title_picks_it(built_index, embedder) -> None:
    from index.published import LoadedIndex
    from index.query import Searcher

    config, _ = built_index
    index = LoadedIndex.load(config.index_dir, embedder.model_id)
    index.title_words = {
        "seeds": [["楚怡", "chuyi"], ["行动", "action"]],
        "other": [["未成年人", "minor"], ["保护", "protect"], ["法", "law"]],
    }  # a second title, as pure data: the analysis reads nothing else
    searcher = Searcher(index, embedder)
    assert searcher.analyse("When does the Minors Protection Law take effect?").named_document == (
        "other",
        1.0,
    )
    assert searcher.analyse("楚怡行动要建设多少所学校？").named_document == ("seeds", 1.0)
    assert searcher.analyse("How many schools?").named_document is None
