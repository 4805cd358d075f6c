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
from qa import store as store_module
from qa.findings import FindingFilter, open_findings
from qa.retrieve import Retriever
from qa.store import Store, StoreError, vectors_in_metadata
from tests.conftest import SAMPLES, ingest_into, make_settings
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
    rows, vectors = store.finding_rows(list(report.doc_ids.values()))
    assert len(rows) == 5 and report.new
    # Another document's findings written without its commit (the writer died before the record).
    orphan = [
        ChunkRow(
            f"dead-f000-{j:02d}",
            "预算编制不够细化。",
            {**rows[0].metadata, "doc_id": "dead", "finding_id": "dead-f000", "row": j},
        )
        for j in range(2)
    ]
    store.write_chunks(store.findings, orphan, vectors[:2])
    assert store.findings.count() == 7
    assert open_findings(empty_retriever).select(FindingFilter()) and all(
        f.doc.doc_id != "dead" for f in open_findings(empty_retriever).select(FindingFilter())
    )
    assert store.repair() == 1
    assert store.findings.count() == 5
    doc_id = report.doc_ids["004_30f3d27d840c4c9e.txt"]
    assert store.delete_document(doc_id) and store.findings.count() == 0


def _finding_rows(doc_id: str, n: int) -> list[ChunkRow]:
    doc = DocFields(doc_id, f"{doc_id}.txt", "标题", "某单位", "赫山区", 2021, "部门整体支出")
    return [
        ChunkRow(
            f"{doc_id}-f000-{j:02d}", f"第{j}句。", {**doc.to_metadata(), "finding_id": f"{doc_id}-f000", "row": j}
        )
        for j in range(n)
    ]


def test_finding_vectors_live_in_row_metadata_not_in_a_vector_index(tmp_path: Path) -> None:
    """A new store keeps finding-sentence vectors in their rows' metadata, exactly as written, and the
    collection's vector index holds a one-dimensional placeholder per row (Chroma loads a collection's whole
    index into memory on any read: a float32 copy of every finding vector)."""
    store = Store(make_settings(tmp_path / "new"), "model", 4)
    vectors = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    store.write_chunks(store.findings, _finding_rows("d1", 3), vectors)
    rows, read = store.finding_rows(["d1"])
    assert np.array_equal(read, vectors) and read.dtype == np.float32
    assert [r.id for r in rows] == ["d1-f000-00", "d1-f000-01", "d1-f000-02"]
    assert all(set(r.metadata) == set(_finding_rows("d1", 1)[0].metadata) for r in rows)  # no vector field
    raw = store.findings.get(include=["embeddings"])
    assert {len(e) for e in raw["embeddings"]} == {1}  # type: ignore[union-attr]
    reopened = Store(make_settings(tmp_path / "new"), "model", 4)
    assert np.array_equal(reopened.finding_rows(["d1"])[1], vectors)


def test_a_findings_collection_of_the_older_layout_is_read_and_written_as_before(tmp_path: Path) -> None:
    """Stores made before the vectors moved to the metadata keep working without a reindex."""
    settings = make_settings(tmp_path / "old")
    import chromadb

    old = chromadb.PersistentClient(path=str(settings.data_dir / "chroma")).get_or_create_collection(
        f"{settings.collection}_findings",
        metadata={"embedder": "model", "dimension": 4},
        configuration={"hnsw": {"space": "cosine"}},
        embedding_function=None,
    )
    store = Store(settings, "model", 4)
    assert store.findings.id == old.id
    vectors = np.random.default_rng(1).standard_normal((2, 4)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    store.write_chunks(store.findings, _finding_rows("d2", 2), vectors)
    raw = store.findings.get(include=["embeddings", "metadatas"])
    assert {len(e) for e in raw["embeddings"]} == {4}  # type: ignore[union-attr]
    assert all("vector_f32" not in m for m in raw["metadatas"] or [])
    assert np.allclose(store.finding_rows(["d2"])[1], vectors, atol=1e-6)
    # `qa reindex` (Store.replace_rows) rebuilds it in the new layout.
    assert not vectors_in_metadata(store.findings)
    store.replace_rows(lambda sides: store.write_chunks(sides[1], _finding_rows("d2", 2), vectors))
    assert vectors_in_metadata(store.findings) and np.array_equal(store.finding_rows(["d2"])[1], vectors)


def test_clear_findings_drops_every_row_into_the_current_layout(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "old")
    import chromadb

    chromadb.PersistentClient(path=str(settings.data_dir / "chroma")).get_or_create_collection(
        f"{settings.collection}_findings", metadata={"embedder": "model", "dimension": 4}, embedding_function=None
    )
    store = Store(settings, "model", 4)
    store.write_chunks(store.findings, _finding_rows("d3", 2), np.eye(2, 4, dtype=np.float32))
    token = store.generation().token
    store.clear_findings()
    assert store.findings.count() == 0 and vectors_in_metadata(store.findings) and store.generation().token != token


def test_the_change_log_names_what_each_change_touched_and_expires(
    empty_retriever: Retriever, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each commit, delete and edit logs the documents it touched (what other processes re-read), a reindex logs a
    change of everything, and entries older than the retention are dropped by the next change."""
    store = empty_retriever.store
    start = time.time()
    report = ingest_into(empty_retriever, [S001, S004])
    ids = set(report.doc_ids.values())
    assert _changed(store, start) == ids
    mark = time.time()
    store.delete_document(report.doc_ids[S001.name])
    assert _changed(store, mark) == {report.doc_ids[S001.name]}
    generation = store.generation()
    assert generation.count == 1 and generation.token.endswith(":1") and generation.at >= mark
    store.bump_generation(None)  # what a reindex logs
    assert _changed(store, mark) is None
    monkeypatch.setattr(store_module, "CHANGE_RETENTION", 0.0)
    store.bump_generation(["x"])  # expires every earlier entry
    assert _changed(store, 0.0) == {"x"}


def _changed(store: Store, at: float) -> set[str] | None:
    """The documents the changes logged since `at` touched; None when one touched anything."""
    changes = store.changes_since(at)
    if any(c.doc_ids is None for c in changes):
        return None
    return set().union(*(c.doc_ids or () for c in changes))


def test_the_chunk_index_searches_as_broadly_as_the_setting(tmp_path: Path) -> None:
    """Chroma's default ef_search (100) missed true nearest neighbours among near-identical table rows, differently
    in each process (bench/hnsw.py, docs/evaluation.md): the setting is stored with the chunk collection, for a new
    store at creation and for an existing one when it is opened, so every process searches as broadly. (Recall
    itself is measured by the benchmark: near-duplicates tie within float rounding, no exact set to test against.)"""
    settings = make_settings(tmp_path / "s")
    assert settings.hnsw_ef_search == 400
    store = Store(settings.model_copy(update={"hnsw_ef_search": 123}), "model", 8)
    assert store.chunks.configuration_json["hnsw"]["ef_search"] == 123
    vectors = np.random.default_rng(3).standard_normal((50, 8)).astype(np.float32)
    store.write_chunks(store.chunks, [ChunkRow(f"c{i}", "t", {"doc_id": "d"}) for i in range(50)], vectors)
    reopened = Store(settings, "model", 8)
    assert reopened.chunks.configuration_json["hnsw"]["ef_search"] == 400
    assert Store(settings, "model", 8).chunks.configuration_json["hnsw"]["ef_search"] == 400  # kept, not reset
    assert len(reopened.query_ids(vectors[0], 10, None)) == 10 and reopened.query_ids(vectors[0], 1, None)[0][0] == "c0"
