"""End to end: a real uvicorn server on 127.0.0.1, polled on /readyz, always stopped."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.settings import Settings
from tests.helpers import MODELS, SEEDS
from tests.servers import running_server


def _post(url: str, body: bytes) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture(scope="module", params=["faiss", "milvus"])
def server(
    request: pytest.FixtureRequest,
    settings: Settings,
    shared_cache: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """The seed index served from each vector backend: the session's FAISS build, or Milvus
    (milvus-lite, one local file) built by `concord serve` itself from the seeds."""
    folder = tmp_path_factory.mktemp(f"e2e-{request.param}")
    if request.param == "faiss":
        env = {
            "CONCORD_INDEX_DIR": str(settings.resolved_index_dir),
            "CONCORD_MODELS_DIR": str(settings.resolved_models_dir),
            "CONCORD_VAR_DIR": str(settings.var_dir),
        }
    else:
        env = {
            "CONCORD_VAR_DIR": str(folder / "var"),
            "CONCORD_MODELS_DIR": str(MODELS),
            "CONCORD_CACHE_DIR": str(shared_cache),
            "CONCORD_SEEDS_DIR": str(SEEDS),
            "CONCORD_VECTOR_BACKEND": "milvus",
            "CONCORD_MILVUS_URI": str(folder / "milvus.db"),
        }
    with running_server(env, folder / "server.log") as running:
        yield running.base


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
