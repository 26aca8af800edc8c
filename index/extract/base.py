"""The one small interface every format's extractor implements, its options and its refusal.

An extractor is a module with two functions:

- `inspect(name, data, options) -> int`: a cheap check made when a file is
  submitted, before anything is stored (opens the file, counts its pages,
  checks its pixel size before decoding, refuses encrypted or broken files);
  returns the number of pages (1 for a flowing file), the job's unit of
  progress. It raises `FileRefused` saying what to do.
- `extract(name, data, options, progress) -> list[Extraction]`: the readings of
  the file (one, or two when a PDF is read by its text layer and by OCR);
  `progress(pages_done)` is called as pages are read. A file that turns out
  unusable (a scan OCR reads as nothing) raises `FileRefused` too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from index.corpus.variants import VariantError
from index.extract.model import DEFAULT_LOW_CONFIDENCE, Extraction

Progress = Callable[[int], None]  # pages done so far, within the file

# A page image above this many pixels is refused before it is decoded (a decompression bomb):
# 100 megapixels is an A4 page scanned at 1200 dpi.
DEFAULT_MAX_PIXELS = 100_000_000
DEFAULT_MAX_PAGES = 1000
# PDF pages are rendered for OCR at this many pixels per point (2.0 = 144 dpi): rapidocr shrinks a
# page image over 2000 px anyway, so more costs time and gains nothing on A4 (measured).
DEFAULT_RENDER_SCALE = 2.0
OCR_MODES = ("auto", "both")


class FileRefused(VariantError):
    """A file that cannot be taken (encrypted, corrupt, of another type than its name says, unreadable);
    the message names the file and what to do. Nothing was stored."""


@dataclass(frozen=True)
class ExtractOptions:
    """How files are read; one set per service (settings), a field or two per upload."""

    # "auto": OCR only the pages of a PDF with no sound text layer; "both": also read every page of a
    # PDF that has a text layer by OCR, as a second variant (two witnesses of one file).
    ocr: str = "auto"
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_pages: int = DEFAULT_MAX_PAGES
    render_scale: float = DEFAULT_RENDER_SCALE
    low_confidence_below: float = DEFAULT_LOW_CONFIDENCE


def check_page_count(name: str, pages: int, options: ExtractOptions) -> None:
    """Refuse a file of more pages than one file may have (every paged format's same limit)."""
    if pages > options.max_pages:
        raise FileRefused(
            name,
            f"has {pages} pages, more than the {options.max_pages} this service reads; split it into parts "
            "and send each",
            kind="too_large",
        )


class Extractor(Protocol):
    def inspect(self, name: str, data: bytes, options: ExtractOptions) -> int: ...

    def extract(
        self, name: str, data: bytes, options: ExtractOptions, progress: Progress
    ) -> list[Extraction]: ...
