"""Read-your-writes in one process: after a write and `invalidate()`, a request sees the write even when another
thread (the background sentence pass, /readyz) is already in the middle of re-reading the catalogue. Before, that
request got the old view: the console listed a just-uploaded report as missing, or an empty library right after
the first start seeded it."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path
from typing import Any

from ingest.schema import DocFields, DocRecord
from qa import retrieve
from qa.embeddings import Embedder
from qa.library import Library
from qa.retrieve import Filters, Retriever, apply_changes, open_retriever
from qa.settings import Settings
from qa.store import Change, Generation
from tests.conftest import SAMPLES, ingest_into


def record(doc_id: str) -> DocRecord:
    return DocRecord(DocFields(doc_id, f"{doc_id}.txt", doc_id, doc_id, "", 2021, "其他"), "txt", 1, 0.0)


class SlowStore:
    """The store's catalogue read can be held up, as a Chroma read on a busy machine is."""

    def __init__(self) -> None:
        self.records = [record("a")]
        self.gate = threading.Event()
        self.gate.set()
        self.reading = threading.Event()
        self.meta = NoRecords()

    def generation(self) -> Generation:
        return Generation(str(len(self.records)), len(self.records), 0.0)

    def changes_since(self, at: float) -> list[Change]:
        return [Change(uuid.uuid4().hex, None)]  # no change log: every refresh reads the whole catalogue

    def catalogue(self) -> list[DocRecord]:
        seen = list(self.records)
        self.reading.set()
        self.gate.wait(10)
        return seen


class NoRecords:
    """A meta collection that holds no fusion record (the defaults apply)."""

    def get(self, **_: Any) -> dict[str, list[str]]:
        return {"ids": [], "documents": []}


class Lexical:
    def __init__(self, generation: str) -> None:
        self.generation = generation


def test_a_read_after_invalidate_waits_for_a_refresh_that_covers_the_write(tmp_path: Path, monkeypatch: Any) -> None:
    store = SlowStore()
    retriever = Retriever(store, embedder=None, settings=Settings(data_dir=tmp_path))  # type: ignore[arg-type]
    monkeypatch.setattr(
        retriever, "_load_or_build_lexical", lambda generation, catalogue, versions: Lexical(generation)
    )
    assert set(retriever.catalogue()) == {"a"}

    store.records.append(record("b"))  # a write by this process …
    retriever.invalidate()  # … then the invalidation it owes
    store.gate.clear()
    store.reading.clear()
    other = threading.Thread(target=retriever.catalogue)  # another thread starts re-reading, and is slow about it
    other.start()
    assert store.reading.wait(5)

    seen: list[set[str]] = []
    reader = threading.Thread(target=lambda: seen.append(set(retriever.catalogue())))
    reader.start()
    reader.join(0.5)
    assert not seen, "the reader waits for the refresh in progress instead of answering from the old view"
    store.gate.set()
    reader.join(5)
    other.join(5)
    assert seen == [{"a", "b"}]


def test_without_a_write_readers_never_wait_for_a_refresh(tmp_path: Path, monkeypatch: Any) -> None:
    store = SlowStore()
    retriever = Retriever(store, embedder=None, settings=Settings(data_dir=tmp_path))  # type: ignore[arg-type]
    monkeypatch.setattr(
        retriever, "_load_or_build_lexical", lambda generation, catalogue, versions: Lexical(generation)
    )
    retriever.catalogue()
    store.records.append(record("c"))  # another replica wrote: no invalidation here, the periodic check finds it
    retriever._checked_at = 0.0  # that check is due
    store.gate.clear()
    store.reading.clear()
    other = threading.Thread(target=retriever.catalogue)
    other.start()
    assert store.reading.wait(5)
    assert set(retriever.catalogue()) == {"a"}  # answered at once from the current view
    store.gate.set()
    other.join(5)


def _backstopped(store: SlowStore, tmp_path: Path, monkeypatch: Any, full_check: float) -> Retriever:
    """A retriever over `store` whose backstop is due every `full_check` seconds (its BM25 index a stand-in)."""
    settings = Settings(data_dir=tmp_path, catalogue_ttl=0.01, catalogue_full_check=full_check)
    retriever = Retriever(store, embedder=None, settings=settings)  # type: ignore[arg-type]
    monkeypatch.setattr(
        retriever, "_load_or_build_lexical", lambda generation, catalogue, versions: Lexical(generation)
    )
    return retriever


