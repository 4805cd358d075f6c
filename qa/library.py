"""Every write to the store, and what it invalidates: ingest files, replace, delete, reindex.

Idempotent by content: doc_id is the hash of the cleaned text, so an unchanged file is a no-op, a changed
file under the same name replaces its old document (new one committed first, old one removed after), and
a bad file is reported and skipped without touching anything stored.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
from chromadb.api.models.Collection import Collection

from ingest.document import IngestError, ReadLimits
from ingest.pipeline import PreparedDoc, prepare, rechunk
from ingest.readers import read_document
from ingest.schema import DocRecord
from qa.store import Store

Outcome = Literal["new", "unchanged", "replaced"]


class Encoder(Protocol):
    def encode(self, texts: list[str]) -> np.ndarray: ...

    def encode_queries(self, texts: list[str]) -> np.ndarray: ...


def encode_docs(docs: list[PreparedDoc], encoder: Encoder) -> list[tuple[np.ndarray, np.ndarray]]:
    """(chunk vectors, finding vectors) of each document: chunks of all documents in one passage-encoder call
    (sorted by length inside, so its batches pad less), finding sentences in one call of the query encoder
    (they are scored against questions' topics: qa.embeddings.Embedder)."""
    chunk_vectors = encoder.encode([t for d in docs for t in d.index_texts])
    finding_vectors = encoder.encode_queries([r.text for d in docs for r in d.finding_rows])
    out: list[tuple[np.ndarray, np.ndarray]] = []
    c = f = 0
    for d in docs:
        out.append((chunk_vectors[c : c + len(d.rows)], finding_vectors[f : f + len(d.finding_rows)]))
        c, f = c + len(d.rows), f + len(d.finding_rows)
    return out


@dataclass
class IngestReport:
    new: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    chunks: int = 0
    seconds: float = 0.0
    doc_ids: dict[str, str] = field(default_factory=dict)  # source → doc_id of what is stored now

    @property
    def changed(self) -> bool:
        return bool(self.new or self.replaced)


def _same_metadata(a: DocRecord, b: DocRecord) -> bool:
    return a.doc == b.doc and (a.n_chunks, a.n_findings) == (b.n_chunks, b.n_findings)


@dataclass(frozen=True)
class _Stored:
    """How a prepared document stands against the store."""

    previous: list[DocRecord]  # other documents stored under its source (it replaces them)
    existed: bool  # its content (doc_id) is stored already
    unchanged: bool  # ... with the same metadata and nothing to replace: nothing to do


def stored_state(docs: list[PreparedDoc], store: Store) -> list[_Stored]:
    """Each document's standing, from two store reads for all of them (not two per document, ~2 ms each)."""
    stored = store.records([d.record.doc.doc_id for d in docs])
    by_source = store.records_by_source([d.record.doc.source for d in docs])
    out: list[_Stored] = []
    for d in docs:
        existing = stored.get(d.record.doc.doc_id)
        previous = [r for r in by_source.get(d.record.doc.source, []) if r.doc.doc_id != d.record.doc.doc_id]
        same = existing is not None and _same_metadata(existing, d.record)
        out.append(_Stored(previous, existing is not None, same and not previous))
    return out


def commit(doc: PreparedDoc, store: Store, encoder: Encoder) -> Outcome:
    """Store one prepared document; returns what happened to it."""
    [state] = stored_state([doc], store)
    if state.unchanged:
        return "unchanged"
    [(chunk_vectors, finding_vectors)] = encode_docs([doc], encoder)
    store.write_document(doc.record, doc.text, doc.rows, chunk_vectors, doc.finding_rows, finding_vectors)
    for old in state.previous:
        store.delete_document(old.doc.doc_id)
    return "replaced" if state.previous or state.existed else "new"


# Chunks encoded together (across documents): one encoder call sorts them by length, so its batches of 32 pad
# less the more texts it sorts, and Chroma gets a few large writes instead of one per document. Padded tokens
# (what the encoder computes) for the 1,183 texts of 47 sample-copy documents: 176k sorted in one call; in
# calls of 256 texts 197k (+12 %), of 512 186k, of 1024 182k (+3.5 %).
ENCODE_BATCH = 1024
# No smaller first window: parsing the ~60 reports of a window takes ~0.2 s (ingest.metadata._body_county), and
# splitting a round of bench.ingest into 128 + the rest cost 0.6 s of encoding (2.4 %, measured side by side).
# Documents parsed ahead of the encoder: enough for the next window to be ready when the encoder is (a report
# is ~16 chunks), bounded so a large folder never sits in memory at once.
READ_AHEAD = 64
# Write a batch to Chroma on a second thread while the next batch is encoded. Chroma's HNSW inserts are CPU
# work too: on a 2-core machine whose cores the encoder's two torch threads already fill, overlapping them
# makes torch's OpenMP threads wait for each other (see docs/benchmarks.md), so it is on only with more cores.
WRITE_BEHIND = (os.cpu_count() or 1) > 2


@dataclass
class _Pending:
    doc: PreparedDoc
    name: str  # file name for on_file
    previous: list[DocRecord] = field(default_factory=list)  # other documents stored under its source
    existed: bool = False


@dataclass
class _Batch:
    items: list[_Pending] = field(default_factory=list)
    chunks: int = 0

    def keys(self) -> set[str]:
        return {k for p in self.items for k in (p.doc.record.doc.doc_id, "src:" + p.doc.record.doc.source)}


def ingest_files(
    files: list[Path],
    store: Store,
    encoder: Encoder,
    *,
    chunk_size: int,
    chunk_overlap: int,
    manifest: dict[str, dict[str, str]] | None = None,
    on_file: Callable[[str], None] | None = None,
    limits: ReadLimits = ReadLimits(),
) -> IngestReport:
    """Ingest files as a bounded pipeline whose slowest stage, the encoder, never waits for the others:

        reader thread: read → clean → structure → metadata → chunk   (≤ READ_AHEAD documents ahead)
        this thread:   decide new/unchanged/replaced, gather ENCODE_BATCH chunks across documents, encode
                       them (and their finding sentences: encode_docs)
        writer:        Chroma writes of a batch: its chunks, then its records (the commit markers, one call),
                       then old versions of replaced files — on a second thread while the next batch is
                       encoded when WRITE_BEHIND (machines with more than 2 cores), else right after encoding

    A document is still committed whole or not at all: its record is written only after all its chunks. Two
    files of one run that share a doc_id or a source are never in flight together (the batch is flushed first),
    so the outcomes are those of ingesting the files one by one."""
    report = IngestReport()
    started = time.perf_counter()
    store.repair()
    overrides = manifest or {}
    work: queue.Queue[tuple[Path, PreparedDoc | IngestError] | None] = queue.Queue(maxsize=READ_AHEAD)
    stop = threading.Event()

    def read_all() -> None:
        try:
            for path in files:
                if stop.is_set():
                    return
                try:
                    raw = read_document(path, limits=limits)
                    item: PreparedDoc | IngestError = prepare(
                        raw, overrides.get(raw.source, {}), chunk_size=chunk_size, chunk_overlap=chunk_overlap
                    )
                except IngestError as exc:
                    item = exc
                while not stop.is_set():
                    try:
                        work.put((path, item), timeout=0.5)
                        break
                    except queue.Full:
                        continue
        finally:
            while not stop.is_set():
                try:
                    work.put(None, timeout=0.5)
                    return
                except queue.Full:
                    continue

    def write(batch: _Batch, parts: list[tuple[np.ndarray, np.ndarray]]) -> _Batch:
        store.write_chunks(store.chunks, [r for p in batch.items for r in p.doc.rows], np.concatenate([c for c, _ in parts]))
        found = [r for p in batch.items for r in p.doc.finding_rows]
        if found:
            store.write_chunks(store.findings, found, np.concatenate([f for _, f in parts]))
        store.upsert_records([(p.doc.record, p.doc.text) for p in batch.items])
        for p in batch.items:
            if p.existed:  # the same content written again (new metadata or extraction): drop rows it no longer has
                store.trim_document(p.doc.record.doc.doc_id, len(p.doc.rows), len(p.doc.finding_rows))
            for old in p.previous:
                store.delete_document(old.doc.doc_id)
        return batch

    def settle(done: _Batch) -> None:
        for p in done.items:
            outcome: Outcome = "replaced" if p.previous or p.existed else "new"
            getattr(report, outcome).append(p.doc.record.doc.source)
            report.doc_ids[p.doc.record.doc.source] = p.doc.record.doc.doc_id
            report.chunks += len(p.doc.rows)
            if on_file:
                on_file(p.name)

    reader = threading.Thread(target=read_all, name="ingest-reader", daemon=True)
    writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-writer")
    in_flight: Future[_Batch] | None = None
    in_flight_keys: set[str] = set()
    batch = _Batch()

    def decide(b: _Batch) -> None:
        """Drop the documents stored already with the same metadata; note what the others replace."""
        kept: list[_Pending] = []
        for p, state in zip(b.items, stored_state([p.doc for p in b.items], store)):
            if state.unchanged:
                report.unchanged.append(p.doc.record.doc.source)
                report.doc_ids[p.doc.record.doc.source] = p.doc.record.doc.doc_id
                if on_file:
                    on_file(p.name)
            else:
                p.previous, p.existed = state.previous, state.existed
                kept.append(p)
        b.items = kept

    def flush() -> None:
        nonlocal in_flight, in_flight_keys, batch
        decide(batch)
        if not batch.items:
            batch = _Batch()
            return
        vectors = encode_docs([p.doc for p in batch.items], encoder)
        if in_flight is not None:
            settle(in_flight.result())
        if WRITE_BEHIND:
            in_flight, in_flight_keys = writer.submit(write, batch, vectors), batch.keys()
        else:
            in_flight, in_flight_keys = None, set()
            settle(write(batch, vectors))
        batch = _Batch()

    def drain() -> None:
        nonlocal in_flight, in_flight_keys
        flush()
        if in_flight is not None:
            settle(in_flight.result())
            in_flight, in_flight_keys = None, set()

    reader.start()
    try:
        while (got := work.get()) is not None:
            path, item = got
            if isinstance(item, IngestError):
                report.failed.append((item.source, item.reason))
                if on_file:
                    on_file(path.name)
                continue
            doc = item
            if {doc.record.doc.doc_id, "src:" + doc.record.doc.source} & (batch.keys() | in_flight_keys):
                drain()  # the same content or file name twice in one run: decide against the stored state
            batch.items.append(_Pending(doc, path.name))
            batch.chunks += len(doc.rows)
            if batch.chunks >= ENCODE_BATCH:
                flush()
        drain()
    finally:
        stop.set()
        writer.shutdown(wait=True)
        reader.join(timeout=5)
    report.seconds = time.perf_counter() - started
    return report


def reindex(store: Store, encoder: Encoder, *, chunk_size: int, chunk_overlap: int) -> int:
    """Re-chunk, re-extract findings and re-embed every stored document from its stored cleaned text (after a
    model, chunking or extraction change). The old chunks and findings stay usable until the new collections
    are complete. Returns the chunk count."""
    records = store.catalogue()
    updated: list[tuple[DocRecord, str]] = []

    def fill(chunk_col: Collection, finding_col: Collection) -> None:
        for record in records:
            found = store.get_document(record.doc.doc_id)
            if found is None:
                continue
            doc = rechunk(record, found[1], chunk_size=chunk_size, chunk_overlap=chunk_overlap)
            [(chunk_vectors, finding_vectors)] = encode_docs([doc], encoder)
            store.write_chunks(chunk_col, doc.rows, chunk_vectors)
            if doc.finding_rows:
                store.write_chunks(finding_col, doc.finding_rows, finding_vectors)
            updated.append((doc.record, doc.text))

    store.replace_chunks(fill)
    for record, text in updated:
        store.upsert_record(record, text)
    return store.count_chunks()
