"""Word files: body paragraphs and table rows in document order, each a Block naming where it came from;
headers and footers kept out; damaged, foreign, encrypted and oversized files refused saying what to do."""

from __future__ import annotations

import io
import re

import docx as python_docx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import index.extract
from index.extract import docx
from index.extract.base import ExtractOptions, FileRefused
from index.extract.model import Extraction
from tests.files.flowing import corrupt_entry, docx_file, encrypted_docx, parts_of, zip_of
from tests.index.extract.damage import XML_EDITS, damaged, inspected_pages, read_or_refused, spliced

OPTIONS = ExtractOptions()
PARAGRAPHS = [
    "湖南省人力资源和社会保障厅关于推进楚怡优秀技工院校建设的意见",
    "各市、县人民政府，省政府各部门：",
    "一、总体要求。到2025年，遴选建设10所左右楚怡优秀技工院校。",
    "二、主要任务。深化校企合作，推进工学一体化技能人才培养模式改革。",
    "三、保障措施。各级人力资源社会保障部门要加强组织领导。",
]
TABLE = [["序号", "地区", "建设数量"], ["1", "长沙市", "3所"], ["2", "株洲市", "2所"]]


def read(data: bytes) -> Extraction:
    done: list[int] = []
    [reading] = docx.extract("意见.docx", data, OPTIONS, done.append)
    assert done == [1]
    return reading


def check_blocks(reading: Extraction) -> None:
    """Blocks are in order, never overlap, and cover every character but the newlines between them."""
    covered = 0
    for before, block in zip([None, *reading.blocks], reading.blocks, strict=False):
        assert block.end > block.start
        if before is not None:
            assert reading.text[before.end : block.start] == "\n"
        covered += block.end - block.start
    assert covered + len(reading.blocks) - 1 == len(reading.text)


def test_paragraphs_and_table_rows_in_document_order() -> None:
    reading = read(docx_file(PARAGRAPHS, table=TABLE, table_after=3))

    assert reading.format == "docx" and reading.method == "docx"
    assert reading.text.split("\n") == [
        *PARAGRAPHS[:3],
        "序号\t地区\t建设数量",
        "1\t长沙市\t3所",
        "2\t株洲市\t2所",
        *PARAGRAPHS[3:],
    ]
    assert [b.where for b in reading.blocks] == [
        "paragraph 1",
        "paragraph 2",
        "paragraph 3",
        "table 1, row 1",
        "table 1, row 2",
        "table 1, row 3",
        "paragraph 4",
        "paragraph 5",
    ]
    for block, line in zip(reading.blocks, reading.text.split("\n"), strict=True):
        assert reading.text[block.start : block.end] == line
    check_blocks(reading)
    start = reading.text.index("长沙市")
    assert reading.where(start, start + 3) == ["table 1, row 2"]


def test_paragraph_numbers_count_empty_paragraphs_and_skip_nothing_else() -> None:
    reading = read(docx_file(["第一段", "", "　　第三段（缩进）", ""]))

    assert reading.text == "第一段\n第三段（缩进）"  # indentation typed as full-width spaces is layout
    assert [b.where for b in reading.blocks] == ["paragraph 1", "paragraph 3"]


def test_a_soft_line_break_stays_on_the_paragraphs_line() -> None:
    reading = read(
        docx_file(["关于印发\n楚怡优秀技工院校建设办法的通知", "Article one\nsecond line"], line_breaks=True)
    )

    assert reading.text == "关于印发楚怡优秀技工院校建设办法的通知\nArticle one second line"
    assert len(reading.blocks) == 2


def test_headers_and_footers_are_furniture_not_text() -> None:
    reading = read(docx_file(PARAGRAPHS, header="湖南省人力资源和社会保障厅文件", footer="— 1 —"))

    assert "文件" not in reading.text and "— 1 —" not in reading.text
    assert {(f.kind, f.text, f.page) for f in reading.furniture} == {
        ("header", "湖南省人力资源和社会保障厅文件", 0),
        ("page-number", "— 1 —", 0),
    }
    assert reading.summary()["dropped_furniture"] == 2


