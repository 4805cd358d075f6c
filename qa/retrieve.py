"""Dense, BM25 and hybrid retrieval (both sides fused by qa/fusion.py) with metadata filters on both sides.

Filters on document fields (year, region, unit, report_kind) are resolved against the catalogue of
committed documents into a set of doc_ids, so region "益阳市" matches "益阳市赫山区" and both sides see the
same documents; section_role is a chunk field and filters chunks directly.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import lru_cache, partial
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ingest.schema import ChunkMeta, ChunkRow, DocFields, DocRecord, doc_of
from ingest.text import index_text
from qa.embeddings import Embedder
from qa.fusion import FusionParams, FusionRecord, fuse, load_record
from qa.fusion import rrf as rrf  # re-exported: scripts/tune.py's RRF grid
from qa.lexical import LexicalIndex, TokenCache, analyze
from qa.settings import Settings
from qa.store import CHANGE_RETENTION, Generation, Store, record_order

log = logging.getLogger("qa.retrieve")

Mode = Literal["dense", "bm25", "hybrid"]
MODES: tuple[Mode, ...] = ("dense", "bm25", "hybrid")


@lru_cache(maxsize=1)
def _bm25_pool() -> ThreadPoolExecutor:
    """Where the BM25 side of a hybrid query runs while the calling thread embeds the query and searches the HNSW
    index; one per process, made on first use."""
    return ThreadPoolExecutor(max_workers=4, thread_name_prefix="qa-bm25")


@dataclass(frozen=True)
class Filters:
    year: int | None = None
    region: str | None = None
    unit: str | None = None
    report_kind: str | None = None
    section_role: str | None = None

    @property
    def on_documents(self) -> bool:
        return any(v not in (None, "") for v in (self.year, self.region, self.unit, self.report_kind))

    def admits(self, doc: DocFields) -> bool:
        return (
            (self.year is None or doc.year == self.year)
            and (not self.region or self.region in doc.region or (doc.region in self.region and bool(doc.region)))
            and (not self.unit or self.unit in doc.unit or self.unit in doc.title or self.unit in doc.source)
            and (not self.report_kind or doc.report_kind == self.report_kind)
        )


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk, shaped like the API's citation plus a few fields for filters."""

    id: str
    doc: DocFields
    section: str
    section_role: str
    text: str
    char_start: int
    char_end: int
    chunk_index: int
    score: float
    # Where a table's record line sits in its file (ingest.schema.ChunkMeta.position: page, table, table_row,
    # col_start, col_end, bbox); None for text.
    position: dict[str, int | str] | None = None

    @classmethod
    def from_row(cls, row: ChunkRow, score: float) -> Hit:
        m = ChunkMeta.from_metadata(row.metadata)
        return cls(
            row.id,
            m.doc,
            m.section,
            m.section_role,
            row.text,
            m.char_start,
            m.char_end,
            m.chunk_index,
            score,
            m.position,
        )

    def as_dict(self) -> dict[str, Any]:
        """Flat, as `qa search --json` prints it."""
        d = self.doc
        return {
            "id": self.id,
            "doc_id": d.doc_id,
            "source": d.source,
            "unit": d.unit,
            "region": d.region,
            "year": d.year,
            "report_kind": d.report_kind,
            "title": d.title,
            "section": self.section,
            "section_role": self.section_role,
            "text": self.text,
            "char_start": self.char_start,
            "char_end": self.char_end,
            "chunk_index": self.chunk_index,
            "score": self.score,
            "position": self.position,
        }


def index_version(doc: DocFields) -> str:
    """What a document's BM25 rows take from its record (their index text names its unit and title): when it
    changes (a metadata edit), the rows are indexed again."""
    return hashlib.blake2b(f"{doc.unit}\n{doc.title}".encode(), digest_size=6).hexdigest()


def generation_of(versions: Mapping[str, str]) -> str:
    """Changes whenever the set of committed documents or what their rows are indexed by changes; the saved BM25
    index compares against it."""
    return hashlib.sha1("\n".join(sorted(f"{d} {v}" for d, v in versions.items())).encode()).hexdigest()[:16]


