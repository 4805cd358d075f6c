"""`qa findings` in-process (typer's CliRunner) on the samples' store with the session's model: listing as JSON,
the table, stats, and bad options as one Chinese line (the subprocess route of the CLI: test_cli.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.embeddings import Embedder
from qa.retrieve import Retriever


def test_cli_findings_json_and_stats(
    sample_retriever: Retriever, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`qa findings` on the samples' store, in-process with the session's model (the subprocess route of the
    CLI is covered by tests/qa/test_cli.py)."""
    from typer.testing import CliRunner

    import qa.cli
    from qa.settings import get_settings

    monkeypatch.setenv("QA_DATA_DIR", str(sample_retriever.settings.data_dir))
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setattr(qa.cli, "get_embedder", lambda: embedder)
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        listed = runner.invoke(qa.cli.app, ["findings", "--role", "problem", "--unit", "大祥", "--json"])
        assert listed.exit_code == 0, listed.output
        assert [f["text"] for f in json.loads(listed.stdout)] == [
            "1、预算编制不够细化。",
            "2、缺乏懂法律的、懂财经的、懂环保的专业人才。",
        ]
        table = runner.invoke(qa.cli.app, ["findings", "--category", "项目资金未实行专账核算", "--year", "2021"])
        assert (
            table.exit_code == 0
            and "2、项目资金未实行专账核算。" in table.stdout
            and "实行项目专账核算" in table.stdout
        )
        stats = runner.invoke(qa.cli.app, ["findings", "stats", "--by", "category", "--role", "problem"])
        assert stats.exit_code == 0, stats.output
        talent = next(line for line in stats.stdout.splitlines() if "专业人才缺乏" in line)
        assert "芙蓉区商务局" in talent and "湖南省大祥工业集中区管理委员会" in talent
    finally:
        get_settings.cache_clear()


def test_cli_errors_are_one_chinese_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Bad options fail before any model or store is opened: exit code 2 and one readable line."""
    from typer.testing import CliRunner

    from qa.cli import app
    from qa.settings import get_settings

    runner = CliRunner()
    monkeypatch.setenv("QA_DATA_DIR", str(tmp_path / "unused"))
    monkeypatch.setenv("COLUMNS", "80")
    get_settings.cache_clear()
    broken = tmp_path / "broken.yaml"
    broken.write_text("categories: [", encoding="utf-8")
    try:
        for args, message, env in [
            (["findings", "--role", "risk"], "未知的类型 risk", {}),
            (["findings", "--category", "不存在的分类"], "未知的分类“不存在的分类”", {}),
            (["findings", "stats", "--by", "month"], "未知的统计维度 month", {}),
            (["findings", "eval", str(tmp_path / "none.jsonl")], "标注文件不存在", {}),
            (["findings"], "不是合法的 YAML", {"QA_TAXONOMY": str(broken)}),
        ]:
            for k, v in env.items():
                monkeypatch.setenv(k, v)
            get_settings.cache_clear()
            result = runner.invoke(app, args)
            assert result.exit_code == 2 and message in result.stderr, (args, result.output)
            assert (len(result.stderr.strip().splitlines()) == 1 and result.exception is None) or isinstance(
                result.exception, SystemExit
            )
            for k in env:
                monkeypatch.delenv(k)
    finally:
        get_settings.cache_clear()
