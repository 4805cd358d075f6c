"""What one change to the library costs a running process, at the query benchmark's store sizes (issue 23:
updates in O(change)): a document deleted, one whose metadata is edited (a rewrite: it leaves the catalogue and
comes back) and one added, each followed by what the next request pays to be in step with it.

Per change, timed apart: the store write (`Library.delete` / `edit_metadata` / `ingest_files`, the embedding of an
added document included), the BM25 update (`Retriever.lexical()` after the change), the findings view update
(`FindingsIndex.view()`) and the first aggregate question on the updated view (`concept_verdict` for
预算编制不够细化, what `/v1/ask` runs for "哪些单位提到预算编制不够细化？"). The BM25 update includes the
catalogue's catch-up from the store's change log (the changed records only); `catalogue_all_s` is what reading
every record costs, which the code before the change log paid at every change, in every process.

The findings view's two update paths side by side, interleaved over rounds in one process on a copy of the store:
- rebuild: the view rebuilt from nothing after a delete or an edit (`_DEAD_SHARE` 0: what the code did before
  departed rows were marked dead);
- in place: the departed document's rows marked dead, an edited or added one appended (`_DEAD_SHARE` as shipped).
An addition takes the append path in both (the rebuild path never rebuilt for one); the code before this also
recomputed every row's accepted concepts at the first question after any change, timed here as `accepted_all_s`.

    python -m bench.findings_update          # BENCH_SIZES as bench.query (10k,100k by default; 10k when quick)
    BENCH_SIZES=1m BENCH_FINDINGS_UPDATE_NAME=findings_update_1m python -m bench.findings_update   # ~25 min, ~20 GB disk
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import QUICK, log, run_per_size
from bench.gen_corpus import generate_doc
from bench.stores import ensure_findings

ROUNDS = 2 if QUICK else 3
REBUILD_UP_TO = 1_000_000  # store sizes below this also time the rebuild path


def _timed(fn: Any) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def run(n: int) -> dict[str, Any]:
    import qa.findings.index as index_module
    from qa.api.deps import settle_heap
    from qa.embeddings import Embedder
    from qa.findings import open_findings
    from qa.findings.evidence import concept_verdict
    from qa.library import Library
    from qa.retrieve import Filters, open_retriever
    from qa.settings import Settings

    data, _ = ensure_findings(n)
    work = Path(tempfile.mkdtemp(prefix="findings_update_", dir=data.parent))
    try:
        log(f"{n}: copying the store")
        shutil.copytree(data, work / "data")
        settings = Settings(data_dir=work / "data")
        retriever = open_retriever(settings, Embedder(settings))
        library = Library.of(retriever)
        index = open_findings(retriever)
        retriever.lexical()
        build_s, view = _timed(index.view)
        settle_heap()  # as `qa serve` does after its start: the start-up objects out of the collector's reach
        concept = index.categorizer.taxonomy.names.index("预算编制不够细化")
        shipped = index_module._DEAD_SHARE
        with_findings = sorted(d for d, r in retriever.catalogue().items() if r.n_findings)
        log(f"{n}: view built in {build_s:.1f} s ({len(view.row_doc)} rows, {len(view.key)} documents)")
        samples: dict[str, dict[str, list[float]]] = {}

        def measure(path: str, change: str, write: Any) -> None:
            write_s, _ = _timed(write)
            bm25_s, _ = _timed(retriever.lexical)
            view_s, view = _timed(index.view)
            ask_s, verdict = _timed(lambda: concept_verdict(index, concept, "problem", Filters()))
            accepted_s, _ = _timed(lambda: index.categorizer.accepted(view.row_scores))
            catalogue_s, _ = _timed(retriever.store.catalogue)
            row = {
                "write_s": write_s,
                "bm25_s": bm25_s,
                "view_s": view_s,
                "first_ask_s": ask_s,
                "accepted_all_s": accepted_s,
                "catalogue_all_s": catalogue_s,
                "dead_rows": float(view.dead_rows),
                "units": float(len(verdict.accepted)),
            }
            for k, v in row.items():
                samples.setdefault(f"{path}.{change}", {}).setdefault(k, []).append(v)

        added = 0
        # At 1M the rebuild path would read every finding row after each change (~7 minutes each): in place only.
        paths = ("in_place", "rebuild") if n < REBUILD_UP_TO else ("in_place",)
        for r in range(ROUNDS):
            for path in paths if r % 2 == 0 else paths[::-1]:
                index_module._DEAD_SHARE = shipped if path == "in_place" else 0.0  # type: ignore[attr-defined]
                victim, edited = with_findings.pop(), with_findings.pop()
                measure(path, "delete", lambda: library.delete(victim))
                year = retriever.catalogue()[edited].doc.year
                measure(path, "edit", lambda: library.edit_metadata(edited, year=(year or 2020) + 1))
                g = generate_doc(50_000_000 + added, seed=11)
                added += 1
                src = work / "add" / g.source
                src.parent.mkdir(exist_ok=True)
                src.write_text(g.text, encoding="utf-8")
                measure(path, "add", lambda: library.ingest_files([src]))
                log(f"{n}: round {r} {path} done")
        index_module._DEAD_SHARE = shipped  # type: ignore[attr-defined]
        out: dict[str, Any] = {"rows": len(view.row_doc), "documents": len(view.key), "view_build_s": round(build_s, 2)}
        for name, cols in samples.items():
            out[name] = {k: round(statistics.median(v), 4) for k, v in cols.items()}
        for change in ("delete", "edit"):
            if f"rebuild.{change}" in out:
                old, new = out[f"rebuild.{change}"], out[f"in_place.{change}"]
                out[f"{change}_view_ratio"] = round(old["view_s"] / max(new["view_s"], 1e-6), 1)
        log(f"{n}: {out}")
        return out
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    run_per_size(os.environ.get("BENCH_FINDINGS_UPDATE_NAME", "findings_update"), run)


if __name__ == "__main__":
    main()
