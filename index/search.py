"""Hybrid retrieval over clause groups: dense (FAISS) and lexical (BM25) fused, support-aware."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np

from index.answer import CountAnswer, asked_measure, count_answer, counted_phrase, is_count_question
from index.build import LoadedIndex
from index.corpus.model import ClauseGroup
from index.retrieval.embedder import Embedder
from index.retrieval.expansion import Expansion, QueryExpander, has_english, load_glossary, load_synonyms
from index.retrieval.lexical import ChineseTokenizer, Concept

# Fusion: min-max normalised dense and lexical scores, weighted. Chosen by
# measurement on the dev questions against reciprocal-rank fusion (see README).
DENSE_WEIGHT = 0.5
# When relevance is close, a clause more variants carry ranks first; a lone
# variant's clause loses at most this share of its score, so it is never hidden.
SUPPORT_WEIGHT = 0.15
# A bare heading states nothing; it ranks below the clauses under it.
HEADING_PENALTY = 0.85
CANDIDATES = 256


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


class Searcher:
    """Answers questions against one loaded index; built once per index and swapped with it."""

    def __init__(self, index: LoadedIndex, embedder: Embedder) -> None:
        self.index = index
        self.embedder = embedder
        self.tokenizer = ChineseTokenizer(index.tokenizer_words)
        self.expander = QueryExpander(load_glossary(), index.lexicon)
        self.synonyms = load_synonyms()
        self._groups = index.groups
        self._document_of = np.array([g.document for g in self._groups], dtype=object)
        self._support = np.array(
            [g.support.count / max(g.support.total, 1) for g in self._groups], np.float32
        )
        self._heading = np.array([g.kind == "heading" for g in self._groups])

    def concepts(self, question: str, expansion: Expansion) -> list[Concept]:
        """One concept per Chinese word of the question (with its sub-words and synonyms), one per translation."""
        found = []
        for word in self.tokenizer.words(question):
            alternatives = [word, *self.synonyms.get(word, [])]
            found.append(Concept([t for alt in alternatives for t in self.tokenizer.tokens(alt)] or [word]))
        for _phrase, terms, weight in expansion.matched:
            found.append(Concept([t for term in terms for t in self.tokenizer.tokens(term)], weight))
        return found

    def dense_scores(self, question: str, expansion: Expansion) -> np.ndarray:
        """Best cosine per group for the question, with its Chinese expansion appended when it has one.

        Measured: the expanded question alone ranks as well as the original and
        the expanded one together, at half the embedding cost.
        """
        query = f"{question} {expansion.text}" if expansion.terms else question
        scores, ids = self.index.store.search(self.embedder.embed_batch([query], "query"), CANDIDATES)
        valid = ids[0] >= 0
        by_group = np.zeros(len(self._groups), np.float32)
        np.maximum.at(by_group, self.index.vector_groups[ids[0][valid]], scores[0][valid])
        return by_group

    def search(self, question: str, top_k: int = 5, documents: list[str] | None = None) -> SearchResult:
        """The top clause groups for a question, optionally only from the named documents."""
        # The model reads the question as written (NFKC only); the tokenizer normalises for itself.
        question = unicodedata.normalize("NFKC", question).strip()
        expansion = self.expander.expand(question)
        concepts = self.concepts(question, expansion)
        if not self._groups:
            return SearchResult(question, [], None, expansion, concepts)
        dense = self.dense_scores(question, expansion)
        lexical = self.index.lexical.scores(concepts)
        fused = fuse(dense, lexical, self._support, self._heading)
        candidates = np.arange(len(self._groups))
        if documents is not None:
            candidates = candidates[np.isin(self._document_of, list(documents))]
        order = candidates[np.argsort(-fused[candidates], kind="stable")][:top_k]
        hits = [Hit(self._groups[i], float(fused[i]), float(dense[i]), float(lexical[i])) for i in order]
        answer = None
        if hits and is_count_question(question):
            answer = self._count_answer(question, hits[0].group, concepts)
        return SearchResult(question, hits, answer, expansion, concepts)

    def _count_answer(self, question: str, group: ClauseGroup, concepts: list[Concept]) -> CountAnswer | None:
        phrase = counted_phrase(question)
        if has_english(phrase):
            counted = [
                t for terms in self.expander.expand(phrase).terms for t in self.tokenizer.tokens(terms)
            ]
        else:
            counted = self.tokenizer.tokens(phrase)
        terms = sorted({t for c in concepts for t in c.tokens}, key=len, reverse=True)
        return count_answer(group, terms, counted, asked_measure(question))


def fuse(dense: np.ndarray, lexical: np.ndarray, support: np.ndarray, heading: np.ndarray) -> np.ndarray:
    """Relevance from both rankings, then the support prior and the heading penalty."""
    fused = DENSE_WEIGHT * _minmax(dense) + (1 - DENSE_WEIGHT) * _scaled(lexical)
    fused = fused * (1 - SUPPORT_WEIGHT * (1 - support))
    return np.where(heading, fused * HEADING_PENALTY, fused)


def _minmax(scores: np.ndarray) -> np.ndarray:
    low, high = float(scores.min()), float(scores.max())
    return (scores - low) / (high - low) if high > low else np.zeros_like(scores)


def _scaled(scores: np.ndarray) -> np.ndarray:
    high = float(scores.max())
    return scores / high if high > 0 else np.zeros_like(scores)
