"""The embedding contract: what an embedder is (`model_id`, `dimension`, one batch method), the purposes
a text is embedded for, the backends, and the id an index's vectors are known by."""

from __future__ import annotations

from typing import Literal, Protocol

import numpy as np

Purpose = Literal["query", "document"]
Backend = Literal["onnx", "onnx-int8", "torch"]
# The onnx backends and the precision of the export each one runs.
ONNX_PRECISION: dict[str, Literal["fp32", "int8"]] = {"onnx": "fp32", "onnx-int8": "int8"}


class Embedder(Protocol):
    """Anything that turns texts into unit vectors; `model_id` names the vectors (and their cache)."""

    model_id: str
    dimension: int

    def embed_batch(self, texts: list[str], purpose: Purpose) -> np.ndarray:
        """L2-normalised float32 vectors, one row a text."""
        ...


def embedding_id(backend: Backend, model: str) -> str:
    """What an index's vectors were made with. fp32 onnx and torch share the model's id: their vectors
    agree to cosine 0.99999, so cached vectors and built indexes carry over between them."""
    return f"{model}#onnx-int8" if backend == "onnx-int8" else model
