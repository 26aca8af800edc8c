"""PDF: each page's text layer read with PDFium, or the page rendered and OCR'd when it has none worth
reading.

    inspect(name, data, options) -> int      pages (twice the pages when `ocr="both"` reads it twice)
    extract(name, data, options, progress) -> [Extraction]  (two with `ocr="both"`)

A page's text layer is judged before it is used: no text at all, or a layer that is broken (glyphs
without a Unicode mapping read as U+FFFD or private-use characters, mojibake where Chinese should
be, spaces between almost every Chinese character, a few characters over a page-sized scan) sends
the page to OCR, and `Page.note` says why. Running headers, footers and page numbers are taken out
of the text (`index.extract.layout`) and kept as furniture; a page's label is the file's own page
label when it defines them, else the number printed on its page-number line.

Lines are not joined here, even across a page break: the segmenter joins a line broken mid-sentence,
so a clause that runs over a page break spans both pages in `Extraction.locate`.

Progress counts pages read: 1..N for the main reading; with `ocr="both"` and a text layer, the OCR
reading goes on from N+1 to 2N, the total `inspect` returns.
"""

from __future__ import annotations

import ctypes
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from index.corpus.variants import shown_name
from index.extract import layout
from index.extract.base import ExtractOptions, FileRefused, Progress, check_page_count
from index.extract.layout import PageLine, Piece
from index.extract.model import Extraction, Page, Rect, normalised_rect

if TYPE_CHECKING:
    from index.extract.ocr import OcrPage

# A text layer is broken when more than this share of its characters are U+FFFD or private-use
# (glyphs the PDF maps to no Unicode character), and at least this many of them.
BROKEN_SHARE = 0.05
BROKEN_MIN = 3
# ... or when, among at least this many non-ASCII letters, fewer than this share are Chinese
# (GBK bytes shown as Latin-1: "Õâ¸öÎÄ¼þ").
MOJIBAKE_MIN_LETTERS = 8
MOJIBAKE_CJK_SHARE = 0.5
# ... or when, of at least this many pairs of neighbouring Chinese characters, more than this share
# have a space between them ("关 于 印 发"): text extracted glyph by glyph.
SPACED_MIN_PAIRS = 10
SPACED_SHARE = 0.7
# A page with fewer characters than this in its text layer, over images covering at least this
# share of it, is a scan with a stray text layer (a stamped page number): it is OCR'd.
SCAN_TEXT_CHARS = 30
SCAN_IMAGE_COVER = 0.5
# Where PDFium's end-of-file marker must be: a file cut short in transfer has none.
EOF_WINDOW = 4096

_ERRORS = {
    1: "unknown error",
    2: "file not found",
    3: "not a PDF or damaged",
    4: "password",
    5: "security",
    6: "page error",
}


# --- opening and inspecting ------------------------------------------------------------------------


