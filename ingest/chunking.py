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

import re
from dataclasses import dataclass

from ingest.document import is_table_row
from ingest.structure import DocStructure, Node, SectionRole

_SENTENCE = re.compile(r"[^。！？；!?;]*[。！？；!?;]+[”’」）)]*|[^。！？；!?;]+$")


@dataclass(frozen=True)
class Chunk:
    text: str
    char_start: int
    char_end: int
    section: str
    section_role: SectionRole
    chunk_index: int


def index_text(text: str, *, unit: str, title: str, section: str) -> str:
    """What the embedder and BM25 see for a chunk: who, where in the report, then the passage."""
    who = unit or title
    return f"{who}｜{section}\n{text}" if section else f"{who}\n{text}"


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentence spans (absolute offsets) of text[start:end]; lines and table rows always end a sentence.

    >>> t = "一、问题\\n预算编制不够细化。缺乏人才；"
    >>> [t[s:e] for s, e in sentence_spans(t)]
    ['一、问题', '预算编制不够细化。', '缺乏人才；']
    """
    return _units(text, start, len(text) if end is None else end, size=10**9)


def _units(text: str, start: int, end: int, size: int) -> list[tuple[int, int]]:
    """Sentence/list-item/table-row spans (absolute offsets) covering text[start:end], each at most ~2×size."""
    spans: list[tuple[int, int]] = []
    pos = start
    for line in text[start:end].split("\n"):
        line_start, pos = pos, pos + len(line) + 1
        if not line.strip():
            continue
        if is_table_row(line):
            spans.append((line_start, line_start + len(line)))
            continue
        for m in _SENTENCE.finditer(line):
            s, e = line_start + m.start(), line_start + m.end()
            # A run-on sentence is cut at commas so no chunk grows without bound.
            while e - s > 2 * size:
                cut = text.rfind("，", s + size // 2, s + size)
                cut = cut + 1 if cut > s else s + size
                spans.append((s, cut))
                s = cut
            if text[s:e].strip():
                spans.append((s, e))
    return spans


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
        units = _units(text, start, end, size)
        i = 0
        while i < len(units):
            j = i
            while j + 1 < len(units) and units[j + 1][1] - units[i][0] <= size:
                j += 1
            s, e = units[i][0], units[j][1]
            chunks.append(Chunk(text[s:e], s, e, section, role, len(chunks)))
            if j + 1 >= len(units):
                break
            # Repeat the last `overlap` units, but always move forward.
            i = max(j + 1 - overlap, i + 1)
    return chunks
