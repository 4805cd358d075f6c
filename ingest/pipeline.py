"""File → a prepared document: read, clean, structure, tag, chunk, extract findings — everything before the store.

Pure: no store, no model, no settings object (limits and chunking come as arguments); `qa.library` embeds and
commits what this prepares. A document's id is the hash of its cleaned text (ingest.schema.doc_id_of), so the
same content is the same document whatever the file is called.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from ingest.chunking import Chunk, chunk_document
from ingest.clean import CleanText, clean_text
from ingest.document import ChunkPositionFields, IngestError, RawDocument, RecordSpan, TablePosition
from ingest.findings import Finding, extract_findings
from ingest.metadata import apply_overrides, infer_metadata
from ingest.readers import SUPPORTED_SUFFIXES
from ingest.schema import (
    ChunkMeta,
    ChunkRow,
    DocFields,
    DocRecord,
    FindingRowMeta,
    chunk_id,
    doc_id_of,
    finding_id,
    finding_row_id,
    finding_row_text,
)
from ingest.structure import parse_structure
from ingest.text import index_text


@dataclass(frozen=True)
class PreparedDoc:
    record: DocRecord
    text: str
    rows: list[ChunkRow]
    index_texts: list[str]
    finding_rows: list[ChunkRow] = field(default_factory=list)  # one per finding sentence
    ocr_pages: int = 0  # pages the reader had to OCR, and the seconds that took
    ocr_seconds: float = 0.0

    @property
    def finding_texts(self) -> list[str]:
        """What each finding row's vector is made from (`finding_row_text`: the sentence under its lead)."""
        return [finding_row_text(r.text, r.metadata) for r in self.finding_rows]


def finding_rows(record: DocRecord, findings: list[Finding]) -> list[ChunkRow]:
    """One row per sentence of each finding (what is embedded and scored), carrying the whole finding in its
    metadata (FindingRowMeta)."""
    rows: list[ChunkRow] = []
    for i, f in enumerate(findings):
        fid = finding_id(record.doc.doc_id, i)
        for j, (s, e) in enumerate(f.sentences()):
            meta = FindingRowMeta(
                record.doc,
                fid,
                finding_index=i,
                sentence_index=j,
                row=len(rows),
                role=f.role,
                section=f.section,
                lead=f.lead,
                finding_text=f.text,
                finding_start=f.char_start,
                finding_end=f.char_end,
                char_start=s,
                char_end=e,
            )
            rows.append(
                ChunkRow(
                    id=finding_row_id(fid, j),
                    text=f.text[s - f.char_start : e - f.char_start],
                    metadata=meta.to_metadata(),
                )
            )
    return rows


def cleaned_records(records: Iterable[RecordSpan], cleaned: CleanText) -> list[RecordSpan]:
    """Record spans moved from the raw text to the cleaned one (cleaning only deletes or swaps characters)."""
    offsets = cleaned.raw_offsets
    return [
        replace(r, start=bisect.bisect_left(offsets, r.start), end=bisect.bisect_left(offsets, r.end)) for r in records
    ]


def _positions(chunks: list[Chunk], records: list[RecordSpan]) -> list[ChunkPositionFields]:
    """Each chunk's table position fields: those of the record line it is (chunks never span two)."""
    starts = [r.start for r in records]
    out: list[ChunkPositionFields] = []
    for c in chunks:
        i = bisect.bisect_right(starts, c.char_start) - 1
        inside = i >= 0 and records[i].start <= c.char_start and c.char_end <= records[i].end
        out.append(records[i].position.chunk_fields() if inside else {})
    return out


def chunk_rows(record: DocRecord, chunks: list[Chunk], records: Iterable[RecordSpan] = ()) -> list[ChunkRow]:
    """Chunks with the contract metadata (ChunkMeta) every chunk in Chroma carries; a table's record line also
    carries where its cells are (ChunkMeta's optional position fields)."""
    positions = _positions(chunks, sorted(records, key=lambda r: r.start))
    return [
        ChunkRow(
            id=chunk_id(record.doc.doc_id, c.chunk_index),
            text=c.text,
            metadata=ChunkMeta(
                record.doc, c.section, c.section_role, c.char_start, c.char_end, c.chunk_index, **position
            ).to_metadata(),
        )
        for c, position in zip(chunks, positions)
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
    findings = extract_findings(text, structure)
    record = DocRecord(
        DocFields(doc_id, raw.source, meta.title, meta.unit, meta.region, meta.year, meta.report_kind),
        fmt=raw.fmt,
        n_chunks=len(chunks),
        ingested_at=time.time(),
        n_findings=len(findings),
    )
    doc = _prepared(record, text, chunks, findings, cleaned_records(raw.records, cleaned))
    return replace(doc, ocr_pages=raw.ocr_pages, ocr_seconds=raw.ocr_seconds)


def rechunk(
    record: DocRecord, text: str, stored: Iterable[ChunkRow], *, chunk_size: int, chunk_overlap: int
) -> PreparedDoc:
    """A stored document prepared again from its stored cleaned text (after a chunking, extraction or model
    change: `qa reindex`): same record but for the counts, new chunks and findings. `stored`: its chunks as stored
    now; table positions come from the file, which is gone, so the record lines keep the ones stored with them."""
    structure = parse_structure(text)
    chunks = chunk_document(text, structure, size=chunk_size, overlap=chunk_overlap)
    findings = extract_findings(text, structure)
    return _prepared(
        replace(record, n_chunks=len(chunks), n_findings=len(findings)), text, chunks, findings, stored_records(stored)
    )


def stored_records(rows: Iterable[ChunkRow]) -> list[RecordSpan]:
    """The record lines among stored chunks, with the positions stored with them."""
    spans: list[RecordSpan] = []
    for row in rows:
        meta = ChunkMeta.from_metadata(row.metadata)
        position = TablePosition.from_chunk(meta)
        if position is not None:
            spans.append(RecordSpan(meta.char_start, meta.char_end, position))
    return spans


def _prepared(
    record: DocRecord, text: str, chunks: list[Chunk], findings: list[Finding], records: Iterable[RecordSpan] = ()
) -> PreparedDoc:
    texts = [index_text(c.text, unit=record.doc.unit, title=record.doc.title, section=c.section) for c in chunks]
    return PreparedDoc(record, text, chunk_rows(record, chunks, records), texts, finding_rows(record, findings))


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """Files given directly, plus the supported files inside given folders (sorted, so runs are repeatable)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES)
        else:
            files.append(path)
    return files
