"""Builders of paged test files (PDFs, scans, photos), made at test time (no binary fixtures in the repository).

    text_pdf(pages, header=..., footer_page_numbers=True)   a PDF with a text layer (fpdf2, the CJK font)
    image_pdf(pages, ...)                                    a scanned PDF: page images only, no text layer
    broken_text_pdf(lines, into=...)                         a text layer whose Unicode map is wrong
    page_image(lines, ...)                                   a page of Chinese text drawn by Pillow
    photo(lines, ...)                                        that page photographed: askew, blurred, noisy, JPEG
    scan_png(lines, turned=...)                              a scan as PNG, turned on the glass
    exif_turned_jpeg(lines)                                  a phone photo stored sideways, upright by EXIF
    multipage_tiff(pages, ...)                               a multi-page TIFF scan
    encrypted_pdf(), owner_password_pdf(), zero_page_pdf(), truncated_pdf(), corrupt_pdf()
    bomb_png(width, height), truncated_png(), truncated_jpeg(), blank_png()

Page geometry is fixed so tests can say where a line was drawn: `text_pdf` pages are A5 (148 x 210
mm), body line i (0-based) at `BODY_TOP_MM + i * LINE_MM` from the top, `MARGIN_MM` from the left;
the running header at `HEADER_MM`, the "- n -" footer `FOOTER_FROM_BOTTOM_MM` above the bottom.
"""

from __future__ import annotations

import io
import random
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from fpdf import FPDF
from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
PAGE_MM = (148.0, 210.0)  # A5
MARGIN_MM = 12.0
HEADER_MM = 8.0
BODY_TOP_MM = 28.0
LINE_MM = 9.0
FOOTER_FROM_BOTTOM_MM = 14.0
HEADER = "楚怡职业教育工作简报"


def _pdf() -> FPDF:
    pdf = FPDF(orientation="P", unit="mm", format=PAGE_MM)
    pdf.set_auto_page_break(False)
    pdf.set_margins(MARGIN_MM, HEADER_MM, MARGIN_MM)
    pdf.add_font("wqy", fname=str(FONT), collection_font_number=0)
    return pdf


def text_pdf(
    pages: Sequence[Sequence[str]],
    header: str | None = HEADER,
    footer_page_numbers: bool = True,
    *,
    page_labels: Sequence[tuple[str, int]] | None = None,
    compress: bool = True,
    font_size: float = 12,
) -> bytes:
    """A PDF with a text layer: each page's lines drawn one under another, a running `header` on every
    page and "- n -" centred in the footer. `page_labels`: (style, start) per page, e.g. ("r", 1)
    for roman numerals, written as the PDF's own /PageLabels."""
    pdf = _pdf()
    pdf.set_compression(compress)
    for number, lines in enumerate(pages, start=1):
        pdf.add_page()
        if page_labels is not None:
            style, start = page_labels[number - 1]
            pdf.set_page_label(label_style=style, label_start=start)
        if header:
            pdf.set_font("wqy", size=9)
            pdf.set_xy(MARGIN_MM, HEADER_MM)
            pdf.cell(0, 5, header, align="C")
        pdf.set_font("wqy", size=font_size)
        for i, line in enumerate(lines):
            pdf.set_xy(MARGIN_MM, BODY_TOP_MM + i * LINE_MM)
            pdf.cell(0, LINE_MM, line)
        if footer_page_numbers:
            pdf.set_font("wqy", size=10)
            pdf.set_xy(MARGIN_MM, PAGE_MM[1] - FOOTER_FROM_BOTTOM_MM)
            pdf.cell(0, 5, f"- {number} -", align="C")
    return bytes(pdf.output())


def searchable_scan(lines: Sequence[str], layer: Sequence[str]) -> bytes:
    """A "searchable" scan, as office scanners make them: each A5 page an image of `lines`, under an
    invisible text layer of `layer` (another engine's OCR, slips and all) set where the lines are drawn."""
    from fpdf.enums import TextMode

    pdf = _pdf()
    font_size = 26
    size = (620, 880)
    pdf.add_page()
    pdf.image(page_image(lines, size=size, font_size=font_size), x=0, y=0, w=PAGE_MM[0], h=PAGE_MM[1])
    pdf.text_mode = TextMode.INVISIBLE
    pdf.set_font("wqy", size=font_size * PAGE_MM[1] / size[1] / 0.3528)  # the drawn size, in points
    for i, line in enumerate(layer):
        top = (0.15 + i * font_size * 1.9 / size[1]) * PAGE_MM[1]
        pdf.set_xy(PAGE_MM[0] * 0.08, top)
        pdf.cell(0, font_size * PAGE_MM[1] / size[1], line)
    return bytes(pdf.output())


