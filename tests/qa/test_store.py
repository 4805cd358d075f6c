"""The store (qa.store) against a real embedded Chroma: a delete leaves nothing behind, rows written without their
commit marker are never served and are repaired away, a store of another model refuses to open, and operations
whose size depends on the corpus work at the sizes a bulk load reaches."""

import time
from pathlib import Path

import numpy as np
import pytest

from ingest.pipeline import PreparedDoc, prepare
from ingest.readers import read_document
from ingest.schema import ChunkRow, DocFields, DocRecord
from qa.findings import FindingFilter, open_findings
from qa.retrieve import Retriever
from qa.store import Store, StoreError
from tests.conftest import SAMPLES, ingest_into
from tests.support.samples import S001, S004, copy_sample


@pytest.mark.slow
def test_repair_settles_more_pending_markers_than_sqlite_allows_variables(empty_retriever: Retriever) -> None:
    """A bulk load can leave tens of thousands of pending-write markers (the 1M benchmark store: 77k); repair
    read them back in one `get(ids=…)` and failed with "too many SQL variables" (SQLite's limit: 32,766)."""
    store = empty_retriever.store
    n = 33_000
    records = [
        DocRecord(
            DocFields(
                doc_id=f"d{i:06d}", source=f"s{i}.txt", title="t", unit="", region="", year=None, report_kind="其他"
            ),
            fmt="txt",
            n_chunks=0,
            ingested_at=time.time(),
        )
        for i in range(n)
    ]
    for start in range(0, n, 5000):
        part = records[start : start + 5000]
        store.docs.upsert(
            ids=[r.doc.doc_id for r in part], embeddings=[[1.0]] * len(part), metadatas=[r.metadata() for r in part]
        )
    store._mark_pending({r.doc.doc_id for r in records})
    assert store.meta.count() >= n
    assert store.repair() == 0  # every marker's document is committed: markers dropped, nothing deleted
    assert store.meta.get(where={"kind": "pending"}, include=[])["ids"] == []


def test_get_chunks_takes_more_ids_than_sqlite_allows_variables(sample_retriever: Retriever) -> None:
    """A broad aggregate at 1M chunks picked more chunks than one `get(ids=…)` takes (bench/query.py stages)."""
    real = [r.id for r in sample_retriever.store.iter_chunks(include_text=False)][:5]
    asked = [f"missing-{i:05d}" for i in range(33_000)]
    asked[100:100] = real[:2]
    asked.append(real[2])
    assert [r.id for r in sample_retriever.store.get_chunks(asked)] == real[:3]


def test_delete_leaves_nothing_behind(empty_retriever: Retriever, tmp_path: Path) -> None:
    r = empty_retriever
    report = ingest_into(r, [copy_sample(S001, tmp_path), copy_sample(S004, tmp_path)])
    doc_id = report.doc_ids[S001.name]
    assert r.store.delete_document(doc_id)
    r.invalidate()
    assert r.store.get_document(doc_id) is None
    assert not list(r.store.iter_chunks(where={"doc_id": doc_id}))
    assert all(h.doc.doc_id != doc_id for h in r.search("赫山区投资促进服务中心 基本支出", top_k=20))
    assert not r.store.delete_document(doc_id)


def test_interrupted_commit_is_invisible_and_repaired(empty_retriever: Retriever, tmp_path: Path) -> None:
    """Chunks written without their document record (a kill between the two steps) are never served and
    are removed by the next ingest."""
    r = empty_retriever
    doc: PreparedDoc = prepare(read_document(S001), {}, chunk_size=300, chunk_overlap=1)
    r.store.write_chunks(r.store.chunks, doc.rows, r.embedder.encode(doc.index_texts))
    r.invalidate()
    assert r.search("赫山区投资促进服务中心 基本支出 388.07万元", mode="dense") == []
    assert r.search("赫山区投资促进服务中心 基本支出 388.07万元", mode="bm25") == []
    ingest_into(r, [copy_sample(S004, tmp_path)])
    assert {row.metadata["doc_id"] for row in r.store.iter_chunks(include_text=False)} == {
        d.doc.doc_id for d in r.store.catalogue()
    }


def test_embedder_mismatch_is_a_clear_error(empty_retriever: Retriever) -> None:
    r = empty_retriever
    with pytest.raises(StoreError, match="qa reindex"):
        Store(r.settings, "another-model", 768)


def test_repair_removes_findings_of_an_interrupted_ingest(empty_retriever: Retriever) -> None:
    report = ingest_into(empty_retriever, [SAMPLES / "004_30f3d27d840c4c9e.txt"])
    store = empty_retriever.store
    rows = store.findings.get(include=["metadatas", "documents", "embeddings"])
    assert len(rows["ids"]) == 5 and report.new
    # Another document's findings written without its commit (the writer died before the record).
    orphan = [
        ChunkRow(
            f"dead-f000-{j:02d}",
            "预算编制不够细化。",
            {**rows["metadatas"][0], "doc_id": "dead", "finding_id": "dead-f000", "row": j},
        )
        for j in range(2)
    ]  # type: ignore[index]
    store.write_chunks(store.findings, orphan, np.asarray(rows["embeddings"][:2]))  # type: ignore[index]
    assert store.findings.count() == 7
    assert open_findings(empty_retriever).select(FindingFilter()) and all(
        f.doc.doc_id != "dead" for f in open_findings(empty_retriever).select(FindingFilter())
    )
    assert store.repair() == 1
    assert store.findings.count() == 5
    doc_id = report.doc_ids["004_30f3d27d840c4c9e.txt"]
    assert store.delete_document(doc_id) and store.findings.count() == 0
