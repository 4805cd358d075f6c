"""Every endpoint through real HTTP against `qa serve` on 127.0.0.1 with the real model and Chroma."""

from __future__ import annotations

import json
import re
import time

import httpx
import pytest

from tests.conftest import SAMPLES
from tests.support.documents import docx_bytes, scanned_page_png
from tests.support.hostile_files import Hostile, hostile_files

pytestmark = pytest.mark.slow

U001 = "益阳市赫山区投资促进服务中心"
U004 = "湖南省大祥工业集中区管理委员会"


def ask(api: str, question: str, **body: object) -> dict:  # type: ignore[type-arg]
    r = httpx.post(f"{api}/v1/ask", json={"question": question, **body}, timeout=120)
    assert r.status_code == 200, r.text
    return r.json()


def assert_markers_match(out: dict) -> None:  # type: ignore[type-arg]
    ids = {c["id"] for c in out["citations"]}
    markers = {int(m) for m in re.findall(r"\[(\d+)\]", out["answer"])}
    assert markers and markers <= ids


def test_health_ready_and_docs(api: str) -> None:
    assert httpx.get(f"{api}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{api}/readyz").json()
    assert ready["status"] == "ready" and ready["documents"] == 5 and ready["chunks"] > 0
    assert ready["fusion"]["source"] == "settings" and ready["fusion"]["method"] == "convex"  # test servers: tuning off
    schema = httpx.get(f"{api}/openapi.json").json()
    assert {
        "/v1/ask",
        "/v1/ask/stream",
        "/v1/search",
        "/v1/chat/completions",
        "/v1/documents",
        "/v1/documents/{doc_id}",
    } <= set(schema["paths"])
    assert "哪些单位提到预算编制不够细化？" in json.dumps(schema, ensure_ascii=False)
    assert httpx.get(f"{api}/docs").status_code == 200


def test_headline_aggregate_lists_exactly_the_two_units_each_cited(api: str) -> None:
    out = ask(api, "哪些单位提到预算编制不够细化？")
    assert out["kind"] == "aggregate"
    assert [u["unit"] for u in out["units"]] == [U001, U004] or {u["unit"] for u in out["units"]} == {U001, U004}
    assert len(out["units"]) == 2
    by_id = {c["id"]: c for c in out["citations"]}
    for unit in out["units"]:
        assert unit["citation_ids"]
        cited = [by_id[i] for i in unit["citation_ids"]]
        assert all(c["unit"] == unit["unit"] for c in cited)
        assert any("预算编制" in c["text"] and "细化" in c["text"] for c in cited)
    # 芙蓉区商务局 wrote 绩效目标不够细化: a near miss, never in the list.
    assert "芙蓉区商务局" not in {u["unit"] for u in out["units"]}
    assert_markers_match(out)


def test_citations_point_at_the_document_text(api: str) -> None:
    out = ask(api, "哪些单位项目资金未实行专账核算？")
    assert [u["source"] for u in out["units"]] == ["000_b17f134b7a6d8e07.txt"]  # the report names no unit
    for c in out["citations"]:
        doc = httpx.get(f"{api}/v1/documents/{c['doc_id']}").json()
        assert doc["text"][c["char_start"] : c["char_end"]] == c["text"]


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("赫山区投资促进服务中心2021年基本支出是多少？", "388.07万元"),
        ("桃江县重点项目建设事务中心的项目资金金额是多少？", "17.99万元"),
        ("大祥工业集中区2021年实缴税金是多少？", "4.92亿元"),
        ("益阳市赫山区投资促进服务中心编制人数多少人？", "13人"),
    ],
)
def test_lookups_return_the_number_with_its_unit(api: str, question: str, expected: str) -> None:
    out = ask(api, question)
    assert out["kind"] == "lookup"
    assert expected in out["answer"]
    assert any(expected in c["text"] for c in out["citations"])
    assert_markers_match(out)


@pytest.mark.parametrize(
    "question", ["长沙市财政局2021年三公经费是多少？", "2019年赫山区投资促进服务中心的基本支出是多少？"]
)
def test_unanswerable_is_declined(api: str, question: str) -> None:
    out = ask(api, question)
    assert out["kind"] == "unanswerable"
    assert out["answer"].startswith("未在已收录报告中找到")


