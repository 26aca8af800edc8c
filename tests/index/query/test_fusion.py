"""The fusion's arithmetic on hand-made scores (pure logic, no index): ties, headings, boosts, confidence."""

from __future__ import annotations

import numpy as np

from index.query.analysis import AnalysedQuestion
from index.query.fusion import Fusion, GroupPriors
from index.retrieval.expansion import Expansion


def test_support_breaks_near_ties_without_hiding_lone_clauses() -> None:
    support = np.array([1.0, 0.2, 0.2])
    heading = np.array([False, False, False])
    near_tie = Fusion().relevance(np.array([0.80, 0.81, 0.1]), np.array([5.0, 5.1, 0.0]), support, heading)
    assert int(np.argmax(near_tie)) == 0
    clear_win = Fusion().relevance(np.array([0.70, 0.90, 0.1]), np.array([2.0, 8.0, 0.0]), support, heading)
    assert int(np.argmax(clear_win)) == 1


def test_bare_headings_rank_below_equal_clauses() -> None:
    scores = Fusion().relevance(
        np.array([0.9, 0.9, 0.1]), np.array([3.0, 3.0, 0.0]), np.ones(3), np.array([True, False, False])
    )
    assert scores[1] > scores[0]


def _priors(documents: list[str], dated: list[bool]) -> GroupPriors:
    n = len(documents)
    return GroupPriors(
        support=np.ones(n, np.float32),
        heading=np.zeros(n, bool),
        dated=np.array(dated),
        document=np.array(documents, dtype=object),
    )


def _question(**facts) -> AnalysedQuestion:
    return AnalysedQuestion(text="q", english=False, expansion=Expansion(), concepts=[], **facts)


def test_a_when_question_lifts_the_dated_clause_and_only_then() -> None:
    dense, lexical = np.array([0.9, 0.8, 0.1]), np.array([3.0, 2.6, 0.0])
    priors = _priors(["a", "a", "a"], [False, True, False])
    plain = Fusion().rank(_question(), priors, dense, lexical, None)
    when = Fusion().rank(_question(asks_when=True), priors, dense, lexical, None)
    assert int(np.argmax(plain)) == 0 and int(np.argmax(when)) == 1
    assert when[0] == plain[0] and when[1] == plain[1] * 1.5


def test_a_named_document_is_lifted_by_the_share_of_its_title_named() -> None:
    priors = _priors(["law", "notice", "notice"], [False, False, False])
    dense, lexical = np.array([0.8, 0.9, 0.1]), np.array([2.0, 2.2, 0.0])
    named = Fusion().rank(_question(named_document=("law", 1.0)), priors, dense, lexical, None)
    half = Fusion().rank(_question(named_document=("law", 0.5)), priors, dense, lexical, None)
    assert int(np.argmax(named)) == 0
    assert named[0] > half[0] > Fusion().rank(_question(), priors, dense, lexical, None)[0]


def test_glosses_weigh_by_how_much_of_the_question_went_untranslated() -> None:
    priors = _priors(["a", "a", "a"], [False] * 3)
    dense, lexical, glosses = np.array([0.9, 0.5, 0.1]), np.array([3.0, 1.0, 0.0]), np.array([0.0, 5.0, 0.0])
    translated = Fusion().rank(_question(translated_share=1.0), priors, dense, lexical, glosses)
    untranslated = Fusion().rank(_question(translated_share=0.0), priors, dense, lexical, glosses)
    assert np.allclose(translated, Fusion().rank(_question(), priors, dense, lexical, None))
    assert untranslated[1] > translated[1]


def test_confidence_rises_with_cosine_and_coverage() -> None:
    fusion = Fusion()
    assert fusion.confidence((0.95, 1.0)) > fusion.answerable_at > fusion.confidence((0.80, 0.2))
    assert fusion.confidence((0.9, 0.5)) < fusion.confidence((0.9, 0.9))
