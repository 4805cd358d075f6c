"""Question → answer with verified citations: understand, retrieve, pick evidence sentences, compose.

Three answer kinds (DESIGN.md §4):
- aggregate ("哪些单位…"): an exhaustive pass over every document the filters admit, one verdict per
  document from its best sentence, grouped by unit, each unit with its cited sentence; near misses are
  listed separately as related and never counted;
- lookup: the sentence(s) that answer, cited;
- unanswerable: 未在已收录报告中找到… plus the nearest passages.
The extractive composer is deterministic and needs no LLM: every sentence of an answer is a quoted source
sentence with its [n] marker.
"""

from __future__ import annotations

import ctypes
import gc
import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from qa.lexical import LexicalIndex, tokenize
from qa.llm import LLMComposer, Passage
from qa.evidence import Candidate, EvidenceParams, Sentence, SentenceVectors, score_candidates, score_sentences
from qa.findings import FindingsIndex, TaxonomyError, open_findings
from qa.findings.evidence import finding_sentences
from qa.retrieve import Filters, Hit, Retriever
from qa.sentences import ChunkSource, SentenceStore, entry_key, prepare_missing
from qa.understand import RELATED_HEADER, Turn, Understood, understand, unit_aliases

log = logging.getLogger("qa.answer")
Kind = Literal["aggregate", "lookup", "unanswerable"]
# An organisation named in a question ("长沙市财政局") that no stored report belongs to.
_ORG = re.compile(r"[\u4e00-\u9fa5]{2,14}?(?:局|中心|委员会|管委会|办公室|政府|医院|学校|研究院)")
_NOT_ORG = re.compile(r"哪|单位|提到|是否|什么|多少|如何|怎么|的|和|与|在")
# Background sentence pass (qa.sentences): sentences per model call and the pause after each (measured at 10k
# chunks while a client searched: see docs/benchmarks.md, "Session 8").
_PASS_SLICE = 8
_PASS_PAUSE = 0.002
_ROLE_WORDS = (("measures", re.compile(r"措施|建议|改进|整改|下一步")), ("problems", re.compile(r"问题|不足|困难|短板")))


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


@dataclass(frozen=True)
class LookupEvidence:
    hits: list[Hit]
    sentences: list[Sentence]
    role: str | None  # the section role the question asks for (措施 → measures), if any
    from_section: bool  # hits are that unit's section itself: its content answers, whatever the wording


def choose_lookup(sentences: Sequence[Sentence], role: str | None, from_section: bool, p: EvidenceParams) -> list[Sentence]:
    """The answering sentences, best first; [] when the best one is too weak to answer (declined)."""
    if not sentences or (sentences[0].score < p.lookup_threshold and not from_section):
        return []
    best = sentences[0]
    # A list answer (措施/问题) takes the unit's next items too; a number answer stays one sentence.
    window = 1.0 if from_section else 0.1 if role else 0.03
    return [best] + [s for s in sentences[1 : 4 if role else 3] if s.doc_id == best.doc_id and best.score - s.score < window]


def _asked_role(question: str) -> str | None:
    return next((role for role, cue in _ROLE_WORDS if cue.search(question)), None)


