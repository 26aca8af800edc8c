"""Service fixtures: settings pointing at the session's real index, an in-process client."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.settings import Settings
from tests.conftest import MODELS, SEEDS


@pytest.fixture(scope="session")
def settings(built_index) -> Settings:
    """The session's index over the seeds; the corpus database beside it holds the seeds as one document."""
    config, _ = built_index
    return Settings(
        seeds_dir=SEEDS,
        var_dir=config.index_dir.parent,
        index_dir=config.index_dir,
        models_dir=MODELS,
        cache_dir=config.cache_dir,
    )


@pytest.fixture(scope="session")
def client(settings: Settings, embedder):
    with TestClient(create_app(settings, embedder=embedder)) as test_client:
        yield test_client
