"""A stored finding as readers see it: the finding-sentence rows of one finding (ingest.pipeline.finding_rows)
put back together, with its categories."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ingest.schema import ChunkRow, DocFields, FindingRowMeta, finding_row_order, finding_row_span
from qa.findings.columns import Texts, take_csr
from qa.findings.taxonomy import Categorizer
from qa.sentences import ranges


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
    rows: Sequence[ChunkRow],
    scores: np.ndarray,
    categorizer: Categorizer,
    first_row: int = 0,
    accepted: np.ndarray | None = None,
) -> list[Finding]:
    """Findings from their sentence rows in document order (`in_order`), categorised from the rows' category
    scores (`Categorizer.sentence_scores`; `scores[i]` belongs to `rows[i]`). `first_row` offsets the recorded
    row positions (rows that are part of a larger matrix); `accepted`: `categorizer.accepted(scores)`, when the
    caller computed it for many documents' rows at once."""
    if not rows:
        return []
    if accepted is None:
        accepted = categorizer.accepted(scores)
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
            for a in categorizer.assign(scores[start:end], accepted[start:end])
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


@dataclass(frozen=True)
class FindingTable:
    """Findings as columns (qa.findings.columns): per finding its fields, per sentence row its text and span.
    `Finding` objects are made on demand (`get`), for what a question cites or a page lists."""

    ids: Texts
    code: np.ndarray  # int32: its document's code in the view (`View.docs`)
    problem: np.ndarray  # bool: role problem (else measure)
    section: Texts
    lead: Texts
    text: Texts
    span: np.ndarray  # (n, 2) int32: char_start, char_end in its document
    first_row: np.ndarray  # int64: its first sentence row; its rows run to the next finding's first row
    cat_ptr: np.ndarray  # int64 CSR over its category labels, in `Categorizer.assign` order
    cat_idx: np.ndarray  # int16: the label's category (index into the view's category names)
    cat_conf: np.ndarray  # float64: the label's confidence
    cat_sent: np.ndarray  # int16: the sentence (within the finding) that carries the label
    row_text: Texts  # per sentence row
    row_span: np.ndarray  # (rows, 2) int32

    @classmethod
    def empty(cls) -> FindingTable:
        return cls.of([], [], {})

    @classmethod
    def of(cls, findings: Sequence[Finding], codes: Sequence[int], categories: dict[str, int]) -> FindingTable:
        """`findings` (with `first_row` numbered within these rows) of documents `codes` (one per finding)."""
        labels = [c for f in findings for c in f.categories]
        spans = [s for f in findings for s in f.sentences]
        return cls(
            ids=Texts.of([f.finding_id for f in findings]),
            code=np.asarray(codes, dtype=np.int32),
            problem=np.asarray([f.role == "problem" for f in findings], dtype=bool),
            section=Texts.of([f.section for f in findings]),
            lead=Texts.of([f.lead for f in findings]),
            text=Texts.of([f.text for f in findings]),
            span=np.asarray([(f.char_start, f.char_end) for f in findings], dtype=np.int32).reshape(-1, 2),
            first_row=np.asarray([f.first_row for f in findings], dtype=np.int64),
            cat_ptr=np.r_[0, np.cumsum([len(f.categories) for f in findings])].astype(np.int64),
            cat_idx=np.asarray([categories[c.name] for c in labels], dtype=np.int16),
            cat_conf=np.asarray([c.confidence for c in labels], dtype=np.float64),
            cat_sent=np.asarray(
                [f.sentences.index(c.sentence) for f in findings for c in f.categories], dtype=np.int16
            ),
            row_text=Texts.of([s.text for s in spans]),
            row_span=np.asarray([(s.char_start, s.char_end) for s in spans], dtype=np.int32).reshape(-1, 2),
        )

    def __len__(self) -> int:
        return len(self.code)

    @property
    def rows(self) -> int:
        return len(self.row_span)

    def row_bounds(self, i: int) -> tuple[int, int]:
        end = int(self.first_row[i + 1]) if i + 1 < len(self.first_row) else self.rows
        return int(self.first_row[i]), end

    def get(self, i: int, doc: DocFields, names: Sequence[str]) -> Finding:
        """Finding `i` as an object (`doc`: its document's fields, `names`: the category names)."""
        start, end = self.row_bounds(i)
        spans = tuple(
            Span(self.row_text[r], int(self.row_span[r, 0]), int(self.row_span[r, 1])) for r in range(start, end)
        )
        a, b = int(self.cat_ptr[i]), int(self.cat_ptr[i + 1])
        return Finding(
            finding_id=self.ids[i],
            doc=doc,
            role="problem" if self.problem[i] else "measure",
            section=self.section[i],
            lead=self.lead[i],
            text=self.text[i],
            char_start=int(self.span[i, 0]),
            char_end=int(self.span[i, 1]),
            sentences=spans,
            categories=tuple(
                CategoryLabel(names[self.cat_idx[j]], float(self.cat_conf[j]), spans[self.cat_sent[j]])
                for j in range(a, b)
            ),
            first_row=start,
        )

    @staticmethod
    def concat(parts: Sequence[FindingTable]) -> FindingTable:
        """The findings of `parts` in order (rows and codes already numbered globally), each column joined once."""
        cat_offsets = np.cumsum([0] + [int(p.cat_ptr[-1]) for p in parts[:-1]]).tolist()
        return FindingTable(
            ids=Texts.concat([p.ids for p in parts]),
            code=np.concatenate([p.code for p in parts]),
            problem=np.concatenate([p.problem for p in parts]),
            section=Texts.concat([p.section for p in parts]),
            lead=Texts.concat([p.lead for p in parts]),
            text=Texts.concat([p.text for p in parts]),
            span=np.concatenate([p.span for p in parts]),
            first_row=np.concatenate([p.first_row for p in parts]),
            cat_ptr=np.concatenate([parts[0].cat_ptr[:1], *(p.cat_ptr[1:] + o for p, o in zip(parts, cat_offsets))]),
            cat_idx=np.concatenate([p.cat_idx for p in parts]),
            cat_conf=np.concatenate([p.cat_conf for p in parts]),
            cat_sent=np.concatenate([p.cat_sent for p in parts]),
            row_text=Texts.concat([p.row_text for p in parts]),
            row_span=np.concatenate([p.row_span for p in parts]),
        )

    def shifted(self, codes: int, rows: int) -> FindingTable:
        """The same findings with their document codes and rows numbered after `codes` and `rows` others."""
        return replace(self, code=self.code + codes, first_row=self.first_row + rows)

    def take(self, idx: np.ndarray, codes: np.ndarray) -> FindingTable:
        """Findings `idx` in that order with their rows (renumbered from 0), recoded by `codes` (old code → new)."""
        row_ptr = np.r_[self.first_row, self.rows].astype(np.int64)
        counts = row_ptr[idx + 1] - row_ptr[idx]
        rows = ranges(row_ptr, idx)
        cat_ptr, cat_idx, cat_conf, cat_sent = take_csr(
            self.cat_ptr, self.cat_idx, self.cat_conf, self.cat_sent, idx=idx
        )
        return FindingTable(
            ids=self.ids.take(idx),
            code=codes[self.code[idx]].astype(np.int32),
            problem=self.problem[idx],
            section=self.section.take(idx),
            lead=self.lead.take(idx),
            text=self.text.take(idx),
            span=self.span[idx],
            first_row=np.r_[0, np.cumsum(counts)[:-1]].astype(np.int64) if len(idx) else np.zeros(0, np.int64),
            cat_ptr=cat_ptr,
            cat_idx=cat_idx,
            cat_conf=cat_conf,
            cat_sent=cat_sent,
            row_text=self.row_text.take(rows),
            row_span=self.row_span[rows],
        )
