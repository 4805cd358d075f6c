"""GET /v1/whoami and POST /v1/widget/session against a real `qa serve` with keys (the shared `keyed_api`): the
role of the key presented, and a signed, expiring session token for a widget visitor."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from qa.settings import Settings
from tests.conftest import ADMIN_KEY, READER_KEY

pytestmark = pytest.mark.slow


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_whoami_names_the_role_of_the_key(keyed_api: tuple[str, Path]) -> None:
    base, _ = keyed_api
    assert httpx.get(f"{base}/v1/whoami", headers=bearer(ADMIN_KEY)).json() == {"role": "admin", "keys_required": True}
    assert httpx.get(f"{base}/v1/whoami", headers=bearer(READER_KEY)).json() == {
        "role": "reader",
        "keys_required": True,
    }
    assert httpx.get(f"{base}/v1/whoami").status_code == 401


def test_a_widget_session_is_a_signed_token_that_expires(keyed_api: tuple[str, Path]) -> None:
    base, _ = keyed_api
    r = httpx.post(f"{base}/v1/widget/session", headers=bearer(READER_KEY))
    assert r.status_code == 200, r.text
    body = r.json()
    ttl = Settings().session_ttl
    assert body["header"] == "X-QA-Session" and body["expires_in"] == ttl
    assert abs(body["expires_at"] - (time.time() + ttl)) < 60
    sid, expires, signature = body["token"].split(".")
    assert sid and int(expires) == body["expires_at"] and signature
    # The token is an identity for rate limiting only: requests carrying it are served as before.
    search = httpx.post(
        f"{base}/v1/search", json={"query": "预算"}, headers={**bearer(READER_KEY), "X-QA-Session": body["token"]}
    )
    assert search.status_code == 200
    assert httpx.post(f"{base}/v1/widget/session").status_code == 401  # a key is still needed
