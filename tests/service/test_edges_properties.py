"""Property-based tests of the edges that take outside input: any JSON, any Unicode, any multipart body.

Whatever arrives, the answer is never a 5xx, and a refused request changes
nothing stored (documents, variants, jobs). The app is the real one, with the
real model and index, over its own corpus.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from service.app import create_app
from service.settings import Settings
from tests.helpers import MODELS, SEEDS
from tests.servers import LOCAL

ADMIN = "edge-admin-key"
EDGE = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# Every code point, lone surrogates and non-characters included (JSON can carry them as escapes).
ANY_CHAR = st.characters(codec=None, categories=None)
ANY_TEXT = st.text(ANY_CHAR, max_size=60)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | ANY_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ANY_TEXT, inner, max_size=4),
    max_leaves=12,
)


@pytest.fixture(scope="module")
def edge(
    tmp_path_factory: pytest.TempPathFactory, embedder, shared_cache: Path, built_index
) -> Iterator[TestClient]:
    var = tmp_path_factory.mktemp("edges")
    config = Settings(
        var_dir=var,
        seeds_dir=SEEDS,
        models_dir=MODELS,
        cache_dir=shared_cache,
        admin_api_keys=ADMIN,
        rate_limit_per_minute=0,
        max_files_per_upload=3,
        max_variant_bytes=4096,
    )
    from index.jobs.submit import submit_reindex
    from service.runtime import job_runner, open_corpus

    corpus = open_corpus(config)
    submit_reindex(corpus, "test", "test")
    job_runner(config, corpus, lambda: embedder).run_pending()
    with TestClient(create_app(config, embedder=embedder), client=LOCAL) as client:
        client.headers["Authorization"] = f"Bearer {ADMIN}"
        yield client


def settled(client: TestClient, reply) -> None:
    """Wait for an accepted upload's job, so the next example starts from a corpus at rest."""
    deadline = time.monotonic() + 300
    while client.get(f"/v1/jobs/{reply.json()['id']}").json()["status"] not in ("succeeded", "failed"):
        assert time.monotonic() < deadline
        time.sleep(0.1)


def stored(client: TestClient) -> tuple[object, object]:
    return client.get("/v1/documents").json(), [j["id"] for j in client.get("/v1/jobs").json()["jobs"]]


def dumps(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=True).encode()  # escapes, so lone surrogates travel as \udxxx


@EDGE
@given(body=JSON_VALUES)
def test_any_json_body_to_query_is_answered_without_a_server_error(edge: TestClient, body: object) -> None:
    reply = edge.post("/v1/query", content=dumps(body), headers={"Content-Type": "application/json"})
    assert reply.status_code < 500, reply.text
    assert reply.json()["error" if reply.status_code >= 400 else "results"] is not None


@EDGE
@given(
    question=st.text(ANY_CHAR, min_size=1, max_size=200),
    top_k=st.one_of(st.integers(-5, 60), st.floats(), st.text(max_size=3), st.booleans(), st.none()),
    documents=st.one_of(st.none(), st.lists(ANY_TEXT, max_size=5)),
)
def test_any_unicode_question_is_answered_or_refused_saying_why(
    edge: TestClient, question: str, top_k: object, documents: object
) -> None:
    payload = {"question": question, "top_k": top_k, "documents": documents}
    reply = edge.post("/v1/query", content=dumps(payload), headers={"Content-Type": "application/json"})
    assert reply.status_code in (200, 404, 422), reply.text
    if reply.status_code == 200:
        assert len(reply.json()["results"]) <= 50
    else:
        assert reply.json()["error"]["message"]
    if any(0xD800 <= ord(c) <= 0xDFFF for c in question):
        assert reply.status_code == 422 and "surrogate" in reply.text


