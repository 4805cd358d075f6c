"""The sentence pass (qa/sentences.py) in bulk and in the background, side by side (issue 23: bulk preparation
of sentences faster).

- background: what `qa serve` runs after writes (`prepare_sentences(ctx)`: slices of 8 sentences on the shared int8
  query model, a 2 ms pause after each so a search waits for one slice; the model's runs on QA_TORCH_THREADS);
- bulk: what `qa sentences` runs (`workers` = the cores: that many encoder threads, one thread per model run, no
  pauses).

Each round prepares every chunk of a fresh copy of the store (its prepared sentences removed), the modes interleaved;
the two modes' vectors are compared entry by entry (they must be equal: one text per model run either way). Stores:
the generated bench store (BENCH_SENTENCE_STORE, default 10k chunks: its reports repeat many sentences, which the pass
embeds once) and the real sample reports and 部门决算 PDFs (few chunks, every sentence different).

    python -m bench.sentences         # ~6 min; writes bench/results/sentences.json
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import QUICK, ROOT, header, log, write_result
from bench.stores import ensure_findings

ROUNDS = 1 if QUICK else 2
REAL = [ROOT / "samples", ROOT / "tests" / "fixtures"]


def _vectors(data: Path) -> dict[int, Any]:
    """Every prepared entry's sentence vectors, by entry key."""
    import numpy as np

    from qa.embeddings import Embedder
    from qa.sentences import SentenceStore
    from qa.settings import Settings

    settings = Settings(data_dir=data)
    store = SentenceStore(data / "sentences" / settings.collection, Embedder(settings).query_model_id)
    store.refresh()
    out: dict[int, Any] = {}
    for name in sorted(store._segments):
        batch = store._segments[name]
        vectors = np.asarray(batch.vectors)
        for i, key in enumerate(batch.keys.tolist()):
            out[int(key)] = vectors[batch.ptr[i] : batch.ptr[i + 1]].copy()
    return out


def _pass(source: Path, work: Path, mode: str, r: int) -> dict[str, Any]:
    from qa.answering.context import AnswerContext
    from qa.answering.prepared import prepare_sentences
    from qa.embeddings import Embedder
    from qa.retrieve import open_retriever
    from qa.settings import Settings

    # A path of its own per run: Chroma keeps one client per path in the process, which would outlive a copy.
    data = work / f"{source.parent.name}-{mode}-{r}"
    shutil.copytree(source, data, ignore=shutil.ignore_patterns("sentences"))
    workers = (os.cpu_count() or 1) if mode == "bulk" else 0
    settings = Settings(data_dir=data, **({"torch_threads": 1} if workers > 1 else {}))
    ctx = AnswerContext.of(open_retriever(settings, Embedder(settings)))
    ctx.retriever.lexical()
    ctx.vectors.get(["预热"])  # the model loaded before the clock starts
    t = time.perf_counter()
    chunks = prepare_sentences(ctx, workers=workers)
    seconds = time.perf_counter() - t
    return {"seconds": seconds, "chunks": chunks, "vectors": _vectors(data)}


def _real_store(work: Path) -> Path:
    from ingest.pipeline import expand_paths
    from qa.embeddings import Embedder
    from qa.library import Library
    from qa.retrieve import open_retriever
    from qa.settings import Settings

    data = work / "real-source"
    settings = Settings(data_dir=data, sentence_pass=False)
    Library.of(open_retriever(settings, Embedder(settings))).ingest_files(expand_paths(REAL))
    return data


def _compare(source: Path, work: Path) -> dict[str, Any]:
    rounds: dict[str, list[dict[str, Any]]] = {"background": [], "bulk": []}
    for r in range(ROUNDS):
        for mode in ("background", "bulk") if r % 2 == 0 else ("bulk", "background"):
            rounds[mode].append(_pass(source, work, mode, r))
            log(f"  round {r} {mode}: {rounds[mode][-1]['chunks']} chunks in {rounds[mode][-1]['seconds']:.1f} s")
    a, b = rounds["background"][0]["vectors"], rounds["bulk"][0]["vectors"]
    import numpy as np

    same = a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    out: dict[str, Any] = {"chunks": rounds["bulk"][0]["chunks"], "sentences": sum(len(v) for v in b.values())}
    for mode, runs in rounds.items():
        s = statistics.median(x["seconds"] for x in runs)
        out[mode] = {"seconds": round(s, 2), "chunks_per_s": round(out["chunks"] / s, 1)}
    out["bulk_over_background"] = round(out["background"]["seconds"] / out["bulk"]["seconds"], 2)
    out["vectors_identical"] = bool(same)
    return out


def main() -> None:
    result: dict[str, Any] = {**header("sentences"), "cores": os.cpu_count(), "stores": {}}
    n = int(os.environ.get("BENCH_SENTENCE_STORE", "10000"))
    work = Path(tempfile.mkdtemp(prefix="bench_sentences_"))
    try:
        log("real reports and 部门决算 PDFs")
        result["stores"]["real"] = _compare(_real_store(work), work)
        write_result("sentences", result)
        log(f"generated store of {n} chunks")
        data, _ = ensure_findings(n)
        result["stores"][f"generated_{n}"] = _compare(data, work)
        write_result("sentences", result)
        log(str(result["stores"]))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
