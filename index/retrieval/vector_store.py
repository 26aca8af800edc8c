"""Vector stores with explicit integer ids: one interface, FAISS behind it, chosen by name."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np

# Up to this many vectors an exact inner-product scan is instant to build and exact (a question
# takes about 0.6 ms at 10k vectors and 10 ms at 100k on one core); beyond it an HNSW graph keeps
# queries under a millisecond. The parameters below reach recall@10 >= 0.99 against exact search at
# 10k and 100k vectors derived from real clause embeddings (scripts/bench_scale.py); 1M is not yet
# measured.
EXACT_SEARCH_LIMIT = 50_000
HNSW_NEIGHBOURS = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 96
IVF_PROBES = 32


def choose_kind(expected_size: int) -> str:
    """The index type for a collection of this many vectors."""
    return "flat" if expected_size <= EXACT_SEARCH_LIMIT else "hnsw"


def index_spec(kind: str, size: int) -> str:
    """A short description of the index a kind builds at a size, for reports."""
    if kind == "hnsw":
        return f"HNSW M={HNSW_NEIGHBOURS} efConstruction={HNSW_EF_CONSTRUCTION} efSearch={HNSW_EF_SEARCH}"
    if kind == "ivf":
        return f"IVF nlist={_ivf_lists(size)} nprobe={IVF_PROBES}"
    return "flat (exact)"


def _ivf_lists(size: int) -> int:
    return max(16, int(4 * np.sqrt(max(size, 1))))


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

    def __init__(
        self,
        dimension: int,
        expected_size: int = 0,
        index: object | None = None,
        kind: str | None = None,
        training: np.ndarray | None = None,
    ) -> None:
        """A new index of `kind` (default: chosen by `expected_size`), or a loaded `index`. An IVF index
        is trained on `training` when given, else on the first vectors added."""
        import faiss

        self.dimension = dimension
        if index is None:
            kind = kind or choose_kind(expected_size)
            if kind == "flat":
                inner = faiss.IndexFlatIP(dimension)
            elif kind == "hnsw":
                inner = faiss.IndexHNSWFlat(dimension, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
                inner.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
                inner.hnsw.efSearch = HNSW_EF_SEARCH
            elif kind == "ivf":
                quantizer = faiss.IndexFlatIP(dimension)
                inner = faiss.IndexIVFFlat(
                    quantizer, dimension, _ivf_lists(expected_size), faiss.METRIC_INNER_PRODUCT
                )
                inner.nprobe = IVF_PROBES
                if training is not None:
                    inner.train(np.ascontiguousarray(training, np.float32))
            else:
                raise ValueError(f"unknown FAISS index kind {kind!r}; available: flat, ivf, hnsw")
            index = faiss.IndexIDMap2(inner)
        self._index = index

    @property
    def kind(self) -> str:
        import faiss

        return type(faiss.downcast_index(self._index.index)).__name__

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        vectors = np.ascontiguousarray(vectors, np.float32)
        if not self._index.is_trained:
            self._index.train(vectors)
        self._index.add_with_ids(vectors, np.asarray(ids, np.int64))

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
