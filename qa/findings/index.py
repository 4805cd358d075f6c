"""The per-process view of stored findings: categorised, filtered, counted; in step with the catalogue.

Findings are read from the store once per committed document (keyed by doc_id and ingest time, so a rewrite
of the same content with new metadata is read again) and dropped when their document leaves the catalogue;
only findings of committed documents are ever visible, whatever a crashed ingest left behind. A change costs what
changed: added documents are appended to the view, a departed one's rows are marked dead (never admitted), and
the view is rebuilt without its dead rows only when they outgrow `_DEAD_SHARE` of it. Categories are
assigned here, at read time, from the sentence vectors stored at ingest: a custom taxonomy (QA_TAXONOMY)
applies to everything already stored, without re-ingest, at the cost of one matrix product per new document.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ingest.schema import DocFields, DocRecord, finding_row_text, row_doc
from qa.findings import snapshot
from qa.findings.model import Finding, group_rows, in_order
from qa.findings.taxonomy import Categorizer
from qa.lexical import tokenize
from qa.retrieve import Filters, Retriever

_log = logging.getLogger(__name__)
STATS_BY = ("category", "year", "region", "unit")
VECTOR_DTYPE = np.float16  # of the view's sentence vectors
_READ_BATCH = 400  # documents whose finding rows are read from the store at a time
# Rows of departed documents a view keeps (never admitted) before the next change rebuilds it without them: a
# delete or rewrite then costs a flag per row instead of a rebuild (1 s at 100k chunks, ~10 s at 1M), and the
# rebuild is paid once per this share of the rows changed.
_DEAD_SHARE = 0.2


@dataclass(frozen=True)
class FindingFilter:
    category: str | None = None
    role: str | None = None  # problem | measure
    year: int | None = None
    region: str | None = None
    unit: str | None = None
    doc_id: str | None = None  # one report's findings (the console's document page)

    def admits(self, f: Finding, doc: DocFields) -> bool:
        return (
            (self.doc_id is None or f.doc.doc_id == self.doc_id)
            and self.admits_content(f)
            and Filters(year=self.year, region=self.region, unit=self.unit).admits(doc)
        )

    def admits_content(self, f: Finding) -> bool:
        """The finding's own fields (role, category), whatever its document."""
        return (self.role is None or f.role == self.role) and (
            self.category is None or self.category in f.category_names()
        )


@dataclass(frozen=True)
class _DocFindings:
    """One document's findings as read from the store: the findings, each sentence row's vector (until the view
    holds it), jieba tokens and category scores."""

    findings: list[Finding]
    vectors: np.ndarray | None
    tokens: list[tuple[str, ...]]
    scores: np.ndarray


# A sentence of a problem finding that is a plan, not a problem ("下一步将加强培训，…").
_PLAN = re.compile(
    r"^(?:[一二三四五六七八九十\d]+[是、.．]|[（(]\d+[）)])?\s*(?:下一步|今后|下阶段|针对|为此|将|拟|计划|要|建议)"
)


# A short line that names an area ("3、绩效评价方面", "预算管理：") rather than stating something about it;
# "一是预算调整较为频繁" is as short and is a statement.
_LABEL = re.compile(
    r"^(?:[（(]?[一二三四五六七八九十\d]{1,2}[)）]?[、.．]?\s*)?[^，。；;！？!?,]{1,10}(?:[：:]|方面|层面|问题|情况)[：:]?$"
)


# A committed document as the view knows it: id, ingest time (a rewrite of the same content) and fields (an edit).
_DocKey = tuple[str, float, DocFields]


@dataclass
class View:
    """All findings of the committed documents, in catalogue order, with one row per finding sentence: its
    vector, its category scores, the finding it belongs to, and (`postings`) the rows containing each jieba
    token, so an aggregate question scores every row with array operations instead of a Python loop."""

    findings: list[Finding] = field(default_factory=list)
    vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 1), dtype=VECTOR_DTYPE))
    # Per row: its score for every category (Categorizer.sentence_scores) and whether its finding is a problem.
    row_scores: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))
    row_problem: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    # …and a measure: a measure finding's rows, and a problem finding's plans ("下一步将…" after the problem).
    row_measure: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    row_finding: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    row_doc: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # a code per document
    postings: dict[str, np.ndarray] = field(default_factory=dict)
    key: tuple[_DocKey, ...] = ()  # the committed documents the view is in step with (catalogue order)
    # The document of each `row_doc` code, None once it left the catalogue (its rows are dead: kept, never
    # admitted). Codes are handed out in row order, so a document's rows are one run of its code.
    docs: tuple[_DocKey | None, ...] = ()
    row_accepted: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=bool))  # Categorizer.accepted
    # Per row: its best category and that category's score (every concept question reads them: 5.5 of its 30 ms at
    # 100k chunks when computed per question).
    row_best: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int16))
    row_top: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    dead_rows: int = 0

    def code_bounds(self) -> np.ndarray:
        """Row i of code c is in bounds[c]:bounds[c + 1]."""
        return np.searchsorted(self.row_doc, np.arange(len(self.docs) + 1))

    def vectors_by_doc(self) -> dict[_DocKey, np.ndarray]:
        """Each live document's rows of `vectors` (views, not copies)."""
        bounds = self.code_bounds()
        return {k: self.vectors[bounds[i] : bounds[i + 1]] for i, k in enumerate(self.docs) if k is not None}

    def live_codes(self) -> np.ndarray:
        """bool per code: its document is in the view's catalogue."""
        return np.fromiter((k is not None for k in self.docs), dtype=bool, count=len(self.docs))


