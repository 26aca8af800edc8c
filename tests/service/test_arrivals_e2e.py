"""New documents arriving at a real server on 127.0.0.1: uploads, jobs, rebuilds under load, crashes."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.helpers import LAWS, MODELS, ROOT, SEEDS
from tests.postgres import fresh_database
from tests.servers import (
    concord_env,
    post_json,
    query_load,
    request,
    running_server,
    upload,
    wait_for_job,
)

PIPL = LAWS / "personal-information-protection-law-2021"
CONSUMER = LAWS / "consumer-rights-protection-law-2013"


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest) -> dict[str, str]:
    """The corpus database each arrival test runs on: SQLite beside the index, or a fresh database
    on a real PostgreSQL server."""
    if request.param == "sqlite":
        return {}
    return {"CONCORD_DATABASE_URL": fresh_database(request.getfixturevalue("postgres"))}


def _settings(
    var: Path, cache: Path, seeds: Path | None = SEEDS, database: dict[str, str] | None = None
) -> dict[str, str]:
    return (database or {}) | {
        "CONCORD_VAR_DIR": str(var),
        "CONCORD_MODELS_DIR": str(MODELS),
        "CONCORD_CACHE_DIR": str(cache),
        "CONCORD_SEEDS_DIR": str(seeds) if seeds else "",
        "CONCORD_RELOAD_INTERVAL": "0.5",
        "CONCORD_JOB_POLL_INTERVAL": "0.5",
    }


def sixth_seed_variant() -> bytes:
    """Another transcription of the seed notice: 003 without its header lines and with an OCR slip of its own."""
    lines = (SEEDS / "003_2898a6ebbb562591.txt").read_text(encoding="utf-8").splitlines()
    text = "\n".join(lines[8:]).replace("职业教育大讲堂", "职业敎育大讲堂", 1)
    return text.encode("utf-8")


def _ask(base: str, question: str, **extra: object) -> dict:
    status, body = post_json(base + "/v1/query", {"question": question, "top_k": 3, **extra})
    assert status == 200, body
    return body


def test_a_sixth_variant_uploaded_under_query_load_reads_6_of_6_and_no_query_fails(
    tmp_path: Path, shared_cache: Path, built_index, database: dict[str, str]
) -> None:
    with running_server(
        _settings(tmp_path / "var", shared_cache, database=database), tmp_path / "server.log"
    ) as server:
        question = {"question": "楚怡优秀技工院校要遴选建设多少所？", "top_k": 3}
        before = _ask(server.base, question["question"])
        assert before["results"][0]["support"] == {**before["results"][0]["support"], "count": 5, "total": 5}
        with query_load(server.base, question) as load:
            status, job = upload(server.base + "/v1/documents", [("005_sixth.txt", sixth_seed_variant())])
            assert status == 202, job
            assert job["status"] in ("queued", "running") and job["files"] == ["005_sixth.txt"]
            done = wait_for_job(server.base, job["id"])
            load.wait_until(lambda generations: len(generations) >= 2)
        assert done["status"] == "succeeded", done
        stored = done["result"]["files"][0]
        assert stored["document"] == "seeds" and stored["assignment"]["decision"] == "matched"
        assert load.failures == []
        assert len(load.generations) == 2  # queries were answered by the old index and then by the new one
        top = _ask(server.base, question["question"])["results"][0]
        assert "5所" in top["text"]
        assert top["support"]["count"] == top["support"]["total"] == 6
        assert any(r["variant"] == "005_sixth" for r in top["readings"])
        metrics = urllib_text(server.base + "/metrics")
        assert 'concord_jobs{status="succeeded"}' in metrics and "concord_index_generation 2.0" in metrics
        assert 'concord_http_requests_total{method="POST",route="/v1/query",status="200"}' in metrics


def urllib_text(url: str) -> str:
    import urllib.request

    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read().decode()


def test_seed_variants_one_by_one_then_a_statute_make_two_documents(
    tmp_path: Path, shared_cache: Path, built_index, database: dict[str, str]
) -> None:
    settings = _settings(tmp_path / "var", shared_cache, seeds=None, database=database)
    with running_server(settings, tmp_path / "server.log") as server:
        status, documents = request(server.base + "/v1/documents")
        assert status == 200 and documents == []
        for path in sorted(SEEDS.glob("*.txt")):
            status, job = upload(server.base + "/v1/documents", [(path.name, path.read_bytes())])
            assert status == 202, job
            assert wait_for_job(server.base, job["id"])["status"] == "succeeded"
        status, job = upload(
            server.base + "/v1/documents",
            [
                ("lawrefbook.txt", (PIPL / "lawrefbook.txt").read_bytes()),
                ("china-laws.txt", (PIPL / "china-laws.txt").read_bytes()),
            ],
        )
        assert status == 202
        law_job = wait_for_job(server.base, job["id"])
        assert law_job["status"] == "succeeded", law_job
        first, second = law_job["result"]["files"]
        assert first["assignment"]["decision"] == "new"
        assert second["assignment"]["decision"] == "matched" and second["document"] == first["document"]

        documents = request(server.base + "/v1/documents")[1]
        assert sorted(len(d["variants"]) for d in documents) == [2, 5]
        seed_doc = next(d for d in documents if len(d["variants"]) == 5)
        law_doc = next(d for d in documents if len(d["variants"]) == 2)
        assert law_doc["title"] == "中华人民共和国个人信息保护法"
        assert {v["original_name"] for v in seed_doc["variants"]} == {p.name for p in SEEDS.glob("*.txt")}

        seed_answer = _ask(server.base, "How many 楚怡 technical schools will be built?")
        assert seed_answer["results"][0]["document"]["id"] == seed_doc["id"]
        assert seed_answer["results"][0]["support"]["total"] == 5
        for question in (
            "处理敏感个人信息应当取得个人的什么同意？",
            "What consent is needed to process sensitive personal information?",
        ):
            top = _ask(server.base, question)["results"][0]
            assert top["document"] == {"id": law_doc["id"], "title": law_doc["title"]}, question
            assert top["support"]["total"] == 2
        only_seeds = _ask(server.base, "处理敏感个人信息应当取得个人的什么同意？", documents=[seed_doc["id"]])
        assert {r["document"]["id"] for r in only_seeds["results"]} == {seed_doc["id"]}
        status, body = post_json(server.base + "/v1/query", {"question": "问题", "documents": ["nope"]})
        assert status == 404 and "unknown document" in body["detail"]


def test_a_rebuild_killed_midway_leaves_the_old_index_and_the_job_runs_again(
    tmp_path: Path, shared_cache: Path, built_index
) -> None:
    # SQLite only: a second run would find the statute embedded in the shared cache and finish
    # before it could be killed.
    var = tmp_path / "var"
    settings = _settings(var, shared_cache)
    with running_server(settings, tmp_path / "first.log") as server:
        generation = _ask(server.base, "楚怡")["index"]["generation"]
        published = (var / "index").resolve()
        status, job = upload(
            server.base + "/v1/documents", [("consumer.txt", (CONSUMER / "lawrefbook.txt").read_bytes())]
        )
        assert status == 202
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            state = request(f"{server.base}/v1/jobs/{job['id']}")[1]
            if state["status"] == "running" and state["stage"] in ("collate", "embed"):
                break
            assert state["status"] != "succeeded", "the rebuild finished before it could be killed"
            time.sleep(0.05)
        server.kill()
    assert (var / "index").resolve() == published  # the kill published nothing

    with running_server(settings, tmp_path / "second.log") as server:
        assert request(server.base + "/readyz")[1]["index"]["generation"] == generation
        finished = wait_for_job(server.base, job["id"])
        assert finished["status"] == "succeeded", finished
        assert finished["attempts"] == 2
        assert "interrupted" in server.output()
        top = _ask(server.base, "经营者提供商品或者服务有欺诈行为的，应当如何赔偿？")["results"][0]
        assert top["document"]["title"] == "中华人民共和国消费者权益保护法"
        assert _ask(server.base, "楚怡")["index"]["generation"] > generation


def test_concord_add_then_serve_shows_the_new_variant(
    tmp_path: Path, shared_cache: Path, built_index, database: dict[str, str]
) -> None:
    settings = _settings(tmp_path / "var", shared_cache, database=database)
    added = subprocess.run(
        [sys.executable, "-m", "service.cli", "add", str(PIPL / "lawrefbook.txt")],
        cwd=ROOT,
        env=concord_env(settings),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert added.returncode == 0, added.stderr
    assert "lawrefbook.txt: stored as doc-" in added.stdout and "2 documents, 6 variants" in added.stdout
    with running_server(settings, tmp_path / "server.log") as server:
        top = _ask(server.base, "个人信息处理者利用个人信息进行自动化决策，应当保证什么？")["results"][0]
        assert top["document"]["title"] == "中华人民共和国个人信息保护法"
        assert top["readings"][0]["variant"] == "lawrefbook"


@pytest.mark.parametrize("missing", ["CONCORD_DATABASE_URL"])
def test_a_database_of_another_schema_is_refused_at_start_up(tmp_path: Path, missing: str) -> None:
    import sqlite3

    db = tmp_path / "old.db"
    with sqlite3.connect(db) as conn:
        conn.execute("create table meta (key text primary key, value text)")
        conn.execute("insert into meta values ('schema', '99')")
    result = subprocess.run(
        [sys.executable, "-m", "service.cli", "documents"],
        cwd=ROOT,
        env=concord_env({missing: f"sqlite:///{db}", "CONCORD_VAR_DIR": str(tmp_path / "var")}),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "schema version 99" in result.stderr and "Traceback" not in result.stderr


def test_two_servers_sharing_postgresql_rebuild_one_at_a_time_and_both_serve_the_new_generation(
    tmp_path: Path, shared_cache: Path, built_index, postgres: str
) -> None:
    """Two replicas: one PostgreSQL (corpus, jobs, the rebuild lease) and one shared folder (variant
    files and builds, as a shared volume would be). An upload to each at once makes two jobs; the
    lease lets one rebuild run at a time, and both replicas then serve the last generation."""
    settings = _settings(
        tmp_path / "var", shared_cache, database={"CONCORD_DATABASE_URL": fresh_database(postgres)}
    )
    with (
        running_server(settings, tmp_path / "first.log") as first,
        running_server(settings, tmp_path / "second.log") as second,
    ):
        start = _ask(first.base, "楚怡")["index"]["generation"]
        assert _ask(second.base, "楚怡")["index"]["generation"] == start
        jobs: dict[str, dict] = {}

        def send(server_base: str, name: str, path: Path) -> None:
            status, job = upload(server_base + "/v1/documents", [(name, path.read_bytes())])
            assert status == 202, job
            jobs[name] = job

        senders = [
            threading.Thread(target=send, args=(first.base, "pipl.txt", PIPL / "lawrefbook.txt")),
            threading.Thread(target=send, args=(second.base, "consumer.txt", CONSUMER / "lawrefbook.txt")),
        ]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join(timeout=60)
        finished = [wait_for_job(first.base, job["id"]) for job in jobs.values()]
        assert [job["status"] for job in finished] == ["succeeded", "succeeded"], finished
        # One rebuild at a time: the jobs shared one rebuild (coalesced) or ran one after the other.
        earlier, later = sorted(finished, key=lambda job: (job["result"]["generation"], job["started_at"]))
        if earlier["result"]["generation"] == later["result"]["generation"]:
            assert earlier["result"]["coalesced_with"] == [later["id"]], finished
        else:
            assert earlier["finished_at"] <= later["started_at"], finished
        last = later["result"]["generation"]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            generations = {_ask(s.base, "楚怡")["index"]["generation"] for s in (first, second)}
            if generations == {last}:
                break
            time.sleep(0.3)
        else:
            raise AssertionError(f"the two servers did not both reach generation {last}")
        for server in (first, second):
            titles = {d["title"] for d in request(server.base + "/v1/documents")[1]}
            assert {"中华人民共和国个人信息保护法", "中华人民共和国消费者权益保护法"} <= titles
            top = _ask(server.base, "经营者提供商品或者服务有欺诈行为的，应当如何赔偿？")["results"][0]
            assert top["document"]["title"] == "中华人民共和国消费者权益保护法"


def test_a_server_killed_while_ocr_reads_a_scan_runs_the_job_again_and_stores_the_scan_once(
    tmp_path: Path, shared_cache: Path, built_index
) -> None:
    """The longest stage of an upload is OCR: a process lost in the middle of it must not leave the
    upload "processing" for ever, nor half-stored."""
    from tests.files.paged import scanned_text

    var = tmp_path / "var"
    settings = _settings(var, shared_cache)
    scan = scanned_text((SEEDS / "003_2898a6ebbb562591.txt").read_text(encoding="utf-8"))
    with running_server(settings, tmp_path / "first.log") as server:
        status, job = upload(server.base + "/v1/documents", [("003-scan.pdf", scan)])
        assert status == 202
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            state = request(f"{server.base}/v1/jobs/{job['id']}")[1]
            if state["stage"] == "extract" and state["done"] >= 1:
                break  # a page read, the others not yet
            assert state["status"] not in ("succeeded", "failed"), state
            time.sleep(0.1)
        assert state["total"] > state["done"], state
        server.kill()
    stored = var / "corpus" / "seeds"
    assert len(list(stored.glob("*.txt"))) == 5 and not list(
        stored.glob("003-scan*")
    )  # nothing stored mid-read

    with running_server(settings, tmp_path / "second.log") as server:
        finished = wait_for_job(server.base, job["id"], timeout=600)
        assert finished["status"] == "succeeded" and finished["attempts"] == 2, finished
        documents = request(server.base + "/v1/documents")[1]
        (seeds,) = [d for d in documents if d["id"] == "seeds"]
        assert [v["id"] for v in seeds["variants"]].count("003-scan") == 1 and len(seeds["variants"]) == 6
        top = _ask(server.base, "楚怡优秀技工院校要遴选建设多少所？")["results"][0]
        assert top["support"]["count"] == top["support"]["total"] == 6
