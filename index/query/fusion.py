"""Fusion: how the signals' scores become one ranking, and whether its top answers at all.

The ranking is one fitted linear model over per-group features (`FEATURES`),
with one weight vector for Chinese questions and one for English ones; nothing
in it is hand-set. `scripts/fit_fusion.py` fits the weights by cross-validation
on our own question sets (never the hidden ones) and writes them, with the
held-out figures, to `index/query/data/fusion.json`, which `Fusion.load` reads.

The features of a clause group for a question:

- `dense`, `cross`: the first model's (e5) and the second encoder's (USE)
  cosine, min-max scaled over the corpus;
- `lexical`: BM25 over Chinese tokens, scaled by the best; `glosses`: BM25 over
  English dictionary glosses, scaled and weighted by the share of the English
  question nothing translated;
- `support`: the share of the document's variants that carry the group;
  `heading`: a bare heading (states nothing);
- `date`: the group carries a full date and the question asks when; `title`:
  the question names the group's document by its title (the share named);
  `genre`: +1 when the question names the genre of the group's document ("the
  notice", 本法), -1 when it names another genre;
- `doc_dense`, `doc_cross`, `doc_lexical`: the best of each signal over the
  group's whole document: document-level relevance, so a clause of the
  document the question is about beats a similar clause of a neighbour;
- `*_gap`, `*_rank` for dense, cross and lexical: how far below that signal's
  best the group scores, in standard deviations of the signal's top scores
  (e5's cosines crowd into a narrow band that min-max scaling hides), and the
  reciprocal of its rank on that signal. Measured on held-out folds, these two
  lifted hit@1 over our sets from 0.79 to 0.85 (README "Levers");
- `date_named`: `date` within the document the question names (by title or
  by genre): "When does the Minors Protection Law take effect?" wants that
  law's dated article, not every law's;
- `words_covered`, `concepts_covered`, `stems_covered`: the share of the
  question's own words, of all its concepts (translations too), and of an
  English question's stems (in the group's dictionary glosses) that the group
  contains: the clause that says all of what is asked beats its neighbour
  that shares the rarest word;
- `dense_sentence`, `cross_sentence` and their `_gap` and `_rank`: each
  encoder's best cosine over the group's sentences, each embedded on its own,
  scaled like the whole-clause signals: the one sentence of a long clause that
  answers is not diluted by the rest. Measured on held-out folds (the mean of
  six assignments of our questions to folds), these and the coverage columns
  lifted hit@1 over our sets from 0.851 to 0.875 (README "Levers").

`Fusion.confidence` is the answerability model: a logistic model over the top
result's fitted score, its margin over the second result, both cosines,
how much of the question the top results cover, and whether the question asks
for a kind of value (an age, a sum of money, a length of time, a date, a share,
any amount: `index.query.answer.ANSWER_KINDS`) that the first result does not
state, fitted the same way. Its threshold (`answerable_at`) is set by
`scripts/fit_fusion.py` so that at most 4% of our answerable questions, held
out, fall below it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path

import numpy as np

from index.corpus.model import ClauseGroup
from index.query.analysis import AnalysedQuestion
from index.query.genre import Genre
from index.query.rerank import Reranker

FEATURES: tuple[str, ...] = (
    "dense",
    "cross",
    "lexical",
    "glosses",
    "support",
    "heading",
    "date",
    "title",
    "genre",
    "doc_dense",
    "doc_cross",
    "doc_lexical",
    "dense_gap",
    "dense_rank",
    "cross_gap",
    "cross_rank",
    "lexical_gap",
    "lexical_rank",
    "date_named",
    "words_covered",
    "concepts_covered",
    "stems_covered",
    "dense_sentence",
    "dense_sentence_gap",
    "dense_sentence_rank",
    "cross_sentence",
    "cross_sentence_gap",
    "cross_sentence_rank",
)
# Ranks past this many count as no rank (their reciprocal is ~0 anyway); keeps the sort partial.
RANKED = 100
# A score's gap below a signal's best is measured in standard deviations of its top scores, clipped.
GAP_OF_TOP = 20
GAP_CLIP = 5.0
CONFIDENCE_FEATURES: tuple[str, ...] = ("score", "margin", "dense", "cross", "coverage", "kind_missing")
FITTED = Path(__file__).with_name("data") / "fusion.json"

_FULL_DATE = re.compile(
    r"\d{4}年\d{1,2}月\d{1,2}日|[〇零一二三四五六七八九]{4}年[一二三四五六七八九十]{1,2}月[一二三四五六七八九十]{1,3}日"
)


@dataclass(frozen=True)
class GroupPriors:
    """What each clause group brings before any question, one entry per group of the index."""

    support: np.ndarray  # the share of the document's variants that carry it
    heading: np.ndarray  # a bare heading
    dated: np.ndarray  # it carries a full date
    document: np.ndarray  # its document's id
    genre: np.ndarray  # its document's genre ("law", "notice" or "")

    @classmethod
    def of(cls, groups: list[ClauseGroup], genres: dict[str, Genre] | None = None) -> GroupPriors:
        genres = genres or {}
        return cls(
            support=np.array([g.support.count / max(g.support.total, 1) for g in groups], np.float32),
            heading=np.array([g.kind == "heading" for g in groups], dtype=bool),
            dated=np.array([bool(_FULL_DATE.search(g.canonical)) for g in groups], dtype=bool),
            document=np.array([g.document for g in groups], dtype=object),
            genre=np.array([genres.get(g.document, "") for g in groups], dtype=object),
        )

    @cached_property
    def document_numbers(self) -> tuple[np.ndarray, int]:
        """Each group's document as a number 0..n-1, and n (for per-document maxima); once per index."""
        _names, numbers = np.unique(self.document.astype(str), return_inverse=True)
        return numbers, int(numbers.max()) + 1 if len(numbers) else 0


