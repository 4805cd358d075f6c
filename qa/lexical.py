"""Lexical side: jieba tokens (search mode, fiscal user dictionary) scored by BM25 (bm25s), plus a phrase bonus:
adjacent word pairs of the text in a second BM25 index, so a chunk that has a query's words next to each other
("专账 核算") ranks above one that has them apart (issue 19; measured in docs/evaluation.md).

The index is derived from Chroma: built from the committed chunks, saved under the data dir together with
the store generation it was built from, and brought up to date when that generation no longer matches. An update
costs what changed (issue 23): the big *base* segment stays as built, the rows of added or relabelled documents go
to a small *delta* segment, rows of removed or relabelled documents become tombstones, and a background merge
folds the delta into a new base. Queries score base and delta with the statistics of the live rows (row count,
document frequencies, mean length), computing bm25s's formula at query time, so every score equals the one a full
build of the same rows gives, bit for bit (and the one bm25s itself gave before: float32 values, same arithmetic).

>>> tokenize("项目资金未实行专账核算。")
['项目', '资金', '未', '实行', '核算', '专账核算']
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
import shutil
import struct
import time
import uuid
import zipfile
from array import array
from collections.abc import Callable, Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import jieba
import jieba.posseg
import numpy as np

jieba.setLogLevel(logging.WARNING)
_TERMS = Path(__file__).parent / "resources" / "fiscal_terms.txt"
# Function words and question words carry no evidence; punctuation and spaces are never tokens.
_STOP = frozenset(
    "的 了 是 和 与 及 或 在 对 为 等 中 其 之 有 无 被 把 将 也 都 而 并 就 从 以 于 由 哪些 哪个 什么 多少 怎么 如何 是否 吗 呢 请问 一下".split()
)
_NOT_WORD = re.compile(r"^[\W_]+$")


@lru_cache(maxsize=1)
def _tokenizer() -> jieba.Tokenizer:
    tok = jieba.Tokenizer()
    tok.load_userdict(str(_TERMS))
    return tok


def tokenize(text: str) -> list[str]:
    return [
        t.lower() for t in _tokenizer().lcut_for_search(text) if t.strip() and t not in _STOP and not _NOT_WORD.match(t)
    ]


@lru_cache(maxsize=1)
def _tagger() -> jieba.posseg.POSTokenizer:
    return jieba.posseg.POSTokenizer(_tokenizer())


# Common nouns, verbal nouns, other proper nouns and Latin words: what a question asks about. Place and person names
# are left to the scope checks; verbs and function words are how a question is worded.
_NOUN_TAGS = frozenset({"n", "vn", "nz", "eng"})


_COUNT_LEAD = re.compile(r"(?:了|过)?(?:一共|总共|共|累计)?$")


def verb_before(text: str, at: int) -> str | None:
    """The word of two or more characters a count at `at` is asked by: a verb, or whatever was done before 了 / 过
    ("集中学习了几次", "新引进了多少个"; none in "有几个"), as jieba tags the text before it.

    >>> verb_before("组织党员干部集中学习了几次？", 11), verb_before("新引进了多少个项目？", 4), verb_before("有几个人？", 1)
    ('集中学习', '引进', None)
    """
    lead = text[:at]
    m = _COUNT_LEAD.search(lead)
    assert m is not None  # it matches the empty string at worst
    words = _tagger().lcut(lead[: m.start()])
    last = words[-1] if words else None
    if last is None or len(last.word) < 2:
        return None
    # Before 了 / 过 it is what was done, however jieba tags it ("集中学习" is a noun in its dictionary). A verb
    # relating the count to its whole (共涉及多少个项目, 包括几个) says nothing a report's count repeats.
    done = m.group(0).startswith(("了", "过"))
    if last.word in _RELATING or not (last.flag in ("v", "vn") or (done and last.flag[0] not in "mqr")):
        return None
    return str(last.word)


_RELATING = frozenset("涉及 包括 包含 涵盖 达到 共计 合计 总计 累计 计有 拥有 有关".split())


def nouns(text: str) -> list[str]:
    """The nouns of a text, in order (jieba's part-of-speech tags with the fiscal user dictionary).

    >>> nouns("芙蓉区商务局2021年有没有发生安全生产事故？")
    ['生产', '事故']
    """
    return [p.word for p in _tagger().lcut(text) if p.flag in _NOUN_TAGS]


def opens_with_noun(text: str) -> bool:
    """Whether the text's first word is a noun (as `nouns` reads them): "公用经费占多少" names what it asks about,
    "同比增长了多少" and "占比多少" only ask something more about what was named before.

    >>> opens_with_noun("公用经费占基本支出的比例是多少？"), opens_with_noun("同比增长了多少？")
    (True, False)
    """
    first = next(iter(_tagger().lcut(text)), None)
    return first is not None and first.flag in _NOUN_TAGS


def words(text: str) -> list[str]:
    """jieba's plain segmentation (each character of the text in exactly one word, punctuation included)."""
    out: list[str] = _tokenizer().lcut(text)  # jieba is untyped; lcut returns a list of str
    return out


PAIR = "\x1f"  # prefix of a word-pair token; never part of a token (control characters are no words)
# Function words do not make a phrase: "预算 的 编制" pairs nothing.
_PAIR_STOP = frozenset("的 了 是 和 与 及 或 在 对 为 等 中 其 之 有 无 被 把 将 也 都 而 并 就 从 以 于 由".split())


def _pairs_of(plain: list[str]) -> list[str]:
    ws = [w.lower() for w in plain]
    return [
        f"{PAIR}{a} {b}"
        for a, b in zip(ws, ws[1:])
        if a not in _PAIR_STOP
        and b not in _PAIR_STOP
        and not _NOT_WORD.match(a)
        and not _NOT_WORD.match(b)
        and a.strip()
        and b.strip()
    ]


def pairs(text: str) -> list[str]:
    """Adjacent content words of the text as pair tokens (punctuation and function words break a pair).

    >>> [p[1:] for p in pairs("项目资金未实行专账核算。")]
    ['项目 资金', '资金 未', '未 实行', '实行 专账核算']
    """
    return _pairs_of(words(text))


def analyze(text: str) -> list[str]:
    """What the index keeps of a text, from one jieba pass: `tokenize(text)` followed by `pairs(text)` (cut_for_search
    is the plain cut plus the dictionary's 2- and 3-grams of long words, so both come from the same cut)."""
    tok = _tokenizer()
    plain = tok.lcut(text)
    search: list[str] = []
    for w in plain:
        if len(w) > 2:
            search += [w[i : i + 2] for i in range(len(w) - 1) if tok.FREQ.get(w[i : i + 2])]
        if len(w) > 3:
            search += [w[i : i + 3] for i in range(len(w) - 2) if tok.FREQ.get(w[i : i + 3])]
        search.append(w)
    return [t.lower() for t in search if t.strip() and t not in _STOP and not _NOT_WORD.match(t)] + _pairs_of(plain)


def split_pairs(tokens: list[str]) -> tuple[list[str], list[str]]:
    """An `analyze` list as (word tokens, pair tokens)."""
    cut = next((n for n, t in enumerate(tokens) if t.startswith(PAIR)), len(tokens))
    return tokens[:cut], tokens[cut:]


def _tokenizer_fingerprint() -> str:
    """Changes whenever tokenize() may: the user dictionary, the stop words, jieba's version, this recipe."""
    h = hashlib.sha256(_TERMS.read_bytes())
    h.update(" ".join(sorted(_STOP)).encode("utf-8"))
    h.update(" ".join(sorted(_PAIR_STOP)).encode("utf-8"))
    h.update(f"jieba {jieba.__version__}; recipe 2 (analyze: tokens and pairs)".encode())
    return h.hexdigest()[:16]


def _text_key(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little", signed=True)


class TokenCache:
    """The tokens of every text the last build indexed, keyed by a hash of the text, saved with the index.

    Tokenising is nearly all of a full build (jieba: ~3 ms per chunk, ~5 min at 100k chunks). With the cache a
    build (a damaged index, a lost one) tokenises only texts it has not seen. It is written with every new base
    from a full build and left alone by updates and merges (a text it lacks is only tokenised again). Tokens are
    kept as ids into a vocabulary (one int32 per token) and written as one .npz.
    """

    FILE = "tokens.npz"

    def __init__(
        self,
        old: dict[int, tuple[int, int]] | None = None,
        vocab: list[str] | None = None,
        flat: np.ndarray | None = None,
    ) -> None:
        self._old = old or {}
        self._old_vocab = vocab or []
        self._old_flat = flat if flat is not None else np.zeros(0, dtype=np.int32)
        self._ids: dict[str, int] = {}
        self._keys: list[int] = []
        self._ends = array("q")
        self._flat = array("i")
        self.tokenized = 0  # texts this build had to tokenise (the rest came from the cache)

    def tokens(self, text: str) -> list[str]:
        key = _text_key(text)
        return self._record(key, self._cached(key) if key in self._old else self._tokenize(text))

    def known(self, key: int) -> list[str]:
        """The tokens of a text the previous build indexed, by its key (LexicalIndex.keys); KeyError if none."""
        return self._record(key, self._cached(key))

    def _tokenize(self, text: str) -> list[str]:
        self.tokenized += 1
        return analyze(text)

    def _cached(self, key: int) -> list[str]:
        start, end = self._old[key]
        return [self._old_vocab[i] for i in self._old_flat[start:end]]

    def _record(self, key: int, toks: list[str]) -> list[str]:
        self._keys.append(key)
        self._flat.extend(self._ids.setdefault(t, len(self._ids)) for t in toks)
        self._ends.append(len(self._flat))
        return toks

    def save(self, directory: Path) -> None:
        tmp = directory / (self.FILE + ".tmp")
        with tmp.open("wb") as out:  # np.savez to a handle: it would add ".npz" to a name
            np.savez(
                out,
                fingerprint=np.array(_tokenizer_fingerprint()),
                vocab=np.array(list(self._ids), dtype=str),
                keys=np.array(self._keys, dtype=np.int64),
                ends=np.frombuffer(self._ends, dtype=np.int64),
                flat=np.frombuffer(self._flat, dtype=np.int32),
            )
        os.replace(tmp, directory / self.FILE)

    @classmethod
    def load(cls, directory: Path) -> TokenCache:
        """The cache saved with the last index; empty when missing, damaged or made by another tokenizer."""
        try:
            with np.load(directory / cls.FILE, allow_pickle=False) as f:
                if str(f["fingerprint"]) != _tokenizer_fingerprint():
                    return cls()
                ends = f["ends"].tolist()
                starts = [0, *ends[:-1]]
                return cls(dict(zip(f["keys"].tolist(), zip(starts, ends))), f["vocab"].tolist(), f["flat"])
        except Exception:  # the cache only saves time: anything wrong with it means tokenising again
            return cls()


# bm25s's defaults ("lucene": Lucene idf, k1, b), which the index used before it kept its own postings.
K1 = 1.5
B = 0.75
WORDS, PAIRS = 0, 1  # the two fields of a segment: word tokens and word-pair tokens
# Computed query columns kept per index: those of at least this many postings (shorter ones cost less to compute
# than to keep), up to this many postings in all (12 bytes each: row and float32 score).
_CACHED_POSTINGS = 512
_COLUMN_CACHE = 4_000_000


def _idf(n: int, df: int) -> float:
    """Lucene's idf, as bm25s computes it (math.log of the same expression)."""
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


@dataclass(frozen=True)
class _Field:
    """One field of one segment as postings: per token, the segment's rows containing it (ascending) and how often;
    per row, its length in tokens. What a bm25s index held too, minus the scores: those depend on the statistics of
    every live row, so they are computed at query time."""

    vocab: dict[str, int]
    indptr: np.ndarray  # int64, len(vocab) + 1: token t's postings are rows[indptr[t]:indptr[t + 1]]
    rows: np.ndarray  # int32, local row numbers
    tf: np.ndarray  # float32, the token's count in that row (bm25s's tf dtype)
    dl: np.ndarray  # int64 per local row

    @classmethod
    def of(cls, docs: list[list[str]]) -> _Field:
        vocab: dict[str, int] = {}
        flat = np.fromiter((vocab.setdefault(t, len(vocab)) for d in docs for t in d), dtype=np.int64)
        dl = np.fromiter((len(d) for d in docs), dtype=np.int64, count=len(docs))
        width = max(len(docs), 1)
        # One key per (token, row): sorting them orders the postings by token, then row, and counts give tf.
        pairs_, tf = np.unique(flat * width + np.repeat(np.arange(len(docs), dtype=np.int64), dl), return_counts=True)
        return cls.from_coo(vocab, pairs_ // width, pairs_ % width, tf.astype(np.float32), dl)

    @classmethod
    def from_coo(
        cls, vocab: dict[str, int], tok: np.ndarray, row: np.ndarray, tf: np.ndarray, dl: np.ndarray
    ) -> _Field:
        """Postings from (token id, row, tf) triples, each (token, row) at most once; tokens without postings are
        dropped from the vocabulary."""
        order = np.argsort(tok * max(len(dl), 1) + row, kind="stable")
        counts = np.bincount(tok, minlength=len(vocab))
        used = counts > 0
        kept = [t for t, u in zip(vocab, used.tolist(), strict=True) if u]
        indptr = np.concatenate([[0], np.cumsum(counts[used])]).astype(np.int64)
        return cls({t: i for i, t in enumerate(kept)}, indptr, row[order].astype(np.int32), tf[order], dl)

    @classmethod
    def concat(cls, parts: list[tuple[_Field, np.ndarray]], n_rows: int) -> _Field:
        """The postings of several fields as one, each part's local row r becoming row `to[r]` (-1: dropped)."""
        vocab: dict[str, int] = {}
        toks, rows, tfs = [], [], []
        dl = np.zeros(n_rows, dtype=np.int64)
        for part, to in parts:
            ids = np.fromiter((vocab.setdefault(t, len(vocab)) for t in part.vocab), np.int64, len(part.vocab))
            row = to[part.rows]
            keep = row >= 0
            toks.append(np.repeat(ids, np.diff(part.indptr))[keep])
            rows.append(row[keep])
            tfs.append(part.tf[keep])
            live = to >= 0
            dl[to[live]] = part.dl[live]
        return cls.from_coo(vocab, np.concatenate(toks), np.concatenate(rows), np.concatenate(tfs), dl)

    def postings(self, token: str) -> tuple[np.ndarray, np.ndarray] | None:
        tid = self.vocab.get(token)
        if tid is None:
            return None
        start, end = self.indptr[tid], self.indptr[tid + 1]
        return self.rows[start:end], self.tf[start:end]

    def save(self, path: Path) -> None:
        with path.open("wb") as out:
            np.savez(
                out,
                vocab=np.array(list(self.vocab), dtype=str),
                indptr=self.indptr,
                rows=self.rows,
                tf=self.tf,
                dl=self.dl,
            )

    @classmethod
    def load(cls, path: Path) -> _Field:
        """The postings saved at `path`, their two large arrays (rows, tf: 8 bytes a posting, ~0.7 GB at 1M chunks)
        memory-mapped where the file stores them: a query reads a few tokens' postings, so only those pages become
        resident, and replicas on one host share them through the page cache."""
        with np.load(path, allow_pickle=False) as f:
            vocab = f["vocab"].tolist()
            indptr, dl = f["indptr"], f["dl"]
            at_rows, at_tf = _member(path, "rows"), _member(path, "tf")
            if at_rows is None or at_tf is None:  # not stored as a plain member: read it
                rows, tf = f["rows"], f["tf"]
                low, high = (int(rows.min()), int(rows.max())) if len(rows) else (0, 0)
            else:  # checked through a plain read, which leaves the mapping's pages alone
                rows, tf = _mapped(path, at_rows), _mapped(path, at_tf)
                low, high = _bounds(path, at_rows)
        n_post = len(rows)
        if (
            len(indptr) != len(vocab) + 1
            or int(indptr[-1]) != n_post
            or len(tf) != n_post
            or (n_post and not 0 <= low <= high < len(dl))
        ):
            raise ValueError(f"inconsistent postings in {path}")
        return cls({t: i for i, t in enumerate(vocab)}, indptr, rows, tf, dl)


_Member = tuple[int, np.dtype[Any], tuple[int, ...]]  # an array inside a file: offset, dtype, shape


def _member(path: Path, name: str) -> _Member | None:
    """Where the array `name` of the .npz at `path` starts in the file, its dtype and shape; None when it is
    compressed or not a plain C-order array (`np.savez` stores its members uncompressed)."""
    with zipfile.ZipFile(path) as z:
        info = z.getinfo(f"{name}.npy")
    if info.compress_type != zipfile.ZIP_STORED:
        return None
    with path.open("rb") as fh:
        fh.seek(info.header_offset)
        local = fh.read(30)
        if local[:4] != b"PK\x03\x04":
            return None
        n_name, n_extra = struct.unpack("<HH", local[26:30])
        fh.seek(info.header_offset + 30 + n_name + n_extra)
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
        else:
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
        if fortran or dtype.hasobject:
            return None
        return fh.tell(), dtype, shape


def _mapped(path: Path, member: _Member) -> np.ndarray:
    """The member, memory-mapped read-only (an empty one cannot be mapped: it is made)."""
    offset, dtype, shape = member
    if not math.prod(shape):
        return np.zeros(shape, dtype=dtype)
    return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape)


def _bounds(path: Path, member: _Member, block: int = 1 << 22) -> tuple[int, int]:
    """(min, max) of a member, read from the file in blocks rather than through a mapping; (0, 0) when empty."""
    offset, dtype, shape = member
    n, low, high = math.prod(shape), math.inf, -math.inf
    with path.open("rb") as fh:
        fh.seek(offset)
        while n > 0:
            part = np.frombuffer(fh.read(min(n, block) * dtype.itemsize), dtype=dtype)
            if not len(part):
                raise ValueError(f"{path} is truncated")
            low, high = min(low, int(part.min())), max(high, int(part.max()))
            n -= len(part)
    return (int(low), int(high)) if n == 0 and low <= high else (0, 0)


@dataclass(frozen=True)
class _Rows:
    """Per row: chunk id, doc_id, section_role, text key (object arrays, int64 keys), in chunk id order."""

    ids: np.ndarray
    doc_ids: np.ndarray
    roles: np.ndarray
    keys: np.ndarray

    @classmethod
    def of(cls, ids: list[str], doc_ids: list[str], roles: list[str], keys: list[int] | np.ndarray) -> _Rows:
        def obj(values: list[str]) -> np.ndarray:
            out = np.empty(len(values), dtype=object)
            out[:] = values
            return out

        return cls(obj(ids), obj(doc_ids), obj(roles), np.asarray(keys, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.ids)

    def take(self, rows: np.ndarray) -> _Rows:
        return _Rows(self.ids[rows], self.doc_ids[rows], self.roles[rows], self.keys[rows])

    def interleave(self, new: _Rows) -> tuple[_Rows, np.ndarray, np.ndarray]:
        """These rows and `new` ones (both in chunk id order, no id in both) as one list in chunk id order, with
        where each of these and each new row went. O(new · log n) comparisons, the rest numpy copies."""
        at = np.searchsorted(self.ids, new.ids).astype(np.int64) + np.arange(len(new), dtype=np.int64)
        is_new = np.zeros(len(self) + len(new), dtype=bool)
        is_new[at] = True
        old_at = np.flatnonzero(~is_new)

        def put(old: np.ndarray, added: np.ndarray) -> np.ndarray:
            out = np.empty(len(is_new), dtype=old.dtype)
            out[old_at] = old
            out[at] = added
            return out

        merged = _Rows(*(put(a, b) for a, b in zip(self.astuple(), new.astuple(), strict=True)))
        return merged, old_at, at

    def astuple(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        return self.ids, self.doc_ids, self.roles, self.keys

    def save(self, directory: Path) -> None:
        meta = {"ids": self.ids.tolist(), "doc_ids": self.doc_ids.tolist(), "roles": self.roles.tolist()}
        (directory / "rows.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        np.save(directory / "keys.npy", self.keys)

    @classmethod
    def load(cls, directory: Path) -> _Rows:
        meta = json.loads((directory / "rows.json").read_text(encoding="utf-8"))
        rows = cls.of(meta["ids"], meta["doc_ids"], meta["roles"], np.load(directory / "keys.npy"))
        if not len(rows.doc_ids) == len(rows.roles) == len(rows.keys) == len(rows):
            raise ValueError(f"inconsistent rows in {directory}")
        return rows


@dataclass(frozen=True)
class _Segment:
    """Postings of some rows (words, pairs), local rows in chunk id order; `pos`: each local row's row in the
    index it belongs to (that index's row count for a deleted row: a tombstone). `stored`: where it is saved
    (directory → segment directory name), so that an update can leave a saved base alone."""

    fields: tuple[_Field, _Field]
    pos: np.ndarray
    stored: dict[str, str] = field(default_factory=dict, compare=False)

    def __len__(self) -> int:
        return len(self.pos)

    def moved(self, pos: np.ndarray) -> _Segment:
        """The same postings (shared, not copied) at other rows of another index."""
        return _Segment(self.fields, pos, self.stored)

    @staticmethod
    def concat(parts: list[tuple[_Segment, np.ndarray]], n: int) -> _Segment:
        """Several segments' live rows (`pos` per part: rows in an index of n rows, n for dropped) as one."""
        live = [pos[pos < n] for _, pos in parts]
        out_pos = np.sort(np.concatenate(live)) if live else np.zeros(0, dtype=np.int64)
        maps = []
        for _, pos in parts:
            to = np.full(len(pos), -1, dtype=np.int64)
            alive = pos < n
            to[alive] = np.searchsorted(out_pos, pos[alive])
            maps.append(to)
        fields = tuple(
            _Field.concat([(seg.fields[f], to) for (seg, _), to in zip(parts, maps, strict=True)], len(out_pos))
            for f in (WORDS, PAIRS)
        )
        return _Segment((fields[0], fields[1]), out_pos.astype(np.int64))

    def save(self, directory: Path, rows: _Rows) -> None:
        for f, name in ((WORDS, "words.npz"), (PAIRS, "pairs.npz")):
            self.fields[f].save(directory / name)
        rows.save(directory)

    @staticmethod
    def load(directory: Path) -> tuple[tuple[_Field, _Field], _Rows]:
        fields = (_Field.load(directory / "words.npz"), _Field.load(directory / "pairs.npz"))
        rows = _Rows.load(directory)
        if not len(fields[WORDS].dl) == len(fields[PAIRS].dl) == len(rows):
            raise ValueError(f"segment {directory} does not match its rows")
        return fields, rows


CURRENT = "CURRENT.json"  # names the saved base and delta; replacing it is what commits a save
_FORMAT = 2
_OLD_FORMAT = ("rows.json", "keys.npy", "bm25", "pairs")  # what an index of format 1 (one bm25s index) left
_ORPHAN_AGE_S = 3600.0  # a side directory this old is a crashed save's, not one another thread is still writing


class LexicalIndex:
    """BM25 over chunk index-texts, and over their word pairs; row i belongs to chunk ids[i] of document doc_ids[i].

    Rows are the live rows in chunk id order whatever segments hold them, so an updated index and a full build of
    the same rows have the same rows, the same scores and the same order among equal scores."""

    def __init__(
        self, rows: _Rows, segments: tuple[_Segment, ...], generation: str, versions: dict[str, str] | None = None
    ) -> None:
        self._rows = rows
        self._segments = segments
        self.ids: list[str] = rows.ids.tolist()
        self.doc_ids = rows.doc_ids
        self.roles = rows.roles
        self.keys: np.ndarray | None = rows.keys  # per row, its indexed text's key (TokenCache, qa.sentences)
        self.generation = generation
        # Per document, the version of what its rows take from its record (qa.retrieve.index_version); empty when
        # not known: such rows are taken as current.
        self.versions = versions or {}
        n = len(rows)
        self._alive = [seg.pos < n for seg in segments]
        self._whole = [bool(alive.all()) for alive in self._alive]  # segments without tombstones
        # Segments whose local rows are this index's rows 0..len-1 (a base without delta or tombstones).
        self._identity = {s for s, seg in enumerate(segments) if len(seg) == n and self._whole[s]}
        lengths = [self._live_length(f) for f in (WORDS, PAIRS)]
        # Mean tokens per live row, as BM25 normalises lengths by (None: no rows). int / int: the same double as
        # bm25s's np.mean of the lengths.
        self.avgdl: float | None = lengths[WORDS] / n if n else None
        self.pair_avgdl: float | None = lengths[PAIRS] / n if n else None
        self._norm = [tuple(self._norm_of(seg, f) for f in (WORDS, PAIRS)) for seg in segments]
        self._df_cache: tuple[dict[str, int], dict[str, int]] = ({}, {})
        self._columns: dict[tuple[int, int, str], tuple[np.ndarray, np.ndarray]] = {}
        self._cached = 0  # postings held in _columns
        self._row_of: dict[str, int] | None = None
        self._doc_codes: tuple[np.ndarray, list[str]] | None = None
        self._docs: set[str] | None = None
        self._saved_at: dict[str, str] = {}  # directory → the delta directory this index saved there

    def _live_length(self, f: int) -> int:
        return sum(int(seg.fields[f].dl[alive].sum()) for seg, alive in zip(self._segments, self._alive, strict=True))

    def _norm_of(self, seg: _Segment, f: int) -> np.ndarray:
        """Per local row, BM25's length normalisation k1·(1 − b + b·dl/avgdl), in bm25s's order of operations."""
        avgdl = self.avgdl if f == WORDS else self.pair_avgdl
        if not avgdl:  # no tokens in this field at all: nothing is ever scored with it
            return np.zeros(len(seg), dtype=np.float64)
        return K1 * ((1 - B) + B * seg.fields[f].dl.astype(np.float64) / avgdl)

    # --- building and updating ----------------------------------------------------------------------

    @classmethod
    def build(
        cls, rows: Iterable[tuple[str, str, str, str]], generation: str, tokens: Callable[[str], list[str]] = analyze
    ) -> LexicalIndex:
        """rows: (chunk id, doc_id, section_role, text to index); `tokens`: analyze, or a TokenCache's."""
        segment, rows_ = cls._segment_of(rows, tokens)
        return cls(rows_, (segment,), generation)

    @staticmethod
    def _segment_of(
        rows: Iterable[tuple[str, str, str, str]], tokens: Callable[[str], list[str]]
    ) -> tuple[_Segment, _Rows]:
        """One segment of the rows, in chunk id order (so the same rows give the same index however read)."""
        ordered = sorted(rows, key=lambda r: r[0])
        analysed = [split_pairs(tokens(r[3])) for r in ordered]
        fields = (_Field.of([w for w, _ in analysed]), _Field.of([p for _, p in analysed]))
        rows_ = _Rows.of(
            [r[0] for r in ordered],
            [r[1] for r in ordered],
            [r[2] for r in ordered],
            [_text_key(r[3]) for r in ordered],
        )
        return _Segment(fields, np.arange(len(ordered), dtype=np.int64)), rows_

    def updated(
        self,
        committed: AbstractSet[str],
        generation: str,
        added_rows: Callable[[list[str]], Iterable[tuple[str, str, str, str]]],
        *,
        stale: AbstractSet[str] = frozenset(),
        tokens: Callable[[str], list[str]] = analyze,
    ) -> LexicalIndex:
        """This index after documents were added, removed or relabelled (`stale`: committed documents whose rows
        changed, a metadata edit). Reads only the added and stale documents' rows (`added_rows(doc_ids)`, rows as
        for `build`), and costs what changed: their rows become the new delta segment (with the old delta's live
        rows), the removed and stale rows tombstones; the base's postings are shared, not rebuilt."""
        known = self._doc_set()
        gone = (known - committed) | (stale & known)
        added = sorted((committed - known) | (stale & committed))
        if not gone and not added:
            return LexicalIndex(self._rows, self._segments, generation, dict(self.versions))
        n = len(self)
        keep = ~np.fromiter((d in gone for d in self.doc_ids), dtype=bool, count=n) if gone else np.ones(n, dtype=bool)
        fresh, fresh_rows = self._segment_of(added_rows(added) if added else [], tokens)
        rows, kept_at, new_at = self._rows.take(np.flatnonzero(keep)).interleave(fresh_rows)
        # Old row → new row (the extra last slot: tombstones stay tombstones).
        to = np.full(n + 1, len(rows), dtype=np.int64)
        to[np.flatnonzero(keep)] = kept_at
        moved = [seg.moved(to[seg.pos]) for seg in self._segments]
        delta = _Segment.concat([(seg, seg.pos) for seg in moved[1:]] + [(fresh, new_at)], len(rows))
        index = LexicalIndex(rows, (moved[0], delta), generation, dict(self.versions))
        index._docs = (known - gone) | set(added)  # the next update needs it: not a pass over every row again
        return index

    def merged(self) -> LexicalIndex:
        """The same rows and scores in one segment, tombstones dropped (what the background merge writes)."""
        base = _Segment.concat([(seg, seg.pos) for seg in self._segments], len(self))
        return LexicalIndex(self._rows, (base,), self.generation, dict(self.versions))

    @property
    def unmerged(self) -> int:
        """Rows in the delta plus tombstones in the base: the share of this that is over a merge's threshold."""
        return sum(len(seg) for seg in self._segments[1:]) + len(self._segments[0]) - int(self._alive[0].sum())

    def _doc_set(self) -> set[str]:
        if self._docs is None:
            self._docs = set(self.doc_ids.tolist())
        return self._docs

    # --- statistics and scores ------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._rows)

    def _df(self, f: int, token: str) -> int:
        """Live rows whose field f contains the token (postings on tombstones do not count)."""
        cache = self._df_cache[f]
        df = cache.get(token)
        if df is None:
            df = 0
            for seg, alive, whole in zip(self._segments, self._alive, self._whole, strict=True):
                hit = seg.fields[f].postings(token)
                if hit is not None:
                    df += len(hit[0]) if whole else int(np.count_nonzero(alive[hit[0]]))
            cache[token] = df
        return df

    def df(self, token: str) -> int:
        """How many indexed chunks contain the token."""
        return self._df(WORDS, token)

    def idf(self, token: str) -> float:
        """BM25's idf of a token over the indexed chunks; a token never seen counts as rare."""
        if not len(self):
            return 0.0
        df = self.df(token)
        return float(np.log(1 + (len(self) - df + 0.5) / (df + 0.5)))

    def _field_scores(self, f: int, query: list[str]) -> np.ndarray | None:
        """bm25s's get_scores over the live rows of every segment, bit for bit: per posting
        float32(float32 idf · tf/(norm + tf)) in float64, summed in float32 in query token order (a repeated query
        token counts again); None when no query token is in a live row."""
        n = len(self)
        scores: np.ndarray | None = None
        for token in query:
            if not self._df(f, token):
                continue
            if scores is None:
                scores = np.zeros(n + 1, dtype=np.float32)  # the extra last slot collects the tombstones' scores
            for s in range(len(self._segments)):
                column = self._column(s, f, token)
                if column is not None:
                    np.add.at(scores, column[0], column[1])
        return None if scores is None else scores[:n]

    def _column(self, s: int, f: int, token: str) -> tuple[np.ndarray, np.ndarray] | None:
        """Segment s's postings of a token as (rows of this index, float32 BM25 contributions). Long ones are
        kept for the life of this index (its statistics never change): what bm25s stored for every token up
        front, here only for the tokens queries use, so a frequent token costs a lookup, not the arithmetic."""
        key = (s, f, token)
        column = self._columns.get(key)
        if column is not None:
            return column
        hit = self._segments[s].fields[f].postings(token)
        if hit is None:
            return None
        rows, tf = hit
        idf = np.float32(_idf(len(self), self._df(f, token)))
        values = (idf * (tf / (self._norm[s][f].take(rows) + tf))).astype(np.float32)
        column = (rows if s in self._identity else self._segments[s].pos.take(rows), values)
        if len(rows) >= _CACHED_POSTINGS and self._cached + len(rows) <= _COLUMN_CACHE:
            self._columns[key] = column
            self._cached += len(rows)
        return column

    def _bm25_of(self, f: int, query: list[str], tokens: list[str]) -> float:
        """The same formula for one text outside the index, in float64."""
        n = len(self)
        avgdl = self.avgdl if f == WORDS else self.pair_avgdl
        assert avgdl
        norm = K1 * (1 - B + B * len(tokens) / avgdl)
        counts: dict[str, int] = {}
        for t in tokens:
            counts[t] = counts.get(t, 0) + 1
        total = 0.0
        for t in query:
            df = self._df(f, t)
            if df and t in counts:
                total += float(np.log(1 + (n - df + 0.5) / (df + 0.5))) * counts[t] / (counts[t] + norm)
        return total

    def score_text(self, query: str, text: str, phrase_weight: float) -> float:
        """The score `search` would give a text that is not indexed, with this index's statistics: what it would
        score if it replaced a row (self-tuning scores a chunk with its pseudo-query cut out of it)."""
        if not len(self) or not self.avgdl:
            return 0.0
        words_, pairs_ = split_pairs(analyze(text))
        score = self._bm25_of(WORDS, tokenize(query), words_)
        if phrase_weight and self.pair_avgdl:
            score += phrase_weight * self._bm25_of(PAIRS, pairs(query), pairs_)
        return score

    def scores(self, query: str, mask: np.ndarray | None = None, phrase_weight: float = 0.0) -> np.ndarray | None:
        """BM25 score of every row (0 where masked out), or None when no query token is indexed; `phrase_weight`:
        plus that share of the rows' word-pair BM25 (what `search` ranks by)."""
        scores = self._field_scores(WORDS, tokenize(query))
        if scores is None:
            return None
        if phrase_weight:
            pair_scores = self._field_scores(PAIRS, pairs(query))
            if pair_scores is not None:
                scores = scores + phrase_weight * pair_scores
        return scores if mask is None else np.where(mask, scores, 0.0)

    def rows_of(self, ids: Iterable[str]) -> np.ndarray:
        """The row of each chunk id; -1 for an id not indexed."""
        if self._row_of is None:
            self._row_of = {chunk_id: i for i, chunk_id in enumerate(self.ids)}
        return np.array([self._row_of.get(i, -1) for i in ids], dtype=np.int64)

    def doc_codes(self) -> np.ndarray:
        """Row → small integer per document (for grouping rows by document with numpy): the position of the row's
        document in `doc_names`."""
        return self._doc_index()[0]

    def doc_names(self) -> list[str]:
        """The indexed documents' ids, sorted: what `doc_codes` number."""
        return self._doc_index()[1]

    def _doc_index(self) -> tuple[np.ndarray, list[str]]:
        if self._doc_codes is None:
            if len(self.ids):
                names, codes = np.unique(self.doc_ids.astype(str), return_inverse=True)
                self._doc_codes = (codes, names.tolist())
            else:
                self._doc_codes = (np.zeros(0, dtype=np.int64), [])
        return self._doc_codes

    def search(
        self, query: str, k: int, mask: np.ndarray | None = None, phrase_weight: float = 0.0
    ) -> list[tuple[str, float]]:
        """Best-first (chunk id, score) with score > 0; `mask` (bool per row) restricts the rows; `phrase_weight`:
        the share of the word-pair BM25 added to the word BM25."""
        scores = self.scores(query, mask, phrase_weight)
        if scores is None:
            return []
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.ids[i], float(scores[i])) for i in top if scores[i] > 0]

    # --- on disk ------------------------------------------------------------------------------------

    def save(self, directory: Path, tokens: TokenCache | None = None, *, new_base: bool = True) -> bool:
        """Save what changed, crash-safe: a base not saved here yet (a build, a merge) and the delta with the
        tombstones and metadata are written to side directories and renamed; replacing CURRENT.json then commits
        them, so a crash at any point leaves the previous index or the new one. A base saved here before is left
        alone: an update writes only the delta. `tokens`: the cache a full build used, saved with a new base.
        `new_base=False`: save only if the base is already here (False when it is not: nothing written)."""
        directory.mkdir(parents=True, exist_ok=True)
        if self._base_name(directory) is None:
            if not new_base:
                return False
            if self.unmerged:  # a base written here must hold only live rows (the tombstones' rows are gone)
                return self.merged().save(directory, tokens)
            self.write_base(directory, tokens)
        base_name = self._base_name(directory)
        delta = self._segments[1] if len(self._segments) > 1 else None
        delta_name = _write_dir(directory, "delta", lambda d: self._save_delta(d, delta))
        previous = _read_current(directory)
        _write_json(directory / CURRENT, {"format": _FORMAT, "base": base_name, "delta": delta_name})
        self._saved_at[_key(directory)] = delta_name
        _clean(directory, previous, {base_name, delta_name})
        return True

    def write_base(self, directory: Path, tokens: TokenCache | None = None) -> str:
        """Write this index's base (of an index without delta or tombstones) as a new segment directory, not yet
        named by CURRENT.json (`save` does that); its name."""
        assert not self.unmerged, "a base is written from a merged index"
        base = self._segments[0]
        directory.mkdir(parents=True, exist_ok=True)
        name = _write_dir(directory, "base", lambda d: base.save(d, self._rows))
        if tokens is not None:
            tokens.save(directory)
        base.stored[_key(directory)] = name
        return name

    def drop_base(self, directory: Path, name: str) -> None:
        """Remove a base `write_base` wrote that is not to be used (a merge that lost its race)."""
        self._segments[0].stored.pop(_key(directory), None)
        shutil.rmtree(directory / name, ignore_errors=True)

    def is_saved(self, directory: Path) -> bool:
        """Whether the index saved in the directory is this one (no other save replaced it since)."""
        current = _read_current(directory)
        return current is not None and current.get("delta") == self._saved_at.get(_key(directory))

    def _base_name(self, directory: Path) -> str | None:
        name = self._segments[0].stored.get(_key(directory))
        return name if name is not None and (directory / name).is_dir() else None

    def _save_delta(self, target: Path, delta: _Segment | None) -> None:
        if delta is not None:
            delta.save(target, self._rows.take(delta.pos))
        tombstones = np.flatnonzero(~self._alive[0])
        np.save(target / "tombstones.npy", tombstones)
        meta = {"generation": self.generation, "versions": self.versions, "rows": len(self)}
        (target / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> LexicalIndex | None:
        """The saved index, or None when it is missing, unreadable or of another format (the caller rebuilds it)."""
        try:
            current = _read_current(directory)
            if current is None or current.get("format") != _FORMAT:
                return None
            delta_dir = directory / str(current["delta"])
            meta = json.loads((delta_dir / "meta.json").read_text(encoding="utf-8"))
            index = cls._load_segments(directory / str(current["base"]), delta_dir, meta)
            index._segments[0].stored[_key(directory)] = str(current["base"])
            index._saved_at[_key(directory)] = str(current["delta"])
        except Exception:  # any damage (truncated json or npz, missing file, inconsistent arrays) means: rebuild
            return None
        return index if len(index) == meta["rows"] else None

    @classmethod
    def _load_segments(cls, base_dir: Path, delta_dir: Path, meta: dict[str, object]) -> LexicalIndex:
        fields, base_rows = _Segment.load(base_dir)
        tombstones = np.load(delta_dir / "tombstones.npy")
        alive = np.ones(len(base_rows), dtype=bool)
        alive[tombstones] = False
        if (delta_dir / "rows.json").exists():
            delta_fields, delta_rows = _Segment.load(delta_dir)
        else:
            delta_fields, delta_rows = (_Field.of([]), _Field.of([])), _Rows.of([], [], [], [])
        rows, kept_at, new_at = base_rows.take(np.flatnonzero(alive)).interleave(delta_rows)
        pos = np.full(len(base_rows), len(rows), dtype=np.int64)
        pos[alive] = kept_at
        segments = (_Segment(fields, pos), _Segment(delta_fields, new_at))
        versions = meta["versions"]
        assert isinstance(versions, dict)
        return cls(rows, segments if len(delta_rows) else segments[:1], str(meta["generation"]), versions)


def _key(directory: Path) -> str:
    return str(directory.resolve())


def _write_dir(directory: Path, kind: str, write: Callable[[Path], None]) -> str:
    """Write a new segment directory through a side directory; its name."""
    name = f"{kind}-{time.time_ns():x}-{uuid.uuid4().hex[:8]}"
    tmp = directory / (name + ".tmp")
    tmp.mkdir()
    write(tmp)
    tmp.rename(directory / name)
    return name


def _write_json(path: Path, value: object) -> None:
    # A name of its own: two processes saving into one directory (`qa ingest` next to `qa serve` on one data dir)
    # must not write into one temporary file (the pointer would be the mix of both, and the index rebuilt).
    tmp = path.with_name(f"{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    with tmp.open("w", encoding="utf-8") as out:
        json.dump(value, out)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)  # atomic: a reader sees the old pointer or the new one


def _read_current(directory: Path) -> dict[str, object] | None:
    try:
        current = json.loads((directory / CURRENT).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return current if isinstance(current, dict) else None


def _clean(directory: Path, previous: dict[str, object] | None, keep: set[str | None]) -> None:
    """Drop what the previous pointer named and the new one does not, a format-1 index's files, and what crashed
    saves left (side directories, segments never named: old ones only, another thread may be writing a merge's
    base right now)."""
    names = {str(v) for k, v in (previous or {}).items() if k in ("base", "delta") and v is not None} - keep
    for name in names | {n for n in _OLD_FORMAT if (directory / n).exists()}:
        path = directory / name
        shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
    for path in directory.iterdir():
        orphan = path.name.endswith(".tmp") or (path.name.startswith(("base-", "delta-")) and path.name not in keep)
        if orphan and time.time() - path.stat().st_mtime >= _ORPHAN_AGE_S:
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
