from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

router = APIRouter(tags=["运维"])


@router.get("/healthz", summary="进程存活")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="模型与向量库已就绪")
def readyz(request: Request) -> JSONResponse:
    services = getattr(request.app.state, "services", None)
    if services is None:
        return JSONResponse({"status": "starting", "detail": "模型或向量库尚未加载"}, status_code=503)
    try:
        chunks = services.retriever.store.count_chunks()
        documents = len(services.retriever.catalogue())
    except Exception as exc:  # the Chroma server may be gone; readiness must say so, not crash
        return JSONResponse({"status": "unavailable", "detail": f"向量库不可用：{exc}"}, status_code=503)
    prepared = services.sentences_prepared()  # chunks whose sentences aggregates find ready (qa/sentences.py)
    store = "server" if services.settings.chroma_url else "embedded"  # one Chroma server for N replicas, or in-process
    fusion = services.retriever.fusion_summary()  # the hybrid fusion in use: the library's own choice or the defaults
    return JSONResponse(
        {
            "status": "ready",
            "model": services.embedder.model_id,
            "documents": documents,
            "chunks": chunks,
            "sentences_prepared": prepared,
            "store": store,
            "fusion": fusion,
        }
    )


@router.get("/metrics", summary="Prometheus 指标")
def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
