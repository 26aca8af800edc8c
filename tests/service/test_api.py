"""The HTTP contract in-process, over the real index: results, provenance, errors."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.settings import Settings
from tests.servers import LOCAL


def test_query_returns_clause_groups_with_provenance(client: TestClient) -> None:
    response = client.post("/v1/query", json={"question": "楚怡优秀技工院校要遴选建设多少所？", "top_k": 3})
    assert response.status_code == 200
    body = response.json()
    assert len(body["results"]) == 3
    top = body["results"][0]
    assert top["rank"] == 1 and "5所" in top["text"]
    assert top["support"]["count"] == top["support"]["total"] == 5
    for reading in top["readings"]:
        assert {"variant", "text", "raw_text", "line_start", "line_end", "char_start", "char_end"} <= set(
            reading
        )
    assert body["answer"]["text"] == "5所" and body["answer"]["agreed"] is True
    assert body["answer"]["summary"] == "5所 (5 of 5 variants)"


def test_collapsed_loops_list_every_copy_location(client: TestClient) -> None:
    body = client.post("/v1/query", json={"question": "加强学校党组织书记队伍建设", "top_k": 5}).json()
    looped = [r for res in body["results"] for r in res["readings"] if r["copies"] > 1]
    assert looped
    for reading in looped:
        assert len(reading["copy_locations"]) == reading["copies"] - 1
        assert all(loc["char_start"] > reading["char_start"] for loc in reading["copy_locations"])


def test_reading_spans_point_at_the_raw_text(client: TestClient, seed_variants) -> None:
    raw = {v.id: v.raw_text for v in seed_variants}
    body = client.post("/v1/query", json={"question": "What will the think tank do?", "top_k": 5}).json()
    for result in body["results"]:
        for reading in result["readings"]:
            assert raw[reading["variant"]][reading["char_start"] : reading["char_end"]] == reading["raw_text"]


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ({"question": "   "}, "question is empty"),
        ({"question": ""}, "question is empty"),
        ({"question": "问" * 2001}, "at most 2000"),
        ({"question": "问题", "top_k": 0}, "1 to 50"),
        ({"question": "问题", "top_k": 51}, "1 to 50"),
        ({"question": "问题", "top_k": "five"}, "top_k"),
        ({"question": 42}, "question"),
        ({"top_k": 3}, "question: Field required"),
        ({"question": "问题", "k": 3}, "k: Extra inputs"),
    ],
)
def test_bad_requests_get_422_saying_what_to_fix(client: TestClient, payload: dict, fragment: str) -> None:
    response = client.post("/v1/query", json=payload)
    assert response.status_code == 422
    assert fragment in response.json()["detail"]


def test_malformed_bodies_get_a_4xx_never_a_500(client: TestClient) -> None:
    headers = {"content-type": "application/json"}
    not_json = client.post("/v1/query", content=b"question?", headers=headers)
    assert not_json.status_code == 422 and "not valid JSON" in not_json.json()["detail"]
    not_utf8 = client.post("/v1/query", content=b'{"question": "\xff\xfe"}', headers=headers)
    assert not_utf8.status_code == 400 and "UTF-8" in not_utf8.json()["detail"]


def test_health_readiness_and_docs(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "degraded": False, "detail": None, "index": None}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["index"]["clause_groups"] > 0
    assert ready["degraded"] is False and ready["detail"] is None
    assert client.get("/docs").status_code == 200
    assert "/v1/query" in client.get("/openapi.json").json()["paths"]


def test_not_ready_without_an_index(tmp_path, embedder) -> None:
    settings = Settings(var_dir=tmp_path, index_dir=tmp_path / "missing")
    with TestClient(create_app(settings, embedder=embedder), client=LOCAL) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503 and "concord build" in ready.json()["detail"]
        query = client.post("/v1/query", json={"question": "问题"})
        assert query.status_code == 503


def test_api_keys_are_enforced_when_configured(settings: Settings, embedder, tmp_path) -> None:
    keys = tmp_path / "keys"
    keys.write_text("# staff portal\nsecret-one\n", encoding="utf-8")
    secured = settings.model_copy(update={"api_keys_file": keys})
    with TestClient(create_app(secured, embedder=embedder), client=LOCAL) as client:
        body = {"question": "楚怡文化传承基地建设多少个？"}
        assert client.post("/v1/query", json=body).status_code == 401
        wrong = client.post("/v1/query", json=body, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        ok = client.post("/v1/query", json=body, headers={"Authorization": "Bearer secret-one"})
        assert ok.status_code == 200
        assert client.get("/readyz").status_code == 200  # probes stay open


def test_api_keys_come_comma_separated_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONCORD_API_KEYS", "k3y-alpha, k3y-beta")
    settings = Settings()
    assert settings.api_key_values() == ["k3y-alpha", "k3y-beta"]
    assert "k3y" not in repr(settings) and "k3y" not in str(settings.model_dump())


def test_unknown_settings_are_refused_at_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    monkeypatch.setenv("CONCORD_PORT", "not-a-port")
    with pytest.raises(ValidationError):
        Settings()
    monkeypatch.delenv("CONCORD_PORT")
    monkeypatch.setenv("CONCORD_PROT", "9000")
    with pytest.raises(ValidationError, match=r"unknown setting.*CONCORD_PROT"):
        Settings()


def test_a_rebuild_is_swapped_in_while_queries_keep_answering(
    built_index, embedder, seed_variants, tmp_path
) -> None:
    import threading
    import time

    from index.build import BuildConfig, build_index
    from tests.helpers import SEEDS, seed_document

    config, _ = built_index
    own = BuildConfig(tmp_path / "index", config.cache_dir, config.model)
    build_index(own, [seed_document(seed_variants)], embedder, generation=1)
    settings = Settings(
        var_dir=tmp_path,
        seeds_dir=SEEDS,
        index_dir=own.index_dir,
        cache_dir=config.cache_dir,
        reload_interval=0.2,
    )
    with TestClient(create_app(settings, embedder=embedder), client=LOCAL) as client:
        before = client.get("/readyz").json()["index"]["built_at"]
        statuses: list[int] = []
        done = threading.Event()

        def ask() -> None:
            while not done.is_set():
                statuses.append(
                    client.post("/v1/query", json={"question": "楚怡文化传承基地建设多少个？"}).status_code
                )

        asker = threading.Thread(target=ask)
        asker.start()
        try:
            build_index(own, [seed_document(seed_variants)], embedder, generation=2)
            deadline = time.monotonic() + 30
            while client.get("/readyz").json()["index"]["built_at"] == before and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            done.set()
            asker.join(timeout=30)
        assert client.get("/readyz").json()["index"]["built_at"] != before
        assert statuses and set(statuses) == {200}
