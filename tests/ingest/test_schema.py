"""The document / chunk contract (ingest.schema): ids, the stored form of records and rows and reading it back,
the text a finding sentence is judged by. (The module's doctests cover ChunkMeta and chunk ids.)"""

from __future__ import annotations

from ingest.schema import (
    NO_YEAR,
    DocFields,
    DocRecord,
    FindingRowMeta,
    doc_id_of,
    finding_id,
    finding_row_id,
    finding_row_order,
    finding_row_span,
    finding_row_text,
    metadata_year,
    row_doc,
    with_doc,
)

DOC = DocFields("d1", "a.txt", "标题", "", "某市", None, "其他")


def test_ids() -> None:
    assert doc_id_of("预算") == doc_id_of("预算") == "bd8dbd5724735390"  # the same content is the same document
    assert doc_id_of("预算。") != doc_id_of("预算") and len(doc_id_of("x")) == 16
    assert finding_id("d1", 3) == "d1-f003"
    assert finding_row_id(finding_id("d1", 3), 2) == "d1-f003-02"


def test_no_year_is_stored_as_minus_one_and_read_back_as_none() -> None:
    assert DOC.to_metadata()["year"] == NO_YEAR == -1
    assert [metadata_year(m) for m in ({"year": -1}, {"year": 2021}, {}, {"year": None})] == [None, 2021, None, None]


def test_a_document_without_a_unit_shows_its_file_name() -> None:
    assert DOC.display_unit == "a.txt"
    assert DocFields("d1", "a.txt", "标题", "某局", "", 2021, "其他").display_unit == "某局"


def test_records_round_trip_and_old_records_read_with_defaults() -> None:
    record = DocRecord(DOC, "txt", 3, 1.5)
    assert record.metadata() == {
        "doc_id": "d1",
        "source": "a.txt",
        "title": "标题",
        "unit": "",
        "region": "某市",
        "year": -1,
        "report_kind": "其他",
        "fmt": "txt",
        "n_chunks": 3,
        "ingested_at": 1.5,
        "n_findings": -1,  # written before findings existed
    }
    assert DocRecord.from_metadata("d1", record.metadata()) == record
    assert record.as_dict()["year"] is None  # as `qa docs list --json` prints it
    empty = DocRecord.from_metadata("d9", {})
    assert (empty.doc.doc_id, empty.doc.report_kind, empty.n_chunks, empty.n_findings) == ("d9", "其他", 0, -1)


def test_finding_rows_carry_the_whole_finding() -> None:
    meta = FindingRowMeta(DOC, "d1-f000", 0, 1, 1, "problem", "一、问题", "绩效指标设置方面", "全文", 10, 30, 12, 20)
    stored = meta.to_metadata()
    assert FindingRowMeta.from_metadata(stored) == meta and FindingRowMeta.same_finding(stored, meta)
    assert not FindingRowMeta.same_finding({**stored, "finding_id": "d1-f001"}, meta)
    assert (finding_row_order(stored), finding_row_span(stored), row_doc(stored)) == (("d1", 0, 1), (12, 20), "d1")


def test_a_finding_sentence_is_judged_under_a_lead_that_names_a_subject() -> None:
    sentence = "二是效益指标与项目内容关联度不高。"
    assert finding_row_text(sentence, {"lead": "绩效指标设置方面"}) == "绩效指标设置方面：" + sentence
    assert finding_row_text(sentence, {"lead": "主要存在以下问题"}) == sentence  # a lead that only announces
    assert finding_row_text(sentence, {}) == sentence
    # Only the finding's first sentence stands under the lead; the next one may state something else.
    then = "“三公”经费控制不够严格。"
    assert (
        finding_row_text(sentence, {"lead": "绩效指标设置方面", "sentence_index": 0}) == "绩效指标设置方面：" + sentence
    )
    assert finding_row_text(then, {"lead": "绩效指标设置方面", "sentence_index": 1}) == then


def test_a_metadata_edit_replaces_the_document_fields_only() -> None:
    row = {**FindingRowMeta(DOC, "d1-f000", 0, 0, 0, "problem", "", "", "全文", 0, 2, 0, 2).to_metadata(), "x": 1}
    edited = with_doc(row, DocFields("d1", "a.txt", "标题", "新单位", "新市", 2030, "项目支出"))
    assert (edited["unit"], edited["region"], edited["year"], edited["report_kind"]) == (
        "新单位",
        "新市",
        2030,
        "项目支出",
    )
    assert {k: v for k, v in edited.items() if k not in ("unit", "region", "year", "report_kind")} == {
        k: v for k, v in row.items() if k not in ("unit", "region", "year", "report_kind")
    }
