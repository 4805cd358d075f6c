"""Retrieval on the bundled samples with the real model and Chroma."""

import json

import pytest

from qa.lexical import CURRENT, LexicalIndex
from qa.retrieve import MODES, Filters, Retriever, rrf
from tests.conftest import SAMPLES, ingest_into

# The two reports that write 预算编制不够细化 / 预算编制不够明确和细化 in their problems sections.
BUDGET_UNITS = {"益阳市赫山区投资促进服务中心", "湖南省大祥工业集中区管理委员会"}


def test_headline_query_finds_both_units_problem_passages_in_top5(sample_retriever: Retriever) -> None:
    hits = sample_retriever.search("预算编制不够细化", mode="hybrid", top_k=5)
    found = {h.doc.unit for h in hits if h.section_role == "problems" and "预算编制" in h.text}
    assert found == BUDGET_UNITS


@pytest.mark.parametrize("mode", MODES)
def test_hits_are_citation_shaped(sample_retriever: Retriever, mode: str) -> None:
    hits = sample_retriever.search("项目资金未实行专账核算", mode=mode, top_k=3)  # type: ignore[arg-type]
    assert hits
    top = hits[0]
    doc = sample_retriever.store.get_document(top.doc.doc_id)
    assert doc is not None
    assert doc[1][top.char_start : top.char_end] == top.text
    assert set(top.as_dict()) >= {
        "doc_id",
        "source",
        "unit",
        "year",
        "title",
        "section",
        "text",
        "char_start",
        "char_end",
        "score",
    }
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


@pytest.mark.parametrize("mode", MODES)
def test_filters_apply_to_both_sides(sample_retriever: Retriever, mode: str) -> None:
    r = sample_retriever
    assert {h.doc.year for h in r.search("项目资金", mode=mode, top_k=20, filters=Filters(year=2022))} == {2022}  # type: ignore[arg-type]
    assert {h.doc.region for h in r.search("预算", mode=mode, top_k=20, filters=Filters(region="益阳市"))} == {
        "益阳市赫山区"
    }  # type: ignore[arg-type]
    assert {
        h.doc.report_kind for h in r.search("绩效", mode=mode, top_k=20, filters=Filters(report_kind="部门整体支出"))
    } == {"部门整体支出"}  # type: ignore[arg-type]
    problems = r.search("预算编制", mode=mode, top_k=20, filters=Filters(section_role="problems"))  # type: ignore[arg-type]
    assert problems and {h.section_role for h in problems} == {"problems"}
    assert r.search("预算", mode=mode, filters=Filters(year=1999)) == []  # type: ignore[arg-type]
    units = {h.doc.unit for h in r.search("改进措施", mode=mode, top_k=20, filters=Filters(unit="赫山区投资促进"))}  # type: ignore[arg-type]
    assert units == {"益阳市赫山区投资促进服务中心"}


def test_lexical_index_persists_and_rebuilds_when_damaged(sample_retriever: Retriever) -> None:
    r = sample_retriever
    index = r.lexical()
    directory = r.settings.data_dir / "lexical" / r.settings.collection
    delta = directory / json.loads((directory / CURRENT).read_text(encoding="utf-8"))["delta"]
    (delta / "meta.json").write_text("{broken", encoding="utf-8")
    fresh = Retriever(r.store, r.embedder, r.settings)
    assert len(fresh.lexical()) == len(index)
    assert fresh.search("专账核算", mode="bm25")
    assert LexicalIndex.load(directory) is not None  # rebuilt and saved again


