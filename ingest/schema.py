"""The document / chunk contract, defined once for every layer (ingest, store, retrieval, answers, API).

- `DocFields`: the fields that identify and describe a document. `DocRecord`, a retrieved chunk (`qa.retrieve.Hit`)
  and a stored finding (`qa.findings.Finding`) carry them as one value (`hit.doc.unit`).
- `DocRecord`: a committed document's record (its fields plus how it was stored).
- `ChunkMeta` / `FindingRowMeta`: the metadata of a chunk row and of a finding-sentence row, typed, with their exact
  Chroma form (`to_metadata` / `from_metadata`). Chroma metadata cannot hold None: "no year" is stored as -1.
- `ChunkRow`: a row as the store writes and returns it (id, text, Chroma metadata).
- Row ids: `chunk_id` / `doc_of` / `index_of`, `finding_id` / `finding_row_id`; `doc_id_of` (a document's id is the
  hash of its cleaned text, so the same content is the same document).
- Section roles, finding roles and report kinds.

What this module writes is the stored format: existing stores read it back, so keys and values only ever grow
(see ChunkMeta for adding a field).

>>> doc = DocFields("d1", "a.txt", "标题", "某局", "某市", None, "其他")
>>> meta = ChunkMeta(doc, "一、问题", "problems", 0, 10, 3)
>>> meta.to_metadata()["year"], ChunkMeta.from_metadata(meta.to_metadata()) == meta
(-1, True)
>>> sorted(set(meta.to_metadata()) - set(doc.to_metadata()))  # a chunk of text: no position fields written
['char_end', 'char_start', 'chunk_index', 'section', 'section_role']
>>> row = ChunkMeta(doc, "", "funds", 10, 40, 4, page=3, table=0, table_row=2, col_start=0, col_end=3)
>>> row.position, ChunkMeta.from_metadata(row.to_metadata()) == row
({'page': 3, 'table': 0, 'table_row': 2, 'col_start': 0, 'col_end': 3}, True)
>>> chunk_id("d1", 3), doc_of(chunk_id("d1", 3)), index_of(chunk_id("d1", 3))
('d1-00003', 'd1', 3)
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, ClassVar, Literal, get_args

SectionRole = Literal["problems", "measures", "performance", "funds", "overview", "other"]
SECTION_ROLES: tuple[SectionRole, ...] = get_args(SectionRole)
FindingRole = Literal["problem", "measure"]
FINDING_ROLES: tuple[FindingRole, ...] = get_args(FindingRole)
# The sections findings are extracted from, and the role their findings have.
FINDING_ROLE_OF_SECTION: dict[str, FindingRole] = {"problems": "problem", "measures": "measure"}
SECTION_ROLE_OF_FINDING: dict[str, SectionRole] = {"problem": "problems", "measure": "measures"}
ReportKind = Literal["部门整体支出", "项目支出", "部门决算", "其他"]
REPORT_KINDS: tuple[ReportKind, ...] = get_args(ReportKind)
DEFAULT_REPORT_KIND: ReportKind = "其他"
NO_YEAR = -1  # how "year unknown" is stored (Chroma metadata values cannot be None)

Metadata = dict[str, Any]


def doc_id_of(text: str) -> str:
    """A document's id: the hash of its cleaned text (the same content is the same document, whatever its file)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def chunk_id(doc_id: str, index: int) -> str:
    return f"{doc_id}-{index:05d}"


def doc_of(chunk: str) -> str:
    """The document of a chunk id (`chunk_id`)."""
    return chunk.rsplit("-", 1)[0]


def index_of(chunk: str) -> int:
    """The position of a chunk in its document, from its id (`chunk_id`)."""
    return int(chunk.rsplit("-", 1)[1])


def finding_id(doc_id: str, index: int) -> str:
    return f"{doc_id}-f{index:03d}"


def finding_row_id(finding: str, sentence: int) -> str:
    """The row of one sentence of a finding (what is embedded and scored)."""
    return f"{finding}-{sentence:02d}"


def metadata_year(meta: Mapping[str, Any]) -> int | None:
    """The year of a document, chunk or finding row from its stored metadata (NO_YEAR → None)."""
    year = meta.get("year", NO_YEAR)
    return None if year is None or int(year) < 0 else int(year)


