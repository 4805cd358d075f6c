"""The service's process-wide state (qa.api.deps.Services) through a real `qa serve`: the background sentence pass
prepares every stored chunk and then each upload's; the background fusion tuning chooses the library's weight after
uploads, and /readyz reports both."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import SAMPLES
from tests.support.api import ask
from tests.support.server import running_server

U001 = "益阳市赫山区投资促进服务中心"


def test_server_tunes_in_the_background_after_uploads_and_readyz_shows_it(tmp_path: Path) -> None:
    env = {"QA_FUSION_TUNING": "true", "QA_FUSION_TUNING_QUERIES": "30"}
    (tmp_path / "data").mkdir()
    with running_server(tmp_path / "data", env=env, timeout=300) as base:
        assert httpx.get(f"{base}/readyz").json()["fusion"]["source"] == "default"  # nothing to tune on yet
        for path in sorted(SAMPLES.glob("*.txt"))[:3]:
            with path.open("rb") as f:
                assert (
                    httpx.post(
                        f"{base}/v1/documents", files={"file": (path.name, f, "text/plain")}, timeout=300
                    ).status_code
                    == 201
                )
        deadline = time.monotonic() + 300
        while (fusion := httpx.get(f"{base}/readyz", timeout=30).json()["fusion"])[
            "source"
        ] != "tuned" and time.monotonic() < deadline:
            time.sleep(1)
        assert fusion["source"] == "tuned" and fusion["method"] == "convex" and 0 <= fusion["alpha"] <= 1
        assert fusion["pseudo_queries"] >= 30 and set(fusion["pseudo_mrr@10"]) == {"chosen", "default", "bm25", "dense"}
        assert (
            httpx.post(
                f"{base}/v1/search", json={"query": "项目资金未实行专账核算", "mode": "hybrid"}, timeout=30
            ).status_code
            == 200
        )


def _prepared(api: str, at_least: int, timeout: float = 90) -> dict:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout
    while True:
        ready = httpx.get(f"{api}/readyz").json()
        if ready["sentences_prepared"] >= at_least or time.monotonic() > deadline:
            return ready  # type: ignore[no-any-return]
        time.sleep(0.5)


@pytest.mark.slow
def test_background_pass_prepares_every_chunk_then_each_upload(api: str) -> None:
    """`qa serve` prepares aggregate sentences in the background (qa.sentences): all stored chunks after start,
    and an upload's chunks within seconds of it, which the next aggregate then uses."""
    ready = _prepared(api, httpx.get(f"{api}/readyz").json()["chunks"])
    assert ready["sentences_prepared"] == ready["chunks"] > 0
    text = (SAMPLES / "001_5adf402d10fbcc74.txt").read_text(encoding="utf-8").replace(U001, "益阳市测试服务中心")
    up = httpx.post(
        f"{api}/v1/documents", files={"file": ("后台准备.txt", text.encode("utf-8"), "text/plain")}, timeout=120
    )
    assert up.status_code == 201, up.text
    try:
        after = _prepared(api, ready["chunks"] + up.json()["n_chunks"])
        assert after["sentences_prepared"] == after["chunks"] == ready["chunks"] + up.json()["n_chunks"]
        assert "益阳市测试服务中心" in {u["unit"] for u in ask(api, "哪些单位提到预算编制不够细化？")["units"]}
    finally:
        assert httpx.delete(f"{api}/v1/documents/{up.json()['doc_id']}").status_code == 200
