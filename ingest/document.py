"""Typed values passed between the ingest stages (read → clean → structure → metadata → chunks)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Readers write a table row as one line with its cells joined by CELL_SEP (empty cells kept, so a row
# such as "十、节能环保支出 | " still reads as a row). Structure and chunking never split or promote rows.
CELL_SEP = " | "
_TABLE_ROW = re.compile(r"(?:^|\s)\|(?:\s|$)")


def is_table_row(line: str) -> bool:
    return bool(_TABLE_ROW.search(line))


class IngestError(Exception):
    """A document that cannot be ingested; the message names the file and the reason in Chinese.

    Raised by every ingest stage for bad input so that callers (CLI, API) can report it and carry on
    with the rest of a batch. Anything else escaping an ingest stage is a bug.
    """

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


class UnsupportedFormatError(IngestError):
    """The file is of a type we do not read (or its content is not what its name claims): HTTP 415."""


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
