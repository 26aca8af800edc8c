"""Scans and photos (index.extract.image): every frame OCR'd, upright by EXIF, furniture across the
frames of a multi-page TIFF, and bombs, damaged files and blank pages refused before or after reading."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageFile
from rapidfuzz import fuzz

import index.extract as extraction
from index.extract.base import ExtractOptions, FileRefused
from index.extract.model import Extraction
from tests.files import paged

# index.extract.image silences these two at import; pytest resets warning filters for each test.
pytestmark = [
    pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning"),
    pytest.mark.filterwarnings("ignore:Corrupt EXIF data:UserWarning"),
]

LINES = ["第一条 为了规范技工院校建设，制定本办法。", "各地要遴选建设50所楚怡优秀技工院校。"]
OPTIONS = ExtractOptions()


def _similar(a: str, b: str) -> float:
    return fuzz.ratio(a.replace(" ", ""), b.replace(" ", ""))


def _read(name: str, data: bytes, options: ExtractOptions = OPTIONS) -> tuple[int, list[int], Extraction]:
    done: list[int] = []
    total = extraction.inspect(name, data, options)
    [reading] = extraction.extract(name, data, options, done.append)
    return total, done, reading


def test_a_multipage_tiff_is_read_frame_by_frame_without_its_furniture() -> None:
    pages = [LINES[:1], None, LINES[1:]]  # page 2 a blank sheet
    total, done, reading = _read("scan.tiff", paged.multipage_tiff(pages))
    assert total == 3 and done == [1, 2, 3]
    assert reading.format == "image" and reading.method == "ocr" and reading.witness == ""
    assert _similar(reading.text, "\n".join(LINES)) >= 90
    assert [(p.number, p.method, p.width, p.height, p.empty) for p in reading.pages] == [
        (1, "ocr", 620, 700, False),
        (2, "ocr", 620, 700, True),
        (3, "ocr", 620, 700, False),
    ]
    assert reading.pages[1].confidence is None and reading.pages[0].confidence > 0.9
    assert any(w.startswith("page 2: OCR read nothing") for w in reading.warnings)
    # The header on pages 1 and 3 (two of three) and their "- n -": furniture, the numbers the labels.
    assert sorted((f.page, f.kind) for f in reading.furniture) == [
        (1, "header"),
        (1, "page-number"),
        (3, "header"),
        (3, "page-number"),
    ]
    assert "简报" not in reading.text
    assert [p.label for p in reading.pages] == ["1", None, "3"]
    assert [line.page for line in reading.lines] == [1, 3]
    assert reading.ocr_seconds > 0


def test_a_degraded_photo_is_read_with_its_confidence() -> None:
    _, _, reading = _read("photo.jpg", paged.photo(LINES))
    assert _similar(reading.text, "\n".join(LINES)) >= 85
    confidence = reading.confidence
    assert confidence is not None and 0.85 < confidence < 0.9999  # read, but not as a clean scan is
    assert reading.pages[0].confidence == pytest.approx(confidence, abs=1e-3)
    assert "skewed" in reading.pages[0].note  # the photo was taken 3 degrees askew
    assert not reading.low_confidence and reading.warnings == []
    assert reading.summary()["confidence"] == pytest.approx(confidence, abs=1e-4)


def test_a_barely_legible_photo_is_flagged_low_confidence() -> None:
    data = paged.photo(LINES, blur=2.0, noise=45, quality=15, angle=-5)
    _, _, reading = _read("blurred.jpg", data)
    assert reading.text  # something was read
    assert reading.low_confidence and reading.confidence < OPTIONS.low_confidence_below
    assert any("confidence" in w and "low" in w for w in reading.warnings)


def test_a_scan_turned_on_the_glass_is_read_upright() -> None:
    data = paged.scan_png(LINES, turned=270)  # turned clockwise: the text runs downwards
    _, _, reading = _read("turned.png", data)
    first, second = reading.text.split("\n")
    assert _similar(first, LINES[0]) >= 90 and _similar(second, LINES[1]) >= 90
    assert "read turned 90°" in reading.pages[0].note
    page = reading.pages[0]
    assert (page.width, page.height) == (420, 620)  # the image as given, not turned
    # The lines stand upright on the image as given: tall, the first one rightmost.
    rects = [line.rect for line in reading.lines]
    for x0, y0, x1, y1 in rects:
        assert (y1 - y0) * page.height > 3 * (x1 - x0) * page.width
    assert rects[0][0] > rects[1][0]


def test_exif_orientation_is_applied_before_reading() -> None:
    _, _, reading = _read("phone.jpg", paged.exif_turned_jpeg(LINES, page_number=1))
    page = reading.pages[0]
    assert (page.width, page.height) == (560, 760)  # upright by EXIF: the page as the service renders it
    assert "turned" not in page.note  # upright already
    assert _similar("\n".join(reading.text.split("\n")[:2]), "\n".join(LINES)) >= 90
    x0, y0, _, _ = reading.lines[0].rect
    assert x0 == pytest.approx(0.08, abs=0.02) and y0 == pytest.approx(0.15, abs=0.02)
    # A single image keeps a lone number at its foot: nothing repeats to show it is furniture.
    assert reading.furniture == [] and reading.text.split("\n")[-1].strip("-一— ") == "1"


def test_a_decompression_bomb_is_refused_unread() -> None:
    data = paged.bomb_png()  # 30000 x 30000 pixels in about 100 KB
    assert len(data) < 200_000
    for attempt in (
        lambda: extraction.inspect("bomb.png", data, OPTIONS),
        lambda: extraction.extract("bomb.png", data, OPTIONS),
    ):
        with pytest.raises(FileRefused) as refused:
            attempt()
        assert refused.value.kind == "too_large"
        assert "100 megapixels" in refused.value.message and "lower resolution" in refused.value.message


def test_an_image_over_the_pixel_limit_is_refused_before_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    data = paged.scan_png(LINES, size=(1200, 1000))

    def refuse(self, *args, **kwargs):
        raise AssertionError("decoded the image")

    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)
    with pytest.raises(FileRefused) as refused:
        extraction.inspect("big.png", data, ExtractOptions(max_pixels=1_000_000))
    assert refused.value.kind == "too_large"
    assert "frame 1 is 1200 x 1000 pixels, more than the 1 megapixels" in refused.value.message
    # Under the limit, inspect still decodes nothing.
    assert extraction.inspect("big.png", data, ExtractOptions(max_pixels=2_000_000)) == 1
    assert Image.MAX_IMAGE_PIXELS == 2_000_000  # Pillow's own guard set to the same limit


def _cut_tiff() -> bytes:
    data = paged.multipage_tiff([LINES, LINES])
    return data[: len(data) // 2]


@pytest.mark.parametrize(
    ("name", "make", "options", "kind", "says"),
    [
        ("cut.png", paged.truncated_png, OPTIONS, "invalid", "cut short"),
        ("cut.jpg", paged.truncated_jpeg, OPTIONS, "invalid", "cut short"),
        ("cut.tif", _cut_tiff, OPTIONS, "invalid", "send it again"),
        (
            "noise.png",
            lambda: b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8,
            OPTIONS,
            "invalid",
            "could not be read as an image",
        ),
        (
            "pages.tif",
            lambda: paged.multipage_tiff([LINES, LINES, LINES]),
            ExtractOptions(max_pages=2),
            "too_large",
            "has 3 pages, more than the 2",
        ),
    ],
    ids=["truncated-png", "truncated-jpeg", "truncated-tiff", "corrupt-png", "too-many-frames"],
)
def test_bad_images_are_refused_saying_why(
    name: str, make, options: ExtractOptions, kind: str, says: str
) -> None:
    data = make()
    with pytest.raises(FileRefused) as refused:
        extraction.inspect(name, data, options)
    assert refused.value.kind == kind
    assert says in refused.value.message, refused.value.message


def test_a_blank_image_is_refused_after_reading() -> None:
    data = paged.blank_png()
    assert extraction.inspect("blank.png", data, OPTIONS) == 1
    with pytest.raises(FileRefused) as refused:
        extraction.extract("blank.png", data, OPTIONS)
    assert refused.value.kind == "invalid"
    assert "no text could be read on its page" in refused.value.message


def test_transparency_is_read_as_paper() -> None:
    # A PNG with the text on a transparent background (black where transparent, once flattened badly).
    image = paged.page_image(LINES[:1], size=(560, 380), font_size=22)
    rgba = Image.new("RGBA", image.size, (0, 0, 0, 0))
    rgba.putalpha(image.point(lambda v: 255 - v))
    out = io.BytesIO()
    rgba.save(out, "PNG")
    _, _, reading = _read("clear.png", out.getvalue())
    assert _similar(reading.text, LINES[0]) >= 90
