"""A stored finding as readers see it: the finding-sentence rows of one finding (ingest.pipeline.finding_rows)
put back together, with its categories."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ingest.schema import ChunkRow, DocFields, FindingRowMeta, finding_row_order, finding_row_span
from qa.findings.taxonomy import Categorizer


@dataclass(frozen=True)
class Span:
    text: str
    char_start: int
    char_end: int


@dataclass(frozen=True)
class CategoryLabel:
    name: str
    confidence: float
    sentence: Span  # the sentence that carries the category: what a category view cites


@dataclass(frozen=True)
class Finding:
    finding_id: str
    doc: DocFields
    role: str  # problem | measure
    section: str
    lead: str
    text: str
    char_start: int
    char_end: int
    sentences: tuple[Span, ...]
    categories: tuple[CategoryLabel, ...]
    first_row: int  # index of its first sentence row in the index's vector matrix (FindingsIndex)

    def category_names(self) -> list[str]:
        return [c.name for c in self.categories]

    def as_dict(self) -> dict[str, Any]:
        return {
            "finding_id": self.finding_id,
            **self.doc.as_dict(),
            "role": self.role,
            "section": self.section,
            "lead": self.lead,
            "text": self.text,
            "char_start": self.char_start,
            "char_end": self.char_end,
            "categories": [
                {"name": c.name, "confidence": c.confidence, "sentence": c.sentence.text} for c in self.categories
            ],
        }


def in_order(rows: Sequence[ChunkRow], vectors: np.ndarray) -> tuple[list[ChunkRow], np.ndarray]:
    """Finding-sentence rows (and their vectors) in document order: by document, finding, sentence."""
    order = sorted(range(len(rows)), key=lambda i: finding_row_order(rows[i].metadata))
    return [rows[i] for i in order], vectors[order] if order else vectors[:0]


def group_rows(
    rows: Sequence[ChunkRow], scores: np.ndarray, categorizer: Categorizer, first_row: int = 0
) -> list[Finding]:
    """Findings from their sentence rows in document order (`in_order`), categorised from the rows' category
    scores (`Categorizer.sentence_scores`; `scores[i]` belongs to `rows[i]`). `first_row` offsets the recorded
    row positions (rows that are part of a larger matrix)."""
    if not rows:
        return []
    found: list[Finding] = []
    # One object per distinct value: every row carries its document's fields and its section heading, so without
    # this each finding holds its own copies (~0.5 KB per finding: ~300 MB at 1M chunks).
    docs: dict[DocFields, DocFields] = {}
    sections: dict[str, str] = {}
    start = 0
    while start < len(rows):
        m = FindingRowMeta.from_metadata(rows[start].metadata)
        end = start + 1
        while end < len(rows) and FindingRowMeta.same_finding(rows[end].metadata, m):
            end += 1
        spans = tuple(Span(r.text, *finding_row_span(r.metadata)) for r in rows[start:end])
        labels = tuple(
            CategoryLabel(a.name, a.confidence, spans[min(a.sentence, len(spans) - 1)])
            for a in categorizer.assign(scores[start:end])
        )
        found.append(
            Finding(
                finding_id=m.finding_id,
                doc=docs.setdefault(m.doc, m.doc),
                role=m.role,
                section=sections.setdefault(m.section, m.section),
                lead=m.lead,
                text=m.finding_text,
                char_start=m.finding_start,
                char_end=m.finding_end,
                sentences=spans,
                categories=labels,
                first_row=first_row + start,
            )
        )
        start = end
    return found
