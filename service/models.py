"""Request and response models of the HTTP API, named from the domain.

The answer's shapes end in `Out` (`ClauseGroupOut`, `ReadingOut`, …): they are the wire form of the
plain data objects of the same name in `index.corpus.model`, which stay free of HTTP concerns."""

from __future__ import annotations

import unicodedata

from pydantic import BaseModel, ConfigDict, Field, field_validator

from index.corpus.documents import DOCUMENT_ID_PATTERN

MAX_QUESTION_CHARS = 2000
MAX_TOP_K = 50
MAX_DOCUMENT_FILTER = 1000
_KEPT_CONTROLS = {"\t", "\n", "\r"}


def _unreadable(char: str) -> bool:
    """A control character (other than tab and line breaks) or a Unicode non-character: read as a space."""
    point = ord(char)
    return (
        (unicodedata.category(char) == "Cc" and char not in _KEPT_CONTROLS)
        or 0xFDD0 <= point <= 0xFDEF
        or (point & 0xFFFE) == 0xFFFE
    )


def clean_text(value: str, field: str) -> str:
    """Text from outside, as the models can take it: a lone surrogate is refused (saying which and
    where: it is no character at all), control characters and non-characters read as spaces."""
    for position, char in enumerate(value):
        point = ord(char)
        if 0xD800 <= point <= 0xDFFF:
            raise ValueError(
                f"{field} holds U+{point:04X} at character {position}, a lone UTF-16 surrogate that is no "
                "character; send the text as UTF-8 (or pair the surrogate), without it"
            )
    if any(_unreadable(c) for c in value):
        value = "".join(" " if _unreadable(c) else c for c in value)
    return value


class QueryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(
        description=f"A question in Chinese or English, at most {MAX_QUESTION_CHARS} characters.",
        examples=["楚怡优秀技工院校要遴选建设多少所？", "How many 楚怡 technical schools will be built?"],
        # Some character that is neither white space nor a control character (those read as spaces).
        json_schema_extra={
            "minLength": 1,
            "maxLength": MAX_QUESTION_CHARS,
            "pattern": r"[^\s\u0000-\u001f\u007f-\u009f\ufdd0-\ufdef\ufffe\uffff]",
        },
    )
    top_k: int = Field(
        5,
        description=f"How many clause groups to return, 1 to {MAX_TOP_K}.",
        json_schema_extra={"minimum": 1, "maximum": MAX_TOP_K},
    )
    documents: list[str] | None = Field(
        None,
        description=f"Only answer from these document ids (GET /v1/documents lists them), at most "
        f"{MAX_DOCUMENT_FILTER}.",
        examples=[None],
        json_schema_extra={"maxItems": MAX_DOCUMENT_FILTER},
    )

    @field_validator("question")
    @classmethod
    def _question_has_text(cls, value: str) -> str:
        value = clean_text(value, "question")
        if not value.strip():
            raise ValueError("question is empty; send the text of a question")
        if len(value) > MAX_QUESTION_CHARS:
            raise ValueError(
                f"question is {len(value)} characters; shorten it to at most {MAX_QUESTION_CHARS}"
            )
        return value

    @field_validator("documents")
    @classmethod
    def _few_documents(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return value
        if len(value) > MAX_DOCUMENT_FILTER:
            raise ValueError(
                f"{len(value)} document ids; name at most {MAX_DOCUMENT_FILTER}, or leave `documents` out "
                "to ask every document"
            )
        return [clean_text(d, "documents") for d in value]

    @field_validator("top_k", mode="before")
    @classmethod
    def _top_k_is_a_number(cls, value: object) -> object:
        # As JSON Schema's integer: 3 and 3.0, never "3" or true (which Python would read as 1).
        if isinstance(value, bool) or not isinstance(value, int | float):
            kind = {str: "a string", bool: "a boolean", type(None): "null"}.get(
                type(value), type(value).__name__
            )
            raise ValueError(f"top_k must be a whole number such as 5, not {kind}")
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(f"top_k must be a whole number such as 5, not {value}")
        return int(value)

    @field_validator("top_k")
    @classmethod
    def _top_k_in_range(cls, value: int) -> int:
        if not 1 <= value <= MAX_TOP_K:
            raise ValueError(f"top_k is {value}; ask for 1 to {MAX_TOP_K} results")
        return value


class Location(BaseModel):
    line_start: int
    line_end: int
    char_start: int
    char_end: int


class PageSpanOut(BaseModel):
    page: int = Field(description="Physical page of the original file, 1-based.")
    label: str | None = Field(None, description="The page's printed label, when the file has one.")
    rects: list[tuple[float, float, float, float]] = Field(
        description="The reading's lines on this page: x0, y0, x1, y1 as 0-1 of the page, origin top left."
    )
    confidence: float | None = Field(
        None, description="The lowest OCR confidence among those lines (0-1); null from a text layer."
    )


class SourceOut(BaseModel):
    original_name: str = Field(
        "",
        description="The file as it arrived (notice.pdf); `file` is its extracted text, which offsets index.",
    )
    format: str = Field(description="What the variant was extracted from: text, pdf, image, docx, html, ofd.")
    method: str = Field(description="plain, text-layer, ocr, text-layer+ocr, docx, html or ofd.")
    ocr: bool = Field(description="Whether any of the variant was read by OCR.")
    confidence: float | None = Field(None, description="The variant's OCR confidence (0-1), if OCR'd.")
    low_confidence: bool = Field(
        False, description="OCR confidence under the service's threshold: weigh this witness less."
    )
    page_images: bool = Field(
        False,
        description="Whether GET …/pages/{page}.png shows its pages (a PDF or image; an OFD's are located, not drawn).",
    )


class ReadingOut(BaseModel):
    variant: str
    file: str = Field(description="The variant's file name in its document.")
    text: str = Field(description="The clause as this variant has it (normalised).")
    raw_text: str = Field(description="Exactly what the file holds at the span below.")
    line_start: int
    line_end: int
    char_start: int = Field(description="Code-point offset into the variant file, inclusive.")
    char_end: int = Field(description="Code-point offset into the variant file, exclusive.")
    copies: int = Field(1, description="How many times a repetition loop repeats this reading.")
    copy_locations: list[Location] = Field(
        default_factory=list, description="Where the repeats of a collapsed loop sit, after the first copy."
    )
    source: SourceOut | None = Field(
        None,
        description="How the variant was read, when it came from a PDF, scan, Word file, web page or OFD.",
    )
    pages: list[PageSpanOut] = Field(
        default_factory=list,
        description="For a reading from a paged file (PDF, scan, OFD): every page it lies on, with its lines' "
        "rectangles. GET …/pages/{page}.png shows the page.",
    )
    blocks: list[str] = Field(
        default_factory=list,
        description='For a Word file or web page: the paragraphs ("paragraph 12", "table 2, row 3") or DOM '
        "paths the reading lies in.",
    )


class SupportOut(BaseModel):
    variants: list[str]
    count: int
    total: int
    ocr: list[str] = Field(
        default_factory=list, description="Those of the supporting variants that were read by OCR."
    )
    low_confidence: list[str] = Field(
        default_factory=list, description="Supporting variants whose OCR confidence is low: weaker witnesses."
    )


class DivergenceOut(BaseModel):
    variant: str
    kind: str
    canonical_start: int
    canonical_end: int
    canonical_text: str
    reading_text: str
    reading_start: int = Field(description="Offset into this variant's reading `text`, inclusive.")
    reading_end: int
    substantive: bool = Field(
        description="False when the spans differ only in punctuation, character width or spacing."
    )


class DocumentRef(BaseModel):
    id: str
    title: str


class ClauseGroupOut(BaseModel):
    rank: int
    id: str
    document: DocumentRef = Field(
        description="The document the clause belongs to; support counts its variants."
    )
    text: str = Field(description="The canonical reading of the clause group.")
    score: float
    support: SupportOut
    readings: list[ReadingOut]
    section_path: list[str]
    flags: list[str] = Field(
        description="repetition, single_variant, low_support; divergent when a variant's wording differs, "
        "punctuation_only when variants differ only in punctuation, width or spacing."
    )
    divergences: list[DivergenceOut]
    repetition: dict[str, int]


class AnswerDisagreement(BaseModel):
    variant: str
    text: str


class Answer(BaseModel):
    text: str = Field(description="The number and measure word that answers a count question, e.g. 5所.")
    group_id: str
    variants: list[str] = Field(description="Variants whose reading carries this span.")
    count: int
    total: int
    agreed: bool
    disagreements: list[AnswerDisagreement]
    summary: str = Field(description="The answer in one line, with its support and any disagreement.")


class IndexInfo(BaseModel):
    generation: int = Field(
        description="Which published index answered; every request runs on one generation."
    )
    built_at: str
    model: str


_QUERY_EXAMPLE = {
    "question": "How many 楚怡 technical schools will be built?",
    "answerable": True,
    "confidence": 0.97,
    "answer": {
        "text": "5所",
        "group_id": "seeds:g0031",
        "variants": ["000_970efa45bf395699", "002_3a5bf2ddd52c080d"],
        "count": 2,
        "total": 2,
        "agreed": True,
        "disagreements": [],
        "summary": "5所 (2 of 2 variants)",
    },
    "results": [
        {
            "rank": 1,
            "id": "seeds:g0031",
            "document": {"id": "seeds", "title": "关于实施职业教育“楚怡”行动计划的通知"},
            "text": "4.提高技工教育的实力。遴选建设5所“楚怡”优秀技工院校。",
            "score": 0.985,
            "support": {"variants": ["000_970efa45bf395699", "002_3a5bf2ddd52c080d"], "count": 2, "total": 2},
            "readings": [
                {
                    "variant": "000_970efa45bf395699",
                    "file": "000_970efa45bf395699.txt",
                    "text": "4.提高技工教育的实力。遴选建设5所“楚怡”优秀技工院校。",
                    "raw_text": "4.提高技工教育的实力。遴选建设 5 所“楚怡”优秀技工院校。",
                    "line_start": 38,
                    "line_end": 38,
                    "char_start": 1126,
                    "char_end": 1157,
                    "copies": 1,
                    "copy_locations": [],
                },
                {
                    "variant": "002_3a5bf2ddd52c080d",
                    "file": "002_3a5bf2ddd52c080d.txt",
                    "text": "4.提高技工教育的实力,遴选建设5所“楚怡”优秀技工院校。",
                    "raw_text": "4. 提高技工教育的实力，遴选建设 5 所“楚怡”优秀技工院校。",
                    "line_start": 68,
                    "line_end": 68,
                    "char_start": 1095,
                    "char_end": 1127,
                    "copies": 1,
                    "copy_locations": [],
                },
            ],
            "section_path": ["二、主要任务", "(二)建设“楚怡”高水平学校", "4.提高技工教育的实力"],
            "flags": ["punctuation_only"],
            "divergences": [
                {
                    "variant": "002_3a5bf2ddd52c080d",
                    "kind": "replace",
                    "canonical_start": 10,
                    "canonical_end": 11,
                    "canonical_text": "。",
                    "reading_start": 10,
                    "reading_end": 11,
                    "reading_text": ",",
                    "substantive": False,
                }
            ],
            "repetition": {},
        }
    ],
    "index": {"generation": 3, "built_at": "2026-11-23T06:00:39+00:00", "model": "bundled:e5-small"},
}


class QueryResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_QUERY_EXAMPLE]})

    question: str
    answerable: bool = Field(
        description="Whether the documents seem to answer the question at all; when false the results "
        "are only the closest passages, not an answer."
    )
    confidence: float = Field(
        description="How likely the top result answers the question, 0 to 1 (calibrated on our own "
        "answerable and unanswerable questions)."
    )
    answer: Answer | None = None
    results: list[ClauseGroupOut]
    index: IndexInfo


