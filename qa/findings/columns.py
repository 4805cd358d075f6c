"""Column types of the findings view (issue 23): arrays in parts and strings in one buffer, not one Python object
per finding and sentence.

At 1M chunks the view has ~770k sentence rows. As objects (a `Finding` with its `Span`s, labels and strings per
finding, a token tuple per row) it took ~2.7 KB per row beside the vectors; as columns it takes the bytes of its
numbers and characters. The large columns (sentence vectors, texts) may be memory-mapped from the saved view
(qa.findings.snapshot): they then cost the process only the pages a question reads, and `release` gives those back.

`Rows` keeps a column in parts so that appending (an upload) copies only the in-memory tail, never a mapped
base: at 1M chunks a copy of the vectors alone is ~0.8 GB.
"""

from __future__ import annotations

import mmap
from collections.abc import Sequence

import numpy as np

from qa.sentences import ranges


def is_mapped(array: np.ndarray) -> bool:
    return isinstance(getattr(array, "_mmap", None), mmap.mmap)


class Rows:
    """A row-aligned array (1-D or 2-D) in parts: memory-mapped parts first, then at most one in-memory tail.
    Parts are kept as plain arrays (a `np.memmap` costs ~3 µs of Python per slice) beside their mappings."""

    __slots__ = ("bounds", "maps", "parts")

    def __init__(self, parts: Sequence[np.ndarray], maps: Sequence[mmap.mmap | None] | None = None) -> None:
        if maps is None:
            maps = [getattr(p, "_mmap", None) if is_mapped(p) else None for p in parts]
        kept = [(p, m) for p, m in zip(parts, maps) if len(p)] or [(parts[0], maps[0])]
        self.parts = tuple(p.view(np.ndarray) if isinstance(p, np.memmap) else p for p, _ in kept)
        self.maps = tuple(m for _, m in kept)
        self.bounds = np.r_[0, np.cumsum([len(p) for p in self.parts])].astype(np.int64)

    @classmethod
    def empty(cls, dtype: type | np.dtype, width: int | None = None) -> Rows:
        return cls([np.zeros((0,) if width is None else (0, width), dtype=dtype)])

    def __len__(self) -> int:
        return int(self.bounds[-1])

    @property
    def dtype(self) -> np.dtype:
        return self.parts[0].dtype

    def mapped(self, part: int) -> bool:
        return self.maps[part] is not None

    def append(self, more: np.ndarray) -> Rows:
        """These rows and `more` (a new object; this one is unchanged for its readers). Copies only the tail."""
        more = more.astype(self.dtype, copy=False)
        if not len(more):
            return self
        if len(self.parts[-1]) and self.maps[-1] is None:
            return Rows([*self.parts[:-1], np.concatenate([self.parts[-1], more])], [*self.maps[:-1], None])
        return Rows([*self.parts, more], [*self.maps, None])

    def slice(self, start: int, end: int) -> np.ndarray:
        """Rows start:end, a view (they never span two parts: parts hold whole documents and whole strings)."""
        if len(self.parts) == 1:
            return self.parts[0][start:end]
        p = int(np.searchsorted(self.bounds, start, side="right")) - 1
        if start == end:
            return self.parts[0][:0]
        base = int(self.bounds[p])
        assert end <= self.bounds[p + 1], "a slice across parts"
        return self.parts[p][start - base : end - base]

    def take(self, idx: np.ndarray) -> np.ndarray:
        """Rows `idx` (any order), copied into memory."""
        if len(self.parts) == 1:
            one: np.ndarray = self.parts[0][idx]
            return one
        out = np.empty((len(idx), *self.parts[0].shape[1:]), dtype=self.dtype)
        which = np.searchsorted(self.bounds, idx, side="right") - 1
        for p, part in enumerate(self.parts):
            sel = np.flatnonzero(which == p)
            if len(sel):
                out[sel] = part[idx[sel] - self.bounds[p]]
        return out

    def release(self) -> None:
        """Give the pages of mapped parts that reads touched back to the OS (they stay in its page cache)."""
        for m in self.maps:
            if m is not None:
                m.madvise(mmap.MADV_DONTNEED)