def _open(name: str, data: bytes) -> Any:
    """The document, or FileRefused saying what is wrong with the file and what to do."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    shown = shown_name(name)
    # PDFium repairs damaged cross-reference tables, and a file cut short in transfer often still
    # opens with pages missing or blank: a PDF must end with its %%EOF marker.
    if b"%%EOF" not in data[-EOF_WINDOW:]:
        raise FileRefused(
            shown,
            "is not a complete PDF (it does not end with %%EOF: cut short, or damaged); send the whole file again",
        )
    # Loaded through the raw API, not PdfDocument(bytes): PdfDocument reports a PDF with no pages
    # as a format error, and the two deserve different messages.
    raw = pdfium_c.FPDF_LoadMemDocument64(data, len(data), None)
    if not raw:
        error = pdfium_c.FPDF_GetLastError()
        if error == pdfium_c.FPDF_ERR_PASSWORD:
            raise FileRefused(
                shown,
                "is protected by a password; remove the password (print or save it as an unprotected PDF) and send it again",
            )
        if error == pdfium_c.FPDF_ERR_SECURITY:
            raise FileRefused(
                shown,
                "is encrypted with a security handler this service cannot open; save it as an unprotected PDF and send it again",
            )
        raise FileRefused(
            shown,
            f"could not be opened as a PDF ({_ERRORS.get(error, f'error {error}')}); it may be damaged or cut short: export it again, or send the original",
        )
    # PDFium reads from `data` in place: the callers close the document before they return, so the
    # bytes outlive it.
    document = pdfium.PdfDocument(raw)
    if len(document) == 0:
        document.close()
        raise FileRefused(shown, "is a PDF with no pages; send the file that holds the document")
    return document


def _check_sizes(name: str, document: Any, options: ExtractOptions) -> int:
    """The page count, refusing too many pages or a page too large to render for OCR."""
    import pypdfium2 as pdfium

    pages = len(document)
    check_page_count(shown_name(name), pages, options)
    for index in range(pages):
        try:
            width, height = document.get_page_size(index)  # by index: the page is not loaded
        except pdfium.PdfiumError:
            raise FileRefused(
                shown_name(name),
                f"page {index + 1} is damaged (it has no size); export the PDF again and send it",
            ) from None
        pixels = width * options.render_scale * height * options.render_scale
        if not (math.isfinite(pixels) and pixels <= options.max_pixels):
            raise FileRefused(
                shown_name(name),
                f"page {index + 1} is {width:.0f} x {height:.0f} points: read at {options.render_scale:g} pixels per point it "
                f"would be {pixels / 1e6:.0f} megapixels, more than the {options.max_pixels / 1e6:.0f} allowed; "
                "scale the page down to a usual paper size and send it again",
                kind="too_large",
            )
    return pages


def _has_text_layer(document: Any) -> bool:
    """Whether any page carries characters (stops at the first that does; no page is rendered)."""
    import pypdfium2 as pdfium

    for index in range(len(document)):
        try:
            page = document[index]
        except pdfium.PdfiumError:
            continue  # a damaged page: extract reads around it
        try:
            textpage = page.get_textpage()
            try:
                if textpage.count_chars() > 0 and textpage.get_text_range().strip():
                    return True
            finally:
                textpage.close()
        finally:
            page.close()
    return False


def inspect(name: str, data: bytes, options: ExtractOptions) -> int:
    """Open the PDF and check it without rendering; the pages to read (twice over for `ocr="both"`)."""
    document = _open(name, data)
    try:
        pages = _check_sizes(name, document, options)
        if options.ocr == "both" and _has_text_layer(document):
            return 2 * pages
        return pages
    finally:
        document.close()


# --- judging a text layer -------------------------------------------------------------------------


def _is_cjk(char: str) -> bool:
    code = ord(char)
    return (
        0x4E00 <= code <= 0x9FFF
        or 0x3400 <= code <= 0x4DBF
        or 0x20000 <= code <= 0x3134F
        or 0xF900 <= code <= 0xFAFF
        or 0x3040 <= code <= 0x30FF  # kana: Japanese in a Chinese file is no mojibake
    )


def _is_unmapped(char: str) -> bool:
    code = ord(char)
    return (
        code == 0xFFFD
        or 0xE000 <= code <= 0xF8FF
        or code >= 0xF0000
        or (code < 0x20 and char not in "\t\n\r")
    )


def judge_text_layer(text: str) -> str | None:
    """Why a page's text layer is not to be used, or None when it is sound."""
    visible = [c for c in text if not c.isspace()]
    if not visible:
        return "no text layer"
    unmapped = sum(_is_unmapped(c) for c in visible)
    if unmapped >= BROKEN_MIN and unmapped > BROKEN_SHARE * len(visible):
        return f"broken text layer: {unmapped} of {len(visible)} characters have no Unicode mapping"
    letters = [c for c in visible if ord(c) > 0x7F and (c.isalpha() or _is_cjk(c)) and not _is_unmapped(c)]
    if len(letters) >= MOJIBAKE_MIN_LETTERS:
        cjk = sum(_is_cjk(c) for c in letters)
        if cjk < MOJIBAKE_CJK_SHARE * len(letters):
            sample = "".join(c for c in letters if not _is_cjk(c))[:8]
            return f"broken text layer: mojibake ({len(letters) - cjk} of {len(letters)} non-ASCII letters are not Chinese, such as {sample!r})"
    adjacent = spaced = 0
    for line in text.splitlines():
        chars = line.strip()
        for i, char in enumerate(chars[:-1]):
            if not _is_cjk(char):
                continue
            if _is_cjk(chars[i + 1]):
                adjacent += 1
            elif chars[i + 1] in " \u3000" and i + 2 < len(chars) and _is_cjk(chars[i + 2]):
                spaced += 1
    if spaced + adjacent >= SPACED_MIN_PAIRS and spaced > SPACED_SHARE * (spaced + adjacent):
        return f"broken text layer: spaces between the Chinese characters ({spaced} of {spaced + adjacent} pairs)"
    return None


