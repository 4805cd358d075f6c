"""/healthz, /readyz and the API's own documentation (/openapi.json, /docs) of a real `qa serve`."""

from __future__ import annotations

import json

import httpx
import pytest

pytestmark = pytest.mark.slow


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
