"""POST /v1/query: the best-matching clause groups with their variant provenance."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response, status
from starlette.concurrency import run_in_threadpool

from index.corpus.model import ClauseGroup, Reading
from index.published import LoadedIndex
from index.query import Hit
from index.query.answer import CountAnswer
from service.deps import SearcherDep, require_ask
from service.errors import ApiError
from service.models import Answer, ClauseGroupOut, QueryRequest, QueryResponse

router = APIRouter(prefix="/v1", tags=["query"], dependencies=[Depends(require_ask)])
UNKNOWN_NAMED = 5  # an error names this many unknown ids, then counts the rest


def _reading(reading: Reading, document: str, index: LoadedIndex) -> dict:
    """A reading with its file, and for one extracted from a paged or structured file, where it lies there."""
    extraction = index.extractions.get((document, reading.variant))
    located = {}
    if extraction is not None:
        located = {
            "source": index.sources[(document, reading.variant)],
            "pages": [vars(span) for span in extraction.locate(reading.char_start, reading.char_end)],
            "blocks": extraction.where(reading.char_start, reading.char_end),
        }
    return {
        **vars(reading),
        "file": index.files.get((document, reading.variant), ""),
        "copy_locations": [vars(loc) for loc in reading.copy_locations],
        **located,
    }


def _support(group: ClauseGroup, index: LoadedIndex) -> dict:
    """The group's support, naming the supporting variants that are OCR readings (weaker witnesses)."""
    read = {v: index.sources.get((group.document, v)) for v in group.support.variants}
    return {
        **vars(group.support),
        "ocr": [v for v, source in read.items() if source is not None and source["ocr"]],
        "low_confidence": [
            v for v, source in read.items() if source is not None and source["low_confidence"]
        ],
    }


def _clause_group(rank: int, hit: Hit, index: LoadedIndex) -> ClauseGroupOut:
    group = hit.group
    return ClauseGroupOut.model_validate(
        {
            "rank": rank,
            "id": group.id,
            "document": {"id": group.document, "title": index.titles.get(group.document, "")},
            "text": group.canonical,
            "score": round(hit.score, 6),
            "support": _support(group, index),
            "readings": [_reading(r, group.document, index) for r in group.readings],
            "section_path": list(group.section_path),
            "flags": group.flags,
            "divergences": [vars(d) for d in group.divergences],
            "repetition": group.repetition,
        }
    )


def _answer(answer: CountAnswer | None) -> Answer | None:
    if answer is None:
        return None
    return Answer.model_validate({**vars(answer), "agreed": answer.agreed, "summary": answer.summary})


@router.post("/query", response_model=QueryResponse, responses={404: {}, 503: {}})
async def query(request: QueryRequest, searcher: SearcherDep) -> Response:
    # `searcher` was taken once for this request: a swap meanwhile does not change what answers it.
    titles = searcher.index.titles
    if request.documents is not None:
        unknown = sorted(set(request.documents) - set(titles))
        if unknown:
            named = ", ".join(repr(d[:80]) for d in unknown[:UNKNOWN_NAMED])
            more = f" and {len(unknown) - UNKNOWN_NAMED} more" if len(unknown) > UNKNOWN_NAMED else ""
            raise ApiError(
                status.HTTP_404_NOT_FOUND,
                f"documents: unknown document id(s) {named}{more}; GET /v1/documents lists them",
                "unknown_document",
            )
    result = await run_in_threadpool(searcher.search, request.question, request.top_k, request.documents)
    manifest = searcher.index.manifest
    answer = QueryResponse(
        question=request.question,
        answerable=result.answerable,
        confidence=round(result.confidence, 4),
        answer=_answer(result.answer),
        results=[_clause_group(rank, hit, searcher.index) for rank, hit in enumerate(result.hits, 1)],
        index={
            "generation": searcher.index.generation,
            "built_at": manifest.built_at,
            "model": manifest.model,
        },
    )
    # Validated once, above, and serialised by pydantic's own JSON encoder: returning the model would
    # have FastAPI dump it to a dict and validate it all again (a fifth of a request's CPU, measured).
    return Response(answer.model_dump_json(by_alias=True), media_type="application/json")
