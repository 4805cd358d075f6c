"""The access log (qa.api.logs): through a real `qa serve` with keys, INFO lines are written and carry neither
document text nor keys; in-process, a line is one JSON object, the request id is echoed, the query string left out."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from qa.api.logs import JsonFormatter, request_id
from tests.conftest import ADMIN_KEY, READER_KEY

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
READER = {"Authorization": f"Bearer {READER_KEY}"}
SECRET_SENTENCE = "观测测试专用句子：资产台账长期未更新。"
REPORT = f"某某县观测测试中心2021年度部门整体支出绩效自评报告\n一、存在的问题\n1、{SECRET_SENTENCE}\n"


def _upload(base: str, name: str, data: bytes) -> httpx.Response:
    return httpx.post(f"{base}/v1/documents", files={"file": (name, data)}, headers=ADMIN, timeout=120)


@pytest.mark.slow
def test_info_log_has_no_document_text_and_no_keys(keyed_api: tuple[str, Path]) -> None:
    base, data = keyed_api
    _upload(base, "日志.txt", REPORT.replace("观测", "日志").encode())
    r = httpx.post(f"{base}/v1/ask", json={"question": f"哪些单位提到{SECRET_SENTENCE}"}, headers=READER, timeout=120)
    assert r.status_code == 200
    assert any("资产台账长期未更新" in c["text"] for c in r.json()["citations"])  # the text was there to leak
    log = "".join(p.read_text(encoding="utf-8") for p in data.glob("server-*.log"))
    assert '"msg": "request"' in log and '"level": "INFO"' in log  # INFO lines are being written
    assert "资产台账长期未更新" not in log
    assert ADMIN_KEY not in log and READER_KEY not in log
    doc_id = next(
        d["doc_id"] for d in httpx.get(f"{base}/v1/documents", headers=READER).json() if d["source"] == "日志.txt"
    )
    assert httpx.delete(f"{base}/v1/documents/{doc_id}", headers=ADMIN).status_code == 200


# ---- in-process -----------------------------------------------------------------------------------------


def test_a_log_line_is_one_json_object_with_its_fields() -> None:
    record = logging.LogRecord("qa.access", logging.INFO, "x.py", 1, "request %s", ("a",), None)
    record.created = 1700000000.12345
    record.fields = {"status": 200, "path": "/v1/ask", "单位": "某局"}
    line = JsonFormatter().format(record)
    assert json.loads(line) == {
        "ts": 1700000000.123,
        "level": "INFO",
        "logger": "qa.access",
        "msg": "request a",
        "status": 200,
        "path": "/v1/ask",
        "单位": "某局",
    }
    assert "某局" in line  # Chinese as it is, not escaped


def test_the_access_line_has_the_path_but_never_the_query_or_the_body() -> None:
    app = FastAPI()
    app.middleware("http")(request_id)

    @app.post("/v1/ask")
    def ask(body: dict[str, str]) -> dict[str, str]:
        return {}

    lines: list[dict[str, object]] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(json.loads(JsonFormatter().format(record)))

    keep, access = Keep(), logging.getLogger("qa.access")
    level = access.level
    access.addHandler(keep)
    access.setLevel(logging.INFO)
    try:
        r = TestClient(app).post("/v1/ask?q=机密", json={"question": "机密问题"}, headers={"X-Request-ID": "r-1"})
    finally:
        access.removeHandler(keep)
        access.setLevel(level)
    assert r.headers["x-request-id"] == "r-1"
    (line,) = lines
    assert {k: line[k] for k in ("msg", "request_id", "method", "path", "status")} == {
        "msg": "request",
        "request_id": "r-1",
        "method": "POST",
        "path": "/v1/ask",
        "status": 200,
    }
    assert "机密" not in json.dumps(line, ensure_ascii=False) and isinstance(line["ms"], float)