@dataclass(frozen=True)
class Signals:
    """One question's raw scores, one entry per clause group (cross is None without a second encoder,
    glosses None unless English words went untranslated; the sentence and coverage scores are 0
    where not given)."""

    dense: np.ndarray
    lexical: np.ndarray
    cross: np.ndarray | None = None
    glosses: np.ndarray | None = None
    dense_sentences: np.ndarray | None = None
    cross_sentences: np.ndarray | None = None
    words_covered: np.ndarray | None = None
    concepts_covered: np.ndarray | None = None
    stems_covered: np.ndarray | None = None


def features(question: AnalysedQuestion, priors: GroupPriors, signals: Signals) -> np.ndarray:
    """The feature matrix (groups x FEATURES) the fitted model scores."""
    count = len(signals.dense)
    dense = _minmax(signals.dense)
    cross = _minmax(signals.cross) if signals.cross is not None else np.zeros(count, np.float32)
    lexical = _scaled(signals.lexical)
    glosses = (
        _scaled(signals.glosses) * (1 - question.translated_share)
        if signals.glosses is not None
        else np.zeros(count, np.float32)
    )
    date = priors.dated & question.asks_when
    title = np.zeros(count, np.float32)
    if question.named_document is not None:
        document, share = question.named_document
        title = np.where(priors.document == document, share, 0.0)
    genre_match = np.zeros(count, np.float32)
    if question.asks_genre:
        genre_match = np.where(
            priors.genre == question.asks_genre, 1.0, np.where(priors.genre == "", 0.0, -1.0)
        )
    numbers, documents = priors.document_numbers
    per_document = [_document_best(values, numbers, documents) for values in (dense, cross, lexical)]
    standing = []
    for raw in (signals.dense, signals.cross, signals.lexical):
        standing += _standing(raw) if raw is not None else [np.zeros(count), np.zeros(count)]
    covered = [
        values if values is not None else np.zeros(count, np.float32)
        for values in (signals.words_covered, signals.concepts_covered, signals.stems_covered)
    ]
    by_sentence = []
    for raw in (signals.dense_sentences, signals.cross_sentences):
        if raw is None:
            by_sentence += [np.zeros(count, np.float32)] * 3
        else:
            by_sentence += [_minmax(raw), *_standing(raw)]
    return np.column_stack(
        [
            dense,
            cross,
            lexical,
            glosses,
            priors.support,
            priors.heading,
            date,
            title,
            genre_match,
            *per_document,
            *standing,
            date * np.maximum(title, genre_match > 0),
            *covered,
            *by_sentence,
        ]
    ).astype(np.float32)


