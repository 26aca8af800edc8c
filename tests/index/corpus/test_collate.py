"""Collation of the real seed variants: support, divergences, loops, provenance spans."""

from __future__ import annotations

import pytest

from index.corpus.collate import (
    collapse_loops,
    collate_variants,
    divergences,
    is_substantive,
    locations_of,
    medoid,
    witness_weight,
)
from index.corpus.model import Clause, ClauseGroup, Collation, Location, Reading, Variant
from index.corpus.normalize import normalize_text
from index.extract.model import Extraction, Line, Page


def _groups_with(collation: Collation, *needles: str) -> list[ClauseGroup]:
    wanted = [normalize_text(n) for n in needles]
    return [g for g in collation.groups if any(all(w in r.text for w in wanted) for r in g.readings)]


def _prefix(group: ClauseGroup) -> set[str]:
    return {v.split("_")[0] for v in group.support.variants}


def test_five_technical_schools_are_supported_by_all_five(seed_collation: Collation) -> None:
    (group,) = _groups_with(seed_collation, "遴选建设5所“楚怡”优秀技工院校")
    assert (group.support.count, group.support.total) == (5, 5)
    assert "single_variant" not in group.flags


def test_eighty_training_bases_are_a_lone_variant_clause(seed_collation: Collation) -> None:
    (group,) = _groups_with(seed_collation, "80个", "产教融合实训基地")
    assert _prefix(group) == {"001"}
    assert group.support.count == 1
    assert "single_variant" in group.flags


def test_ocr_slip_reading_is_collated_with_its_divergence(seed_collation: Collation) -> None:
    (group,) = _groups_with(seed_collation, "含技工院校")
    assert group.support.count >= 4
    slipped = [r for r in group.readings if "含其汉江流域" in r.text]
    assert [r.variant[:3] for r in slipped] == ["000"]
    assert any(d.variant.startswith("000") and "其汉江流域" in d.reading_text for d in group.divergences)


def test_both_wordings_of_the_undergraduate_schools_clause_are_in_one_group(
    seed_collation: Collation,
) -> None:
    (group,) = _groups_with(seed_collation, "3所", "高水平职业")
    by_wording = {
        "职业科学校" if "职业科学校" in r.text else "职业本科学校": r.variant[:3] for r in group.readings
    }
    wordings = {r.variant[:3]: ("职业本科学校" in r.text) for r in group.readings}
    assert wordings == {"000": False, "001": True, "002": False, "003": True, "004": True}
    assert set(by_wording) == {"职业科学校", "职业本科学校"}
    assert "职业本科学校" in group.canonical  # the majority wording


def test_repetition_loops_collapse_into_flagged_groups(seed_collation: Collation) -> None:
    loops = {(v[:3], n) for g in seed_collation.groups for v, n in g.repetition.items()}
    assert ("000", 12) in loops
    assert ("003", 21) in loops
    for group in seed_collation.groups:
        if group.repetition:
            assert "repetition" in group.flags
    # The loop is one group whose one reading lists every copy's location.
    (loop,) = _groups_with(seed_collation, "职教集团(联盟)建设,促进职业教育与产业融合发展")
    assert loop.repetition == {loop.readings[0].variant: 21}
    assert len(locations_of(loop.readings[0])) == 21


def test_clause_broken_across_blank_lines_is_one_reading(seed_collation: Collation) -> None:
    groups = _groups_with(seed_collation, "培育建设30个由政府", "行业")
    assert groups
    joined = [r for g in groups for r in g.readings if "培育建设30个由政府" in r.text and "行业" in r.text]
    assert any(r.line_end > r.line_start for r in joined)


def test_every_reading_location_round_trips(seed_collation: Collation, seed_variants: list[Variant]) -> None:
    raw = {v.id: v.raw_text for v in seed_variants}
    for group in seed_collation.groups:
        for reading in group.readings:
            text = raw[reading.variant]
            assert text[reading.char_start : reading.char_end] == reading.raw_text
            assert normalize_text(reading.raw_text).replace("\n", "") == reading.text
            assert text.count("\n", 0, reading.char_start) + 1 == reading.line_start
            for loc in locations_of(reading):
                assert 0 <= loc.char_start < loc.char_end <= len(text)


