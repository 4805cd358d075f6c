"""The application (qa.api.app.create_app) in-process, before its start-up has loaded anything (no lifespan, so no
model or store): every route module is mounted, probes answer, request ids and CORS are wired, errors are Chinese.
Served for real, with the model and the store: the other modules of tests/qa/api/."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from qa.api.app import create_app
from qa.settings import Settings

ORIGIN = "http://intranet.example"


@pytest.fixture()
def client(tmp_path: Path) -> Iterator[TestClient]:
    # create_app configures the service's JSON loggers; leave them as they were for the rest of the suite.
    loggers = [logging.getLogger(n) for n in ("qa.access", "qa.api", "qa.answer")]
    saved = [(lg.handlers[:], lg.level, lg.propagate) for lg in loggers]
    try:
        yield TestClient(create_app(Settings(data_dir=tmp_path, cors_origins=ORIGIN)))  # not entered: no start-up
    finally:
        for lg, (handlers, level, propagate) in zip(loggers, saved):
            lg.handlers[:], lg.level, lg.propagate = handlers, level, propagate


def test_probes_answer_before_the_services_have_started(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.json() == {"status": "starting", "detail": "模型或向量库尚未加载"}


def test_every_route_module_is_mounted(client: TestClient) -> None:
    paths = set(client.get("/openapi.json").json()["paths"])
    assert paths == {
        "/healthz",
        "/metrics",
        "/readyz",
        "/v1/ask",
        "/v1/ask/stream",
        "/v1/chat/completions",
        "/v1/documents",
        "/v1/documents/{doc_id}",
        "/v1/documents/{doc_id}/chunks",
        "/v1/documents/{doc_id}/sections",
        "/v1/findings",
        "/v1/findings/export",
        "/v1/findings/stats",
        "/v1/jobs",
        "/v1/jobs/ingest",
        "/v1/jobs/{job_id}",
        "/v1/models",
        "/v1/models/{model_id}",
        "/v1/search",
        "/v1/whoami",
        "/v1/widget/session",
    }
    # Outside the schema: the widget, the demo page and the console.
    assert [client.get(p).status_code for p in ("/widget.js", "/widget.css", "/", "/admin")] == [200] * 4


def test_request_ids_are_echoed_only_when_safe(client: TestClient) -> None:
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"] == "abc-123"
    replaced = client.get("/healthz", headers={"X-Request-ID": "bad id!"}).headers["x-request-id"]
    assert replaced != "bad id!" and len(replaced) == 16
    assert client.get("/healthz").headers["x-request-id"]


def test_cors_allows_the_configured_origins_only(client: TestClient) -> None:
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,x-qa-session",
    }
    ok = client.options("/v1/ask", headers={"Origin": ORIGIN, **preflight})
    assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == ORIGIN
    assert "X-QA-Session" in ok.headers["access-control-allow-headers"]  # the widget's session header
    refused = client.options("/v1/ask", headers={"Origin": "http://evil.example", **preflight})
    assert refused.status_code == 400 and "access-control-allow-origin" not in refused.headers


def test_an_unknown_path_is_a_chinese_404(client: TestClient) -> None:
    r = client.get("/no/such/page")
    assert r.status_code == 404 and r.json() == {"detail": "未找到"}
