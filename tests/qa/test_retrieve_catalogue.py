"""Read-your-writes in one process: after a write and `invalidate()`, a request sees the write even when another
thread (the background sentence pass, /readyz) is already in the middle of re-reading the catalogue. Before, that
request got the old view: the console listed a just-uploaded report as missing, or an empty library right after
the first start seeded it."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from ingest.schema import DocFields, DocRecord
from qa.retrieve import Retriever
from qa.settings import Settings


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

    def change_token(self) -> str:
        return str(len(self.records))

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
