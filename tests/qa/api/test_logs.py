"""The access log (qa.api.logs) of a real `qa serve` with keys: INFO lines are written, and carry neither document
text nor keys."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN_KEY, READER_KEY

pytestmark = pytest.mark.slow
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
READER = {"Authorization": f"Bearer {READER_KEY}"}
SECRET_SENTENCE = "观测测试专用句子：资产台账长期未更新。"
REPORT = f"某某县观测测试中心2021年度部门整体支出绩效自评报告\n一、存在的问题\n1、{SECRET_SENTENCE}\n"


def _upload(base: str, name: str, data: bytes) -> httpx.Response:
    return httpx.post(f"{base}/v1/documents", files={"file": (name, data)}, headers=ADMIN, timeout=120)


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
