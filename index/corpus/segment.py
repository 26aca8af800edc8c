"""Structure-aware segmentation of a Chinese official document into clauses.

Notices: headings (``一、``, ``（一）``, ``1.``, ``（1）``) set the section path; a
clause is a numbered item, a heading or a paragraph. Lines broken mid-sentence
(also across blank lines) are joined.

Statutes and regulations (a text with articles, ``第X条``): parts, chapters and
sections (``第X编``, ``第X章``, ``第X节``) are headings, and an article with all
its paragraphs (款) and items is one clause, its path the chapter, section and
article.

Clauses longer than the budget are split at paragraph ends first, then on
Chinese sentence ends with langchain-text-splitters. A YAML front-matter
block at the top of a file is metadata and yields no clause, and neither does
a page-number line a text export carried over from its pages ("— 3 —",
"第3页 共12页", Word's PAGE field left as text): the sentence it interrupts is
joined across it, as across a blank line.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, replace

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
_STATUTE_NUM = "一二三四五六七八九十百千零〇两0-9"
_STATUTE_HEADINGS: tuple[tuple[int, re.Pattern[str]], ...] = (
    (1, re.compile(rf"^第[{_STATUTE_NUM}]+编")),
    (2, re.compile(rf"^第[{_STATUTE_NUM}]+章")),
    (3, re.compile(rf"^第[{_STATUTE_NUM}]+节")),
    (4, re.compile(rf"^第[{_STATUTE_NUM}]+条")),
)
_ARTICLE_LEVEL = 4
# A text with at least this many lines opening an article is read as a statute.
_MIN_ARTICLES = 3
_FRONT_MATTER_MAX_LINES = 60
_SENTENCE_END = "。；！？!?;：:"
_CLOSERS = "”’)）】」』》\"'"
_CONTINUES = "，、,(（“‘《—-"
_TITLE_END = re.compile(r"[。；;]")
# A line shorter than this that does not end a sentence is taken for a title
# line (an issuing office, a document title) rather than wrapped body text.
_SHORT_LINE = 20
_HEADING_TITLE_MAX = 30
# A page number on a line of its own. A bare number counts only after a Word page field (PAGE,
# NUMPAGES) left as text: alone it may be a table cell.
_PAGE_FIELD = re.compile(r"^(?:PAGE|NUMPAGES|SECTIONPAGES)(?:\s*\\\*\s*[A-Za-z]+)*\s*(\d{1,4})?$")
_PAGE_NUMBER = re.compile(
    r"^(?:[-—–~·]+\s*\d{1,4}\s*[-—–~·]+"
    r"|第\s*\d{1,4}\s*页(?:\s*[,/]?\s*共\s*\d{1,4}\s*页)?"
    r"|共\s*\d{1,4}\s*页\s*[,/]?\s*第\s*\d{1,4}\s*页"
    r"|[Pp]age\s+\d{1,4}(?:\s+of\s+\d{1,4})?)$"
)
_BARE_NUMBER = re.compile(r"^\d{1,4}$")


@dataclass
class _Unit:
    """Normalised text with, for each character, its offset in the normalised document."""

    text: str
    offsets: list[int]
    level: int
    marker: str | None
    kind: str | None = None  # set for statute units; notices work it out from the text
    breaks: tuple[int, ...] = ()  # where a new paragraph starts inside the text

    def joined(self, other: _Unit) -> _Unit:
        """The same paragraph, continued (a line broken mid-sentence)."""
        return replace(self, text=self.text + other.text, offsets=self.offsets + other.offsets)

    def with_paragraph(self, other: _Unit) -> _Unit:
        """Another paragraph of the same unit (an article's next 款 or item)."""
        joined = self.joined(other)
        return replace(joined, breaks=(*self.breaks, len(self.text)))


def marker_of(text: str) -> tuple[int, str | None]:
    """The heading level and marker a line starts with, or (0, None)."""
    return _first_marker(_MARKERS, text)


def _first_marker(markers: tuple[tuple[int, re.Pattern[str]], ...], text: str) -> tuple[int, str | None]:
    for level, pattern in markers:
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
    lines = normalized.text.split("\n")
    skip = _front_matter_lines(lines)
    after_page_field = False
    for number, line in enumerate(lines):
        if line and number >= skip:
            stripped = line.strip()
            page_field = bool(_PAGE_FIELD.match(stripped))
            if not (page_field or _is_page_number(stripped, after_page_field)):
                level, marker = marker_of(line)
                units.append(_Unit(line, list(range(position, position + len(line))), level, marker))
            after_page_field = page_field
        position += len(line) + 1
    return units


def _is_page_number(line: str, after_page_field: bool) -> bool:
    """A stripped line that numbers a page rather than saying anything (see the module docstring);
    a Word page field is told apart by the caller, which also needs it for the line after."""
    return bool(_PAGE_NUMBER.match(line) or (after_page_field and _BARE_NUMBER.match(line)))


def _front_matter_lines(lines: list[str]) -> int:
    """How many lines a YAML front-matter block (--- … ---) takes at the top: metadata, not clauses."""
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None or lines[first].strip() != "---":
        return 0
    for number in range(first + 1, min(len(lines), first + _FRONT_MATTER_MAX_LINES)):
        if lines[number].strip() == "---":
            return number + 1
    return 0


def _notice_units(lines: list[_Unit]) -> list[_Unit]:
    units: list[_Unit] = []
    for line in lines:
        if units and _should_join(units[-1], line):
            units[-1] = units[-1].joined(line)
        else:
            units.append(line)
    return units


def _statute_units(lines: list[_Unit]) -> list[_Unit]:
    """Headings stand alone; an article takes every line up to the next heading or article."""
    units: list[_Unit] = []
    in_article = False
    for line in lines:
        level, marker = _first_marker(_STATUTE_HEADINGS, line.text)
        if marker is not None:
            kind = "item" if level == _ARTICLE_LEVEL else "heading"
            units.append(replace(line, level=level, marker=marker, kind=kind))
            in_article = level == _ARTICLE_LEVEL
        elif in_article:
            units[-1] = units[-1].with_paragraph(line)
        elif units and units[-1].marker is None and _should_join(units[-1], line):
            units[-1] = units[-1].joined(line)
        else:
            # Before the first article (title, adoption notes, a table of contents): plain paragraphs.
            units.append(replace(line, level=0, marker=None))
    return units


def is_statute(lines: list[_Unit]) -> bool:
    pattern = _STATUTE_HEADINGS[-1][1]
    return sum(1 for line in lines if pattern.match(line.text)) >= _MIN_ARTICLES


def _title(unit: _Unit) -> str:
    assert unit.marker is not None
    if unit.level == _ARTICLE_LEVEL and unit.kind == "item":
        return unit.marker  # an article is cited by its number: 第十二条
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
        lines = _lines(normalized)
        units = _statute_units(lines) if is_statute(lines) else _notice_units(lines)

        clauses: list[Clause] = []
        sections: list[tuple[int, str]] = []
        for unit in units:
            if unit.marker is not None:
                sections = [s for s in sections if s[0] < unit.level]
                sections.append((unit.level, _title(unit)))
            path = tuple(title for _, title in sections)
            kind = unit.kind or ("heading" if _is_heading(unit) else ("item" if unit.marker else "paragraph"))
            for start, end in self._pieces(unit.text, unit.breaks):
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

    def _pieces(self, text: str, breaks: tuple[int, ...] = ()) -> list[tuple[int, int]]:
        """The unit whole when it fits; else whole paragraphs packed up to the budget, long ones split on sentences."""
        if len(text) <= self.max_clause_chars:
            return [(0, len(text))]
        bounds = [0, *breaks, len(text)]
        pieces: list[tuple[int, int]] = []
        for start, end in itertools.pairwise(bounds):
            if pieces and end - pieces[-1][0] <= self.max_clause_chars and pieces[-1][1] == start:
                pieces[-1] = (pieces[-1][0], end)
            elif end - start <= self.max_clause_chars:
                pieces.append((start, end))
            else:
                pieces += [(start + a, start + b) for a, b in self._sentences(text[start:end])]
        return pieces

    def _sentences(self, text: str) -> list[tuple[int, int]]:
        pieces = []
        for document in self._splitter.create_documents([text]):
            start = document.metadata["start_index"]
            if document.page_content:
                pieces.append((start, start + len(document.page_content)))
        return pieces
