"""The sentences of stored chunks, prepared once: where each sentence is, its jieba tokens and its vector.

An aggregate question on a broad topic (三公经费 at 100k chunks: 7,752 reports) scores ~18,000 sentences of
~10,700 candidate chunks. Reading, splitting, tokenising and embedding them at question time took 15-50 s on a
first ask and 1.5 s on a repeat. Here that work is done once per chunk: in the background after documents are
committed (`prepare_missing`, run by `qa serve`), or all at once by `qa sentences`. The results are kept on disk under
<data_dir>/sentences/<collection>/<recipe>/. Chunks not prepared yet are prepared at question time, as before.

An entry is a chunk: its text, section, role and offsets (so the citations of an answer need no Chroma read)
and its sentences. It is addressed by the chunk id and the chunk's text key (`LexicalIndex.keys`: a hash of the
text BM25 indexes, which includes the chunk's text, section, unit and title), so it never goes stale: a changed
chunk has another key, and a deleted chunk's entry is never asked for again (`SentenceStore.compact` drops
it with the next pass). Segments are written whole, renamed into place and never changed, so several processes
on one data dir (`qa serve`, `qa sentences`) write and read them without coordination; at worst an entry is
computed twice. Vectors and texts are memory-mapped and read only for what a question needs, so they do not
count against the process's memory.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import mmap
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ingest.schema import ChunkMeta, ChunkRow
from ingest.text import sentence_spans
from qa.lexical import _tokenizer_fingerprint, tokenize

log = logging.getLogger("qa.sentences")
MIN_CHARS = 6  # shorter sentences ("合计。") are never evidence
# What may end a heading line but not its section name (the parser drops it): compared without it.
_HEADING_END = "。．.；;：:，,、 "
# Bump when what an entry holds changes (splitting rules, token recipe): old segments are then ignored.
_RECIPE = "sentences 3"
_SEGMENT_CHUNKS = 4096  # chunks per segment written by the pass: ~26k sentences, ~40 MB of vectors
_SETTLE_SECONDS = 60.0  # files younger than this may belong to a write or a document still in progress


def chunk_sentences(text: str, section: str) -> list[tuple[int, int]]:
    """Spans (offsets in `text`) of a chunk's sentences that can be evidence: not too short, and not a bare
    heading of its own section ("七、存在的问题及原因分析", also when the line ends in 。 and the section name does not:
    a template's "（一）项目组织情况（包括项目招投标情况、调整情况、完成验收等）分析。" says what to report, not what
    the unit did, and counted it for 哪些单位完成了工程招投标工作)."""
    heading_lines = {p.strip().rstrip(_HEADING_END) for p in section.split(" > ")}
    out = []
    for s, e in sentence_spans(text):
        stripped = text[s:e].strip()
        if len(stripped) >= MIN_CHARS and stripped.rstrip(_HEADING_END) not in heading_lines:
            out.append((s, e))
    return out


def ranges(ptr: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """The rows ptr[i]:ptr[i+1] of every i in idx, concatenated (CSR rows of several entries at once).

    >>> ranges(np.array([0, 2, 5, 6]), np.array([2, 0])).tolist()
    [5, 0, 1]
    """
    starts, counts = ptr[idx], ptr[idx + 1] - ptr[idx]
    if not len(idx) or not counts.sum():
        return np.zeros(0, dtype=np.int64)
    offsets = np.repeat(starts - np.r_[0, np.cumsum(counts)[:-1]], counts)
    out: np.ndarray = np.arange(int(counts.sum()), dtype=np.int64) + offsets  # int64 + int array: an int array
    return out


def entry_key(chunk_id: str, text_key: int) -> int:
    """What an entry is stored under: the chunk (its id fixes its document and position) with this exact text,
    section, unit and title (`text_key`, `LexicalIndex.keys`). A rewritten or re-chunked chunk has another key."""
    return int.from_bytes(
        hashlib.blake2b(f"{chunk_id}\n{text_key}".encode(), digest_size=8).digest(), "little", signed=True
    )


@dataclass(frozen=True)
class ChunkSource:
    """What an entry is prepared from: a stored chunk's text and the metadata a citation of it needs."""

    key: int  # entry_key
    text: str
    section: str
    section_role: str
    char_start: int
    char_end: int

    @classmethod
    def of_row(cls, row: ChunkRow, key: int) -> ChunkSource:
        m = ChunkMeta.from_metadata(row.metadata)
        return cls(key, row.text, m.section, m.section_role, m.char_start, m.char_end)