@EDGE
@given(body=st.binary(max_size=400), boundary=st.sampled_from(["XYZ", "b0undary", "--", "a" * 70]))
def test_any_bytes_as_a_multipart_upload_never_fail_the_service_or_change_the_corpus(
    edge: TestClient, body: bytes, boundary: str
) -> None:
    before = stored(edge)
    reply = edge.post(
        "/v1/documents", content=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    assert reply.status_code < 500, reply.text
    if reply.status_code == 202:
        settled(edge, reply)
    else:
        assert stored(edge) == before


PART_NAMES = st.sampled_from(["files", "document", "other", "", "files[]"]) | ANY_TEXT
FILE_NAMES = (
    st.none() | st.sampled_from(["a.txt", "../x.txt", "b.md", "c.pdf", "CON.txt", ".txt", ""]) | ANY_TEXT
)
CONTENTS = st.binary(max_size=300) | st.text(ANY_CHAR, max_size=200).map(
    lambda t: t.encode("utf-8", "surrogatepass")
)


def _quote(text: str) -> bytes:
    return text.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A").encode("utf-8", "surrogatepass")


@EDGE
@given(
    parts=st.lists(st.tuples(PART_NAMES, FILE_NAMES, CONTENTS), max_size=5),
    closed=st.booleans(),
)
def test_any_well_framed_multipart_form_is_stored_whole_or_refused_with_nothing_stored(
    edge: TestClient, parts: list[tuple[str, str | None, bytes]], closed: bool
) -> None:
    boundary = b"hypothesis-boundary-7f3a"
    body = b""
    for name, filename, content in parts:
        disposition = b'form-data; name="' + _quote(name) + b'"'
        if filename is not None:
            disposition += b'; filename="' + _quote(filename) + b'"'
        body += (
            b"--" + boundary + b"\r\nContent-Disposition: " + disposition + b"\r\n\r\n" + content + b"\r\n"
        )
    if closed:
        body += b"--" + boundary + b"--\r\n"
    before = stored(edge)
    reply = edge.post(
        "/v1/documents",
        content=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary.decode()}"},
    )
    assert reply.status_code < 500, reply.text
    if reply.status_code == 202:
        assert closed  # a body cut short is never taken
        settled(edge, reply)
    else:
        assert reply.json()["error"]["message"]
        assert stored(edge) == before


@functools.cache
def _real_files() -> dict[str, bytes]:
    """One sound file of each format this service reads, built once: what a mutation starts from."""
    from tests.files import flowing, paged

    lines = ["第一条 为了规范技工院校建设，制定本办法。", "各地要遴选建设50所楚怡优秀技工院校。"]
    return {
        "pdf": paged.text_pdf([lines], header=None),
        "png": paged.scan_png(lines, size=(500, 200)),
        "jpg": paged.photo(lines[:1]),
        "tif": paged.multipage_tiff([lines[:1]]),
        "docx": flowing.docx_file(lines),
        "html": flowing.html_page(lines),
        "ofd": flowing.ofd_file([flowing.ofd_lines(lines)]),
    }


@st.composite
def damaged_files(draw: st.DrawFn) -> tuple[str, bytes]:
    """A real file of some format, cut short, with bytes overwritten or inserted, under any of the
    suffixes this service reads (its own, another's, or none it knows)."""
    kind = draw(st.sampled_from(sorted(_real_files())))
    data = bytearray(_real_files()[kind])
    for _ in range(draw(st.integers(0, 4))):
        at = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["cut", "overwrite", "insert"]))
        chunk = draw(st.binary(min_size=1, max_size=16))
        if action == "cut":
            del data[at:]
        elif action == "overwrite":
            data[at : at + len(chunk)] = chunk
        else:
            data[at:at] = chunk
    suffix = draw(
        st.sampled_from([kind, kind, "pdf", "png", "jpeg", "tiff", "docx", "html", "ofd", "txt", "doc"])
    )
    return f"file.{suffix}", bytes(data)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(file=damaged_files(), ocr=st.sampled_from(["auto", "both"] * 4 + ["", "never"]) | ANY_TEXT)
@example(file=("a.txt", "一段文字。".encode()), ocr="\ud800")  # a form value that is not UTF-8
def test_any_damaged_document_file_is_taken_whole_or_refused_and_never_fails_the_service(
    edge: TestClient, file: tuple[str, bytes], ocr: str
) -> None:
    name, data = file
    before = stored(edge)
    # sent as bytes: a lone surrogate is not UTF-8, and the client would refuse it before the service
    reply = edge.post(
        "/v1/documents", files={"files": (name, data)}, data={"ocr": ocr.encode("utf-8", "surrogatepass")}
    )
    assert reply.status_code < 500, reply.text
    event(f"HTTP {reply.status_code}")  # --hypothesis-show-statistics shows how the examples fell
    if reply.status_code != 202:
        assert reply.json()["error"]["message"]
        assert stored(edge) == before
        return
    settled(edge, reply)
    job = edge.get(f"/v1/jobs/{reply.json()['id']}").json()
    event(f"job {job['status']}")
    if job["status"] == "failed":  # a file that only fails once read: said in the job, nothing stored
        assert job["error"] and name in job["error"], job
        assert stored(edge)[0] == before[0]
