"""Findings as the evidence of aggregate questions about problems or measures.

"哪些单位提到预算编制不够细化？" asks what reports state as problems, and the findings of every admitted document are
exactly those statements, cut at item boundaries, embedded at ingest and sorted into the taxonomy's concepts
(qa.findings.taxonomy). Membership is decided per document with an absolute criterion:

- a topic that maps onto a concept (`Categorizer.topic_concept`: 预算编制不够细化, 预算做得太粗, 年初预算安排比较
  笼统 all map onto 预算编制不够细化) lists every document with a finding of the asked role whose sentence states that
  concept (`Categorizer.accepted`) — so every wording of one question gives one list, and a unit is listed for
  what its report says, not for how close it comes to the best unit;
- a problem or measure topic of no concept is scored sentence by sentence (qa.evidence: cosine + idf-weighted
  coverage) against an absolute floor, and must repeat the topic's key words (`KeyTerms`).

Near misses are listed apart with the reason they were not counted: the concept stated only as a measure (or only
as a problem, for a measure question), or stated too vaguely to decide.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ingest.schema import SECTION_ROLE_OF_FINDING
from qa.evidence import Counted, Coverage, KeyTerms, Scoring, Sentence, SentenceList, Topic, combine
from qa.findings.columns import Rows
from qa.findings.index import FindingsIndex, View
from qa.findings.taxonomy import Categorizer
from qa.lexical import tokenize
from qa.retrieve import Filters, Hit

RELATED_MAX = 5
REASON_AS_MEASURE = "仅在改进措施中提到，未作为存在的问题"
REASON_AS_PROBLEM = "作为存在的问题提到，未提出相应措施"
REASON_VAGUE = "表述相近，但不足以确定是同一问题"
REASON_DENIED = "报告写的是未发生或不存在，与问题相反"
REASON_PLANNED = "报告写的是计划或打算，尚未做到"
REASON_UNDONE = "报告写的是尚未做到，与问题相反"
REASON_NOT_DENIED = "报告没有写明未发生或不存在"


@dataclass(frozen=True)
class Related:
    sentence: Sentence
    reason: str


@dataclass(frozen=True)
class FindingVerdict:
    """Which documents state the topic (one cited sentence each, best first), the near misses, and the concept
    the topic was mapped onto (None: scored sentence by sentence)."""

    accepted: Counted
    related: list[Related]
    concept: str | None = None


def _sentences(
    view: View,
    rows: np.ndarray,
    scores: np.ndarray,
    similarity: np.ndarray | None = None,
    coverage: np.ndarray | None = None,
) -> list[Sentence]:
    """Sentence rows `rows` (with their score, and for scored topics cosine and coverage) in the shape answers cite,
    each with its finding as the hit, straight from the view's columns, every string column decoded in one go (an
    aggregate at 100k chunks cites ~4,000). The caller's view, read once per question: reading it checks the
    catalogue (milliseconds at 100k documents)."""
    t = view.table
    rows = np.asarray(rows, dtype=np.int64)
    found = view.row_finding[rows]
    ids, sections, texts, said = t.ids.many(found), t.section.many(found), t.text.many(found), t.row_text.many(rows)
    # Plain Python values, gathered once: numpy scalar indexing per sentence cost more than the rest of the loop.
    codes, problem, spans = t.code[found].tolist(), t.problem[found].tolist(), t.span[found].tolist()
    row_spans = t.row_span[rows].tolist()
    zero = [0.0] * len(rows)
    score_list = [round(x, 4) for x in np.asarray(scores, dtype=np.float64).tolist()]
    sims = zero if similarity is None else np.asarray(similarity, dtype=np.float64).tolist()
    covs = zero if coverage is None else np.asarray(coverage, dtype=np.float64).tolist()
    role = {
        True: SECTION_ROLE_OF_FINDING.get("problem", "other"),
        False: SECTION_ROLE_OF_FINDING.get("measure", "other"),
    }
    out = []
    for i, code in enumerate(codes):
        key = view.docs[code]
        assert key is not None, "a finding of a departed document"
        hit = Hit(
            id=ids[i],
            doc=key[2],
            section=sections[i],
            section_role=role[problem[i]],
            text=texts[i],
            char_start=spans[i][0],
            char_end=spans[i][1],
            chunk_index=-1,
            score=0.0,
        )
        out.append(Sentence(hit, said[i], row_spans[i][0], row_spans[i][1], score_list[i], sims[i], covs[i], True))
    return out


class ViewSentences(Counted):
    """Counted sentence rows of a view (with their scores), built into Sentences only when read."""

    def __init__(
        self,
        view: View,
        rows: np.ndarray,
        scores: np.ndarray,
        similarity: np.ndarray | None = None,
        coverage: np.ndarray | None = None,
    ) -> None:
        self._view, self._rows, self._scores = view, np.asarray(rows, dtype=np.int64), np.asarray(scores)
        self._similarity, self._coverage = similarity, coverage

    def __len__(self) -> int:
        return len(self._rows)

    def units(self) -> list[str]:
        docs = self._view.docs
        out = []
        for code in self._view.row_doc[self._rows].tolist():
            key = docs[code]
            assert key is not None, "a finding of a departed document"
            out.append(key[2].display_unit)
        return out

    def take(self, positions: Sequence[int]) -> list[Sentence]:
        at = np.asarray(positions, dtype=np.int64)
        return _sentences(
            self._view,
            self._rows[at],
            self._scores[at],
            None if self._similarity is None else self._similarity[at],
            None if self._coverage is None else self._coverage[at],
        )


def _best_per_document(view_row_doc: np.ndarray, rows: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Of `rows` (with their `scores`), each document's best row (earliest on ties), best first."""
    if not len(rows):
        return rows
    order = np.lexsort((rows, -scores, view_row_doc[rows]))
    rows, scores = rows[order], scores[order]
    docs = view_row_doc[rows]
    first = np.r_[True, docs[1:] != docs[:-1]]
    rows, scores = rows[first], scores[first]
    return rows[np.lexsort((rows, -scores))]


