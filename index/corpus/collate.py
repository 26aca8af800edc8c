"""Collation: the same clause across variants becomes one clause group.

Two steps. Inside each variant, repetition loops (near-identical clauses a
transcription repeated) collapse into one reading that counts its copies.
Across variants, clauses are aligned by fuzzy similarity of their normalised
wording (rapidfuzz), greedily from the most similar pair down, with average
linkage and at most one reading per variant in a group. Each group then gets
a canonical reading (the medoid), its support and the spans where readings
diverge from the canonical wording.

Witnesses are not all equal: a variant read by OCR counts in the medoid by its
recognition confidence, half that when the confidence is low, so where an OCR
reading and a transcription disagree evenly the transcription's wording is the
canonical one. Transcriptions, text layers, Word files and web pages count 1.
"""

from __future__ import annotations

import difflib
import hashlib
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from rapidfuzz import fuzz, process

from index.corpus.model import (
    Clause,
    ClauseGroup,
    Collation,
    Divergence,
    Location,
    Problem,
    Reading,
    Support,
    Variant,
)
from index.corpus.segment import Segmenter, strip_marker
from index.corpus.variants import NoUsableVariants, load_variants
from index.extract.model import Extraction

# Similarity (0-100, rapidfuzz ratio) at or above which two clauses of one
# variant are copies of each other, and a clause is compared with the clauses
# this far back, so that a repeated block of several lines also collapses.
LOOP_SIMILARITY = 88.0
LOOP_WINDOW = 12
# Bodies shorter than this are compared with their numbering marker.
LOOP_MIN_CHARS = 8
# Average-linkage similarity (0-1) at or above which clauses of different
# variants are taken for the same clause.
ALIGN_SIMILARITY = 0.6
# A clause cut short in one variant still aligns through its best-matching
# window in the longer reading (rapidfuzz partial_ratio), discounted, when it
# is long enough for that window to mean something.
PARTIAL_MIN_CHARS = 20
PARTIAL_MIN_SHARE = 0.3
PARTIAL_DISCOUNT = 0.8
# ...and the less of the longer reading it covers, the less the window counts.
PARTIAL_SHARE_WEIGHT = 0.25
# Structure breaks near-ties: the same numbering marker, and the same parent heading.
SAME_MARKER_BONUS = 0.04
SAME_PARENT_BONUS = 0.04
# Up to this many clauses in a document (all its variants together) every pair is compared;
# beyond, each clause only with the ALIGN_WINDOW clauses either side of its relative place in
# each other variant (scripts/bench_scale.py shows the curve).
EXACT_ALIGN_UNITS = 1000
ALIGN_WINDOW = 24
PAIR_BLOCK = 1_000_000
# Divergent spans closer than this many equal characters are reported as one.
DIVERGENCE_MERGE_GAP = 1


@dataclass
class _Unit:
    """A clause of one variant after loops collapsed: the first copy, and every copy."""

    clause: Clause
    copies: list[Clause] = field(default_factory=list)

    @property
    def key(self) -> str:
        return comparison_text(self.clause)


def comparison_text(clause: Clause) -> str:
    """The wording that alignment compares: numbering markers differ between variants."""
    body = strip_marker(clause.text)
    return body if len(body) >= LOOP_MIN_CHARS or clause.marker is None else clause.text


def collapse_loops(clauses: list[Clause]) -> list[_Unit]:
    """Fold each clause that repeats a recent clause of the same variant into that clause's unit."""
    units: list[_Unit] = []
    for clause in clauses:
        key = comparison_text(clause)
        target = None
        for unit in reversed(units[-LOOP_WINDOW:]):
            if unit.clause.level != clause.level:
                continue
            if _is_copy(unit, key):
                target = unit
                break
        if target is None:
            units.append(_Unit(clause, [clause]))
        else:
            target.copies.append(clause)
    return units


def _is_copy(unit: _Unit, key: str) -> bool:
    if fuzz.ratio(unit.key, key) >= LOOP_SIMILARITY:
        return True
    # A loop copy cut short (or a full copy after a cut one) repeats the other's start exactly.
    short, long_ = sorted((key, comparison_text(unit.copies[-1])), key=len)
    return len(short) >= LOOP_MIN_CHARS and long_.startswith(short)