def _until_seen(retriever: Retriever, doc_ids: set[str], seconds: float) -> bool:
    """Whether the retriever's catalogue comes to hold exactly `doc_ids` within `seconds`."""
    deadline = time.monotonic() + seconds
    while set(retriever.catalogue()) != doc_ids and time.monotonic() < deadline:
        time.sleep(0.01)
    return set(retriever.catalogue()) == doc_ids


def test_the_backstop_read_runs_in_the_background(tmp_path: Path, monkeypatch: Any) -> None:
    """Nothing known to have changed, the periodic full read is due (a writer may have died between a record and
    its log entry): the request that finds it due answers at once from the current view while a background thread
    reads (at 1M chunks ~10 s once a minute, paid by one request before); the view it reads is swapped in after."""
    store = SlowStore()
    retriever = _backstopped(store, tmp_path, monkeypatch, full_check=0.05)
    assert set(retriever.catalogue()) == {"a"}
    store.records[0] = record("z")  # same count, so the same token: only the backstop can find it
    time.sleep(0.1)
    store.gate.clear()
    store.reading.clear()
    started = time.monotonic()
    assert set(retriever.catalogue()) == {"a"}  # at once, from the current view
    assert time.monotonic() - started < 2 and store.reading.wait(5)  # while the read waits on the store
    assert set(retriever.catalogue()) == {"a"}
    store.gate.set()
    assert _until_seen(retriever, {"z"}, 5)
    # Another backstop read that finds nothing changed keeps the catalogue object (what is derived from it, such as
    # the findings view's key and the names questions are matched against, is not built again).
    held = retriever.catalogue()
    time.sleep(0.1)
    retriever.catalogue()
    deadline = time.monotonic() + 5
    while retriever._full_at < started + 0.1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert retriever.catalogue() is held
    # A write by this process still waits for a view that covers it (the lock the background read held is free).
    store.records.append(record("w"))
    retriever.invalidate()
    assert set(retriever.catalogue()) == {"z", "w"}


def test_the_backstop_comes_less_often_when_a_read_of_every_record_is_slow(tmp_path: Path, monkeypatch: Any) -> None:
    """A backstop read takes at most a small share of the time: at 1M chunks one read is ~10 s of a core, once a
    minute a sixth of a 2-core replica. A read costing 0.06 s spaces them ~2 s apart instead of 0.05 s."""
    store = SlowStore()
    retriever = _backstopped(store, tmp_path, monkeypatch, full_check=0.05)
    read = store.catalogue

    def slow() -> list[DocRecord]:
        time.sleep(0.06)
        return read()

    monkeypatch.setattr(store, "catalogue", slow)
    assert set(retriever.catalogue()) == {"a"}
    first = retriever._full_at
    store.records[0] = record("z")  # same count, so the same token: only the backstop can find it
    deadline = time.monotonic() + 0.5
    while time.monotonic() < deadline:
        assert set(retriever.catalogue()) == {"a"}  # 0.06 / 0.03 = 2 s: not due yet
        time.sleep(0.01)
    assert _until_seen(retriever, {"z"}, 10) and retriever._full_at - first >= 1.5


def test_a_settled_retriever_counts_the_backstop_period_from_then(tmp_path: Path, monkeypatch: Any) -> None:
    """A process that worked on after its start's read (a first start builds the findings view for minutes) does not
    meet a backstop read right after it is ready."""
    store = SlowStore()
    retriever = _backstopped(store, tmp_path, monkeypatch, full_check=0.5)
    assert set(retriever.catalogue()) == {"a"}
    time.sleep(0.6)  # the start's other work: a backstop read is due
    retriever.settle()
    store.reading.clear()
    store.records[0] = record("z")  # only a backstop read would find it
    for _ in range(3):  # each call would start a due backstop read (on a thread of its own)
        assert set(retriever.catalogue()) == {"a"}
    assert not store.reading.wait(0.3)
    assert _until_seen(retriever, {"z"}, 10)


