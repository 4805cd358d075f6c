"""The BM25 index (qa.lexical) over the bundled samples' chunks: a rebuild through the token cache and an update after
adds and deletes equal a fresh build, the analysed tokens are the search words then the word pairs, and the phrase
bonus ranks adjacent words first."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import qa.lexical
from qa.lexical import LexicalIndex, TokenCache
from qa.retrieve import Retriever, index_row


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
    LexicalIndex.build([r for r in rows if r[1] != docs[0]], "g1").save(tmp_path)
    saved = LexicalIndex.load(tmp_path)
    assert saved is not None
    committed = set(docs) - {docs[2]}  # docs[0] added, docs[2] deleted
    asked: list[list[str]] = []

    def added_rows(doc_ids: list[str]) -> list[tuple[str, str, str, str]]:
        asked.append(doc_ids)
        return [r for r in rows if r[1] in doc_ids]

    cache = TokenCache()
    updated = saved.updated(committed, "g2", added_rows, tokens=cache.tokens)
    assert asked == [[docs[0]]]  # the documents it already had are not read again
    assert cache.tokenized == len({r[3] for r in rows if r[1] == docs[0]})
    fresh = LexicalIndex.build([r for r in rows if r[1] in committed], "g2")
    assert (
        updated.ids == fresh.ids
        and list(updated.doc_ids) == list(fresh.doc_ids)
        and list(updated.keys) == list(fresh.keys)  # type: ignore[arg-type]
    )
    for query in ("预算编制不够细化", "项目资金未实行专账核算", "政府采购", "绩效目标"):
        assert updated.search(query, 20) == fresh.search(query, 20)
    assert updated.idf("细化") == fresh.idf("细化")
    # An index saved in the format before segments (one bm25s index) is not read: it is rebuilt once.
    for name in list(tmp_path.iterdir()):
        shutil.rmtree(name) if name.is_dir() else name.unlink()
    (tmp_path / "rows.json").write_text(json.dumps({"generation": "g1", "ids": []}), encoding="utf-8")
    assert LexicalIndex.load(tmp_path) is None


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


# Questions of every kind the service gets over the samples: problems, measures, units, years, amounts, phrases.
QUERIES = [
    "预算编制不够细化",
    "项目资金未实行专账核算",
    "政府采购",
    "绩效目标",
    "资金使用效益",
    "招商引资",
    "楼宇经济",
    "重点项目建设",
    "部门整体支出",
    "项目支出绩效自评",
    "安全生产事故",
    "固定资产管理",
    "三公经费",
    "群众满意度",
    "财务人员业务培训",
    "加强资金监管",
    "绩效评价结果应用",
    "预算执行率",
    "年初预算数",
    "工业集中区管理委员会",
    "赫山区投资促进服务中心",
    "桃江县",
    "芙蓉区商务局",
    "2021年",
    "存在的问题",
    "改进措施",
    "资金到位率",
    "专账核算 会计核算",
    "项目资金 管理办法",
    "产出指标 效益指标",
]


def _rows_by_doc(retriever: Retriever) -> dict[str, list[tuple[str, str, str, str]]]:
    by_doc: dict[str, list[tuple[str, str, str, str]]] = {}
    for row in map(index_row, retriever.store.iter_chunks()):
        by_doc.setdefault(row[1], []).append(row)
    return by_doc


def _assert_same_as_a_full_build(index: LexicalIndex, current: dict[str, list[tuple[str, str, str, str]]]) -> None:
    """The index answers every query as a full build of the current rows does: same rows, same (id, score)
    lists with and without the phrase bonus and masks, same statistics."""
    fresh = LexicalIndex.build([r for rows in current.values() for r in rows], index.generation)
    assert index.ids == fresh.ids and len(index) == len(fresh)
    assert list(index.doc_ids) == list(fresh.doc_ids) and list(index.roles) == list(fresh.roles)
    assert list(index.keys) == list(fresh.keys)  # type: ignore[arg-type]
    assert (index.avgdl, index.pair_avgdl) == (fresh.avgdl, fresh.pair_avgdl)
    assert np.array_equal(index.doc_codes(), fresh.doc_codes())
    assert list(index.rows_of(fresh.ids[::7])) == list(range(0, len(fresh), 7))
    docs = sorted(current)
    masks = [None, fresh.roles == "problems", np.isin(fresh.doc_ids, docs[:2])]
    for query in QUERIES:
        for weight in (0.0, 0.5):
            for mask in masks:
                got, want = index.search(query, 30, mask, weight), fresh.search(query, 30, mask, weight)
                assert [i for i, _ in got] == [i for i, _ in want], (query, weight)
                assert [s for _, s in got] == pytest.approx([s for _, s in want], rel=1e-9, abs=0)
        for token in qa.lexical.tokenize(query):
            assert (index.df(token), index.idf(token)) == (fresh.df(token), fresh.idf(token))
        text = current[docs[0]][0][3]
        assert index.score_text(query, text, 0.5) == pytest.approx(fresh.score_text(query, text, 0.5), rel=1e-9)


def test_updates_by_adds_deletes_and_relabels_score_as_a_full_build(
    sample_retriever: Retriever, tmp_path: Path
) -> None:
    everything = _rows_by_doc(sample_retriever)
    d = sorted(everything)
    assert len(d) == 5
    current = {doc: everything[doc] for doc in d[:3]}
    index = LexicalIndex.build([r for doc in d[:3] for r in everything[doc]], "g0")

    def relabelled(doc: str, n: int) -> list[tuple[str, str, str, str]]:
        """A metadata edit: the same chunks, another title in their indexed text, one section role changed."""
        rows = everything[doc]
        return [
            (i, dd, "measures" if k == 0 else role, f"修订{n}：{text}") for k, (i, dd, role, text) in enumerate(rows)
        ]

    def step(added: dict[str, list[tuple[str, str, str, str]]], removed: set[str], generation: str) -> LexicalIndex:
        stale = set(added) & set(current)
        for doc in removed:
            current.pop(doc)
        current.update(added)
        asked: list[list[str]] = []

        def added_rows(doc_ids: list[str]) -> list[tuple[str, str, str, str]]:
            asked.append(doc_ids)
            return [r for doc in doc_ids for r in current[doc]]

        updated = index.updated(set(current), generation, added_rows, stale=stale)
        assert asked == ([sorted(added)] if added else [])  # only what changed is read
        return updated

    # 1: add a document, delete another.
    index = step({d[3]: everything[d[3]]}, {d[0]}, "g1")
    _assert_same_as_a_full_build(index, current)
    assert index.unmerged > 0
    # 2: relabel one document (its rows become tombstones and delta rows), add another; then saved and loaded.
    index = step({d[1]: relabelled(d[1], 1), d[4]: everything[d[4]]}, set(), "g2")
    _assert_same_as_a_full_build(index, current)
    index.save(tmp_path)
    loaded = LexicalIndex.load(tmp_path)
    assert loaded is not None and loaded.generation == "g2"
    _assert_same_as_a_full_build(loaded, current)
    # 3: on the loaded index, delete a delta document and re-add the first one.
    index = step({d[0]: everything[d[0]]}, {d[3]}, "g3")
    index = loaded.updated(
        set(current), "g3", lambda docs: [r for doc in docs for r in current[doc]], stale=set()
    ).merged()  # the same update from the loaded copy, then merged: one segment, no tombstones
    assert index.unmerged == 0
    _assert_same_as_a_full_build(index, current)
    # 4: after the merge: relabel again and delete, unmerged, saved over the merged base.
    index.save(tmp_path)
    index = step({d[1]: relabelled(d[1], 2)}, {d[2]}, "g4")
    _assert_same_as_a_full_build(index, current)
    index.save(tmp_path)
    loaded = LexicalIndex.load(tmp_path)
    assert loaded is not None
    _assert_same_as_a_full_build(loaded, current)
    # 5: everything deleted, then one document back.
    index = step({}, set(current), "g5")
    assert len(index) == 0 and index.search("预算", 5) == [] and index.scores("预算") is None
    index = step({d[2]: everything[d[2]]}, set(), "g6")
    _assert_same_as_a_full_build(index, current)


def test_scores_are_bm25s_scores(sample_retriever: Retriever) -> None:
    """The postings give the float32 scores the bm25s index (before segments) gave: same arithmetic."""
    import bm25s

    rows = sorted(map(index_row, sample_retriever.store.iter_chunks()))
    index = LexicalIndex.build(rows, "g")
    for f, tokens_of in ((0, qa.lexical.tokenize), (1, qa.lexical.pairs)):
        reference = bm25s.BM25()
        reference.index([qa.lexical.split_pairs(qa.lexical.analyze(r[3]))[f] for r in rows], show_progress=False)
        for query in QUERIES:
            tokens = [t for t in tokens_of(query) if t in reference.vocab_dict]
            if tokens:
                assert np.array_equal(index._field_scores(f, tokens_of(query)), reference.get_scores(tokens))


def _files(directory: Path) -> dict[Path, tuple[int, int]]:
    return {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in directory.rglob("*") if p.is_file()}


def test_an_update_indexes_only_the_changed_rows_and_saves_only_the_delta(
    sample_retriever: Retriever, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before segments an update indexed every row again (bm25s cannot add rows) and saved everything."""
    by_doc = _rows_by_doc(sample_retriever)
    docs = sorted(by_doc)
    LexicalIndex.build([r for doc in docs[1:] for r in by_doc[doc]], "g1").save(tmp_path)
    saved = LexicalIndex.load(tmp_path)
    assert saved is not None
    before = _files(tmp_path)
    base = tmp_path / json.loads((tmp_path / qa.lexical.CURRENT).read_text())["base"]
    analysed: list[list[str]] = []
    split_pairs = qa.lexical.split_pairs
    monkeypatch.setattr(qa.lexical, "split_pairs", lambda tokens: analysed.append(tokens) or split_pairs(tokens))
    committed = set(docs) - {docs[1]}
    updated = saved.updated(committed, "g2", lambda ds: [r for doc in ds for r in by_doc[doc]])
    assert len(analysed) == len(by_doc[docs[0]])  # the added document's rows only, not every row
    assert updated.save(tmp_path, new_base=False)
    after = _files(tmp_path)
    assert {p: v for p, v in after.items() if p.is_relative_to(base)} == {
        p: v for p, v in before.items() if p.is_relative_to(base)
    }  # the base is not written again
    written = {p.relative_to(tmp_path).parts[0] for p, v in after.items() if before.get(p) != v}
    assert written == {qa.lexical.CURRENT, json.loads((tmp_path / qa.lexical.CURRENT).read_text())["delta"]}
    assert sum(p.stat().st_size for p in after if not p.is_relative_to(base)) < sum(
        p.stat().st_size for p in after if p.is_relative_to(base)
    )


