"""Prometheus metrics (qa.api.metrics) of a real `qa serve`: uploads refused with the right 4xx and a Chinese detail
naming the file, ingest outcomes and failures counted by reason, answers counted by kind; in-process, requests timed per route template and errors counted by status."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from qa.api.metrics import observe
from tests.conftest import ADMIN_KEY, READER_KEY
from tests.support.api import ask
from tests.support.documents import minimal_pdf, text_page, zip_bomb

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
READER = {"Authorization": f"Bearer {READER_KEY}"}
REPORT = (
    "某某县观测测试中心2021年度部门整体支出绩效自评报告\n一、存在的问题\n1、观测测试专用句子：资产台账长期未更新。\n"
)


def _metrics(base: str) -> dict[str, float]:
    text = httpx.get(f"{base}/metrics").text
    return {m.group(1): float(m.group(2)) for m in re.finditer(r"^(qa_ingest_\w+\{[^}]*\}) ([0-9.e+-]+)$", text, re.M)}


def _upload(base: str, name: str, data: bytes) -> httpx.Response:
    return httpx.post(f"{base}/v1/documents", files={"file": (name, data)}, headers=ADMIN, timeout=120)


@pytest.mark.slow
def test_uploads_are_refused_with_reasons_and_counted(keyed_api: tuple[str, Path]) -> None:
    base, _ = keyed_api
    before = _metrics(base)
    good = _upload(base, "../../etc/观测/报告.txt", REPORT.encode())
    assert good.status_code == 201, good.text
    assert good.json()["source"] == "报告.txt"  # only the name: path traversal is not even representable
    bad = {
        "炸弹.docx": (zip_bomb(), 413, "疑似压缩炸弹"),
        "伪装.txt": (minimal_pdf([text_page([(72, 100, "预算")])]), 415, "文件内容是PDF，与扩展名 .txt 不符"),
        "空白.txt": (b"   \n", 422, "文件为空"),
    }
    for name, (data, status, reason) in bad.items():
        r = _upload(base, name, data)
        assert r.status_code == status and r.headers["content-type"].startswith("application/json"), r.text
        assert r.json()["detail"].startswith(f"{name}: ") and reason in r.json()["detail"]
    after = _metrics(base)

    def delta(series: str) -> float:
        return after.get(series, 0.0) - before.get(series, 0.0)

    assert delta('qa_ingest_documents_total{outcome="new"}') == 1
    assert delta('qa_ingest_failures_total{reason="too_large"}') == 1
    assert delta('qa_ingest_failures_total{reason="unsupported"}') == 1
    assert delta('qa_ingest_failures_total{reason="invalid"}') == 1
    assert _upload(base, "报告.txt", REPORT.encode()).json()["outcome"] == "unchanged"
    assert _metrics(base)['qa_ingest_documents_total{outcome="unchanged"}'] >= 1
    # The same content under another name: named as a duplicate of the stored file, counted apart, nothing stored.
    listed = len(httpx.get(f"{base}/v1/documents", headers=READER).json())
    twin = _upload(base, "副本.txt", REPORT.encode())
    assert (
        twin.status_code == 201 and twin.json()["outcome"] == "duplicate" and twin.json()["duplicate_of"] == "报告.txt"
    ), twin.text
    assert twin.json()["doc_id"] == good.json()["doc_id"]
    assert len(httpx.get(f"{base}/v1/documents", headers=READER).json()) == listed
    assert (
        _metrics(base)['qa_ingest_documents_total{outcome="duplicate"}']
        - before.get('qa_ingest_documents_total{outcome="duplicate"}', 0.0)
        == 1
    )
    assert httpx.delete(f"{base}/v1/documents/{good.json()['doc_id']}", headers=ADMIN).status_code == 200


@pytest.mark.slow
def test_metrics_count_answers(api: str) -> None:
    ask(api, "哪些单位提到预算编制不够细化？")
    text = httpx.get(f"{api}/metrics").text
    assert 'qa_answers_total{kind="aggregate"}' in text and "qa_request_seconds_bucket" in text


# ---- in-process -----------------------------------------------------------------------------------------


def test_requests_are_timed_by_route_template_and_errors_counted_by_status() -> None:
    app = FastAPI()
    app.middleware("http")(observe)

    @app.get("/items/{item}")
    def item(item: int) -> dict[str, int]:
        return {"item": item}

    def count(name: str, labels: dict[str, str]) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    ok = {"method": "GET", "route": "/items/{item}", "status": "200"}
    bad = {"method": "GET", "route": "/items/{item}", "status": "422"}
    before = (
        count("qa_request_seconds_count", ok),
        count("qa_request_seconds_count", bad),
        count("qa_errors_total", {"status": "422"}),
    )
    client = TestClient(app)
    assert [client.get(p).status_code for p in ("/items/1", "/items/2", "/items/x")] == [200, 200, 422]
    after = (
        count("qa_request_seconds_count", ok),
        count("qa_request_seconds_count", bad),
        count("qa_errors_total", {"status": "422"}),
    )
    assert [a - b for a, b in zip(after, before)] == [2, 1, 1]  # one series per route, not per path
    assert count("qa_request_seconds_count", {"method": "GET", "route": "/items/1", "status": "200"}) == 0
