"""`qa eval` reports (qa.eval_report): --fail-under floors parsed and checked against the results."""

from __future__ import annotations

import pytest

from qa.eval_report import check_floors, parse_floors


def test_floors() -> None:
    results = {"modes": {"hybrid": {"mrr@10": 0.8}}, "answers": {"unit_recall": 1.0}}
    assert check_floors(results, parse_floors(["hybrid.mrr@10=0.7", "answers.unit_recall=0.95"])) == []
    assert check_floors(results, {"hybrid.mrr@10": 0.9})[0].startswith("hybrid.mrr@10 = 0.8000")
    assert "没有这个指标" in check_floors(results, {"bm25.mrr@10": 0.1})[0]
    with pytest.raises(ValueError):
        parse_floors(["hybrid.mrr@10"])
