"""Mixed load against a real `qa serve` on 127.0.0.1: CLIENTS concurrent readers ask and search while two
admin writers upload, replace and delete documents. Bounded by DURATION seconds and MAX_REQUESTS.

Every request must succeed (no 5xx, no 429, no transport error), and every read must see each document
whole or not at all. Each document version carries a unique marker token in its title, so all of its chunks
(known in advance: the test prepares the same text with the same chunker) match a search for the marker:
such a search returns none of that version's chunks or all of them, never some. Citations of an answer are
exact spans of the version they name, and the catalogue lists a version only with its full chunk count.

Throughput and latency percentiles go to test-artifacts/load_mixed.json, and with QA_RECORD_BENCH=1 to
bench/results/load_mixed.json (docs/benchmarks.md quotes them)."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import random
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from ingest.pipeline import prepare
from ingest.readers import read_bytes
from qa.metrics import percentile
from qa.settings import Settings
from tests.conftest import ADMIN_KEY, READER_KEY, ROOT

pytestmark = pytest.mark.slow
CLIENTS = 32
WRITERS = 2
DURATION = 25.0
MAX_REQUESTS = 5000
# Asks embed every sentence they weigh (seconds of the one shared encoder on 2 cores); searches embed one
# query. The mix keeps asks a minority, as in real use, so the test measures the service, not a queue.
SEARCH_SHARE, ASK_SHARE = 0.7, 0.15
FILLER = "本单位严格执行预算管理制度，加强资金使用监督，确保专款专用，提高财政资金使用效益。" * 3


@dataclass(frozen=True)
class Version:
    """One document version as the server will store it."""

    source: str
    marker: str
    data: bytes
    doc_id: str
    text: str  # the cleaned text citations point into
    chunk_ids: frozenset[str]


def _version(source: str, marker: str) -> Version:
    body = "\n".join(
        [
            f"某某区负载测试{marker}中心2021年度部门整体支出绩效自评报告",
            "一、基本情况", f"本中心负责负载测试工作（{marker}）。{FILLER}",
            "二、存在的问题", f"1、{marker}预算编制不够细化。{FILLER}",
            "三、改进措施", f"1、细化预算管理（{marker}）。{FILLER}",
        ]
    )  # fmt: skip
    data = body.encode()
    s = Settings()  # the server runs with the same (default) chunking
    doc = prepare(read_bytes(data, source), {}, chunk_size=s.chunk_size, chunk_overlap=s.chunk_overlap)
    assert len(doc.rows) >= 3 and all(marker in r.text for r in doc.rows)
    return Version(source, marker, data, doc.record.doc.doc_id, doc.text, frozenset(r.id for r in doc.rows))


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    checks: int = 0
    seen_whole: int = 0  # reads that found a version (all of it)
    requests: int = 0
    in_flight: list[Version] = field(default_factory=list)  # versions the writers are working on now

    def over(self, deadline: float) -> bool:
        return time.monotonic() > deadline or self.requests >= MAX_REQUESTS or len(self.errors) > 20


async def _call(
    client: httpx.AsyncClient, tally: Tally, kind: str, method: str, url: str, expect: int, **kw: object
) -> httpx.Response | None:
    tally.requests += 1
    started = time.perf_counter()
    try:
        r = await client.request(method, url, **kw)  # type: ignore[arg-type]
    except httpx.HTTPError as exc:
        tally.errors.append(f"{kind}: {type(exc).__name__}: {exc}")
        return None
    tally.latencies[kind].append(time.perf_counter() - started)
    if r.status_code != expect:
        tally.errors.append(f"{kind}: HTTP {r.status_code} {r.text[:200]}")
        return None
    return r


def _check_hits(tally: Tally, version: Version, hits: list[dict]) -> None:  # type: ignore[type-arg]
    ids = {h["id"] for h in hits if h["doc_id"] == version.doc_id}
    tally.checks += 1
    if ids and ids != version.chunk_ids:
        tally.violations.append(f"search {version.marker}: {len(ids)} of {len(version.chunk_ids)} chunks")
    tally.seen_whole += bool(ids)
    for h in hits:
        if h["doc_id"] == version.doc_id and version.text[h["char_start"] : h["char_end"]] != h["text"]:
            tally.violations.append(f"search {version.marker}: chunk {h['id']} is not the stored span")


async def _reader(
    client: httpx.AsyncClient, tally: Tally, versions: dict[str, Version], deadline: float, rng: random.Random
) -> None:
    everything = list(versions.values())
    while not tally.over(deadline):
        # Mostly the versions being written right now (where a torn read would show), sometimes any.
        version = rng.choice(tally.in_flight if tally.in_flight and rng.random() < 0.8 else everything)
        roll = rng.random()
        if roll < SEARCH_SHARE:
            mode = rng.choice(["bm25", "hybrid"])
            body = {"query": f"{version.marker}", "top_k": 20, "mode": mode}
            r = await _call(client, tally, "search", "POST", "/v1/search", 200, json=body)
            if r is not None:
                _check_hits(tally, version, r.json()["hits"])
        elif roll < SEARCH_SHARE + ASK_SHARE:
            body = {"question": f"负载测试{version.marker}中心存在什么问题？", "top_k": 10}
            r = await _call(client, tally, "ask", "POST", "/v1/ask", 200, json=body)
            if r is not None:
                for c in r.json()["citations"]:
                    known = next((v for v in versions.values() if v.doc_id == c["doc_id"]), None)
                    tally.checks += known is not None
                    if known is not None and known.text[c["char_start"] : c["char_end"]] != c["text"]:
                        tally.violations.append(f"ask {version.marker}: citation {c['id']} is not the stored span")
        else:
            r = await _call(client, tally, "catalogue", "GET", "/v1/documents", 200)
            if r is not None:
                for d in r.json():
                    known = next((v for v in versions.values() if v.doc_id == d["doc_id"]), None)
                    tally.checks += known is not None
                    if known is not None and d["n_chunks"] != len(known.chunk_ids):
                        tally.violations.append(f"catalogue {known.marker}: n_chunks {d['n_chunks']}")


async def _writer(
    client: httpx.AsyncClient, tally: Tally, pairs: list[tuple[Version, Version]], deadline: float
) -> None:
    """Per file name: upload (new), upload a changed version (replaced), delete — until the time is up."""
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    for first, second in pairs:
        if tally.over(deadline):
            return
        tally.in_flight[:] = [v for v in tally.in_flight if v.source != first.source][-2:] + [first, second]
        for version, outcome in ((first, "new"), (second, "replaced")):
            files = {"file": (version.source, version.data, "text/plain")}
            r = await _call(client, tally, "upload", "POST", "/v1/documents", 201, files=files, headers=admin)
            if r is not None and (r.json()["outcome"], r.json()["doc_id"]) != (outcome, version.doc_id):
                tally.violations.append(f"upload {version.marker}: {r.json()}")
        await _call(client, tally, "delete", "DELETE", f"/v1/documents/{second.doc_id}", 200, headers=admin)


async def _run(base: str) -> tuple[Tally, float, dict[str, Version]]:
    counter = itertools.count()
    pairs_per_writer = [
        [
            (
                _version(f"load-{w}-{i}.txt", f"lt{w}x{next(counter):04d}q"),
                _version(f"load-{w}-{i}.txt", f"lt{w}x{next(counter):04d}q"),
            )
            for i in range(40)
        ]
        for w in range(WRITERS)
    ]
    versions = {v.marker: v for pairs in pairs_per_writer for pair in pairs for v in pair}
    tally = Tally()
    limits = httpx.Limits(max_connections=CLIENTS + WRITERS, max_keepalive_connections=CLIENTS + WRITERS)
    headers = {"Authorization": f"Bearer {READER_KEY}"}
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits, headers=headers) as client:
        # Warm-up outside the clock: the first answer embeds the sample reports' sentences once.
        for version in list(versions.values())[:2]:
            await client.post("/v1/ask", json={"question": f"负载测试{version.marker}中心存在什么问题？"})
        started = time.monotonic()
        deadline = started + DURATION
        rng = random.Random(7)
        await asyncio.gather(
            *(_writer(client, tally, pairs, deadline) for pairs in pairs_per_writer),
            *(_reader(client, tally, versions, deadline, random.Random(rng.random())) for _ in range(CLIENTS)),
        )
        elapsed = time.monotonic() - started
        # Afterwards: every delete took everything with it.
        for version in versions.values():
            r = await client.post("/v1/search", json={"query": version.marker, "top_k": 5, "mode": "bm25"})
            assert r.status_code == 200 and not [h for h in r.json()["hits"] if h["doc_id"] == version.doc_id]
        listed = {d["doc_id"] for d in (await client.get("/v1/documents")).json()}
        assert not listed & {v.doc_id for v in versions.values()}
    return tally, elapsed, versions


def _record(tally: Tally, elapsed: float) -> dict[str, object]:
    total = sum(len(v) for v in tally.latencies.values())
    result = {
        "what": f"{CLIENTS} concurrent clients (search {SEARCH_SHARE:.0%}, ask {ASK_SHARE:.0%}, catalogue {1 - SEARCH_SHARE - ASK_SHARE:.0%}) "
        f"while {WRITERS} admin writers upload, replace and delete",
        "server": "qa serve, one process, embedded Chroma, 5 sample reports + the load documents, m3e-small on CPU",
        "cores": os.cpu_count(),
        "load_average_1min_after": round(os.getloadavg()[0], 1),  # other work on the machine skews the numbers
        "seconds": round(elapsed, 1),
        "requests": total,
        "throughput_rps": round(total / elapsed, 1),
        "errors": len(tally.errors),
        "consistency_checks": tally.checks,
        "reads_that_found_a_version_whole": tally.seen_whole,
        "violations": len(tally.violations),
        "latency_ms": {
            kind: {
                "n": len(v),
                "p50": round(percentile(v, 50) * 1000),
                "p95": round(percentile(v, 95) * 1000),
                "max": round(max(v) * 1000),
            }
            for kind, v in sorted(tally.latencies.items())
        },
    }
    text = json.dumps(result, ensure_ascii=False, indent=2) + "\n"
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    (ROOT / "test-artifacts" / "load_mixed.json").write_text(text, encoding="utf-8")
    if os.environ.get("QA_RECORD_BENCH") == "1":
        (ROOT / "bench" / "results" / "load_mixed.json").write_text(text, encoding="utf-8")
    return result


def test_mixed_load_has_no_errors_and_documents_are_whole_or_absent(keyed_api: tuple[str, Path]) -> None:
    base, _ = keyed_api
    tally, elapsed, _ = asyncio.run(_run(base))
    result = _record(tally, elapsed)
    print(json.dumps(result, ensure_ascii=False))
    assert not tally.errors, tally.errors[:5]
    assert not tally.violations, tally.violations[:5]
    assert elapsed < DURATION + 60  # bounded: in-flight requests finish after the deadline
    latencies = result["latency_ms"]
    assert isinstance(latencies, dict) and {"ask", "search", "upload", "delete"} <= set(latencies)
    assert tally.seen_whole > 0 and tally.checks > 100  # the reads did meet documents in flight
