"""File → prepared document (ingest.pipeline), pure: no store, no model. Chunk and finding rows are exact spans of the
cleaned text with the contract metadata, table rows keep their cell positions (moved from the raw text to the
cleaned one, and kept through a rechunk), and folders expand to the files ingest reads. Committing what this
prepares: tests/qa/test_ingest_run.py and test_library.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ingest.clean import clean_text
from ingest.document import IngestError, RawDocument, RecordSpan, TablePosition
from ingest.pipeline import cleaned_records, expand_paths, prepare, rechunk, stored_records
from ingest.readers import read_bytes, read_document
from ingest.schema import ChunkMeta, FindingRowMeta, doc_id_of
from tests.support.documents import docx_bytes
from tests.support.samples import S004


def test_prepare_tags_chunks_and_findings_with_exact_spans() -> None:
    doc = prepare(read_document(S004), {"year": "2030"}, chunk_size=300, chunk_overlap=0)
    record = doc.record
    assert record.doc.doc_id == doc_id_of(doc.text)  # the cleaned text's hash
    assert (record.doc.unit, record.doc.year, record.doc.report_kind, record.fmt) == (
        "湖南省大祥工业集中区管理委员会",
        2030,  # the override wins over the year the report states
        "部门整体支出",
        "txt",
    )
    assert record.n_chunks == len(doc.rows) == len(doc.index_texts) == 10 and record.n_findings == 5
    assert [r.id for r in doc.rows[:2]] == [f"{record.doc.doc_id}-00000", f"{record.doc.doc_id}-00001"]
    for row in doc.rows:
        meta = ChunkMeta.from_metadata(row.metadata)
        assert doc.text[meta.char_start : meta.char_end] == row.text and meta.doc == record.doc
    assert doc.index_texts[1].startswith("湖南省大祥工业集中区管理委员会｜一、绩效管理工作开展情况\n")
    # One row per finding sentence, the whole finding in each; embedded as the sentence under its lead.
    assert len(doc.finding_rows) == 5 and doc.finding_texts[:2] == [
        "1、预算编制不够细化。",
        "2、缺乏懂法律的、懂财经的、懂环保的专业人才。",
    ]
    assert {r.metadata["role"] for r in doc.finding_rows} == {"problem", "measure"}
    for row in doc.finding_rows:
        meta = FindingRowMeta.from_metadata(row.metadata)
        assert doc.text[meta.char_start : meta.char_end] == row.text
        assert doc.text[meta.finding_start : meta.finding_end] == meta.finding_text
        assert row.id == f"{meta.finding_id}-{meta.sentence_index:02d}"


def test_a_document_with_nothing_left_after_cleaning_is_refused() -> None:
    with pytest.raises(IngestError, match=re.escape("x.txt: 清理后没有可用的正文")):
        prepare(RawDocument("x.txt", "\u3000\n  \n", "txt"), {}, chunk_size=300, chunk_overlap=0)


def test_record_spans_move_from_the_raw_to_the_cleaned_text() -> None:
    raw = "\u3000\u3000本单位严格执行预算。\n楼宇经济 · 预算数 30 · 执行数 28\n"
    record = RecordSpan(raw.index("楼宇"), raw.index("28") + 2, TablePosition(0, 1, 0, 3))
    cleaned = clean_text(raw)
    (moved,) = cleaned_records([record], cleaned)
    assert (
        cleaned.text[moved.start : moved.end] == "楼宇经济 · 预算数 30 · 执行数 28" and moved.start == record.start - 2
    )
    doc = prepare(RawDocument("a.txt", raw, "txt", records=(record,)), {}, chunk_size=300, chunk_overlap=0)
    assert [(r.text, r.metadata.get("table_row")) for r in doc.rows] == [
        ("本单位严格执行预算。", None),
        ("楼宇经济 · 预算数 30 · 执行数 28", 1),  # a record line is a chunk of its own, with its position
    ]


def test_rechunk_keeps_the_record_and_the_stored_table_positions() -> None:
    doc = prepare(read_bytes(docx_bytes(), "表格.docx"), {}, chunk_size=300, chunk_overlap=0)
    positions = [
        (r.text, r.metadata.get("table"), r.metadata.get("table_row")) for r in doc.rows if "table" in r.metadata
    ]
    assert positions == [("楼宇经济 · 预算数 30 · 执行数 28", 0, 1), ("合计 · 执行数 28", 0, 2)]
    assert [(s.start, s.end, s.position.row) for s in stored_records(doc.rows)] == [(18, 40, 1), (41, 52, 2)]
    again = rechunk(doc.record, doc.text, doc.rows, chunk_size=120, chunk_overlap=0)  # the file is gone
    assert [
        (r.text, r.metadata.get("table"), r.metadata.get("table_row")) for r in again.rows if "table" in r.metadata
    ] == positions
    assert again.record.doc == doc.record.doc and again.record.ingested_at == doc.record.ingested_at


def test_rechunk_with_smaller_chunks_counts_them_in_the_record() -> None:
    doc = prepare(read_document(S004), {}, chunk_size=300, chunk_overlap=0)
    small = rechunk(doc.record, doc.text, doc.rows, chunk_size=120, chunk_overlap=0)
    assert small.record.n_chunks == len(small.rows) > doc.record.n_chunks
    assert small.record.n_findings == doc.record.n_findings and small.finding_texts == doc.finding_texts


def test_expand_paths_takes_given_files_and_the_supported_files_of_folders(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    for name in ("a.txt", "c.exe", "sub/b.PDF", "sub/d.docx"):
        (tmp_path / name).write_bytes(b"x")
    found = [str(p.relative_to(tmp_path)) for p in expand_paths([tmp_path, tmp_path / "c.exe"])]
    assert found == ["a.txt", "sub/b.PDF", "sub/d.docx", "c.exe"]  # sorted; a named file is taken as it is
