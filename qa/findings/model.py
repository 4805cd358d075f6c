"""A stored finding as readers see it: the finding-sentence rows of one finding (ingest.pipeline.finding_rows)
put back together, with its categories."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from qa.findings.taxonomy import Categorizer
from qa.store import ChunkRow, metadata_year


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
    doc_id: str
    source: str
    title: str
    unit: str
    region: str
    year: int | None
    report_kind: str
    role: str  # problem | measure
    section: str
    lead: str
    text: str
    char_start: int
    char_end: int
    sentences: tuple[Span, ...]
    categories: tuple[CategoryLabel, ...]
    first_row: int  # index of its first sentence row in the index's vector matrix (FindingsIndex)

    @property
    def display_unit(self) -> str:
        """The unit, or the file name when the report names none (as in answers)."""
        return self.unit or self.source

    def category_names(self) -> list[str]:
        return [c.name for c in self.categories]

    def as_dict(self) -> dict[str, Any]:
        return {
            "finding_id": self.finding_id,
            "doc_id": self.doc_id,
            "source": self.source,
            "title": self.title,
            "unit": self.unit,
            "region": self.region,
            "year": self.year,
            "report_kind": self.report_kind,
            "role": self.role,
            "section": self.section,
            "lead": self.lead,
            "text": self.text,
            "char_start": self.char_start,
            "char_end": self.char_end,
            "categories": [{"name": c.name, "confidence": c.confidence, "sentence": c.sentence.text} for c in self.categories],
        }


def in_order(rows: Sequence[ChunkRow], vectors: np.ndarray) -> tuple[list[ChunkRow], np.ndarray]:
    """Finding-sentence rows (and their vectors) in document order: by document, finding, sentence."""
    order = sorted(range(len(rows)), key=lambda i: (str(rows[i].metadata["doc_id"]), int(rows[i].metadata["finding_index"]), int(rows[i].metadata["sentence_index"])))
    return [rows[i] for i in order], vectors[order] if order else vectors[:0]


def group_rows(rows: Sequence[ChunkRow], vectors: np.ndarray, categorizer: Categorizer, first_row: int = 0) -> list[Finding]:
    """Findings from their sentence rows in document order (`in_order`; `vectors[i]` belongs to `rows[i]`),
    categorised. `first_row` offsets the recorded row positions (rows that are part of a larger matrix)."""
    if not rows:
        return []
    scores = categorizer.sentence_scores([r.text for r in rows], vectors)
    found: list[Finding] = []
    start = 0
    while start < len(rows):
        m = rows[start].metadata
        end = start
        while end < len(rows) and rows[end].metadata["finding_id"] == m["finding_id"]:
            end += 1
        spans = tuple(Span(r.text, int(r.metadata["char_start"]), int(r.metadata["char_end"])) for r in rows[start:end])
        labels = tuple(
            CategoryLabel(a.name, a.confidence, spans[min(a.sentence, len(spans) - 1)]) for a in categorizer.assign(scores[start:end])
        )
        found.append(
            Finding(
                finding_id=str(m["finding_id"]),
                doc_id=str(m["doc_id"]),
                source=str(m.get("source", "")),
                title=str(m.get("title", "")),
                unit=str(m.get("unit", "")),
                region=str(m.get("region", "")),
                year=metadata_year(m),
                report_kind=str(m.get("report_kind", "")),
                role=str(m["role"]),
                section=str(m.get("section", "")),
                lead=str(m.get("lead", "")),
                text=str(m["finding_text"]),
                char_start=int(m["finding_start"]),
                char_end=int(m["finding_end"]),
                sentences=spans,
                categories=labels,
                first_row=first_row + start,
            )
        )
        start = end
    return found
