"""A restarted replica with its chunks in embedded Chroma and in a `chroma run` server, side by side.

    BENCH_SIZES=1m python -m bench.modes      # sizes as bench.query (bench.common.store_sizes); findings, no sentences

For each size: one first start (embedded) builds and saves the findings view; then the same replica restarts
embedded, then with `QA_CHROMA_URL` against `chroma run` on the same store, and each serves the same requests as
bench.query's restarted server (hybrid searches, 32 clients for BENCH_LOAD_SECONDS, findings aggregates). Memory is
the API process's RSS, and in server mode the Chroma server's beside it: what the issue-23 memory target is about
(one API process) and what a node running both holds. Writes bench/results/modes.json (BENCH_MODES_NAME).
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import header, hwm_mb, log, rss_mb, store_sizes, write_result
from bench.queries import query_pool
from bench.query import aggregate_asks, load_test, search_latency
from bench.server import Server, serve
from bench.stores import ensure_findings, ensure_tuned
from qa.process import free_port, running_process

ENV = {"QA_SENTENCE_PASS": "0"}  # no prepared sentences at 1M (docs/benchmarks.md "1M chunks")


def _served(srv: Server, queries: list[str], load_seconds: float, chroma_pid: int | None = None) -> dict[str, Any]:
    row: dict[str, Any] = {"restart_s": round(srv.startup_seconds, 1), "rss_mb_ready": round(rss_mb(srv.pid), 1)}
    if chroma_pid is not None:
        row["chroma_rss_mb_ready"] = round(rss_mb(chroma_pid), 1)
    log(f"  up in {row['restart_s']} s, RSS {row['rss_mb_ready']:.0f} MB")
    row["search_hybrid"] = search_latency(srv.base, queries, 3, 100)
    row["load_32_clients"] = load_test(srv.base, queries, 32, load_seconds)
    row["rss_mb_after_load"] = round(rss_mb(srv.pid), 1)
    aggregate_asks(srv.base, row, corpus_wide=False)
    row["rss_mb_after"] = round(rss_mb(srv.pid), 1)
    row["rss_mb_peak"] = round(hwm_mb(srv.pid), 1)
    if chroma_pid is not None:
        row["chroma_rss_mb_after"] = round(rss_mb(chroma_pid), 1)
        row["chroma_rss_mb_peak"] = round(hwm_mb(chroma_pid), 1)
    log(
        f"  hybrid p50 {row['search_hybrid']['p50_ms']} p95 {row['search_hybrid']['p95_ms']} ms, "
        f"{row['load_32_clients']['rps']} req/s, findings asks p95 {row['ask_aggregate']['p95_ms']} ms, "
        f"RSS after {row['rss_mb_after']:.0f} MB, peak {row['rss_mb_peak']:.0f} MB"
    )
    return row


def main() -> None:
    os.environ.setdefault("BENCH_ASK_TIMEOUT", "120")
    load_seconds = float(os.environ.get("BENCH_LOAD_SECONDS", 60))
    queries = query_pool()
    result: dict[str, Any] = {**header("modes"), "sizes": {}}
    name = os.environ.get("BENCH_MODES_NAME", "modes")
    for n in store_sizes():
        log(f"store of {n} chunks")
        data, info = ensure_findings(n)
        row: dict[str, Any] = {"store": info, "fusion_tuning": ensure_tuned(data)}
        shutil.rmtree(data / "findings", ignore_errors=True)
        with serve(data, env=ENV) as srv:
            row["first_start_s"] = round(srv.startup_seconds, 1)
            row["first_start_rss_mb_ready"] = round(rss_mb(srv.pid), 1)
            log(f"  first start {row['first_start_s']} s (builds and saves the findings view)")
            time.sleep(20)  # the view's snapshot is written in the background after /readyz
        log("  restarted, embedded")
        with serve(data, env=ENV) as srv:
            row["embedded"] = _served(srv, queries, load_seconds)
        result["sizes"][str(n)] = row
        write_result(name, result)
        log("  restarted, Chroma server mode")
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        cmd = [str(Path(sys.executable).with_name("chroma")), "run", "--path", str(data / "chroma")]
        cmd += ["--host", "127.0.0.1", "--port", str(port)]
        ready = f"{url}/api/v2/heartbeat"
        with running_process(cmd, ready_url=ready, log_path=data.parent / "chroma.log", timeout=600) as chroma:
            with serve(data, env={**ENV, "QA_CHROMA_URL": url}) as srv:
                row["server_mode"] = _served(srv, queries, load_seconds, chroma.pid)
        write_result(name, result)


if __name__ == "__main__":
    main()
