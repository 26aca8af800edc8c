"""Vector stores with explicit integer ids: one interface, FAISS behind it, chosen by name."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np

# Up to this many vectors an exact inner-product scan is both fastest and exact;
# beyond it an HNSW graph keeps queries sub-linear.
EXACT_SEARCH_LIMIT = 50_000


class VectorStore(Protocol):
    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None: ...
    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids) of the k nearest rows for each query row; missing slots have id -1."""
        ...

    def count(self) -> int: ...
    def save(self, path: Path) -> None: ...


class FaissStore:
    """Inner product over L2-normalised vectors (cosine). Flat for small corpora, HNSW for large ones."""

    file_name = "vectors.faiss"

    def __init__(self, dimension: int, expected_size: int = 0, index: object | None = None) -> None:
        import faiss

        self.dimension = dimension
        if index is None:
            if expected_size <= EXACT_SEARCH_LIMIT:
                inner = faiss.IndexFlatIP(dimension)
            else:
                inner = faiss.IndexHNSWFlat(dimension, 32, faiss.METRIC_INNER_PRODUCT)
            index = faiss.IndexIDMap2(inner)
        self._index = index

    @property
    def kind(self) -> str:
        import faiss

        return type(faiss.downcast_index(self._index.index)).__name__

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        self._index.add_with_ids(np.ascontiguousarray(vectors, np.float32), np.asarray(ids, np.int64))

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        import faiss

        if len(query) == 1:
            # One question gains nothing from OpenMP threads, and their spin-wait after the
            # search steals the cores from the next forward pass (measured: the embedding took
            # 11 ms instead of 5). The setting is per calling thread; builds keep theirs.
            faiss.omp_set_num_threads(1)
        k = max(1, min(k, self.count()))
        return self._index.search(np.ascontiguousarray(query, np.float32), k)

    def count(self) -> int:
        return int(self._index.ntotal)

    def save(self, path: Path) -> None:
        import faiss

        faiss.write_index(self._index, str(path / self.file_name))

    @classmethod
    def load(cls, path: Path) -> FaissStore:
        import faiss

        index = faiss.read_index(str(path / cls.file_name))
        return cls(index.d, index=index)


def create_store(backend: str, dimension: int, expected_size: int) -> VectorStore:
    """The store for a backend name; an unknown name says which ones exist."""
    if backend == "faiss":
        return FaissStore(dimension, expected_size)
    raise ValueError(f"unknown vector store backend {backend!r}; available: faiss")


def load_store(backend: str, path: Path) -> VectorStore:
    if backend == "faiss":
        return FaissStore.load(path)
    raise ValueError(f"unknown vector store backend {backend!r}; available: faiss")
