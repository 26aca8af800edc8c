"""The corpus: documents and variants in the database, their files on disk, kept in step.

Every change to the corpus (store, remove, restore, purge, move) is all or
nothing across the database and the files, whichever step fails. Each one
goes in this order:

1. A journal entry is written durably under `.journal/`: the renames the
   change makes, the files it deletes once it has committed, and how to tell
   from the database whether it committed.
2. Files are put in place by rename only (a new variant's text, and the
   original file and layout of one extracted from another format, are first
   written durably to temporary files beside the journal): removing a
   variant moves its file into `.trash/<entry>/`, restoring moves it back,
   moving renames it into the other document's folder. Nothing is deleted.
3. One database transaction records the change and its audit row.
4. Only then are files deleted (a purge's), and the journal entry is dropped.

If any step fails, the entry is settled at once: committed changes are rolled
forward, the others rolled back (each rename undone), so the files match the
database again. If settling fails too (a dead disk, a crash), the entry stays
and `recover()` settles it when the corpus is next opened by the runner. A
file is never referenced by the database before it is whole on disk, and
never deleted while the database still refers to it.

Removed variants stay in the trash, rows and files, until they expire
(`trash_days`) or are purged; the seed folder becomes the first document the
first time an empty database is opened.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection

from index.corpus.documents import check_document_id, folder_document_id, new_document_id, title_for_variants
from index.corpus.matching import SIGNATURE_VERSION, Assignment, band_keys, decide, signature, to_bytes
from index.corpus.model import DocumentSource, Problem, Variant
from index.corpus.variants import decode_text, load_variants, variant_id_for
from index.errors import Clash, NotFound
from index.extract.model import Extraction
from index.extract.sniff import SUFFIXES
from index.storage.database import Actor, AuditEvent, CorpusDatabase, TrashEntry, VariantRecord, now
from index.storage.files import (
    CorpusFiles,
    companions,
    move_durably,
    remove_if_empty,
    variant_file_names,
    write_durably,
)

log = logging.getLogger("concord")

DEFAULT_TRASH_DAYS = 30.0
SEED = Actor(caller="seed", origin="seed")


class Conflict(Clash, ValueError):
    """The change would clash with what is stored now (a restore of bytes stored again since)."""


@dataclass(frozen=True)
class StoredVariant:
    """The outcome of storing one file: where it went, or which variant it duplicates."""

    name: str
    document: str
    variant: str
    encoding: str
    assignment: Assignment | None = None
    duplicate_of: str | None = None
    extraction: dict[str, Any] | None = None  # how a file of another format was read (pages, OCR, …)

    def to_dict(self) -> dict[str, object]:
        data: dict[str, object] = {"file": self.name, "document": self.document, "variant": self.variant}
        if self.encoding != "utf-8":
            data["converted_from"] = self.encoding
        if self.assignment is not None:
            data["assignment"] = self.assignment.to_dict()
        if self.extraction is not None:
            data["extraction"] = self.extraction
        if self.duplicate_of is not None:
            data["duplicate_of"] = self.duplicate_of
            data["note"] = f"byte-identical to stored variant {self.duplicate_of}; nothing was added"
        return data


class Corpus:
    """Documents and their variants: metadata in the database, text under the corpus folder."""

    def __init__(self, database: CorpusDatabase, root: Path, trash_days: float = DEFAULT_TRASH_DAYS) -> None:
        self.db = database
        self.files = CorpusFiles(root)
        self.trash_days = trash_days

    def ensure_signatures(self) -> int:
        """Re-sign every stored variant when the database's signatures are of another version (or none
        are recorded and variants exist); returns how many were re-signed. Idempotent, so two processes
        opening one database at once both end with the same signatures."""
        if self.db.get_meta("signature_version") == str(SIGNATURE_VERSION):
            return 0
        variants = self.db.variants()
        with self.db.transaction() as conn:
            for record in variants:
                path = self.files.variant_path(record.document_id, record.file_name)
                if not path.exists():  # matching just won't find it; the rebuild reports the file
                    log.warning("cannot re-sign %s/%s: %s is missing", record.document_id, record.id, path)
                    continue
                sig = signature(path.read_text(encoding="utf-8"))
                self.db.replace_signature(conn, record.pk, to_bytes(sig), band_keys(sig))
            self.db.set_meta("signature_version", str(SIGNATURE_VERSION), conn)
        if variants:
            log.info(
                "re-signed %d stored variants for document matching (version %d)",
                len(variants),
                SIGNATURE_VERSION,
            )
        return len(variants)

    def bootstrap(self, seeds_dir: Path | None, max_bytes: int) -> list[str]:
        """Load the seed folder into an empty database once: a flat folder is one document, sub-folders one each."""
        if self.db.get_meta("bootstrapped") is not None:
            return []
        added: list[str] = []
        if seeds_dir is not None and seeds_dir.is_dir():
            folders = sorted(p for p in seeds_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
            if any(seeds_dir.glob("*.txt")) or not folders:
                folders = [seeds_dir]
            for folder in folders:
                loaded = load_variants(folder, max_bytes)
                for problem in loaded.problems:
                    log.warning("seed file skipped: %s", problem)
                if not loaded.variants:
                    continue
                document_id = folder_document_id(folder.name)
                for variant in loaded.variants:
                    data = variant.raw_text.encode("utf-8")
                    self.store(Path(variant.path).name, data, document_id, SEED)
                added.append(document_id)
        self.db.set_meta("bootstrapped", now())
        return added

    def store(
        self,
        name: str,
        data: bytes,
        document: str | None,
        actor: Actor,
        extraction: Extraction | None = None,
    ) -> StoredVariant:
        """Store one file as a variant: of the named document, or of the one its text matches, or of a new one.

        `data` is the file as it arrived. Plain text is decoded here; any other format comes with its
        `extraction` (the extraction stage ran first), whose text becomes the variant's text, stored
        with the original file and the extraction's layout beside it, in the same change."""
        if extraction is None:
            decoded = decode_text(name, data)
            extraction = Extraction(
                text=decoded.text, format="text", method="plain", encoding=decoded.encoding
            )
            variant_id = variant_id_for(name)
        else:
            variant_id = variant_id_for(name, SUFFIXES)
            if extraction.witness:
                variant_id = f"{variant_id}-{extraction.witness}"
        text_bytes = extraction.text.encode("utf-8")
        sha = hashlib.sha256(text_bytes).hexdigest()
        existing = self.db.variant_by_sha(sha)
        if existing is not None:
            if (
                actor.job_id is not None and existing.job_id == actor.job_id
            ):  # stored by this job before a crash
                return StoredVariant(name, existing.document_id, existing.id, extraction.encoding)
            return StoredVariant(
                name,
                existing.document_id,
                existing.id,
                extraction.encoding,
                duplicate_of=f"{existing.document_id}/{existing.id}",
            )
        sig = signature(extraction.text)
        keys = band_keys(sig)
        if document is not None:
            check_document_id(document)
            assignment = Assignment(document, "named")
        else:
            assignment = decide(sig, self.db.candidates(keys))
        known = {d.id for d in self.db.documents()}
        document_id = assignment.document_id or new_document_id(sha, known)
        final_id = self._free_variant_id(document_id, variant_id)
        file_name = f"{final_id}.txt"
        final = self.files.variant_path(document_id, file_name)
        # The original is kept whenever the stored text is not the file itself (another format, or
        # text that was converted to UTF-8), so `GET …/original` always returns what arrived.
        keep_original = extraction.format != "text" or data != text_bytes
        original_sha = hashlib.sha256(data).hexdigest() if keep_original else None

        def commit(conn: Connection) -> None:
            if document_id not in known:
                self.db.add_document(
                    conn, document_id, title_for_variants([extraction.text]), title_given=False
                )
            self.db.add_variant(
                conn,
                {
                    "document_id": document_id,
                    "id": final_id,
                    "file_name": file_name,
                    "original_name": name,
                    "sha256": sha,
                    "size": len(text_bytes),
                    "encoding": extraction.encoding,
                    "arrived_at": now(),
                    "sender": actor.caller,
                    "job_id": actor.job_id,
                    "format": extraction.format,
                    "original_sha256": original_sha,
                },
                to_bytes(sig),
                keys,
            )
            self.db.record(
                conn,
                AuditEvent.of(
                    actor,
                    "add",
                    document_id,
                    final_id,
                    file=name,
                    sha256=sha,
                    size=len(text_bytes),
                    new_document=document_id not in known,
                    format=extraction.format,
                    original_sha256=original_sha,
                ),
            )

        change = _Change(self, _Check("variant_at", document=document_id, file_name=file_name))
        change.write_new(final, text_bytes)
        original_name, layout_name = companions(file_name)
        if keep_original:
            change.write_new(self.files.variant_path(document_id, original_name), data)
        if extraction.format != "text":
            layout = json.dumps(extraction.to_dict(), ensure_ascii=False).encode("utf-8")
            change.write_new(self.files.variant_path(document_id, layout_name), layout)
        change.run(commit)
        return StoredVariant(
            name,
            document_id,
            final_id,
            extraction.encoding,
            assignment=assignment,
            extraction=extraction.summary() if extraction.format != "text" else None,
        )

    def _free_variant_id(self, document_id: str, wanted: str) -> str:
        """`wanted`, or `wanted-2`, `wanted-3`…: variant ids are unique within a document."""
        taken = {v.id for v in self.db.variants(document_id)}
        candidate, n = wanted, 2
        while candidate in taken:
            candidate, n = f"{wanted}-{n}", n + 1
        return candidate

    @staticmethod
    def _with_companions(old_file: str, new_file: str, at: Callable[[str], Path]) -> list[tuple[Path, str]]:
        """A variant's text file and whichever of its companions are present (an extracted variant's
        original and layout), each as (its path by `at`, its name once renamed to `new_file`'s)."""
        pairs = zip(variant_file_names(old_file), variant_file_names(new_file), strict=True)
        return [(at(old), new) for old, new in pairs if at(old).exists()]

    def find_variant(self, document_id: str, variant_id: str) -> VariantRecord:
        for record in self.db.variants(document_id):
            if record.id == variant_id:
                return record
        raise NotFound(f"document {document_id!r} has no variant {variant_id!r}")

    def remove_variant(self, document_id: str, variant_id: str, actor: Actor) -> dict[str, object]:
        """Move one variant to the trash (its file to `.trash/<entry>/`, its row into the trash table)."""
        record = self.find_variant(document_id, variant_id)
        return self._to_trash(document_id, [record], variant_id, actor)

    def remove_document(self, document_id: str, actor: Actor) -> dict[str, object]:
        """Move a document and all its variants to the trash, as one entry."""
        if self.db.document(document_id) is None:
            raise NotFound(f"no document {document_id!r}")
        return self._to_trash(document_id, self.db.variants(document_id), None, actor)

    def _to_trash(
        self, document_id: str, records: list[VariantRecord], variant_id: str | None, actor: Actor
    ) -> dict[str, object]:
        entry_id = uuid.uuid4().hex[:16]
        removed_at = datetime.now(UTC)
        expires = removed_at + timedelta(days=self.trash_days)
        emptied = {"document": False}

        def commit(conn: Connection) -> None:
            document = self.db.document_row(conn, document_id)
            rows = [self.db.variant_row(conn, r.pk) for r in records]
            for record in records:
                self.db.remove_variant(conn, record.pk)
            emptied["document"] = self.db.remove_document_if_empty(conn, document_id)
            self.db.add_trash(
                conn,
                TrashEntry(
                    id=entry_id,
                    document_id=document_id,
                    variant_id=variant_id,
                    document=document,
                    variants=rows,
                    removed_at=removed_at.isoformat(timespec="milliseconds"),
                    removed_by=actor.caller,
                    job_id=actor.job_id,
                    expires_at=expires.isoformat(timespec="milliseconds"),
                ),
            )
            self.db.record(
                conn,
                AuditEvent.of(
                    actor,
                    "remove",
                    document_id,
                    variant_id,
                    trash=entry_id,
                    variants=[r.id for r in records],
                    document_removed=emptied["document"],
                ),
            )

        change = _Change(self, _Check("trash", entry=entry_id))
        for record in records:
            here = functools.partial(self.files.variant_path, document_id)
            for path, name in self._with_companions(record.file_name, record.file_name, here):
                change.rename(path, self.files.trash_path(entry_id, name))
        change.run(commit)
        return {
            "removed": f"{document_id}/{variant_id}" if variant_id else document_id,
            "variants": [r.id for r in records],
            "document_removed": emptied["document"],
            "trash": entry_id,
            "restorable_until": expires.isoformat(timespec="milliseconds"),
        }

    def restore(self, entry_id: str, actor: Actor) -> dict[str, object]:
        """Put a trash entry's variants back, with the same bytes; ids taken meanwhile get a suffix."""
        entry = self.trash_entry(entry_id)
        for row in entry.variants:
            clash = self.db.variant_by_sha(row["sha256"])
            if clash is not None:
                raise Conflict(
                    f"variant {row['id']!r} of trash entry {entry_id} is stored again as "
                    f"{clash.document_id}/{clash.id} (the same bytes); remove that one first or purge the entry"
                )
        document_id = entry.document_id
        exists = self.db.document(document_id) is not None
        taken = {v.id for v in self.db.variants(document_id)}
        placed: list[tuple[dict[str, Any], str]] = []
        for row in entry.variants:
            candidate, n = row["id"], 2
            while candidate in taken:
                candidate, n = f"{row['id']}-{n}", n + 1
            taken.add(candidate)
            placed.append((row, candidate))

        def commit(conn: Connection) -> None:
            if not exists:
                self.db.restore_document_row(conn, entry.document)
            for row, new_id in placed:
                self.db.restore_variant_row(conn, {**row, "id": new_id, "file_name": f"{new_id}.txt"})
            self.db.remove_trash(conn, entry_id)
            self.db.record(
                conn,
                AuditEvent.of(
                    actor,
                    "restore",
                    document_id,
                    entry.variant_id,
                    trash=entry_id,
                    variants=[new_id for _, new_id in placed],
                ),
            )

        change = _Change(self, _Check("trash_gone", entry=entry_id))
        for row, new_id in placed:
            trashed = functools.partial(self.files.trash_path, entry_id)
            for path, name in self._with_companions(row["file_name"], f"{new_id}.txt", trashed):
                change.rename(path, self.files.variant_path(document_id, name))
        change.run(commit)
        return {
            "restored": entry_id,
            "document": document_id,
            "variants": [new_id for _, new_id in placed],
            "renamed": {row["id"]: new_id for row, new_id in placed if row["id"] != new_id},
        }

    def purge(self, entry_id: str, actor: Actor) -> dict[str, object]:
        """Delete a trash entry for good: its rows at once, its files after the commit."""
        entry = self.trash_entry(entry_id)

        def commit(conn: Connection) -> None:
            self.db.remove_trash(conn, entry_id)
            self.db.record(
                conn,
                AuditEvent.of(
                    actor,
                    "purge",
                    entry.document_id,
                    entry.variant_id,
                    trash=entry_id,
                    variants=[v["id"] for v in entry.variants],
                    sha256=[v["sha256"] for v in entry.variants],
                ),
            )

        change = _Change(self, _Check("trash_gone", entry=entry_id))
        for row in entry.variants:
            for name in variant_file_names(row["file_name"]):
                change.delete_after(self.files.trash_path(entry_id, name))
        change.run(commit)
        return {
            "purged": entry_id,
            "document": entry.document_id,
            "variants": [v["id"] for v in entry.variants],
        }

    def purge_expired(self, actor: Actor) -> list[str]:
        """Purge every trash entry whose time is up; returns their ids."""
        purged = []
        for entry in self.db.expired_trash(now()):
            self.purge(entry.id, actor)
            purged.append(entry.id)
        return purged

    def trash_entry(self, entry_id: str) -> TrashEntry:
        entry = self.db.trash_entry(entry_id)
        if entry is None:
            raise NotFound(f"no trash entry {entry_id!r}; GET /v1/trash lists them")
        return entry

    def move_variant(self, document_id: str, variant_id: str, target: str, actor: Actor) -> dict[str, object]:
        """Move a variant to another document (created when new), as an operator's correction."""
        check_document_id(target)
        record = self.find_variant(document_id, variant_id)
        source = self.files.variant_path(document_id, record.file_name)
        final_id = self._free_variant_id(target, variant_id)
        file_name = f"{final_id}.txt"
        new_document = self.db.document(target) is None
        title = title_for_variants([source.read_text(encoding="utf-8")]) if new_document else ""
        emptied = {"document": False}

        def commit(conn: Connection) -> None:
            if new_document:
                self.db.add_document(conn, target, title, title_given=False)
            self.db.move_variant(conn, record.pk, target, final_id, file_name)
            emptied["document"] = self.db.remove_document_if_empty(conn, document_id)
            self.db.record(
                conn,
                AuditEvent.of(
                    actor,
                    "move",
                    document_id,
                    variant_id,
                    to=f"{target}/{final_id}",
                    document_removed=emptied["document"],
                ),
            )

        change = _Change(self, _Check("variant_at", document=target, file_name=file_name))
        here = functools.partial(self.files.variant_path, document_id)
        for path, name in self._with_companions(record.file_name, file_name, here):
            change.rename(path, self.files.variant_path(target, name))
        change.run(commit)
        return {
            "moved": f"{document_id}/{variant_id}",
            "to": f"{target}/{final_id}",
            "document_removed": emptied["document"],
        }

    def record(self, actor: Actor, action: str, **detail: Any) -> None:
        """An audit row for a change that is not to the corpus's rows or files (a reindex)."""
        with self.db.transaction() as conn:
            self.db.record(conn, AuditEvent.of(actor, action, None, None, **detail))

    def unsettled(self) -> bool:
        """Whether a change was left half done (a journal entry remains)."""
        journal = self.files.journal_dir
        return journal.is_dir() and any(journal.glob("*.json"))

    def recover(self) -> int:
        """Settle every change a crash or a failed disk left half done; returns how many were settled.

        Run by the job runner under the rebuild lease, so no change is under way meanwhile."""
        journal = self.files.journal_dir
        if not journal.is_dir():
            return 0
        settled = 0
        for path in sorted(journal.glob("*.json")):
            try:
                change = _Change.read(self, path)
            except (OSError, ValueError, KeyError) as exc:
                log.error("journal entry %s cannot be read (%s); left for an operator", path, exc)
                continue
            outcome = change.settle()
            log.warning("settled an unfinished corpus change %s: %s", path.stem, outcome)
            settled += 1
        # Temporaries of entries that were never written whole (the disk failed while writing them).
        for stray in journal.iterdir():
            if stray.suffix != ".json" and not stray.with_suffix(".json").exists():
                stray.unlink(missing_ok=True)
        return settled

    def sources(self) -> tuple[list[DocumentSource], list[Problem]]:
        """Every document with its variants' text, as a build reads them; titles refreshed from the text."""
        documents: list[DocumentSource] = []
        problems: list[Problem] = []
        by_document: dict[str, list[VariantRecord]] = {}
        for record in self.db.variants():
            by_document.setdefault(record.document_id, []).append(record)
        for document in self.db.documents():
            variants: list[Variant] = []
            for record in by_document.get(document.id, []):
                path = self.files.variant_path(document.id, record.file_name)
                try:
                    text = read_variant_file(path)
                except (OSError, UnicodeDecodeError) as exc:
                    problems.append(
                        Problem(f"{document.id}/{record.id}", f"cannot be read from {path}: {exc}")
                    )
                    continue
                variants.append(
                    Variant(
                        id=record.id, path=str(path), raw_text=text, layout=self._layout(document.id, record)
                    )
                )
            if not variants:
                continue
            title = document.title
            if not document.title_given:
                title = title_for_variants([v.raw_text for v in variants])
                if title != document.title:
                    with self.db.transaction() as conn:
                        self.db.set_title(conn, document.id, title)
            documents.append(DocumentSource(document.id, title, variants))
        return documents, problems

    def _layout(self, document_id: str, record: VariantRecord) -> dict[str, Any] | None:
        """An extracted variant's layout as stored beside its text; None for plain text or when unreadable
        (the text is still indexed, without page provenance, and the problem is logged)."""
        if record.format == "text":
            return None
        path = self.files.variant_path(document_id, companions(record.file_name)[1])
        try:
            layout = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(layout, dict):
                raise ValueError(f"a layout is a JSON object, not {type(layout).__name__}")
        except (OSError, ValueError) as exc:
            log.error("layout of %s/%s cannot be read from %s: %s", document_id, record.id, path, exc)
            return None
        if not layout.get("original_name"):  # a layout stored before the name was kept in it
            layout["original_name"] = record.original_name
        return layout

    def original(self, document_id: str, variant_id: str) -> tuple[VariantRecord, Path]:
        """A stored variant's file as it arrived: its kept original, or the text file when that is it."""
        record = self.find_variant(document_id, variant_id)
        kept = self.files.variant_path(document_id, companions(record.file_name)[0])
        if record.original_sha256 is not None:
            return record, kept
        return record, self.files.variant_path(document_id, record.file_name)

    def variant_text(self, document_id: str, variant_id: str) -> tuple[VariantRecord, str]:
        """A stored variant's text, read as a build reads it (so a reading's offsets index it exactly)."""
        record = self.find_variant(document_id, variant_id)
        return record, read_variant_file(self.files.variant_path(document_id, record.file_name))


