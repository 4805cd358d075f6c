"""Request and response bodies of the HTTP API (contract: DESIGN.md §5); examples are in Chinese."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ingest.schema import FindingRole, ReportKind, SectionRole
from qa.retrieve import Filters, Mode
from qa.settings import MAX_ANSWER_UNITS

MAX_QUESTION = 2000
MODEL_ID = "jixiao-qa"  # the one model /v1/models lists and /v1/chat/completions answers as


class FiltersIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"year": 2021, "region": "益阳市"}]})

    year: int | None = Field(None, ge=1900, le=2100, description="报告年度")
    region: str | None = Field(None, min_length=1, max_length=50, description="地区（部分匹配，如 益阳市）")
    unit: str | None = Field(None, min_length=1, max_length=100, description="单位名称（部分匹配）")
    report_kind: ReportKind | None = None
    section_role: SectionRole | None = None

    def to_filters(self) -> Filters:
        return Filters(**self.model_dump())


class Message(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["user", "assistant", "system"]
    content: str = Field(max_length=20_000)


def _question(value: str) -> str:
    if not value.strip():
        raise ValueError("问题不能为空")
    return value.strip()


class AskIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"question": "哪些单位提到预算编制不够细化？"},
                {"question": "赫山区投资促进服务中心2021年基本支出是多少？", "filters": {"year": 2021}},
                {
                    "question": "它们分别提出了什么改进措施？",
                    "history": [
                        {"role": "user", "content": "哪些单位提到预算编制不够细化？"},
                        {
                            "role": "assistant",
                            "content": "共有 2 个单位提到……益阳市赫山区投资促进服务中心……湖南省大祥工业集中区管理委员会……",
                        },
                    ],
                },
            ]
        },
    )

    question: str = Field(max_length=MAX_QUESTION, description="问题，最多 2000 字")
    history: list[Message] = Field(default_factory=list, max_length=50)
    filters: FiltersIn | None = None
    top_k: int | None = Field(None, ge=1, le=50)
    offset: int = Field(
        0, ge=0, description="“哪些单位…”类回答：从第几个单位开始列出（0 起；上一页回答的 next_offset）"
    )
    limit: int | None = Field(
        None, ge=1, le=MAX_ANSWER_UNITS, description="“哪些单位…”类回答：最多列出的单位数（默认 QA_ANSWER_UNITS）"
    )

    _check_question = field_validator("question")(_question)


class SearchIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"query": "项目资金未实行专账核算", "top_k": 5}]}
    )

    query: str = Field(max_length=MAX_QUESTION)
    filters: FiltersIn | None = None
    top_k: int = Field(5, ge=1, le=100)
    mode: Mode = "hybrid"

    _check_query = field_validator("query")(_question)


class PositionOut(BaseModel):
    """Where a table row's cells are in its file, for the citation viewer (absent for text passages)."""

    page: int | None = Field(None, description="页码（从 1 开始；PDF 才有）")
    table: int = Field(description="文档中的第几张表（从 0 开始；跨页的表算一张）")
    table_row: int = Field(description="该表（该页部分）中的行号（从 0 开始，含表头行）")
    col_start: int = Field(description="起始列（从 0 开始）")
    col_end: int = Field(description="结束列（不含）")
    bbox: str | None = Field(None, description="单元格外框 x0,top,x1,bottom（PDF 坐标，单位 pt，原点左上）")


class CitationOut(BaseModel):
    id: int | str
    doc_id: str
    source: str
    unit: str
    year: int | None
    title: str
    section: str
    text: str
    char_start: int
    char_end: int
    score: float
    position: PositionOut | None = Field(None, description="表格行的页码与单元格位置（仅表格行）")


class UnitOut(BaseModel):
    unit: str
    doc_id: str
    source: str
    citation_ids: list[int]
    reason: str | None = Field(None, description="仅 related：未计入的原因（如“仅在改进措施中提到，未作为存在的问题”）")


class AskOut(BaseModel):
    answer: str
    kind: Literal["aggregate", "lookup", "unanswerable"]
    citations: list[CitationOut]
    units: list[UnitOut] | None = None
    related: list[UnitOut] = Field(default_factory=list, description="相近但不相同的表述（未计入 units）")
    resolved_question: str = Field(description="补全指代后的问题（如“它们”替换为具体单位）")
    filters: dict[str, Any] = Field(description="实际生效的筛选条件（问题中读出的与显式传入的合并，显式优先）")
    unsupported_dropped: int = Field(0, description="LLM 回答中因引用不成立而删除的句子数")
    composer: Literal["extractive", "llm"] = Field("extractive", description="回答由抽取式组合还是 LLM 写成")
    total_units: int | None = Field(None, description="“哪些单位…”类回答：提到该项的单位总数（units 只是其中一页）")
    offset: int = Field(0, description="units 中第一个单位在全部单位中的位置（0 起）")
    next_offset: int | None = Field(None, description="下一页的 offset；null 表示已列到最后一个单位")


class SearchOut(BaseModel):
    hits: list[CitationOut]


