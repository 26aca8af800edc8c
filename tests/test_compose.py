"""The compose file a user with Docker starts: its replicas' settings are ones this version accepts."""

from __future__ import annotations

import os
import re

import pytest
import yaml

from service.settings import Settings
from tests.helpers import ROOT


def test_the_compose_replicas_settings_are_valid_and_point_at_milvus_and_postgresql(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    replicas = [s for name, s in compose["services"].items() if name.startswith("concord-")]
    assert len(replicas) == 2
    for replica in replicas:
        for key in [k for k in os.environ if k.startswith("CONCORD_")]:
            monkeypatch.delenv(key)
        for key, value in replica["environment"].items():
            # ${VAR:-default} and ${VAR:?message} come from the user's environment; stand in a value.
            monkeypatch.setenv(key, re.sub(r"\$\{[^}]+\}", "x", str(value)))
        for key in ("CONCORD_ADMIN_API_KEYS_FILE", "CONCORD_API_KEYS_FILE"):
            monkeypatch.delenv(key)  # the files are the user's secrets
        settings = Settings()
        assert settings.vector_config.backend == "milvus" and settings.vector_config.uri.startswith("http://")
        assert settings.resolved_database_url.startswith("postgresql://")
        assert "/data" in [v.split(":")[1] for v in replica["volumes"]]
