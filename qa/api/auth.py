"""Bearer keys with three roles, an origin allow-list for widget keys, and a per-key rate limit.

- admin keys may do everything; reader keys may ask, search, chat and read documents; widget keys may do
  what readers do, and only from a browser page whose Origin is in QA_CORS_ORIGINS.
- Keys are compared in constant time and never logged.
- The rate limit is a sliding window per key (per client address when no keys are configured); over it,
  429 with Retry-After.
"""

from __future__ import annotations

import hmac
import math
import threading
import time
from collections import deque
from typing import Annotated, Literal

from fastapi import Depends, HTTPException, Request

from qa.api.deps import ServicesDep
from qa.settings import Settings

Role = Literal["admin", "reader", "widget"]
Need = Literal["read", "admin"]
_WINDOWS = {"s": 1, "sec": 1, "second": 1, "min": 60, "minute": 60, "h": 3600, "hour": 3600}


def role_of(settings: Settings, key: str) -> Role | None:
    """The role of a presented key; every configured key is compared so timing reveals nothing."""
    found: Role | None = None
    for role, keys in (("admin", settings.admin_keys), ("reader", settings.api_keys), ("widget", settings.widget_keys)):
        for candidate in settings.split(keys):
            if hmac.compare_digest(candidate.encode(), key.encode()) and found is None:
                found = role  # type: ignore[assignment]
    return found


class RateLimiter:
    def __init__(self, spec: str) -> None:
        count, _, unit = spec.partition("/")
        self.limit = int(count)
        self.window = float(_WINDOWS[unit])
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, who: str) -> float | None:
        """None when allowed (and counted), else seconds until the next request would be."""
        now = time.monotonic()
        with self._lock:
            hits = self._hits.setdefault(who, deque())
            while hits and now - hits[0] >= self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return self.window - (now - hits[0])
            hits.append(now)
            return None


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _allowed_origin(request: Request, settings: Settings) -> bool:
    """A listed Origin, or a page served by this service itself (browsers send no Origin on same-origin
    GETs, but do send Sec-Fetch-Site, which a page cannot forge)."""
    origin = request.headers.get("origin")
    if origin is not None:
        return origin in settings.split(settings.cors_origins)
    return request.headers.get("sec-fetch-site") == "same-origin"


def authorize(need: Need):  # type: ignore[no-untyped-def]
    def check(request: Request, services: ServicesDep) -> Role | None:
        settings = services.settings
        limiter: RateLimiter = request.app.state.rate_limiter
        key = _bearer(request)
        role: Role | None = None
        if settings.keys_configured:
            if key is None:
                raise HTTPException(401, "缺少 API 密钥（请求头 Authorization: Bearer <密钥>）", headers={"WWW-Authenticate": "Bearer"})
            role = role_of(settings, key)
            if role is None:
                raise HTTPException(401, "API 密钥无效", headers={"WWW-Authenticate": "Bearer"})
            if need == "admin" and role != "admin":
                raise HTTPException(403, "该操作需要管理员密钥")
            if role == "widget" and not _allowed_origin(request, settings):
                raise HTTPException(403, "此密钥只能在允许的网页来源中使用")
        # Rate-limit by key; the key itself is never stored, only its digest.
        who = hmac.new(b"qa-rate", key.encode(), "sha256").hexdigest() if key else (request.client.host if request.client else "?")
        wait = limiter.check(who)
        if wait is not None:
            raise HTTPException(429, "请求过于频繁，请稍后再试", headers={"Retry-After": str(max(1, math.ceil(wait)))})
        return role

    return check


ReadAccess = Annotated[Role | None, Depends(authorize("read"))]
AdminAccess = Annotated[Role | None, Depends(authorize("admin"))]
