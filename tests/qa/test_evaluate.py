"""`qa eval`'s loaders (qa.evaluate) on small files: BEIR directories (gzipped or not, qrels with or without a
header) and eval sets (header comments skipped, bad lines named)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from qa.evaluate import EvalError, load_beir, load_eval_set, sample_queries


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
