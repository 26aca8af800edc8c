"""Scans and photos (.png, .jpg, .jpeg, .tif, .tiff, multi-page TIFF included): every frame OCR'd.

    inspect(name, data, options) -> int      frames (pages), checked before any is decoded
    extract(name, data, options, progress) -> [Extraction]

`inspect` opens the file with Pillow, which reads only its header, and refuses a frame over
`options.max_pixels` before its pixels are decoded (a decompression bomb: a few kilobytes that
declare 30000 x 30000 pixels); Pillow's own guard (`Image.MAX_IMAGE_PIXELS`) is set to the same
limit and its error is the same refusal. A file cut short is refused too, from what can be seen
without decoding: a PNG's chunk checksums, a JPEG's end marker, a TIFF's strips lying past the end.

Each frame is turned upright by its EXIF orientation first (`ImageOps.exif_transpose`, as
`index.extract.render` does for the page view), so a line's rectangle is a fraction of the frame as
the service renders it: upright by EXIF. Within that frame OCR finds a page turned or askew by
itself (`index.extract.ocr`), and its rectangles stay on the frame as rendered.

Running headers, footers and page numbers are found as for a PDF, but only in a file of two pages
or more: on a single photo, a lone number at the bottom is as likely part of the text.
"""

from __future__ import annotations

import io
import re
import warnings
from typing import Any

from PIL import Image

from index.corpus.variants import shown_name
from index.extract import layout
from index.extract.base import ExtractOptions, FileRefused, Progress, check_page_count
from index.extract.layout import PageLine
from index.extract.model import Extraction, Page

# A JPEG's end-of-image marker must lie within this many bytes of the end (cameras append a little).
JPEG_TAIL = 64 * 1024
_RESCAN = "scan it at a lower resolution (300 dpi is plenty) and send it again"
_FORMATS = {"PNG", "JPEG", "MPO", "TIFF"}  # MPO: a camera JPEG carrying a second, preview image

# Pillow warns of images between its limit and twice it; they are refused here with a message, so
# the warning says nothing more (and damaged EXIF is read as no EXIF).
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
warnings.filterwarnings("ignore", message="Corrupt EXIF data", category=UserWarning)


def _open(name: str, data: bytes, options: ExtractOptions) -> Any:
    from PIL import UnidentifiedImageError

    shown = shown_name(name)
    # Pillow refuses images over twice this on open (DecompressionBombError); the check below
    # refuses anything over it once the header is read, before any decoding.
    Image.MAX_IMAGE_PIXELS = options.max_pixels
    try:
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as error:
        raise FileRefused(shown, _bomb(options, error), kind="too_large") from None
    except UnidentifiedImageError:
        raise FileRefused(
            shown, "could not be read as an image; it may be damaged or cut short: send it again"
        ) from None
    except Exception as error:  # Pillow's readers raise what they meet in a damaged header
        raise FileRefused(
            shown,
            f"could not be read as an image ({_why(error)}); it may be damaged or cut short: send it again",
        ) from None
    if image.format not in _FORMATS:
        raise FileRefused(
            shown, f"is a {image.format} image; send the scan as PNG, JPEG or TIFF", kind="unsupported_type"
        )
    return image


def _why(error: Exception) -> str:
    return str(error) or type(error).__name__


def _bomb(options: ExtractOptions, error: Exception) -> str:
    """Pillow's refusal of a header declaring too many pixels, said with the count it declared."""
    declared = re.search(r"\((\d+) pixels\)", str(error))
    where = (
        f"it declares {int(declared.group(1)) / 1e6:,.0f} megapixels"
        if declared
        else "it declares more pixels"
    )
    return f"{where}, more than the {options.max_pixels / 1e6:.0f} megapixels this service reads; {_RESCAN}"


def _too_many_pixels(
    options: ExtractOptions, size: tuple[int, int] | None = None, frame: int | None = None
) -> str:
    where = f"frame {frame} is {size[0]} x {size[1]} pixels" if size and frame else "it declares more pixels"
    return f"{where}, more than the {options.max_pixels / 1e6:.0f} megapixels this service reads; {_RESCAN}"


def _frames(name: str, image: Any, options: ExtractOptions) -> int:
    """How many frames, each checked for size by its header alone."""
    shown = shown_name(name)
    try:
        # A camera's MPO is a JPEG followed by a preview or depth image: one page, not two.
        frames = 1 if image.format == "MPO" else int(getattr(image, "n_frames", 1))
    except Image.DecompressionBombError as error:
        raise FileRefused(shown, _bomb(options, error), kind="too_large") from None
    except Exception as error:
        raise FileRefused(
            shown, f"has a damaged page directory ({_why(error)}); it may be cut short: send it again"
        ) from None
    check_page_count(shown, frames, options)
    for index in range(frames):
        try:
            image.seek(index)  # reads the frame's header, not its pixels
        except Image.DecompressionBombError as error:
            raise FileRefused(shown, _bomb(options, error), kind="too_large") from None
        except Exception as error:
            raise FileRefused(
                shown,
                f"page {index + 1} could not be read ({_why(error)}); it may be damaged or cut short: send it again",
            ) from None
        width, height = image.size
        if width * height > options.max_pixels:
            raise FileRefused(shown, _too_many_pixels(options, (width, height), index + 1), kind="too_large")
        if width < 1 or height < 1:
            raise FileRefused(shown, f"page {index + 1} has no pixels; send the scan again")
    image.seek(0)
    return frames


