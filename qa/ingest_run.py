"""One `Library.ingest_files` call: files → committed documents as a bounded pipeline whose slowest stage, the
encoder, never waits for the others.

    reader thread: read → clean → structure → metadata → chunk   (≤ READ_AHEAD documents ahead)
    this thread:   decide each document's outcome against the store, gather ENCODE_BATCH chunks across
                   documents, encode them (and their finding sentences)
    writer:        the batch's commit (Library.commit: its chunks, then its records, then old versions of
                   replaced files) — on a second thread while the next batch is encoded when write-behind is on,
                   else right after encoding

A document is still committed whole or not at all (its record is written only after all its rows). Two files of
one run that share a doc_id or a source are never in flight together (the batch is flushed first), so the
outcomes are those of ingesting the files one by one.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ingest.document import IngestError
from ingest.pipeline import PreparedDoc, prepare
from ingest.readers import read_document
from ingest.schema import DocRecord

if TYPE_CHECKING:
    from qa.library import IngestReport, Library

# Chunks encoded together (across documents): one encoder call sorts them by length, so its batches pad less the
# more texts it sorts, and Chroma gets a few large writes instead of one per document (docs/benchmarks.md).
ENCODE_BATCH = 1024
# Documents parsed ahead of the encoder: enough for the next window to be ready when the encoder is (a report is
# ~16 chunks), bounded so a large folder never sits in memory at once. No smaller first window: parsing a window
# costs less than the padding a split first call adds (docs/benchmarks.md).
READ_AHEAD = 64


def write_behind_default() -> bool:
    """Whether to write a batch to Chroma on a second thread while the next one is encoded. Chroma's HNSW inserts
    are CPU work too: on a 2-core machine whose cores the encoder's two torch threads already fill, overlapping
    them makes torch's OpenMP threads wait for each other (docs/benchmarks.md), so only with more cores."""
    return (os.cpu_count() or 1) > 2


@dataclass
class Pending:
    """A prepared document on its way into the store, with what committing it replaces."""

    doc: PreparedDoc
    name: str  # file name reported to on_file
    previous: list[DocRecord] = field(default_factory=list)  # other documents stored under its source: removed after
    existed: bool = False  # its content is stored already (rewritten: rows it no longer has are trimmed)


@dataclass
class _Batch:
    items: list[Pending] = field(default_factory=list)
    chunks: int = 0

    def keys(self) -> set[str]:
        return {k for p in self.items for k in (p.doc.record.doc.doc_id, "src:" + p.doc.record.doc.source)}


_Item = tuple[Path, PreparedDoc | IngestError]


