"""Encoder backends side by side: QA_EMBEDDING_BACKEND=torch (sentence-transformers as shipped) vs onnx-int8
(the same weights exported to ONNX, dynamic int8 quantisation; qa/embeddings.py).

Speed: passages (the bundled samples' chunk index texts) and single short queries, encoded by both backends in
alternating repetitions in one process; speed-up = torch time / onnx time per repetition (median, p95).
Quality: `qa eval` run once per configuration — torch, onnx-int8, and torch passages with onnx-int8 queries
(QA_QUERY_EMBEDDING_BACKEND; the store keeps torch vectors, only the query side changes) — on
  - eval_sets/test.jsonl, modes dense and hybrid, no answers;
  - a STARD subset (BEIR format, ../shared/benchmarks/stard): the 200 queries `--limit-queries 200 --seed 13`
    picks, all their gold articles, and random other articles up to BENCH_STARD_DOCS (default 2,000) of the
    23,944. Encoding the whole corpus takes ~40 min per backend on this machine; the subset makes absolute
    MRR@10 higher than on the full corpus, but both backends see the same subset, so the difference is the
    quantisation's.
Query speed is what the pairing buys: single queries are the latency path of /v1/search and /v1/ask.

    python -m bench.encoder          # BENCH_QUICK=1: fewer repetitions, 1,000-article STARD subset
"""

from __future__ import annotations

import gzip
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import CACHE, QUICK, ROOT, header, log, summary, write_result
from bench.queries import query_pool

STARD = Path(os.environ.get("BENCH_STARD", ROOT.parent / "shared" / "benchmarks" / "stard"))
STARD_DOCS = int(os.environ.get("BENCH_STARD_DOCS", 1000 if QUICK else 2000))
QA = str(Path(sys.executable).with_name("qa"))


def speed(reps: int) -> dict[str, Any]:
    from ingest.pipeline import prepare
    from ingest.readers import read_document
    from qa.embeddings import Embedder
    from qa.settings import Settings

    texts: list[str] = []
    for p in sorted((ROOT / "samples").glob("*.txt")):
        texts += prepare(read_document(p), {}, chunk_size=300, chunk_overlap=1).index_texts
    queries = query_pool(60)
    data = CACHE / "eval_data"
    t = time.perf_counter()
    onnx = Embedder(Settings(data_dir=data, embedding_backend="onnx-int8"))
    onnx.load()  # the model loads on first use: load it here, inside the timing
    onnx_load_s = time.perf_counter() - t
    torch_ = Embedder(Settings(data_dir=data, embedding_backend="torch"))
    torch_.load()
    # Queries as the API server runs them: one thread each (bench/server.py); passages with QA_TORCH_THREADS.
    onnx_1 = Embedder(Settings(data_dir=data, embedding_backend="onnx-int8", torch_threads=1))
    onnx_1.load()
    import torch

    # Loading sets torch's process-wide thread count from the settings: onnx_1 just set it to 1.
    batch_threads = Settings().torch_threads
    torch.set_num_threads(batch_threads)
    a, b = torch_.encode(texts), onnx.encode(texts)
    cos = (a * b).sum(axis=1)
    rows: list[dict[str, float]] = []
    for r in range(reps):
        row: dict[str, float] = {}
        for name, e in (("torch", torch_), ("onnx", onnx)) if r % 2 == 0 else (("onnx", onnx), ("torch", torch_)):
            t, cpu = time.perf_counter(), time.process_time()
            e.encode(texts)
            row[f"{name}_passages_per_s"] = len(texts) / (time.perf_counter() - t)
            # CPU seconds of this process (all threads): unlike wall time, not inflated by other tenants.
            row[f"{name}_passages_per_cpu_s"] = len(texts) / (time.process_time() - cpu)
            qe = onnx_1 if name == "onnx" else e
            torch.set_num_threads(1)
            t = time.perf_counter()
            for q in queries:
                qe.encode([q])
            row[f"{name}_query_ms"] = (time.perf_counter() - t) * 1000 / len(queries)
            torch.set_num_threads(batch_threads)
        row["passage_speedup"] = (
            row["torch_passages_per_s"] and row["onnx_passages_per_s"] / row["torch_passages_per_s"]
        )
        row["passage_speedup_cpu"] = row["onnx_passages_per_cpu_s"] / row["torch_passages_per_cpu_s"]
        row["query_speedup"] = row["torch_query_ms"] / row["onnx_query_ms"]
        rows.append(row)
        log(
            f"  rep {r}: passages torch {row['torch_passages_per_s']:.1f}/s onnx {row['onnx_passages_per_s']:.1f}/s; query torch {row['torch_query_ms']:.1f} ms onnx {row['onnx_query_ms']:.1f} ms"
        )
    keys = rows[0].keys()
    return {
        "passages": len(texts),
        "mean_passage_tokens": round(
            sum(len(x) for x in torch_._models()[0].tokenizer(texts)["input_ids"]) / len(texts), 1
        ),
        "queries": len(queries),
        "threads": {"passages": batch_threads, "queries": 1},
        "onnx_first_load_or_export_s": round(onnx_load_s, 1),
        "cosine_torch_vs_onnx": {"mean": round(float(cos.mean()), 4), "min": round(float(cos.min()), 4)},
        **{k: summary([row[k] for row in rows], 3) for k in keys},
    }


