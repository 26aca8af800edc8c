"""The fitted file's text: pure logic over the shipped fit's own data."""

from __future__ import annotations

import json

from index.query.fusion import FITTED
from scripts.fit_fusion import fitted_text


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
