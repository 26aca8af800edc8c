"""The embedded default: FAISS inside the service process, saved as files in each build folder."""

from __future__ import annotations

import json
from collections.abc import Collection
from pathlib import Path
from typing import Any

import numpy as np

from index.vectors.base import VectorBatch, VectorConfig, VectorStore, choose_kind

# These reach recall@10 >= 0.99 against exact search at 10k, 100k and 1M vectors derived from
# real clause embeddings (scripts/bench_scale.py).
HNSW_NEIGHBOURS = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 96
IVF_PROBES = 32
KINDS = ("flat", "ivf", "hnsw")


def index_spec(kind: str, size: int) -> str:
    """A short description of the index a kind builds at a size, for reports."""
    if kind == "hnsw":
        return f"HNSW M={HNSW_NEIGHBOURS} efConstruction={HNSW_EF_CONSTRUCTION} efSearch={HNSW_EF_SEARCH}"
    if kind == "ivf":
        return f"IVF nlist={ivf_lists(size)} nprobe={IVF_PROBES}"
    return "flat (exact)"


def ivf_lists(size: int) -> int:
    """4·√N lists, but at least 39 vectors a list (fewer leave k-means centroids untrained)."""
    return max(1, min(int(4 * np.sqrt(max(size, 1))), size // 39))


class FaissStore:
    """Inner product over L2-normalised vectors (cosine). Flat for small corpora, HNSW for large ones."""

    file_name = "vectors.faiss"
    documents_file = "vector_documents.json"

    def __init__(
        self,
        dimension: int,
        expected_size: int = 0,
        index: object | None = None,
        kind: str | None = None,
        training: np.ndarray | None = None,
        documents: dict[int, str] | None = None,
    ) -> None:
        """A new index of `kind` (default: chosen by `expected_size`), or a loaded `index`. An IVF index
        is trained on `training` when given, else on the first vectors added."""
        self.dimension = dimension
        if index is None:
            index = _new_index(dimension, kind or choose_kind(expected_size), expected_size)
            if training is not None and not index.is_trained:
                index.train(np.ascontiguousarray(training, np.float32))
        self._index: Any = index
        self._documents: dict[int, str] = dict(documents or {})  # id -> document

    @property
    def kind(self) -> str:
        import faiss

        inner = self._index.index if isinstance(self._index, faiss.IndexIDMap2) else self._index
        return type(faiss.downcast_index(inner)).__name__

    @property
    def short_kind(self) -> str:
        return {"IndexFlatIP": "flat", "IndexIVFFlat": "ivf", "IndexHNSWFlat": "hnsw"}[self.kind]

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add rows without a payload (benchmarks and tests of the index structures)."""
        vectors = np.ascontiguousarray(vectors, np.float32)
        if not self._index.is_trained:
            self._index.train(vectors)
        self._index.add_with_ids(vectors, np.asarray(ids, np.int64))

    def upsert(self, batch: VectorBatch) -> None:
        ids = np.asarray(batch.ids, np.int64)
        present = [int(i) for i in ids if int(i) in self._documents]
        if present:
            self._remove(present)
        self.add(ids, batch.vectors)
        self._documents.update(zip(ids.tolist(), batch.documents, strict=True))

    def delete_documents(self, documents: Collection[str]) -> int:
        wanted = set(documents)
        ids = [i for i, document in self._documents.items() if document in wanted]
        if ids:
            self._remove(ids)
        return len(ids)

    def _remove(self, ids: list[int]) -> None:
        import faiss

        if self.short_kind == "hnsw":
            # An HNSW graph cannot drop nodes: rebuild it from the vectors it keeps.
            gone = set(ids)
            keep = np.array([i for i in self._documents if i not in gone], np.int64)
            vectors = np.vstack([self._index.reconstruct(int(i)) for i in keep]) if len(keep) else None
            self._index = _new_index(self.dimension, "hnsw", len(keep))
            if vectors is not None:
                self._index.add_with_ids(vectors, keep)
        else:
            self._index.remove_ids(faiss.IDSelectorBatch(np.asarray(ids, np.int64)))
        for i in ids:
            self._documents.pop(i, None)

    def search(
        self, queries: np.ndarray, k: int, documents: Collection[str] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        import faiss

        if len(queries) == 1:
            # One question gains nothing from OpenMP threads, and their spin-wait after the
            # search steals the cores from the next forward pass (measured: the embedding took
            # 11 ms instead of 5). The setting is per calling thread; builds keep theirs.
            faiss.omp_set_num_threads(1)
        queries = np.ascontiguousarray(queries, np.float32)
        k = max(1, min(k, self.count()))
        if documents is None:
            return self._index.search(queries, k)
        wanted = set(documents)
        allowed = np.array([i for i, d in self._documents.items() if d in wanted], np.int64)
        if not len(allowed):
            empty = (len(queries), k)
            return np.full(empty, -np.inf, np.float32), np.full(empty, -1, np.int64)
        return self._index.search(queries, k, params=self._parameters(faiss.IDSelectorBatch(allowed)))

    def _parameters(self, selector: Any) -> Any:
        import faiss

        kind = self.short_kind
        if kind == "hnsw":
            return faiss.SearchParametersHNSW(sel=selector, efSearch=HNSW_EF_SEARCH)
        if kind == "ivf":
            return faiss.SearchParametersIVF(sel=selector, nprobe=IVF_PROBES)
        return faiss.SearchParameters(sel=selector)

    def count(self) -> int:
        return int(self._index.ntotal)

    def describe(self) -> dict[str, Any]:
        return {"backend": "faiss", "index_type": self.short_kind, "vectors": self.count()}

    def save(self, path: Path) -> None:
        import faiss

        faiss.write_index(self._index, str(path / self.file_name))
        by_document: dict[str, list[int]] = {}
        for i, document in self._documents.items():
            by_document.setdefault(document, []).append(i)
        text = json.dumps(by_document, ensure_ascii=False)
        (path / self.documents_file).write_text(text, encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> FaissStore:
        import faiss

        index = faiss.read_index(str(path / cls.file_name))
        documents: dict[int, str] = {}
        if (path / cls.documents_file).exists():
            by_document = json.loads((path / cls.documents_file).read_text(encoding="utf-8"))
            documents = {i: document for document, ids in by_document.items() for i in ids}
        return cls(index.d, index=index, documents=documents)


def _new_index(dimension: int, kind: str, expected_size: int) -> Any:
    import faiss

    if kind == "flat":
        return faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))
    if kind == "hnsw":
        inner = faiss.IndexHNSWFlat(dimension, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
        inner.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        inner.hnsw.efSearch = HNSW_EF_SEARCH
        return faiss.IndexIDMap2(inner)
    if kind == "ivf":
        # An IVF index keeps ids itself; under an id map its removals would renumber the map wrongly.
        quantizer = faiss.IndexFlatIP(dimension)
        inner = faiss.IndexIVFFlat(quantizer, dimension, ivf_lists(expected_size), faiss.METRIC_INNER_PRODUCT)
        inner.nprobe = IVF_PROBES
        return inner
    raise ValueError(f"unknown FAISS index kind {kind!r}; available: {', '.join(KINDS)}")


class FaissBackend:
    """Stores live in the build folders; the folder's published link is the switch."""

    name = "faiss"

    def __init__(self, config: VectorConfig) -> None:
        self.index_type = config.index_type

    def check(self, dimension: int | None = None) -> None:
        return None

    def create(self, dimension: int, expected_size: int) -> FaissStore:
        kind = None if self.index_type == "auto" else self.index_type
        return FaissStore(dimension, expected_size, kind=kind)

    def live(self, dimension: int, expected_size: int) -> None:
        # Each build's index is its own file, filled from the embedding cache in milliseconds.
        return None

    def open(self, path: Path) -> FaissStore:
        return FaissStore.load(path)

    def publish(self, store: VectorStore) -> None:
        return None

    def prune(self, keep: VectorStore) -> None:
        return None

    def discard(self, store: VectorStore) -> None:
        return None
