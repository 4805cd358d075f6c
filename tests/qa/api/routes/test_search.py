"""POST /v1/search against a real `qa serve`: citation-shaped hits, top_k and filters applied."""

from __future__ import annotations

import httpx
import pytest

pytestmark = pytest.mark.slow


def test_search_endpoint(api: str) -> None:
    r = httpx.post(f"{api}/v1/search", json={"query": "项目资金未实行专账核算", "top_k": 3, "filters": {"year": 2021}})
    hits = r.json()["hits"]
    assert r.status_code == 200 and 0 < len(hits) <= 3
    assert set(hits[0]) >= {
        "id",
        "doc_id",
        "source",
        "unit",
        "year",
        "title",
        "section",
        "text",
        "char_start",
        "char_end",
        "score",
    }
    assert {h["year"] for h in hits} == {2021}
