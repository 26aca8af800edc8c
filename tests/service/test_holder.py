"""The index holder refuses a damaged index and keeps serving the last good one."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from index.build import BuildConfig, build_index
from service.holder import IndexHolder
from tests.conftest import seed_document


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
    assert "vector_groups.npy is missing or damaged" in caplog.text

    # A fresh process (a restart) finds the published build damaged and falls back to the last good build.
    restarted = IndexHolder(config.index_dir, config.model, embedder)
    searcher = restarted.reload()
    assert searcher is not None and searcher.index.path == good.path
    assert "damaged" in (restarted.error or "")
