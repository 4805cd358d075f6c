"""Start a real `qa serve` on 127.0.0.1 for a benchmark, with explicit thread settings, and stop it."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.common import CACHE
from qa.process import free_port, running_process

QA = str(Path(sys.executable).with_name("qa"))


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
            "QA_KEY_RATE_LIMIT": "1000000/min",
            "QA_ANSWER_TIMEOUT": os.environ.get("QA_ANSWER_TIMEOUT", "600"),
        }
    )
    for k in (
        "QA_EMBEDDING_BACKEND",
        "QA_QUERY_EMBEDDING_BACKEND",
        "QA_EMBEDDING_MODEL",
        "QA_MODEL_CACHE_DIR",
        "QA_CHROMA_URL",
    ):
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
    base = f"http://127.0.0.1:{port}"
    t0 = time.perf_counter()
    cmd = [QA, "serve", "--host", "127.0.0.1", "--port", str(port)]
    with running_process(
        cmd, ready_url=f"{base}/readyz", log_path=log_path, env=server_env(data_dir, env), timeout=timeout
    ) as proc:
        yield Server(base, proc.pid, time.perf_counter() - t0, log_path)
