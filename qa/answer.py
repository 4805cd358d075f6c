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

from collections.abc import Sequence

import numpy as np

from qa.answering.aggregate import (
    aggregate_evidence,
    answer_aggregate,
    answer_report_count,
    asks_report_count,
    select_units,
)
from qa.answering.context import AnswerContext
from qa.answering.figures import answer_figures, figures_question
from qa.answering.lookup import LookupEvidence, answer_lookup, choose_lookup, lookup_evidence
from qa.answering.per_unit import answer_per_unit
from qa.answering.result import Answer, Citation, Kind, Page, UnitEvidence, decline
from qa.answering.scope import out_of_scope
from qa.evidence import EvidenceParams, Sentence, Topic
from qa.findings import FindingsIndex
from qa.llm import LLMComposer
from qa.retrieve import Filters, Retriever
from qa.understand import Turn, Understood, catalogue_names, understand

__all__ = [
    "Answer",
    "Answerer",
    "Citation",
    "Kind",
    "LookupEvidence",
    "Page",
    "UnitEvidence",
    "choose_lookup",
    "select_units",
]


class Answerer:
    """Routes a question to its answer kind; everything the answer paths read is in `ctx`."""

    def __init__(
        self, retriever: Retriever, params: EvidenceParams | None = None, composer: LLMComposer | None = None
    ) -> None:
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
        """Load the findings view now (stored rows, vectors, categories, accepted concepts, token sets), so the first
        aggregate question does not wait for it. Later documents are added to it one by one. Also the catalogue's
        names as questions match them (1M chunks: ~0.8 s once), and what the corpus-wide pass looks candidates up
        in: each BM25 row's sentence entry key, the index's chunk id → row map, each document's unit (1M chunks:
        ~2 s, which the first such question paid)."""
        catalogue_names(self.ctx.records())
        lexical, _ = self.ctx.entry_keys()
        lexical.rows_of([])  # builds the map
        self.ctx.doc_units(lexical.doc_names(), self.retriever.catalogue())
        findings = self.ctx.findings.usable()
        if findings is not None:
            findings.accepted(findings.view())  # the view and each sentence's accepted concepts
            findings.categorizer.prepare()  # a restored view needs no scoring, but every question's topic does

    def ask(
        self,
        question: str,
        history: Sequence[Turn] = (),
        filters: Filters | None = None,
        top_k: int | None = None,
        page: Page | None = None,
    ) -> Answer:
        """`page`: which units an aggregate answer lists (None: every unit, as evaluations need)."""
        u = understand(question, history, self.ctx.records(), filters)
        unknown = self.unknown_entity(u)
        if unknown:
            return decline(u, unknown, [])
        if u.intent == "lookup" and asks_report_count(u.standalone, self._scope_names(u)):
            return answer_report_count(self.ctx, u)
        figures = figures_question(self.ctx, u)
        if figures is not None:
            return answer_figures(self.ctx, u, figures, top_k)
        if u.intent == "aggregate" and u.units:
            return answer_per_unit(self.ctx, u, top_k)
        if u.intent == "aggregate":
            if u.offset and not (page and page.offset):  # "继续": the next page, as many units as asked
                page = Page(u.offset, page.limit if page else None)
            return answer_aggregate(self.ctx, u, page)
        return answer_lookup(self.ctx, u, top_k)

    def _scope_names(self, u: Understood) -> list[str]:
        """The names a question may give the unit or place it is scoped to."""
        names = catalogue_names(self.ctx.records())
        return [*names.names_of((u.filters.unit,)), *names.region_parts]

    def unknown_entity(self, u: Understood) -> str | None:
        """The decline message when the question names a unit, region or year no stored report has."""
        return out_of_scope(u, self.ctx.records())

    # --- the evidence behind answers, for tuning and tests ------------------------------------------------

    def aggregate_evidence(
        self, u: Understood, vec: np.ndarray | None = None, *, best_per_document: bool = False
    ) -> list[Sentence]:
        """The corpus-wide aggregate pass (`vec`: the topic's embedding when the caller has it)."""
        return list(
            aggregate_evidence(
                self.ctx, u, None if vec is None else Topic(u.topic, vec), best_per_document=best_per_document
            )
        )

    def lookup_evidence(self, u: Understood, top_k: int | None = None) -> LookupEvidence:
        return lookup_evidence(self.ctx, u, top_k)
