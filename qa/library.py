"""The library service: every write to the store (add files, replace, delete, reindex, metadata edit) and the
invalidation of everything derived from it. The CLI, the API, evaluation, tuning and the benchmarks write through
here; nothing else changes the store or calls `Retriever.invalidate()`.

Idempotent by content: doc_id is the hash of the cleaned text, so
- an unchanged file (same name, same content, same metadata) is a no-op: `unchanged`;
- a changed file under the same name replaces its old document (new one committed first, old one removed after):
  `replaced`;
- a file whose content is stored already under another name (or came earlier in the same run) stores nothing
  and changes nothing: `duplicate`, naming that file;
- a bad file is reported and skipped without touching anything stored.

The commit sequence (`commit`) is the one way documents become visible: rows (chunks, finding sentences) first,
then the records that commit them (qa.store), then what they replace. Derived state follows the store: the
retriever's catalogue and BM25 index (invalidated here; other processes see the store's change token), prepared
sentences (addressed by chunk text key, so they are re-prepared lazily when a chunk's index text changes) and the
findings view (keyed by each document's record, so it re-reads what changed).

Metadata edits (`edit_metadata`) change a document's fields everywhere at once without re-embedding, and are kept
as a stored override per file name, applied like a manifest entry whenever that file is ingested again (a
`--manifest` given for that run wins). Deleting a document drops the override of its file name.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol, TypedDict

import numpy as np

from ingest.document import Progress, ReadLimits
from ingest.pipeline import PreparedDoc, prepare, rechunk
from ingest.readers import read_bytes
from ingest.schema import REPORT_KINDS, DocFields, DocRecord
from qa.ingest_run import IngestRun, Pending, write_behind_default
from qa.settings import Settings
from qa.store import Store, VectorCollections

if TYPE_CHECKING:
    from qa.retrieve import Retriever

Outcome = Literal["new", "unchanged", "replaced", "duplicate"]
EDITABLE = ("unit", "region", "year", "report_kind", "title")  # the document fields an edit (and a manifest) may set
YEARS = range(1900, 2101)


class Encoder(Protocol):
    def encode(self, texts: list[str]) -> np.ndarray: ...

    def encode_queries(self, texts: list[str]) -> np.ndarray: ...


class DocumentNotFound(LookupError):
    """No committed document has this doc_id (the API answers 404)."""

    def __init__(self, doc_id: str) -> None:
        super().__init__(f"没有 doc_id 为 {doc_id} 的报告")
        self.doc_id = doc_id


class MetadataError(ValueError):
    """An edit the document fields cannot take (year out of range, unknown report kind); message in Chinese."""


@dataclass
class IngestReport:
    new: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (file name, the stored file it repeats)
    failed: list[tuple[str, str]] = field(default_factory=list)
    chunks: int = 0
    seconds: float = 0.0
    doc_ids: dict[str, str] = field(default_factory=dict)  # file name → doc_id of its content in the store
    ocr_pages: int = 0  # pages (images) read by OCR, over all files read
    ocr_seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.new or self.replaced)

    def add(self, doc: DocFields, outcome: Outcome, duplicate_of: str | None = None) -> None:
        if outcome == "duplicate":
            self.duplicates.append((doc.source, duplicate_of or ""))
        else:
            getattr(self, outcome).append(doc.source)
        self.doc_ids[doc.source] = doc.doc_id


@dataclass(frozen=True)
class Added:
    """What `Library.add` did with one file."""

    outcome: Outcome
    record: DocRecord  # the document as stored now (for a duplicate: the stored one it repeats)
    duplicate_of: str | None = None  # the stored file name a duplicate repeats
    ocr_pages: int = 0  # pages of the file read by OCR, and the seconds that took
    ocr_seconds: float = 0.0


class _OcrFields(TypedDict):
    """The OCR fields of `Added`, passed as keywords."""

    ocr_pages: int
    ocr_seconds: float


@dataclass(frozen=True)
class Standing:
    """How a prepared document stands against the store."""

    previous: list[DocRecord]  # other documents stored under its file name (it replaces them)
    existed: bool  # its content (doc_id) is stored already
    unchanged: bool  # ... under the same name, with the same metadata and nothing to replace: nothing to do
    duplicate_of: str | None  # ... under another file name: that name (nothing to do either)
    stored: DocRecord | None = None


def _same_metadata(a: DocRecord, b: DocRecord) -> bool:
    return a.doc == b.doc and (a.n_chunks, a.n_findings) == (b.n_chunks, b.n_findings)


def edit_fields(
    unit: str | None, region: str | None, year: int | None, report_kind: str | None, title: str | None
) -> dict[str, str | int]:
    """The fields an edit sets (None: keep), validated; MetadataError names what is wrong."""
    changes: dict[str, str | int] = {}
    for name, value in (("unit", unit), ("region", region), ("title", title)):
        if value is not None:
            changes[name] = value.strip()
    if "title" in changes and not changes["title"]:
        raise MetadataError("标题不能为空")
    if year is not None:
        if year not in YEARS:
            raise MetadataError(f"年份应在 {YEARS.start}–{YEARS.stop - 1} 之间：{year}")
        changes["year"] = year
    if report_kind is not None:
        if report_kind not in REPORT_KINDS:
            raise MetadataError(f"报告类型无效：{report_kind}（可选：{'、'.join(REPORT_KINDS)}）")
        changes["report_kind"] = report_kind
    return changes


class Library:
    def __init__(self, store: Store, encoder: Encoder, settings: Settings, retriever: Retriever | None = None) -> None:
        """`retriever`: this process's view of the store, invalidated after every write (None: no view to keep)."""
        self.store = store
        self.encoder = encoder
        self.retriever = retriever
        self.chunk_size = settings.chunk_size
        self.chunk_overlap = settings.chunk_overlap
        self.limits: ReadLimits = settings.read_limits()
        # Writes change the store in several steps; one writer at a time per process.
        self.write_lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []

    @classmethod
    def of(cls, retriever: Retriever) -> Library:
        """The library writing to a retriever's store and keeping that retriever's view current."""
        return cls(retriever.store, retriever.embedder, retriever.settings, retriever)

    # --- adding documents -----------------------------------------------------------------------------

    def ingest_files(
        self,
        files: Sequence[Path],
        *,
        manifest: Mapping[str, Mapping[str, str]] | None = None,
        on_file: Callable[[str], None] | None = None,
        write_behind: bool | None = None,
        on_page: Callable[[str, int, int], None] | None = None,
    ) -> IngestReport:
        """Read, prepare, embed and commit files, many documents per encoder call (qa.ingest_run). `manifest`: file
        name → field overrides for this run (they win over stored edits); `on_file(name)` after each file;
        `write_behind`: commit on a second thread (default: only with more than 2 cores); `on_page(name, done,
        total)` hears about the pages a file needs OCR for, one by one (minutes for a long scan)."""
        overrides = self._overrides([p.name for p in files], manifest)
        with self.write_lock:
            self.store.repair()
            behind = write_behind_default() if write_behind is None else write_behind
            report = IngestRun(self, files, overrides, on_file, behind, on_page).run()
        if report.changed:
            self.invalidate()
        return report

    def add(
        self, data: bytes, source: str, overrides: Mapping[str, str] | None = None, on_page: Progress | None = None
    ) -> Added:
        """One file's content (an upload): read, prepare, commit. `overrides`: field values given with it (they win
        over a stored edit); `on_page(done, total)`: OCR progress. IngestError for a file that cannot be read;
        nothing stored is touched then."""
        raw = read_bytes(data, source, self.limits, on_page)
        given = self._overrides([source], {source: overrides} if overrides else None).get(source, {})
        doc = prepare(raw, given, chunk_size=self.chunk_size, chunk_overlap=self.chunk_overlap)
        with self.write_lock:
            self.store.repair()
            [state] = self.standing([doc])
            ocr: _OcrFields = {"ocr_pages": doc.ocr_pages, "ocr_seconds": doc.ocr_seconds}
            if state.duplicate_of is not None and state.stored is not None:
                return Added("duplicate", state.stored, state.duplicate_of, **ocr)
            if state.unchanged:
                return Added("unchanged", doc.record, **ocr)
            self.commit([Pending(doc, source, state.previous, state.existed)], *self.encode([doc]))
        self.invalidate()
        return Added("replaced" if state.previous or state.existed else "new", doc.record, **ocr)

    def write(self, docs: Sequence[PreparedDoc], chunk_vectors: np.ndarray, finding_vectors: np.ndarray) -> None:
        """Commit new documents with vectors made elsewhere (bulk loads: BEIR corpora, benchmark stores), without
        deciding their outcome first: they must not be stored yet."""
        with self.write_lock:
            self.commit([Pending(d, d.record.doc.source) for d in docs], chunk_vectors, finding_vectors)
        self.invalidate()

    def standing(self, docs: Sequence[PreparedDoc]) -> list[Standing]:
        """Each document's standing, from two store reads for all of them (not two per document, ~2 ms each)."""
        stored = self.store.records([d.record.doc.doc_id for d in docs])
        by_source = self.store.records_by_source([d.record.doc.source for d in docs])
        out: list[Standing] = []
        for d in docs:
            doc = d.record.doc
            existing = stored.get(doc.doc_id)
            if existing is not None and existing.doc.source != doc.source:
                out.append(Standing([], True, False, existing.doc.source, existing))
                continue
            previous = [r for r in by_source.get(doc.source, []) if r.doc.doc_id != doc.doc_id]
            same = existing is not None and _same_metadata(existing, d.record)
            out.append(Standing(previous, existing is not None, same and not previous, None, existing))
        return out

    def encode(self, docs: Sequence[PreparedDoc]) -> tuple[np.ndarray, np.ndarray]:
        """(chunk vectors, finding-sentence vectors) of these documents, in row order: chunks of all documents in one
        passage-encoder call (sorted by length inside, so its batches pad less), finding sentences in one call of
        the query encoder (they are scored against questions' topics: qa.embeddings.Embedder)."""
        chunks = self.encoder.encode([t for d in docs for t in d.index_texts])
        findings = self.encoder.encode_queries([t for d in docs for t in d.finding_texts])
        return chunks, findings

    def commit(self, items: Sequence[Pending], chunk_vectors: np.ndarray, finding_vectors: np.ndarray) -> None:
        """The commit sequence: every row of the documents, then their records (one call: the commit markers), then
        what the rewrite of a stored document no longer has and the old versions they replace. Callers hold
        `write_lock`; vectors are in row order (`encode`)."""
        self.store.write_rows(
            [r for p in items for r in p.doc.rows],
            chunk_vectors,
            [r for p in items for r in p.doc.finding_rows],
            finding_vectors,
        )
        self.store.upsert_records([(p.doc.record, p.doc.text) for p in items])
        for p in items:
            if p.existed:  # the same content written again (new metadata or extraction): drop rows it no longer has
                self.store.trim_document(p.doc.record.doc.doc_id, len(p.doc.rows), len(p.doc.finding_rows))
            for old in p.previous:
                self.store.delete_document(old.doc.doc_id)

    # --- changing and removing documents --------------------------------------------------------------

    def delete(self, doc_id: str) -> DocRecord:
        """Remove a document, its rows and the stored edit of its file name; DocumentNotFound when there is none."""
        with self.write_lock:
            record = self.store.records([doc_id]).get(doc_id)
            if record is None:
                raise DocumentNotFound(doc_id)
            self.store.delete_document(doc_id)
            if not self.store.records_by_source([record.doc.source]):
                self.store.drop_override(record.doc.source)
        self.invalidate()
        return record

    def edit_metadata(
        self,
        doc_id: str,
        *,
        unit: str | None = None,
        region: str | None = None,
        year: int | None = None,
        report_kind: str | None = None,
        title: str | None = None,
    ) -> DocRecord:
        """Set some of a document's fields (None: keep) on its record and on every chunk and finding row, without
        re-embedding, and keep them as the stored override of its file name (applied when it is ingested again).
        Returns the record as stored now. MetadataError for invalid values, DocumentNotFound for an unknown id."""
        changes = edit_fields(unit, region, year, report_kind, title)
        with self.write_lock:
            record = self.store.records([doc_id]).get(doc_id)
            if record is None:
                raise DocumentNotFound(doc_id)
            if not changes:
                return record
            source = record.doc.source
            # The override first: an edit interrupted after it is completed by running it again, or by re-ingest.
            self.store.set_override(source, {**self.store.overrides([source]).get(source, {}), **changes})
            edited = replace(record, doc=replace(record.doc, **changes))  # type: ignore[arg-type]
            if edited.doc != record.doc:
                self.store.relabel(edited)
        self.invalidate()
        return edited

    def overrides(self, source: str) -> dict[str, str | int]:
        """The stored edit of a file name (empty when none)."""
        return self.store.overrides([source]).get(source, {})

    def reindex(self, on_doc: Callable[[int, int], None] | None = None) -> int:
        """Re-chunk, re-extract findings and re-embed every stored document from its stored cleaned text (after a
        model, chunking or extraction change). The old rows stay in use until the new collections are complete;
        records are committed after them. Returns the chunk count. `on_doc(done, total)` after each document
        (progress)."""
        with self.write_lock:
            records = self.store.catalogue()
            updated: list[tuple[DocRecord, str]] = []

            def fill(target: VectorCollections) -> None:
                for record in records:
                    found = self.store.get_document(record.doc.doc_id)
                    if found is None:
                        continue
                    stored = self.store.chunks_of(
                        [record.doc.doc_id]
                    )  # the rows in use until the new ones are complete
                    doc = rechunk(
                        record, found[1], stored, chunk_size=self.chunk_size, chunk_overlap=self.chunk_overlap
                    )
                    chunk_vectors, finding_vectors = self.encode([doc])
                    self.store.write_rows(doc.rows, chunk_vectors, doc.finding_rows, finding_vectors, target=target)
                    updated.append((doc.record, doc.text))
                    if on_doc:
                        on_doc(len(updated), len(records))

            self.store.replace_rows(fill)
            self.store.upsert_records(updated)
            n = self.store.count_chunks()
        self.invalidate()
        return n

    # --- derived state --------------------------------------------------------------------------------

    def invalidate(self) -> None:
        """After a write: this process's view re-reads the catalogue and brings its BM25 index up to date on its next
        use (other processes learn from the store's change token). Prepared sentences and the findings view follow
        the catalogue by themselves (module docstring)."""
        if self.retriever is not None:
            self.retriever.invalidate()
        for listener in self._listeners:
            listener()

    def on_write(self, listener: Callable[[], None]) -> None:
        """Call `listener()` after every write of this process (the service's background fusion tuning, qa.api.deps)."""
        self._listeners.append(listener)

    def _overrides(
        self, sources: Sequence[str], manifest: Mapping[str, Mapping[str, str]] | None
    ) -> dict[str, dict[str, str]]:
        """File name → the overrides its ingest applies: the stored edit, then this run's manifest on top."""
        stored = self.store.overrides(list(dict.fromkeys(sources)))
        out: dict[str, dict[str, str]] = {s: {k: str(v) for k, v in o.items()} for s, o in stored.items()}
        for source, given in (manifest or {}).items():
            out[source] = {**out.get(source, {}), **given}
        return out
