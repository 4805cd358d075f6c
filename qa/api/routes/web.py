"""The embeddable chat widget (GET /widget.js, GET /widget.css) and the demo page at GET /.

The files live in `qa/web/` (package data) and are read once per process. The widget URLs are not
versioned — host pages embed `/widget.js` as is — so they are cached briefly and revalidated by ETag.
A line `/* @include NAME */` in a served file is replaced by the file NAME of the same folder: the widget
stays one file for host pages while sharing its source viewer (source-view.js) with the console (/admin).
`@@SUPPORTED_SUFFIXES@@` / `@@SUPPORTED_FORMATS@@` become the file types ingest reads (ingest.readers), so the
console's file picker and its hint follow the readers instead of keeping a list of their own.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files

from fastapi import APIRouter, Request, Response

from ingest.readers import SUPPORTED_SUFFIXES

router = APIRouter(include_in_schema=False)

ASSET_CACHE = "public, max-age=300, must-revalidate"


@dataclass(frozen=True)
class Asset:
    body: bytes
    etag: str


_INCLUDE = re.compile(rb"^[ \t]*/\* @include ([\w.-]+) \*/[ \t]*$", re.M)


def _read(name: str) -> bytes:
    return (files("qa") / "web" / name).read_bytes()


def _variables() -> dict[bytes, bytes]:
    suffixes = sorted(SUPPORTED_SUFFIXES)
    return {
        b"@@SUPPORTED_SUFFIXES@@": ",".join(suffixes).encode(),
        b"@@SUPPORTED_FORMATS@@": "、".join(s.lstrip(".") for s in suffixes).encode(),
    }


@lru_cache(maxsize=16)
def asset(name: str) -> Asset:
    body = _INCLUDE.sub(lambda m: _read(m.group(1).decode()).rstrip(b"\n"), _read(name))
    for variable, value in _variables().items():
        body = body.replace(variable, value)
    return Asset(body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')


def serve(request: Request, name: str, media_type: str, cache: str, headers: dict[str, str] | None = None) -> Response:
    found = asset(name)
    headers = {"ETag": found.etag, "Cache-Control": cache, "X-Content-Type-Options": "nosniff", **(headers or {})}
    return (
        Response(status_code=304, headers=headers)
        if found.etag in _tags(request)
        else Response(found.body, media_type=media_type, headers=headers)
    )


def _tags(request: Request) -> list[str]:
    return [t.strip() for t in request.headers.get("if-none-match", "").split(",")]


def _serve(request: Request, name: str, media_type: str, cache: str) -> Response:
    headers: dict[str, str] = {}
    if name != "demo.html":
        # Static, key-free files: any intranet page may load them (a <script>/<link> needs no CORS, a fetch does).
        headers["Access-Control-Allow-Origin"] = "*"
    return serve(request, name, media_type, cache, headers)


@router.api_route("/widget.js", methods=["GET", "HEAD"])
def widget_js(request: Request) -> Response:
    return _serve(request, "widget.js", "text/javascript; charset=utf-8", ASSET_CACHE)


@router.api_route("/widget.css", methods=["GET", "HEAD"])
def widget_css(request: Request) -> Response:
    return _serve(request, "widget.css", "text/css; charset=utf-8", ASSET_CACHE)


@router.api_route("/", methods=["GET", "HEAD"])
def demo(request: Request) -> Response:
    return _serve(request, "demo.html", "text/html; charset=utf-8", "no-cache")