def test_every_clause_survives_collation(seed_collation: Collation) -> None:
    supports = [g.support for g in seed_collation.groups]
    assert all(1 <= s.count <= s.total == 5 for s in supports)
    assert all(len(set(s.variants)) == s.count for s in supports)


def test_collation_json_round_trips(seed_collation: Collation) -> None:
    again = Collation.from_dict(seed_collation.to_dict())
    assert again.to_dict() == seed_collation.to_dict()


def _clause(ordinal: int, text: str, marker: str | None = "1.", level: int = 3) -> Clause:
    return Clause(
        variant="v",
        ordinal=ordinal,
        text=text,
        raw_text=text,
        location=Location(ordinal + 1, ordinal + 1, ordinal * 100, ordinal * 100 + len(text)),
        section_path=(),
        kind="item",
        marker=marker,
        level=level,
    )


def test_loop_detection_folds_truncated_copies_but_keeps_distinct_items() -> None:
    body = "大力实施职教集团建设。依托职教集团,支持职业院校与行业企业合作,共建产教融合实训基地。"
    clauses = [
        _clause(0, "(三)" + body, "(三)", 2),
        _clause(1, "(五)" + body[:18], "(五)", 2),
        _clause(2, "(六)" + body, "(六)", 2),
        _clause(3, "(七)完全不同的一项内容,讲的是另外一件事情。", "(七)", 2),
    ]
    units = collapse_loops(clauses)
    assert [len(u.copies) for u in units] == [3, 1]


def test_divergences_name_the_differing_spans() -> None:
    reading = Reading("v", "职业院校(含其汉江流域,下同)", "", 1, 1, 0, 10)
    (found,) = divergences("职业院校(含技工院校,下同)", reading)
    assert (found.kind, found.canonical_text, found.reading_text) == ("replace", "技工院校", "其汉江流域")
    assert found.substantive
    assert reading.text[found.reading_start : found.reading_end] == "其汉江流域"


def test_punctuation_and_width_differences_are_not_a_disagreement() -> None:
    reading = Reading("v", "提高技工教育的实力,遴选建设5所", "", 1, 1, 0, 10)
    (found,) = divergences("提高技工教育的实力。遴选建设5所", reading)
    assert not found.substantive
    assert is_substantive("5所", "3所")
    assert not is_substantive("，", ",")
    assert not is_substantive("", " ")


def test_seed_clauses_differing_only_in_punctuation_are_flagged_as_such(seed_collation: Collation) -> None:
    (five,) = _groups_with(seed_collation, "遴选建设5所“楚怡”优秀技工院校")
    assert five.divergences, "002 and 004 write , where the others write 。"
    assert "divergent" not in five.flags
    assert "punctuation_only" in five.flags
    (three,) = _groups_with(seed_collation, "3所", "高水平职业")
    assert "divergent" in three.flags
    (missing,) = [d for d in three.divergences if d.variant.startswith("000")]
    assert (missing.kind, missing.canonical_text, missing.reading_text) == ("delete", "本", "")
    assert missing.substantive


def _grouping(collation: Collation) -> set[frozenset[tuple[str, str]]]:
    return {frozenset((r.variant, r.text) for r in group.readings) for group in collation.groups}


def test_windowed_alignment_of_a_long_document_groups_as_comparing_every_pair(
    seed_variants: list[Variant], seed_collation: Collation, monkeypatch
) -> None:
    """Past EXACT_ALIGN_UNITS clauses only nearby pairs are compared; on the seeds (loops, invented
    headers, dropped lines) and on both copies of a statute that finds the very same groups."""
    import index.corpus.collate as collate
    from index.corpus.variants import load_variants
    from tests.helpers import LAWS

    statute = load_variants(LAWS / "work-safety-law-2021").variants
    exact = collate.collate_variants(statute)
    monkeypatch.setattr(collate, "EXACT_ALIGN_UNITS", 0)
    assert _grouping(collate.collate_variants(seed_variants)) == _grouping(seed_collation)
    assert _grouping(collate.collate_variants(statute)) == _grouping(exact)


