from __future__ import annotations

from fastapi import APIRouter, Depends

from qa.api.auth import authorize
from qa.api.convert import hit_out
from qa.api.deps import ServicesDep
from qa.api.routes.ask import checked_filters
from qa.api.schemas import SearchIn, SearchOut

router = APIRouter(prefix="/v1", tags=["检索"], dependencies=[Depends(authorize("read"))])


@router.post("/search", response_model=SearchOut, summary="检索段落")
def search(body: SearchIn, services: ServicesDep) -> SearchOut:
    filters = checked_filters(services, body.filters)
    hits = services.retriever.search(body.query, mode=body.mode, top_k=body.top_k, filters=filters)
    return SearchOut(hits=[hit_out(h) for h in hits])
