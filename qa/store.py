"""Chroma access: the chunk collection (vectors + text + metadata) and the document collection.

Chroma is the source of truth. A document becomes visible in one step: its chunks and its findings (one row per
finding sentence, `ingest.findings`) are written first and its record in the documents collection last, so the
record is the commit marker. Readers only trust chunks and findings whose document record exists; rows without
one are the remains of an interrupted ingest and `repair()` removes them. Deleting goes the other way round
(record first, then chunks and findings).

Every change to the set of records or to their fields also writes a fresh token into a one-record
`<collection>_meta` collection, so a process (one of several API replicas on one Chroma server) learns that the
catalogue changed from two cheap calls (`generation()`: that record and the documents count) instead of
re-reading every record; the count also catches a writer that died between its record and its token. Before the
token, the change itself is logged in the same collection (which documents, when; `changed_since`), so a process
holding a catalogue re-reads only the changed documents' records: reading all of them cost 0.43 s at 100k chunks
(7.7k documents) and grows with the library, on every change, in every replica.

Metadata edits (`relabel`) rewrite a document's fields on its rows and record in place (Chroma keeps the vectors);
the edit itself is kept in `<collection>_overrides`, one record per file name, so it outlives the document's
record when the file is ingested again with new content (qa.library).
"""

from __future__ import annotations

import base64
import os
import socket
import time
import uuid
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlparse

import chromadb
import numpy as np
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection

from ingest.schema import ChunkRow, DocRecord, with_doc
from qa.process import process_gone
from qa.settings import Settings

_WRITE_BATCH = 512
# Ids per get/delete by id: SQLite allows 32,766 variables in one statement, and a bulk load can leave tens of
# thousands of pending-write markers for repair() to settle (the 1M benchmark store: 77k, "too many SQL variables").
_ID_BATCH = 1000
_DOC_BATCH = 200  # doc ids per `where doc_id $in …` read
_READ_PAGE = 5000
_GENERATION_ID = "generation"
_PENDING = "pending:"
_PENDING_MAX_AGE = 3600.0
_CHANGE = "change:"
# How long the change log keeps an entry: a process whose catalogue is older than this re-reads every record.
CHANGE_RETENTION = 7 * 86400.0


@dataclass(frozen=True)
class Change:
    """One logged change (`Store.bump_generation`)."""

    id: str  # its entry's id: unique, so a reader can tell the changes it already applied
    doc_ids: frozenset[str] | None  # the documents whose records it changed; None: anything (a reindex)


@dataclass(frozen=True)
class Generation:
    """The store's change state: `token` differs after every commit, delete or edit by any process (and with the
    documents count, `count`); `at` is the last change's time by its writer's clock."""

    token: str
    count: int
    at: float


def record_order(record: DocRecord) -> tuple[float, str]:
    """The catalogue's order: oldest first."""
    return (record.ingested_at, record.doc.doc_id)


VectorCollections = tuple[Collection, Collection]  # (chunks, finding sentences)

# Finding-sentence vectors are kept in their rows' metadata (float32, base64) in findings collections created since
# 2026-12-05, not in the collection's vector index: nothing searches them by vector, and Chroma loads a collection's
# whole HNSW index, a float32 copy of every vector, on any read of it, into whichever process holds the collection
# (the API's, in embedded mode): +195 MB at 100k chunks, ~1.9 GB at 1M, next to the findings view's own float16
# copy. Rows of such a collection carry a placeholder vector. Collections made before keep their vectors in the
# index and are read and written as before; `qa reindex` rebuilds them in this layout.
_VECTOR_FIELD = "vector_f32"
_LAYOUT_KEY, _VECTORS_IN_METADATA = "vectors", "metadata"


def vectors_in_metadata(col: Collection) -> bool:
    """Whether `col` keeps each row's vector in its metadata (see `_VECTOR_FIELD`)."""
    return (col.metadata or {}).get(_LAYOUT_KEY) == _VECTORS_IN_METADATA


def _encode_vector(vector: np.ndarray) -> str:
    return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode("ascii")


def _decode_vector(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype="<f4").astype(np.float32)


# A Chroma `where` filter. chromadb's `Where` type keys operators ("$in", "$gte", "$and") by Literal types, which
# mypy does not give the keys of a dict display, so filters are typed by this looser alias.
Filter = dict[str, Any]


class StoreError(RuntimeError):
    """The store cannot be used as configured (unreachable server, embedder mismatch); message in Chinese."""


