"""Keys, roles, origins and rate limits as pure logic; the open-mode schema and the 500 shape in-process."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from service.app import create_app
from service.auth import Access, KeyRing, RateLimiter
from service.errors import ApiError
from service.settings import Settings
from tests.servers import LOCAL

RING = KeyRing(["q-key"], ["a-key"], {"w-key": ["https://portal.example"]})


def _refusal(given: str | None, origin: str | None, needed: Access, client: str = "10.0.0.9") -> ApiError:
    with pytest.raises(ApiError) as refused:
        RING.authorise(given, origin, client, needed)
    return refused.value


def test_each_role_reaches_exactly_its_routes() -> None:
    assert RING.authorise("a-key", None, "10.0.0.9", Access.WRITE).role == "admin"
    assert RING.authorise("q-key", None, "10.0.0.9", Access.READ).role == "query"
    assert _refusal("q-key", None, Access.WRITE).status_code == 403
    widget = RING.authorise("w-key", "https://portal.example", "10.0.0.9", Access.ASK)
    assert widget.role == "widget" and "w-key" not in widget.fingerprint
    assert _refusal("w-key", "https://portal.example", Access.READ).status_code == 403
    assert _refusal("w-key", "https://copycat.example", Access.ASK).code == "origin_not_allowed"
    assert _refusal("w-key", None, Access.ASK).code == "origin_not_allowed"
    assert _refusal(None, None, Access.ASK).status_code == 401
    assert _refusal("q-key-but-longer", None, Access.ASK).status_code == 401


def test_without_keys_the_api_is_open_to_this_machine_only() -> None:
    ring = KeyRing([], [], {})
    assert ring.open
    assert ring.authorise(None, None, "127.0.0.1", Access.WRITE).role == "open"
    assert ring.authorise(None, None, "::1", Access.WRITE).role == "open"
    with pytest.raises(ApiError) as refused:
        ring.authorise(None, None, "192.168.1.20", Access.ASK)
    assert refused.value.status_code == 403 and "CONCORD_API_KEYS" in refused.value.detail


def test_a_token_bucket_allows_its_burst_then_says_how_long_to_wait() -> None:
    limiter = RateLimiter(per_minute=6, burst=2)
    limiter.check("a")
    limiter.check("a")
    with pytest.raises(ApiError) as limited:
        limiter.check("a")
    assert limited.value.status_code == 429
    assert 1 <= int(limited.value.headers["Retry-After"]) <= 10
    limiter.check("b")  # another caller, another bucket
    RateLimiter(per_minute=0, burst=1).check("a")  # 0 turns the limit off


def test_widget_keys_and_origins_are_checked_at_start_up(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("CONCORD_WIDGET_KEYS", '{"pk_1": ["https://Portal.Example/"]}')
    monkeypatch.setenv("CONCORD_CORS_ORIGINS", "https://a.example, http://127.0.0.1:8080")
    settings = Settings()
    assert settings.widget_key_values() == {"pk_1": ["https://portal.example"]}
    assert settings.cors_origins == ["https://a.example", "http://127.0.0.1:8080"]
    monkeypatch.setenv("CONCORD_CORS_ORIGINS", "portal.example/path")
    with pytest.raises(ValidationError, match="not an origin"):
        Settings()
    monkeypatch.delenv("CONCORD_CORS_ORIGINS")
    monkeypatch.setenv("CONCORD_WIDGET_KEYS", '{"pk_1": []}')
    with pytest.raises(ValidationError, match="no allowed origin"):
        Settings()
    monkeypatch.delenv("CONCORD_WIDGET_KEYS")
    keys_file = tmp_path / "widget.json"
    keys_file.write_text('{"pk_2": ["https://b.example"]}', encoding="utf-8")
    assert Settings(widget_keys_file=keys_file).widget_key_values() == {"pk_2": ["https://b.example"]}


def test_an_open_service_declares_no_security_and_a_failure_has_the_error_shape(tmp_path, embedder) -> None:
    app = create_app(
        Settings(var_dir=tmp_path, index_dir=tmp_path / "none", seeds_dir=None), embedder=embedder
    )

    @app.get("/boom", include_in_schema=False)
    def boom() -> None:
        raise RuntimeError("a bug")

    with TestClient(app, raise_server_exceptions=False, client=LOCAL) as client:
        schema = client.get("/openapi.json").json()
        assert "securitySchemes" not in schema.get("components", {})
        assert all("security" not in op for ops in schema["paths"].values() for op in ops.values())
        failed = client.get("/boom", headers={"X-Request-ID": "req-500"})
        assert failed.status_code == 500
        assert failed.json()["error"] == {
            "code": "internal_error",
            "message": "the service failed while answering; report the request id",
            "request_id": "req-500",
        }
        assert failed.headers["x-request-id"] == "req-500"
