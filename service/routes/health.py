"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from service.deps import HolderDep
from service.models import Health

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
def healthz() -> Health:
    return Health(status="ok")


@router.get("/readyz", response_model=Health, responses={503: {"model": Health}})
def readyz(holder: HolderDep) -> Health | JSONResponse:
    searcher = holder.searcher
    if searcher is None:
        body = Health(status="not ready", detail=holder.error or "the index is still loading")
        return JSONResponse(status_code=503, content=body.model_dump())
    manifest = searcher.index.manifest
    return Health(
        status="ready",
        index={
            "generation": searcher.index.generation,
            "built_at": manifest["built_at"],
            "model": manifest["model"],
            **manifest["counts"],
        },
    )
