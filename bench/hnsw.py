"""Chroma's HNSW search breadth (`ef_search`, QA_HNSW_EF_SEARCH): recall against an exact search and query
latency, side by side in one process, for the values compared in docs/benchmarks.md.

Why: with the default ef_search 100 a library of 部门决算 PDFs (hundreds of near-identical table rows) lost true
nearest neighbours, the top one included, in some processes and not in others (the graph is rebuilt on load), so
one question gave different answers after a restart. The bench vectors have the same shape: every chunk is one of
384 real embeddings plus noise (bench/stores.py), i.e. ~N/384 near-duplicates of each.

    python -m bench.hnsw                  # sizes from BENCH_SIZES (default 10000,100000)
    BENCH_QUICK=1 python -m bench.hnsw    # 10k only
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import chromadb
import numpy as np

from bench.common import QUICK, ROOT, header, log, percentile, store_sizes, write_result
from bench.stores import base_vectors, fill_vectors
from qa.embeddings import Embedder
from qa.settings import Settings

EF_VALUES = (100, 200, 400, 800)
DEPTH = 50  # what the hybrid path asks the index for (qa.fusion depth)
TOP = 18  # what an answer reads (top_k 10 + 8 over-fetched): recall is measured here and at DEPTH
_BATCH = 4096


def _queries(settings: Settings) -> np.ndarray:
    """Real questions (the tuning sets: dev, dev_probes, tables_dev), encoded by the query model."""
    texts: list[str] = []
    for name in ("dev.jsonl", "dev_probes.jsonl", "tables_dev.jsonl"):
        for line in (ROOT / "eval_sets" / name).read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                texts.append(json.loads(line)["question"])
    return Embedder(settings).encode_queries(texts)


def _exact(vectors: np.ndarray, queries: np.ndarray, k: int) -> list[set[int]]:
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    q = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    sims = q @ unit.T
    return [set(np.argsort(-row)[:k].tolist()) for row in sims]


def _measure(col: Any, queries: np.ndarray, truth: dict[int, list[set[int]]], rounds: int) -> dict[str, Any]:
    recall: dict[str, float] = {}
    for k, exact in truth.items():
        got = [
            {int(i) for i in col.query(query_embeddings=[q.tolist()], n_results=k, include=[])["ids"][0]}
            for q in queries
        ]
        recall[f"recall@{k}"] = round(float(np.mean([len(g & e) / k for g, e in zip(got, exact)])), 4)
        recall[f"queries_missing_any@{k}"] = int(sum(g != e for g, e in zip(got, exact)))
    ms: list[float] = []
    for _ in range(rounds):
        for q in queries:
            t = time.perf_counter()
            col.query(query_embeddings=[q.tolist()], n_results=DEPTH, include=["distances"])
            ms.append((time.perf_counter() - t) * 1000)
    return {**recall, "p50_ms": round(percentile(ms, 50), 3), "p95_ms": round(percentile(ms, 95), 3)}


def run_size(n: int, base: np.ndarray, queries: np.ndarray) -> dict[str, Any]:
    vectors = np.concatenate([fill_vectors(base, s, min(_BATCH, n - s)) for s in range(0, n, _BATCH)])
    truth = {k: _exact(vectors, queries, k) for k in (TOP, DEPTH)}
    out: dict[str, Any] = {"chunks": n, "queries": len(queries), "ef_search": {}}
    for ef in EF_VALUES:
        # One collection per value, built and then read by a fresh client, as a restarted service reads it.
        path = Path(tempfile.mkdtemp(prefix=f"hnsw-{n}-{ef}-"))
        try:
            client = chromadb.PersistentClient(path=str(path))
            col = client.create_collection(
                "hnsw", configuration={"hnsw": {"space": "cosine", "ef_search": ef}}, embedding_function=None
            )
            t = time.perf_counter()
            for s in range(0, n, _BATCH):
                col.add(ids=[str(i) for i in range(s, min(n, s + _BATCH))], embeddings=vectors[s : s + _BATCH])
            built = time.perf_counter() - t
            del col, client
            fresh = chromadb.PersistentClient(path=str(path)).get_collection("hnsw")
            res = _measure(fresh, queries, truth, rounds=1 if QUICK else 3)
            out["ef_search"][str(ef)] = {**res, "build_s": round(built, 1)}
            log(f"  {n} chunks, ef_search {ef}: {res}")
        finally:
            shutil.rmtree(path, ignore_errors=True)
    first = out["ef_search"][str(EF_VALUES[0])]
    for ef in EF_VALUES[1:]:
        row = out["ef_search"][str(ef)]
        row["p50_ratio_to_100"] = round(row["p50_ms"] / first["p50_ms"], 2)
        row["p95_ratio_to_100"] = round(row["p95_ms"] / first["p95_ms"], 2)
    return out


def main() -> None:
    settings = Settings()
    result = header("hnsw")
    base = base_vectors(settings)
    queries = _queries(settings)
    result["sizes"] = [run_size(n, base, queries) for n in store_sizes()]
    write_result("hnsw", result)


if __name__ == "__main__":
    main()