class VariantInfo(BaseModel):
    id: str
    file_name: str
    original_name: str
    sha256: str
    size: int
    encoding: str = Field(description="What the file arrived as; it is stored as UTF-8.")
    arrived_at: str
    sender: str
    job_id: str | None
    format: str = Field("text", description="What it was extracted from: text, pdf, image, docx, html, ofd.")
    original_sha256: str | None = Field(
        None, description="Checksum of the original file kept beside the text (GET …/original returns it)."
    )


class DocumentInfo(BaseModel):
    id: str
    title: str
    created_at: str
    variants: list[VariantInfo]


class JobInfo(BaseModel):
    id: str
    kind: str = Field(description="add, remove, move, restore, purge or reindex.")
    status: str = Field(description="queued, running, succeeded, failed or interrupted.")
    stage: str | None = Field(
        description="extract (done/total in pages), store, segment, collate, embed, index or publish."
    )
    done: int
    total: int
    created_at: str
    started_at: str | None
    finished_at: str | None
    origin: str
    sender: str
    files: list[str]
    document: str | None
    result: dict | None
    error: str | None
    attempts: int
    interrupted_at: str | None = Field(
        None,
        description="When a stopped process was last found to have left this job running (it ran again).",
    )


class JobList(BaseModel):
    jobs: list[JobInfo]


