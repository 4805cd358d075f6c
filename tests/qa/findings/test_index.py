"""The findings view (qa.findings.index) of a real store: stored findings follow their document (filters, stats,
exact spans), and a view kept in step with uploads, deletes and edits answers as the view a fresh process builds."""

from __future__ import annotations

import dataclasses
import threading

import numpy as np
import pytest

import qa.findings.index as index_module
from ingest.schema import ChunkRow
from qa.findings import STATS_BY, Finding, FindingFilter, FindingsIndex, Group, open_findings
from qa.findings.columns import Texts
from qa.findings.evidence import concept_verdict
from qa.findings.index import View
from qa.library import Library
from qa.retrieve import Filters, Retriever
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
    for by in STATS_BY:  # counted from the columns: the same groups as counting the Finding objects
        for flt in (FindingFilter(), FindingFilter(role="measure"), FindingFilter(category="专业人才缺乏")):
            assert _counted(index.stats(by, flt)) == _counted_from(index.select(flt), by, flt), (by, flt)
    for f in everything:
        text = sample_retriever.store.get_document(f.doc.doc_id)[1]  # type: ignore[index]
        assert text[f.char_start : f.char_end] == f.text
        assert all(text[s.char_start : s.char_end] == s.text for s in f.sentences)


def _counted(groups: list[Group]) -> dict[str, dict[str, tuple[str, ...]]]:
    return {g.key: {u.doc_id: u.finding_ids for u in g.units} for g in groups}


def _counted_from(found: list[Finding], by: str, flt: FindingFilter) -> dict[str, dict[str, tuple[str, ...]]]:
    """Groups by counting the objects one by one (what `stats` computes from columns)."""
    out: dict[str, dict[str, tuple[str, ...]]] = {}
    for f in found:
        if by == "category":
            keys = [k for k in f.category_names() if flt.category is None or k == flt.category]
        else:
            value = {"year": f.doc.year, "region": f.doc.region, "unit": f.doc.display_unit}[by]
            keys = ["未知" if value in (None, "") else str(value)]
        for k in keys:
            out.setdefault(k, {}).setdefault(f.doc.doc_id, ())
            out[k][f.doc.doc_id] += (f.finding_id,)
    return out


def _same(a: View, b: View) -> None:
    """Equal views, array for array."""
    assert a.all_findings() == b.all_findings() and a.key == b.key and a.docs == b.docs
    assert np.array_equal(a.vectors.take(np.arange(len(a.vectors))), b.vectors.take(np.arange(len(b.vectors))))
    for name in (
        "row_scores",
        "row_accepted",
        "row_best",
        "row_top",
        "row_problem",
        "row_measure",
        "row_finding",
        "row_doc",
    ):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert a.postings.keys() == b.postings.keys()
    assert all(np.array_equal(a.postings[t], b.postings[t]) for t in a.postings)
    for field in dataclasses.fields(a.table):  # the findings' own columns, strings included
        col_a, col_b = getattr(a.table, field.name), getattr(b.table, field.name)
        if isinstance(col_a, Texts):
            assert [col_a[i] for i in range(len(col_a))] == [col_b[i] for i in range(len(col_b))], field.name
        else:
            assert np.array_equal(col_a, col_b), field.name


def _answers(index: FindingsIndex) -> object:
    """What the view answers: every finding with its categories, the per-category stats, and each concept's
    verdict (counted documents with their cited sentence and score, near misses) for problems and measures."""
    verdicts = []
    for concept in range(len(index.categorizer.categories) - 1):
        for role in ("problem", "measure"):
            v = concept_verdict(index, concept, role, Filters())
            verdicts.append(
                (
                    [(s.hit.doc.doc_id, s.text, s.score) for s in v.accepted],
                    [(r.sentence.hit.doc.doc_id, r.sentence.text, r.reason) for r in v.related],
                )
            )
    findings = sorted((f.finding_id, f.doc, f.text, f.category_names()) for f in index.select(FindingFilter()))
    return findings, index.stats("category", FindingFilter()), verdicts


