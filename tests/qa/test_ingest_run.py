"""Idempotent ingest against a real embedded Chroma: no-op, replace-on-change, delete, bad files, crash remains."""

from pathlib import Path

import numpy as np
import pytest

from ingest.pipeline import PreparedDoc, prepare
from ingest.readers import read_document
from ingest.schema import finding_row_text
from qa.library import Library
from qa.retrieve import Retriever
from qa.store import Store, StoreError
from tests.conftest import SAMPLES, ingest_into
from tests.support.documents import docx_bytes

S001 = SAMPLES / "001_5adf402d10fbcc74.txt"


def _copy(src: Path, dst_dir: Path, name: str | None = None, extra: str = "") -> Path:
    dst = dst_dir / (name or src.name)
    dst.write_text(src.read_text(encoding="utf-8") + extra, encoding="utf-8")
    return dst


def test_reingest_unchanged_is_noop_and_changed_file_replaces(empty_retriever: Retriever, tmp_path: Path) -> None:
    r = empty_retriever
    f = _copy(S001, tmp_path)
    first = ingest_into(r, [f])
    assert first.new == [f.name] and first.chunks > 0
    n_chunks = r.store.count_chunks()
    again = ingest_into(r, [f])
    assert again.unchanged == [f.name] and again.chunks == 0
    assert r.store.count_chunks() == n_chunks

    _copy(S001, tmp_path, extra="\n十、补充说明\n本单位新增一条补充说明：档案管理已数字化。\n")
    changed = ingest_into(r, [f])
    assert changed.replaced == [f.name]
    docs = r.store.catalogue()
    assert len(docs) == 1 and docs[0].doc.doc_id != first.doc_ids[f.name]
    # Every chunk left belongs to the new version; nothing of the old one remains.
    owners = {row.metadata["doc_id"] for row in r.store.iter_chunks(include_text=False)}
    assert owners == {docs[0].doc.doc_id}
    assert any("档案管理已数字化" in h.text for h in r.search("档案管理数字化", mode="bm25"))


def test_delete_leaves_nothing_behind(empty_retriever: Retriever, tmp_path: Path) -> None:
    r = empty_retriever
    report = ingest_into(r, [_copy(S001, tmp_path), _copy(SAMPLES / "004_30f3d27d840c4c9e.txt", tmp_path)])
    doc_id = report.doc_ids[S001.name]
    assert r.store.delete_document(doc_id)
    r.invalidate()
    assert r.store.get_document(doc_id) is None
    assert not list(r.store.iter_chunks(where={"doc_id": doc_id}))
    assert all(h.doc.doc_id != doc_id for h in r.search("赫山区投资促进服务中心 基本支出", top_k=20))
    assert not r.store.delete_document(doc_id)


def test_one_run_decides_each_file_against_the_store(empty_retriever: Retriever, tmp_path: Path) -> None:
    """A window of files read together (decided with one store read per window): unchanged, changed, new,
    and the same content again under another name, in one run."""
    r = empty_retriever
    same, edited = _copy(S001, tmp_path), _copy(SAMPLES / "004_30f3d27d840c4c9e.txt", tmp_path)
    ingest_into(r, [same, edited])
    _copy(SAMPLES / "004_30f3d27d840c4c9e.txt", tmp_path, extra="\n十、补充说明\n档案管理已数字化。\n")
    new = _copy(SAMPLES / "002_746ff3ccd9e6e85d.txt", tmp_path)
    twin = _copy(SAMPLES / "002_746ff3ccd9e6e85d.txt", tmp_path, name="副本.txt")
    report = ingest_into(r, [same, edited, new, twin])
    assert (report.unchanged, report.new, report.replaced) == ([same.name], [new.name], [edited.name])
    # The twin repeats a file of the same run: named as a duplicate of it, nothing stored for it (issue #20).
    assert report.duplicates == [(twin.name, new.name)]
    assert sorted(d.doc.source for d in r.store.catalogue()) == sorted([same.name, edited.name, new.name])
    assert report.doc_ids[new.name] == report.doc_ids[twin.name]


def test_bad_files_fail_alone_and_store_is_unchanged(empty_retriever: Retriever, tmp_path: Path) -> None:
    r = empty_retriever
    good = _copy(S001, tmp_path)
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "binary.txt").write_bytes(bytes(range(256)) * 8)
    (tmp_path / "table.xlsx").write_bytes(b"PK\x03\x04junk")
    (tmp_path / "fake.pdf").write_bytes(b"this is not a pdf")
    report = ingest_into(
        r, [tmp_path / "empty.txt", tmp_path / "binary.txt", tmp_path / "table.xlsx", tmp_path / "fake.pdf", good]
    )
    assert report.new == [good.name]
    assert sorted(s for s, _ in report.failed) == ["binary.txt", "empty.txt", "fake.pdf", "table.xlsx"]
    assert all(reason for _, reason in report.failed)
    assert [d.doc.source for d in r.store.catalogue()] == [good.name]


