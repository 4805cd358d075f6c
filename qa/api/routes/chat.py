"""OpenAI-compatible /v1/chat/completions.

The cited passages travel twice: as the extra top-level `references` field (the official `openai` client keeps
unknown fields: `completion.references`, `chunk.references`), and as a numbered source list at the end of the
message content, because most chat front-ends and LangChain's ChatOpenAI drop fields they do not know and would
otherwise show `[1]` with nothing behind it. The list is stripped again from assistant turns a client sends back
as history, so follow-up questions resolve against the answer only.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import StreamingResponse

from qa.api.auth import authorize
from qa.api.convert import answer_out, source_label
from qa.api.deps import ServicesDep
from qa.api.routes.ask import answer
from qa.api.schemas import MAX_QUESTION, AskIn, AskOut, ChatIn, Message

router = APIRouter(prefix="/v1", tags=["OpenAI 兼容"], dependencies=[Depends(authorize("read"))])
SOURCES = "\n\n来源：\n"


def content_of(out: AskOut) -> str:
    """The answer, then one line per citation (a markdown list: chat front-ends render it as such)."""
    if not out.citations:
        return out.answer
    return out.answer + SOURCES + "\n".join(f"- [{c.id}] {source_label(c)}" for c in out.citations)


def _without_sources(m: Message) -> Message:
    if m.role != "assistant" or SOURCES not in m.content:
        return m
    return Message(role=m.role, content=m.content[: m.content.index(SOURCES)])


def _ask_body(body: ChatIn) -> AskIn:
    turns = [_without_sources(m) for m in body.messages if m.role != "system"]
    if not turns or turns[-1].role != "user" or not turns[-1].content.strip():
        raise HTTPException(422, "messages 的最后一条必须是非空的 user 消息")
    if len(turns[-1].content) > MAX_QUESTION:
        raise HTTPException(422, f"问题过长（最多 {MAX_QUESTION} 个字符）")
    return AskIn(question=turns[-1].content, history=turns[:-1])


@router.post("/chat/completions", summary="OpenAI 兼容的对话接口（references 字段与正文末尾的来源列表附引用）")
async def chat_completions(body: ChatIn, services: ServicesDep):  # type: ignore[no-untyped-def]
    out = answer_out(await answer(services, _ask_body(body)))
    references = [c.model_dump() for c in out.citations]
    content = content_of(out)
    cid, created = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())
    if not body.stream:
        return {
            "id": cid,
            "object": "chat.completion",
            "created": created,
            "model": body.model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
            "references": references,
        }

    def chunks() -> Iterator[str]:
        def chunk(delta: dict[str, str], finish: str | None = None, **extra: object) -> str:
            payload = {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": created,
                "model": body.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                **extra,
            }
            return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"

        yield chunk({"role": "assistant"}, references=references)
        for line in content.splitlines(keepends=True):
            yield chunk({"content": line})
        yield chunk({}, "stop", references=references)
        yield "data: [DONE]\n\n"

    return StreamingResponse(chunks(), media_type="text/event-stream")
