"""Hybrid fusion (qa.fusion): convex and reciprocal rank fusion, the depth cut, the recorded choice (self-tuning:
test_tuning.py)."""

from __future__ import annotations

import pytest

from qa.fusion import FusionParams, FusionRecord, convex, fuse, rrf

BM25 = [("a", 12.0), ("b", 4.0), ("c", 3.5), ("d", 1.0)]
DENSE = [("c", 0.83), ("b", 0.82), ("e", 0.80), ("a", 0.71)]


def test_convex_ends_are_the_two_sides() -> None:
    assert [i for i, _ in convex(BM25, DENSE, 0.0)][:4] == ["a", "b", "c", "d"]
    assert [i for i, _ in convex(BM25, DENSE, 1.0)][:4] == ["c", "b", "e", "a"]


def test_convex_keeps_a_clear_lexical_lead_that_rrf_gives_away() -> None:
    """'a' is far ahead on BM25 and last on the dense side: z-scores keep the lead, ranks alone do not."""
    assert convex(BM25, DENSE, 0.4)[0][0] == "a"
    assert fuse(BM25, DENSE, FusionParams(method="rrf", dense_weight=1.0))[0][0] != "a"


def test_convex_one_sided_candidates_get_the_lowest_listed_score() -> None:
    fused = dict(convex(BM25, DENSE, 0.5))
    assert set(fused) == {"a", "b", "c", "d", "e"}
    assert fused["d"] < fused["b"] and fused["e"] < fused["c"]  # d is not in the dense list, e not in BM25's


def test_convex_degenerate_lists() -> None:
    assert convex([], [], 0.5) == []
    assert [i for i, _ in convex([], DENSE, 0.3)] == ["c", "b", "e", "a"]
    assert [i for i, _ in convex(BM25, [], 0.3)] == ["a", "b", "c", "d"]
    assert [i for i, _ in convex([("x", 2.0), ("y", 2.0)], [("y", 0.5)], 0.5)] == ["x", "y"]  # all equal: ties by id


def test_fuse_cuts_each_side_to_the_depth() -> None:
    assert {i for i, _ in fuse(BM25, DENSE, FusionParams(depth=1))} == {"a", "c"}
    assert rrf([["a", "b"], ["b", "a"]], k=60)[0] == ("a", pytest.approx(1 / 61 + 1 / 62))


def test_record_round_trip_and_unknown_fields() -> None:
    record = FusionRecord(
        FusionParams(alpha=0.35), "m3e", 76, 1.0, 237, {"chosen": 0.5}, [(0.3, 0.4), (0.35, 0.5)], 2.0
    )
    assert FusionRecord.from_json(record.to_json()) == record
    assert FusionParams.from_dict({"alpha": 0.2, "from_the_future": 1}) == FusionParams(alpha=0.2)
    with pytest.raises(ValueError):
        FusionParams.from_dict({"method": "magic"})
