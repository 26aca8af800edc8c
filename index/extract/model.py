"""What extraction hands on: a file's text, and a map from that text back to where it came from.

An `Extraction` is one reading of one file: its text (what the corpus stores as
the variant's text, and what every clause offset indexes) and, for a paged
file, every line of that text on its page (`Line`: page, rectangle, character
range, OCR confidence), or for a flowing file (Word, HTML) every block
(`Block`: a paragraph index or a DOM path). Lines and blocks never overlap and
cover every character of the text except the newlines between them, so any
character range maps back to the pages and rectangles it was read from
(`Extraction.locate`).

Rectangles are normalised to the page: 0–1, origin at the top left, (x0, y0,
x1, y1). Running headers, footers and page numbers are not in the text; they
are kept in `furniture`. Plain data: it is stored as JSON beside the variant's
text (`to_dict` / `from_dict`) and read back by the build.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import asdict, dataclass, field
from typing import Any

LAYOUT_VERSION = 1
# Below this character-weighted OCR confidence a reading is flagged as low confidence.
DEFAULT_LOW_CONFIDENCE = 0.85
# ...and counts this share of its weight as a witness in collation.
LOW_CONFIDENCE_WEIGHT = 0.5

Rect = tuple[float, float, float, float]  # x0, y0, x1, y1; 0-1 of the page, top-left origin


@dataclass(frozen=True)
class Page:
    """One physical page of a paged file, as it was read."""

    number: int  # physical page, 1-based
    width: float  # in points (PDF) or pixels (image)
    height: float
    method: str  # "text-layer" or "ocr"
    label: str | None = None  # the printed page label, when the file has one ("iv", "3")
    confidence: float | None = None  # mean OCR confidence of its lines; None from a text layer
    empty: bool = False  # nothing was read on this page (a blank back side)
    note: str = ""  # why this method was used ("no text layer", "broken text layer: …")


@dataclass(frozen=True)
class Line:
    """One line of the text as it lies on its page: `text[start:end]` is what was read there."""

    page: int
    rect: Rect
    start: int
    end: int
    confidence: float | None = None  # OCR recognition confidence, 0-1; None from a text layer


@dataclass(frozen=True)
class Block:
    """A stretch of a flowing file's text and where it sits: "paragraph 12", "table 2, row 3", a DOM path."""

    start: int
    end: int
    where: str


@dataclass(frozen=True)
class Furniture:
    """A running header, footer or page number dropped from the text (kept here, not in clauses)."""

    page: int
    text: str
    rect: Rect
    kind: str  # "header", "footer" or "page-number"


@dataclass(frozen=True)
class PageSpan:
    """Where a character range lies on one page: the rectangles of its lines there."""

    page: int
    label: str | None
    rects: list[Rect]
    confidence: float | None  # the lowest OCR confidence among those lines; None from a text layer


# The formats whose pages the service renders as images (`index.extract.render`). An OFD's pages are
# located (pages, rects) but not drawn: that would need its fonts.
RENDERED_FORMATS = ("pdf", "image")


