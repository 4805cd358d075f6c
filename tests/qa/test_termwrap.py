"""Chinese line wrapping for the terminal (qa.termwrap)."""

from __future__ import annotations

from qa.termwrap import wrap


def test_wrap_keeps_numbers_and_file_names_whole() -> None:
    line = "1. 赫山区投资促进服务中心2021年基本支出为388.07万元，详见001_5adf402d10fbcc74.txt。[1]"
    for width in range(24, 80, 3):
        text = " ".join(wrap(line, width))
        assert "388.07" in text.replace(" ", "") and "001_5adf402d10fbcc74.txt" in text.replace(" ", "")
        assert all("388" not in part or "388.07" in part for part in wrap(line, width))