def test_window_pairs_pair_each_clause_with_its_neighbourhood_in_other_variants() -> None:
    from index.corpus.collate import window_pairs

    variant_of = ["a"] * 5 + ["b"] * 3
    positions = [0, 0.25, 0.5, 0.75, 1, 0, 0.5, 1]
    rows, cols = window_pairs(variant_of, positions, window=0)
    assert sorted(zip(rows.tolist(), cols.tolist(), strict=True)) == [(0, 5), (1, 5), (2, 6), (3, 7), (4, 7)]
    rows, cols = window_pairs(variant_of, positions, window=1)
    assert all(variant_of[i] != variant_of[j] and i < j for i, j in zip(rows, cols, strict=True))
    assert (0, 6) in set(zip(rows.tolist(), cols.tolist(), strict=True))


def _read_by_ocr(variant_id: str, text: str, confidence: float, text_layer_lines: int = 0) -> Variant:
    """A variant as the PDF extractor stores it: one line per text line, the first `text_layer_lines`
    from a text layer, the others OCR'd with this confidence."""
    lines, start = [], 0
    for number, part in enumerate(text.split("\n")):
        read = None if number < text_layer_lines else confidence
        lines.append(Line(1, (0.1, 0.1, 0.9, 0.2), start, start + len(part), read))
        start += len(part) + 1
    extraction = Extraction(text, "pdf", "ocr", pages=[Page(1, 595.0, 842.0, "ocr")], lines=lines)
    return Variant(variant_id, f"{variant_id}.txt", text, layout=extraction.to_dict())


def test_an_ocr_witness_counts_by_its_confidence_and_half_when_low() -> None:
    assert witness_weight(Variant("t", "t.txt", "正文。")) == 1.0
    assert witness_weight(_read_by_ocr("o", "正文。", 0.96)) == pytest.approx(0.96)
    assert witness_weight(_read_by_ocr("o", "正文。", 0.7)) == pytest.approx(0.35)
    # a PDF read partly from its text layer (no confidence) and partly by OCR
    mixed = _read_by_ocr("m", "一二三四\n五六七八", 0.9, text_layer_lines=1)
    assert witness_weight(mixed) == pytest.approx(0.95)
    assert witness_weight(Variant("d", "d.txt", "正文。", layout={"lines": [{"page": 1}]})) == 1.0  # damaged


def test_medoid_weights_break_an_even_disagreement_for_the_trusted_witness() -> None:
    texts = ["租金按市场租金的百分之八十收取。", "租金按市场租金的百分之六十收取。"]
    assert medoid(texts) == 0  # unweighted: the first
    assert medoid(texts, [0.9, 1.0]) == 1  # the OCR reading comes first, the transcription wins
    assert medoid(texts, [1.0, 1.0]) == 0
    # with three, agreement still decides over trust: two alike outvote one trusted reading
    three = [texts[1], texts[0], texts[0]]
    assert medoid(three, [1.0, 0.9, 0.9]) in (1, 2)


def test_when_a_scan_and_a_transcription_disagree_the_transcription_is_canonical() -> None:
    text = "关于规范公共租赁住房管理的通知\n租金按市场租金的百分之六十收取。\n租赁合同期限最长不超过五年。"
    scan = _read_by_ocr("a-scan", text.replace("六十", "八十"), 0.93)  # first in variant order
    typed = Variant("b-typed", "b-typed.txt", text)
    collation = collate_variants([scan, typed])
    (rent,) = _groups_with(collation, "租金")
    assert rent.canonical_variant == "b-typed" and "六十" in rent.canonical
    assert [d.variant for d in rent.divergences] == ["a-scan"]
    (term,) = _groups_with(collation, "五年")
    assert term.support.count == 2 and term.divergences == []