@dataclass(frozen=True)
class UnitCount:
    unit: str
    doc_id: str
    source: str
    year: int | None
    finding_ids: tuple[str, ...]


@dataclass(frozen=True)
class Group:
    key: str
    findings: int
    units: tuple[UnitCount, ...]


class FindingsIndex:
    def __init__(self, retriever: Retriever, categorizer: Categorizer, snapshot_path: Path | None = None) -> None:
        """`snapshot_path`: where the view is saved and restored from (qa.findings.snapshot); None: never."""
        self.retriever = retriever
        self.categorizer = categorizer
        self._snapshot_path = snapshot_path
        self._restored = snapshot_path is None
        self._read_since_save = 0  # documents read from the store since the snapshot was last written
        self._saving = threading.Lock()
        self._lock = threading.Lock()
        # Per committed document: its findings (rows numbered from 0 within the document), each sentence's
        # tokens (jieba once per sentence and process, not per aggregate question: 4.5 of 10 s at 10k chunks
        # before) and, until the view holds them, its sentence vectors (afterwards the view's rows are the only
        # copy: 158 MB at 100k chunks). Not the stored rows themselves: their metadata dicts cost 120 MB and
        # 100k objects at 100k chunks. Objects made after start-up (an upload extends the view, a delete or
        # rewrite rebuilds it) are not frozen out of the GC as the start-up ones are (Answerer.warm).
        self._per_doc: dict[_DocKey, _DocFindings] = {}
        self._view = self._empty()

    # --- loading -------------------------------------------------------------------------------------------

    def _empty(self) -> View:
        """The view of no document, its per-row arrays shaped for this taxonomy (a concept question on an empty
        library reads a column of them)."""
        n = len(self.categorizer.categories)
        return View(row_scores=np.zeros((0, n), dtype=np.float32), row_accepted=np.zeros((0, n), dtype=bool))

    def view(self) -> View:
        catalogue = self.retriever.catalogue()
        key = tuple((d, r.ingested_at, r.doc) for d, r in catalogue.items())
        view = self._view
        if key == view.key:
            # Equal but made of a re-read catalogue's objects: keep these, so the next comparison is by identity.
            view.key = key
            return view
        with self._lock:
            if key != self._view.key:
                self._view = self._build(catalogue, key)
            return self._view

    def _build(self, catalogue: dict[str, DocRecord], key: tuple[_DocKey, ...]) -> View:
        if not self._restored:
            self._restored = True
            self._restore()
            if self._view.key == key:
                return self._view
        missing = [k[0] for k in key if k not in self._per_doc]
        self._read_since_save += len(missing)
        # A batch of documents at a time: the stored rows with their metadata dicts and the store client's own
        # buffers are transient, and read all at once they cost ~17 KB per row (1.3 GB at 100k chunks, most of the
        # 1M process's peak), much of which the allocator keeps afterwards.
        for start in range(0, len(missing), _READ_BATCH):
            self._digest(catalogue, missing[start : start + _READ_BATCH])
        live = set(key)
        for stale in [k for k in self._per_doc if k not in live]:
            del self._per_doc[stale]
        old = self._view
        known = set(old.key)
        added = [k for k in key if k not in known]
        gone = [c for c, k in enumerate(old.docs) if k is not None and k not in live]
        bounds = old.code_bounds()
        dead = old.dead_rows + int(sum(bounds[c + 1] - bounds[c] for c in gone))
        rows = len(old.row_doc) + sum(len(self._per_doc[k].tokens) for k in added)
        # Dead codes count too: documents without findings (notices) leave no rows but a code each.
        dead_codes = sum(k is None for k in old.docs) + len(gone)
        if old.docs and dead <= _DEAD_SHARE * rows and dead_codes <= _DEAD_SHARE * (len(old.docs) + len(added)):
            # Documents added (an upload), departed (a delete) or both (a rewrite): mark the departed ones' rows
            # dead and append the added ones (100k chunks: 20 documents added 0.05-0.35 s; a rebuild that
            # re-offsets 60k findings and re-inverts 77k rows 0.8-1.1 s).
            docs = list(old.docs)
            for c in gone:
                docs[c] = None
            view = self._extend(replace(old, docs=tuple(docs), dead_rows=dead), key, added, {})
        else:
            view = self._extend(self._empty(), key, list(key), old.vectors_by_doc())
        for k in key:  # the view holds every document's vectors now
            if self._per_doc[k].vectors is not None:
                self._per_doc[k] = replace(self._per_doc[k], vectors=None)
        if self._read_since_save and self._read_since_save >= max(1, len(key) // 100):
            self._save_later(view)
        return view

    def _restore(self) -> None:
        """Start from the saved view, if there is one for this recipe (`_build` then brings it up to date)."""
        assert self._snapshot_path is not None
        payload = snapshot.load(self._snapshot_path)
        if not (isinstance(payload, tuple) and len(payload) == 2 and isinstance(payload[1], View)):
            return
        self._per_doc, self._view = payload

    def _save_later(self, view: View) -> None:
        """Write the snapshot in a background thread (at 1M chunks it takes seconds); while one is being written
        another is not started, and the next build that read documents writes it again."""
        path = self._snapshot_path
        if path is None or not self._saving.acquire(blocking=False):
            return
        per_doc = dict(self._per_doc)
        self._read_since_save = 0

        def run() -> None:
            try:
                snapshot.save(path, (per_doc, view))
            except Exception as exc:  # derived state: a failed save costs the next start a read, nothing more
                _log.warning("findings view snapshot not written (%s): %s", path, exc)
            finally:
                self._saving.release()

        threading.Thread(target=run, name="findings-snapshot", daemon=True).start()

    def _digest(self, catalogue: dict[str, DocRecord], doc_ids: list[str]) -> None:
        """Read some documents' finding rows and keep what the view needs of them (`_DocFindings`)."""
        rows, vectors = self.retriever.store.finding_rows(doc_ids)
        by_doc: dict[str, list[int]] = {}
        for i, row in enumerate(rows):
            by_doc.setdefault(row_doc(row.metadata), []).append(i)
        for d in doc_ids:
            picked = by_doc.get(d, [])
            doc_rows, doc_vectors = in_order([rows[i] for i in picked], vectors[picked] if picked else vectors[:0])
            tokens = [tuple(sys.intern(t) for t in set(tokenize(r.text))) for r in doc_rows]
            scores = self.categorizer.sentence_scores(
                [finding_row_text(r.text, r.metadata) for r in doc_rows], doc_vectors
            )
            self._per_doc[(d, catalogue[d].ingested_at, catalogue[d].doc)] = _DocFindings(
                group_rows(doc_rows, scores, self.categorizer), doc_vectors.astype(VECTOR_DTYPE), tokens, scores
            )

    def _extend(
        self, base: View, key: tuple[_DocKey, ...], added: list[_DocKey], kept: dict[_DocKey, np.ndarray]
    ) -> View:
        """`base` plus the findings of the `added` documents (new codes after base's), the view of `key`; their
        vectors are in `_per_doc` (read from the store) or else in `kept` (from the view being replaced)."""
        if not added and base.docs:  # a delete: nothing to append, no array to copy
            return replace(base, key=key)
        findings = list(base.findings)
        blocks = [base.vectors] if len(base.findings) else []
        score_blocks = [base.row_scores] if len(base.findings) else []
        postings_added: dict[str, list[int]] = {}
        offset = len(base.vectors) if base.findings else 0
        codes = {k[0]: c for c, k in enumerate(added, start=len(base.docs))}
        for k in added:
            doc = self._per_doc[k]
            if not doc.findings:
                continue
            vectors = kept[k] if doc.vectors is None else doc.vectors
            findings += [replace(f, first_row=f.first_row + offset) for f in doc.findings]
            blocks.append(vectors)
            score_blocks.append(doc.scores)
            for i, tokens in enumerate(doc.tokens, start=offset):
                for t in tokens:
                    postings_added.setdefault(t, []).append(i)
            offset += len(vectors)
        # float16: the view holds the only copy of every finding sentence's vector (issue 23: 1.5 GB at 1M chunks in
        # float32). Categories are scored from the float32 vectors read from the store, before they land here; only
        # the cosines of topics of no concept are taken from these (docs/evaluation.md: no answer changes).
        stacked = (
            np.concatenate(blocks).astype(VECTOR_DTYPE, copy=False)
            if blocks
            else np.zeros((0, self.retriever.embedder.dimension), dtype=VECTOR_DTYPE)
        )
        n_categories = len(self.categorizer.categories)
        row_scores = np.concatenate(score_blocks) if score_blocks else np.zeros((0, n_categories), dtype=np.float32)
        new = findings[len(base.findings) :]
        sizes = [len(f.sentences) for f in new]
        row_finding = np.concatenate(
            [base.row_finding, np.repeat(np.arange(len(base.findings), len(findings)), sizes)]
        ).astype(np.int64)
        row_doc = np.concatenate(
            [base.row_doc, np.repeat(np.asarray([codes[f.doc.doc_id] for f in new], dtype=np.int64), sizes)]
        ).astype(np.int64)
        plans = np.asarray([bool(_PLAN.match(s.text)) for f in new for s in f.sentences], dtype=bool)
        # A bare sub-heading line ("3、绩效评价方面") heads a statement; it does not state a problem itself.
        labels = np.asarray([bool(_LABEL.match(s.text)) for f in new for s in f.sentences], dtype=bool)
        problem = np.repeat(np.asarray([f.role == "problem" for f in new], dtype=bool), sizes)
        row_problem = np.concatenate([base.row_problem, problem & ~plans & ~labels])
        row_measure = np.concatenate([base.row_measure, ~problem | plans])
        postings = dict(base.postings)  # arrays are never changed in place: the old view stays valid for its readers
        for t, rows in postings_added.items():
            more = np.asarray(rows, dtype=np.int64)
            postings[t] = np.concatenate([postings[t], more]) if t in postings else more
        fresh = row_scores[len(base.row_scores) :]
        row_best = np.concatenate([base.row_best, np.argmax(fresh, axis=1) if len(fresh) else np.zeros(0, np.int16)])
        row_top = np.concatenate([base.row_top, fresh.max(axis=1) if len(fresh) else np.zeros(0, np.float32)])
        row_accepted = np.concatenate([base.row_accepted.reshape(-1, n_categories), self.categorizer.accepted(fresh)])
        return View(
            findings=findings,
            vectors=stacked,
            row_scores=row_scores,
            row_problem=row_problem,
            row_measure=row_measure,
            row_finding=row_finding,
            row_doc=row_doc,
            postings=postings,
            key=key,
            docs=base.docs + tuple(added),
            row_accepted=row_accepted,
            row_best=row_best.astype(np.int16, copy=False),
            row_top=row_top.astype(np.float32, copy=False),
            dead_rows=base.dead_rows,
        )

    # --- queries -------------------------------------------------------------------------------------------

    def accepted(self, view: View | None = None) -> np.ndarray:
        """(rows × categories) bool of `view` (default: the current one): the concepts each finding sentence
        states (`Categorizer.accepted`), computed for each row when it joins the view."""
        return (view or self.view()).row_accepted

    def select(self, flt: FindingFilter) -> list[Finding]:
        catalogue = self.retriever.catalogue()
        view = self.view()
        live = view.live_codes()[view.row_doc] if view.dead_rows else None  # per row
        return [
            f
            for f in view.findings
            if (live is None or live[f.first_row])
            and f.doc.doc_id in catalogue
            and flt.admits(f, catalogue[f.doc.doc_id].doc)
        ]

    def stats(self, by: str, flt: FindingFilter) -> list[Group]:
        """Findings grouped by a field, each group with the units (documents) behind it; biggest first.
        by=category counts a finding once under each of its categories."""
        groups: dict[str, dict[str, list[Finding]]] = {}
        for f in self.select(flt):
            for key in self._keys(by, f):
                if flt.category is not None and by == "category" and key != flt.category:
                    continue
                groups.setdefault(key, {}).setdefault(f.doc.doc_id, []).append(f)
        out = [
            Group(
                key,
                sum(len(v) for v in docs.values()),
                tuple(
                    UnitCount(
                        fs[0].doc.display_unit, d, fs[0].doc.source, fs[0].doc.year, tuple(x.finding_id for x in fs)
                    )
                    for d, fs in docs.items()
                ),
            )
            for key, docs in groups.items()
        ]
        order = {n: i for i, n in enumerate(self.categorizer.taxonomy.names)}
        return sorted(
            out, key=lambda g: (-len({u.unit for u in g.units}), -g.findings, order.get(g.key, len(order)), g.key)
        )

    @staticmethod
    def _keys(by: str, f: Finding) -> Iterable[str]:
        if by == "category":
            return f.category_names()
        if by == "year":
            return ["未知" if f.doc.year is None else str(f.doc.year)]
        if by == "region":
            return [f.doc.region or "未知"]
        return [f.doc.display_unit]