def align(units: list[_Unit], positions: list[float] | None = None) -> list[list[int]]:
    """Cluster units of different variants; returns lists of unit indexes.

    Up to EXACT_ALIGN_UNITS units every pair is compared. Beyond, the cost would grow with the
    square of the document (and so would the memory of a full similarity matrix), so each unit is
    compared only with the units near its own relative place (`positions`, 0 to 1) in each other
    variant: transcriptions of one text keep its order, give or take the odd loop or gap.
    """
    n = len(units)
    if n == 0:
        return []
    keys = [u.key for u in units]
    variant_of = [u.clause.variant for u in units]
    markers = [u.clause.marker for u in units]
    parents = [_parent(u.clause) for u in units]
    if n <= EXACT_ALIGN_UNITS or positions is None:
        similarity = clause_similarity(keys)
        same_variant = np.array([[a == b for b in variant_of] for a in variant_of])
        similarity[same_variant] = 0.0
        rows, cols = np.nonzero(np.triu(similarity >= ALIGN_SIMILARITY, k=1))
        scores = similarity[rows, cols]

        def linkage(a: list[int], b: list[int]) -> float:
            return float(similarity[np.ix_(a, b)].mean())

    else:
        rows, cols = window_pairs(variant_of, positions, ALIGN_WINDOW)
        kept = []  # scored a block at a time, keeping only the close pairs: memory stays flat
        for start in range(0, len(rows), PAIR_BLOCK):
            block_rows, block_cols = rows[start : start + PAIR_BLOCK], cols[start : start + PAIR_BLOCK]
            block = pair_similarity(keys, block_rows, block_cols)
            close = block >= ALIGN_SIMILARITY
            kept.append((block_rows[close], block_cols[close], block[close]))
        rows = np.concatenate([k[0] for k in kept]) if kept else np.zeros(0, np.int64)
        cols = np.concatenate([k[1] for k in kept]) if kept else np.zeros(0, np.int64)
        scores = np.concatenate([k[2] for k in kept]) if kept else np.zeros(0, np.float32)
        known = {(int(i), int(j)): float(v) for i, j, v in zip(rows, cols, scores, strict=True)}

        def similar(i: int, j: int) -> float:
            i, j = min(i, j), max(i, j)
            if (i, j) not in known:
                found = pair_similarity(keys, np.array([i]), np.array([j]))[0]
                known[i, j] = float(found)
            return known[i, j]

        def linkage(a: list[int], b: list[int]) -> float:
            return sum(similar(i, j) for i in a for j in b) / (len(a) * len(b))

    pairs = list(zip(rows.tolist(), cols.tolist(), strict=True))
    same_marker = np.array([markers[i] is not None and markers[i] == markers[j] for i, j in pairs], bool)
    same_parent = np.array([parents[i] is not None and parents[i] == parents[j] for i, j in pairs], bool)
    ranked = scores + SAME_MARKER_BONUS * same_marker + SAME_PARENT_BONUS * (same_marker & same_parent)
    order = np.argsort(-ranked, kind="stable")

    cluster_of = list(range(n))
    members: dict[int, list[int]] = {i: [i] for i in range(n)}
    variants: dict[int, set[str]] = {i: {variant_of[i]} for i in range(n)}
    for k in order:
        a, b = cluster_of[rows[k]], cluster_of[cols[k]]
        if a == b or variants[a] & variants[b]:
            continue
        if linkage(members[a], members[b]) < ALIGN_SIMILARITY:
            continue
        for index in members[b]:
            cluster_of[index] = a
        members[a].extend(members.pop(b))
        variants[a] |= variants.pop(b)
    return [sorted(m) for m in members.values()]


def window_pairs(variant_of: list[str], positions: list[float], window: int) -> tuple[np.ndarray, np.ndarray]:
    """Candidate pairs (i < j) of units of different variants: each unit of a variant with the `window`
    units either side of its relative place in each later variant. Units of a variant are contiguous."""
    spans: dict[str, list[int]] = {}
    for index, variant in enumerate(variant_of):
        spans.setdefault(variant, [index, index])[1] = index
    place = np.asarray(positions, dtype=np.float64)
    offsets = np.arange(-window, window + 1)
    rows, cols = [], []
    ordered = sorted(spans.values())
    for k, (start_a, end_a) in enumerate(ordered):
        mine = np.arange(start_a, end_a + 1)
        for start_b, end_b in ordered[k + 1 :]:
            size_b = end_b - start_b + 1
            centres = np.rint(place[mine] * (size_b - 1)).astype(np.int64)
            candidates = centres[:, None] + offsets[None, :]
            valid = (candidates >= 0) & (candidates < size_b)
            rows.append(np.broadcast_to(mine[:, None], candidates.shape)[valid])
            cols.append(candidates[valid] + start_b)
    if not rows:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(rows), np.concatenate(cols)