def test_findings_view_follows_uploads_deletes_and_edits_in_place(
    empty_retriever: Retriever, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An upload appends to the view, a delete or a metadata edit marks the departed document's rows dead
    instead of rebuilding (O(change)); every answer equals a fresh process's, and once dead rows outgrow
    `_DEAD_SHARE` the next change rebuilds the view into exactly the fresh one."""
    samples = sorted(SAMPLES.glob("*.txt"))
    ingest_into(empty_retriever, samples[:3])
    index = open_findings(empty_retriever)
    before = index.view()
    bases: list[int] = []
    extend = index._extend
    monkeypatch.setattr(
        index, "_extend", lambda base, key, added, read: bases.append(len(base.docs)) or extend(base, key, added, read)
    )
    report = ingest_into(empty_retriever, samples[3:])
    extended = index.view()
    assert bases == [len(before.key)] and len(extended.key) == 5  # extended from the 3-document view
    _same(extended, _read_in_full(empty_retriever))
    assert len(before.table) < len(extended.table) == 32

    monkeypatch.setattr(index_module, "_DEAD_SHARE", 1.0)
    library = Library.of(empty_retriever)
    library.delete(report.doc_ids[samples[3].name])
    library.edit_metadata(report.doc_ids[samples[4].name], year=2020)  # a rewrite: departs and comes back
    bases.clear()
    marked = index.view()
    assert bases == [5]  # appended after the 5 codes it had, not rebuilt
    assert marked.docs[3] is None and marked.docs[4] is None and marked.dead_rows > 0
    assert len(marked.key) == 4 and marked.docs[5] == marked.key[-1] and marked.docs[5][2].year == 2020
    assert _answers(index) == _answers(FindingsIndex(empty_retriever, index.categorizer))
    assert index.select(FindingFilter(year=2020)) and all(
        f.doc.year == 2020 for f in index.select(FindingFilter(year=2020))
    )

    monkeypatch.setattr(index_module, "_DEAD_SHARE", 0.0)
    library.delete(report.doc_ids[samples[4].name])
    bases.clear()
    reads: list[list[str]] = []
    read = empty_retriever.store.finding_rows
    monkeypatch.setattr(empty_retriever.store, "finding_rows", lambda ids: reads.append(list(ids)) or read(ids))
    rebuilt = index.view()
    assert bases == [3] and rebuilt.dead_rows == 0 and reads == []  # the 3 live documents' columns taken, none read
    monkeypatch.undo()
    _same(rebuilt, _read_in_full(empty_retriever))


def test_findings_read_in_batches_of_documents_give_the_same_view(
    sample_retriever: Retriever, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The view reads the store a few documents at a time (bounded memory at 1M chunks): batches of 2 documents
    (three reads for the five samples) must give the view one read gives, and each document's findings share
    one DocFields object instead of a copy per finding."""
    whole = _read_in_full(sample_retriever)
    reads: list[int] = []
    readers: set[str] = set()
    read = sample_retriever.store.finding_rows

    def counted(ids: list[str]) -> tuple[list[ChunkRow], np.ndarray]:
        reads.append(len(ids))
        readers.add(threading.current_thread().name)
        return read(ids)

    monkeypatch.setattr(sample_retriever.store, "finding_rows", counted)
    monkeypatch.setattr(index_module, "_READ_BATCH", 2)
    batched = _read_in_full(sample_retriever)
    # Read ahead by another thread while the previous batch is digested, in order.
    assert reads == [2, 2, 1] and readers == {"findings-read_0"}
    assert batched.all_findings() == whole.all_findings() and batched.key == whole.key
    assert np.array_equal(
        batched.vectors.take(np.arange(len(whole.vectors))), whole.vectors.take(np.arange(len(whole.vectors)))
    )
    for name in ("row_scores", "row_problem", "row_measure", "row_finding", "row_doc", "row_accepted", "row_best"):
        assert np.array_equal(getattr(batched, name), getattr(whole, name)), name
    assert {t: list(r) for t, r in batched.postings.items()} == {t: list(r) for t, r in whole.postings.items()}
    by_doc: dict[str, set[int]] = {}
    for f in batched.all_findings():
        by_doc.setdefault(f.doc.doc_id, set()).add(id(f.doc))
    assert len(by_doc) == 5 and all(len(objects) == 1 for objects in by_doc.values())
