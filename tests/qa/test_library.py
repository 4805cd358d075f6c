"""The library service (qa.library) against a real embedded Chroma: duplicates named as such, metadata edits that
reach every row and every derived view without re-embedding, and survive re-ingest; finding sentences embedded by
the query model; reindex with new chunking."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ingest.schema import DocFields, finding_row_text
from qa.answer import Answerer
from qa.findings import FindingFilter, open_findings
from qa.library import DocumentNotFound, Library, MetadataError
from qa.retrieve import Filters, Retriever
from qa.store import Store, StoreError
from tests.conftest import ingest_into
from tests.support.documents import docx_bytes
from tests.support.samples import S001, S004, copy_sample

NEW_UNIT = "邵阳市测试改名委员会"


def _rows(r: Retriever, doc_id: str) -> dict[str, tuple[dict[str, object], list[float]]]:
    """Every chunk and finding row of a document: id → (metadata, vector)."""
    out = {}
    for col in (r.store.chunks, r.store.findings):
        page = col.get(where={"doc_id": doc_id}, include=["metadatas", "embeddings"])
        out.update(
            {i: (dict(m or {}), list(e)) for i, m, e in zip(page["ids"], page["metadatas"] or [], page["embeddings"])}
        )  # type: ignore[arg-type]
    return out


def test_same_content_under_another_name_is_a_duplicate(empty_retriever: Retriever, tmp_path: Path) -> None:
    r = empty_retriever
    library = Library.of(r)
    first = ingest_into(r, [copy_sample(S001, tmp_path / "a", "原件.txt")])
    before = (r.store.count_chunks(), r.store.findings.count(), r.store.catalogue())
    twin = ingest_into(r, [copy_sample(S001, tmp_path / "b", "副本.txt")])
    assert twin.duplicates == [("副本.txt", "原件.txt")] and not (
        twin.new or twin.unchanged or twin.replaced or twin.failed
    )
    assert twin.doc_ids["副本.txt"] == first.doc_ids["原件.txt"] and twin.chunks == 0
    added = library.add(S001.read_bytes(), "上传副本.txt")
    assert (added.outcome, added.duplicate_of, added.record.doc.doc_id) == (
        "duplicate",
        "原件.txt",
        first.doc_ids["原件.txt"],
    )
    assert (
        r.store.count_chunks(),
        r.store.findings.count(),
        r.store.catalogue(),
    ) == before  # nothing stored, nothing changed
    assert ingest_into(r, [tmp_path / "a" / "原件.txt"]).unchanged == ["原件.txt"]  # same name, same content: unchanged


def test_metadata_edit_reaches_every_row_and_view_without_reembedding(
    empty_retriever: Retriever, tmp_path: Path
) -> None:
    r = empty_retriever
    report = ingest_into(r, [copy_sample(S001, tmp_path, S001.name), copy_sample(S004, tmp_path, S004.name)])
    edited_id, other_id = report.doc_ids[S004.name], report.doc_ids[S001.name]
    answerer = Answerer(r)
    assert "湖南省大祥工业集中区管理委员会" in {
        u.unit for u in answerer.ask("哪些单位提到预算编制不够细化？").units or []
    }
    findings = open_findings(r)
    assert findings.select(FindingFilter(unit="大祥工业集中区"))
    rows_before, other_before = _rows(r, edited_id), _rows(r, other_id)
    r.lexical()

    # Only the edited document's chunks are read again for BM25: no full rebuild.
    asked: list[list[str]] = []
    chunks_of, iter_chunks = r.store.chunks_of, r.store.iter_chunks
    r.store.chunks_of = lambda ids: (asked.append(list(ids)), chunks_of(ids))[1]  # type: ignore[method-assign]

    def every_chunk(include_text: bool = True, where: dict[str, object] | None = None) -> object:
        assert where is not None, "full BM25 rebuild after a metadata edit"
        return iter_chunks(include_text, where)

    r.store.iter_chunks = every_chunk  # type: ignore[method-assign]
    record = Library.of(r).edit_metadata(
        edited_id, unit=NEW_UNIT, region="湖南省邵阳市", year=2030, report_kind="项目支出"
    )
    lexical = r.lexical()
    r.store.chunks_of, r.store.iter_chunks = chunks_of, iter_chunks  # type: ignore[method-assign]
    assert asked == [[edited_id]]

    want = DocFields(edited_id, S004.name, record.doc.title, NEW_UNIT, "湖南省邵阳市", 2030, "项目支出")
    assert record.doc == want and r.store.records([edited_id])[edited_id].doc == want
    rows_after = _rows(r, edited_id)
    assert rows_after.keys() == rows_before.keys() and len(rows_after) > 10
    for row_id, (meta, vector) in rows_after.items():
        old_meta, old_vector = rows_before[row_id]
        assert vector == old_vector  # not re-embedded
        assert (meta["unit"], meta["region"], meta["year"], meta["report_kind"]) == (
            NEW_UNIT,
            "湖南省邵阳市",
            2030,
            "项目支出",
        )
        assert {k: v for k, v in meta.items() if k not in ("unit", "region", "year", "report_kind")} == {
            k: v for k, v in old_meta.items() if k not in ("unit", "region", "year", "report_kind")
        }
    assert _rows(r, other_id) == other_before

    # Catalogue, filters, BM25 index text (the unit is indexed with every chunk), findings view, answers.
    assert r.catalogue()[edited_id].doc == want
    assert {h.doc.doc_id for h in r.search("预算", mode="dense", top_k=50, filters=Filters(year=2030))} == {edited_id}
    assert {h.doc.doc_id for h in r.search(NEW_UNIT, mode="bm25", top_k=50)} == {edited_id}
    assert lexical.versions[edited_id] != lexical.versions[other_id]
    assert {f.doc.unit for f in findings.select(FindingFilter(unit=NEW_UNIT))} == {NEW_UNIT}
    assert {f.doc for f in findings.select(FindingFilter()) if f.doc.doc_id == edited_id} == {want}
    units = {u.unit for u in answerer.ask("哪些单位提到预算编制不够细化？").units or []}
    assert NEW_UNIT in units and "湖南省大祥工业集中区管理委员会" not in units


def test_edit_survives_reingest_and_a_manifest_wins(empty_retriever: Retriever, tmp_path: Path) -> None:
    r = empty_retriever
    library = Library.of(r)
    path = copy_sample(S004, tmp_path, S004.name)
    doc_id = ingest_into(r, [path]).doc_ids[S004.name]
    library.edit_metadata(doc_id, unit=NEW_UNIT, year=2030)
    assert library.overrides(S004.name) == {"unit": NEW_UNIT, "year": 2030}
    assert ingest_into(r, [path]).unchanged == [S004.name]  # the stored edit is applied like a manifest entry

    copy_sample(S004, tmp_path, S004.name, extra="\n十、补充说明\n档案管理已数字化。\n")
    changed = ingest_into(r, [path])
    assert changed.replaced == [S004.name]
    [record] = r.store.catalogue()
    assert (record.doc.doc_id != doc_id, record.doc.unit, record.doc.year) == (True, NEW_UNIT, 2030)

    with_manifest = ingest_into(r, [path], manifest={S004.name: {"unit": "清单里的单位"}})
    assert with_manifest.replaced == [S004.name]
    [record] = r.store.catalogue()
    assert (record.doc.unit, record.doc.year) == ("清单里的单位", 2030)  # the run's manifest wins field by field

    library.delete(record.doc.doc_id)  # forgetting a document forgets its edit
    assert library.overrides(S004.name) == {}
    assert ingest_into(r, [path]).new == [S004.name]
    [record] = r.store.catalogue()
    assert (record.doc.unit, record.doc.year) == ("湖南省大祥工业集中区管理委员会", 2021)


def test_bad_edits_change_nothing(empty_retriever: Retriever, tmp_path: Path) -> None:
    r = empty_retriever
    library = Library.of(r)
    doc_id = ingest_into(r, [copy_sample(S001, tmp_path, S001.name)]).doc_ids[S001.name]
    before = r.store.records([doc_id])[doc_id]
    for kwargs, message in (
        ({"year": 1899}, "年份应在 1900–2100 之间"),
        ({"year": 2101}, "年份应在 1900–2100 之间"),
        ({"report_kind": "年度报告"}, "报告类型无效"),
        ({"title": "  "}, "标题不能为空"),
    ):
        with pytest.raises(MetadataError, match=message):
            library.edit_metadata(doc_id, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(DocumentNotFound, match="没有 doc_id 为 ffffffffffffffff 的报告"):
        library.edit_metadata("ffffffffffffffff", unit="某单位")
    with pytest.raises(DocumentNotFound):
        library.delete("ffffffffffffffff")
    assert r.store.records([doc_id])[doc_id] == before and library.overrides(S001.name) == {}


def test_write_listeners_hear_every_write(empty_retriever: Retriever) -> None:
    """The service's background fusion tuning learns of writes this way (qa.api.deps)."""
    library = Library.of(empty_retriever)
    heard: list[int] = []
    library.on_write(lambda: heard.append(empty_retriever.store.count_chunks()))
    added = library.add(S001.read_bytes(), "一篇.txt")
    assert heard == [added.record.n_chunks] and added.record.n_chunks > 0
    library.delete(added.record.doc.doc_id)
    assert heard == [added.record.n_chunks, 0]


def test_finding_sentences_carry_the_query_models_vectors(empty_retriever: Retriever, tmp_path: Path) -> None:
    """Finding sentences are scored against questions' topics, so ingest embeds them with the query model and
    the findings collection records that model; findings from another model make the store refuse to open."""
    r = empty_retriever
    assert r.embedder.query_model_id != r.embedder.model_id  # the shipped setting: int8 queries, torch passages
    ingest_into(r, [copy_sample(S001, tmp_path), copy_sample(S004, tmp_path)])
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
    ingest_into(r, [copy_sample(S001, tmp_path)])
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
