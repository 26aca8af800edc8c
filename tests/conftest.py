"""Session fixtures: the real seed corpus and its collation, built once."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.corpus.collate import collate_variants
from index.corpus.model import Collation, DocumentSource, Variant
from index.corpus.variants import load_variants
from service.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
LAWS = ROOT.parent / "shared" / "corpora" / "laws"


@pytest.fixture(scope="session")
def seed_variants() -> list[Variant]:
    loaded = load_variants(SEEDS)
    assert not loaded.problems
    return loaded.variants


@pytest.fixture(scope="session")
def seed_collation(seed_variants: list[Variant]) -> Collation:
    return collate_variants(seed_variants)


MODELS = ROOT / "var" / "models"  # shared with `make serve`: the model is converted once per checkout
DEFAULT_SETTINGS = Settings(seeds_dir=None)


@pytest.fixture(scope="session")
def embedder():
    """The product's default embedder (the onnx export of the bundled model), loaded once."""
    from index.retrieval.embedder import load_embedder

    return load_embedder(DEFAULT_SETTINGS.embedding_backend, DEFAULT_SETTINGS.model, MODELS)


@pytest.fixture(scope="session")
def torch_embedder():
    """The sentence-transformers model itself: the source of truth the onnx exports are checked against."""
    from index.retrieval.embedder import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(DEFAULT_SETTINGS.model, MODELS)


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One embedding and collation cache for the session: each text is embedded once, whatever test builds."""
    return tmp_path_factory.mktemp("cache")


def seed_document(seed_variants: list[Variant]) -> DocumentSource:
    return DocumentSource("seeds", "seed notice", list(seed_variants))


@pytest.fixture(scope="session")
def built_index(tmp_path_factory: pytest.TempPathFactory, embedder, seed_variants, shared_cache):
    """The real index over the real seeds as one document, built once into a temporary folder."""
    from index.build import BuildConfig, build_index

    var = tmp_path_factory.mktemp("var")
    config = BuildConfig(index_dir=var / "index", cache_dir=shared_cache, model=DEFAULT_SETTINGS.embedding_id)
    report = build_index(config, [seed_document(seed_variants)], embedder)
    return config, report


@pytest.fixture(scope="session")
def searcher(built_index, embedder):
    from index.published import LoadedIndex
    from index.search import Searcher

    config, _ = built_index
    return Searcher(LoadedIndex.load(config.index_dir, DEFAULT_SETTINGS.embedding_id), embedder)
