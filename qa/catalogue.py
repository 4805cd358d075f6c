"""The library as a table: filter, search, sort and page the catalogue of committed documents.

Runs on the per-process catalogue (Retriever.catalogue(), refreshed from the store's change token), so a page
of a 10,000-document library is one pass over 10,000 records in memory — no store read per request. The
console's table and any script use it through GET /v1/documents with paging parameters.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import Literal

from ingest.schema import DocFields, DocRecord

SortField = Literal["ingested_at", "unit", "region", "year", "report_kind", "source", "title", "n_chunks", "n_findings"]
SORT_FIELDS: tuple[str, ...] = SortField.__args__  # type: ignore[attr-defined]
Missing = Literal["unit", "region", "year"]
_DOC_FIELDS = {f.name for f in fields(DocFields)}


@dataclass(frozen=True)
class DocQuery:
    offset: int = 0
    limit: int = 50
    sort: SortField = "ingested_at"
    order: Literal["asc", "desc"] = "desc"
    unit: str | None = None  # part of the unit name
    region: str | None = None  # part of the region, or a region containing it (益阳市 ↔ 益阳市赫山区)
    year: int | None = None
    kind: str | None = None
    q: str | None = None  # text in the unit, title or file name
    missing: Missing | None = None  # only documents where this field was left empty (to correct them)

    def admits(self, r: DocRecord) -> bool:
        d = r.doc
        if self.unit and self.unit not in d.unit:
            return False
        if self.region and not (self.region in d.region or (d.region and d.region in self.region)):
            return False
        if self.year is not None and d.year != self.year:
            return False
        if self.kind and d.report_kind != self.kind:
            return False
        if (self.missing == "year" and d.year is not None) or (
            self.missing in ("unit", "region") and getattr(d, self.missing)
        ):
            return False
        if self.q:
            needle = self.q.casefold()
            return any(needle in v.casefold() for v in (d.unit, d.title, d.source))
        return True


@dataclass(frozen=True)
class Page:
    total: int
    items: list[DocRecord]


def _value(r: DocRecord, field: str) -> object:
    if field == "n_findings":
        return None if r.n_findings < 0 else r.n_findings  # -1: extracted before findings existed (unknown)
    return getattr(r.doc, field) if field in _DOC_FIELDS else getattr(r, field)


def select_page(records: Iterable[DocRecord], query: DocQuery) -> Page:
    """The documents `query` admits, sorted (empty values last in either order; ties by ingest time, then
    doc_id, so pages never overlap), and the requested slice of them."""
    found = [r for r in records if query.admits(r)]
    empty = [r for r in found if _value(r, query.sort) in (None, "")]
    full = [r for r in found if _value(r, query.sort) not in (None, "")]
    full.sort(key=lambda r: (r.ingested_at, r.doc.doc_id), reverse=query.order == "desc")
    full.sort(key=lambda r: _value(r, query.sort), reverse=query.order == "desc")  # type: ignore[arg-type, return-value]
    empty.sort(key=lambda r: (r.ingested_at, r.doc.doc_id), reverse=query.order == "desc")
    ordered = full + empty
    return Page(len(ordered), ordered[query.offset : query.offset + query.limit])
