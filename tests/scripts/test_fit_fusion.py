"""The fitted file's text: pure logic over the shipped fit's own data."""

from __future__ import annotations

import json

import numpy as np

from index.query.fusion import FITTED
from scripts.fit_fusion import document_folds, fitted_text


def test_the_fitted_text_reads_back_the_same_with_each_tree_on_one_line() -> None:
    data = json.loads(FITTED.read_text(encoding="utf-8"))
    text = fitted_text(data)
    assert json.loads(text) == data
    trees = data["reranker"]["trees"]
    lines = [line for line in text.splitlines() if line.lstrip().startswith('{"feature":')]
    assert len(lines) == len(trees) > 0
    assert text == FITTED.read_text(encoding="utf-8")  # the shipped file was written this way


def test_a_fit_without_trees_is_written_as_plain_indented_json() -> None:
    data = {"features": ["dense"], "weights": {"zh": [1.0], "en": [0.5]}}
    assert fitted_text(data) == json.dumps(data, ensure_ascii=False, indent=1) + "\n"


def test_folds_by_document_hold_out_each_document_whole() -> None:
    """Pure logic: every question about one document shares its fold, one fold per document; a
    question no group answers is spread over the same folds."""
    documents = np.array(["teachers", "seeds", "teachers", "", "seeds"])
    items = [("set", {"id": f"q{n}"}) for n in range(len(documents))]
    folds, count = document_folds(documents, items)
    assert count == 2
    assert folds[0] == folds[2] != folds[1] == folds[4]
    assert 0 <= folds[3] < count