class DocFieldsOut(BaseModel):
    """A document's fields (ingest.schema.DocFields), as every body that names a document carries them."""

    doc_id: str
    source: str
    title: str
    unit: str
    region: str
    year: int | None
    report_kind: str


class DocumentOut(DocFieldsOut):
    n_chunks: int
    n_findings: int | None = Field(None, description="导入时抽出的问题与措施条数（早于该功能导入的报告为 null）")
    ingested_at: float = Field(0.0, description="导入时间（Unix 秒）")


class DocumentPageOut(BaseModel):
    total: int = Field(description="符合筛选条件的报告总数")
    offset: int
    limit: int
    items: list[DocumentOut]


class DocumentTextOut(DocumentOut):
    text: str


class ChunkOut(BaseModel):
    chunk_id: str
    chunk_index: int
    section: str
    section_role: str
    char_start: int = Field(description="在全文（GET /v1/documents/{doc_id} 的 text）中的起始字符位置")
    char_end: int
    text: str


class DocumentChunksOut(BaseModel):
    doc_id: str
    total: int
    offset: int
    limit: int
    items: list[ChunkOut]


class SectionOut(BaseModel):
    title: str
    depth: int = Field(description="在标题树中的深度，0 为最上层")
    level: int = Field(description="编号层级：0 第X部分，1 一、，2 （一），3 1.，4 （1），5 ⑴")
    path: list[str]
    role: SectionRole
    char_start: int
    char_end: int = Field(description="本节（含下级小节）在全文中的结束位置")
    chunks: int = Field(description="标注为本节的段落数")


class DocumentSectionsOut(BaseModel):
    doc_id: str
    title: str
    sections: list[SectionOut]


class ChatIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str = MODEL_ID
    messages: list[Message] = Field(min_length=1, max_length=50)
    stream: bool = False


class FindingCategoryOut(BaseModel):
    name: str
    confidence: float = Field(description="0–1；分类得分超过阈值的程度")
    sentence: str = Field(description="支撑该分类的句子")


class _FindingIdOut(BaseModel):
    finding_id: str


class FindingOut(DocFieldsOut, _FindingIdOut):
    # Fields of the bases come first, the last base's first: finding_id, then the document's fields.
    role: FindingRole = Field(description="problem：存在的问题；measure：改进措施/建议")
    section: str
    lead: str = Field(description="所属的总括句或小标题（如“部分项目管理不够规范”），没有则为空")
    text: str
    char_start: int
    char_end: int
    categories: list[FindingCategoryOut]
    citation: CitationOut = Field(description="出处：与回答中的引用同形，text 即原文引文")


class FindingsOut(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[FindingOut]


class StatsUnitOut(BaseModel):
    unit: str
    doc_id: str
    source: str
    year: int | None
    findings: int
    citations: list[CitationOut] = Field(
        description="该单位在本组中的每条问题/措施及其引文（按分类统计时为支撑该分类的句子）"
    )


class StatsGroupOut(BaseModel):
    key: str
    units: int = Field(description="提到该项的单位数")
    findings: int = Field(description="条目数")
    items: list[StatsUnitOut]


class FindingStatsOut(BaseModel):
    by: Literal["category", "year", "region", "unit"]
    total_findings: int
    total_units: int
    groups: list[StatsGroupOut]


class JobFileOut(BaseModel):
    name: str
    size: int
    status: str = Field(
        description="queued 排队 / running 导入中 / new 新增 / unchanged 未变化 / replaced 替换 / duplicate 重复 / refused 拒收"
    )
    reason: str = Field("", description="拒收原因（status=refused 时）")
    doc_id: str = ""
    unit: str = ""
    n_chunks: int = 0
    ocr_done: int = Field(0, description="扫描件：已 OCR 识别的页数（导入中随之更新）")
    ocr_total: int = Field(0, description="扫描件：需 OCR 识别的页数")
    extra: dict[str, Any] = Field(
        default_factory=dict, description="导入结果的其他字段（如 ocr_pages、ocr_seconds、duplicate_of）"
    )


class JobOut(BaseModel):
    job_id: str
    status: Literal["queued", "running", "done", "interrupted"] = Field(
        description="interrupted：执行该任务的服务进程已退出"
    )
    created_at: float
    updated_at: float
    finished_at: float | None
    total: int
    done: int = Field(description="已有结果的文件数")
    counts: dict[str, int] = Field(description="各状态的文件数")
    files: list[JobFileOut]


class JobListOut(BaseModel):
    items: list[JobOut]


class MetadataIn(BaseModel):
    """Fields to change (omitted or null: keep); unit and region may be set empty."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"year": 2022}, {"unit": "益阳市赫山区投资促进服务中心", "region": "益阳市赫山区"}]
        },
    )

    unit: str | None = Field(None, max_length=100, description="单位名称")
    region: str | None = Field(None, max_length=50, description="地区")
    year: int | None = Field(None, ge=1900, le=2100, description="报告年度")
    report_kind: ReportKind | None = Field(None, description="报告类型")
    title: str | None = Field(None, min_length=1, max_length=200, description="标题")
