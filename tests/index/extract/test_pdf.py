"""PDF extraction (index.extract.pdf): text layers, their judgement, OCR of scanned pages, running
furniture, page labels, two readings with ocr="both", and every file refused with a reason."""

from __future__ import annotations

import io

import pypdfium2 as pdfium
import pytest
from rapidfuzz import fuzz

import index.extract as extraction
from index.corpus.model import Variant
from index.corpus.segment import Segmenter
from index.extract import pdf
from index.extract.base import ExtractOptions, FileRefused
from index.extract.model import Extraction
from tests.files import paged

PAGES = [
    ["第一条 为了规范技工院校建设，制定本办法。", "第二条 各地要遴选建设50所楚怡优秀技工院校，并支持"],
    ["其开展高水平专业群建设，推动技工教育高质量发展。", "第三条 本办法适用于全省技工院校。"],
    ["第四条 本办法自发布之日起施行。"],
]
BODY = "\n".join(line for page in PAGES for line in page)
# Scanned pages are drawn 620 x 880 pixels at 100 dpi: rendered at 100/72 they come back at that size.
SCAN = ExtractOptions(render_scale=100 / 72)


def _similar(a: str, b: str) -> float:
    return fuzz.ratio(a.replace(" ", ""), b.replace(" ", ""))


def _read(name: str, data: bytes, options: ExtractOptions = SCAN) -> tuple[int, list[int], list[Extraction]]:
    done: list[int] = []
    total = extraction.inspect(name, data, options)
    readings = extraction.extract(name, data, options, done.append)
    return total, done, readings


@pytest.fixture(scope="module")
def report() -> bytes:
    return paged.text_pdf(PAGES)


@pytest.fixture(scope="module")
def report_reading(report: bytes) -> tuple[int, list[int], list[Extraction]]:
    return _read("report.pdf", report, ExtractOptions())


def test_a_text_layer_is_read_as_it_is(report_reading) -> None:
    total, done, readings = report_reading
    assert total == 3 and done == [1, 2, 3]
    [reading] = readings
    assert reading.format == "pdf" and reading.method == "text-layer" and reading.witness == ""
    assert reading.text == BODY
    assert [(p.number, p.method, p.confidence, p.empty) for p in reading.pages] == [
        (1, "text-layer", None, False),
        (2, "text-layer", None, False),
        (3, "text-layer", None, False),
    ]
    assert reading.ocr_seconds == 0 and reading.confidence is None and reading.warnings == []
    assert reading.pages[0].width == pytest.approx(paged.PAGE_MM[0] / 25.4 * 72, abs=0.5)


def test_every_line_maps_back_to_its_page_and_place(report_reading) -> None:
    reading = report_reading[2][0]
    assert [(line.page, reading.text[line.start : line.end]) for line in reading.lines] == [
        (n, text) for n, page in enumerate(PAGES, start=1) for text in page
    ]
    for line in reading.lines:
        x0, y0, x1, y1 = line.rect
        assert 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1
        assert line.confidence is None
    width, height = paged.PAGE_MM
    for i in range(2):  # the first page's lines, where they were drawn
        x0, y0, x1, y1 = reading.lines[i].rect
        top = (paged.BODY_TOP_MM + i * paged.LINE_MM) / height
        assert x0 == pytest.approx(paged.MARGIN_MM / width, abs=0.01)
        assert top - 0.005 < y0 < y1 < top + paged.LINE_MM / height + 0.005
        assert x1 - x0 == pytest.approx(len(PAGES[0][i]) * 4.23 / width, rel=0.15)  # 12 pt characters


def test_running_header_and_page_numbers_become_furniture(report_reading) -> None:
    reading = report_reading[2][0]
    assert sorted((f.page, f.kind, f.text) for f in reading.furniture) == sorted(
        [(n, "header", paged.HEADER) for n in (1, 2, 3)] + [(n, "page-number", f"- {n} -") for n in (1, 2, 3)]
    )
    assert paged.HEADER not in reading.text and "- 2 -" not in reading.text
    for item in reading.furniture:
        y = (item.rect[1] + item.rect[3]) / 2
        assert y < 0.1 if item.kind == "header" else y > 0.9
    # The printed number is the page's label.
    assert [p.label for p in reading.pages] == ["1", "2", "3"]


def test_a_clause_over_a_page_break_locates_on_both_pages(report_reading) -> None:
    reading = report_reading[2][0]
    variant = Variant(id="report", path="report.pdf", raw_text=reading.text)
    [clause] = [c for c in Segmenter().clauses(variant) if "楚怡" in c.text]
    # The segmenter joined the line broken at the foot of page 1 with the head of page 2.
    assert "其开展高水平专业群建设" in clause.raw_text
    spans = reading.locate(clause.location.char_start, clause.location.char_end)
    assert [(s.page, s.label) for s in spans] == [(1, "1"), (2, "2")]
    assert len(spans[0].rects) == 1 and len(spans[1].rects) == 1


