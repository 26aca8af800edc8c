"""Fusion: how the signals' scores become one ranking, and whether its top answers at all.

Every weight, boost and penalty of the ranking lives in `Fusion`, each with the
reason it has its value; `GroupPriors` holds what is known of each clause group
before any question (its support, whether it is a bare heading, whether it
carries a full date, its document). `Fusion.rank` is the whole of the fusion:

1. relevance: min-max dense and max-scaled lexical scores, weighted; then the
   English glosses blended in by how much of the question went untranslated;
2. the support prior (a clause more variants carry wins a near tie) and the
   heading penalty;
3. the date boost (a question asking when) and the title boost (a question
   naming a document).

`Fusion.confidence` is the answerability model over the top result.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from index.corpus.model import ClauseGroup
from index.query.analysis import AnalysedQuestion

_FULL_DATE = re.compile(
    r"\d{4}年\d{1,2}月\d{1,2}日|[〇零一二三四五六七八九]{4}年[一二三四五六七八九十]{1,2}月[一二三四五六七八九十]{1,3}日"
)


@dataclass(frozen=True)
class Fusion:
    """The ranking's weights (measured on our question sets; see README "Levers")."""

    # Min-max normalised dense and lexical scores, weighted. Chosen by measurement on the dev
    # questions against reciprocal-rank fusion.
    dense_weight: float = 0.5
    # The words of an English question that the glossary and lexicon could not translate are
    # scored against the clauses' dictionary glosses, weighted by how much is left untranslated:
    # a question the glossary covers keeps the dense and lexical fusion, one about a document
    # nobody wrote a glossary for leans on the glosses. 0.2 to 0.45 score alike on our sets
    # (scripts/quality.py --sweep).
    gloss_weight_max: float = 0.3
    # When relevance is close, a clause more variants carry ranks first; a lone variant's
    # clause loses at most this share of its score, so it is never hidden.
    support_weight: float = 0.15
    # A bare heading states nothing; it ranks below the clauses under it.
    heading_penalty: float = 0.85
    # A question that names a document by its title ("the Minors Protection Law", 未成年人保护法)
    # lifts that document's clauses by up to this share, when it names one document best.
    title_boost: float = 0.2
    # A question that asks when ("When was it issued?", 何时施行) lifts the clauses that carry a
    # full date by this share: the date line of a notice, the article saying when a law takes
    # effect. 0.15 to 0.5 score alike on our sets; at 0.5 a notice's date line answers "when".
    date_boost: float = 0.5
    # Whether anything answers: a logistic model of the top clause's cosine with the question and
    # the share of the question's words (or, for English, glosses) the best of the top three
    # clauses contains. Fitted on our own question sets (50 answerable, 20 that nothing here
    # answers; scripts/quality.py --fit): leave-one-out, 18 of 20 unanswerable caught and 1 of 50
    # answerable flagged.
    confidence_coefficients: tuple[float, float] = (23.39, 6.19)
    confidence_intercept: float = -22.04
    answerable_at: float = 0.5

    def gloss_weight(self, question: AnalysedQuestion) -> float:
        """How much the English glosses count: more, the less of the question was translated."""
        return self.gloss_weight_max * (1 - question.translated_share)

    def relevance(
        self,
        dense: np.ndarray,
        lexical: np.ndarray,
        support: np.ndarray,
        heading: np.ndarray,
        glosses: tuple[np.ndarray, float] | None = None,
    ) -> np.ndarray:
        """Relevance from the rankings (glosses with their weight), then the support prior and the
        heading penalty."""
        fused = self.dense_weight * _minmax(dense) + (1 - self.dense_weight) * _scaled(lexical)
        if glosses is not None:
            scores, weight = glosses
            fused = (1 - weight) * fused + weight * _scaled(scores)
        fused = fused * (1 - self.support_weight * (1 - support))
        return np.where(heading, fused * self.heading_penalty, fused)

    def rank(
        self,
        question: AnalysedQuestion,
        priors: GroupPriors,
        dense: np.ndarray,
        lexical: np.ndarray,
        glosses: np.ndarray | None,
    ) -> np.ndarray:
        """Every group's fused score for this question."""
        weighted = (glosses, self.gloss_weight(question)) if glosses is not None else None
        fused = self.relevance(dense, lexical, priors.support, priors.heading, weighted)
        if question.asks_when:
            fused = np.where(priors.dated, fused * (1 + self.date_boost), fused)
        if question.named_document is not None:
            document, share = question.named_document
            fused = np.where(priors.document == document, fused * (1 + self.title_boost * share), fused)
        return fused

    def confidence(self, features: tuple[float, float]) -> float:
        """How likely the top result answers the question, from (its cosine, the best coverage)."""
        logit = sum(w * x for w, x in zip(self.confidence_coefficients, features, strict=True))
        return float(1 / (1 + np.exp(-(logit + self.confidence_intercept))))


@dataclass(frozen=True)
class GroupPriors:
    """What each clause group brings before any question, one entry per group of the index."""

    support: np.ndarray  # the share of the document's variants that carry it
    heading: np.ndarray  # a bare heading
    dated: np.ndarray  # it carries a full date
    document: np.ndarray  # its document's id

    @classmethod
    def of(cls, groups: list[ClauseGroup]) -> GroupPriors:
        return cls(
            support=np.array([g.support.count / max(g.support.total, 1) for g in groups], np.float32),
            heading=np.array([g.kind == "heading" for g in groups], dtype=bool),
            dated=np.array([bool(_FULL_DATE.search(g.canonical)) for g in groups], dtype=bool),
            document=np.array([g.document for g in groups], dtype=object),
        )


def _minmax(scores: np.ndarray) -> np.ndarray:
    low, high = float(scores.min()), float(scores.max())
    return (scores - low) / (high - low) if high > low else np.zeros_like(scores)


def _scaled(scores: np.ndarray) -> np.ndarray:
    high = float(scores.max())
    return scores / high if high > 0 else np.zeros_like(scores)
