"""Internal answer/search objects → API bodies."""

from __future__ import annotations

from dataclasses import asdict

from qa.answer import Answer, UnitEvidence
from qa.api.schemas import AskOut, CitationOut, UnitOut
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
