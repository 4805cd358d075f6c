"""Findings (issue #8): the problems and measures reports state, extracted at ingest (ingest.findings), stored
next to the chunks (one row per finding sentence, qa.store), categorised by a YAML taxonomy at read time
(taxonomy), served by the API and CLI (index) and used first for aggregate answers about problems or
measures (evidence). See docs/findings.md."""

from __future__ import annotations

from qa.findings import snapshot
from qa.findings.index import STATS_BY, FindingFilter, FindingsIndex, Group, UnitCount
from qa.findings.model import CategoryLabel, Finding, Span
from qa.findings.taxonomy import Categorizer, CategoryParams, Taxonomy, TaxonomyError, load_taxonomy
from qa.retrieve import Retriever


def open_findings(retriever: Retriever) -> FindingsIndex:
    """The findings of a retriever's store, categorised with the configured taxonomy (QA_TAXONOMY or the shipped one)."""
    settings = retriever.settings
    categorizer = Categorizer(load_taxonomy(settings.taxonomy), retriever.embedder)
    store = retriever.store
    # The collection's id as well as the model: `qa reindex` re-extracts findings into a new collection while the
    # documents keep their keys (doc_id, ingested_at, fields).
    saved = snapshot.path_for(
        settings.data_dir, settings.collection, categorizer, f"{store.findings_embedder_id}|{store.findings.id}"
    )
    return FindingsIndex(retriever, categorizer, saved)


__all__ = [
    "STATS_BY",
    "Categorizer",
    "CategoryLabel",
    "CategoryParams",
    "Finding",
    "FindingFilter",
    "FindingsIndex",
    "Group",
    "Span",
    "Taxonomy",
    "TaxonomyError",
    "UnitCount",
    "load_taxonomy",
    "open_findings",
]