def _standing(scores: np.ndarray) -> list[np.ndarray]:
    """A signal's gap below its best (in standard deviations of its top scores, clipped, as 0..-1) and
    the reciprocal of each group's rank on it (0 past `RANKED`)."""
    count = len(scores)
    shown = min(RANKED, count)
    top = np.argpartition(-scores, shown - 1)[:shown] if shown < count else np.arange(count)
    top = top[np.argsort(-scores[top], kind="stable")]
    reciprocal = np.zeros(count, np.float32)
    reciprocal[top] = 1.0 / (1.0 + np.arange(len(top)))
    best = scores[top[: min(GAP_OF_TOP, len(top))]]
    gap = (scores - best.max()) / (best.std() + 1e-6)
    return [np.maximum(gap, -GAP_CLIP) / GAP_CLIP, reciprocal]


@dataclass(frozen=True)
class Fusion:
    """The fitted ranking and answerability models (see the module docstring and `FITTED`)."""

    weights_zh: tuple[float, ...]
    weights_en: tuple[float, ...]
    confidence_coefficients: tuple[float, ...]
    confidence_intercept: float
    answerable_at: float = 0.5
    reranker: Reranker | None = None  # the second pass over the first `RERANKED` (index.query.rerank)

    @classmethod
    def load(cls, path: Path = FITTED) -> Fusion:
        return _load(path)

    @classmethod
    def from_dict(cls, data: dict) -> Fusion:
        if (
            tuple(data["features"]) != FEATURES
            or tuple(data["confidence"]["features"]) != CONFIDENCE_FEATURES
        ):
            raise ValueError("the fitted fusion names other features; run scripts/fit_fusion.py")
        return cls(
            weights_zh=tuple(data["weights"]["zh"]),
            weights_en=tuple(data["weights"]["en"]),
            confidence_coefficients=tuple(data["confidence"]["coefficients"]),
            confidence_intercept=float(data["confidence"]["intercept"]),
            answerable_at=float(data["confidence"]["answerable_at"]),
            reranker=Reranker.from_dict(data["reranker"]) if data.get("reranker") else None,
        )

    def weights(self, question: AnalysedQuestion) -> np.ndarray:
        return np.asarray(self.weights_en if question.english else self.weights_zh, np.float32)

    def rank(self, question: AnalysedQuestion, matrix: np.ndarray) -> np.ndarray:
        """Every group's fused score for this question, from its feature matrix."""
        return matrix @ self.weights(question)

    def confidence(self, values: tuple[float, ...]) -> float:
        """How likely the top result answers the question, from `CONFIDENCE_FEATURES`' values."""
        logit = sum(w * x for w, x in zip(self.confidence_coefficients, values, strict=True))
        return float(1 / (1 + np.exp(-(logit + self.confidence_intercept))))


@cache
def _load(path: Path) -> Fusion:
    return Fusion.from_dict(json.loads(path.read_text(encoding="utf-8")))


def _document_best(values: np.ndarray, numbers: np.ndarray, documents: int) -> np.ndarray:
    best = np.zeros(documents, np.float32)
    np.maximum.at(best, numbers, values)
    return best[numbers]


def _minmax(scores: np.ndarray) -> np.ndarray:
    low, high = float(scores.min()), float(scores.max())
    return (scores - low) / (high - low) if high > low else np.zeros_like(scores)


def _scaled(scores: np.ndarray) -> np.ndarray:
    high = float(scores.max())
    return scores / high if high > 0 else np.zeros_like(scores)
