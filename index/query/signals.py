"""The retrieval signals: each scores every clause group of one index for an analysed question.

- `DenseSignal`: the question's embedding against a vector store; a group's
  score is the best cosine of its readings. One over the first model (e5,
  reading the question with its Chinese expansion), one over the second,
  cross-lingual encoder (USE, reading the question as asked).
- `LexicalSignal`: BM25 over the groups' jieba tokens, one vote per concept.
- `GlossSignal`: BM25 over the groups' English dictionary glosses, for the
  English words nothing translated; `None` when there are none.

Each signal also says how much of the question the top groups cover (for the
answerability model), from the same per-token BM25 scores as its ranking: a
question's tokens are scored once per index (the `memo` a search passes both).
"""

from __future__ import annotations

import numpy as np

from index.embedding import Embedder
from index.published import LoadedIndex
from index.query.analysis import AnalysedQuestion
from index.retrieval.lexical import TokenScores
from index.vectors import VectorStore

# How many nearest vectors the store returns; groups beyond them score 0 on this signal.
CANDIDATES = 256


class DenseSignal:
    def __init__(
        self, index: LoadedIndex, embedder: Embedder, store: VectorStore, expanded: bool = True
    ) -> None:
        self.index = index
        self.embedder = embedder
        self.store = store
        self.expanded = expanded  # reads the question with its Chinese expansion (else as asked)

    def scores(self, question: AnalysedQuestion, documents: list[str] | None = None) -> np.ndarray:
        """Best cosine per group (only the named documents' groups are searched when given)."""
        text = question.embedded_text if self.expanded else question.text
        vector = self.embedder.embed_batch([text], "query")
        scores, ids = self.store.search(vector, CANDIDATES, documents)
        known, groups = self.index.groups_of(ids[0])
        by_group = np.zeros(len(self.index.groups), np.float32)
        np.maximum.at(by_group, groups, scores[0][known])
        return by_group


class LexicalSignal:
    def __init__(self, index: LoadedIndex) -> None:
        self.lexical = index.lexical

    def scores(self, question: AnalysedQuestion, memo: TokenScores) -> np.ndarray:
        return self.lexical.scores(question.concepts, memo)

    def coverage(self, question: AnalysedQuestion, rows: list[int], memo: TokenScores) -> np.ndarray:
        """Per row, the share of the question's own words (not its weaker translations) it contains."""
        return self.lexical.coverage([c for c in question.concepts if c.weight >= 1], rows, memo)


class GlossSignal:
    def __init__(self, index: LoadedIndex) -> None:
        self.glosses = index.glosses

    def scores(self, question: AnalysedQuestion, memo: TokenScores) -> np.ndarray | None:
        if not question.untranslated:
            return None
        return self.glosses.scores(question.untranslated_concepts, memo)

    def coverage(self, question: AnalysedQuestion, rows: list[int], memo: TokenScores) -> np.ndarray:
        """Per row, the share of the English question's stems its glosses contain."""
        return self.glosses.coverage(question.english_concepts, rows, memo)
