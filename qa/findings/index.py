"""The per-process view of stored findings: categorised, filtered, counted; in step with the catalogue.

Findings are read from the store once per committed document (keyed by doc_id and ingest time, so a rewrite
of the same content with new metadata is read again) and dropped when their document leaves the catalogue;
only findings of committed documents are ever visible, whatever a crashed ingest left behind. A change costs what
changed: added documents are appended to the view, a departed one's rows are marked dead (never admitted), and
the view is compacted (its own columns taken, nothing read again) only when they outgrow `_DEAD_SHARE` of it.
The view is columns, not objects (issue 23: ~4 KB per sentence row as objects, ~0.3 KB restored from its saved
copy with vectors and texts memory-mapped). Categories are
assigned here, at read time, from the sentence vectors stored at ingest: a custom taxonomy (QA_TAXONOMY)
applies to everything already stored, without re-ingest, at the cost of one matrix product per new document.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ingest.findings import states_no_problem
from ingest.schema import ChunkRow, DocFields, DocRecord, finding_row_text, row_doc
from qa.findings import snapshot
from qa.findings.columns import Rows
from qa.findings.model import Finding, FindingTable, group_rows, in_order
from qa.findings.taxonomy import Categorizer
from qa.lexical import tokenize
from qa.retrieve import Filters, Retriever
from qa.sentences import ranges

_log = logging.getLogger(__name__)
STATS_BY = ("category", "year", "region", "unit")
VECTOR_DTYPE = np.float16  # of the view's sentence vectors
_READ_BATCH = 400  # documents whose finding rows are read from the store at a time
# Rows of departed documents a view keeps (never admitted) before the next change rebuilds it without them: a
# delete or rewrite then costs a flag per row instead of a compaction (0.2-0.4 s at 100k chunks: every column
# copied), and the compaction is paid once per this share of the rows changed.
_DEAD_SHARE = 0.2


@dataclass(frozen=True)
class FindingFilter:
    category: str | None = None
    role: str | None = None  # problem | measure
    year: int | None = None
    region: str | None = None
    unit: str | None = None
    doc_id: str | None = None  # one report's findings (the console's document page)


@dataclass(frozen=True)
class _Block:
    """Documents read from the store together, as the view's columns numbered from 0 within the block (their codes
    in `keys` order), until `_extend` appends them. The `Finding` objects of a read live only while its batch is
    digested: at 1M chunks, ~600k of them at once were the first start's peak."""

    keys: list[_DocKey]
    table: FindingTable
    vectors: np.ndarray  # float16
    scores: np.ndarray  # Categorizer.sentence_scores
    accepted: np.ndarray  # Categorizer.accepted of `scores`
    problem: np.ndarray  # per row: states a problem (a problem finding's sentence, not a plan, not a bare label)
    measure: np.ndarray  # per row: a measure finding's sentence, or a problem finding's plan
    row_finding: np.ndarray
    row_doc: np.ndarray
    postings: dict[str, np.ndarray]

    @property
    def rows(self) -> int:
        return len(self.row_doc)


_Stored = tuple[list[ChunkRow], np.ndarray]  # Store.finding_rows: rows and their vectors

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
    """All findings of the committed documents, with one row per finding sentence: its vector, its category
    scores, the finding it belongs to, and (`postings`) the rows containing each jieba token, so an aggregate
    question scores every row with array operations instead of a Python loop. Columns, not objects
    (qa.findings.columns): `finding(i)` makes the `Finding` a caller needs."""

    table: FindingTable = field(default_factory=FindingTable.empty)
    categories: tuple[str, ...] = ()  # category names, in the categoriser's order (the table's `cat_idx`)
    vectors: Rows = field(default_factory=lambda: Rows.empty(VECTOR_DTYPE, 1))
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
    # admitted). Codes are handed out in row order, so a document's rows (and findings) are one run of its code.
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

    def finding_bounds(self) -> np.ndarray:
        """Finding i of code c is in bounds[c]:bounds[c + 1]."""
        return np.searchsorted(self.table.code, np.arange(len(self.docs) + 1))

    def live_codes(self) -> np.ndarray:
        """bool per code: its document is in the view's catalogue."""
        return np.fromiter((k is not None for k in self.docs), dtype=bool, count=len(self.docs))

    def finding(self, i: int) -> Finding:
        """Finding `i` as an object (a dead row's finding too: its document's fields are its last ones)."""
        code = int(self.table.code[i])
        k = self.docs[code]
        assert k is not None, "a finding of a departed document"
        return self.table.get(i, k[2], self.categories)

    def all_findings(self) -> list[Finding]:
        """Every live finding as an object (tests, small libraries: at 1M chunks that is ~600k objects)."""
        live = self.live_codes()
        return [self.finding(i) for i in range(len(self.table)) if live[self.table.code[i]]]


