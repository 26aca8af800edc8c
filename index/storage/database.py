"""The corpus database: documents, variants, their MinHash bands, jobs and the rebuild lease.

SQLAlchemy Core over SQLite by default, or PostgreSQL when CONCORD_DATABASE_URL names one
(`postgresql://user@host/db`): the same code, so service replicas on several machines share
the corpus, the job queue and the rebuild lease. The
schema carries a version that start-up checks; an older or newer database is
refused with a message instead of being misread.
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

SCHEMA_VERSION = 1
JOB_STATUSES = ("queued", "running", "succeeded", "failed", "interrupted")
FINAL_STATUSES = frozenset({"succeeded", "failed"})
JOB_STAGES = ("store", "segment", "collate", "embed", "index", "publish")
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


class DatabaseError(RuntimeError):
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

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if k != "payload"} | {
            "files": [f["name"] for f in self.payload.get("files", [])],
            "document": self.payload.get("document"),
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
        query = select(jobs_table).order_by(jobs_table.c.created_at.desc()).limit(limit)
        if status is not None:
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

    def has_work(self) -> bool:
        """Whether any job waits to run or was left running: a read, so an idle poll writes nothing."""
        query = select(jobs_table.c.id).where(jobs_table.c.status.in_(("queued", "interrupted", "running")))
        with self.engine.connect() as conn:
            return conn.execute(query.limit(1)).first() is not None

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
                    .values(status="interrupted", error="the process running it stopped; it will run again")
                )
            return ids

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