# --- reading a page ---------------------------------------------------------------------------------


@dataclass
class _PageReading:
    number: int
    width: float  # points, as the page is shown (its /Rotate applied)
    height: float
    method: str  # "text-layer" or "ocr"
    lines: list[PageLine] = field(default_factory=list)
    note: str = ""
    confidence: float | None = None
    seconds: float = 0.0
    has_text: bool = False  # the page carries characters in a text layer, sound or not
    damaged: bool = False  # PDFium could not load or read the page


def _device_transform(
    page: Any, width: float, height: float
) -> Callable[[float, float], tuple[float, float]]:
    """Page space -> 0-1 of the page as shown (top-left origin), with its /Rotate and crop box applied.

    PDFium's own mapping (FPDF_PageToDevice, integers) is sampled at three points over a large
    device, which gives the affine map to 1e-5 of the page."""
    import pypdfium2.raw as pdfium_c

    size_x, size_y = 100_000, 100_000
    out_x, out_y = ctypes.c_int(), ctypes.c_int()

    def device(px: float, py: float) -> tuple[float, float]:
        pdfium_c.FPDF_PageToDevice(page, 0, 0, size_x, size_y, 0, px, py, out_x, out_y)
        return out_x.value / size_x, out_y.value / size_y

    span = max(width, height, 1.0)
    ox, oy = device(0.0, 0.0)
    ax, ay = device(span, 0.0)
    bx, by = device(0.0, span)
    a, b = (ax - ox) / span, (bx - ox) / span
    c, d = (ay - oy) / span, (by - oy) / span

    def transform(x: float, y: float) -> tuple[float, float]:
        return ox + a * x + b * y, oy + c * x + d * y

    return transform


def _text_direction(runs: list[list[tuple[str, tuple[float, float, float, float] | None]]]) -> int:
    """Which way the page's text runs as shown, as the quarter turns (counter-clockwise) that set it
    upright: 0 left to right, 1 downwards (a page shown turned clockwise), 2 upside down, 3 upwards."""
    votes = [0.0, 0.0, 0.0, 0.0]
    for run in runs:
        boxes = [box for _, box in run if box is not None]
        if len(boxes) < 2:
            continue
        (ax0, ay0, ax1, ay1), (bx0, by0, bx1, by1) = boxes[0], boxes[-1]
        dx, dy = (bx0 + bx1 - ax0 - ax1) / 2, (by0 + by1 - ay0 - ay1) / 2
        if abs(dx) >= abs(dy):
            votes[0 if dx >= 0 else 2] += abs(dx)
        else:
            votes[1 if dy > 0 else 3] += abs(dy)
    return max(range(4), key=lambda k: (votes[k], -k))


