"""Chinese lexical search: jieba search-mode tokens scored with BM25 (bm25s)."""

from __future__ import annotations

import logging
import re
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

# How people ask, in everyday Chinese: pronouns, particles, A-not-A question forms, modal and filler
# verbs ("通知里有没有提到给孩子搞职业启蒙教育？" asks about 通知, 孩子 and 职业启蒙教育). Dropped from a
# question's words and not from the index: in a clause the same characters can carry meaning, and the
# index stays as built.
QUESTION_FILLERS = frozenset(
    [
        "我",
        "我们",
        "你",
        "你们",
        "他",
        "她",
        "他们",
        "她们",
        "咱",
        "咱们",
        "人家",
        "这个",
        "那个",
        "这部",
        "这种",
        "啥",
        "咋",
        "咋办",
        "怎么办",
        "啥样",
        "什么样",
        "为什么",
        "有没有",
        "能不能",
        "可不可以",
        "要不要",
        "会不会",
        "算不算",
        "是不是",
        "行不行",
        "用不用",
        "需不需要",
        "能",
        "能够",
        "可以",
        "不能",
        "不",
        "还",
        "还是",
        "又",
        "才",
        "得",
        "就是",
        "真的",
        "到底",
        "一般",
        "一下",
        "给",
        "跟",
        "按",
        "里",
        "上",
        "来",
        "去",
        "说",
        "提到",
        "提",
        "讲",
        "搞",
        "弄",
        "吧",
        "啊",
        "呀",
        "嘛",
        "么",
        "呗",
        "啦",
        "哦",
    ]
)


class ChineseTokenizer:
    """jieba in search mode (a compound and its parts), with domain words added so they stay whole."""

    def __init__(self, domain_words: Iterable[str] = ()) -> None:
        import jieba

        jieba.setLogLevel(logging.WARNING)
        self._jieba = jieba.Tokenizer()
        self._jieba.initialize()
        self._domain_words = {word for word in domain_words if len(word) >= 2}
        for word in self._domain_words:
            self._jieba.add_word(word, freq=2000)

    def is_common_word(self, word: str) -> bool:
        """Whether jieba's general dictionary has the word (the domain words added here do not count)."""
        return self._jieba.FREQ.get(word, 0) > 0 and word not in self._domain_words

    def tokens(self, text: str) -> list[str]:
        """Search-mode tokens: every word, and the shorter words inside a long one; numerals as digits."""
        cut = self._jieba.cut_for_search(normalize_text(text).lower(), HMM=True)
        tokens = []
        for token in cut:
            if _useful(token):
                tokens.append(numeral_form(token))
                # A number inside a word (未满十六周岁) also stands alone, to meet "16" in a question.
                tokens += [numeral_form(run) for run in _NUMERAL_RUN.findall(token) if run != token]
        return tokens

    def words(self, text: str) -> list[str]:
        """Precise-mode words: one per concept in a question; numerals as digits."""
        return [
            numeral_form(t) for t in self._jieba.cut(normalize_text(text).lower(), HMM=True) if _useful(t)
        ]


_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10_000}
# Two or more numeral characters, or one before a unit (三年, 五所): a lone 一 elsewhere
# (统一, 一批) is not a number anyone asks about.
_NUMERAL_RUN = re.compile(
    "[零〇一二两三四五六七八九十百千万]{2,}|[一二两三四五六七八九十](?=[年月日岁个所人天次倍项条])"
)


def numeral_form(token: str) -> str:
    """A token written in Chinese numerals as digits (十六 -> 16, 一百 -> 100, 二〇二一 -> 2021), else itself.

    Both sides pass through here, so 十六周岁 in a statute meets "16" in a question.
    """
    if not token or any(ch not in _DIGITS and ch not in _UNITS for ch in token):
        return token
    if not any(ch in _UNITS for ch in token):
        return "".join(str(_DIGITS[ch]) for ch in token)
    total = section = 0
    digit: int | None = None
    for ch in token:
        if ch in _DIGITS:
            digit = _DIGITS[ch]
        elif _UNITS[ch] == 10_000:
            total += (section + (digit or 0)) * 10_000
            section, digit = 0, None
        else:
            section += (1 if digit is None else digit) * _UNITS[ch]
            digit = None
    return str(total + section + (digit or 0))


def _useful(token: str) -> bool:
    token = token.strip()
    return bool(token) and token not in STOPWORDS and any(ch.isalnum() for ch in token)


@dataclass
class Concept:
    """One thing a question asks about: alternative tokens (sub-words, synonyms, translations) and a weight."""

    tokens: list[str]
    weight: float = 1.0


# One question's per-token BM25 scores over one index, kept while it is answered: its ranking
# and its coverage read the same tokens.
TokenScores = dict[str, np.ndarray]

# BM25 length normalisation. Documents are clauses, not pages: a long clause
# is fuller, not padded, so length is discounted less than the usual 0.75.
BM25_K1 = 1.5
BM25_B = 0.2


class LexicalIndex:
    """BM25 over tokenised documents; queries are lists of concepts."""

    dir_name = "lexical"

    def __init__(self, retriever: object | None) -> None:
        self._retriever = retriever  # None for an empty corpus, which bm25s cannot index

    length_normalisation = BM25_B

    @classmethod
    def build(cls, documents: list[list[str]]) -> LexicalIndex:
        import bm25s

        if not documents:
            return cls(None)
        retriever = bm25s.BM25(k1=BM25_K1, b=cls.length_normalisation)
        retriever.index(documents, show_progress=False)
        return cls(retriever)

    @property
    def vocabulary(self) -> set[str]:
        return {t for t in self._retriever.vocab_dict if t} if self._retriever else set()

    @property
    def size(self) -> int:
        return int(self._retriever.scores["num_docs"]) if self._retriever else 0

    def scores(self, concepts: list[Concept], memo: TokenScores | None = None) -> np.ndarray:
        """Disjunction-max BM25: a concept scores its best token, concepts add up.

        Summing every token would let a concept with many synonyms or sub-words
        outweigh the others; the maximum keeps each concept one vote.
        """
        total = np.zeros(self.size, dtype=np.float32)
        if self._retriever is None:
            return total
        for concept in concepts:
            known = self._known(concept)
            if known and concept.weight > 0:
                best = np.max([self._token_scores(t, memo) for t in known], axis=0)
                total += concept.weight * best
        return total

    def coverage(self, concepts: list[Concept], memo: TokenScores | None = None) -> np.ndarray:
        """For each document, the share of concepts it contains at least one token of."""
        found = np.zeros(self.size, dtype=np.float32)
        if self._retriever is None or not concepts:
            return found
        for concept in concepts:
            known = self._known(concept)
            if known:
                found += np.max([self._token_scores(t, memo) for t in known], axis=0) > 0
        return found / len(concepts)

    def _known(self, concept: Concept) -> list[str]:
        vocab = self._retriever.vocab_dict
        return [t for t in dict.fromkeys(concept.tokens) if t in vocab]

    def _token_scores(self, token: str, memo: TokenScores | None) -> np.ndarray:
        """One token's BM25 score for every document; with a memo, computed once per question."""
        if memo is None:
            return self._retriever.get_scores([token])
        scores = memo.get(token)
        if scores is None:
            scores = memo[token] = self._retriever.get_scores([token])
        return scores

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
