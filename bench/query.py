"""Query path at scale, through a real `qa serve` on 127.0.0.1: /v1/search latency (one client), aggregate
/v1/ask latency, throughput with 32 concurrent clients, API process RSS, and an in-process per-stage breakdown
of the search and aggregate paths.

    python -m bench.query                       # sizes from BENCH_SIZES (default 10000,100000)
    BENCH_QUICK=1 python -m bench.query         # 10k only, short runs
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from bench.common import CACHE, QUICK, header, hwm_mb, log, rss_mb, store_sizes, write_result
from bench.queries import FINDINGS_AGGREGATES, GENERIC_AGGREGATES, query_pool
from bench.server import serve
from bench.stores import ensure_findings, ensure_sentences, ensure_store, ensure_tuned, in_child
from qa.embeddings import query_backend_for
from qa.settings import Settings


def search_latency(base: str, queries: list[str], rounds: int, per_round: int, mode: str = "hybrid") -> dict[str, Any]:
    """One client, sequential requests; `rounds` rounds of `per_round` requests, each round's p50/p95 kept."""
    all_ms: list[float] = []
    per: list[dict[str, float]] = []
    errors = 0
    with httpx.Client(base_url=base, timeout=30) as client:
        for _ in range(5):
            client.post("/v1/search", json={"query": queries[0], "mode": mode})
        n = 0
        for _ in range(rounds):
            ms: list[float] = []
            for _ in range(per_round):
                q = queries[n % len(queries)]
                n += 1
                t = time.perf_counter()
                r = client.post("/v1/search", json={"query": q, "mode": mode, "top_k": 5})
                ms.append((time.perf_counter() - t) * 1000)
                if r.status_code != 200:
                    errors += 1
            per.append({"p50": round(float(np.percentile(ms, 50)), 2), "p95": round(float(np.percentile(ms, 95)), 2)})
            all_ms += ms
    return {
        "mode": mode,
        "requests": len(all_ms),
        "errors": errors,
        "p50_ms": round(float(np.percentile(all_ms, 50)), 2),
        "p95_ms": round(float(np.percentile(all_ms, 95)), 2),
        "p99_ms": round(float(np.percentile(all_ms, 99)), 2),
        "rounds": per,
        "median_of_round_p50_ms": round(statistics.median(r["p50"] for r in per), 2),
        "median_of_round_p95_ms": round(statistics.median(r["p95"] for r in per), 2),
    }


