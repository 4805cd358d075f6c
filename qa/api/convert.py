"""Internal answer/search objects → API bodies."""

from __future__ import annotations

from dataclasses import asdict

from qa.answer import Answer, UnitEvidence
from qa.api.schemas import AskOut, CitationOut, FindingCategoryOut, FindingOut, UnitOut
from qa.findings import Finding, Span
from qa.retrieve import Hit


def hit_out(hit: Hit, n: int | None = None) -> CitationOut:
    return CitationOut(
        id=n if n is not None else hit.id,
        doc_id=hit.doc_id,
        source=hit.source,
        unit=hit.unit,
        year=hit.year,
        title=hit.title,
        section=hit.section,
        text=hit.text,
        char_start=hit.char_start,
        char_end=hit.char_end,
        score=hit.score,
    )


def _unit_out(u: UnitEvidence) -> UnitOut:
    return UnitOut(unit=u.unit, doc_id=u.doc_id, source=u.source, citation_ids=list(u.citation_ids))


def answer_out(ans: Answer) -> AskOut:
    return AskOut(
        answer=ans.answer,
        kind=ans.kind,
        citations=[CitationOut(**c.as_dict()) for c in ans.citations],  # type: ignore[arg-type]
        units=None if ans.units is None else [_unit_out(u) for u in ans.units],
        related=[_unit_out(u) for u in ans.related],
        resolved_question=ans.resolved_question,
        filters={k: v for k, v in asdict(ans.filters).items() if v not in (None, "")},
        unsupported_dropped=ans.dropped,
        composer=ans.composer,
    )


def finding_citation(f: Finding, span: Span | None = None) -> CitationOut:
    """A finding (or one of its sentences) as a citation: the same shape answers use, id = finding_id."""
    s = span or Span(f.text, f.char_start, f.char_end)
    score = max((c.confidence for c in f.categories), default=0.0)
    return CitationOut(
        id=f.finding_id, doc_id=f.doc_id, source=f.source, unit=f.unit, year=f.year, title=f.title,
        section=f.section, text=s.text, char_start=s.char_start, char_end=s.char_end, score=score,
    )


def finding_out(f: Finding) -> FindingOut:
    d = f.as_dict()
    d["categories"] = [FindingCategoryOut(name=c.name, confidence=c.confidence, sentence=c.sentence.text) for c in f.categories]
    return FindingOut(**d, citation=finding_citation(f))