def _writer_gone(marker: dict[str, Any]) -> bool:
    """Whether the process that left a pending marker can no longer commit it (see Store.repair)."""
    if time.time() - float(marker.get("at", 0.0)) > _PENDING_MAX_AGE:
        return True
    host, pid = str(marker.get("host")), int(marker.get("pid", -1))
    return (host == socket.gethostname() and pid == os.getpid()) or process_gone(host, pid)


def placeholder_vectors(n: int = 1) -> list[Sequence[float]]:
    """`n` copies of [1.0]: the vector Chroma needs for each row of a collection never searched by vector
    (documents, meta, overrides)."""
    vectors: list[Sequence[float]] = [[1.0]] * n
    return vectors


def _batches(ids: Sequence[str]) -> Iterator[list[str]]:
    for start in range(0, len(ids), _ID_BATCH):
        yield list(ids[start : start + _ID_BATCH])


def _client(settings: Settings) -> ClientAPI:
    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        try:
            return chromadb.HttpClient(
                host=url.hostname or "127.0.0.1", port=url.port or 8000, ssl=url.scheme == "https"
            )
        except Exception as exc:  # chromadb raises plain exceptions of several kinds for a dead server
            raise StoreError(f"无法连接 Chroma 服务器 {settings.chroma_url}：{exc}") from exc
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.data_dir / "chroma"))


