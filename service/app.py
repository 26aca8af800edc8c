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

from index.jobs.inbox import InboxWatcher
from index.jobs.runner import JobWorker
from index.jobs.submit import Upload, submit_files
from index.retrieval.embedder import Embedder, SentenceTransformerEmbedder
from index.storage.database import Job
from service.holder import IndexHolder
from service.metrics import Metrics
from service.routes import documents, health, jobs, query
from service.runtime import job_runner, open_corpus
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
        corpus = await run_in_threadpool(open_corpus, settings)
        holder = IndexHolder(settings.resolved_index_dir, settings.model, model)
        app.state.holder = holder
        app.state.corpus = corpus
        metrics = app.state.metrics
        metrics.database = corpus.db
        runner = job_runner(
            settings,
            corpus,
            lambda: model,
            on_publish=lambda _report: holder.reload(),
            on_rebuild=metrics.rebuild_finished,
        )
        worker = JobWorker(runner, settings.job_poll_interval)
        app.state.worker = worker
        await run_in_threadpool(holder.reload)
        worker.start()
        inbox = None
        if settings.watch_dir is not None:

            def submit(upload: Upload, origin: str) -> Job:
                job = submit_files(
                    corpus,
                    [upload],
                    None,
                    origin,
                    origin,
                    settings.max_variant_bytes,
                    settings.max_files_per_upload,
                )
                worker.wake()
                return job

            inbox = InboxWatcher(settings.watch_dir, corpus.db, submit, settings.watch_interval)
            inbox.start()
            log.info("watching %s for new variants", settings.watch_dir)
        follower = (
            asyncio.create_task(_follow(holder, settings.reload_interval))
            if settings.reload_interval
            else None
        )
        yield
        if follower is not None:
            follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await follower
        if inbox is not None:
            await run_in_threadpool(inbox.stop)
        await run_in_threadpool(worker.stop)

    app = FastAPI(
        title="concord",
        summary="Questions over variant transcriptions, answered with source passages and variant provenance.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.api_keys = settings.api_key_values()
    app.state.admin_keys = settings.admin_key_values()
    app.state.metrics = Metrics(lambda: getattr(app.state, "holder", None))
    app.middleware("http")(app.state.metrics.middleware)
    app.include_router(health.router)
    app.include_router(query.router)
    app.include_router(documents.router)
    app.include_router(jobs.router)

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


async def _follow(holder: IndexHolder, interval: float) -> None:
    """Swap in an index another process published (`concord add`, `concord build`, another replica)."""
    while True:
        await asyncio.sleep(interval)
        if holder.published_changed():
            await run_in_threadpool(holder.reload)


def _jsonable(errors: object) -> object:
    return jsonable_encoder(errors, custom_encoder={bytes: lambda b: b.decode("utf-8", "replace")})
