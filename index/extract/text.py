"""Plain text (.txt, .md): the bytes decoded as the corpus always has (UTF-8, UTF-16 with a BOM, GB18030)."""

from __future__ import annotations

from index.corpus.variants import decode_text
from index.extract.base import ExtractOptions, Progress
from index.extract.model import Extraction


def inspect(name: str, data: bytes, options: ExtractOptions) -> int:
    decode_text(name, data)
    return 1


def extract(name: str, data: bytes, options: ExtractOptions, progress: Progress) -> list[Extraction]:
    decoded = decode_text(name, data)
    progress(1)
    return [Extraction(text=decoded.text, format="text", method="plain", encoding=decoded.encoding)]
