"""OFD files: each page's text layer line by line, with normalised rectangles (top-left origin) like a
PDF's; page numbers and running headers kept out of the text; damaged files refused."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import index.extract
from index.extract import ofd
from index.extract.base import ExtractOptions, FileRefused
from index.extract.model import Extraction
from tests.files.flowing import A4, OfdLine, corrupt_entry, ofd_file, ofd_lines, parts_of, zip_of
from tests.index.extract.damage import XML_EDITS, damaged, inspected_pages, read_or_refused, spliced

OPTIONS = ExtractOptions()
PAGE_ONE = [
    "各市州人民政府，省政府各厅委、各直属机构：",
    "为深入实施技能中国行动，加快培养高技能人才，现就推进楚怡优秀技工院校建设提出如下意见。",
]
PAGE_TWO = ["三、保障措施。各级人社部门要加强组织领导。"]


def two_pages(**kwargs) -> bytes:
    second = [
        *ofd_lines(PAGE_TWO),
        OfdLine("湖南省人力资源和社会保障厅", 100.0, 120.0, per_character=True),  # one object a character
        OfdLine("抄送：省委办公厅。", 28.0, 250.0, 4.94),
        OfdLine("2023年5月10日印发", 140.0, 250.0, 4.94),  # same baseline, set apart
    ]
    return ofd_file([ofd_lines(PAGE_ONE), second], **kwargs)


def read(data: bytes) -> Extraction:
    done: list[int] = []
    [reading] = ofd.extract("意见.ofd", data, OPTIONS, done.append)
    assert done == list(range(1, len(reading.pages) + 1))
    return reading


def test_text_lines_pages_and_rectangles() -> None:
    reading = read(two_pages())

    assert reading.format == "ofd" and reading.method == "text-layer"
    assert (
        reading.text.split("\n")
        == [
            "各市州人民政府，省政府各厅委、各直属机构：",
            "为深入实施技能中国行动，加快培养高技能人才，现就推进",  # wrapped as set: 26 characters after the indent
            "楚怡优秀技工院校建设提出如下意见。",
            "三、保障措施。各级人社部门要加强组织领导。",
            "湖南省人力资源和社会保障厅",
            "抄送：省委办公厅。\t2023年5月10日印发",
        ]
    )
    assert [line.page for line in reading.lines] == [1, 1, 1, 2, 2, 2]
    assert [(p.number, p.method, p.empty) for p in reading.pages] == [
        (1, "text-layer", False),
        (2, "text-layer", False),
    ]
    assert reading.pages[0].width == pytest.approx(595.28, abs=0.01)  # A4 in points, like a PDF page
    assert reading.pages[0].height == pytest.approx(841.89, abs=0.01)
    for line in reading.lines:
        assert reading.text[line.start : line.end] == reading.text.split("\n")[reading.lines.index(line)]
        x0, y0, x1, y1 = line.rect
        assert 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1
    # The first line: indented two characters from the 28 mm margin, its baseline 37 mm from the top.
    x0, y0, x1, y1 = reading.lines[0].rect
    assert x0 == pytest.approx((28 + 2 * 5.6) / A4[0], abs=1e-3)
    assert y0 < 37 / A4[1] < y1
    assert x1 == pytest.approx((28 + 2 * 5.6 + 21 * 5.6) / A4[0], abs=1e-3)
    # Top-left origin: lines further down the page have larger y.
    tops = [line.rect[1] for line in reading.lines if line.page == 1]
    assert tops == sorted(tops)


def test_a_character_range_maps_back_to_its_page_and_rectangle() -> None:
    reading = read(two_pages())
    start = reading.text.index("湖南省人力资源")

    [span] = reading.locate(start, start + 4)

    assert span.page == 2 and span.confidence is None
    [rect] = span.rects
    assert rect[0] == pytest.approx(100 / A4[0], abs=1e-3)
    assert rect[2] == pytest.approx((100 + 13 * 5.6) / A4[0], abs=1e-3)


def test_page_numbers_and_a_running_header_are_furniture() -> None:
    reading = read(two_pages(template_header="湖南省人力资源和社会保障厅规范性文件"))

    assert "—" not in reading.text and "规范性文件" not in reading.text
    assert sorted((f.page, f.kind, f.text) for f in reading.furniture) == [
        (1, "header", "湖南省人力资源和社会保障厅规范性文件"),
        (1, "page-number", "— 1 —"),
        (2, "header", "湖南省人力资源和社会保障厅规范性文件"),
        (2, "page-number", "— 2 —"),
    ]
    footer = next(f for f in reading.furniture if f.kind == "page-number")
    assert footer.rect[1] > 0.9  # at the foot of the page


def test_a_one_page_heading_in_the_top_margin_stays_text() -> None:
    page = [OfdLine("湖南省人民政府", 60.0, 30.0, 7.0), *ofd_lines(PAGE_ONE, top=50.0)]
    reading = read(ofd_file([page]))

    assert reading.text.startswith("湖南省人民政府\n")


def test_the_dispatch_reads_an_ofd() -> None:
    data = two_pages()

    assert index.extract.format_of("意见.ofd", data) == "ofd"
    assert index.extract.inspect("意见.ofd", data, OPTIONS) == 2
    [reading] = index.extract.extract("意见.ofd", data, OPTIONS)
    assert PAGE_TWO[0] in reading.text


def test_inspect_counts_pages() -> None:
    assert ofd.inspect("意见.ofd", ofd_file([ofd_lines(PAGE_ONE)] * 3), OPTIONS) == 3


@pytest.mark.parametrize(
    ("damage", "says"),
    [
        pytest.param(lambda d: d[: len(d) * 2 // 3], "cut short", id="truncated"),
        pytest.param(
            lambda d: corrupt_entry(d, "Doc_0/Pages/Page_1/Content.xml"), "page 2", id="damaged page"
        ),
        pytest.param(
            lambda d: zip_of({k: v for k, v in parts_of(d).items() if k != "Doc_0/Pages/Page_0/Content.xml"}),
            "page 1",
            id="page missing",
        ),
        pytest.param(
            lambda d: zip_of({k: v for k, v in parts_of(d).items() if k != "Doc_0/Document.xml"}),
            "Document.xml",
            id="no document",
        ),
        pytest.param(
            lambda d: zip_of({**parts_of(d), "Doc_0/Pages/Page_0/Content.xml": b"<ofd:Page><ofd:Content"}),
            "page 1",
            id="broken xml",
        ),
    ],
)
def test_a_damaged_ofd_is_refused_saying_what_to_do(damage, says: str) -> None:
    with pytest.raises(FileRefused) as refused:
        ofd.inspect("意见.ofd", damage(two_pages()), OPTIONS)

    assert refused.value.kind == "invalid" and refused.value.source == "意见.ofd"
    assert says in refused.value.message
    assert "export the OFD again" in refused.value.message and "send the PDF" in refused.value.message


def test_an_ofd_without_a_text_layer_is_refused() -> None:
    scan = ofd_file([[], []], page_numbers=False)

    with pytest.raises(FileRefused) as refused:
        ofd.inspect("扫描件.ofd", scan, OPTIONS)

    assert "no text layer" in refused.value.message and "OCR" in refused.value.message


def test_too_many_pages_is_refused() -> None:
    with pytest.raises(FileRefused) as refused:
        ofd.inspect("汇编.ofd", ofd_file([ofd_lines(PAGE_ONE)] * 3), ExtractOptions(max_pages=2))

    assert refused.value.kind == "too_large" and "3 pages" in refused.value.message


def test_an_empty_page_among_others_is_marked() -> None:
    reading = read(ofd_file([ofd_lines(PAGE_ONE), [], ofd_lines(PAGE_TWO)], page_numbers=False))

    assert [p.empty for p in reading.pages] == [False, True, False]
    assert "no text layer" in reading.pages[1].note
    assert any("2" in warning for warning in reading.warnings)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=4096))
def test_arbitrary_bytes_are_read_or_refused(data: bytes) -> None:
    pages = inspected_pages(ofd, "x.ofd", data)
    assert pages is None or pages >= 1


_VALID = two_pages(template_header="页眉")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=damaged(_VALID, min_keep=50))
def test_a_damaged_real_ofd_is_read_or_refused(data: bytes) -> None:
    read_or_refused(ofd, "x.ofd", data)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=XML_EDITS)
def test_mangled_xml_inside_a_sound_zip_is_read_or_refused(edits: list[tuple[int, int, str]]) -> None:
    parts = parts_of(_VALID)
    xml = spliced(parts["Doc_0/Pages/Page_0/Content.xml"].decode(), edits)
    read_or_refused(ofd, "x.ofd", zip_of({**parts, "Doc_0/Pages/Page_0/Content.xml": xml.encode()}))