def _text_lines(page: Any, textpage: Any, width: float, height: float) -> list[PageLine]:
    """The page's text layer as lines in reading order, each with its rectangle on the page as shown.

    Characters come in PDFium's order, in runs it ends with a line break. The runs are cut into
    lines and ordered on the page set upright (text running left to right), which is the page as
    shown unless its text runs sideways there; the rectangles are then mapped back onto the page
    as shown, over which they are drawn."""
    import pypdfium2.raw as pdfium_c

    transform = _device_transform(page, width, height)
    left, right, bottom, top = ctypes.c_double(), ctypes.c_double(), ctypes.c_double(), ctypes.c_double()
    loose = pdfium_c.FS_RECTF()
    # Each character with its box in points on the page as shown (top-left origin), in runs.
    runs: list[list[tuple[str, tuple[float, float, float, float] | None]]] = [[]]
    for index in range(textpage.count_chars()):
        code = pdfium_c.FPDFText_GetUnicode(textpage, index)
        if code in (0x0D, 0x0A):  # PDFium's own line break
            if runs[-1]:
                runs.append([])
            continue
        if 0xD800 <= code <= 0xDFFF or code > 0x10FFFF or (code < 0x20 and code != 0x09):
            continue  # PDFium marks soft hyphens and the like with control codes
        char = chr(code)
        if char.isspace():
            runs[-1].append((" ", None))
            continue
        # The loose box covers the font's whole height, so the characters of a line share one
        # height whatever their ink; the tight box is the fallback.
        if pdfium_c.FPDFText_GetLooseCharBox(textpage, index, loose):
            x_left, y_bottom, x_right, y_top = loose.left, loose.bottom, loose.right, loose.top
        elif pdfium_c.FPDFText_GetCharBox(textpage, index, left, right, bottom, top):
            x_left, y_bottom, x_right, y_top = left.value, bottom.value, right.value, top.value
        else:
            runs[-1].append((char, None))
            continue
        (xa, ya), (xb, yb) = transform(x_left, y_bottom), transform(x_right, y_top)
        box = (min(xa, xb) * width, min(ya, yb) * height, max(xa, xb) * width, max(ya, yb) * height)
        runs[-1].append((char, box))

    turn = _text_direction(runs)
    upright_w, upright_h = (height, width) if turn % 2 else (width, height)

    def upright(box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
        xa, ya = layout.turn_point(box[0], box[1], turn, width, height)
        xb, yb = layout.turn_point(box[2], box[3], turn, width, height)
        return min(xa, xb), min(ya, yb), max(xa, xb), max(ya, yb)

    fragments: list[Piece] = []
    for run in runs:
        chars: list[str] = []
        span: list[float] = []  # x0, y0, x1, y1 on the upright page, in points

        def flush(chars: list[str] = chars, span: list[float] = span) -> None:
            text = "".join(chars).strip()
            if text and span:
                fragments.append(Piece(text=text, box=(span[0], span[1], span[2], span[3])))
            chars.clear()
            span.clear()

        for char, box in run:
            if box is None:
                chars.append(char)
                continue
            x0, y0, x1, y1 = upright(box)
            if span and (y0 >= span[3] or y1 <= span[1]):
                flush()  # wholly above or below the line so far: another line PDFium did not mark
            chars.append(char)
            span[:] = (
                [min(span[0], x0), min(span[1], y0), max(span[2], x1), max(span[3], y1)]
                if span
                else [x0, y0, x1, y1]
            )
        flush()

    def fraction(box: tuple[float, float, float, float], w: float, h: float) -> Rect:
        return normalised_rect(box[0], box[1], box[2], box[3], max(w, 1e-6), max(h, 1e-6))

    lines = []
    for row in layout.order_rows(fragments):
        joined = layout.join_row(row)
        shown = layout.unturn_box(joined.box, turn, width, height)
        lines.append(
            PageLine(
                text=joined.text,
                rect=fraction(shown, width, height),
                upright=fraction(joined.box, upright_w, upright_h) if turn else None,
            )
        )
    return lines


def _image_cover(page: Any, width: float, height: float) -> float:
    """The share of the page covered by images (the larger image when they overlap, roughly)."""
    import pypdfium2.raw as pdfium_c

    area = 0.0
    for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=3):
        try:
            left, bottom, right, top = obj.get_pos()
        except Exception:  # an image object without bounds covers nothing
            continue
        area = max(area, abs(right - left) * abs(top - bottom))
    return min(1.0, area / max(width * height, 1.0))


