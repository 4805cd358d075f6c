"""A scripted OpenAI-compatible chat server for tests (`uvicorn tests.support.fake_llm:app`).

Tests POST /script with rules {contains, reply}: the first rule whose `contains` occurs in the question
decides the reply. A reply may cite "{n:388.07}": the number of the prompt passage containing "388.07",
the way a model cites the passage it read (0 when no passage has it). Every request is kept for inspection at GET /requests. Streaming follows the
OpenAI chunk format.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse

app = FastAPI()
RULES: list[dict[str, str]] = []
REQUESTS: list[dict[str, Any]] = []


@app.post("/script")
async def script(request: Request) -> dict[str, int]:
    RULES[:] = (await request.json())["rules"]
    REQUESTS.clear()
    return {"rules": len(RULES)}


@app.get("/requests")
def requests() -> list[dict[str, Any]]:
    return REQUESTS


@app.post("/v1/chat/completions")
async def completions(request: Request):  # type: ignore[no-untyped-def]
    body = await request.json()
    REQUESTS.append(body)
    last = next(m["content"] for m in reversed(body["messages"]) if m["role"] == "user")
    question = last.rsplit("问题：", 1)[-1]
    reply = next((r["reply"] for r in RULES if r["contains"] in question), "未在已收录报告中找到相关内容。")
    passages = dict(re.findall(r'<段落 编号="(\d+)"[^>]*>\n(.*?)\n</段落>', last, flags=re.S))
    reply = re.sub(
        r"\{n:([^}]+)\}", lambda m: next((n for n, text in passages.items() if m.group(1) in text), "0"), reply
    )
    base = {"id": "chatcmpl-fake", "created": int(time.time()), "model": body.get("model", "fake")}
    if not body.get("stream"):
        return {
            **base,
            "object": "chat.completion",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": reply}, "finish_reason": "stop"}],
        }

    def chunks():  # type: ignore[no-untyped-def]
        for i in range(0, len(reply), 4):
            delta = {"content": reply[i : i + 4]} if i else {"role": "assistant", "content": reply[i : i + 4]}
            yield f"data: {json.dumps({**base, 'object': 'chat.completion.chunk', 'choices': [{'index': 0, 'delta': delta, 'finish_reason': None}]}, ensure_ascii=False)}\n\n"
        yield f"data: {json.dumps({**base, 'object': 'chat.completion.chunk', 'choices': [{'index': 0, 'delta': {}, 'finish_reason': 'stop'}]})}\n\n"
        yield "data: [DONE]\n\n"

    return StreamingResponse(chunks(), media_type="text/event-stream")
