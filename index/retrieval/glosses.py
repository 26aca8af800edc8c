"""English glosses of Chinese clauses: CC-CEDICT on the document side, so English questions reach any document.

Each clause's words are looked up in CC-CEDICT and the first senses of each
become English terms (Snowball-stemmed, stopwords dropped). An English question,
stemmed the same way, is scored against these with BM25. Nothing is written by
hand for a document: a new statute gets its English side from the dictionary.
"""

from __future__ import annotations

import re

from index.corpus.normalize import is_cjk
from index.retrieval.expansion import ENGLISH_STOPWORDS, NOT_CONTENT, dictionary
from index.retrieval.lexical import Concept, LexicalIndex

# The first senses carry the meaning; later ones drift (measure words, rare uses).
SENSES_PER_WORD = 3
_WORD = re.compile(r"[a-z0-9]+")
_BRACKETED = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_NOT_A_SENSE = ("cl:", "surname ", "variant of", "old variant", "used in ", "see ", "abbr. for")


class EnglishAnalyzer:
    """Lower-cased words, stopwords dropped, Snowball stems: the same on both sides."""

    def __init__(self) -> None:
        import Stemmer

        self._stem = Stemmer.Stemmer("english").stemWords

    def terms(self, text: str, dropped: frozenset[str] = ENGLISH_STOPWORDS) -> list[str]:
        words = [w for w in _WORD.findall(text.lower()) if w not in dropped]
        return [t for t in self._stem(words) if len(t) > 1 or t.isdigit()]

    def question_terms(self, question: str) -> list[str]:
        """A question's terms: its framing words ("actually", "say", "I'm") dropped as well."""
        return self.terms(question, NOT_CONTENT)

    def concepts(self, question: str) -> list[Concept]:
        return [Concept([term]) for term in dict.fromkeys(self.terms(question))]


Senses = dict[str, tuple[str, ...]]


def gloss_terms(tokens: list[str], analyzer: EnglishAnalyzer, senses_of: Senses | None = None) -> list[str]:
    """The English side of a clause's tokens: each word's first senses, stemmed; numbers as they are."""
    senses_of = senses_of if senses_of is not None else dictionary()
    terms: list[str] = []
    for token in tokens:
        if token.isascii():
            terms.append(token)  # digits and Latin words mean the same in a question
            continue
        if not all(is_cjk(ch) for ch in token):
            continue
        # A single character has many senses; only its first is trusted (烟 cigarette, 酒 wine).
        terms.extend(english_of(token, senses_of, analyzer, SENSES_PER_WORD if len(token) > 1 else 1))
    return terms


class GlossIndex(LexicalIndex):
    """BM25 over the English glosses of every clause group."""

    dir_name = "glosses"
    # A long article's glosses pile up general senses (work, safety, manage): unlike the Chinese
    # side, length is discounted fully, as BM25 usually does.
    length_normalisation = 0.75


# Words every official title has: naming them names no document.
_GENERIC_TITLE_WORDS = frozenset(["中华人民共和国", "关于", "通知", "办法", "规定", "条例", "的"])


def title_words(
    words: list[str], analyzer: EnglishAnalyzer, senses_of: Senses | None = None
) -> list[list[str]]:
    """A title's distinctive words, each with itself and its English stems: what a question naming it says."""
    senses_of = senses_of if senses_of is not None else dictionary()
    found = []
    for word in words:
        if word in _GENERIC_TITLE_WORDS or not all(is_cjk(ch) for ch in word):
            continue
        # A title word the dictionary lacks (保护法) is read through its parts (保护, 法).
        parts = (
            [word]
            if word in senses_of
            else [p for p in sub_words(word, senses_of) if p in senses_of] or [word]
        )
        for part in parts:
            found.append([part, *english_of(part, senses_of, analyzer, SENSES_PER_WORD)])
    return found


def sub_words(word: str, senses_of: Senses | None = None) -> list[str]:
    """The dictionary words a compound splits into, longest first from the left (保护法 -> 保护, 法)."""
    senses_of = senses_of if senses_of is not None else dictionary()
    parts, start = [], 0
    while start < len(word):
        end = next((e for e in range(len(word), start, -1) if word[start:e] in senses_of), start + 1)
        parts.append(word[start:end])
        start = end
    return parts


def english_of(word: str, senses_of: Senses, analyzer: EnglishAnalyzer, senses: int) -> list[str]:
    """A word's first senses as stems, proper-noun senses (France, a surname) left out."""
    kept = [s for s in senses_of.get(word, ()) if s[:1].islower() and not s.lower().startswith(_NOT_A_SENSE)]
    text = " ".join(_BRACKETED.sub(" ", s) for s in kept[:senses])
    return list(dict.fromkeys(analyzer.terms(text)))
