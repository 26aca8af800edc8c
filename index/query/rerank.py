"""The second pass: gradient-boosted trees re-order the linear model's best candidates.

The linear fusion (`index.query.fusion`) scores every clause group; its first
`RERANKED` are then scored again by a small gradient-boosted tree ensemble
that reads the same feature row together with the linear score, its gap below
the best, the rank and the question's language (`candidate_features`). Trees
can weigh one column by another (a coverage that matters only when the
question names no document, a sentence score that matters only for English),
which one weight per column cannot. `scripts/fit_fusion.py` fits the trees by
cross-validation on our own question sets (scikit-learn's
`GradientBoostingClassifier`: does this candidate answer?) and writes them
into `index/query/data/fusion.json`; serving needs numpy only.

Measured before it was built (README "Quality and speed"): on the two question
sets written last, each scored by models fitted on everything else, hit@1
0.767 → 0.800 and 0.694 → 0.722.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

RERANKED = 20  # the linear model's candidates the trees re-order; the rest keep its order


def candidate_features(matrix: np.ndarray, fused: np.ndarray, order: np.ndarray, english: bool) -> np.ndarray:
    """The trees' rows for the candidates `order` (best first by the linear model): each one's feature
    row, its linear score, that score's gap below the best, its rank, and the question's language."""
    return np.column_stack(
        [
            matrix[order],
            fused[order],
            fused[order] - fused[order[0]],
            np.arange(len(order)),
            np.full(len(order), float(english)),
        ]
    ).astype(np.float32)


@dataclass(frozen=True, eq=False)
class Reranker:
    """A binary gradient-boosted tree ensemble, as arrays (one row per tree, padded to the largest).

    At a node, a row goes left when its `feature` value is at most `threshold`; a leaf has
    `feature` -1 and its `value` is the tree's contribution. The log-odds that a candidate answers
    are `initial` plus `learning_rate` times the sum of the trees' leaves.
    """

    feature: np.ndarray  # (trees, nodes) int
    threshold: np.ndarray  # (trees, nodes) float64
    left: np.ndarray  # (trees, nodes) int
    right: np.ndarray  # (trees, nodes) int
    value: np.ndarray  # (trees, nodes) float64
    learning_rate: float
    initial: float
    depth: int

    def log_odds(self, rows: np.ndarray) -> np.ndarray:
        """Each row's log-odds of answering, all trees walked at once, one level per step."""
        rows = np.asarray(rows, np.float32)  # scikit-learn's trees compare float32 inputs too
        trees = np.arange(self.feature.shape[0])[:, None]
        samples = np.arange(len(rows))[None, :]
        node = np.zeros((self.feature.shape[0], len(rows)), np.int64)
        for _ in range(self.depth):
            feature = self.feature[trees, node]
            goes_left = rows[samples, np.maximum(feature, 0)] <= self.threshold[trees, node]
            child = np.where(goes_left, self.left[trees, node], self.right[trees, node])
            node = np.where(feature < 0, node, child)
        return self.initial + self.learning_rate * self.value[trees, node].sum(axis=0)

    @classmethod
    def from_trees(cls, trees: list[dict[str, list]], learning_rate: float, initial: float) -> Reranker:
        width = max(len(tree["feature"]) for tree in trees)

        def padded(key: str, fill: float, dtype: type) -> np.ndarray:
            return np.array([tree[key] + [fill] * (width - len(tree[key])) for tree in trees], dtype)

        feature = padded("feature", -1, np.int64)
        left, right = padded("left", -1, np.int64), padded("right", -1, np.int64)
        return cls(
            feature=feature,
            threshold=padded("threshold", 0.0, np.float64),
            left=left,
            right=right,
            value=padded("value", 0.0, np.float64),
            learning_rate=float(learning_rate),
            initial=float(initial),
            depth=max(_depth(f, lft, rgt) for f, lft, rgt in zip(feature, left, right, strict=True)),
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reranker:
        return cls.from_trees(data["trees"], data["learning_rate"], data["initial"])

    @classmethod
    def from_sklearn(cls, model: Any) -> Reranker:
        return cls.from_dict(exported(model, digits=None))


def exported(model: Any, digits: int | None = 7) -> dict[str, Any]:
    """A fitted binary `sklearn.ensemble.GradientBoostingClassifier` (its public `tree_`s) as
    `fusion.json` holds it, leaf values rounded to `digits` (None: exact): `Reranker.from_dict`
    reads it back."""

    def rounded(value: float) -> float:
        return value if digits is None else round(value, digits)

    trees = []
    for estimator in model.estimators_[:, 0]:
        tree = estimator.tree_
        leaf = tree.children_left < 0
        trees.append(
            {
                "feature": np.where(leaf, -1, tree.feature).tolist(),
                "threshold": np.where(leaf, 0.0, tree.threshold).tolist(),
                "left": tree.children_left.tolist(),
                "right": tree.children_right.tolist(),
                "value": [rounded(value) for value in tree.value[:, 0, 0].tolist()],
            }
        )
    probe = np.zeros((1, model.n_features_in_), np.float32)
    summed = sum(float(estimator.predict(probe)[0]) for estimator in model.estimators_[:, 0])
    initial = float(model.decision_function(probe)[0]) - model.learning_rate * summed
    return {"learning_rate": float(model.learning_rate), "initial": rounded(initial), "trees": trees}


def _depth(feature: np.ndarray, left: np.ndarray, right: np.ndarray, node: int = 0) -> int:
    if feature[node] < 0:
        return 0
    return 1 + max(
        _depth(feature, left, right, int(left[node])), _depth(feature, left, right, int(right[node]))
    )