W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
MC = 'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"'
WPS = 'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape"'


def with_body(body: str) -> bytes:
    """A .docx whose document.xml body is the given WordprocessingML (as Word writes it)."""
    parts = parts_of(docx_file(["placeholder"]))
    parts["word/document.xml"] = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document {W} {MC} {WPS}><w:body>'
        f'{body}<w:sectPr><w:pgSz w:w="11906" w:h="16838"/></w:sectPr></w:body></w:document>'
    ).encode()
    return zip_of(parts)


def test_tracked_changes_are_read_as_accepted_and_text_boxes_after_their_paragraph() -> None:
    reading = read(
        with_body(
            '<w:p><w:r><w:t xml:space="preserve">第一条 本办法自</w:t></w:r>'
            '<w:del w:id="1" w:author="审核"><w:r><w:delText>2023年</w:delText></w:r></w:del>'
            '<w:ins w:id="2" w:author="审核"><w:r><w:t>2024年1月1日</w:t></w:r></w:ins>'
            "<w:r><w:t>起施行。</w:t></w:r>"
            "<w:r><mc:AlternateContent><mc:Choice><w:drawing><wps:txbx><w:txbxContent>"
            "<w:p><w:r><w:t>此件公开发布</w:t></w:r></w:p>"
            "</w:txbxContent></wps:txbx></w:drawing></mc:Choice>"
            "<mc:Fallback><w:pict><w:txbxContent><w:p><w:r><w:t>此件公开发布</w:t></w:r></w:p>"
            "</w:txbxContent></w:pict></mc:Fallback></mc:AlternateContent></w:r></w:p>"
            "<w:sdt><w:sdtContent><w:p><w:r><w:t>第二条</w:t></w:r><w:r><w:tab/><w:t>在控件中</w:t></w:r></w:p>"
            "</w:sdtContent></w:sdt>"
        )
    )

    assert reading.text.split("\n") == [
        "第一条 本办法自2024年1月1日起施行。",
        "此件公开发布",
        "第二条\t在控件中",
    ]
    assert [b.where for b in reading.blocks] == ["paragraph 1", "paragraph 1, text box 1", "paragraph 2"]


def test_a_header_that_cannot_be_read_is_only_warned_about() -> None:
    parts = parts_of(docx_file(PARAGRAPHS, header="页眉"))
    body = parts["word/document.xml"].decode()
    parts["word/document.xml"] = re.sub(
        r'(<w:headerReference[^>]*r:id=")[^"]*', r"\g<1>rId999", body
    ).encode()

    reading = read(zip_of(parts))

    assert reading.text.split("\n") == PARAGRAPHS
    assert reading.furniture == []
    assert any("header cannot be read" in warning for warning in reading.warnings)


def test_a_vertically_merged_cell_is_read_once() -> None:
    document = python_docx.Document()
    document.add_paragraph("附件：建设名单")
    table = document.add_table(rows=3, cols=2)
    for row, (city, school) in enumerate(
        [("长沙市", "湖南工贸技师学院"), ("", "长沙技师学院"), ("株洲市", "株洲技师学院")]
    ):
        table.cell(row, 0).text = city
        table.cell(row, 1).text = school
    table.cell(0, 0).merge(table.cell(1, 0))
    out = io.BytesIO()
    document.save(out)

    reading = read(out.getvalue())

    assert reading.text.split("\n") == [
        "附件：建设名单",
        "长沙市\t湖南工贸技师学院",
        "长沙技师学院",
        "株洲市\t株洲技师学院",
    ]
    assert reading.text.count("长沙市") == 1


def test_the_format_dispatch_reads_a_docx() -> None:
    data = docx_file(PARAGRAPHS, table=TABLE)

    assert index.extract.format_of("意见.docx", data) == "docx"
    assert index.extract.inspect("意见.docx", data, OPTIONS) == 1
    [reading] = index.extract.extract("意见.docx", data, OPTIONS)
    assert reading.text.startswith(PARAGRAPHS[0])