def _ocr_page(page: Any, number: int, options: ExtractOptions, note: str, has_text: bool) -> _PageReading:
    from index.extract import ocr

    width, height = page.get_size()
    image = page.render(scale=options.render_scale).to_pil()
    read: OcrPage = ocr.read(image)
    lines = [
        PageLine(text=line.text, rect=read.rect(line), confidence=line.confidence, upright=line.upright)
        for line in read.lines
    ]
    if read.notes:
        note = f"{note}; {', '.join(read.notes)}" if note else ", ".join(read.notes)
    return _PageReading(
        number=number,
        width=width,
        height=height,
        method="ocr",
        lines=lines,
        note=note,
        confidence=read.confidence,
        seconds=read.seconds,
        has_text=has_text,
    )


def _read_page(document: Any, index: int, options: ExtractOptions) -> _PageReading:
    """A page by its text layer when that is sound, else by OCR (the note says why)."""
    page = document[index]
    try:
        width, height = page.get_size()
        textpage = page.get_textpage()
        try:
            lines = _text_lines(page, textpage, width, height)
        finally:
            textpage.close()
        text = "\n".join(line.text for line in lines)
        reason = judge_text_layer(text)
        visible = sum(not c.isspace() for c in text)
        if (
            reason is None
            and visible < SCAN_TEXT_CHARS
            and _image_cover(page, width, height) >= SCAN_IMAGE_COVER
        ):
            reason = f"the text layer holds only {visible} characters over a scanned page"
        if reason is None:
            return _PageReading(index + 1, width, height, "text-layer", lines, has_text=True)
        return _ocr_page(page, index + 1, options, reason, has_text=bool(visible))
    finally:
        page.close()


def _ocr_only(document: Any, index: int, options: ExtractOptions) -> _PageReading:
    page = document[index]
    try:
        return _ocr_page(page, index + 1, options, "OCR reading of every page", has_text=True)
    finally:
        page.close()


def _unreadable(document: Any, index: int, error: Exception) -> _PageReading:
    """A page PDFium could not load or read: empty, saying so; the rest of the file is still read."""
    width, height = document.get_page_size(index)  # checked by _check_sizes
    return _PageReading(
        index + 1, width, height, "ocr", note=f"the page could not be read: {error}", damaged=True
    )


# --- assembling a reading -------------------------------------------------------------------------


def _labels(document: Any) -> list[str | None]:
    """The file's own page labels ("i", "ii", "1"...), or None for each page when it defines none."""
    labels: list[str | None] = []
    for index in range(len(document)):
        try:
            label = document.get_page_label(index)
        except Exception:  # a damaged /PageLabels tree: go by the printed numbers
            label = ""
        labels.append(label or None)
    return labels


