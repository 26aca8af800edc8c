"""Reading variant files: validated names, size limits, UTF-8 decoding, clear refusals."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from index.model import Problem, Variant

DEFAULT_MAX_VARIANT_BYTES = 5 * 1024 * 1024
VARIANT_SUFFIX = ".txt"
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class VariantError(ValueError):
    """A variant that cannot be used; the message names the file and what to fix."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source
        self.message = message

    def as_problem(self) -> Problem:
        return Problem(source=self.source, message=self.message)


def variant_id_for(name: str) -> str:
    """The variant id for a file name (its stem), refusing paths and odd characters."""
    shown = ascii(name)[1:-1] if not name.isprintable() else name
    if "/" in name or "\\" in name or name.startswith(".."):
        raise VariantError(shown, "a variant name must be a plain file name, not a path; '../' is refused")
    if not name.endswith(VARIANT_SUFFIX):
        raise VariantError(
            shown, f"only {VARIANT_SUFFIX} files are variants; rename it to end in {VARIANT_SUFFIX}"
        )
    stem = name[: -len(VARIANT_SUFFIX)]
    if not _SAFE_NAME.fullmatch(stem) or ".." in stem:
        raise VariantError(
            shown,
            "the file name may use only letters, digits, '.', '_' and '-' (at most 128, starting with a "
            "letter or digit); rename the file",
        )
    return stem


def decode_variant(name: str, data: bytes, max_bytes: int = DEFAULT_MAX_VARIANT_BYTES) -> Variant:
    """Turn a named byte string into a Variant, or raise VariantError saying what is wrong."""
    variant_id = variant_id_for(name)
    _check_size(name, len(data), max_bytes)
    if b"\x00" in data:
        raise VariantError(name, "looks like a binary file (it contains NUL bytes), not a text transcription")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise VariantError(
            name,
            f"is not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); save it as UTF-8 text",
        ) from None
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise VariantError(name, "is empty (no text after removing whitespace); nothing to collate")
    return Variant(id=variant_id, path=name, raw_text=text)


def read_variant(path: Path, max_bytes: int = DEFAULT_MAX_VARIANT_BYTES) -> Variant:
    """Read one variant file, checking its size before reading it."""
    name = path.name
    if path.is_symlink() or not path.is_file():
        raise VariantError(
            name, "is not a regular file (a link, folder or device); copy the text into a file"
        )
    _check_size(name, path.stat().st_size, max_bytes)
    variant = decode_variant(name, path.read_bytes(), max_bytes)
    return Variant(id=variant.id, path=str(path), raw_text=variant.raw_text)


class NoUsableVariants(ValueError):
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


def _check_size(name: str, size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise VariantError(
            name,
            f"{_size(size)} is over the {_size(max_bytes)} limit for one variant; "
            "split the document or raise CONCORD_MAX_VARIANT_BYTES",
        )


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB"
    if n >= 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n} bytes"
