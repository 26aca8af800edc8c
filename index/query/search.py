"""The question pipeline over one loaded index: analyse, score with each signal, fuse, rank, judge, answer."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from index.corpus.model import ClauseGroup
from index.embedding import Embedder
from index.published import LoadedIndex
from index.query.analysis import AnalysedQuestion, QuestionAnalyzer
from index.query.answer import CountAnswer, asked_measure, count_answer, counted_phrase
from index.query.fusion import Fusion, GroupPriors
from index.query.signals import DenseSignal, GlossSignal, LexicalSignal
from index.retrieval.expansion import Expansion, has_english
from index.retrieval.lexical import Concept, TokenScores

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
    features: tuple[float, float] = field(default=(0.0, 0.0))  # what confidence was judged from


class Searcher:
    """Answers questions against one loaded index; built once per index and swapped with it."""

    def __init__(self, index: LoadedIndex, embedder: Embedder, fusion: Fusion | None = None) -> None:
        self.index = index
        self.embedder = embedder
        self.fusion = fusion or Fusion()
        self.analyzer = QuestionAnalyzer(
            index.tokenizer_words, index.lexicon, index.lexical.vocabulary, index.title_words
        )
        self.dense = DenseSignal(index, embedder)
        self.lexical = LexicalSignal(index)
        self.glosses = GlossSignal(index)
        self._groups = index.groups
        self.priors = GroupPriors.of(self._groups)

    def analyse(self, question: str) -> AnalysedQuestion:
        return self.analyzer.analyse(question)

    def search(self, question: str, top_k: int = 5, documents: list[str] | None = None) -> SearchResult:
        """The top clause groups for a question, optionally only from the named documents."""
        asked = self.analyzer.analyse(question)
        if not self._groups:
            return SearchResult(asked.text, [], None, asked.expansion, asked.concepts)
        lexical_memo: TokenScores = {}
        gloss_memo: TokenScores = {}
        dense = self.dense.scores(asked, documents)
        lexical = self.lexical.scores(asked, lexical_memo)
        glosses = self.glosses.scores(asked, gloss_memo)  # None unless English words went untranslated
        fused = self.fusion.rank(asked, self.priors, dense, lexical, glosses)
        candidates = np.arange(len(self._groups))
        if documents is not None:
            candidates = candidates[np.isin(self.priors.document, list(documents))]
        order = candidates[np.argsort(-fused[candidates], kind="stable")][:top_k]
        hits = [Hit(self._groups[i], float(fused[i]), float(dense[i]), float(lexical[i])) for i in order]
        result = SearchResult(asked.text, hits, None, asked.expansion, asked.concepts)
        if not hits:
            return result
        top = [int(i) for i in order[:COVERAGE_OF_TOP]]
        if asked.english:
            coverage = self.glosses.coverage(asked, top, gloss_memo)
        else:
            coverage = self.lexical.coverage(asked, top, lexical_memo)
        result.features = (hits[0].dense, float(coverage.max()) if len(coverage) else 0.0)
        result.confidence = self.fusion.confidence(result.features)
        result.answerable = result.confidence >= self.fusion.answerable_at
        # No answer span from a passage that does not answer the question.
        if result.answerable and asked.asks_count:
            result.answer = self._count_answer(asked, hits[0].group)
        return result

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
