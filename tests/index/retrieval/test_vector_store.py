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
