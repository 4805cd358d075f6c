"""Typed values passed between the ingest stages (read → clean → structure → metadata → chunks)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ingest.text import CELL_SEP as CELL_SEP  # where readers and tests have always imported them from
from ingest.text import is_table_row as is_table_row

if TYPE_CHECKING:
    from qa.settings import Settings


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


class TooLargeError(IngestError):
    """The file would unpack or parse into more than the configured limits (zip bomb, absurd page count):
    refused before the work is done. HTTP 413."""

    kind = "too_large"


@dataclass(frozen=True)
class ReadLimits:
    """What a reader refuses to unpack or parse; the values come from qa.settings (QA_MAX_*)."""

    max_decompressed_bytes: int
    max_compression_ratio: float
    max_pdf_pages: int

    @classmethod
    def of(cls, settings: Settings) -> ReadLimits:
        return cls(
            max_decompressed_bytes=int(settings.max_decompressed_mb * 1024 * 1024),
            max_compression_ratio=settings.max_compression_ratio,
            max_pdf_pages=settings.max_pdf_pages,
        )

    @classmethod
    def configured(cls) -> ReadLimits:
        """The limits of the process's settings (environment), for callers that pass none."""
        from qa.settings import get_settings

        return cls.of(get_settings())


@dataclass(frozen=True)
class HeadingHint:
    """A heading the file format marks explicitly (docx heading style, markdown #, html <h1>…<h6>)."""

    text: str
    level: int


@dataclass(frozen=True)
class RawDocument:
    """Text extracted from one file, before cleanup. Paragraphs are separated by '\\n'."""

    source: str
    text: str
    fmt: str  # "txt" | "docx" | "pdf" | "md" | "html"
    heading_hints: tuple[HeadingHint, ...] = field(default_factory=tuple)