def test_retriever_merges_the_delta_in_the_background(
    empty_retriever: Retriever, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = empty_retriever
    paths = sorted(SAMPLES.glob("*.txt"))
    ingest_into(r, paths[:3])
    first = r.lexical()
    monkeypatch.setattr(r.settings, "lexical_merge_share", 0.0)  # any delta is over the threshold
    merges: list[LexicalIndex] = []
    merge = r.merge_lexical
    monkeypatch.setattr(r, "merge_lexical", lambda index: merges.append(index) or merge(index))
    ingest_into(r, paths[3:])
    updated = r.lexical()
    assert updated is not first and updated.unmerged > 0  # searches go on with base + delta meanwhile
    assert r._merging is not None
    r._merging.join(timeout=60)
    assert merges == [updated]
    merged = r.lexical()
    assert merged is not updated and merged.unmerged == 0 and merged.generation == updated.generation
    fresh = r.build_lexical()
    for query in ("招商引资", "预算编制不够细化", "专账核算"):
        assert merged.search(query, 20, phrase_weight=0.5) == fresh.search(query, 20, phrase_weight=0.5)
    loaded = LexicalIndex.load(r.settings.data_dir / "lexical" / r.settings.collection)
    assert loaded is not None and loaded.unmerged == 0 and loaded.ids == fresh.ids
    # A merge of an index that is no longer current is dropped, not swapped in.
    assert not r.merge_lexical(updated) and r.lexical() is merged


def test_retriever_reads_only_added_documents_after_an_ingest(
    empty_retriever: Retriever, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = sorted(SAMPLES.glob("*.txt"))
    ingest_into(empty_retriever, paths[:3])
    assert len(empty_retriever.lexical()) > 0
    reads: list[object] = []
    iter_chunks = empty_retriever.store.iter_chunks
    monkeypatch.setattr(
        empty_retriever.store, "iter_chunks", lambda *a, **kw: reads.append(kw.get("where")) or iter_chunks(*a, **kw)
    )
    report = ingest_into(empty_retriever, paths[3:])
    index = empty_retriever.lexical()
    assert reads == [{"doc_id": {"$in": sorted(report.doc_ids.values())}}]
    fresh = empty_retriever.build_lexical()
    assert index.ids == fresh.ids and index.search("招商引资", 20, phrase_weight=0.5) == fresh.search(
        "招商引资", 20, phrase_weight=0.5
    )


def test_rrf_ties_and_order() -> None:
    assert rrf([], k=60) == []
    fused = rrf([["a", "b"], ["b", "a"]], k=60)
    assert [i for i, _ in fused] == ["a", "b"]  # equal scores: stable by id
    assert fused[0][1] == pytest.approx(1 / 61 + 1 / 62)


@pytest.mark.parametrize("mode", MODES)
def test_search_on_a_store_smaller_than_k(empty_retriever: Retriever, mode: str) -> None:
    """The store asks Chroma for k neighbours without counting first; fewer chunks (or none) must still work."""
    assert empty_retriever.search("预算编制不够细化", mode=mode, top_k=50) == []
    ingest_into(empty_retriever, [SAMPLES / "004_30f3d27d840c4c9e.txt"])
    n_chunks = empty_retriever.store.count_chunks()
    hits = empty_retriever.search("预算编制不够细化", mode=mode, top_k=n_chunks + 20)
    assert 0 < len(hits) <= n_chunks and len({h.id for h in hits}) == len(hits)
    if mode == "dense":
        assert len(hits) == n_chunks  # every chunk is a neighbour when k exceeds the collection


def test_a_merge_that_lost_to_an_update_merges_the_current_index(
    empty_retriever: Retriever, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An upload that lands while a merge runs makes that merge's result stale; the merge thread then merges the
    index the upload made, instead of leaving its delta unmerged until some later upload."""
    r = empty_retriever
    paths = sorted(SAMPLES.glob("*.txt"))
    ingest_into(r, paths[:2])
    r.lexical()
    monkeypatch.setattr(r.settings, "lexical_merge_share", 0.0)
    merge = r.merge_lexical
    merged_from: list[LexicalIndex] = []

    def racing(index: LexicalIndex) -> bool:
        merged_from.append(index)
        if len(merged_from) == 1:  # an upload lands while the first merge runs
            ingest_into(r, paths[3:4])
            r.lexical()
        return merge(index)

    monkeypatch.setattr(r, "merge_lexical", racing)
    ingest_into(r, paths[2:3])
    r.lexical()
    assert r._merging is not None
    r._merging.join(timeout=60)
    assert len(merged_from) == 2 and merged_from[1] is not merged_from[0]
    current = r.lexical()
    assert current.unmerged == 0 and len(set(current.doc_ids.tolist())) == 4
