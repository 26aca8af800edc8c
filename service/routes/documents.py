"""The corpus over HTTP: list documents, upload variants, remove and move them, reindex; all writes are jobs."""

from __future__ import annotations

import hashlib
import logging
import urllib.parse
from collections.abc import Callable
from dataclasses import replace

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from starlette.concurrency import run_in_threadpool

from index.corpus.documents import DOCUMENT_ID_PATTERN
from index.corpus.variants import DEFAULT_MAX_VARIANT_BYTES
from index.extract.model import RENDERED_FORMATS
from index.extract.render import DEFAULT_MAX_SIDE, NoPage, cached_page_png
from index.extract.sniff import suffix_of
from index.jobs.runner import JobWorker
from index.jobs.submit import (
    DEFAULT_MAX_FILES,
    submit_files,
    submit_move,
    submit_reindex,
    submit_removal,
)
from index.storage.corpus import Corpus
from index.storage.database import Job, VariantRecord
from service.deps import Admin, Asker, CorpusDep, Reader, WorkerDep
from service.errors import ApiError
from service.models import DocumentInfo, JobInfo, MoveRequest, VariantText
from service.uploads import PASTED_TEXT_NAME, read_upload_form

router = APIRouter(prefix="/v1", tags=["documents"])
log = logging.getLogger("concord")


def upload_body(max_files: int, max_bytes: int) -> dict:
    """The upload's request body as the service takes it: text parts within the limits, a valid document id.

    Each `files` part is text (a JSON Schema string with `contentMediaType: text/plain`: what its bytes
    must decode to), sent as a file (`curl -F files=@a.txt`, a .txt or .md name) or as the text itself
    (`-F 'files=<a.txt'`). A repeated multipart field is one value or several, hence the `anyOf`."""
    text = {
        "type": "string",
        "contentMediaType": "text/plain",
        "minLength": 1,
        # Characters, at most 4 bytes each in UTF-8: always within the byte limit.
        "maxLength": max(1, max_bytes // 4),
        # Some text that is not blank, and no NUL (the mark of a binary file). Blank as the service
        # judges it (index.corpus.variants.is_blank): `\s` in either regex dialect (JSON Schema's
        # counts U+FEFF, Python's U+001C-U+001F and U+0085), so all of them are named.
        "pattern": r"^[^\u0000]*[^\s\u0000\u001c-\u001f\u0085\ufeff][^\u0000]*$",
    }
    return {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["files"],
                    "additionalProperties": False,
                    "properties": {
                        "files": {
                            "anyOf": [
                                text,
                                {"type": "array", "minItems": 1, "maxItems": max_files, "items": text},
                            ],
                            "description": f"One to {max_files} variants: plain text (.txt or .md; UTF-8, "
                            f"UTF-16 with a BOM, or GB18030, at most {max_bytes} bytes), or a PDF, scan or photo "
                            "(.png, .jpg, .tif), Word (.docx), web page (.html) or OFD (.ofd) file, read by the "
                            "job's extract stage (OCR where there is no text layer); an old .doc, an encrypted "
                            "or broken file, or one whose contents do not match its extension is refused with "
                            f"4xx. A part without a file name is the text itself, named `{PASTED_TEXT_NAME}`.",
                        },
                        "ocr": {
                            "type": "string",
                            "enum": ["auto", "both"],
                            "description": "'both': also read a PDF that has a text layer by OCR, stored as a "
                            "second variant (default: the service's CONCORD_OCR).",
                        },
                        "document": {
                            "type": "string",
                            "pattern": DOCUMENT_ID_PATTERN,
                            "description": "Attach to this document id (created when new); without it the "
                            "service decides by comparing the text with every document.",
                        },
                    },
                },
            }
        },
    }


def job_info(job: Job) -> JobInfo:
    return JobInfo.model_validate(job.to_dict())


def client_of(request: Request) -> str | None:
    """The address a request came from, for the audit trail."""
    return request.client.host if request.client else None


def queue_job(
    request: Request, worker: JobWorker, submit: Callable[..., Job], *args: object, **kwargs: object
) -> JobInfo:
    """Submit a job and wake the worker for it; a refusal (raised before anything is stored) is its 4xx."""
    job = submit(*args, client=client_of(request), **kwargs)
    worker.wake()
    return job_info(job)


