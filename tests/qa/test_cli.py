"""The `qa` console script as a user runs it: a real subprocess on a temp data dir."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from rich.cells import cell_len

from tests.conftest import SAMPLES
from tests.support.documents import PDF_SHEGONG, pdf_pages, scanned, zip_bomb
from tests.support.hostile_files import hostile_files

pytestmark = pytest.mark.slow
QA = [str(Path(sys.executable).with_name("qa"))]


def run(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QA_DATA_DIR": str(data_dir), "COLUMNS": "200", **(env or {})}
    return subprocess.run(QA + list(args), capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli-data")


def test_ingest_search_docs_flow(data_dir: Path, tmp_path: Path) -> None:
    first = run(data_dir, "ingest", str(SAMPLES))
    assert first.returncode == 0, first.stderr
    assert "新增 5 篇" in first.stdout and "失败 0 篇" in first.stdout
    # The findings view is saved with the import, so `qa serve` on this data dir starts from it.
    assert len(list(data_dir.glob("findings/*/view-*.cols"))) == 1
    prepared = run(data_dir, "sentences", "--json", "--workers", "2")
    assert prepared.returncode == 0, prepared.stderr
    counts = json.loads(prepared.stdout)
    assert counts["prepared_now"] == counts["prepared"] == counts["chunks"] > 0
    again = run(data_dir, "ingest", str(SAMPLES))
    assert "未变化 5 篇" in again.stdout

    found = run(data_dir, "search", "预算编制不够细化", "--json", "--top-k", "5")
    assert found.returncode == 0, found.stderr
    hits = json.loads(found.stdout)["hits"]
    assert {h["unit"] for h in hits if h["section_role"] == "problems"} >= {
        "益阳市赫山区投资促进服务中心",
        "湖南省大祥工业集中区管理委员会",
    }

    listed = json.loads(run(data_dir, "docs", "list", "--json").stdout)
    assert len(listed) == 5
    doc_id = next(d["doc_id"] for d in listed if d["source"].startswith("004"))
    shown = json.loads(run(data_dir, "docs", "show", doc_id, "--json").stdout)
    assert shown["unit"] == "湖南省大祥工业集中区管理委员会" and "预算编制不够细化" in shown["text"]
    tuned = run(data_dir, "tune", env={"QA_FUSION_TUNING_QUERIES": "30"})
    assert tuned.returncode == 0, tuned.stderr
    assert tuned.stdout.startswith("已选定：convex alpha=") and "个伪查询" in tuned.stdout
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

    doc_id = next(
        d["doc_id"] for d in json.loads(run(data_dir, "docs", "list", "--json").stdout) if d["source"].startswith("001")
    )
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
        ("search", "预算", "--top-k", "0"),
        ("ask", "哪些单位提到预算编制不够细化？", "--limit", "0"),
        ("ask", "哪些单位提到预算编制不够细化？", "--offset", "-1"),
        ("sentences", "--workers", "0"),
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


@pytest.mark.parametrize(
    ("setting", "value", "why"),
    [("QA_HNSW_EF_SEARCH", "5", "应不小于 10"), ("QA_PHRASE_WEIGHT", "abc", "类型或格式不对")],
)
def test_a_bad_setting_is_one_readable_line(data_dir: Path, setting: str, value: str, why: str) -> None:
    """An invalid QA_* environment setting was a pydantic traceback (exit 1)."""
    result = run(data_dir, "search", "预算", env={setting: value})
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and lines == [f"错误：设置 {setting} 的值 {value} 无效：{why}"], result.stderr


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


def test_logs_get_progress_lines_scripts_get_json_and_spreadsheets(tmp_path: Path) -> None:
    """Output redirected to files, as a CI job or `nohup … > log` does: progress lines in the log (no live bar,
    which printed nothing until the end), JSON for scripts, an unwrapped answer, findings as xlsx and csv."""
    data = tmp_path / "data"
    env = {**os.environ, "QA_DATA_DIR": str(data), "COLUMNS": "40"}
    log, out = tmp_path / "ingest.log", tmp_path / "ingest.json"
    with log.open("w") as stderr, out.open("w") as stdout:
        done = subprocess.run(
            [*QA, "ingest", str(SAMPLES), "--json"], stdout=stdout, stderr=stderr, env=env, timeout=300
        )
    assert done.returncode == 0, log.read_text()
    lines = log.read_text().splitlines()
    assert lines[0] == "导入：开始，共 5 篇"
    progress = [line for line in lines if re.match(r"导入：\d/5 篇（\d+%）", line)]
    assert progress and progress[-1].startswith("导入：5/5 篇（100%） · ")
    assert all(re.search(r" · [\d.]+ 篇/(秒|分) · 已用 \d", line) for line in progress)
    assert any("预计还需" in line for line in progress) or len(progress) == 1
    report = json.loads(out.read_text())
    assert sorted(f["outcome"] for f in report["files"]) == ["new"] * 5 and all(f["doc_id"] for f in report["files"])

    answer = tmp_path / "answer.txt"
    with answer.open("w") as stdout:
        asked = subprocess.run(
            [*QA, "ask", "哪些单位提到预算编制不够细化？"], stdout=stdout, stderr=subprocess.PIPE, env=env, timeout=300
        )
    assert asked.returncode == 0, asked.stderr
    text = answer.read_text().splitlines()
    # Not a terminal: each line as the answer has it, whatever COLUMNS says (no "1. " left alone).
    items = [line for line in text if re.match(r"\d\. ", line)]
    assert len(items) == 2 and all(cell_len(line) > 40 and "[" in line for line in items)
    assert any(re.match(r"\[1\] 益阳市赫山区投资促进服务中心（2021年）· .+ · 字符 \d+–\d+$", line) for line in text)
    paged = subprocess.run(
        [*QA, "ask", "哪些单位提到预算编制不够细化？", "--limit", "1", "--offset", "1", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert paged.returncode == 0, paged.stderr
    second = json.loads(paged.stdout)
    assert second["total_units"] == 2 and second["offset"] == 1 and second["next_offset"] is None
    assert len(second["units"]) == 1 and second["answer"].startswith(
        "共有 2 个单位提到“预算编制不够细化”，以下列出第 2–2 个"
    )

    xlsx = tmp_path / "findings.xlsx"
    exported = subprocess.run(
        [*QA, "findings", "export", "--format", "xlsx", "-o", str(xlsx), "--role", "problem"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert exported.returncode == 0, exported.stderr
    from openpyxl import load_workbook

    rows = list(load_workbook(xlsx).active.iter_rows(values_only=True))
    assert rows[0][:11] == (
        "单位",
        "地区",
        "年度",
        "报告类型",
        "类型",
        "分类",
        "内容",
        "来源文件",
        "章节",
        "起始字符",
        "结束字符",
    )
    assert len(rows) > 5 and {r[4] for r in rows[1:]} == {"问题"}
    budget = [r for r in rows[1:] if "预算编制不够细化" in (r[5] or "")]
    assert {r[0] for r in budget} >= {"益阳市赫山区投资促进服务中心", "湖南省大祥工业集中区管理委员会"}
    bad = run(data, "findings", "export", "--format", "xlsx")
    assert bad.returncode == 2 and bad.stderr.strip() == "错误：xlsx 格式需要用 -o 指定输出文件"


def test_tune_on_an_empty_store_is_one_readable_line(tmp_path: Path) -> None:
    result = run(tmp_path, "tune")
    assert result.returncode == 2 and result.stderr.strip() == "错误：向量库为空：请先用 qa ingest 导入报告"
