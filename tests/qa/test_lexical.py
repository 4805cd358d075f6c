"""The BM25 index (qa.lexical) over the bundled samples' chunks: a rebuild through the token cache and an update after
adds and deletes equal a fresh build, the analysed tokens are the search words then the word pairs, and the phrase
bonus ranks adjacent words first."""

from pathlib import Path

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
