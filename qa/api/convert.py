"""Internal answer/search objects → API bodies."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict

from ingest.schema import DocFields
from qa.answer import Answer, UnitEvidence
from qa.api.schemas import AskOut, CitationOut, FindingCategoryOut, FindingOut, PositionOut, UnitOut
from qa.findings import Finding, Span
from qa.retrieve import Hit


def citation_out(
    cid: int | str,
    doc: DocFields,
    section: str,
    span: Span,
    score: float,
    position: Mapping[str, int | str] | None = None,
) -> CitationOut:
    """The one shape every cited passage has: a search hit, an answer's citation, a finding. `position`: a table
    row's cells (Hit.position)."""
    return CitationOut(
        id=cid,
        doc_id=doc.doc_id,
        source=doc.source,
        unit=doc.unit,
        year=doc.year,
        title=doc.title,
        section=section,
        text=span.text,
        char_start=span.char_start,
        char_end=span.char_end,
        score=score,
        position=PositionOut.model_validate(position) if position else None,
    )


def hit_out(hit: Hit) -> CitationOut:
    return citation_out(
        hit.id, hit.doc, hit.section, Span(hit.text, hit.char_start, hit.char_end), hit.score, hit.position
    )


def source_label(c: CitationOut) -> str:
    """Where a citation comes from, in one line (CLI, chat completions' source list)."""
    who = c.unit or c.title or c.source
    year = f"{c.year}年" if c.year else "年份未知"
    return f"{who}（{year}）· {c.section or '正文'} · {c.source} · 字符 {c.char_start}–{c.char_end}"


def _unit_out(u: UnitEvidence) -> UnitOut:
    return UnitOut(unit=u.unit, doc_id=u.doc_id, source=u.source, citation_ids=list(u.citation_ids), reason=u.reason)


def answer_out(ans: Answer) -> AskOut:
    return AskOut(
        answer=ans.answer,
        kind=ans.kind,
        citations=[
            citation_out(
                c.id, c.hit.doc, c.hit.section, Span(c.text, c.char_start, c.char_end), c.score, c.hit.position
            )
            for c in ans.citations
        ],
        units=None if ans.units is None else [_unit_out(u) for u in ans.units],
        related=[_unit_out(u) for u in ans.related],
        resolved_question=ans.resolved_question,
        filters={k: v for k, v in asdict(ans.filters).items() if v not in (None, "")},
        unsupported_dropped=ans.dropped,
        composer=ans.composer,
        total_units=ans.total_units,
        offset=ans.offset,
        next_offset=ans.next_offset,
    )


def finding_citation(f: Finding, span: Span | None = None) -> CitationOut:
    """A finding (or one of its sentences) as a citation: the same shape answers use, id = finding_id."""
    score = max((c.confidence for c in f.categories), default=0.0)
    return citation_out(f.finding_id, f.doc, f.section, span or Span(f.text, f.char_start, f.char_end), score)


def finding_out(f: Finding) -> FindingOut:
    d = f.as_dict()
    d["categories"] = [
        FindingCategoryOut(name=c.name, confidence=c.confidence, sentence=c.sentence.text) for c in f.categories
    ]
    return FindingOut(**d, citation=finding_citation(f))
