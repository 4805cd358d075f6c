"""The library console at /admin: one HTML page with its own script and stylesheet, served by the app (no CDN,
no build step). It holds no secret: the admin key is typed in and kept in the tab's sessionStorage, and every
action goes through the public API (/v1/documents, /v1/jobs, /v1/findings, /readyz), so scripts can do the same."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from qa.api.routes.web import ASSET_CACHE, serve

router = APIRouter(include_in_schema=False)

# Only this origin's own files; the page cannot be framed (clickjacking an admin page).
_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
_FILES = {
    "admin.js": "text/javascript; charset=utf-8",
    "admin.css": "text/css; charset=utf-8",
    "source-view.js": "text/javascript; charset=utf-8",
}


@router.api_route("/admin", methods=["GET", "HEAD"])
def console(request: Request) -> Response:
    return serve(request, "admin.html", "text/html; charset=utf-8", "no-cache", _PAGE_HEADERS)


@router.get("/admin/")
def console_slash() -> RedirectResponse:
    return RedirectResponse("/admin", status_code=308)


def _file(name: str):  # type: ignore[no-untyped-def]
    def handler(request: Request) -> Response:
        return serve(request, name, _FILES[name], ASSET_CACHE)

    return handler


for _name in _FILES:
    router.add_api_route(f"/admin/{_name}", _file(_name), methods=["GET", "HEAD"])
