"""Prepared sentences (qa.sentences) must give the corpus-wide aggregate pass exactly what preparing them at
question time gives, and spare it the work."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ingest.schema import doc_of
from qa import sentences
from qa.answer import Answerer
from qa.answering.aggregate import aggregate_evidence
from qa.answering.prepared import prepare_sentences
from qa.evidence import Sentence, SentenceVectors, Topic, score_sentences, topic_role
from qa.lexical import LexicalIndex
from qa.retrieve import Hit, Retriever, index_row
from qa.sentences import ChunkSource, SentenceBatch, SentenceStore, entry_key, prepare, prepare_missing
from qa.understand import understand
from tests.support.recording import RecordingVectors

EVAL_SETS = Path(__file__).resolve().parents[2] / "eval_sets"
QUESTIONS = [
    json.loads(line)["question"]
    for name in ("dev.jsonl", "test.jsonl")
    for line in (EVAL_SETS / name).read_text(encoding="utf-8").splitlines()
    if line.startswith("{") and json.loads(line)["kind"] == "aggregate"
] + ["哪些单位提到政府采购？", "哪些单位抱怨身边缺少懂行的人？", "哪些单位提到三公经费？"]


def _answerer(retriever: Retriever, directory: Path) -> Answerer:
    answerer = Answerer(retriever)
    answerer.ctx.sentences = SentenceStore(
        directory, retriever.embedder.query_model_id
    )  # not the shared samples store's
    answerer.ctx.vectors = RecordingVectors(answerer.ctx.vectors)
    return answerer


def _rows(sentences: list[Sentence]) -> list[tuple[Any, ...]]:
    # The whole hit too: prepared entries rebuild it without reading the chunk from the store.
    return [(s.hit, s.char_start, s.char_end, s.text, s.score, round(s.similarity, 6), s.coverage) for s in sentences]


def _sources(retriever: Retriever, ids: list[str]) -> list[ChunkSource]:
    lexical = retriever.lexical()
    keys = lexical.keys[lexical.rows_of(ids)].tolist()  # type: ignore[index]
    return [ChunkSource.of_row(r, entry_key(r.id, k)) for r, k in zip(retriever.store.get_chunks(ids), keys)]


def test_a_heading_of_its_own_section_is_no_evidence_sentence() -> None:
    """With or without the 。 the parser drops from the section name; a sentence merely ending like it is kept."""
    section = "三、项目组织实施情况 > （一）项目组织情况（包括项目招投标情况、调整情况、完成验收等）分析"
    text = "（一）项目组织情况（包括项目招投标情况、调整情况、完成验收等）分析。\n本年度未产生项目招投标等情况。\n三、项目组织实施情况"
    assert [text[s:e] for s, e in sentences.chunk_sentences(text, section)] == ["本年度未产生项目招投标等情况。"]
    assert [text[s:e] for s, e in sentences.chunk_sentences(text, "三、项目组织实施情况")] == [
        "（一）项目组织情况（包括项目招投标情况、调整情况、完成验收等）分析。",
        "本年度未产生项目招投标等情况。",
    ]


def test_prepared_sentences_give_the_reference_scores(sample_retriever: Retriever, tmp_path: Path) -> None:
    """Oracle: the column-wise pass, with nothing prepared, with everything prepared and with half prepared,
    scores exactly the sentences score_sentences scores on the same candidate chunks, in the same order."""
    catalogue = list(sample_retriever.catalogue().values())
    fresh = _answerer(sample_retriever, tmp_path / "none")
    full = _answerer(sample_retriever, tmp_path / "full")
    lexical = sample_retriever.lexical()
    assert prepare_sentences(full.ctx) == len(lexical) > 0
    half = _answerer(sample_retriever, tmp_path / "half")
    half.ctx.sentences.write(prepare(_sources(sample_retriever, lexical.ids[1::2]), half.ctx.vectors.get))
    checked = []
    for question in QUESTIONS:
        u = understand(question, (), catalogue, None)
        if u.intent != "aggregate" or u.units:
            continue
        vec = sample_retriever.queries.encode(u.topic)
        picked = sample_retriever.candidate_chunks(
            u.topic, u.filters, vector=vec, per_doc=fresh.params.aggregate_chunks_per_doc
        )
        similarity = dict(zip(picked.ids, picked.similarity.tolist(), strict=True))
        hits = [Hit.from_row(r, similarity[r.id]) for r in sample_retriever.store.get_chunks(picked.ids)]
        assert hits
        nearest = {h.id for h in sorted(hits, key=lambda h: -h.score)[: fresh.params.aggregate_meaning_chunks]}
        p = fresh.params
        every = score_sentences(
            fresh.ctx.scoring(lexical), Topic(u.topic, vec), hits, lexical_weight=p.aggregate_lexical_weight
        )
        # A sentence sharing no token with the topic counts only from the chunks nearest it by meaning.
        reference = [s for s in every if s.coverage > 0 or s.hit.id in nearest]
        role = topic_role(u.topic)
        # The role does not enter any score (no role bonus): it is checked apart.
        for answerer in (fresh, full, half):
            got = answerer.aggregate_evidence(u, vec)
            assert _rows(got) == _rows(reference), (question, answerer.ctx.sentences.directory)
            assert [s.in_role for s in got] == [bool(role) and s.hit.section_role == role for s in got]
        best: dict[str, Sentence] = {}
        for s in reference:
            best.setdefault(s.doc_id, s)
        assert _rows(full.aggregate_evidence(u, vec, best_per_document=True)) == _rows(list(best.values()))
        if reference:
            checked.append(question)
    assert len(checked) >= 20
    full.ctx.vectors.asked.clear()  # type: ignore[attr-defined]
    for question in checked:
        full.ask(question)
    assert full.ctx.vectors.asked == []  # type: ignore[attr-defined]  # nothing embedded at question time


def test_chunks_the_lexical_index_does_not_hold_yet_are_scored_and_named(
    sample_retriever: Retriever, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A document committed after the BM25 index was read reaches the pass through the dense side only: its chunks
    have no index row (no prepared key, no document code). Oracle: score_sentences on the same candidates, and
    each sentence listed under its own document's unit."""
    lexical = sample_retriever.lexical()
    catalogue = list(sample_retriever.catalogue().values())
    answerer = _answerer(sample_retriever, tmp_path)
    assert prepare_sentences(answerer.ctx) == len(lexical)
    u = understand("哪些单位提到招商引资？", (), catalogue, None)
    vec = sample_retriever.queries.encode(u.topic)
    late = doc_of(sample_retriever.candidate_chunks(u.topic, u.filters, vector=vec).ids[0])  # the dense side's best
    stale = LexicalIndex.build(
        [row for row in map(index_row, sample_retriever.store.iter_chunks()) if row[1] != late], lexical.generation
    )
    assert late not in stale.doc_names()
    monkeypatch.setattr(sample_retriever, "lexical", lambda: stale)
    picked = sample_retriever.candidate_chunks(
        u.topic, u.filters, vector=vec, per_doc=answerer.params.aggregate_chunks_per_doc
    )
    assert all((row < 0) == (doc_of(i) == late) for i, row in zip(picked.ids, picked.rows.tolist(), strict=True))
    assert (picked.rows < 0).any()
    similarity = dict(zip(picked.ids, picked.similarity.tolist(), strict=True))
    hits = [Hit.from_row(r, similarity[r.id]) for r in sample_retriever.store.get_chunks(picked.ids)]
    nearest = {h.id for h in sorted(hits, key=lambda h: -h.score)[: answerer.params.aggregate_meaning_chunks]}
    every = score_sentences(
        answerer.ctx.scoring(stale), Topic(u.topic, vec), hits, lexical_weight=answerer.params.aggregate_lexical_weight
    )
    reference = [s for s in every if s.coverage > 0 or s.hit.id in nearest]
    got = aggregate_evidence(answerer.ctx, u, Topic(u.topic, vec))
    assert _rows(list(got)) == _rows(reference)
    assert got.units() == [s.hit.doc.display_unit for s in reference]
    assert late in {s.doc_id for s in reference}


