"""What answering reads, gathered once per Answerer into one explicit object, so no answer path reaches through
the retriever for the store, the settings or the model."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ingest.schema import DocRecord
from qa.evidence import EvidenceParams, Scoring, SentenceVectors, Topic
from qa.findings import FindingsIndex, TaxonomyError, open_findings
from qa.lexical import LexicalIndex
from qa.llm import LLMComposer
from qa.retrieve import QueryEncoder, Retriever
from qa.sentences import SentenceStore, entry_key
from qa.store import Store

log = logging.getLogger("qa.answer")


class FindingsSource:
    """The store's findings, loaded on first use (the taxonomy file is read then)."""

    def __init__(self, retriever: Retriever) -> None:
        self._retriever = retriever
        self._index: FindingsIndex | None = None

    def get(self) -> FindingsIndex:
        """TaxonomyError when the configured taxonomy (QA_TAXONOMY) cannot be read."""
        if self._index is None:
            self._index = open_findings(self._retriever)
        return self._index

    def usable(self) -> FindingsIndex | None:
        """The findings, or None with a warning when the taxonomy is broken: answers then do without them."""
        try:
            return self.get()
        except TaxonomyError as exc:
            log.warning("findings unavailable, answering without them: %s", exc)
            return None


@dataclass
class AnswerContext:
    retriever: Retriever  # search, the catalogue of committed documents, the BM25 index
    store: Store  # chunk texts of sentences not prepared yet
    queries: QueryEncoder  # topic and question embeddings (the query model, batched across requests)
    params: EvidenceParams
    vectors: SentenceVectors  # sentence embeddings, cached
    sentences: SentenceStore  # sentences prepared before the question (qa.sentences)
    findings: FindingsSource
    composer: LLMComposer | None = None  # writes lookup answers when an LLM is configured
    llm_passages: int = 5  # numbered passages given to the composer
    _keys_of: tuple[LexicalIndex, np.ndarray] | None = field(default=None, repr=False)
    _records_of: tuple[Mapping[str, DocRecord], list[DocRecord]] | None = field(default=None, repr=False)
    _units_of: tuple[Sequence[str], Mapping[str, DocRecord], np.ndarray] | None = field(default=None, repr=False)

    @classmethod
    def of(
        cls, retriever: Retriever, params: EvidenceParams | None = None, composer: LLMComposer | None = None
    ) -> AnswerContext:
        settings, embedder = retriever.settings, retriever.embedder
        return cls(
            retriever=retriever,
            store=retriever.store,
            queries=retriever.queries,
            params=params or EvidenceParams(),
            vectors=SentenceVectors(embedder),
            sentences=SentenceStore(settings.data_dir / "sentences" / settings.collection, embedder.query_model_id),
            findings=FindingsSource(retriever),
            composer=composer,
            llm_passages=settings.llm_passages,
        )

    def topic(self, text: str) -> Topic:
        return Topic(text, self.queries.encode(text))

    def scoring(self, lexical: LexicalIndex | None = None) -> Scoring:
        """Scoring against `lexical` (default: the current BM25 index)."""
        return Scoring(self.params, self.retriever.lexical() if lexical is None else lexical, self.vectors)

    def records(self) -> list[DocRecord]:
        """The committed documents' records, as one list object for as long as the retriever's catalogue is the same
        object (a change makes a new one): what reading a question matches names against is computed once per list
        (`qa.understand`)."""
        catalogue = self.retriever.catalogue()
        cached = self._records_of
        if cached is None or cached[0] is not catalogue:
            cached = self._records_of = (catalogue, list(catalogue.values()))
        return cached[1]

    def doc_units(self, doc_names: Sequence[str], catalogue: Mapping[str, DocRecord]) -> np.ndarray:
        """The unit each document of `doc_names` is listed under (DocFields.display_unit; None: not in `catalogue`),
        as an object array; computed once per pair of objects (the lexical index's names and one catalogue)."""
        cached = self._units_of
        if cached is None or cached[0] is not doc_names or cached[1] is not catalogue:
            units = np.empty(len(doc_names), dtype=object)
            units[:] = [r.doc.display_unit if (r := catalogue.get(d)) is not None else None for d in doc_names]
            cached = self._units_of = (doc_names, catalogue, units)
        return cached[2]

    def entry_keys(self) -> tuple[LexicalIndex, np.ndarray]:
        """The current lexical index and the entry key of each of its rows, int64 (computed once per index; rows
        the previous index had with the same text keep their key)."""
        lexical = self.retriever.lexical()
        cached = self._keys_of
        if cached is None or cached[0] is not lexical:
            cached = self._keys_of = (lexical, _entry_keys(lexical, cached))
        return cached


def _entry_keys(lexical: LexicalIndex, previous: tuple[LexicalIndex, np.ndarray] | None) -> np.ndarray:
    """`entry_key` of every row of `lexical`. Rows of `previous` (an index and its keys) with the same chunk id and
    text key keep their entry key: an upload changes a few rows of an index updated in O(change), and hashing all
    of them again took ~1.3 s at 1M chunks (0.4-0.7 s this way), in the next aggregate question and sentence pass."""
    assert lexical.keys is not None  # the retriever rebuilds an index saved without them
    ids, text_keys = lexical.ids, lexical.keys
    out = np.zeros(len(ids), dtype=np.int64)
    todo: list[int] = list(range(len(ids)))
    if previous is not None and previous[0].keys is not None and len(previous[0]):
        old, old_entries = previous
        assert old.keys is not None
        rows = old.rows_of(ids)
        same = (rows >= 0) & (old.keys[np.maximum(rows, 0)] == text_keys)
        out[same] = old_entries[rows[same]]
        todo = np.flatnonzero(~same).tolist()
    for i in todo:
        out[i] = entry_key(ids[i], int(text_keys[i]))
    return out
