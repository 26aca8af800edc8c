"""One request never hurts another, and nothing stored is lost: the adversarial probe's findings over HTTP.

Against a real keyed `concord serve` with its own corpus (the seeds): bad
questions sent beside good ones, a cut-short upload, oversized bodies, a
delete the disk refuses, a delete undone from the trash, and a damaged
published index.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from index.published import BUILDS
from tests.helpers import MODELS
from tests.servers import Server, _send, exchange, running_server

QUESTION = {"question": "楚怡优秀技工院校要遴选建设多少所？", "top_k": 3}


@dataclass(frozen=True)
class Site:
    server: Server
    var: Path
    admin_key: str
    query_key: str

    @property
    def base(self) -> str:
        return self.server.base

    def call(self, method: str, path: str, payload: object = None, key: str | None = None):
        return exchange(
            self.base + path, method, payload, {"Authorization": f"Bearer {key or self.admin_key}"}
        )

    def raw(self, path: str, body: bytes, content_type: str, key: str | None = None) -> tuple[int, dict]:
        headers = {"Authorization": f"Bearer {key or self.admin_key}", "Content-Type": content_type}
        status, _, raw = _send(self.base + path, body, headers, "POST")
        return status, json.loads(raw or b"{}")

    def wait(self, job_id: str, timeout: float = 300) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.call("GET", f"/v1/jobs/{job_id}").body
            if job.get("status") in ("succeeded", "failed"):
                return job
            time.sleep(0.2)
        raise AssertionError(f"job {job_id} did not finish in {timeout} s")

    def stored(self) -> list[tuple[str, str, str]]:
        documents = self.call("GET", "/v1/documents").body
        return sorted((d["id"], v["id"], v["sha256"]) for d in documents for v in d["variants"])


def site_settings(var: Path, cache: Path, admin: str, query: str) -> dict[str, str]:
    return {
        "CONCORD_VAR_DIR": str(var),
        "CONCORD_MODELS_DIR": str(MODELS),
        "CONCORD_CACHE_DIR": str(cache),
        "CONCORD_ADMIN_API_KEYS": admin,
        "CONCORD_API_KEYS": query,
        "CONCORD_RATE_LIMIT_PER_MINUTE": "0",
        "CONCORD_JOB_POLL_INTERVAL": "0.2",
    }


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, shared_cache: Path, built_index) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("robust")
    admin, query = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    with running_server(
        site_settings(root / "var", shared_cache, admin, query), root / "server.log"
    ) as server:
        yield Site(server, root / "var", admin, query)


def fingerprint(key: str, role: str = "admin") -> str:
    return f"{role}:{hashlib.sha256(key.encode()).hexdigest()[:12]}"


def test_bad_questions_sent_beside_good_ones_fail_alone(site: Site) -> None:
    good: list[int] = []
    bad: list[tuple[int, dict]] = []

    def ask(payload: dict, into: list, times: int) -> None:
        for _ in range(times):
            reply = site.call("POST", "/v1/query", payload, key=site.query_key)
            into.append(reply.status if into is good else (reply.status, reply.body))

    # Valid JSON: "\ud800" is a lone surrogate, which made the tokenizer fail the whole batch.
    poison = {"question": "\ud800 x 楚怡", "top_k": 3}
    threads = [threading.Thread(target=ask, args=(QUESTION, good, 12)) for _ in range(6)]
    threads += [threading.Thread(target=ask, args=(poison, bad, 12)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert good == [200] * 72
    assert {status for status, _ in bad} == {422}
    message = bad[0][1]["error"]["message"]
    assert "U+D800" in message and "character 0" in message
    assert '"status": 500' not in site.server.output()


def test_a_cut_short_upload_is_refused_and_nothing_is_stored(site: Site) -> None:
    before = site.stored()
    jobs_before = site.call("GET", "/v1/jobs").body["jobs"]
    body = b'--XYZ\r\nContent-Disposition: form-data; name="files"; filename="a.txt"\r\n\r\nhello'
    status, reply = site.raw("/v1/documents", body, "multipart/form-data; boundary=XYZ")
    assert status == 400 and "cut short" in reply["error"]["message"]
    assert reply["error"]["code"] == "invalid_request"
    assert site.stored() == before
    assert site.call("GET", "/v1/jobs").body["jobs"] == jobs_before


def test_query_bodies_and_fields_are_bounded(site: Site) -> None:
    huge = {"question": "x", "documents": ["d" * 8] * 20_000}  # ~240 KB of JSON
    status, reply = site.raw("/v1/query", json.dumps(huge).encode(), "application/json", key=site.query_key)
    assert (
        status == 413
        and reply["error"]["code"] == "too_large"
        and "65536-byte limit" in reply["error"]["message"]
    )
    many = site.call("POST", "/v1/query", {"question": "x", "documents": ["d"] * 1001}, key=site.query_key)
    assert many.status == 422 and len(many.body["error"]["message"]) < 300
    unknown = [f"nope-{n}" for n in range(900)]
    reply = site.call("POST", "/v1/query", {"question": "x", "documents": unknown}, key=site.query_key)
    assert reply.status == 404 and "and 895 more" in reply.body["error"]["message"]
    assert len(reply.body["error"]["message"]) < 400
    for top_k in ("3", True, 2.5):
        bad = site.call("POST", "/v1/query", {"question": "x", "top_k": top_k}, key=site.query_key)
        assert bad.status == 422, top_k


def test_a_delete_the_disk_refuses_changes_nothing_and_can_be_retried(site: Site) -> None:
    before = site.stored()
    document, variant, _ = before[0]
    trash = site.var / "corpus" / ".trash"
    moved_aside = trash.exists()
    if moved_aside:
        trash.rename(trash.with_name(".trash-aside"))
    trash.write_text("a file where the trash folder should be: the rename into it fails")
    try:
        job = site.call("DELETE", f"/v1/documents/{document}/variants/{variant}").body
        failed = site.wait(job["id"])
        assert failed["status"] == "failed" and f"/v1/jobs/{job['id']}/retry" in failed["error"]
        assert site.stored() == before  # still listed, still its file
        text = site.call("GET", f"/v1/documents/{document}/variants/{variant}/text?end=10")
        assert text.status == 200
    finally:
        trash.unlink()
        if moved_aside:
            trash.with_name(".trash-aside").rename(trash)
    assert site.call("POST", f"/v1/jobs/{job['id']}/retry").status == 202
    done = site.wait(job["id"])
    assert done["status"] == "succeeded" and done["attempts"] == 2
    assert (document, variant) not in {(d, v) for d, v, _ in site.stored()}
    restore = site.call(
        "POST", f"/v1/trash/{done['result']['trash']}/restore"
    ).body  # back for the next tests
    assert site.wait(restore["id"])["status"] == "succeeded"
    assert site.stored() == before


def test_a_deleted_variant_is_restored_byte_for_byte_and_the_audit_names_the_caller(site: Site) -> None:
    before = site.stored()
    asked = site.call("POST", "/v1/query", QUESTION, key=site.query_key).body
    document = asked["results"][0]["document"]["id"]
    variant = asked["results"][0]["readings"][0]["variant"]
    sha = next(s for d, v, s in before if (d, v) == (document, variant))

    removed = site.wait(site.call("DELETE", f"/v1/documents/{document}/variants/{variant}").body["id"])
    assert removed["status"] == "succeeded", removed
    entry = removed["result"]["trash"]
    after_remove = site.call("POST", "/v1/query", QUESTION, key=site.query_key).body
    cited = {r["variant"] for g in after_remove["results"] for r in g["readings"]}
    assert variant not in cited
    listed = site.call("GET", "/v1/trash").body["entries"]
    [kept] = [e for e in listed if e["id"] == entry]
    assert kept["variants"][0]["sha256"] == sha and kept["removed_by"] == f"api:{fingerprint(site.admin_key)}"

    restored = site.wait(site.call("POST", f"/v1/trash/{entry}/restore").body["id"])
    assert restored["status"] == "succeeded", restored
    assert site.stored() == before  # the same ids and the same bytes
    again = site.call("POST", "/v1/query", QUESTION, key=site.query_key).body
    assert variant in {r["variant"] for g in again["results"] for r in g["readings"]}
    assert site.call("GET", f"/v1/trash/{entry}").status == 404

    events = site.call("GET", f"/v1/audit?document={document}&limit=5").body["events"]
    actions = [(e["action"], e["variant"], e["caller"], e["client"]) for e in events[:2]]
    caller = f"api:{fingerprint(site.admin_key)}"
    assert actions == [("restore", variant, caller, "127.0.0.1"), ("remove", variant, caller, "127.0.0.1")]
    assert site.admin_key not in site.server.output()
    # A reader may ask, not read the trash or the audit.
    assert site.call("GET", "/v1/audit", key=site.query_key).status == 403


def test_a_damaged_index_is_reported_rebuilt_and_never_kept_over_a_good_one(
    tmp_path: Path, shared_cache: Path, built_index
) -> None:
    admin, query = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    var = tmp_path / "var"
    settings = site_settings(var, shared_cache, admin, query)
    with running_server(settings, tmp_path / "first.log") as server:
        site = Site(server, var, admin, query)
        assert site.wait(site.call("POST", "/v1/reindex").body["id"])["status"] == "succeeded"
    published = (var / "index").resolve()
    good = sorted(p for p in (var / BUILDS).iterdir() if p != published)
    assert good, "the first build should be kept as the fallback"
    faiss = published / "vectors.faiss"
    faiss.write_bytes(faiss.read_bytes()[:-64] + b"\0" * 64)

    with running_server(settings, tmp_path / "second.log") as server:
        site = Site(server, var, admin, query)
        # Ready at once on the fallback; the rebuild the refusal queued replaces it (the degraded
        # /readyz itself is checked deterministically in test_holder).
        assert site.call("POST", "/v1/query", QUESTION, key=query).status == 200
        jobs = site.call("GET", "/v1/jobs").body["jobs"]
        rebuilds = [j for j in jobs if j["kind"] == "reindex" and j["origin"] == "serve"]
        assert rebuilds, "a rebuild should be queued for the refused index"
        assert site.wait(rebuilds[0]["id"])["status"] == "succeeded"
        healed = exchange(server.base + "/readyz").body
        assert healed["status"] == "ready" and not healed["degraded"] and healed["detail"] is None
        log = server.output()
    assert "vectors.faiss is damaged" in log and "because the published index was refused" in log
    kept = sorted((var / BUILDS).iterdir())
    assert published not in kept, "the damaged build must be pruned"
    assert good[-1] in kept, "the newest good build must be kept as the fallback"
