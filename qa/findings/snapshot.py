"""A saved copy of the findings view, so a process starts from it instead of re-reading every finding row
(issue 23: at 1M chunks the view took 243 s of a 4-minute start; at 100k 27 s, of which 12 s reading Chroma).

The snapshot is derived state like the BM25 index: `<data_dir>/findings/<collection>/view-<recipe>.cols`, where
the recipe hashes everything that decides its content (the taxonomy, the categoriser's parameters, the query model
that embedded the sentences, the findings collection's id, and the source of the modules that build the view), so
a change of any of them reads the store again instead of trusting an old file. It is checked against the catalogue
exactly like a view in memory: documents whose (doc_id, ingested_at, fields) key is unchanged are kept, others read
from the store, departed ones dropped (`FindingsIndex._build`).

The file holds the view's columns as raw arrays, then a small pickled header (the document keys, the token
vocabulary, each array's dtype, shape and offset), then the header's length. Loading memory-maps the large columns
(sentence vectors, texts: at 1M chunks ~1 GB that then cost only the pages a question reads) and reads the small
ones; writing is a few large `write` calls, which release the GIL (a pickle of one object per finding held it for
tens of seconds at 1M chunks, stalling searches). It is written atomically (temporary file, then rename) in a
background thread, so several processes sharing a data directory never see a half-written file, and a process
that mapped the old file keeps reading it after the rename; an unreadable file is ignored and replaced. The
header is a pickle written by this process's code: the data directory must be as trusted as the code.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import pickle
import struct
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from qa.findings.columns import Rows, Texts
from qa.findings.taxonomy import Categorizer

if TYPE_CHECKING:
    from qa.findings.index import View

_log = logging.getLogger(__name__)
_FORMAT = 2
_MAGIC = b"QAVIEW02"
_ALIGN = 64
# The modules whose code decides what a view holds (rows, categories, tokens, flags, columns).
_SOURCES = (
    "qa.findings.index",
    "qa.findings.model",
    "qa.findings.columns",
    "qa.findings.snapshot",
    "qa.findings.taxonomy",
    "ingest.schema",
    "ingest.findings",
    "qa.lexical",
)


def recipe(categorizer: Categorizer, rows: str) -> str:
    """`rows`: what identifies the stored finding rows beyond each document's key (their model, their collection)."""
    h = hashlib.sha1(f"{_FORMAT}|{categorizer.taxonomy.digest}|{asdict(categorizer.params)}|{rows}".encode())
    for name in _SOURCES:
        h.update(Path(str(importlib.util.find_spec(name).origin)).read_bytes())  # type: ignore[union-attr]
    return h.hexdigest()[:16]


def path_for(data_dir: Path, collection: str, categorizer: Categorizer, rows: str) -> Path:
    return data_dir / "findings" / collection / f"view-{recipe(categorizer, rows)}.cols"


# --- arrays in one file ----------------------------------------------------------------------------------------


