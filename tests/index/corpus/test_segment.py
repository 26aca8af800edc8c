"""Structure-aware segmentation into clauses, on synthetic text and the real seeds."""

from index.corpus.model import Variant
from index.corpus.segment import Segmenter, marker_of
from tests.helpers import LAWS


def _variant(text: str) -> Variant:
    return Variant(id="t", path="t.txt", raw_text=text)


def test_heading_markers_and_levels() -> None:
    assert marker_of("二、主要任务") == (1, "二、")
    assert marker_of("(三)完善政策环境。") == (2, "(三)")
    assert marker_of("4.提高技工教育的实力") == (3, "4.")
    assert marker_of("2022年4月1日") == (0, None)


def test_section_path_follows_headings() -> None:
    text = "二、主要任务\n\n（二）建设“楚怡”高水平学校。\n\n4. 提高技工教育的实力。遴选建设 5 所“楚怡”优秀技工院校。\n"
    clauses = Segmenter().clauses(_variant(text))
    item = clauses[-1]
    assert item.kind == "item"
    assert item.section_path == ("二、主要任务", "(二)建设“楚怡”高水平学校", "4.提高技工教育的实力")
    assert [c.kind for c in clauses[:2]] == ["heading", "heading"]


def test_clause_broken_across_blank_lines_is_joined() -> None:
    text = "2.培育建设一批职教集团。培育建设30个由政府、\n\n行业、企业、院校等多方参与的职教集团。\n\n3.下一项。\n"
    clauses = Segmenter().clauses(_variant(text))
    assert (
        clauses[0].text
        == "2.培育建设一批职教集团。培育建设30个由政府、行业、企业、院校等多方参与的职教集团。"
    )
    assert (clauses[0].location.line_start, clauses[0].location.line_end) == (1, 3)
    assert clauses[1].text == "3.下一项。"


def test_complete_sentences_and_numbered_lines_are_not_joined() -> None:
    text = "一段完整的话。\n\n另一段完整的话。\n\n没有句号的一个很长的正文段落会被当作断行但是下一行\n\n1.是编号项。\n"
    texts = [c.text for c in Segmenter().clauses(_variant(text))]
    assert texts == [
        "一段完整的话。",
        "另一段完整的话。",
        "没有句号的一个很长的正文段落会被当作断行但是下一行",
        "1.是编号项。",
    ]


def test_over_long_clause_is_split_on_sentence_ends_within_budget() -> None:
    sentence = "这是一个用于测试切分的句子内容" * 3 + "。"
    text = "1." + sentence * 12
    clauses = Segmenter(max_clause_chars=120).clauses(_variant(text))
    assert len(clauses) > 1
    assert all(len(c.text) <= 120 for c in clauses)
    assert all(c.text.endswith("。") for c in clauses)
    assert "".join(c.text for c in clauses) == text


def test_real_seed_clauses_round_trip_to_raw_spans(seed_variants: list[Variant]) -> None:
    segmenter = Segmenter()
    for variant in seed_variants:
        for clause in segmenter.clauses(variant):
            loc = clause.location
            assert variant.raw_text[loc.char_start : loc.char_end] == clause.raw_text
            lines = variant.raw_text.split("\n")
            assert clause.raw_text.split("\n")[0] in lines[loc.line_start - 1]
            assert clause.raw_text.split("\n")[-1] in lines[loc.line_end - 1]


def test_spaced_out_variant_reads_like_the_others(seed_variants: list[Variant]) -> None:
    spaced = next(v for v in seed_variants if v.id.startswith("001"))
    texts = [c.text for c in Segmenter().clauses(spaced)]
    assert "(二)坚持统筹兼顾,提高社会保障工作的有效性和可持续性。" in texts
    assert not any(" " in t or t.startswith("#") for t in texts)


def _statute(name: str = "work-safety-law-2021", source: str = "lawrefbook") -> list:
    path = LAWS / name / f"{source}.txt"
    return Segmenter().clauses(Variant(source, str(path), path.read_text(encoding="utf-8")))


def test_a_statute_is_cut_into_articles_under_their_chapters() -> None:
    for source in ("lawrefbook", "china-laws"):
        clauses = _statute(source=source)
        articles = [c for c in clauses if c.kind == "item"]
        first = next(c for c in articles if c.text.startswith("第一条"))
        assert first.section_path == ("第一章总则", "第一条")
        # 第三条 has three paragraphs (款): one clause, not three.
        third = [c for c in articles if c.section_path[-1] == "第三条"]
        assert len(third) == 1 and "安全生产工作实行管行业必须管安全" in third[0].text
        assert {c.section_path[-1] for c in articles} >= {"第一条", "第二十四条", "第一百一十九条"}
        chapters = [c for c in clauses if c.kind == "heading" and c.text.startswith("第六章")]
        assert chapters and chapters[-1].text == "第六章法律责任"


def test_a_long_article_is_split_at_its_paragraphs_first() -> None:
    clauses = _statute(name="minors-protection-law-2024")
    budget = Segmenter().max_clause_chars
    for article in {c.section_path for c in clauses if c.kind == "item"}:
        pieces = [c for c in clauses if c.section_path == article]
        assert all(len(p.text) <= budget for p in pieces)
        if len(pieces) > 1:  # each piece starts where a paragraph or item does, or inside an over-long one
            assert pieces[0].text.startswith("第")
    long_article = [c for c in clauses if c.section_path[-1:] == ("第十七条",)]
    assert len(long_article) > 1
    assert long_article[1].text.startswith("(")  # the split fell before an item, not mid-sentence


def test_front_matter_is_metadata_not_clauses() -> None:
    clauses = _statute(name="minors-protection-law-2024", source="china-laws")
    assert not any("effective_date" in c.text or c.text.startswith("id=") for c in clauses)
    assert clauses[0].location.line_start > 12  # after the --- block
    assert clauses[0].text == "中华人民共和国未成年人保护法"


def test_page_numbers_a_text_export_carried_over_are_not_clauses() -> None:
    text = (
        "1.培育建设一批职教集团。培育建设30个由政府、\n— 2 —\n行业、企业等多方参与的职教集团。\n"
        "第 3 页 共 12 页\n2.下一项。\nPage 4 of 12\n3.再下一项。\nPAGE  \n5\n"
    )
    clauses = Segmenter().clauses(_variant(text))
    assert [c.text for c in clauses] == [
        "1.培育建设一批职教集团。培育建设30个由政府、行业、企业等多方参与的职教集团。",
        "2.下一项。",
        "3.再下一项。",
    ]
    # the clause joined across the page number still points at its own lines
    assert (clauses[0].location.line_start, clauses[0].location.line_end) == (1, 3)


def test_a_bare_number_line_is_kept_unless_a_page_field_precedes_it() -> None:
    table = "各市州建设数量如下。\n长沙\n12\n株洲\n8\n"
    assert "12" in "".join(c.text for c in Segmenter().clauses(_variant(table)))


def test_the_real_statute_ends_without_its_page_field() -> None:
    last = [c for c in _statute(source="china-laws") if c.section_path[-1:] == ("第一百一十九条",)]
    assert [c.text for c in last] == ["第一百一十九条本法自2002年11月1日起施行。"]
