"""The app factory: `create_app(settings)` builds the FastAPI app; its lifespan loads the index once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from index.embedder import Embedder, SentenceTransformerEmbedder
from service.holder import IndexHolder
from service.routes import health, query
from service.settings import Settings

log = logging.getLogger("concord")
_BODY_HINT = 'send a UTF-8 JSON object such as {"question": "…", "top_k": 5}'


def create_app(settings: Settings, embedder: Embedder | None = None) -> FastAPI:
    """Build the app. The embedder is loaded in the lifespan unless one is passed in (tests share one)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        model = embedder or await run_in_threadpool(
            SentenceTransformerEmbedder, settings.model, settings.resolved_models_dir
        )
        holder = IndexHolder(settings.resolved_index_dir, settings.model, model)
        app.state.holder = holder
        await run_in_threadpool(holder.reload)
        watcher = (
            asyncio.create_task(_watch(holder, settings.reload_interval))
            if settings.reload_interval
            else None
        )
        yield
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

    app = FastAPI(
        title="concord",
        summary="Questions over variant transcriptions, answered with source passages and variant provenance.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.api_keys = settings.api_key_values()
    app.include_router(health.router)
    app.include_router(query.router)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for error in exc.errors():
            if error.get("type") == "json_invalid":
                reason = (error.get("ctx") or {}).get("error", "")
                problems.append(f"the body is not valid JSON ({reason}); {_BODY_HINT}")
                continue
            where = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "body"
            message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
            problems.append(f"{where}: {message}")
        return JSONResponse(
            status_code=422,
            content={"detail": "; ".join(problems) or "invalid request", "errors": _jsonable(exc.errors())},
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail
        if exc.status_code == 400 and detail == "There was an error parsing the body":
            detail = f"the body could not be read (it is not UTF-8 text); {_BODY_HINT}"
        return JSONResponse(status_code=exc.status_code, content={"detail": detail}, headers=exc.headers)

    return app


async def _watch(holder: IndexHolder, interval: float) -> None:
    """Swap in a newly published index: `concord build` flips the link, the service follows."""
    while True:
        await asyncio.sleep(interval)
        if holder.published_changed():
            await run_in_threadpool(holder.reload)


def _jsonable(errors: object) -> object:
    return jsonable_encoder(errors, custom_encoder={bytes: lambda b: b.decode("utf-8", "replace")})
