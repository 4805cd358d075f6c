"""The findings view (qa.findings.index) of a real store: stored findings follow their document (filters, stats,
exact spans), and a view extended after an upload equals the view a fresh process builds."""

from __future__ import annotations

import numpy as np
import pytest

import qa.findings.index as index_module
from qa.findings import FindingFilter, FindingsIndex, open_findings
from qa.findings.index import View
from qa.retrieve import Retriever
from tests.conftest import SAMPLES, ingest_into


def _read_in_full(retriever: Retriever) -> View:
    """The view as a process without a saved one builds it: every row read from the store."""
    return FindingsIndex(retriever, open_findings(retriever).categorizer).view()


def test_stored_findings_follow_their_document(sample_retriever: Retriever) -> None:
    index = open_findings(sample_retriever)
    everything = index.select(FindingFilter())
    assert len(everything) == 32
    assert sample_retriever.store.findings.count() == sum(len(f.sentences) for f in everything)
    by_doc = {r.doc.doc_id: r.n_findings for r in sample_retriever.store.catalogue()}
    assert sorted(by_doc.values()) == [4, 5, 5, 8, 10]
    budget = index.select(FindingFilter(category="预算编制不够细化", role="problem"))
    assert {f.doc.unit for f in budget} == {"益阳市赫山区投资促进服务中心", "湖南省大祥工业集中区管理委员会"}
    assert [
        f.doc.display_unit for f in index.select(FindingFilter(category="项目资金未实行专账核算", role="problem"))
    ] == ["000_b17f134b7a6d8e07.txt"]
    assert {f.doc.year for f in index.select(FindingFilter(year=2022))} == {2022}
    assert {f.doc.unit for f in index.select(FindingFilter(region="赫山区"))} == {"益阳市赫山区投资促进服务中心"}
    stats = index.stats("category", FindingFilter(role="problem"))
    talent = next(g for g in stats if g.key == "专业人才缺乏")
    assert {u.unit for u in talent.units} == {"芙蓉区商务局", "湖南省大祥工业集中区管理委员会"}
    for f in everything:
        text = sample_retriever.store.get_document(f.doc.doc_id)[1]  # type: ignore[index]
        assert text[f.char_start : f.char_end] == f.text
        assert all(text[s.char_start : s.char_end] == s.text for s in f.sentences)


def test_findings_view_extended_after_an_upload_equals_a_full_build(empty_retriever: Retriever) -> None:
    """An upload extends the view in place of rebuilding it; the result must be the view a fresh process builds,
    and a delete (not a pure addition) rebuilds."""
    samples = sorted(SAMPLES.glob("*.txt"))
    ingest_into(empty_retriever, samples[:3])
    index = open_findings(empty_retriever)
    before = index.view()
    bases: list[int] = []
    extend = index._extend
    index._extend = lambda base, key, kept: bases.append(len(base.key)) or extend(base, key, kept)  # type: ignore[method-assign]
    report = ingest_into(empty_retriever, samples[3:])
    extended = index.view()
    assert bases == [len(before.key)] and len(extended.key) == 5  # extended from the 3-document view

    def same(a: object, b: object) -> None:
        assert a.findings == b.findings and a.key == b.key  # type: ignore[attr-defined]
        for name in ("vectors", "row_finding", "row_doc"):
            assert np.array_equal(getattr(a, name), getattr(b, name)), name
        assert a.postings.keys() == b.postings.keys()  # type: ignore[attr-defined]
        assert all(np.array_equal(a.postings[t], b.postings[t]) for t in a.postings)  # type: ignore[attr-defined]
        rows_a, rows_b = a.vectors_by_doc(), b.vectors_by_doc()  # type: ignore[attr-defined]
        assert rows_a.keys() == rows_b.keys() and all(np.array_equal(rows_a[k], rows_b[k]) for k in rows_a)

    same(extended, _read_in_full(empty_retriever))
    assert len(before.findings) < len(extended.findings) == 32
    empty_retriever.store.delete_document(report.doc_ids[samples[3].name])
    empty_retriever.invalidate()
    bases.clear()
    shrunk = index.view()
    assert bases == [0]  # a delete rebuilds from nothing (the vectors it keeps come from the old view)
    same(shrunk, _read_in_full(empty_retriever))
    assert all(d.vectors is None for d in index._per_doc.values())  # one copy of the vectors: the view's


def test_findings_read_in_batches_of_documents_give_the_same_view(
    sample_retriever: Retriever, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The view reads the store a few documents at a time (bounded memory at 1M chunks): batches of 2 documents
    (three reads for the five samples) must give the view one read gives, and each document's findings share
    one DocFields object instead of a copy per finding."""
    whole = _read_in_full(sample_retriever)
    reads: list[int] = []
    read = sample_retriever.store.finding_rows
    monkeypatch.setattr(sample_retriever.store, "finding_rows", lambda ids: reads.append(len(ids)) or read(ids))
    monkeypatch.setattr(index_module, "_READ_BATCH", 2)
    batched = _read_in_full(sample_retriever)
    assert reads == [2, 2, 1]
    assert batched.findings == whole.findings and batched.key == whole.key
    for name in ("vectors", "row_scores", "row_problem", "row_measure", "row_finding", "row_doc"):
        assert np.array_equal(getattr(batched, name), getattr(whole, name)), name
    assert {t: list(r) for t, r in batched.postings.items()} == {t: list(r) for t, r in whole.postings.items()}
    by_doc: dict[str, set[int]] = {}
    for f in batched.findings:
        by_doc.setdefault(f.doc.doc_id, set()).add(id(f.doc))
    assert len(by_doc) == 5 and all(len(objects) == 1 for objects in by_doc.values())
