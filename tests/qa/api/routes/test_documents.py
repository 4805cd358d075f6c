"""What the library console (/admin) uses, through real HTTP against `qa serve` with the bundled samples: the
paged catalogue, a document's chunks and heading tree, its findings, findings export, and background ingest
jobs with per-file results. Everything here is public API: scripts can do what the console does."""

from __future__ import annotations

import csv
import io
import re
import time
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook

from ingest.readers import SUPPORTED_SUFFIXES
from ingest.schema import DocFields
from qa.findings import CategoryLabel, Finding, Span
from qa.findings.export import COLUMNS, to_csv, to_xlsx
from tests.conftest import SAMPLES
from tests.support.documents import scanned_page_png

pytestmark = pytest.mark.slow
HESHAN = "益阳市赫山区投资促进服务中心"
NEW_REPORT = "某某区审计测试中心2023年度部门整体支出绩效评价报告\n一、存在的问题\n1、资产台账更新不及时。\n二、改进措施\n1、按季度核对资产台账。\n"


def docs(api: str, **params: Any) -> Any:
    r = httpx.get(f"{api}/v1/documents", params=params, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def test_catalogue_is_a_plain_list_without_parameters_and_a_page_with_them(api: str) -> None:
    plain = docs(api)
    assert isinstance(plain, list) and len(plain) == 5
    assert all({"n_findings", "ingested_at", "n_chunks"} <= set(d) for d in plain)
    page = docs(api, limit=2, sort="unit", order="asc")
    assert page["total"] == 5 and page["offset"] == 0 and page["limit"] == 2
    units = [d["unit"] for d in docs(api, limit=50, sort="unit", order="asc")["items"]]
    assert units[:4] == sorted(u for u in units if u) and units[-1] == ""  # the report without a unit sorts last
    assert [d["unit"] for d in page["items"]] == units[:2]
    assert (
        docs(api, offset=2, limit=2, sort="unit", order="asc")["items"]
        == docs(api, limit=50, sort="unit", order="asc")["items"][2:4]
    )
    assert [d["region"] for d in docs(api, year=2022)["items"]] == ["桃江县"]
    assert [d["unit"] for d in docs(api, q="赫山")["items"]] == [HESHAN]
    assert [d["source"] for d in docs(api, missing="unit")["items"]] == ["000_b17f134b7a6d8e07.txt"]
    assert docs(api, kind="部门整体支出", region="益阳市")["total"] == 1
    bad = httpx.get(f"{api}/v1/documents", params={"sort": "size", "limit": 0})
    assert bad.status_code == 422 and "排序字段" in bad.json()["detail"] and "limit" in bad.json()["detail"]


def test_document_chunks_sections_and_findings(api: str) -> None:
    record = docs(api, q="赫山")["items"][0]
    doc_id = record["doc_id"]
    text = httpx.get(f"{api}/v1/documents/{doc_id}").json()["text"]
    chunks = httpx.get(f"{api}/v1/documents/{doc_id}/chunks").json()
    assert chunks["total"] == record["n_chunks"] == len(chunks["items"])
    assert [c["chunk_index"] for c in chunks["items"]] == list(range(record["n_chunks"]))
    assert all(text[c["char_start"] : c["char_end"]] == c["text"] for c in chunks["items"])
    assert (
        httpx.get(f"{api}/v1/documents/{doc_id}/chunks", params={"offset": 3, "limit": 2}).json()["items"]
        == chunks["items"][3:5]
    )

    tree = httpx.get(f"{api}/v1/documents/{doc_id}/sections").json()["sections"]
    problems = next(s for s in tree if s["title"] == "七、存在的问题及原因分析")
    assert problems["role"] == "problems" and problems["depth"] == 0 and problems["level"] == 1
    assert text[problems["char_start"] :].startswith("七、存在的问题及原因分析")
    measures = [s for s in tree if s["path"][0] == "八、下一步改进措施"]
    assert [s["depth"] for s in measures] == [0, 1, 1, 1] and all(s["role"] == "measures" for s in measures)
    assert measures[0]["char_end"] == measures[-1]["char_end"]  # a section spans its subsections
    labelled = {c["section"] for c in chunks["items"]}
    assert all(" > ".join(s["path"]) in labelled for s in tree if s["chunks"])

    found = httpx.get(f"{api}/v1/findings", params={"doc_id": doc_id, "limit": 200}).json()
    assert found["total"] == record["n_findings"] > 0 and {f["doc_id"] for f in found["items"]} == {doc_id}
    assert any("预算编制不够细化" in [c["name"] for c in f["categories"]] for f in found["items"])
    assert all(text[f["char_start"] : f["char_end"]] == f["text"] for f in found["items"])
    for path in (f"/v1/documents/{'0' * 16}/sections", f"/v1/documents/{'0' * 16}/chunks"):
        r = httpx.get(f"{api}{path}")
        assert r.status_code == 404 and "没有 doc_id" in r.json()["detail"]


def test_findings_export_csv_and_xlsx_match_the_list(api: str) -> None:
    listed = httpx.get(f"{api}/v1/findings", params={"role": "problem", "limit": 200}).json()
    r = httpx.get(f"{api}/v1/findings/export", params={"format": "csv", "role": "problem"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"].startswith('attachment; filename="findings.csv"')
    assert r.content.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel reads the Chinese as UTF-8
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert tuple(rows[0]) == COLUMNS and len(rows) - 1 == listed["total"]
    by_text = {row[6]: row for row in rows[1:]}
    for f in listed["items"]:
        row = by_text[f["text"]]
        assert row[4] == "问题" and row[7] == f["source"] and row[8] == f["section"]
        assert (int(row[9]), int(row[10])) == (f["char_start"], f["char_end"]) and row[5] == "、".join(
            c["name"] for c in f["categories"]
        )

    x = httpx.get(f"{api}/v1/findings/export", params={"format": "xlsx", "unit": "赫山"})
    assert x.status_code == 200 and x.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(x.content)).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0] == COLUMNS and {v[0] for v in values[1:]} == {HESHAN}
    assert len(values) - 1 == httpx.get(f"{api}/v1/findings", params={"unit": "赫山"}).json()["total"]
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == f"A1:L{len(values)}"
    bad = httpx.get(f"{api}/v1/findings/export", params={"format": "pdf"})
    assert bad.status_code == 422 and bad.json()["detail"].startswith("格式：取值无效")


def test_export_cells_never_become_formulas() -> None:
    sneaky = '=HYPERLINK("http://x","点击")'
    doc = DocFields("d", "=a.txt", "", "+单位", "", 2021, "其他")
    f = Finding(
        "d-f000",
        doc,
        "problem",
        "-章节",
        "",
        sneaky,
        0,
        len(sneaky),
        (Span(sneaky, 0, len(sneaky)),),
        (CategoryLabel("@分类", 0.9, Span(sneaky, 0, 5)),),
        0,
    )
    row = next(csv.reader(io.StringIO(to_csv([f]).decode("utf-8-sig").split("\r\n", 1)[1])))
    assert (
        row[0] == "'+单位"
        and row[5] == "'@分类"
        and row[6] == "'" + sneaky
        and row[7] == "'=a.txt"
        and row[8] == "'-章节"
    )
    cells = next(iter(load_workbook(io.BytesIO(to_xlsx([f]))).active.iter_rows(min_row=2)))
    assert cells[6].value == sneaky and cells[6].data_type == "s"


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


def test_ready_reports_the_store_mode_and_the_console_is_served(api: str) -> None:
    assert httpx.get(f"{api}/readyz").json()["store"] == "embedded"
    page = httpx.get(f"{api}/admin")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert (
        "frame-ancestors 'none'" in page.headers["content-security-policy"]
        and page.headers["x-frame-options"] == "DENY"
    )
    # The file picker offers exactly what ingest reads (one list: ingest.readers).
    accept = re.search(r'accept="([^"]+)"', page.text)
    assert accept and set(accept.group(1).split(",")) == SUPPORTED_SUFFIXES and "@@" not in page.text
    for name, kind in (
        ("admin.js", "text/javascript"),
        ("admin.css", "text/css"),
        ("source-view.js", "text/javascript"),
    ):
        asset = httpx.get(f"{api}/admin/{name}")
        assert asset.status_code == 200 and asset.headers["content-type"].startswith(kind) and asset.headers["etag"]
        assert "http://" not in asset.text and "https://" not in asset.text  # nothing from elsewhere
    # One copy of the viewer: the widget carries source-view.js inlined, not a second version of it.
    widget, viewer = httpx.get(f"{api}/widget.js").text, httpx.get(f"{api}/admin/source-view.js").text
    assert viewer.strip() in widget and "/* @include" not in widget
    schema = httpx.get(f"{api}/openapi.json").json()["paths"]
    assert {
        "/v1/jobs/ingest",
        "/v1/jobs/{job_id}",
        "/v1/documents/{doc_id}/sections",
        "/v1/documents/{doc_id}/chunks",
        "/v1/findings/export",
        "/v1/models",
        "/v1/whoami",
        "/v1/widget/session",
    } <= set(schema)
