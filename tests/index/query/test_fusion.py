"""The fusion's features and the fitted model on hand-made scores (pure logic, no index)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from index.query.analysis import AnalysedQuestion
from index.query.fusion import CONFIDENCE_FEATURES, FEATURES, FITTED, Fusion, GroupPriors, Signals, features
from index.retrieval.expansion import Expansion


def _priors(
    documents: list[str], dated: list[bool] | None = None, genre: list[str] | None = None
) -> GroupPriors:
    n = len(documents)
    return GroupPriors(
        support=np.ones(n, np.float32),
        heading=np.zeros(n, bool),
        dated=np.array(dated or [False] * n),
        document=np.array(documents, dtype=object),
        genre=np.array(genre or [""] * n, dtype=object),
    )


def _question(**facts) -> AnalysedQuestion:
    return AnalysedQuestion(
        **{"text": "q", "english": False, "expansion": Expansion(), "concepts": [], **facts}
    )


def _column(matrix: np.ndarray, name: str) -> np.ndarray:
    return matrix[:, FEATURES.index(name)]


def test_features_have_one_column_each_and_scale_each_signal() -> None:
    signals = Signals(dense=np.array([0.9, 0.8, 0.0]), lexical=np.array([4.0, 2.0, 0.0]))
    matrix = features(_question(), _priors(["a", "a", "b"]), signals)
    assert matrix.shape == (3, len(FEATURES))
    assert _column(matrix, "lexical").tolist() == [1.0, 0.5, 0.0]
    assert _column(matrix, "cross").tolist() == [0.0, 0.0, 0.0]  # no second encoder
    # The reciprocal rank and the gap below the best: the best scores 1 and 0.
    assert _column(matrix, "dense_rank").tolist() == pytest.approx([1.0, 0.5, 1 / 3])
    assert _column(matrix, "dense_gap")[0] == 0.0 > _column(matrix, "dense_gap")[1] >= -1.0


def test_document_features_carry_each_documents_best_clause() -> None:
    signals = Signals(dense=np.array([0.9, 0.2, 0.5]), lexical=np.array([0.0, 0.0, 3.0]))
    matrix = features(_question(), _priors(["law", "law", "notice"]), signals)
    assert _column(matrix, "doc_dense").tolist() == pytest.approx([1.0, 1.0, (0.5 - 0.2) / (0.9 - 0.2)])
    assert _column(matrix, "doc_lexical").tolist() == [0.0, 0.0, 1.0]


def test_date_title_and_genre_features_follow_the_question() -> None:
    signals = Signals(dense=np.array([0.5, 0.5, 0.5]), lexical=np.zeros(3))
    priors = _priors(["law", "law", "notice"], dated=[False, True, True], genre=["law", "law", "notice"])
    plain = features(_question(), priors, signals)
    assert not _column(plain, "date").any() and not _column(plain, "title").any()
    assert not _column(plain, "genre").any()
    when = features(_question(asks_when=True), priors, signals)
    assert _column(when, "date").tolist() == [0.0, 1.0, 1.0]
    named = features(_question(named_document=("law", 0.5)), priors, signals)
    assert _column(named, "title").tolist() == [0.5, 0.5, 0.0]
    asks_notice = features(_question(asks_genre="notice"), priors, signals)
    assert _column(asks_notice, "genre").tolist() == [-1.0, -1.0, 1.0]
    # A when-question about a named document: that document's dated clause, not every dated clause.
    assert _column(when, "date_named").tolist() == [0.0, 0.0, 0.0]
    named_when = features(_question(asks_when=True, named_document=("law", 1.0)), priors, signals)
    assert _column(named_when, "date_named").tolist() == [0.0, 1.0, 0.0]
    notice_when = features(_question(asks_when=True, asks_genre="notice"), priors, signals)
    assert _column(notice_when, "date_named").tolist() == [0.0, 0.0, 1.0]


def test_untranslated_english_weighs_the_glosses_by_what_went_untranslated() -> None:
    signals = Signals(dense=np.ones(2), lexical=np.zeros(2), glosses=np.array([2.0, 1.0]))
    half = features(_question(translated_share=0.5), _priors(["a", "a"]), signals)
    assert _column(half, "glosses").tolist() == [0.5, 0.25]


def test_sentence_and_coverage_columns_carry_their_own_scores() -> None:
    plain = features(_question(), _priors(["a", "a", "a"]), Signals(dense=np.ones(3), lexical=np.zeros(3)))
    sentence_columns = [f for f in FEATURES if "_sentence" in f or f.endswith("_covered")]
    assert len(sentence_columns) == 9 and not plain[:, [FEATURES.index(f) for f in sentence_columns]].any()
    signals = Signals(
        dense=np.ones(3),
        lexical=np.zeros(3),
        dense_sentences=np.array([0.2, 0.9, 0.5]),
        cross_sentences=np.array([0.7, 0.1, 0.4]),
        words_covered=np.array([1.0, 0.5, 0.0]),
        concepts_covered=np.array([0.25, 0.5, 0.75]),
        stems_covered=np.array([0.0, 1.0, 0.5]),
    )
    matrix = features(_question(), _priors(["a", "a", "a"]), signals)
    # The best sentence's group leads each encoder's sentence columns, however its whole clause scored.
    assert _column(matrix, "dense_sentence").tolist() == pytest.approx([0.0, 1.0, 3 / 7])
    assert _column(matrix, "dense_sentence_rank").tolist() == pytest.approx([1 / 3, 1.0, 0.5])
    assert _column(matrix, "cross_sentence_rank").tolist() == pytest.approx([1.0, 1 / 3, 0.5])
    assert _column(matrix, "cross_sentence_gap")[0] == 0.0 > _column(matrix, "cross_sentence_gap")[2]
    assert _column(matrix, "words_covered").tolist() == [1.0, 0.5, 0.0]
    assert _column(matrix, "concepts_covered").tolist() == [0.25, 0.5, 0.75]
    assert _column(matrix, "stems_covered").tolist() == [0.0, 1.0, 0.5]


def test_the_model_scores_by_language_and_confidence_rises_with_the_top_score() -> None:
    fusion = Fusion(
        weights_zh=tuple(1.0 if f == "lexical" else 0.0 for f in FEATURES),
        weights_en=tuple(1.0 if f == "cross" else 0.0 for f in FEATURES),
        confidence_coefficients=(2.0,) + (0.0,) * (len(CONFIDENCE_FEATURES) - 1),
        confidence_intercept=-1.0,
    )
    signals = Signals(dense=np.zeros(2), lexical=np.array([1.0, 0.0]), cross=np.array([0.0, 1.0]))
    matrix = features(_question(), _priors(["a", "a"]), signals)
    assert np.argmax(fusion.rank(_question(), matrix)) == 0
    assert np.argmax(fusion.rank(_question(english=True), matrix)) == 1
    rest = (0.0,) * (len(CONFIDENCE_FEATURES) - 1)
    low, high = (fusion.confidence((s, *rest)) for s in (0.0, 2.0))
    assert low < fusion.answerable_at < high


def test_the_shipped_fit_names_these_features_and_was_cross_validated() -> None:
    data = json.loads(FITTED.read_text(encoding="utf-8"))
    assert tuple(data["features"]) == FEATURES
    assert len(data["weights"]["zh"]) == len(data["weights"]["en"]) == len(FEATURES)
    assert data["held_out"]["folds"] >= 2 and data["held_out"]["ranking"]
    Fusion.load()  # parses


def test_a_fit_for_other_features_is_refused() -> None:
    data = json.loads(FITTED.read_text(encoding="utf-8"))
    with pytest.raises(ValueError, match="fit_fusion"):
        Fusion.from_dict({**data, "features": list(FEATURES[:-1])})