def test_apply_changes_keeps_the_order_of_a_full_read() -> None:
    """Edited records keep their place, re-committed and added ones go where their commit time puts them."""

    def rec(doc_id: str, at: float, unit: str = "u") -> DocRecord:
        return DocRecord(DocFields(doc_id, f"{doc_id}.txt", unit, unit, "", 2021, "其他"), "txt", 1, at)

    held = {r.doc.doc_id: r for r in (rec("a", 1), rec("b", 2), rec("c", 3))}
    fresh = {"b": rec("b", 2, "改"), "d": rec("d", 4), "a": rec("a", 5)}
    out = apply_changes(held, fresh, {"a", "b", "c", "d"})
    assert [(d, r.ingested_at, r.doc.unit) for d, r in out.items()] == [("b", 2, "改"), ("d", 4, "u"), ("a", 5, "u")]
    late = apply_changes(out, {"e": rec("e", 3)}, {"e"})  # a commit older than the newest record held
    assert list(late) == ["b", "e", "d", "a"]
    assert list(held) == ["a", "b", "c"]  # the held catalogue is never changed in place: readers may hold it


def test_a_replica_follows_another_ones_writes_from_the_change_log(
    tmp_path: Path, embedder: Embedder, monkeypatch: Any
) -> None:
    """Two API processes on one store: the reader learns of the writer's uploads, deletes and edits by reading only
    the changed documents' records (never the whole catalogue again), and ends with exactly the catalogue and the
    BM25 results a fresh process gets; when the log cannot account for the store (a record gone without its
    entry) or a change of everything is logged (reindex), it reads every record."""
    samples = sorted(SAMPLES.glob("*.txt"))
    writer = open_retriever(Settings(data_dir=tmp_path / "writer"), embedder)
    report = ingest_into(writer, samples[:3])
    reader = Retriever(writer.store, embedder, Settings(data_dir=tmp_path / "reader", catalogue_ttl=0.01))
    assert set(reader.catalogue()) == set(report.doc_ids.values())
    full_reads: list[int] = []
    read_all = writer.store.catalogue
    monkeypatch.setattr(writer.store, "catalogue", lambda: full_reads.append(1) or read_all())

    def fresh() -> list[tuple[str, DocRecord]]:
        return [(r.doc.doc_id, r) for r in read_all()]

    added = ingest_into(writer, samples[3:])
    library = Library.of(writer)
    library.delete(report.doc_ids[samples[0].name])
    library.edit_metadata(added.doc_ids[samples[4].name], unit="某某改名中心", year=2019)
    full_reads.clear()
    time.sleep(0.02)
    assert list(reader.catalogue().items()) == fresh() and full_reads == []
    assert reader.catalogue()[added.doc_ids[samples[4].name]].doc.unit == "某某改名中心"
    query = "赫山区投资促进服务中心基本支出"
    bm25 = [(h.id, round(h.score, 6)) for h in reader.bm25(query, 10, Filters())]
    fresh_reader = Retriever(writer.store, embedder, Settings(data_dir=tmp_path / "fresh"))
    assert bm25 == [(h.id, round(h.score, 6)) for h in fresh_reader.bm25(query, 10, Filters())]

    gone = report.doc_ids[samples[1].name]
    monkeypatch.setattr(retrieve, "_CLOCK_SKEW", 0.0)  # else the log's last 5 minutes (all of this test) are re-read
    writer.store.docs.delete(ids=[gone])  # a writer that died after removing a record, before logging it
    writer.store.meta.delete(ids=["generation"])
    full_reads.clear()
    time.sleep(0.02)
    assert gone not in reader.catalogue() and full_reads == [1]

    monkeypatch.setattr(retrieve, "_CLOCK_SKEW", 300.0)
    library.reindex()
    full_reads.clear()
    time.sleep(0.02)
    assert list(reader.catalogue().items()) == fresh() and full_reads == [1]

    # The reindex's change of everything is in that full read: the next change is caught up from the log, although
    # the reindex's entry is still within the window of changes listed again (the skew; a bulk load at 1M chunks
    # left such an entry and every first change after a start read all 77k records again).
    library.delete(added.doc_ids[samples[3].name])
    full_reads.clear()
    time.sleep(0.02)
    assert list(reader.catalogue().items()) == fresh() and full_reads == []
