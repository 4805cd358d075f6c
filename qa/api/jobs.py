"""Ingest jobs: a batch of uploaded files ingested by a background thread of the server process, whatever
happens to the HTTP connection that brought them (the console's tab may close; the job goes on).

- POST /v1/jobs/ingest spools the files under QA_DATA_DIR/jobs/<job_id>/ and queues the job; one worker
  thread per process ingests queued jobs one file at a time through the same path as POST /v1/documents
  (qa.api.uploads), so outcomes and metrics are the same.
- Every change of a job's state is also written to the store's meta collection (one record per job), so any
  replica behind a load balancer answers GET /v1/jobs/{id} for a job another replica is running. A job whose
  process died is reported as `interrupted` (same rule as the store's pending markers: a dead pid on this host,
  or no progress for an hour anywhere).
"""

from __future__ import annotations

import json
import logging
import os
import queue
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from ingest.document import IngestError
from qa.api.deps import Services
from qa.api.uploads import ingest_upload
from qa.process import process_gone
from qa.store import placeholder_vectors

log = logging.getLogger("qa.api")

JobState = Literal["queued", "running", "done", "interrupted"]
# queued / running while waiting or being read; then what happened to the file: an ingest outcome
# (new, unchanged, replaced, duplicate …) or refused (with the reason).
FileState = str
_KIND = "job"
_KEEP_JOBS = 200  # finished jobs kept (in memory and in the store); older ones are forgotten
_STALE = 3600.0


@dataclass
class FileStatus:
    name: str
    size: int
    status: FileState = "queued"
    reason: str = ""
    doc_id: str = ""
    unit: str = ""
    n_chunks: int = 0
    # OCR progress of a scan while it is read (a page takes seconds): pages done of pages to read.
    ocr_done: int = 0
    ocr_total: int = 0
    extra: dict[str, Any] = field(default_factory=dict)  # additive fields of the upload result (e.g. pages OCRed)


@dataclass
class Job:
    job_id: str
    created_at: float
    files: list[FileStatus]
    status: JobState = "queued"
    updated_at: float = 0.0
    finished_at: float | None = None
    host: str = ""
    pid: int = 0

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        counts: dict[str, int] = {}
        for f in self.files:
            counts[f.status] = counts.get(f.status, 0) + 1
        out["counts"] = counts
        out["done"] = sum(1 for f in self.files if f.status not in ("queued", "running"))
        out["total"] = len(self.files)
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Job:
        files = [
            FileStatus(**{k: v for k, v in f.items() if k in FileStatus.__dataclass_fields__})
            for f in d.get("files", [])
        ]
        fields = {k: v for k, v in d.items() if k in cls.__dataclass_fields__ and k != "files"}
        return cls(**fields, files=files)

    def stale(self) -> bool:
        """The process running it is gone (it can no longer finish)."""
        if self.status not in ("queued", "running"):
            return False
        if time.time() - self.updated_at > _STALE:
            return True
        return self.pid != os.getpid() and process_gone(self.host, self.pid)


