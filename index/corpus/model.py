"""Plain data objects passed between the corpus stages: variant, clause, reading, clause group."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Variant:
    """One transcription of the document, as read from its file."""

    id: str
    path: str
    raw_text: str
    # For a variant extracted from a paged or structured file: where each part of `raw_text` lies
    # in it (`index.extract.model.Extraction.to_dict`); None for plain text.
    layout: dict[str, Any] | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Location:
    """Where a piece of text sits in a variant's raw file.

    Lines are 1-based and inclusive; characters are 0-based code-point offsets
    into the decoded file, end exclusive, so ``raw_text[char_start:char_end]``
    is the exact text as the file has it.
    """

    line_start: int
    line_end: int
    char_start: int
    char_end: int


@dataclass(frozen=True)
class Clause:
    """A numbered item, heading or paragraph of one variant, in normalised form."""

    variant: str
    ordinal: int
    text: str
    raw_text: str
    location: Location
    section_path: tuple[str, ...]
    kind: str  # "heading", "item" or "paragraph"
    marker: str | None = None
    level: int = 0  # heading level of the marker, 0 for a plain paragraph


@dataclass(frozen=True)
class Reading:
    """How one variant words a clause group, and where."""

    variant: str
    text: str
    raw_text: str
    line_start: int
    line_end: int
    char_start: int
    char_end: int
    copies: int = 1
    copy_locations: tuple[Location, ...] = ()


@dataclass(frozen=True)
class Support:
    variants: list[str]
    count: int
    total: int


@dataclass(frozen=True)
class Divergence:
    """A span where one reading departs from the canonical wording."""

    variant: str
    kind: str  # "replace", "insert" or "delete"
    canonical_start: int
    canonical_end: int
    canonical_text: str
    reading_text: str
    reading_start: int  # offsets into the reading's normalised text, for character-level highlighting
    reading_end: int
    # False when the two sides differ only in punctuation, character width or spacing (。 against ,):
    # shown, but not a disagreement about what the document says.
    substantive: bool = True


@dataclass
class ClauseGroup:
    """The same clause across variants: canonical wording, every reading, support, divergences."""

    id: str
    canonical: str
    canonical_variant: str
    section_path: tuple[str, ...]
    kind: str
    readings: list[Reading]
    support: Support
    divergences: list[Divergence] = field(default_factory=list)
    repetition: dict[str, int] = field(default_factory=dict)  # variant -> copies, for collapsed loops
    document: str = ""  # the id of the document the clause belongs to

    @property
    def flags(self) -> list[str]:
        flags = []
        if self.repetition:
            flags.append("repetition")
        if self.support.total > 1 and self.support.count == 1:
            flags.append("single_variant")
        elif self.support.count * 2 <= self.support.total:
            flags.append("low_support")
        if any(d.substantive for d in self.divergences):
            flags.append("divergent")
        elif self.divergences:
            flags.append("punctuation_only")
        return flags

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["section_path"] = list(self.section_path)
        data["flags"] = self.flags
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClauseGroup:
        readings = [
            Reading(
                **{
                    **r,
                    "copy_locations": tuple(Location(**loc) for loc in r.get("copy_locations", ())),
                }
            )
            for r in data["readings"]
        ]
        return cls(
            id=data["id"],
            canonical=data["canonical"],
            canonical_variant=data["canonical_variant"],
            section_path=tuple(data["section_path"]),
            kind=data["kind"],
            readings=readings,
            support=Support(**data["support"]),
            divergences=[Divergence(**d) for d in data.get("divergences", [])],
            repetition=dict(data.get("repetition", {})),
            document=data.get("document", ""),
        )


@dataclass(frozen=True)
class DocumentSource:
    """A document as a build reads it: id, title and the variants it holds."""

    id: str
    title: str
    variants: list[Variant]


@dataclass(frozen=True)
class Problem:
    """An input that could not be used, with a message saying what is wrong and what to do."""

    source: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}: {self.message}"


@dataclass
class Collation:
    """All clause groups of one document's variants, plus the inputs that were refused."""

    variants: list[str]
    groups: list[ClauseGroup]
    problems: list[Problem] = field(default_factory=list)
    corpus_hashes: dict[str, str] = field(default_factory=dict)  # variant -> sha256 of its text
    document: str = ""
    title: str = ""
    files: dict[str, str] = field(default_factory=dict)  # variant -> the file name it was read from

    @property
    def total(self) -> int:
        return len(self.variants)

    def to_dict(self) -> dict[str, Any]:
        return {
            "variants": self.variants,
            "total": self.total,
            "groups": [g.to_dict() for g in self.groups],
            "problems": [asdict(p) for p in self.problems],
            "corpus_hashes": self.corpus_hashes,
            "document": self.document,
            "title": self.title,
            "files": self.files,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Collation:
        return cls(
            variants=list(data["variants"]),
            groups=[ClauseGroup.from_dict(g) for g in data["groups"]],
            problems=[Problem(**p) for p in data.get("problems", [])],
            corpus_hashes=dict(data.get("corpus_hashes", {})),
            document=data.get("document", ""),
            title=data.get("title", ""),
            files=dict(data.get("files", {})),
        )
