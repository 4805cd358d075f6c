"""Keys, roles, widget origins, rate limit and the bind guard (qa.api.auth), against a real `qa serve`; the client
address and session-token rules in-process (behind a real proxy: tests/qa/test_proxy.py)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from qa.api.auth import Sessions, client_address
from qa.settings import Settings
from tests.conftest import SAMPLES
from tests.support.server import QA, running_server

ORIGIN = "http://intranet.example"
KEYS = {
    "QA_API_KEYS": "reader-key,burst-key",
    "QA_ADMIN_KEYS": "admin-key",
    "QA_WIDGET_KEYS": "widget-key",
    "QA_CORS_ORIGINS": ORIGIN,
    "QA_RATE_LIMIT": "15/min",
    "QA_KEY_RATE_LIMIT": "15/min",
}
QUESTION = {"question": "哪些单位提到预算编制不够细化？"}


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    data = tmp_path_factory.mktemp("auth-data")
    with running_server(data, "--seed", str(SAMPLES), env=KEYS) as base:
        yield base, data


def bearer(key: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **extra}


@pytest.mark.slow
def test_missing_and_unknown_keys_are_401(secured: tuple[str, Path]) -> None:
    base, _ = secured
    for r in (
        httpx.post(f"{base}/v1/ask", json=QUESTION),
        httpx.get(f"{base}/v1/documents"),
        httpx.post(f"{base}/v1/ask", json=QUESTION, headers=bearer("wrong-key")),
    ):
        assert r.status_code == 401 and not r.json()["detail"].isascii()
    assert httpx.get(f"{base}/healthz").status_code == 200  # probes stay open


@pytest.mark.slow
def test_reader_may_read_but_not_write(secured: tuple[str, Path]) -> None:
    base, _ = secured
    assert httpx.post(f"{base}/v1/ask", json=QUESTION, headers=bearer("reader-key"), timeout=60).status_code == 200
    docs = httpx.get(f"{base}/v1/documents", headers=bearer("reader-key")).json()
    r = httpx.delete(f"{base}/v1/documents/{docs[0]['doc_id']}", headers=bearer("reader-key"))
    assert r.status_code == 403 and "管理员" in r.json()["detail"]
    up = httpx.post(f"{base}/v1/documents", files={"file": ("a.txt", "测试".encode())}, headers=bearer("reader-key"))
    assert up.status_code == 403
    assert len(httpx.get(f"{base}/v1/documents", headers=bearer("admin-key")).json()) == 5


@pytest.mark.slow
def test_admin_uploads_and_deletes(secured: tuple[str, Path]) -> None:
    base, _ = secured
    text = "某某区审计测试中心2021年度部门整体支出绩效评价报告\n一、存在的问题\n1、资产台账更新不及时。\n"
    up = httpx.post(
        f"{base}/v1/documents", files={"file": ("审计测试.txt", text.encode())}, headers=bearer("admin-key"), timeout=60
    )
    assert up.status_code == 201
    assert httpx.delete(f"{base}/v1/documents/{up.json()['doc_id']}", headers=bearer("admin-key")).status_code == 200


@pytest.mark.slow
def test_widget_key_only_from_allowed_origins(secured: tuple[str, Path]) -> None:
    base, _ = secured
    ok = httpx.post(f"{base}/v1/ask", json=QUESTION, headers=bearer("widget-key", Origin=ORIGIN), timeout=60)
    assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == ORIGIN
    assert httpx.post(f"{base}/v1/ask", json=QUESTION, headers=bearer("widget-key")).status_code == 403
    assert (
        httpx.post(
            f"{base}/v1/ask", json=QUESTION, headers=bearer("widget-key", Origin="http://evil.example")
        ).status_code
        == 403
    )
    assert httpx.delete(f"{base}/v1/documents/x", headers=bearer("widget-key", Origin=ORIGIN)).status_code == 403
    preflight = httpx.options(
        f"{base}/v1/ask/stream",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert preflight.status_code == 200 and "authorization" in preflight.headers["access-control-allow-headers"].lower()


@pytest.mark.slow
def test_rate_limit_answers_429_with_retry_after(secured: tuple[str, Path]) -> None:
    base, _ = secured
    statuses = [
        httpx.post(f"{base}/v1/search", json={"query": "预算"}, headers=bearer("burst-key")).status_code
        for _ in range(17)
    ]
    assert statuses[:15] == [200] * 15 and statuses[-1] == 429
    r = httpx.post(f"{base}/v1/search", json={"query": "预算"}, headers=bearer("burst-key"))
    assert r.status_code == 429 and 1 <= int(r.headers["retry-after"]) <= 60
    # Other keys have their own budget.
    assert httpx.post(f"{base}/v1/search", json={"query": "预算"}, headers=bearer("reader-key")).status_code == 200


@pytest.mark.slow
def test_keys_never_reach_the_log(secured: tuple[str, Path]) -> None:
    _, data = secured
    log = "".join(p.read_text() for p in data.glob("server-*.log"))
    assert not any(k in log for k in ("reader-key", "admin-key", "widget-key", "burst-key"))


@pytest.mark.slow
def test_serve_refuses_open_bind_without_keys(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")} | {"QA_DATA_DIR": str(tmp_path)}
    r = subprocess.run([QA, "serve", "--host", "0.0.0.0"], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 2 and "--insecure" in r.stderr


def test_forwarded_for_is_believed_only_from_trusted_proxies() -> None:
    trusted = Settings(trusted_proxies="10.0.0.0/8, 127.0.0.1").trusted_networks
    assert client_address("192.168.1.7", "1.2.3.4", trusted) == "192.168.1.7"  # peer not a proxy: header ignored
    assert client_address("127.0.0.1", "192.168.1.7", trusted) == "192.168.1.7"
    # The client wrote "1.2.3.4" itself; the right-most address a trusted proxy did not add is the client.
    assert client_address("127.0.0.1", "1.2.3.4, 192.168.1.7, 10.0.0.2", trusted) == "192.168.1.7"
    assert client_address("127.0.0.1", "10.0.0.3, 10.0.0.2", trusted) == "10.0.0.3"  # only proxies: the first
    assert client_address("127.0.0.1", None, trusted) == "127.0.0.1"
    assert client_address("127.0.0.1", "1.2.3.4", []) == "127.0.0.1"  # nothing trusted by default
    with pytest.raises(ValueError, match="QA_TRUSTED_PROXIES"):
        Settings(trusted_proxies="10.0.0.0/8, intranet-lb")


def test_session_tokens_expire_and_cannot_be_forged() -> None:
    sessions = Sessions(b"secret", ttl=600)
    token = sessions.mint(now=1000.0)
    assert sessions.verify(token.token, now=1500.0) and token.expires_at == 1600
    assert sessions.verify(token.token, now=1601.0) is None  # expired
    sid, expires, signature = token.token.split(".")
    assert sessions.verify(f"{sid}.{int(expires) + 86400}.{signature}", now=1500.0) is None  # extended by hand
    assert sessions.verify(f"other.{expires}.{signature}", now=1500.0) is None
    assert Sessions(b"another secret", ttl=600).verify(token.token, now=1500.0) is None
    for junk in ("", "a.b", "a.b.c.d", "x" * 500, None):
        assert sessions.verify(junk, now=1500.0) is None
    # Replicas with the same keys derive the same secret (they accept each other's tokens); other keys do not.
    same = Settings(widget_keys="w", admin_keys="a")
    assert Sessions.of(same).verify(Sessions.of(same).mint().token)
    assert Sessions.of(Settings(widget_keys="w2", admin_keys="a")).verify(Sessions.of(same).mint().token) is None
