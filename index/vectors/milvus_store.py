"""Vectors in Milvus: a cluster by URL, or milvus-lite (one local file) for development and tests.

Each build fills a collection of its own (`<alias>__g<time>_<pid>`), which no query
sees until the build publishes it: the alias (CONCORD_MILVUS_COLLECTION) is switched
to the new collection, then the build folder naming it is published, and only then
are collections older than the one it replaced dropped (a replica may still serve
that one until its next reload). A request searches the collection its loaded build
names, so the clause groups and the vectors it uses always come from one build.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Collection
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import numpy as np

from index.vectors.base import VectorBatch, VectorConfig, VectorStore, VectorStoreUnavailable, choose_kind
from index.vectors.faiss_store import (
    HNSW_EF_CONSTRUCTION,
    HNSW_EF_SEARCH,
    HNSW_NEIGHBOURS,
    IVF_PROBES,
    ivf_lists,
)

log = logging.getLogger("concord")
REFERENCE_FILE = "vectors.milvus.json"
TEXT_BYTES = 4000  # Milvus VARCHAR lengths are bytes; a clause is at most a few hundred characters
INSERT_ROWS = 2000
T = TypeVar("T")


def redacted(uri: str) -> str:
    """The URI without any user or password in it, fit for logs and /readyz."""
    parts = urlsplit(uri)
    if parts.scheme and "@" in parts.netloc:
        return parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]).geturl()
    return uri


class MilvusBackend:
    """One client per process and configuration; stores are collections behind one alias."""

    name = "milvus"

    def __init__(self, config: VectorConfig) -> None:
        if not config.uri:
            raise ValueError("the milvus backend needs a URI: a server URL or a milvus-lite file path")
        self.config = config
        self.uri = config.uri
        self.alias = config.collection
        self._client: Any = None
        self._lock = threading.Lock()

    # -- connection and errors ---------------------------------------------

    @property
    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                from pymilvus import MilvusClient

                if "://" not in self.uri:
                    Path(self.uri).expanduser().parent.mkdir(parents=True, exist_ok=True)
                self._client = self._call(
                    lambda: MilvusClient(uri=self.uri, token=self.config.token, timeout=10)
                )
            return self._client

    def _call(self, action: Callable[[], T]) -> T:
        from pymilvus.exceptions import MilvusException

        try:
            return action()
        except MilvusException as exc:
            raise VectorStoreUnavailable(self._explain(exc)) from None
        except (ConnectionError, TimeoutError, OSError) as exc:
            raise VectorStoreUnavailable(
                f"cannot reach Milvus at {redacted(self.uri)}: {exc}; check CONCORD_MILVUS_URI"
            ) from None

    def _explain(self, exc: Exception) -> str:
        message = str(getattr(exc, "message", exc))
        lowered = message.lower()
        where = redacted(self.uri)
        if any(
            word in lowered for word in ("auth", "credential", "token", "password", "permission", "denied")
        ):
            return (
                f"Milvus at {where} refused the credentials ({message}); "
                "check CONCORD_MILVUS_TOKEN or CONCORD_MILVUS_TOKEN_FILE"
            )
        if any(word in lowered for word in ("connect", "unavailable", "timeout", "timed out", "deadline")):
            return f"cannot reach Milvus at {where} ({message}); check CONCORD_MILVUS_URI"
        return f"Milvus at {where} answered: {message}"

    # -- the backend contract ----------------------------------------------

    def check(self, dimension: int | None = None) -> None:
        """Reachable, credentials accepted, and the alias name free for us (not someone's collection)."""
        client = self.client
        names = self._call(client.list_collections)
        if self.alias in names and self.alias not in self._aliases():
            found = self._dimension(self.alias)
            differs = f", the model's is {dimension}" if dimension is not None and found != dimension else ""
            raise VectorStoreUnavailable(
                f"Milvus at {redacted(self.uri)} already has a collection named {self.alias!r} "
                f"(dimension {found}{differs}); concord keeps its collections behind an alias of that name: "
                "set CONCORD_MILVUS_COLLECTION to another name, or drop that collection"
            )

    def create(self, dimension: int, expected_size: int) -> MilvusStore:
        from pymilvus import DataType, MilvusClient

        self.check(dimension)
        kind = choose_kind(expected_size) if self.config.index_type == "auto" else self.config.index_type
        stamp = datetime.now(UTC)
        name = f"{self.alias}__g{stamp:%Y%m%d%H%M%S%f}_{os.getpid()}"
        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("document", DataType.VARCHAR, max_length=256)
        schema.add_field("group_id", DataType.VARCHAR, max_length=512)
        schema.add_field("text", DataType.VARCHAR, max_length=TEXT_BYTES + 8)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dimension)
        index_params = self.client.prepare_index_params()
        index_params.add_index("vector", **_index_params(kind, expected_size))
        self._call(
            lambda: self.client.create_collection(
                name, schema=schema, index_params=index_params, consistency_level="Strong"
            )
        )
        return MilvusStore(self, name, dimension, kind)

    def live(self, dimension: int, expected_size: int) -> MilvusStore | None:
        name = self.live_collection()
        if name is None or self._dimension(name) != dimension:
            return None
        kind = choose_kind(expected_size) if self.config.index_type == "auto" else self.config.index_type
        found = self._call(lambda: self.client.describe_index(name, "vector"))
        if found.get("index_type") != _index_params(kind, expected_size)["index_type"]:
            return None  # grown past the size its index type was chosen for: a new collection
        store = MilvusStore(self, name, dimension, kind)
        store.in_place = True
        return store

    def open(self, path: Path) -> MilvusStore:
        reference = json.loads((path / REFERENCE_FILE).read_text(encoding="utf-8"))
        name = reference["collection"]
        if not self._call(lambda: self.client.has_collection(name)):
            raise VectorStoreUnavailable(
                f"the build at {path} names Milvus collection {name!r}, which {redacted(self.uri)} does not "
                "have (dropped, or another CONCORD_MILVUS_URI); run `concord build`"
            )
        found = self._dimension(name)
        if found != reference["dimension"]:
            raise VectorStoreUnavailable(
                f"Milvus collection {name!r} holds {found}-dimensional vectors, the build expects "
                f"{reference['dimension']}; run `concord build`"
            )
        self._call(lambda: self.client.load_collection(name))
        return MilvusStore(self, name, found, reference.get("index_type", "flat"))

    def publish(self, store: VectorStore) -> None:
        assert isinstance(store, MilvusStore)
        client = self.client
        self._call(lambda: client.flush(store.name))
        self._call(lambda: client.load_collection(store.name))
        if store.in_place:
            return  # the alias already names it
        if self.alias in self._aliases():
            store.replaces = self.live_collection()
            self._call(lambda: client.alter_alias(store.name, self.alias))
        else:
            self._call(lambda: client.create_alias(store.name, self.alias))
        log.info("Milvus alias %s now names %s", self.alias, store.name)

    def prune(self, keep: VectorStore) -> None:
        assert isinstance(keep, MilvusStore)
        spared = {keep.name, keep.replaces}
        for name in self._call(self.client.list_collections):
            if name.startswith(f"{self.alias}__g") and name not in spared and name < keep.name:
                self._call(lambda n=name: self.client.drop_collection(n))
                log.info("dropped Milvus collection %s", name)

    def discard(self, store: VectorStore) -> None:
        assert isinstance(store, MilvusStore)
        if store.in_place:
            # Half-updated: the published build keeps serving it (rows it does not know are skipped)
            # and the job's next run completes the update.
            log.error("an in-place update of Milvus collection %s failed midway", store.name)
            return
        if store.name == self.live_collection():
            # The alias was switched before the build failed: point it back first.
            if store.replaces is not None:
                self._call(lambda: self.client.alter_alias(store.replaces, self.alias))
            else:
                self._call(lambda: self.client.drop_alias(self.alias))
        self._call(lambda: self.client.drop_collection(store.name))

    # -- helpers -------------------------------------------------------------

    def live_collection(self) -> str | None:
        """The collection the alias names now, if the alias exists."""
        if self.alias not in self._aliases():
            return None
        return self._call(lambda: self.client.describe_alias(self.alias))["collection_name"]

    def _aliases(self) -> list[str]:
        found = self._call(self.client.list_aliases)
        return list(found.get("aliases", []) if isinstance(found, dict) else found)

    def _dimension(self, name: str) -> int:
        description = self._call(lambda: self.client.describe_collection(name))
        for field in description["fields"]:
            if "dim" in field.get("params", {}):
                return int(field["params"]["dim"])
        raise VectorStoreUnavailable(f"Milvus collection {name!r} has no vector field")