def save(path: Path, meta: dict[str, Any], arrays: dict[str, Sequence[np.ndarray]]) -> None:
    """Write `arrays` (each given as parts written one after another: one array in the file) and `meta`
    atomically, and remove snapshots of other recipes (they can never be used again)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(_MAGIC)
            layout: dict[str, tuple[str, tuple[int, ...], int]] = {}
            for name, parts in arrays.items():
                pad = -fh.tell() % _ALIGN
                fh.write(b"\0" * pad)
                offset = fh.tell()
                first = parts[0]
                for part in parts:
                    if part.size:  # an empty array has nothing to write (and its buffer cannot be cast to bytes)
                        fh.write(np.ascontiguousarray(part, dtype=first.dtype).data.cast("B"))
                layout[name] = (first.dtype.str, (sum(len(p) for p in parts), *first.shape[1:]), offset)
            header = pickle.dumps({"format": _FORMAT, "meta": meta, "arrays": layout}, protocol=5)
            fh.write(header)
            fh.write(struct.pack("<Q", len(header)) + _MAGIC)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    for other in path.parent.glob("view-*"):  # older recipes and formats, and temporary files of writers that died
        try:
            if other != path and (other.suffix in (".pkl", ".cols") or time.time() - other.stat().st_mtime > 3600):
                other.unlink(missing_ok=True)
        except OSError:  # another process removed or replaced it meanwhile
            continue


def load(path: Path, mapped: Sequence[str] = ()) -> tuple[dict[str, Any], dict[str, np.ndarray]] | None:
    """What `save` wrote: (meta, arrays), the arrays named in `mapped` memory-mapped read-only, the others read
    into memory; or None (no file, or one this code cannot read)."""
    try:
        with path.open("rb") as fh:
            if fh.read(len(_MAGIC)) != _MAGIC:
                raise ValueError("not a findings view file")
            fh.seek(-8 - len(_MAGIC), os.SEEK_END)
            (length,) = struct.unpack("<Q", fh.read(8))
            if fh.read(len(_MAGIC)) != _MAGIC:
                raise ValueError("truncated")
            fh.seek(-8 - len(_MAGIC) - length, os.SEEK_END)
            header = pickle.loads(fh.read(length))  # our own file (see the module's docstring)
            if header.get("format") != _FORMAT:
                return None
            arrays: dict[str, np.ndarray] = {}
            for name, (dtype, shape, offset) in header["arrays"].items():
                if name in mapped and shape[0]:
                    arrays[name] = np.memmap(path, dtype=np.dtype(dtype), mode="r", offset=offset, shape=shape)
                else:
                    fh.seek(offset)
                    count = int(np.prod(shape))
                    arrays[name] = np.fromfile(fh, dtype=np.dtype(dtype), count=count).reshape(shape)
        return header["meta"], arrays
    except FileNotFoundError:
        return None
    except Exception as exc:  # a damaged or foreign file is rebuilt, never fatal
        _log.warning("findings view snapshot %s unreadable (%s); the view is read from the store", path, exc)
        return None


# --- the view as columns ---------------------------------------------------------------------------------------

_TEXTS = ("ids", "section", "lead", "text", "row_text")  # FindingTable's string columns
_LARGE = ("vectors", *(f"table.{t}.data" for t in _TEXTS))  # memory-mapped when loaded


def save_view(path: Path, view: View) -> None:
    from qa.findings.model import FindingTable

    arrays: dict[str, Sequence[np.ndarray]] = {"vectors": view.vectors.parts}
    for f in fields(FindingTable):
        column = getattr(view.table, f.name)
        if isinstance(column, Texts):
            arrays[f"table.{f.name}.data"] = column.data.parts
            arrays[f"table.{f.name}.ends"] = [column.ends]
        else:
            arrays[f"table.{f.name}"] = [column]
    for name in ("row_scores", "row_problem", "row_measure", "row_finding", "row_doc", "row_accepted"):
        arrays[name] = [getattr(view, name)]
    arrays["row_best"], arrays["row_top"] = [view.row_best], [view.row_top]
    vocab = list(view.postings)
    arrays["postings.ptr"] = [np.r_[0, np.cumsum([len(view.postings[t]) for t in vocab])].astype(np.int64)]
    arrays["postings.rows"] = [view.postings[t] for t in vocab] or [np.zeros(0, dtype=np.int32)]
    meta = {
        "categories": view.categories,
        "key": view.key,
        "docs": view.docs,
        "dead_rows": view.dead_rows,
        "vocab": vocab,
    }
    save(path, meta, arrays)


def load_view(path: Path) -> View | None:
    """The saved view, its vectors and texts memory-mapped; None when there is none this code can read."""
    from qa.findings.index import View
    from qa.findings.model import FindingTable

    loaded = load(path, mapped=_LARGE)
    if loaded is None:
        return None
    meta, a = loaded
    try:
        table: dict[str, Any] = {}
        for f in fields(FindingTable):
            if f.name in _TEXTS:
                table[f.name] = Texts(Rows([a[f"table.{f.name}.data"]]), a[f"table.{f.name}.ends"])
            else:
                table[f.name] = a[f"table.{f.name}"]
        ptr, flat = a["postings.ptr"], a["postings.rows"]
        return View(
            table=FindingTable(**table),
            categories=tuple(meta["categories"]),
            vectors=Rows([a["vectors"]]),
            row_scores=a["row_scores"],
            row_problem=a["row_problem"],
            row_measure=a["row_measure"],
            row_finding=a["row_finding"],
            row_doc=a["row_doc"],
            postings={t: flat[ptr[i] : ptr[i + 1]] for i, t in enumerate(meta["vocab"])},
            key=tuple(meta["key"]),
            docs=tuple(meta["docs"]),
            row_accepted=a["row_accepted"],
            row_best=a["row_best"],
            row_top=a["row_top"],
            dead_rows=int(meta["dead_rows"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        _log.warning("findings view snapshot %s does not fit this code (%s); read from the store", path, exc)
        return None