def _of_documents(view: View, codes: np.ndarray) -> np.ndarray:
    """bool per row: its document is one of `codes`."""
    mask = np.zeros(len(view.docs), dtype=bool)
    mask[codes] = True
    out: np.ndarray = mask[view.row_doc]
    return out


def _admitted_rows(index: FindingsIndex, view: View, filters: Filters) -> np.ndarray:
    """bool per row: its document is live, committed and admitted by `filters`."""
    catalogue = index.retriever.catalogue()
    # Codes of departed documents are None: their rows stay in the view until it is rebuilt, never admitted.
    if filters.on_documents:
        admitted = np.fromiter(
            (k is not None and k[0] in catalogue and filters.admits(catalogue[k[0]].doc) for k in view.docs),
            dtype=bool,
            count=len(view.docs),
        )
    else:  # no filter: every live document (one array, not a Python test per document: 77k at 1M chunks)
        admitted = view.live_codes()
    return admitted[view.row_doc] if len(admitted) else np.zeros(len(view.row_doc), dtype=bool)


def concept_verdict(index: FindingsIndex, concept: int, role: str, filters: Filters) -> FindingVerdict:
    """Every admitted document with a `role` finding (problem | measure) stating `concept`; near misses apart."""
    view = index.view()
    ok = index.accepted(view)[:, concept]
    scores = view.row_scores[:, concept] if len(view.row_scores) else np.zeros(0, dtype=np.float32)
    admitted = _admitted_rows(index, view, filters)
    own = view.row_problem if role == "problem" else view.row_measure
    other = view.row_measure if role == "problem" else view.row_problem
    params = index.categorizer.params
    floor = params.threshold - params.related_gap
    states = ok & own
    if params.paired_margin >= 0 and len(view.row_scores):
        # A problem described in everyday words ("申报项目时写的预期成效多是“明显提升”之类的话") often scores below the
        # threshold, or within the margin of a neighbour concept, while the same report's measures name the concept
        # plainly ("加强绩效目标审核，确保指标可衡量"). Such a sentence states the concept when it is the sentence's best
        # (or within `paired_margin` of it), reaches the threshold, leads 其他 by the margin, and its report states the
        # concept in the other role too: two sentences of one report agreeing, each judged by the one categoriser.
        near_best = scores >= view.row_top - params.paired_margin
        a_concept = scores >= view.row_scores[:, index.categorizer.fallback_index] + params.margin  # not 其他
        backed = _of_documents(view, view.row_doc[ok & other])
        states = states | (own & ~ok & (scores >= params.threshold) & near_best & a_concept & backed)
    counted = _best_per_document(view.row_doc, np.flatnonzero(states & admitted), scores[states & admitted])
    accepted = ViewSentences(view, counted, scores[counted])
    reason = REASON_AS_MEASURE if role == "problem" else REASON_AS_PROBLEM
    # Near misses about the same concept, from documents not counted: stated in the other role, or this concept is
    # the sentence's best but not clearly enough (below the threshold or the lead it needs). Best first (earliest
    # row on ties), one per document. In arrays: at 1M chunks the other-role rows alone are ~100k.
    as_other = ok & other & admitted
    vague = ~ok & (view.row_best == concept) & own & admitted & (scores >= floor)
    near = np.flatnonzero((as_other | vague) & ~_of_documents(view, view.row_doc[counted]))
    near = near[np.lexsort((near, -scores[near]))]
    _, first = np.unique(view.row_doc[near], return_index=True)
    near = near[np.sort(first)][:RELATED_MAX]
    reasons = [reason if o else REASON_VAGUE for o in as_other[near].tolist()]
    related = [Related(s, why) for s, why in zip(_sentences(view, near, scores[near]), reasons, strict=True)]
    return FindingVerdict(accepted, related, index.categorizer.categories[concept].name)


