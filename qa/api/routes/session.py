"""Who am I (the console checks its key) and widget sessions (an end-user identity for rate limiting)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from qa.api.auth import SESSION_HEADER, Limits, ReadAccess, Role, authorize
from qa.api.deps import ServicesDep

router = APIRouter(prefix="/v1", tags=["访问"])


class WhoAmIOut(BaseModel):
    role: Literal["admin", "reader", "widget"] = Field(
        description="所持密钥的角色；未配置任何密钥时为 admin（任何人都可上传和删除）"
    )
    keys_required: bool = Field(description="服务是否要求 API 密钥")


class WidgetSessionOut(BaseModel):
    token: str = Field(description=f"会话令牌：之后的请求放在请求头 {SESSION_HEADER} 中，限流按会话计")
    expires_in: int = Field(description="有效秒数（QA_SESSION_TTL）；过期前重新申请")
    expires_at: int = Field(description="过期时间（Unix 秒）")
    header: str = Field(SESSION_HEADER, description="携带令牌的请求头名称")


@router.get("/whoami", response_model=WhoAmIOut, summary="当前密钥的角色（管理台据此判断是否为管理员密钥）")
def whoami(role: ReadAccess, services: ServicesDep) -> WhoAmIOut:
    keys = services.settings.keys_configured
    return WhoAmIOut(role=role if keys and role else "admin", keys_required=keys)


@router.post("/widget/session", response_model=WidgetSessionOut, summary="为网页挂件的访客申请短期会话（按会话限流）")
def widget_session(
    request: Request, _: Annotated[Role | None, Depends(authorize("read", session_start=True))]
) -> WidgetSessionOut:
    """The widget asks once per visitor (and again before the token expires); requests that carry the token in
    X-QA-Session are rate-limited per session instead of per page key or shared proxy address. A forged or
    expired token counts as no token: the request is limited by the client address. Starting sessions is limited
    per client address (QA_SESSION_RATE_LIMIT)."""
    limits: Limits = request.app.state.limits
    session = limits.sessions.mint()
    return WidgetSessionOut(token=session.token, expires_in=limits.sessions.ttl, expires_at=session.expires_at)
