"""OCR of a page image with RapidOCR (PP-OCRv6 detection and recognition, ONNX models inside the wheel).

    read(image) -> OcrPage     the lines read on the page, in reading order, with boxes and confidence

One engine per process, created on first use and shared behind a lock: RapidOCR sets its options
on the engine at each call (it is not safe to call from two threads at once), and onnxruntime
already spreads one page over every core. Only the models bundled in the wheel are used; nothing
is downloaded (the engine resolves them to its own `models` folder, and the tests run it with the
network blocked).

A page may lie turned or askew:

- Each line is detected as a quadrilateral and read through a perspective crop, so a page a few
  degrees askew reads as well as a straight one. The skew (the median angle of the lines'
  baselines) is only used to order the lines, along and across the baselines.
- A page turned 90, 180 or 270 degrees: RapidOCR's angle classifier turns single upside-down
  lines, but the page's reading order needs the page's own orientation. It is told by reading the
  longest few lines again, cut out and turned each way (recognition only, a few milliseconds each):
  upright text reads with a far higher score than text upside down. A turned page is read again
  upright, and its boxes are mapped back onto the image as given.
- A first reading that finds little on a page with ink on it is retried turned each way, keeping
  the best-scoring reading.

A blank page (next to no ink: the back of a sheet scanned duplex) is not run through the models at
all; it reads as no lines.

Boxes are in pixels of the image as given (not of the upright page): they are drawn over the page
as rendered. Each line also says where it lies on the upright page (0-1), which is what "top" and
"bottom" mean to the running-header detection.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from index.extract.layout import Piece, join_row, order_rows, unturn_point
from index.extract.model import Rect

if TYPE_CHECKING:
    from PIL import Image

# A first reading with fewer characters than this (nothing), or a lower confidence, on a page with ink,
# is retried turned each way.
WEAK_CHARS = 1
WEAK_CONFIDENCE = 0.6
# A turned reading replaces the first only when it scores at least this share of it (guards a page
# of vertical text, which reads worse turned).
TURN_KEEPS = 0.9
# A page with less ink than this share (of its pixels, shrunk to INK_SIDE) is blank and not OCR'd at
# all; a few characters of body text are 20 times as much. A page read weakly is retried turned
# only when it holds at least WEAK_INK of ink (text, not specks).
INK_SIDE = 1000
INK_DARKER = 40
BLANK_INK = 0.0001
WEAK_INK = 0.002
# A first reading of fewer characters than this (a lone word, or only the page number at the foot)
# is read again on the page cut down to where its ink is, where the detector finds small words.
FEW_CHARS = 12
# Lines read again to tell the page's orientation, longest first.
ORIENTATION_SAMPLES = 3
# Up to this many degrees of baseline angle is taken for skew; more is a page turned.
MAX_SKEW = 20.0
# A box this much taller than wide is a line of a page turned 90 degrees (RapidOCR's own test).
TALL = 1.5

_engine: Any = None
_lock = threading.Lock()


@dataclass(frozen=True)
class OcrLine:
    """One line read on a page."""

    text: str
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in pixels of the image as given
    confidence: float  # recognition confidence, 0-1 (mean over the boxes joined, by characters)
    upright: Rect  # where the line lies on the upright page, 0-1, top-left origin


@dataclass(frozen=True)
class OcrPage:
    """What OCR read on one page image."""

    lines: list[OcrLine]
    width: int  # of the image as given, in pixels
    height: int
    seconds: float
    turned: int = 0  # degrees the image was turned counter-clockwise to read it upright
    skew: float = 0.0  # the baselines' angle on the upright page, degrees clockwise
    passes: int = 1  # full OCR passes the page took
    notes: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)

    @property
    def confidence(self) -> float | None:
        """The lines' confidence weighted by their characters; None when nothing was read."""
        chars = sum(len(line.text) for line in self.lines)
        if not chars:
            return None
        return sum(len(line.text) * line.confidence for line in self.lines) / chars

    def rect(self, line: OcrLine) -> Rect:
        """A line's box as 0-1 of the image as given (top-left origin)."""
        x0, y0, x1, y1 = line.box
        w, h = max(self.width, 1), max(self.height, 1)
        return (_clip(x0 / w), _clip(y0 / h), _clip(x1 / w), _clip(y1 / h))


