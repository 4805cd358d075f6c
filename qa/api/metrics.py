"""Prometheus metrics: request latency, answer kinds, ingest outcomes, errors."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import Request, Response
from prometheus_client import Counter, Histogram

REQUEST_SECONDS = Histogram("qa_request_seconds", "HTTP request latency", ["method", "route", "status"])
ANSWERS = Counter("qa_answers_total", "Answers by kind", ["kind"])
INGESTED = Counter(
    "qa_ingest_documents_total",
    "Documents ingested through the API by outcome (new, unchanged, replaced, duplicate)",
    ["outcome"],
)
# reason: IngestError.kind — unsupported (415), too_large (413: upload size, zip bomb, page count), invalid (422)
INGEST_FAILED = Counter("qa_ingest_failures_total", "Uploads refused by reason; nothing stored was touched", ["reason"])
ERRORS = Counter("qa_errors_total", "Responses with status >= 400", ["status"])


async def observe(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    started = time.perf_counter()
    response = await call_next(request)
    route = request.scope.get("route")
    path = getattr(route, "path", "unmatched")
    REQUEST_SECONDS.labels(request.method, path, str(response.status_code)).observe(time.perf_counter() - started)
    if response.status_code >= 400:
        ERRORS.labels(str(response.status_code)).inc()
    return response
