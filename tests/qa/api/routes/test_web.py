"""The widget's files (/widget.js, /widget.css) and the demo page (/) served by a real `qa serve`: cached briefly,
revalidated by ETag, nothing loaded from elsewhere."""

from __future__ import annotations

import re

import httpx
import pytest

pytestmark = pytest.mark.slow


def test_widget_files_are_served(api: str) -> None:
    js = httpx.get(f"{api}/widget.js")
    assert js.status_code == 200
    assert js.headers["content-type"].startswith("text/javascript")
    assert "max-age" in js.headers["cache-control"] and js.headers["etag"]
    assert httpx.get(f"{api}/widget.js", headers={"If-None-Match": js.headers["etag"]}).status_code == 304
    assert "window.JixiaoQA" in js.text and "cdn" not in js.text.lower()

    css = httpx.get(f"{api}/widget.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "max-age" in css.headers["cache-control"]
    assert "@import" not in css.text and "url(" not in css.text, "no external fonts or images"

    demo = httpx.get(f"{api}/")
    assert demo.status_code == 200 and demo.headers["content-type"].startswith("text/html")
    assert re.search(r'<script src="/widget\.js" data-api=""[^>]*async></script>', demo.text)
    assert demo.text.count("data-question=") >= 3