def test_segments_are_shared_between_stores_and_survive_damage(sample_retriever: Retriever, tmp_path: Path) -> None:
    lexical = sample_retriever.lexical()
    writer = SentenceStore(tmp_path, "model-a")
    reader = SentenceStore(tmp_path, "model-a")
    other_model = SentenceStore(tmp_path, "model-b")
    vectors = SentenceVectors(sample_retriever.embedder)
    sources = _sources(sample_retriever, lexical.ids[:30])
    for half in (sources[:10], sources[10:20]):
        writer.write(prepare(half, vectors.get))
    for store in (reader, other_model):
        store.refresh()
    keys = np.array([c.key for c in sources], dtype=np.int64)
    seg, entry, segments = reader.find(keys)
    assert (seg[:20] >= 0).all() and (seg[20:] == -1).all() and len(segments) == 2
    assert (other_model.find(keys)[0] == -1).all()  # another query model's vectors are never used
    batch, e = segments[int(seg[3])], int(entry[3])
    assert batch.text(e) == sources[3].text and batch.labels[batch.section[e]] == sources[3].section
    first = int(batch.ptr[e])
    sentence = batch.sentence(first, e)
    assert sentence and sentence in sources[3].text
    assert np.allclose(batch.vectors[first], vectors.get([sentence])[0])  # type: ignore[index]
    damaged = sorted(writer.directory.glob("seg-*.npz"))[0]
    damaged.write_bytes(damaged.read_bytes()[:100])
    late = SentenceStore(tmp_path, "model-a")
    late.refresh()
    assert len(late) == 10  # the intact segment is used; the damaged one's chunks are prepared again when asked


def _entry(batch: SentenceBatch, e: int) -> tuple[Any, ...]:
    rows = range(int(batch.ptr[e]), int(batch.ptr[e + 1]))
    tokens = [sorted(batch.vocab[t] for t in batch.tok_flat[batch.tok_ptr[r] : batch.tok_ptr[r + 1]]) for r in rows]
    vectors = np.asarray(batch.vectors[list(rows)]).round(6).tolist()  # type: ignore[index]
    labels = (batch.labels[batch.section[e]], batch.labels[batch.role[e]])
    return (
        batch.text(e),
        labels,
        int(batch.char_start[e]),
        int(batch.char_end[e]),
        [batch.sentence(r, e) for r in rows],
        tokens,
        vectors,
    )