def test_the_files_own_page_labels_win_over_printed_numbers() -> None:
    data = paged.text_pdf(PAGES, page_labels=[("r", 1), ("r", 2), ("D", 1)])
    [reading] = extraction.extract("labels.pdf", data, ExtractOptions())
    assert [p.label for p in reading.pages] == ["i", "ii", "1"]


def test_a_page_shown_turned_maps_its_lines_onto_the_page_as_shown() -> None:
    document = pdfium.PdfDocument(paged.text_pdf(PAGES[:1], header=None))
    document[0].set_rotation(90)  # shown turned clockwise: the text runs downwards
    out = io.BytesIO()
    document.save(out)
    [reading] = extraction.extract("turned.pdf", out.getvalue(), ExtractOptions())
    assert reading.text == "\n".join(PAGES[0])
    page = reading.pages[0]
    assert page.width > page.height
    first = reading.lines[0].rect
    # Drawn near the top of the portrait page: on the landscape page shown, near the right edge,
    # running down from near the top.
    assert first[0] > 0.75 and first[3] - first[1] > first[2] - first[0]
    assert first[1] == pytest.approx(paged.MARGIN_MM / paged.PAGE_MM[0], abs=0.01)
    # "- 1 -" lies at the foot of the upright page (the left edge as shown): still a page number.
    assert [(f.kind, f.text) for f in reading.furniture] == [("page-number", "- 1 -")]
    assert page.label == "1"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("第一条 为了规范技工院校建设，制定本办法。\n各地要遴选建设50所楚怡优秀技工院校。", None),
        ("Article 1. This regulation applies to all technical schools.", None),
        ("Société générale — réglementation", None),
        ("", "no text layer"),
        ("  \n ", "no text layer"),
        ("第一条 \ue001\ue002\ue003\ue004为了规范", "no Unicode mapping"),
        ("\ufffd\ufffd\ufffd\ufffd\ufffd 第一条", "no Unicode mapping"),
        ("Õâ¸öÎÄ¼þ¹æ¶¨ÁËÊ²Ã´", "mojibake"),
        ("关 于 印 发 楚 怡 技 工 院 校 建 设 办 法 的 通 知", "spaces between"),
    ],
)
def test_judging_a_text_layer(text: str, reason: str | None) -> None:
    verdict = pdf.judge_text_layer(text)
    assert verdict is None if reason is None else reason in verdict


def test_an_unmapped_text_layer_is_judged_broken_as_pdfium_reads_it() -> None:
    document = pdfium.PdfDocument(paged.broken_text_pdf(PAGES[0], into="private-use"))
    text = document[0].get_textpage().get_text_range()
    assert "为了" not in text
    assert "no Unicode mapping" in pdf.judge_text_layer(text)


@pytest.fixture(scope="module")
def mixed() -> bytes:
    """Page 1 with a sound text layer, page 2 a mojibake text layer (drawn right, mapped wrong)."""
    document = pdfium.PdfDocument(paged.text_pdf(PAGES[:1], header=None, footer_page_numbers=False))
    document.import_pages(pdfium.PdfDocument(paged.broken_text_pdf(PAGES[1], into="mojibake")))
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_ocr_both_reads_a_text_layer_twice(mixed: bytes) -> None:
    total, done, readings = _read("mixed.pdf", mixed, ExtractOptions(ocr="both", render_scale=1.5))
    assert total == 4 and done == [1, 2, 3, 4]  # two pages, twice
    main, witness = readings
    # The main reading: page 1 by its text layer, page 2 (mojibake) by OCR, saying why.
    assert main.method == "text-layer+ocr" and main.witness == ""
    assert [p.method for p in main.pages] == ["text-layer", "ocr"]
    assert main.pages[1].note.startswith("broken text layer: mojibake")
    assert main.pages[0].confidence is None and 0.8 < main.pages[1].confidence <= 1
    assert main.text.split("\n")[:2] == PAGES[0]
    assert _similar(main.text.split("\n", 2)[2], "\n".join(PAGES[1])) >= 90
    assert "Õ" not in main.text and main.ocr_seconds > 0
    assert all(line.confidence is not None for line in main.lines if line.page == 2)
    assert all(line.confidence is None for line in main.lines if line.page == 1)
    # The witness: every page by OCR.
    assert witness.witness == "ocr" and witness.method == "ocr" and witness.format == "pdf"
    assert [p.method for p in witness.pages] == ["ocr", "ocr"]
    assert _similar(witness.text, "\n".join(PAGES[0] + PAGES[1])) >= 90
    assert witness.confidence is not None and witness.confidence > 0.8
    assert witness.ocr_seconds >= main.ocr_seconds
    # Both readings place their lines on the same spots of page 1.
    assert witness.lines[0].rect == pytest.approx(main.lines[0].rect, abs=0.02)


