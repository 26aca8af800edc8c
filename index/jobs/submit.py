"""Submitting work: one path for every way in (HTTP upload, `concord add`, the watched inbox).

A submission is checked whole before anything is written: names, types,
sizes, encodings, the document id. Only then are its files staged durably
(temporary file, fsync, rename, fsync the folder) and the job row committed,
so an acknowledged job never loses its files and a refused one changes nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from index.corpus.documents import check_document_id
from index.corpus.variants import check_size, decode_text, variant_id_for
from index.errors import Clash, NotFound, Refusal, Unwritable
from index.extract import SUFFIXES, ExtractOptions, format_of, inspect
from index.extract.base import OCR_MODES
from index.storage.corpus import Corpus
from index.storage.database import Job

DEFAULT_MAX_FILES = 20
# A scanned or printed file (PDF, image, Word, …) may be far larger than its text: its own limit.
DEFAULT_MAX_FILE_BYTES = 100 * 1024 * 1024


@dataclass(frozen=True)
class Upload:
    """A file as it arrived: its name as the sender gave it, and its bytes."""

    name: str
    data: bytes


class AlreadyThere(Clash, ValueError):
    """A move to the document the variant is already in: nothing to do, and the caller should know."""


class TooManyFiles(Refusal, ValueError):
    """More files in one submission than the limit allows (a count the upload schema states: 422)."""

    status = 422


def submit_files(
    corpus: Corpus,
    uploads: list[Upload],
    document: str | None,
    origin: str,
    sender: str,
    max_bytes: int,
    max_files: int = DEFAULT_MAX_FILES,
    client: str | None = None,
    options: ExtractOptions | None = None,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
) -> Job:
    """Check every file, stage them durably, and commit a queued `add` job; raise on the first bad input.

    Plain text is decoded now; any other format is opened and checked (`index.extract.inspect`:
    encrypted, corrupt, zero pages, too many pixels, a type its extension does not name) and its
    pages counted, the job's unit of progress while the runner extracts it."""
    options = options or ExtractOptions()
    if options.ocr not in OCR_MODES:
        raise Refusal(f"ocr: {options.ocr!r} is not one of {', '.join(OCR_MODES)}")
    if not uploads:
        raise Refusal("no files were sent; attach one or more files (.txt, .pdf, .png, .jpg, .docx, …)")
    if len(uploads) > max_files:
        raise TooManyFiles(
            f"{len(uploads)} files in one request; send at most {max_files} at a time "
            "(or raise CONCORD_MAX_FILES_PER_UPLOAD)"
        )
    if document is not None:
        check_document_id(document)
    checked = []
    for upload in uploads:
        kind = format_of(upload.name, upload.data)
        variant_id_for(upload.name, SUFFIXES)
        if kind == "text":
            check_size(upload.name, len(upload.data), max_bytes)
            checked.append(
                {"format": kind, "pages": 1, "encoding": decode_text(upload.name, upload.data).encoding}
            )
        else:
            check_size(upload.name, len(upload.data), max_file_bytes)
            checked.append({"format": kind, "pages": inspect(upload.name, upload.data, options)})
    try:
        corpus.files.check_writable()
    except OSError as exc:
        raise unwritable(exc) from exc
    job_id = corpus.db.new_job_id()
    files = []
    try:
        for position, upload in enumerate(uploads):
            staged = corpus.files.stage(job_id, position, upload.data)
            files.append(
                {
                    "name": upload.name,
                    "staged": str(staged.relative_to(corpus.files.root)),
                    "sha256": hashlib.sha256(upload.data).hexdigest(),
                    "size": len(upload.data),
                    **checked[position],
                }
            )
        payload = {"files": files, "document": document, "client": client, "ocr": options.ocr}
        return corpus.db.create_job("add", origin, sender, payload, job_id=job_id)
    except BaseException as exc:
        corpus.files.drop_staging(job_id)
        if isinstance(exc, OSError):
            raise unwritable(exc) from exc
        raise


def unwritable(exc: OSError) -> Unwritable:
    """The refusal for a corpus folder that cannot take the staged files (a full disk, a read-only mount)."""
    return Unwritable(f"the corpus folder cannot be written ({exc.strerror or exc}); nothing was stored")


def submit_removal(
    corpus: Corpus, document: str, variant: str | None, origin: str, sender: str, client: str | None = None
) -> Job:
    """Queue moving a document, or one of its variants, to the trash; unknown names are refused now."""
    if corpus.db.document(document) is None:
        raise NotFound(f"no document {document!r}; GET /v1/documents lists them")
    if variant is not None:
        corpus.find_variant(document, variant)
    payload = {"document": document, "variant": variant, "client": client}
    return corpus.db.create_job("remove", origin, sender, payload)


def submit_move(
    corpus: Corpus,
    document: str,
    variant: str,
    target: str,
    origin: str,
    sender: str,
    client: str | None = None,
) -> Job:
    """Queue moving a variant to another document (an operator's correction of an automatic decision)."""
    check_document_id(target)
    corpus.find_variant(document, variant)
    if target == document:
        raise AlreadyThere(f"variant {variant!r} is already in document {document!r}")
    payload = {"document": document, "variant": variant, "to": target, "client": client}
    return corpus.db.create_job("move", origin, sender, payload)


def submit_restore(corpus: Corpus, entry: str, origin: str, sender: str, client: str | None = None) -> Job:
    """Queue putting a trash entry back; an unknown entry is refused now."""
    corpus.trash_entry(entry)
    return corpus.db.create_job("restore", origin, sender, {"trash": entry, "client": client})


def submit_purge(corpus: Corpus, entry: str, origin: str, sender: str, client: str | None = None) -> Job:
    """Queue deleting a trash entry for good; an unknown entry is refused now."""
    corpus.trash_entry(entry)
    return corpus.db.create_job("purge", origin, sender, {"trash": entry, "client": client})


def submit_reindex(corpus: Corpus, origin: str, sender: str, client: str | None = None) -> Job:
    return corpus.db.create_job("reindex", origin, sender, {"client": client})


class NotRetryable(Clash, ValueError):
    """A job that cannot run again as it is; the message says what to do instead."""


def submit_retry(corpus: Corpus, job_id: str) -> Job:
    """Queue a failed job again, when it failed before changing the corpus and still has its files."""
    job = corpus.db.job(job_id)
    if job is None:
        raise NotFound(f"no job {job_id!r}; GET /v1/jobs lists them")
    if job.status != "failed":
        raise NotRetryable(f"job {job_id} is {job.status}; only a failed job can be retried")
    if job.stage not in ("extract", "store"):
        raise NotRetryable(
            f"job {job_id} changed the corpus and failed while rebuilding the index; "
            "POST /v1/reindex (or `concord build`) rebuilds it"
        )
    missing = [
        f["name"] for f in job.payload.get("files", []) if not (corpus.files.root / f["staged"]).exists()
    ]
    if missing:
        raise NotRetryable(
            f"job {job_id} no longer has its files ({', '.join(missing)}): its input was refused; "
            "fix the files and upload them again"
        )
    corpus.db.update_job(job_id, status="queued", error=None, finished_at=None)
    retried = corpus.db.job(job_id)
    assert retried is not None
    return retried
