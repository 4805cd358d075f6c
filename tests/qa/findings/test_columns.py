"""Column types of the findings view (qa.findings.columns): arrays in parts, one of them memory-mapped, and
strings in one buffer give back exactly what went in, and an append never copies a mapped part."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from qa.findings.columns import Rows, Texts, is_mapped, take_csr


def _mapped(tmp_path: Path, array: np.ndarray) -> np.ndarray:
    path = tmp_path / "part.npy"
    np.save(path, array)
    return np.load(path, mmap_mode="r")


def test_rows_append_copies_only_the_in_memory_tail(tmp_path: Path) -> None:
    whole = np.arange(40, dtype=np.float16).reshape(10, 4)
    base = Rows([_mapped(tmp_path, whole[:6])])
    grown = base.append(whole[6:8]).append(whole[8:])
    assert len(base) == 6 and len(grown) == 10  # the old object is unchanged for its readers
    assert len(grown.parts) == 2 and grown.parts[0] is base.parts[0] and grown.mapped(0)
    assert not grown.mapped(1)  # the two appends share one in-memory tail
    idx = np.array([9, 0, 5, 6, 3])
    assert np.array_equal(grown.take(idx), whole[idx]) and not is_mapped(grown.take(idx))
    assert np.array_equal(grown.slice(6, 9), whole[6:9]) and grown.slice(2, 2).shape == (0, 4)
    grown.release()  # drops the mapped pages; the data reads back the same
    assert np.array_equal(grown.take(np.arange(10)), whole)
    assert Rows.empty(np.float16, 4).append(whole[:0]).parts[0].shape == (0, 4)


def test_texts_round_trip_in_parts_and_in_any_order(tmp_path: Path) -> None:
    words = ["预算编制不够细化。", "", "𠀀 a rare character outside the BMP", "绩效目标"]
    texts = Texts.of(words[:2])
    mapped = Texts(Rows([_mapped(tmp_path, texts.data.parts[0])]), texts.ends)
    both = Texts.concat([mapped, Texts.of(words[2:])])
    assert [both[i] for i in range(len(both))] == words and both.data.mapped(0)
    assert both.many(np.array([2, 0, 2, 1])) == [words[2], words[0], words[2], ""] and both.many(np.zeros(0, int)) == []
    taken = both.take(np.array([3, 0, 2]))
    assert [taken[i] for i in range(3)] == [words[3], words[0], words[2]]
    assert len(Texts.empty()) == 0 and len(Texts.empty().take(np.zeros(0, dtype=np.int64))) == 0


def test_take_csr_keeps_each_entrys_values() -> None:
    ptr = np.array([0, 2, 2, 5])
    values = np.array([10, 11, 20, 21, 22])
    new_ptr, new_values = take_csr(ptr, values, idx=np.array([2, 1, 0]))
    assert new_ptr.tolist() == [0, 3, 3, 5] and new_values.tolist() == [20, 21, 22, 10, 11]
