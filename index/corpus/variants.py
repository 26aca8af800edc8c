"""Reading variant files: safe names, size limits, encodings, clear refusals.

One decoder serves every way in (seed folder, upload, CLI, watched inbox).
Text is taken as UTF-8, UTF-16 with a byte-order mark, or GB18030 (common
for Chinese government files), and always stored as UTF-8; anything else is
refused with a message naming the file and what to do.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from index.corpus.model import Problem, Variant
from index.corpus.normalize import is_cjk
from index.errors import Refusal

DEFAULT_MAX_VARIANT_BYTES = 10 * 1024 * 1024
TEXT_SUFFIXES = (".txt", ".md", ".text")
_ID_CHARS = re.compile(r"[^\w.-]+")
_RESERVED = frozenset(
    ["con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))]
)
# Bytes a file starts with, and what kind of file that makes it.
_SIGNATURES = (
    (b"%PDF-", "a PDF"),
    (b"PK\x03\x04", "a ZIP container (.docx, .xlsx, .odt or similar)"),
    (b"\xd0\xcf\x11\xe0", "an old Office document (.doc, .xls)"),
    (b"{\\rtf", "an RTF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
)
# Below this share of CJK among the non-ASCII characters, bytes that happen to
# decode as GB18030 are taken for binary or another encoding, not Chinese text.
GB18030_MIN_CJK_SHARE = 0.6


class VariantError(Refusal, ValueError):
    """A variant that cannot be used; the message names the file and what to fix."""

    _STATUS: ClassVar[dict[str, tuple[int, str]]] = {
        "unsupported_type": (415, "unsupported_media_type"),
        "too_large": (413, "too_large"),
    }

    def __init__(self, source: str, message: str, kind: str = "invalid") -> None:
        super().__init__(f"{source}: {message}")
        self.source = source
        self.message = message
        self.kind = kind  # "invalid", "unsupported_type" or "too_large"
        self.status, self.code = self._STATUS.get(kind, (Refusal.status, Refusal.code))

    def as_problem(self) -> Problem:
        return Problem(source=self.source, message=self.message)


@dataclass(frozen=True)
class DecodedText:
    text: str
    encoding: str  # "utf-8", "utf-16" or "gb18030": what the bytes were, the stored file is UTF-8


def shown_name(name: str) -> str:
    return ascii(name)[1:-1] if not name.isprintable() else name


def variant_id_for(name: str, suffixes: tuple[str, ...] = TEXT_SUFFIXES) -> str:
    """The variant id for a file name (its stem, made safe), refusing paths, odd and reserved names.

    `suffixes` are the extensions taken (plain text unless the caller reads other formats)."""
    shown = shown_name(name)
    if "/" in name or "\\" in name or name.startswith(".."):
        raise VariantError(shown, "a variant name must be a plain file name, not a path; '../' is refused")
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in name):
        raise VariantError(shown, "the file name contains control characters; rename the file")
    suffix = next((s for s in suffixes if name.lower().endswith(s)), None)
    if suffix is None:
        dot = name.rfind(".")
        kind = name[dot:] if dot > 0 else "a file without an extension"
        raise VariantError(
            shown,
            f"only plain text is taken ({', '.join(TEXT_SUFFIXES)}), not {kind}; "
            "convert the document to UTF-8 text and send the .txt",
            kind="unsupported_type",
        )
    stem = name[: -len(suffix)]
    if not stem or stem.startswith(".") or ".." in stem:
        raise VariantError(shown, "the file name must not be hidden or contain '..'; rename the file")
    if stem.split(".")[0].lower() in _RESERVED:
        raise VariantError(shown, f"{stem!r} is a reserved device name on some systems; rename the file")
    variant_id = _ID_CHARS.sub("_", stem).strip("_")[:128]
    if not variant_id:
        raise VariantError(shown, "the file name has no letters or digits; rename the file")
    return variant_id


def decode_text(name: str, data: bytes) -> DecodedText:
    """The text of a file's bytes, or VariantError saying why it is not a text transcription."""
    for signature, kind in _SIGNATURES:
        if data.startswith(signature):
            raise VariantError(
                name,
                f"is {kind}, not plain text; only plain text is taken: save or export it as UTF-8 .txt",
                kind="unsupported_type",
            )
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return _non_empty(name, DecodedText(data.decode("utf-16"), "utf-16"))
        except UnicodeDecodeError:
            raise VariantError(
                name, "starts like UTF-16 but is not valid UTF-16; save it as UTF-8 text"
            ) from None
    if b"\x00" in data:
        raise VariantError(name, "looks like a binary file (it contains NUL bytes), not a text transcription")
    try:
        return _non_empty(name, DecodedText(data.decode("utf-8").removeprefix("\ufeff"), "utf-8"))
    except UnicodeDecodeError as exc:
        position, byte = exc.start, data[exc.start]
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        text = ""
    wide = [ch for ch in text if ord(ch) > 0x7F]
    if wide and sum(is_cjk(ch) for ch in wide) / len(wide) >= GB18030_MIN_CJK_SHARE:
        return _non_empty(name, DecodedText(text, "gb18030"))
    raise VariantError(
        name,
        f"is neither UTF-8 nor GB18030 text (byte 0x{byte:02x} at offset {position}); save it as UTF-8 text",
    )


