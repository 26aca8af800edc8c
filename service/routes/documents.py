"""The corpus over HTTP: list documents, upload variants, remove and move them, reindex; all writes are jobs."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, HTTPException, Query, Request, status
from starlette.concurrency import run_in_threadpool

from index.corpus.documents import DOCUMENT_ID_PATTERN
from index.corpus.variants import DEFAULT_MAX_VARIANT_BYTES
from index.jobs.runner import JobWorker
from index.jobs.submit import (
    DEFAULT_MAX_FILES,
    submit_files,
    submit_move,
    submit_reindex,
    submit_removal,
)
from index.storage.database import Job
from service.deps import Admin, Asker, CorpusDep, Reader, WorkerDep
from service.errors import ApiError
from service.models import DocumentInfo, JobInfo, MoveRequest, VariantText
from service.uploads import PASTED_TEXT_NAME, read_upload_form

router = APIRouter(prefix="/v1", tags=["documents"])


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
        # Some text that is not white space, and no NUL (the mark of a binary file).
        "pattern": r"^[^\u0000]*[^\s\u0000][^\u0000]*$",
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
                            "description": f"One to {max_files} plain-text variants (.txt or .md; UTF-8, UTF-16 "
                            f"with a BOM, or GB18030), each at most {max_bytes} bytes; PDF, Word and images are "
                            f"refused with 415. A part without a file name is the text itself, named "
                            f"`{PASTED_TEXT_NAME}`.",
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
    form = await read_upload_form(request, settings.max_variant_bytes, settings.max_files_per_upload)
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