def _clip(v: float) -> float:
    return round(min(1.0, max(0.0, v)), 5)


def engine() -> Any:
    """The process's RapidOCR engine, created on first use (its models load on the first page)."""
    global _engine
    if _engine is None:
        with _lock:
            if _engine is None:
                from rapidocr import RapidOCR

                # RapidOCR logs an INFO line per model it loads; keep its warnings (a page with no text).
                logging.getLogger("RapidOCR").setLevel(logging.WARNING)
                _engine = RapidOCR(params={"Global.log_level": "warning"})
    return _engine


@dataclass
class _Reading:
    """One full OCR pass over an image (turned `k` quarter turns counter-clockwise, as np.rot90)."""

    k: int
    width: int  # of the turned image
    height: int
    quads: list[np.ndarray]  # 4x2, in the turned image's pixels
    texts: list[str]
    scores: list[float]

    @property
    def chars(self) -> int:
        return sum(len(t) for t in self.texts)

    @property
    def confidence(self) -> float:
        chars = self.chars
        return sum(len(t) * s for t, s in zip(self.texts, self.scores, strict=True)) / chars if chars else 0.0

    @property
    def score(self) -> float:
        """What a reading is worth: its characters weighted by confidence."""
        return sum(len(t) * s for t, s in zip(self.texts, self.scores, strict=True))


def read(image: Image.Image) -> OcrPage:
    """OCR a page image: its lines in reading order (top to bottom, then left to right)."""
    started = time.perf_counter()
    rgb = np.ascontiguousarray(np.asarray(image.convert("RGB")))
    height, width = rgb.shape[:2]
    ocr = engine()
    notes: list[str] = []
    ink = _ink(rgb)
    if ink < BLANK_INK:
        # A blank page (the back of a sheet scanned duplex): nothing to detect, no pass run.
        return OcrPage([], width, height, time.perf_counter() - started, passes=0, notes=["blank"])
    asked = time.perf_counter()
    with _lock:
        # Time spent waiting for another thread's page is not this page's OCR time.
        waited = time.perf_counter() - asked
        first = _pass(ocr, rgb, 0)
        passes = 1
        cut = None
        region = _ink_region(rgb) if first.chars < FEW_CHARS else None
        if region is not None:
            # The detector misses a word or two alone on a large page ("附件" over a blank A4, even
            # with the page number read at its foot), and finds them on the page cut down to where
            # the ink is.
            x0, y0, x1, y1 = region
            cut = _pass(
                ocr, np.ascontiguousarray(rgb[y0:y1, x0:x1]), 0, offset=(x0, y0), size=(width, height)
            )
            passes += 1
            if cut.score > first.score:
                first = cut
        best = first
        if first.chars < WEAK_CHARS or first.confidence < WEAK_CONFIDENCE:
            if ink >= WEAK_INK:
                # Little read on a page with ink on it: perhaps turned so far the detector missed
                # the lines. Try each way and keep the best.
                for k in (1, 3, 2):
                    turned = _pass(ocr, np.ascontiguousarray(np.rot90(rgb, k)), k)
                    passes += 1
                    if turned.score > best.score:
                        best = turned
        else:
            k = _orientation(ocr, rgb, first)
            if k:
                turned = _pass(ocr, np.ascontiguousarray(np.rot90(rgb, k)), k)
                passes += 1
                if turned.score >= TURN_KEEPS * first.score:
                    best = turned
    skew = _skew(best.quads)
    if best is cut:
        notes.append("read within the inked area")
    if best.k:
        notes.append(f"read turned {best.k * 90}°")
    if abs(skew) >= 0.5:
        notes.append(f"skewed {skew:.1f}°")
    lines = _lines(best, width, height, skew)
    return OcrPage(
        lines=lines,
        width=width,
        height=height,
        seconds=time.perf_counter() - started - waited,
        turned=best.k * 90,
        skew=round(skew, 2),
        passes=passes,
        notes=notes,
    )


