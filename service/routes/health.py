"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from service.deps import HolderDep
from service.errors import error_response
from service.models import Health

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
def healthz() -> Health:
    return Health(status="ok")


@router.get("/readyz", response_model=Health, responses={503: {}})
def readyz(request: Request, holder: HolderDep) -> Health | JSONResponse:
    """200 while an index is served; `degraded` (with the reason in `detail`) when it is a fallback
    for a published build that was refused, which a queued rebuild replaces. 503 while none is."""
    searcher = holder.searcher
    if searcher is None:
        return error_response(request, 503, f"not ready: {holder.error or 'the index is still loading'}")
    manifest = searcher.index.manifest
    return Health(
        status="ready",
        degraded=holder.fallback is not None,
        detail=holder.fallback,
        index={
            "generation": searcher.index.generation,
            "built_at": manifest.built_at,
            "model": manifest.model,
            "vector_store": manifest.store,
            **vars(manifest.counts),
        },
    )