_COSINE_BLOCK = 65536  # rows per float32 block: float16 matmul has no BLAS, and a block bounds the float32 copy


def _cosines(vectors: Rows, rows: np.ndarray, topic: np.ndarray) -> np.ndarray:
    """Cosine of each of `rows` of the (float16) view vectors with the topic vector, in float64. The pages of
    memory-mapped vectors this read are given back afterwards (qa.findings.columns)."""
    import torch  # loaded already by the query model (qa.embeddings)

    out = np.empty(len(rows), dtype=np.float64)
    wide = topic.astype(np.float32)
    buffer = torch.empty((min(len(rows), _COSINE_BLOCK), wide.shape[0]), dtype=torch.float32)
    for start in range(0, len(rows), _COSINE_BLOCK):
        block = rows[start : start + _COSINE_BLOCK]
        # float16 → float32 through torch (vectorised, into one buffer): numpy's astype was 0.64 of the 0.87 s
        # this took for a measures topic at 1M chunks. The values and the product's blocks are the same as before.
        part = buffer[: len(block)]
        part.copy_(torch.from_numpy(vectors.take(block)))
        out[start : start + len(block)] = part.numpy() @ wide
    vectors.release()
    return out


def scored_verdict(index: FindingsIndex, scoring: Scoring, topic: Topic, role: str, filters: Filters) -> FindingVerdict:
    """A problem or measure topic of no concept: each `role` finding sentence scored against the topic (cosine +
    idf-weighted coverage), counted at or above the absolute floor when it repeats the topic's key words."""
    view = index.view()
    p = scoring.params
    own = (view.row_problem if role == "problem" else view.row_measure) & _admitted_rows(index, view, filters)
    rows = np.flatnonzero(own)
    if not len(rows):
        return FindingVerdict(SentenceList([]), [])
    sims = _cosines(view.vectors, rows, topic.vector)
    topic_tokens = set(tokenize(topic.text))
    cov = Coverage(topic_tokens, scoring.lexical.idf).of_postings(view.postings, len(view.vectors))[rows]
    key = KeyTerms(topic_tokens, scoring.lexical.idf).of_postings(view.postings, len(view.vectors))[rows]
    scores = np.round(combine(sims, cov, p.aggregate_lexical_weight), 4)
    keyed = key >= p.key_coverage
    counted_local = np.flatnonzero((scores >= p.aggregate_threshold) & keyed)
    counted = _best_per_document(view.row_doc, rows[counted_local], scores[counted_local])
    at = np.searchsorted(rows, counted)  # `rows` ascending: each counted row's position in the scored arrays
    accepted = ViewSentences(view, counted, scores[at], sims[at], cov[at])
    taken = set(view.row_doc[counted].tolist())
    near_local = np.flatnonzero((scores >= p.related_threshold) & keyed & ~np.isin(view.row_doc[rows], list(taken)))
    near = _best_per_document(view.row_doc, rows[near_local], scores[near_local])[:RELATED_MAX]
    at = np.searchsorted(rows, near)
    related = [Related(s, REASON_VAGUE) for s in _sentences(view, near, scores[at], sims[at], cov[at])]
    return FindingVerdict(accepted, related)


def topic_concept(categorizer: Categorizer, text: str, vector: np.ndarray) -> int | None:
    """The concept a question's topic maps onto, with its key words (`Categorizer.topic_concept`): how answers map
    it, and what scripts/scale_check.py measures."""
    return categorizer.topic_concept(text, vector, KeyTerms.key_words(set(tokenize(text))))


def finding_verdict(
    index: FindingsIndex, scoring: Scoring, topic: Topic, role: str, filters: Filters
) -> FindingVerdict:
    """The verdict of a problem or measure topic: through its concept when it maps onto one, else scored."""
    concept = topic_concept(index.categorizer, topic.text, topic.vector)
    if concept is not None:
        return concept_verdict(index, concept, role, filters)
    return scored_verdict(index, scoring, topic, role, filters)
