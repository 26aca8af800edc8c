"""Request and response models of the HTTP API, named from the domain."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_QUESTION_CHARS = 2000
MAX_TOP_K = 50


class QueryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(
        description="A question in Chinese or English.", examples=["楚怡优秀技工院校要遴选建设多少所？"]
    )
    top_k: int = Field(5, description=f"How many clause groups to return, 1 to {MAX_TOP_K}.")
    documents: list[str] | None = Field(
        None,
        description="Only answer from these document ids (GET /v1/documents lists them).",
        examples=[None],
    )

    @field_validator("question")
    @classmethod
    def _question_has_text(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("question is empty; send the text of a question")
        if len(value) > MAX_QUESTION_CHARS:
            raise ValueError(
                f"question is {len(value)} characters; shorten it to at most {MAX_QUESTION_CHARS}"
            )
        return value

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


class Reading(BaseModel):
    variant: str
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


class Support(BaseModel):
    variants: list[str]
    count: int
    total: int


class Divergence(BaseModel):
    variant: str
    kind: str
    canonical_start: int
    canonical_end: int
    canonical_text: str
    reading_text: str


class DocumentRef(BaseModel):
    id: str
    title: str


class ClauseGroup(BaseModel):
    rank: int
    id: str
    document: DocumentRef = Field(
        description="The document the clause belongs to; support counts its variants."
    )
    text: str = Field(description="The canonical reading of the clause group.")
    score: float
    support: Support
    readings: list[Reading]
    section_path: list[str]
    flags: list[str] = Field(description="repetition, single_variant, low_support, divergent.")
    divergences: list[Divergence]
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


class QueryResponse(BaseModel):
    question: str
    answer: Answer | None = None
    results: list[ClauseGroup]
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


class DocumentInfo(BaseModel):
    id: str
    title: str
    created_at: str
    variants: list[VariantInfo]


class JobInfo(BaseModel):
    id: str
    kind: str = Field(description="add, remove, move or reindex.")
    status: str = Field(description="queued, running, succeeded, failed or interrupted.")
    stage: str | None = Field(description="store, segment, collate, embed, index or publish.")
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


class JobList(BaseModel):
    jobs: list[JobInfo]


class MoveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: str = Field(description="The document id to move the variant to (created when new).")


class Health(BaseModel):
    status: str
    detail: str | None = None
    index: dict | None = None
