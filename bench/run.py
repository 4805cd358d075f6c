"""`make bench`: every benchmark in its own process, one after the other, then docs/benchmarks.md.

    python -m bench.run                 # full: ingest, query (10k, 100k), lexical, hnsw, findings_update, sentences, encoder, ocr  (~55 min here)
    BENCH_QUICK=1 python -m bench.run   # quick: short rounds, 10k only, small STARD subset (~8 min)
    python -m bench.run ingest query    # a subset of the benchmarks
    BENCH_SIZES=10k,100k,1m python -m bench.run query   # add 1M chunks (builds a ~8 GB store; hours here)
    BENCH_SIZES=1m python -m bench.run modes            # opt-in: a restarted replica, embedded vs Chroma server

Each part has a hard time limit (BENCH_PART_TIMEOUT seconds, default 1,800); a part that fails or times out
is reported and the others still run. Results: bench/results/<part>.json; summary: docs/benchmarks.md.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from bench.common import QUICK, ROOT, log

PARTS = ("ingest", "query", "lexical", "hnsw", "findings_update", "sentences", "encoder", "ocr")
OPT_IN = ("modes",)  # run only when named


def main() -> int:
    parts = [p for p in sys.argv[1:] if p in PARTS + OPT_IN] or list(PARTS)
    limit = float(os.environ.get("BENCH_PART_TIMEOUT", 1800))
    env = {
        **os.environ,
        "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "1"),
        "QA_TORCH_THREADS": os.environ.get("QA_TORCH_THREADS", "2"),
    }
    failed: list[str] = []
    t0 = time.perf_counter()
    log(f"bench: {', '.join(parts)}{' (quick)' if QUICK else ''}")
    for part in parts:
        t = time.perf_counter()
        try:
            rc = subprocess.run([sys.executable, "-m", f"bench.{part}"], cwd=ROOT, env=env, timeout=limit).returncode
        except subprocess.TimeoutExpired:
            rc = -1
            log(f"{part}: stopped after {limit:.0f} s")
        if rc != 0:
            failed.append(part)
        log(f"{part}: {'ok' if rc == 0 else f'failed ({rc})'} in {time.perf_counter() - t:.0f} s")
    subprocess.run([sys.executable, "-m", "bench.report"], cwd=ROOT, env=env, check=False)
    log(f"bench done in {time.perf_counter() - t0:.0f} s" + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