@dataclass(frozen=True)
class SentenceBatch:
    """Prepared chunks, column by column. Entry e (stored under keys[e]) is a chunk: its text
    blob[text_ptr[e]:text_ptr[e+1]] (UTF-8), section labels[section[e]], role labels[role[e]], offsets
    char_start[e]:char_end[e] in its document, and sentence rows ptr[e]:ptr[e+1]. Sentence s spans start[s]:end[s]
    of its chunk's text and has the distinct tokens vocab[tok_flat[tok_ptr[s]:tok_ptr[s+1]]]. `vectors` is None
    for a batch prepared at question time (its sentences are embedded on demand)."""

    keys: np.ndarray
    ptr: np.ndarray
    start: np.ndarray
    end: np.ndarray
    tok_ptr: np.ndarray
    tok_flat: np.ndarray
    vocab: list[str]
    text_ptr: np.ndarray
    blob: np.ndarray  # uint8
    labels: list[str]
    section: np.ndarray
    role: np.ndarray
    char_start: np.ndarray
    char_end: np.ndarray
    vectors: np.ndarray | None = None

    def token_ids(self, tokens: Iterable[str]) -> dict[str, int]:
        """Which of these tokens occur in this batch, with their ids."""
        if getattr(self, "_vocab_ids", None) is None:
            object.__setattr__(self, "_vocab_ids", {t: i for i, t in enumerate(self.vocab)})
        ids: dict[str, int] = self._vocab_ids  # type: ignore[attr-defined]
        return {t: ids[t] for t in tokens if t in ids}

    def text(self, entry: int) -> str:
        # Sliced through a plain ndarray view: a np.memmap slice costs ~10 µs of subclass bookkeeping, which an
        # aggregate at 1M chunks paid ~77,000 times (0.8 s).
        plain = getattr(self, "_plain_blob", None)
        if plain is None:
            plain = self.blob.view(np.ndarray)
            object.__setattr__(self, "_plain_blob", plain)
        return plain[self.text_ptr[entry] : self.text_ptr[entry + 1]].tobytes().decode("utf-8")

    def sentence(self, row: int, entry: int) -> str:
        return self.text(entry)[self.start[row] : self.end[row]]


_COLUMNS = (
    "keys",
    "ptr",
    "start",
    "end",
    "tok_ptr",
    "tok_flat",
    "text_ptr",
    "section",
    "role",
    "char_start",
    "char_end",
)


