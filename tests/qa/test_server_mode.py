"""Chroma server mode: one `chroma run`, two `qa serve` replicas (QA_CHROMA_URL), with their own data dirs or
sharing one.

A document uploaded through one replica is found (dense and lexical) through the other within a bounded time,
and a delete through one is gone from both: each replica's BM25 index follows the store's change token, never a
stale copy of its own.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest

from qa.process import running_process
from tests.conftest import SAMPLES
from tests.support.server import free_port, running_server

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

CHROMA = str(Path(sys.executable).with_name("chroma"))
# How long a replica may take to notice another replica's change: its catalogue check runs every ~2 s,
# then the BM25 index over this small store is rebuilt in well under a second.
PROPAGATION_S = 20.0
DOC = SAMPLES / "002_746ff3ccd9e6e85d.txt"
# A phrase of that sample, and one word from it, for the dense and the lexical search.
DENSE_QUERY = "项目资金管理及使用情况"
LEXICAL_QUERY = "项目资金"


@contextmanager
def chroma_server(path: Path) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [CHROMA, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)]
    with running_process(cmd, ready_url=f"{url}/api/v2/heartbeat", log_path=path.parent / "chroma.log", timeout=60):
        yield url


def _doc_ids(base: str, query: str, mode: str) -> set[str]:
    r = httpx.post(f"{base}/v1/search", json={"query": query, "mode": mode, "top_k": 10}, timeout=30)
    assert r.status_code == 200, r.text
    return {h["doc_id"] for h in r.json()["hits"]}


def _eventually(check: Callable[[], bool], what: str, timeout: float = PROPAGATION_S) -> float:
    """Seconds until check() held; fails after `timeout`."""
    t0 = time.monotonic()
    while not check():
        if time.monotonic() - t0 > timeout:
            pytest.fail(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.25)
    return time.monotonic() - t0


@pytest.mark.parametrize("data_dirs", ["own", "shared"])
def test_two_replicas_share_one_chroma_server(tmp_path: Path, data_dirs: str) -> None:
    """`own`: each replica keeps its derived state (BM25, prepared sentences, findings snapshot) under its own data
    dir; `shared`: both on one data dir (a shared volume), where each writes segments under names of its own and
    renames pointers into place, so either replica's files serve both and a restart."""
    with ExitStack() as stack:
        url = stack.enter_context(chroma_server(tmp_path / "chroma"))
        env = {"QA_CHROMA_URL": url}
        dirs = (tmp_path / "a", tmp_path / "b") if data_dirs == "own" else (tmp_path / "shared",) * 2
        for d in dirs:
            d.mkdir(exist_ok=True)
        a = stack.enter_context(running_server(dirs[0], env=env, timeout=120))
        b = stack.enter_context(running_server(dirs[1], env=env, timeout=120))

        for base in (a, b):
            assert httpx.get(f"{base}/readyz", timeout=10).json()["documents"] == 0

        with DOC.open("rb") as f:
            up = httpx.post(f"{a}/v1/documents", files={"file": (DOC.name, f, "text/plain")}, timeout=120)
        assert up.status_code == 201, up.text
        doc_id = up.json()["doc_id"]

        # The writer sees it at once; the other replica within the propagation bound, on both sides.
        assert doc_id in _doc_ids(a, DENSE_QUERY, "dense")
        assert doc_id in _doc_ids(a, LEXICAL_QUERY, "bm25")
        _eventually(lambda: doc_id in _doc_ids(b, DENSE_QUERY, "dense"), "dense hit on replica b")
        _eventually(lambda: doc_id in _doc_ids(b, LEXICAL_QUERY, "bm25"), "lexical hit on replica b")
        assert any(d["doc_id"] == doc_id for d in httpx.get(f"{b}/v1/documents", timeout=10).json())

        # Delete through b: gone from b at once, from a within the bound — dense, lexical and catalogue.
        assert httpx.delete(f"{b}/v1/documents/{doc_id}", timeout=30).status_code == 200
        assert doc_id not in _doc_ids(b, LEXICAL_QUERY, "bm25")
        assert doc_id not in _doc_ids(b, DENSE_QUERY, "dense")
        _eventually(lambda: doc_id not in _doc_ids(a, LEXICAL_QUERY, "bm25"), "lexical hit gone from replica a")
        _eventually(lambda: doc_id not in _doc_ids(a, DENSE_QUERY, "dense"), "dense hit gone from replica a")
        _eventually(lambda: not httpx.get(f"{a}/v1/documents", timeout=10).json(), "catalogue of replica a empty")
        assert httpx.get(f"{a}/v1/documents/{doc_id}", timeout=10).status_code == 404

        # An ingest job started on one replica is followed on the other (job state lives in the store), as a
        # console behind a round-robin balancer polls it.
        assert httpx.get(f"{b}/readyz", timeout=10).json()["store"] == "server"
        job = httpx.post(f"{a}/v1/jobs/ingest", files=[("files", (DOC.name, DOC.read_bytes()))], timeout=120).json()
        _eventually(
            lambda: httpx.get(f"{b}/v1/jobs/{job['job_id']}", timeout=10).json()["status"] == "done",
            "job done, seen on replica b",
        )
        seen = httpx.get(f"{b}/v1/jobs/{job['job_id']}", timeout=10).json()
        assert seen["files"][0]["status"] == "new" and seen["files"][0]["doc_id"] == doc_id
        assert httpx.get(f"{b}/v1/jobs", timeout=10).json()["items"][0]["job_id"] == job["job_id"]