@dataclass(frozen=True)
class DocFields:
    """What identifies and describes a document; every chunk and finding row stores these too."""

    doc_id: str
    source: str  # the file name it was ingested from (a label, never a path)
    title: str
    unit: str  # the organisation; "" when the report names none
    region: str
    year: int | None
    report_kind: str

    @property
    def display_unit(self) -> str:
        """The unit, or the file name when the report names none (as answers and findings show it)."""
        return self.unit or self.source

    def to_metadata(self) -> Metadata:
        return {
            "doc_id": self.doc_id,
            "source": self.source,
            "title": self.title,
            "unit": self.unit,
            "region": self.region,
            "year": NO_YEAR if self.year is None else self.year,
            "report_kind": self.report_kind,
        }

    @classmethod
    def from_metadata(cls, meta: Mapping[str, Any], doc_id: str | None = None) -> DocFields:
        """`doc_id`: the id the row is stored under, when it is the document's own (document records)."""
        return cls(
            doc_id=str(meta.get("doc_id", "")) if doc_id is None else doc_id,
            source=str(meta.get("source", "")),
            title=str(meta.get("title", "")),
            unit=str(meta.get("unit", "")),
            region=str(meta.get("region", "")),
            year=metadata_year(meta),
            report_kind=str(meta.get("report_kind", DEFAULT_REPORT_KIND)),
        )

    def as_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (year None when unknown), in declaration order."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class DocRecord:
    """A committed document: its fields and how it was stored (the record is the commit marker: qa.store)."""

    doc: DocFields
    fmt: str
    n_chunks: int
    ingested_at: float
    # Findings extracted at ingest; -1 for a record written before findings existed (re-ingesting the file
    # then rewrites it).
    n_findings: int = -1

    def metadata(self) -> Metadata:
        return {
            **self.doc.to_metadata(),
            "fmt": self.fmt,
            "n_chunks": self.n_chunks,
            "ingested_at": self.ingested_at,
            "n_findings": self.n_findings,
        }

    @classmethod
    def from_metadata(cls, doc_id: str, meta: Mapping[str, Any]) -> DocRecord:
        return cls(
            doc=DocFields.from_metadata(meta, doc_id),
            fmt=str(meta.get("fmt", "")),
            n_chunks=int(meta.get("n_chunks", 0)),
            ingested_at=float(meta.get("ingested_at", 0.0)),
            n_findings=int(meta.get("n_findings", -1)),
        )

    def as_dict(self) -> dict[str, Any]:
        """Flat, as `qa docs list --json` prints it."""
        return {
            **self.doc.as_dict(),
            "fmt": self.fmt,
            "n_chunks": self.n_chunks,
            "ingested_at": self.ingested_at,
            "n_findings": self.n_findings,
        }


# Where a table's record line sits in its file (optional ChunkMeta fields; ingest.document.TablePosition).
POSITION_FIELDS = ("page", "table", "table_row", "col_start", "col_end", "bbox")


@dataclass(frozen=True)
class ChunkMeta:
    """The metadata every chunk row carries: its document's fields and where it sits in the document.

    Adding a field is additive: declare it after `chunk_index` with a default of None (e.g. `page: int | None =
    None` for a table row's page). `to_metadata` writes such a field only when it is set and `from_metadata` reads
    it only when present, so rows written before it existed (and rows that do not have it) stay byte-identical.
    Values must be str, int, float or bool (what Chroma stores)."""

    doc: DocFields
    section: str  # heading path, " > "-joined
    section_role: str  # a SectionRole
    char_start: int  # the chunk's text is document_text[char_start:char_end]
    char_end: int
    chunk_index: int
    # A table's record line (ingest.tables) says where its cells are, for the citation viewer: POSITION_FIELDS.
    page: int | None = None  # from 1; PDFs only
    table: int | None = None  # the document's tables counted from 0 (a table continued over pages is one)
    table_row: int | None = None  # row within the grid it was read from, header rows included
    col_start: int | None = None
    col_end: int | None = None  # exclusive
    bbox: str | None = None  # the cells' box "x0,top,x1,bottom" (PDF points, origin top left)
    _CORE: ClassVar[int] = 6  # fields above: always written

    def to_metadata(self) -> Metadata:
        meta = {
            **self.doc.to_metadata(),
            "section": self.section,
            "section_role": self.section_role,
            "char_start": self.char_start,
            "char_end": self.char_end,
            "chunk_index": self.chunk_index,
        }
        return _with_optional(self, meta)

    @property
    def position(self) -> dict[str, int | str] | None:
        """The table position fields that are set; None for a chunk of text."""
        found = {k: v for k in POSITION_FIELDS if (v := getattr(self, k)) is not None}
        return found or None

    @classmethod
    def from_metadata(cls, meta: Mapping[str, Any]) -> ChunkMeta:
        return cls(
            DocFields.from_metadata(meta),
            section=str(meta.get("section", "")),
            section_role=str(meta.get("section_role", "")),
            char_start=int(meta.get("char_start", 0)),
            char_end=int(meta.get("char_end", 0)),
            chunk_index=int(meta.get("chunk_index", 0)),
            **_optional_of(cls, meta),
        )