def prepare(chunks: Iterable[ChunkSource], encode: Callable[[list[str]], np.ndarray] | None = None) -> SentenceBatch:
    """Entries for these chunks; `encode`: embeds the sentences (None: not now)."""
    cols: dict[str, list[int]] = {name: [] for name in _COLUMNS}
    cols["ptr"].append(0)
    cols["tok_ptr"].append(0)
    cols["text_ptr"].append(0)
    vocab: dict[str, int] = {}
    labels: dict[str, int] = {}
    blob = bytearray()
    texts: list[str] = []
    memo: dict[str, list[int]] = {}  # boilerplate sentences recur across reports
    for c in chunks:
        cols["keys"].append(c.key)
        cols["section"].append(labels.setdefault(c.section, len(labels)))
        cols["role"].append(labels.setdefault(c.section_role, len(labels)))
        cols["char_start"].append(c.char_start)
        cols["char_end"].append(c.char_end)
        blob += c.text.encode("utf-8")
        cols["text_ptr"].append(len(blob))
        for s, e in chunk_sentences(c.text, c.section):
            sentence = c.text[s:e]
            if sentence not in memo:
                memo[sentence] = [vocab.setdefault(t, len(vocab)) for t in dict.fromkeys(tokenize(sentence))]
            cols["start"].append(s)
            cols["end"].append(e)
            cols["tok_flat"] += memo[sentence]
            cols["tok_ptr"].append(len(cols["tok_flat"]))
            texts.append(sentence)
        cols["ptr"].append(len(cols["start"]))
    vectors = None
    if encode is not None:
        vectors = encode(texts) if texts else np.zeros((0, 0), dtype=np.float32)
    wide = ("keys", "ptr", "tok_ptr", "text_ptr")
    arrays = {k: np.asarray(v, dtype=np.int64 if k in wide else np.int32) for k, v in cols.items()}
    return SentenceBatch(
        **arrays,
        vocab=list(vocab),
        blob=np.frombuffer(bytes(blob), dtype=np.uint8),
        labels=list(labels),
        vectors=vectors,
    )


def merge(parts: Sequence[tuple[SentenceBatch, np.ndarray]]) -> SentenceBatch:
    """One batch of the given entries of several prepared batches (vectors included), for compaction."""
    vocab: dict[str, int] = {}
    labels: dict[str, int] = {}
    cols: dict[str, list[np.ndarray]] = {name: [] for name in (*_COLUMNS, "blob", "vectors")}
    sizes = {"ptr": 0, "tok_ptr": 0, "text_ptr": 0}
    for batch, entries in parts:
        assert batch.vectors is not None
        rows = ranges(batch.ptr, entries)
        tok_rows = ranges(batch.tok_ptr, rows)
        vocab_map = np.array([vocab.setdefault(t, len(vocab)) for t in batch.vocab], dtype=np.int32)
        label_map = np.array([labels.setdefault(t, len(labels)) for t in batch.labels], dtype=np.int32)
        counts = {
            "ptr": batch.ptr[entries + 1] - batch.ptr[entries],
            "tok_ptr": batch.tok_ptr[rows + 1] - batch.tok_ptr[rows],
            "text_ptr": batch.text_ptr[entries + 1] - batch.text_ptr[entries],
        }
        for name, n in counts.items():  # CSR offsets continue from the previous part
            cols[name].append(sizes[name] + np.cumsum(n))
            sizes[name] += int(n.sum())
        cols["keys"].append(batch.keys[entries])
        for name in ("start", "end"):
            cols[name].append(getattr(batch, name)[rows])
        for name in ("char_start", "char_end"):
            cols[name].append(getattr(batch, name)[entries])
        cols["tok_flat"].append(vocab_map[batch.tok_flat[tok_rows]] if len(tok_rows) else np.zeros(0, dtype=np.int32))
        cols["section"].append(label_map[batch.section[entries]] if len(entries) else np.zeros(0, dtype=np.int32))
        cols["role"].append(label_map[batch.role[entries]] if len(entries) else np.zeros(0, dtype=np.int32))
        cols["blob"].append(np.asarray(batch.blob[ranges(batch.text_ptr, entries)], dtype=np.uint8))
        if len(rows):  # a chunk too short for any sentence has no vectors (its batch's may even be 0 × 0)
            cols["vectors"].append(np.asarray(batch.vectors[rows], dtype=np.float32))
    cols["vectors"] = cols["vectors"] or [np.zeros((0, 0), dtype=np.float32)]
    arrays = {k: np.concatenate(v) for k, v in cols.items() if k not in ("ptr", "tok_ptr", "text_ptr")}
    for name in ("ptr", "tok_ptr", "text_ptr"):
        arrays[name] = np.concatenate([np.zeros(1, dtype=np.int64), *cols[name]]).astype(np.int64)
    return SentenceBatch(**arrays, vocab=list(vocab), labels=list(labels))


