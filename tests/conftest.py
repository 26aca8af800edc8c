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


MODELS = ROOT / "var" / "models"  # shared with `make serve`: the model is converted once per checkout


@pytest.fixture(scope="session")
def embedder():
    from index.embedder import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder("bundled:e5-small", MODELS)


@pytest.fixture(scope="session")
def built_index(tmp_path_factory: pytest.TempPathFactory, embedder):
    """The real index over the real seeds, built once into a temporary folder."""
    from index.build import BuildConfig, build_index

    var = tmp_path_factory.mktemp("var")
    config = BuildConfig(
        seeds_dir=SEEDS, index_dir=var / "index", cache_dir=var / "cache", model="bundled:e5-small"
    )
    report = build_index(config, embedder)
    return config, report


@pytest.fixture(scope="session")
def searcher(built_index, embedder):
    from index.build import LoadedIndex
    from index.search import Searcher

    config, _ = built_index
    return Searcher(LoadedIndex.load(config.index_dir, "bundled:e5-small"), embedder)