def test_aggregate_nobody_says_returns_empty_list(api: str) -> None:
    out = ask(api, "是否有单位提到审计发现的问题？")
    assert out["kind"] == "aggregate" and out["units"] == []
    assert out["answer"].startswith("未在已收录报告中找到")


def test_followups_resolve_from_history(api: str) -> None:
    first = ask(api, "哪些单位提到预算编制不够细化？")
    history = [
        {"role": "user", "content": "哪些单位提到预算编制不够细化？"},
        {"role": "assistant", "content": first["answer"]},
    ]
    measures = ask(api, "它们分别提出了什么改进措施？", history=history)
    assert U001 in measures["resolved_question"] and U004 in measures["resolved_question"]
    assert {u["unit"] for u in measures["units"]} == {U001, U004}
    assert "细化预算管理" in measures["answer"]  # 004's first measure
    later = ask(api, "那2022年的呢？", history=history)
    assert later["resolved_question"].startswith("2022年") and later["filters"]["year"] == 2022
    assert later["units"] == []


def test_explicit_filters_win_and_apply(api: str) -> None:
    out = ask(api, "哪些单位提到预算编制不够细化？", filters={"region": "益阳市"})
    assert [u["unit"] for u in out["units"]] == [U001]
    out = ask(api, "2022年哪些单位提到预算编制不够细化？", filters={"year": 2021})
    assert out["filters"]["year"] == 2021 and {u["unit"] for u in out["units"]} == {U001, U004}


def test_stream_event_order(api: str) -> None:
    with httpx.stream(
        "POST", f"{api}/v1/ask/stream", json={"question": "哪些单位提到预算编制不够细化？"}, timeout=120
    ) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        body = "".join(r.iter_text())
    events = [(m.group(1), json.loads(m.group(2))) for m in re.finditer(r"event: (\w+)\ndata: (.*)\n\n", body)]
    names = [e for e, _ in events]
    assert names[0] == "citations" and names[-1] == "done" and set(names[1:-1]) == {"delta"}
    assert events[0][1]["citations"] and events[0][1]["kind"] == "aggregate"
    assert "".join(d["text"] for e, d in events if e == "delta") == events[-1][1]["answer"]


def test_search_endpoint(api: str) -> None:
    r = httpx.post(f"{api}/v1/search", json={"query": "项目资金未实行专账核算", "top_k": 3, "filters": {"year": 2021}})
    hits = r.json()["hits"]
    assert r.status_code == 200 and 0 < len(hits) <= 3
    assert set(hits[0]) >= {
        "id",
        "doc_id",
        "source",
        "unit",
        "year",
        "title",
        "section",
        "text",
        "char_start",
        "char_end",
        "score",
    }
    assert {h["year"] for h in hits} == {2021}


