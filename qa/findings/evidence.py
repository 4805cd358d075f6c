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

from ingest.schema import FINDING_ROLE_OF_SECTION, SECTION_ROLE_OF_FINDING
from qa.evidence import Coverage, Scoring, Sentence, Topic, combine, topic_role
from qa.findings.index import FindingFilter, FindingsIndex
from qa.findings.model import Finding
from qa.lexical import tokenize
from qa.retrieve import Filters, Hit

def as_hit(f: Finding) -> Hit:
    """A finding in the shape answers cite (its document's metadata, the finding's span)."""
    return Hit(
        id=f.finding_id,
        doc=f.doc,
        section=f.section,
        section_role=SECTION_ROLE_OF_FINDING.get(f.role, "other"),
        text=f.text,
        char_start=f.char_start,
        char_end=f.char_end,
        chunk_index=-1,
        score=0.0,
    )


def finding_scope(index: FindingsIndex, topic: str, vector: np.ndarray) -> FindingFilter | None:
    """Which findings an aggregate topic is about, or None when it is not about findings at all."""
    role = FINDING_ROLE_OF_SECTION.get(topic_role(topic) or "")
    if role is not None:
        return FindingFilter(role=role)
    named = index.categorizer.topic_category(topic, vector)
    return FindingFilter(category=named[0]) if named else None


def finding_sentences(
    index: FindingsIndex, scoring: Scoring, topic: Topic, filters: Filters, *, min_score: float | None = None, best_per_document: bool = False
) -> list[Sentence]:
    """Every sentence of the in-scope findings of the admitted documents scoring at least `min_score` (or only
    each document's best: all `select_units` looks at), scored as evidence, best first; [] when the topic is
    not about findings. Scores are computed for every row at once (one matrix-vector product, coverage from
    the view's token postings); Sentence objects are built only for what is returned (at 100k chunks, 77k
    finding rows: a per-row Python loop took ~0.7 s of a 0.8 s answer)."""
    scope = finding_scope(index, topic.text, topic.vector)
    if scope is None:
        return []
    view = index.view()
    catalogue = index.retriever.catalogue()
    docs = {d for d, rec in catalogue.items() if filters.admits(rec.doc)}
    # finding_scope only sets role or category: the finding's own fields.
    picked = [i for i, f in enumerate(view.findings) if f.doc.doc_id in docs and scope.admits_content(f)]
    if not picked:
        return []
    rows = np.flatnonzero(np.isin(view.row_finding, picked))
    sims = (view.vectors @ topic.vector)[rows]
    cov = Coverage(set(tokenize(topic.text)), scoring.lexical.idf).of_postings(view.postings, len(view.vectors))[rows]
    scores = np.round(combine(sims, cov, scoring.params.aggregate_lexical_weight), 4)
    keep = np.arange(len(rows)) if min_score is None else np.flatnonzero(scores >= min_score)
    if best_per_document and len(keep):
        # By document, best first, earliest sentence on ties (rows are in document order): each group's first.
        order = keep[np.lexsort((rows[keep], -scores[keep], view.row_doc[rows[keep]]))]
        doc_codes = view.row_doc[rows[order]]
        keep = order[np.r_[True, doc_codes[1:] != doc_codes[:-1]]]
    hits: dict[int, Hit] = {}
    out: list[Sentence] = []
    for i in keep:
        row = int(rows[i])
        fi = int(view.row_finding[row])
        f = view.findings[fi]
        hit = hits.get(fi) or hits.setdefault(fi, as_hit(f))
        s = f.sentences[row - f.first_row]
        out.append(Sentence(hit, s.text, s.char_start, s.char_end, float(scores[i]), float(sims[i]), float(cov[i]), True))
    return sorted(out, key=lambda s: (-s.score, s.doc_id, s.char_start))