def _remapped(postings: dict[str, np.ndarray], rows: np.ndarray, n_rows: int) -> dict[str, np.ndarray]:
    """`postings` of a view taken down to `rows` (old row numbers, in their new order): every token's rows
    renumbered, departed rows dropped, ascending; tokens left with no row go. One pass over all postings."""
    if not postings:
        return {}
    renumber = np.full(n_rows, -1, dtype=np.int64)
    renumber[rows] = np.arange(len(rows))
    vocab = list(postings)
    lengths = np.fromiter((len(postings[t]) for t in vocab), dtype=np.int64, count=len(vocab))
    new = renumber[np.concatenate([postings[t] for t in vocab])]
    token = np.repeat(np.arange(len(vocab)), lengths)
    keep = new >= 0
    new, token = new[keep], token[keep]
    order = np.lexsort((new, token))
    new = new[order].astype(np.int32)
    ends = np.cumsum(np.bincount(token, minlength=len(vocab)))
    starts = np.r_[0, ends[:-1]]
    return {t: new[a:b] for t, a, b in zip(vocab, starts.tolist(), ends.tolist()) if b > a}


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
        self._names = tuple(c.name for c in categorizer.categories)
        self._view = self._empty()
        self._keyed: tuple[dict[str, DocRecord], tuple[_DocKey, ...]] | None = None  # a catalogue and its key

    # --- loading -------------------------------------------------------------------------------------------

    def _empty(self) -> View:
        """The view of no document, its per-row arrays shaped for this taxonomy (a concept question on an empty
        library reads a column of them)."""
        n = len(self.categorizer.categories)
        return View(
            categories=self._names,
            vectors=Rows.empty(VECTOR_DTYPE, self.retriever.embedder.dimension),
            row_scores=np.zeros((0, n), dtype=np.float32),
            row_accepted=np.zeros((0, n), dtype=bool),
        )

    def view(self) -> View:
        catalogue = self.retriever.catalogue()
        keyed = self._keyed
        if keyed is None or keyed[0] is not catalogue:
            # The retriever hands out a new catalogue object when something changed and the same one otherwise, so
            # the key is built once per change (1M chunks: 0.04 s of every aggregate question before).
            keyed = self._keyed = (catalogue, tuple((d, r.ingested_at, r.doc) for d, r in catalogue.items()))
        key = keyed[1]
        view = self._view
        if key == view.key:
            # Equal but made of a re-read catalogue's objects: keep these, so the next comparison is by identity.
            view.key = key
            return view
        with self._lock:
            if key != self._view.key:
                self._view = self._build(key)
            return self._view

    def prepare(self) -> View:
        """Bring the view up to date and wait for the snapshot write it started, if any: for a command that exits
        next (`qa ingest`), whose background writer would die with it. After a bulk load the next `qa serve` then
        starts from the snapshot instead of reading every finding row (1M chunks: ~7 minutes)."""
        view = self.view()
        with self._saving:  # held by a write in progress
            return view

    def _build(self, key: tuple[_DocKey, ...]) -> View:
        if not self._restored:
            self._restored = True
            self._restore()
            if self._view.key == key:
                return self._view
        old = self._view
        # By document id, then the whole key: an unchanged document's key holds the same objects in both, which
        # compare by identity; sets of the keys hashed every DocFields (1M chunks: 0.4 s per change).
        live = {k[0]: k for k in key}
        known = {k[0]: k for k in old.key}
        added = [k for k in key if known.get(k[0]) != k]
        # A batch of documents at a time: the stored rows with their metadata dicts and the store client's own
        # buffers are transient, and read all at once they cost ~17 KB per row (1.3 GB at 100k chunks, most of the
        # 1M process's peak), much of which the allocator keeps afterwards.
        batches = [added[start : start + _READ_BATCH] for start in range(0, len(added), _READ_BATCH)]
        read = [self._digest(keys, stored) for keys, stored in self._read_ahead(batches)]
        self._read_since_save += len(added)
        gone = [c for c, k in enumerate(old.docs) if k is not None and live.get(k[0]) != k]
        bounds = old.code_bounds()
        dead = old.dead_rows + int(sum(bounds[c + 1] - bounds[c] for c in gone))
        rows = len(old.row_doc) + sum(b.rows for b in read)
        # Dead codes count too: documents without findings (notices) leave no rows but a code each.
        dead_codes = sum(k is None for k in old.docs) + len(gone)
        if old.docs and dead <= _DEAD_SHARE * rows and dead_codes <= _DEAD_SHARE * (len(old.docs) + len(added)):
            # Documents added (an upload), departed (a delete) or both (a rewrite): mark the departed ones' rows
            # dead and append the added ones (100k chunks: 20 documents added 0.05-0.35 s).
            docs = list(old.docs)
            for c in gone:
                docs[c] = None
            base = replace(old, docs=tuple(docs), dead_rows=dead)
        else:
            base = self._compact(old, [k for k in key if known.get(k[0]) == k])
        view = self._extend(base, key, added, read)
        if self._read_since_save and self._read_since_save >= max(1, len(key) // 100):
            self._save_later(view)
        return view

    def _compact(self, old: View, keep: list[_DocKey]) -> View:
        """The view of the `keep` documents of `old`, in that order, without its dead rows: columns taken, not
        read again."""
        code_of = {k: c for c, k in enumerate(old.docs) if k is not None}
        codes = np.asarray([code_of[k] for k in keep], dtype=np.int64)
        recode = np.full(len(old.docs), -1, dtype=np.int64)
        recode[codes] = np.arange(len(codes))
        rows = ranges(old.code_bounds().astype(np.int64), codes)
        found = ranges(old.finding_bounds().astype(np.int64), codes)
        refind = np.full(len(old.table), -1, dtype=np.int64)
        refind[found] = np.arange(len(found))
        return View(
            table=old.table.take(found, recode),
            categories=old.categories,
            vectors=Rows([old.vectors.take(rows)]),
            row_scores=old.row_scores[rows],
            row_problem=old.row_problem[rows],
            row_measure=old.row_measure[rows],
            row_finding=refind[old.row_finding[rows]],
            row_doc=recode[old.row_doc[rows]],
            postings=_remapped(old.postings, rows, len(old.row_doc)),
            key=tuple(keep),
            docs=tuple(keep),
            row_accepted=old.row_accepted[rows],
            row_best=old.row_best[rows],
            row_top=old.row_top[rows],
        )

    def _restore(self) -> None:
        """Start from the saved view, if there is one for this recipe (`_build` then brings it up to date)."""
        assert self._snapshot_path is not None
        view = snapshot.load_view(self._snapshot_path)
        if view is not None and view.categories == self._names:
            self._view = view

    def _save_later(self, view: View) -> None:
        """Write the snapshot in a background thread (at 1M chunks it takes seconds); while one is being written
        another is not started, and the next build that read documents writes it again. Once written, the view
        in use is swapped for the saved one if it is still current: the same columns, its large ones memory-mapped
        (the in-memory copies go)."""
        path = self._snapshot_path
        if path is None or not self._saving.acquire(blocking=False):
            return
        self._read_since_save = 0

        def run() -> None:
            try:
                snapshot.save_view(path, view)
                mapped = snapshot.load_view(path)
                with self._lock:
                    if mapped is not None and self._view is view:
                        self._view = mapped
            except Exception as exc:  # derived state: a failed save costs the next start a read, nothing more
                _log.warning("findings view snapshot not written (%s): %s", path, exc)
            finally:
                self._saving.release()

        threading.Thread(target=run, name="findings-snapshot", daemon=True).start()

    def _read_ahead(self, batches: list[list[_DocKey]]) -> Iterator[tuple[list[_DocKey], _Stored]]:
        """Each batch with its documents' stored finding rows; the next batch is read while the caller digests this
        one. The store client releases the GIL while it reads, so on a first build the reading and the digesting
        (scores, grouping, tokens) overlap instead of adding up (100k chunks: 21 s of reading, 25 s of digesting)."""
        read = self.retriever.store.finding_rows
        if len(batches) < 2:  # an upload or a delete: nothing to overlap
            yield from ((keys, read([k[0] for k in keys])) for keys in batches)
            return
        with ThreadPoolExecutor(1, thread_name_prefix="findings-read") as pool:
            ahead = pool.submit(read, [k[0] for k in batches[0]])
            for i, keys in enumerate(batches):
                stored = ahead.result()
                if i + 1 < len(batches):
                    ahead = pool.submit(read, [k[0] for k in batches[i + 1]])
                yield keys, stored

    def _digest(self, keys: list[_DocKey], stored: _Stored) -> _Block:
        """Some documents' stored finding rows (`Store.finding_rows` of `keys`) as the view's columns (`_Block`)."""
        rows, vectors = stored
        by_doc: dict[str, list[int]] = {}
        for i, row in enumerate(rows):
            by_doc.setdefault(row_doc(row.metadata), []).append(i)
        docs: list[tuple[int, list[ChunkRow]]] = []
        vector_blocks = []
        for code, k in enumerate(keys):
            picked = by_doc.get(k[0], [])
            doc_rows, doc_vectors = in_order([rows[i] for i in picked], vectors[picked] if picked else vectors[:0])
            if doc_rows:
                docs.append((code, doc_rows))
                vector_blocks.append(doc_vectors)
        ordered = [r for _, doc_rows in docs for r in doc_rows]
        block_vectors = np.concatenate(vector_blocks) if vector_blocks else vectors[:0]
        # The whole batch's rows scored and judged at once (a row's scores and concepts are its own): per document,
        # the small matrices and their calls cost more than the arithmetic (100k chunks: ~20 of a 66 s first build).
        scores = self.categorizer.sentence_scores(
            [finding_row_text(r.text, r.metadata) for r in ordered], block_vectors
        )
        accepted = self.categorizer.accepted(scores)
        findings: list[Finding] = []
        codes: list[int] = []
        postings: dict[str, list[int]] = {}
        offset = 0
        for code, doc_rows in docs:
            end = offset + len(doc_rows)
            found = group_rows(
                doc_rows, scores[offset:end], self.categorizer, first_row=offset, accepted=accepted[offset:end]
            )
            findings += found
            codes += [code] * len(found)
            for i, r in enumerate(doc_rows, start=offset):
                for t in set(tokenize(r.text)):
                    postings.setdefault(sys.intern(t), []).append(i)
            offset = end
        sizes = [len(f.sentences) for f in findings]
        plans = np.asarray([bool(_PLAN.match(s.text)) for f in findings for s in f.sentences], dtype=bool)
        # A bare sub-heading line ("3、绩效评价方面") heads a statement; it does not state a problem itself.
        labels = np.asarray([bool(_LABEL.match(s.text)) for f in findings for s in f.sentences], dtype=bool)
        # A sentence that says nothing was found wrong, or that a problem was put right, states no problem, whatever
        # it resembles (stores ingested before extraction dropped such findings still hold them).
        nothing = np.asarray([states_no_problem(s.text) for f in findings for s in f.sentences], dtype=bool)
        problem = np.repeat(np.asarray([f.role == "problem" for f in findings], dtype=bool), sizes)
        return _Block(
            keys=keys,
            table=FindingTable.of(findings, codes, {n: i for i, n in enumerate(self._names)}),
            vectors=block_vectors.astype(VECTOR_DTYPE),
            scores=scores,
            accepted=accepted,
            problem=problem & ~plans & ~labels & ~nothing,
            measure=~problem | plans,
            row_finding=np.repeat(np.arange(len(findings), dtype=np.int64), sizes),
            row_doc=np.repeat(np.asarray(codes, dtype=np.int64), sizes),
            postings={t: np.asarray(r, dtype=np.int32) for t, r in postings.items()},
        )

    def _extend(self, base: View, key: tuple[_DocKey, ...], added: list[_DocKey], read: list[_Block]) -> View:
        """`base` plus the `added` documents, `read` from the store in blocks (in `added` order; new codes after
        base's): the view of `key`. Every column is joined once, whatever the number of blocks."""
        if not added and base.docs:  # a delete: nothing to append, no array to copy
            return replace(base, key=key)
        assert [k for b in read for k in b.keys] == added
        codes, rows, found = len(base.docs), len(base.row_doc), len(base.table)
        tables, row_finding, row_doc = [base.table], [base.row_finding], [base.row_doc]
        postings_added: dict[str, list[np.ndarray]] = {}
        for b in read:
            tables.append(b.table.shifted(codes, rows))
            row_finding.append(b.row_finding + found)
            row_doc.append(b.row_doc + codes)
            for t, r in b.postings.items():
                postings_added.setdefault(t, []).append(r + rows)
            codes, rows, found = codes + len(b.keys), rows + b.rows, found + len(b.table)
        postings = dict(base.postings)  # arrays are never changed in place: the old view stays valid for its readers
        for t, more in postings_added.items():
            postings[t] = np.concatenate([postings[t], *more] if t in postings else more).astype(np.int32, copy=False)
        n_categories = len(self.categorizer.categories)
        fresh = np.concatenate([np.zeros((0, n_categories), dtype=np.float32), *(b.scores for b in read)])
        # float16: the view holds the only copy of every finding sentence's vector (issue 23: 1.5 GB at 1M chunks in
        # float32). Categories are scored from the float32 vectors read from the store, before they land here; only
        # the cosines of topics of no concept are taken from these (docs/evaluation.md: no answer changes).
        vectors = [b.vectors for b in read if len(b.vectors)]
        return View(
            table=FindingTable.concat(tables),
            categories=self._names,
            vectors=base.vectors.append(np.concatenate(vectors)) if vectors else base.vectors,
            row_scores=np.concatenate([base.row_scores.reshape(-1, n_categories), fresh]),
            row_problem=np.concatenate([base.row_problem, *(b.problem for b in read)]),
            row_measure=np.concatenate([base.row_measure, *(b.measure for b in read)]),
            row_finding=np.concatenate(row_finding).astype(np.int64),
            row_doc=np.concatenate(row_doc).astype(np.int64),
            postings=postings,
            key=key,
            docs=base.docs + tuple(added),
            row_accepted=np.concatenate([base.row_accepted.reshape(-1, n_categories), *(b.accepted for b in read)]),
            row_best=np.concatenate(
                [base.row_best, np.argmax(fresh, axis=1) if len(fresh) else np.zeros(0, np.int16)]
            ).astype(np.int16),
            row_top=np.concatenate([base.row_top, fresh.max(axis=1) if len(fresh) else np.zeros(0, np.float32)]).astype(
                np.float32
            ),
            dead_rows=base.dead_rows,
        )

    # --- queries -------------------------------------------------------------------------------------------

    def accepted(self, view: View | None = None) -> np.ndarray:
        """(rows × categories) bool of `view` (default: the current one): the concepts each finding sentence
        states (`Categorizer.accepted`), computed for each row when it joins the view."""
        return (view or self.view()).row_accepted

    def _selected(self, flt: FindingFilter) -> tuple[View, np.ndarray]:
        """The view and the indices of its findings `flt` admits (live, committed documents only)."""
        catalogue = self.retriever.catalogue()
        view = self.view()
        on_doc = Filters(year=flt.year, region=flt.region, unit=flt.unit)
        ok = np.fromiter(
            (
                k is not None
                and k[0] in catalogue
                and (flt.doc_id is None or k[0] == flt.doc_id)
                and on_doc.admits(catalogue[k[0]].doc)
                for k in view.docs
            ),
            dtype=bool,
            count=len(view.docs),
        )
        t = view.table
        mask = ok[t.code] if len(ok) else np.zeros(len(t), dtype=bool)
        if flt.role is not None:
            mask &= t.problem == (flt.role == "problem")
        if flt.category is not None:
            has = np.zeros(len(t), dtype=bool)
            if flt.category in view.categories:
                c = view.categories.index(flt.category)
                owner = np.repeat(np.arange(len(t)), np.diff(t.cat_ptr))
                has[owner[t.cat_idx == c]] = True
            mask &= has
        return view, np.flatnonzero(mask)

    def select(self, flt: FindingFilter) -> list[Finding]:
        view, picked = self._selected(flt)
        return [view.finding(int(i)) for i in picked]

    def stats(self, by: str, flt: FindingFilter) -> list[Group]:
        """Findings grouped by a field, each group with the units (documents) behind it; biggest first.
        by=category counts a finding once under each of its categories. From the columns: no `Finding` objects
        (at 1M chunks an unfiltered count covers ~600k findings)."""
        view, picked = self._selected(flt)
        t = view.table
        groups: dict[str, dict[int, list[str]]] = {}  # key → document code → finding ids
        for i in picked.tolist():
            code = int(t.code[i])
            doc = view.docs[code][2]  # type: ignore[index]  # admitted: live
            if by == "category":
                keys = [view.categories[c] for c in t.cat_idx[t.cat_ptr[i] : t.cat_ptr[i + 1]].tolist()]
            else:
                keys = [self._doc_key(by, doc)]
            fid = t.ids[i]
            for key in keys:
                if flt.category is not None and by == "category" and key != flt.category:
                    continue
                groups.setdefault(key, {}).setdefault(code, []).append(fid)
        out = []
        for key, by_code in groups.items():
            units = []
            for code, ids in by_code.items():
                doc = view.docs[code][2]  # type: ignore[index]
                units.append(UnitCount(doc.display_unit, doc.doc_id, doc.source, doc.year, tuple(ids)))
            out.append(Group(key, sum(len(ids) for ids in by_code.values()), tuple(units)))
        order = {n: i for i, n in enumerate(self.categorizer.taxonomy.names)}
        return sorted(
            out, key=lambda g: (-len({u.unit for u in g.units}), -g.findings, order.get(g.key, len(order)), g.key)
        )

    @staticmethod
    def _doc_key(by: str, doc: DocFields) -> str:
        if by == "year":
            return "未知" if doc.year is None else str(doc.year)
        if by == "region":
            return doc.region or "未知"
        return doc.display_unit
