"""The library console (/admin) served by a real `qa serve`: the page with its security headers, its own script and
stylesheet, a file picker that offers exactly what ingest reads, and the public API it drives."""

from __future__ import annotations

import re

import httpx
import pytest

from ingest.readers import SUPPORTED_SUFFIXES

pytestmark = pytest.mark.slow


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