def _assemble(
    readings: list[_PageReading],
    labels: list[str | None],
    options: ExtractOptions,
    witness: str,
    warnings: list[str],
) -> Extraction:
    furnished = layout.strip_furniture([r.lines for r in readings])
    text, lines = layout.page_text(furnished.kept)
    pages: list[Page] = []
    warnings = list(warnings)
    for reading, kept, label, printed in zip(
        readings, furnished.kept, labels, furnished.printed, strict=True
    ):
        confidence = None
        if reading.method == "ocr":
            confidence = layout.weighted_confidence(kept) or layout.weighted_confidence(reading.lines)
        empty = not kept
        pages.append(
            Page(
                number=reading.number,
                width=round(reading.width, 2),
                height=round(reading.height, 2),
                method=reading.method,
                label=label or printed,
                confidence=None if confidence is None else round(confidence, 4),
                empty=empty,
                note=reading.note,
            )
        )
        if empty and reading.method == "ocr":
            warnings.append(
                f"page {reading.number}: OCR read nothing ({reading.note}); a blank page, or an illegible scan"
            )
        elif empty:
            warnings.append(f"page {reading.number}: nothing but running headers or page numbers")
        elif confidence is not None and confidence < options.low_confidence_below:
            warnings.append(
                f"page {reading.number}: OCR confidence {confidence:.2f} is low; check the reading against the page"
            )
    methods = {p.method for p in pages}
    method = "ocr" if methods == {"ocr"} else "text-layer" if methods == {"text-layer"} else "text-layer+ocr"
    if witness:
        method = "ocr"
    return Extraction(
        text=text,
        format="pdf",
        method=method,
        witness=witness,
        pages=pages,
        lines=lines,
        furniture=furnished.furniture,
        ocr_seconds=round(sum(r.seconds for r in readings), 3),
        low_confidence_below=options.low_confidence_below,
        warnings=warnings,
    )


def extract(name: str, data: bytes, options: ExtractOptions, progress: Progress) -> list[Extraction]:
    """The PDF's reading (text layer, OCR where it has none worth reading) and, with `ocr="both"` and a
    text layer, a second reading of every page by OCR (witness "ocr")."""
    import pypdfium2.raw as pdfium_c

    document = _open(name, data)
    try:
        count = _check_sizes(name, document, options)
        warnings = []
        if pdfium_c.FPDF_GetSecurityHandlerRevision(document) != -1:
            warnings.append(
                "the PDF is encrypted (it opened without a password, with its owner's restrictions)"
            )
        labels = _labels(document)
        readings: list[_PageReading] = []
        for index in range(count):
            try:
                readings.append(_read_page(document, index, options))
            except Exception as error:  # a damaged page: the rest of the file is still worth reading
                if isinstance(error, FileRefused):
                    raise
                readings.append(_unreadable(document, index, error))
            progress(index + 1)

        main = _assemble(readings, labels, options, "", warnings)
        if all(p.empty for p in main.pages):
            raise FileRefused(shown_name(name), _nothing_read(readings))

        # The same test as inspect's, so the progress total it announced is the one reached.
        if options.ocr != "both" or not _has_text_layer(document):
            return [main]
        if all(r.method == "ocr" for r in readings):
            # Every page was OCR'd already: a second OCR reading would be the same text again.
            progress(2 * count)
            return [main]
        second: list[_PageReading] = []
        for index, reading in enumerate(readings):
            if reading.method == "ocr":
                second.append(reading)  # read by OCR already (or damaged: no better the second time)
            else:
                try:
                    second.append(_ocr_only(document, index, options))
                except Exception as error:
                    second.append(_unreadable(document, index, error))
            progress(count + index + 1)
        witness = _assemble(second, labels, options, "ocr", warnings)
        if not witness.text.strip():
            # An OCR reading of nothing is no witness (and an empty reading would refuse the file).
            main.warnings.append("the OCR reading of every page read nothing; only the text layer is kept")
            return [main]
        return [main, witness]
    finally:
        document.close()


def _nothing_read(readings: list[_PageReading]) -> str:
    n = len(readings)
    ocr_pages = sum(r.method == "ocr" for r in readings)
    if not any(r.has_text for r in readings):
        why = "it has no text layer, and OCR found no legible text"
    elif ocr_pages == n:
        why = "its text layer is broken, and OCR found no legible text"
    elif ocr_pages:
        why = f"OCR found no legible text on the {ocr_pages} pages without a sound text layer, and the others hold only running headers or page numbers"
    else:
        why = "its text layer holds nothing but running headers and page numbers"
    pages = "its page" if n == 1 else f"any of its {n} pages"
    return f"no text could be read on {pages} ({why}); if it is a scan, check it is legible (in focus, dark enough, upright) and send it again"
