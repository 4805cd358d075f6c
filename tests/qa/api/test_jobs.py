"""Ingest jobs (qa.api.jobs.JobBoard) in-process, over a library and a store stand-in: a worker thread ingests the
spooled files one by one whatever each one's fate (new, refused, a defect), reports OCR progress, records every change
with the store so another replica can answer for the job, and tells a job whose process died. Through real HTTP:
tests/qa/api/routes/test_jobs.py."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from ingest.document import UnsupportedFormatError
from ingest.schema import DocFields, DocRecord
from qa.api.jobs import FileStatus, Job, JobBoard
from qa.library import Added
from qa.settings import Settings


class Meta:
    """The store's meta collection, in memory (what JobBoard reads and writes of it)."""

    def __init__(self) -> None:
        self.rows: dict[str, tuple[str, dict[str, Any]]] = {}

    def upsert(self, ids: list[str], embeddings: object, documents: list[str], metadatas: list[dict[str, Any]]) -> None:
        self.rows.update({i: (d, m) for i, d, m in zip(ids, documents, metadatas)})

    def get(
        self, ids: list[str] | None = None, where: dict[str, Any] | None = None, include: object = ()
    ) -> dict[str, list[Any]]:
        found = (
            [i for i in ids if i in self.rows]
            if ids is not None
            else [i for i, (_, m) in self.rows.items() if all(m.get(k) == v for k, v in (where or {}).items())]
        )
        return {
            "ids": found,
            "documents": [self.rows[i][0] for i in found],
            "metadatas": [self.rows[i][1] for i in found],
        }

    def delete(self, ids: list[str]) -> None:
        for i in ids:
            self.rows.pop(i, None)


class Library:
    """Refuses b"refuse", fails on b"boom" (a defect), else stores the file as a scan of two pages."""

    def add(self, data: bytes, source: str, overrides: dict[str, str], on_page: Any = None) -> Added:
        if data == b"refuse":
            raise UnsupportedFormatError(source, "不是文本文件（疑似二进制内容）")
        if data == b"boom":
            raise RuntimeError("a defect")
        for done in (0, 1, 2):
            on_page(done, 2)
        doc = DocFields("d" * 16, source, "标题", "某某中心", "", 2021, "其他")
        return Added("new", DocRecord(doc, "pdf", 3, 0.0), ocr_pages=2, ocr_seconds=1.234)


@pytest.fixture()
def services(tmp_path: Path) -> Iterator[SimpleNamespace]:
    found = SimpleNamespace(
        settings=Settings(data_dir=tmp_path),
        library=Library(),
        retriever=SimpleNamespace(store=SimpleNamespace(meta=Meta())),
        stopping=threading.Event(),
    )
    yield found
    found.stopping.set()  # the worker thread ends


def finished(board: JobBoard, job_id: str) -> Job:
    deadline = time.monotonic() + 30
    while (job := board.get(job_id)) is not None and job.status != "done" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert job is not None
    return job


def test_a_job_runs_every_file_and_records_each_result(services: SimpleNamespace) -> None:
    board = JobBoard(services)  # type: ignore[arg-type]
    job_id, folder = board.folder()
    for i, data in enumerate((b"%PDF scan", b"refuse", b"boom")):
        board.spooled(folder, i).write_bytes(data)
    files = [
        FileStatus("扫描.pdf", 9),
        FileStatus("二进制.txt", 6),
        FileStatus("出错.txt", 4),
        FileStatus("太大.pdf", 10**9, status="refused", reason="上传文件超过 50 MB 上限"),  # refused before spooling
    ]
    submitted = board.submit(job_id, files)
    assert submitted.status == "queued" and submitted.host == socket.gethostname() and submitted.pid == os.getpid()
    job = finished(board, job_id)
    scan, binary, defect, big = job.files
    assert (scan.status, scan.doc_id, scan.unit, scan.n_chunks) == ("new", "d" * 16, "某某中心", 3)
    assert (scan.ocr_done, scan.ocr_total, scan.extra) == (2, 2, {"ocr_pages": 2, "ocr_seconds": 1.23})
    assert (binary.status, binary.reason) == ("refused", "不是文本文件（疑似二进制内容）")
    assert (defect.status, defect.reason) == ("refused", "服务器内部错误（详见服务日志）")  # the worker carries on
    assert (big.status, big.reason) == ("refused", "上传文件超过 50 MB 上限")
    summary = job.as_dict()
    assert (summary["counts"], summary["done"], summary["total"]) == ({"new": 1, "refused": 3}, 4, 4)
    assert job.finished_at is not None and not folder.exists()  # the spooled files are gone

    # Another replica of the same store answers for the job, and lists it.
    other = JobBoard(
        SimpleNamespace(**{**vars(services), "settings": Settings(data_dir=services.settings.data_dir / "other")})
    )  # type: ignore[arg-type]
    assert other.get(job_id) == job and [j.job_id for j in other.recent()] == [job_id]
    assert board.get("0123456789abcdef") is None


