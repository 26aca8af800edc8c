"""Wiring shared by the server and the CLI: the corpus, the build settings and the job runner, from Settings."""

from __future__ import annotations

import time
from collections.abc import Callable

from index.build import BuildConfig, BuildReport
from index.embedding import Embedder
from index.extract.model import Extraction
from index.jobs.runner import JobRunner
from index.storage.corpus import Corpus
from index.storage.database import CorpusDatabase, DatabaseError
from service.settings import Settings

BOOTSTRAP_WAIT_SECONDS = 120.0


def build_config(settings: Settings) -> BuildConfig:
    return BuildConfig(
        index_dir=settings.resolved_index_dir,
        cache_dir=settings.resolved_cache_dir,
        model=settings.embedding_id,
        second_model=settings.second_model or None,
        vectors=settings.vector_config,
        max_clause_chars=settings.max_clause_chars,
    )


def open_corpus(settings: Settings) -> Corpus:
    """Open the corpus database and folder; the first time, load the seed folder into it (under the lease)."""
    corpus = Corpus(
        CorpusDatabase(settings.resolved_database_url), settings.resolved_corpus_dir, settings.trash_days
    )
    corpus.ensure_signatures()
    if corpus.db.get_meta("bootstrapped") is not None:
        return corpus
    deadline = time.monotonic() + BOOTSTRAP_WAIT_SECONDS
    while not corpus.db.acquire_lease():
        if time.monotonic() > deadline:
            raise DatabaseError(
                "another process holds the corpus lease and has not finished loading the seeds"
            )
        time.sleep(0.5)
    try:
        corpus.bootstrap(settings.seeds_dir, settings.max_variant_bytes)
    finally:
        corpus.db.release_lease()
    return corpus


def job_runner(
    settings: Settings,
    corpus: Corpus,
    embedder: Callable[[], Embedder],
    on_publish: Callable[[BuildReport], None] | None = None,
    on_rebuild: Callable[[float, bool], None] | None = None,
    on_progress: Callable[[str, int, int], None] | None = None,
    on_extract: Callable[[Extraction], None] | None = None,
) -> JobRunner:
    return JobRunner(
        corpus,
        build_config(settings),
        embedder,
        on_publish,
        on_rebuild,
        on_progress,
        extract_options=settings.extract_options,
        on_extract=on_extract,
    )