def _index_params(kind: str, expected_size: int) -> dict[str, Any]:
    if kind == "hnsw":
        params = {"M": HNSW_NEIGHBOURS, "efConstruction": HNSW_EF_CONSTRUCTION}
        return {"index_type": "HNSW", "metric_type": "IP", "params": params}
    if kind == "ivf":
        return {"index_type": "IVF_FLAT", "metric_type": "IP", "params": {"nlist": ivf_lists(expected_size)}}
    return {"index_type": "FLAT", "metric_type": "IP"}


def _search_params(kind: str) -> dict[str, Any]:
    if kind == "hnsw":
        return {"params": {"ef": HNSW_EF_SEARCH}}
    if kind == "ivf":
        return {"params": {"nprobe": IVF_PROBES}}
    return {}


def _clip(text: str) -> str:
    return text.encode("utf-8")[:TEXT_BYTES].decode("utf-8", errors="ignore")


def _document_filter(documents: Collection[str]) -> str:
    return f"document in {json.dumps(sorted(documents), ensure_ascii=False)}"


class MilvusStore:
    """One build's collection."""

    def __init__(self, backend: MilvusBackend, name: str, dimension: int, kind: str) -> None:
        self.backend = backend
        self.name = name
        self.dimension = dimension
        self.kind = kind
        self.replaces: str | None = None  # the collection the alias named before this one
        self.in_place = False  # the live collection, updated document by document

    def upsert(self, batch: VectorBatch) -> None:
        client = self.backend.client
        vectors = np.asarray(batch.vectors, np.float32)
        for start in range(0, len(batch.ids), INSERT_ROWS):
            rows = [
                {
                    "id": int(batch.ids[i]),
                    "document": batch.documents[i],
                    "group_id": batch.groups[i],
                    "text": _clip(batch.texts[i]),
                    "vector": vectors[i].tolist(),
                }
                for i in range(start, min(start + INSERT_ROWS, len(batch.ids)))
            ]
            self.backend._call(lambda rows=rows: client.upsert(self.name, rows))

    def delete_documents(self, documents: Collection[str]) -> int:
        if not documents:
            return 0
        client = self.backend.client
        found = self.backend._call(lambda: client.delete(self.name, filter=_document_filter(documents)))
        if isinstance(found, dict):
            return int(found.get("delete_count", 0))
        return len(found)

    def search(
        self, queries: np.ndarray, k: int, documents: Collection[str] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        client = self.backend.client
        k = max(1, k)
        queries = np.asarray(queries, np.float32)
        options: dict[str, Any] = {
            "limit": k,
            "output_fields": [],
            "search_params": _search_params(self.kind),
        }
        if documents is not None:
            options["filter"] = _document_filter(documents)
        results = self.backend._call(
            lambda: client.search(self.name, data=[q.tolist() for q in queries], **options)
        )
        scores = np.full((len(queries), k), -np.inf, np.float32)
        ids = np.full((len(queries), k), -1, np.int64)
        for row, hits in enumerate(results):
            for column, hit in enumerate(list(hits)[:k]):
                scores[row, column] = hit["distance"]
                ids[row, column] = hit["id"]
        return scores, ids

    def count(self) -> int:
        client = self.backend.client
        rows = self.backend._call(lambda: client.query(self.name, filter="", output_fields=["count(*)"]))
        return int(rows[0]["count(*)"]) if rows else 0

    def describe(self) -> dict[str, Any]:
        return {
            "backend": "milvus",
            "index_type": self.kind,
            "collection": self.name,
            "alias": self.backend.alias,
            "uri": redacted(self.backend.uri),
        }

    def save(self, path: Path) -> None:
        reference = {"collection": self.name, "dimension": self.dimension, "index_type": self.kind}
        (path / REFERENCE_FILE).write_text(json.dumps(reference), encoding="utf-8")
