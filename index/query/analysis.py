"""A question analysed once: everything the signals, the fusion and the answer read, computed on arrival.

`QuestionAnalyzer.analyse` normalises the question (NFKC; traditional characters
read as simplified), tokenises it once each way (jieba search-mode tokens,
precise-mode words, English stems), translates its English through the glossary
and the corpus lexicon (a British spelling they do not know read the American
way), builds the concepts BM25 scores, and notes what kind of question it is
(asks when, how many, for a quantity; names a document by its title or a genre
of document). The result is a plain `AnalysedQuestion`; nothing downstream
walks the text again.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from opencc import OpenCC

from index.corpus.normalize import is_cjk
from index.query.answer import AnswerKind, asked_kind, is_count_question
from index.query.genre import Genre, asked_genre
from index.retrieval.expansion import (
    NOT_CONTENT,
    Expansion,
    QueryExpander,
    english_words,
    has_english,
    load_glossary,
    load_synonyms,
)
from index.retrieval.glosses import EnglishAnalyzer
from index.retrieval.homophones import Homophones
from index.retrieval.lexical import QUESTION_FILLERS, ChineseTokenizer, Concept

# "When" asks for a time where it opens the question or one of its clauses ("When does …", "…, and
# when"); inside a sentence it is a conjunction ("may workers refuse when the boss orders …").
ASKS_WHEN = re.compile(
    r"(?:^|[,;:.?!]\s*|\b(?:and|or|but|so|then)\s+)when\b|\b(?:by|since|until|till) when\b|\bwhen\s*\?"
    r"|\bwhat (?:date|day|year)\b"
    # a date asked for by name ("teachers law start date"), not "up to date" or "to date"
    r"|(?<!to )\bdates?\b"
    r"|什么时候|何时|哪天|哪一天|哪年|日期|几月几日",
    re.IGNORECASE,
)
# A title must be at least half named, and name one document better than any other, to count.
TITLE_SHARE_AT_LEAST = 0.5


@dataclass
class AnalysedQuestion:
    """One question as every stage reads it."""

    text: str  # NFKC, traditional characters as simplified: what the model and the tokenizer read
    english: bool  # it holds English words (then glosses and the English coverage apply)
    expansion: Expansion  # its English translated to Chinese terms (empty for a Chinese question)
    concepts: list[Concept]  # what BM25 scores: one per Chinese word and one per translation
    english_concepts: list[Concept] = field(default_factory=list)  # its English stems, one concept each
    untranslated: list[str] = field(default_factory=list)  # English content words nothing translated
    untranslated_concepts: list[Concept] = field(default_factory=list)  # their stems, scored on the glosses
    translated_share: float = 1.0  # of its English content words (a lexicon match counts half)
    asks_when: bool = False
    asks_count: bool = False
    asks_for: AnswerKind | None = None  # the kind of value it asks for (an age, a sum, a length of time …)
    asks_genre: Genre = ""  # the kind of document it says it is about ("the notice", 本法), if any
    named_document: tuple[str, float] | None = None  # the document its words name by title, and the share

    @property
    def embedded_text(self) -> str:
        """What the embedding model reads: the question, with its Chinese expansion when it has one.

        Measured: the expanded question alone ranks as well as the original and the expanded one
        together, at half the embedding cost.
        """
        return f"{self.text} {self.expansion.text}" if self.expansion.terms else self.text


class QuestionAnalyzer:
    """The tokenizers, dictionaries and titles of one loaded index, applied to each question once."""

    def __init__(
        self,
        tokenizer_words: list[str],
        lexicon: dict[str, list[str]],
        vocabulary: set[str],
        title_words: dict[str, list[list[str]]],
    ) -> None:
        self.tokenizer = ChineseTokenizer(tokenizer_words)
        self.english = EnglishAnalyzer()
        self.simplified = OpenCC("t2s").convert
        self.expander = QueryExpander(load_glossary(), lexicon)
        self.synonyms = load_synonyms()
        self.homophones = Homophones(vocabulary)
        self.title_words = title_words

    def analyse(self, question: str) -> AnalysedQuestion:
        # The model reads the question as written (NFKC only); the tokenizer normalises for itself.
        text = unicodedata.normalize("NFKC", question).strip()
        if any(is_cjk(ch) for ch in text):
            text = self.simplified(text)  # traditional characters read as simplified
        english = has_english(text)
        # The dictionaries read English spelt the American way (the model reads the question as written).
        read = self.expander.respell(text) if english else text
        expansion = self.expander.expand(read)
        stems = self.english.question_terms(read) if english else []
        analysed = AnalysedQuestion(
            text=text,
            english=english,
            expansion=expansion,
            concepts=self._concepts(read, expansion),
            english_concepts=[Concept([stem]) for stem in dict.fromkeys(stems)],
            asks_when=bool(ASKS_WHEN.search(read)),
            asks_count=is_count_question(read),
            asks_for=asked_kind(read),
            asks_genre=asked_genre(read),
        )
        if english:
            analysed.untranslated, analysed.translated_share = untranslated_words(read, expansion)
            if analysed.untranslated:
                analysed.untranslated_concepts = self.english.concepts(" ".join(analysed.untranslated))
        if len(self.title_words) >= 2:
            analysed.named_document = self._named_document(
                set(self.tokenizer.tokens(read)) | set(stems), read
            )
        return analysed

    def _concepts(self, text: str, expansion: Expansion) -> list[Concept]:
        """One concept per Chinese word (with its sub-words, synonyms, a homophone's correction), one per
        translation."""
        found = []
        for word in self.tokenizer.words(text):
            if word in QUESTION_FILLERS:
                continue
            alternatives = [word, *self.synonyms.get(word, [])]
            corrected = self.homophones.correction(word)
            if corrected:
                alternatives.append(corrected)
            found.append(Concept([t for alt in alternatives for t in self.tokenizer.tokens(alt)] or [word]))
        for _phrase, terms, weight in expansion.matched:
            found.append(Concept([t for term in terms for t in self.tokenizer.tokens(term)], weight))
        return found

    def _named_document(self, asked: set[str], text: str) -> tuple[str, float] | None:
        """The document whose title the question names best (at least half its words), if one stands out."""
        shares = sorted(
            (
                (
                    sum(_names_title_word(words, i, asked, text) for i in range(len(words))) / len(words),
                    document,
                )
                for document, words in self.title_words.items()
                if words
            ),
            reverse=True,
        )
        if (
            not shares
            or shares[0][0] < TITLE_SHARE_AT_LEAST
            or (len(shares) > 1 and shares[1][0] == shares[0][0])
        ):
            return None
        return shares[0][1], shares[0][0]


def _names_title_word(words: list[list[str]], position: int, asked: set[str], text: str) -> bool:
    """Whether a question names a title's word: among its words or stems, or written inside a longer
    word the tokenizer keeps whole (高等教育法 names 高等教育 and 法; a one-character word only with
    the title word before it, or every 法 would name a law)."""
    forms = words[position]
    if asked & set(forms):
        return True
    chinese = forms[0]
    if not chinese or not all(is_cjk(ch) for ch in chinese):
        return False
    if len(chinese) == 1:
        return position > 0 and words[position - 1][0] + chinese in text
    return chinese in text


def untranslated_words(question: str, expansion: Expansion) -> tuple[list[str], float]:
    """The question's content words no glossary or lexicon phrase translated, and the share that was
    translated (a lexicon match counts half)."""
    words = [w for w in english_words(question) if w not in NOT_CONTENT]
    if not words:
        return [], 1.0
    translated = {word for phrase, _terms, _weight in expansion.matched for word in phrase.split()}
    covered = sum(len(phrase.split()) * weight for phrase, _terms, weight in expansion.matched)
    return [w for w in words if w not in translated], min(1.0, covered / len(words))
