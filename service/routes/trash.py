"""The trash and the audit trail over HTTP: what was removed and can be put back, and who changed what.

Removing a document or variant moves it to the trash (its rows and files kept
as they were) for `CONCORD_TRASH_DAYS`; restoring and purging are jobs like
every other change, and every change to the corpus leaves an audit row.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query, Request, status

from index.jobs.submit import submit_purge, submit_restore
from service.deps import Admin, CorpusDep, WorkerDep
from service.models import AuditInfo, AuditList, JobInfo, TrashInfo, TrashList
from service.routes.documents import queue_job

router = APIRouter(prefix="/v1", tags=["trash"])


@router.get("/trash", response_model=TrashList)
def list_trash(
    corpus: CorpusDep,
    _who: Admin,
    document: str | None = Query(None, max_length=200, description="Only entries of this document id."),
) -> TrashList:
    """Removed documents and variants that can still be restored, newest first."""
    return TrashList(entries=[TrashInfo.model_validate(e.summary()) for e in corpus.db.trash(document)])


@router.get("/trash/{entry_id}", response_model=TrashInfo, responses={404: {}})
def get_trash_entry(entry_id: str, corpus: CorpusDep, _who: Admin) -> TrashInfo:
    entry = corpus.db.trash_entry(entry_id)
    if entry is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, detail=f"no trash entry {entry_id!r}; GET /v1/trash lists them"
        )
    return TrashInfo.model_validate(entry.summary())


@router.post(
    "/trash/{entry_id}/restore",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobInfo,
    responses={404: {}, 409: {}},
)
def restore_trash_entry(
    request: Request, entry_id: str, corpus: CorpusDep, worker: WorkerDep, who: Admin
) -> JobInfo:
    """Put a removed document or variant back, byte for byte; the index is rebuilt with it.

    A variant id taken meanwhile gets a suffix (the job's result says so); bytes stored again
    since are refused with 409 when the job runs."""
    return queue_job(request, worker, submit_restore, corpus, entry_id, "api", f"api:{who.fingerprint}")


@router.delete(
    "/trash/{entry_id}",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobInfo,
    responses={404: {}},
)
def purge_trash_entry(
    request: Request, entry_id: str, corpus: CorpusDep, worker: WorkerDep, who: Admin
) -> JobInfo:
    """Delete a trash entry for good, before it expires (its files and rows; the audit row stays)."""
    return queue_job(request, worker, submit_purge, corpus, entry_id, "api", f"api:{who.fingerprint}")


@router.get("/audit", response_model=AuditList)
def list_audit(
    corpus: CorpusDep,
    _who: Admin,
    document: str | None = Query(None, max_length=200, description="Only changes to this document id."),
    before: int | None = Query(None, ge=1, le=2**62, description="Only rows older than this id (paging)."),
    limit: int = Query(100, ge=1, le=1000),
) -> AuditList:
    """Every change to the corpus, newest first: add, remove, move, restore, purge, reindex."""
    events = corpus.db.audit(limit, before, document)
    return AuditList(
        events=[
            AuditInfo(
                id=e.id or 0,
                at=e.at,
                action=e.action,
                document=e.document_id,
                variant=e.variant_id,
                caller=e.caller,
                origin=e.origin,
                client=e.client,
                job=e.job_id,
                detail=e.detail,
            )
            for e in events
        ],
        next_before=events[-1].id if len(events) == limit else None,
    )
