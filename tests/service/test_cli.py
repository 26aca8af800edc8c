"""`concord collate` as a user runs it: a real subprocess on real folders."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from tests.helpers import ROOT, SEEDS


def _env(extra_env: dict[str, str] | None = None) -> dict[str, str]:
    """This environment without any CONCORD_* setting, plus the given ones."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONCORD_")}
    return {**env, "PYTHONPATH": str(ROOT), **(extra_env or {})}


def _concord(
    *args: str, cwd: Path, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        cwd=cwd,
        env=_env(extra_env),
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
    (folder / "scan.txt").write_bytes(b"%PDF-1.7 ...")
    result = _concord("collate", str(folder), "--out", str(tmp_path / "c.json"), "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    for name in ("empty.txt", "binary.txt", "scan.txt"):
        assert f"skipped {name}:" in result.stderr
    assert json.loads((tmp_path / "c.json").read_text(encoding="utf-8"))["total"] == 5


def test_collate_of_a_missing_folder_is_a_clean_error(tmp_path: Path) -> None:
    result = _concord("collate", str(tmp_path / "nope"), cwd=tmp_path)
    assert result.returncode == 2
    assert "no such folder" in result.stderr
    assert "Traceback" not in result.stderr


def test_build_then_query_in_the_terminal(tmp_path: Path) -> None:
    from tests.helpers import MODELS

    env = {
        "CONCORD_VAR_DIR": str(tmp_path / "var"),
        "CONCORD_MODELS_DIR": str(MODELS),
        "CONCORD_SEEDS_DIR": str(SEEDS),
    }
    built = _concord("build", cwd=tmp_path, extra_env=env)
    assert built.returncode == 0, built.stderr
    assert "1 documents, 5 variants" in built.stdout and "generation 1 published" in built.stdout
    asked = _concord(
        "query", "How many 楚怡 technical schools will be built?", "--top-k", "2", cwd=tmp_path, extra_env=env
    )
    assert asked.returncode == 0, asked.stderr
    assert asked.stdout.startswith("answer: 5所 (5 of 5 variants)")
    assert "1. 4.提高技工教育的实力" in asked.stdout
    assert "000_970efa45bf395699 line 38 [" in asked.stdout


def test_query_without_an_index_says_what_to_run(tmp_path: Path) -> None:
    env = {"CONCORD_VAR_DIR": str(tmp_path / "empty")}
    result = _concord("query", "问题", cwd=tmp_path, extra_env=env)
    assert result.returncode == 2
    assert "concord build" in result.stderr and "Traceback" not in result.stderr


def test_collate_of_a_folder_with_no_usable_variant_says_why(tmp_path: Path) -> None:
    folder = tmp_path / "variants"
    folder.mkdir()
    (folder / "empty.txt").write_bytes(b"")
    result = _concord("collate", str(folder), cwd=tmp_path)
    assert result.returncode == 2
    assert "no usable variants (empty.txt: is empty" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_refuses_to_open_a_keyless_api_to_the_network(tmp_path: Path) -> None:
    result = _concord(
        "serve", "--host", "0.0.0.0", cwd=tmp_path, extra_env={"CONCORD_VAR_DIR": str(tmp_path)}
    )
    assert result.returncode == 2
    assert "no API keys are configured" in result.stderr and "CONCORD_API_KEYS" in result.stderr
    assert not (tmp_path / "concord.db").exists()  # refused before touching anything


def test_add_while_another_process_holds_the_lease_waits_and_takes_over_or_only_queues(
    tmp_path: Path,
) -> None:
    from service.runtime import open_corpus
    from service.settings import Settings
    from tests.helpers import MODELS

    env = {
        "CONCORD_VAR_DIR": str(tmp_path / "var"),
        "CONCORD_MODELS_DIR": str(MODELS),
        "CONCORD_SEEDS_DIR": "",
    }
    notice = tmp_path / "notice.txt"
    notice.write_text("关于做好校园安全工作的通知\n一、各学校每学期开展两次消防演练。\n", encoding="utf-8")
    # This test process plays a server that holds the rebuild lease (and so runs the jobs).
    other = open_corpus(Settings(var_dir=tmp_path / "var", models_dir=MODELS, seeds_dir=None)).db
    assert other.acquire_lease(seconds=600)
    try:
        queued = _concord("add", "--no-wait", str(notice), cwd=tmp_path, extra_env=env)
        assert queued.returncode == 0, queued.stderr
        assert "queued" in queued.stdout and "will take it" in queued.stdout
        assert [job.status for job in other.jobs()] == ["queued"]

        waiting = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "add", str(notice)],
            cwd=tmp_path,
            env=_env(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 120
        while len(other.jobs()) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.5)
        assert waiting.poll() is None  # still waiting for the holder
    finally:
        other.release_lease()  # the holder stops without running anything
    out, err = waiting.communicate(timeout=300)
    assert waiting.returncode == 0, err
    assert "waiting for it" in err
    # it took both queued jobs over: the first stored and published the notice, its own found it stored
    assert "notice.txt: byte-identical to stored variant" in out, out
    first, second = sorted(other.jobs(), key=lambda job: job.created_at)
    assert (first.status, second.status) == ("succeeded", "succeeded")
    assert first.result["generation"] == 1 and first.result["documents"] == 1, first.result
