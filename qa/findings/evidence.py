"""Findings as the first source of evidence for aggregate questions about problems or measures.

"哪些单位提到预算编制不够细化？" is a question about what reports state as problems: the findings of every
admitted document are exactly those statements, already cut at item boundaries and embedded at ingest. Each
finding sentence is verified as any evidence sentence is (qa.evidence: cosine to the topic + idf-weighted
topic coverage, the same EvidenceParams thresholds in `select_units`), so a finding counts only when its own
sentence says what was asked. No corpus text is embedded at question time.

Used when the topic has a role (topic_role: 不够细化 → problems, 加强监管 → measures: only findings of that
role) or, without one, when it names a category strongly (专账核算 → 项目资金未专账核算: findings of either
role in that category).
"""

from __future__ import annotations

import numpy as np

from qa.evidence import EvidenceParams, Sentence, combine, coverage, topic_role
from qa.findings.index import FindingFilter, FindingsIndex
from qa.findings.model import Finding
from qa.lexical import LexicalIndex, tokenize
from qa.retrieve import Filters, Hit

_ROLES = {"problems": "problem", "measures": "measure"}
_SECTION_ROLES = {v: k for k, v in _ROLES.items()}


def as_hit(f: Finding) -> Hit:
    """A finding in the shape answers cite (its document's metadata, the finding's span)."""
    return Hit(
        id=f.finding_id,
        doc_id=f.doc_id,
        source=f.source,
        unit=f.unit,
        region=f.region,
        year=f.year,
        report_kind=f.report_kind,
        title=f.title,
        section=f.section,
        section_role=_SECTION_ROLES.get(f.role, "other"),
        text=f.text,
        char_start=f.char_start,
        char_end=f.char_end,
        chunk_index=-1,
        score=0.0,
    )


def finding_scope(index: FindingsIndex, topic: str, vector: np.ndarray) -> FindingFilter | None:
    """Which findings an aggregate topic is about, or None when it is not about findings at all."""
    role = _ROLES.get(topic_role(topic) or "")
    if role is not None:
        return FindingFilter(role=role)
    named = index.categorizer.topic_category(topic, vector)
    return FindingFilter(category=named[0]) if named else None


def finding_sentences(
    index: FindingsIndex, topic: str, vector: np.ndarray, filters: Filters, params: EvidenceParams, lexical: LexicalIndex
) -> list[Sentence]:
    """Every sentence of the in-scope findings of the admitted documents, scored as evidence, best first;
    [] when the topic is not about findings."""
    scope = finding_scope(index, topic, vector)
    if scope is None:
        return []
    view = index.view()
    catalogue = index.retriever.catalogue()
    picked = [f for f in view.findings if f.doc_id in catalogue and scope.admits(f, catalogue[f.doc_id]) and filters.admits(catalogue[f.doc_id])]
    if not picked:
        return []
    rows = np.concatenate([np.arange(f.first_row, f.first_row + len(f.sentences)) for f in picked])
    sims = view.vectors[rows] @ vector
    topic_tokens = set(tokenize(topic))
    out: list[Sentence] = []
    n = 0
    for f in picked:
        hit = as_hit(f)
        for s in f.sentences:
            sim = float(sims[n])
            n += 1
            cov = coverage(topic_tokens, s.text, lexical.idf)
            score = combine(sim, cov, True, False, params.aggregate_lexical_weight, params)
            out.append(Sentence(hit, s.text, s.char_start, s.char_end, round(score, 4), sim, cov, True))
    return sorted(out, key=lambda s: (-s.score, s.doc_id, s.char_start))
