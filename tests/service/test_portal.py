"""The portal API against a real keyed server: roles, widget origins, CORS, rate limits, one error shape, request ids."""

from __future__ import annotations

import json
import time

from tests.helpers import SEEDS
from tests.servers import exchange
from tests.service.conftest import Portal

QUESTION = {"question": "楚怡优秀技工院校要遴选建设多少所？", "top_k": 3}


def assert_error_shape(reply, status: int, code: str | None = None) -> None:
    assert reply.status == status, reply.body
    error = reply.body["error"]
    assert set(error) == {"code", "message", "request_id"}
    assert error["message"] and reply.body["detail"] == error["message"]
    assert error["request_id"] == reply.headers["x-request-id"]
    if code is not None:
        assert error["code"] == code


def test_a_missing_or_wrong_key_is_401_and_a_weaker_role_is_403(portal: Portal) -> None:
    missing = exchange(portal.base + "/v1/query", "POST", QUESTION)
    assert_error_shape(missing, 401, "unauthorized")
    assert missing.headers["www-authenticate"] == "Bearer"
    wrong = exchange(portal.base + "/v1/query", "POST", QUESTION, portal.auth("not-a-key"))
    assert_error_shape(wrong, 401, "unauthorized")

    assert exchange(portal.base + "/v1/query", "POST", QUESTION, portal.auth(portal.query_key)).status == 200
    assert exchange(portal.base + "/v1/documents", headers=portal.auth(portal.query_key)).status == 200
    # A query key may read but not write; an admin key passes the same check (and finds no such document).
    forbidden = exchange(
        portal.base + "/v1/documents/no-such-doc", "DELETE", headers=portal.auth(portal.query_key)
    )
    assert_error_shape(forbidden, 403, "forbidden")
    assert "admin key" in forbidden.body["error"]["message"]
    admin = exchange(
        portal.base + "/v1/documents/no-such-doc", "DELETE", headers=portal.auth(portal.admin_key)
    )
    assert_error_shape(admin, 404, "not_found")


def test_a_widget_key_asks_only_from_its_own_origins(portal: Portal) -> None:
    key = portal.auth(portal.widget_key)
    allowed = exchange(portal.base + "/v1/query", "POST", QUESTION, key | {"Origin": portal.page_origin})
    assert allowed.status == 200 and allowed.body["answer"]["text"] == "5所"
    assert allowed.headers["access-control-allow-origin"] == portal.page_origin

    copied = exchange(portal.base + "/v1/query", "POST", QUESTION, key | {"Origin": portal.foreign_origin})
    assert_error_shape(copied, 403, "origin_not_allowed")
    no_origin = exchange(portal.base + "/v1/query", "POST", QUESTION, key)
    assert_error_shape(no_origin, 403, "origin_not_allowed")
    # Only asking: the corpus listing needs a query key even from an allowed page.
    listing = exchange(portal.base + "/v1/documents", headers=key | {"Origin": portal.page_origin})
    assert_error_shape(listing, 403, "forbidden")


def test_cors_allows_the_listed_origins_only(portal: Portal) -> None:
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    ok = exchange(portal.base + "/v1/query", "OPTIONS", headers=preflight | {"Origin": portal.page_origin})
    assert ok.status == 200
    assert ok.headers["access-control-allow-origin"] == portal.page_origin
    assert "authorization" in ok.headers["access-control-allow-headers"].lower()
    refused = exchange(
        portal.base + "/v1/query", "OPTIONS", headers=preflight | {"Origin": portal.foreign_origin}
    )
    assert refused.status == 400 and "access-control-allow-origin" not in refused.headers
    simple = exchange(portal.base + "/healthz", headers={"Origin": portal.page_origin})
    assert "x-request-id" in simple.headers["access-control-expose-headers"].lower()


def test_a_key_over_its_rate_limit_gets_429_with_retry_after(portal: Portal) -> None:
    key = portal.auth(portal.spare_query_key)
    replies = [exchange(portal.base + "/v1/documents", headers=key) for _ in range(60)]
    limited = [r for r in replies if r.status == 429]
    assert limited, [r.status for r in replies]
    assert_error_shape(limited[0], 429, "rate_limited")
    assert int(limited[0].headers["retry-after"]) >= 1
    # Another key has its own bucket.
    assert exchange(portal.base + "/v1/documents", headers=portal.auth(portal.query_key)).status == 200
    time.sleep(int(limited[0].headers["retry-after"]))
    assert exchange(portal.base + "/v1/documents", headers=key).status == 200


