"""Background ingest jobs (POST /v1/jobs/ingest, GET /v1/jobs…) through real HTTP against `qa serve`: a result per
file, whatever happens to the uploading client, and OCR progress of a scan."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.conftest import SAMPLES
from tests.support.documents import scanned_page_png

pytestmark = pytest.mark.slow
NEW_REPORT = "某某区审计测试中心2023年度部门整体支出绩效评价报告\n一、存在的问题\n1、资产台账更新不及时。\n二、改进措施\n1、按季度核对资产台账。\n"


def docs(api: str, **params: Any) -> Any:
    r = httpx.get(f"{api}/v1/documents", params=params, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def wait_for(api: str, job_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job = httpx.get(f"{api}/v1/jobs/{job_id}", timeout=30).json()
        if job["status"] in ("done", "interrupted") or time.monotonic() > deadline:
            return job
        time.sleep(0.3)


def test_ingest_job_runs_in_the_background_with_a_result_per_file(api: str) -> None:
    files = [
        ("files", ("审计测试中心.txt", NEW_REPORT.encode())),
        ("files", ("坏文件.pdf", b"not a pdf at all")),
        ("files", ("001_5adf402d10fbcc74.txt", (SAMPLES / "001_5adf402d10fbcc74.txt").read_bytes())),
        ("files", ("副本.txt", (SAMPLES / "001_5adf402d10fbcc74.txt").read_bytes())),  # stored content, another name
    ]
    with httpx.Client(timeout=60) as client:  # the uploading client goes away at once, as a closed tab does
        r = client.post(f"{api}/v1/jobs/ingest", files=files)
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["total"] == 4 and [f["name"] for f in job["files"]] == [
        "审计测试中心.txt",
        "坏文件.pdf",
        "001_5adf402d10fbcc74.txt",
        "副本.txt",
    ]
    assert job["status"] in ("queued", "running") or job["done"] == 4
    job = wait_for(api, job["job_id"])
    assert job["status"] == "done" and job["done"] == 4, job
    new, bad, same, copy = job["files"]
    assert new["status"] == "new" and new["doc_id"] and new["unit"] == "某某区审计测试中心" and new["n_chunks"] >= 1
    assert bad["status"] == "refused" and bad["reason"] and not bad["reason"].isascii() and not bad["doc_id"]
    assert same["status"] == "unchanged"
    # The library stores nothing for a duplicate and names the stored file it repeats (qa.library.Library.add).
    assert (
        copy["status"] == "duplicate"
        and copy["doc_id"] == same["doc_id"]
        and copy["extra"]["duplicate_of"] == "001_5adf402d10fbcc74.txt"
    )
    assert new["extra"] == {"ocr_pages": 0, "ocr_seconds": 0.0} and new["ocr_total"] == 0
    assert job["counts"] == {"new": 1, "refused": 1, "unchanged": 1, "duplicate": 1}
    try:
        assert docs(api, q="审计测试中心")["total"] == 1
        listed = httpx.get(f"{api}/v1/jobs").json()["items"]
        assert listed[0]["job_id"] == job["job_id"] and listed[0]["counts"] == job["counts"]
    finally:
        assert httpx.delete(f"{api}/v1/documents/{new['doc_id']}").status_code == 200
    assert len(docs(api)) == 5
    missing = httpx.get(f"{api}/v1/jobs/0123456789abcdef")
    assert missing.status_code == 404 and "导入任务" in missing.json()["detail"]


def test_ingest_job_reports_ocr_pages_of_a_scan(api: str) -> None:
    """A scan in a job: the file's OCR progress (ocr_done/ocr_total, updated per page while it runs, which the
    console shows) ends at every page read, and the result counts them as the upload response does."""
    r = httpx.post(f"{api}/v1/jobs/ingest", files=[("files", ("封面扫描.png", scanned_page_png()))], timeout=60)
    assert r.status_code == 202, r.text
    job = wait_for(api, r.json()["job_id"], timeout=300)
    (scan,) = job["files"]
    try:
        assert job["status"] == "done" and scan["status"] == "new", job
        assert scan["ocr_done"] == scan["ocr_total"] == 1
        assert scan["extra"]["ocr_pages"] == 1 and scan["extra"]["ocr_seconds"] > 0
    finally:
        assert httpx.delete(f"{api}/v1/documents/{scan['doc_id']}").status_code == 200