def test_replicas_on_one_data_dir_keep_each_others_spooled_files(services: SimpleNamespace) -> None:
    """A replica starting on a shared data dir removes the spool folders of processes that ended (and of the layout
    before per-process folders), never the files another live replica is about to ingest."""
    jobs = services.settings.data_dir / "jobs"
    dead = subprocess.Popen(["true"])
    dead.wait()
    ended = jobs / f"{socket.gethostname()}-{dead.pid}" / "job1"
    legacy = jobs / "0123456789abcdef"
    alive = jobs / f"{socket.gethostname()}-{os.getppid()}" / "job2"  # a live process: this test's parent
    elsewhere = jobs / "another-host-4242" / "job3"  # another host's process: cannot be checked, kept while fresh
    for folder in (ended, legacy, alive, elsewhere):
        folder.mkdir(parents=True)
        (folder / "00000").write_bytes(b"data")
    board = JobBoard(services)  # type: ignore[arg-type]
    job_id, folder = board.folder()
    board.spooled(folder, 0).write_bytes(b"%PDF scan")
    assert folder.parent == jobs / f"{socket.gethostname()}-{os.getpid()}"
    assert not ended.parent.exists() and not legacy.exists()
    assert (alive / "00000").exists() and (elsewhere / "00000").exists()
    JobBoard(services)  # type: ignore[arg-type]  # another replica (here: the same process) starting
    assert board.spooled(folder, 0).exists()
    assert finished(board, board.submit(job_id, [FileStatus("扫描.pdf", 9)]).job_id).files[0].status == "new"


def test_a_job_whose_process_died_is_interrupted(services: SimpleNamespace, monkeypatch: pytest.MonkeyPatch) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    services.stopping.set()  # the worker stops at once: the job stays queued, as a killed process leaves it
    board = JobBoard(services)  # type: ignore[arg-type]
    job_id, _ = board.folder()
    with monkeypatch.context() as m:
        m.setattr("qa.api.jobs.os.getpid", lambda: dead.pid)  # submitted by the process that then died
        board.submit(job_id, [FileStatus("a.txt", 1)])
    assert board.get(job_id).status == "queued"  # type: ignore[union-attr]  # this replica's own view
    other = JobBoard(
        SimpleNamespace(**{**vars(services), "settings": Settings(data_dir=services.settings.data_dir / "other")})
    )  # type: ignore[arg-type]
    assert other.get(job_id).status == "interrupted"  # type: ignore[union-attr]
    now = time.time()
    assert not Job("j2", now, [], "running", now, host="another-host", pid=dead.pid).stale()  # cannot tell: live
    assert Job("j3", now, [], "running", now - 7200, host="another-host", pid=1).stale()  # no progress for an hour
    assert not Job("j4", now, [], "done", now - 7200, host=socket.gethostname(), pid=dead.pid).stale()
    assert not Job("j5", now, [], "running", now, host=socket.gethostname(), pid=os.getpid()).stale()


def test_a_job_reads_back_from_its_dict_and_ignores_unknown_fields() -> None:
    job = Job("j", 1.0, [FileStatus("a.txt", 3, status="new", extra={"ocr_pages": 0})], "done", 2.0, 3.0, "h", 7)
    stored = job.as_dict() | {"from_the_future": 1}
    stored["files"] = [f | {"also_new": True} for f in stored["files"]]
    assert Job.from_dict(stored) == job