def broken_text_pdf(lines: Sequence[str], into: str = "private-use") -> bytes:
    """A one-page PDF whose text draws right but whose ToUnicode map sends every Chinese glyph to a
    private-use code point (`into="private-use"`) or to Latin-1 letters (`into="mojibake"`), as PDFs
    made by some old converters do. The map is rewritten in place, so offsets and lengths hold."""
    data = bytearray(text_pdf([lines], header=None, footer_page_numbers=False, compress=False))
    start = data.index(b"beginbfchar")
    end = data.index(b"endbfchar", start)
    section = data[start:end].decode("latin-1")
    out = []
    latin = iter(range(0xC0, 0x100))
    for entry in section.split("\n"):
        parts = entry.split()
        if len(parts) == 2 and parts[1].startswith("<") and int(parts[1][1:-1], 16) >= 0x3000:
            code = 0xE000 + int(parts[0][1:-1], 16) if into == "private-use" else next(latin, 0xD5)
            entry = f"{parts[0]} <{code:04X}>"
        out.append(entry)
    rewritten = "\n".join(out).encode("latin-1")
    assert len(rewritten) == len(section)
    data[start:end] = rewritten
    return bytes(data)


def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT), size, index=0)


def page_image(
    lines: Sequence[str],
    *,
    header: str | None = None,
    page_number: int | None = None,
    size: tuple[int, int] = (620, 880),
    font_size: int = 26,
) -> Image.Image:
    """A white page with the lines drawn in black from 15% of its height, a header in the top band
    and "- n -" in the bottom band (grayscale)."""
    width, height = size
    image = Image.new("L", size, 255)
    draw = ImageDraw.Draw(image)
    font = _font(font_size)
    if header:
        small = _font(max(14, font_size * 2 // 3))
        w = draw.textlength(header, font=small)
        draw.text(((width - w) / 2, height * 0.04), header, font=small, fill=0)
    for i, line in enumerate(lines):
        draw.text((width * 0.08, height * 0.15 + i * font_size * 1.9), line, font=font, fill=0)
    if page_number is not None:
        label = f"- {page_number} -"
        w = draw.textlength(label, font=font)
        draw.text(((width - w) / 2, height * 0.93), label, font=font, fill=0)
    return image


def image_pdf(
    pages: Sequence[Sequence[str]],
    header: str | None = None,
    footer_page_numbers: bool = False,
    dpi: int = 100,
    *,
    size: tuple[int, int] = (620, 880),
    font_size: int = 26,
) -> bytes:
    """A scanned PDF: each page an image (Pillow's PDF writer), no text layer; pages are `size`
    pixels at `dpi`, so render at scale dpi/72 to get the scan's pixels back."""
    images = [
        page_image(
            lines,
            header=header,
            page_number=n if footer_page_numbers else None,
            size=size,
            font_size=font_size,
        ).convert("RGB")
        for n, lines in enumerate(pages, start=1)
    ]
    out = io.BytesIO()
    images[0].save(out, "PDF", save_all=True, append_images=images[1:], resolution=dpi)
    return out.getvalue()


A4_SCAN = (1240, 1754)  # A4 at 150 dpi
A4_FONT = 28
A4_CHARS_PER_LINE = 36
A4_LINES_PER_PAGE = 24


def scanned_text(text: str) -> bytes:
    """A whole text printed on A4 and scanned at 150 dpi, as an image-only PDF: each paragraph
    wrapped at A4_CHARS_PER_LINE characters, A4_LINES_PER_PAGE lines a page, page numbers below."""
    lines = [
        paragraph[i : i + A4_CHARS_PER_LINE]
        for paragraph in (p.strip() for p in text.splitlines())
        if paragraph
        for i in range(0, len(paragraph), A4_CHARS_PER_LINE)
    ]
    pages = [lines[i : i + A4_LINES_PER_PAGE] for i in range(0, len(lines), A4_LINES_PER_PAGE)]
    return image_pdf(pages, footer_page_numbers=True, dpi=150, size=A4_SCAN, font_size=A4_FONT)


def photo(
    lines: Sequence[str],
    *,
    angle: float = 3.0,
    blur: float = 1.3,
    noise: float = 30,
    quality: int = 25,
    seed: int = 7,
) -> bytes:
    """The page photographed: turned `angle` degrees, on a grey cast, blurred, noisy, JPEG-compressed."""
    page = page_image(lines, size=(760, 560), font_size=30)
    turned = page.rotate(angle, expand=True, fillcolor=235, resample=Image.Resampling.BICUBIC)
    turned = turned.point(lambda v: int(40 + v * 0.75))  # grey paper, grey ink: poor light
    turned = turned.filter(ImageFilter.GaussianBlur(blur))
    rng = np.random.default_rng(seed)
    pixels = np.asarray(turned, dtype=np.float64) + rng.normal(0.0, noise, (turned.height, turned.width))
    noisy = Image.fromarray(pixels.clip(0, 255).astype(np.uint8), "L")
    out = io.BytesIO()
    noisy.convert("RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()


def scan_png(lines: Sequence[str], *, turned: int = 0, size: tuple[int, int] = (620, 420)) -> bytes:
    """A scan as PNG, the page turned `turned` degrees counter-clockwise on the glass."""
    image = page_image(lines, size=size)
    if turned:
        image = image.rotate(turned, expand=True, fillcolor=255)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def multipage_tiff(
    pages: Sequence[Sequence[str] | None], header: str | None = HEADER, footer_page_numbers: bool = True
) -> bytes:
    """A multi-page TIFF scan (LZW), one frame per page, with a running header and page numbers;
    a page given as None is a blank sheet (no header, no number either)."""
    images = [
        page_image(lines, header=header, page_number=n if footer_page_numbers else None, size=(620, 700))
        if lines is not None
        else Image.new("L", (620, 700), 255)
        for n, lines in enumerate(pages, start=1)
    ]
    out = io.BytesIO()
    images[0].save(out, "TIFF", save_all=True, append_images=images[1:], compression="tiff_lzw")
    return out.getvalue()


def exif_turned_jpeg(lines: Sequence[str], page_number: int | None = None) -> bytes:
    """A phone's JPEG: the pixels stored turned a quarter counter-clockwise, with EXIF Orientation 6
    ("turn 90 degrees clockwise to show") to set it upright; upright it is 560 wide, 760 tall."""
    image = page_image(lines, size=(560, 760), font_size=22, page_number=page_number)
    stored = image.rotate(90, expand=True)
    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    stored.convert("RGB").save(out, "JPEG", quality=90, exif=exif.tobytes())
    return out.getvalue()


def blank_png(size: tuple[int, int] = (400, 300)) -> bytes:
    out = io.BytesIO()
    Image.new("L", size, 255).save(out, "PNG")
    return out.getvalue()


def encrypted_pdf() -> bytes:
    """A PDF that opens only with its user password."""
    pdf = _pdf()
    pdf.set_encryption(owner_password="owner-secret", user_password="user-secret")
    pdf.add_page()
    pdf.set_font("wqy", size=12)
    pdf.cell(0, 10, "第一条 本文件受密码保护。")
    return bytes(pdf.output())


def owner_password_pdf(lines: Sequence[str]) -> bytes:
    """An encrypted PDF that opens without a password (an owner password restricting printing)."""
    pdf = _pdf()
    pdf.set_encryption(owner_password="owner-secret")
    pdf.add_page()
    pdf.set_font("wqy", size=12)
    for i, line in enumerate(lines):
        pdf.set_xy(MARGIN_MM, BODY_TOP_MM + i * LINE_MM)
        pdf.cell(0, LINE_MM, line)
    return bytes(pdf.output())


def _minimal_pdf(objects: Sequence[bytes]) -> bytes:
    """A PDF of the given objects (1-based, object 1 the catalog) with a correct cross-reference table."""
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return out


def zero_page_pdf() -> bytes:
    """A well-formed PDF whose page tree is empty."""
    return _minimal_pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"])


def blank_pdf(pages: int = 2) -> bytes:
    """A PDF of empty pages: no text layer, nothing to see."""
    kids = b" ".join(b"%d 0 R" % (3 + i) for i in range(pages))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages),
    ]
    objects += [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 420 595] >>"] * pages
    return _minimal_pdf(objects)


def truncated_pdf() -> bytes:
    """A PDF cut off halfway, as an interrupted upload leaves it."""
    data = text_pdf([["第一条 为了规范技工院校建设，制定本办法。"], ["第二条 本办法适用于全省技工院校。"]])
    return data[: len(data) // 2]


def corrupt_pdf() -> bytes:
    """A file that starts and ends like a PDF and holds nothing PDFium can parse."""
    rng = random.Random(3)
    return b"%PDF-1.7\n" + bytes(rng.randrange(256) for _ in range(4000)) + b"\n%%EOF\n"


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")


def bomb_png(width: int = 30000, height: int = 30000) -> bytes:
    """A decompression bomb: a small, valid PNG of one colour declaring `width` x `height` pixels
    (1-bit greyscale; 30000 x 30000 inflates to 112 MB of rows and 900 megapixels)."""
    row = b"\x00" + b"\x00" * ((width + 7) // 8)  # filter byte, then the bits of one row
    compressor = zlib.compressobj(9)
    idat = bytearray()
    for _ in range(height):
        idat += compressor.compress(row)
    idat += compressor.flush()
    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([1, 0, 0, 0, 0])
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", bytes(idat))
        + _png_chunk(b"IEND", b"")
    )


def truncated_png() -> bytes:
    data = scan_png(["第一条 为了规范技工院校建设。"])
    return data[: len(data) * 2 // 3]


def truncated_jpeg() -> bytes:
    data = photo(["第一条 为了规范技工院校建设。"])
    return data[: len(data) * 2 // 3]
