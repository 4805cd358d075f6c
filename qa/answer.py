"""Question → answer with verified citations: understand the question, then answer it by kind (qa.answering).

Three answer kinds:
- aggregate ("哪些单位…"): every document the filters admit, one verdict per document, grouped by unit, each unit
  with its cited sentence; near misses listed separately as related (qa.answering.aggregate); follow-ups about
  named units answered per unit (qa.answering.per_unit);
- lookup: the sentence(s) that answer, cited (qa.answering.lookup);
- unanswerable: 未在已收录报告中找到… plus the nearest passages.
The extractive composer is deterministic and needs no LLM: every sentence of an answer is a quoted source
sentence with its [n] marker.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from qa.answering.aggregate import aggregate_evidence, answer_aggregate, select_units
from qa.answering.context import AnswerContext
from qa.answering.lookup import LookupEvidence, answer_lookup, choose_lookup, lookup_evidence
from qa.answering.per_unit import answer_per_unit
from qa.answering.result import Answer, Citation, Kind, UnitEvidence, decline
from qa.evidence import EvidenceParams, Sentence, Topic
from qa.findings import FindingsIndex
from qa.llm import LLMComposer
from qa.retrieve import Filters, Retriever
from qa.understand import Turn, Understood, understand, unit_aliases

__all__ = [
    "Answer", "Answerer", "Citation", "Kind", "LookupEvidence", "UnitEvidence", "choose_lookup", "select_units",
]

# An organisation named in a question ("长沙市财政局") that no stored report belongs to.
_ORG = re.compile(r"[\u4e00-\u9fa5]{2,14}?(?:局|中心|委员会|管委会|办公室|政府|医院|学校|研究院)")
_NOT_ORG = re.compile(r"哪|单位|提到|是否|什么|多少|如何|怎么|的|和|与|在")


class Answerer:
    """Routes a question to its answer kind; everything the answer paths read is in `ctx`."""

    def __init__(self, retriever: Retriever, params: EvidenceParams | None = None, composer: LLMComposer | None = None) -> None:
        self.ctx = AnswerContext.of(retriever, params, composer)

    @property
    def retriever(self) -> Retriever:
        return self.ctx.retriever

    @property
    def params(self) -> EvidenceParams:
        return self.ctx.params

    @property
    def findings(self) -> FindingsIndex:
        """The store's findings (loaded on first use: the taxonomy file is read then; TaxonomyError if broken)."""
        return self.ctx.findings.get()

    def warm(self) -> None:
        """Load the findings view now (stored rows, vectors, categories, token sets), so the first aggregate question
        does not wait for it. Later documents are added to it one by one."""
        findings = self.ctx.findings.usable()
        if findings is not None:
            findings.view()

    def ask(self, question: str, history: Sequence[Turn] = (), filters: Filters | None = None, top_k: int | None = None) -> Answer:
        catalogue = list(self.ctx.retriever.catalogue().values())
        u = understand(question, history, catalogue, filters)
        unknown = self.unknown_entity(u)
        if unknown:
            return decline(u, f"未在已收录报告中找到{unknown}的报告。", [])
        if u.intent == "aggregate" and u.units:
            return answer_per_unit(self.ctx, u, top_k)
        if u.intent == "aggregate":
            return answer_aggregate(self.ctx, u)
        return answer_lookup(self.ctx, u, top_k)

    def unknown_entity(self, u: Understood) -> str | None:
        """An organisation or year the question names that no stored report matches."""
        catalogue = self.ctx.retriever.catalogue().values()
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

    # --- the evidence behind answers, for tuning and tests ------------------------------------------------

    def aggregate_evidence(self, u: Understood, vec: np.ndarray | None = None, *, best_per_document: bool = False) -> list[Sentence]:
        """The corpus-wide aggregate pass (`vec`: the topic's embedding when the caller has it)."""
        return aggregate_evidence(self.ctx, u, None if vec is None else Topic(u.topic, vec), best_per_document=best_per_document)

    def lookup_evidence(self, u: Understood, top_k: int | None = None) -> LookupEvidence:
        return lookup_evidence(self.ctx, u, top_k)
