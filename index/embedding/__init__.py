"""Embedding: the contract (`base`), one module per backend (`torch_backend`, `onnx_backend`, the
bundled model's conversion in `bundled`, the second, cross-lingual encoder in `use_backend`),
micro-batching of questions (`batching`) and the vector cache (`cache`). `load_embedder` picks the
first model's backend by name; `load_second_embedder` gives the second model by its name, with its
own dimension and cache namespace (the model id)."""

from __future__ import annotations

import functools
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
    "load_second_embedder",
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


@functools.cache  # (the name `cache` is this package's module)
def load_second_embedder(name: str) -> Embedder:
    """The second encoder by name, loaded once per process (builds and searchers share it)."""
    from index.embedding.use_backend import USE_MODEL_NAME, UseEmbedder

    if name != USE_MODEL_NAME:
        raise ValueError(f"unknown second model {name!r}; available: {USE_MODEL_NAME}")
    return UseEmbedder()
