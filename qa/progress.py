"""Progress of long commands (`qa ingest`, `qa eval`, `qa sentences`, `qa reindex`) on a terminal and in a log.

On a terminal: rich's live bar. Anywhere else (a log file, a CI job, a pipe) a live bar prints nothing until it
ends — a 600-document ingest into a log was silent for 22 minutes — so there a line is printed every
`step` items (a twentieth of the total by default), at least every 10 s while items complete, and every 30 s
when nothing completes (one slow batch), each with the count, rate and time left:

    导入：120/600 篇（20%）· 2.1 篇/秒 · 已用 57 秒 · 预计还需 3 分 48 秒 · 当前 a.txt
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

LINE_EVERY = 10.0  # seconds: at most this long between lines while items complete
HEARTBEAT = 30.0  # seconds: a line even when nothing completed (one long batch)


class Tracker(Protocol):
    def update(self, done: int, total: int | None = None, note: str = "") -> None: ...

    def advance(self, n: int = 1, note: str = "") -> None: ...

    def detail(self, label: str, done: int, total: int, unit: str) -> None:
        """A sub-step of the current item (the OCR pages of one scan)."""
        ...


def duration(seconds: float) -> str:
    """12 秒 / 3 分 48 秒 / 1 小时 2 分."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s} 秒"
    if s < 3600:
        return f"{s // 60} 分 {s % 60} 秒"
    return f"{s // 3600} 小时 {s % 3600 // 60} 分"


class LogTracker:
    """Plain lines for a log; thread-safe (callbacks may come from worker threads)."""

    def __init__(self, console: Console, label: str, total: int | None, unit: str, step: int | None = None) -> None:
        self.console, self.label, self.total, self.unit = console, label, total, unit
        self._step = step
        self.done = 0
        self.started = time.monotonic()
        self._last_line = self.started
        self._last_done = 0
        self._note = ""
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._beat = threading.Thread(target=self._heartbeat, name="qa-progress", daemon=True)
        self.console.print(
            f"{label}：开始" + (f"，共 {total} {unit}" if total else ""), highlight=False, markup=False, soft_wrap=True
        )
        self._beat.start()

    def step(self) -> int:
        return self._step or max(1, math.ceil((self.total or 20) / 20))

    def update(self, done: int, total: int | None = None, note: str = "") -> None:
        with self._lock:
            if done < self.done or (total is not None and self.total is not None and total != self.total):
                # A new phase counting from zero (BEIR: encode the corpus, then the queries): rates start over.
                self.started, self._last_done = time.monotonic(), 0
            self.done = done
            if total is not None:
                self.total = total
            if note:
                self._note = note
            now = time.monotonic()
            finished = self.total is not None and done >= self.total
            if done > self._last_done and (
                done - self._last_done >= self.step() or now - self._last_line >= LINE_EVERY or finished
            ):
                self._print(now)

    def advance(self, n: int = 1, note: str = "") -> None:
        self.update(self.done + n, note=note)

    def detail(self, label: str, done: int, total: int, unit: str) -> None:
        """One line per sub-step: a page of OCR takes seconds, so every one is worth a line."""
        if done:
            with self._lock:
                self.console.print(f"{label}：第 {done}/{total} {unit}", highlight=False, markup=False, soft_wrap=True)

    def line(self, now: float | None = None) -> str:
        now = time.monotonic() if now is None else now
        elapsed = now - self.started
        parts = [f"{self.label}：{self.done}" + (f"/{self.total}" if self.total else "") + f" {self.unit}"]
        if self.total:
            parts[0] += f"（{100 * self.done // self.total}%）"
        rate = self.done / elapsed if elapsed > 0 else 0.0
        if self.done:
            parts.append(f"{rate:.1f} {self.unit}/秒" if rate >= 0.95 else f"{60 * rate:.1f} {self.unit}/分")
        parts.append(f"已用 {duration(elapsed)}")
        if self.total and self.done and self.done < self.total:
            parts.append(f"预计还需 {duration((self.total - self.done) / rate)}")
        if self._note:
            parts.append(f"当前 {self._note}")
        return " · ".join(parts)

    def _print(self, now: float) -> None:
        self.console.print(self.line(now), highlight=False, markup=False, soft_wrap=True)
        self._last_line, self._last_done = now, self.done

    def _heartbeat(self) -> None:
        while not self._stop.wait(1.0):
            with self._lock:
                now = time.monotonic()
                if now - self._last_line >= HEARTBEAT:
                    self._print(now)

    def close(self) -> None:
        self._stop.set()
        with self._lock:
            if self.done != self._last_done:
                self._print(time.monotonic())


class BarTracker:
    def __init__(self, bar: Progress, label: str, total: int | None) -> None:
        self.bar, self.label = bar, label
        self.task = bar.add_task(label, total=total)
        self.done = 0
        self._detail: TaskID | None = None

    def update(self, done: int, total: int | None = None, note: str = "") -> None:
        self.done = done
        description = f"{self.label} {note}" if note else self.label
        if total is not None:
            self.bar.update(self.task, completed=done, total=total, description=description)
        else:
            self.bar.update(self.task, completed=done, description=description)

    def advance(self, n: int = 1, note: str = "") -> None:
        self.update(self.done + n, note=note)

    def detail(self, label: str, done: int, total: int, unit: str) -> None:
        """A second bar under the main one, reused for each item that has sub-steps."""
        if self._detail is None:
            self._detail = self.bar.add_task(label, total=total)
        self.bar.update(self._detail, completed=done, total=total, description=label)


@contextmanager
def progress(console: Console, label: str, total: int | None, unit: str, step: int | None = None) -> Iterator[Tracker]:
    """A live bar on a terminal, log lines anywhere else (see module docstring)."""
    if console.is_terminal:
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=console) as bar:
            yield BarTracker(bar, label, total)
        return
    tracker = LogTracker(console, label, total, unit, step)
    try:
        yield tracker
    finally:
        tracker.close()
