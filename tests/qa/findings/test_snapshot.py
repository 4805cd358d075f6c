"""The saved findings view (qa.findings.snapshot): a fresh process restores it instead of reading every finding row,
reads only the documents that changed, ignores a damaged file, and never restores another recipe's view."""

from __future__ import annotations

import pickle
import struct
import time
from pathlib import Path

import numpy as np
import pytest

from qa.findings import Categorizer, FindingsIndex, Taxonomy, open_findings, snapshot
from qa.findings.columns import is_mapped
from qa.findings.index import View
from qa.retrieve import Retriever
from tests.conftest import SAMPLES, ingest_into


def _read_in_full(retriever: Retriever) -> View:
    """The view as a process without a saved one builds it: every row read from the store."""
    return FindingsIndex(retriever, open_findings(retriever).categorizer).view()


def _vectors(view: View) -> np.ndarray:
    return view.vectors.take(np.arange(len(view.vectors)))


def _saved(index: FindingsIndex) -> Path:
    """Wait for the background snapshot write of `index` and return its path."""
    path = index._snapshot_path
    assert path is not None
    for _ in range(200):
        if path.exists() and not index._saving.locked():
            return path
        time.sleep(0.05)
    raise AssertionError("the findings view snapshot was not written")


def test_a_new_process_starts_from_the_saved_view_and_reads_only_what_changed(
    empty_retriever: Retriever, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The view is saved after a build (qa.findings.snapshot); a fresh index on the same store restores it
    without reading the store, reads only documents added since, and an unreadable file is read around."""
    samples = sorted(SAMPLES.glob("*.txt"))
    ingest_into(empty_retriever, samples[:3])
    first = open_findings(empty_retriever)
    built = first.view()
    path = _saved(first)

    reads: list[list[str]] = []
    read = empty_retriever.store.finding_rows
    monkeypatch.setattr(empty_retriever.store, "finding_rows", lambda ids: reads.append(list(ids)) or read(ids))
    restored = open_findings(empty_retriever)
    assert restored._snapshot_path == path
    view = restored.view()
    assert reads == [] and view.all_findings() == built.all_findings() and view.key == built.key
    assert np.array_equal(_vectors(view), _vectors(built)) and np.array_equal(view.row_scores, built.row_scores)
    assert view.vectors.mapped(0) and view.table.row_text.data.mapped(0)  # not copied in

    report = ingest_into(empty_retriever, samples[3:4])
    empty_retriever.invalidate()
    again = open_findings(empty_retriever)
    grown = again.view()
    assert reads == [[report.doc_ids[samples[3].name]]]  # the saved view plus the one new document
    fresh = _read_in_full(empty_retriever)
    assert grown.all_findings() == fresh.all_findings() and np.array_equal(_vectors(grown), _vectors(fresh))
    assert np.array_equal(grown.row_scores, fresh.row_scores) and np.array_equal(grown.row_problem, fresh.row_problem)

    _saved(again)
    path.write_bytes(path.read_bytes()[:-100])  # cut short: a writer that died (the rename makes that rare)
    reads.clear()
    damaged = open_findings(empty_retriever).view()
    assert len(reads) == 1 and len(reads[0]) == 4 and damaged.all_findings() == fresh.all_findings()


def test_the_saved_view_belongs_to_one_taxonomy(empty_retriever: Retriever, tmp_path: Path) -> None:
    """Another taxonomy (or categoriser parameters, query model, view code) is another recipe: its view is never
    restored from this one's file."""
    base = open_findings(empty_retriever)
    other = Categorizer(
        Taxonomy.parse({"categories": [{"name": "甲", "examples": ["预算编制不够细化"]}]}), empty_retriever.embedder
    )
    assert snapshot.recipe(other, "m") != snapshot.recipe(base.categorizer, "m")
    assert snapshot.recipe(base.categorizer, "m") != snapshot.recipe(base.categorizer, "another model")
    assert snapshot.recipe(base.categorizer, "m") == snapshot.recipe(
        Categorizer(base.categorizer.taxonomy, empty_retriever.embedder), "m"
    )


def test_save_is_atomic_and_replaces_other_recipes(tmp_path: Path) -> None:
    """Arrays saved in parts come back whole, mapped or read as asked; other recipes' files (and the old pickle
    format's) are removed; a file of another format or none at all is None."""
    path = tmp_path / "findings" / "reports" / "view-aaaa.cols"
    stale = path.with_name("view-bbbb.cols")
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"old")
    path.with_name("view-cccc.pkl").write_bytes(b"older")
    vectors = np.arange(24, dtype=np.float16).reshape(6, 4)
    snapshot.save(path, {"rows": [1, 2, 3]}, {"v": [vectors[:2], vectors[2:]], "flags": [np.array([True, False])]})
    loaded = snapshot.load(path, mapped=["v"])
    assert loaded is not None
    meta, arrays = loaded
    assert meta == {"rows": [1, 2, 3]} and np.array_equal(arrays["v"], vectors) and is_mapped(arrays["v"])
    assert arrays["flags"].tolist() == [True, False] and not is_mapped(arrays["flags"])
    assert sorted(p.name for p in path.parent.iterdir()) == ["view-aaaa.cols"]  # no temporary file left either
    data = path.read_bytes()
    header = pickle.dumps({"format": snapshot._FORMAT + 1, "meta": {}, "arrays": {}}, protocol=5)
    path.write_bytes(data[:8] + header + struct.pack("<Q", len(header)) + data[:8])  # written by another format
    assert snapshot.load(path) is None
    path.write_bytes(b"not a view")
    assert snapshot.load(path) is None
    assert snapshot.load(tmp_path / "missing.cols") is None


def test_empty_arrays_are_saved_and_loaded(tmp_path: Path) -> None:
    """A library with no findings (two 部门决算 PDFs) has an empty view: it is saved and read back like any other
    (writing it failed: "memoryview: cannot cast view with zeros in shape or strides", logged on every ingest)."""
    path = tmp_path / "view-aaaa.cols"
    empty = np.zeros((0, 4), dtype=np.float16)
    snapshot.save(path, {"rows": []}, {"v": [empty], "flags": [np.zeros(0, dtype=bool), np.zeros(0, dtype=bool)]})
    loaded = snapshot.load(path, mapped=["v"])
    assert loaded is not None
    _, arrays = loaded
    assert arrays["v"].shape == (0, 4) and arrays["flags"].shape == (0,)