@dataclass(frozen=True)
class _Look:
    """A pass's look at the store: the caller's key array (the same object while its BM25 index is the same:
    `AnswerContext.entry_keys`), its length, and the segments there were."""

    keys: np.ndarray
    count: int
    segments: tuple[str, ...]

    def same_as(self, other: _Look | None) -> bool:
        return (
            other is not None
            and other.keys is self.keys
            and (other.count, other.segments)
            == (
                self.count,
                self.segments,
            )
        )


class SentenceStore:
    """Prepared sentence entries on disk, one directory per recipe (query model, tokenizer, splitting rules)."""

    def __init__(self, root: Path, query_model_id: str) -> None:
        recipe = hashlib.sha256(f"{_RECIPE}; {query_model_id}; {_tokenizer_fingerprint()}".encode()).hexdigest()[:16]
        self.directory = root / recipe
        self._lock = threading.Lock()
        self._segments: dict[str, SentenceBatch] = {}
        self._names: list[str] = []  # segment files seen (a damaged one is listed but not loaded)
        self._order: list[str] = []  # loaded segments, by number
        self._keys = np.zeros(0, dtype=np.int64)  # every entry's key, sorted; with its segment and entry number
        self._seg = np.zeros(0, dtype=np.int32)
        self._entry = np.zeros(0, dtype=np.int64)
        # The last look of compact, and of prepare_missing that found nothing missing (live keys, their count,
        # segment names): a serving process repeats both every 10 s, ~0.5 s and minutes of CPU at 1M chunks.
        self._compact_looked: _Look | None = None
        self._complete_for: _Look | None = None

    def __len__(self) -> int:
        return len(self._keys)

    def missing(self, keys: np.ndarray) -> list[int]:
        """The positions of `keys` (entry keys, int64) that have no entry, after taking in new segments. Once a look
        found none missing, the same key array over the same segments is not searched again."""
        self.refresh()
        with self._lock:
            looked = _Look(keys, len(keys), tuple(self._order))
        if looked.same_as(self._complete_for):
            return []
        seg, _, _ = self.find(keys)
        todo: list[int] = np.flatnonzero(seg < 0).tolist()
        if not todo:
            self._complete_for = looked
        return todo

    def refresh(self) -> None:
        """Take in segments written since the last look, by this process or another."""
        names = (
            sorted(
                n for p in self.directory.glob("seg-*.npz") if not (n := p.name.removesuffix(".npz")).endswith(".tmp")
            )
            if self.directory.is_dir()
            else []
        )
        if names == self._names:
            return
        with self._lock:
            segments = {n: self._segments[n] for n in names if n in self._segments}
            for n in names:
                if n not in segments:
                    batch = self._load(n)
                    if batch is not None:
                        segments[n] = batch
            order = list(segments)
            keys = [segments[n].keys for n in order]
            seg = [np.full(len(k), i, dtype=np.int32) for i, k in enumerate(keys)]
            entry = [np.arange(len(k), dtype=np.int64) for k in keys]
            all_keys = np.concatenate(keys) if keys else np.zeros(0, dtype=np.int64)
            by_key = np.argsort(all_keys, kind="stable")
            self._keys = all_keys[by_key]
            self._seg = (np.concatenate(seg) if seg else np.zeros(0, dtype=np.int32))[by_key]
            self._entry = (np.concatenate(entry) if entry else np.zeros(0, dtype=np.int64))[by_key]
            self._segments, self._names, self._order = segments, names, order

    def _load(self, name: str) -> SentenceBatch | None:
        try:
            with np.load(self.directory / f"{name}.npz", allow_pickle=False) as f:
                arrays = {k: f[k] for k in _COLUMNS}
                vocab, labels = f["vocab"].tolist(), f["labels"].tolist()
            vectors = np.load(self.directory / f"{name}.vec.npy", mmap_mode="r")
            blob = np.load(self.directory / f"{name}.txt.npy", mmap_mode="r")
        except Exception as exc:  # a damaged segment only costs the work of preparing its chunks again
            log.warning("ignoring sentence segment %s: %s", name, exc)
            return None
        if (
            len(arrays["ptr"]) != len(arrays["keys"]) + 1
            or len(vectors) != len(arrays["start"])
            or len(blob) != arrays["text_ptr"][-1]
        ):
            log.warning("ignoring sentence segment %s: inconsistent sizes", name)
            return None
        return SentenceBatch(**arrays, vocab=vocab, blob=blob, labels=labels, vectors=vectors)

    def find(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[SentenceBatch]]:
        """(segment number, entry number) of each key, segment -1 where the chunk is not prepared; and the
        segments those numbers refer to (a snapshot: a refresh meanwhile does not renumber them)."""
        with self._lock:
            sorted_keys, seg, entry = self._keys, self._seg, self._entry
            segments = [self._segments[n] for n in self._order]
        if not len(sorted_keys):
            return np.full(len(keys), -1, dtype=np.int32), np.zeros(len(keys), dtype=np.int64), segments
        pos, hit = _lookup(sorted_keys, keys)
        return np.where(hit, seg[pos], -1), np.where(hit, entry[pos], 0), segments

    def write(self, batch: SentenceBatch) -> None:
        """Add a prepared batch (with vectors) as a new segment: vectors and texts first, then the entry file that
        makes it visible, each renamed into place whole."""
        assert batch.vectors is not None
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"seg-{uuid.uuid4().hex}"
        for suffix, array in (("vec", np.ascontiguousarray(batch.vectors, dtype=np.float32)), ("txt", batch.blob)):
            tmp = self.directory / f"{name}.{suffix}.tmp.npy"
            np.save(tmp, array)
            tmp.rename(self.directory / f"{name}.{suffix}.npy")
        tmp = self.directory / f"{name}.tmp.npz"
        columns = {k: getattr(batch, k) for k in _COLUMNS}
        np.savez(tmp, **columns, vocab=np.array(batch.vocab, dtype=str), labels=np.array(batch.labels, dtype=str))
        tmp.rename(self.directory / f"{name}.npz")
        self.refresh()

    def compact(self, live: np.ndarray) -> int:
        """Rewrite the segments that are mostly dead (entries whose key is not in `live`: deleted or rewritten
        chunks) or small (one per upload), keeping their live entries; returns how many segments went. One
        process at a time (a lock file); readers in other processes keep their memory maps of removed files.
        `live` is the caller's view of the store: a segment younger than a minute is left alone, so one just
        written for a document the caller has not seen yet survives (at worst an entry is prepared again)."""
        self.refresh()
        if not self.directory.is_dir():
            return 0
        self._sweep()
        with open(self.directory / ".compact.lock", "w") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return 0
            with self._lock:
                segments = [(n, self._segments[n]) for n in self._order]
            looked = _Look(live, len(live), tuple(n for n, _ in segments))
            if looked.same_as(self._compact_looked):
                return 0  # the same live keys over the same segments: the same verdict as last time
            chosen = []
            settled = time.time() - _SETTLE_SECONDS
            young = False
            # Sorted once, searched per segment: np.isin sorted all of `live` again for every segment, 245 × ~0.7 s
            # at 1M chunks on every pass, one core busy for good in a serving process (docs/benchmarks.md).
            ordered = np.sort(live)
            for name, batch in segments:
                if _mtime(self.directory / f"{name}.npz") > settled:  # young, or removed by another process
                    young = True
                    continue
                alive = np.flatnonzero(_members(batch.keys, ordered))
                if len(alive) * 2 < len(batch.keys) or len(batch.keys) < _SEGMENT_CHUNKS // 4:
                    chosen.append((name, batch, alive))
            if len(chosen) < 2 and not any(len(a) * 2 < len(b.keys) for _, b, a in chosen):
                if not young:  # a young segment may be chosen once it has settled
                    self._compact_looked = looked
                return 0
            parts = [(b, a) for _, b, a in chosen if len(a)]
            kept = sum(len(a) for _, a in parts)
            for start in range(0, kept, _SEGMENT_CHUNKS):
                # Slices of the merged entries, _SEGMENT_CHUNKS at a time, so no segment grows without bound.
                self.write(merge(_slice(parts, start, start + _SEGMENT_CHUNKS)))
            for name, _, _ in chosen:
                for suffix in (".npz", ".vec.npy", ".txt.npy"):  # the entry file first: it makes a segment visible
                    (self.directory / f"{name}{suffix}").unlink(missing_ok=True)
            self.refresh()
            return len(chosen)

    def _sweep(self) -> None:
        """Remove what an interrupted write left: temporary files, and vectors or texts whose entry file never
        appeared (after a minute, so a write in progress is not touched)."""
        settled = time.time() - _SETTLE_SECONDS
        for path in self.directory.glob("seg-*"):
            name = path.name.split(".", 1)[0]
            orphan = ".tmp" in path.name or not (self.directory / f"{name}.npz").exists()
            if orphan and _mtime(path) < settled:
                path.unlink(missing_ok=True)