def _pass(
    ocr: Any, rgb: np.ndarray, k: int, offset: tuple[int, int] = (0, 0), size: tuple[int, int] | None = None
) -> _Reading:
    """One full reading of an image already turned `k` quarter turns; of a part of it cut out at
    `offset` from an image of `size`, with the boxes put back where they lie on the whole."""
    # Every option is passed on every call: RapidOCR keeps the last call's options on the engine.
    result = ocr(rgb, use_det=True, use_cls=True, use_rec=True)
    w, h = size if size is not None else (rgb.shape[1], rgb.shape[0])
    boxes = getattr(result, "boxes", None)
    texts = getattr(result, "txts", None)
    scores = getattr(result, "scores", None)
    if boxes is None or texts is None or scores is None or len(texts) == 0:
        return _Reading(k, w, h, [], [], [])
    shift = np.array(offset, dtype=np.float32)
    kept = [
        (np.asarray(b, dtype=np.float32).reshape(4, 2) + shift, t.strip(), float(s))
        for b, t, s in zip(boxes, texts, scores, strict=True)
        if t.strip()
    ]
    return _Reading(k, w, h, [q for q, _, _ in kept], [t for _, t, _ in kept], [s for _, _, s in kept])


def _ink(rgb: np.ndarray) -> float:
    """The share of a page that is ink: pixels well darker than the paper, on the page shrunk by area
    averaging (so thin strokes count as grey blobs rather than vanish between samples)."""
    import cv2

    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) if rgb.ndim == 3 else rgb
    scale = min(1.0, INK_SIDE / max(gray.shape))
    if scale < 1.0:
        gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    paper = float(np.median(gray))
    return float((gray < paper - INK_DARKER).mean())


def _ink_region(rgb: np.ndarray) -> tuple[int, int, int, int] | None:
    """Where the ink lies on a page (x0, y0, x1, y1 in pixels), generously padded; specks aside (the
    1st to 99th percentile of the ink's positions). None when it is most of the page anyway."""
    import cv2

    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) if rgb.ndim == 3 else rgb
    height, width = gray.shape
    scale = min(1.0, INK_SIDE / max(gray.shape))
    small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1.0 else gray
    ys, xs = np.nonzero(small < float(np.median(small)) - INK_DARKER)
    if len(xs) == 0:
        return None
    pad = max(32.0, 0.03 * max(width, height))
    x0 = int(max(0.0, np.percentile(xs, 1) / scale - pad))
    x1 = int(min(width, np.percentile(xs, 99) / scale + pad + 1))
    y0 = int(max(0.0, np.percentile(ys, 1) / scale - pad))
    y1 = int(min(height, np.percentile(ys, 99) / scale + pad + 1))
    if (x1 - x0) * (y1 - y0) > 0.6 * width * height:
        return None
    return x0, y0, x1, y1


def _crop(rgb: np.ndarray, quad: np.ndarray) -> np.ndarray:
    """A line cut out along its quadrilateral, as it lies in the image (not turned)."""
    import cv2

    w = int(max(np.linalg.norm(quad[0] - quad[1]), np.linalg.norm(quad[2] - quad[3])))
    h = int(max(np.linalg.norm(quad[0] - quad[3]), np.linalg.norm(quad[1] - quad[2])))
    w, h = max(w, 1), max(h, 1)
    target = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(quad.astype(np.float32), target)
    return cv2.warpPerspective(rgb, matrix, (w, h), borderMode=cv2.BORDER_REPLICATE, flags=cv2.INTER_CUBIC)


