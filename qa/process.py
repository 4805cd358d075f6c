"""Run a local server process until it answers a readiness URL, and stop it afterwards.

Shared by the tests (`qa serve`, `chroma run`) and the benchmarks, which all start real servers on
127.0.0.1 rather than mocking them.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx


def process_gone(host: str, pid: int) -> bool:
    """Whether the process `pid` on `host` is known to have ended: only a process on this host can be checked (one
    elsewhere, or one this user may not signal, is taken as alive)."""
    if host != socket.gethostname():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_process(
    cmd: Sequence[str], *, ready_url: str, log_path: Path, env: Mapping[str, str] | None = None, timeout: float = 180
) -> Iterator[subprocess.Popen[bytes]]:
    """Start `cmd` (output to `log_path`), wait until GET `ready_url` answers 200, yield the process;
    terminate it (kill after 30 s) on exit. Raises if the process exits or is not ready within `timeout`."""
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            list(cmd), env=dict(env) if env is not None else None, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"{Path(cmd[0]).name} exited: {log_path.read_text(errors='replace')[-3000:]}")
                try:
                    if httpx.get(ready_url, timeout=5).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{Path(cmd[0]).name} did not become ready within {timeout:.0f} s")
                time.sleep(0.3)
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
