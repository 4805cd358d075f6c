"""Start a real `qa serve` on 127.0.0.1 in a subprocess and wait until it is ready."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from qa.process import free_port, running_process

__all__ = ["free_port", "running_server"]

QA = str(Path(sys.executable).with_name("qa"))


@contextmanager
def running_server(
    data_dir: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 180
) -> Iterator[str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with running_process(
        [QA, "serve", "--host", "127.0.0.1", "--port", str(port), *args],
        ready_url=f"{base}/readyz",
        log_path=data_dir / f"server-{port}.log",
        # Test servers answer many requests from one address; only the auth tests exercise the limit. They keep the
        # default fusion, so rankings do not move when a background tuning run ends mid-session
        # (tests/qa/api/test_deps.py runs one with tuning on).
        env={
            **os.environ,
            "QA_DATA_DIR": str(data_dir),
            "QA_RATE_LIMIT": "100000/min",
            "QA_KEY_RATE_LIMIT": "100000/min",
            "QA_FUSION_TUNING": "false",
            **(env or {}),
        },
        timeout=timeout,
    ):
        yield base
