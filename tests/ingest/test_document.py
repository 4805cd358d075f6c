"""Values between the ingest stages (ingest.document): errors that name the file and carry a stable kind, a table
row's position as its chunk stores it and read back, the shipped read limits."""

from __future__ import annotations

from ingest.document import MB, IngestError, ReadLimits, TablePosition, TooLargeError, UnsupportedFormatError
from ingest.schema import ChunkMeta, DocFields

DOC = DocFields("d", "a.pdf", "t", "", "", None, "其他")


def test_errors_name_the_file_and_their_kind() -> None:
    error = IngestError("a.txt", "文件为空")
    assert (str(error), error.source, error.reason, error.kind) == ("a.txt: 文件为空", "a.txt", "文件为空", "invalid")
    assert (UnsupportedFormatError("a", "b").kind, TooLargeError("a", "b").kind) == ("unsupported", "too_large")
    assert isinstance(UnsupportedFormatError("a", "b"), IngestError) and isinstance(
        TooLargeError("a", "b"), IngestError
    )


def test_a_table_position_round_trips_through_its_chunk_fields() -> None:
    position = TablePosition(0, 2, 1, 3, 17, (600.04, 100.0, 745.26, 120.5))
    fields = position.chunk_fields()
    assert fields == {
        "table": 0,
        "table_row": 2,
        "col_start": 1,
        "col_end": 3,
        "page": 17,
        "bbox": "600.0,100.0,745.3,120.5",
    }
    read = TablePosition.from_chunk(ChunkMeta(DOC, "", "funds", 0, 10, 1, **fields))  # type: ignore[arg-type]
    assert read == TablePosition(0, 2, 1, 3, 17, (600.0, 100.0, 745.3, 120.5))  # the box to a tenth of a point


def test_a_position_without_page_or_box_and_a_chunk_of_text() -> None:
    position = TablePosition(1, 0, 0, 2)  # a docx or spreadsheet table: no page, no box
    assert position.chunk_fields() == {"table": 1, "table_row": 0, "col_start": 0, "col_end": 2}
    assert TablePosition.from_chunk(ChunkMeta(DOC, "", "", 0, 1, 0, **position.chunk_fields())) == position  # type: ignore[arg-type]
    assert TablePosition.from_chunk(ChunkMeta(DOC, "一、问题", "problems", 0, 10, 1)) is None


def test_the_shipped_read_limits() -> None:
    limits = ReadLimits()
    assert (limits.max_decompressed_bytes, limits.max_compression_ratio, limits.max_pdf_pages) == (
        200 * MB,
        100.0,
        2000,
    )
    assert (limits.max_ocr_pages, limits.ocr_timeout, limits.max_image_pixels, limits.max_sheet_rows) == (
        100,
        600.0,
        100_000_000,
        200_000,
    )