def test_compaction_keeps_live_entries_and_drops_the_rest(
    sample_retriever: Retriever, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = sentences._members
    lexical = sample_retriever.lexical()
    sources = _sources(sample_retriever, lexical.ids[:40])
    keys = np.array([c.key for c in sources], dtype=np.int64)
    vectors = SentenceVectors(sample_retriever.embedder)
    store = SentenceStore(tmp_path, "model-a")
    short = ChunkSource(key=12345, text="合计。", section="", section_role="", char_start=0, char_end=3)  # no sentence
    for part in (sources[:10], sources[10:20], sources[20:40], [short]):  # small segments, as uploads leave them
        store.write(prepare(part, vectors.get))
    live = np.r_[keys[5:30], short.key]  # the chunks of 0-4 and 30-39 were deleted meanwhile
    assert store.compact(live) == 0  # segments younger than a minute may belong to a document not seen yet
    past = time.time() - 120
    (store.directory / "seg-interrupted.vec.tmp.npy").write_bytes(b"partial")
    for path in store.directory.iterdir():
        os.utime(path, (past, past))
    reader = SentenceStore(tmp_path, "model-a")
    reader.refresh()
    seg, entry, segments = reader.find(keys)
    before = {i: _entry(segments[int(seg[i])], int(entry[i])) for i in range(40)}

    assert store.compact(live) == 4
    assert len(store) == 26 and len(list(store.directory.glob("seg-*.npz"))) == 1
    seg, entry, segments = store.find(np.array([short.key]))
    batch, e = segments[int(seg[0])], int(entry[0])
    assert batch.text(e) == "合计。" and batch.ptr[e] == batch.ptr[e + 1]
    assert not (store.directory / "seg-interrupted.vec.tmp.npy").exists()

    def check(view: SentenceStore, dead: bool) -> None:
        seg, entry, segments = view.find(keys)
        assert [_entry(segments[int(seg[i])], int(entry[i])) for i in range(5, 30)] == [before[i] for i in range(5, 30)]
        assert ((seg[:5] == -1).all() and (seg[30:] == -1).all()) == dead

    check(reader, dead=False)  # still the removed files, through the maps it holds, until it looks again
    reader.refresh()
    check(reader, dead=True)
    check(store, dead=True)

    # A serving process compacts after every pass (every 10 s): the same live keys over the same segments are not
    # looked at again (at 1M chunks a look is 245 segments), while new keys or new segments are.
    for path in store.directory.iterdir():
        os.utime(path, (past, past))
    looks: list[int] = []

    def members(keys: np.ndarray, ordered: np.ndarray) -> np.ndarray:
        looks.append(len(keys))
        return original(keys, ordered)

    monkeypatch.setattr(sentences, "_members", members)
    assert store.compact(live) == 0 and looks == [26]
    assert store.compact(live) == 0 and looks == [26]
    assert store.compact(keys[5:8].copy()) == 1 and looks == [26, 26]  # most of its chunks deleted since
    assert len(store) == 3


def test_a_pass_with_nothing_new_does_not_look_again(sample_retriever: Retriever, tmp_path: Path) -> None:
    """A serving process runs the pass every 10 s: once every key was found prepared, the same keys over the same
    segments are not searched again (~0.5 s at 1M chunks); new keys, or a segment another process wrote, are."""
    lexical = sample_retriever.lexical()
    sources = _sources(sample_retriever, lexical.ids[:12])
    keys = np.array([c.key for c in sources], dtype=np.int64)
    vectors = SentenceVectors(sample_retriever.embedder)
    store = SentenceStore(tmp_path, "model-a")
    by_key = {c.key: c for c in sources}
    asked: list[int] = []

    def chunks(positions: list[int]) -> list[ChunkSource]:
        asked.extend(positions)
        return [by_key[int(keys[p])] for p in positions]

    finds = []
    find = store.find
    store.find = lambda k: finds.append(len(k)) or find(k)  # type: ignore[method-assign,func-returns-value]
    assert prepare_missing(store, keys[:6], chunks, vectors.get) == 6 and finds == [6]
    first = keys[:6]
    assert prepare_missing(store, first, chunks, vectors.get) == 0 and finds == [6, 6]  # found all: remembered
    assert prepare_missing(store, first, chunks, vectors.get) == 0 and finds == [6, 6]
    assert prepare_missing(store, keys, chunks, vectors.get) == 6 and finds == [6, 6, 12]  # new keys
    other = SentenceStore(tmp_path, "model-a")
    other.write(prepare(_sources(sample_retriever, lexical.ids[12:14]), vectors.get))
    assert prepare_missing(store, first, chunks, vectors.get) == 0 and finds == [6, 6, 12, 6]  # a new segment
    assert asked == [*range(6), *range(6, 12)]
