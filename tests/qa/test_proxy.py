"""Rate limits behind a real reverse proxy: Debian's nginx (scripts/install-test-deps.sh) in front of `qa serve`,
configured as the README's deployment does, with end users on distinct loopback addresses (127.0.0.x).

Over the limit an end user gets 429 while another does not; X-Forwarded-For counts only as far as the trusted
proxy appended to it; every widget visitor has a session of their own, so 32 visitors behind one address are
not limited together; a forged session token buys nothing. (The same rules in-process:
tests/qa/api/test_auth.py.)"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from qa.process import free_port, running_process
from tests.support.server import running_server

ORIGIN = "http://intranet.example"
LIMIT = 5
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

NGINX_CONF = """
worker_processes 1;
daemon off;
{user}
pid {run}/nginx.pid;
error_log {run}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {run}/body;
    proxy_temp_path {run}/proxy;
    fastcgi_temp_path {run}/fastcgi;
    uwsgi_temp_path {run}/uwsgi;
    scgi_temp_path {run}/scgi;
    upstream qa {{ server 127.0.0.1:{upstream}; }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://qa;
            proxy_http_version 1.1;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_buffering off;
            proxy_read_timeout 120s;
        }}
    }}
}}
"""


# ---- behind nginx ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not os.access(NGINX, os.X_OK):
        pytest.fail(f"{NGINX} not found: run `bash scripts/install-test-deps.sh`")
    data = tmp_path_factory.mktemp("proxy-data")
    env = {
        "QA_WIDGET_KEYS": "page-key",
        "QA_CORS_ORIGINS": ORIGIN,
        "QA_API_KEYS": "reader-key",
        "QA_TRUSTED_PROXIES": "127.0.0.1/32",
        "QA_RATE_LIMIT": f"{LIMIT}/min",
        "QA_SENTENCE_PASS": "false",
    }
    with running_server(data, env=env) as upstream:
        run = data / "nginx"
        run.mkdir()
        port = free_port()
        user = "user root root;" if os.geteuid() == 0 else ""  # workers must read what the master set up
        conf = run / "nginx.conf"
        conf.write_text(NGINX_CONF.format(user=user, run=run, upstream=upstream.rsplit(":", 1)[1], port=port))
        cmd = [NGINX, "-p", str(run), "-c", str(conf), "-e", str(run / "error.log")]
        with running_process(cmd, ready_url=f"http://127.0.0.1:{port}/readyz", log_path=run / "stdout.log", timeout=30):
            yield f"http://127.0.0.1:{port}"


def user(address: str) -> httpx.Client:
    """An end user on their own machine: connections from `address` (any 127.x works on Linux loopback)."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=30)


def page_headers(**extra: str) -> dict[str, str]:
    return {"Authorization": "Bearer page-key", "Origin": ORIGIN, **extra}


@pytest.mark.slow
def test_two_end_users_behind_the_proxy_are_limited_apart(proxied: str) -> None:
    with user("127.0.0.2") as alice, user("127.0.0.3") as bob:
        first = [alice.get(f"{proxied}/v1/models", headers=page_headers()).status_code for _ in range(LIMIT)]
        assert first == [200] * LIMIT
        over = alice.get(f"{proxied}/v1/models", headers=page_headers())
        assert (
            over.status_code == 429
            and over.json()["detail"] == "请求过于频繁，请稍后再试"
            and 1 <= int(over.headers["retry-after"]) <= 60
        )
        assert bob.get(f"{proxied}/v1/models", headers=page_headers()).status_code == 200
        # Writing someone else's address into X-Forwarded-For does not help: nginx appends the real one.
        forged = alice.get(f"{proxied}/v1/models", headers=page_headers(**{"X-Forwarded-For": "127.0.0.9"}))
        assert forged.status_code == 429
        # Reader keys (scripts, integrations) have their own, larger bucket.
        assert alice.get(f"{proxied}/v1/models", headers={"Authorization": "Bearer reader-key"}).status_code == 200


@pytest.mark.slow
def test_every_widget_visitor_has_a_session_of_their_own(proxied: str) -> None:
    """32 visitors on one address (one office behind NAT): by session, none of them is refused; by address,
    all but LIMIT requests would be."""
    with user("127.0.0.4") as office:
        tokens = []
        for _ in range(32):
            r = office.post(f"{proxied}/v1/widget/session", headers=page_headers())
            assert r.status_code == 200, r.text
            assert r.json()["expires_in"] == 1800 and r.json()["header"] == "X-QA-Session"
            tokens.append(r.json()["token"])
        assert len(set(tokens)) == 32

        def visit(token: str) -> list[int]:
            return [
                office.get(f"{proxied}/v1/models", headers=page_headers(**{"X-QA-Session": token})).status_code
                for _ in range(LIMIT - 1)
            ]

        with ThreadPoolExecutor(8) as pool:
            statuses = [s for visitor in pool.map(visit, tokens) for s in visitor]
        assert statuses == [200] * (32 * (LIMIT - 1))

        # One visitor over their limit is refused; the others are not.
        me = {"X-QA-Session": tokens[0]}
        assert office.get(f"{proxied}/v1/models", headers=page_headers(**me)).status_code == 200
        assert office.get(f"{proxied}/v1/models", headers=page_headers(**me)).status_code == 429
        assert (
            office.get(f"{proxied}/v1/models", headers=page_headers(**{"X-QA-Session": tokens[1]})).status_code == 200
        )

        # A forged token is no identity: the request counts against the address (which has its own budget).
        sid, expires, signature = tokens[0].split(".")
        forged = {"X-QA-Session": f"{sid}x.{expires}.{signature}"}
        by_address = [
            office.get(f"{proxied}/v1/models", headers=page_headers(**forged)).status_code for _ in range(LIMIT + 1)
        ]
        assert by_address == [200] * LIMIT + [429]
