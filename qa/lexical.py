"""Lexical side: jieba tokens (search mode, fiscal user dictionary) scored by BM25 (bm25s), plus a phrase bonus:
adjacent word pairs of the text in a second BM25 index, so a chunk that has a query's words next to each other
("专账 核算") ranks above one that has them apart (issue 19; measured in docs/evaluation.md).

The index is derived from Chroma: built from the committed chunks, saved under the data dir together with
the store generation it was built from, and rebuilt when that generation no longer matches.

>>> tokenize("项目资金未实行专账核算。")
['项目', '资金', '未', '实行', '核算', '专账核算']
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
from array import array
from collections.abc import Callable, Iterable
from collections.abc import Set as AbstractSet
from functools import lru_cache
from pathlib import Path

import bm25s
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


def nouns(text: str) -> list[str]:
    """The nouns of a text, in order (jieba's part-of-speech tags with the fiscal user dictionary).

    >>> nouns("芙蓉区商务局2021年有没有发生安全生产事故？")
    ['生产', '事故']
    """
    return [p.word for p in _tagger().lcut(text) if p.flag in _NOUN_TAGS]


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

    The BM25 index is rebuilt after every ingest or delete (bm25s cannot add rows), and tokenising is nearly all
    of a rebuild (jieba: ~3 ms per chunk, ~5 min at 100k chunks). With the cache a rebuild tokenises only texts
    it has not seen. Tokens are kept as ids into a vocabulary (one int32 per token) and written as one .npz.
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
        np.savez(
            directory / self.FILE,
            fingerprint=np.array(_tokenizer_fingerprint()),
            vocab=np.array(list(self._ids), dtype=str),
            keys=np.array(self._keys, dtype=np.int64),
            ends=np.frombuffer(self._ends, dtype=np.int64),
            flat=np.frombuffer(self._flat, dtype=np.int32),
        )

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


class LexicalIndex:
    """BM25 over chunk index-texts, and over their word pairs; row i belongs to chunk ids[i] of document doc_ids[i]."""

    def __init__(
        self,
        bm25: bm25s.BM25 | None,
        ids: list[str],
        doc_ids: list[str],
        roles: list[str],
        keys: np.ndarray | None,
        generation: str,
        versions: dict[str, str] | None = None,
        avgdl: float | None = None,
        pairs: bm25s.BM25 | None = None,
        pair_avgdl: float | None = None,
    ) -> None:
        self._bm25 = bm25
        self._pairs = pairs  # None: no row has a word pair, or an index saved without them (rebuilt on load)
        self.ids = ids
        self.doc_ids = np.asarray(doc_ids, dtype=object)
        self.roles = np.asarray(roles, dtype=object)
        self.keys = keys  # per row, the key of its indexed text in the TokenCache saved with this index (None: an index saved without them)
        self.generation = generation
        # Per document, the version of what its rows take from its record (qa.retrieve.index_version); empty when
        # not known (an index saved without them): such rows are taken as current.
        self.versions = versions or {}
        self.avgdl = avgdl  # mean word tokens per row, as BM25 normalised lengths by (None: saved without word pairs)
        self.pair_avgdl = pair_avgdl
        self._df: np.ndarray | None = None

    @classmethod
    def build(
        cls, rows: Iterable[tuple[str, str, str, str]], generation: str, tokens: Callable[[str], list[str]] = analyze
    ) -> LexicalIndex:
        """rows: (chunk id, doc_id, section_role, text to index); `tokens`: analyze, or a TokenCache's."""
        return cls._from_tokens(((i, d, r, _text_key(t), tokens(t)) for i, d, r, t in rows), generation)

    def updated(
        self,
        committed: AbstractSet[str],
        generation: str,
        tokens: TokenCache,
        added_rows: Callable[[list[str]], Iterable[tuple[str, str, str, str]]],
        *,
        stale: AbstractSet[str] = frozenset(),
    ) -> LexicalIndex:
        """This index after documents were added, removed or relabelled (`stale`: committed documents whose rows
        changed, a metadata edit), without reading the documents it already has: their rows keep their tokens
        (`tokens`: the cache saved with this index) and only the added and stale documents' rows are read
        (`added_rows(doc_ids)`, rows as for `build`). KeyError when the rows' tokens are not to be had: a cache
        saved with another index, or an index saved without its keys."""
        if self.keys is None:
            raise KeyError("index saved without text keys")
        keys = self.keys
        kept = [
            (self.ids[i], d, self.roles[i], int(keys[i]), tokens.known(int(keys[i])))
            for i, d in enumerate(self.doc_ids)
            if d in committed and d not in stale
        ]
        added = sorted((committed - set(self.doc_ids.tolist())) | (stale & committed))
        new = [(i, d, r, _text_key(t), tokens.tokens(t)) for i, d, r, t in added_rows(added)] if added else []
        return LexicalIndex._from_tokens(kept + new, generation)

    @classmethod
    def _from_tokens(cls, rows: Iterable[tuple[str, str, str, int, list[str]]], generation: str) -> LexicalIndex:
        """rows: (chunk id, doc_id, section_role, text key, `analyze` tokens). Indexed in chunk id order, so the same
        rows give the same index (and the same order among equal scores) whether read in full or updated."""
        ids: list[str] = []
        doc_ids: list[str] = []
        roles: list[str] = []
        keys: list[int] = []
        corpus: list[list[str]] = []
        pair_corpus: list[list[str]] = []
        for chunk_id, doc_id, role, key, toks in sorted(rows, key=lambda r: r[0]):
            ids.append(chunk_id)
            doc_ids.append(doc_id)
            roles.append(role)
            keys.append(key)
            words_, pairs_ = split_pairs(toks)
            corpus.append(words_)
            pair_corpus.append(pairs_)
        bm25 = pair_bm25 = None
        if corpus:
            bm25 = bm25s.BM25()
            bm25.index(corpus, show_progress=False)
        if any(pair_corpus):
            pair_bm25 = bm25s.BM25()
            pair_bm25.index(pair_corpus, show_progress=False)
        avgdl = float(np.mean([len(t) for t in corpus])) if corpus else None
        pair_avgdl = float(np.mean([len(t) for t in pair_corpus])) if corpus else None
        return cls(
            bm25, ids, doc_ids, roles, np.asarray(keys, dtype=np.int64), generation, None, avgdl, pair_bm25, pair_avgdl
        )

    def __len__(self) -> int:
        return len(self.ids)

    def df(self, token: str) -> int:
        """How many indexed chunks contain the token."""
        if self._bm25 is None:
            return 0
        if self._df is None:
            # The CSC score matrix has one column per token: its non-zeros are the chunks containing it.
            self._df = np.diff(self._bm25.scores["indptr"])
        token_id = self._bm25.vocab_dict.get(token)
        return int(self._df[token_id]) if token_id is not None and token_id < len(self._df) else 0

    def idf(self, token: str) -> float:
        """BM25's idf of a token over the indexed chunks; a token never seen counts as rare."""
        if self._bm25 is None:
            return 0.0
        df = self.df(token)
        return float(np.log(1 + (len(self.ids) - df + 0.5) / (df + 0.5)))

    @staticmethod
    def _bm25_of(index: bm25s.BM25, avgdl: float, n: int, query: list[str], tokens: list[str]) -> float:
        """bm25s's default formula (Lucene idf, k1, b) for one text; a query token repeated counts again, as there."""
        df = index.__dict__.get("_qa_df")
        if df is None:  # document frequencies: the CSC score matrix's non-zeros per token column
            df = index.__dict__["_qa_df"] = np.diff(index.scores["indptr"])
        norm = index.k1 * (1 - index.b + index.b * len(tokens) / avgdl)
        counts: dict[str, int] = {}
        for t in tokens:
            counts[t] = counts.get(t, 0) + 1
        total = 0.0
        for t in query:
            tid = index.vocab_dict.get(t)
            if tid is not None and t in counts:
                idf = float(np.log(1 + (n - df[tid] + 0.5) / (df[tid] + 0.5)))
                total += idf * counts[t] / (counts[t] + norm)
        return total

    def score_text(self, query: str, text: str, phrase_weight: float) -> float:
        """The score `search` would give a text that is not indexed, with this index's statistics: what it would
        score if it replaced a row (self-tuning scores a chunk with its pseudo-query cut out of it)."""
        if self._bm25 is None or not self.avgdl:
            return 0.0
        words_, pairs_ = split_pairs(analyze(text))
        score = self._bm25_of(self._bm25, self.avgdl, len(self.ids), tokenize(query), words_)
        if phrase_weight and self._pairs is not None and self.pair_avgdl:
            score += phrase_weight * self._bm25_of(self._pairs, self.pair_avgdl, len(self.ids), pairs(query), pairs_)
        return score

    def scores(self, query: str, mask: np.ndarray | None = None, phrase_weight: float = 0.0) -> np.ndarray | None:
        """BM25 score of every row (0 where masked out), or None when no query token is indexed; `phrase_weight`:
        plus that share of the rows' word-pair BM25 (what `search` ranks by)."""
        if self._bm25 is None:
            return None
        tokens = [t for t in tokenize(query) if t in self._bm25.vocab_dict]
        if not tokens:
            return None
        scores = self._bm25.get_scores(tokens)
        if phrase_weight and self._pairs is not None:
            query_pairs = [p for p in pairs(query) if p in self._pairs.vocab_dict]
            if query_pairs:
                scores = scores + phrase_weight * self._pairs.get_scores(query_pairs)
        return scores if mask is None else np.where(mask, scores, 0.0)

    def rows_of(self, ids: Iterable[str]) -> np.ndarray:
        """The row of each chunk id; -1 for an id not indexed."""
        if getattr(self, "_rows", None) is None:
            self._rows = {chunk_id: i for i, chunk_id in enumerate(self.ids)}
        return np.array([self._rows.get(i, -1) for i in ids], dtype=np.int64)

    def doc_codes(self) -> np.ndarray:
        """Row → small integer per document (for grouping rows by document with numpy)."""
        if getattr(self, "_doc_codes", None) is None:
            self._doc_codes = (
                np.unique(self.doc_ids.astype(str), return_inverse=True)[1]
                if len(self.ids)
                else np.zeros(0, dtype=np.int64)
            )
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

    def save(self, directory: Path, tokens: TokenCache | None = None) -> None:
        """Write to a side directory, then swap it in, so a crash never leaves a half-written index. `tokens`:
        the cache the index was built with, saved next to it for the next build."""
        tmp = directory.with_name(directory.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if self._bm25 is not None:
            self._bm25.save(str(tmp / "bm25"), show_progress=False)
        if self._pairs is not None:
            self._pairs.save(str(tmp / "pairs"), show_progress=False)
        meta = {
            "generation": self.generation,
            "ids": self.ids,
            "doc_ids": self.doc_ids.tolist(),
            "roles": self.roles.tolist(),
            "versions": self.versions,
            "avgdl": self.avgdl,
            "pair_avgdl": self.pair_avgdl,
        }
        (tmp / "rows.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        if self.keys is not None:
            np.save(tmp / "keys.npy", self.keys)
        if tokens is not None:
            tokens.save(tmp)
        shutil.rmtree(directory, ignore_errors=True)
        tmp.rename(directory)

    @classmethod
    def load(cls, directory: Path) -> LexicalIndex | None:
        """The saved index, or None when it is missing or unreadable (the caller rebuilds it from Chroma)."""
        try:
            meta = json.loads((directory / "rows.json").read_text(encoding="utf-8"))
            bm25 = bm25s.BM25.load(str(directory / "bm25"), show_progress=False) if meta["ids"] else None
            pair_bm25 = (
                bm25s.BM25.load(str(directory / "pairs"), show_progress=False)
                if (directory / "pairs").is_dir()
                else None
            )
            keys_file = directory / "keys.npy"
            keys = np.load(keys_file) if keys_file.exists() else None  # older indexes: searchable, not updatable
            index = cls(
                bm25,
                meta["ids"],
                meta["doc_ids"],
                meta["roles"],
                keys,
                meta["generation"],
                meta.get("versions"),
                meta.get("avgdl"),
                pair_bm25,
                meta.get("pair_avgdl"),
            )
        except Exception:  # any damage (truncated json, missing npy, bad vocab) means: rebuild
            return None
        if (
            (bm25 is not None and int(bm25.scores["num_docs"]) != len(index.ids))
            or (pair_bm25 is not None and int(pair_bm25.scores["num_docs"]) != len(index.ids))
            or (keys is not None and len(keys) != len(index.ids))
        ):
            return None
        return index
