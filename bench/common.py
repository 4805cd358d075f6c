"""What every benchmark script shares: thread settings, machine description, statistics, result files.

Import this module before numpy/torch: it pins OPENBLAS_NUM_THREADS=1 and QA_TORCH_THREADS (DESIGN.md §7:
OpenBLAS and torch otherwise fight for the 2 cores) unless the caller set them explicitly.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("QA_TORCH_THREADS", "2")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# One int8 ONNX export for every benchmark store and server, not one per data dir.
os.environ.setdefault("QA_MODEL_CACHE_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "cache", "models"))

import datetime as _dt
import json
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / "cache"
RESULTS = ROOT / "bench" / "results"
QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0", "false")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0..100) of a non-empty sequence."""
    xs = sorted(values)
    if not xs:
        return float("nan")
    pos = (len(xs) - 1) * q / 100
    lo, hi = int(pos), min(int(pos) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def store_sizes() -> list[int]:
    """Store sizes (chunks) of the query and lexical benchmarks: BENCH_SIZES, e.g. "10k,100k,1m"."""
    raw = os.environ.get("BENCH_SIZES") or ("10000" if QUICK else "10000,100000")
    return [int(x.replace("k", "000").replace("m", "000000")) for x in raw.split(",") if x.strip()]


def summary(values: Sequence[float], digits: int = 2) -> dict[str, Any]:
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "median": round(statistics.median(values), digits),
        "p95": round(percentile(values, 95), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
        "mean": round(statistics.fmean(values), digits),
    }


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
    except Exception:
        return ""


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except Exception:
        pass
    mem_kb = 0
    try:
        mem_kb = int(
            next(
                line.split()[1]
                for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")
            )
        )
    except Exception:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0, 0, 0)
    versions: dict[str, str] = {}
    for mod in ("torch", "sentence_transformers", "chromadb", "bm25s", "onnxruntime", "numpy"):
        try:
            versions[mod] = __import__(mod).__version__
        except Exception:
            pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "mem_gb": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_avg_at_start": [round(x, 2) for x in load],
        "threads": {
            k: os.environ.get(k, "")
            for k in ("OPENBLAS_NUM_THREADS", "QA_TORCH_THREADS", "QA_EMBEDDING_BACKEND", "QA_QUERY_EMBEDDING_BACKEND")
        },
        "versions": versions,
    }


def header(name: str) -> dict[str, Any]:
    dirty = bool(_git("status", "--porcelain", "--", "qa", "ingest", "bench"))
    return {
        "name": name,
        "date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "commit": _git("rev-parse", "--short", "HEAD") + ("+dirty" if dirty else ""),
        "quick": QUICK,
        "machine": machine(),
    }


def write_result(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    log(f"wrote {path.relative_to(ROOT)}")
    return path


@contextmanager
def timer(into: dict[str, float], key: str) -> Iterator[None]:
    t = time.perf_counter()
    try:
        yield
    finally:
        into[key] = into.get(key, 0.0) + time.perf_counter() - t


def rss_mb(pid: int) -> float:
    """VmRSS of a process in MB (from /proc/<pid>/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_per_size(name: str, run: Callable[[int], dict[str, Any]], **extra: Any) -> None:
    """A benchmark run once per store size (`store_sizes`): results under "sizes", written after each size so a
    later size that fails or times out keeps the earlier ones."""
    result: dict[str, Any] = {**header(name), **extra, "sizes": {}}
    for n in store_sizes():
        log(f"{name} at {n} chunks")
        result["sizes"][str(n)] = run(n)
        write_result(name, result)
