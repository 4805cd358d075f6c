"""What an answer is: its text, kind, numbered citations and (aggregates) the units with their evidence."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from qa.evidence import Sentence
from qa.retrieve import Filters, Hit
from qa.understand import Understood

Kind = Literal["aggregate", "lookup", "unanswerable"]


@dataclass(frozen=True)
class Citation:
    id: int
    hit: Hit
    text: str
    char_start: int
    char_end: int
    score: float


@dataclass(frozen=True)
class UnitEvidence:
    unit: str  # the unit name, or the file name when the report names no unit
    doc_id: str
    source: str
    citation_ids: tuple[int, ...]
    reason: str | None = None  # a near miss (related): why it was not counted


@dataclass(frozen=True)
class Page:
    """Which units an aggregate answer lists: `limit` of them from `offset`, in the answer's order (None: all)."""

    offset: int = 0
    limit: int | None = None

    def window(self, total: int) -> range:
        """Positions of the listed units among `total` (empty past the end)."""
        stop = total if self.limit is None else min(total, self.offset + self.limit)
        return range(self.offset, max(self.offset, stop))


@dataclass
class Answer:
    answer: str
    kind: Kind
    resolved_question: str
    citations: list[Citation] = field(default_factory=list)
    units: list[UnitEvidence] | None = None
    related: list[UnitEvidence] = field(default_factory=list)
    filters: Filters = field(default_factory=Filters)
    dropped: int = 0  # LLM sentences removed by citation checks
    composer: Literal["extractive", "llm"] = "extractive"
    total_units: int | None = None  # aggregates: every unit counted; `units` is one page of them
    offset: int = 0  # aggregates: the position of units[0] among all counted units

    @property
    def next_offset(self) -> int | None:
        """Where the next page of units starts; None when this page reaches the last unit."""
        if self.total_units is None or self.units is None:
            return None
        end = self.offset + len(self.units)
        return end if end < self.total_units else None


def decline(u: Understood, message: str, nearest: Sequence[Hit]) -> Answer:
    """An unanswerable verdict, with the nearest passages (up to three) for reference."""
    citations = [
        Citation(i, h, h.text, h.char_start, h.char_end, round(h.score, 4)) for i, h in enumerate(nearest[:3], start=1)
    ]
    text = message + ("以下是最接近的段落，供参考：" + "".join(f"[{c.id}]" for c in citations) if citations else "")
    return Answer(text, "unanswerable", u.standalone, citations, None, [], u.filters)


def quote(citations: Sequence[Citation], cid: int) -> str:
    return f"{citations[cid - 1].text.strip()}[{cid}]"


def group(
    sentences: Sequence[Sentence], citations: list[Citation], reasons: Sequence[str] | None = None
) -> list[UnitEvidence]:
    """One entry per unit (file name when unknown), best first; appends the citations it uses. `reasons`: per
    sentence, why a near miss was not counted (the unit keeps its first)."""
    grouped: dict[str, UnitEvidence] = {}
    for n, s in enumerate(sentences):
        name = s.hit.doc.display_unit
        cid = len(citations) + 1
        citations.append(Citation(cid, s.hit, s.text, s.char_start, s.char_end, s.score))
        if name in grouped:
            prev = grouped[name]
            grouped[name] = UnitEvidence(prev.unit, prev.doc_id, prev.source, prev.citation_ids + (cid,), prev.reason)
        else:
            grouped[name] = UnitEvidence(name, s.doc_id, s.hit.doc.source, (cid,), reasons[n] if reasons else None)
    return list(grouped.values())


def unit_line(prefix: str, ue: UnitEvidence, citations: Sequence[Citation]) -> str:
    """ "<prefix><unit>：<quoted sentence>[n]…" for one unit of an aggregate answer."""
    return f"{prefix}{ue.unit}：" + "".join(quote(citations, cid) for cid in ue.citation_ids)
