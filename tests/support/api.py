"""Calls to a running `qa serve` that several API tests make."""

from __future__ import annotations

import httpx


def ask(api: str, question: str, **body: object) -> dict:  # type: ignore[type-arg]
    """POST /v1/ask; the answer body (the request must succeed)."""
    r = httpx.post(f"{api}/v1/ask", json={"question": question, **body}, timeout=120)
    assert r.status_code == 200, r.text
    return r.json()