def test_a_save_interrupted_before_the_swap_leaves_the_previous_index(
    sample_retriever: Retriever, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    by_doc = _rows_by_doc(sample_retriever)
    docs = sorted(by_doc)
    first = LexicalIndex.build([r for doc in docs[1:] for r in by_doc[doc]], "g1")
    first.save(tmp_path)
    updated = first.updated(set(docs[:-1]), "g2", lambda ds: [r for doc in ds for r in by_doc[doc]])

    def crash(path: Path, value: object) -> None:  # the process dies after the delta is written, before the swap
        raise OSError("killed")

    monkeypatch.setattr(qa.lexical, "_write_json", crash)
    with pytest.raises(OSError):
        updated.save(tmp_path, new_base=False)
    monkeypatch.undo()
    assert sum(p.name.startswith("delta-") for p in tmp_path.iterdir()) == 2  # written, never named by CURRENT
    loaded = LexicalIndex.load(tmp_path)
    assert loaded is not None and loaded.generation == "g1" and loaded.ids == first.ids
    for query in QUERIES[:8]:
        assert loaded.search(query, 20, phrase_weight=0.5) == first.search(query, 20, phrase_weight=0.5)
    # A later save goes through; the orphan is removed once it is old enough not to be another thread's.
    monkeypatch.setattr(qa.lexical, "_ORPHAN_AGE_S", 0.0)
    assert updated.save(tmp_path, new_base=False)
    assert sum(p.name.startswith("delta-") for p in tmp_path.iterdir()) == 1
    reloaded = LexicalIndex.load(tmp_path)
    assert reloaded is not None and reloaded.generation == "g2" and reloaded.ids == updated.ids


@pytest.mark.parametrize("damage", ["truncate", "delete"])
@pytest.mark.parametrize("part", ["delta", "base"])
def test_a_damaged_segment_means_a_rebuild(sample_retriever: Retriever, tmp_path: Path, part: str, damage: str) -> None:
    by_doc = _rows_by_doc(sample_retriever)
    docs = sorted(by_doc)
    index = LexicalIndex.build([r for doc in docs[1:] for r in by_doc[doc]], "g1")
    index.save(tmp_path)
    index.updated(set(docs), "g2", lambda ds: [r for doc in ds for r in by_doc[doc]]).save(tmp_path, new_base=False)
    assert LexicalIndex.load(tmp_path) is not None
    segment = tmp_path / json.loads((tmp_path / qa.lexical.CURRENT).read_text())[part]
    for path in segment.iterdir():
        if damage == "delete":
            path.unlink()
        else:
            path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
        assert LexicalIndex.load(tmp_path) is None
        break


def test_saved_postings_are_memory_mapped_and_still_checked(sample_retriever: Retriever, tmp_path: Path) -> None:
    """A loaded index maps its postings' rows and tf from the saved files (issue 23: ~0.7 GB at 1M chunks that a
    process no longer reads in) and scores as the index it saved; a row number out of range in the file is still
    caught at load (read from the file, not through the mapping), and the caller rebuilds."""
    by_doc = _rows_by_doc(sample_retriever)
    index = LexicalIndex.build([r for rows in by_doc.values() for r in rows], "g1")
    index.save(tmp_path)
    loaded = LexicalIndex.load(tmp_path)
    assert loaded is not None
    words, pairs = loaded._segments[0].fields
    assert all(isinstance(a, np.memmap) for f in (words, pairs) for a in (f.rows, f.tf))
    for query in ("预算编制不够细化", "赫山区投资促进服务中心基本支出", "资金使用效益"):
        assert loaded.search(query, 10, phrase_weight=0.5) == index.search(query, 10, phrase_weight=0.5)
    segment = tmp_path / json.loads((tmp_path / qa.lexical.CURRENT).read_text())["base"]
    where = qa.lexical._member(segment / "words.npz", "rows")
    assert where is not None
    with (segment / "words.npz").open("r+b") as fh:
        fh.seek(where[0])
        fh.write(np.array([10**6], dtype=where[1]).tobytes())
    assert LexicalIndex.load(tmp_path) is None
