"""Start a real `qa serve` on 127.0.0.1 in a subprocess and wait until it is ready."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

QA = str(Path(sys.executable).with_name("qa"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_server(data_dir: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 180) -> Iterator[str]:
    port = free_port()
    log = (data_dir / f"server-{port}.log").open("w")
    proc = subprocess.Popen(
        [QA, "serve", "--host", "127.0.0.1", "--port", str(port), *args],
        # Test servers answer many requests from one address; only the auth tests exercise the limit.
        env={**os.environ, "QA_DATA_DIR": str(data_dir), "QA_RATE_LIMIT": "100000/min", **(env or {})},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited: {(data_dir / f'server-{port}.log').read_text()}")
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("server did not become ready")
            time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
