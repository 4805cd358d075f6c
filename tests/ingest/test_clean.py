import random

import pytest

from ingest.clean import CleanText, clean_text
from tests.conftest import SAMPLES

SAMPLE_FILES = sorted(SAMPLES.glob("*.txt"))
# The one substitution a cleaned character may differ from its raw character by (full → half width).
_WIDTH = str.maketrans(
    {**{chr(c): chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F) if chr(c - 0xFEE0).isalnum()}, "\u3000": " "}
)


def _assert_maps_back(raw: str, cleaned: CleanText, spans: int = 200) -> None:
    text, offsets = cleaned.text, cleaned.raw_offsets
    assert len(offsets) == len(text) + 1 and offsets[-1] == len(raw)
    assert all(a < b for a, b in zip(offsets, offsets[1:]))  # deletions and 1:1 replacements only
    rng = random.Random(len(raw))
    for _ in range(spans):
        start = rng.randrange(len(text))
        end = rng.randrange(start + 1, min(len(text), start + 80) + 1)
        raw_start, raw_end = cleaned.to_raw_span(start, end)
        assert raw_start == cleaned.to_raw(start) and raw_end == cleaned.to_raw(end - 1) + 1
        assert [raw[cleaned.to_raw(i)].translate(_WIDTH) for i in range(start, end)] == list(text[start:end])
        # the raw span holds the cleaned span plus only what cleaning deleted
        assert clean_text(raw[raw_start:raw_end]).text == text[start:end].strip()


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda p: p.name)
def test_samples_lose_word_artifacts_and_indentation(path) -> None:
    raw = path.read_text(encoding="utf-8")
    cleaned = clean_text(raw)
    assert "[bookmark" not in cleaned.text
    assert not [line for line in cleaned.text.split("\n") if line[:1] in (" ", "\u3000", "\t", "\xa0")]
    assert "\n\n\n" not in cleaned.text and cleaned.text == cleaned.text.strip()
    _assert_maps_back(raw, cleaned)


def test_sample_artifacts_are_removed_in_place() -> None:
    text = clean_text((SAMPLES / "000_b17f134b7a6d8e07.txt").read_text(encoding="utf-8")).text
    assert "\n（二）重点项目绩效目标情况\n" in text
    assert "\n1、楼宇经济工作经费。" in text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("[bookmark: _GoBack]1、楼宇经济", "1、楼宇经济"),
        ("报告如下：\n[bookmark: _Hlk103867268]2021年", "报告如下：\n2021年"),
        ("预 算 编 制", "预算编制"),
        ("预\u3000算\xa0编\t制", "预算编制"),
        ("绩效 ， 评价 。", "绩效，评价。"),
        ("“三公” 经费", "“三公”经费"),
        ("performance evaluation 2021 年 3 月", "performance evaluation 2021 年 3 月"),
        ("ＡＢＣ ａｂｃ １２３", "ABC abc 123"),
        ("Ａ\u3000Ｂ", "A B"),
        ("（一）项目概况；一、基本情况：“说明”", "（一）项目概况；一、基本情况：“说明”"),
        ("  一、概况  \n\u3000\u3000本单位按照  \n", "一、概况\n本单位按照"),
        ("甲\n\n\n\n乙\n \n\u3000\n丙", "甲\n\n乙\n\n丙"),
        ("第一行\n第二行", "第一行\n第二行"),  # no reflowing of lines
        ("", ""),
        ("  \n\u3000 ", ""),
    ],
)
def test_cleanup_steps(raw: str, expected: str) -> None:
    cleaned = clean_text(raw)
    assert cleaned.text == expected
    if expected:
        _assert_maps_back(raw, cleaned, spans=20)


def test_offsets_skip_deleted_text() -> None:
    raw = "前言[bookmark: _GoBack]预 算"
    cleaned = clean_text(raw)
    assert cleaned.text == "前言预算"
    assert cleaned.to_raw_span(0, 2) == (0, 2)  # ends before the bookmark, not after it
    assert cleaned.to_raw_span(2, 4) == (raw.index("预"), len(raw))
    assert cleaned.to_raw(4) == len(raw)
    assert cleaned.to_raw_span(1, 1) == (1, 1)
    with pytest.raises(IndexError):
        cleaned.to_raw(5)
    with pytest.raises(IndexError):
        cleaned.to_raw_span(3, 2)


def test_cleaning_is_idempotent() -> None:
    for path in SAMPLE_FILES:
        once = clean_text(path.read_text(encoding="utf-8")).text
        assert clean_text(once).text == once


def test_one_megabyte_keeps_its_offset_map() -> None:
    # Speed is measured in the benchmarks, not asserted here; this checks the map stays whole at size.
    unit = (SAMPLES / "000_b17f134b7a6d8e07.txt").read_text(encoding="utf-8") + "\n 预 算　编 制 ＡＢＣ\n\n\n\n"
    raw = unit * (1_000_000 // len(unit) + 1)
    cleaned = clean_text(raw)
    assert len(cleaned.raw_offsets) == len(cleaned.text) + 1
    assert cleaned.text.endswith("预算编制 ABC")  # CJK spaces go, the one before Latin stays