def _lookup(ordered: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each of `keys` is in `ordered` (sorted, not empty), and whether it is there at all."""
    pos = np.minimum(np.searchsorted(ordered, keys), len(ordered) - 1)
    return pos, ordered[pos] == keys


def _members(keys: np.ndarray, ordered: np.ndarray) -> np.ndarray:
    """Whether each of `keys` is in `ordered` (sorted): np.isin without sorting `ordered` again."""
    return _lookup(ordered, keys)[1] if len(ordered) else np.zeros(len(keys), dtype=bool)


def _mtime(path: Path) -> float:
    """Modification time; infinitely recent for a file another process has just removed."""
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return float("inf")


def _slice(
    parts: Sequence[tuple[SentenceBatch, np.ndarray]], start: int, end: int
) -> list[tuple[SentenceBatch, np.ndarray]]:
    """Entries start:end of the concatenated parts, as parts."""
    out, offset = [], 0
    for batch, entries in parts:
        lo, hi = max(start - offset, 0), min(end - offset, len(entries))
        if lo < hi:
            out.append((batch, entries[lo:hi]))
        offset += len(entries)
    return out


def release(*arrays: np.ndarray | None) -> None:
    """Drop the pages of memory-mapped segment arrays from this process (they stay in the OS page cache), so the
    vectors and texts a question read do not grow its resident memory."""
    for array in arrays:
        raw = getattr(array, "_mmap", None)
        if isinstance(raw, mmap.mmap):
            raw.madvise(mmap.MADV_DONTNEED)


def prepare_missing(
    store: SentenceStore,
    keys: np.ndarray,
    chunks: Callable[[list[int]], list[ChunkSource]],
    encode: Callable[[list[str]], np.ndarray],
    stop: threading.Event | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Prepare and store the entries among `keys` (entry keys) that are missing; returns how many were prepared.
    `keys`: int64; `chunks(positions)`: the stored chunks at these positions of `keys`; `encode`: the query model (in small
    calls, so a search arriving meanwhile waits for one of them, not for the pass)."""
    todo = store.missing(keys)
    done = 0
    for start in range(0, len(todo), _SEGMENT_CHUNKS):
        if stop is not None and stop.is_set():
            break
        part = todo[start : start + _SEGMENT_CHUNKS]
        store.write(prepare(chunks(part), encode))
        done += len(part)
        if progress is not None:
            progress(done, len(todo))
    return done
