"""Hybrid retrieval over clause groups: dense (the vector store) and lexical (BM25) fused, support-aware."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np
from opencc import OpenCC

from index.answer import CountAnswer, asked_measure, count_answer, counted_phrase, is_count_question
from index.corpus.model import ClauseGroup
from index.corpus.normalize import is_cjk
from index.embedding import Embedder
from index.published import LoadedIndex
from index.retrieval.expansion import (
    ENGLISH_STOPWORDS,
    Expansion,
    QueryExpander,
    english_words,
    has_english,
    load_glossary,
    load_synonyms,
)
from index.retrieval.glosses import EnglishAnalyzer
from index.retrieval.homophones import Homophones
from index.retrieval.lexical import ChineseTokenizer, Concept

# Fusion: min-max normalised dense and lexical scores, weighted. Chosen by
# measurement on the dev questions against reciprocal-rank fusion (see README).
DENSE_WEIGHT = 0.5
# The words of an English question that the glossary and lexicon could not
# translate are scored against the clauses' dictionary glosses (BM25), weighted by
# how much is left untranslated: a question the glossary covers keeps the dense
# and lexical fusion, one about a document nobody wrote a glossary for leans on
# the glosses. 0.2 to 0.45 score alike on our sets (scripts/quality.py --sweep).
GLOSS_WEIGHT_MAX = 0.3
# When relevance is close, a clause more variants carry ranks first; a lone
# variant's clause loses at most this share of its score, so it is never hidden.
SUPPORT_WEIGHT = 0.15
# A bare heading states nothing; it ranks below the clauses under it.
HEADING_PENALTY = 0.85
CANDIDATES = 256
# A question that names a document by its title ("the Minors Protection Law", 未成年人保护法)
# lifts that document's clauses by up to this share, when it names one document best.
TITLE_BOOST = 0.2
# A question that asks when ("When was it issued?", 何时施行) lifts the clauses that carry a
# full date by this share: the date line of a notice, the article saying when a law takes effect.
# 0.15 to 0.5 score alike on our sets; at 0.5 a notice's date line answers "when was it issued".
DATE_BOOST = 0.5
_ASKS_WHEN = re.compile(
    r"\bwhen\b|\bwhat (?:date|day|year)\b|什么时候|何时|哪天|哪一天|哪年|日期|几月几日", re.IGNORECASE
)
_FULL_DATE = re.compile(
    r"\d{4}年\d{1,2}月\d{1,2}日|[〇零一二三四五六七八九]{4}年[一二三四五六七八九十]{1,2}月[一二三四五六七八九十]{1,3}日"
)
# Whether anything answers: a logistic model of the top clause's cosine with the
# question and the share of the question's words (or, for English, glosses) the
# best of the top three clauses contains. Fitted on our own question sets (50
# answerable, 20 that nothing here answers; scripts/quality.py --fit): leave-one-out,
# 18 of 20 unanswerable caught and 1 of 50 answerable flagged.
CONFIDENCE_COEFFICIENTS = (23.39, 6.19)
CONFIDENCE_INTERCEPT = -22.04
ANSWERABLE_AT = 0.5


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


class Searcher:
    """Answers questions against one loaded index; built once per index and swapped with it."""

    def __init__(self, index: LoadedIndex, embedder: Embedder) -> None:
        self.index = index
        self.embedder = embedder
        self.tokenizer = ChineseTokenizer(index.tokenizer_words)
        self.analyzer = EnglishAnalyzer()
        self.simplified = OpenCC("t2s").convert
        self.expander = QueryExpander(load_glossary(), index.lexicon)
        self.synonyms = load_synonyms()
        self.homophones = Homophones(index.lexical.vocabulary)
        self._groups = index.groups
        self._document_of = np.array([g.document for g in self._groups], dtype=object)
        self._support = np.array(
            [g.support.count / max(g.support.total, 1) for g in self._groups], np.float32
        )
        self._heading = np.array([g.kind == "heading" for g in self._groups])
        self._dated = np.array([bool(_FULL_DATE.search(g.canonical)) for g in self._groups])

    def named_document(self, question: str) -> tuple[str, float] | None:
        """The document whose title the question names best (at least half its words), if one stands out."""
        if len(self.index.title_words) < 2:
            return None
        asked = set(self.tokenizer.tokens(question))
        if has_english(question):
            asked |= set(self.analyzer.terms(question))
        shares = sorted(
            (
                (sum(1 for forms in words if asked & set(forms)) / len(words), document)
                for document, words in self.index.title_words.items()
                if words
            ),
            reverse=True,
        )
        if not shares or shares[0][0] < 0.5 or (len(shares) > 1 and shares[1][0] == shares[0][0]):
            return None
        return shares[0][1], shares[0][0]

    def concepts(self, question: str, expansion: Expansion) -> list[Concept]:
        """One concept per Chinese word of the question (with its sub-words and synonyms), one per translation."""
        found = []
        for word in self.tokenizer.words(question):
            alternatives = [word, *self.synonyms.get(word, [])]
            corrected = self.homophones.correction(word)
            if corrected:
                alternatives.append(corrected)
            found.append(Concept([t for alt in alternatives for t in self.tokenizer.tokens(alt)] or [word]))
        for _phrase, terms, weight in expansion.matched:
            found.append(Concept([t for term in terms for t in self.tokenizer.tokens(term)], weight))
        return found

    def dense_scores(
        self, question: str, expansion: Expansion, documents: list[str] | None = None
    ) -> np.ndarray:
        """Best cosine per group for the question, with its Chinese expansion appended when it has one.

        Measured: the expanded question alone ranks as well as the original and
        the expanded one together, at half the embedding cost.
        """
        query = f"{question} {expansion.text}" if expansion.terms else question
        vector = self.embedder.embed_batch([query], "query")
        scores, ids = self.index.store.search(vector, CANDIDATES, documents)
        known, groups = self.index.groups_of(ids[0])
        by_group = np.zeros(len(self._groups), np.float32)
        np.maximum.at(by_group, groups, scores[0][known])
        return by_group

    def search(self, question: str, top_k: int = 5, documents: list[str] | None = None) -> SearchResult:
        """The top clause groups for a question, optionally only from the named documents."""
        # The model reads the question as written (NFKC only); the tokenizer normalises for itself.
        question = unicodedata.normalize("NFKC", question).strip()
        if any(is_cjk(ch) for ch in question):
            question = self.simplified(question)  # traditional characters read as simplified
        expansion = self.expander.expand(question)
        concepts = self.concepts(question, expansion)
        if not self._groups:
            return SearchResult(question, [], None, expansion, concepts, 0.0, False)
        dense = self.dense_scores(question, expansion, documents)
        lexical = self.index.lexical.scores(concepts)
        glosses = None
        if has_english(question):
            untranslated, share = untranslated_words(question, expansion)
            if untranslated:
                scores = self.index.glosses.scores(self.analyzer.concepts(" ".join(untranslated)))
                glosses = (scores, GLOSS_WEIGHT_MAX * (1 - share))
        fused = fuse(dense, lexical, self._support, self._heading, glosses)
        if _ASKS_WHEN.search(question):
            fused = np.where(self._dated, fused * (1 + DATE_BOOST), fused)
        named = self.named_document(question)
        if named is not None:
            document, share = named
            fused = np.where(self._document_of == document, fused * (1 + TITLE_BOOST * share), fused)
        candidates = np.arange(len(self._groups))
        if documents is not None:
            candidates = candidates[np.isin(self._document_of, list(documents))]
        order = candidates[np.argsort(-fused[candidates], kind="stable")][:top_k]
        hits = [Hit(self._groups[i], float(fused[i]), float(dense[i]), float(lexical[i])) for i in order]
        confidence = self.confidence(question, hits, [int(i) for i in order[:3]], concepts)
        answerable = confidence >= ANSWERABLE_AT
        answer = None
        # No answer span from a passage that does not answer the question.
        if hits and answerable and is_count_question(question):
            answer = self._count_answer(question, hits[0].group, concepts)
        return SearchResult(question, hits, answer, expansion, concepts, confidence, answerable)

    def confidence(self, question: str, hits: list[Hit], top: list[int], concepts: list[Concept]) -> float:
        """How likely the top result answers the question (see CONFIDENCE_COEFFICIENTS)."""
        if not hits:
            return 0.0
        features = self.confidence_features(question, hits, top, concepts)
        logit = sum(w * x for w, x in zip(CONFIDENCE_COEFFICIENTS, features, strict=True))
        return float(1 / (1 + np.exp(-(logit + CONFIDENCE_INTERCEPT))))

    def confidence_features(
        self, question: str, hits: list[Hit], top: list[int], concepts: list[Concept]
    ) -> tuple[float, float]:
        """The top clause's cosine, and the share of the question the best of the top clauses covers."""
        if has_english(question):
            coverage = self.index.glosses.coverage(self.analyzer.concepts(question), top)
        else:
            coverage = self.index.lexical.coverage([c for c in concepts if c.weight >= 1], top)
        return hits[0].dense, float(coverage.max()) if len(coverage) else 0.0

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