def test_ocr_both_on_a_scan_is_one_reading() -> None:
    scan = paged.image_pdf([PAGES[2]])
    options = ExtractOptions(ocr="both", render_scale=100 / 72)
    assert extraction.inspect("scan.pdf", scan, options) == 1  # no text layer: read once


def test_a_scanned_pdf_is_ocrd_with_its_furniture() -> None:
    data = paged.image_pdf(PAGES[:2], header=paged.HEADER, footer_page_numbers=True)
    total, done, [reading] = _read("scan.pdf", data)
    assert total == 2 and done == [1, 2]
    assert reading.method == "ocr" and reading.ocr
    assert [(p.method, p.note) for p in reading.pages] == [("ocr", "no text layer"), ("ocr", "no text layer")]
    assert _similar(reading.text, "\n".join(PAGES[0] + PAGES[1])) >= 90
    assert reading.confidence is not None and reading.confidence > 0.9 and not reading.low_confidence
    assert all(p.confidence is not None and p.confidence > 0.9 for p in reading.pages)
    assert all(line.confidence is not None for line in reading.lines)
    # The header and "- n -" read by OCR are furniture; the page numbers are the labels.
    assert {f.kind for f in reading.furniture} == {"header", "page-number"}
    assert "职业教育工作简报" not in reading.text
    assert [p.label for p in reading.pages] == ["1", "2"]
    # The first line's rectangle: where page_image drew it (8% in, 15% down).
    x0, y0, _, _ = reading.lines[0].rect
    assert x0 == pytest.approx(0.08, abs=0.02) and y0 == pytest.approx(0.15, abs=0.02)
    assert reading.pages[0].width == pytest.approx(620 * 72 / 100, abs=1)


def test_a_scanned_cover_of_one_word_over_its_page_number_is_read() -> None:
    # An attachment's cover scanned on A4: "附件" and "- 1 -" at the foot. On the whole page the
    # detector reads only the page number; the word is found on the page cut down to its ink.
    total, _done, [reading] = _read("cover.pdf", paged.scanned_text("附件"), ExtractOptions())
    assert total == 1 and reading.text == "附件"
    assert reading.pages[0].note.endswith("read within the inked area"), reading.pages[0].note


def test_a_pdf_with_nothing_to_read_is_refused() -> None:
    with pytest.raises(FileRefused) as refused:
        extraction.extract("blank.pdf", paged.blank_pdf(2), ExtractOptions(render_scale=1.0))
    assert refused.value.kind == "invalid"
    assert (
        "no text could be read on any of its 2 pages (it has no text layer, and OCR found no legible text)"
        in refused.value.message
    )
    assert "legible" in refused.value.message


def test_an_owner_password_only_opens_with_a_warning() -> None:
    [reading] = extraction.extract("restricted.pdf", paged.owner_password_pdf(PAGES[0]), ExtractOptions())
    assert reading.text == "\n".join(PAGES[0])
    assert any("encrypted" in w for w in reading.warnings)


def test_inspect_renders_nothing(report: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("inspect rendered a page")

    monkeypatch.setattr(pdfium.PdfPage, "render", refuse)
    assert extraction.inspect("report.pdf", report, ExtractOptions()) == 3
    assert extraction.inspect("report.pdf", report, ExtractOptions(ocr="both")) == 6


@pytest.mark.parametrize(
    ("make", "options", "kind", "says"),
    [
        (paged.encrypted_pdf, ExtractOptions(), "invalid", "remove the password"),
        (paged.truncated_pdf, ExtractOptions(), "invalid", "send the whole file again"),
        (paged.corrupt_pdf, ExtractOptions(), "invalid", "could not be opened as a PDF"),
        (paged.zero_page_pdf, ExtractOptions(), "invalid", "no pages"),
        (
            lambda: paged.text_pdf(PAGES),
            ExtractOptions(max_pages=2),
            "too_large",
            "has 3 pages, more than the 2",
        ),
        (
            lambda: paged.text_pdf(PAGES[:1]),
            ExtractOptions(max_pixels=1_000_000, render_scale=2.5),
            "too_large",
            "page 1 is 420 x 595 points",
        ),
    ],
    ids=["encrypted", "truncated", "corrupt", "zero-pages", "too-many-pages", "page-too-large"],
)
def test_bad_files_are_refused_saying_why(make, options: ExtractOptions, kind: str, says: str) -> None:
    data = make()
    for attempt in (
        lambda: extraction.inspect("bad.pdf", data, options),
        lambda: extraction.extract("bad.pdf", data, options),
    ):
        with pytest.raises(FileRefused) as refused:
            attempt()
        assert refused.value.kind == kind
        assert says in refused.value.message, refused.value.message
        assert refused.value.source == "bad.pdf"
