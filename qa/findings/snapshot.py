"""A saved copy of the findings view, so a process starts from it instead of re-reading every finding row
(issue 23: at 1M chunks the view took 243 s of a 4-minute start; at 100k 27 s, of which 12 s reading Chroma).

The snapshot is derived state like the BM25 index: `<data_dir>/findings/<collection>/view-<recipe>.pkl`, where
the recipe hashes everything that decides its content (the taxonomy, the categoriser's parameters, the query model
that embedded the sentences, the findings collection's id, and the source of the modules that build the view), so
a change of any of them reads the store again instead of trusting an old file. It is checked against the catalogue exactly like a view in memory:
documents whose (doc_id, ingested_at, fields) key is unchanged are kept, others read from the store, departed ones
dropped (`FindingsIndex._build`). It is written atomically (temporary file, then rename) in a background thread
after a build that read at least 1 % of the documents, so several processes sharing a data directory never see a
half-written file; an unreadable file is ignored and replaced. The file is a pickle written by this process's
code: the data directory must be as trusted as the code.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import pickle
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from qa.findings.taxonomy import Categorizer

_log = logging.getLogger(__name__)
_FORMAT = 1
# The modules whose code decides what a view holds (rows, categories, tokens, flags).
_SOURCES = ("qa.findings.index", "qa.findings.model", "qa.findings.taxonomy", "ingest.schema", "qa.lexical")


def recipe(categorizer: Categorizer, rows: str) -> str:
    """`rows`: what identifies the stored finding rows beyond each document's key (their model, their collection)."""
    h = hashlib.sha1(f"{_FORMAT}|{categorizer.taxonomy.digest}|{asdict(categorizer.params)}|{rows}".encode())
    for name in _SOURCES:
        h.update(Path(str(importlib.util.find_spec(name).origin)).read_bytes())  # type: ignore[union-attr]
    return h.hexdigest()[:16]


def path_for(data_dir: Path, collection: str, categorizer: Categorizer, rows: str) -> Path:
    return data_dir / "findings" / collection / f"view-{recipe(categorizer, rows)}.pkl"


def load(path: Path) -> Any | None:
    """What `save` wrote, or None (no file, or one this code cannot read)."""
    try:
        with path.open("rb") as fh:
            fmt, payload = pickle.load(fh)
        return payload if fmt == _FORMAT else None
    except FileNotFoundError:
        return None
    except Exception as exc:  # a damaged or foreign file is rebuilt, never fatal
        _log.warning("findings view snapshot %s unreadable (%s); the view is read from the store", path, exc)
        return None


def save(path: Path, payload: Any) -> None:
    """Write `payload` atomically and remove snapshots of other recipes (they can never be used again)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            pickle.dump((_FORMAT, payload), fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    for other in path.parent.glob("view-*"):  # older recipes, and temporary files of writers that died
        try:
            if other != path and (other.suffix == ".pkl" or time.time() - other.stat().st_mtime > 3600):
                other.unlink(missing_ok=True)
        except OSError:  # another process removed or replaced it meanwhile
            continue