@router.get("/documents", response_model=list[DocumentInfo])
def list_documents(corpus: CorpusDep, _who: Reader) -> list[DocumentInfo]:
    variants = corpus.db.variants()
    return [
        DocumentInfo(
            id=d.id,
            title=d.title,
            created_at=d.created_at,
            variants=[vars(v) for v in variants if v.document_id == d.id],
        )
        for d in corpus.db.documents()
    ]


@router.get("/documents/{document_id}", response_model=DocumentInfo)
def get_document(document_id: str, corpus: CorpusDep, _who: Reader) -> DocumentInfo:
    document = corpus.db.document(document_id)
    if document is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no document {document_id!r}")
    return DocumentInfo(
        id=document.id,
        title=document.title,
        created_at=document.created_at,
        variants=[vars(v) for v in corpus.db.variants(document_id)],
    )


@router.get(
    "/documents/{document_id}/variants/{variant_id}/text",
    response_model=VariantText,
    responses={404: {}},
)
def variant_text(
    document_id: str,
    variant_id: str,
    corpus: CorpusDep,
    _who: Asker,
    start: int = Query(0, ge=0, description="Code-point offset into the file (a reading's char_start)."),
    end: int | None = Query(
        None, ge=0, description="Exclusive end (a reading's char_end); default: the file's end."
    ),
    context: int = Query(200, ge=0, le=5000, description="Characters of context either side."),
) -> VariantText:
    """A stored variant's raw text at a span, exactly `file_text[start:end]`, with context either side.

    Offsets past the end are clamped, as slicing does; the answer says which span it returned.
    """
    try:
        record, text = corpus.variant_text(document_id, variant_id)
    except OSError as exc:
        raise ApiError(
            status.HTTP_404_NOT_FOUND,
            f"the file of variant {variant_id!r} cannot be read ({exc.strerror})",
            "not_found",
        ) from None
    start = min(start, len(text))
    end = max(start, min(len(text) if end is None else end, len(text)))
    return VariantText(
        document=document_id,
        variant=variant_id,
        file=record.file_name,
        start=start,
        end=end,
        text=text[start:end],
        before=text[max(0, start - context) : start],
        after=text[end : end + context],
        line_start=text.count("\n", 0, start) + 1,
        line_end=text.count("\n", 0, max(start, end - 1)) + 1,
        length=len(text),
    )


_MEDIA_TYPES = {
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".html": "text/html",
    ".htm": "text/html",
    ".ofd": "application/ofd",
}


def _original_bytes(corpus: Corpus, document_id: str, variant_id: str) -> tuple[VariantRecord, bytes]:
    """A variant's original file, checked against the checksum taken when it arrived."""
    record, path = corpus.original(document_id, variant_id)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ApiError(
            status.HTTP_404_NOT_FOUND,
            f"the original of variant {variant_id!r} cannot be read ({exc.strerror})",
            "not_found",
        ) from None
    if hashlib.sha256(data).hexdigest() != record.arrived_sha256:
        log.error("the original of %s/%s does not match its checksum (%s)", document_id, variant_id, path)
        raise ApiError(
            status.HTTP_500_INTERNAL_SERVER_ERROR,
            f"the stored original of variant {variant_id!r} does not match its checksum; an operator "
            "should restore it from a backup",
            "internal_error",
        )
    return record, data


@router.get(
    "/documents/{document_id}/variants/{variant_id}/original",
    responses={
        200: {
            "description": "The file as it arrived, in its own media type.",
            "content": {
                m: {} for m in ("text/plain", *sorted(set(_MEDIA_TYPES.values())), "application/octet-stream")
            },
        },
        404: {},
    },
    response_class=Response,
)
def variant_original(document_id: str, variant_id: str, corpus: CorpusDep, _who: Asker) -> Response:
    """The variant's file exactly as it arrived (a PDF, scan, Word file…; or its text), checksum-verified.

    A PDF opens at a page with `#page=N` on the URL, as browsers read it."""
    record, data = _original_bytes(corpus, document_id, variant_id)
    name = record.original_name or record.file_name
    if record.original_sha256 is None:  # the stored UTF-8 text is the file as it arrived
        media = "text/plain; charset=utf-8"
    elif record.format == "text":  # converted to UTF-8 on arrival: the original's encoding is its own
        media = "text/plain"
    else:
        media = _MEDIA_TYPES.get(suffix_of(name), "application/octet-stream")
    return Response(
        data,
        media_type=media,
        headers={
            "Content-Disposition": f"inline; filename*=UTF-8''{urllib.parse.quote(name)}",
            "X-Content-SHA256": record.arrived_sha256,
            "Cache-Control": "private, max-age=3600",
        },
    )


