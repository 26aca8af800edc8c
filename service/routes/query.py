"""POST /v1/query: the best-matching clause groups with their variant provenance."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool

from index.answer import CountAnswer
from index.search import Hit
from service.deps import SearcherDep, require_api_key
from service.models import Answer, ClauseGroup, QueryRequest, QueryResponse

router = APIRouter(prefix="/v1", tags=["query"], dependencies=[Depends(require_api_key)])


def _clause_group(rank: int, hit: Hit) -> ClauseGroup:
    group = hit.group
    return ClauseGroup.model_validate(
        {
            "rank": rank,
            "id": group.id,
            "text": group.canonical,
            "score": round(hit.score, 6),
            "support": vars(group.support),
            "readings": [
                {**vars(r), "copy_locations": [vars(loc) for loc in r.copy_locations]} for r in group.readings
            ],
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


@router.post("/query", response_model=QueryResponse)
async def query(request: QueryRequest, searcher: SearcherDep) -> QueryResponse:
    result = await run_in_threadpool(searcher.search, request.question, request.top_k)
    manifest = searcher.index.manifest
    return QueryResponse(
        question=request.question,
        answer=_answer(result.answer),
        results=[_clause_group(rank, hit) for rank, hit in enumerate(result.hits, 1)],
        index={"built_at": manifest["built_at"], "model": manifest["model"]},
    )
