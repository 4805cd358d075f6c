"""Metric functions against hand-computed values; the BEIR and eval-set loaders on small files."""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import pytest

from qa.eval_report import check_floors, parse_floors
from qa.evaluate import EvalError, load_beir, load_eval_set, sample_queries
from qa.metrics import mrr_at_k, ndcg_at_k, percentile, precision_recall_f1, recall_of_items


def test_mrr() -> None:
    assert mrr_at_k([True, False], 10) == 1.0
    assert mrr_at_k([False, False, True], 10) == pytest.approx(1 / 3)
    assert mrr_at_k([False] * 10 + [True], 10) == 0.0  # beyond the cut-off
    assert mrr_at_k([], 10) == 0.0


def test_ndcg_by_hand() -> None:
    # retrieved gains 1,0,1; two relevant items exist: DCG = 1 + 1/log2(4) = 1.5, IDCG = 1 + 1/log2(3)
    assert ndcg_at_k([1, 0, 1], [1, 1], 10) == pytest.approx(1.5 / (1 + 1 / math.log2(3)))
    assert ndcg_at_k([1, 1], [1, 1], 10) == 1.0
    assert ndcg_at_k([0, 0], [1], 10) == 0.0
    assert ndcg_at_k([], [], 10) == 0.0  # nothing relevant exists: defined as 0, not a division error
    # graded gains: order matters
    assert ndcg_at_k([1, 2], [2, 1], 10) < 1.0


def test_recall_of_items_with_ties_and_empty() -> None:
    found = [{"q1"}, set(), {"q1", "q2"}]
    assert recall_of_items(found, {"q1", "q2", "q3"}, 1) == pytest.approx(1 / 3)
    assert recall_of_items(found, {"q1", "q2", "q3"}, 3) == pytest.approx(2 / 3)
    assert recall_of_items([], {"q1"}, 5) == 0.0
    assert recall_of_items(found, set(), 5) == 0.0


def test_precision_recall_f1() -> None:
    assert precision_recall_f1({"a", "b"}, {"a", "c"}) == (0.5, 0.5, 0.5)
    assert precision_recall_f1(set(), set()) == (1.0, 1.0, 1.0)  # honest "none"
    assert precision_recall_f1({"a"}, set()) == (0.0, 0.0, 0.0)
    assert precision_recall_f1(set(), {"a"}) == (0.0, 0.0, 0.0)


def test_percentile_nearest_rank() -> None:
    assert percentile([5, 1, 3, 2, 4], 50) == 3
    assert percentile(list(range(1, 101)), 95) == 95
    assert percentile([], 95) == 0.0


def _write_beir(d: Path, gz: bool, header: bool) -> None:
    corpus = [
        {"_id": "d1", "title": "民法典第一条", "text": "为了保护民事主体的合法权益"},
        {"_id": "d2", "title": "", "text": "第二条"},
    ]
    data = "\n".join(json.dumps(r, ensure_ascii=False) for r in corpus) + "\n"
    if gz:
        with gzip.open(d / "corpus.jsonl.gz", "wt", encoding="utf-8") as fh:
            fh.write(data)
    else:
        (d / "corpus.jsonl").write_text(data, encoding="utf-8")
    (d / "queries.jsonl").write_text(
        '{"_id": "q1", "text": "合法权益"}\n{"_id": "q2", "text": "无标注"}\n', encoding="utf-8"
    )
    (d / "qrels.tsv").write_text(
        ("query-id\tcorpus-id\tscore\n" if header else "") + "q1\td1\t1\nq1\td2\t0\n", encoding="utf-8"
    )


@pytest.mark.parametrize(("gz", "header"), [(True, True), (False, False), (False, True)])
def test_beir_loader(tmp_path: Path, gz: bool, header: bool) -> None:
    _write_beir(tmp_path, gz, header)
    beir = load_beir(tmp_path)
    assert beir.corpus["d1"] == ("民法典第一条", "为了保护民事主体的合法权益")
    assert beir.qrels == {"q1": {"d1": 1.0}}  # zero-gain rows dropped
    assert list(beir.queries) == ["q1"]  # queries without judgements are not scored
    assert sample_queries(beir, 1, seed=3) == ["q1"]


def test_beir_loader_refuses_other_dirs(tmp_path: Path) -> None:
    with pytest.raises(EvalError, match="BEIR"):
        load_beir(tmp_path)


def test_eval_set_loader_skips_header_and_reports_bad_lines(tmp_path: Path) -> None:
    f = tmp_path / "s.jsonl"
    f.write_text(
        '# header: how the split was made\n\n{"id": "a", "question": "问", "kind": "lookup", "gold_sources": ["x.txt"], "gold_quotes": ["问"]}\n',
        encoding="utf-8",
    )
    items = load_eval_set(f)
    assert [i.id for i in items] == ["a"] and items[0].gold_sources == ("x.txt",)
    f.write_text('{"id": "a"}\n', encoding="utf-8")
    with pytest.raises(EvalError, match="第 1 行"):
        load_eval_set(f)


def test_floors() -> None:
    results = {"modes": {"hybrid": {"mrr@10": 0.8}}, "answers": {"unit_recall": 1.0}}
    assert check_floors(results, parse_floors(["hybrid.mrr@10=0.7", "answers.unit_recall=0.95"])) == []
    assert check_floors(results, {"hybrid.mrr@10": 0.9})[0].startswith("hybrid.mrr@10 = 0.8000")
    assert "没有这个指标" in check_floors(results, {"bm25.mrr@10": 0.1})[0]
    with pytest.raises(ValueError):
        parse_floors(["hybrid.mrr@10"])
