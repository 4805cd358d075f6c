"""What answering reads (qa.answering.context): findings loaded on first use and left out, with a warning, when the
configured taxonomy is broken; each BM25 row's sentence-entry key computed once per index."""

from __future__ import annotations

import logging
from pathlib import Path
from types import SimpleNamespace

import pytest

from qa.answering import context
from qa.answering.context import AnswerContext, FindingsSource
from qa.evidence import EvidenceParams
from qa.findings import TaxonomyError
from qa.lexical import LexicalIndex
from qa.sentences import entry_key
from qa.settings import Settings


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_a_broken_taxonomy_leaves_answers_without_findings(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("categories: [", encoding="utf-8")
    # The taxonomy is read before anything touches the store or the model.
    source = FindingsSource(SimpleNamespace(settings=Settings(data_dir=tmp_path, taxonomy=bad), embedder=None))  # type: ignore[arg-type]
    with pytest.raises(TaxonomyError, match="不是合法的 YAML"):
        source.get()
    records, logger = Records(), logging.getLogger("qa.answer")
    logger.addHandler(records)
    try:
        assert source.usable() is None
    finally:
        logger.removeHandler(records)
    assert len(records.messages) == 1 and records.messages[0].startswith("findings unavailable, answering without them")


def test_entry_keys_are_computed_once_per_lexical_index() -> None:
    rows = [("d1-00000", "d1", "problems", "预算编制不够细化。"), ("d1-00001", "d1", "measures", "细化预算编制。")]
    indexes = [LexicalIndex.build(rows, "g1")]
    retriever = SimpleNamespace(lexical=lambda: indexes[-1])
    ctx = AnswerContext(retriever, None, None, EvidenceParams(), None, None, None)  # type: ignore[arg-type]
    index, keys = ctx.entry_keys()
    assert index is indexes[0] and index.keys is not None
    assert keys.tolist() == [entry_key(i, k) for i, k in zip(index.ids, index.keys.tolist())] and len(set(keys)) == 2
    assert ctx.entry_keys()[1] is keys  # the same index: not computed again
    indexes.append(LexicalIndex.build([*rows[:1], ("d1-00001", "d1", "measures", "改写后的措施。")], "g2"))
    index, rewritten = ctx.entry_keys()
    assert index is indexes[1] and rewritten[0] == keys[0] and rewritten[1] != keys[1]  # a rewritten chunk: a new key


def test_entry_keys_of_an_updated_index_hash_only_the_changed_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    """Oracle: every row's key computed afresh. An upload at 1M chunks changes a few rows; hashing all of them again
    cost ~1.3 s."""
    rows = [(f"d{d}-{i:05d}", f"d{d}", "problems", f"第{d}篇第{i}段。") for d in range(3) for i in range(4)]
    indexes = [LexicalIndex.build(rows, "g1")]
    retriever = SimpleNamespace(lexical=lambda: indexes[-1])
    ctx = AnswerContext(retriever, None, None, EvidenceParams(), None, None, None)  # type: ignore[arg-type]
    ctx.entry_keys()
    hashed: list[str] = []
    monkeypatch.setattr(context, "entry_key", lambda i, k: hashed.append(i) or entry_key(i, k))
    # d0 deleted, d1's second chunk rewritten, d3 added; the index updated as the retriever does.
    changed = [
        ("d1-00001", "d1", "problems", "改写。"),
        *[(f"d3-{i:05d}", "d3", "problems", f"新{i}。") for i in range(2)],
    ]
    current = [r for r in rows if r[1] != "d0" and r[0] != "d1-00001"] + changed
    indexes.append(
        indexes[0].updated({"d1", "d2", "d3"}, "g2", lambda docs: [r for r in current if r[1] in docs], stale={"d1"})
    )
    index, keys = ctx.entry_keys()
    assert index.keys is not None
    assert keys.tolist() == [entry_key(i, k) for i, k in zip(index.ids, index.keys.tolist())]
    assert sorted(hashed) == ["d1-00001", "d3-00000", "d3-00001"]