def test_chat_completions_stream_and_non_stream(api: str) -> None:
    messages = [{"role": "user", "content": "哪些单位提到预算编制不够细化？"}]
    r = httpx.post(f"{api}/v1/chat/completions", json={"model": "jixiao-qa", "messages": messages}, timeout=120)
    body = r.json()
    assert r.status_code == 200 and body["object"] == "chat.completion"
    assert U004 in body["choices"][0]["message"]["content"] and body["references"]
    with httpx.stream(
        "POST", f"{api}/v1/chat/completions", json={"messages": messages, "stream": True}, timeout=120
    ) as s:
        lines = [line for line in s.iter_lines() if line.startswith("data: ")]
    assert lines[-1] == "data: [DONE]"
    chunks = [json.loads(line[6:]) for line in lines[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert (
        "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == body["choices"][0]["message"]["content"]
    )
    assert chunks[-1]["references"] == body["references"]


def test_documents_list_get_upload_delete(api: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    docs = httpx.get(f"{api}/v1/documents").json()
    assert len(docs) == 5 and {d["unit"] for d in docs} >= {U001, U004}
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


@pytest.mark.parametrize(
    "payload",
    [
        {"question": ""},
        {"question": "   "},
        {"question": "问" * 2001},
        {},
        {"question": 42},
        {"question": "预算", "filters": {"colour": "red"}},
        {"question": "预算", "filters": {"report_kind": "年度报告"}},
        {"question": "预算", "filters": {"year": "二〇二一"}},
        {"question": "预算", "filters": {"region": "北京市"}},
        {"question": "预算", "top_k": 0},
        {"question": "预算", "history": [{"role": "robot", "content": "x"}]},
    ],
)
def test_bad_ask_input_is_422_in_chinese(api: str, payload: dict) -> None:  # type: ignore[type-arg]
    r = httpx.post(f"{api}/v1/ask", json=payload)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert isinstance(detail, str) and not detail.isascii()


def test_malformed_json_and_wrong_types(api: str) -> None:
    r = httpx.post(f"{api}/v1/ask", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422 and "JSON" in r.json()["detail"]
    r = httpx.post(f"{api}/v1/search", json=["a", "b"])
    assert r.status_code == 422
    r = httpx.post(f"{api}/v1/chat/completions", json={"messages": [{"role": "assistant", "content": "hi"}]})
    assert r.status_code == 422


def test_metrics_count_answers(api: str) -> None:
    ask(api, "哪些单位提到预算编制不够细化？")
    text = httpx.get(f"{api}/metrics").text
    assert 'qa_answers_total{kind="aggregate"}' in text and "qa_request_seconds_bucket" in text


def _prepared(api: str, at_least: int, timeout: float = 90) -> dict:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout
    while True:
        ready = httpx.get(f"{api}/readyz").json()
        if ready["sentences_prepared"] >= at_least or time.monotonic() > deadline:
            return ready  # type: ignore[no-any-return]
        time.sleep(0.5)


def test_background_pass_prepares_every_chunk_then_each_upload(api: str) -> None:
    """`qa serve` prepares aggregate sentences in the background (qa.sentences): all stored chunks after start,
    and an upload's chunks within seconds of it, which the next aggregate then uses."""
    ready = _prepared(api, httpx.get(f"{api}/readyz").json()["chunks"])
    assert ready["sentences_prepared"] == ready["chunks"] > 0
    text = (SAMPLES / "001_5adf402d10fbcc74.txt").read_text(encoding="utf-8").replace(U001, "益阳市测试服务中心")
    up = httpx.post(
        f"{api}/v1/documents", files={"file": ("后台准备.txt", text.encode("utf-8"), "text/plain")}, timeout=120
    )
    assert up.status_code == 201, up.text
    try:
        after = _prepared(api, ready["chunks"] + up.json()["n_chunks"])
        assert after["sentences_prepared"] == after["chunks"] == ready["chunks"] + up.json()["n_chunks"]
        assert "益阳市测试服务中心" in {u["unit"] for u in ask(api, "哪些单位提到预算编制不够细化？")["units"]}
    finally:
        assert httpx.delete(f"{api}/v1/documents/{up.json()['doc_id']}").status_code == 200


def test_upload_reports_ocr_and_table_rows_carry_their_position(api: str) -> None:
    """A scanned page (PNG) is read by OCR: the response says how many pages and how long. A table row is its
    own citation, with where its cells are (issue #20)."""
    scan = httpx.post(f"{api}/v1/documents", files={"file": ("封面扫描.png", scanned_page_png())}, timeout=120)
    assert scan.status_code == 201, scan.text
    assert scan.json()["ocr_pages"] == 1 and scan.json()["ocr_seconds"] > 0
    table = httpx.post(f"{api}/v1/documents", files={"file": ("附表.docx", docx_bytes())}, timeout=120)
    assert table.status_code == 201 and table.json()["ocr_pages"] == 0
    try:
        # The shared server holds other tests' documents too (some with 楼宇经济 rows): look among the top 20.
        hits = httpx.post(f"{api}/v1/search", json={"query": "楼宇经济执行数", "top_k": 20}).json()["hits"]
        row = next(
            h for h in hits if h["doc_id"] == table.json()["doc_id"] and h["text"] == "楼宇经济 · 预算数 30 · 执行数 28"
        )
        assert row["position"] == {"page": None, "table": 0, "table_row": 1, "col_start": 0, "col_end": 3, "bbox": None}
        assert all(h["position"] is None for h in hits if " · " not in h["text"])
    finally:
        for up in (scan, table):
            assert httpx.delete(f"{api}/v1/documents/{up.json()['doc_id']}").status_code == 200
