"""The corpus database: documents, variants, their MinHash bands, jobs, the trash, the audit trail, the lease.

SQLAlchemy Core over SQLite by default, or PostgreSQL when CONCORD_DATABASE_URL names one
(`postgresql://user@host/db`): the same code, so service replicas on several machines share
the corpus, the job queue and the rebuild lease. The
schema carries a version that start-up checks: an older database is upgraded in
place (each step below is additive), a newer one is refused with a message
instead of being misread.

The audit table is append-only: rows are inserted in the same transaction as
the change they record, never updated or deleted.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Engine,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

from index.errors import Unavailable

SCHEMA_VERSION = 3
# How to bring a database of each older version up to the next: version 2 added the trash and audit
# tables (created by `create_all`) and the time a job was last found interrupted; version 3 the
# format a variant was extracted from and its original file's checksum.
_UPGRADES: dict[int, list[str]] = {
    1: ["ALTER TABLE jobs ADD COLUMN interrupted_at VARCHAR(40)"],
    2: [
        "ALTER TABLE variants ADD COLUMN format VARCHAR(16) NOT NULL DEFAULT 'text'",
        "ALTER TABLE variants ADD COLUMN original_sha256 VARCHAR(64)",
    ],
}
JOB_STATUSES = ("queued", "running", "succeeded", "failed", "interrupted")
FINAL_STATUSES = frozenset({"succeeded", "failed"})
JOB_STAGES = ("extract", "store", "segment", "collate", "embed", "index", "publish")
REBUILD_LEASE = "rebuild"

metadata = MetaData()

meta_table = Table("meta", metadata, Column("key", String(64), primary_key=True), Column("value", Text))

documents_table = Table(
    "documents",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("title", Text, nullable=False),
    Column("title_given", Boolean, nullable=False, default=False),
    Column("created_at", String(40), nullable=False),
)

variants_table = Table(
    "variants",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("document_id", String(64), ForeignKey("documents.id"), nullable=False, index=True),
    Column("id", String(128), nullable=False),
    Column("file_name", String(200), nullable=False),
    Column("original_name", Text, nullable=False),
    Column("sha256", String(64), nullable=False, index=True),
    Column("size", Integer, nullable=False),
    Column("encoding", String(32), nullable=False),
    Column("arrived_at", String(40), nullable=False),
    Column("sender", Text, nullable=False),
    Column("job_id", String(40)),
    Column("minhash", LargeBinary),
    # What the variant's text was extracted from ("text", "pdf", "image", "docx", "html", "ofd"); a
    # non-text variant's original file is kept beside its text, with this checksum.
    Column("format", String(16), nullable=False, default="text", server_default="text"),
    Column("original_sha256", String(64)),
    UniqueConstraint("document_id", "id", name="uq_variant_in_document"),
)

bands_table = Table(
    "variant_bands",
    metadata,
    Column("key", String(40), nullable=False, index=True),
    Column("variant_pk", Integer, ForeignKey("variants.pk", ondelete="CASCADE"), nullable=False, index=True),
)

jobs_table = Table(
    "jobs",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("status", String(20), nullable=False, index=True),
    Column("stage", String(20)),
    Column("done", Integer, nullable=False, default=0),
    Column("total", Integer, nullable=False, default=0),
    Column("created_at", String(40), nullable=False),
    Column("started_at", String(40)),
    Column("finished_at", String(40)),
    Column("origin", Text, nullable=False),
    Column("sender", Text, nullable=False),
    Column("payload", Text, nullable=False),
    Column("result", Text),
    Column("error", Text),
    Column("attempts", Integer, nullable=False, default=0),
    Column("interrupted_at", String(40)),
)

# A removal, kept until `expires_at`: the removed variants' rows (JSON, with their signatures) and,
# under the corpus folder's `.trash/<id>/`, their files. Restoring puts both back.
trash_table = Table(
    "trash",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("document_id", String(64), nullable=False, index=True),
    Column("variant_id", String(128)),  # None: the whole document was removed
    Column("document", Text, nullable=False),  # the document row as it was (JSON)
    Column("variants", Text, nullable=False),  # the variant rows as they were (JSON)
    Column("removed_at", String(40), nullable=False),
    Column("removed_by", Text, nullable=False),
    Column("job_id", String(40)),
    Column("expires_at", String(40), nullable=False, index=True),
)

audit_table = Table(
    "audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", String(40), nullable=False),
    Column("action", String(20), nullable=False),
    Column("document_id", String(64)),
    Column("variant_id", String(128)),
    Column("caller", Text, nullable=False),  # who: `api:<key hash>`, `cli:<user>`, `inbox:<path>`, …
    Column("origin", String(20), nullable=False),  # api, cli, inbox, serve, seed, retention
    Column("client", Text),  # the HTTP client's address, when it came over HTTP
    Column("job_id", String(40)),
    Column("detail", Text, nullable=False),  # JSON: what changed
)

leases_table = Table(
    "leases",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("owner", String(80)),
    Column("host", String(255)),
    Column("pid", Integer),
    Column("expires_at", String(40)),
)


class DatabaseError(Unavailable, RuntimeError):
    """The corpus database cannot be opened or is of another schema version; the message says what to do."""


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class Document:
    id: str
    title: str
    title_given: bool
    created_at: str


@dataclass(frozen=True)
class VariantRecord:
    """A stored variant: which document, its file, its hash and where it came from."""

    pk: int
    document_id: str
    id: str
    file_name: str
    original_name: str
    sha256: str
    size: int
    encoding: str
    arrived_at: str
    sender: str
    job_id: str | None
    format: str = "text"
    original_sha256: str | None = None

    @property
    def arrived_sha256(self) -> str:
        """The checksum of the file as it arrived: its kept original's, or the text's when that is it."""
        return self.original_sha256 or self.sha256


@dataclass
class Job:
    """One arrival, removal, move or reindex, from acceptance to its result."""

    id: str
    kind: str
    status: str
    stage: str | None
    done: int
    total: int
    created_at: str
    started_at: str | None
    finished_at: str | None
    origin: str
    sender: str
    payload: dict[str, Any] = field(default_factory=dict)
    result: dict[str, Any] | None = None
    error: str | None = None
    attempts: int = 0
    interrupted_at: str | None = None  # the last time a stopped process was found to have left it running

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if k != "payload"} | {
            "files": [f["name"] for f in self.payload.get("files", [])],
            "document": self.payload.get("document"),
        }


@dataclass(frozen=True)
class Actor:
    """Who asked for a change and from where, as the audit trail records it (never a key itself)."""

    caller: str
    origin: str
    client: str | None = None
    job_id: str | None = None

    @classmethod
    def of(cls, job: Job) -> Actor:
        return cls(job.sender, job.origin, job.payload.get("client"), job.id)


@dataclass(frozen=True)
class AuditEvent:
    """One change to the corpus: when, what, who, from where, and the job that made it."""

    at: str
    action: str  # add, remove, move, restore, purge, reindex
    document_id: str | None
    variant_id: str | None
    caller: str
    origin: str
    client: str | None
    job_id: str | None
    detail: dict[str, Any] = field(default_factory=dict)
    id: int | None = None

    @classmethod
    def of(
        cls, actor: Actor, action: str, document_id: str | None, variant_id: str | None, **detail: Any
    ) -> AuditEvent:
        return cls(
            now(),
            action,
            document_id,
            variant_id,
            actor.caller,
            actor.origin,
            actor.client,
            actor.job_id,
            detail,
        )

    def to_row(self) -> dict[str, Any]:
        row = {k: v for k, v in vars(self).items() if k != "id"}
        row["detail"] = json.dumps(self.detail, ensure_ascii=False)
        return row

    @classmethod
    def from_row(cls, row: Any) -> AuditEvent:
        data = dict(row._mapping)
        data["detail"] = json.loads(data["detail"] or "{}")
        return cls(**data)


@dataclass(frozen=True)
class TrashEntry:
    """A removed document or variant, kept with its rows and files until it expires or is restored."""

    id: str
    document_id: str
    variant_id: str | None
    document: dict[str, Any]
    variants: list[dict[str, Any]]
    removed_at: str
    removed_by: str
    job_id: str | None
    expires_at: str

    def to_row(self) -> dict[str, Any]:
        row = dict(vars(self))
        row["document"] = json.dumps(self.document, ensure_ascii=False)
        row["variants"] = json.dumps(self.variants, ensure_ascii=False)
        return row

    @classmethod
    def from_row(cls, row: Any) -> TrashEntry:
        data = dict(row._mapping)
        data["document"] = json.loads(data["document"])
        data["variants"] = json.loads(data["variants"])
        return cls(**data)

    def summary(self) -> dict[str, Any]:
        """What the API and the CLI show: no signatures."""
        return {
            "id": self.id,
            "document": self.document_id,
            "variant": self.variant_id,
            "title": self.document.get("title", ""),
            "variants": [
                {
                    k: v[k]
                    for k in ("id", "file_name", "original_name", "sha256", "size", "sender", "arrived_at")
                }
                for v in self.variants
            ],
            "removed_at": self.removed_at,
            "removed_by": self.removed_by,
            "job": self.job_id,
            "expires_at": self.expires_at,
        }


def _job(row: Any) -> Job:
    data = dict(row._mapping)
    data["payload"] = json.loads(data["payload"] or "{}")
    data["result"] = json.loads(data["result"]) if data["result"] else None
    return Job(**data)


def _variant(row: Any) -> VariantRecord:
    data = {k: v for k, v in row._mapping.items() if k != "minhash"}
    return VariantRecord(**data)


class CorpusDatabase:
    """Every read and write of corpus metadata and jobs goes through here."""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self.engine = _engine(url)
            self.url = self.engine.url.render_as_string(hide_password=True)  # what messages may show
            self._create_schema()
        except OperationalError as exc:
            raise DatabaseError(
                f"cannot open the corpus database {self.url}: {str(exc.orig).strip()}; "
                "check CONCORD_DATABASE_URL"
            ) from None
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._lock = threading.Lock()

    def _create_schema(self) -> None:
        # Two processes starting on one new server database race to create the tables; the
        # loser's CREATE fails on the winner's catalogue rows, and its second try finds them.
        for attempt in range(3):
            try:
                with self.engine.begin() as conn:
                    metadata.create_all(conn)
                    version = conn.execute(
                        select(meta_table.c.value).where(meta_table.c.key == "schema")
                    ).scalar()
                    if version is None:
                        conn.execute(insert(meta_table).values(key="schema", value=str(SCHEMA_VERSION)))
                    elif int(version) < SCHEMA_VERSION:
                        self._upgrade(conn, int(version))
                    elif int(version) != SCHEMA_VERSION:
                        raise DatabaseError(
                            f"the corpus database at {self.url} has schema version {version}, this version "
                            f"of concord reads {SCHEMA_VERSION}; use a matching concord or a new "
                            "CONCORD_DATABASE_URL"
                        )
                return
            except (IntegrityError, ProgrammingError):
                if attempt == 2:
                    raise
                time.sleep(0.2 * (attempt + 1))

    @staticmethod
    def _upgrade(conn: Connection, version: int) -> None:
        """Bring an older schema up to this version in the caller's transaction (all steps or none)."""
        for step in range(version, SCHEMA_VERSION):
            for statement in _UPGRADES.get(step, []):
                conn.exec_driver_sql(statement)
        conn.execute(update(meta_table).where(meta_table.c.key == "schema").values(value=str(SCHEMA_VERSION)))

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    # -- meta -------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(select(meta_table.c.value).where(meta_table.c.key == key)).scalar()

    def set_meta(self, key: str, value: str, conn: Connection | None = None) -> None:
        def write(c: Connection) -> None:
            if c.execute(update(meta_table).where(meta_table.c.key == key).values(value=value)).rowcount == 0:
                c.execute(insert(meta_table).values(key=key, value=value))

        if conn is not None:
            write(conn)
        else:
            with self.transaction() as c:
                write(c)

    # -- documents and variants -------------------------------------------

    def documents(self) -> list[Document]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(documents_table).order_by(documents_table.c.created_at, documents_table.c.id)
            )
            return [Document(**dict(r._mapping)) for r in rows]

    def document(self, document_id: str) -> Document | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(documents_table).where(documents_table.c.id == document_id)).first()
            return Document(**dict(row._mapping)) if row else None

    def variants(self, document_id: str | None = None) -> list[VariantRecord]:
        query = select(*[c for c in variants_table.c if c.name != "minhash"]).order_by(
            variants_table.c.document_id, variants_table.c.id
        )
        if document_id is not None:
            query = query.where(variants_table.c.document_id == document_id)
        with self.engine.connect() as conn:
            return [_variant(r) for r in conn.execute(query)]

    def variant_by_sha(self, sha256: str) -> VariantRecord | None:
        query = select(*[c for c in variants_table.c if c.name != "minhash"]).where(
            variants_table.c.sha256 == sha256
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
            return _variant(row) if row else None

    def add_document(self, conn: Connection, document_id: str, title: str, title_given: bool) -> None:
        conn.execute(
            insert(documents_table).values(
                id=document_id, title=title, title_given=title_given, created_at=now()
            )
        )

    def set_title(self, conn: Connection, document_id: str, title: str) -> None:
        conn.execute(update(documents_table).where(documents_table.c.id == document_id).values(title=title))

    def add_variant(
        self, conn: Connection, record: dict[str, Any], minhash: bytes, band_keys: list[str]
    ) -> int:
        pk = conn.execute(insert(variants_table).values(**record, minhash=minhash)).inserted_primary_key[0]
        conn.execute(insert(bands_table), [{"key": k, "variant_pk": pk} for k in band_keys])
        return int(pk)

    def replace_signature(self, conn: Connection, pk: int, minhash: bytes, band_keys: list[str]) -> None:
        conn.execute(update(variants_table).where(variants_table.c.pk == pk).values(minhash=minhash))
        conn.execute(delete(bands_table).where(bands_table.c.variant_pk == pk))
        conn.execute(insert(bands_table), [{"key": k, "variant_pk": pk} for k in band_keys])

    def remove_variant(self, conn: Connection, pk: int) -> None:
        conn.execute(delete(bands_table).where(bands_table.c.variant_pk == pk))
        conn.execute(delete(variants_table).where(variants_table.c.pk == pk))

    def remove_document_if_empty(self, conn: Connection, document_id: str) -> bool:
        left = conn.execute(
            select(func.count())
            .select_from(variants_table)
            .where(variants_table.c.document_id == document_id)
        ).scalar()
        if left:
            return False
        conn.execute(delete(documents_table).where(documents_table.c.id == document_id))
        return True

    def move_variant(
        self, conn: Connection, pk: int, document_id: str, variant_id: str, file_name: str
    ) -> None:
        conn.execute(
            update(variants_table)
            .where(variants_table.c.pk == pk)
            .values(document_id=document_id, id=variant_id, file_name=file_name)
        )

    def candidates(self, band_keys: list[str]) -> dict[int, tuple[str, bytes]]:
        """Variants sharing at least one MinHash band with the keys: pk -> (document id, signature)."""
        if not band_keys:
            return {}
        with self.engine.connect() as conn:
            pks = select(bands_table.c.variant_pk).where(bands_table.c.key.in_(band_keys)).distinct()
            rows = conn.execute(
                select(variants_table.c.pk, variants_table.c.document_id, variants_table.c.minhash).where(
                    variants_table.c.pk.in_(pks)
                )
            )
            return {r.pk: (r.document_id, r.minhash) for r in rows}

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            return {
                "documents": conn.execute(select(func.count()).select_from(documents_table)).scalar() or 0,
                "variants": conn.execute(select(func.count()).select_from(variants_table)).scalar() or 0,
            }

    # -- jobs -------------------------------------------------------------

    @staticmethod
    def new_job_id() -> str:
        return uuid.uuid4().hex[:16]

    def create_job(
        self, kind: str, origin: str, sender: str, payload: dict[str, Any], job_id: str | None = None
    ) -> Job:
        job = Job(
            id=job_id or self.new_job_id(),
            kind=kind,
            status="queued",
            stage=None,
            done=0,
            total=0,
            created_at=now(),
            started_at=None,
            finished_at=None,
            origin=origin,
            sender=sender,
            payload=payload,
        )
        values = {**vars(job), "payload": json.dumps(payload, ensure_ascii=False), "result": None}
        with self.transaction() as conn:
            conn.execute(insert(jobs_table).values(**values))
        return job

    def open_jobs_from(self, origin: str) -> list[Job]:
        """Jobs from one origin that have not finished (the inbox uses it not to submit a file twice)."""
        query = select(jobs_table).where(
            jobs_table.c.origin == origin, jobs_table.c.status.not_in(tuple(FINAL_STATUSES))
        )
        with self.engine.connect() as conn:
            return [_job(r) for r in conn.execute(query)]

    def job(self, job_id: str) -> Job | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(jobs_table).where(jobs_table.c.id == job_id)).first()
            return _job(row) if row else None

    def jobs(self, status: str | None = None, limit: int = 100) -> list[Job]:
        """The newest jobs, of one status when given; `interrupted` also finds jobs that were
        interrupted and have run again since (their `interrupted_at` says when)."""
        query = select(jobs_table).order_by(jobs_table.c.created_at.desc()).limit(limit)
        if status == "interrupted":
            query = query.where((jobs_table.c.status == status) | jobs_table.c.interrupted_at.is_not(None))
        elif status is not None:
            query = query.where(jobs_table.c.status == status)
        with self.engine.connect() as conn:
            return [_job(r) for r in conn.execute(query)]

    def pending_jobs(self) -> list[Job]:
        """Jobs waiting to run, oldest first: queued ones and those a crash interrupted."""
        query = (
            select(jobs_table)
            .where(jobs_table.c.status.in_(("queued", "interrupted")))
            .order_by(jobs_table.c.created_at)
        )
        with self.engine.connect() as conn:
            return [_job(r) for r in conn.execute(query)]

    def has_work(self, at: str | None = None) -> bool:
        """Whether any job waits to run or was left running, or (given the time) a trash entry has
        expired: reads only, so an idle poll writes nothing."""
        query = select(jobs_table.c.id).where(jobs_table.c.status.in_(("queued", "interrupted", "running")))
        with self.engine.connect() as conn:
            if conn.execute(query.limit(1)).first() is not None:
                return True
            if at is None:
                return False
            expired = select(trash_table.c.id).where(trash_table.c.expires_at <= at).limit(1)
            return conn.execute(expired).first() is not None

    def job_counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(jobs_table.c.status, func.count()).group_by(jobs_table.c.status))
            counts = dict.fromkeys(JOB_STATUSES, 0)
            counts.update({status: n for status, n in rows})
            return counts

    def update_job(self, job_id: str, **values: Any) -> None:
        for key in ("payload", "result"):
            if key in values and values[key] is not None:
                values[key] = json.dumps(values[key], ensure_ascii=False)
        with self.transaction() as conn:
            conn.execute(update(jobs_table).where(jobs_table.c.id == job_id).values(**values))

    def interrupt_running_jobs(self) -> list[str]:
        """Jobs left `running` by a process that died: marked interrupted, to be run again."""
        with self.transaction() as conn:
            ids = list(
                conn.execute(select(jobs_table.c.id).where(jobs_table.c.status == "running")).scalars()
            )
            if ids:
                conn.execute(
                    update(jobs_table)
                    .where(jobs_table.c.id.in_(ids))
                    .values(
                        status="interrupted",
                        interrupted_at=now(),
                        error="the process running it stopped; it will run again",
                    )
                )
            return ids

    # -- the trash -------------------------------------------------------

    def add_trash(self, conn: Connection, entry: TrashEntry) -> None:
        conn.execute(insert(trash_table).values(**entry.to_row()))

    def trash(self, document_id: str | None = None) -> list[TrashEntry]:
        query = select(trash_table).order_by(trash_table.c.removed_at.desc())
        if document_id is not None:
            query = query.where(trash_table.c.document_id == document_id)
        with self.engine.connect() as conn:
            return [TrashEntry.from_row(r) for r in conn.execute(query)]

    def trash_entry(self, entry_id: str) -> TrashEntry | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(trash_table).where(trash_table.c.id == entry_id)).first()
            return TrashEntry.from_row(row) if row else None

    def expired_trash(self, at: str) -> list[TrashEntry]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(trash_table).where(trash_table.c.expires_at <= at))
            return [TrashEntry.from_row(r) for r in rows]

    def remove_trash(self, conn: Connection, entry_id: str) -> None:
        conn.execute(delete(trash_table).where(trash_table.c.id == entry_id))

    def restore_variant_row(self, conn: Connection, row: dict[str, Any]) -> int:
        """Insert a variant row kept in the trash (its signature and bands with it); the new pk."""
        record = {k: v for k, v in row.items() if k not in ("pk", "minhash", "bands")}
        return self.add_variant(conn, record, bytes.fromhex(row["minhash"]), row["bands"])

    def variant_row(self, conn: Connection, pk: int) -> dict[str, Any]:
        """A variant's whole row with its signature and band keys, as the trash keeps it (JSON-able)."""
        row = conn.execute(select(variants_table).where(variants_table.c.pk == pk)).one()
        data = dict(row._mapping)
        data["minhash"] = (data["minhash"] or b"").hex()
        data["bands"] = list(
            conn.execute(select(bands_table.c.key).where(bands_table.c.variant_pk == pk)).scalars()
        )
        return data

    def document_row(self, conn: Connection, document_id: str) -> dict[str, Any]:
        row = conn.execute(select(documents_table).where(documents_table.c.id == document_id)).one()
        return dict(row._mapping)

    def restore_document_row(self, conn: Connection, row: dict[str, Any]) -> None:
        conn.execute(insert(documents_table).values(**row))

    def trash_has(self, conn: Connection, entry_id: str) -> bool:
        return conn.execute(select(trash_table.c.id).where(trash_table.c.id == entry_id)).first() is not None

    # -- the audit trail --------------------------------------------------

    def record(self, conn: Connection, event: AuditEvent) -> None:
        """Append one audit row, in the transaction of the change it records."""
        conn.execute(insert(audit_table).values(**event.to_row()))

    def audit(
        self, limit: int = 100, before: int | None = None, document_id: str | None = None
    ) -> list[AuditEvent]:
        """Audit rows, newest first; `before` pages back from a row id."""
        query = select(audit_table).order_by(audit_table.c.id.desc()).limit(limit)
        if before is not None:
            query = query.where(audit_table.c.id < before)
        if document_id is not None:
            query = query.where(audit_table.c.document_id == document_id)
        with self.engine.connect() as conn:
            return [AuditEvent.from_row(r) for r in conn.execute(query)]

    # -- the rebuild lease ------------------------------------------------

    def acquire_lease(self, name: str = REBUILD_LEASE, seconds: float = 60.0) -> bool:
        """Take the named lease if it is free, expired, ours, or held by a dead process on this host."""
        host, pid = socket.gethostname(), os.getpid()
        expires = (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat(timespec="milliseconds")
        with self._lock, self.transaction() as conn:
            row = conn.execute(select(leases_table).where(leases_table.c.name == name)).first()
            if row is None:
                # Another process may create the row at the same moment: theirs is as good as ours.
                conn.execute(_insert_if_absent(conn, leases_table, name=name, owner=None))
                row = conn.execute(select(leases_table).where(leases_table.c.name == name)).first()
            holder = row.owner
            if holder != self.owner and not _lease_is_free(row):
                return False
            # Compare-and-swap: another process may have taken it since the read.
            taken = conn.execute(
                update(leases_table)
                .where(leases_table.c.name == name)
                .where(leases_table.c.owner.is_(None) if holder is None else leases_table.c.owner == holder)
                .values(owner=self.owner, host=host, pid=pid, expires_at=expires)
            ).rowcount
            return taken == 1

    def lease_holder(self, name: str = REBUILD_LEASE) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(leases_table).where(leases_table.c.name == name)).first()
        if row is None or _lease_is_free(row):
            return None
        return {"owner": row.owner, "host": row.host, "pid": row.pid, "expires_at": row.expires_at}

    def release_lease(self, name: str = REBUILD_LEASE) -> None:
        with self._lock, self.transaction() as conn:
            conn.execute(
                update(leases_table)
                .where(leases_table.c.name == name, leases_table.c.owner == self.owner)
                .values(owner=None, expires_at=None)
            )

    def next_generation(self, conn: Connection) -> int:
        current = conn.execute(select(meta_table.c.value).where(meta_table.c.key == "generation")).scalar()
        value = int(current or 0) + 1
        self.set_meta("generation", str(value), conn)
        return value


def _insert_if_absent(conn: Connection, table: Table, **values: Any) -> Any:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    elif conn.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:
        return insert(table).values(**values)
    return dialect_insert(table).values(**values).on_conflict_do_nothing()


def _lease_is_free(row: Any) -> bool:
    """Nobody holds it, its time ran out, or its holder was a process on this host that has died."""
    return (
        row.owner is None
        or (row.expires_at or "") < now()
        or (row.host == socket.gethostname() and not _alive(row.pid))
    )


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _engine(url: str) -> Engine:
    if url.startswith(("postgresql://", "postgres://")):
        # The driver the `postgres` extra installs (psycopg 3), not SQLAlchemy's default psycopg2.
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith("postgresql+psycopg://"):
        try:
            import psycopg  # noqa: F401
        except ImportError:
            raise DatabaseError(
                "CONCORD_DATABASE_URL names PostgreSQL, which needs psycopg: pip install 'concord[postgres]'"
            ) from None
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            # WAL lets readers run beside the one writer; FULL sync makes a commit durable.
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)
