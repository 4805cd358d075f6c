"""How `qa ask` prints an answer (qa.cli.print_answer) at any terminal width, and unwrapped into a file or pipe."""

from __future__ import annotations

import io
import re

import pytest
from rich.cells import cell_len
from rich.console import Console

from qa.api.schemas import AskOut, CitationOut
from qa.cli import print_answer

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