def _recognise(ocr: Any, crop: np.ndarray) -> float:
    result = ocr(np.ascontiguousarray(crop), use_det=False, use_cls=False, use_rec=True)
    texts = getattr(result, "txts", None) or ()
    scores = getattr(result, "scores", None) or ()
    if not texts or not texts[0].strip():
        return 0.0
    # Characters times confidence: text upside down reads as a few odd characters, weakly.
    return len(texts[0].strip()) * float(scores[0])


def _orientation(ocr: Any, rgb: np.ndarray, reading: _Reading) -> int:
    """How many quarter turns (counter-clockwise) put the page upright: 0 for most pages."""
    sides = [(np.linalg.norm(q[0] - q[1]), np.linalg.norm(q[0] - q[3])) for q in reading.quads]
    tall_chars = sum(len(t) for t, (w, h) in zip(reading.texts, sides, strict=True) if h > TALL * w)
    tall = tall_chars * 2 > reading.chars
    # The longest lines of the page's majority shape; a line a character or two long says little.
    samples = sorted(
        (
            (len(t), q)
            for t, q, (w, h) in zip(reading.texts, reading.quads, sides, strict=True)
            if (h > TALL * w) == tall and len(t) >= 2
        ),
        key=lambda s: -s[0],
    )[:ORIENTATION_SAMPLES]
    if not samples:
        return 0
    choices = (1, 3) if tall else (0, 2)
    totals = dict.fromkeys(choices, 0.0)
    for _, quad in samples:
        crop = _crop(rgb, quad)
        for k in choices:
            totals[k] += _recognise(ocr, np.rot90(crop, k))
    if tall:
        return max(choices, key=lambda k: totals[k])
    # Upright unless upside down reads clearly better.
    return 2 if totals[2] > 1.2 * totals[0] + 1 else 0


def _skew(quads: list[np.ndarray]) -> float:
    """The median angle of the baselines of the page's wider lines, in degrees clockwise."""
    angles: list[tuple[float, float]] = []
    for q in quads:
        top = q[1] - q[0]
        bottom = q[2] - q[3]
        length = float(np.linalg.norm(top))
        if length < 2 * float(np.linalg.norm(q[3] - q[0])):
            continue  # a short box's angle is noise
        angle = math.degrees(math.atan2(float(top[1] + bottom[1]), float(top[0] + bottom[0])))
        if abs(angle) <= MAX_SKEW:
            angles.append((angle, length))
    if not angles:
        return 0.0
    angles.sort()
    half = sum(w for _, w in angles) / 2
    running = 0.0
    for angle, w in angles:
        running += w
        if running >= half:
            return angle
    return angles[-1][0]


def _lines(reading: _Reading, width: int, height: int, skew: float) -> list[OcrLine]:
    pieces = []
    for quad, text, score in zip(reading.quads, reading.texts, reading.scores, strict=True):
        xs, ys = quad[:, 0], quad[:, 1]
        line_height = float((np.linalg.norm(quad[3] - quad[0]) + np.linalg.norm(quad[2] - quad[1])) / 2)
        pieces.append(
            Piece(
                text=text,
                box=(float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())),
                confidence=score,
                height=line_height,
                extra=(quad,),
            )
        )
    lines = []
    for row in order_rows(pieces, skew):
        joined = join_row(row)
        points = np.concatenate(joined.extra)
        original = np.array([unturn_point(float(x), float(y), reading.k, width, height) for x, y in points])
        x0, y0, x1, y1 = joined.box
        rw, rh = max(reading.width, 1), max(reading.height, 1)
        lines.append(
            OcrLine(
                text=joined.text,
                box=(
                    max(0.0, float(original[:, 0].min())),
                    max(0.0, float(original[:, 1].min())),
                    min(float(width), float(original[:, 0].max())),
                    min(float(height), float(original[:, 1].max())),
                ),
                confidence=round(float(joined.confidence or 0.0), 5),
                upright=(_clip(x0 / rw), _clip(y0 / rh), _clip(x1 / rw), _clip(y1 / rh)),
            )
        )
    return lines
