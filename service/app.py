"""The app factory: `create_app(settings)` builds the FastAPI app; its lifespan loads the index once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from index.embedding import Embedder, load_embedder
from index.embedding.batching import BatchingEmbedder
from index.errors import Unavailable
from index.jobs.inbox import InboxWatcher
from index.jobs.runner import JobWorker
from index.jobs.submit import Upload, submit_files, submit_reindex
from index.storage.corpus import Corpus
from index.storage.database import Job
from index.vectors import open_backend
from service.auth import KeyRing, RateLimiter
from service.context import REQUEST_ID_HEADER, RequestContextMiddleware
from service.errors import install_error_handlers
from service.holder import IndexHolder
from service.limits import BodyLimitMiddleware
from service.metrics import Metrics
from service.openapi import install_openapi
from service.routes import documents, health, jobs, query, trash, widget
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
        holder = IndexHolder(
            settings.resolved_index_dir, settings.embedding_id, model, settings.vector_config
        )
        app.state.holder = holder
        app.state.corpus = None
        app.state.worker = None
        if app.state.keys.open:
            log.warning(
                "no API keys configured: the API is open and answers clients on this machine only; "
                "set CONCORD_API_KEYS / CONCORD_ADMIN_API_KEYS / CONCORD_WIDGET_KEYS to serve others"
            )
        running = _Running()
        connecting = None
        if not await _connect(app, settings, holder, model, running):
            # Not ready until the database and the vector store answer: /readyz says why, queries get
            # 503, and the connection is tried again until it works.
            connecting = asyncio.create_task(_keep_connecting(app, settings, holder, model, running))
        yield
        for task in (connecting, running.follower):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if running.inbox is not None:
            await run_in_threadpool(running.inbox.stop)
        if running.worker is not None:
            await run_in_threadpool(running.worker.stop)
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
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_query_bytes)
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
    install_openapi(
        app, open_mode=app.state.keys.open, limits=lambda schema: _declare_limits(schema, settings)
    )
    app.include_router(health.router)
    app.include_router(query.router)
    app.include_router(documents.router)
    app.include_router(jobs.router)
    app.include_router(trash.router)
    app.include_router(widget.router)
    app.mount("/-/static", StaticFiles(directory=widget.STATIC_DIR), name="static")
    return app


@dataclass
class _Running:
    """What the lifespan started and stops at shutdown."""

    worker: JobWorker | None = None
    inbox: InboxWatcher | None = None
    follower: asyncio.Task | None = None


CONNECT_RETRY_SECONDS = 5.0


def _declare_limits(schema: dict, settings: Settings) -> None:
    """The upload's schema with this service's file limits, so a request the schema calls valid is taken."""
    upload = schema["paths"]["/v1/documents"]["post"]
    upload["requestBody"] = documents.upload_body(settings.max_files_per_upload, settings.max_variant_bytes)


async def _connect(
    app: FastAPI, settings: Settings, holder: IndexHolder, model: Embedder, running: _Running
) -> bool:
    """Open the corpus database and the vector store, load the index and start the job worker.

    A database or vector store that cannot be used leaves the service not ready (its message,
    naming the setting to fix, in /readyz and the log) and returns False.
    """
    try:
        corpus = await run_in_threadpool(_open_stores, settings, model)
    except Unavailable as exc:
        holder.error = str(exc)
        log.error("not ready: %s", exc)
        return False
    app.state.corpus = corpus
    app.state.metrics.database = corpus.db
    runner = job_runner(
        settings,
        corpus,
        lambda: model,
        on_publish=lambda _report: holder.reload(),
        on_rebuild=app.state.metrics.rebuild_finished,
        on_extract=app.state.metrics.extracted,
    )
    worker = JobWorker(runner, settings.job_poll_interval)

    def rebuild(reason: str) -> None:
        # Nothing servable, or a fallback served in place of a refused build (damaged, another model;
        # or a vector store with no build of ours): build one, unless queued work will anyway.
        if not corpus.db.has_work():
            job = submit_reindex(corpus, "serve", "serve")
            log.warning("the published index is not usable (%s): rebuilding it as job %s", reason, job.id)
        worker.wake()

    holder.on_refused = rebuild
    await run_in_threadpool(holder.reload)
    worker.start()
    running.worker = worker
    app.state.worker = worker
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
                options=settings.extract_options,
                max_file_bytes=settings.max_file_bytes,
            )
            worker.wake()
            return job

        running.inbox = InboxWatcher(settings.watch_dir, corpus.db, submit, settings.watch_interval)
        running.inbox.start()
        log.info("watching %s for new variants", settings.watch_dir)
    if settings.reload_interval:
        running.follower = asyncio.create_task(_follow(holder, settings.reload_interval))
    return True


def _open_stores(settings: Settings, model: Embedder) -> Corpus:
    open_backend(settings.vector_config).check(model.dimension)
    return open_corpus(settings)


async def _keep_connecting(
    app: FastAPI, settings: Settings, holder: IndexHolder, model: Embedder, running: _Running
) -> None:
    while not await _connect(app, settings, holder, model, running):
        await asyncio.sleep(CONNECT_RETRY_SECONDS)
    log.info("connected: the database and the vector store answer")


async def _follow(holder: IndexHolder, interval: float) -> None:
    """Swap in an index another process published (`concord add`, `concord build`, another replica)."""
    while True:
        await asyncio.sleep(interval)
        if holder.published_changed():
            await run_in_threadpool(holder.reload)
