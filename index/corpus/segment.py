"""Structure-aware segmentation of a Chinese official document into clauses.

Headings (``一、``, ``（一）``, ``1.``, ``（1）``) set the section path; a clause is
a numbered item, a heading or a paragraph. Lines broken mid-sentence (also
across blank lines) are joined; clauses longer than the budget are split on
Chinese sentence ends with langchain-text-splitters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from langchain_text_splitters import RecursiveCharacterTextSplitter

from index.corpus.model import Clause, Variant
from index.corpus.normalize import NormalizedText

# Characters, not tokens: the e5 SentencePiece vocabulary never spends more
# than one token on a CJK character, so 300 characters stay well under the
# model's 512-token window and under the 400-character passage limit.
DEFAULT_MAX_CLAUSE_CHARS = 300

_CN_NUM = "一二三四五六七八九十"
_MARKERS: tuple[tuple[int, re.Pattern[str]], ...] = (
    (1, re.compile(rf"^[{_CN_NUM}]+、")),
    (2, re.compile(rf"^\([{_CN_NUM}]+\)")),
    (3, re.compile(r"^\d{1,2}[.、](?!\d)")),
    (4, re.compile(r"^\(\d{1,2}\)")),
)
_SENTENCE_END = "。；！？!?;：:"
_CLOSERS = "”’)）】」』》\"'"
_CONTINUES = "，、,(（“‘《—-"
_TITLE_END = re.compile(r"[。；;]")
# A line shorter than this that does not end a sentence is taken for a title
# line (an issuing office, a document title) rather than wrapped body text.
_SHORT_LINE = 20
_HEADING_TITLE_MAX = 30


@dataclass
class _Unit:
    """Normalised text with, for each character, its offset in the normalised document."""

    text: str
    offsets: list[int]
    level: int
    marker: str | None

    def joined(self, other: _Unit) -> _Unit:
        return _Unit(self.text + other.text, self.offsets + other.offsets, self.level, self.marker)


def marker_of(text: str) -> tuple[int, str | None]:
    """The heading level and marker a line starts with, or (0, None)."""
    for level, pattern in _MARKERS:
        match = pattern.match(text)
        if match:
            return level, match.group(0)
    return 0, None


def strip_marker(text: str) -> str:
    _, marker = marker_of(text)
    return text[len(marker) :] if marker else text


def ends_sentence(text: str) -> bool:
    stripped = text.rstrip(_CLOSERS)
    return bool(stripped) and stripped[-1] in _SENTENCE_END


def _is_heading(unit: _Unit) -> bool:
    """A marker line that carries only a title, no body after it."""
    if unit.marker is None:
        return False
    body = unit.text[len(unit.marker) :]
    if len(body) > _HEADING_TITLE_MAX or body[-1] in _CONTINUES:
        return False
    # A title is one short sentence at most: "（一）传承创新“楚怡”职业教育精神。"
    sentence = body.rstrip(_CLOSERS)[:-1] if ends_sentence(body) else body
    return not _TITLE_END.search(sentence) and not (ends_sentence(body) and "," in sentence)


def _should_join(previous: _Unit, following: _Unit) -> bool:
    if following.marker is not None or ends_sentence(previous.text):
        return False
    if previous.marker is not None and _is_heading(previous):
        return False
    return previous.text[-1] in _CONTINUES or len(previous.text) >= _SHORT_LINE


def _lines(normalized: NormalizedText) -> list[_Unit]:
    units = []
    position = 0
    for line in normalized.text.split("\n"):
        if line:
            level, marker = marker_of(line)
            units.append(_Unit(line, list(range(position, position + len(line))), level, marker))
        position += len(line) + 1
    return units


def _title(unit: _Unit) -> str:
    assert unit.marker is not None
    body = unit.text[len(unit.marker) :]
    first = _TITLE_END.split(body, maxsplit=1)[0]
    return unit.marker + first[:_HEADING_TITLE_MAX]


class Segmenter:
    """Turns a variant into its clauses."""

    def __init__(self, max_clause_chars: int = DEFAULT_MAX_CLAUSE_CHARS) -> None:
        self.max_clause_chars = max_clause_chars
        self._splitter = RecursiveCharacterTextSplitter(
            # NFKC has already turned ；！？， into their ASCII forms.
            separators=["。", ";", "!", "?", ",", ""],
            keep_separator="end",
            chunk_size=max_clause_chars,
            chunk_overlap=0,
            strip_whitespace=False,
            add_start_index=True,
        )

    def clauses(self, variant: Variant) -> list[Clause]:
        normalized = NormalizedText.of(variant.raw_text)
        units: list[_Unit] = []
        for line in _lines(normalized):
            if units and _should_join(units[-1], line):
                units[-1] = units[-1].joined(line)
            else:
                units.append(line)

        clauses: list[Clause] = []
        sections: list[tuple[int, str]] = []
        for unit in units:
            if unit.marker is not None:
                sections = [s for s in sections if s[0] < unit.level]
                sections.append((unit.level, _title(unit)))
            path = tuple(title for _, title in sections)
            kind = "heading" if _is_heading(unit) else ("item" if unit.marker else "paragraph")
            for start, end in self._pieces(unit.text):
                offsets = unit.offsets[start:end]
                location = normalized.location(offsets[0], offsets[-1] + 1)
                clauses.append(
                    Clause(
                        variant=variant.id,
                        ordinal=len(clauses),
                        text=unit.text[start:end],
                        raw_text=variant.raw_text[location.char_start : location.char_end],
                        location=location,
                        section_path=path,
                        kind=kind,
                        marker=unit.marker,
                        level=unit.level,
                    )
                )
        return clauses

    def _pieces(self, text: str) -> list[tuple[int, int]]:
        if len(text) <= self.max_clause_chars:
            return [(0, len(text))]
        pieces = []
        for document in self._splitter.create_documents([text]):
            start = document.metadata["start_index"]
            if document.page_content:
                pieces.append((start, start + len(document.page_content)))
        return pieces
