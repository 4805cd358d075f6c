"""The per-process view of stored findings: categorised, filtered, counted; in step with the catalogue.

Findings are read from the store once per committed document (keyed by doc_id and ingest time, so a rewrite
of the same content with new metadata is read again) and dropped when their document leaves the catalogue;
only findings of committed documents are ever visible, whatever a crashed ingest left behind. Categories are
assigned here, at read time, from the sentence vectors stored at ingest: a custom taxonomy (QA_TAXONOMY)
applies to everything already stored, without re-ingest, at the cost of one matrix product per new document.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import numpy as np

from qa.findings.model import Finding, group_rows, in_order
from qa.lexical import tokenize
from qa.findings.taxonomy import Categorizer
from qa.retrieve import Filters, Retriever
from qa.store import ChunkRow, DocRecord

STATS_BY = ("category", "year", "region", "unit")


@dataclass(frozen=True)
class FindingFilter:
    category: str | None = None
    role: str | None = None  # problem | measure
    year: int | None = None
    region: str | None = None
    unit: str | None = None

    def admits(self, f: Finding, record: DocRecord) -> bool:
        return self.admits_content(f) and Filters(year=self.year, region=self.region, unit=self.unit).admits(record)

    def admits_content(self, f: Finding) -> bool:
        """The finding's own fields (role, category), whatever its document."""
        return (self.role is None or f.role == self.role) and (self.category is None or self.category in f.category_names())


@dataclass
class _View:
    """All findings of the committed documents, in catalogue order, with one row per finding sentence: its
    vector, the finding it belongs to, and (`postings`) the rows containing each jieba token, so an aggregate
    question scores every row with array operations instead of a Python loop."""

    findings: list[Finding] = field(default_factory=list)
    vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 1), dtype=np.float32))
    row_finding: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    row_doc: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # a code per document
    postings: dict[str, np.ndarray] = field(default_factory=dict)
    key: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class UnitCount:
    unit: str
    doc_id: str
    source: str
    year: int | None
    finding_ids: tuple[str, ...]


@dataclass(frozen=True)
class Group:
    key: str
    findings: int
    units: tuple[UnitCount, ...]


class FindingsIndex:
    def __init__(self, retriever: Retriever, categorizer: Categorizer) -> None:
        self.retriever = retriever
        self.categorizer = categorizer
        self._lock = threading.Lock()
        # Per committed document: its findings (rows numbered from 0 within the document), their sentence
        # vectors and each sentence's tokens (jieba once per sentence and process, not per aggregate question:
        # 4.5 of 10 s at 10k chunks before). Not the stored rows themselves: at 100k chunks their metadata
        # dicts were most of the view's 1.1 GB and 1.1 M objects (a full GC pass 0.6 s, in the middle of asks).
        self._per_doc: dict[tuple[str, float], tuple[list[Finding], np.ndarray, list[tuple[str, ...]]]] = {}
        self._view = _View()

    # --- loading -------------------------------------------------------------------------------------------

    def view(self) -> _View:
        catalogue = self.retriever.catalogue()
        key = tuple((d, r.ingested_at) for d, r in catalogue.items())
        if key == self._view.key:
            return self._view
        with self._lock:
            if key != self._view.key:
                self._view = self._build(catalogue, key)
            return self._view

    def _build(self, catalogue: dict[str, DocRecord], key: tuple[tuple[str, float], ...]) -> _View:
        missing = [d for d, at in key if (d, at) not in self._per_doc]
        if missing:
            rows, vectors = self.retriever.store.finding_rows(missing)
            by_doc: dict[str, list[int]] = {}
            for i, row in enumerate(rows):
                by_doc.setdefault(str(row.metadata["doc_id"]), []).append(i)
            for d in missing:
                picked = by_doc.get(d, [])
                doc_rows, doc_vectors = in_order([rows[i] for i in picked], vectors[picked] if picked else vectors[:0])
                tokens = [tuple(sys.intern(t) for t in set(tokenize(r.text))) for r in doc_rows]
                self._per_doc[(d, catalogue[d].ingested_at)] = (group_rows(doc_rows, doc_vectors, self.categorizer), doc_vectors, tokens)
        live = set(key)
        for stale in [k for k in self._per_doc if k not in live]:
            del self._per_doc[stale]
        findings: list[Finding] = []
        blocks: list[np.ndarray] = []
        postings: dict[str, list[int]] = {}
        offset = 0
        for k in key:
            doc_findings, vectors, row_tokens = self._per_doc[k]
            if not doc_findings:
                continue
            findings += [replace(f, first_row=f.first_row + offset) for f in doc_findings]
            blocks.append(vectors)
            for i, tokens in enumerate(row_tokens, start=offset):
                for t in tokens:
                    postings.setdefault(t, []).append(i)
            offset += len(vectors)
        stacked = np.concatenate(blocks) if blocks else np.zeros((0, self.retriever.embedder.dimension), dtype=np.float32)
        sizes = [len(f.sentences) for f in findings]
        row_finding = np.repeat(np.arange(len(findings)), sizes)
        codes = {d: i for i, (d, _) in enumerate(key)}
        row_doc = np.repeat(np.asarray([codes[f.doc_id] for f in findings], dtype=np.int64), sizes)
        return _View(findings, stacked, row_finding, row_doc, {t: np.asarray(r, dtype=np.int64) for t, r in postings.items()}, key)

    # --- queries -------------------------------------------------------------------------------------------

    def select(self, flt: FindingFilter) -> list[Finding]:
        catalogue = self.retriever.catalogue()
        return [f for f in self.view().findings if f.doc_id in catalogue and flt.admits(f, catalogue[f.doc_id])]

    def stats(self, by: str, flt: FindingFilter) -> list[Group]:
        """Findings grouped by a field, each group with the units (documents) behind it; biggest first.
        by=category counts a finding once under each of its categories."""
        groups: dict[str, dict[str, list[Finding]]] = {}
        for f in self.select(flt):
            for key in self._keys(by, f):
                if flt.category is not None and by == "category" and key != flt.category:
                    continue
                groups.setdefault(key, {}).setdefault(f.doc_id, []).append(f)
        out = [
            Group(key, sum(len(v) for v in docs.values()), tuple(UnitCount(fs[0].display_unit, d, fs[0].source, fs[0].year, tuple(x.finding_id for x in fs)) for d, fs in docs.items()))
            for key, docs in groups.items()
        ]
        order = {n: i for i, n in enumerate(self.categorizer.taxonomy.names)}
        return sorted(out, key=lambda g: (-len({u.unit for u in g.units}), -g.findings, order.get(g.key, len(order)), g.key))

    @staticmethod
    def _keys(by: str, f: Finding) -> Iterable[str]:
        if by == "category":
            return f.category_names()
        if by == "year":
            return ["未知" if f.year is None else str(f.year)]
        if by == "region":
            return [f.region or "未知"]
        return [f.display_unit]
