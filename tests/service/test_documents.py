"""The documents and jobs API in-process over a real corpus: bad uploads change nothing, jobs say what happened."""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.settings import Settings
from tests.files import flowing, paged
from tests.helpers import LAWS, MODELS, SEEDS
from tests.servers import LOCAL, multipart_body

PIPL = LAWS / "personal-information-protection-law-2021"
ADMIN, READER = "admin-secret-key", "query-secret-key"


@pytest.fixture(scope="module")
def corpus_app(
    tmp_path_factory: pytest.TempPathFactory, embedder, shared_cache: Path, built_index
) -> Iterator[tuple[TestClient, Settings]]:
    """An app over its own corpus (the seeds), with small limits, admin and query keys, and a watched inbox."""
    var = tmp_path_factory.mktemp("corpus-app")
    settings = Settings(
        var_dir=var,
        seeds_dir=SEEDS,
        models_dir=MODELS,
        cache_dir=shared_cache,
        max_variant_bytes=200_000,
        max_files_per_upload=3,
        api_keys=READER,
        admin_api_keys=ADMIN,
        watch_dir=var / "inbox",
        watch_interval=0.2,
        job_poll_interval=0.2,
        reload_interval=0,
        rate_limit_per_minute=0,  # these tests make many requests quickly; limits are tested in test_portal
    )
    from index.jobs.submit import submit_reindex
    from service.runtime import job_runner, open_corpus

    corpus = open_corpus(settings)  # what `concord serve` does before serving: build when there is no index
    submit_reindex(corpus, "test", "test")
    job_runner(settings, corpus, lambda: embedder).run_pending()
    with TestClient(create_app(settings, embedder=embedder), client=LOCAL) as client:
        client.headers["Authorization"] = f"Bearer {ADMIN}"
        yield client, settings


