"""Scale stores for the query benchmarks: N generated chunks in a real embedded Chroma + the BM25 index.

The lexical side indexes the real generated texts (jieba + bm25s over every chunk, built by the service's own
`Retriever.lexical()`). The dense side is filled with vectors made once, not by encoding every chunk (which
would take hours here): `BASE` generated chunk texts are encoded with the configured embedder and cached in
bench/cache/, and chunk i gets base[i % BASE] plus Gaussian noise (σ per dimension 0.03, i.e. cosine ≈ 0.75 to
its base), L2-normalised. HNSW latency depends on the number, dimension and spread of the vectors, not on what
they mean; perturbed real vectors keep the clustered, anisotropic shape of real embeddings (uniform random unit
vectors would be a harsher case for HNSW). Query vectors at benchmark time come from the real embedder.

Findings (one row per problem/measure sentence, what aggregate answers about problems and measures read) are
added by `ensure_findings` with their real vectors: the generator draws them from a few hundred phrasings, so
each distinct sentence is encoded once (cached in bench/cache/) and every row gets the vector of its own text.

Prepared sentences (qa/sentences.py: what `qa serve` computes in the background for aggregate questions) are
added by `ensure_sentences`, the service's own code over the real generated texts, timed once.

A built store is cached under bench/cache/stores/<name>/ with a READY.json describing it, and reused while the
generator, seed, size and model id are unchanged.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from bench.common import CACHE, log
from bench.gen_corpus import generate_doc
from ingest.document import RawDocument
from ingest.pipeline import prepare
from ingest.schema import ChunkRow, finding_row_text
from qa.embeddings import model_id_for, query_model_id_for
from qa.settings import Settings

BASE = 384
SIGMA = 0.03
STORE_VERSION = 3  # bump when the generator or the fill recipe changes (3: findings by the query model)
FINDINGS_VERSION = 3  # bump when finding extraction, their vectors or their layout change (re-adds findings only; 3: vectors in row metadata)
_FLUSH = 4096


def base_vectors(settings: Settings) -> np.ndarray:
    """BASE real embeddings of generated chunk texts, encoded once per model id and cached."""
    model_id = model_id_for(settings)
    safe = "".join(c if c.isalnum() else "_" for c in model_id)[-60:]
    path = CACHE / f"base_vectors_{safe}_{BASE}.npy"
    if path.exists():
        return np.load(path)
    from qa.embeddings import Embedder

    texts: list[str] = []
    i = 0
    while len(texts) < BASE:
        g = generate_doc(10_000_000 + i, seed=7)
        texts += prepare(RawDocument(g.source, g.text, "txt"), {}, chunk_size=300, chunk_overlap=1).index_texts
        i += 1
    log(f"encoding {BASE} base vectors with {model_id} (once; cached in {path.name})")
    vecs = Embedder(settings).encode(texts[:BASE])
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, vecs)
    return vecs


def fill_vectors(base: np.ndarray, start: int, n: int) -> np.ndarray:
    rng = np.random.default_rng(start)
    idx = np.arange(start, start + n) % len(base)
    v = base[idx] + rng.normal(0.0, SIGMA, size=(n, base.shape[1])).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return v.astype(np.float32)


def store_dir(n_chunks: int, seed: int = 0) -> Path:
    return CACHE / "stores" / f"gen{n_chunks}_s{seed}"


def ensure_store(
    n_chunks: int, settings_kwargs: dict[str, Any] | None = None, seed: int = 0
) -> tuple[Path, dict[str, Any]]:
    """The data dir of a store with at least n_chunks generated chunks (built if missing); and its description."""
    root = store_dir(n_chunks, seed)
    data = root / "data"
    settings = Settings(data_dir=data, **(settings_kwargs or {}))
    model_id = model_id_for(settings)
    ready = root / "READY.json"
    want = {
        "version": STORE_VERSION,
        "n_chunks_target": n_chunks,
        "seed": seed,
        "model_id": model_id,
        "base": BASE,
        "sigma": SIGMA,
    }
    if ready.exists():
        info = json.loads(ready.read_text())
        if all(info.get(k) == v for k, v in want.items()):
            return data, info
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    info = {**want, **build(data, settings, n_chunks, seed)}
    ready.write_text(json.dumps(info, indent=2, ensure_ascii=False))
    return data, info


def ensure_findings(
    n_chunks: int, settings_kwargs: dict[str, Any] | None = None, seed: int = 0
) -> tuple[Path, dict[str, Any]]:
    """`ensure_store` plus the findings of every generated document (added once; recorded in READY.json)."""
    data, info = ensure_store(n_chunks, settings_kwargs, seed)
    if info.get("findings_version") == FINDINGS_VERSION:
        return data, info
    from qa.embeddings import Embedder
    from qa.store import Store

    settings = Settings(data_dir=data, **(settings_kwargs or {}))
    embedder = Embedder(settings)
    store = Store(settings, embedder.model_id, embedder.dimension, findings_embedder_id=embedder.query_model_id)
    store.clear_findings()
    cache: dict[str, np.ndarray] = {}

    def _embedded(row: ChunkRow) -> str:
        return finding_row_text(row.text, row.metadata)

    t0 = time.perf_counter()
    rows: list[Any] = []
    written = 0

    def flush() -> None:
        nonlocal rows, written
        missing = list(dict.fromkeys(t for t in map(_embedded, rows) if t not in cache))
        cache.update(zip(missing, embedder.encode_queries(missing)))
        store.write_chunks(store.findings, rows, np.stack([cache[_embedded(r)] for r in rows]))
        written += len(rows)
        rows = []

    for i in range(int(info["n_docs"])):
        g = generate_doc(i, seed)
        rows += prepare(
            RawDocument(g.source, g.text, "txt"),
            {},
            chunk_size=settings.chunk_size,
            chunk_overlap=settings.chunk_overlap,
        ).finding_rows
        if len(rows) >= _FLUSH:
            flush()
    if rows:
        flush()
    store.repair()  # the rows' documents are committed: drops the pending-write markers write_chunks left
    info = {
        **info,
        "findings_version": FINDINGS_VERSION,
        "n_finding_rows": written,
        "distinct_finding_sentences": len(cache),
        "findings_seconds": round(time.perf_counter() - t0, 1),
    }
    (store_dir(n_chunks, seed) / "READY.json").write_text(json.dumps(info, indent=2, ensure_ascii=False))
    log(f"findings added: {written} rows ({len(cache)} distinct sentences) in {info['findings_seconds']} s")
    return data, info


def ensure_sentences(
    n_chunks: int, settings_kwargs: dict[str, Any] | None = None, seed: int = 0
) -> tuple[Path, dict[str, Any]]:
    """`ensure_findings` plus every chunk's prepared sentences (the first run's time is recorded in READY.json)."""
    data, info = ensure_findings(n_chunks, settings_kwargs, seed)
    from qa.answering.context import AnswerContext
    from qa.answering.prepared import prepare_sentences
    from qa.embeddings import Embedder
    from qa.retrieve import open_retriever

    # As `qa sentences` runs it: an encoder thread per core, one thread per model run (bench/sentences.py).
    workers = os.cpu_count() or 1
    settings = Settings(data_dir=data, **{**(settings_kwargs or {}), **({"torch_threads": 1} if workers > 1 else {})})
    ctx = AnswerContext.of(open_retriever(settings, Embedder(settings)))
    t0 = time.perf_counter()
    done = prepare_sentences(ctx, progress=lambda d, total: log(f"  sentences: {d}/{total} chunks"), workers=workers)
    if done:
        info = {**info, "sentences_seconds": round(time.perf_counter() - t0, 1), "sentences_chunks": done}
        (store_dir(n_chunks, seed) / "READY.json").write_text(json.dumps(info, indent=2, ensure_ascii=False))
        log(f"sentences prepared: {done} chunks in {info['sentences_seconds']} s")
    return data, info


T = TypeVar("T")


def in_child(fn: Callable[..., T], *args: Any) -> T:
    """`fn(*args)` in a fresh process: opening a 1M store (Chroma's HNSW, the BM25 index, entry keys) left ~4 GB in
    the benchmark process beside the server it then measures, and the page cache paid for it (docs/benchmarks.md,
    session 21)."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def ensure_tuned(data: Path, settings_kwargs: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The library's fusion tuning (qa/tuning.py), as `qa serve` runs it after a large change: done once before a
    benchmark, so the server does not tune in the background while it is being measured. Its time, or None when
    the store was tuned already."""
    from qa import tuning
    from qa.embeddings import Embedder
    from qa.retrieve import open_retriever

    settings = Settings(data_dir=data, **(settings_kwargs or {}))
    retriever = open_retriever(settings, Embedder(settings))
    if not tuning.due(retriever):
        return None
    record = tuning.tune(retriever)
    log(f"fusion tuned in {record.seconds} s on {record.queries} pseudo-queries: {record.params.describe()}")
    return {"seconds": record.seconds, "pseudo_queries": record.queries, "alpha": record.params.alpha}


class NoEmbedder:
    """Stands in for the embedder where a store is only read (the BM25 build): nothing is embedded."""

    model_id = ""

    def __init__(self, dimension: int) -> None:
        self.dimension = dimension


def build(data: Path, settings: Settings, n_chunks: int, seed: int) -> dict[str, Any]:
    from dataclasses import replace

    from qa.library import Library
    from qa.retrieve import Retriever
    from qa.store import Store

    base = base_vectors(settings)
    model_id = model_id_for(settings)
    store = Store(settings, model_id, int(base.shape[1]), findings_embedder_id=query_model_id_for(settings))
    retriever = Retriever(store, NoEmbedder(int(base.shape[1])), settings)  # type: ignore[arg-type]
    library = Library.of(retriever)
    no_findings = np.zeros((0, base.shape[1]), dtype=np.float32)
    t0 = time.perf_counter()
    prep_s = write_s = 0.0
    pending: list[Any] = []
    rows = written = docs = 0

    def flush() -> None:
        nonlocal written, write_s, rows, pending
        if not rows:
            return
        t = time.perf_counter()
        # The service's commit sequence (rows, then the records, one call per flush); findings come later
        # (ensure_findings), with their real vectors.
        library.write(pending, fill_vectors(base, written, rows), no_findings)
        written += rows
        write_s += time.perf_counter() - t
        pending, rows = [], 0

    i = 0
    while written + rows < n_chunks:
        t = time.perf_counter()
        g = generate_doc(i, seed)
        doc = prepare(
            RawDocument(g.source, g.text, "txt"),
            {},
            chunk_size=settings.chunk_size,
            chunk_overlap=settings.chunk_overlap,
        )
        prep_s += time.perf_counter() - t
        pending.append(replace(doc, finding_rows=[]))
        rows += len(doc.rows)
        docs += 1
        i += 1
        if rows >= _FLUSH:
            flush()
            if written % 20_000 < _FLUSH:
                log(f"  {written} chunks written ({time.perf_counter() - t0:.0f} s)")
    flush()
    chroma_s = time.perf_counter() - t0

    t = time.perf_counter()
    retriever.lexical()
    lexical_s = time.perf_counter() - t
    log(
        f"built store: {written} chunks, {docs} docs; prepare {prep_s:.0f} s, chroma {write_s:.0f} s, lexical {lexical_s:.0f} s"
    )
    return {
        "n_chunks": written,
        "n_docs": docs,
        "build_seconds": {
            "prepare": round(prep_s, 1),
            "chroma_write": round(write_s, 1),
            "total_chroma": round(chroma_s, 1),
            "lexical_index": round(lexical_s, 1),
        },
        "disk_mb": round(sum(f.stat().st_size for f in data.rglob("*") if f.is_file()) / 1e6, 1),
    }


if __name__ == "__main__":
    import sys

    for arg in sys.argv[1:]:
        path, meta = ensure_findings(int(arg))
        print(path, json.dumps(meta, ensure_ascii=False))
