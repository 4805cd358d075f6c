"""Ingest jobs (admin): upload many files at once; the server ingests them in the background and reports
per-file status (qa/api/jobs.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, HTTPException, Request, UploadFile, status

from qa.api.auth import authorize
from qa.api.deps import ServicesDep
from qa.api.jobs import FileStatus, Job, JobBoard
from qa.api.metrics import INGEST_FAILED
from qa.api.schemas import JobListOut, JobOut
from qa.api.uploads import FORMATS, safe_name, too_large

router = APIRouter(prefix="/v1/jobs", tags=["报告"], dependencies=[Depends(authorize("admin"))])
MAX_FILES = 500
_PIECE = 1024 * 1024


def _board(request: Request) -> JobBoard:
    board: JobBoard = request.app.state.jobs
    return board


def job_out(job: Job) -> JobOut:
    return JobOut(**job.as_dict())


@router.post(
    "/ingest", status_code=status.HTTP_202_ACCEPTED, response_model=JobOut, summary="批量上传并在后台导入（管理员）"
)
async def submit_ingest(
    request: Request,
    services: ServicesDep,
    files: Annotated[list[UploadFile], File(description=f"一个或多个文件（{FORMATS}），字段名 files")],
) -> JobOut:
    """Answers at once with the job id and every file queued; the server ingests them one by one in the
    background — closing the page or dropping the connection does not stop it. Poll GET /v1/jobs/{job_id}.
    A file over QA_MAX_UPLOAD_MB is refused at once; the rest of the batch still runs."""
    if len(files) > MAX_FILES:
        raise HTTPException(422, f"一次最多上传 {MAX_FILES} 个文件，请分批上传")
    names = [safe_name(f.filename) for f in files]
    board = _board(request)
    limit = int(services.settings.max_upload_mb * 1024 * 1024)
    job_id, folder = board.folder()
    statuses: list[FileStatus] = []
    for i, (f, name) in enumerate(zip(files, names)):
        # Copied to the spool a piece at a time (the upload is already on disk above 1 MB): a batch of large
        # files never sits in memory, and one over the limit is refused without reading the rest of it.
        path, size = board.spooled(folder, i), 0
        with path.open("wb") as out:
            while size <= limit and (piece := await f.read(_PIECE)):
                size += len(piece)
                out.write(piece)
        status = FileStatus(name=name, size=size)
        if size > limit:
            path.unlink()
            refused = too_large(services, name)
            INGEST_FAILED.labels(refused.kind).inc()
            status.status, status.reason = "refused", refused.reason
        statuses.append(status)
    return job_out(board.submit(job_id, statuses))


@router.get("", response_model=JobListOut, summary="最近的导入任务（管理员）")
def list_jobs(request: Request) -> JobListOut:
    return JobListOut(items=[job_out(j) for j in _board(request).recent()])


@router.get("/{job_id}", response_model=JobOut, summary="导入任务的进度与每个文件的结果（管理员）")
def get_job(job_id: str, request: Request) -> JobOut:
    job = _board(request).get(job_id)
    if job is None:
        raise HTTPException(404, f"没有编号为 {job_id} 的导入任务")
    return job_out(job)