def index_row(row: ChunkRow) -> tuple[str, str, str, str]:
    """A stored chunk as LexicalIndex reads it: (chunk id, doc_id, section_role, text to index)."""
    m = ChunkMeta.from_metadata(row.metadata)
    return (
        row.id,
        m.doc.doc_id,
        m.section_role,
        index_text(row.text, unit=m.doc.unit, title=m.doc.title, section=m.section),
    )


def row_index_text(row: ChunkRow) -> str:
    """The text a stored chunk is indexed by (BM25; tuning cuts pseudo-queries out of it)."""
    return index_row(row)[3]


def index_rows(store: Store, doc_ids: list[str]) -> Iterator[tuple[str, str, str, str]]:
    """`index_row` of every chunk of some documents."""
    return (index_row(r) for r in store.chunks_of(doc_ids))


@dataclass(frozen=True)
class ChunkCandidates:
    """`Retriever.candidate_chunks`' answer as columns, the dense side's chunks first (best first), then BM25's (by
    document): chunk ids, cosine to the query (0 when only BM25 found the chunk) and each chunk's row in `index`
    (-1: not in it, a chunk committed since the index was read). At 1M chunks a broad topic has ~100,000: the
    rows let the caller name their documents and prepared entries with numpy instead of per id."""

    ids: list[str]
    similarity: np.ndarray
    rows: np.ndarray
    index: LexicalIndex

    def __len__(self) -> int:
        return len(self.ids)


class QueryEncoder:
    """Embeds single queries, batching the ones that arrive together.

    The embedder takes one call at a time (its lock), so under concurrent requests each query would wait for
    every query before it, one model call each. Here the first caller becomes the leader and encodes whatever
    has queued up meanwhile in one call (up to `max_batch`), until the queue is empty; the others wait for
    their row. A lone query costs what it did; 32 concurrent clients share model calls.
    """

    def __init__(self, embedder: Embedder, max_batch: int = 64) -> None:
        self.embedder = embedder
        self.max_batch = max_batch
        self._mu = threading.Lock()
        self._queue: list[tuple[str, Future[np.ndarray]]] = []
        self._leading = False

    def encode(self, text: str) -> np.ndarray:
        fut: Future[np.ndarray] = Future()
        with self._mu:
            self._queue.append((text, fut))
            if self._leading:
                leader = False
            else:
                leader = self._leading = True
        if leader:
            while True:
                with self._mu:
                    batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
                    if not batch:
                        self._leading = False
                        break
                try:
                    vectors = self.embedder.encode_queries([t for t, _ in batch])
                except BaseException as exc:  # every waiter gets the failure, not a hang
                    for _, f in batch:
                        f.set_exception(exc)
                else:
                    for (_, f), v in zip(batch, vectors):
                        f.set_result(v)
        return fut.result()


_CLOCK_SKEW = 300.0  # seconds
_BACKSTOP_SHARE = 0.03  # at most this share of the time goes to backstop reads of every record (Retriever)


def apply_changes(
    catalogue: dict[str, DocRecord], fresh: Mapping[str, DocRecord], changed: set[str]
) -> dict[str, DocRecord]:
    """`catalogue` with the `changed` documents' records replaced by those in `fresh` (missing there: deleted), in
    the order a full read gives (`record_order`)."""
    out = dict(catalogue)
    moved: list[DocRecord] = []
    for d in changed:
        new, old = fresh.get(d), out.get(d)
        if new is None:
            out.pop(d, None)
        elif old is not None and record_order(old) == record_order(new):
            out[d] = new  # an edit: same place
        else:
            out.pop(d, None)
            moved.append(new)
    moved.sort(key=record_order)
    if moved and out and record_order(next(reversed(out.values()))) > record_order(moved[0]):
        # A writer whose commit is older than the newest record held (clocks, or a slow batch): full order.
        return {r.doc.doc_id: r for r in sorted([*out.values(), *moved], key=record_order)}
    out.update((r.doc.doc_id, r) for r in moved)
    return out


