"""Browser fixtures: Debian's Chromium (never a downloaded browser) driven by Playwright's sync API,
a fresh context per test, and screenshots under test-artifacts/widget/."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("QA_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "widget"


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    sync_api = pytest.importorskip("playwright.sync_api")
    # scripts/install-test-deps.sh installs the `chromium` package; give a concurrent install a moment.
    deadline = time.monotonic() + 120
    while not os.access(CHROMIUM, os.X_OK):
        if time.monotonic() > deadline:
            pytest.fail(f"{CHROMIUM} not found: run `bash scripts/install-test-deps.sh` (never `playwright install`)")
        time.sleep(2)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture()
def context(browser):  # type: ignore[no-untyped-def]
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture()
def page(request, context, artifacts):  # type: ignore[no-untyped-def]
    page = context.new_page()
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:  # what the browser showed when the test failed
        page.screenshot(path=str(artifacts / f"FAILED-{request.node.name}.png"))


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def sse(event: str, data: object) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


SLOW_CITATION = {
    "id": 1,
    "doc_id": "slow-doc",
    "source": "slow.txt",
    "unit": "慢速测试单位",
    "year": 2021,
    "title": "慢速测试报告",
    "section": "一、测试",
    "text": "测试段落。",
    "char_start": 0,
    "char_end": 5,
    "score": 1.0,
}


@dataclass
class HostSite:
    """A real second origin on 127.0.0.1, standing in for an intranet page that embeds the widget.

    - GET <path> serves `pages[path]` (HTML set by the test);
    - POST /v1/ask/stream is a deliberately slow API: one delta at once, then one every 0.3 s for 30 s,
      so a test can press the stop button in the middle of a real streamed response; any other POST is a 404.
    (A page fulfilled by Playwright's page.route has no address space, so Chromium's Local Network Access
    checks would block it from loading anything from 127.0.0.1; a real loopback server avoids that.)"""

    url: str
    pages: dict[str, str] = field(default_factory=dict)
    started: threading.Event = field(default_factory=threading.Event)
    disconnected: threading.Event = field(default_factory=threading.Event)

    def reset(self) -> None:
        self.started.clear()
        self.disconnected.clear()


@contextmanager
def host_site_server() -> Iterator[HostSite]:
    state: HostSite

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def cors(self) -> None:
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Access-Control-Allow-Methods", "POST, GET, OPTIONS")
            self.send_header("Access-Control-Allow-Headers", "content-type, authorization, accept")

        def do_OPTIONS(self) -> None:
            self.send_response(204)
            self.cors()
            self.end_headers()

        def do_GET(self) -> None:
            html = state.pages.get(self.path.split("?")[0])
            if html is None:
                self.send_error(404)
                return
            body = html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            if self.path.split("?")[0] != "/v1/ask/stream":  # e.g. /v1/widget/session: an API without it
                self.send_response(404)
                self.cors()
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.cors()
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            head = {
                "kind": "lookup",
                "citations": [SLOW_CITATION],
                "units": None,
                "related": [],
                "resolved_question": "慢速问题",
                "filters": {},
            }
            try:
                self.wfile.write(sse("citations", head))
                self.wfile.write(sse("delta", {"text": "正在缓慢生成回答[1]"}))
                self.wfile.flush()
                state.started.set()
                for _ in range(100):
                    time.sleep(0.3)
                    self.wfile.write(sse("delta", {"text": "……"}))
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                state.disconnected.set()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state = HostSite(f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def host_site() -> Iterator[HostSite]:
    with host_site_server() as state:
        yield state