@dataclass
class Extraction:
    """One reading of one file (a text layer, or an OCR pass): its text and where each part came from."""

    text: str
    format: str  # "text", "pdf", "image", "docx", "html" or "ofd"
    method: str  # "plain", "text-layer", "ocr", "text-layer+ocr" (some pages each), "docx", "html", "ofd"
    witness: str = ""  # "" for a file's main reading; "ocr" for the OCR reading of a PDF read twice
    original_name: str = ""  # the file's name as it arrived ("notice.pdf"); the text is stored as .txt
    pages: list[Page] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)  # in text order (by `start`), never overlapping
    blocks: list[Block] = field(default_factory=list)
    furniture: list[Furniture] = field(default_factory=list)
    encoding: str = "utf-8"  # what a plain-text file's bytes were; the stored text is UTF-8
    ocr_seconds: float = 0.0
    low_confidence_below: float = DEFAULT_LOW_CONFIDENCE
    warnings: list[str] = field(default_factory=list)

    @property
    def paged(self) -> bool:
        return bool(self.pages)

    @property
    def ocr(self) -> bool:
        return any(p.method == "ocr" for p in self.pages)

    @property
    def confidence(self) -> float | None:
        """The OCR lines' confidence weighted by their characters; None when nothing was OCR'd."""
        weighted = [
            (line.end - line.start, line.confidence) for line in self.lines if line.confidence is not None
        ]
        chars = sum(n for n, _ in weighted)
        if not weighted or chars == 0:
            return None
        return sum(n * c for n, c in weighted) / chars

    @property
    def low_confidence(self) -> bool:
        confidence = self.confidence
        return confidence is not None and confidence < self.low_confidence_below

    @property
    def weight(self) -> float:
        """How much this reading counts as a witness in collation: 1 for text read as it was written (a
        text layer, a Word file, a web page); OCR'd lines count by their confidence, the whole halved
        when the reading's confidence is low."""
        if self.confidence is None:
            return 1.0
        sized = [(line.end - line.start, line.confidence) for line in self.lines]
        chars = sum(n for n, _ in sized)
        weight = sum(n * (1.0 if c is None else c) for n, c in sized) / chars
        return weight * LOW_CONFIDENCE_WEIGHT if self.low_confidence else weight

    def locate(self, start: int, end: int) -> list[PageSpan]:
        """The pages a character range of the text lies on, in page order, with its lines' rectangles.

        Lines are in text order and never overlap, so the first line that ends after `start` is found by
        bisection and the walk stops at the first that begins at or after `end`."""
        rects: dict[int, list[Rect]] = {}
        lowest: dict[int, float] = {}
        for line in self.lines[bisect_right(self.lines, start, key=lambda line: line.end) :]:
            if line.start >= end:
                break
            if line.end == line.start:
                continue
            rects.setdefault(line.page, []).append(line.rect)
            if line.confidence is not None:
                lowest[line.page] = min(lowest.get(line.page, line.confidence), line.confidence)
        labels = {p.number: p.label for p in self.pages}
        return [PageSpan(page, labels.get(page), rects[page], lowest.get(page)) for page in sorted(rects)]

    def source(self) -> dict[str, Any]:
        """How the reading was made, as each of its passages reports it (the API's `source`)."""
        confidence = self.confidence
        return {
            "original_name": self.original_name,
            "format": self.format,
            "method": self.method,
            "ocr": self.ocr,
            "confidence": None if confidence is None else round(confidence, 4),
            "low_confidence": self.low_confidence,
            "page_images": self.format in RENDERED_FORMATS,
        }

    def where(self, start: int, end: int) -> list[str]:
        """The blocks (paragraphs, DOM paths) a character range of a flowing file's text lies in."""
        return [b.where for b in self.blocks if b.end > start and b.start < end]

    def summary(self) -> dict[str, Any]:
        """What a job's result says about the reading: its `source` and its pages (no per-line detail)."""
        return {
            **self.source(),
            "witness": self.witness,
            "pages": len(self.pages),
            "ocr_pages": sum(p.method == "ocr" for p in self.pages),
            "empty_pages": [p.number for p in self.pages if p.empty],
            "dropped_furniture": len(self.furniture),
            "warnings": list(self.warnings),
        }

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["version"] = LAYOUT_VERSION
        data.pop("text")  # the text is the variant's own file; the layout indexes it
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], text: str) -> Extraction:
        if data.get("version") != LAYOUT_VERSION:
            raise ValueError(f"layout version {data.get('version')!r}, this version reads {LAYOUT_VERSION}")
        return cls(
            text=text,
            format=data["format"],
            method=data["method"],
            witness=data.get("witness", ""),
            original_name=data.get("original_name", ""),
            pages=[Page(**p) for p in data.get("pages", [])],
            lines=sorted(
                (Line(**{**line, "rect": tuple(line["rect"])}) for line in data.get("lines", [])),
                key=lambda line: line.start,
            ),
            blocks=[Block(**b) for b in data.get("blocks", [])],
            furniture=[Furniture(**{**f, "rect": tuple(f["rect"])}) for f in data.get("furniture", [])],
            encoding=data.get("encoding", "utf-8"),
            ocr_seconds=data.get("ocr_seconds", 0.0),
            low_confidence_below=data.get("low_confidence_below", DEFAULT_LOW_CONFIDENCE),
            warnings=list(data.get("warnings", [])),
        )


def _newline_joined(texts: list[str]) -> tuple[str, list[tuple[int, int]]]:
    """The texts joined with newlines, and where each landed (start, end) in the whole."""
    spans: list[tuple[int, int]] = []
    at = 0
    for text in texts:
        spans.append((at, at + len(text)))
        at += len(text) + 1
    return "\n".join(texts), spans


def lines_text(pieces: list[tuple[str, Line]]) -> tuple[str, list[Line]]:
    """Join (text, line) pieces with newlines into one text, each line's range set to where it landed.

    The `start`/`end` of the given lines are ignored; everything else is kept."""
    text, spans = _newline_joined([piece for piece, _ in pieces])
    placed = [
        Line(line.page, line.rect, start, end, line.confidence)
        for (_, line), (start, end) in zip(pieces, spans, strict=True)
    ]
    return text, placed


def blocks_text(pieces: list[tuple[str, str]]) -> tuple[str, list[Block]]:
    """Join (text, where) pieces of a flowing file with newlines into one text, each a block where it landed."""
    text, spans = _newline_joined([piece for piece, _ in pieces])
    return text, [Block(start, end, where) for (_, where), (start, end) in zip(pieces, spans, strict=True)]


def normalised_rect(x0: float, y0: float, x1: float, y1: float, width: float, height: float) -> Rect:
    """A rectangle in page units (top-left origin) as 0-1 of the page, clipped to it."""

    def clip(v: float) -> float:
        return round(min(1.0, max(0.0, v)), 5)

    return (
        clip(min(x0, x1) / width),
        clip(min(y0, y1) / height),
        clip(max(x0, x1) / width),
        clip(max(y0, y1) / height),
    )