def test_a_zip_without_a_word_document_is_refused() -> None:
    # sniff refuses such a file first (it has no word/document.xml); the extractor must too if called
    archive = zip_of({"[Content_Types].xml": "<Types/>", "content.xml": "<office:document/>"})

    with pytest.raises(FileRefused) as refused:
        docx.inspect("报告.docx", archive, OPTIONS)

    assert refused.value.kind == "invalid"
    assert "no word/document.xml" in refused.value.message
    assert "save it as .docx" in refused.value.message


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda data: corrupt_entry(data, "word/document.xml"), id="damaged entry"),
        pytest.param(lambda data: data[: len(data) // 2], id="cut short"),
        pytest.param(
            lambda data: zip_of(
                {
                    **{name: body for name, body in parts_of(data).items() if name != "word/document.xml"},
                    "word/document.xml": parts_of(data)["word/document.xml"][:300],
                }
            ),
            id="broken xml",
        ),
    ],
)
def test_a_damaged_docx_is_refused_saying_what_to_do(damage) -> None:
    data = damage(docx_file(PARAGRAPHS))

    with pytest.raises(FileRefused) as refused:
        docx.inspect("意见.docx", data, OPTIONS)

    assert refused.value.kind == "invalid"
    assert refused.value.source == "意见.docx"
    assert "save it as .docx again, or send the PDF" in refused.value.message


def test_a_password_protected_docx_is_refused_as_such() -> None:
    data = encrypted_docx()

    assert docx.is_encrypted_office(data)
    with pytest.raises(FileRefused) as refused:
        docx.inspect("意见.docx", data, OPTIONS)
    assert "password" in refused.value.message and "send the PDF" in refused.value.message
    # Through the dispatch, sniffing sees an OLE file and refuses it before the extractor is asked.
    with pytest.raises(FileRefused):
        index.extract.inspect("意见.docx", data, OPTIONS)


def test_an_old_binary_doc_is_not_taken_for_an_encrypted_docx() -> None:
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504 + "WordDocument".encode("utf-16-le")

    assert not docx.is_encrypted_office(ole)
    with pytest.raises(FileRefused) as refused:
        docx.inspect("意见.docx", ole, OPTIONS)
    assert ".doc" in refused.value.message and refused.value.kind == "unsupported_type"


def test_a_zip_bomb_is_refused_before_it_is_inflated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(docx, "MAX_UNPACKED_BYTES", 2_000_000)
    bomb = zip_of({**parts_of(docx_file(PARAGRAPHS)), "word/media/image1.png": b"\x00" * 3_000_000})
    assert len(bomb) < 100_000

    with pytest.raises(FileRefused) as refused:
        docx.inspect("意见.docx", bomb, OPTIONS)

    assert refused.value.kind == "too_large" and refused.value.status == 413
    assert "MB" in refused.value.message


def test_a_docx_with_no_text_is_refused_at_inspection() -> None:
    with pytest.raises(FileRefused) as refused:
        docx.inspect("扫描件.docx", docx_file(["", "　　"]), OPTIONS)

    assert "no text" in refused.value.message and "OCR" in refused.value.message


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=4096))
def test_arbitrary_bytes_are_read_or_refused(data: bytes) -> None:
    assert inspected_pages(docx, "x.docx", data) in (None, 1)


_VALID = docx_file(PARAGRAPHS, table=TABLE, header="页眉")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=damaged(_VALID, min_keep=100))
def test_a_damaged_real_docx_is_read_or_refused(data: bytes) -> None:
    read_or_refused(docx, "x.docx", data)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=XML_EDITS)
def test_mangled_xml_inside_a_sound_zip_is_read_or_refused(edits: list[tuple[int, int, str]]) -> None:
    parts = parts_of(_VALID)
    xml = spliced(parts["word/document.xml"].decode(), edits)
    read_or_refused(docx, "x.docx", zip_of({**parts, "word/document.xml": xml.encode()}))


def test_an_encrypted_docx_is_refused_at_the_format_check_saying_to_remove_the_password() -> None:
    from index.extract.sniff import format_of

    with pytest.raises(FileRefused, match="protected with a password"):
        format_of("memo.docx", encrypted_docx())
