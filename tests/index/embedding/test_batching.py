"""Micro-batching of concurrent questions: fewer passes, each caller its own vector, failures passed on."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from index.embedding.batching import BatchingEmbedder


class SlowFakeEmbedder:
    """A fake for this unit test of pure logic: a vector per text from its hash, after a pause per pass."""

    model_id = "fake"
    dimension = 4

    def __init__(self, pause: float = 0.02, fail_on: str | None = None) -> None:
        self.pause = pause
        self.fail_on = fail_on
        self.passes: list[int] = []
        self._lock = threading.Lock()

    def embed_batch(self, texts: list[str], purpose: str) -> np.ndarray:
        with self._lock:
            self.passes.append(len(texts))
        time.sleep(self.pause)
        if self.fail_on in texts:
            raise RuntimeError("model failed")
        return np.array([[hash(t) % 97, len(t), 1, purpose == "query"] for t in texts], np.float32)


def test_concurrent_questions_share_passes_and_get_their_own_vectors() -> None:
    inner = SlowFakeEmbedder()
    batching = BatchingEmbedder(inner, max_batch=8)
    questions = [f"question {i}" for i in range(32)]
    try:
        with ThreadPoolExecutor(16) as pool:
            vectors = list(pool.map(lambda q: batching.embed_batch([q], "query"), questions))
    finally:
        batching.close()
    for question, vector in zip(questions, vectors, strict=True):
        assert np.array_equal(vector, inner.embed_batch([question], "query"))
    question_passes = inner.passes[: -len(questions)]
    assert sum(question_passes) == len(questions)
    assert len(question_passes) < len(questions) and max(question_passes) <= 8


def test_a_lone_question_is_not_held_back() -> None:
    inner = SlowFakeEmbedder(pause=0.0)
    batching = BatchingEmbedder(inner)
    try:
        started = time.perf_counter()
        batching.embed_batch(["only one"], "query")
        assert time.perf_counter() - started < 0.5
        assert inner.passes == [1]
    finally:
        batching.close()


def test_documents_and_many_texts_go_straight_to_the_model() -> None:
    inner = SlowFakeEmbedder(pause=0.0)
    batching = BatchingEmbedder(inner)
    try:
        assert batching.embed_batch(["a", "b", "c"], "document").shape == (3, 4)
        assert batching.embed_batch(["x", "y"], "query").shape == (2, 4)
        assert inner.passes == [3, 2]
    finally:
        batching.close()


def test_a_failed_pass_fails_its_callers_and_the_worker_lives_on() -> None:
    batching = BatchingEmbedder(SlowFakeEmbedder(pause=0.0, fail_on="bad"), workers=2)
    try:
        with pytest.raises(RuntimeError, match="model failed"):
            batching.embed_batch(["bad"], "query")
        assert batching.embed_batch(["good"], "query").shape == (1, 4)
    finally:
        batching.close()


def test_the_real_model_through_the_workers_gives_the_same_vectors(embedder) -> None:
    """As the service runs it by default: two workers, one question a pass."""
    batching = BatchingEmbedder(embedder, max_batch=1, workers=2)
    questions = ["楚怡优秀技工院校要遴选建设多少所？", "How many 楚怡 technical schools will be built?"] * 4
    try:
        with ThreadPoolExecutor(8) as pool:
            vectors = np.vstack(list(pool.map(lambda q: batching.embed_batch([q], "query"), questions)))
    finally:
        batching.close()
    direct = np.vstack([embedder.embed_batch([q], "query") for q in questions])
    assert (vectors * direct).sum(axis=1).min() >= 0.99999


def test_a_failing_question_in_a_shared_pass_fails_alone() -> None:
    """One bad question among many: each good one still gets its own vector, the bad one its error."""
    inner = SlowFakeEmbedder(pause=0.01, fail_on="bad")
    batching = BatchingEmbedder(inner, max_batch=8)
    questions = ["bad" if i % 5 == 0 else f"question {i}" for i in range(30)]

    def ask(question: str) -> np.ndarray | Exception:
        try:
            return batching.embed_batch([question], "query")
        except RuntimeError as error:
            return error

    try:
        with ThreadPoolExecutor(16) as pool:
            outcomes = list(pool.map(ask, questions))
    finally:
        batching.close()
    assert max(inner.passes) > 1  # the failing question did share passes with good ones
    for question, outcome in zip(questions, outcomes, strict=True):
        if question == "bad":
            assert isinstance(outcome, RuntimeError)
        else:
            assert isinstance(outcome, np.ndarray)
            assert np.array_equal(outcome, inner.embed_batch([question], "query"))
