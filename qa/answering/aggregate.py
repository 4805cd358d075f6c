"""Aggregate answers ("哪些单位提到预算编制不够细化？"): an exhaustive pass over every document the filters admit, one
verdict per document from its best sentence, grouped by unit, each unit with its cited sentence; near misses are
listed separately as related and never counted.

Problems/measures topics are answered from the findings first (qa.findings.evidence); otherwise, or when no
finding passes, from the corpus-wide pass over candidate chunks (qa.evidence.score_candidates).
"""

from __future__ import annotations

from collections.abc import Sequence

from qa.answering.context import AnswerContext
from qa.answering.result import Answer, Citation, group, unit_line
from qa.evidence import Candidate, CandidateSource, EvidenceParams, Sentence, Topic, score_candidates
from qa.findings.evidence import finding_sentences
from qa.sentences import entry_key
from qa.understand import RELATED_HEADER, Understood


def select_units(sentences: Sequence[Sentence], p: EvidenceParams) -> tuple[list[Sentence], list[Sentence]]:
    """The verdict per document from its best sentence: counted (above the floor and close to the best
    document), related (near misses, shown apart), or nothing."""
    best: dict[str, Sentence] = {}
    for s in sorted(sentences, key=lambda s: -s.score):
        best.setdefault(s.doc_id, s)
    ranked = sorted(best.values(), key=lambda s: -s.score)
    top = ranked[0].score if ranked else 0.0
    floor = max(p.aggregate_threshold, top - p.aggregate_margin)
    accepted = [s for s in ranked if s.score >= floor]
    # Below the floor by construction (ranked is sorted): no membership test, which was quadratic in units.
    related = [s for s in ranked[len(accepted) :] if s.score >= p.related_threshold][:5]
    return accepted, related


def aggregate_evidence(ctx: AnswerContext, u: Understood, topic: Topic | None = None, *, best_per_document: bool = False) -> list[Sentence]:
    """The corpus-wide pass. `topic`: the topic with its embedding when the caller has it (computed once per
    request). `best_per_document`: only each document's best sentence (all an answer needs; the others are for
    tuning)."""
    topic = ctx.topic(u.topic) if topic is None else topic
    p = ctx.params
    # Recall far beyond a top-k: every admitted document with a lexical or dense match is a candidate,
    # through its best few chunks on each side (so the work grows with matching documents, not chunks).
    picked = ctx.retriever.candidate_chunks(u.topic, u.filters, vector=topic.vector, per_doc=p.aggregate_chunks_per_doc)
    lexical, keys = ctx.entry_keys()
    rows = lexical.rows_of(picked).tolist()
    # A chunk committed since the index was read has no row yet: a key no entry has, so it is prepared now.
    candidates = [Candidate(i, keys[r] if r >= 0 else entry_key(i, -1), sim) for (i, sim), r in zip(picked.items(), rows)]
    nearest = {c.id for c in sorted(candidates, key=lambda c: -c.similarity)[: p.aggregate_meaning_chunks]}
    ctx.sentences.refresh()
    source = CandidateSource(ctx.retriever.catalogue(), ctx.sentences, ctx.store.get_chunks)
    return score_candidates(ctx.scoring(lexical), topic, candidates, source, unrelated_only_from=nearest, best_per_document=best_per_document)


def finding_units(ctx: AnswerContext, u: Understood, topic: Topic) -> tuple[list[Sentence], list[Sentence]] | None:
    """Problems/measures aggregates answered from the findings; None (→ the corpus-wide pass) when the topic is
    not about findings or no finding passes verification."""
    findings = ctx.findings.usable()
    if findings is None:
        return None
    # select_units reads each document's best sentence, and only if it clears the lower threshold.
    floor = min(ctx.params.aggregate_threshold, ctx.params.related_threshold)
    sentences = finding_sentences(findings, ctx.scoring(), topic, u.filters, min_score=floor, best_per_document=True)
    accepted, related = select_units(sentences, ctx.params)
    return (accepted, related) if accepted else None


def answer_aggregate(ctx: AnswerContext, u: Understood) -> Answer:
    topic = ctx.topic(u.topic)
    accepted, related = finding_units(ctx, u, topic) or select_units(aggregate_evidence(ctx, u, topic, best_per_document=True), ctx.params)
    citations: list[Citation] = []
    units = group(accepted, citations)
    related_units = group(related, citations)
    if not units:
        lines = [f"未在已收录报告中找到提到“{u.topic}”的单位。"]
    else:
        lines = [f"共有 {len(units)} 个单位提到“{u.topic}”："]
        lines += [unit_line(f"{n}. ", ue, citations) for n, ue in enumerate(units, 1)]
    if related_units:
        lines.append(RELATED_HEADER)
        lines += [unit_line("- ", ue, citations) for ue in related_units]
    return Answer("\n".join(lines), "aggregate", u.standalone, citations, units, related_units, u.filters)
