"""Session fixtures: the real seed corpus and its collation, built once."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.collate import collate_variants
from index.model import Collation, Variant
from index.variants import load_variants

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"


@pytest.fixture(scope="session")
def seed_variants() -> list[Variant]:
    loaded = load_variants(SEEDS)
    assert not loaded.problems
    return loaded.variants


@pytest.fixture(scope="session")
def seed_collation(seed_variants: list[Variant]) -> Collation:
    return collate_variants(seed_variants)
