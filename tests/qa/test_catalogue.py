"""The console's table at library scale: filter, search, sort and page a catalogue of 10,000 documents (the pure
function GET /v1/documents runs on the in-memory catalogue; tests/qa/api/routes/test_documents.py drives the
route)."""

from __future__ import annotations

import random

import pytest

from ingest.schema import DocFields, DocRecord
from qa.catalogue import SORT_FIELDS, DocQuery, select_page

N = 10_000
REGIONS = ["益阳市赫山区", "益阳市资阳区", "长沙市芙蓉区", "桃江县", ""]
KINDS = ["部门整体支出", "项目支出", "部门决算", "其他"]


@pytest.fixture(scope="module")
def catalogue() -> list[DocRecord]:
    rng = random.Random(21)
    out = []
    for i in range(N):
        region = REGIONS[i % len(REGIONS)]
        unit = "" if i % 97 == 0 else f"{region or '某'}第{i % 350}号事务中心"
        out.append(
            DocRecord(
                DocFields(
                    doc_id=f"{i:016x}",
                    source=f"report-{i:05d}.txt",
                    title=f"{unit}{2018 + i % 6}年度绩效自评报告",
                    unit=unit,
                    region=region,
                    year=None if i % 41 == 0 else 2018 + i % 6,
                    report_kind=KINDS[i % 4],
                ),
                fmt="txt",
                n_chunks=rng.randint(1, 60),
                ingested_at=1_700_000_000 + rng.random() * 1e6,
                n_findings=rng.randint(-1, 20),
            )
        )
    return out


def pages(catalogue: list[DocRecord], **kw: object) -> list[DocRecord]:
    """Every page of a query, concatenated."""
    got: list[DocRecord] = []
    offset = 0
    while True:
        page = select_page(catalogue, DocQuery(offset=offset, limit=2500, **kw))  # type: ignore[arg-type]
        got += page.items
        offset += 2500
        if offset >= page.total:
            assert len(got) == page.total
            return got


@pytest.mark.parametrize("sort", SORT_FIELDS)
@pytest.mark.parametrize("order", ["asc", "desc"])
def test_pages_cover_every_document_once_in_order(catalogue: list[DocRecord], sort: str, order: str) -> None:
    got = pages(catalogue, sort=sort, order=order)
    assert len({r.doc.doc_id for r in got}) == N
    values = [r.as_dict()[sort] for r in got]
    if sort == "n_findings":
        values = [None if v < 0 else v for v in values]
    full = [v for v in values if v not in (None, "")]
    assert full == sorted(full, reverse=order == "desc")
    # Empty values (no year, no unit, no region, findings unknown) come last in either order.
    assert all(v in (None, "") for v in values[len(full) :])


def test_filters_and_search_match_a_scan(catalogue: list[DocRecord]) -> None:
    by_year = pages(catalogue, year=2021, region="益阳市", kind="项目支出")
    expected = [
        r
        for r in catalogue
        if r.doc.year == 2021 and r.doc.region.startswith("益阳市") and r.doc.report_kind == "项目支出"
    ]
    assert {r.doc.doc_id for r in by_year} == {r.doc.doc_id for r in expected} and expected
    # Region works both ways: a district record matches its city, a county matches itself only.
    assert {r.doc.region for r in pages(catalogue, region="益阳市赫山区")} == {"益阳市赫山区"}
    found = pages(catalogue, q="第17号")
    assert found and all("第17号" in r.doc.unit or "第17号" in r.doc.title for r in found)
    assert {r.doc.doc_id for r in pages(catalogue, q="REPORT-00042")} == {f"{42:016x}"}  # file names, any case
    assert {r.doc.doc_id for r in pages(catalogue, unit="资阳区第3号")} == {
        r.doc.doc_id for r in catalogue if "资阳区第3号" in r.doc.unit
    }
    missing_year = pages(catalogue, missing="year")
    assert (
        missing_year
        and all(r.doc.year is None for r in missing_year)
        and len(missing_year) == sum(r.doc.year is None for r in catalogue)
    )
    assert all(not r.doc.unit for r in pages(catalogue, missing="unit"))


def test_a_page_is_the_slice_and_the_total_counts_all(catalogue: list[DocRecord]) -> None:
    whole = select_page(catalogue, DocQuery(limit=N, sort="unit", order="asc")).items
    page = select_page(catalogue, DocQuery(offset=9_980, limit=50, sort="unit", order="asc"))
    assert page.total == N and page.items == whole[9_980:]
    assert select_page(catalogue, DocQuery(offset=N + 5)).items == []
    # Newest first by default, ties broken by doc_id: the same request always gives the same page.
    first = select_page(catalogue, DocQuery())
    assert [r.ingested_at for r in first.items] == sorted((r.ingested_at for r in catalogue), reverse=True)[:50]
    assert select_page(catalogue, DocQuery()).items == first.items
