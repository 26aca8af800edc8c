"""OFD (GB/T 33190, the Chinese fixed-layout format of e-documents): each page's text layer, line by line,
with the rectangle every line lies in, like a PDF's text layer.

ofdkit (alpha, standard library only) reads the package; it is used behind a
small adapter (`_open`, `_page_runs`), the only code that touches it, which
turns its errors into `FileRefused` and its text runs into plain `_Run`s:
text, baseline position, size and advance width in millimetres from the page's
top left, after the text object's CTM and Boundary are applied (templates and
composite objects included). ofdkit has its own reading order (`Page.text()`)
but no map from that text back to its runs, so the lines are built here from
the runs: runs on one baseline make a line, read left to right; lines are read
top to bottom (one column; a 公文 is set in one column). A line's rectangle
spans its runs from about an em-box ascent above the baseline to the descent
below it, normalised to the page (0-1, top-left origin).

A page number on its own line in the page's top or bottom margin ("— 3 —",
"第3页 共5页") and a line repeated in the same margin on most pages (a running
header or footer, often from a template page) are furniture, not text.
method "text-layer", format "ofd". Text drawn as paths or images has no text
layer; such pages are empty and OCR is not attempted on OFD.
"""

from __future__ import annotations

import itertools
import logging
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import ofdkit

from index.extract.base import ExtractOptions, FileRefused, Progress, check_page_count
from index.extract.model import Extraction, Furniture, Line, Page, lines_text, normalised_rect

log = logging.getLogger(__name__)

_POINTS_PER_MM = 72 / 25.4  # pages are reported in points, as a PDF's are
# Text may stick out of the page box by this much (mm) and still count as on the page (as ofdkit's own).
_PAGE_MARGIN = 2.0
# Runs whose baselines differ by less than this share of the font size are one line.
_SAME_LINE = 0.5
# A gap wider than this share of the font size between runs gets a space; wider than the second, a tab
# (table cells, or the parts of a line set apart such as "抄送：…" and a date).
_WORD_GAP = 0.25
_COLUMN_GAP = 1.5
_MIN_SIZE = 1.0  # mm; floor for tolerances when a file gives no or tiny font sizes
# A glyph's em box reaches about this far above and below its baseline, in font sizes.
_ASCENT, _DESCENT = 0.88, 0.12
# Page furniture lies within this share of the page's height from its top or bottom edge.
_MARGIN_BAND = 0.12
_PAGE_NUMBER = re.compile(r"^[\s\-—–－~·]*(第\s*)?\d+(\s*页)?([\s/／]*(共\s*)?\d+\s*页?)?[\s\-—–－~·]*$")
_DIGITS = re.compile(r"\d+")

_SEND_AGAIN = "export the OFD again from the program that made it, or send the PDF"


@dataclass(frozen=True)
class _Run:
    """A piece of text as placed on a page, in millimetres from the page box's top left; y is the baseline."""

    text: str
    x: float
    y: float
    size: float
    width: float


@dataclass(frozen=True)
class _PageRuns:
    width: float  # mm
    height: float
    runs: list[_Run]


@dataclass
class _PageLines:
    number: int
    width: float
    height: float
    lines: list[tuple[str, Line]]


def inspect(name: str, data: bytes, options: ExtractOptions) -> int:
    """Open the file, count its pages and read every page's text objects (cheap: no rendering)."""
    with _open(name, data) as document:
        pages = _page_count(name, document, options)
        has_text = False
        for index in range(pages):
            has_text |= any(run.text.strip() for run in _page_runs(name, document, index).runs)
        if not has_text:
            raise FileRefused(
                name,
                "has no text layer (its pages are images or drawn shapes, a scan); send the scan as PDF or "
                "images so it is read by OCR, or send the text",
            )
        return pages


