"""Which document a new text belongs to: MinHash over character shingles, LSH bands as the candidate step.

Measured on the seed notice and the statutes in shared/corpora (5-character
shingles of letters and digits): transcriptions of one document have a
Jaccard similarity of 0.32 to 0.97, different documents 0.03 at most. A text
is compared only with the variants that share a band with it (64 bands of 2
rows: a pair at J=0.3 shares one with probability 0.998, at J=0.03 with
0.06), so the cost of a decision does not grow with the corpus.
"""

from __future__ import annotations

import hashlib
import unicodedata
import zlib
from dataclasses import dataclass

import numpy as np

SHINGLE_CHARS = 5
PERMUTATIONS = 128
BANDS = 64
ROWS_PER_BAND = PERMUTATIONS // BANDS
# Stored signatures carry this version; a database signed under another is re-signed at open.
# Version 1 hashed with (a*h + b) mod 2^61-1 over 31-bit a and 32-bit h: the product wraps the
# prime at most four times, so every permutation ranked shingles almost by h itself and the
# estimates were not independent (two transcriptions at true Jaccard 0.86 were estimated 0.07).
SIGNATURE_VERSION = 2
_rng = np.random.default_rng(20240601)  # fixed: signatures stored in the database must stay comparable
_SEEDS = _rng.integers(0, np.iinfo(np.uint64).max, PERMUTATIONS, dtype=np.uint64, endpoint=True)
# Attach to the best document at or above this estimated Jaccard similarity,
# unless the runner-up is as close: then the text is ambiguous and starts a
# document of its own, and the job result says so.
ATTACH_SIMILARITY = 0.2
CLEAR_MARGIN = 0.1


def shingles(text: str) -> np.ndarray:
    """Hashes of the text's character 5-grams over letters and digits (spacing and punctuation ignored)."""
    chars = "".join(ch for ch in unicodedata.normalize("NFKC", text) if ch.isalnum()).lower()
    grams = {chars[i : i + SHINGLE_CHARS] for i in range(max(len(chars) - SHINGLE_CHARS + 1, 0))}
    return np.fromiter((zlib.crc32(g.encode()) for g in grams), dtype=np.uint64, count=len(grams))


def signature(text: str) -> np.ndarray:
    """The MinHash signature: for each of the hash permutations, the smallest shingle hash."""
    hashes = shingles(text)
    if hashes.size == 0:
        return np.full(PERMUTATIONS, np.iinfo(np.uint32).max, dtype=np.uint32)
    mins = np.empty(PERMUTATIONS, dtype=np.uint64)
    for start in range(0, PERMUTATIONS, 16):  # blocks keep memory flat for long texts
        mins[start : start + 16] = _mix(_SEEDS[start : start + 16, None] ^ hashes[None, :]).min(axis=1)
    return (mins >> np.uint64(32)).astype(np.uint32)


def _mix(z: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser (wrapping 64-bit arithmetic): each seed gives an independent permutation."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def band_keys(sig: np.ndarray) -> list[str]:
    return [
        f"{band}:{hashlib.blake2b(sig[band * ROWS_PER_BAND : (band + 1) * ROWS_PER_BAND].tobytes(), digest_size=8).hexdigest()}"
        for band in range(BANDS)
    ]


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of the two shingle sets."""
    return float(np.mean(a == b))


def to_bytes(sig: np.ndarray) -> bytes:
    return sig.astype("<u4").tobytes()


def from_bytes(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<u4").astype(np.uint32)


@dataclass(frozen=True)
class Assignment:
    """Where a new text goes, and why: the best and runner-up documents with their similarity."""

    document_id: str | None  # None: start a new document
    decision: str  # "named", "matched", "new" or "ambiguous"
    best: str | None = None
    score: float | None = None
    runner_up: str | None = None
    runner_up_score: float | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "decision": self.decision,
            "best": self.best,
            "score": None if self.score is None else round(self.score, 3),
            "runner_up": self.runner_up,
            "runner_up_score": None if self.runner_up_score is None else round(self.runner_up_score, 3),
        }


def decide(sig: np.ndarray, candidates: dict[int, tuple[str, bytes]]) -> Assignment:
    """The document a text with this signature belongs to, among candidate variants (pk -> document, signature)."""
    best_by_document: dict[str, float] = {}
    for document_id, stored in candidates.values():
        score = similarity(sig, from_bytes(stored))
        best_by_document[document_id] = max(score, best_by_document.get(document_id, 0.0))
    ranked = sorted(best_by_document.items(), key=lambda item: -item[1])
    if not ranked:
        return Assignment(None, "new")
    best, best_score = ranked[0]
    runner, runner_score = ranked[1] if len(ranked) > 1 else (None, None)
    if best_score < ATTACH_SIMILARITY:
        return Assignment(None, "new", best, best_score, runner, runner_score)
    if (
        runner_score is not None
        and runner_score >= ATTACH_SIMILARITY
        and best_score - runner_score < CLEAR_MARGIN
    ):
        return Assignment(None, "ambiguous", best, best_score, runner, runner_score)
    return Assignment(best, "matched", best, best_score, runner, runner_score)