@router.get(
    "/documents/{document_id}/variants/{variant_id}/pages/{page}.png",
    responses={200: {"content": {"image/png": {}}}, 404: {}},
    response_class=Response,
)
def variant_page(
    request: Request,
    document_id: str,
    variant_id: str,
    page: int,
    corpus: CorpusDep,
    _who: Asker,
    width: int = Query(DEFAULT_MAX_SIDE, ge=200, le=3000, description="Longest side of the image, pixels."),
) -> Response:
    """A page of a variant's original (a PDF page or a scan), rendered as PNG and cached.

    The rectangles of a reading's `pages` are fractions of this image, top-left origin."""
    record, data = _original_bytes(corpus, document_id, variant_id)
    if record.format not in RENDERED_FORMATS:
        raise ApiError(
            status.HTTP_404_NOT_FOUND,
            f"variant {variant_id!r} was read from {record.format}, which has no page images; "
            "GET …/text shows its text",
            "not_found",
        )
    cache = request.app.state.settings.pages_cache_dir
    try:
        png = cached_page_png(cache, record.arrived_sha256, record.format, data, page, width)
    except NoPage as exc:
        raise ApiError(status.HTTP_404_NOT_FOUND, str(exc), "not_found") from None
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=86400"})


@router.post(
    "/documents",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobInfo,
    openapi_extra={"requestBody": upload_body(DEFAULT_MAX_FILES, DEFAULT_MAX_VARIANT_BYTES)},
    responses={400: {}, 401: {}, 403: {}, 413: {}, 415: {}, 422: {}},
)
async def upload_documents(request: Request, corpus: CorpusDep, worker: WorkerDep, who: Admin) -> JobInfo:
    """Upload one or more variants; answered at once with a job (GET /v1/jobs/{id} follows it)."""
    settings = request.app.state.settings
    form = await read_upload_form(
        request, max(settings.max_variant_bytes, settings.max_file_bytes), settings.max_files_per_upload
    )
    options = settings.extract_options
    if form.ocr is not None:
        options = replace(options, ocr=form.ocr)
    job = await run_in_threadpool(
        submit_files,
        corpus,
        form.files,
        form.document,
        "api",
        f"api:{who.fingerprint}",
        settings.max_variant_bytes,
        settings.max_files_per_upload,
        client_of(request),
        options,
        settings.max_file_bytes,
    )
    worker.wake()
    return job_info(job)


@router.delete(
    "/documents/{document_id}",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobInfo,
    responses={404: {}},
)
def delete_document(
    request: Request, document_id: str, corpus: CorpusDep, worker: WorkerDep, who: Admin
) -> JobInfo:
    """Move a document and all its variants to the trash; the index is rebuilt without them.

    The job's result names the trash entry, which POST /v1/trash/{id}/restore puts back."""
    return queue_job(
        request, worker, submit_removal, corpus, document_id, None, "api", f"api:{who.fingerprint}"
    )


@router.delete(
    "/documents/{document_id}/variants/{variant_id}",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobInfo,
    responses={404: {}},
)
def delete_variant(
    request: Request, document_id: str, variant_id: str, corpus: CorpusDep, worker: WorkerDep, who: Admin
) -> JobInfo:
    """Move one variant to the trash (the document goes too when it was the last); restorable."""
    return queue_job(
        request, worker, submit_removal, corpus, document_id, variant_id, "api", f"api:{who.fingerprint}"
    )


@router.post(
    "/documents/{document_id}/variants/{variant_id}/move",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobInfo,
    responses={404: {}, 409: {}},
)
def move_variant(
    request: Request,
    document_id: str,
    variant_id: str,
    body: MoveRequest,
    corpus: CorpusDep,
    worker: WorkerDep,
    who: Admin,
) -> JobInfo:
    """Move a variant to another document, correcting the service's automatic decision."""
    return queue_job(
        request,
        worker,
        submit_move,
        corpus,
        document_id,
        variant_id,
        body.to,
        "api",
        f"api:{who.fingerprint}",
    )


@router.post("/reindex", status_code=status.HTTP_202_ACCEPTED, response_model=JobInfo)
def reindex(request: Request, corpus: CorpusDep, worker: WorkerDep, who: Admin) -> JobInfo:
    """Rebuild the index from the corpus as it is (after changing settings, say)."""
    return queue_job(request, worker, submit_reindex, corpus, "api", f"api:{who.fingerprint}")
