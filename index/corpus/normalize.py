"""A normalised view of a variant's raw text, with an offset map back to the raw file.

Normalisation: NFKC per character, markdown heading marks (``#``) stripped,
spaces removed where they touch CJK text (``建 设 2 0 个`` becomes ``建设20个``),
lines trimmed. Newlines are kept so that structure survives. Every normalised
character remembers the raw character it came from, so a span of the
normalised text maps back to an exact raw span.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass
from functools import cached_property

from index.corpus.model import Location

_MARKDOWN_HEADING = re.compile(r"^[ \t\u3000]*#{1,6}[ \t\u3000]*")


def is_cjk(char: str) -> bool:
    """Han ideographs, CJK and full-width punctuation, and the curly quotes Chinese text uses."""
    code = ord(char)
    return (
        0x4E00 <= code <= 0x9FFF
        or 0x3400 <= code <= 0x4DBF
        or 0x20000 <= code <= 0x2FFFF
        or 0xF900 <= code <= 0xFAFF
        or 0x3000 <= code <= 0x303F
        or 0xFF00 <= code <= 0xFFEF
        or 0x2010 <= code <= 0x206F
    )


def normalize_text(text: str) -> str:
    """The normalised form of a string (the same rules as for a variant, without the offset map)."""
    return NormalizedText.of(text).text


@dataclass(frozen=True)
class NormalizedText:
    raw: str
    text: str
    raw_offsets: tuple[int, ...]  # raw_offsets[i] = index in raw of the char that made text[i]

    @classmethod
    def of(cls, raw: str) -> NormalizedText:
        chars: list[str] = []
        offsets: list[int] = []
        position = 0
        for line in raw.splitlines(keepends=True):
            body = line.rstrip("\r\n")
            ending = line[len(body) :]
            skip = _MARKDOWN_HEADING.match(body)
            start = skip.end() if skip else 0
            line_chars: list[str] = []
            line_offsets: list[int] = []
            for index in range(start, len(body)):
                for out in unicodedata.normalize("NFKC", body[index]):
                    line_chars.append(out)
                    line_offsets.append(position + index)
            kept_chars, kept_offsets = _drop_spaces(line_chars, line_offsets)
            chars.extend(kept_chars)
            offsets.extend(kept_offsets)
            if ending:
                chars.append("\n")
                offsets.append(position + len(body))
            position += len(line)
        return cls(raw=raw, text="".join(chars), raw_offsets=tuple(offsets))

    def raw_span(self, start: int, end: int) -> tuple[int, int]:
        """The raw [start, end) that covers normalised text[start:end]."""
        if end <= start:
            raise ValueError("empty span")
        return self.raw_offsets[start], self.raw_offsets[end - 1] + 1

    def location(self, start: int, end: int) -> Location:
        raw_start, raw_end = self.raw_span(start, end)
        return Location(
            line_start=self.line_of(raw_start),
            line_end=self.line_of(raw_end - 1),
            char_start=raw_start,
            char_end=raw_end,
        )

    def line_of(self, raw_index: int) -> int:
        return bisect.bisect_right(self._line_starts, raw_index)

    @cached_property
    def _line_starts(self) -> list[int]:
        return [0] + [i + 1 for i, ch in enumerate(self.raw) if ch == "\n"]


def _drop_spaces(chars: list[str], offsets: list[int]) -> tuple[list[str], list[int]]:
    """Trim a line and remove every whitespace run that touches a CJK character."""
    kept_chars: list[str] = []
    kept_offsets: list[int] = []
    n = len(chars)
    i = 0
    while i < n:
        if not chars[i].isspace():
            kept_chars.append(chars[i])
            kept_offsets.append(offsets[i])
            i += 1
            continue
        j = i
        while j < n and chars[j].isspace():
            j += 1
        at_edge = i == 0 or j == n
        touches_cjk = (i > 0 and is_cjk(chars[i - 1])) or (j < n and is_cjk(chars[j]))
        if not at_edge and not touches_cjk:
            kept_chars.append(" ")
            kept_offsets.append(offsets[i])
        i = j
    return kept_chars, kept_offsets
