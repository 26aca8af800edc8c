"""The retrieval signals: each scores every clause group of one index for an analysed question.

- `DenseSignal`: the question's embedding against a vector store; a group's
  score is the best cosine of its readings, and its sentence score the best
  cosine of its canonical reading's sentences (each embedded on its own). One
  over the first model (e5, reading the question with its Chinese expansion),
  one over the second, cross-lingual encoder (USE, reading the question as
  asked).
- `LexicalSignal`: BM25 over the groups' jieba tokens, one vote per concept.
- `GlossSignal`: BM25 over the groups' English dictionary glosses, for the
  English words nothing translated; `None` when there are none.

The lexical signals also say how much of the question each group covers (a
ranking feature, and for the answerability model), from the same per-token BM25
scores as their ranking: a question's tokens are scored once per index (the
`memo` a search passes both).
"""

from __future__ import annotations

import numpy as np

from index.embedding import Embedder
from index.published import LoadedIndex
from index.query.analysis import AnalysedQuestion
from index.retrieval.lexical import TokenScores
from index.vectors import VectorStore

# How many nearest vectors the store returns (readings' and sentences' together); groups beyond
# them score 0 on this signal.
CANDIDATES = 512


class DenseSignal:
    def __init__(
        self, index: LoadedIndex, embedder: Embedder, store: VectorStore, expanded: bool = True
    ) -> None:
        self.index = index
        self.embedder = embedder
        self.store = store
        self.expanded = expanded  # reads the question with its Chinese expansion (else as asked)

    def scores(
        self, question: AnalysedQuestion, documents: list[str] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Best cosine per group over its readings, and over its sentences (only the named documents'
        groups are searched when given)."""
        text = question.embedded_text if self.expanded else question.text
        vector = self.embedder.embed_batch([text], "query")
        scores, ids = self.store.search(vector, CANDIDATES, documents)
        known, groups, sentences = self.index.groups_of(ids[0])
        found = scores[0][known]
        by_reading = np.zeros(len(self.index.groups), np.float32)
        by_sentence = np.zeros(len(self.index.groups), np.float32)
        np.maximum.at(by_reading, groups[~sentences], found[~sentences])
        np.maximum.at(by_sentence, groups[sentences], found[sentences])
        return by_reading, by_sentence


class LexicalSignal:
    def __init__(self, index: LoadedIndex) -> None:
        self.lexical = index.lexical

    def scores(self, question: AnalysedQuestion, memo: TokenScores) -> np.ndarray:
        return self.lexical.scores(question.concepts, memo)

    def coverage(self, question: AnalysedQuestion, memo: TokenScores) -> tuple[np.ndarray, np.ndarray]:
        """Per group, the share of the question's own words (not its weaker translations) it contains,
        and the share of all its concepts (translations too)."""
        own = [c for c in question.concepts if c.weight >= 1]
        return self.lexical.coverage(own, memo), self.lexical.coverage(question.concepts, memo)


class GlossSignal:
    def __init__(self, index: LoadedIndex) -> None:
        self.glosses = index.glosses

    def scores(self, question: AnalysedQuestion, memo: TokenScores) -> np.ndarray | None:
        if not question.untranslated:
            return None
        return self.glosses.scores(question.untranslated_concepts, memo)

    def coverage(self, question: AnalysedQuestion, memo: TokenScores) -> np.ndarray:
        """Per group, the share of the English question's stems its glosses contain (0 for a Chinese
        question)."""
        if not question.english:
            return np.zeros(self.glosses.size, np.float32)
        return self.glosses.coverage(question.english_concepts, memo)