def extract(name: str, data: bytes, options: ExtractOptions, progress: Progress) -> list[Extraction]:
    with _open(name, data) as document:
        count = _page_count(name, document, options)
        read: list[_PageLines] = []
        for index in range(count):
            page = _page_runs(name, document, index)
            read.append(_PageLines(index + 1, page.width, page.height, _lines(index + 1, page)))
            progress(index + 1)
        warnings = list(document.warnings)
    furniture = _furniture(read)
    dropped = {(f.page, f.rect, f.text) for f in furniture}
    pieces: list[tuple[str, Line]] = []
    pages: list[Page] = []
    for page in read:
        kept = [(text, line) for text, line in page.lines if (line.page, line.rect, text) not in dropped]
        pieces.extend(kept)
        pages.append(
            Page(
                number=page.number,
                width=round(page.width * _POINTS_PER_MM, 2),
                height=round(page.height * _POINTS_PER_MM, 2),
                method="text-layer",
                empty=not kept,
                note=_empty_note(page) if not kept else "",
            )
        )
    text, lines = lines_text(pieces)
    empty = [p.number for p in pages if p.empty]
    if empty:
        warnings.append(f"pages without text (not read by OCR): {', '.join(map(str, empty))}")
    return [
        Extraction(
            text=text,
            format="ofd",
            method="text-layer",
            pages=pages,
            lines=lines,
            furniture=furniture,
            warnings=warnings,
        )
    ]


def _empty_note(page: _PageLines) -> str:
    if page.lines:
        return "only a page number or running header on this page"
    return "no text layer on this page (text drawn as shapes or an image)"


# --------------------------------------------------------------------------- the adapter over ofdkit


def _open(name: str, data: bytes) -> ofdkit.OFDDocument:
    try:
        return ofdkit.open(data)
    except ofdkit.OFDLimitError as exc:
        raise FileRefused(
            name, f"is too large to read safely ({exc}); {_SEND_AGAIN}", kind="too_large"
        ) from None
    except ofdkit.OFDError as exc:
        raise FileRefused(
            name, f"cannot be read as OFD: {exc}. It may be damaged or cut short in download; {_SEND_AGAIN}"
        ) from None
    # ofdkit is an alpha reader of untrusted ZIP and XML; anything else it raises on a file is still a file
    # it cannot read, refused (and logged, as a likely reader bug) rather than failing the request.
    except Exception as exc:
        log.warning("ofdkit failed to open %s", name, exc_info=True)
        raise FileRefused(
            name, f"cannot be read as OFD ({type(exc).__name__}: {exc}); {_SEND_AGAIN}"
        ) from None


def _page_count(name: str, document: ofdkit.OFDDocument, options: ExtractOptions) -> int:
    count = len(document.pages)
    if count == 0:
        raise FileRefused(name, f"has no pages; {_SEND_AGAIN}")
    check_page_count(name, count, options)
    return count


def _page_runs(name: str, document: ofdkit.OFDDocument, index: int) -> _PageRuns:
    """A page's box and its text runs on the page, relative to the box's top left."""
    page = document.pages[index]
    if page.location is None:  # ofdkit keeps a page whose Content.xml is missing, with no text
        raise FileRefused(name, f"is damaged: page {index + 1}'s content is missing; {_SEND_AGAIN}")
    try:
        x0, y0, width, height = page.box
        runs = page.runs
    except ofdkit.OFDLimitError as exc:
        raise FileRefused(
            name, f"page {index + 1} is too large to read safely ({exc})", kind="too_large"
        ) from None
    except ofdkit.OFDError as exc:
        raise FileRefused(
            name, f"is damaged: page {index + 1} cannot be read ({exc}); {_SEND_AGAIN}"
        ) from None
    except Exception as exc:  # as in _open: an alpha reader on untrusted input
        log.warning("ofdkit failed on page %d of %s", index + 1, name, exc_info=True)
        raise FileRefused(
            name, f"page {index + 1} cannot be read as OFD ({type(exc).__name__}: {exc}); {_SEND_AGAIN}"
        ) from None
    if not (width > 0 and height > 0):
        raise FileRefused(
            name, f"is damaged: page {index + 1} has no size ({width} x {height} mm); {_SEND_AGAIN}"
        )
    visible = [
        _Run(run.text, run.x - x0, run.y - y0, run.size, run.width)
        for run in runs
        if -_PAGE_MARGIN <= run.x - x0 <= width + _PAGE_MARGIN
        and -_PAGE_MARGIN <= run.y - y0 <= height + _PAGE_MARGIN
    ]
    return _PageRuns(width, height, visible)


