"""The corpus: documents and variants in the database, their files on disk, kept in step.

Writes put the file in place durably first and then commit the row, so a
crash between the two leaves at worst an unreferenced file, never a row that
points at nothing. The seed folder becomes the first document the first time
an empty database is opened.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

from index.corpus.documents import check_document_id, folder_document_id, new_document_id, title_for_variants
from index.corpus.matching import SIGNATURE_VERSION, Assignment, band_keys, decide, signature, to_bytes
from index.corpus.model import DocumentSource, Problem, Variant
from index.corpus.variants import decode_text, load_variants, variant_id_for
from index.storage.database import CorpusDatabase, VariantRecord, now
from index.storage.files import CorpusFiles, remove_durably, write_durably

log = logging.getLogger("concord")


@dataclass(frozen=True)
class StoredVariant:
    """The outcome of storing one file: where it went, or which variant it duplicates."""

    name: str
    document: str
    variant: str
    encoding: str
    assignment: Assignment | None = None
    duplicate_of: str | None = None

    def to_dict(self) -> dict[str, object]:
        data: dict[str, object] = {"file": self.name, "document": self.document, "variant": self.variant}
        if self.encoding != "utf-8":
            data["converted_from"] = self.encoding
        if self.assignment is not None:
            data["assignment"] = self.assignment.to_dict()
        if self.duplicate_of is not None:
            data["duplicate_of"] = self.duplicate_of
            data["note"] = f"byte-identical to stored variant {self.duplicate_of}; nothing was added"
        return data


class Corpus:
    """Documents and their variants: metadata in the database, text under the corpus folder."""

    def __init__(self, database: CorpusDatabase, root: Path) -> None:
        self.db = database
        self.files = CorpusFiles(root)

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
                    self.store(Path(variant.path).name, data, document_id, sender="seed", job_id=None)
                added.append(document_id)
        self.db.set_meta("bootstrapped", now())
        return added

    def store(
        self, name: str, data: bytes, document: str | None, sender: str, job_id: str | None
    ) -> StoredVariant:
        """Store one file as a variant: of the named document, or of the one its text matches, or of a new one."""
        variant_id = variant_id_for(name)
        decoded = decode_text(name, data)
        text_bytes = decoded.text.encode("utf-8")
        sha = hashlib.sha256(text_bytes).hexdigest()
        existing = self.db.variant_by_sha(sha)
        if existing is not None:
            if job_id is not None and existing.job_id == job_id:  # stored by this job before a crash
                return StoredVariant(name, existing.document_id, existing.id, decoded.encoding)
            return StoredVariant(
                name,
                existing.document_id,
                existing.id,
                decoded.encoding,
                duplicate_of=f"{existing.document_id}/{existing.id}",
            )
        sig = signature(decoded.text)
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
        write_durably(self.files.variant_path(document_id, file_name), text_bytes)
        with self.db.transaction() as conn:
            if document_id not in known:
                self.db.add_document(conn, document_id, title_for_variants([decoded.text]), title_given=False)
            self.db.add_variant(
                conn,
                {
                    "document_id": document_id,
                    "id": final_id,
                    "file_name": file_name,
                    "original_name": name,
                    "sha256": sha,
                    "size": len(text_bytes),
                    "encoding": decoded.encoding,
                    "arrived_at": now(),
                    "sender": sender,
                    "job_id": job_id,
                },
                to_bytes(sig),
                keys,
            )
        return StoredVariant(name, document_id, final_id, decoded.encoding, assignment=assignment)

    def _free_variant_id(self, document_id: str, wanted: str) -> str:
        """`wanted`, or `wanted-2`, `wanted-3`…: variant ids are unique within a document."""
        taken = {v.id for v in self.db.variants(document_id)}
        candidate, n = wanted, 2
        while candidate in taken:
            candidate, n = f"{wanted}-{n}", n + 1
        return candidate

    def find_variant(self, document_id: str, variant_id: str) -> VariantRecord:
        for record in self.db.variants(document_id):
            if record.id == variant_id:
                return record
        raise LookupError(f"document {document_id!r} has no variant {variant_id!r}")

    def remove_variant(self, document_id: str, variant_id: str) -> dict[str, object]:
        record = self.find_variant(document_id, variant_id)
        with self.db.transaction() as conn:
            self.db.remove_variant(conn, record.pk)
            emptied = self.db.remove_document_if_empty(conn, document_id)
        remove_durably(self.files.variant_path(document_id, record.file_name))
        return {"removed": f"{document_id}/{variant_id}", "document_removed": emptied}

    def remove_document(self, document_id: str) -> dict[str, object]:
        records = self.db.variants(document_id)
        if self.db.document(document_id) is None:
            raise LookupError(f"no document {document_id!r}")
        with self.db.transaction() as conn:
            for record in records:
                self.db.remove_variant(conn, record.pk)
            self.db.remove_document_if_empty(conn, document_id)
        for record in records:
            remove_durably(self.files.variant_path(document_id, record.file_name))
        return {"removed": document_id, "variants": [r.id for r in records]}

    def move_variant(self, document_id: str, variant_id: str, target: str) -> dict[str, object]:
        """Move a variant to another document (created when new), as an operator's correction."""
        check_document_id(target)
        record = self.find_variant(document_id, variant_id)
        source = self.files.variant_path(document_id, record.file_name)
        data = source.read_bytes()
        final_id = self._free_variant_id(target, variant_id)
        file_name = f"{final_id}.txt"
        write_durably(self.files.variant_path(target, file_name), data)
        with self.db.transaction() as conn:
            if self.db.document(target) is None:
                title = title_for_variants([data.decode("utf-8")])
                self.db.add_document(conn, target, title, title_given=False)
            self.db.move_variant(conn, record.pk, target, final_id, file_name)
            emptied = self.db.remove_document_if_empty(conn, document_id)
        remove_durably(source)
        return {
            "moved": f"{document_id}/{variant_id}",
            "to": f"{target}/{final_id}",
            "document_removed": emptied,
        }

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
                variants.append(Variant(id=record.id, path=str(path), raw_text=text))
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

    def variant_text(self, document_id: str, variant_id: str) -> tuple[VariantRecord, str]:
        """A stored variant's text, read as a build reads it (so a reading's offsets index it exactly)."""
        record = self.find_variant(document_id, variant_id)
        return record, read_variant_file(self.files.variant_path(document_id, record.file_name))


def read_variant_file(path: Path) -> str:
    """Stored variants are UTF-8; universal newlines, as every offset in an index assumes."""
    return path.read_text(encoding="utf-8")