def read_variant_file(path: Path) -> str:
    """Stored variants are UTF-8; universal newlines, as every offset in an index assumes."""
    return path.read_text(encoding="utf-8")


@dataclass(frozen=True)
class _Check:
    """How to tell from the database whether a change committed (kept in its journal entry)."""

    kind: (
        str  # variant_at: a variant row with this file exists; trash / trash_gone: the entry does / does not
    )
    document: str = ""
    file_name: str = ""
    entry: str = ""

    def committed(self, db: CorpusDatabase) -> bool:
        if self.kind == "variant_at":
            return any(v.file_name == self.file_name for v in db.variants(self.document))
        present = db.trash_entry(self.entry) is not None
        return present if self.kind == "trash" else not present


@dataclass
class _Change:
    """One journalled change to the corpus files around one database transaction (see the module docstring)."""

    corpus: Corpus
    check: _Check
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    renames: list[tuple[Path, Path]] = field(default_factory=list)
    deletes: list[Path] = field(default_factory=list)  # after the commit
    # New files' bytes, each written to a temporary file in the journal folder, the source of a rename.
    new_files: list[tuple[Path, bytes]] = field(default_factory=list)

    @property
    def path(self) -> Path:
        return self.corpus.files.journal_dir / f"{self.id}.json"

    @property
    def temporaries(self) -> list[Path]:
        """The new files' temporaries (also the journal entry's renames from the journal folder)."""
        journal = self.corpus.files.journal_dir
        return [source for source, _ in self.renames if source.parent == journal]

    def write_new(self, target: Path, data: bytes) -> None:
        temporary = self.corpus.files.journal_dir / f"{self.id}.new{len(self.new_files)}"
        self.renames.insert(len(self.new_files), (temporary, target))
        self.new_files.append((temporary, data))

    def rename(self, source: Path, target: Path) -> None:
        self.renames.append((source, target))

    def delete_after(self, path: Path) -> None:
        self.deletes.append(path)

    def run(self, commit: Callable[[Connection], None]) -> None:
        root = self.corpus.files.root
        entry = {
            "check": vars(self.check),
            "renames": [[str(a.relative_to(root)), str(b.relative_to(root))] for a, b in self.renames],
            "deletes": [str(p.relative_to(root)) for p in self.deletes],
        }
        write_durably(self.path, json.dumps(entry, ensure_ascii=False).encode("utf-8"))
        try:
            for temporary, data in self.new_files:
                write_durably(temporary, data)
            for source, target in self.renames:
                move_durably(source, target)
            with self.corpus.db.transaction() as conn:
                commit(conn)
        except BaseException:
            try:
                self.settle()
            except Exception:
                log.exception(
                    "could not settle change %s now; it is settled when the runner next starts", self.id
                )
            raise
        try:
            self._finish()
        except OSError as exc:  # committed: the leftovers are the journal's to clear at the next recovery
            log.warning(
                "change %s committed; clearing its leftovers failed (%s), retried later", self.id, exc
            )

    def settle(self) -> str:
        """Roll the change forward if its transaction committed, else back; then drop its journal entry."""
        if self.check.committed(self.corpus.db):
            for source, target in self.renames:
                if source.exists() and not target.exists():
                    move_durably(source, target)
            self._finish()
            return "rolled forward"
        for source, target in reversed(self.renames):
            if target.exists() and not source.exists():
                move_durably(target, source)  # a new variant's files go back to their temporaries
        for temporary in self.temporaries:
            temporary.unlink(missing_ok=True)
        for _, target in self.renames:
            remove_if_empty(target.parent)
        self.path.unlink(missing_ok=True)
        return "rolled back"

    def _finish(self) -> None:
        for path in self.deletes:
            path.unlink(missing_ok=True)
        for folder in {p.parent for p in self.deletes} | {s.parent for s, _ in self.renames}:
            if folder != self.corpus.files.journal_dir:
                remove_if_empty(folder)
        for temporary in self.temporaries:
            temporary.unlink(missing_ok=True)
        self.path.unlink(missing_ok=True)

    @classmethod
    def read(cls, corpus: Corpus, path: Path) -> _Change:
        entry = json.loads(path.read_text(encoding="utf-8"))
        root = corpus.files.root
        change = cls(corpus, _Check(**entry["check"]), id=path.stem)
        change.renames = [(root / a, root / b) for a, b in entry["renames"]]
        change.deletes = [root / p for p in entry["deletes"]]
        return change
