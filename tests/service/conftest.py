"""Service fixtures: settings pointing at the session's real index, an in-process client."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.settings import Settings
from tests.conftest import MODELS, SEEDS


@pytest.fixture(scope="session")
def settings(built_index) -> Settings:
    config, _ = built_index
    return Settings(
        seeds_dir=SEEDS,
        var_dir=config.index_dir.parent,
        index_dir=config.index_dir,
        models_dir=MODELS,
    )


@pytest.fixture(scope="session")
def client(settings: Settings, embedder):
    with TestClient(create_app(settings, embedder=embedder)) as test_client:
        yield test_client
