"""Typed values passed between the ingest stages (read → clean → structure → metadata → chunks)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ingest.text import CELL_SEP as CELL_SEP  # where readers and tests have always imported them from
from ingest.text import is_table_row as is_table_row

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
