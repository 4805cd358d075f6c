"""Bearer keys with three roles, an origin allow-list for widget keys, and rate limits per end user and per key.

- admin keys may do everything; reader keys may ask, search, chat and read documents; widget keys may do
  what readers do, and only from a browser page whose Origin is in QA_CORS_ORIGINS.
- Keys are compared in constant time and never logged.
- Rate limits are sliding windows (over them: 429 with Retry-After), one bucket per *identity*
  (`identity_of`): a reader or admin key is one identity (QA_KEY_RATE_LIMIT); everyone else — widget
  visitors, or anybody when no key is configured — is limited as an end user (QA_RATE_LIMIT): by the widget
  session token they carry (`Sessions`, POST /v1/widget/session), else by their client address, read from
  X-Forwarded-For only when the direct peer is a trusted proxy (QA_TRUSTED_PROXIES, `client_address`).
  Behind a load balancer every user would otherwise share its address, and every visitor of a page its key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import math
import secrets
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, HTTPException, Request

from qa.api.deps import ServicesDep
from qa.settings import Settings

Role = Literal["admin", "reader", "widget"]
Need = Literal["read", "admin"]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
SESSION_HEADER = "X-QA-Session"
_WINDOWS = {"s": 1, "sec": 1, "second": 1, "min": 60, "minute": 60, "h": 3600, "hour": 3600}
_SWEEP_EVERY = 1000  # checks between sweeps of idle buckets (sessions and addresses come and go)


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
        self._checks = 0

    def check(self, who: str) -> float | None:
        """None when allowed (and counted), else seconds until the next request would be."""
        now = time.monotonic()
        with self._lock:
            self._checks += 1
            if self._checks % _SWEEP_EVERY == 0:
                self._sweep(now)
            hits = self._hits.setdefault(who, deque())
            while hits and now - hits[0] >= self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return self.window - (now - hits[0])
            hits.append(now)
            return None

    def _sweep(self, now: float) -> None:
        for who in [w for w, hits in self._hits.items() if not hits or now - hits[-1] >= self.window]:
            del self._hits[who]


# --- who is asking -------------------------------------------------------------------------------------------


def _trusted(address: str, networks: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip("[]"))
    except ValueError:
        return False
    return any(ip in n for n in networks)


def client_address(peer: str | None, forwarded_for: str | None, trusted: Sequence[Network]) -> str:
    """The end user's address. X-Forwarded-For is believed only when the direct peer is a trusted proxy, and
    then only as far as trusted proxies appended to it: walking from the right, the first address that is not
    a trusted proxy is the client (anything left of it may be forged by the client itself)."""
    peer = peer or "?"
    if not forwarded_for or not _trusted(peer, trusted):
        return peer
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, trusted):
            return hop[:64]
    return hops[0][:64] if hops else peer


@dataclass(frozen=True)
class Session:
    token: str
    expires_at: int


class Sessions:
    """Short-lived signed identities for widget visitors: `<id>.<expiry>.<HMAC>`. Stateless, so every replica
    that shares the secret accepts every other's tokens; an identity for limiting only, never a permission."""

    def __init__(self, secret: bytes, ttl: int) -> None:
        self._secret = secret
        self.ttl = ttl

    @classmethod
    def of(cls, settings: Settings) -> Sessions:
        if settings.session_secret:
            secret = settings.session_secret.encode()
        elif settings.keys_configured:
            keys = sorted(
                settings.split(settings.admin_keys)
                + settings.split(settings.api_keys)
                + settings.split(settings.widget_keys)
            )
            secret = hashlib.sha256("\n".join(["qa-session", *keys]).encode()).digest()
        else:
            secret = secrets.token_bytes(32)
        return cls(secret, settings.session_ttl)

    def _sign(self, body: str) -> str:
        return base64.urlsafe_b64encode(hmac.new(self._secret, body.encode(), "sha256").digest()[:18]).decode()

    def mint(self, now: float | None = None) -> Session:
        expires = int((time.time() if now is None else now) + self.ttl)
        body = f"{secrets.token_urlsafe(12)}.{expires}"
        return Session(f"{body}.{self._sign(body)}", expires)

    def verify(self, token: str | None, now: float | None = None) -> str | None:
        """The session id of a valid, unexpired token; None for anything else (forged, expired, malformed)."""
        if not token or len(token) > 100:
            return None
        sid, _, rest = token.partition(".")
        expires, _, signature = rest.partition(".")
        if (
            not sid
            or not expires.isdigit()
            or not hmac.compare_digest(signature.encode(), self._sign(f"{sid}.{expires}").encode())
        ):
            return None
        return sid if int(expires) > (time.time() if now is None else now) else None


@dataclass
class Limits:
    """Per-process limiter state (app.state.limits)."""

    users: RateLimiter
    keys: RateLimiter
    starts: RateLimiter  # widget sessions started, per client address
    trusted: list[Network]
    sessions: Sessions

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(
            RateLimiter(settings.rate_limit),
            RateLimiter(settings.key_rate_limit),
            RateLimiter(settings.session_rate_limit),
            settings.trusted_networks,
            Sessions.of(settings),
        )

    def address(self, request: Request) -> str:
        return client_address(
            request.client.host if request.client else None, request.headers.get("x-forwarded-for"), self.trusted
        )

    def identity_of(self, request: Request, role: Role | None, key: str | None) -> tuple[RateLimiter, str]:
        """(bucket, identity). The key itself is never stored, only its digest."""
        if role in ("admin", "reader") and key:
            return self.keys, "key:" + hmac.new(b"qa-rate", key.encode(), "sha256").hexdigest()
        sid = self.sessions.verify(request.headers.get(SESSION_HEADER))
        if sid is not None:  # a forged or expired token is no identity: the visitor is limited by address
            return self.users, "session:" + sid
        return self.users, "addr:" + self.address(request)


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


def authorize(need: Need, session_start: bool = False):  # type: ignore[no-untyped-def]
    """`session_start`: the request starts a widget session; it is limited per client address by
    QA_SESSION_RATE_LIMIT instead of by the caller's identity."""

    def check(request: Request, services: ServicesDep) -> Role | None:
        settings = services.settings
        limits: Limits = request.app.state.limits
        key = _bearer(request)
        role: Role | None = None
        if settings.keys_configured:
            if key is None:
                raise HTTPException(
                    401, "缺少 API 密钥（请求头 Authorization: Bearer <密钥>）", headers={"WWW-Authenticate": "Bearer"}
                )
            role = role_of(settings, key)
            if role is None:
                raise HTTPException(401, "API 密钥无效", headers={"WWW-Authenticate": "Bearer"})
            if need == "admin" and role != "admin":
                raise HTTPException(403, "该操作需要管理员密钥")
            if role == "widget" and not _allowed_origin(request, settings):
                raise HTTPException(403, "此密钥只能在允许的网页来源中使用")
        limiter, who = (
            (limits.starts, "addr:" + limits.address(request))
            if session_start
            else limits.identity_of(request, role, key)
        )
        wait = limiter.check(who)
        if wait is not None:
            raise HTTPException(429, "请求过于频繁，请稍后再试", headers={"Retry-After": str(max(1, math.ceil(wait)))})
        return role

    return check


ReadAccess = Annotated[Role | None, Depends(authorize("read"))]
AdminAccess = Annotated[Role | None, Depends(authorize("admin"))]
