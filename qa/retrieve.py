"""Dense, BM25 and hybrid (reciprocal rank fusion) retrieval with metadata filters on both sides.

Filters on document fields (year, region, unit, report_kind) are resolved against the catalogue of
committed documents into a set of doc_ids, so region "益阳市" matches "益阳市赫山区" and both sides see the
same documents; section_role is a chunk field and filters chunks directly.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ingest.chunking import index_text
from qa.embeddings import Embedder
from qa.lexical import LexicalIndex
from qa.settings import Settings
from qa.store import ChunkRow, DocRecord, Store, generation_of

Mode = Literal["dense", "bm25", "hybrid"]
MODES: tuple[Mode, ...] = ("dense", "bm25", "hybrid")
# How long a process trusts its view of the catalogue before asking the store again (server mode: another
# process may have ingested or deleted meanwhile).
_CATALOGUE_TTL = 2.0


@dataclass(frozen=True)
class Filters:
    year: int | None = None
    region: str | None = None
    unit: str | None = None
    report_kind: str | None = None
    section_role: str | None = None

    @property
    def on_documents(self) -> bool:
        return any(v not in (None, "") for v in (self.year, self.region, self.unit, self.report_kind))

    def admits(self, doc: DocRecord) -> bool:
        return (
            (self.year is None or doc.year == self.year)
            and (not self.region or self.region in doc.region or doc.region in self.region and bool(doc.region))
            and (not self.unit or self.unit in doc.unit or self.unit in doc.title or self.unit in doc.source)
            and (not self.report_kind or doc.report_kind == self.report_kind)
        )


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk, shaped like the API's citation (DESIGN.md §5) plus a few fields for filters."""

    id: str
    doc_id: str
    source: str
    unit: str
    region: str
    year: int | None
    report_kind: str
    title: str
    section: str
    section_role: str
    text: str
    char_start: int
    char_end: int
    chunk_index: int
    score: float

    @classmethod
    def from_row(cls, row: ChunkRow, score: float) -> Hit:
        m = row.metadata
        year = int(m.get("year", -1))
        return cls(
            id=row.id,
            doc_id=str(m.get("doc_id", "")),
            source=str(m.get("source", "")),
            unit=str(m.get("unit", "")),
            region=str(m.get("region", "")),
            year=None if year < 0 else year,
            report_kind=str(m.get("report_kind", "")),
            title=str(m.get("title", "")),
            section=str(m.get("section", "")),
            section_role=str(m.get("section_role", "")),
            text=row.text,
            char_start=int(m.get("char_start", 0)),
            char_end=int(m.get("char_end", 0)),
            chunk_index=int(m.get("chunk_index", 0)),
            score=score,
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def rrf(rankings: list[list[str]], k: int) -> list[tuple[str, float]]:
    """Reciprocal rank fusion: score(id) = Σ 1 / (k + rank), rank starting at 1.

    >>> rrf([["a", "b"], ["b", "c"]], k=60)[0][0]
    'b'
    """
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


def row_index_text(row: ChunkRow) -> str:
    m = row.metadata
    return index_text(row.text, unit=str(m.get("unit", "")), title=str(m.get("title", "")), section=str(m.get("section", "")))


class Retriever:
    """Owns the per-process view of the store: the catalogue of committed documents and the BM25 index."""

    def __init__(self, store: Store, embedder: Embedder, settings: Settings) -> None:
        self.store = store
        self.embedder = embedder
        self.settings = settings
        self._lock = threading.Lock()
        self._catalogue: dict[str, DocRecord] = {}
        self._generation = ""
        self._checked_at = 0.0
        self._lexical: LexicalIndex | None = None

    # --- derived state ---------------------------------------------------------------------------------

    def catalogue(self) -> dict[str, DocRecord]:
        self._refresh()
        return self._catalogue

    def invalidate(self) -> None:
        """Call after this process changed the store, so the next query sees it at once."""
        with self._lock:
            self._checked_at = 0.0

    def _refresh(self) -> None:
        with self._lock:
            if time.monotonic() - self._checked_at < _CATALOGUE_TTL and self._lexical is not None:
                return
            records = self.store.catalogue()
            self._catalogue = {r.doc_id: r for r in records}
            self._generation = generation_of(self._catalogue)
            if self._lexical is None or self._lexical.generation != self._generation:
                self._lexical = self._load_or_build_lexical()
            self._checked_at = time.monotonic()

    def _lexical_dir(self) -> Path:
        return self.settings.data_dir / "lexical" / self.settings.collection

    def _load_or_build_lexical(self) -> LexicalIndex:
        saved = LexicalIndex.load(self._lexical_dir())
        if saved is not None and saved.generation == self._generation:
            return saved
        index = self.build_lexical()
        index.save(self._lexical_dir())
        return index

    def build_lexical(self) -> LexicalIndex:
        rows = (
            (r.id, str(r.metadata.get("doc_id")), str(r.metadata.get("section_role", "")), row_index_text(r))
            for r in self.store.iter_chunks()
            if r.metadata.get("doc_id") in self._catalogue
        )
        return LexicalIndex.build(rows, self._generation)

    def lexical(self) -> LexicalIndex:
        self._refresh()
        assert self._lexical is not None
        return self._lexical

    # --- search ----------------------------------------------------------------------------------------

    def allowed_docs(self, filters: Filters) -> set[str] | None:
        if not filters.on_documents:
            return None
        return {d for d, rec in self.catalogue().items() if filters.admits(rec)}

    def dense(self, query: str, k: int, filters: Filters, vector: np.ndarray | None = None) -> list[Hit]:
        catalogue = self.catalogue()
        allowed = self.allowed_docs(filters)
        if allowed is not None and not allowed:
            return []
        clauses: list[dict[str, Any]] = []
        if allowed is not None:
            clauses.append({"doc_id": {"$in": sorted(allowed)}})
        if filters.section_role:
            clauses.append({"section_role": filters.section_role})
        where = None if not clauses else clauses[0] if len(clauses) == 1 else {"$and": clauses}
        vec = self.embedder.encode([query])[0] if vector is None else vector
        # Over-fetch a little: chunks of a document whose commit was interrupted are skipped.
        rows = self.store.query(vec, k + 8, where)
        return [Hit.from_row(r, s) for r, s in rows if r.metadata.get("doc_id") in catalogue][:k]

    def bm25(self, query: str, k: int, filters: Filters) -> list[Hit]:
        index = self.lexical()
        if not len(index):
            return []
        mask: np.ndarray | None = None
        allowed = self.allowed_docs(filters)
        if allowed is not None:
            mask = np.isin(index.doc_ids, list(allowed))
        if filters.section_role:
            role_mask = index.roles == filters.section_role
            mask = role_mask if mask is None else mask & role_mask
        ranked = index.search(query, k, mask)
        rows = {r.id: r for r in self.store.get_chunks([i for i, _ in ranked])}
        return [Hit.from_row(rows[i], s) for i, s in ranked if i in rows]

    def search(
        self, query: str, *, mode: Mode = "hybrid", top_k: int | None = None, filters: Filters | None = None, vector: np.ndarray | None = None
    ) -> list[Hit]:
        """`vector`: the query's embedding when the caller already has it (computed once per request)."""
        k = top_k or self.settings.top_k
        filters = filters or Filters()
        if mode == "dense":
            return self.dense(query, k, filters, vector)
        if mode == "bm25":
            return self.bm25(query, k, filters)
        n = max(k, self.settings.candidate_k)
        dense_hits = self.dense(query, n, filters, vector)
        bm25_hits = self.bm25(query, n, filters)
        by_id = {h.id: h for h in dense_hits + bm25_hits}
        fused = rrf([[h.id for h in dense_hits], [h.id for h in bm25_hits]], self.settings.rrf_k)
        return [_with_score(by_id[i], s) for i, s in fused[:k]]


def _with_score(hit: Hit, score: float) -> Hit:
    return replace(hit, score=round(score, 6))


def open_retriever(settings: Settings, embedder: Embedder) -> Retriever:
    return Retriever(Store(settings, embedder.model_id, embedder.dimension), embedder, settings)
