"""/v1/documents through real HTTP against `qa serve` with the bundled samples: the catalogue (a plain list, or a
filtered, sorted page as the console asks for it), a document's text, chunks, heading tree and findings, uploads
(new, unchanged, refused with the store unchanged, scans read by OCR, table rows with their cell positions) and
deletes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import SAMPLES
from tests.support.api import ask
from tests.support.documents import docx_bytes, scanned_page_png
from tests.support.hostile_files import Hostile, hostile_files

pytestmark = pytest.mark.slow
HESHAN = "益阳市赫山区投资促进服务中心"
U004 = "湖南省大祥工业集中区管理委员会"


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


def test_documents_list_get_upload_delete(api: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    docs = httpx.get(f"{api}/v1/documents").json()
    assert len(docs) == 5 and {d["unit"] for d in docs} >= {HESHAN, U004}
    assert httpx.get(f"{api}/v1/documents/ffffffffffffffff").status_code == 404

    text = (
        (SAMPLES / "004_30f3d27d840c4c9e.txt")
        .read_text(encoding="utf-8")
        .replace("湖南省大祥工业集中区管理委员会", "湖南省测试工业园管理委员会")
    )
    files = {"file": ("测试上传.txt", text.encode("gb18030"), "text/plain")}
    up = httpx.post(f"{api}/v1/documents", files=files, timeout=120)
    assert up.status_code == 201, up.text
    new = up.json()
    assert new["outcome"] == "new" and new["unit"] == "湖南省测试工业园管理委员会"
    again = httpx.post(f"{api}/v1/documents", files=files, timeout=120).json()
    assert again["outcome"] == "unchanged"
    out = ask(api, "哪些单位提到预算编制不够细化？")
    assert "湖南省测试工业园管理委员会" in {u["unit"] for u in out["units"]}

    assert httpx.delete(f"{api}/v1/documents/{new['doc_id']}").status_code == 200
    assert httpx.delete(f"{api}/v1/documents/{new['doc_id']}").status_code == 404
    assert len(httpx.get(f"{api}/v1/documents").json()) == 5
    out = ask(api, "哪些单位提到预算编制不够细化？")
    assert "湖南省测试工业园管理委员会" not in {u["unit"] for u in out["units"]}


@pytest.mark.parametrize(
    ("name", "content", "status"),
    [
        ("表格.xlsx", b"PK\x03\x04not really", 415),
        ("report.pdf", b"%PDF-1.4 broken", 422),
        ("empty.txt", b"", 422),
        ("binary.txt", bytes(range(256)) * 4, 422),
        ("../../etc/passwd.docx", b"not a zip", 415),
    ],
)
def test_bad_uploads_are_refused_and_store_unchanged(api: str, name: str, content: bytes, status: int) -> None:
    before = httpx.get(f"{api}/v1/documents").json()
    r = httpx.post(f"{api}/v1/documents", files={"file": (name, content)}, timeout=60)
    assert r.status_code in (status, 415, 422), r.text
    assert not r.json()["detail"].isascii()
    assert httpx.get(f"{api}/v1/documents").json() == before


@pytest.mark.parametrize("hostile", hostile_files(), ids=lambda h: h.name)
def test_hostile_scans_and_spreadsheets_are_refused_and_store_unchanged(api: str, hostile: Hostile) -> None:
    before = httpx.get(f"{api}/v1/documents").json()
    r = httpx.post(f"{api}/v1/documents", files={"file": (hostile.name, hostile.data)}, timeout=60)
    assert r.status_code == hostile.status, r.text
    assert r.json()["detail"].startswith(f"{hostile.name}: ") and hostile.reason in r.json()["detail"]
    assert httpx.get(f"{api}/v1/documents").json() == before


def test_upload_reports_ocr_and_table_rows_carry_their_position(api: str) -> None:
    """A scanned page (PNG) is read by OCR: the response says how many pages and how long. A table row is its
    own citation, with where its cells are (issue #20)."""
    scan = httpx.post(f"{api}/v1/documents", files={"file": ("封面扫描.png", scanned_page_png())}, timeout=120)
    assert scan.status_code == 201, scan.text
    assert scan.json()["ocr_pages"] == 1 and scan.json()["ocr_seconds"] > 0
    table = httpx.post(f"{api}/v1/documents", files={"file": ("附表.docx", docx_bytes())}, timeout=120)
    assert table.status_code == 201 and table.json()["ocr_pages"] == 0
    try:
        # The shared server holds other tests' documents too (some with 楼宇经济 rows), and what they are depends on
        # the tests that ran before: look among as many hits as a search returns (the top 20 missed it once).
        hits = httpx.post(f"{api}/v1/search", json={"query": "楼宇经济执行数", "top_k": 100}).json()["hits"]
        row = next(
            h for h in hits if h["doc_id"] == table.json()["doc_id"] and h["text"] == "楼宇经济 · 预算数 30 · 执行数 28"
        )
        assert row["position"] == {"page": None, "table": 0, "table_row": 1, "col_start": 0, "col_end": 3, "bbox": None}
        assert all(h["position"] is None for h in hits if " · " not in h["text"])
    finally:
        for up in (scan, table):
            assert httpx.delete(f"{api}/v1/documents/{up.json()['doc_id']}").status_code == 200
