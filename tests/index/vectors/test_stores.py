"""One contract, run against every vector backend: FAISS (each index type) and Milvus (milvus-lite)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index.vectors import VectorBatch, VectorConfig, VectorStoreUnavailable, open_backend

CONFIGURATIONS = [
    pytest.param("faiss", "flat", id="faiss-flat"),
    pytest.param("faiss", "hnsw", id="faiss-hnsw"),
    pytest.param("faiss", "ivf", id="faiss-ivf"),
    pytest.param("milvus", "flat", id="milvus-flat"),
    pytest.param("milvus", "hnsw", id="milvus-hnsw"),
]


def _config(backend: str, index_type: str, tmp_path: Path) -> VectorConfig:
    return VectorConfig(backend=backend, index_type=index_type, uri=str(tmp_path / "milvus.db"))


def _batch(count: int = 300, dimension: int = 16, documents: int = 3, seed: int = 7) -> VectorBatch:
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(count, dimension)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = np.arange(1000, 1000 + count, dtype=np.int64)
    return VectorBatch(
        ids=ids,
        vectors=vectors,
        documents=[f"doc-{i % documents}" for i in range(count)],
        groups=[f"doc-{i % documents}:g{i}" for i in range(count)],
        texts=[f"条款 {i}" for i in range(count)],
    )


@pytest.mark.parametrize(("backend", "index_type"), CONFIGURATIONS)
def test_store_contract(backend: str, index_type: str, tmp_path: Path) -> None:
    vectors = open_backend(_config(backend, index_type, tmp_path))
    batch = _batch()
    store = vectors.create(16, len(batch.ids))
    store.upsert(batch)
    assert store.count() == 300
    assert store.describe()["backend"] == backend and store.describe()["index_type"] == index_type

    scores, found = store.search(batch.vectors[[5, 17]], 3)
    assert found[:, 0].tolist() == [1005, 1017]
    assert np.allclose(scores[:, 0], 1.0, atol=1e-3)

    # Only within some documents: the best row of another document is not returned.
    _, within = store.search(batch.vectors[[5]], 5, documents=["doc-1"])
    assert within[0, 0] != 1005 and all(batch.documents[i - 1000] == "doc-1" for i in within[0] if i >= 0)

    # Upsert replaces a row with the same id.
    moved = VectorBatch(batch.ids[:1], batch.vectors[[17]], ["doc-0"], ["doc-0:g0"], ["改"])
    store.upsert(moved)
    assert store.count() == 300
    assert set(store.search(batch.vectors[[17]], 2)[1][0].tolist()) == {1000, 1017}

    # Delete by document.
    assert store.delete_documents(["doc-2"]) == 100
    assert store.count() == 200
    _, after = store.search(batch.vectors[[2]], 10)
    assert 1002 not in after[0].tolist()

    # Saved into a build folder and opened again (a server's view of the build).
    store.save(tmp_path)
    vectors.publish(store)
    again = vectors.open(tmp_path)
    assert again.count() == 200
    assert again.search(batch.vectors[[42]], 1)[1][0, 0] == 1042


def test_an_unknown_backend_names_the_ones_available() -> None:
    with pytest.raises(ValueError, match="available: faiss, milvus"):
        VectorConfig(backend="qdrant")  # type: ignore[arg-type]


def test_milvus_publish_switches_the_alias_and_prunes_only_older_collections(tmp_path: Path) -> None:
    vectors = open_backend(_config("milvus", "flat", tmp_path))
    batch = _batch(count=20)
    stores = []
    for _ in range(3):
        store = vectors.create(16, 20)
        store.upsert(batch)
        vectors.publish(store)
        vectors.prune(store)
        stores.append(store)
        assert vectors.live_collection() == store.name
    names = set(vectors.client.list_collections())
    # The newest and the one it replaced (a replica may still serve it) stay; the first is gone.
    assert stores[2].name in names and stores[1].name in names and stores[0].name not in names


def test_milvus_a_failed_build_puts_the_alias_back(tmp_path: Path) -> None:
    vectors = open_backend(_config("milvus", "flat", tmp_path))
    good = vectors.create(16, 20)
    good.upsert(_batch(count=20))
    vectors.publish(good)
    failed = vectors.create(16, 20)
    vectors.publish(failed)
    vectors.discard(failed)
    assert vectors.live_collection() == good.name
    assert failed.name not in vectors.client.list_collections()


def test_milvus_refuses_a_foreign_collection_under_the_alias_name(tmp_path: Path) -> None:
    from pymilvus import DataType, MilvusClient

    uri = str(tmp_path / "milvus.db")
    client = MilvusClient(uri)
    schema = MilvusClient.create_schema(auto_id=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=8)
    client.create_collection("concord", schema=schema)
    vectors = open_backend(VectorConfig(backend="milvus", uri=uri))
    with pytest.raises(
        VectorStoreUnavailable, match=r"dimension 8, the model's is 384.*CONCORD_MILVUS_COLLECTION"
    ):
        vectors.check(384)


def test_milvus_unreachable_names_the_uri_setting() -> None:
    vectors = open_backend(VectorConfig(backend="milvus", uri="http://127.0.0.1:9"))
    with pytest.raises(VectorStoreUnavailable, match="CONCORD_MILVUS_URI"):
        vectors.check(384)
