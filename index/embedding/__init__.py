"""Embedding: the contract (`base`), one module per backend (`torch_backend`, `onnx_backend`, the
bundled model's conversion in `bundled`), micro-batching of questions (`batching`) and the vector
cache (`cache`). `load_embedder` picks a backend by name; a second model is another call with its
own name, dimension and cache namespace."""

from __future__ import annotations

from pathlib import Path

from index.embedding.base import ONNX_PRECISION, Backend, Embedder, Purpose, embedding_id
from index.embedding.cache import CachedEmbedder

__all__ = [
    "ONNX_PRECISION",
    "Backend",
    "CachedEmbedder",
    "Embedder",
    "Purpose",
    "embedding_id",
    "load_embedder",
]


def load_embedder(backend: Backend, model: str, models_dir: Path, threads: int | None = None) -> Embedder:
    """The embedder for a backend name: `onnx` (exported and fused, the same vectors as torch),
    `onnx-int8` (weights quantised: faster, vectors differ slightly), or `torch` (sentence-transformers,
    the source of truth the others are exported from)."""
    if backend == "torch":
        from index.embedding.torch_backend import SentenceTransformerEmbedder

        return SentenceTransformerEmbedder(model, models_dir)
    if backend not in ONNX_PRECISION:
        raise ValueError(f"unknown embedding backend {backend!r}; available: onnx, onnx-int8, torch")
    from index.embedding.onnx_backend import OnnxEmbedder

    return OnnxEmbedder(model, models_dir, ONNX_PRECISION[backend], threads)
