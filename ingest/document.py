"""Typed values passed between the ingest stages (read → clean → structure → metadata → chunks)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypedDict

from ingest.text import CELL_SEP as CELL_SEP  # where readers and tests have always imported them from
from ingest.text import is_table_row as is_table_row

if TYPE_CHECKING:
    from ingest.schema import ChunkMeta

MB = 1024 * 1024


class IngestError(Exception):
    """A document that cannot be ingested; the message names the file and the reason in Chinese.

    Raised by every ingest stage for bad input so that callers (CLI, API) can report it and carry on
    with the rest of a batch. Anything else escaping an ingest stage is a bug.
    """

    kind = "invalid"  # a short stable label (metrics); subclasses name their own

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


class UnsupportedFormatError(IngestError):
    """The file is of a type we do not read (or its content is not what its name claims): HTTP 415."""

    kind = "unsupported"


# Progress of a long read (OCR): pages done, pages to do.
Progress = Callable[[int, int], None]


class TooLargeError(IngestError):
    """The file would unpack or parse into more than the configured limits (zip bomb, absurd page count):
    refused before the work is done. HTTP 413."""

    kind = "too_large"


@dataclass(frozen=True)
class ReadLimits:
    """What a reader refuses to unpack or parse. The defaults are the shipped ones (qa.settings takes its
    QA_MAX_* defaults from here); a service passes its configured limits (`Settings.read_limits()`)."""

    max_decompressed_bytes: int = 200 * MB
    max_compression_ratio: float = 100.0
    max_pdf_pages: int = 2000
    max_ocr_pages: int = 100  # pages of one file read by OCR (scanned PDF pages, image frames)
    ocr_timeout: float = 600.0  # seconds of OCR for one file
    max_image_pixels: int = 100_000_000  # an image's declared width × height (decompression bombs)
    max_sheet_rows: int = 200_000  # non-empty rows of all the sheets of a spreadsheet


@dataclass(frozen=True)
class HeadingHint:
    """A heading the file format marks explicitly (docx heading style, markdown #, html <h1>…<h6>)."""

    text: str
    level: int


Box = tuple[float, float, float, float]  # x0, top, x1, bottom (PDF points, origin top left)


class ChunkPositionFields(TypedDict, total=False):
    """A table position as the optional fields of its chunk (`TablePosition.chunk_fields`, ingest.schema.ChunkMeta)."""

    page: int
    table: int
    table_row: int
    col_start: int
    col_end: int
    bbox: str


@dataclass(frozen=True)
class TablePosition:
    """Where a record line's cells are: for the citation viewer. `table` counts the document's tables from 0
    (a table continued over pages keeps its number); `row` is the row within the grid it was read from."""

    table: int
    row: int
    col_start: int
    col_end: int  # exclusive
    page: int | None = None
    bbox: Box | None = None

    @classmethod
    def from_chunk(cls, meta: ChunkMeta) -> TablePosition | None:
        """The position a stored chunk carries (`chunk_fields` read back), or None for a chunk of text."""
        if meta.table is None:
            return None
        box = tuple(float(v) for v in meta.bbox.split(",")) if meta.bbox else ()
        return cls(
            meta.table,
            meta.table_row or 0,
            meta.col_start or 0,
            meta.col_end or 0,
            meta.page,
            (box[0], box[1], box[2], box[3]) if len(box) == 4 else None,
        )

    def chunk_fields(self) -> ChunkPositionFields:
        """The position as the optional fields of its chunk (ingest.schema.ChunkMeta: page, table, table_row,
        col_start, col_end, bbox); Chroma takes scalars only, so the box is "x0,top,x1,bottom"."""
        found: ChunkPositionFields = {
            "table": self.table,
            "table_row": self.row,
            "col_start": self.col_start,
            "col_end": self.col_end,
        }
        if self.page is not None:
            found["page"] = self.page
        if self.bbox is not None:
            found["bbox"] = ",".join(f"{v:.1f}" for v in self.bbox)
        return found


@dataclass(frozen=True)
class RecordSpan:
    """A table's record line in the raw text (text[start:end]) and where its cells are in the file."""

    start: int
    end: int
    position: TablePosition


@dataclass(frozen=True)
class RawDocument:
    """Text extracted from one file, before cleanup. Paragraphs are separated by '\\n'."""

    source: str
    text: str
    fmt: str  # "txt" | "docx" | "pdf" | "md" | "html" | "image" | "xlsx" | "xls" | "csv"
    heading_hints: tuple[HeadingHint, ...] = field(default_factory=tuple)
    records: tuple[RecordSpan, ...] = ()  # table record lines with their cell positions (ingest.tables)
    ocr_pages: int = 0  # pages (or images) read by OCR
    ocr_seconds: float = 0.0