def test_every_error_has_one_shape_and_request_ids_are_echoed(portal: Portal) -> None:
    key = portal.auth(portal.query_key)
    invalid = exchange(
        portal.base + "/v1/query", "POST", {"question": "  "}, key | {"X-Request-ID": "portal-42"}
    )
    assert_error_shape(invalid, 422, "invalid_request")
    assert invalid.headers["x-request-id"] == "portal-42"
    assert "question is empty" in invalid.body["error"]["message"]
    assert_error_shape(exchange(portal.base + "/v1/nowhere", headers=key), 404, "not_found")
    not_allowed = exchange(portal.base + "/v1/query", "PUT", QUESTION, key)
    assert_error_shape(not_allowed, 405, "method_not_allowed")
    assert not_allowed.headers["allow"] == "POST"
    both = exchange(portal.base + "/v1/documents", "PUT", headers=key)
    assert set(both.headers["allow"].split(", ")) >= {"GET", "POST"}
    unknown = exchange(portal.base + "/v1/query", "POST", QUESTION | {"documents": ["nope"]}, key)
    assert_error_shape(unknown, 404, "unknown_document")
    # An id that is not plain is replaced rather than written into the logs.
    odd = exchange(portal.base + "/healthz", headers={"X-Request-ID": "two words\u00e9"})
    assert odd.headers["x-request-id"] != "two words\u00e9" and len(odd.headers["x-request-id"]) == 16


def test_logs_are_json_lines_with_request_ids_and_never_a_key(portal: Portal) -> None:
    exchange(
        portal.base + "/v1/query",
        "POST",
        QUESTION,
        portal.auth(portal.query_key) | {"X-Request-ID": "trace-7"},
    )
    exchange(portal.base + "/v1/query", "POST", QUESTION, portal.auth("a-wrong-key-0123"))
    time.sleep(0.2)
    output = portal.server.output()
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    access = [entry for entry in lines if entry.get("request_id") == "trace-7"]
    assert access and access[-1]["status"] == 200 and access[-1]["path"] == "/v1/query"
    assert access[-1]["caller"].startswith("query:")
    for secret in (portal.query_key, portal.admin_key, portal.spare_query_key, "a-wrong-key-0123"):
        assert secret not in output


def test_the_cited_text_route_returns_exactly_the_file_span(portal: Portal) -> None:
    key = portal.auth(portal.query_key)
    top = exchange(portal.base + "/v1/query", "POST", QUESTION, key).body["results"][0]
    for reading in top["readings"]:
        path = f"/v1/documents/{top['document']['id']}/variants/{reading['variant']}/text"
        span = f"?start={reading['char_start']}&end={reading['char_end']}&context=30"
        reply = exchange(portal.base + path + span, headers=key)
        assert reply.status == 200, reply.body
        file_text = (SEEDS / reading["file"]).read_text(encoding="utf-8")
        start, end = reading["char_start"], reading["char_end"]
        assert reply.body["text"] == file_text[start:end] == reading["raw_text"]
        assert reply.body["before"] == file_text[max(0, start - 30) : start]
        assert reply.body["after"] == file_text[end : end + 30]
        assert reply.body["line_start"] == reading["line_start"]
    past_the_end = exchange(portal.base + path + "?start=999999", headers=key)
    assert past_the_end.status == 200 and past_the_end.body["text"] == ""
    widget = portal.auth(portal.widget_key) | {"Origin": portal.page_origin}
    assert exchange(portal.base + path + span, headers=widget).status == 200
    missing = exchange(portal.base + f"/v1/documents/{top['document']['id']}/variants/nope/text", headers=key)
    assert_error_shape(missing, 404, "not_found")


def test_the_schema_declares_the_security_it_enforces_and_the_error_shape(portal: Portal) -> None:
    schema = exchange(portal.base + "/openapi.json").body
    assert "HTTPBearer" in schema["components"]["securitySchemes"]
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    query = schema["paths"]["/v1/query"]["post"]
    assert query["security"]
    for code in ("401", "403", "404", "422", "429", "500", "503"):
        ref = query["responses"][code]["content"]["application/json"]["schema"]["$ref"]
        assert ref == "#/components/schemas/ErrorResponse"
    assert query["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("QueryRequest")
