"""The app factory: `create_app(settings)` builds the FastAPI app; its lifespan loads the index once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from index.jobs.inbox import InboxWatcher
from index.jobs.runner import JobWorker
from index.jobs.submit import Upload, submit_files
from index.retrieval.batching import BatchingEmbedder
from index.retrieval.embedder import Embedder, load_embedder
from index.storage.database import Job
from service.auth import KeyRing, RateLimiter
from service.context import REQUEST_ID_HEADER, RequestContextMiddleware
from service.errors import install_error_handlers
from service.holder import IndexHolder
from service.metrics import Metrics
from service.openapi import install_openapi
from service.routes import documents, health, jobs, query, widget
from service.runtime import job_runner, open_corpus
from service.settings import Settings

log = logging.getLogger("concord")
_DESCRIPTION = """\
Ask a question (`POST /v1/query`) and get source passages: clause groups, each with the reading of
every variant that carries it, exact file spans, support counts and divergences.

**Keys.** Send `Authorization: Bearer <key>`. `query` keys ask and read, `admin` keys also change the
corpus, publishable `widget` keys only ask, and only from the sites they were issued for. A service
started without keys is open to its own machine only (and then this schema declares no security).

**Errors** all have one shape: `{"error": {"code", "message", "request_id"}, "detail": message}`.
Every response carries `X-Request-ID` (yours, when you send one), which also tags the log lines.
"""


def create_app(settings: Settings, embedder: Embedder | None = None) -> FastAPI:
    """Build the app. The embedder is loaded in the lifespan unless one is passed in (tests share one)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        loaded = embedder or await run_in_threadpool(
            load_embedder,
            settings.embedding_backend,
            settings.model,
            settings.resolved_models_dir,
            settings.embedding_threads,
        )
        # Concurrent questions share forward passes; builds call the model directly.
        model = BatchingEmbedder(loaded, settings.query_batch, settings.query_workers)
        corpus = await run_in_threadpool(open_corpus, settings)
        holder = IndexHolder(settings.resolved_index_dir, settings.embedding_id, model)
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
        if app.state.keys.open:
            log.warning(
                "no API keys configured: the API is open and answers clients on this machine only; "
                "set CONCORD_API_KEYS / CONCORD_ADMIN_API_KEYS / CONCORD_WIDGET_KEYS to serve others"
            )
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
        model.close()

    app = FastAPI(
        title="concord",
        summary="Questions over variant transcriptions, answered with source passages and variant provenance.",
        description=_DESCRIPTION,
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.keys = KeyRing(
        settings.api_key_values(), settings.admin_key_values(), settings.widget_key_values()
    )
    app.state.rate_limiter = RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst)
    app.state.metrics = Metrics(lambda: getattr(app.state, "holder", None))
    # Added innermost first: the request context wraps everything, CORS answers preflights inside it.
    app.add_middleware(app.state.metrics.middleware)
    origins = sorted(set(settings.cors_origins) | app.state.keys.widget_origins)
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", REQUEST_ID_HEADER],
            expose_headers=[REQUEST_ID_HEADER, "Retry-After"],
            max_age=600,
        )
    app.add_middleware(RequestContextMiddleware)
    install_error_handlers(app)
    install_openapi(app, open_mode=app.state.keys.open)
    app.include_router(health.router)
    app.include_router(query.router)
    app.include_router(documents.router)
    app.include_router(jobs.router)
    app.include_router(widget.router)
    app.mount("/-/static", StaticFiles(directory=widget.STATIC_DIR), name="static")
    return app


async def _follow(holder: IndexHolder, interval: float) -> None:
    """Swap in an index another process published (`concord add`, `concord build`, another replica)."""
    while True:
        await asyncio.sleep(interval)
        if holder.published_changed():
            await run_in_threadpool(holder.reload)
