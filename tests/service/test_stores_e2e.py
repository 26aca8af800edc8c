"""Shared stores behind a real server: Milvus (milvus-lite, one local file) alias switches under load,
and a misconfigured Milvus or PostgreSQL leaving the service up but not ready, saying what to fix."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.helpers import MODELS, SEEDS
from tests.servers import free_port, post_json, query_load, request, running_server, upload, wait_for_job
from tests.service.test_arrivals_e2e import PIPL, sixth_seed_variant

QUESTION = {"question": "楚怡优秀技工院校要遴选建设多少所？", "top_k": 3}


def _settings(folder: Path, cache: Path, **extra: str) -> dict[str, str]:
    return {
        "CONCORD_VAR_DIR": str(folder / "var"),
        "CONCORD_MODELS_DIR": str(MODELS),
        "CONCORD_CACHE_DIR": str(cache),
        "CONCORD_SEEDS_DIR": str(SEEDS),
        "CONCORD_VECTOR_BACKEND": "milvus",
        "CONCORD_MILVUS_URI": str(folder / "milvus.db"),
        "CONCORD_RELOAD_INTERVAL": "0.5",
        "CONCORD_JOB_POLL_INTERVAL": "0.5",
    } | extra


def _vectors(base: str) -> dict:
    status, body = request(base + "/readyz")
    assert status == 200, body
    return body["index"]["vector_store"]


def test_milvus_alias_switches_under_a_query_loop_with_no_failed_query(
    tmp_path: Path, shared_cache: Path, built_index
) -> None:
    from pymilvus import MilvusClient

    with running_server(_settings(tmp_path, shared_cache), tmp_path / "server.log") as server:
        first = _vectors(server.base)
        assert first["backend"] == "milvus" and first["alias"] == "concord"
        with query_load(server.base, QUESTION, lambda body: "5所" in body["results"][0]["text"]) as load:
            # Two arrivals, each changing a large share of the vectors: two new collections, two
            # alias switches, and the first collection dropped once the second is replaced.
            arrivals = [
                ("005_sixth.txt", sixth_seed_variant()),
                ("pipl.txt", (PIPL / "lawrefbook.txt").read_bytes()),
            ]
            for name, data in arrivals:
                status, job = upload(server.base + "/v1/documents", [(name, data)])
                assert status == 202, job
                done = wait_for_job(server.base, job["id"])
                assert done["status"] == "succeeded", done
            final = _generation(server.base)
            load.wait_until(lambda generations: max(generations, default=0) >= final)
        assert load.failures == []
        assert len(load.generations) >= 3  # queries were answered across the switches
        last = _vectors(server.base)
        assert last["collection"] != first["collection"]
    # Once the server has stopped, the file shows what the builds left: the alias on the last
    # collection, the one it replaced kept for replicas still serving it, the older ones dropped.
    client = MilvusClient(str(tmp_path / "milvus.db"))
    assert client.describe_alias("concord")["collection_name"] == last["collection"]
    ours = [name for name in client.list_collections() if name.startswith("concord__g")]
    assert len(ours) == 2 and last["collection"] in ours and first["collection"] not in ours


def _generation(base: str) -> int:
    status, body = request(base + "/readyz")
    assert status == 200, body
    return body["index"]["generation"]


def _not_ready(base: str) -> str:
    status, body = request(base + "/readyz")
    assert status == 503, body
    asked = post_json(base + "/v1/query", QUESTION)
    assert asked[0] == 503 and asked[1]["error"]["code"] == "not_ready", asked  # never a 500
    return body["detail"]


def test_milvus_unreachable_leaves_the_service_not_ready_naming_the_uri_setting(
    tmp_path: Path, shared_cache: Path
) -> None:
    settings = _settings(tmp_path, shared_cache, CONCORD_MILVUS_URI=f"http://127.0.0.1:{free_port()}")
    with running_server(settings, tmp_path / "server.log", wait_for="/healthz") as server:
        message = _not_ready(server.base)
        assert "cannot reach Milvus" in message and "CONCORD_MILVUS_URI" in message
        assert "CONCORD_MILVUS_URI" in server.output()


def test_milvus_collection_of_another_dimension_is_refused_naming_the_collection_setting(
    tmp_path: Path, shared_cache: Path
) -> None:
    # In a process of its own: milvus-lite keeps its file locked until the process that opened it ends.
    foreign = (
        "from pymilvus import DataType, MilvusClient\n"
        f"client = MilvusClient({str(tmp_path / 'milvus.db')!r})\n"
        "schema = MilvusClient.create_schema(auto_id=False)\n"
        "schema.add_field('id', DataType.INT64, is_primary=True)\n"
        "schema.add_field('vector', DataType.FLOAT_VECTOR, dim=8)\n"
        "client.create_collection('concord', schema=schema)\n"
    )
    subprocess.run([sys.executable, "-c", foreign], check=True, timeout=120)
    with running_server(
        _settings(tmp_path, shared_cache), tmp_path / "server.log", wait_for="/healthz"
    ) as server:
        message = _not_ready(server.base)
        assert "dimension 8, the model's is 384" in message and "CONCORD_MILVUS_COLLECTION" in message


def test_a_postgresql_url_that_refuses_leaves_the_service_not_ready_naming_the_database_setting(
    tmp_path: Path, shared_cache: Path
) -> None:
    refusing = f"postgresql://concord:not-logged@127.0.0.1:{free_port()}/concord"
    settings = _settings(tmp_path, shared_cache, CONCORD_DATABASE_URL=refusing)
    with running_server(settings, tmp_path / "server.log", wait_for="/healthz") as server:
        message = _not_ready(server.base)
        assert "CONCORD_DATABASE_URL" in message and "not-logged" not in message
        assert "not-logged" not in server.output()