class Texts:
    """Strings as one UTF-16 code-unit buffer (2 bytes a Chinese character; UTF-8 needs 3) and end offsets."""

    __slots__ = ("data", "ends")

    def __init__(self, data: Rows, ends: np.ndarray) -> None:
        self.data = data
        self.ends = ends

    @classmethod
    def of(cls, strings: Sequence[str]) -> Texts:
        encoded = [s.encode("utf-16-le") for s in strings]
        ends = np.cumsum(np.fromiter((len(b) // 2 for b in encoded), dtype=np.int64, count=len(encoded)))
        data = np.frombuffer(b"".join(encoded), dtype=np.uint16).copy()
        return cls(Rows([data]), ends.astype(np.int64))

    @classmethod
    def empty(cls) -> Texts:
        return cls(Rows.empty(np.uint16), np.zeros(0, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.ends)

    def __getitem__(self, i: int) -> str:
        start = int(self.ends[i - 1]) if i else 0
        return self.data.slice(start, int(self.ends[i])).tobytes().decode("utf-16-le")

    def many(self, idx: np.ndarray) -> list[str]:
        """Strings `idx`, in that order: one gather and one copy for all of them (an aggregate answer at 100k
        chunks cites ~4,000 sentences with four strings each: one at a time that was 0.16 s)."""
        if not len(idx):
            return []
        ptr = np.r_[0, self.ends]
        units = self.data.take(ranges(ptr, idx))
        cut = np.r_[0, np.cumsum(ptr[idx + 1] - ptr[idx])].tolist()
        if not ((units >= 0xD800) & (units <= 0xDFFF)).any():
            # No surrogate pair: one code unit per character, so one decode and str slices (3x faster).
            whole = units.tobytes().decode("utf-16-le")
            return [whole[a:b] for a, b in zip(cut[:-1], cut[1:])]
        buf = units.tobytes()
        return [buf[2 * a : 2 * b].decode("utf-16-le") for a, b in zip(cut[:-1], cut[1:])]

    @staticmethod
    def concat(parts: Sequence[Texts]) -> Texts:
        """The strings of `parts` in order, in one pass: the first's mapped parts are kept, everything else is
        copied once into one in-memory tail."""
        first = parts[0].data
        mapped = [i for i in range(len(first.parts)) if first.mapped(i)]
        keep = len(mapped) if mapped == list(range(len(mapped))) else 0
        tail = [first.parts[i] for i in range(keep, len(first.parts))]
        tail += [p for t in parts[1:] for p in t.data.parts]
        data = Rows(
            [*first.parts[:keep], np.concatenate(tail).astype(np.uint16, copy=False)],
            [*first.maps[:keep], None],
        )
        offsets = np.cumsum([0] + [len(t.data) for t in parts[:-1]])
        return Texts(data, np.concatenate([t.ends + o for t, o in zip(parts, offsets.tolist())]).astype(np.int64))

    def take(self, idx: np.ndarray) -> Texts:
        """Strings `idx` in that order, in memory."""
        ptr = np.r_[0, self.ends]
        return Texts(Rows([self.data.take(ranges(ptr, idx))]), np.cumsum(ptr[idx + 1] - ptr[idx]).astype(np.int64))

    def release(self) -> None:
        self.data.release()


def take_csr(ptr: np.ndarray, *values: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, ...]:
    """Entries `idx` of a CSR column (ptr and its value arrays), in that order: the new ptr, then the values."""
    flat = ranges(ptr, idx)
    return (np.r_[0, np.cumsum(ptr[idx + 1] - ptr[idx])].astype(np.int64), *(v[flat] for v in values))
