"""Document catalogue (a plain list, or a filtered, sorted page), one document's text, chunks and heading tree,
upload (ingests in the request), delete."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, UploadFile, status
from starlette.concurrency import run_in_threadpool

from ingest.document import IngestError
from ingest.schema import DocRecord, ReportKind
from qa.api.auth import authorize
from qa.api.deps import Services, ServicesDep
from qa.api.schemas import (
    ChunkOut,
    DocumentChunksOut,
    DocumentOut,
    DocumentPageOut,
    DocumentSectionsOut,
    DocumentTextOut,
    MetadataIn,
    SectionOut,
)
from qa.api.uploads import FORMATS, REFUSED_STATUS, ingest_upload, safe_name
from qa.catalogue import DocQuery, Missing, SortField, select_page
from qa.document_view import chunk_views, sections
from qa.library import DocumentNotFound, MetadataError

router = APIRouter(prefix="/v1/documents", tags=["报告"])


def document_out(record: DocRecord) -> DocumentOut:
    n_findings = None if record.n_findings < 0 else record.n_findings
    return DocumentOut(
        **record.doc.as_dict(), n_chunks=record.n_chunks, n_findings=n_findings, ingested_at=record.ingested_at
    )


@router.get(
    "",
    response_model=list[DocumentOut] | DocumentPageOut,
    summary="已收录报告：完整列表，或筛选、排序后的一页",
    dependencies=[Depends(authorize("read"))],
)
def list_documents(
    services: ServicesDep,
    offset: Annotated[int | None, Query(ge=0, le=10_000_000, description="跳过的条数")] = None,
    limit: Annotated[int | None, Query(ge=1, le=500, description="每页条数（默认 50）")] = None,
    sort: Annotated[SortField | None, Query(description="排序字段（默认 ingested_at）")] = None,
    order: Annotated[Literal["asc", "desc"] | None, Query(description="asc 升序 / desc 降序（默认）")] = None,
    unit: Annotated[str | None, Query(min_length=1, max_length=100, description="单位名称（部分匹配）")] = None,
    region: Annotated[str | None, Query(min_length=1, max_length=50, description="地区（部分匹配，如 益阳市）")] = None,
    year: Annotated[int | None, Query(ge=1900, le=2100, description="报告年度")] = None,
    kind: Annotated[ReportKind | None, Query(description="报告类型")] = None,
    q: Annotated[str | None, Query(min_length=1, max_length=100, description="在单位、标题、文件名中查找")] = None,
    missing: Annotated[Missing | None, Query(description="只列出该字段为空的报告（便于补正）")] = None,
) -> list[DocumentOut] | DocumentPageOut:
    """Without any parameter: every document as a plain JSON array (the original response, kept for existing
    clients). With any of them: `{total, offset, limit, items}`, filtered, sorted and paged on the server
    (empty values sort last either way)."""
    catalogue = services.retriever.catalogue().values()
    params = (offset, limit, sort, order, unit, region, year, kind, q, missing)
    if all(p is None for p in params):
        return [document_out(r) for r in catalogue]
    query = DocQuery(
        offset=offset or 0,
        limit=limit or 50,
        sort=sort or "ingested_at",
        order=order or "desc",
        unit=unit,
        region=region,
        year=year,
        kind=kind,
        q=q,
        missing=missing,
    )
    page = select_page(catalogue, query)
    return DocumentPageOut(
        total=page.total, offset=query.offset, limit=query.limit, items=[document_out(r) for r in page.items]
    )


def _found(services: Services, doc_id: str) -> tuple[DocRecord, str]:
    found = services.retriever.store.get_document(doc_id)
    if found is None:
        raise HTTPException(404, f"没有 doc_id 为 {doc_id} 的报告")
    return found


@router.get(
    "/{doc_id}",
    response_model=DocumentTextOut,
    summary="报告全文（清理后）与元数据",
    dependencies=[Depends(authorize("read"))],
)
def get_document(doc_id: str, services: ServicesDep) -> DocumentTextOut:
    record, text = _found(services, doc_id)
    return DocumentTextOut(**document_out(record).model_dump(), text=text)


@router.get(
    "/{doc_id}/chunks",
    response_model=DocumentChunksOut,
    summary="报告的段落（按顺序，带字符位置）",
    dependencies=[Depends(authorize("read"))],
)
def get_chunks(
    doc_id: str,
    services: ServicesDep,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> DocumentChunksOut:
    _found(services, doc_id)
    views = chunk_views(list(services.retriever.store.chunks_of([doc_id])))
    items = [ChunkOut(**vars(c)) for c in views[offset : offset + limit]]
    return DocumentChunksOut(doc_id=doc_id, total=len(views), offset=offset, limit=limit, items=items)


@router.get(
    "/{doc_id}/sections",
    response_model=DocumentSectionsOut,
    summary="报告的标题树（解析器识别出的章节）",
    dependencies=[Depends(authorize("read"))],
)
def get_sections(doc_id: str, services: ServicesDep) -> DocumentSectionsOut:
    record, text = _found(services, doc_id)
    views = chunk_views(list(services.retriever.store.chunks_of([doc_id])))
    found = [SectionOut(**vars(s) | {"path": list(s.path)}) for s in sections(text, views)]
    return DocumentSectionsOut(doc_id=doc_id, title=record.doc.title, sections=found)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="上传并导入一篇报告（管理员）",
    dependencies=[Depends(authorize("admin"))],
)
async def upload_document(
    services: ServicesDep,
    file: Annotated[UploadFile, File(description=FORMATS)],
    unit: Annotated[str | None, Form(max_length=100)] = None,
    region: Annotated[str | None, Form(max_length=50)] = None,
    year: Annotated[int | None, Form(ge=1900, le=2100)] = None,
    report_kind: Annotated[str | None, Form()] = None,
) -> dict[str, object]:
    """Ingests within the request and answers with the outcome (new / unchanged / replaced / duplicate, the
    latter with `duplicate_of`). For many or large files use POST /v1/jobs/ingest: the server keeps ingesting
    after the client goes away."""
    source = safe_name(file.filename)
    data = await file.read(int(services.settings.max_upload_mb * 1024 * 1024) + 1)
    overrides = {
        k: str(v)
        for k, v in {"unit": unit, "region": region, "year": year, "report_kind": report_kind}.items()
        if v not in (None, "")
    }
    try:
        return await run_in_threadpool(ingest_upload, services, data, source, overrides)
    except IngestError as exc:
        raise HTTPException(REFUSED_STATUS.get(type(exc), 422), str(exc)) from exc


@router.patch(
    "/{doc_id}",
    response_model=DocumentOut,
    summary="修改报告的元数据（管理员）",
    dependencies=[Depends(authorize("admin"))],
)
def edit_document(doc_id: str, body: MetadataIn, services: ServicesDep) -> DocumentOut:
    """Unit, region, year, kind and title, applied at once to the record and to every chunk and finding of the
    document (no re-embedding), and kept for the file name: they survive restarts and re-ingest of the same
    file. Answers and filters see them at once."""
    changes = body.model_dump(exclude_none=True)
    if not changes:
        raise HTTPException(422, "请至少给出一个要修改的字段（unit、region、year、report_kind、title）")
    try:
        record = services.library.edit_metadata(doc_id, **changes)
    except DocumentNotFound as exc:
        raise HTTPException(404, str(exc)) from exc
    except MetadataError as exc:  # a value the fields cannot take, in Chinese
        raise HTTPException(422, str(exc)) from exc
    return document_out(record)


@router.delete("/{doc_id}", summary="删除一篇报告及其全部段落（管理员）", dependencies=[Depends(authorize("admin"))])
def delete_document(doc_id: str, services: ServicesDep) -> dict[str, str]:
    try:
        services.library.delete(doc_id)
    except DocumentNotFound as exc:
        raise HTTPException(404, str(exc)) from exc
    return {"doc_id": doc_id, "status": "deleted"}
