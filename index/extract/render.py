"""Page images of stored originals, for the widget's page view: a PDF page rendered with PDFium, or an
image's frame, as a PNG no wider or taller than asked, cached on disk by the original's checksum.

The rectangles in a reading's `pages` are fractions of the page, so they lie over this image at any
size. Rendering is for display only; nothing here feeds the index.
"""

from __future__ import annotations

import io
import os
import uuid
from pathlib import Path

from index.extract.base import DEFAULT_MAX_PIXELS
from index.extract.model import RENDERED_FORMATS

DEFAULT_MAX_SIDE = 1600  # pixels of the longer side: sharp on a laptop screen, small enough to send


class NoPage(LookupError):
    """The original has no such page, or is of a format that has no page images."""


def page_png(format: str, data: bytes, page: int, max_side: int = DEFAULT_MAX_SIDE) -> bytes:
    """The 1-based `page` of an original as a PNG whose longer side is at most `max_side` pixels."""
    if format not in RENDERED_FORMATS:
        raise NoPage(f"a {format} file has no page images")
    image = _pdf_page(data, page, max_side) if format == "pdf" else _image_frame(data, page)
    image.thumbnail((max_side, max_side))
    out = io.BytesIO()
    image.convert("RGB").save(out, "PNG", optimize=False)
    return out.getvalue()


def _pdf_page(data: bytes, page: int, max_side: int):
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(data)
    try:
        if not 1 <= page <= len(document):
            raise NoPage(f"page {page} is not in the file (it has {len(document)})")
        handle = document[page - 1]
        width, height = handle.get_size()
        scale = max_side / max(width, height, 1.0)
        return handle.render(scale=scale).to_pil()
    finally:
        document.close()


def _image_frame(data: bytes, page: int):
    from PIL import Image, ImageOps

    Image.MAX_IMAGE_PIXELS = DEFAULT_MAX_PIXELS  # stored originals passed this check on arrival
    image = Image.open(io.BytesIO(data))
    frames = getattr(image, "n_frames", 1)
    if not 1 <= page <= frames:
        raise NoPage(f"page {page} is not in the file (it has {frames})")
    image.seek(page - 1)
    # Upright as the OCR read it: the rectangles are fractions of the page the reader saw.
    return ImageOps.exif_transpose(image.copy())


def cached_page_png(cache: Path, key: str, format: str, data: bytes, page: int, max_side: int) -> bytes:
    """`page_png`, kept under `cache` by the original's checksum (written whole or not at all)."""
    path = cache / f"{key}-{page}-{max_side}.png"
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    png = page_png(format, data, page, max_side)
    cache.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
    temporary.write_bytes(png)
    os.replace(temporary, path)
    return png