def _check_complete(name: str, image: Any, data: bytes) -> None:
    """Refuse a file cut short, by what its structure says, without decoding its pixels."""
    shown = shown_name(name)
    cut = "is cut short or damaged ({}); send the whole file again"
    if image.format == "PNG":
        # verify() walks the chunks and checks their CRCs; it does not inflate the pixel data.
        try:
            again = Image.open(io.BytesIO(data))
            again.verify()
        except Exception as error:
            raise FileRefused(shown, cut.format(_why(error))) from None
    elif image.format in ("JPEG", "MPO"):
        if b"\xff\xd9" not in data[-JPEG_TAIL:]:
            raise FileRefused(shown, cut.format("no JPEG end marker"))
    elif image.format == "TIFF":
        # Each frame's strips (or tiles) must lie within the file.
        for index in range(int(getattr(image, "n_frames", 1))):
            try:
                image.seek(index)
                tags = image.tag_v2
                offsets = tags.get(273) or tags.get(324) or ()
                counts = tags.get(279) or tags.get(325) or ()
                if isinstance(offsets, int):
                    offsets, counts = (offsets,), (counts,)
                past_end = any(int(o) + int(c) > len(data) for o, c in zip(offsets, counts, strict=False))
            except Exception as error:
                raise FileRefused(shown, cut.format(_why(error))) from None
            if past_end:
                raise FileRefused(
                    shown, cut.format(f"page {index + 1}'s image data runs past the end of the file")
                )
        image.seek(0)


def inspect(name: str, data: bytes, options: ExtractOptions) -> int:
    """Check the image without decoding it; its frames (pages)."""
    image = _open(name, data, options)
    try:
        frames = _frames(name, image, options)
        _check_complete(name, image, data)
        return frames
    finally:
        image.close()


def _upright_rgb(image: Any) -> Any:
    """The current frame, turned by its EXIF orientation, in RGB on white (transparency is paper)."""
    from PIL import ImageOps

    # As index.extract.render does for the page view, so the rectangles fall on the page shown.
    frame = ImageOps.exif_transpose(image.copy())
    if frame.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        import numpy as np

        values = np.asarray(frame, dtype=np.float64)
        top = float(values.max()) or 1.0
        frame = Image.fromarray((values * (255.0 / top)).clip(0, 255).astype(np.uint8), "L")
    if frame.mode in ("RGBA", "LA", "PA") or (frame.mode == "P" and "transparency" in frame.info):
        rgba = frame.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        frame = Image.alpha_composite(white, rgba)
    return frame.convert("RGB")


def extract(name: str, data: bytes, options: ExtractOptions, progress: Progress) -> list[Extraction]:
    """OCR every frame; one reading (format "image", method "ocr")."""
    from index.extract import ocr

    shown = shown_name(name)
    image = _open(name, data, options)
    try:
        frames = _frames(name, image, options)
        _check_complete(name, image, data)
        pages: list[list[PageLine]] = []
        sizes: list[tuple[int, int]] = []
        notes: list[str] = []
        seconds = 0.0
        for index in range(frames):
            try:
                image.seek(index)
                frame = _upright_rgb(image)
            except Exception as error:  # a damaged stream: Pillow raises OSError, ValueError, or worse
                raise FileRefused(
                    shown,
                    f"page {index + 1} could not be decoded ({_why(error)}); it may be damaged or cut short: send it again",
                ) from None
            read = ocr.read(frame)
            seconds += read.seconds
            pages.append(
                [
                    PageLine(
                        text=line.text, rect=read.rect(line), confidence=line.confidence, upright=line.upright
                    )
                    for line in read.lines
                ]
            )
            sizes.append(frame.size)
            notes.append(", ".join(["image", *read.notes]))
            progress(index + 1)
    finally:
        image.close()

    if frames >= 2:
        furnished = layout.strip_furniture(pages)
    else:
        furnished = layout.Furnished(kept=[list(p) for p in pages], furniture=[], printed=[None])
    if not any(furnished.kept):
        raise FileRefused(
            shown,
            f"no text could be read on {'its page' if frames == 1 else f'any of its {frames} pages'} (OCR found no legible text); "
            "check the scan or photo is legible (in focus, well lit, the page filling the picture) and send it again",
        )
    text, lines = layout.page_text(furnished.kept)
    result_pages: list[Page] = []
    warnings: list[str] = []
    for number, (kept, read_lines, (width, height), note, printed) in enumerate(
        zip(furnished.kept, pages, sizes, notes, furnished.printed, strict=True), start=1
    ):
        confidence = layout.weighted_confidence(kept) or layout.weighted_confidence(read_lines)
        result_pages.append(
            Page(
                number=number,
                width=width,
                height=height,
                method="ocr",
                label=printed,
                confidence=None if confidence is None else round(confidence, 4),
                empty=not kept,
                note=note,
            )
        )
        if not kept:
            warnings.append(f"page {number}: OCR read nothing; a blank page, or an illegible scan")
        elif confidence is not None and confidence < options.low_confidence_below:
            warnings.append(
                f"page {number}: OCR confidence {confidence:.2f} is low; check the reading against the page"
            )
    return [
        Extraction(
            text=text,
            format="image",
            method="ocr",
            pages=result_pages,
            lines=lines,
            furniture=furnished.furniture,
            ocr_seconds=round(seconds, 3),
            low_confidence_below=options.low_confidence_below,
            warnings=warnings,
        )
    ]