class TrashedVariant(BaseModel):
    id: str
    file_name: str
    original_name: str
    sha256: str
    size: int
    sender: str
    arrived_at: str


class TrashInfo(BaseModel):
    id: str = Field(description="The trash entry; POST /v1/trash/{id}/restore puts it back.")
    document: str
    variant: str | None = Field(description="The variant removed, or null when the whole document was.")
    title: str
    variants: list[TrashedVariant]
    removed_at: str
    removed_by: str = Field(description="Who removed it (for the API, `api:` and the key's hash).")
    job: str | None
    expires_at: str = Field(description="When it is purged for good unless restored first.")


class TrashList(BaseModel):
    entries: list[TrashInfo]


class AuditInfo(BaseModel):
    id: int
    at: str
    action: str = Field(description="add, remove, move, restore, purge or reindex.")
    document: str | None
    variant: str | None
    caller: str = Field(
        description="`api:` and the key's hash, `cli:user@host`, `inbox`, `seed` or `retention`."
    )
    origin: str
    client: str | None = Field(description="The client address the request came from, when over HTTP.")
    job: str | None
    detail: dict


class AuditList(BaseModel):
    events: list[AuditInfo]
    next_before: int | None = Field(description="Pass as `before` for the next, older page; null at the end.")


class MoveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: str = Field(
        description="The document id to move the variant to (created when new).",
        json_schema_extra={"pattern": DOCUMENT_ID_PATTERN},
        examples=["seeds"],
    )


class Health(BaseModel):
    status: str
    degraded: bool = Field(
        False, description="True when an older good build is served because the published one was refused."
    )
    detail: str | None = Field(None, description="Why it is degraded, and what was done about it.")
    index: dict | None = None


class VariantText(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "document": "seeds",
                    "variant": "000_970efa45bf395699",
                    "file": "000_970efa45bf395699.txt",
                    "start": 1126,
                    "end": 1157,
                    "text": "4.提高技工教育的实力。遴选建设 5 所“楚怡”优秀技工院校。",
                    "before": "统一标识、统一风格。\n\n",
                    "after": "\n\n（三）建设“楚怡”高水平专业群。",
                    "line_start": 38,
                    "line_end": 38,
                    "length": 2291,
                }
            ]
        }
    )

    document: str
    variant: str
    file: str
    start: int = Field(description="Code-point offset into the file, after clamping to its length.")
    end: int
    text: str = Field(description="Exactly the file's text[start:end].")
    before: str = Field(description="Up to `context` characters before the span.")
    after: str = Field(description="Up to `context` characters after the span.")
    line_start: int = Field(description="The 1-based line the span starts on.")
    line_end: int
    length: int = Field(description="The file's length in code points.")
