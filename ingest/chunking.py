"""Chunks that stay inside one section and break only between sentences, list items or table rows.

A chunk's text is always the exact span `text[char_start:char_end]` of the cleaned document, so a citation
can be highlighted in the source viewer. What gets embedded and lexically indexed is that text with the unit
(or title) and the heading path in front (`index_text`), because a passage such as "预算编制不够细化。"
only means something together with who wrote it and under which heading.

>>> from ingest.structure import parse_structure
>>> doc = "报告\\n一、存在的问题\\n1、预算编制不够细化。\\n2、缺乏专业人才。"
>>> [(c.section, c.text) for c in chunk_document(doc, parse_structure(doc), size=200, overlap=0)]
[('一、存在的问题', '报告\\n一、存在的问题\\n1、预算编制不够细化。\\n2、缺乏专业人才。')]
"""

from __future__ import annotations

from dataclasses import dataclass

from ingest.schema import SectionRole
from ingest.structure import DocStructure, Node
from ingest.text import index_text as index_text
from ingest.text import is_record_row, text_units
from ingest.text import sentence_spans as sentence_spans


@dataclass(frozen=True)
class Chunk:
    text: str
    char_start: int
    char_end: int
    section: str
    section_role: SectionRole
    chunk_index: int


def _groups(structure: DocStructure) -> list[list[Node]]:
    """Nodes grouped under each title/preamble/heading; items travel with the heading above them."""
    groups: list[list[Node]] = []
    for node in structure.nodes:
        if node.kind == "item" and groups:
            groups[-1].append(node)
        else:
            groups.append([node])
    return groups


def chunk_document(text: str, structure: DocStructure, *, size: int, overlap: int) -> list[Chunk]:
    chunks: list[Chunk] = []
    carry_start: int | None = None  # start of a short group merged into the next one
    groups = _groups(structure)
    for n, group in enumerate(groups):
        head = group[0]
        start = head.start if carry_start is None else carry_start
        end = group[-1].end
        # The title and a bare heading line ("一、部门、单位基本情况" right before its （一）) joins the next group, whose
        # path already names it; a short section with a body ("本单位无政府性基金预算支出。") stays alone.
        bare = head.kind == "title" or (len(group) == 1 and "\n" not in text[head.start : end])
        if bare and n + 1 < len(groups):
            carry_start = start
            continue
        carry_start = None
        section = head.section
        role: SectionRole = head.role
        units = text_units(text, start, end, size)
        # A table's record line is a chunk of its own: retrievable and citable alone (ingest.tables).
        record = [is_record_row(text[s:e]) for s, e in units]
        i = 0
        while i < len(units):
            j = i
            while not record[i] and j + 1 < len(units) and not record[j + 1] and units[j + 1][1] - units[i][0] <= size:
                j += 1
            s, e = units[i][0], units[j][1]
            chunks.append(Chunk(text[s:e], s, e, section, role, len(chunks)))
            if j + 1 >= len(units):
                break
            # Repeat the last `overlap` units, but always move forward.
            i = max(j + 1 - overlap, i + 1)
    return chunks