def _wait(client: TestClient, job_id: str, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in ("succeeded", "failed"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish")


def snapshot(settings: Settings) -> dict:
    """Everything stored: corpus files with their hashes, database rows of documents and variants, the published index."""
    corpus = settings.resolved_corpus_dir
    files = {
        str(p.relative_to(corpus)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(corpus.rglob("*"))
        if p.is_file()
    }
    with sqlite3.connect(settings.var_dir / "concord.db") as conn:
        documents = conn.execute("select id, title from documents order by id").fetchall()
        variants = conn.execute("select document_id, id, sha256 from variants order by pk").fetchall()
    return {
        "files": files,
        "documents": documents,
        "variants": variants,
        "index": settings.resolved_index_dir.resolve(),
    }


BAD_UPLOADS = [
    pytest.param([("empty.txt", b"")], None, 400, "is empty", id="empty"),
    pytest.param([("blob.txt", b"\x00\x01\x02binary")], None, 400, "binary", id="binary"),
    pytest.param(
        [("latin.txt", "café crème".encode("latin-1"))], None, 400, "neither UTF-8 nor GB18030", id="not-utf8"
    ),
    pytest.param([("big.txt", "字".encode() * 70_000)], None, 413, "over the 195.3 KB limit", id="over-size"),
    pytest.param([(f"v{i}.txt", b"text") for i in range(4)], None, 422, "at most 3", id="too-many-files"),
    pytest.param([("../escape.txt", "正文。".encode())], None, 400, "not a path", id="dot-dot"),
    pytest.param([("/etc/passwd.txt", "正文。".encode())], None, 400, "not a path", id="absolute"),
    pytest.param(
        [("bad\x01name.txt", "正文。".encode())], None, 400, "control characters", id="control-chars"
    ),
    pytest.param([("CON.txt", "正文。".encode())], None, 400, "reserved device name", id="reserved"),
    pytest.param([("scan.pdf", b"%PDF-1.7 ...")], None, 400, "PDF", id="corrupt-pdf"),
    pytest.param(
        [("memo.docx", b"PK\x03\x04...")], None, 415, "ZIP archive of something else", id="docx-not-word"
    ),
    pytest.param(
        [("renamed.txt", b"PK\x03\x04word/document.xml")], None, 415, "a ZIP archive", id="zip-named-txt"
    ),
    pytest.param([("old.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")], None, 415, "save it as .docx", id="doc"),
    pytest.param([("photo.png", b"%PDF-1.7\n")], None, 415, "its contents are a PDF", id="type-mismatch"),
    pytest.param([("notes.xyz", b"text")], None, 415, "not a format this service reads", id="unknown-type"),
    pytest.param(
        [("locked.pdf", paged.encrypted_pdf())], None, 400, "remove the password", id="encrypted-pdf"
    ),
    pytest.param(
        [("cut.pdf", paged.truncated_pdf())], None, 400, "send the whole file again", id="truncated-pdf"
    ),
    pytest.param([("none.pdf", paged.zero_page_pdf())], None, 400, "a PDF with no pages", id="zero-page-pdf"),
    pytest.param(
        [("junk.pdf", paged.corrupt_pdf())], None, 400, "could not be opened as a PDF", id="junk-pdf"
    ),
    pytest.param(
        [("bomb.png", paged.bomb_png())], None, 413, "900 megapixels, more than the 100", id="bomb-png"
    ),
    pytest.param(
        [("cut.jpg", paged.truncated_jpeg())], None, 400, "cut short or damaged", id="truncated-jpeg"
    ),
    pytest.param(
        [("locked.docx", flowing.encrypted_docx())], None, 400, "remove the password", id="encrypted-docx"
    ),
    pytest.param(
        [("memo.docx", flowing.zip_of({"mimetype": "application/epub+zip", "a.txt": "x"}))],
        None,
        415,
        "ZIP archive of something else",
        id="docx-really-a-zip",
    ),
    pytest.param([("ok.txt", "正文。".encode())], "../other", 400, "document id", id="bad-document-id"),
    pytest.param(
        [("ok.txt", "正文。".encode()), ("empty.txt", b"")], None, 400, "is empty", id="one-bad-of-two"
    ),
]


@pytest.mark.parametrize(("files", "document", "status", "fragment"), BAD_UPLOADS)
def test_a_bad_upload_is_refused_and_changes_nothing(corpus_app, files, document, status, fragment) -> None:
    client, settings = corpus_app
    before = snapshot(settings)
    jobs_before = len(client.get("/v1/jobs").json()["jobs"])
    body, content_type = multipart_body(files, document)
    response = client.post("/v1/documents", content=body, headers={"Content-Type": content_type})
    assert response.status_code == status, response.text
    assert fragment in response.json()["detail"]
    assert snapshot(settings) == before
    assert len(client.get("/v1/jobs").json()["jobs"]) == jobs_before
    assert not any((settings.resolved_corpus_dir / ".incoming").glob("*/*"))


def test_a_scan_that_ocr_reads_as_nothing_fails_its_job_saying_so_and_changes_nothing(corpus_app) -> None:
    client, settings = corpus_app
    before = snapshot(settings)
    body, content_type = multipart_body([("blank-scan.pdf", paged.blank_pdf(pages=2))])
    response = client.post("/v1/documents", content=body, headers={"Content-Type": content_type})
    assert response.status_code == 202, response.text  # what OCR will read is not known until it runs
    job = _wait(client, response.json()["id"])
    assert job["status"] == "failed" and job["stage"] == "extract", job
    assert job["error"].startswith("blank-scan.pdf: no text could be read on any of its 2 pages")
    assert "check it is legible" in job["error"]
    assert snapshot(settings) == before
    assert not any((settings.resolved_corpus_dir / ".incoming").glob("*/*"))


def test_a_body_that_is_not_multipart_is_a_415_saying_how_to_send(corpus_app) -> None:
    client, _ = corpus_app
    response = client.post("/v1/documents", json={"files": "x"})
    assert response.status_code == 415 and "multipart/form-data" in response.json()["detail"]
    assert client.post("/v1/documents", files={"other": ("a.txt", b"x")}).status_code == 400


def test_a_byte_identical_duplicate_is_a_no_op_that_names_the_stored_variant(corpus_app) -> None:
    client, settings = corpus_app
    before = snapshot(settings)
    seed = SEEDS / "002_3a5bf2ddd52c080d.txt"
    response = client.post("/v1/documents", files={"files": ("again.txt", seed.read_bytes())})
    assert response.status_code == 202
    job = _wait(client, response.json()["id"])
    assert job["status"] == "succeeded"
    assert job["result"]["files"][0]["duplicate_of"] == "seeds/002_3a5bf2ddd52c080d"
    assert snapshot(settings) == before


def test_gb18030_is_converted_and_the_job_says_so_then_removal_rebuilds_without_it(corpus_app) -> None:
    client, settings = corpus_app
    text = (PIPL / "lawrefbook.txt").read_text(encoding="utf-8")
    response = client.post(
        "/v1/documents", files={"files": ("pipl-gbk.txt", text.encode("gb18030"))}, data={"document": "pipl"}
    )
    assert response.status_code == 202
    job = _wait(client, response.json()["id"])
    assert job["status"] == "succeeded", job
    stored = job["result"]["files"][0]
    assert stored["converted_from"] == "gb18030" and stored["assignment"]["decision"] == "named"
    assert (settings.resolved_corpus_dir / "pipl" / "pipl-gbk.txt").read_text(encoding="utf-8") == text
    document = client.get("/v1/documents/pipl").json()
    assert document["variants"][0]["encoding"] == "gb18030"
    answer = client.post(
        "/v1/query", json={"question": "个人信息处理者应当采取哪些措施确保个人信息处理活动符合法律"}
    ).json()
    assert answer["results"][0]["document"]["id"] == "pipl"
    generation = answer["index"]["generation"]

    removal = client.delete("/v1/documents/pipl")
    assert removal.status_code == 202
    assert _wait(client, removal.json()["id"])["status"] == "succeeded"
    assert client.get("/v1/documents/pipl").status_code == 404
    assert not (settings.resolved_corpus_dir / "pipl").exists() or not any(
        (settings.resolved_corpus_dir / "pipl").iterdir()
    )
    after = client.post("/v1/query", json={"question": "个人信息处理者应当采取哪些措施"}).json()
    assert after["index"]["generation"] > generation
    assert {r["document"]["id"] for r in after["results"]} == {"seeds"}


def test_moving_a_variant_and_removing_one(corpus_app) -> None:
    client, _ = corpus_app
    moved = client.post("/v1/documents/seeds/variants/004_566752a41fb3f226/move", json={"to": "seeds-copy"})
    assert moved.status_code == 202
    assert _wait(client, moved.json()["id"])["status"] == "succeeded"
    ids = {d["id"]: len(d["variants"]) for d in client.get("/v1/documents").json()}
    assert ids["seeds"] == 4 and ids["seeds-copy"] == 1
    top = client.post(
        "/v1/query", json={"question": "楚怡优秀技工院校要遴选建设多少所？", "documents": ["seeds"]}
    ).json()
    assert top["results"][0]["support"]["total"] == 4

    back = client.post("/v1/documents/seeds-copy/variants/004_566752a41fb3f226/move", json={"to": "seeds"})
    assert _wait(client, back.json()["id"])["status"] == "succeeded"
    assert "seeds-copy" not in {d["id"] for d in client.get("/v1/documents").json()}  # emptied, so removed
    assert client.delete("/v1/documents/seeds/variants/nope").status_code == 404
    assert client.delete("/v1/documents/nope").status_code == 404


def test_jobs_are_listed_by_status_and_unknown_statuses_are_refused(corpus_app) -> None:
    client, _ = corpus_app
    succeeded = client.get("/v1/jobs", params={"status": "succeeded"}).json()["jobs"]
    assert succeeded and {j["status"] for j in succeeded} == {"succeeded"}
    assert all({"stage", "done", "total", "created_at", "finished_at", "result"} <= set(j) for j in succeeded)
    refused = client.get("/v1/jobs", params={"status": "done"})
    assert refused.status_code == 422 and "queued, running" in refused.json()["detail"]
    assert client.get("/v1/jobs/nope").status_code == 404


def test_writes_need_an_admin_key_and_reads_a_query_key(corpus_app) -> None:
    client, _ = corpus_app
    files = {"files": ("x.txt", "正文。".encode())}
    assert client.post("/v1/documents", files=files, headers={"Authorization": ""}).status_code == 401
    assert (
        client.post("/v1/documents", files=files, headers={"Authorization": "Bearer wrong"}).status_code
        == 401
    )
    as_reader = {"Authorization": f"Bearer {READER}"}
    forbidden = client.post("/v1/documents", files=files, headers=as_reader)
    assert forbidden.status_code == 403 and "admin key" in forbidden.json()["detail"]
    assert client.delete("/v1/documents/seeds", headers=as_reader).status_code == 403
    assert client.get("/v1/documents", headers=as_reader).status_code == 200
    assert client.post("/v1/query", json={"question": "楚怡"}, headers=as_reader).status_code == 200


def test_the_inbox_takes_good_files_and_explains_bad_ones(corpus_app) -> None:
    client, settings = corpus_app
    inbox = settings.watch_dir
    (inbox / ".partial-upload.txt").write_text("正在写入", encoding="utf-8")
    (inbox / "draft.txt.tmp").write_text("正在写入", encoding="utf-8")
    (inbox / "notes.pdf").write_bytes(b"%PDF-1.4")
    (inbox / "pipl-china-laws.txt").write_bytes((PIPL / "china-laws.txt").read_bytes())
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not (inbox / "done" / "pipl-china-laws.txt").exists():
        time.sleep(0.2)
    assert (inbox / "done" / "pipl-china-laws.txt").exists()
    assert (inbox / "failed" / "notes.pdf").exists()
    assert "not a complete PDF" in (inbox / "failed" / "notes.pdf.reason.txt").read_text(encoding="utf-8")
    assert (inbox / ".partial-upload.txt").exists() and (inbox / "draft.txt.tmp").exists()  # left alone
    job = client.get("/v1/jobs", params={"status": "succeeded"}).json()["jobs"][0]
    assert job["origin"].startswith("inbox:") and job["files"] == ["pipl-china-laws.txt"]


def test_metrics_are_prometheus_text(corpus_app) -> None:
    client, _ = corpus_app
    text = client.get("/metrics").text
    for name in (
        "concord_http_requests_total",
        "concord_http_request_seconds_bucket",
        "concord_index_generation",
        "concord_documents",
        "concord_variants",
        "concord_clause_groups",
        'concord_jobs{status="queued"}',
        "concord_queue_depth",
        "concord_rebuild_seconds",
    ):
        assert name in text, name
