"""Findings (问题与措施): the problems and measures reports state, filtered and paginated, and counted by
category, year, region or unit with the units behind every count (docs/findings.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from starlette.concurrency import run_in_threadpool

from ingest.schema import FindingRole
from qa.api.auth import authorize
from qa.api.convert import finding_citation, finding_out
from qa.api.deps import Services, ServicesDep
from qa.api.schemas import FindingsOut, FindingStatsOut, StatsGroupOut, StatsUnitOut
from qa.findings import Finding, FindingFilter, FindingsIndex, TaxonomyError
from qa.findings.export import MEDIA_TYPES, ExportFormat, export

router = APIRouter(prefix="/v1/findings", tags=["问题与措施"], dependencies=[Depends(authorize("read"))])

Category = Annotated[str | None, Query(min_length=1, max_length=100, description="分类名称，如 预算编制不够细化")]
Role = Annotated[FindingRole | None, Query(description="problem：存在的问题；measure：改进措施/建议")]
Year = Annotated[int | None, Query(ge=1900, le=2100, description="报告年度")]
Region = Annotated[str | None, Query(min_length=1, max_length=50, description="地区（部分匹配，如 益阳市）")]
Unit = Annotated[str | None, Query(min_length=1, max_length=100, description="单位名称（部分匹配）")]
DocId = Annotated[str | None, Query(min_length=1, max_length=64, description="只看这一篇报告（doc_id）")]


def _index(services: Services) -> FindingsIndex:
    try:
        return services.answerer.findings
    except TaxonomyError as exc:  # a broken QA_TAXONOMY file is the server's configuration, not the client's fault
        raise HTTPException(503, str(exc)) from exc


def _filter(
    index: FindingsIndex,
    category: str | None,
    role: str | None,
    year: int | None,
    region: str | None,
    unit: str | None,
    doc_id: str | None,
) -> FindingFilter:
    names = index.categorizer.taxonomy.names
    if category is not None and category not in names:
        raise HTTPException(422, f"分类：未知的分类“{category}”（可选：{'、'.join(names)}）")
    return FindingFilter(category=category, role=role, year=year, region=region, unit=unit, doc_id=doc_id)


@dataclass(frozen=True)
class FindingQuery:
    """The filters every findings route takes (list, export, stats)."""

    category: Category = None
    role: Role = None
    year: Year = None
    region: Region = None
    unit: Unit = None
    doc_id: DocId = None

    def select(self, services: Services) -> tuple[FindingsIndex, FindingFilter, list[Finding]]:
        index = _index(services)
        flt = _filter(index, self.category, self.role, self.year, self.region, self.unit, self.doc_id)
        return index, flt, index.select(flt)


Query_ = Annotated[FindingQuery, Depends()]


@router.get("", response_model=FindingsOut, summary="问题与措施列表（带出处，可按分类/类型/年度/地区/单位筛选）")
def list_findings(
    services: ServicesDep,
    query: Query_,
    limit: Annotated[int, Query(ge=1, le=200, description="每页条数")] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="跳过的条数")] = 0,
) -> FindingsOut:
    _, _, found = query.select(services)
    return FindingsOut(
        total=len(found), limit=limit, offset=offset, items=[finding_out(f) for f in found[offset : offset + limit]]
    )


@router.get(
    "/export",
    summary="导出问题与措施（CSV 或 Excel，每条一行；筛选条件同列表）",
    response_class=Response,
    responses={
        200: {
            "content": {MEDIA_TYPES["csv"]: {}, MEDIA_TYPES["xlsx"]: {}},
            "description": "附件：findings.csv 或 findings.xlsx",
        }
    },
)
async def export_findings(
    services: ServicesDep,
    query: Query_,
    format: Annotated[ExportFormat, Query(description="csv（UTF-8 带 BOM，Excel 可直接打开中文）或 xlsx")] = "csv",
) -> Response:
    """Columns: 单位, 地区, 年度, 报告类型, 类型, 分类, 内容, 来源文件, 章节, 起始字符, 结束字符, doc_id."""
    _, _, found = query.select(services)
    body = await run_in_threadpool(export, found, format)
    name = f"问题与措施.{format}"
    disposition = f"attachment; filename=\"findings.{format}\"; filename*=UTF-8''{quote(name)}"
    return Response(body, media_type=MEDIA_TYPES[format], headers={"Content-Disposition": disposition})


@router.get(
    "/stats",
    response_model=FindingStatsOut,
    summary="问题与措施统计（按分类/年度/地区/单位计数，并列出每个计数背后的单位）",
)
def finding_stats(
    services: ServicesDep,
    query: Query_,
    by: Annotated[Literal["category", "year", "region", "unit"], Query(description="统计维度")] = "category",
) -> FindingStatsOut:
    index, flt, found = query.select(services)
    groups = index.stats(by, flt)
    by_id = {f.finding_id: f for f in found}
    out: list[StatsGroupOut] = []
    for g in groups:
        items = []
        for u in g.units:
            fs = [by_id[i] for i in u.finding_ids]
            # Under a category, cite the sentence that carries it; otherwise the whole finding.
            spans = [
                next((c.sentence for c in f.categories if c.name == g.key), None) if by == "category" else None
                for f in fs
            ]
            items.append(
                StatsUnitOut(
                    unit=u.unit,
                    doc_id=u.doc_id,
                    source=u.source,
                    year=u.year,
                    findings=len(fs),
                    citations=[finding_citation(f, s) for f, s in zip(fs, spans)],
                )
            )
        out.append(StatsGroupOut(key=g.key, units=len({u.unit for u in g.units}), findings=g.findings, items=items))
    return FindingStatsOut(
        by=by, total_findings=len(found), total_units=len({f.doc.display_unit for f in found}), groups=out
    )
