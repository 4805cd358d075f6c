"""One uploaded file into the store: what POST /v1/documents does in the request and an ingest job
(qa/api/jobs.py) does in the background, so both report the same outcomes and count the same metrics."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import PurePath
from typing import Any

from fastapi import HTTPException

from ingest.document import IngestError, TooLargeError, UnsupportedFormatError
from ingest.readers import SUPPORTED_SUFFIXES
from qa.api.deps import Services
from qa.api.metrics import INGEST_FAILED, INGESTED

log = logging.getLogger("qa.ingest")

# The file types ingest reads, for the upload routes' descriptions.
FORMATS = " / ".join(sorted(s.lstrip(".") for s in SUPPORTED_SUFFIXES))

# Nothing stored is touched by a refused file; the status tells the client why.
REFUSED_STATUS: dict[type[IngestError], int] = {UnsupportedFormatError: 415, TooLargeError: 413}


def safe_name(filename: str | None) -> str:
    """The file name without any directory part or control characters (it is only ever a label)."""
    name = PurePath((filename or "").replace("\\", "/")).name
    name = re.sub(r"[\x00-\x1f\x7f]", "", name).strip()
    if not name or name in (".", ".."):
        raise HTTPException(422, "上传文件缺少文件名")
    return name[:200]


def too_large(services: Services, source: str) -> IngestError:
    return TooLargeError(source, f"上传文件超过 {services.settings.max_upload_mb:g} MB 上限（QA_MAX_UPLOAD_MB）")


def ingest_upload(
    services: Services,
    data: bytes,
    source: str,
    overrides: dict[str, str],
    on_page: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Read, prepare and commit one file through the library; raises IngestError for a refused file, after
    counting it. The result is the upload response: doc_id, source, outcome, n_chunks, unit, pages read by OCR
    and the seconds that took (ocr_pages, ocr_seconds: 0 for a text file), and for a duplicate the stored file it
    repeats (duplicate_of; nothing was stored). `on_page(done, total)`: OCR progress of a scan, also logged."""

    def page_read(done: int, total: int) -> None:
        if done:
            log.info("OCR %s: page %d/%d", source, done, total)
        if on_page is not None:
            on_page(done, total)

    try:
        if len(data) > int(services.settings.max_upload_mb * 1024 * 1024):
            raise too_large(services, source)
        added = services.library.add(data, source, overrides, on_page=page_read)
    except IngestError as exc:
        INGEST_FAILED.labels(exc.kind).inc()
        raise
    INGESTED.labels(added.outcome).inc()
    record = added.record
    body: dict[str, Any] = {
        "doc_id": record.doc.doc_id,
        "source": source,
        "outcome": added.outcome,
        "n_chunks": record.n_chunks,
        "unit": record.doc.unit,
    }
    if added.duplicate_of is not None:
        body["duplicate_of"] = added.duplicate_of
    body |= {"ocr_pages": added.ocr_pages, "ocr_seconds": round(added.ocr_seconds, 2)}
    return body