def stard_subset(n_docs: int, n_queries: int = 200, seed: int = 13) -> Path:
    out = CACHE / f"stard_sub_{n_docs}_{n_queries}_{seed}"
    if (out / "qrels.tsv").exists():
        return out
    from qa.evaluate import load_beir, sample_queries

    beir = load_beir(STARD)
    qids = sample_queries(beir, n_queries, seed)
    gold = {d for q in qids for d in beir.qrels[q]}
    others = sorted(set(beir.corpus) - gold)
    picked = gold | set(random.Random(seed).sample(others, max(0, n_docs - len(gold))))
    out.mkdir(parents=True, exist_ok=True)
    with gzip.open(out / "corpus.jsonl.gz", "wt", encoding="utf-8") as fh:
        for d in sorted(picked):
            title, text = beir.corpus[d]
            fh.write(json.dumps({"_id": d, "title": title, "text": text}, ensure_ascii=False) + "\n")
    with open(out / "queries.jsonl", "w", encoding="utf-8") as fh:
        for q in qids:
            fh.write(json.dumps({"_id": q, "text": beir.queries[q]}, ensure_ascii=False) + "\n")
    with open(out / "qrels.tsv", "w", encoding="utf-8") as fh:
        fh.write("query-id\tcorpus-id\tscore\n")
        for q in qids:
            for d, g in beir.qrels[q].items():
                if d in picked:
                    fh.write(f"{q}\t{d}\t{int(g)}\n")
    return out


# name → (QA_EMBEDDING_BACKEND, QA_QUERY_EMBEDDING_BACKEND)
CONFIGS = {"torch": ("torch", "torch"), "onnx-int8": ("onnx-int8", "onnx-int8"), "int8-queries": ("torch", "onnx-int8")}


def qa_eval(args: list[str], config: str) -> tuple[dict[str, Any], float]:
    backend, query_backend = CONFIGS[config]
    env = {
        **os.environ,
        "QA_EMBEDDING_BACKEND": backend,
        "QA_QUERY_EMBEDDING_BACKEND": query_backend,
        "QA_DATA_DIR": str(CACHE / "eval_data"),
    }
    out = CACHE / "eval_out" / config
    t = time.perf_counter()
    proc = subprocess.run(
        [QA, "eval", *args, "--no-answers", "--json", "--out", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"qa eval failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return json.loads(proc.stdout), time.perf_counter() - t


def quality() -> dict[str, Any]:
    out: dict[str, Any] = {}
    sub = stard_subset(STARD_DOCS) if STARD.exists() else None
    for backend in CONFIGS:
        log(f"  qa eval eval_sets/test.jsonl ({backend})")
        res, secs = qa_eval([str(ROOT / "eval_sets" / "test.jsonl"), "--modes", "dense,hybrid"], backend)
        out.setdefault("test_set", {})[backend] = {
            m: {k: v.get(k) for k in ("mrr@10", "recall@5", "ndcg@10")} for m, v in res["modes"].items()
        }
        out["test_set"][backend]["seconds"] = round(secs, 1)
        if sub is not None:
            log(f"  qa eval --beir {sub.name} ({backend})")
            res, secs = qa_eval(["--beir", str(sub), "--modes", "dense", "--limit-queries", "200"], backend)
            out.setdefault(
                "stard_subset",
                {"documents": res["documents"], "queries": res["queries"], "path": str(sub.relative_to(ROOT))},
            )[backend] = {
                "dense": {k: res["modes"]["dense"].get(k) for k in ("mrr@10", "recall@10", "ndcg@10")},
                "seconds": round(secs, 1),
            }
    for part in ("test_set", "stard_subset"):
        if part in out:
            t = out[part]["torch"]
            for config, key in (("onnx-int8", "mrr@10_change"), ("int8-queries", "int8_queries_mrr@10_change")):
                o = out[part][config]
                out[part][key] = {m: round(o[m]["mrr@10"] - t[m]["mrr@10"], 4) for m in t if isinstance(t[m], dict)}
    return out


def main() -> None:
    reps = int(os.environ.get("BENCH_ENCODER_REPS", 2 if QUICK else 4))
    result: dict[str, Any] = {**header("encoder")}
    log("encoder speed")
    result["speed"] = speed(reps)
    if os.environ.get("BENCH_ENCODER_QUALITY", "1") != "0":
        log("encoder quality")
        result["quality"] = quality()
    elif (previous := ROOT / "bench" / "results" / "encoder.json").exists():
        # Speed only (a quiet moment on a shared machine): keep the last quality run, with its own date.
        old = json.loads(previous.read_text())
        if "quality" in old:
            result["quality"] = {**old["quality"], "measured": old.get("date"), "commit": old.get("commit")}
    s, q = result["speed"], result.get("quality", {})

    def max_loss(key: str) -> float | None:
        losses = [-v for part in ("test_set", "stard_subset") if key in q.get(part, {}) for v in q[part][key].values()]
        return round(max(losses), 4) if losses else None

    loss, query_loss = max_loss("mrr@10_change"), max_loss("int8_queries_mrr@10_change")
    result["verdict"] = {
        "passage_speedup_median": s["passage_speedup"]["median"],
        "query_speedup_median": s["query_speedup"]["median"],
        "max_mrr@10_loss": loss,
        "meets_2x_and_0.02": loss is not None and s["passage_speedup"]["median"] >= 2.0 and loss <= 0.02,
        "int8_queries_max_mrr@10_loss": query_loss,
        "int8_queries_meet_2x_and_0.02": query_loss is not None
        and s["query_speedup"]["median"] >= 2.0
        and query_loss <= 0.02,
    }
    write_result("encoder", result)
    log(f"verdict: {result['verdict']}")


if __name__ == "__main__":
    main()