def is_blank(text: str) -> bool:
    """Nothing but white space (Python's, which counts U+001C-U+001F and U+0085) and byte-order marks."""
    return all(ch.isspace() or ch == "\ufeff" for ch in text)


def _non_empty(name: str, decoded: DecodedText) -> DecodedText:
    if is_blank(decoded.text):
        raise VariantError(name, "is empty (no text after removing whitespace); nothing to collate")
    return decoded


def check_size(name: str, size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise VariantError(
            name,
            f"{size_text(size)} is over the {size_text(max_bytes)} limit for one variant; "
            "split the document or raise CONCORD_MAX_VARIANT_BYTES",
            kind="too_large",
        )


def decode_variant(name: str, data: bytes, max_bytes: int = DEFAULT_MAX_VARIANT_BYTES) -> Variant:
    """Turn a named byte string into a Variant, or raise VariantError saying what is wrong."""
    variant_id = variant_id_for(name)
    check_size(name, len(data), max_bytes)
    return Variant(id=variant_id, path=name, raw_text=decode_text(name, data).text)


def read_variant(path: Path, max_bytes: int = DEFAULT_MAX_VARIANT_BYTES) -> Variant:
    """Read one variant file, checking its size before reading it."""
    name = path.name
    if path.is_symlink() or not path.is_file():
        raise VariantError(
            name, "is not a regular file (a link, folder or device); copy the text into a file"
        )
    check_size(name, path.stat().st_size, max_bytes)
    variant = decode_variant(name, path.read_bytes(), max_bytes)
    return Variant(id=variant.id, path=str(path), raw_text=variant.raw_text)


class NoUsableVariants(Refusal, ValueError):
    """A folder that yielded no variant at all; the message lists why each file was refused."""


@dataclass
class LoadedVariants:
    variants: list[Variant] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def load_variants(folder: Path, max_bytes: int = DEFAULT_MAX_VARIANT_BYTES) -> LoadedVariants:
    """Read every file of a folder as a variant; a bad file is reported and skipped, never fatal."""
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder of variants")
    loaded = LoadedVariants()
    for path in sorted(folder.iterdir(), key=lambda p: p.name):
        if path.name.startswith(".") or path.is_dir():
            continue
        try:
            loaded.variants.append(read_variant(path, max_bytes))
        except VariantError as exc:
            loaded.problems.append(exc.as_problem())
        except OSError as exc:
            loaded.problems.append(Problem(source=path.name, message=f"cannot be read: {exc.strerror}"))
    return loaded


def size_text(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB"
    if n >= 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n} bytes"
