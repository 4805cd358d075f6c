"""The bundled sample reports (samples/*.txt) copied into a test's folder, under another name or with text added:
what a user re-ingesting, renaming or editing a report gives the library."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import SAMPLES

S001 = SAMPLES / "001_5adf402d10fbcc74.txt"  # 益阳市赫山区投资促进服务中心 2021
S004 = SAMPLES / "004_30f3d27d840c4c9e.txt"  # 湖南省大祥工业集中区管理委员会: says 预算编制不够细化


def copy_sample(src: Path, folder: Path, name: str | None = None, extra: str = "") -> Path:
    """`src` written to `folder` (created if needed) as `name` (default: its own name), `extra` appended."""
    folder.mkdir(parents=True, exist_ok=True)
    dst = folder / (name or src.name)
    dst.write_text(src.read_text(encoding="utf-8") + extra, encoding="utf-8")
    return dst
