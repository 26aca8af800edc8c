"""Structure-aware segmentation into clauses, on synthetic text and the real seeds."""

from index.corpus.model import Variant
from index.corpus.segment import Segmenter, marker_of


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
