"""Vector stores: the contract (base), the embedded FAISS default and Milvus, picked by name."""

from __future__ import annotations

from functools import cache

from index.vectors.base import (
    BACKENDS,
    EMBEDDED,
    VectorBackend,
    VectorBatch,
    VectorConfig,
    VectorStore,
    VectorStoreUnavailable,
    choose_kind,
)

__all__ = [
    "BACKENDS",
    "EMBEDDED",
    "VectorBackend",
    "VectorBatch",
    "VectorConfig",
    "VectorStore",
    "VectorStoreUnavailable",
    "choose_kind",
    "open_backend",
]


@cache
def open_backend(config: VectorConfig) -> VectorBackend:
    """The backend a configuration names, one per process (a Milvus backend holds a client)."""
    if config.backend == "milvus":
        try:
            import pymilvus  # noqa: F401
        except ImportError:
            raise VectorStoreUnavailable(
                "CONCORD_VECTOR_BACKEND=milvus needs pymilvus (and milvus-lite for a local file): "
                "pip install 'concord[milvus]'"
            ) from None
        from index.vectors.milvus_store import MilvusBackend

        return MilvusBackend(config)
    from index.vectors.faiss_store import FaissBackend

    return FaissBackend(config)
