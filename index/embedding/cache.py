"""The embedding cache: document vectors kept by model id and text hash, so unchanged text is never
embedded again. Each model id is its own namespace (its own file), so a second model with another
dimension shares nothing with the first."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from index.embedding.base import Embedder, Purpose

# Texts embedded per call when a build reports progress; sorted by length so a batch pads little.
PROGRESS_BATCH = 128


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

    def missing(self, texts: list[str], purpose: Purpose) -> int:
        """How many distinct texts of these are not cached yet."""
        return len({k for k in (self.key(t, purpose) for t in texts) if k not in self._vectors})

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
