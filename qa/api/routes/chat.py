"""OpenAI-compatible /v1/chat/completions; the cited passages travel in an extra `references` field."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import StreamingResponse

from qa.api.auth import authorize
from qa.api.deps import ServicesDep
from qa.api.routes.ask import answer
from qa.api.schemas import MAX_QUESTION, AskIn, ChatIn
from qa.api.convert import answer_out

router = APIRouter(prefix="/v1", tags=["OpenAI 兼容"], dependencies=[Depends(authorize("read"))])


def _ask_body(body: ChatIn) -> AskIn:
    turns = [m for m in body.messages if m.role != "system"]
    if not turns or turns[-1].role != "user" or not turns[-1].content.strip():
        raise HTTPException(422, "messages 的最后一条必须是非空的 user 消息")
    if len(turns[-1].content) > MAX_QUESTION:
        raise HTTPException(422, f"问题过长（最多 {MAX_QUESTION} 个字符）")
    return AskIn(question=turns[-1].content, history=turns[:-1])


@router.post("/chat/completions", summary="OpenAI 兼容的对话接口（references 字段附引用）")
async def chat_completions(body: ChatIn, services: ServicesDep):  # type: ignore[no-untyped-def]
    out = answer_out(await answer(services, _ask_body(body)))
    references = [c.model_dump() for c in out.citations]
    cid, created = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())
    if not body.stream:
        return {
            "id": cid,
            "object": "chat.completion",
            "created": created,
            "model": body.model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": out.answer}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
            "references": references,
        }

    def chunks() -> Iterator[str]:
        def chunk(delta: dict[str, str], finish: str | None = None, **extra: object) -> str:
            payload = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": body.model,
                       "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
            return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"

        yield chunk({"role": "assistant"}, references=references)
        for line in out.answer.splitlines(keepends=True):
            yield chunk({"content": line})
        yield chunk({}, "stop", references=references)
        yield "data: [DONE]\n\n"

    return StreamingResponse(chunks(), media_type="text/event-stream")