def fuse(
    dense: np.ndarray,
    lexical: np.ndarray,
    support: np.ndarray,
    heading: np.ndarray,
    glosses: tuple[np.ndarray, float] | None = None,
) -> np.ndarray:
    """Relevance from the rankings (glosses with their weight), then the support prior and the heading penalty."""
    fused = DENSE_WEIGHT * _minmax(dense) + (1 - DENSE_WEIGHT) * _scaled(lexical)
    if glosses is not None:
        scores, weight = glosses
        fused = (1 - weight) * fused + weight * _scaled(scores)
    fused = fused * (1 - SUPPORT_WEIGHT * (1 - support))
    return np.where(heading, fused * HEADING_PENALTY, fused)


def _minmax(scores: np.ndarray) -> np.ndarray:
    low, high = float(scores.min()), float(scores.max())
    return (scores - low) / (high - low) if high > low else np.zeros_like(scores)


def _scaled(scores: np.ndarray) -> np.ndarray:
    high = float(scores.max())
    return scores / high if high > 0 else np.zeros_like(scores)


def untranslated_words(question: str, expansion: Expansion) -> tuple[list[str], float]:
    """The question's content words no glossary or lexicon phrase translated, and the share that was
    translated (a lexicon match counts half)."""
    words = [w for w in english_words(question) if w not in ENGLISH_STOPWORDS]
    if not words:
        return [], 1.0
    translated = {word for phrase, _terms, _weight in expansion.matched for word in phrase.split()}
    covered = sum(len(phrase.split()) * weight for phrase, _terms, weight in expansion.matched)
    return [w for w in words if w not in translated], min(1.0, covered / len(words))
