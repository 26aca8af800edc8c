"""Jobs over HTTP: one job's status, stage and result, or the recent jobs by status; and /metrics."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool

from index.jobs.submit import submit_retry
from index.storage.database import JOB_STATUSES
from service.deps import Admin, CorpusDep, Reader, WorkerDep
from service.errors import ApiError
from service.models import JobInfo, JobList
from service.routes.documents import job_info

router = APIRouter(tags=["jobs"])


@router.get("/v1/jobs/{job_id}", response_model=JobInfo, responses={404: {}})
def get_job(job_id: str, corpus: CorpusDep, _who: Reader) -> JobInfo:
    job = corpus.db.job(job_id)
    if job is None:
        raise ApiError(status.HTTP_404_NOT_FOUND, f"no job {job_id!r}", "not_found")
    return job_info(job)


@router.get("/v1/jobs", response_model=JobList)
def list_jobs(
    corpus: CorpusDep,
    _who: Reader,
    status_filter: str | None = Query(
        None,
        alias="status",
        description=f"One of {', '.join(JOB_STATUSES)}.",
        json_schema_extra={"enum": list(JOB_STATUSES)},
    ),
    limit: int = Query(100, ge=1, le=1000),
) -> JobList:
    if status_filter is not None and status_filter not in JOB_STATUSES:
        raise ApiError(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"status: {status_filter!r} is not a job status; use one of {', '.join(JOB_STATUSES)}",
            "invalid_request",
        )
    return JobList(jobs=[job_info(j) for j in corpus.db.jobs(status_filter, limit)])


@router.post(
    "/v1/jobs/{job_id}/retry",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobInfo,
    responses={404: {}, 409: {}},
)
async def retry_job(job_id: str, corpus: CorpusDep, worker: WorkerDep, _who: Admin) -> JobInfo:
    """Queue a failed upload again with the files it staged (when it failed while storing them)."""
    job = await run_in_threadpool(submit_retry, corpus, job_id)
    worker.wake()
    return job_info(job)


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
