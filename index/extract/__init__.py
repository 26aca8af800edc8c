"""The extraction stage: a file as it arrived (text, PDF, scan, photo, Word, web page, OFD) in, its text out,
with a map from every character back to the page and rectangle, or paragraph, it was read from.

    format_of(name, data)                 which format, from the extension, checked against the bytes
    inspect(name, data, options) -> int   a cheap check at submission; the number of pages
    extract(name, data, options, progress) -> list[Extraction]

One module per format behind the interface of `index.extract.base`; each is
imported only when a file of its format arrives, so a text-only service never
loads PDFium or the OCR models. Refusals are `FileRefused`, a 4xx that names
the file and says what to do.
"""

from __future__ import annotations

import importlib
from typing import cast

from index.extract.base import ExtractOptions, Extractor, FileRefused, Progress
from index.extract.model import Extraction
from index.extract.sniff import SUFFIXES, format_of

__all__ = [
    "SUFFIXES",
    "ExtractOptions",
    "Extraction",
    "FileRefused",
    "extract",
    "extractor",
    "format_of",
    "inspect",
]

_MODULES = {
    "text": "index.extract.text",
    "pdf": "index.extract.pdf",
    "image": "index.extract.image",
    "docx": "index.extract.docx",
    "html": "index.extract.html",
    "ofd": "index.extract.ofd",
}


def extractor(format: str) -> Extractor:
    return cast(Extractor, importlib.import_module(_MODULES[format]))


def inspect(name: str, data: bytes, options: ExtractOptions) -> int:
    """Check a file before it is stored; returns its pages (the unit of the job's progress)."""
    return extractor(format_of(name, data)).inspect(name, data, options)


def extract(
    name: str, data: bytes, options: ExtractOptions, progress: Progress = lambda _done: None
) -> list[Extraction]:
    """Every reading of a file (one; two for a PDF read by its text layer and by OCR)."""
    readings = extractor(format_of(name, data)).extract(name, data, options, progress)
    for reading in readings:
        reading.original_name = name
        if not reading.text.strip():
            raise FileRefused(name, "holds no text that could be read; check the file, or send its text")
    return readings
