"""Homophone typos: a question word the corpus lacks, read as the one corpus word that sounds the same.

Typing Chinese by pinyin, a slip picks the wrong character of the same sound
(楚仪 for 楚怡). A question word that is not in the corpus vocabulary is looked
up by its toneless pinyin among the corpus's words of the same length; when
exactly one matches, that word joins the question's concept. Two or more
matches are ambiguous and nothing is added.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from index.corpus.normalize import is_cjk

PINYIN_TABLE = Path(__file__).parent / "data" / "pinyin.tsv"


@lru_cache(maxsize=1)
def readings() -> dict[str, tuple[str, ...]]:
    """Character -> its readings without tones (scripts/make_pinyin_table.py writes the table)."""
    table: dict[str, tuple[str, ...]] = {}
    for line in PINYIN_TABLE.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            char, _, found = line.partition("\t")
            table[char] = tuple(found.split(","))
    return table


def sound_of(word: str) -> str | None:
    """The word's first reading, character by character, or None when a character has none."""
    table = readings()
    sounds = []
    for char in word:
        found = table.get(char)
        if not found:
            return None
        sounds.append(found[0])
    return " ".join(sounds)


class Homophones:
    """The corpus's words by sound, for the words a question has that the corpus does not."""

    def __init__(self, vocabulary: Iterable[str]) -> None:
        self._vocabulary = set(vocabulary)
        self._by_sound: dict[str, list[str]] = {}
        for word in self._vocabulary:
            if len(word) >= 2 and all(is_cjk(ch) for ch in word):
                sound = sound_of(word)
                if sound:
                    self._by_sound.setdefault(sound, []).append(word)

    def correction(self, word: str) -> str | None:
        """The one corpus word that sounds like `word`, when `word` is not a corpus word itself."""
        if word in self._vocabulary or len(word) < 2 or not all(is_cjk(ch) for ch in word):
            return None
        sound = sound_of(word)
        candidates = self._by_sound.get(sound, []) if sound else []
        return candidates[0] if len(candidates) == 1 else None