@dataclass(frozen=True)
class FindingRowMeta:
    """The metadata of one finding-sentence row (ingest.findings): the whole finding travels with each of its
    sentences, so a reader rebuilds findings from rows alone. `row` numbers the document's rows, so a rewrite of the
    same document can drop the rows it no longer has. Optional fields as in ChunkMeta."""

    doc: DocFields
    finding_id: str
    finding_index: int
    sentence_index: int
    row: int
    role: str  # a FindingRole
    section: str
    lead: str
    finding_text: str
    finding_start: int
    finding_end: int
    char_start: int  # this sentence's span in the document
    char_end: int
    _CORE: ClassVar[int] = 13

    def to_metadata(self) -> Metadata:
        meta = {
            **self.doc.to_metadata(),
            "finding_id": self.finding_id,
            "finding_index": self.finding_index,
            "sentence_index": self.sentence_index,
            "row": self.row,
            "role": self.role,
            "section": self.section,
            "lead": self.lead,
            "finding_text": self.finding_text,
            "finding_start": self.finding_start,
            "finding_end": self.finding_end,
            "char_start": self.char_start,
            "char_end": self.char_end,
        }
        return _with_optional(self, meta)

    @staticmethod
    def same_finding(meta: Mapping[str, Any], of: FindingRowMeta) -> bool:
        """Whether a stored row is a sentence of the finding `of` (rows of one finding are read together)."""
        return bool(meta["finding_id"] == of.finding_id)

    @classmethod
    def from_metadata(cls, meta: Mapping[str, Any]) -> FindingRowMeta:
        return cls(
            DocFields.from_metadata(meta),
            finding_id=str(meta["finding_id"]),
            finding_index=int(meta["finding_index"]),
            sentence_index=int(meta["sentence_index"]),
            row=int(meta.get("row", 0)),
            role=str(meta["role"]),
            section=str(meta.get("section", "")),
            lead=str(meta.get("lead", "")),
            finding_text=str(meta["finding_text"]),
            finding_start=int(meta["finding_start"]),
            finding_end=int(meta["finding_end"]),
            char_start=int(meta["char_start"]),
            char_end=int(meta["char_end"]),
            **_optional_of(cls, meta),
        )


def _with_optional(value: ChunkMeta | FindingRowMeta, meta: Metadata) -> Metadata:
    for f in fields(value)[value._CORE :]:
        v = getattr(value, f.name)
        if v is not None:
            meta[f.name] = v
    return meta


def _optional_of(cls: type[ChunkMeta] | type[FindingRowMeta], meta: Mapping[str, Any]) -> dict[str, Any]:
    return {f.name: meta[f.name] for f in fields(cls)[cls._CORE :] if f.name in meta}


def row_doc(meta: Mapping[str, Any]) -> str:
    """The document a stored chunk or finding row belongs to."""
    return str(meta.get("doc_id", ""))


def finding_row_order(meta: Mapping[str, Any]) -> tuple[str, int, int]:
    """Where a finding-sentence row sits: (document, finding, sentence)."""
    return str(meta["doc_id"]), int(meta["finding_index"]), int(meta["sentence_index"])


def finding_row_span(meta: Mapping[str, Any]) -> tuple[int, int]:
    """The document span of a finding-sentence row's own sentence."""
    return int(meta["char_start"]), int(meta["char_end"])


# A lead that only announces problems ("经自评，主要存在以下问题", "对照评价指标，项目实施中还存在一些不足") says nothing about
# what they are; only a lead naming a subject ("绩效指标设置方面", "1、部分项目管理不够规范") is context.
_ANNOUNCING_LEAD = re.compile(r"存在|以下|如下|表现在|主要有|几个方面|问题|不足")


def announces(lead: str) -> bool:
    """Whether a lead only announces what follows (see `_ANNOUNCING_LEAD`)."""
    return bool(_ANNOUNCING_LEAD.search(lead))


def finding_row_text(text: str, meta: Mapping[str, Any]) -> str:
    """What a finding-sentence row is judged by (embedded at ingest, matched against category keywords): the sentence
    with the lead it stands under when that lead names a subject ("绩效指标设置方面：二是效益指标与项目内容关联度不高"),
    which a bare sub-item leaves implicit. The row's own text stays the exact document span it cites. Only the
    finding's first sentence takes the lead: the item it heads; what follows in the same finding may be another
    statement ("…二是效益指标与项目内容关联度不高。“三公”经费控制不够严格。" read as a 绩效指标 statement twice)."""
    lead = str(meta.get("lead") or "")
    first = int(meta.get("sentence_index") or 0) == 0
    return f"{lead}：{text}" if lead and first and not announces(lead) else text


def with_doc(meta: Mapping[str, Any], doc: DocFields) -> Metadata:
    """Stored metadata of a chunk or finding row with its document's fields replaced (a metadata edit); every other
    key kept as it is."""
    return {**meta, **doc.to_metadata()}


@dataclass(frozen=True)
class ChunkRow:
    """A row as the store writes and returns it: chunks (metadata: ChunkMeta) and finding sentences
    (FindingRowMeta) alike."""

    id: str
    text: str
    metadata: Metadata
