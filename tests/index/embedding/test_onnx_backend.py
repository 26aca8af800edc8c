"""The onnx exports against the sentence-transformers model they are exported from."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from index.embedding.onnx_backend import OnnxEmbedder, _weights_digest, ensure_onnx_model
from tests.helpers import MODELS, ROOT

QUESTIONS = [
    json.loads(line)["question"]
    for line in (ROOT / "tests" / "data" / "checks.jsonl").read_text(encoding="utf-8").splitlines()
]


@pytest.fixture(scope="module")
def fp32(embedder) -> OnnxEmbedder:
    """The service's default embedder."""
    assert isinstance(embedder, OnnxEmbedder) and embedder.model_id == "bundled:e5-small"
    return embedder


@pytest.fixture(scope="module")
def int8() -> OnnxEmbedder:
    return OnnxEmbedder("bundled:e5-small", MODELS, "int8")


@pytest.fixture(scope="module")
def clause_texts(built_index) -> list[str]:
    from index.published import LoadedIndex

    config, _ = built_index
    return [group.canonical for group in LoadedIndex.load(config.index_dir).groups]


def test_fp32_export_gives_the_source_models_vectors(fp32, torch_embedder, clause_texts) -> None:
    for purpose, texts in (("query", QUESTIONS), ("document", clause_texts[:64])):
        ours, theirs = fp32.embed_batch(texts, purpose), torch_embedder.embed_batch(texts, purpose)
        assert ours.shape == theirs.shape
        assert (ours * theirs).sum(axis=1).min() >= 0.99999


def test_int8_export_keeps_the_source_models_ranking(int8, torch_embedder, clause_texts) -> None:
    """The opt-in fast backend: vectors near the source's; on dense scores alone, the source's best clause
    stays in the top three for nearly every question."""
    assert int8.model_id == "bundled:e5-small#onnx-int8"
    ours_q, theirs_q = int8.embed_batch(QUESTIONS, "query"), torch_embedder.embed_batch(QUESTIONS, "query")
    ours_d = int8.embed_batch(clause_texts, "document")
    theirs_d = torch_embedder.embed_batch(clause_texts, "document")
    assert (ours_q * theirs_q).sum(axis=1).min() >= 0.995
    assert (ours_d * theirs_d).sum(axis=1).min() >= 0.99
    ours_top3 = np.argsort(-(ours_q @ ours_d.T), axis=1)[:, :3]
    theirs_best = (theirs_q @ theirs_d.T).argmax(1)
    kept = np.mean([best in top for best, top in zip(theirs_best, ours_top3, strict=True)])
    assert kept >= 0.9, kept


def test_batches_and_single_texts_agree(fp32) -> None:
    """Padding to the longest text of a batch changes nothing (the mask covers it)."""
    together = fp32.embed_batch(QUESTIONS[:9], "query")
    alone = np.vstack([fp32.embed_batch([q], "query") for q in QUESTIONS[:9]])
    assert (together * alone).sum(axis=1).min() >= 0.99999
    assert fp32.embed_batch([], "query").shape == (0, fp32.dimension)


def test_the_export_is_cached_and_follows_its_source(fp32) -> None:
    exported = ensure_onnx_model("bundled:e5-small", MODELS, "fp32")
    written = (exported / "model.onnx").stat().st_mtime_ns
    assert ensure_onnx_model("bundled:e5-small", MODELS, "fp32") == exported
    assert (exported / "model.onnx").stat().st_mtime_ns == written  # not exported again
    manifest = json.loads((exported / "export.json").read_text())
    assert manifest["source_digest"] == _weights_digest(Path(manifest["source"]))


def test_a_changed_source_changes_its_digest(tmp_path: Path) -> None:
    """Pure logic on a throwaway folder: new weights (size or time) mean a new export."""
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"a" * 10)
    before = _weights_digest(tmp_path)
    weights.write_bytes(b"b" * 11)
    assert _weights_digest(tmp_path) != before
    stat = weights.stat()
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert _weights_digest(tmp_path) != before


def test_a_model_by_name_is_refused_with_the_setting_to_change(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="CONCORD_EMBEDDING_BACKEND=torch"):
        OnnxEmbedder("intfloat/multilingual-e5-small", tmp_path)