def clause_similarity(keys: list[str]) -> np.ndarray:
    """Pairwise similarity (0-1) of clause wordings, tolerant of one side being cut short."""
    whole = process.cdist(keys, keys, scorer=fuzz.ratio, dtype=np.float32, workers=-1) / 100.0
    partial = process.cdist(keys, keys, scorer=fuzz.partial_ratio, dtype=np.float32, workers=-1) / 100.0
    lengths = np.array([len(k) for k in keys], dtype=np.float32)
    return _similarity(whole, partial, lengths[:, None], lengths[None, :])


def pair_similarity(keys: list[str], rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """`clause_similarity` for the listed pairs only."""
    if len(rows) == 0:
        return np.zeros(0, np.float32)
    left, right = [keys[i] for i in rows], [keys[j] for j in cols]
    whole = process.cpdist(left, right, scorer=fuzz.ratio, dtype=np.float32, workers=-1) / 100.0
    partial = process.cpdist(left, right, scorer=fuzz.partial_ratio, dtype=np.float32, workers=-1) / 100.0
    # Lengths of the listed pairs only: a single on-demand pair must not cost a pass over every key.
    length_a = np.array([len(k) for k in left], dtype=np.float32)
    length_b = np.array([len(k) for k in right], dtype=np.float32)
    return _similarity(whole, partial, length_a, length_b)


def _similarity(
    whole: np.ndarray, partial: np.ndarray, length_a: np.ndarray, length_b: np.ndarray
) -> np.ndarray:
    shorter = np.minimum(length_a, length_b)
    longer = np.maximum(length_a, length_b)
    share = shorter / np.maximum(longer, 1.0)
    truncated = (shorter >= PARTIAL_MIN_CHARS) & (share >= PARTIAL_MIN_SHARE)
    window = PARTIAL_DISCOUNT * (1 - PARTIAL_SHARE_WEIGHT * (1 - share)) * partial
    return np.maximum(whole, np.where(truncated, window, 0.0)).astype(np.float32)


def _parent(clause: Clause) -> str | None:
    """The heading a clause sits under, without its numbering (variants number sections differently)."""
    path = clause.section_path[:-1] if clause.marker else clause.section_path
    return strip_marker(path[-1]) if path else None


def _reading(unit: _Unit) -> Reading:
    clause = unit.clause
    location = clause.location
    return Reading(
        variant=clause.variant,
        text=clause.text,
        raw_text=clause.raw_text,
        line_start=location.line_start,
        line_end=location.line_end,
        char_start=location.char_start,
        char_end=location.char_end,
        copies=len(unit.copies),
        copy_locations=tuple(c.location for c in unit.copies[1:]),
    )


def witness_weight(variant: Variant) -> float:
    """How much a variant counts as a witness (`Extraction.weight`): 1 for a transcription."""
    if variant.layout is None:
        return 1.0
    try:
        return Extraction.from_dict(variant.layout, variant.raw_text).weight
    except (KeyError, TypeError, ValueError, AttributeError):
        return 1.0  # a damaged layout: the text still counts, as a transcription does


def medoid(texts: list[str], weights: list[float] | None = None) -> int:
    """Index of the text most similar to all others, each other text counting by its weight, and each
    text's likeness to itself too, so that between readings that agree as much, the more trusted
    wins (the first on ties). With equal weights this is the plain medoid."""
    if weights is None or len(set(weights)) <= 1:
        if len(texts) <= 2:
            return 0
        weights = [1.0] * len(texts)
    similarity = process.cdist(texts, texts, scorer=fuzz.ratio, dtype=np.float32)
    scores = similarity @ np.asarray(weights, dtype=np.float32)
    return int(np.argmax(scores))


def divergences(canonical: str, reading: Reading) -> list[Divergence]:
    """Spans where a reading departs from the canonical wording, small gaps merged."""
    matcher = difflib.SequenceMatcher(None, canonical, reading.text, autojunk=False)
    spans: list[list[int]] = []  # [canonical_start, canonical_end, reading_start, reading_end]
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        if spans and i1 - spans[-1][1] <= DIVERGENCE_MERGE_GAP and j1 - spans[-1][3] <= DIVERGENCE_MERGE_GAP:
            spans[-1][1], spans[-1][3] = i2, j2
        else:
            spans.append([i1, i2, j1, j2])
    found = []
    for i1, i2, j1, j2 in spans:
        kind = "replace" if i2 > i1 and j2 > j1 else ("delete" if i2 > i1 else "insert")
        found.append(
            Divergence(
                variant=reading.variant,
                kind=kind,
                canonical_start=i1,
                canonical_end=i2,
                canonical_text=canonical[i1:i2],
                reading_text=reading.text[j1:j2],
                reading_start=j1,
                reading_end=j2,
                substantive=is_substantive(canonical[i1:i2], reading.text[j1:j2]),
            )
        )
    return found


def is_substantive(canonical_text: str, reading_text: str) -> bool:
    """Whether two spans differ in more than punctuation, character width or spacing."""
    return _wording(canonical_text) != _wording(reading_text)


def _wording(text: str) -> str:
    # NFKC folds width (，→ ,); then only letters, digits and marks count as wording.
    return "".join(c for c in unicodedata.normalize("NFKC", text) if unicodedata.category(c)[0] in "LNM")


def _group(
    group_id: str, units: list[_Unit], variant_order: dict[str, int], total: int, weights: dict[str, float]
) -> ClauseGroup:
    units = sorted(units, key=lambda u: variant_order[u.clause.variant])
    readings = [_reading(u) for u in units]
    best = medoid([r.text for r in readings], [weights[r.variant] for r in readings])
    canonical = readings[best]
    # Readings that only differ in numbering, spacing or case are not divergences worth showing.
    found = [
        d
        for r in readings
        if r is not canonical
        for d in divergences(canonical.text, r)
        if strip_marker(r.text) != strip_marker(canonical.text)
    ]
    return ClauseGroup(
        id=group_id,
        canonical=canonical.text,
        canonical_variant=canonical.variant,
        section_path=units[best].clause.section_path,
        kind=units[best].clause.kind,
        readings=readings,
        support=Support(variants=[r.variant for r in readings], count=len(readings), total=total),
        divergences=found,
        repetition={r.variant: r.copies for r in readings if r.copies > 1},
    )


def collate_variants(
    variants: list[Variant],
    segmenter: Segmenter | None = None,
    problems: Iterable[Problem] = (),
    progress: Callable[[Iterable[Variant]], Iterable[Variant]] = lambda it: it,
) -> Collation:
    """Segment every variant, collapse its loops, align clauses across variants into groups."""
    segmenter = segmenter or Segmenter()
    units: list[_Unit] = []
    position: dict[int, float] = {}
    for variant in progress(variants):
        variant_units = collapse_loops(segmenter.clauses(variant))
        for rank, unit in enumerate(variant_units):
            position[id(unit)] = rank / max(len(variant_units) - 1, 1)
            units.append(unit)

    clusters = align(units, [position[id(unit)] for unit in units])
    # Groups follow the document: by the mean relative position of their readings.
    clusters.sort(key=lambda c: (sum(position[id(units[i])] for i in c) / len(c), c[0]))
    variant_order = {v.id: i for i, v in enumerate(variants)}
    weights = {v.id: witness_weight(v) for v in variants}
    groups = [
        _group(f"g{n:04d}", [units[i] for i in cluster], variant_order, len(variants), weights)
        for n, cluster in enumerate(clusters, 1)
    ]
    return Collation(
        variants=[v.id for v in variants],
        groups=groups,
        problems=list(problems),
        corpus_hashes={v.id: hashlib.sha256(v.raw_text.encode()).hexdigest() for v in variants},
        files={v.id: Path(v.path).name for v in variants},
    )


def collate_folder(
    folder: Path,
    max_variant_bytes: int,
    segmenter: Segmenter,
    progress: Callable[[Iterable[Variant]], Iterable[Variant]] = lambda it: it,
) -> Collation:
    """Read a folder of variants and collate them; refused files are kept in the collation's problems."""
    loaded = load_variants(folder, max_variant_bytes)
    if not loaded.variants:
        details = "; ".join(str(p) for p in loaded.problems) or "no .txt files"
        raise NoUsableVariants(f"{folder}: no usable variants ({details})")
    return collate_variants(loaded.variants, segmenter, loaded.problems, progress)


def locations_of(reading: Reading) -> list[Location]:
    """Every place a reading occurs in its variant: the first copy, then the repeats."""
    first = Location(reading.line_start, reading.line_end, reading.char_start, reading.char_end)
    return [first, *reading.copy_locations]
