"""The FastAPI application: `create_app()` for uvicorn (`qa serve`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.concurrency import run_in_threadpool

from qa.api import errors, logs
from qa.api.auth import SESSION_HEADER, Limits
from qa.api.deps import Services
from qa.api.jobs import JobBoard
from qa.api.metrics import observe
from qa.api.routes import admin, ask, chat, documents, findings, health, jobs, models, search, session, web
from qa.settings import Settings, get_settings

DESCRIPTION = """绩效报告问答：对已收录的部门整体支出 / 项目支出绩效自评报告提问，回答中的每个 [n] 都指向可打开的原文段落。

- 汇总类问题（“哪些单位提到预算编制不够细化？”）逐篇核验，列出全部单位及证据句；
- 查询类问题（“赫山区投资促进服务中心2021年基本支出是多少？”）给出答案句与出处；
- 找不到依据时明确说明“未在已收录报告中找到…”。
"""


def create_app(settings: Settings | None = None, seed: Path | None = None) -> FastAPI:
    """`seed`: a folder of reports ingested at start when the store holds no document yet (first run)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = await run_in_threadpool(Services.start, settings)
        if seed is not None:
            await run_in_threadpool(services.seed, seed)
        app.state.services = services
        app.state.jobs = JobBoard(services)
        yield
        services.stopping.set()

    app = FastAPI(title="绩效报告问答 API", version="0.1.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.limits = Limits.of(settings)
    errors.install(app)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.split(settings.cors_origins),
        allow_methods=["GET", "POST", "PATCH", "DELETE"],
        allow_headers=["Authorization", "Content-Type", SESSION_HEADER],
        expose_headers=["Retry-After", "X-Request-ID"],
    )
    app.middleware("http")(observe)
    app.middleware("http")(logs.request_id)
    logs.configure()
    for module in (ask, chat, models, search, documents, jobs, findings, session, health, web, admin):
        app.include_router(module.router)
    return app
