"""Store operations whose size depends on the corpus, at sizes a bulk load reaches."""

import time

import pytest

from ingest.schema import DocFields, DocRecord
from qa.retrieve import Retriever


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