class JobBoard:
    def __init__(self, services: Services) -> None:
        self.services = services
        # A folder of this process's own: replicas may share one data dir, and one starting must not remove the
        # files another is about to ingest. Folders of processes that ended (this host), or untouched for longer
        # than a job may run (any host), can never be ingested now.
        root = services.settings.data_dir / "jobs"
        self.spool = root / f"{socket.gethostname()}-{os.getpid()}"
        for old in root.glob("*") if root.is_dir() else []:
            host, _, pid = old.name.rpartition("-")
            owner_gone = not pid.isdigit() or process_gone(host, int(pid))
            if old != self.spool and (owner_gone or time.time() - old.stat().st_mtime > _STALE):
                shutil.rmtree(old, ignore_errors=True)
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._queue: queue.Queue[str] = queue.Queue()
        self._worker: threading.Thread | None = None

    # --- submitting -----------------------------------------------------------------------------------------

    def folder(self) -> tuple[str, Path]:
        """A new job id and the folder its files are spooled to, as `spooled(folder, i)`, before `submit`."""
        job_id = uuid.uuid4().hex[:16]
        folder = self.spool / job_id
        folder.mkdir(parents=True, exist_ok=True)
        return job_id, folder

    @staticmethod
    def spooled(folder: Path, i: int) -> Path:
        return folder / f"{i:05d}"

    def submit(self, job_id: str, files: list[FileStatus]) -> Job:
        """Queue a job whose files are spooled; a file refused before ingest (too large) is already `refused`
        with its reason, and the rest of the batch still runs."""
        now = time.time()
        job = Job(job_id, now, files, updated_at=now, host=socket.gethostname(), pid=os.getpid())
        with self._lock:
            self._jobs[job.job_id] = job
            self._forget_old()
        self._save(job)
        self._queue.put(job.job_id)
        self._ensure_worker()
        return job

    def _ensure_worker(self) -> None:
        with self._lock:
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._work, name="qa-ingest-jobs", daemon=True)
                self._worker.start()

    # --- reading --------------------------------------------------------------------------------------------

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None:
                return Job.from_dict(asdict(job))  # a snapshot: the worker keeps changing the original
        page = self.services.retriever.store.meta.get(ids=[_KIND + ":" + job_id], include=["documents"])
        if not page["ids"]:
            return None
        job = Job.from_dict(json.loads((page["documents"] or ["{}"])[0] or "{}"))
        if job.stale():
            job.status = "interrupted"
        return job

    def recent(self, limit: int = 20) -> list[Job]:
        """The newest jobs of every replica (from the store), newest first."""
        page = self.services.retriever.store.meta.get(where={"kind": _KIND}, include=["metadatas"])
        metas: list[Mapping[str, Any]] = page["metadatas"] or []  # job records: "at" is the float created_at
        newest = sorted(zip(page["ids"], metas), key=lambda p: -float((p[1] or {}).get("at", 0.0)))[:limit]
        jobs = [self.get(i.removeprefix(_KIND + ":")) for i, _ in newest]
        return [j for j in jobs if j is not None]

    # --- running --------------------------------------------------------------------------------------------

    def _work(self) -> None:
        while not self.services.stopping.is_set():
            try:
                job_id = self._queue.get(timeout=1.0)
            except queue.Empty:
                continue
            try:
                self._run(job_id)
            except Exception:  # never let one job stop the worker
                log.exception("ingest job %s failed", job_id)

    def _run(self, job_id: str) -> None:
        with self._lock:
            job = self._jobs[job_id]
            job.status = "running"
        folder = self.spool / job_id
        for i, f in enumerate(job.files):
            if f.status != "queued":
                continue
            if self.services.stopping.is_set():
                return
            self._update(job, f, status="running")
            path = self.spooled(folder, i)

            def on_page(done: int, total: int, f: FileStatus = f) -> None:
                self._update(job, f, ocr_done=done, ocr_total=total)

            try:
                result = ingest_upload(self.services, path.read_bytes(), f.name, {}, on_page=on_page)
            except IngestError as exc:
                self._update(job, f, status="refused", reason=exc.reason)
            except Exception:
                log.exception("ingest job %s: %s failed", job_id, f.name)
                self._update(job, f, status="refused", reason="服务器内部错误（详见服务日志）")
            else:
                known = {"doc_id", "source", "outcome", "n_chunks", "unit"}
                self._update(
                    job,
                    f,
                    status=str(result["outcome"]),
                    doc_id=str(result["doc_id"]),
                    unit=str(result.get("unit", "")),
                    n_chunks=int(result.get("n_chunks", 0)),
                    extra={k: v for k, v in result.items() if k not in known},
                )
            path.unlink(missing_ok=True)
        with self._lock:
            job.status = "done"
            job.finished_at = time.time()
        self._save(job)
        shutil.rmtree(folder, ignore_errors=True)

    def _update(self, job: Job, f: FileStatus, **changes: Any) -> None:
        with self._lock:
            for k, v in changes.items():
                setattr(f, k, v)
            job.updated_at = time.time()
        self._save(job)

    def _save(self, job: Job) -> None:
        with self._lock:
            body = json.dumps(job.as_dict(), ensure_ascii=False)
        try:
            self.services.retriever.store.meta.upsert(
                ids=[_KIND + ":" + job.job_id],
                embeddings=placeholder_vectors(),
                documents=[body],
                metadatas=[{"kind": _KIND, "at": job.created_at}],
            )
        except Exception:  # the job goes on; only other replicas miss this update
            log.exception("could not record ingest job %s", job.job_id)

    def _forget_old(self) -> None:
        finished = sorted((j for j in self._jobs.values() if j.status == "done"), key=lambda j: j.created_at)
        for j in finished[: max(0, len(finished) - _KEEP_JOBS)]:
            del self._jobs[j.job_id]
            try:
                self.services.retriever.store.meta.delete(ids=[_KIND + ":" + j.job_id])
            except Exception:
                log.exception("could not forget ingest job %s", j.job_id)
