"""The library's self-tuning of the fusion weight (qa.tuning): pseudo-queries cut out of the library's own chunks,
the weight moved from the prior only on clear evidence, recorded with the store for every process, one tuner at a
time."""

from __future__ import annotations

import random
from dataclasses import replace

import numpy as np
import pytest

from ingest.schema import ChunkRow
from qa import tuning
from qa.fusion import FusionParams, load_record, save_record
from qa.retrieve import Retriever
from tests.conftest import SAMPLES, ingest_into


def test_question_sentences_and_thinning() -> None:
    text = "三、存在的问题\n项目资金未实行专账核算。这是一个很长的句子，" + "其中有许多字" * 20 + "。"
    assert tuning.question_sentences(text) == ["三、存在的问题", "项目资金未实行专账核算"]
    rng = random.Random(1)
    assert tuning.thinned("项目资金未实行专账核算", 0.0, rng) == ""
    assert tuning.thinned("项目资金未实行专账核算", 1.0, rng) == "项目资金未实行专账核算"
    half = tuning.thinned("项目资金未实行专账核算，财务管理有待加强", 0.5, random.Random(1))
    assert 0 < len(half) < len("项目资金未实行专账核算，财务管理有待加强")


def test_pseudo_queries_cut_the_query_out_of_everything_indexed() -> None:
    text = "专账核算\n项目资金未实行专账核算。资金使用需要进一步规范管理。"
    row = ChunkRow("d-00001", text + "\n| 1 | 表格行 | 100 |", {"unit": "某单位", "section": "三、专账核算"})
    queries = tuning.pseudo_queries([row], lambda r: f"{r.metadata['unit']}｜{r.metadata['section']}\n{r.text}", 10)
    assert [q.text for q in queries] == ["项目资金未实行专账核算", "资金使用需要进一步规范管理"]
    first = queries[0]
    assert first.target == "d-00001" and first.text not in first.passage
    assert "专账核算" in first.passage and "某单位" in first.passage  # the rest stays: only the sentence is cut


def test_choose_alpha_stays_at_the_prior_unless_the_library_clearly_disagrees() -> None:
    lexical = [
        tuning.Sample([("t", 3.0), ("x", 2.5), ("y", 0.5)], [("x", 0.9), ("y", 0.8), ("t", 0.1)], frozenset({"t"}))
    ] * 40
    alpha, points = tuning.choose_alpha(lexical, FusionParams(), prior=0.4)
    assert (
        alpha == 0.15 and dict(points)[0.15] == 1.0 > dict(points)[0.2]
    )  # dense is wrong every time: as far as needed
    easy = tuning.Sample([("t", 3.0), ("x", 1.0)], [("t", 0.9), ("x", 0.5)], frozenset({"t"}))
    dense_once = tuning.Sample([("x", 3.0), ("t", 2.9)], [("t", 0.9), ("x", 0.1)], frozenset({"t"}))
    alpha, points = tuning.choose_alpha([easy] * 38 + [dense_once] * 2, FusionParams(), prior=0.4)
    assert alpha == 0.4 and max(points, key=lambda p: p[1])[0] != 0.4  # two questions are no evidence


@pytest.fixture()
def small_library(empty_retriever: Retriever) -> Retriever:
    ingest_into(empty_retriever, sorted(SAMPLES.glob("*.txt"))[:3])
    return empty_retriever


def test_pseudo_samples_score_the_cut_passage(small_library: Retriever) -> None:
    r = small_library
    samples = tuning.pseudo_samples(r, 40, 50)
    assert 30 <= len(samples) <= 40
    index = r.lexical()
    for s in samples[:10]:
        (_target,) = s.relevant
        ids = [i for i, _ in s.bm25]
        assert len(ids) == len(set(ids)) and [v for _, v in s.bm25] == sorted((v for _, v in s.bm25), reverse=True)
        assert [v for _, v in s.dense] == sorted((v for _, v in s.dense), reverse=True)
    # The target's BM25 score is that of its passage without the query, never the intact chunk's.
    queries = tuning.pseudo_queries(
        r.store.get_chunks(tuning.sample_ids(index.ids, 160, 19)), tuning.row_index_text, 160
    )
    q = queries[0]
    intact = index.scores(q.text, phrase_weight=0.5)[index.rows_of([q.target])[0]]
    assert index.score_text(q.text, q.passage, 0.5) < intact


def test_tuning_records_the_choice_and_every_retriever_on_the_store_uses_it(small_library: Retriever) -> None:
    r = small_library
    assert tuning.due(r) and r.fusion_record() is None
    assert r.fusion_summary()["source"] == "default"
    record = tuning.tune(r, limit=40)
    assert record.queries >= 30 and set(record.mrr) == {"chosen", "default", "bm25", "dense"}
    assert load_record(r.store.meta) == record and not tuning.due(r)
    other = Retriever(r.store, r.embedder, r.settings)  # another process on the same store
    assert other.fusion() == replace(record.params, depth=r.settings.candidate_k)
    assert other.fusion_summary()["source"] == "tuned" and other.fusion_summary()["pseudo_queries"] == record.queries

    # A recorded weight of 0 makes hybrid rank as BM25 does; switching tuning off restores the settings.
    save_record(r.store.meta, replace(record, params=FusionParams(alpha=0.0)))
    r.invalidate()
    query = "项目资金未实行专账核算"
    assert [h.id for h in r.search(query, mode="hybrid", top_k=5)] == [
        h.id for h in r.search(query, mode="bm25", top_k=5)
    ]
    off = Retriever(r.store, r.embedder, r.settings.model_copy(update={"fusion_tuning": False}))
    assert off.fusion() == off.default_fusion() and off.fusion_summary()["source"] == "settings"

    # A library that grew by more than a fifth, or vectors of another model, tune again.
    ingest_into(r, sorted(SAMPLES.glob("*.txt"))[3:])
    assert tuning.due(r)
    save_record(r.store.meta, replace(record, chunks=r.store.count_chunks(), embedder="another-model"))
    assert tuning.due(r)


def test_tuning_claim_keeps_other_processes_out(small_library: Retriever, monkeypatch: pytest.MonkeyPatch) -> None:
    meta = small_library.store.meta
    assert tuning.claim(meta) and tuning.claim(meta)  # the holder may claim again
    monkeypatch.setattr(tuning, "_me", lambda: "otherhost:1")
    assert not tuning.claim(meta)
    tuning.release(meta)
    assert tuning.claim(meta)


def test_reciprocal_ranks_match_the_metric() -> None:
    s = tuning.Sample([("x", 3.0), ("t", 2.0)], [("x", 0.9), ("t", 0.8)], frozenset({"t"}))
    assert np.allclose(tuning.reciprocal_ranks([s], FusionParams(alpha=0.5)), [0.5])
