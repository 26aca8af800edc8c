"""The index holder refuses a damaged index and keeps serving the last good one."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from index.build import BuildConfig, build_index
from service.holder import IndexHolder
from tests.helpers import seed_document


def test_a_damaged_index_is_refused_and_the_previous_good_one_kept(
    tmp_path: Path, embedder, seed_variants, shared_cache, caplog: pytest.LogCaptureFixture
) -> None:
    config = BuildConfig(tmp_path / "index", shared_cache, "bundled:e5-small")
    good = build_index(config, [seed_document(seed_variants)], embedder, generation=1)
    holder = IndexHolder(config.index_dir, config.model, embedder)
    assert holder.reload().index.generation == 1

    damaged = build_index(config, [seed_document(seed_variants)], embedder, generation=2)
    (damaged.path / "vector_groups.npy").write_bytes(b"bit rot")
    with caplog.at_level(logging.ERROR, logger="concord"):
        assert holder.reload().index.generation == 1  # still serving what it had
    assert "vector_groups.npy is damaged" in caplog.text
    assert holder.fallback is not None and "generation 1" in holder.fallback

    # A fresh process (a restart) finds the published build damaged and falls back to the last good
    # build, says so, and asks for one rebuild (not one per reload while the refusal lasts).
    asked: list[str] = []
    restarted = IndexHolder(config.index_dir, config.model, embedder, on_refused=asked.append)
    searcher = restarted.reload()
    assert searcher is not None and searcher.index.path == good.path
    assert "damaged" in (restarted.error or "")
    assert restarted.fallback is not None and "because the published index was refused" in restarted.fallback
    restarted.reload()
    assert len(asked) == 1 and "vector_groups.npy is damaged" in asked[0]

    # The rebuild publishes a good build: served, no longer degraded; the damaged one is pruned and the
    # newest good one kept as the next fallback.
    mended = build_index(config, [seed_document(seed_variants)], embedder, generation=3)
    assert restarted.reload().index.generation == 3
    assert restarted.fallback is None and restarted.error is None
    builds = sorted(p.name for p in mended.path.parent.iterdir())
    assert builds == sorted([good.path.name, mended.path.name])


def test_readyz_reports_the_fallback_with_its_reason(
    tmp_path: Path, embedder, seed_variants, shared_cache
) -> None:
    from fastapi.testclient import TestClient

    from service.app import create_app
    from service.runtime import open_corpus
    from service.settings import Settings
    from tests.helpers import MODELS
    from tests.servers import LOCAL

    config = BuildConfig(tmp_path / "index", shared_cache, "bundled:e5-small")
    build_index(config, [seed_document(seed_variants)], embedder, generation=1)
    damaged = build_index(config, [seed_document(seed_variants)], embedder, generation=2)
    (damaged.path / "vectors.faiss").write_bytes(b"bit rot")
    settings = Settings(
        var_dir=tmp_path,
        index_dir=config.index_dir,
        models_dir=MODELS,
        cache_dir=shared_cache,
        seeds_dir=None,
        rate_limit_per_minute=0,
    )
    # Another process holds the rebuild lease, so the queued rebuild waits and the fallback stays visible.
    other = open_corpus(settings).db  # the corpus opened (and bootstrapped) first, as by that process
    assert other.acquire_lease(seconds=600)
    try:
        with TestClient(create_app(settings, embedder=embedder), client=LOCAL) as client:
            ready = client.get("/readyz").json()
            assert ready["status"] == "ready" and ready["degraded"] is True
            assert ready["index"]["generation"] == 1 and "vectors.faiss is damaged" in ready["detail"]
            jobs = client.get("/v1/jobs").json()["jobs"]
            assert [(j["kind"], j["status"]) for j in jobs if j["origin"] == "serve"] == [
                ("reindex", "queued")
            ]
    finally:
        other.release_lease()
