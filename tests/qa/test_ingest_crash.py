"""Crash safety: `qa ingest` killed with SIGKILL in the middle of a batch, then run again."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from qa.embeddings import Embedder
from qa.retrieve import open_retriever
from qa.settings import Settings
from tests.conftest import SAMPLES
from tests.support.server import QA

pytestmark = pytest.mark.slow


def _batch(folder: Path, n: int) -> None:
    samples = sorted(SAMPLES.glob("*.txt"))
    for i in range(n):
        src = samples[i % len(samples)]
        # Distinct content per file, so every file is its own document.
        (folder / f"{i:02d}_{src.name}").write_text(
            src.read_text(encoding="utf-8") + f"\n十、附注\n批次编号 {i} 的补充说明。\n", encoding="utf-8"
        )


def _invariants(data: Path, embedder: Embedder) -> tuple[int, int]:
    """Every committed document is complete and visible exactly once; returns (documents, orphan chunks)."""
    r = open_retriever(Settings(data_dir=data), embedder)
    docs = r.store.catalogue()
    rows = list(r.store.iter_chunks(include_text=False))
    assert len({row.id for row in rows}) == len(rows)
    per_doc = Counter(row.metadata["doc_id"] for row in rows)
    committed = {d.doc.doc_id for d in docs}
    for d in docs:
        assert per_doc[d.doc.doc_id] == d.n_chunks, d.doc.source
    assert len({d.doc.source for d in docs}) == len(docs)
    lexical = r.lexical()
    assert sorted(lexical.ids) == sorted(row.id for row in rows if row.metadata["doc_id"] in committed)
    # Findings follow the same commit: every committed document has all of its findings.
    finding_rows = r.store.findings.get(include=["metadatas"])["metadatas"] or []
    findings = Counter(str(m["doc_id"]) for m in {str(m["finding_id"]): m for m in finding_rows}.values())
    for d in docs:
        assert findings[d.doc.doc_id] == d.n_findings > 0, d.doc.source
    orphans = sum(n for doc_id, n in per_doc.items() if doc_id not in committed)
    return len(docs), orphans + sum(n for doc_id, n in findings.items() if doc_id not in committed)


def test_sigkill_mid_batch_then_rerun(tmp_path: Path, embedder: Embedder) -> None:
    batch = tmp_path / "batch"
    batch.mkdir()
    _batch(batch, 16)
    data = tmp_path / "data"
    env = {**os.environ, "QA_DATA_DIR": str(data)}
    proc = subprocess.Popen([QA, "ingest", str(batch)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # Wait until the store exists and some documents are going in, then kill without warning.
    deadline = time.monotonic() + 120
    while not (data / "chroma" / "chroma.sqlite3").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(6)
    assert proc.poll() is None, "ingest finished before it could be killed; make the batch larger"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    partial, _ = _invariants(data, embedder)
    assert partial < 16

    rerun = subprocess.run([QA, "ingest", str(batch)], env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    assert f"未变化 {partial} 篇" in rerun.stdout
    documents, orphans = _invariants(data, embedder)
    assert documents == 16 and orphans == 0
