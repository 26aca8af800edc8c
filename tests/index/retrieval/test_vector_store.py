"""One contract, run against every vector-store configuration."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index.retrieval.vector_store import EXACT_SEARCH_LIMIT, FaissStore, create_store, load_store


@pytest.mark.parametrize(
    ("backend", "size_hint", "kind"),
    [
        ("faiss", 100, "IndexFlatIP"),
        ("faiss", EXACT_SEARCH_LIMIT + 1, "IndexHNSWFlat"),
    ],
)
def test_store_contract(backend: str, size_hint: int, kind: str, tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(200, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = np.arange(1000, 1200, dtype=np.int64)
    store = create_store(backend, 16, size_hint)
    assert isinstance(store, FaissStore) and store.kind == kind
    store.add(ids, vectors)
    assert store.count() == 200
    scores, found = store.search(vectors[[5, 17]], 3)
    assert found[:, 0].tolist() == [1005, 1017]
    assert np.allclose(scores[:, 0], 1.0, atol=1e-4)
    store.save(tmp_path)
    again = load_store(backend, tmp_path)
    assert again.search(vectors[[42]], 1)[1][0, 0] == 1042


def test_unknown_backend_names_the_ones_available() -> None:
    with pytest.raises(ValueError, match="available: faiss"):
        create_store("qdrant", 4, 1)


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
    from index.retrieval.vector_store import choose_kind

    assert choose_kind(1_000) == "flat"
    assert choose_kind(EXACT_SEARCH_LIMIT) == "flat"
    assert choose_kind(EXACT_SEARCH_LIMIT + 1) == "hnsw"
    with pytest.raises(ValueError, match="available: flat, ivf, hnsw"):
        FaissStore(8, kind="annoy")
