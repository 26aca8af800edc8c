"""scripts/contract.py: schemathesis with every check against a real keyed server finds no contract failure."""

from __future__ import annotations

import secrets
import subprocess
from pathlib import Path

from scripts.contract import contract_command
from tests.helpers import MODELS, ROOT
from tests.servers import running_server


def test_schemathesis_with_every_check_finds_no_failure(
    tmp_path: Path, shared_cache: Path, built_index
) -> None:
    admin, query = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    settings = {
        "CONCORD_VAR_DIR": str(tmp_path / "var"),  # a throwaway corpus: the run uploads, moves and deletes
        "CONCORD_MODELS_DIR": str(MODELS),
        "CONCORD_CACHE_DIR": str(shared_cache),
        "CONCORD_ADMIN_API_KEYS": admin,
        "CONCORD_API_KEYS": query,
        "CONCORD_RATE_LIMIT_PER_MINUTE": "0",
        "CONCORD_RELOAD_INTERVAL": "0.5",
    }
    with running_server(settings, tmp_path / "server.log") as server:
        run = subprocess.run(
            contract_command(server.base, max_examples=30, seed=20261123, key=admin),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=900,
        )
        log = server.output()
    summary = run.stdout[-4000:]
    assert run.returncode == 0, summary
    assert " passed" in summary and "failed" not in summary, summary  # "Authentication failed" included
    assert "Traceback" not in log and '"status": 500' not in log  # no request made the service fail
    assert admin not in log and query not in log
