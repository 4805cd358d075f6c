"""OpenAI-compatible model list: chat front-ends (Open WebUI, LobeChat, Cherry Studio, Dify's OpenAI-compatible
provider) call GET /v1/models first and offer what it lists."""

from __future__ import annotations

import time
from typing import Literal

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel

from qa.api.auth import authorize
from qa.api.schemas import MODEL_ID

router = APIRouter(prefix="/v1", tags=["OpenAI 兼容"], dependencies=[Depends(authorize("read"))])
_STARTED = int(time.time())


class ModelOut(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str


class ModelListOut(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelOut]


def _model() -> ModelOut:
    return ModelOut(id=MODEL_ID, created=_STARTED, owned_by="jixiao-qa")


@router.get("/models", response_model=ModelListOut, summary="可用模型（OpenAI 兼容）")
def list_models() -> ModelListOut:
    return ModelListOut(data=[_model()])


@router.get("/models/{model_id}", response_model=ModelOut, summary="单个模型（OpenAI 兼容）")
def get_model(model_id: str) -> ModelOut:
    if model_id != MODEL_ID:
        raise HTTPException(404, f"没有名为 {model_id} 的模型（可用：{MODEL_ID}）")
    return _model()