def search_during_sentence_pass(data: Path, queries: list[str], requests: int) -> dict[str, Any]:
    """Search latency from one client while a fresh `qa serve` prepares every chunk's sentences in the background
    (the store's prepared sentences set aside meanwhile, then put back), then once the pass is done."""
    prepared, aside = data / "sentences", data.with_name("sentences-aside")
    shutil.rmtree(aside, ignore_errors=True)
    prepared.rename(aside)
    try:
        with serve(data) as srv:
            t0 = time.perf_counter()
            during = search_latency(srv.base, queries, 1, requests)
            ready = httpx.get(f"{srv.base}/readyz").json()
            share = ready["sentences_prepared"] / ready["chunks"]  # of the pass done when the requests ended
            while httpx.get(f"{srv.base}/readyz").json()["sentences_prepared"] < ready["chunks"]:
                time.sleep(0.5)
            pass_s = time.perf_counter() - t0
            after = search_latency(srv.base, queries, 1, requests // 5)
    finally:
        shutil.rmtree(prepared, ignore_errors=True)
        aside.rename(prepared)
    return {
        "during": during,
        "after": after,
        "pass_done_when_requests_ended": round(share, 2),
        "pass_seconds": round(pass_s, 1),
    }


async def _load(base: str, queries: list[str], clients: int, seconds: float, max_requests: int) -> dict[str, Any]:
    latencies: list[float] = []
    errors: list[str] = []
    sent = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:

        async def worker(w: int) -> None:
            nonlocal sent
            i = w
            while time.perf_counter() < deadline and sent < max_requests:
                sent += 1
                q = queries[i % len(queries)]
                i += clients
                t = time.perf_counter()
                try:
                    r = await client.post("/v1/search", json={"query": q, "top_k": 5})
                    if r.status_code != 200:
                        errors.append(str(r.status_code))
                except httpx.HTTPError as exc:
                    errors.append(type(exc).__name__)
                latencies.append((time.perf_counter() - t) * 1000)

        t0 = time.perf_counter()
        await asyncio.gather(*(worker(w) for w in range(clients)))
        elapsed = time.perf_counter() - t0
    return {
        "clients": clients,
        "seconds": round(elapsed, 1),
        "requests": len(latencies),
        "errors": len(errors),
        "error_kinds": sorted(set(errors))[:5],
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(float(np.percentile(latencies, 50)), 1) if latencies else None,
        "p95_ms": round(float(np.percentile(latencies, 95)), 1) if latencies else None,
    }


def load_test(
    base: str, queries: list[str], clients: int = 32, seconds: float = 60, max_requests: int = 50_000
) -> dict[str, Any]:
    return asyncio.run(_load(base, queries, clients, seconds, max_requests))


def ask_latency(base: str, question: str, repeats: int, timeout: float) -> dict[str, Any]:
    ms: list[float] = []
    outcome: list[str] = []
    units = total = size = None
    with httpx.Client(base_url=base, timeout=timeout) as client:
        for _ in range(repeats):
            t = time.perf_counter()
            try:
                r = client.post("/v1/ask", json={"question": question})
            except httpx.TimeoutException:
                ms.append(timeout * 1000)
                outcome.append(f"client timeout {timeout:.0f} s")
                break  # the server is still busy with it; more attempts would queue behind it
            ms.append((time.perf_counter() - t) * 1000)
            outcome.append(str(r.status_code))
            if r.status_code == 200:
                body = r.json()
                units, total, size = len(body.get("units") or []), body.get("total_units"), len(r.content)
            else:
                break
    return {
        "question": question,
        "attempts": len(ms),
        "outcomes": outcome,
        "ms": [round(x, 1) for x in ms],
        "p50_ms": round(float(np.percentile(ms, 50)), 1),
        "p95_ms": round(float(np.percentile(ms, 95)), 1),
        "units_listed": units,  # one page (QA_ANSWER_UNITS) of the units counted
        "units_total": total,
        "response_kb": None if size is None else round(size / 1024, 1),
    }


# --- in-process breakdown ----------------------------------------------------------------------------------


def _as_the_server(data_dir: Any) -> Any:
    """A retriever on the store with the server's thread settings and its model loaded, as `qa serve` starts."""
    from qa.embeddings import Embedder
    from qa.retrieve import open_retriever

    settings = Settings(data_dir=data_dir, torch_threads=int(os.environ.get("BENCH_SERVER_TORCH_THREADS", "1")))
    embedder = Embedder(settings)
    embedder.load()
    return open_retriever(settings, embedder)


def stage_breakdown(data_dir: Any, queries: list[str], n: int) -> dict[str, Any]:
    """Per-stage time of Retriever.search (hybrid) on the same store, in this process."""
    from qa.lexical import LexicalIndex

    r = _as_the_server(data_dir)
    t = time.perf_counter()
    r.lexical()
    cold_lexical_load_s = time.perf_counter() - t
    stages: dict[str, list[float]] = {k: [] for k in ("embed", "dense", "bm25", "fetch", "catalogue", "other", "total")}
    cur: dict[str, float] = {}

    def timed(key: str, fn: Any) -> Any:
        def wrapper(*a: Any, **kw: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                cur[key] = cur.get(key, 0.0) + time.perf_counter() - t0

        return wrapper

    r.embedder.encode_queries = timed("embed", r.embedder.encode_queries)  # type: ignore[method-assign]
    r.store.query = timed("dense", r.store.query)  # type: ignore[method-assign]
    r.store.query_ids = timed("dense", r.store.query_ids)  # type: ignore[method-assign]
    r.store.get_chunks = timed("fetch", r.store.get_chunks)  # type: ignore[method-assign]
    r.store.catalogue = timed("catalogue", r.store.catalogue)  # type: ignore[method-assign]
    original_search = LexicalIndex.search
    LexicalIndex.search = timed("bm25", original_search)  # type: ignore[method-assign]
    try:
        for q in queries[:5]:
            r.search(q)
        for i in range(n):
            cur.clear()
            t0 = time.perf_counter()
            r.search(queries[i % len(queries)], mode="hybrid", top_k=5)
            total = time.perf_counter() - t0
            for k in ("embed", "dense", "bm25", "fetch", "catalogue"):
                stages[k].append(cur.get(k, 0.0) * 1000)
            stages["total"].append(total * 1000)
            stages["other"].append(
                max(0.0, total * 1000 - sum(cur.get(k, 0.0) for k in ("embed", "dense", "fetch", "catalogue")) * 1000)
            )
    finally:
        LexicalIndex.search = original_search  # type: ignore[method-assign]
    out = {
        k: {"p50_ms": round(float(np.percentile(v, 50)), 2), "p95_ms": round(float(np.percentile(v, 95)), 2)}
        for k, v in stages.items()
    }
    # The recall of aggregate answers (Retriever.candidate_chunks): every admitted document's best chunks, BM25
    # exhaustive + HNSW top 500; ids and similarities only (qa.evidence reads what it needs afterwards).
    cand_ms: list[float] = []
    docs = chunks = 0
    for topic in ("预算编制不够细化", "项目资金未实行专账核算", "绩效目标设置不够明确"):
        for _ in range(3):
            t0 = time.perf_counter()
            got = r.candidate_chunks(topic)
            cand_ms.append((time.perf_counter() - t0) * 1000)
        docs, chunks = len({i.rsplit("-", 1)[0] for i in got.ids}), len(got)
    candidates = {
        "p50_ms": round(float(np.percentile(cand_ms, 50)), 1),
        "p95_ms": round(float(np.percentile(cand_ms, 95)), 1),
        "documents": docs,
        "chunks": chunks,
    }
    return {
        "requests": n,
        "stages": out,
        "aggregate_candidates": candidates,
        "cold_lexical_load_s": round(cold_lexical_load_s, 2),
        "note": "bm25 runs on a worker thread while embed+dense run; 'other' = total minus embed, dense, fetch and catalogue (fusion, Hit objects, filters, waiting for bm25)",
    }


def aggregate_breakdown(data_dir: Any, question: str, sample: int = 256) -> dict[str, Any]:
    """Where the aggregate answer's time goes, in this process. Sentence encoding beyond `sample` texts in one
    call is not run: its time is extrapolated from the sample (linear in the number of sentences)."""
    from qa.answer import Answerer

    r = _as_the_server(data_dir)
    embedder = r.embedder
    r.lexical()
    answerer = Answerer(r)
    cur: dict[str, float] = {}
    counts: dict[str, int] = {}
    real_encode = embedder.encode_queries  # the topic and the evidence sentences (never stored)

    def encode(texts: list[str]) -> np.ndarray:
        t0 = time.perf_counter()
        counts["texts_encoded"] = counts.get("texts_encoded", 0) + len(texts)  # the topic and the sentences
        if len(texts) <= sample:
            out = real_encode(texts)
            cur["encode"] = cur.get("encode", 0.0) + time.perf_counter() - t0
            return out
        head = real_encode(texts[:sample])
        spent = time.perf_counter() - t0
        cur["encode"] = cur.get("encode", 0.0) + spent * len(texts) / sample
        cur["encode_extrapolated_part"] = cur.get("encode_extrapolated_part", 0.0) + spent * (len(texts) / sample - 1)
        rng = np.random.default_rng(0)
        rest = rng.normal(size=(len(texts) - sample, head.shape[1])).astype(np.float32)
        rest /= np.linalg.norm(rest, axis=1, keepdims=True)
        return np.concatenate([head, rest])

    def timed(key: str, fn: Any, count: str | None = None) -> Any:
        def wrapper(*a: Any, **kw: Any) -> Any:
            t0 = time.perf_counter()
            out = fn(*a, **kw)
            cur[key] = cur.get(key, 0.0) + time.perf_counter() - t0
            if count:
                counts[count] = counts.get(count, 0) + len(out)
            return out

        return wrapper

    embedder.encode_queries = encode  # type: ignore[method-assign]
    # recall: candidate chunk ids (BM25 + HNSW); chunks_read: chunks read from Chroma (unprepared ones and the
    # chunks of the sentences returned); evidence: the whole corpus-wide pass, recall and reads included.
    r.candidate_chunks = timed("recall", r.candidate_chunks, "candidate_chunks")  # type: ignore[method-assign]
    r.store.get_chunks = timed("chunks_read", r.store.get_chunks, "chunks_read")  # type: ignore[method-assign]
    import qa.answering.aggregate as aggregate  # the corpus-wide pass the aggregate answer calls

    pass_fn = aggregate.aggregate_evidence
    aggregate.aggregate_evidence = timed("evidence", pass_fn, "sentences_returned")
    try:
        t0 = time.perf_counter()
        ans = answerer.ask(question)
        measured = time.perf_counter() - t0
    finally:
        aggregate.aggregate_evidence = pass_fn
    projected = measured + cur.get("encode_extrapolated_part", 0.0)
    return {
        "question": question,
        "chunks_in_store": r.store.count_chunks(),
        "measured_s": round(measured, 2),
        "projected_s": round(projected, 1),
        "seconds": {k: round(v, 2) for k, v in cur.items()},
        "counts": counts,
        "units_listed": len(ans.units or []),
    }


def query_embed_threads(queries: list[str], n: int = 60) -> dict[str, Any]:
    """Single-query embedding latency: torch with 1 and 2 threads, and onnx-int8 with 1 (the query backend
    QA_QUERY_EMBEDDING_BACKEND picks), interleaved in this process so all three see the same machine."""
    import torch

    from qa.embeddings import Embedder

    e = Embedder(
        Settings(
            data_dir=CACHE / "eval_data",
            torch_threads=1,
            embedding_backend="torch",
            query_embedding_backend="onnx-int8",
        )
    )
    variants = {
        "torch_threads_1": (1, e.encode),
        "torch_threads_2": (2, e.encode),
        "onnx_int8_threads_1": (1, e.encode_queries),
    }
    ms: dict[str, list[float]] = {name: [] for name in variants}
    for i in range(n):
        for name in list(variants)[:: 1 if i % 2 == 0 else -1]:
            threads, encode = variants[name]
            torch.set_num_threads(threads)
            t = time.perf_counter()
            encode([queries[i % len(queries)]])
            ms[name].append((time.perf_counter() - t) * 1000)
    torch.set_num_threads(int(os.environ.get("QA_TORCH_THREADS", "2")))
    return {
        name: {"p50_ms": round(float(np.percentile(v, 50)), 1), "p95_ms": round(float(np.percentile(v, 95)), 1)}
        for name, v in ms.items()
    }


def aggregate_asks(base: str, row: dict[str, Any], corpus_wide: bool = True) -> None:
    """The aggregate /v1/ask figures: findings topics (7 asks each), then (`corpus_wide`) the corpus-wide pass
    topics."""
    ask_timeout = float(os.environ.get("BENCH_ASK_TIMEOUT", 30 if QUICK else 60))
    log(f"  aggregate asks (timeout {ask_timeout:.0f} s)")
    asks = [ask_latency(base, q, 2 if QUICK else 7, ask_timeout) for q in FINDINGS_AGGREGATES]
    every = [ms for a in asks for ms in a["ms"]]
    row["ask_aggregate"] = {
        "path": "findings (problems, measures, categories)",
        "questions": asks,
        "attempts": len(every),
        "outcomes": [o for a in asks for o in a["outcomes"]],
        "p50_ms": round(float(np.percentile(every, 50)), 1),
        "p95_ms": round(float(np.percentile(every, 95)), 1),
    }
    log(f"  findings aggregates: p50 {row['ask_aggregate']['p50_ms']} ms p95 {row['ask_aggregate']['p95_ms']} ms")
    if not corpus_wide:
        return
    # First ask embeds the candidates' sentences; the repeat finds them in the sentence cache.
    generic = [ask_latency(base, q, 2, ask_timeout) for q in GENERIC_AGGREGATES]
    firsts = [g["ms"][0] for g in generic]
    every_ask = [ms for g in generic for ms in g["ms"]]
    row["ask_generic"] = {
        "path": "corpus-wide pass",
        "questions": generic,
        "first_p50_ms": round(float(np.percentile(firsts, 50)), 1),
        "first_p95_ms": round(float(np.percentile(firsts, 95)), 1),
        "p50_ms": round(float(np.percentile(every_ask, 50)), 1),
        "p95_ms": round(float(np.percentile(every_ask, 95)), 1),
    }
    log(f"  generic aggregates, first asks: {firsts} ms; outcomes {[g['outcomes'] for g in generic]}")


def main() -> None:
    sizes = store_sizes()
    queries = query_pool()
    rounds, per_round = (2, 40) if QUICK else (3, 100)
    load_seconds = float(os.environ.get("BENCH_LOAD_SECONDS", 15 if QUICK else 60))
    load_size = max(s for s in sizes if s <= 100_000) if any(s <= 100_000 for s in sizes) else sizes[0]
    result: dict[str, Any] = {
        **header("query"),
        "server_torch_threads": os.environ.get("BENCH_SERVER_TORCH_THREADS", "1"),
        "query_embedding_backend": query_backend_for(Settings()),
        "sizes": {},
    }
    log("query embedding: torch 1 vs 2 threads vs onnx-int8")
    result["query_embed_threads"] = query_embed_threads(queries)
    for n in sizes:
        log(f"store of {n} chunks")
        t = time.perf_counter()
        # BENCH_FINDINGS=0: the store without findings, and no aggregate asks (they would take another path);
        # at 1M that skips the 17 min of adding them (docs/benchmarks.md "1M chunks").
        with_findings = os.environ.get("BENCH_FINDINGS", "1") != "0"
        # BENCH_SENTENCES=0: findings but no prepared sentences, no background sentence pass in the server and no
        # corpus-wide asks (preparing 1M chunks' sentences takes hours here).
        with_sentences = with_findings and os.environ.get("BENCH_SENTENCES", "1") != "0"
        server_env = {} if with_sentences else {"QA_SENTENCE_PASS": "0"}
        # Each in a process of its own, so the benchmark process does not hold the store beside the server.
        if with_sentences:
            data, info = in_child(ensure_sentences, n)
        else:
            data, info = in_child(ensure_findings, n) if with_findings else in_child(ensure_store, n)
        # A first start builds the findings view from the store and saves it; the restart below starts from it.
        shutil.rmtree(data / "findings", ignore_errors=True)
        row: dict[str, Any] = {
            "store": info,
            "store_ready_s": round(time.perf_counter() - t, 1),
            "fusion_tuning": in_child(ensure_tuned, data),
        }
        with serve(data, env=server_env) as srv:
            row["server_startup_s"] = round(srv.startup_seconds, 1)
            row["rss_mb_ready"] = round(rss_mb(srv.pid), 1)
            log(f"  server up in {srv.startup_seconds:.1f} s, RSS {row['rss_mb_ready']:.0f} MB")
            row["search_hybrid"] = search_latency(srv.base, queries, rounds, per_round)
            log(f"  hybrid p50 {row['search_hybrid']['p50_ms']} ms p95 {row['search_hybrid']['p95_ms']} ms")
            row["search_bm25"] = search_latency(srv.base, queries, 1, per_round // 2, mode="bm25")
            row["search_dense"] = search_latency(srv.base, queries, 1, per_round // 2, mode="dense")
            row["rss_mb_after_search"] = round(rss_mb(srv.pid), 1)
            if n == load_size:
                log(f"  load: 32 clients for {load_seconds:.0f} s")
                row["load_32_clients"] = load_test(srv.base, queries, 32, load_seconds)
                log(f"  load: {row['load_32_clients']['rps']} req/s, errors {row['load_32_clients']['errors']}")
                row["rss_mb_after_load"] = round(rss_mb(srv.pid), 1)
            if with_findings:
                aggregate_asks(srv.base, row, corpus_wide=with_sentences)
            row["rss_mb_peak"] = round(hwm_mb(srv.pid), 1)
        if with_findings:
            with serve(data, env=server_env) as srv:  # a replica restarting: the saved findings view, nothing changed
                row["server_restart_s"] = round(srv.startup_seconds, 1)
                row["rss_mb_ready_restart"] = round(rss_mb(srv.pid), 1)
                row["rss_mb_peak_restart"] = round(hwm_mb(srv.pid), 1)
                log(f"  restart in {row['server_restart_s']} s, RSS {row['rss_mb_ready_restart']:.0f} MB")
                # What a restarted replica serves with (no first-start work running beside it): the figures the
                # issue's memory and latency targets are about.
                served: dict[str, Any] = {"search_hybrid": search_latency(srv.base, queries, rounds, per_round)}
                if n == load_size:
                    served["load_32_clients"] = load_test(srv.base, queries, 32, load_seconds)
                    served["rss_mb_after_load"] = round(rss_mb(srv.pid), 1)
                aggregate_asks(srv.base, served, corpus_wide=with_sentences)
                served["rss_mb_after"] = round(rss_mb(srv.pid), 1)
                served["rss_mb_peak"] = round(hwm_mb(srv.pid), 1)
                row["restarted"] = served
                log(
                    f"  restarted: hybrid p50 {served['search_hybrid']['p50_ms']} p95 {served['search_hybrid']['p95_ms']} ms, "
                    f"RSS {served['rss_mb_after']:.0f} MB (peak {served['rss_mb_peak']:.0f})"
                )
        # The pass over every chunk takes ~80 min at 1M (docs/benchmarks.md): measured on the first size up to 100k.
        if with_sentences and n == sizes[0] and n <= int(os.environ.get("BENCH_DURING_PASS_MAX", 100_000)):
            log("  search while the server prepares sentences in the background")
            row["search_during_sentence_pass"] = search_during_sentence_pass(data, queries, 600 if QUICK else 2500)
            d = row["search_during_sentence_pass"]
            log(
                f"  during: p50 {d['during']['p50_ms']} p95 {d['during']['p95_ms']} ms; after: p50 {d['after']['p50_ms']} p95 {d['after']['p95_ms']} ms"
            )
        log("  in-process stage breakdown")
        row["stages"] = stage_breakdown(data, queries, 60 if QUICK else 200)
        # Grows with the matching documents (about linearly with the corpus for broad topics): at 1M it would
        # take longer than the rest of the benchmark.
        if n <= int(os.environ.get("BENCH_AGG_BREAKDOWN_MAX", 100_000)):
            log("  in-process aggregate breakdown")
            row["aggregate_breakdown"] = [aggregate_breakdown(data, q) for q in GENERIC_AGGREGATES]
        result["sizes"][str(n)] = row
        write_result(os.environ.get("BENCH_QUERY_NAME", "query"), result)
    write_result(os.environ.get("BENCH_QUERY_NAME", "query"), result)


if __name__ == "__main__":
    main()