class Retriever:
    """Owns the per-process view of the store: the catalogue of committed documents and the BM25 index."""

    def __init__(self, store: Store, embedder: Embedder, settings: Settings) -> None:
        self.store = store
        self.embedder = embedder
        self.settings = settings
        self.queries = QueryEncoder(embedder)
        self._lock = threading.Lock()  # one refresh at a time
        self._catalogue: dict[str, DocRecord] = {}
        self._generation = ""
        self._checked_at = 0.0
        self._token: str | None = None  # the store's change token the catalogue was read at
        self._full_at = 0.0
        self._full_cost = 0.0  # seconds the last read of every record took (the backstop's period grows with it)
        self._changes_at: float | None = None  # changes logged from this time on (writers' clocks) are not in it yet
        self._applied: set[str] = set()  # ids of the logged changes since then (less the skew) that it reflects
        # invalidate() counts; the view records the count it was read after. A reader whose view is older than the
        # last invalidation waits for a fresh one, even while another thread is already reading it.
        self._invalidations = 0
        self._covers = 0
        self._lexical: LexicalIndex | None = None
        self._merging: threading.Thread | None = None  # the background merge of the BM25 delta, if one ran
        self._fusion_record: FusionRecord | None = None

    # --- derived state ---------------------------------------------------------------------------------

    def catalogue(self) -> dict[str, DocRecord]:
        self._refresh()
        return self._catalogue

    def invalidate(self) -> None:
        """Call after this process changed the store, so the next query sees it at once."""
        self._checked_at = 0.0
        self._token = None
        self._invalidations += 1

    def _refresh(self) -> None:
        """Every `catalogue_ttl` seconds ask the store whether anything changed (its change token: two cheap
        calls), and when it did, re-read the records its change log names (or every record every
        `catalogue_full_check` seconds as a backstop, read by a background thread when nothing is known to have
        changed).
        While one thread refreshes, the others keep answering from the current view, except after `invalidate()`
        or before the first view exists: then they wait for a view read after it (a refresh that another request
        started just before the invalidation does not count: its reader would miss the write)."""
        ttl = self.settings.catalogue_ttl
        wanted = self._invalidations
        if time.monotonic() - self._checked_at < ttl and self._lexical is not None and self._covers >= wanted:
            return
        must_wait = self._lexical is None or self._covers < wanted
        if not self._lock.acquire(blocking=must_wait):
            return
        handed_off = False
        try:
            now = time.monotonic()
            if now - self._checked_at < ttl and self._lexical is not None and self._covers >= wanted:
                return
            covering = self._invalidations  # read before the store: this view includes every write invalidated so far
            gen = self.store.generation()
            token = gen.token
            self._fusion_record = load_record(
                self.store.meta
            )  # a tuning run (any process) may have recorded a new choice
            if token == self._token and self._lexical is not None and now - self._full_at < self._backstop_period():
                self._checked_at = time.monotonic()
                self._covers = covering
                return
            if token == self._token and not must_wait:
                # The backstop read (below) with nothing known to have changed: a background thread does it, holding
                # the lock, while every request answers from the current view. At 1M chunks it reads 77,480 records
                # (~10 s), which the request that found it due used to pay once a minute.
                threading.Thread(
                    target=self._read_in_background, args=(gen, covering, now), name="catalogue-backstop", daemon=True
                ).start()
                handed_off = True
                return
            self._read_view(gen, covering, now)
        finally:
            if not handed_off:
                self._lock.release()

    def settle(self) -> None:
        """Count the backstop's period from now. A serving process calls it once ready: its start read every record
        and then worked on for minutes (a first start builds the findings view), so the first backstop read would
        otherwise come right after ready, beside the first requests (1M chunks: ~9 s of a core)."""
        self._full_at = time.monotonic()

    def _backstop_period(self) -> float:
        """Seconds between backstop reads: `catalogue_full_check`, or longer when one read costs more than
        `_BACKSTOP_SHARE` of that time. At 1M chunks a read of every record takes ~10 s of a core: once a minute it
        was a sixth of a 2-core replica's CPU, to catch a writer that died between a record and its log entry."""
        return max(self.settings.catalogue_full_check, self._full_cost / _BACKSTOP_SHARE)

    def _read_in_background(self, gen: Generation, covering: int, now: float) -> None:
        """`_read_view` on a thread of its own, releasing the lock `_refresh` took; a failure keeps the current view
        (the next check after `catalogue_ttl` tries again)."""
        try:
            self._read_view(gen, covering, now)
        except Exception:
            log.exception("background catalogue read failed; answering from the current view")
        finally:
            self._lock.release()

    def _read_view(self, gen: Generation, covering: int, now: float) -> None:
        """Read the catalogue as of `gen` (the changed records, or every record) and swap it in with its BM25 index.
        The caller holds the lock."""
        token = gen.token
        # Every record is read again when the token did not change (the backstop above: a writer that died between
        # a record and its log entry), and at least every 10 backstop periods while changes keep coming;
        # otherwise the change log says which records to read.
        full = token == self._token or now - self._full_at >= 10 * self.settings.catalogue_full_check
        caught_up = None if full else self._caught_up(gen)
        if caught_up is None:
            # Listed before the read, so each of them is in it: the next catch-up skips them, including a change
            # of everything (a reindex or bulk load) logged shortly before, which would otherwise force another
            # full read (1M chunks: 7.8 s at the first change after a start).
            started = time.monotonic()
            applied = {c.id for c in self.store.changes_since(gen.at - _CLOCK_SKEW)}
            catalogue = {r.doc.doc_id: r for r in self.store.catalogue()}
            self._full_cost = time.monotonic() - started
            if catalogue == self._catalogue and list(catalogue) == list(self._catalogue):
                # Nothing changed (the backstop's usual outcome): keep the object, so what is derived from it (the
                # findings view's key, the names questions are matched against) is not built again.
                catalogue = self._catalogue
            self._full_at = now
        else:
            catalogue, applied = caught_up
        self._changes_at, self._applied = gen.at, applied
        versions = {d: index_version(r.doc) for d, r in catalogue.items()}
        generation = generation_of(versions)
        lexical = self._lexical
        if lexical is None or lexical.generation != generation:
            lexical = self._load_or_build_lexical(generation, catalogue, versions)
        # Swap in one step: readers see either the old view or the new one.
        self._catalogue, self._generation, self._lexical = catalogue, generation, lexical
        self._token = token
        self._checked_at = time.monotonic()
        self._covers = covering

    def _caught_up(self, gen: Generation) -> tuple[dict[str, DocRecord], set[str]] | None:
        """The catalogue as of `gen` from the one held and the store's change log (only the changed documents'
        records are read) with the ids of the changes it reflects, or None when that cannot be trusted: nothing held
        yet, held for longer than the log keeps, a change of everything logged, or the result's size differs from
        the store's documents count."""
        since = self._changes_at
        if self._lexical is None or since is None or time.time() - since > CHANGE_RETENTION / 2:
            return None
        # Writers' clocks may disagree by a little: changes logged a while before the last one seen are listed again,
        # and those not applied yet are applied.
        listed = self.store.changes_since(since - _CLOCK_SKEW)
        fresh = [c for c in listed if c.id not in self._applied]
        changed: set[str] = set()
        for c in fresh:
            if c.doc_ids is None:
                return None
            changed |= c.doc_ids
        catalogue = apply_changes(self._catalogue, self.store.records(sorted(changed)), changed)
        return (catalogue, {c.id for c in listed}) if len(catalogue) == gen.count else None

    def _lexical_dir(self) -> Path:
        return self.settings.data_dir / "lexical" / self.settings.collection

    def _load_or_build_lexical(
        self, generation: str, catalogue: dict[str, DocRecord], versions: dict[str, str]
    ) -> LexicalIndex:
        directory = self._lexical_dir()
        # The index in memory when there is one (loading the saved base costs a read of every row), else the saved one.
        saved = self._lexical if self._lexical is not None else LexicalIndex.load(directory)
        if saved is not None and saved.generation == generation:
            return saved
        if saved is not None:
            # After an upload, delete or metadata edit: only the added or relabelled documents are read from the
            # store and indexed, into the delta segment; the saved base is left as it is (bench/lexical.py,
            # docs/benchmarks.md). Not saved when another process replaced the base on disk: it keeps that one.
            stale = {d for d, v in saved.versions.items() if d in versions and versions[d] != v}
            index = saved.updated(set(catalogue), generation, partial(index_rows, self.store), stale=stale)
            index.versions = versions
            index.save(directory, new_base=False)
            self._maybe_merge(index)
            return index
        tokens = TokenCache.load(directory)
        index = self.build_lexical(generation, catalogue, tokens.tokens)
        index.versions = versions
        index.save(directory, tokens)
        return index

    def _maybe_merge(self, index: LexicalIndex) -> None:
        """Fold the delta into the base in the background once delta rows and tombstones pass
        `lexical_merge_share` of the rows: every update rebuilds the delta, so its size bounds an update's cost."""
        if not self._needs_merge(index):
            return
        if self._merging is not None and self._merging.is_alive():
            return  # the running merge looks at the current index when it is done
        self._merging = threading.Thread(
            target=self._merge_until_current, args=(index,), name="lexical-merge", daemon=True
        )
        self._merging.start()

    def _needs_merge(self, index: LexicalIndex) -> bool:
        return index.unmerged > self.settings.lexical_merge_share * len(index)

    def _merge_until_current(self, index: LexicalIndex | None) -> None:
        """Merge `index`, then whatever index is current if it needs a merge too: an update that landed meanwhile
        (that merge's result is dropped) found this thread running and did not start another, so without the
        second look the delta of the last update in a burst of uploads would wait for the next update."""
        while index is not None and self._needs_merge(index):
            self.merge_lexical(index)
            index = self._lexical

    def merge_lexical(self, index: LexicalIndex) -> bool:
        """Compact `index` (base + delta, tombstones dropped) and swap the result in if `index` is still current.
        The merge and the new base's files are made without the lock: searches and refreshes go on meanwhile;
        only the swap (a small write and a rename) takes it. The merged index has the same rows and scores."""
        directory = self._lexical_dir()
        merged = index.merged()
        base = merged.write_base(directory)
        with self._lock:
            if self._lexical is not index:  # updated meanwhile: the next update merges again
                merged.drop_base(directory, base)
                return False
            if index.is_saved(directory):
                merged.save(directory, new_base=False)
            else:  # another process saved its index there since: it stays; this one is merged in memory only
                merged.drop_base(directory, base)
            self._lexical = merged
        return True

    def build_lexical(
        self,
        generation: str | None = None,
        catalogue: dict[str, DocRecord] | None = None,
        tokens: Callable[[str], list[str]] = analyze,
    ) -> LexicalIndex:
        committed = self._catalogue if catalogue is None else catalogue
        rows = (index_row(r) for r in self.store.iter_chunks() if r.metadata.get("doc_id") in committed)
        return LexicalIndex.build(rows, self._generation if generation is None else generation, tokens)

    def lexical(self) -> LexicalIndex:
        self._refresh()
        assert self._lexical is not None
        return self._lexical

    def default_fusion(self) -> FusionParams:
        s = self.settings
        return FusionParams(
            method=s.fusion, alpha=s.fusion_alpha, dense_weight=s.dense_weight, rrf_k=s.rrf_k, depth=s.candidate_k
        )

    def fusion_record(self) -> FusionRecord | None:
        """The library's own tuning result when self-tuning is on and one is recorded for these vectors."""
        self._refresh()
        record = self._fusion_record
        if not self.settings.fusion_tuning or record is None or record.embedder != self.store.embedder_id:
            return None
        return record

    def use_fusion(self, record: FusionRecord) -> None:
        """Adopt a tuning result just recorded (other processes read it on their next refresh)."""
        self._fusion_record = record

    def fusion(self) -> FusionParams:
        """The fusion the hybrid mode uses: the library's tuned choice, else the settings' (candidate depth always
        from the settings: it bounds the query's cost)."""
        record = self.fusion_record()
        params = record.params if record is not None else self.default_fusion()
        return replace(params, depth=self.settings.candidate_k)

    def fusion_summary(self) -> dict[str, Any]:
        """What /readyz and `qa eval` show about the hybrid fusion in use."""
        record = self.fusion_record()
        if record is not None:
            return {**record.summary(), "depth": self.settings.candidate_k}
        return {
            "source": "settings" if not self.settings.fusion_tuning else "default",
            **self.default_fusion().as_dict(),
        }

    # --- search ----------------------------------------------------------------------------------------

    def allowed_docs(self, filters: Filters) -> set[str] | None:
        if not filters.on_documents:
            return None
        return {d for d, rec in self.catalogue().items() if filters.admits(rec.doc)}

    def _dense_where(self, filters: Filters) -> tuple[bool, dict[str, Any] | None]:
        """(anything admitted?, Chroma where clause) for the filters."""
        allowed = self.allowed_docs(filters)
        if allowed is not None and not allowed:
            return False, None
        clauses: list[dict[str, Any]] = []
        if allowed is not None:
            clauses.append({"doc_id": {"$in": sorted(allowed)}})
        if filters.section_role:
            clauses.append({"section_role": filters.section_role})
        return True, None if not clauses else clauses[0] if len(clauses) == 1 else {"$and": clauses}

    def dense(self, query: str, k: int, filters: Filters, vector: np.ndarray | None = None) -> list[Hit]:
        catalogue = self.catalogue()
        admitted, where = self._dense_where(filters)
        if not admitted:
            return []
        vec = self.queries.encode(query) if vector is None else vector
        # Over-fetch a little: chunks of a document whose commit was interrupted are skipped.
        rows = self.store.query(vec, k + 8, where)
        return [Hit.from_row(r, s) for r, s in rows if r.metadata.get("doc_id") in catalogue][:k]

    def _bm25_ranked(self, query: str, k: int, filters: Filters) -> list[tuple[str, float]]:
        index = self.lexical()
        if not len(index):
            return []
        return index.search(query, k, self._lexical_mask(index, filters), self.settings.phrase_weight)

    def _lexical_mask(self, index: LexicalIndex, filters: Filters) -> np.ndarray | None:
        """The rows of `index` the filters admit (None: all)."""
        mask: np.ndarray | None = None
        allowed = self.allowed_docs(filters)
        if allowed is not None:
            mask = np.isin(index.doc_ids, list(allowed))
        if filters.section_role:
            role_mask = index.roles == filters.section_role
            mask = role_mask if mask is None else mask & role_mask
        return mask

    def bm25(self, query: str, k: int, filters: Filters) -> list[Hit]:
        ranked = self._bm25_ranked(query, k, filters)
        rows = {r.id: r for r in self.store.get_chunks([i for i, _ in ranked])}
        return [Hit.from_row(rows[i], s) for i, s in ranked if i in rows]

    def _hybrid(self, query: str, k: int, filters: Filters, vector: np.ndarray | None) -> list[Hit]:
        """Rank by ids only on both sides, fuse, then fetch text and metadata for the winners alone.

        BM25 runs on a worker thread while this one embeds the query and asks the HNSW index (torch, Chroma and
        numpy release the GIL for most of their work). Fetching only the fused top instead of every candidate
        of both sides cut the query path from ~25 ms to ~4 ms of store time at 10k chunks (bench/results)."""
        params = self.fusion()
        n = max(k, params.depth)
        catalogue = self.catalogue()
        lexical = _bm25_pool().submit(self._bm25_ranked, query, n, filters)
        admitted, where = self._dense_where(filters)
        dense: list[tuple[str, float]] = []
        if admitted:
            vec = self.queries.encode(query) if vector is None else vector
            dense = self.store.query_ids(vec, n + 8, where)
        bm25 = lexical.result()
        fused = fuse(bm25, dense[:n], replace(params, depth=n))
        # Over-fetch a little: chunks of a document whose commit was interrupted are skipped.
        top = fused[: k + 8]
        rows = {r.id: r for r in self.store.get_chunks([i for i, _ in top])}
        hits = [Hit.from_row(rows[i], s) for i, s in top if i in rows and rows[i].metadata.get("doc_id") in catalogue]
        return [_with_score(h, h.score) for h in hits[:k]]

    def candidate_chunks(
        self,
        query: str,
        filters: Filters | None = None,
        *,
        vector: np.ndarray | None = None,
        per_doc: int = 2,
        dense_k: int = 500,
        min_relative_bm25: float = 0.3,
    ) -> ChunkCandidates:
        """Recall over the whole admitted corpus for aggregate questions, at a cost bounded by the number of
        matching documents, not by the corpus: for every document, its `per_doc` best chunks by BM25 and its
        `per_doc` best among the dense side's nearest chunks (the union, so a paraphrase the dense side finds
        and a wording BM25 finds in another chunk of the same report are both kept).

        Lexical side: BM25 scores of every row at once (one sparse product, exhaustive), best rows per
        document picked with numpy, for every document whose best row scores at least `min_relative_bm25` of
        the best row overall (a document sharing only a common word such as 预算 with the topic is not a
        candidate). Dense side: the `dense_k` nearest chunks from the HNSW index (ids only; asking Chroma for
        every chunk fails at ~100k with "too many SQL variables").
        Committed documents' chunks only; nothing is read from the store. (bench/results/query.json:
        aggregate_candidates, 10k and 100k chunks.)"""
        filters = filters or Filters()
        catalogue = self.catalogue()
        index = self.lexical()
        dense_ids: list[str] = []
        dense_sims: list[float] = []
        admitted, where = self._dense_where(filters)
        if admitted:
            vec = self.queries.encode(query) if vector is None else vector
            per_doc_dense: dict[str, int] = {}
            for chunk_id, sim in self.store.query_ids(vec, dense_k, where):  # best first
                doc_id = doc_of(chunk_id)
                if doc_id in catalogue and per_doc_dense.get(doc_id, 0) < per_doc:
                    per_doc_dense[doc_id] = per_doc_dense.get(doc_id, 0) + 1
                    dense_ids.append(chunk_id)
                    dense_sims.append(sim)
        dense_rows = index.rows_of(dense_ids) if len(index) else np.full(len(dense_ids), -1, dtype=np.int64)
        lexical_rows = np.zeros(0, dtype=np.int64)
        scores = index.scores(query, self._lexical_mask(index, filters)) if len(index) else None
        if scores is not None:
            rows = np.flatnonzero(scores >= max(float(scores.max()) * min_relative_bm25, 1e-9))
            codes = index.doc_codes()[rows]
            order = np.lexsort((-scores[rows], codes))  # by document, best first within each
            rows, codes = rows[order], codes[order]
            starts = np.r_[0, np.flatnonzero(np.diff(codes)) + 1]
            rank = np.arange(len(rows)) - np.repeat(starts, np.diff(np.r_[starts, len(rows)]))
            lexical_rows = rows[rank < per_doc]
            lexical_rows = lexical_rows[~np.isin(lexical_rows, dense_rows)]  # the dense side has them already
        return ChunkCandidates(
            dense_ids + [index.ids[r] for r in lexical_rows.tolist()],
            np.concatenate([np.array(dense_sims, dtype=np.float64), np.zeros(len(lexical_rows))]),
            np.concatenate([dense_rows, lexical_rows]).astype(np.int64),
            index,
        )

    def search(
        self,
        query: str,
        *,
        mode: Mode = "hybrid",
        top_k: int | None = None,
        filters: Filters | None = None,
        vector: np.ndarray | None = None,
    ) -> list[Hit]:
        """`vector`: the query's embedding when the caller already has it (computed once per request)."""
        k = top_k or self.settings.top_k
        filters = filters or Filters()
        if mode == "dense":
            return self.dense(query, k, filters, vector)
        if mode == "bm25":
            return self.bm25(query, k, filters)
        return self._hybrid(query, k, filters, vector)


def _with_score(hit: Hit, score: float) -> Hit:
    return replace(hit, score=round(score, 6))


def open_retriever(settings: Settings, embedder: Embedder) -> Retriever:
    store = Store(settings, embedder.model_id, embedder.dimension, findings_embedder_id=embedder.query_model_id)
    return Retriever(store, embedder, settings)
