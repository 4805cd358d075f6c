"""A stored document as the parser saw it: its chunks in order and its heading tree.

The heading tree is parsed again from the stored cleaned text (as `qa reindex` does). Headings a file format
marked by style alone (a docx heading style, markdown #, html <h2>) carry no numbering, so the parse is told
about them the way ingest was: every heading title in the stored chunks' section paths that is a line of the
text is passed back as a heading hint. The result is the tree the chunks were labelled with.
"""

from __future__ import annotations

from dataclasses import dataclass

from ingest.document import HeadingHint
from ingest.schema import ChunkMeta, ChunkRow
from ingest.structure import parse_structure

SECTION_SEP = " > "  # ingest.structure.Node.section joins a heading path with it


@dataclass(frozen=True)
class ChunkView:
    chunk_id: str
    chunk_index: int
    section: str
    section_role: str
    char_start: int
    char_end: int
    text: str


@dataclass(frozen=True)
class SectionView:
    title: str
    depth: int  # 0 for a top-level heading, 1 for one below it, …
    level: int  # the numbering level the parser recognised (0 第X部分, 1 一、, 2 （一）, 3 1. …)
    path: tuple[str, ...]
    role: str
    char_start: int
    char_end: int  # where the next heading at the same or a higher level starts (its subsections included)
    chunks: int  # chunks labelled with exactly this section


def chunk_view(row: ChunkRow) -> ChunkView:
    m = ChunkMeta.from_metadata(row.metadata)
    return ChunkView(row.id, m.chunk_index, m.section, m.section_role, m.char_start, m.char_end, row.text)


def chunk_views(rows: list[ChunkRow]) -> list[ChunkView]:
    return sorted(map(chunk_view, rows), key=lambda c: c.chunk_index)


def sections(text: str, chunks: list[ChunkView]) -> list[SectionView]:
    lines = {line.strip() for line in text.split("\n") if line.strip()}
    hints: dict[str, int] = {}
    for c in chunks:
        for depth, title in enumerate(c.section.split(SECTION_SEP) if c.section else []):
            if title in lines:
                hints.setdefault(title, depth + 1)
    structure = parse_structure(text, tuple(HeadingHint(t, level) for t, level in hints.items()))
    headings = structure.headings()
    per_section: dict[str, int] = {}
    for c in chunks:
        per_section[c.section] = per_section.get(c.section, 0) + 1
    out: list[SectionView] = []
    for i, h in enumerate(headings):
        depth = len(h.path) - 1
        end = next((n.start for n in headings[i + 1 :] if len(n.path) - 1 <= depth), len(text))
        out.append(SectionView(h.title, depth, h.level, h.path, h.role, h.start, end, per_section.get(h.section, 0)))
    return out
