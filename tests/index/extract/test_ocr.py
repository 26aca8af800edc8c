"""The OCR engine (index.extract.ocr): lines in reading order, boxes on the image as given, pages
turned or askew, and no network."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from rapidfuzz import fuzz

from index.extract import ocr
from tests.files.paged import page_image

LINES = ["第一条 为了规范技工院校建设，制定本办法。", "各地要遴选建设50所楚怡优秀技工院校。"]
SIZE = (560, 380)  # near the detector's own working size: a smaller page is scaled up to it
FONT_SIZE = 22
ROOT = Path(__file__).resolve().parents[3]


def _similar(a: str, b: str) -> float:
    return fuzz.ratio(a.replace(" ", ""), b.replace(" ", ""))


def _drawn_box(i: int) -> tuple[float, float, float, float]:
    """Where `page_image` draws line i, in pixels of the upright page (roughly: the text's extent)."""
    width, height = SIZE
    top = height * 0.15 + i * FONT_SIZE * 1.9
    return width * 0.08, top, width * 0.08 + FONT_SIZE * len(LINES[i].replace(" ", "")), top + FONT_SIZE * 1.2


def _centre(box: tuple[float, float, float, float]) -> tuple[float, float]:
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


@pytest.fixture(scope="module")
def upright() -> ocr.OcrPage:
    return ocr.read(page_image(LINES, size=SIZE, font_size=FONT_SIZE))


def test_lines_in_reading_order_with_boxes_and_confidence(upright: ocr.OcrPage) -> None:
    assert [
        round(_similar(line.text, truth)) >= 90 for line, truth in zip(upright.lines, LINES, strict=True)
    ] == [True, True]
    assert upright.turned == 0 and upright.passes == 1
    assert 0.9 < upright.confidence <= 1.0
    assert upright.seconds > 0
    assert (upright.width, upright.height) == SIZE
    for i, line in enumerate(upright.lines):
        x, y = _centre(line.box)
        ex, ey = _centre(_drawn_box(i))
        assert abs(y - ey) < FONT_SIZE * 0.6, (line, _drawn_box(i))
        assert abs(x - ex) < FONT_SIZE * 2
        # The rectangle as a fraction of the page is the same box.
        assert upright.rect(line) == pytest.approx(
            (line.box[0] / SIZE[0], line.box[1] / SIZE[1], line.box[2] / SIZE[0], line.box[3] / SIZE[1]),
            abs=1e-4,
        )
        assert line.upright == pytest.approx(upright.rect(line), abs=1e-4)


# PIL turns counter-clockwise by `angle`; where an upright point (x, y) of a w x h page lands.
_LANDS = {
    90: lambda x, y, w, h: (y, w - x),
    180: lambda x, y, w, h: (w - x, h - y),
    270: lambda x, y, w, h: (h - y, x),
}


@pytest.mark.parametrize("angle", [90, 180])  # 270: tests/index/extract/test_image.py
def test_a_turned_page_reads_upright_with_boxes_on_the_image_as_given(angle: int) -> None:
    image = page_image(LINES, size=SIZE, font_size=FONT_SIZE).rotate(angle, expand=True, fillcolor=255)
    page = ocr.read(image)
    assert len(page.lines) == 2
    assert _similar(page.lines[0].text, LINES[0]) >= 90  # the first line first: read upright
    assert _similar(page.lines[1].text, LINES[1]) >= 90
    assert page.turned == (360 - angle) % 360  # turned back the other way
    assert (page.width, page.height) == image.size
    assert any("turned" in note for note in page.notes)
    for i, line in enumerate(page.lines):
        x, y = _centre(line.box)
        ex, ey = _LANDS[angle](*_centre(_drawn_box(i)), *SIZE)
        assert abs(x - ex) < FONT_SIZE * 2 and abs(y - ey) < FONT_SIZE * 2, (angle, line.box, (ex, ey))
        # The box lies on ink in the image as given.
        crop = np.asarray(image.crop(tuple(int(v) for v in line.box)).convert("L"))
        assert (crop < 128).mean() > 0.05
        # And on the upright page, the line is where it was drawn.
        _, uy = _centre(line.upright)
        _, dy = _centre(_drawn_box(i))
        assert abs(uy - dy / SIZE[1]) < 0.06


def test_a_skewed_page_keeps_its_lines_in_order() -> None:
    lines = [*LINES, "一、总体要求 二、工作目标"]
    image = page_image(lines, size=SIZE, font_size=FONT_SIZE).rotate(-6, expand=True, fillcolor=255)
    page = ocr.read(image)
    assert [
        round(_similar(line.text, truth)) >= 85 for line, truth in zip(page.lines, lines, strict=True)
    ] == [True] * 3
    assert page.skew == pytest.approx(6, abs=1.0)  # clockwise on the image: PIL turned it -6
    assert page.turned == 0


def test_a_blank_page_reads_nothing_at_once() -> None:
    page = ocr.read(Image.new("L", (400, 300), 255))
    assert page.lines == [] and page.confidence is None
    assert page.passes == 0 and page.notes == ["blank"]  # no ink: not even one pass


def test_a_word_alone_on_a_large_page_is_read() -> None:
    # "附件" over an empty page (an attachment's cover): far less ink than a page of text, not blank;
    # the detector misses it on the whole page and finds it on the page cut down to the ink.
    page = ocr.read(page_image(["附件"], size=(800, 1130), font_size=20))
    assert [line.text for line in page.lines] == ["附件"]
    assert page.notes == ["read within the inked area"] and page.passes == 2
    x0, y0, x1, _ = page.rect(page.lines[0])
    assert 0.06 < x0 < 0.1 and 0.13 < y0 < 0.17 and x1 - x0 < 0.1  # where it was drawn, on the whole page


def test_rapidocr_logs_only_warnings() -> None:
    ocr.engine()
    assert logging.getLogger("RapidOCR").getEffectiveLevel() >= logging.WARNING


def test_runs_with_the_network_blocked() -> None:
    """A fresh process whose sockets cannot connect still loads the models and reads a page."""
    script = textwrap.dedent(
        """
        import socket

        def refuse(*args, **kwargs):
            raise OSError("network blocked by the test")

        socket.socket.connect = refuse
        socket.socket.connect_ex = refuse
        socket.create_connection = refuse
        socket.getaddrinfo = refuse

        from tests.files.paged import page_image
        from index.extract import ocr

        page = ocr.read(page_image(["各地要遴选建设50所楚怡优秀技工院校。"], size=(560, 380), font_size=22))
        print(page.text)
        import rapidocr, pathlib
        models = pathlib.Path(rapidocr.__file__).parent / "models"
        print(sorted(p.name for p in models.glob("*.onnx")))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    text, models = done.stdout.strip().split("\n")[-2:]
    assert _similar(text, "各地要遴选建设50所楚怡优秀技工院校。") >= 90
    assert "PP-OCRv6_det_small.onnx" in models  # the wheel's own models
