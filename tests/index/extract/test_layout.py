"""Reading order and running furniture (index.extract.layout), on lines made by hand: no OCR, no PDF."""

from __future__ import annotations

import pytest

from index.extract.layout import (
    PageLine,
    Piece,
    join_row,
    order_rows,
    page_number,
    page_text,
    strip_furniture,
    turn_point,
    unturn_box,
    unturn_point,
)


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("- 3 -", "3"),
        ("— 12 —", "12"),
        ("－3－", "3"),
        ("一3一", "3"),  # OCR's reading of "— 3 —"
        ("3", "3"),
        ("第 3 页", "3"),
        ("第3页 共12页", "3"),
        ("共12页 第3页", "3"),
        ("3/12", "3"),
        ("3 / 12", "3"),
        ("Page 3 of 12", "3"),
        ("- iv -", "iv"),
        ("xii", "xii"),
    ],
)
def test_page_number_lines(text: str, number: str) -> None:
    assert page_number(text) == number


@pytest.mark.parametrize(
    "text", ["第三条", "2024年", "30%", "一、总体要求", "附件3", "3.5", "国务院办公厅", ""]
)
def test_not_page_numbers(text: str) -> None:
    assert page_number(text) is None


def _line(text: str, y: float, x: float = 0.1, confidence: float | None = None) -> PageLine:
    return PageLine(text=text, rect=(x, y, x + 0.02 * max(len(text), 1), y + 0.02), confidence=confidence)


def _pages() -> list[list[PageLine]]:
    headers = [
        "湖南省人民政府公报 2024年第3期",
        "湖南省人民政府公报 2024年第3期",
        "湖南省人民政府公极 2024年第3期",
        "湖南省人民政府公报 2024年第3期",
    ]
    bodies = [
        ["第一条 为了规范技工院校建设，制定本办法。", "各地要遴选建设50所楚怡优秀技工院校，"],
        ["支持其开展高水平专业群建设。", "第二条 本办法适用于全省技工院校。"],
        ["第三条 本办法自发布之日起施行。"],
        ["附件：技工院校名单"],
    ]
    pages = []
    for n, (header, body) in enumerate(zip(headers, bodies, strict=True), start=1):
        lines = [_line(header, 0.04)]
        lines += [_line(text, 0.2 + 0.05 * i) for i, text in enumerate(body)]
        lines.append(_line(f"— {n} —", 0.94, x=0.45))
        pages.append(lines)
    # A band line that appears once is not furniture: a note at the foot of page 2.
    pages[1].insert(-1, _line("注：本表数据截至2023年底", 0.9))
    return pages


def test_running_headers_and_page_numbers_are_taken_out() -> None:
    furnished = strip_furniture(_pages())
    kinds = [(f.page, f.kind) for f in furnished.furniture]
    # Every page's header (one read with an OCR slip, 公极 for 公报) and every page number.
    assert sorted(kinds) == sorted(
        [(n, "header") for n in range(1, 5)] + [(n, "page-number") for n in range(1, 5)]
    )
    assert furnished.printed == ["1", "2", "3", "4"]
    kept = [[line.text for line in page] for page in furnished.kept]
    assert kept[1] == [
        "支持其开展高水平专业群建设。",
        "第二条 本办法适用于全省技工院校。",
        "注：本表数据截至2023年底",
    ]
    assert all("公报" not in text and "—" not in text for page in kept for text in page)


def test_a_header_on_fewer_than_half_the_pages_stays() -> None:
    pages = _pages()
    for page in pages[1:]:
        del page[0]  # the header only on page 1 of 4: a title, not a running header
    furnished = strip_furniture(pages)
    assert furnished.kept[0][0].text.startswith("湖南省人民政府公报")
    assert {f.kind for f in furnished.furniture} == {"page-number"}


def test_a_lone_number_is_kept_when_only_repeats_count() -> None:
    pages = [[_line("第一条 为了规范技工院校建设。", 0.3), _line("7", 0.95)]]
    assert [f.text for f in strip_furniture(pages).furniture] == ["7"]
    kept = strip_furniture(pages, page_numbers=False)
    assert [line.text for line in kept.kept[0]] == ["第一条 为了规范技工院校建设。", "7"]
    assert kept.printed == [None]


def test_body_lines_in_the_middle_of_the_page_are_never_furniture() -> None:
    # The same short line on every page, but in the body: a form's repeated caption.
    pages = [[_line("单位：万元", 0.5), _line(f"第{n}条 内容。", 0.6)] for n in range(1, 4)]
    assert strip_furniture(pages).furniture == []


def test_page_text_places_every_line() -> None:
    pages = [[_line("第一行", 0.2), _line("第二行", 0.3, confidence=0.9)], [], [_line("第三行", 0.2)]]
    text, lines = page_text(pages)
    assert text == "第一行\n第二行\n第三行"
    assert [(line.page, text[line.start : line.end], line.confidence) for line in lines] == [
        (1, "第一行", None),
        (1, "第二行", 0.9),
        (3, "第三行", None),
    ]


def test_rows_top_to_bottom_then_left_to_right() -> None:
    pieces = [
        Piece("二、工作目标", (300, 100, 420, 130)),
        Piece("第二行", (20, 150, 120, 180)),
        Piece("一、总体要求", (20, 102, 140, 128)),
        Piece("第三行", (20, 200, 120, 230)),
    ]
    rows = order_rows(pieces)
    assert [[p.text for p in row] for row in rows] == [
        ["一、总体要求", "二、工作目标"],
        ["第二行"],
        ["第三行"],
    ]
    joined = join_row(rows[0])
    assert joined.text == "一、总体要求 二、工作目标"  # a wide gap reads as a space
    assert joined.box == (20, 100, 420, 130)
    # A narrow gap (two boxes of one line) joins without one.
    assert (
        join_row([Piece("为了规范", (0, 0, 80, 20)), Piece("技工院校", (82, 0, 162, 20))]).text
        == "为了规范技工院校"
    )


def test_rows_of_a_skewed_page_do_not_interleave() -> None:
    # Lines 600 wide at 5 degrees: each line's right end lies lower than the next line's left end.
    import math

    slope = math.tan(math.radians(5))
    pieces = []
    for i, text in enumerate(["第一行", "第二行", "第三行"]):
        y = 100 + 40 * i
        pieces.append(Piece(text + "左", (0, y, 290, y + 20 + 290 * slope), height=20))
        pieces.append(Piece(text + "右", (310, y + 310 * slope, 600, y + 20 + 600 * slope), height=20))
    straight = [[p.text for p in row] for row in order_rows(pieces)]
    assert straight != [["第一行左", "第一行右"], ["第二行左", "第二行右"], ["第三行左", "第三行右"]]
    skewed = [[p.text for p in row] for row in order_rows(pieces, skew=5)]
    assert skewed == [["第一行左", "第一行右"], ["第二行左", "第二行右"], ["第三行左", "第三行右"]]


@pytest.mark.parametrize("k", [0, 1, 2, 3])
def test_turning_a_point_and_back(k: int) -> None:
    width, height = 300.0, 200.0
    for point in [(0.0, 0.0), (10.0, 20.0), (300.0, 200.0), (123.0, 45.0)]:
        assert unturn_point(*turn_point(*point, k, width, height), k, width, height) == pytest.approx(point)
    # One quarter turn counter-clockwise: the top-left corner goes to the bottom left.
    if k == 1:
        assert turn_point(0.0, 0.0, 1, width, height) == (0.0, 300.0)
        assert unturn_box((0.0, 290.0, 20.0, 300.0), 1, width, height) == (0.0, 0.0, 10.0, 20.0)
