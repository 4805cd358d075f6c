"""Start a real `qa serve` on 127.0.0.1 for a benchmark, with explicit thread settings, and stop it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.common import CACHE

QA = str(Path(sys.executable).with_name("qa"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    base: str
    pid: int
    startup_seconds: float
    log: Path


def server_env(data_dir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    env.update(
        {
            "QA_DATA_DIR": str(data_dir),
            "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "1"),
            # One torch thread per request: a single short query gains nothing from a second thread, and on
            # a busy 2-core machine the OpenMP pair waits on each other (bench/results/query.json:
            # query_embed_threads).
            "QA_TORCH_THREADS": os.environ.get("BENCH_SERVER_TORCH_THREADS", "1"),
            "TOKENIZERS_PARALLELISM": "false",
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            # The benchmark is one client IP sending far more than a user would; the per-client limit is not
            # what is measured here.
            "QA_RATE_LIMIT": "1000000/min",
            "QA_ANSWER_TIMEOUT": os.environ.get("QA_ANSWER_TIMEOUT", "600"),
        }
    )
    for k in ("QA_EMBEDDING_BACKEND", "QA_EMBEDDING_MODEL", "QA_CHROMA_URL"):
        if k in os.environ:
            env[k] = os.environ[k]
    env.update(extra or {})
    return env


@contextmanager
def serve(data_dir: Path, *, env: dict[str, str] | None = None, timeout: float = 900) -> Iterator[Server]:
    port = free_port()
    logs = CACHE / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log_path = logs / f"serve-{port}.log"
    log = log_path.open("w")
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [QA, "serve", "--host", "127.0.0.1", "--port", str(port)], env=server_env(data_dir, env), stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"qa serve exited: {log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("qa serve did not become ready")
            time.sleep(0.3)
        yield Server(base, proc.pid, time.perf_counter() - t0, log_path)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()
