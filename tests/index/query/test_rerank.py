"""The second pass: trees exported from scikit-learn walk the same paths in numpy, survive the JSON
file, and re-order only the linear model's first candidates in a real search."""

from __future__ import annotations

import json

import numpy as np
import pytest

from index.query import Searcher
from index.query.fusion import FITTED, Fusion
from index.query.rerank import RERANKED, Reranker, candidate_features, exported


@pytest.fixture(scope="module")
def trees():
    """A real scikit-learn ensemble on data whose answer needs an interaction of two columns."""
    from sklearn.ensemble import GradientBoostingClassifier

    rng = np.random.default_rng(7)
    rows = rng.normal(size=(600, 6)).astype(np.float32)
    labels = (rows[:, 0] + rows[:, 1] * rows[:, 2] > 0.3).astype(int)
    model = GradientBoostingClassifier(
        n_estimators=40, max_depth=3, learning_rate=0.1, subsample=0.8, random_state=0
    ).fit(rows, labels)
    return model, rows


def test_exported_trees_give_scikit_learns_log_odds(trees) -> None:
    model, rows = trees
    reranker = Reranker.from_sklearn(model)
    assert reranker.depth == 3 and reranker.feature.shape[0] == 40
    np.testing.assert_allclose(reranker.log_odds(rows), model.decision_function(rows), atol=1e-9)


def test_trees_survive_the_fitted_file(trees) -> None:
    model, rows = trees
    written = json.loads(json.dumps(exported(model)))
    np.testing.assert_allclose(
        Reranker.from_dict(written).log_odds(rows), model.decision_function(rows), atol=1e-6
    )


def test_candidate_rows_carry_the_linear_score_its_gap_and_the_rank() -> None:
    matrix = np.arange(12, dtype=np.float32).reshape(4, 3)
    fused = np.array([0.1, 0.9, 0.5, 0.3], np.float32)
    rows = candidate_features(matrix, fused, np.array([1, 2, 3]), english=True)
    assert rows.shape == (3, 3 + 4)
    np.testing.assert_array_equal(rows[:, :3], matrix[[1, 2, 3]])
    np.testing.assert_allclose(rows[:, 3], [0.9, 0.5, 0.3])
    np.testing.assert_allclose(rows[:, 4], [0.0, -0.4, -0.6], atol=1e-6)
    assert rows[:, 5].tolist() == [0, 1, 2] and rows[:, 6].tolist() == [1, 1, 1]


def test_the_shipped_fit_carries_trees() -> None:
    data = json.loads(FITTED.read_text(encoding="utf-8"))
    assert data["reranker"]["trees"] and Fusion.load().reranker is not None


def test_a_search_reorders_only_the_first_candidates_and_its_scores_fall_with_rank(
    searcher: Searcher,
) -> None:
    result = searcher.search("How many Chuyi culture heritage bases will be built?", top_k=50)
    scores = [hit.score for hit in result.hits]
    assert scores == sorted(scores, reverse=True)
    # The same question without the trees: the same candidates, the first RERANKED in another order.
    shipped = searcher.fusion
    try:
        searcher.fusion = Fusion(
            shipped.weights_zh,
            shipped.weights_en,
            shipped.confidence_coefficients,
            shipped.confidence_intercept,
            shipped.answerable_at,
        )
        linear = searcher.search("How many Chuyi culture heritage bases will be built?", top_k=50)
    finally:
        searcher.fusion = shipped
    ids = [hit.group.id for hit in result.hits]
    linear_ids = [hit.group.id for hit in linear.hits]
    assert set(ids[:RERANKED]) == set(linear_ids[:RERANKED])
    assert ids[RERANKED:] == linear_ids[RERANKED:]
    # The answerability features read the linear model's best score, whatever the trees put first.
    assert result.features[:2] == linear.features[:2]
