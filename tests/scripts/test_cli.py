"""`concord collate` as a user runs it: a real subprocess on real folders."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, SEEDS


def _concord(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONCORD_")}
    return subprocess.run(
        [sys.executable, "-m", "scripts.cli", *args],
        cwd=cwd,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_collate_writes_json_and_prints_a_report(tmp_path: Path) -> None:
    out = tmp_path / "collation.json"
    result = _concord("collate", str(SEEDS), "--out", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "== support 5/5" in result.stdout
    assert "== repetition loops collapsed" in result.stdout
    assert "== divergent readings" in result.stdout
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["total"] == 5 and data["groups"]


def test_collate_reports_bad_files_and_still_collates_the_rest(tmp_path: Path) -> None:
    folder = tmp_path / "variants"
    shutil.copytree(SEEDS, folder)
    (folder / "empty.txt").write_bytes(b"")
    (folder / "binary.txt").write_bytes(b"\x00\x01\x02")
    (folder / "gbk.txt").write_bytes("楚怡".encode("gbk"))
    result = _concord("collate", str(folder), "--out", str(tmp_path / "c.json"), "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    for name in ("empty.txt", "binary.txt", "gbk.txt"):
        assert f"skipped {name}:" in result.stderr
    assert json.loads((tmp_path / "c.json").read_text(encoding="utf-8"))["total"] == 5


def test_collate_of_a_missing_folder_is_a_clean_error(tmp_path: Path) -> None:
    result = _concord("collate", str(tmp_path / "nope"), cwd=tmp_path)
    assert result.returncode == 2
    assert "no such folder" in result.stderr
    assert "Traceback" not in result.stderr
