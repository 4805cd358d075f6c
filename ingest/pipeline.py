"""File → chunks in the store: read, clean, structure, tag, chunk, embed, commit — one document at a time.

Idempotent by content: doc_id is the hash of the cleaned text, so an unchanged file is a no-op, a changed
file under the same name replaces its old document (new one committed first, old one removed after), and
a bad file is reported and skipped without touching anything stored.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
from chromadb.api.models.Collection import Collection

from ingest.chunking import Chunk, chunk_document, index_text
from ingest.clean import clean_text
from ingest.document import IngestError, RawDocument
from ingest.metadata import apply_overrides, infer_metadata
from ingest.readers import SUPPORTED_SUFFIXES, read_document
from ingest.structure import parse_structure
from qa.store import ChunkRow, DocRecord, Store

Outcome = Literal["new", "unchanged", "replaced"]


class Encoder(Protocol):
    def encode(self, texts: list[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class PreparedDoc:
    record: DocRecord
    text: str
    rows: list[ChunkRow]
    index_texts: list[str]


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


def doc_id_of(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def chunk_rows(record: DocRecord, chunks: list[Chunk]) -> list[ChunkRow]:
    """Chunks with the contract metadata (DESIGN.md §3) every chunk in Chroma carries."""
    doc_meta = {
        "doc_id": record.doc_id,
        "source": record.source,
        "title": record.title,
        "unit": record.unit,
        "region": record.region,
        "year": -1 if record.year is None else record.year,
        "report_kind": record.report_kind,
    }
    return [
        ChunkRow(
            id=f"{record.doc_id}-{c.chunk_index:05d}",
            text=c.text,
            metadata={
                **doc_meta,
                "section": c.section,
                "section_role": c.section_role,
                "char_start": c.char_start,
                "char_end": c.char_end,
                "chunk_index": c.chunk_index,
            },
        )
        for c in chunks
    ]


def prepare(raw: RawDocument, overrides: dict[str, str], *, chunk_size: int, chunk_overlap: int) -> PreparedDoc:
    cleaned = clean_text(raw.text)
    text = cleaned.text
    if not text.strip():
        raise IngestError(raw.source, "清理后没有可用的正文")
    structure = parse_structure(text, raw.heading_hints)
    meta = apply_overrides(infer_metadata(structure.title, text, raw.source), overrides, raw.source)
    doc_id = doc_id_of(text)
    chunks = chunk_document(text, structure, size=chunk_size, overlap=chunk_overlap)
    if not chunks:
        raise IngestError(raw.source, "没有切分出任何段落")
    record = DocRecord(
        doc_id=doc_id,
        source=raw.source,
        title=meta.title,
        unit=meta.unit,
        region=meta.region,
        year=meta.year,
        report_kind=meta.report_kind,
        fmt=raw.fmt,
        n_chunks=len(chunks),
        ingested_at=time.time(),
    )
    rows = chunk_rows(record, chunks)
    texts = [index_text(c.text, unit=meta.unit, title=meta.title, section=c.section) for c in chunks]
    return PreparedDoc(record, text, rows, texts)


def _same_metadata(a: DocRecord, b: DocRecord) -> bool:
    keys = ("source", "title", "unit", "region", "year", "report_kind", "n_chunks")
    return all(getattr(a, k) == getattr(b, k) for k in keys)


def commit(doc: PreparedDoc, store: Store, encoder: Encoder) -> Outcome:
    """Store one prepared document; returns what happened to it."""
    existing = store.get_document(doc.record.doc_id)
    previous = [r for r in store.find_by_source(doc.record.source) if r.doc_id != doc.record.doc_id]
    if existing and _same_metadata(existing[0], doc.record) and not previous:
        return "unchanged"
    store.write_document(doc.record, doc.text, doc.rows, encoder.encode(doc.index_texts))
    for old in previous:
        store.delete_document(old.doc_id)
    return "replaced" if previous or existing else "new"


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """Files given directly, plus the supported files inside given folders (sorted, so runs are repeatable)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES)
        else:
            files.append(path)
    return files


def ingest_files(
    files: list[Path],
    store: Store,
    encoder: Encoder,
    *,
    chunk_size: int,
    chunk_overlap: int,
    manifest: dict[str, dict[str, str]] | None = None,
    on_file: Callable[[str], None] | None = None,
) -> IngestReport:
    report = IngestReport()
    started = time.perf_counter()
    store.repair()
    for path in files:
        try:
            raw = read_document(path)
            doc = prepare(raw, (manifest or {}).get(raw.source, {}), chunk_size=chunk_size, chunk_overlap=chunk_overlap)
            outcome = commit(doc, store, encoder)
        except IngestError as exc:
            report.failed.append((exc.source, exc.reason))
        else:
            getattr(report, outcome).append(raw.source)
            report.doc_ids[raw.source] = doc.record.doc_id
            if outcome != "unchanged":
                report.chunks += len(doc.rows)
        if on_file:
            on_file(path.name)
    report.seconds = time.perf_counter() - started
    return report


def reindex(store: Store, encoder: Encoder, *, chunk_size: int, chunk_overlap: int) -> int:
    """Re-chunk and re-embed every stored document from its stored cleaned text (after a model or chunking
    change). The old chunks stay usable until the new collection is complete. Returns the chunk count."""
    records = store.catalogue()
    updated: list[tuple[DocRecord, str]] = []

    def fill(col: Collection) -> None:
        for record in records:
            found = store.get_document(record.doc_id)
            if found is None:
                continue
            _, text = found
            chunks = chunk_document(text, parse_structure(text), size=chunk_size, overlap=chunk_overlap)
            fresh = replace(record, n_chunks=len(chunks))
            rows = chunk_rows(fresh, chunks)
            texts = [index_text(c.text, unit=fresh.unit, title=fresh.title, section=c.section) for c in chunks]
            store.write_chunks(col, rows, encoder.encode(texts))
            updated.append((fresh, text))

    store.replace_chunks(fill)
    for record, text in updated:
        store.upsert_record(record, text)
    return store.count_chunks()
