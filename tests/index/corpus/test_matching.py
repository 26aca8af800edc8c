"""Which document a text belongs to, on real texts: the seed variants and two transcriptions of each statute."""

from __future__ import annotations

from itertools import pairwise

from index.corpus.documents import title_for_variants, title_from_text
from index.corpus.matching import band_keys, decide, signature, similarity, to_bytes
from tests.helpers import LAWS, SEEDS


def _text(path) -> str:
    return path.read_text(encoding="utf-8")


def test_transcriptions_of_one_document_match_and_different_documents_do_not() -> None:
    seeds = [signature(_text(p)) for p in sorted(SEEDS.glob("*.txt"))]
    laws = {law.name: [signature(_text(p)) for p in sorted(law.glob("*.txt"))] for law in LAWS.iterdir()}
    for a in seeds[1:]:
        assert similarity(seeds[0], a) >= 0.2
    for first, second in laws.values():
        assert similarity(first, second) >= 0.8
    names = list(laws)
    for i, name in enumerate(names):
        for other in names[i + 1 :]:
            assert similarity(laws[name][0], laws[other][0]) < 0.1
        assert similarity(laws[name][0], seeds[0]) < 0.1


def test_decide_attaches_clear_matches_and_starts_new_documents_otherwise() -> None:
    seed_a, seed_b = (signature(_text(p)) for p in sorted(SEEDS.glob("*.txt"))[:2])
    law = signature(_text(LAWS / "work-safety-law-2021" / "lawrefbook.txt"))
    stored = {1: ("seeds", to_bytes(seed_a)), 2: ("law", to_bytes(law))}
    matched = decide(seed_b, stored)
    assert matched.document_id == "seeds" and matched.decision == "matched" and matched.score >= 0.2
    other = signature(_text(LAWS / "minors-protection-law-2024" / "lawrefbook.txt"))
    fresh = decide(other, stored)
    assert fresh.document_id is None and fresh.decision == "new"
    assert decide(seed_b, {}).decision == "new"
    # Two documents equally close: ambiguous, so a new document, and the result names both.
    tied = decide(seed_b, {1: ("seeds", to_bytes(seed_a)), 3: ("copy", to_bytes(seed_a))})
    assert (
        tied.document_id is None
        and tied.decision == "ambiguous"
        and {tied.best, tied.runner_up} == {"seeds", "copy"}
    )


def test_bands_find_transcriptions_of_one_document_as_candidates() -> None:
    first, second = (
        signature(_text(p)) for p in sorted((LAWS / "consumer-rights-protection-law-2013").glob("*.txt"))
    )
    assert set(band_keys(first)) & set(band_keys(second))
    seed = signature(_text(SEEDS / "000_970efa45bf395699.txt"))
    assert len(set(band_keys(first)) & set(band_keys(seed))) <= 2


def test_titles_come_from_front_matter_or_the_genre_line() -> None:
    for law in LAWS.iterdir():
        titles = {title_from_text(_text(p)) for p in law.glob("*.txt")}
        assert len(titles) == 1 and next(iter(titles)).startswith("中华人民共和国")
    assert (
        title_from_text("湖南省教育厅文件\n\n关于印发《某某实施方案》的通知\n\n正文。")
        == "关于印发《某某实施方案》的通知"
    )
    assert title_for_variants(["甲的通知\n", "乙的通知\n", "乙的通知\n"]) == "乙的通知"
    # Every variant with a header of its own: no title rather than an invented one.
    assert title_for_variants(["甲的通知\n", "乙的通知\n", "丙的通知\n"]) == ""
    assert title_for_variants(["甲的通知\n"]) == "甲的通知"
    assert title_from_text("只有正文没有标题。") == "只有正文没有标题。"


def test_signatures_estimate_the_true_shingle_jaccard() -> None:
    """Each permutation independent: the estimate lands near the exact Jaccard of the shingle sets
    (the first hash family ranked shingles almost by their own value and estimated 0.86 as 0.07)."""
    from index.corpus.matching import shingles

    texts = [_text(p) for p in sorted(SEEDS.glob("*.txt"))]
    texts += [_text(p) for p in sorted((LAWS / "work-safety-law-2021").glob("*.txt"))]
    for a, b in pairwise(texts):
        left, right = set(shingles(a).tolist()), set(shingles(b).tolist())
        exact = len(left & right) / len(left | right)
        assert abs(similarity(signature(a), signature(b)) - exact) <= 0.12, exact
