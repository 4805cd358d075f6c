"""Document catalogue, source viewer text, upload (ingests) and delete."""

from __future__ import annotations

import logging
import re
from pathlib import PurePath
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, HTTPException, UploadFile, status
from starlette.concurrency import run_in_threadpool

from ingest.document import IngestError, TooLargeError, UnsupportedFormatError
from ingest.schema import DocRecord
from qa.api.auth import authorize
from qa.api.deps import Services, ServicesDep
from qa.api.metrics import INGEST_FAILED, INGESTED
from qa.api.schemas import DocumentOut, DocumentTextOut
from qa.library import DocumentNotFound

router = APIRouter(prefix="/v1/documents", tags=["报告"])
log = logging.getLogger("qa.ingest")


def _out(record: DocRecord) -> DocumentOut:
    return DocumentOut(**record.doc.as_dict(), n_chunks=record.n_chunks)


@router.get("", response_model=list[DocumentOut], summary="已收录报告列表", dependencies=[Depends(authorize("read"))])
def list_documents(services: ServicesDep) -> list[DocumentOut]:
    return [_out(r) for r in services.retriever.catalogue().values()]


@router.get("/{doc_id}", response_model=DocumentTextOut, summary="报告全文（清理后）与元数据", dependencies=[Depends(authorize("read"))])
def get_document(doc_id: str, services: ServicesDep) -> DocumentTextOut:
    found = services.retriever.store.get_document(doc_id)
    if found is None:
        raise HTTPException(404, f"没有 doc_id 为 {doc_id} 的报告")
    record, text = found
    return DocumentTextOut(**_out(record).model_dump(), text=text)


def safe_name(filename: str | None) -> str:
    """The file name without any directory part or control characters (it is only ever a label)."""
    name = PurePath((filename or "").replace("\\", "/")).name
    name = re.sub(r"[\x00-\x1f\x7f]", "", name).strip()
    if not name or name in (".", ".."):
        raise HTTPException(422, "上传文件缺少文件名")
    return name[:200]


def _ingest(services: Services, data: bytes, source: str, overrides: dict[str, str]) -> dict[str, object]:
    def on_page(done: int, total: int) -> None:
        if done:
            log.info("OCR %s: page %d/%d", source, done, total)

    added = services.library.add(data, source, overrides, on_page=on_page)
    INGESTED.labels(added.outcome).inc()
    body: dict[str, object] = {"doc_id": added.record.doc.doc_id, "source": source, "outcome": added.outcome, "n_chunks": added.record.n_chunks, "unit": added.record.doc.unit}
    if added.duplicate_of is not None:
        body["duplicate_of"] = added.duplicate_of  # the stored file with the same content; nothing was stored
    # Scans: pages read by OCR and the seconds that took (0 for a text file).
    body |= {"ocr_pages": added.ocr_pages, "ocr_seconds": round(added.ocr_seconds, 2)}
    return body


# Nothing stored is touched by a refused file; the status tells the client why.
_STATUS: dict[type[IngestError], int] = {UnsupportedFormatError: 415, TooLargeError: 413}


@router.post("", status_code=status.HTTP_201_CREATED, summary="上传并导入一篇报告（管理员）", dependencies=[Depends(authorize("admin"))])
async def upload_document(
    services: ServicesDep,
    file: Annotated[UploadFile, File(description="txt / docx / pdf / md / html / png / jpg / tif / xlsx / xls / csv")],
    unit: Annotated[str | None, Form(max_length=100)] = None,
    region: Annotated[str | None, Form(max_length=50)] = None,
    year: Annotated[int | None, Form(ge=1900, le=2100)] = None,
    report_kind: Annotated[str | None, Form()] = None,
) -> dict[str, object]:
    source = safe_name(file.filename)
    limit = int(services.settings.max_upload_mb * 1024 * 1024)
    data = await file.read(limit + 1)
    if len(data) > limit:
        INGEST_FAILED.labels(TooLargeError.kind).inc()
        raise HTTPException(413, f"{source}: 上传文件超过 {services.settings.max_upload_mb:g} MB 上限（QA_MAX_UPLOAD_MB）")
    overrides = {k: str(v) for k, v in {"unit": unit, "region": region, "year": year, "report_kind": report_kind}.items() if v not in (None, "")}
    try:
        return await run_in_threadpool(_ingest, services, data, source, overrides)
    except IngestError as exc:
        INGEST_FAILED.labels(exc.kind).inc()
        raise HTTPException(_STATUS.get(type(exc), 422), str(exc)) from exc


@router.delete("/{doc_id}", summary="删除一篇报告及其全部段落（管理员）", dependencies=[Depends(authorize("admin"))])
def delete_document(doc_id: str, services: ServicesDep) -> dict[str, str]:
    try:
        services.library.delete(doc_id)
    except DocumentNotFound as exc:
        raise HTTPException(404, str(exc)) from exc
    return {"doc_id": doc_id, "status": "deleted"}
