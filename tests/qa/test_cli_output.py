"""How `qa ask` prints an answer at any terminal width, and how long commands report progress into a log."""

from __future__ import annotations

import io
import re

import pytest
from rich.cells import cell_len
from rich.console import Console

from qa.api.schemas import AskOut, CitationOut
from qa.cli import print_answer
from qa.progress import LogTracker, duration, progress
from qa.termwrap import wrap

HESHAN = "益阳市赫山区投资促进服务中心"
ANSWER = (
    "共有 2 个单位提到“预算编制不够细化”：\n"
    f"1. {HESHAN}：“预算编制不够明确和细化，预算编制的合理性需要提高。”[1]\n"
    "2. 湖南省大祥工业集中区管理委员会：“1、预算编制不够细化。”[2]\n"
    "相近但不相同的表述（未计入）：\n"
    "- 芙蓉区商务局：“绩效目标不够细化，部分项目的绩效指标设置不够合理，难以量化考核，影响了绩效评价工作的开展。”[3]"
)


def citation(n: int, unit: str, source: str, section: str, start: int) -> CitationOut:
    return CitationOut(
        id=n,
        doc_id="d",
        source=source,
        unit=unit,
        year=2021,
        title="",
        section=section,
        text="…",
        char_start=start,
        char_end=start + 25,
        score=1.0,
    )


OUT = AskOut(
    answer=ANSWER,
    kind="aggregate",
    resolved_question="哪些单位提到预算编制不够细化？",
    filters={},
    citations=[
        citation(1, HESHAN, "001_5adf402d10fbcc74.txt", "七、存在的问题及原因分析", 2121),
        citation(
            2, "湖南省大祥工业集中区管理委员会", "004_30f3d27d840c4c9e.txt", "三、部门整体支出绩效评价存在的问题", 2121
        ),
        citation(3, "芙蓉区商务局", "003_332cd0b86e5ac67a.txt", "四、存在的问题", 1500),
    ],
)
_NO_START = "，。、；：！？）》」』”’"


def printed(width: int, terminal: bool = True) -> list[str]:
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=terminal, color_system=None)
    print_answer(console, OUT, "哪些单位提到预算编制不够细化？")
    return buffer.getvalue().rstrip("\n").split("\n")


def logical(lines: list[str]) -> list[str]:
    """Display lines joined back into logical lines: a continuation is an indented line."""
    out: list[str] = []
    for line in lines:
        if line.startswith(" ") and out:
            out[-1] += line.lstrip()
        else:
            out.append(line)
    return out


@pytest.mark.parametrize("width", [40, 80, 200])
def test_ask_output_wraps_cleanly_at_any_width(width: int) -> None:
    lines = printed(width)
    expected = ANSWER.split("\n") + [
        f"[1] {HESHAN}（2021年）· 七、存在的问题及原因分析 · 001_5adf402d10fbcc74.txt · 字符 2121–2146",
        "[2] 湖南省大祥工业集中区管理委员会（2021年）· 三、部门整体支出绩效评价存在的问题 · 004_30f3d27d840c4c9e.txt · 字符 2121–2146",
        "[3] 芙蓉区商务局（2021年）· 四、存在的问题 · 003_332cd0b86e5ac67a.txt · 字符 1500–1525",
    ]
    # Nothing lost or reordered: breaks only drop the spaces they replace.
    assert [re.sub(r"\s", "", x) for x in logical(lines)] == [re.sub(r"\s", "", x) for x in expected]
    for line in lines:
        assert cell_len(line) <= width, line
        assert not re.fullmatch(r"\s*(\d+\.|-|\[\d+\])\s*", line), f"a list marker alone on its line: {line!r}"
        assert line.strip()[0] not in _NO_START, f"a line starts with closing punctuation: {line!r}"
        assert not re.match(r"\s*\[\d+\]", line) or line.startswith("["), (
            f"a citation marker split from its sentence: {line!r}"
        )
    for n in (1, 2):  # each numbered item starts its own line, with text after the number
        assert any(re.match(rf"{n}\. \S", line) for line in lines)
    if width == 200:
        assert len(lines) == len(expected)


def test_ask_output_to_a_file_or_pipe_is_never_wrapped() -> None:
    lines = printed(40, terminal=False)
    assert lines[: len(ANSWER.split("\n"))] == ANSWER.split("\n")


def test_wrap_keeps_numbers_and_file_names_whole() -> None:
    line = "1. 赫山区投资促进服务中心2021年基本支出为388.07万元，详见001_5adf402d10fbcc74.txt。[1]"
    for width in range(24, 80, 3):
        text = " ".join(wrap(line, width))
        assert "388.07" in text.replace(" ", "") and "001_5adf402d10fbcc74.txt" in text.replace(" ", "")
        assert all("388" not in part or "388.07" in part for part in wrap(line, width))


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
