"""The `qa` console script as a user runs it: a real subprocess on a temp data dir."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SAMPLES
from tests.ingest.hostile_files import hostile_files
from tests.ingest.test_ocr import pdf_pages, scanned
from tests.ingest.test_readers import PDF_SHEGONG
from tests.ingest.test_limits import zip_bomb

pytestmark = pytest.mark.slow
QA = [str(Path(sys.executable).with_name("qa"))]


def run(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QA_DATA_DIR": str(data_dir), "COLUMNS": "200"}
    return subprocess.run(QA + list(args), capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli-data")


def test_ingest_search_docs_flow(data_dir: Path, tmp_path: Path) -> None:
    first = run(data_dir, "ingest", str(SAMPLES))
    assert first.returncode == 0, first.stderr
    assert "新增 5 篇" in first.stdout and "失败 0 篇" in first.stdout
    again = run(data_dir, "ingest", str(SAMPLES))
    assert "未变化 5 篇" in again.stdout

    found = run(data_dir, "search", "预算编制不够细化", "--json", "--top-k", "5")
    assert found.returncode == 0, found.stderr
    hits = json.loads(found.stdout)["hits"]
    assert {h["unit"] for h in hits if h["section_role"] == "problems"} >= {"益阳市赫山区投资促进服务中心", "湖南省大祥工业集中区管理委员会"}

    listed = json.loads(run(data_dir, "docs", "list", "--json").stdout)
    assert len(listed) == 5
    doc_id = next(d["doc_id"] for d in listed if d["source"].startswith("004"))
    shown = json.loads(run(data_dir, "docs", "show", doc_id, "--json").stdout)
    assert shown["unit"] == "湖南省大祥工业集中区管理委员会" and "预算编制不够细化" in shown["text"]
    deleted = run(data_dir, "docs", "delete", doc_id)
    assert deleted.returncode == 0
    assert len(json.loads(run(data_dir, "docs", "list", "--json").stdout)) == 4

    # A batch with one bad file: the rest ingests, the failure is named, exit code 1.
    batch = tmp_path / "batch"
    batch.mkdir()
    shutil.copy(SAMPLES / "004_30f3d27d840c4c9e.txt", batch)
    (batch / "broken.pdf").write_bytes(b"not a pdf at all")
    (batch / "bomb.docx").write_bytes(zip_bomb())
    mixed = run(data_dir, "ingest", str(batch))
    assert mixed.returncode == 1
    assert "新增 1 篇" in mixed.stdout and "失败 2 篇" in mixed.stdout
    failures = [line for line in mixed.stderr.splitlines() if line.startswith("失败 ")]
    assert len(failures) == 2 and any(line.startswith("失败 broken.pdf：") for line in failures)
    assert any(line.startswith("失败 bomb.docx：压缩比") and "疑似压缩炸弹" in line for line in failures)


def test_duplicates_are_named_and_metadata_edits_apply(data_dir: Path, tmp_path: Path) -> None:
    twin = tmp_path / "副本.txt"
    shutil.copy(SAMPLES / "001_5adf402d10fbcc74.txt", twin)
    dup = run(data_dir, "ingest", str(twin))
    assert dup.returncode == 0, dup.stderr
    assert "重复 1 篇" in dup.stdout and "重复 副本.txt：内容与 001_5adf402d10fbcc74.txt 相同，已跳过" in dup.stdout

    doc_id = next(d["doc_id"] for d in json.loads(run(data_dir, "docs", "list", "--json").stdout) if d["source"].startswith("001"))
    edited = run(data_dir, "docs", "edit", doc_id, "--unit", "某某测试改名中心", "--year", "2030", "--json")
    assert edited.returncode == 0, edited.stderr
    assert (json.loads(edited.stdout)["unit"], json.loads(edited.stdout)["year"]) == ("某某测试改名中心", 2030)
    shown = json.loads(run(data_dir, "docs", "show", doc_id, "--json").stdout)
    assert (shown["unit"], shown["year"], shown["source"]) == ("某某测试改名中心", 2030, "001_5adf402d10fbcc74.txt")
    # Another process finds the document by its new unit: the saved BM25 index took the edit.
    hits = json.loads(run(data_dir, "search", "某某测试改名中心", "--mode", "bm25", "--json").stdout)["hits"]
    assert hits and {h["doc_id"] for h in hits} == {doc_id} and {h["unit"] for h in hits} == {"某某测试改名中心"}


@pytest.mark.parametrize(
    "args",
    [
        ("ingest", "/no/such/path.txt"),
        ("docs", "edit", "0000000000000000", "--unit", "某单位"),
        ("docs", "edit", "0000000000000000", "--year", "1800"),
        ("docs", "edit", "0000000000000000"),
        ("search", "   "),
        ("search", "预算", "--mode", "fuzzy"),
        ("docs", "show", "0000000000000000"),
        ("docs", "delete", "0000000000000000"),
        ("eval", "--scale", "--split", "test"),
        ("eval",),
    ],
)
def test_bad_input_is_one_readable_line(data_dir: Path, args: tuple[str, ...]) -> None:
    result = run(data_dir, *args)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("错误：") and "Traceback" not in result.stderr


def test_ingest_refuses_each_hostile_file_in_one_line_and_keeps_the_rest(tmp_path: Path) -> None:
    """Scans and spreadsheets gone wrong (issue #20): exit 1, one readable line per refused file, the good
    spreadsheet in the same folder stored."""
    folder = tmp_path / "batch"
    folder.mkdir()
    hostile = hostile_files()
    for h in hostile:
        (folder / h.name).write_bytes(h.data)
    (folder / "三公经费.csv").write_text("项目,预算数,决算数\n公务接待费,2.85,0.39\n", encoding="utf-8")
    (folder / "封面扫描.pdf").write_bytes(scanned(pdf_pages(PDF_SHEGONG.read_bytes(), [0]), dpi=150))
    out = run(tmp_path / "data", "ingest", str(folder))
    assert out.returncode == 1
    assert "新增 2 篇" in out.stdout and f"失败 {len(hostile)} 篇" in out.stdout
    # OCR progress: off a terminal, one line per page; the summary counts the pages
    assert "OCR 封面扫描.pdf：第 1/1 页" in out.stderr and "OCR 识别 1 页" in out.stdout
    failed = [line for line in out.stderr.splitlines() if line.startswith("失败 ")]
    assert sorted(line.split("：")[0] for line in failed) == sorted(f"失败 {h.name}" for h in hostile)
    for h in hostile:
        assert any(h.name in line and h.reason in line for line in failed), h.name
