"""Retrieval on the bundled samples with the real model and Chroma."""

from pathlib import Path

import pytest

import qa.lexical
from qa.lexical import LexicalIndex, TokenCache
from qa.retrieve import MODES, Filters, Retriever, index_row, rrf
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
    (directory / "rows.json").write_text("{broken", encoding="utf-8")
    fresh = Retriever(r.store, r.embedder, r.settings)
    assert len(fresh.lexical()) == len(index)
    assert fresh.search("专账核算", mode="bm25")


def test_rebuild_with_the_token_cache_equals_a_fresh_build_and_tokenises_only_new_texts(
    sample_retriever: Retriever, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [index_row(r) for r in sample_retriever.store.iter_chunks()]
    first_doc = rows[0][1]
    before = [r for r in rows if r[1] != first_doc]  # the store before one document was added
    cache = TokenCache()
    LexicalIndex.build(before, "g1", cache.tokens).save(tmp_path, cache)
    assert cache.tokenized == len(before)

    cache = TokenCache.load(tmp_path)
    rebuilt = LexicalIndex.build(rows, "g2", cache.tokens)
    old_texts = {r[3] for r in before}
    assert 0 < cache.tokenized == sum(r[3] not in old_texts for r in rows) < len(rows)
    fresh = LexicalIndex.build(rows, "g2")
    assert rebuilt.ids == fresh.ids
    for query in ("预算编制不够细化", "项目资金未实行专账核算", "政府采购", "绩效目标"):
        assert rebuilt.search(query, 20) == fresh.search(query, 20)
        assert rebuilt.idf("细化") == fresh.idf("细化")

    # Another dictionary (or a damaged file) makes the cache worthless: everything is tokenised again.
    monkeypatch.setattr(qa.lexical, "_tokenizer_fingerprint", lambda: "other")
    cache = TokenCache.load(tmp_path)
    LexicalIndex.build(rows, "g3", cache.tokens)
    assert cache.tokenized == len(rows)
    monkeypatch.undo()
    (tmp_path / TokenCache.FILE).write_bytes(b"not npz")
    assert TokenCache.load(tmp_path).tokens("项目资金") == qa.lexical.analyze("项目资金")


def test_update_after_adding_and_removing_documents_equals_a_fresh_build(
    sample_retriever: Retriever, tmp_path: Path
) -> None:
    rows = [index_row(r) for r in sample_retriever.store.iter_chunks()]
    docs = sorted({r[1] for r in rows})
    cache = TokenCache()
    LexicalIndex.build([r for r in rows if r[1] != docs[0]], "g1", cache.tokens).save(tmp_path, cache)
    saved, cache = LexicalIndex.load(tmp_path), TokenCache.load(tmp_path)
    assert saved is not None
    committed = set(docs) - {docs[2]}  # docs[0] added, docs[2] deleted
    asked: list[list[str]] = []

    def added_rows(doc_ids: list[str]) -> list[tuple[str, str, str, str]]:
        asked.append(doc_ids)
        return [r for r in rows if r[1] in doc_ids]

    updated = saved.updated(committed, "g2", cache, added_rows)
    assert asked == [[docs[0]]]  # the documents it already had are not read again
    assert cache.tokenized == len({r[3] for r in rows if r[1] == docs[0]} - {r[3] for r in rows if r[1] != docs[0]})
    fresh = LexicalIndex.build([r for r in rows if r[1] in committed], "g2")
    assert (
        updated.ids == fresh.ids
        and list(updated.doc_ids) == list(fresh.doc_ids)
        and list(updated.keys) == list(fresh.keys)
    )
    for query in ("预算编制不够细化", "项目资金未实行专账核算", "政府采购", "绩效目标"):
        assert updated.search(query, 20) == fresh.search(query, 20)
    assert updated.idf("细化") == fresh.idf("细化")
    with pytest.raises(KeyError):  # a cache saved with another index cannot stand in for the rows' texts
        saved.updated(committed, "g2", TokenCache(), added_rows)
    (tmp_path / "keys.npy").unlink()  # an index saved before keys were kept: searchable, rebuilt on the next change
    older = LexicalIndex.load(tmp_path)
    assert older is not None and older.search("政府采购", 5) == saved.search("政府采购", 5)
    with pytest.raises(KeyError):
        older.updated(committed, "g2", TokenCache.load(tmp_path), added_rows)


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


def test_analyze_is_the_search_tokens_then_the_word_pairs(sample_retriever: Retriever) -> None:
    texts = [r[3] for r in map(index_row, sample_retriever.store.iter_chunks())]
    for text in texts:
        words, pairs = qa.lexical.split_pairs(qa.lexical.analyze(text))
        assert words == qa.lexical.tokenize(text) and pairs == qa.lexical.pairs(text)
    assert qa.lexical.split_pairs(qa.lexical.analyze("的")) == ([], [])


def test_phrase_bonus_ranks_adjacent_words_first_and_survives_save_and_load(tmp_path: Path) -> None:
    rows = [
        ("c1", "d1", "", "资金到位后及时使用。"),  # 资金 … 使用: apart
        ("c2", "d2", "", "提高资金使用效益。"),  # …
        ("c3", "d3", "", "加强资金使用管理。"),  # 资金 使用: together
        ("c4", "d4", "", "预算编制不够细化，绩效目标不明确。"),
    ]
    index = LexicalIndex.build(rows, "g")
    query = "资金使用"
    words_only = dict(index.search(query, 3))
    with_pairs = dict(index.search(query, 3, phrase_weight=0.5))
    assert with_pairs["c3"] > words_only["c3"] and with_pairs["c1"] == words_only["c1"]
    assert index.search(query, 1, phrase_weight=0.5)[0][0] == "c3"
    index.save(tmp_path)
    loaded = LexicalIndex.load(tmp_path)
    assert loaded is not None and loaded.search(query, 3, phrase_weight=0.5) == index.search(
        query, 3, phrase_weight=0.5
    )
    for _, _, _, text in rows:  # a text scored outside the index scores as its row does
        row = index.rows_of([next(r[0] for r in rows if r[3] == text)])[0]
        assert index.score_text("资金使用管理", text, 0.5) == pytest.approx(
            index.scores("资金使用管理", phrase_weight=0.5)[row], rel=1e-5
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