def test_interrupted_commit_is_invisible_and_repaired(empty_retriever: Retriever, tmp_path: Path) -> None:
    """Chunks written without their document record (a kill between the two steps) are never served and
    are removed by the next ingest."""
    r = empty_retriever
    doc: PreparedDoc = prepare(read_document(S001), {}, chunk_size=300, chunk_overlap=1)
    r.store.write_chunks(r.store.chunks, doc.rows, r.embedder.encode(doc.index_texts))
    r.invalidate()
    assert r.search("赫山区投资促进服务中心 基本支出 388.07万元", mode="dense") == []
    assert r.search("赫山区投资促进服务中心 基本支出 388.07万元", mode="bm25") == []
    ingest_into(r, [_copy(SAMPLES / "004_30f3d27d840c4c9e.txt", tmp_path)])
    assert {row.metadata["doc_id"] for row in r.store.iter_chunks(include_text=False)} == {
        d.doc.doc_id for d in r.store.catalogue()
    }


def test_embedder_mismatch_is_a_clear_error(empty_retriever: Retriever) -> None:
    r = empty_retriever
    with pytest.raises(StoreError, match="qa reindex"):
        Store(r.settings, "another-model", 768)


def test_finding_sentences_carry_the_query_models_vectors(empty_retriever: Retriever, tmp_path: Path) -> None:
    """Finding sentences are scored against questions' topics, so ingest embeds them with the query model and
    the findings collection records that model; findings from another model make the store refuse to open."""
    r = empty_retriever
    assert r.embedder.query_model_id != r.embedder.model_id  # the shipped setting: int8 queries, torch passages
    ingest_into(r, [_copy(S001, tmp_path), _copy(SAMPLES / "004_30f3d27d840c4c9e.txt", tmp_path)])
    rows, stored = r.store.finding_rows([d.doc.doc_id for d in r.store.catalogue()])
    assert len(rows) > 10
    texts = [finding_row_text(x.text, x.metadata) for x in rows]  # what ingest embeds: the sentence under its lead
    by_query_model = np.sum(stored * r.embedder.encode_queries(texts), axis=1)
    by_passage_model = np.sum(stored * r.embedder.encode(texts), axis=1)
    # int8 activations are quantised per batch, so the same sentence in another batch is near, not equal.
    assert by_query_model.min() > 0.999 and by_passage_model.max() < by_query_model.min()
    assert (r.store.findings.metadata or {})["embedder"] == r.embedder.query_model_id
    with pytest.raises(StoreError, match="qa reindex"):
        Store(r.settings, r.embedder.model_id, r.embedder.dimension, findings_embedder_id=r.embedder.model_id)


def test_reindex_rebuilds_with_new_chunking(empty_retriever: Retriever, tmp_path: Path) -> None:
    r = empty_retriever
    ingest_into(r, [_copy(S001, tmp_path)])
    before = r.store.count_chunks()
    n = Library(r.store, r.embedder, r.settings.model_copy(update={"chunk_size": 120, "chunk_overlap": 0}), r).reindex()
    assert n > before
    assert r.store.catalogue()[0].n_chunks == n
    r.invalidate()
    assert any("388.07万元" in h.text for h in r.search("基本支出 388.07万元", mode="hybrid"))


def test_table_rows_keep_their_cell_positions_through_a_reindex(empty_retriever: Retriever, tmp_path: Path) -> None:
    r = empty_retriever
    path = tmp_path / "表格.docx"
    path.write_bytes(docx_bytes())
    ingest_into(r, [path])

    def positions() -> dict[str, tuple[int, int, int, int]]:
        return {
            row.text: (
                row.metadata["table"],
                row.metadata["table_row"],
                row.metadata["col_start"],
                row.metadata["col_end"],
            )
            for row in r.store.iter_chunks()
            if "table" in row.metadata
        }

    expected = {"楼宇经济 · 预算数 30 · 执行数 28": (0, 1, 0, 3), "合计 · 执行数 28": (0, 2, 0, 3)}
    assert positions() == expected  # each record line a chunk of its own, with where its cells are
    Library(r.store, r.embedder, r.settings.model_copy(update={"chunk_size": 120, "chunk_overlap": 0}), r).reindex()
    assert positions() == expected
    r.invalidate()
    hit = next(h for h in r.search("楼宇经济执行数", mode="hybrid", top_k=3) if h.text.startswith("楼宇经济"))
    assert hit.position == {"table": 0, "table_row": 1, "col_start": 0, "col_end": 3}