class IngestRun:
    def __init__(
        self,
        library: Library,
        files: Sequence[Path],
        overrides: Mapping[str, dict[str, str]],
        on_file: Callable[[str], None] | None,
        write_behind: bool,
        on_page: Callable[[str, int, int], None] | None = None,
    ) -> None:
        """`overrides`: file name → metadata overrides (stored edits and the run's manifest, merged); `on_page(file
        name, done, total)`: OCR progress of the file being read."""
        from qa.library import IngestReport  # the report type lives with the service that returns it

        self.library = library
        self.files = list(files)
        self.overrides = overrides
        self.on_file = on_file or (lambda _: None)
        self.write_behind = write_behind
        self.on_page = on_page
        self.report: IngestReport = IngestReport()
        self._work: queue.Queue[_Item | None] = queue.Queue(maxsize=READ_AHEAD)
        self._stop = threading.Event()
        self._batch = _Batch()
        self._in_flight: Future[_Batch] | None = None
        self._in_flight_keys: set[str] = set()
        self._writer: ThreadPoolExecutor | None = None

    def run(self) -> IngestReport:
        started = time.perf_counter()
        reader = threading.Thread(target=self._read_all, name="ingest-reader", daemon=True)
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-writer")
        reader.start()
        try:
            while (got := self._work.get()) is not None:
                path, item = got
                if isinstance(item, IngestError):
                    self.report.failed.append((item.source, item.reason))
                    self.on_file(path.name)
                else:
                    self._add(Pending(item, path.name))
            self._drain()
        finally:
            self._stop.set()
            self._writer.shutdown(wait=True)
            reader.join(timeout=5)
        self.report.seconds = time.perf_counter() - started
        return self.report

    # --- reader thread ------------------------------------------------------------------------------------

    def _read_all(self) -> None:
        lib = self.library
        on_page = self.on_page  # set once, in __init__
        try:
            for path in self.files:
                if self._stop.is_set():
                    return
                try:
                    progress = (lambda done, total, name=path.name: on_page(name, done, total)) if on_page else None
                    raw = read_document(path, limits=lib.limits, progress=progress)
                    # Written by this thread only; the run reads them after joining it.
                    self.report.ocr_pages += raw.ocr_pages
                    self.report.ocr_seconds += raw.ocr_seconds
                    item: PreparedDoc | IngestError = prepare(
                        raw,
                        self.overrides.get(raw.source, {}),
                        chunk_size=lib.chunk_size,
                        chunk_overlap=lib.chunk_overlap,
                    )
                except IngestError as exc:
                    item = exc
                if not self._put((path, item)):
                    return
        finally:
            self._put(None)

    def _put(self, item: _Item | None) -> bool:
        """Queue an item unless the run stopped meanwhile (then the main thread no longer takes any)."""
        while not self._stop.is_set():
            try:
                self._work.put(item, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False

    # --- this thread --------------------------------------------------------------------------------------

    def _add(self, p: Pending) -> None:
        record = p.doc.record.doc
        if {record.doc_id, "src:" + record.source} & (self._batch.keys() | self._in_flight_keys):
            self._drain()  # the same content or file name twice in one run: decide against the stored state
        self._batch.items.append(p)
        self._batch.chunks += len(p.doc.rows)
        if self._batch.chunks >= ENCODE_BATCH:
            self._flush()

    def _decide(self, batch: _Batch) -> None:
        """Settle the documents that need no write (unchanged, duplicates) now; note what the others replace."""
        kept: list[Pending] = []
        for p, state in zip(batch.items, self.library.standing([p.doc for p in batch.items])):
            if state.duplicate_of is not None:
                self._note(p, "duplicate", state.duplicate_of)
            elif state.unchanged:
                self._note(p, "unchanged")
            else:
                p.previous, p.existed = state.previous, state.existed
                kept.append(p)
        batch.items = kept

    def _flush(self) -> None:
        batch, self._batch = self._batch, _Batch()
        self._decide(batch)
        if not batch.items:
            return
        vectors = self.library.encode([p.doc for p in batch.items])
        if self._in_flight is not None:
            self._settle(self._in_flight.result())
        if self.write_behind:
            assert self._writer is not None
            self._in_flight, self._in_flight_keys = self._writer.submit(self._write, batch, vectors), batch.keys()
        else:
            self._in_flight, self._in_flight_keys = None, set()
            self._settle(self._write(batch, vectors))

    def _drain(self) -> None:
        self._flush()
        if self._in_flight is not None:
            self._settle(self._in_flight.result())
            self._in_flight, self._in_flight_keys = None, set()

    def _write(self, batch: _Batch, vectors: tuple[np.ndarray, np.ndarray]) -> _Batch:
        self.library.commit(batch.items, *vectors)
        return batch

    def _settle(self, done: _Batch) -> None:
        for p in done.items:
            self._note(p, "replaced" if p.previous or p.existed else "new")
            self.report.chunks += len(p.doc.rows)

    def _note(self, p: Pending, outcome: str, duplicate_of: str | None = None) -> None:
        self.report.add(p.doc.record.doc, outcome, duplicate_of)  # type: ignore[arg-type]
        self.on_file(p.name)
