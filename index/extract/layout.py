"""Page layout shared by the paged formats (PDF, scans, photos): reading order and running furniture.

- `order_rows(pieces, skew)` puts the pieces of text read on a page (PDFium's line fragments, OCR
  boxes) into rows, top to bottom, each left to right, on a page that may be slightly skewed;
  `join_row(row)` makes one line of a row.
- `strip_furniture(pages)` finds the running headers, footers and page numbers of a paged file and
  takes them out of the text: a line in the top or bottom band of its page whose text (digits
  aside) recurs on at least half the pages (and at least two), or a page-number-like line in
  those bands ("- 3 -", "第 3 页", "3/12", "— 3 —"). The number printed on a dropped page-number
  line is the page's printed label.
- `page_text(pages)` joins the kept lines of every page into the reading's text and its `Line` map.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from index.extract.model import Furniture, Line, Rect, lines_text

# The top and bottom bands of a page, as a share of its height, where running furniture lives.
# A GB/T 9704 official document's body starts 37 mm below the top of an A4 page (0.125) and ends
# 35 mm above the bottom (0.88); its page number sits 7 mm below the body (about 0.915). So a band
# of 0.12 holds headers and page numbers and no body line of a standard layout.
BAND = 0.12
# A band line recurring (digits aside) on at least this share of the pages, and on at least two,
# is running furniture.
REPEAT_SHARE = 0.5
# Two band lines are "the same" header when their texts (digits aside) are this similar (0-100):
# OCR slips a character now and then, and a repeated header must still be found.
SAME_TEXT = 85
# Lines longer than this are not taken for furniture, whatever repeats (a body line that happens
# to lie in a band on a scan with narrow margins).
MAX_FURNITURE_CHARS = 60

_DASH = r"[-‐‑‒–—―－_~·•一]"  # OCR reads the em dashes of "— 3 —" as 一 often enough
_ROMAN = r"[ivxlcdm]{1,7}|[IVXLCDM]{1,7}"
# Page-number lines; the group "n" is the printed number, the page's label.
_PAGE_NUMBER = [
    re.compile(rf"^{_DASH}*\s*(?P<n>\d{{1,4}})\s*{_DASH}*$"),
    re.compile(rf"^{_DASH}+\s*(?P<n>{_ROMAN})\s*{_DASH}+$"),
    re.compile(r"^(?P<n>" + _ROMAN + r")$"),
    re.compile(r"^第\s*(?P<n>\d{1,4})\s*页(\s*[,，/、]?\s*共\s*\d{1,4}\s*页)?$"),
    re.compile(r"^共\s*\d{1,4}\s*页\s*[,，/、]?\s*第\s*(?P<n>\d{1,4})\s*页$"),
    re.compile(r"^(?P<n>\d{1,4})\s*/\s*\d{1,4}$"),
    re.compile(r"^(?i:page)\s*(?P<n>\d{1,4})(\s*(?i:of)\s*\d{1,4})?$"),
]
_DIGITS = re.compile(r"\d+")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Piece:
    """A piece of text where it lies on a page: a PDFium line fragment, one OCR box.

    `box` is (x0, y0, x1, y1) with a top-left origin in any unit; `height` is the height of the
    text itself (for a skewed OCR box, its short side, not the height of the upright bounding box).
    `extra` carries what the caller needs back (an OCR box's quadrilateral)."""

    text: str
    box: tuple[float, float, float, float]
    confidence: float | None = None
    height: float | None = None
    extra: tuple = field(default=(), compare=False)

    @property
    def text_height(self) -> float:
        return self.height if self.height is not None else self.box[3] - self.box[1]


def order_rows(pieces: Sequence[Piece], skew: float = 0.0) -> list[list[Piece]]:
    """The pieces in rows, top to bottom, each row left to right.

    `skew` is the angle of the text's baselines in degrees (clockwise, image coordinates): the
    pieces are ordered along and across the baselines, so the lines of a page photographed a few
    degrees askew do not interleave."""
    if not pieces:
        return []
    angle = math.radians(skew)
    cos, sin = math.cos(angle), math.sin(angle)

    def along(p: Piece) -> float:
        cx, cy = (p.box[0] + p.box[2]) / 2, (p.box[1] + p.box[3]) / 2
        return cos * cx + sin * cy

    def across(p: Piece) -> float:
        cx, cy = (p.box[0] + p.box[2]) / 2, (p.box[1] + p.box[3]) / 2
        return -sin * cx + cos * cy

    rows: list[list[Piece]] = []
    centre = 0.0
    height = 0.0
    for piece in sorted(pieces, key=across):
        y, h = across(piece), max(piece.text_height, 1e-6)
        # Same row: the centres lie within half the smaller text height of each other.
        if rows and abs(y - centre) <= 0.5 * min(h, height):
            rows[-1].append(piece)
            n = len(rows[-1])
            centre += (y - centre) / n
            height = max(height, h)
        else:
            rows.append([piece])
            centre, height = y, h
    return [sorted(row, key=along) for row in rows]


def join_row(row: Sequence[Piece]) -> Piece:
    """One piece for a row: texts joined (a space where a gap wider than a character parted them),
    the boxes' union, the confidence weighted by characters."""
    texts: list[str] = []
    for before, piece in zip([None, *row[:-1]], row, strict=True):
        if before is not None:
            gap = piece.box[0] - before.box[2]
            wide = gap > 0.8 * min(before.text_height, piece.text_height)
            if wide and not texts[-1].endswith(" ") and not piece.text.startswith(" "):
                texts.append(" ")
        texts.append(piece.text)
    scored = [(len(p.text), p.confidence) for p in row if p.confidence is not None]
    chars = sum(n for n, _ in scored)
    confidence = None
    if scored:
        confidence = (
            sum(n * c for n, c in scored) / chars if chars else sum(c for _, c in scored) / len(scored)
        )
    return Piece(
        text="".join(texts),
        box=(
            min(p.box[0] for p in row),
            min(p.box[1] for p in row),
            max(p.box[2] for p in row),
            max(p.box[3] for p in row),
        ),
        confidence=confidence,
        height=max(p.text_height for p in row),
        extra=tuple(x for p in row for x in p.extra),
    )


def turn_point(x: float, y: float, k: int, width: float, height: float) -> tuple[float, float]:
    """A point of a `width` x `height` page (top-left origin) on the page turned `k` quarter turns
    counter-clockwise (as numpy's rot90 turns an image)."""
    k %= 4
    if k == 1:
        return y, width - x
    if k == 2:
        return width - x, height - y
    if k == 3:
        return height - y, x
    return x, y


def unturn_point(x: float, y: float, k: int, width: float, height: float) -> tuple[float, float]:
    """The inverse of `turn_point`: a point of the turned page back on the `width` x `height` page."""
    k %= 4
    if k == 1:
        return width - y, x
    if k == 2:
        return width - x, height - y
    if k == 3:
        return y, height - x
    return x, y


def unturn_box(
    box: tuple[float, float, float, float], k: int, width: float, height: float
) -> tuple[float, float, float, float]:
    """A box of the turned page as a box of the `width` x `height` page."""
    xa, ya = unturn_point(box[0], box[1], k, width, height)
    xb, yb = unturn_point(box[2], box[3], k, width, height)
    return min(xa, xb), min(ya, yb), max(xa, xb), max(ya, yb)


@dataclass(frozen=True)
class PageLine:
    """A line read on a page, ready for the text: its rectangle on the page as shown (0-1, top left)
    and, for a page read turned, on the upright page (where "top" and "bottom" are meant)."""

    text: str
    rect: Rect
    confidence: float | None = None
    upright: Rect | None = None  # None: the page was read as shown, `rect` is upright

    @property
    def upright_rect(self) -> Rect:
        return self.upright if self.upright is not None else self.rect


@dataclass
class Furnished:
    """The lines kept on each page, the furniture taken out, and each page's printed number."""

    kept: list[list[PageLine]]
    furniture: list[Furniture]
    printed: list[str | None]


def page_number(text: str) -> str | None:
    """The number a page-number line prints ("- 3 -" -> "3", "第 3 页" -> "3", "iv"), or None."""
    stripped = text.strip()
    for pattern in _PAGE_NUMBER:
        match = pattern.match(stripped)
        if match:
            return match.group("n")
    return None


def _band(line: PageLine) -> str | None:
    _, y0, _, y1 = line.upright_rect
    centre = (y0 + y1) / 2
    if centre <= BAND:
        return "top"
    if centre >= 1 - BAND:
        return "bottom"
    return None


def _key(text: str) -> str:
    return _DIGITS.sub("0", _SPACE.sub("", text))


def strip_furniture(pages: Sequence[Sequence[PageLine]], page_numbers: bool = True) -> Furnished:
    """Take running headers, footers and page numbers out of the pages' lines (see the module).

    `pages[i]` are the lines of page i + 1 in reading order. With `page_numbers` False only
    repeated lines are furniture (a single photo's lone "3" is kept)."""
    # Candidates: band lines, short enough to be furniture.
    candidates: list[tuple[int, int, str, str]] = []  # page index, line index, band, key
    for p, lines in enumerate(pages):
        for i, line in enumerate(lines):
            band = _band(line)
            if band and len(line.text.strip()) <= MAX_FURNITURE_CHARS and line.text.strip():
                candidates.append((p, i, band, _key(line.text)))

    # Cluster the candidates of each band by their text (digits aside), greedily against a few
    # representatives: running furniture is a handful of distinct texts, so this stays cheap.
    clusters: list[tuple[str, str, set[int], list[tuple[int, int]]]] = []  # band, key, pages, members
    for p, i, band, key in candidates:
        for c_band, c_key, c_pages, members in clusters:
            if c_band == band and (
                c_key == key or (min(len(key), len(c_key)) >= 4 and fuzz.ratio(key, c_key) >= SAME_TEXT)
            ):
                c_pages.add(p)
                members.append((p, i))
                break
        else:
            clusters.append((band, key, {p}, [(p, i)]))

    needed = max(2, math.ceil(REPEAT_SHARE * len(pages)))
    dropped: dict[tuple[int, int], str] = {}
    for band, _key_text, c_pages, members in clusters:
        if len(c_pages) >= needed:
            for member in members:
                dropped[member] = "header" if band == "top" else "footer"
    printed: list[str | None] = [None] * len(pages)
    for p, i, band, _ in candidates:
        number = page_number(pages[p][i].text)
        if number is None:
            continue
        if page_numbers or (p, i) in dropped:
            dropped[(p, i)] = "page-number"
            # The bottom band's number wins over a number in the header.
            if printed[p] is None or band == "bottom":
                printed[p] = number

    kept: list[list[PageLine]] = []
    furniture: list[Furniture] = []
    for p, lines in enumerate(pages):
        kept.append([])
        for i, line in enumerate(lines):
            kind = dropped.get((p, i))
            if kind is None:
                kept[-1].append(line)
            else:
                furniture.append(Furniture(page=p + 1, text=line.text, rect=line.rect, kind=kind))
    return Furnished(kept=kept, furniture=furniture, printed=printed)


def page_text(pages: Sequence[Sequence[PageLine]]) -> tuple[str, list[Line]]:
    """The text of the pages' lines in order, one line of text per line, and each line's place."""
    pieces = [
        (line.text, Line(page=number, rect=line.rect, start=0, end=0, confidence=line.confidence))
        for number, lines in enumerate(pages, start=1)
        for line in lines
    ]
    return lines_text(pieces)


def weighted_confidence(lines: Sequence[PageLine]) -> float | None:
    """The lines' OCR confidence weighted by their characters; None when none was OCR'd."""
    scored = [(len(line.text), line.confidence) for line in lines if line.confidence is not None]
    chars = sum(n for n, _ in scored)
    if not scored or chars == 0:
        return None
    return sum(n * c for n, c in scored) / chars