class Store:
    def __init__(
        self,
        settings: Settings,
        embedder_id: str,
        dimension: int,
        *,
        findings_embedder_id: str | None = None,
        check_embedder: bool = True,
    ) -> None:
        """`embedder_id`: the model of the chunk vectors; `findings_embedder_id` (default the same): the model of
        the finding-sentence vectors (the query backend, qa.embeddings.Embedder)."""
        self.client = _client(settings)
        self.embedder_id = embedder_id
        self.findings_embedder_id = findings_embedder_id or embedder_id
        self.dimension = dimension
        self._chunks_name = f"{settings.collection}_chunks"
        self._findings_name = f"{settings.collection}_findings"
        self.docs: Collection = self.client.get_or_create_collection(
            f"{settings.collection}_documents", embedding_function=None
        )
        self.meta: Collection = self.client.get_or_create_collection(
            f"{settings.collection}_meta", embedding_function=None
        )
        self.edits: Collection = self.client.get_or_create_collection(
            f"{settings.collection}_overrides", embedding_function=None
        )
        self._ef_search = settings.hnsw_ef_search
        self.chunks: Collection = self._open_chunks(check_embedder)
        self.findings: Collection = self._open_findings(self._findings_name, check_embedder)

    def _open_chunks(self, check: bool = True) -> Collection:
        """The chunk collection, its HNSW search breadth set to `Settings.hnsw_ef_search` (an existing collection
        keeps the value it was made with until changed; the change is stored with it, so every process opening
        it searches as broadly)."""
        col = self._open_vectors(self._chunks_name, self.embedder_id, check, ef_search=self._ef_search)
        if (col.configuration_json.get("hnsw") or {}).get("ef_search") != self._ef_search:
            with warnings.catch_warnings():
                # Chroma re-reads the whole configuration and warns that a collection without an embedding
                # function has a "legacy" one: we embed ourselves (embedding_function=None), nothing to migrate.
                warnings.simplefilter("ignore", DeprecationWarning)
                col.modify(configuration={"hnsw": {"ef_search": self._ef_search}})
        return col

    def _open_findings(self, name: str, check: bool = True) -> Collection:
        """A findings collection (vectors in the rows' metadata when it is created now)."""
        return self._open_vectors(name, self.findings_embedder_id, check, in_metadata=True)

    def _open_vectors(
        self, name: str, embedder_id: str, check: bool = True, in_metadata: bool = False, ef_search: int | None = None
    ) -> Collection:
        """The collection `name`, created if missing (`in_metadata`: with its vectors in the rows' metadata; an
        existing collection keeps the layout it was made with; `ef_search`: its HNSW search breadth when created)."""
        layout = {_LAYOUT_KEY: _VECTORS_IN_METADATA} if in_metadata else {}
        hnsw: dict[str, Any] = {"space": "cosine", **({"ef_search": ef_search} if ef_search else {})}
        col = self.client.get_or_create_collection(
            name,
            metadata={"embedder": embedder_id, "dimension": self.dimension, **layout},
            configuration={"hnsw": hnsw},  # type: ignore[arg-type]
            embedding_function=None,
        )
        meta = col.metadata or {}
        if check and (meta.get("embedder") != embedder_id or meta.get("dimension") != self.dimension):
            raise StoreError(
                f"向量库由模型 {meta.get('embedder')}（{meta.get('dimension')} 维）建立，当前模型为 {embedder_id}"
                f"（{self.dimension} 维）。请运行 qa reindex 用当前模型重建索引，或改回原模型。"
            )
        return col

    # --- documents -----------------------------------------------------------------------------------

    def catalogue(self) -> list[DocRecord]:
        """Every committed document, oldest first."""
        records: list[DocRecord] = []
        offset = 0
        while True:
            page = self.docs.get(include=["metadatas"], limit=_READ_PAGE, offset=offset)
            records += [DocRecord.from_metadata(i, dict(m or {})) for i, m in zip(page["ids"], page["metadatas"] or [])]
            if len(page["ids"]) < _READ_PAGE:
                break
            offset += _READ_PAGE
        return sorted(records, key=record_order)

    def get_document(self, doc_id: str) -> tuple[DocRecord, str] | None:
        page = self.docs.get(ids=[doc_id], include=["metadatas", "documents"])
        if not page["ids"]:
            return None
        return DocRecord.from_metadata(doc_id, dict((page["metadatas"] or [{}])[0] or {})), (page["documents"] or [""])[
            0
        ] or ""

    def records(self, doc_ids: Sequence[str]) -> dict[str, DocRecord]:
        """The committed records among `doc_ids` (without their texts)."""
        out: dict[str, DocRecord] = {}
        for part in _batches(list(doc_ids)):
            page = self.docs.get(ids=part, include=["metadatas"])
            out.update(
                (i, DocRecord.from_metadata(i, dict(m or {}))) for i, m in zip(page["ids"], page["metadatas"] or [])
            )
        return out

    def records_by_source(self, sources: Sequence[str]) -> dict[str, list[DocRecord]]:
        """Committed records stored under each of `sources` (one read)."""
        out: dict[str, list[DocRecord]] = {}
        if not sources:
            return out
        where: Filter = {"source": {"$in": list(dict.fromkeys(sources))}}
        page = self.docs.get(where=where, include=["metadatas"])
        for i, m in zip(page["ids"], page["metadatas"] or []):
            record = DocRecord.from_metadata(i, dict(m or {}))
            out.setdefault(record.doc.source, []).append(record)
        return out

    def has_document(self, doc_id: str) -> bool:
        return bool(self.docs.get(ids=[doc_id], include=[])["ids"])

    def write_rows(
        self,
        rows: Sequence[ChunkRow],
        vectors: np.ndarray,
        finding_rows: Sequence[ChunkRow] = (),
        finding_vectors: np.ndarray | None = None,
        *,
        target: VectorCollections | None = None,
    ) -> None:
        """Chunk rows and finding-sentence rows of some documents, before the records that commit them
        (`upsert_records`; module docstring). `target`: other (chunks, findings) collections (a reindex's)."""
        chunks, findings = target or (self.chunks, self.findings)
        self.write_chunks(chunks, rows, vectors)
        if finding_rows and finding_vectors is not None:
            self.write_chunks(findings, finding_rows, finding_vectors)

    def trim_document(self, doc_id: str, n_chunks: int, n_finding_rows: int) -> None:
        """Remove rows a rewrite of the same document no longer has (same content, new chunking or extraction):
        upserts replace rows by id but leave those beyond the new count behind."""
        beyond_chunks: Filter = {"$and": [{"doc_id": doc_id}, {"chunk_index": {"$gte": n_chunks}}]}
        beyond_rows: Filter = {"$and": [{"doc_id": doc_id}, {"row": {"$gte": n_finding_rows}}]}
        self.chunks.delete(where=beyond_chunks)
        self.findings.delete(where=beyond_rows)

    def upsert_records(self, items: Sequence[tuple[DocRecord, str]]) -> None:
        """Commit several documents whose chunks are already written, in one call (ingest batches)."""
        if not items:
            return
        # The documents collection needs a vector per record; a constant one keeps it out of the way.
        self.docs.upsert(
            ids=[r.doc.doc_id for r, _ in items],
            embeddings=placeholder_vectors(len(items)),
            documents=[t for _, t in items],
            metadatas=[r.metadata() for r, _ in items],
        )
        self.bump_generation(r.doc.doc_id for r, _ in items)
        self.meta.delete(ids=[_PENDING + r.doc.doc_id for r, _ in items])

    def _mark_pending(self, doc_ids: set[str]) -> None:
        if not doc_ids:
            return
        who: dict[str, str | int | float] = {
            "kind": "pending",
            "at": time.time(),
            "host": socket.gethostname(),
            "pid": os.getpid(),
        }
        for ids in _batches(sorted(doc_ids)):
            self.meta.upsert(
                ids=[_PENDING + d for d in ids],
                embeddings=placeholder_vectors(len(ids)),
                metadatas=[{**who, "doc_id": d} for d in ids],
            )

    def delete_document(self, doc_id: str) -> bool:
        existed = self.has_document(doc_id)
        self.docs.delete(ids=[doc_id])
        self.chunks.delete(where={"doc_id": doc_id})
        self.findings.delete(where={"doc_id": doc_id})
        self.bump_generation([doc_id])
        return existed

    # --- metadata edits (qa.library.Library.edit_metadata) --------------------------------------------------

    def relabel(self, record: DocRecord) -> None:
        """Give a committed document new fields: every chunk and finding row first (their vectors stay), then its
        record, then a new change token. Readers see either the old or the new fields of a row."""
        for col in (self.chunks, self.findings):
            rows = list(self._iter(col, False, {"doc_id": record.doc.doc_id}))
            for start in range(0, len(rows), _WRITE_BATCH):
                part = rows[start : start + _WRITE_BATCH]
                col.update(ids=[r.id for r in part], metadatas=[with_doc(r.metadata, record.doc) for r in part])
        self.docs.update(ids=[record.doc.doc_id], metadatas=[record.metadata()])
        self.bump_generation([record.doc.doc_id])

    def overrides(self, sources: Sequence[str]) -> dict[str, dict[str, str | int]]:
        """The stored edits of these file names (one record per file name in `<collection>_overrides`)."""
        out: dict[str, dict[str, str | int]] = {}
        for part in _batches(list(sources)):
            page = self.edits.get(ids=part, include=["metadatas"])
            # The overrides collection holds only what set_override wrote: str and int values.
            out.update(
                (i, cast("dict[str, str | int]", dict(m or {}))) for i, m in zip(page["ids"], page["metadatas"] or [])
            )
        return out

    def set_override(self, source: str, fields: dict[str, str | int]) -> None:
        self.edits.upsert(ids=[source], embeddings=placeholder_vectors(), metadatas=[fields])

    def drop_override(self, source: str) -> None:
        self.edits.delete(ids=[source])

    # --- change detection (see module docstring) ----------------------------------------------------------

    def bump_generation(self, doc_ids: Iterable[str] | None = None) -> None:
        """Log a change of `doc_ids`' records (None: anything may have changed, e.g. a reindex), then write a new
        token. The log entry first: a process that sees the token finds the entry."""
        now = time.time()
        ids = None if doc_ids is None else sorted(set(doc_ids))
        entry: dict[str, str | float | bool] = {
            "kind": "change",
            "at": now,
            "all": ids is None,
            "doc_ids": "\n".join(ids or []),
        }
        self.meta.upsert(
            ids=[f"{_CHANGE}{now:.6f}:{uuid.uuid4().hex[:8]}"], embeddings=placeholder_vectors(), metadatas=[entry]
        )
        self.meta.upsert(
            ids=[_GENERATION_ID],
            embeddings=placeholder_vectors(),
            metadatas=[{"token": uuid.uuid4().hex, "at": now}],
        )
        expired: Filter = {"$and": [{"kind": "change"}, {"at": {"$lt": now - CHANGE_RETENTION}}]}
        self.meta.delete(where=expired)

    def generation(self) -> Generation:
        page = self.meta.get(ids=[_GENERATION_ID], include=["metadatas"])
        meta = ((page["metadatas"] or [{}])[0] or {}) if page["ids"] else {}
        count = self.docs.count()
        return Generation(f"{meta.get('token', '')}:{count}", count, float(cast(float, meta.get("at", 0.0))))

    def changes_since(self, at: float) -> list[Change]:
        """The changes logged at or after `at` (writers' clocks). A change's entry is written after its records, so
        every change listed here is in a catalogue read after the listing."""
        where: Filter = {"$and": [{"kind": "change"}, {"at": {"$gte": at}}]}
        return [
            Change(
                row.id,
                None
                if row.metadata.get("all")
                else frozenset(d for d in str(row.metadata.get("doc_ids") or "").split("\n") if d),
            )
            for row in self._iter(self.meta, False, where)
        ]

    def repair(self, full: bool = False) -> int:
        """Remove chunks that no committed document owns (an ingest killed between its two steps); returns how
        many documents' chunks were removed.

        Writers leave a `pending:<doc_id>` marker in the meta collection before writing a document's chunks and
        remove it with the commit, so repair only looks at those markers: a few reads however large the store
        (a scan of every chunk took 34 s at 100k chunks, on every ingest and upload). A marker is acted on when
        its document got committed (marker dropped), or its writer is gone: this process (which repairs only
        while it writes nothing else), a dead process on this host, or any writer after an hour. `full=True`
        scans every chunk instead (stores written before the markers existed)."""
        if full:
            committed = {r.doc.doc_id for r in self.catalogue()}
            owners = {
                str(row.metadata.get("doc_id"))
                for col in (self.chunks, self.findings)
                for row in self._iter(col, False, None)
            }
            orphans = owners - committed
            for doc_id in orphans:
                self._delete_rows(doc_id)
            return len(orphans)
        markers = {row.id: row.metadata for row in self._iter(self.meta, False, {"kind": "pending"})}
        if not markers:
            return 0
        doc_ids = [str(m.get("doc_id")) for m in markers.values()]
        committed = {i for part in _batches(doc_ids) for i in self.docs.get(ids=part, include=[])["ids"]}
        drop: list[str] = []
        removed = 0
        for marker_id, m in markers.items():
            doc_id = str(m.get("doc_id"))
            if doc_id in committed:
                drop.append(marker_id)
            elif _writer_gone(m):
                self._delete_rows(doc_id)
                drop.append(marker_id)
                removed += 1
        for part in _batches(drop):
            self.meta.delete(ids=part)
        return removed

    def _delete_rows(self, doc_id: str) -> None:
        self.chunks.delete(where={"doc_id": doc_id})
        self.findings.delete(where={"doc_id": doc_id})

    # --- chunks and findings --------------------------------------------------------------------------

    def _iter(self, col: Collection, include_text: bool, where: dict[str, Any] | None) -> Iterator[ChunkRow]:
        include: list[Any] = ["metadatas", "documents"] if include_text else ["metadatas"]
        offset = 0
        while True:
            page = col.get(include=include, limit=_READ_PAGE, offset=offset, where=where)
            docs = page.get("documents") or [""] * len(page["ids"])
            for i, m, d in zip(page["ids"], page["metadatas"] or [], docs):
                yield ChunkRow(i, d or "", dict(m or {}))
            if len(page["ids"]) < _READ_PAGE:
                return
            offset += _READ_PAGE

    def iter_chunks(self, include_text: bool = True, where: dict[str, Any] | None = None) -> Iterator[ChunkRow]:
        return self._iter(self.chunks, include_text, where)

    def chunks_of(self, doc_ids: Sequence[str]) -> Iterator[ChunkRow]:
        """Every chunk of these documents (committed or not: callers filter)."""
        for start in range(0, len(doc_ids), _DOC_BATCH):
            yield from self.iter_chunks(where={"doc_id": {"$in": list(doc_ids[start : start + _DOC_BATCH])}})

    def finding_rows(self, doc_ids: Sequence[str]) -> tuple[list[ChunkRow], np.ndarray]:
        """The finding-sentence rows of some documents (committed or not: callers filter) with their vectors."""
        rows: list[ChunkRow] = []
        vectors: list[np.ndarray] = []
        ids = list(doc_ids)
        in_metadata = vectors_in_metadata(self.findings)
        for start in range(0, len(ids), _DOC_BATCH):
            where: Filter = {"doc_id": {"$in": ids[start : start + _DOC_BATCH]}}
            page = self.findings.get(
                where=where,
                include=["metadatas", "documents"] if in_metadata else ["metadatas", "documents", "embeddings"],
            )
            embeddings = page.get("embeddings")
            for i, (row_id, m, d) in enumerate(zip(page["ids"], page["metadatas"] or [], page["documents"] or [])):
                meta = dict(m or {})
                if in_metadata:
                    vectors.append(_decode_vector(str(meta.pop(_VECTOR_FIELD))))
                else:
                    vectors.append(np.asarray(embeddings[i], dtype=np.float32))  # type: ignore[index]
                rows.append(ChunkRow(row_id, d or "", meta))
        return rows, np.stack(vectors) if vectors else np.zeros((0, self.dimension), dtype=np.float32)

    def count_chunks(self) -> int:
        return self.chunks.count()

    def query(self, vector: np.ndarray, k: int, where: dict[str, Any] | None) -> list[tuple[ChunkRow, float]]:
        """Nearest chunks by cosine similarity (1 - distance), best first. Chroma 1.x returns fewer than k when
        the collection is smaller (empty: none), so no count() first: that costs 9 ms at 100k chunks, six times
        the HNSW search itself (bench/query.py)."""
        res = self.chunks.query(
            query_embeddings=[vector], n_results=k, where=where, include=["documents", "metadatas", "distances"]
        )
        ids = res["ids"][0]
        docs = (res["documents"] or [[]])[0]
        metas = (res["metadatas"] or [[]])[0]
        dists = (res["distances"] or [[]])[0]
        return [(ChunkRow(i, d or "", dict(m or {})), 1.0 - float(s)) for i, d, m, s in zip(ids, docs, metas, dists)]

    def query_ids(self, vector: np.ndarray, k: int, where: dict[str, Any] | None) -> list[tuple[str, float]]:
        """Nearest chunk ids by cosine similarity, best first, without their text or metadata (a fraction of
        the cost of `query`: 1.4 ms instead of 8–10 ms for 58 results at 10k chunks)."""
        res = self.chunks.query(query_embeddings=[vector], n_results=k, where=where, include=["distances"])
        return [(i, 1.0 - float(d)) for i, d in zip(res["ids"][0], (res["distances"] or [[]])[0])]

    def get_chunks(self, ids: Sequence[str]) -> list[ChunkRow]:
        """The chunks of these ids that exist, in the given order. In pages: a broad aggregate at 1M chunks
        asked for more ids than SQLite takes variables in one query."""
        by_id: dict[str, ChunkRow] = {}
        for batch in _batches(ids):
            page = self.chunks.get(ids=batch, include=["documents", "metadatas"])
            by_id.update(
                (i, ChunkRow(i, d or "", dict(m or {})))
                for i, d, m in zip(page["ids"], page["documents"] or [], page["metadatas"] or [])
            )
        return [by_id[i] for i in ids if i in by_id]

    def replace_rows(self, fill: Callable[[VectorCollections], None]) -> None:
        """Rebuild the chunk and finding collections for the current embedder (`qa reindex`) without a window
        in which they are lost: fill side collections (chunks, findings), then drop the old ones and rename the
        new ones into place."""
        names = (self._chunks_name, self._findings_name)
        existing = {c.name for c in self.client.list_collections()}
        for name in names:
            if f"{name}_reindex" in existing:
                self.client.delete_collection(f"{name}_reindex")  # left by an interrupted reindex
        sides = (
            self._open_vectors(f"{self._chunks_name}_reindex", self.embedder_id, ef_search=self._ef_search),
            self._open_findings(f"{self._findings_name}_reindex"),
        )
        fill(sides)
        for name, fresh in zip(names, sides):
            if name in existing:
                self.client.delete_collection(name)
            fresh.modify(name=name)
        self.chunks = self._open_chunks()
        self.findings = self._open_findings(self._findings_name)
        self.bump_generation()

    def clear_findings(self) -> None:
        """Drop every finding row by recreating the findings collection in the current layout (the benchmark
        stores re-add their findings this way when extraction or the layout changes)."""
        self.client.delete_collection(self._findings_name)
        self.findings = self._open_findings(self._findings_name)
        self.bump_generation()

    def write_chunks(self, col: Collection, rows: Sequence[ChunkRow], embeddings: np.ndarray) -> None:
        if col.name in (self.chunks.name, self.findings.name):
            self._mark_pending({str(r.metadata.get("doc_id")) for r in rows})
        in_metadata = vectors_in_metadata(col)
        for start in range(0, len(rows), _WRITE_BATCH):
            batch = rows[start : start + _WRITE_BATCH]
            vectors: np.ndarray | list[Sequence[float]] = embeddings[start : start + len(batch)]
            metadatas: list[Mapping[str, Any]] = [r.metadata for r in batch]
            if in_metadata:
                metadatas = [{**m, _VECTOR_FIELD: _encode_vector(v)} for m, v in zip(metadatas, vectors)]
                vectors = placeholder_vectors(len(batch))
            col.upsert(
                ids=[r.id for r in batch],
                embeddings=vectors,
                documents=[r.text for r in batch],
                metadatas=metadatas,
            )
