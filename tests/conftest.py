"""Session fixtures: the real seed corpus and its collation, built once."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.corpus.collate import collate_variants
from index.corpus.model import Collation, Variant
from index.corpus.variants import load_variants
from tests.helpers import DEFAULT_SETTINGS, MODELS, SEEDS, seed_document


@pytest.fixture(scope="session")
def seed_variants() -> list[Variant]:
    loaded = load_variants(SEEDS)
    assert not loaded.problems
    return loaded.variants


@pytest.fixture(scope="session")
def seed_collation(seed_variants: list[Variant]) -> Collation:
    return collate_variants(seed_variants)


@pytest.fixture(scope="session")
def embedder():
    """The product's default embedder (the onnx export of the bundled model), loaded once."""
    from index.embedding import load_embedder

    return load_embedder(DEFAULT_SETTINGS.embedding_backend, DEFAULT_SETTINGS.model, MODELS)


@pytest.fixture(scope="session")
def torch_embedder():
    """The sentence-transformers model itself: the source of truth the onnx exports are checked against."""
    from index.embedding.torch_backend import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(DEFAULT_SETTINGS.model, MODELS)


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One embedding and collation cache for the session: each text is embedded once, whatever test builds."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="session")
def built_index(tmp_path_factory: pytest.TempPathFactory, embedder, seed_variants, shared_cache):
    """The real index over the real seeds as one document, built once into a temporary folder."""
    from index.build import BuildConfig, build_index

    var = tmp_path_factory.mktemp("var")
    config = BuildConfig(
        index_dir=var / "index",
        cache_dir=shared_cache,
        model=DEFAULT_SETTINGS.embedding_id,
        second_model=DEFAULT_SETTINGS.second_model,
    )
    report = build_index(config, [seed_document(seed_variants)], embedder)
    return config, report


@pytest.fixture(scope="session")
def searcher(built_index, embedder):
    from index.published import LoadedIndex
    from index.query import Searcher

    config, _ = built_index
    return Searcher(LoadedIndex.load(config.index_dir, DEFAULT_SETTINGS.embedding_id), embedder)
