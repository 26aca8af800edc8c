"""The question pipeline over one loaded index: analyse, score with each signal, fuse, rank, judge, answer."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from index.corpus.model import ClauseGroup
from index.embedding import Embedder, load_second_embedder
from index.published import IndexUnavailable, LoadedIndex
from index.query.analysis import AnalysedQuestion, QuestionAnalyzer
from index.query.answer import CountAnswer, asked_measure, count_answer, counted_phrase
from index.query.fusion import Fusion, GroupPriors, Signals, features
from index.query.genre import document_genre
from index.query.rerank import RERANKED, candidate_features
from index.query.signals import DenseSignal, GlossSignal, LexicalSignal
from index.retrieval.expansion import Expansion, has_english
from index.retrieval.lexical import Concept

# The answerability model reads the best coverage among this many top results.
COVERAGE_OF_TOP = 3


@dataclass
class Hit:
    group: ClauseGroup
    score: float
    dense: float
    lexical: float


@dataclass
class SearchResult:
    question: str
    hits: list[Hit]
    answer: CountAnswer | None
    expansion: Expansion
    concepts: list[Concept]
    confidence: float = 0.0  # that the top result answers the question, 0 to 1
    answerable: bool = False  # whether the corpus seems to answer it at all
    features: tuple[float, ...] = field(default=())  # what confidence was judged from (CONFIDENCE_FEATURES)


class Searcher:
    """Answers questions against one loaded index; built once per index and swapped with it."""

    def __init__(self, index: LoadedIndex, embedder: Embedder, fusion: Fusion | None = None) -> None:
        self.index = index
        self.embedder = embedder
        self.fusion = fusion or Fusion.load()
        self.analyzer = QuestionAnalyzer(
            index.tokenizer_words, index.lexicon, index.lexical.vocabulary, index.title_words
        )
        self.dense = DenseSignal(index, embedder, index.store)
        self.cross = self._second_signal(index)
        self.lexical = LexicalSignal(index)
        self.glosses = GlossSignal(index)
        self._groups = index.groups
        self.priors = GroupPriors.of(self._groups, {d.document: document_genre(d) for d in index.documents})

    @staticmethod
    def _second_signal(index: LoadedIndex) -> DenseSignal | None:
        """The second encoder's signal when the build has its vectors (the model the build recorded)."""
        second = index.manifest.second
        if not second or index.second_store is None:
            return None
        try:
            embedder = load_second_embedder(second["name"])
        except ValueError as exc:  # built by a version that knows another second model
            raise IndexUnavailable(f"{index.path}: {exc}; run `concord build`") from None
        if embedder.model_id != second["model"]:
            raise IndexUnavailable(
                f"{index.path} holds vectors of {second['model']!r} but {embedder.model_id!r} is "
                "installed; run `concord build`"
            )
        return DenseSignal(index, embedder, index.second_store, expanded=False)

    def analyse(self, question: str) -> AnalysedQuestion:
        return self.analyzer.analyse(question)

    def signals(self, asked: AnalysedQuestion, documents: list[str] | None = None) -> Signals:
        """Every signal's raw scores for an analysed question (each signal's ranking and coverage
        read the same per-token scores, memoised for this question)."""
        memos: dict = {"lexical": {}, "glosses": {}}
        dense, dense_sentences = self.dense.scores(asked, documents)
        cross, cross_sentences = (
            self.cross.scores(asked, documents) if self.cross is not None else (None, None)
        )
        lexical = self.lexical.scores(asked, memos["lexical"])
        words_covered, concepts_covered = self.lexical.coverage(asked, memos["lexical"])
        signals = Signals(
            dense=dense,
            lexical=lexical,
            cross=cross,
            # None unless English words went untranslated
            glosses=self.glosses.scores(asked, memos["glosses"]),
            dense_sentences=dense_sentences,
            cross_sentences=cross_sentences,
            words_covered=words_covered,
            concepts_covered=concepts_covered,
            stems_covered=self.glosses.coverage(asked, memos["glosses"]),
        )
        return signals

    def features(self, asked: AnalysedQuestion, signals: Signals) -> np.ndarray:
        """The fusion's feature matrix for this question (one row per clause group)."""
        return features(asked, self.priors, signals)

    def search(self, question: str, top_k: int = 5, documents: list[str] | None = None) -> SearchResult:
        """The top clause groups for a question, optionally only from the named documents."""
        asked = self.analyzer.analyse(question)
        if not self._groups:
            return SearchResult(asked.text, [], None, asked.expansion, asked.concepts)
        signals = self.signals(asked, documents)
        matrix = self.features(asked, signals)
        fused = self.fusion.rank(asked, matrix)
        candidates = np.arange(len(self._groups))
        if documents is not None:
            candidates = candidates[np.isin(self.priors.document, list(documents))]
        linear = candidates[np.argsort(-fused[candidates], kind="stable")]
        order, scores = self._reranked(asked, matrix, fused, linear)
        # At least the answerability model's rows, so its judgement does not depend on top_k.
        order = order[: max(top_k, COVERAGE_OF_TOP)]
        hits = [
            Hit(self._groups[i], float(scores[i]), float(signals.dense[i]), float(signals.lexical[i]))
            for i in order
        ]
        result = SearchResult(asked.text, hits[:top_k], None, asked.expansion, asked.concepts)
        if not hits:
            return result
        top = [int(i) for i in order[:COVERAGE_OF_TOP]]
        # An English question's coverage is its stems' in the glosses; a Chinese one's, its own words'.
        covered = signals.stems_covered if asked.english else signals.words_covered
        coverage = covered[top] if covered is not None else np.zeros(0)
        first = int(order[0])
        # How strong the best match is, on the linear model's scale (the trees only re-order).
        best = float(fused[linear[0]])
        result.features = (
            best,
            best - float(fused[linear[1]]) if len(linear) > 1 else best,
            float(signals.dense[first]),
            float(signals.cross[first]) if signals.cross is not None else 0.0,
            float(coverage.max()) if len(coverage) else 0.0,
            # Asked for a kind of value (an age, a sum, a length of time) the first result does not
            # state: the passage a person reads first does not answer, however close its words.
            # (Read over the top three, a penalty clause's 万元 anywhere "answered" every fee question:
            # held out, 88 of 142 unanswerable caught against 92 with the first result alone.)
            float(asked.asks_for is not None and not asked.asks_for.stated_in(self._groups[first].canonical)),
        )
        result.confidence = self.fusion.confidence(result.features)
        result.answerable = result.confidence >= self.fusion.answerable_at
        # No answer span from a passage that does not answer the question.
        if result.answerable and asked.asks_count and result.hits:
            result.answer = self._count_answer(asked, result.hits[0].group)
        return result

    def _reranked(
        self, asked: AnalysedQuestion, matrix: np.ndarray, fused: np.ndarray, linear: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The candidates in their final order, and every group's score in it (higher first).

        The trees re-order the linear model's first `RERANKED`, and their log-odds are those
        candidates' scores; the rest follow in the linear order, scored below the last of them by
        their linear gap, so scores fall as ranks do.
        """
        reranker = self.fusion.reranker
        if reranker is None or not len(linear):
            return linear, fused
        head, tail = linear[:RERANKED], linear[RERANKED:]
        log_odds = reranker.log_odds(candidate_features(matrix, fused, head, asked.english))
        ranked = np.argsort(-log_odds, kind="stable")
        scores = np.empty_like(fused)
        scores[head] = log_odds
        scores[tail] = log_odds.min() - (fused[head[-1]] - fused[tail])
        return np.concatenate([head[ranked], tail]), scores

    def _count_answer(self, asked: AnalysedQuestion, group: ClauseGroup) -> CountAnswer | None:
        phrase = counted_phrase(asked.text)
        tokenizer = self.analyzer.tokenizer
        if has_english(phrase):
            expanded = self.analyzer.expander.expand(phrase)
            counted = [t for terms in expanded.terms for t in tokenizer.tokens(terms)]
        else:
            counted = tokenizer.tokens(phrase)
        terms = sorted({t for c in asked.concepts for t in c.tokens}, key=len, reverse=True)
        return count_answer(group, terms, counted, asked_measure(asked.text))
