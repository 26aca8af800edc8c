"""Chinese lexical search: jieba search-mode tokens scored with BM25 (bm25s)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.corpus.normalize import normalize_text

# Function words and question words: they say what is asked, not what about.
STOPWORDS = frozenset(
    [
        "的",
        "了",
        "是",
        "在",
        "和",
        "与",
        "及",
        "等",
        "要",
        "将",
        "会",
        "有",
        "对",
        "为",
        "把",
        "被",
        "由",
        "之",
        "其",
        "或",
        "并",
        "以",
        "于",
        "向",
        "从",
        "到",
        "也",
        "都",
        "就",
        "而",
        "各",
        "该",
        "这",
        "那",
        "哪些",
        "哪",
        "什么",
        "多少",
        "几",
        "如何",
        "怎么",
        "怎样",
        "吗",
        "呢",
        "谁",
        "是否",
        "哪个",
        "哪里",
        "方面",
        "有关",
        "进行",
        "一批",
    ]
)


class ChineseTokenizer:
    """jieba in search mode (a compound and its parts), with domain words added so they stay whole."""

    def __init__(self, domain_words: Iterable[str] = ()) -> None:
        import jieba

        jieba.setLogLevel(logging.WARNING)
        self._jieba = jieba.Tokenizer()
        self._jieba.initialize()
        for word in domain_words:
            if len(word) >= 2:
                self._jieba.add_word(word, freq=2000)

    def tokens(self, text: str) -> list[str]:
        """Search-mode tokens: every word, and the shorter words inside a long one."""
        return [t for t in self._jieba.cut_for_search(normalize_text(text).lower(), HMM=True) if _useful(t)]

    def words(self, text: str) -> list[str]:
        """Precise-mode words: one per concept in a question."""
        return [t for t in self._jieba.cut(normalize_text(text).lower(), HMM=True) if _useful(t)]


def _useful(token: str) -> bool:
    token = token.strip()
    return bool(token) and token not in STOPWORDS and any(ch.isalnum() for ch in token)


@dataclass
class Concept:
    """One thing a question asks about: alternative tokens (sub-words, synonyms, translations) and a weight."""

    tokens: list[str]
    weight: float = 1.0


# BM25 length normalisation. Documents are clauses, not pages: a long clause
# is fuller, not padded, so length is discounted less than the usual 0.75.
BM25_K1 = 1.5
BM25_B = 0.2


class LexicalIndex:
    """BM25 over tokenised documents; queries are lists of concepts."""

    dir_name = "lexical"

    def __init__(self, retriever: object | None) -> None:
        self._retriever = retriever  # None for an empty corpus, which bm25s cannot index

    @classmethod
    def build(cls, documents: list[list[str]]) -> LexicalIndex:
        import bm25s

        if not documents:
            return cls(None)
        retriever = bm25s.BM25(k1=BM25_K1, b=BM25_B)
        retriever.index(documents, show_progress=False)
        return cls(retriever)

    @property
    def vocabulary(self) -> set[str]:
        return {t for t in self._retriever.vocab_dict if t} if self._retriever else set()

    @property
    def size(self) -> int:
        return int(self._retriever.scores["num_docs"]) if self._retriever else 0

    def scores(self, concepts: list[Concept]) -> np.ndarray:
        """Disjunction-max BM25: a concept scores its best token, concepts add up.

        Summing every token would let a concept with many synonyms or sub-words
        outweigh the others; the maximum keeps each concept one vote.
        """
        total = np.zeros(self.size, dtype=np.float32)
        if self._retriever is None:
            return total
        vocab = self._retriever.vocab_dict
        for concept in concepts:
            known = [t for t in dict.fromkeys(concept.tokens) if t in vocab]
            if known and concept.weight > 0:
                best = np.max([self._retriever.get_scores([t]) for t in known], axis=0)
                total += concept.weight * best
        return total

    def save(self, path: Path) -> None:
        if self._retriever is None:
            (path / self.dir_name).mkdir()
            (path / self.dir_name / "empty").write_text("no documents\n")
            return
        self._retriever.save(str(path / self.dir_name), show_progress=False)

    @classmethod
    def load(cls, path: Path) -> LexicalIndex:
        import bm25s

        if (path / cls.dir_name / "empty").exists():
            return cls(None)
        return cls(bm25s.BM25.load(str(path / cls.dir_name), show_progress=False))