# --------------------------------------------------------------------------- runs into lines


def _lines(number: int, page: _PageRuns) -> list[tuple[str, Line]]:
    """The page's lines, top to bottom, each with its normalised rectangle."""
    found = []
    for runs in _group(_dedupe(page.runs)):
        text = _join(runs).strip()
        if not text:
            continue
        x0 = min(run.x for run in runs)
        x1 = max(run.x + run.width for run in runs)
        top = min(run.y - _ASCENT * run.size for run in runs)
        bottom = max(run.y + _DESCENT * run.size for run in runs)
        rect = normalised_rect(x0, top, x1, bottom, page.width, page.height)
        found.append((text, Line(page=number, rect=rect, start=0, end=0)))
    return found


def _dedupe(runs: list[_Run]) -> list[_Run]:
    """Runs drawn twice at one spot (a common way to fake bold) once."""
    seen: set[tuple[str, int, int]] = set()
    unique = []
    for run in runs:
        key = (run.text, round(run.x * 4), round(run.y * 4))
        if key not in seen and run.text.strip():
            seen.add(key)
            unique.append(run)
    return unique


def _group(runs: list[_Run]) -> Iterator[list[_Run]]:
    """Runs on one baseline (within half a font size) as a line, sorted left to right; lines top down."""
    line: list[_Run] = []
    for run in sorted(runs, key=lambda r: (r.y, r.x)):
        if line:
            anchor = line[0]
            if abs(run.y - anchor.y) <= _SAME_LINE * max(min(run.size, anchor.size), _MIN_SIZE):
                line.append(run)
                continue
            yield sorted(line, key=lambda r: r.x)
        line = [run]
    if line:
        yield sorted(line, key=lambda r: r.x)


def _join(runs: list[_Run]) -> str:
    parts = [runs[0].text]
    for previous, run in itertools.pairwise(runs):
        size = max(min(previous.size, run.size), _MIN_SIZE)
        gap = run.x - (previous.x + previous.width)
        if gap > _COLUMN_GAP * size:
            parts.append("\t")
        elif gap > _WORD_GAP * size:
            parts.append(" ")
        parts.append(run.text)
    return "".join(parts)


# --------------------------------------------------------------------------- furniture


def _furniture(pages: list[_PageLines]) -> list[Furniture]:
    """Page numbers in a page's top or bottom margin, and lines repeated in the same margin on most pages
    (digits aside, so "第3页" repeats), as furniture."""

    def band(line: Line) -> str | None:
        if line.rect[3] <= _MARGIN_BAND:
            return "header"
        if line.rect[1] >= 1 - _MARGIN_BAND:
            return "footer"
        return None

    repeats: Counter[tuple[str, str]] = Counter()
    for page in pages:
        seen = {(where, _DIGITS.sub("#", text)) for text, line in page.lines if (where := band(line))}
        repeats.update(seen)
    running = {key for key, n in repeats.items() if len(pages) >= 2 and n >= max(2, (len(pages) + 1) // 2)}
    found = []
    for page in pages:
        for text, line in page.lines:
            where = band(line)
            if where is None:
                continue
            if _PAGE_NUMBER.match(text):
                found.append(Furniture(page=page.number, text=text, rect=line.rect, kind="page-number"))
            elif (where, _DIGITS.sub("#", text)) in running:
                found.append(Furniture(page=page.number, text=text, rect=line.rect, kind=where))
    return found
