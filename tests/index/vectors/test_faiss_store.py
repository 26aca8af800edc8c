"""The FAISS index structures: recall against exact search, persistence, the kind chosen by size."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index.vectors.base import EXACT_SEARCH_LIMIT, choose_kind
from index.vectors.faiss_store import FaissStore


@pytest.mark.parametrize("kind", ["flat", "ivf", "hnsw"])
def test_each_index_kind_finds_the_exact_neighbours_and_survives_a_reload(kind: str, tmp_path: Path) -> None:
    """Clustered vectors (as clause embeddings are); recall@10 against exact search, then save and load."""
    rng = np.random.default_rng(11)
    centres = rng.normal(size=(200, 32))
    vectors = (centres[rng.integers(0, 200, 20_000)] + rng.normal(0, 0.3, (20_000, 32))).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    queries = vectors[:50] + rng.normal(0, 0.05, (50, 32)).astype(np.float32)
    exact = FaissStore(32, kind="flat")
    exact.add(np.arange(20_000), vectors)
    store = FaissStore(32, 20_000, kind=kind)
    store.add(np.arange(20_000), vectors)
    truth, found = exact.search(queries, 10)[1], store.search(queries, 10)[1]
    recall = np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth, strict=True)])
    assert recall >= 0.95, recall
    store.save(tmp_path)
    assert np.array_equal(FaissStore.load(tmp_path).search(queries, 10)[1], found)


def test_the_index_kind_follows_the_collection_size() -> None:
    assert choose_kind(1_000) == "flat"
    assert choose_kind(EXACT_SEARCH_LIMIT) == "flat"
    assert choose_kind(EXACT_SEARCH_LIMIT + 1) == "hnsw"
    with pytest.raises(ValueError, match="available: flat, ivf, hnsw"):
        FaissStore(8, kind="annoy")
