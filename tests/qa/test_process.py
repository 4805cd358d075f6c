"""Real servers for tests and benchmarks (qa.process): a free port, and a process run until it answers its readiness
URL, stopped afterwards; one that exits or never gets ready fails with what it said."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from qa.process import free_port, process_gone, running_process


def test_a_free_port_can_be_bound() -> None:
    port = free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))
    assert 1024 <= port <= 65535


def test_the_process_runs_until_ready_and_is_stopped_afterwards(tmp_path: Path) -> None:
    port = free_port()
    (tmp_path / "ready.txt").write_text("ok", encoding="utf-8")
    cmd = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(tmp_path)]
    url = f"http://127.0.0.1:{port}/ready.txt"
    with running_process(cmd, ready_url=url, log_path=tmp_path / "server.log", timeout=60) as proc:
        assert proc.poll() is None and httpx.get(url).text == "ok"
    assert proc.poll() is not None  # terminated on leaving
    with pytest.raises(httpx.ConnectError):
        httpx.get(url, timeout=2)


def test_a_process_that_exits_fails_with_its_output(tmp_path: Path) -> None:
    cmd = [sys.executable, "-c", "import sys; print('端口已被占用'); sys.exit(3)"]
    with pytest.raises(RuntimeError, match="端口已被占用"):
        with running_process(cmd, ready_url=f"http://127.0.0.1:{free_port()}/", log_path=tmp_path / "log.txt"):
            pass


def test_a_process_that_never_gets_ready_times_out_and_is_stopped(tmp_path: Path) -> None:
    cmd = [sys.executable, "-c", "import time; time.sleep(60)"]
    with pytest.raises(TimeoutError, match="did not become ready within 1 s"):
        with running_process(
            cmd, ready_url=f"http://127.0.0.1:{free_port()}/", log_path=tmp_path / "log.txt", timeout=1
        ):
            pass


def test_process_gone_only_for_an_ended_process_on_this_host() -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    host = socket.gethostname()
    assert process_gone(host, dead.pid)
    assert not process_gone(host, os.getpid())
    assert not process_gone("another-host", dead.pid)  # cannot be checked from here: taken as alive
