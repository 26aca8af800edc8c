"""Micro-batching for concurrent questions: workers embed whatever is queued, a pass at a time.

A lone question goes straight through (a free worker takes it at once, no
fixed wait). Under load, questions that arrive while the passes run queue up
and the next free worker takes up to `max_batch` of them in one pass. Document
batches (builds) pass through to the inner embedder unchanged.

One bad question never fails another: when a shared pass raises, each of its
questions is embedded again alone, so only the one that caused the failure
gets it.
"""

from __future__ import annotations

import queue
import threading
from concurrent.futures import Future

import numpy as np

from index.embedding.base import Embedder, Purpose

MAX_BATCH = 16


class BatchingEmbedder:
    """An `Embedder` that batches concurrent single-question calls through `workers` threads."""

    def __init__(self, inner: Embedder, max_batch: int = MAX_BATCH, workers: int = 1) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.dimension = inner.dimension
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[tuple[str, Future[np.ndarray]] | None] = queue.SimpleQueue()
        self._workers = [
            threading.Thread(target=self._run, name=f"query-embedder-{i}", daemon=True)
            for i in range(workers)
        ]
        for worker in self._workers:
            worker.start()

    def embed_batch(self, texts: list[str], purpose: Purpose) -> np.ndarray:
        if purpose != "query" or len(texts) != 1:
            return self.inner.embed_batch(texts, purpose)
        future: Future[np.ndarray] = Future()
        self._queue.put((texts[0], future))
        return future.result()[None, :]

    def close(self) -> None:
        for _ in self._workers:
            self._queue.put(None)
        for worker in self._workers:
            worker.join(timeout=5)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)  # finish this batch; the stop is taken again next round
                    break
                batch.append(item)
            try:
                vectors = self.inner.embed_batch([text for text, _ in batch], "query")
            except Exception as error:
                if len(batch) == 1:
                    batch[0][1].set_exception(error)
                else:  # isolate the failing question: each one alone, its own outcome
                    for item in batch:
                        self._alone(*item)
                continue
            for (_, future), vector in zip(batch, vectors, strict=True):
                future.set_result(vector)

    def _alone(self, text: str, future: Future[np.ndarray]) -> None:
        try:
            future.set_result(self.inner.embed_batch([text], "query")[0])
        except Exception as error:  # the worker lives on
            future.set_exception(error)
