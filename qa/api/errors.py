"""Every client error is a 4xx with a Chinese `detail`; nothing a client sends may produce a 500."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("qa.api")

_MESSAGES = {
    "missing": "缺少必填字段",
    "extra_forbidden": "不支持的字段",
    "json_invalid": "请求体不是合法的 JSON",
    "json_type": "请求体应为 JSON 对象",
    "model_attributes_type": "应为 JSON 对象",
    "dict_type": "应为 JSON 对象",
    "list_type": "应为数组",
    "string_type": "应为字符串",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数",
    "bool_type": "应为布尔值",
    "bool_parsing": "应为布尔值",
    "greater_than_equal": "数值过小",
    "less_than_equal": "数值过大",
    "string_too_short": "不能为空",
    "string_too_long": "过长",
    "too_short": "条目过少",
    "too_long": "条目过多",
    "literal_error": "取值无效",
    "enum": "取值无效",
}
_FIELDS = {
    "question": "问题",
    "query": "检索内容",
    "history": "对话历史",
    "filters": "筛选条件",
    "year": "年度",
    "region": "地区",
    "unit": "单位",
    "report_kind": "报告类型",
    "section_role": "章节类型",
    "top_k": "top_k",
    "messages": "messages",
    "file": "文件",
    "category": "分类",
    "role": "类型",
    "by": "统计维度",
    "limit": "limit",
    "offset": "offset",
    "format": "格式",
    "doc_id": "doc_id",
    "sort": "排序字段",
    "order": "排序方向",
    "kind": "报告类型",
    "q": "查找内容",
    "missing": "缺失字段",
    "files": "文件",
    "title": "标题",
}


def _describe(err: dict) -> str:  # type: ignore[type-arg]
    loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
    where = "·".join(_FIELDS.get(p, p) for p in loc)
    kind = err.get("type", "")
    if kind == "value_error":
        message = str(err.get("ctx", {}).get("error", err.get("msg", "")))
    else:
        message = _MESSAGES.get(kind, "格式不正确")
        if kind == "string_too_long":
            message += f"（最多 {err.get('ctx', {}).get('max_length')} 个字符）"
        if kind == "literal_error":
            message += f"（可选：{err.get('ctx', {}).get('expected', '')}）"
    return f"{where}：{message}" if where else message


# OpenAI-compatible routes also answer errors in OpenAI's shape: its clients (and the chat front-ends built on
# them) show `error.message` and nothing else, so the Chinese detail goes there too.
_OPENAI_PATHS = ("/v1/chat/completions", "/v1/models")
_OPENAI_TYPES = {401: "authentication_error", 403: "permission_error", 404: "not_found_error", 429: "rate_limit_error"}


def _body(request: Request, status: int, detail: str) -> dict[str, object]:
    body: dict[str, object] = {"detail": detail}
    if request.url.path.startswith(_OPENAI_PATHS):
        kind = _OPENAI_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
        body["error"] = {"message": detail, "type": kind, "code": status}
    return body


async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    detail = "；".join(dict.fromkeys(_describe(e) for e in exc.errors()))
    return JSONResponse(status_code=422, content=_body(request, 422, detail or "请求格式不正确"))


_STATUS_TEXT = {404: "未找到", 405: "不支持的请求方法", 413: "上传文件过大", 415: "不支持的文件类型"}


async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    detail = (
        exc.detail
        if isinstance(exc.detail, str) and not exc.detail.isascii()
        else _STATUS_TEXT.get(exc.status_code, exc.detail)
    )
    return JSONResponse(
        status_code=exc.status_code,
        content=_body(request, exc.status_code, str(detail)),
        headers=getattr(exc, "headers", None),
    )


async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return JSONResponse(status_code=500, content=_body(request, 500, "服务器内部错误"))


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, unexpected_error)
