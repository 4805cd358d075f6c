"""Text helpers that ingest and the answering side share: table rows, sentence spans, the text a chunk is indexed by.

A leaf module (no imports from the rest of the project), so `qa` can use the same rules as the chunker without
pulling in the ingest stages.

>>> t = "一、问题\\n预算编制不够细化。缺乏人才；"
>>> [t[s:e] for s, e in sentence_spans(t)]
['一、问题', '预算编制不够细化。', '缺乏人才；']
"""

from __future__ import annotations

import re

# Readers write a table row as one line with its cells joined by CELL_SEP (empty cells kept, so a row
# such as "十、节能环保支出 | " still reads as a row). Structure and chunking never split or promote rows.
CELL_SEP = " | "
_TABLE_ROW = re.compile(r"(?:^|\s)\|(?:\s|$)")
# A table's data row written out with its table name, row label and column names (ingest.tables):
# "收入支出决算总表 · 一、一般公共预算财政拨款收入 · 决算数 307.82 万元". Such a record line is a chunk of its own.
RECORD_SEP = " · "
_RECORD_ROW = re.compile(r"\S · \S")
_LABEL_PREFIX = re.compile(
    r"^(?:\d+\s+|[一二三四五六七八九十]+、)"
)  # a row label's code or numbering: "30107 ", "一、"
_SENTENCE = re.compile(r"[^。！？；!?;]*[。！？；!?;]+[”’」）)]*|[^。！？；!?;]+$")


def is_record_row(line: str) -> bool:
    return bool(_RECORD_ROW.search(line)) and not line.rstrip().endswith(("。", "；", "！", "？"))


def is_table_row(line: str) -> bool:
    """A table row in either form: cells joined by CELL_SEP, or a record line (RECORD_SEP)."""
    return bool(_TABLE_ROW.search(line)) or is_record_row(line)


def record_label(line: str) -> str:
    """The row label of a record line ("… · 30107 绩效工资 · 决算数 …" → "绩效工资"), '' for other lines. The
    label is the second field when the line has a table name and a row label before its values."""
    if not is_record_row(line):
        return ""
    fields = line.split(RECORD_SEP)
    return _LABEL_PREFIX.sub("", fields[1]).strip() if len(fields) >= 3 else ""


def index_text(text: str, *, unit: str, title: str, section: str) -> str:
    """What the embedder and BM25 see for a chunk: who, where in the report, then the passage."""
    who = unit or title
    return f"{who}｜{section}\n{text}" if section else f"{who}\n{text}"


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentence spans (absolute offsets) of text[start:end]; lines and table rows always end a sentence."""
    return text_units(text, start, len(text) if end is None else end, size=10**9)


def text_units(text: str, start: int, end: int, size: int) -> list[tuple[int, int]]:
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
