"""The vector-store contract every backend keeps, and the settings that pick one.

A build creates a store, fills it, saves a reference to it in the build folder
and publishes it; a server opens the store a build saved. Stores hold clause-group
vectors under integer ids with a small payload (document, clause group, text),
answer top-k searches optionally within some documents, and delete by document.
Nothing above this interface knows which backend runs.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from index.errors import Unavailable

BackendName = Literal["faiss", "milvus"]
IndexType = Literal["auto", "flat", "ivf", "hnsw"]
BACKENDS: tuple[str, ...] = ("faiss", "milvus")

# Up to this many vectors an exact scan is instant to build and exact (a question takes
# about 0.6 ms at 10k vectors and 10 ms at 100k on one core); beyond it an HNSW graph keeps
# queries under a millisecond (scripts/bench_scale.py has the figures).
EXACT_SEARCH_LIMIT = 50_000


def choose_kind(expected_size: int) -> str:
    """The index type for a collection of this many vectors."""
    return "flat" if expected_size <= EXACT_SEARCH_LIMIT else "hnsw"


class VectorStoreUnavailable(Unavailable, RuntimeError):
    """The vector store cannot be reached or refused us; the message names the setting to check."""


@dataclass(frozen=True)
class VectorConfig:
    """Which vector store a build writes to and a server reads from."""

    backend: BackendName = "faiss"
    index_type: IndexType = "auto"
    uri: str = ""  # milvus: a server URL (http://host:19530) or a milvus-lite file path
    token: str = field(default="", repr=False)  # never printed: it is a credential
    collection: str = "concord"  # milvus: the alias naming the live collection

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(
                f"unknown vector store backend {self.backend!r}; available: {', '.join(BACKENDS)}"
            )


EMBEDDED = VectorConfig()  # FAISS in the process: the default


@dataclass(frozen=True)
class VectorBatch:
    """Clause-group vectors to store: one row per id, with the payload a backend may filter on."""

    ids: np.ndarray  # int64
    vectors: np.ndarray  # float32, L2-normalised
    documents: list[str]
    groups: list[str]
    texts: list[str]

    def take(self, rows: list[int]) -> VectorBatch:
        """The batch of only these rows."""
        return VectorBatch(
            ids=self.ids[rows],
            vectors=self.vectors[rows],
            documents=[self.documents[i] for i in rows],
            groups=[self.groups[i] for i in rows],
            texts=[self.texts[i] for i in rows],
        )

    def __post_init__(self) -> None:
        rows = len(self.ids)
        if not (len(self.vectors) == len(self.documents) == len(self.groups) == len(self.texts) == rows):
            raise ValueError("a vector batch needs one vector, document, group and text per id")


class VectorStore(Protocol):
    """One build's vectors."""

    def upsert(self, batch: VectorBatch) -> None:
        """Add the rows, replacing any with the same ids."""
        ...

    def delete_documents(self, documents: Collection[str]) -> int:
        """Remove every row of these documents; returns how many went."""
        ...

    def search(
        self, queries: np.ndarray, k: int, documents: Collection[str] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids) of the k nearest rows for each query row, only from `documents` when given;
        missing slots have id -1."""
        ...

    def count(self) -> int: ...

    def describe(self) -> dict[str, Any]:
        """What it is, for manifests and /readyz: backend, index type, size (never a credential)."""
        ...

    def save(self, path: Path) -> None:
        """Write the store, or a reference to it, into a build folder."""
        ...


class VectorBackend(Protocol):
    """Creates, opens and publishes stores of one kind."""

    name: str

    def check(self, dimension: int | None = None) -> None:
        """Raise VectorStoreUnavailable, naming the setting to fix, when the store cannot serve."""
        ...

    def create(self, dimension: int, expected_size: int) -> VectorStore:
        """A new, empty store that no query sees until it is published."""
        ...

    def live(self, dimension: int, expected_size: int) -> VectorStore | None:
        """The published store, when a build may update it in place: the backend is shared (not a
        file in each build), and the store fits the dimension and the index type this size calls for."""
        ...

    def open(self, path: Path) -> VectorStore:
        """The store a build saved into `path`."""
        ...

    def publish(self, store: VectorStore) -> None:
        """Make `store` the live one (called before the build's folder is published)."""
        ...

    def prune(self, keep: VectorStore) -> None:
        """Drop stores older than the one published before `keep` (a replica may still serve that one)."""
        ...

    def discard(self, store: VectorStore) -> None:
        """Drop a store whose build failed."""
        ...