def _return_freed_memory() -> None:
    """Hand the heap pages freed by the start-up loads back to the OS: glibc keeps them otherwise (reading every
    stored finding row at 100k chunks left 170 MB of freed but resident memory). A no-op without glibc."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


class Answerer:
    def __init__(self, retriever: Retriever, params: EvidenceParams | None = None, composer: LLMComposer | None = None) -> None:
        self.retriever = retriever
        self.params = params or EvidenceParams()
        self.vectors = SentenceVectors(retriever.embedder)
        settings = retriever.settings
        self.sentences = SentenceStore(settings.data_dir / "sentences" / settings.collection, retriever.embedder.query_model_id)
        self.composer = composer
        self._findings: FindingsIndex | None = None
        self._keys_of: tuple[LexicalIndex, list[int]] | None = None

    @property
    def findings(self) -> FindingsIndex:
        """The store's findings (loaded on first use: the taxonomy file is read then)."""
        if self._findings is None:
            self._findings = open_findings(self.retriever)
        return self._findings

    def ask(self, question: str, history: Sequence[Turn] = (), filters: Filters | None = None, top_k: int | None = None) -> Answer:
        catalogue = list(self.retriever.catalogue().values())
        u = understand(question, history, catalogue, filters)
        unknown = self._unknown_entity(u)
        if unknown:
            return self._decline(u, f"未在已收录报告中找到{unknown}的报告。", [])
        if u.intent == "aggregate" and u.units:
            return self._per_unit(u, top_k)
        if u.intent == "aggregate":
            return self._aggregate(u)
        return self._lookup(u, top_k)

    # --- helpers -----------------------------------------------------------------------------------------

    def _unknown_entity(self, u: Understood) -> str | None:
        """An organisation or year the question names that no stored report matches."""
        catalogue = self.retriever.catalogue().values()
        if u.filters.year is not None and not any(d.doc.year == u.filters.year for d in catalogue):
            return f"{u.filters.year}年"
        if u.filters.unit or u.units or u.intent == "aggregate":
            return None
        aliases = [a for d in catalogue if d.doc.unit for a in unit_aliases(d.doc.unit, d.doc.region)]
        for m in _ORG.finditer(u.standalone):
            name = m.group(0)
            if _NOT_ORG.search(name):
                continue
            if not any(name in a or a in name for a in aliases) and not any(name in d.doc.title for d in catalogue):
                return name
        return None

    def _decline(self, u: Understood, message: str, nearest: list[Hit]) -> Answer:
        citations = [Citation(i, h, h.text, h.char_start, h.char_end, round(h.score, 4)) for i, h in enumerate(nearest[:3], start=1)]
        text = message + ("以下是最接近的段落，供参考：" + "".join(f"[{c.id}]" for c in citations) if citations else "")
        return Answer(text, "unanswerable", u.standalone, citations, None, [], u.filters)

    def _candidates(self, query: str, vec: np.ndarray, filters: Filters, depth: int) -> list[Hit]:
        """Dense ∪ BM25 candidates, `depth` from each side (aggregate: the whole admitted corpus)."""
        dense = self.retriever.dense(query, depth, filters, vector=vec)
        lexical = self.retriever.bm25(query, depth, filters)
        return list({h.id: h for h in dense + lexical}.values())

    # --- aggregate -----------------------------------------------------------------------------------------

    def aggregate_evidence(self, u: Understood, vec: np.ndarray | None = None, *, best_per_document: bool = False) -> list[Sentence]:
        """`vec`: the topic's embedding when the caller has it (computed once per request). `best_per_document`:
        only each document's best sentence (all an answer needs; the others are for tuning)."""
        vec = self.retriever.queries.encode(u.topic) if vec is None else vec
        p = self.params
        # Recall far beyond a top-k: every admitted document with a lexical or dense match is a candidate,
        # through its best few chunks on each side (so the work grows with matching documents, not chunks).
        picked = self.retriever.candidate_chunks(u.topic, u.filters, vector=vec, per_doc=p.aggregate_chunks_per_doc)
        lexical, keys = self._entry_keys()
        rows = lexical.rows_of(picked).tolist()
        # A chunk committed since the index was read has no row yet: a key no entry has, so it is prepared now.
        candidates = [Candidate(i, keys[r] if r >= 0 else entry_key(i, -1), sim) for (i, sim), r in zip(picked.items(), rows)]
        nearest = {c.id for c in sorted(candidates, key=lambda c: -c.similarity)[: p.aggregate_meaning_chunks]}
        self.sentences.refresh()
        return score_candidates(
            u.topic, vec, candidates, self.retriever.catalogue(), self.sentences, self.retriever.store.get_chunks, self.vectors, p, lexical,
            unrelated_only_from=nearest, best_per_document=best_per_document,
        )

    def _aggregate(self, u: Understood) -> Answer:
        topic = u.topic
        vec = self.retriever.queries.encode(topic)
        accepted, related = self._finding_units(u, vec) or select_units(self.aggregate_evidence(u, vec, best_per_document=True), self.params)

        citations: list[Citation] = []
        units = self._group(accepted, citations)
        related_units = self._group(related, citations)
        if not units:
            lines = [f"未在已收录报告中找到提到“{topic}”的单位。"]
        else:
            lines = [f"共有 {len(units)} 个单位提到“{topic}”："]
            lines += [f"{n}. {ue.unit}：" + "".join(self._quote(citations, cid) for cid in ue.citation_ids) for n, ue in enumerate(units, 1)]
        if related_units:
            lines.append(RELATED_HEADER)
            lines += [f"- {ue.unit}：" + "".join(self._quote(citations, cid) for cid in ue.citation_ids) for ue in related_units]
        return Answer("\n".join(lines), "aggregate", u.standalone, citations, units, related_units, u.filters)

    def _usable_findings(self) -> FindingsIndex | None:
        try:
            return self.findings
        except TaxonomyError as exc:  # a broken QA_TAXONOMY must not break answers: the corpus-wide pass still works
            log.warning("findings unavailable, answering without them: %s", exc)
            return None

    def warm(self) -> None:
        """Load the findings view now (stored rows, vectors, categories, token sets: 5 s at 10k chunks), so the
        first aggregate question does not wait for it. Later documents are added to it one by one."""
        findings = self._usable_findings()
        if findings is not None:
            findings.view()
        # Everything loaded so far lives as long as the process: move it out of the collector's reach. At 100k
        # chunks a full pass over the ~1 M startup objects took 0.6 s and landed inside aggregate answers.
        gc.freeze()
        _return_freed_memory()

    def prepare_sentences(self, stop: threading.Event | None = None, progress: Callable[[int, int], None] | None = None) -> int:
        """Prepare the sentences of every indexed chunk that has none yet (qa.sentences); how many were prepared."""
        lexical, keys = self._entry_keys()

        def chunks(positions: list[int]) -> list[ChunkSource]:
            by_id = {r.id: r for r in self.retriever.store.get_chunks([lexical.ids[p] for p in positions])}
            return [ChunkSource.of_row(by_id[lexical.ids[p]], keys[p]) for p in positions if lexical.ids[p] in by_id]

        done = prepare_missing(self.sentences, keys, chunks, self._encode_in_background, stop, progress)
        self.sentences.compact(np.asarray(keys, dtype=np.int64))  # entries of deleted chunks, one small segment per upload
        return done

    def _encode_in_background(self, texts: list[str]) -> np.ndarray:
        """The pass's embedding: a few sentences per model call, then a pause. A lock is not fair: released and
        taken again at once by the pass, it kept a waiting search from the shared model for seconds."""
        parts = []
        for i in range(0, len(texts), _PASS_SLICE):
            parts.append(self.vectors.get(texts[i : i + _PASS_SLICE]))
            time.sleep(_PASS_PAUSE)
        return np.concatenate(parts)

    def sentences_prepared(self) -> int:
        """How many of the indexed chunks have their sentences prepared."""
        self.sentences.refresh()
        return int((self.sentences.find(np.asarray(self._entry_keys()[1], dtype=np.int64))[0] >= 0).sum())

    def _entry_keys(self) -> tuple[LexicalIndex, list[int]]:
        """The current lexical index and the entry key of each of its rows (computed once per index)."""
        lexical = self.retriever.lexical()
        cached = self._keys_of
        if cached is None or cached[0] is not lexical:
            assert lexical.keys is not None  # the retriever rebuilds an index saved without them
            cached = self._keys_of = (lexical, [entry_key(i, k) for i, k in zip(lexical.ids, lexical.keys.tolist())])
        return cached

    def _finding_units(self, u: Understood, vec: np.ndarray) -> tuple[list[Sentence], list[Sentence]] | None:
        """Problems/measures aggregates answered from the findings first (qa.findings.evidence); None (→ the
        corpus-wide pass above) when the topic is not about findings or no finding passes verification."""
        findings = self._usable_findings()
        if findings is None:
            return None
        # select_units reads each document's best sentence, and only if it clears the lower threshold.
        floor = min(self.params.aggregate_threshold, self.params.related_threshold)
        sentences = finding_sentences(findings, u.topic, vec, u.filters, self.params, self.retriever.lexical(), min_score=floor, best_per_document=True)
        accepted, related = select_units(sentences, self.params)
        return (accepted, related) if accepted else None

    @staticmethod
    def _quote(citations: list[Citation], cid: int) -> str:
        return f"{citations[cid - 1].text.strip()}[{cid}]"

    @staticmethod
    def _group(sentences: list[Sentence], citations: list[Citation]) -> list[UnitEvidence]:
        """One entry per unit (file name when unknown), best first; appends the citations it uses."""
        grouped: dict[str, UnitEvidence] = {}
        for s in sentences:
            name = s.hit.doc.display_unit
            cid = len(citations) + 1
            citations.append(Citation(cid, s.hit, s.text, s.char_start, s.char_end, s.score))
            if name in grouped:
                prev = grouped[name]
                grouped[name] = UnitEvidence(prev.unit, prev.doc_id, prev.source, prev.citation_ids + (cid,))
            else:
                grouped[name] = UnitEvidence(name, s.doc_id, s.hit.doc.source, (cid,))
        return list(grouped.values())

    # --- per-unit follow-ups ("它们分别提出了什么改进措施？") ----------------------------------------------------

    def _per_unit(self, u: Understood, top_k: int | None) -> Answer:
        role = _asked_role(u.topic)
        vec = self.retriever.queries.encode(u.topic)
        citations: list[Citation] = []
        lines: list[str] = []
        picked: list[Sentence] = []
        for unit in u.units:
            filters = Filters(year=u.filters.year, unit=unit, report_kind=u.filters.report_kind, section_role=role)
            hits = self._candidates(u.topic, vec, filters, top_k or 8) or self._candidates(
                u.topic, vec, Filters(year=u.filters.year, unit=unit), top_k or 8
            )
            # The unit's three best sentences, read in document order.
            scored = score_sentences(u.topic, vec, hits, self.vectors, self.params, self.retriever.lexical(), lexical_weight=self.params.lookup_lexical_weight)
            picked += sorted(scored[:3], key=lambda s: s.char_start)
        units = self._group(picked, citations)
        for ue in units:
            lines.append(f"{ue.unit}：" + "".join(self._quote(citations, cid) for cid in ue.citation_ids))
        missing = [x for x in u.units if x not in {ue.unit for ue in units}]
        lines += [f"{x}：未在其报告中找到相关内容。" for x in missing]
        return Answer("\n".join(lines), "aggregate", u.standalone, citations, units, [], u.filters)

    # --- lookup ------------------------------------------------------------------------------------------------

    def lookup_evidence(self, u: Understood, top_k: int | None = None) -> LookupEvidence:
        vec = self.retriever.queries.encode(u.standalone)
        role = _asked_role(u.standalone)
        hits: list[Hit] = []
        if role and u.filters.unit and not u.filters.section_role:
            # "某单位提出了哪些改进措施？": that unit's measures section is the answer, whatever its wording.
            hits = self.retriever.search(u.standalone, top_k=top_k or 8, filters=replace(u.filters, section_role=role), vector=vec)
        from_section = bool(hits)
        hits = hits or self.retriever.search(u.standalone, mode="hybrid", top_k=top_k or 8, filters=u.filters, vector=vec)
        # Unit names match every sentence of their own report's prefix; they are not evidence of an answer.
        ignore = [t for name in {h.doc.unit for h in hits} for t in tokenize(name)]
        p = self.params
        sentences = score_sentences(
            u.standalone, vec, hits, self.vectors, p, self.retriever.lexical(), lexical_weight=p.lookup_lexical_weight, wants_number=u.wants_number, ignore_tokens=ignore
        )
        return LookupEvidence(hits, sentences, role, from_section)

    def _lookup(self, u: Understood, top_k: int | None) -> Answer:
        ev = self.lookup_evidence(u, top_k)
        if not ev.hits:
            return self._decline(u, "未在已收录报告中找到与该问题相关的内容。", [])
        chosen = choose_lookup(ev.sentences, ev.role, ev.from_section, self.params)
        if not chosen:
            return self._decline(u, "未在已收录报告中找到能回答该问题的内容。", ev.hits)
        if self.composer is not None:
            written = self._written(u, ev.hits)
            if written is not None:
                return written
        best = chosen[0]
        chosen.sort(key=lambda s: s.char_start)
        citations = [Citation(i, s.hit, s.text, s.char_start, s.char_end, s.score) for i, s in enumerate(chosen, 1)]
        body = "".join(f"{c.text.strip()}[{c.id}]" for c in citations)
        return Answer(f"{best.hit.doc.display_unit}：{body}", "lookup", u.standalone, citations, None, [], u.filters)

    def _written(self, u: Understood, hits: list[Hit]) -> Answer | None:
        """The LLM's answer, checked sentence by sentence; None (→ extractive) when the model fails."""
        assert self.composer is not None
        passages = [Passage(n, h.doc.display_unit, h.section, h.text) for n, h in enumerate(hits[: self.retriever.settings.llm_passages], 1)]
        try:
            composed = self.composer.compose(u.standalone, passages)
        except Exception as exc:  # network, timeout, malformed reply: the extractive answer still stands
            log.warning("LLM composer failed, answering extractively: %s", type(exc).__name__)
            return None
        if not composed.text or composed.text.startswith("未在已收录报告中找到"):
            # The extractive evidence already passed the lookup threshold: a small model that declines, or
            # whose every sentence failed verification, does not overrule it (make test-llm: 2 of 4 lookups).
            log.info("LLM composer gave no supported answer; answering extractively")
            return None
        citations = [Citation(n, hits[n - 1], hits[n - 1].text, hits[n - 1].char_start, hits[n - 1].char_end, round(hits[n - 1].score, 4)) for n in composed.cited]
        return Answer(composed.text, "lookup", u.standalone, citations, None, [], u.filters, composed.dropped, "llm")
