"""End to end: a real uvicorn server on 127.0.0.1, polled on /readyz, always stopped."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from service.settings import Settings
from tests.conftest import ROOT


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _post(url: str, body: bytes) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture(scope="module")
def server(settings: Settings) -> Iterator[str]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONCORD_")}
    env |= {
        "CONCORD_INDEX_DIR": str(settings.resolved_index_dir),
        "CONCORD_MODELS_DIR": str(settings.resolved_models_dir),
        "CONCORD_VAR_DIR": str(settings.var_dir),
        "PYTHONPATH": str(ROOT),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "scripts.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"server exited: {process.stdout.read().decode(errors='replace')}")
            try:
                with urllib.request.urlopen(base + "/readyz", timeout=2) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                time.sleep(0.5)
        else:
            pytest.fail("server did not become ready in 120 s")
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def _ask(server: str, question: str) -> dict:
    status, body = _post(server + "/v1/query", json.dumps({"question": question, "top_k": 3}).encode())
    assert status == 200, body
    return body


def test_chinese_question_over_http(server: str) -> None:
    body = _ask(server, "要建设多少个楚怡文化传承基地？")
    top = body["results"][0]
    assert "20个" in top["text"] and "文化传承基地" in top["text"]
    assert top["support"]["count"] == 5
    assert body["answer"]["text"] == "20个"


def test_english_question_over_http(server: str) -> None:
    body = _ask(server, "How many vocational education groups or alliances will be cultivated?")
    top = body["results"][0]
    assert "30个" in top["text"] and "职教集团" in top["text"]
    assert any(r["line_end"] > r["line_start"] for r in top["readings"])  # the clause joined across lines


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b'{"question": "  "}', 422),
        (b'{"question": "x", "top_k": 99}', 422),
        (b'{"question": ["x"]}', 422),
        (b"{not json", 422),
        (b'{"question": "\xff"}', 400),
    ],
)
def test_bad_input_over_http_is_a_4xx_with_a_message(server: str, body: bytes, status: int) -> None:
    code, payload = _post(server + "/v1/query", body)
    assert code == status
    assert payload["detail"]
