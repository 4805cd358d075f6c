"""How long commands report progress into a log (qa.progress): count, rate and time left, a line per twentieth, and at
least every ten seconds."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from qa.progress import LogTracker, duration, progress


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_log_progress_prints_count_rate_and_time_left(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    monkeypatch.setattr("qa.progress.time.monotonic", clock)
    buffer = io.StringIO()
    console = Console(file=buffer, width=80, force_terminal=False)
    with progress(console, "导入", 600, "篇") as tracker:
        assert isinstance(tracker, LogTracker)
        for i in range(600):
            clock.now += 0.2  # 5 documents a second
            tracker.advance(1, note=f"{i:03d}.txt")
    lines = buffer.getvalue().splitlines()
    assert lines[0] == "导入：开始，共 600 篇"
    assert lines[1] == "导入：30/600 篇（5%） · 5.0 篇/秒 · 已用 6 秒 · 预计还需 1 分 54 秒 · 当前 029.txt"
    assert lines[-1].startswith("导入：600/600 篇（100%） · 5.0 篇/秒 · 已用 2 分 0 秒")
    assert len(lines) == 21  # a line per 30 documents (a twentieth), never one per document


def test_log_progress_speaks_up_at_least_every_ten_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    monkeypatch.setattr("qa.progress.time.monotonic", clock)
    buffer = io.StringIO()
    tracker = LogTracker(Console(file=buffer, force_terminal=False), "准备句子", 100_000, "个段落")
    clock.now += 12
    tracker.update(300)  # far below a twentieth, but 12 s since the last line
    tracker.close()
    assert "准备句子：300/100000 个段落（0%） · 25.0 个段落/秒 · 已用 12 秒 · 预计还需 1 小时 6 分" in buffer.getvalue()
    assert duration(59.6) == "1 分 0 秒" and duration(7322) == "2 小时 2 分"
