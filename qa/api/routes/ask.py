"""/v1/ask and /v1/ask/stream (server-sent events: citations, delta…, done)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from qa.answer import Answer, Page
from qa.api.auth import authorize
from qa.api.convert import answer_out
from qa.api.deps import Services, ServicesDep
from qa.api.metrics import ANSWERS
from qa.api.schemas import AskIn, AskOut, FiltersIn
from qa.retrieve import Filters
from qa.understand import Turn

router = APIRouter(prefix="/v1", tags=["问答"], dependencies=[Depends(authorize("read"))])


def checked_filters(services: Services, filters: FiltersIn | None) -> Filters | None:
    """Explicit filters must match at least one stored report; otherwise the client gets told which."""
    if filters is None:
        return None
    f = filters.to_filters()
    if f.on_documents and not services.retriever.allowed_docs(f):
        given = "，".join(f"{k}={v}" for k, v in filters.model_dump().items() if v is not None)
        raise HTTPException(422, f"筛选条件（{given}）不匹配任何已收录报告")
    return f


def _answer(services: Services, body: AskIn) -> Answer:
    filters = checked_filters(services, body.filters)
    history = [Turn(m.role, m.content) for m in body.history]
    page = Page(body.offset, body.limit or services.settings.answer_units)
    ans = services.answerer.ask(body.question, history, filters, body.top_k, page)
    ANSWERS.labels(ans.kind).inc()
    return ans


async def answer(services: Services, body: AskIn) -> Answer:
    """Answer in a worker thread, bounded by QA_ANSWER_TIMEOUT so a pathological question cannot hold a client."""
    try:
        return await asyncio.wait_for(run_in_threadpool(_answer, services, body), services.settings.answer_timeout)
    except TimeoutError as exc:
        raise HTTPException(503, "回答超时，请缩小问题范围或稍后再试", headers={"Retry-After": "5"}) from exc


@router.post("/ask", response_model=AskOut, summary="提问（带引用的回答）")
async def ask(body: AskIn, services: ServicesDep) -> AskOut:
    return answer_out(await answer(services, body))


def sse(event: str, data: object) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def answer_events(out: AskOut) -> Iterator[str]:
    """Citations first so a client can render chips as the text arrives, then the text line by line."""
    head = out.model_dump(exclude={"answer"})
    yield sse("citations", head)
    for line in out.answer.splitlines(keepends=True):
        yield sse("delta", {"text": line})
    yield sse("done", out.model_dump())


@router.post("/ask/stream", summary="提问（SSE 流式：citations → delta… → done）")
async def ask_stream(body: AskIn, services: ServicesDep) -> StreamingResponse:
    # Validation and answering happen before the stream starts, so errors are still plain 4xx JSON.
    out = answer_out(await answer(services, body))
    return StreamingResponse(answer_events(out), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
