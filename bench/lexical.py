"""BM25 index builds, updates and queries at the query benchmark's store sizes, side by side in one process.

Builds (after reading every chunk from Chroma, timed on its own):
- full: every chunk tokenised by jieba (the very first build);
- cached: the same build with the tokens the previous build saved (`qa.lexical.TokenCache`): what a rebuild
  costs when the saved index is lost or damaged.

Updates after an upload or a delete, old path and new path side by side, interleaved over rounds, each from the
same saved state (copied before every round, untimed). Both read only the changed documents from Chroma.
- old: the code before segments (`BASELINE`, loaded from git): what the retriever did per update: load the saved
  index and token cache, re-index every row with bm25s from the cached tokens, save everything again;
- new: `LexicalIndex.updated` on the index in memory (the changed rows into the delta segment, tombstones for the
  removed ones), then `save(..., new_base=False)` (delta, tombstones and metadata only).
Three changes: 1 document added, 1 document deleted, 1 % of the documents added.

Queries: `search(q, 50, phrase_weight=0.5)` (the service's candidate depth and phrase weight) over ~200 queries of
bench/queries.py on the same rows: the old bm25s index, the new index as built (one segment), the new index after
the 1 % update (base + delta), and the alternative design with precomputed tf parts (idf at query time, lengths
normalised by the mean length of the build: drifts until a merge). Rotating order per query, 3 passes; the first
pass on a fresh index is reported on its own (the new index keeps the columns of frequent tokens once computed).
Then the merge of the updated index (compact base + delta, write the new base).

    python -m bench.lexical          # BENCH_SIZES as bench.query (bench.common.store_sizes) (10k,100k by default; 10k when quick)
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import types
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import ROOT, log, percentile, run_per_size, summary
from bench.queries import query_pool
from bench.stores import base_vectors, ensure_store
from qa import lexical
from qa.embeddings import model_id_for, query_model_id_for
from qa.lexical import LexicalIndex, TokenCache
from qa.retrieve import index_row, index_rows
from qa.settings import Settings
from qa.store import Store

BASELINE = "a334c03"  # the last commit whose LexicalIndex was one bm25s index rebuilt on every update
ROUNDS = 3
QUERY_PASSES = 3
Row = tuple[str, str, str, str]


def baseline_lexical() -> types.ModuleType:
    """qa/lexical.py as of BASELINE, imported from git (the old path, not a copy of it kept in this file)."""
    source = subprocess.run(
        ["git", "show", f"{BASELINE}:qa/lexical.py"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    module = types.ModuleType("qa_lexical_baseline")
    module.__file__ = str(ROOT / "qa" / "lexical.py")  # its user dictionary path is relative to this
    sys.modules[module.__name__] = module  # dataclasses and annotations look the module up
    exec(compile(source, f"{BASELINE}:qa/lexical.py", "exec"), module.__dict__)
    return module


class Precomputed(LexicalIndex):
    """The alternative design, for its query latency only: per posting the tf part tf/(tf + norm) computed once
    with the mean length of the build, idf applied at query time from the live document frequencies."""

    def __init__(self, index: LexicalIndex) -> None:
        super().__init__(index._rows, index._segments, index.generation)
        self._tfc = [
            tuple(f.tf / (norm.take(f.rows) + f.tf) for f, norm in zip(seg.fields, self._norm[s], strict=True))
            for s, seg in enumerate(self._segments)
        ]

    def _column(self, s: int, f: int, token: str) -> tuple[np.ndarray, np.ndarray] | None:
        postings = self._segments[s].fields[f]
        tid = postings.vocab.get(token)
        if tid is None:
            return None
        start, end = int(postings.indptr[tid]), int(postings.indptr[tid + 1])
        rows = postings.rows[start:end]
        idf = np.float32(lexical._idf(len(self), self._df(f, token)))
        at = rows if s in self._identity else self._segments[s].pos.take(rows)
        return at, (idf * self._tfc[s][f][start:end]).astype(np.float32)


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def copy_state(pristine: Path, work: Path) -> Path:
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(pristine, work)
    return work


def updates(
    rows: list[Row], store: Store, work: Path, cache: TokenCache, old: types.ModuleType
) -> tuple[dict[str, Any], LexicalIndex]:
    """Old vs new update for each change, interleaved; and the new index after the 1 % add (base + delta)."""
    docs = sorted({r[1] for r in rows})
    one, some = {docs[len(docs) // 2]}, set(docs[-max(1, len(docs) // 100) :])
    changes = {  # name: (documents before, documents after)
        "add_1_doc": (set(docs) - one, set(docs)),
        "delete_1_doc": (set(docs), set(docs) - one),
        "add_1pct_docs": (set(docs) - some, set(docs)),
    }
    added_rows = partial(index_rows, store)
    out: dict[str, Any] = {}
    after_1pct: LexicalIndex | None = None
    for name, (before, after) in changes.items():
        kept = [r for r in rows if r[1] in before]
        for variant, module in (("old", old), ("new", lexical)):
            old_cache = module.TokenCache.load(work / "tokens")  # the full build's tokens, as a saved index has them
            module.LexicalIndex.build(kept, "before", old_cache.tokens).save(work / f"{variant}-{name}", old_cache)
        times: dict[str, list[float]] = {"old": [], "new": []}
        for round_ in range(ROUNDS):
            for variant in ("old", "new") if round_ % 2 == 0 else ("new", "old"):
                state = copy_state(work / f"{variant}-{name}", work / "state")
                if variant == "old":

                    def old_update(state: Path = state) -> None:
                        saved, tokens = old.LexicalIndex.load(state), old.TokenCache.load(state)
                        saved.updated(after, "after", tokens, added_rows).save(state, tokens)

                    times["old"].append(timed(old_update)[0])
                else:
                    previous = LexicalIndex.load(state)  # in memory already in a running process: untimed
                    assert previous is not None

                    def new_update(previous: LexicalIndex = previous, state: Path = state) -> LexicalIndex:
                        index = previous.updated(after, "after", added_rows)
                        assert index.save(state, new_base=False)
                        return index

                    seconds, index = timed(new_update)
                    times["new"].append(seconds)
                    after_1pct = index if name == "add_1pct_docs" else after_1pct
        row = {
            "documents_changed": len(before ^ after),
            "rows_changed": sum(r[1] in before ^ after for r in rows),
            "old_s": summary(times["old"], 3),
            "new_s": summary(times["new"], 3),
        }
        row["old_over_new"] = round(row["old_s"]["median"] / max(row["new_s"]["median"], 1e-6), 1)
        out[name] = row
        log(f"update {name}: old {row['old_s']['median']} s, new {row['new_s']['median']} s ({row['old_over_new']}×)")
    assert after_1pct is not None
    return out, after_1pct


def query_latency(rows: list[Row], cache: TokenCache, old: types.ModuleType, updated: LexicalIndex) -> dict[str, Any]:
    """Search latency of the variants on the same rows, interleaved per query; results compared with the old."""
    old_index = old.LexicalIndex.build(rows, "g", cache.tokens)
    variants: dict[str, Callable[[], Any]] = {
        "old": lambda: old_index,
        "new": lambda: LexicalIndex.build(rows, "g", cache.tokens),
        "new_base_plus_delta": lambda: LexicalIndex(updated._rows, updated._segments, updated.generation),
        "precomputed_tf": lambda: Precomputed(updated),
    }
    indexes = {name: make() for name, make in variants.items()}
    queries = query_pool(200)
    same = sum(
        indexes["old"].search(q, 50, phrase_weight=0.5)
        == indexes["new"].search(q, 50, phrase_weight=0.5)
        == indexes["new_base_plus_delta"].search(q, 50, phrase_weight=0.5)
        for q in queries
    )
    indexes = {name: make() for name, make in variants.items()}  # fresh: no column computed yet
    ms: dict[str, list[list[float]]] = {name: [] for name in indexes}
    names = list(indexes)
    for pass_ in range(QUERY_PASSES):
        for name in names:
            ms[name].append([])
        for i, q in enumerate(queries):
            shift = (i + pass_) % len(names)
            for name in names[shift:] + names[:shift]:
                seconds, _ = timed(partial(indexes[name].search, q, 50, phrase_weight=0.5))
                ms[name][-1].append(seconds * 1000)
    out: dict[str, Any] = {"queries": len(queries), "identical_results_old_new_updated": same}
    for name, passes in ms.items():
        every = [x for p in passes for x in p]
        out[name] = {
            "p50_ms": round(percentile(every, 50), 3),
            "p95_ms": round(percentile(every, 95), 3),
            "first_pass_p50_ms": round(percentile(passes[0], 50), 3),
            "first_pass_p95_ms": round(percentile(passes[0], 95), 3),
        }
    for name in names[1:]:
        out[f"{name}_over_old_p50"] = round(out[name]["p50_ms"] / out["old"]["p50_ms"], 3)
        out[f"{name}_over_old_p95"] = round(out[name]["p95_ms"] / out["old"]["p95_ms"], 3)
    log("query p50/p95 ms: " + ", ".join(f"{n} {out[n]['p50_ms']}/{out[n]['p95_ms']}" for n in names))
    return out


def merge(updated: LexicalIndex, work: Path) -> dict[str, Any]:
    seconds, merged = timed(updated.merged)
    write_s, _ = timed(partial(merged.write_base, work / "merge"))
    return {"unmerged_rows": updated.unmerged, "merge_s": round(seconds, 2), "write_base_s": round(write_s, 2)}


def builds(rows: Iterable[Row], work: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for variant in ("full", "cached"):
        cache = TokenCache() if variant == "full" else TokenCache.load(work / "tokens")
        seconds, index = timed(partial(LexicalIndex.build, rows, variant, cache.tokens))
        out[f"{variant}_build_s"] = round(seconds, 2)
        out[f"{variant}_save_s"] = round(timed(partial(index.save, work / "tokens", cache))[0], 2)
        out[f"{variant}_tokenised"] = cache.tokenized
        log(
            f"{variant} build {out[f'{variant}_build_s']} s (tokenised {cache.tokenized}), save {out[f'{variant}_save_s']} s"
        )
    out["cached_over_full"] = round(out["cached_build_s"] / out["full_build_s"], 3)
    return out


def run(n: int) -> dict[str, Any]:
    data, _ = ensure_store(n)
    settings = Settings(data_dir=data)
    store = Store(
        settings,
        model_id_for(settings),
        int(base_vectors(settings).shape[1]),
        findings_embedder_id=query_model_id_for(settings),
    )
    read_s, rows = timed(lambda: [index_row(r) for r in store.iter_chunks()])
    work = data.parent / "lexical_bench"
    shutil.rmtree(work, ignore_errors=True)
    out: dict[str, Any] = {"chunks": len(rows), "chroma_read_s": round(read_s, 1), **builds(rows, work)}
    old = baseline_lexical()
    cache = TokenCache.load(work / "tokens")
    out["update"], updated = updates(rows, store, work, cache, old)
    out["query"] = query_latency(rows, cache, old, updated)
    out["merge"] = merge(updated, work)
    log(f"{n}: merge {out['merge']}")
    shutil.rmtree(work, ignore_errors=True)
    return out


def main() -> None:
    run_per_size("lexical", run, baseline=BASELINE)


if __name__ == "__main__":
    main()
