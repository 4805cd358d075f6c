"""Document metadata (unit, region, year, report kind) read from the report itself, overridable by a manifest.

Every inference prefers leaving a field empty to guessing: a wrong unit silently drops a report from
"哪些单位…" answers, an empty one only shows it under its file name.

>>> m = infer_metadata("益阳市赫山区投资促进服务中心2021年度部门整体支出绩效评价报告", "正文", "a.txt")
>>> (m.unit, m.region, m.year, m.report_kind)
('益阳市赫山区投资促进服务中心', '益阳市赫山区', 2021, '部门整体支出')
"""

from __future__ import annotations

import csv
import json
import logging
import re
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import jieba
import jieba.posseg as pseg

from ingest.document import IngestError
from ingest.schema import REPORT_KINDS as REPORT_KINDS
from ingest.schema import ReportKind as ReportKind

jieba.setLogLevel(logging.WARNING)

# Suffixes a 单位名称 ends with; a title prefix without one is not taken as a unit.
_UNIT_SUFFIX = re.compile(
    r"(局|中心|委员会|管委会|办公室|办|工作部|部|院|所|站|队|馆|处|厅|委|会|社|室|政府|法院|检察院|学校|医院|镇|街道)$"
)
_YEAR = r"((?:19|20)\d{2})\s*年(?!\s*\d{1,2}\s*月)"  # "2025年3月" is a date, not the reporting year
# Admin areas "as found". County-level names are 1–4 characters before 区/县/市 but zones such as
# 工业集中区 / 开发区 / 园区 are not regions.
_PROVINCE = re.compile(r"([\u4e00-\u9fa5]{2,3}?(?:省|自治区))")
_CITY = re.compile(r"([\u4e00-\u9fa5]{2,4}?市)(?![场民级委政直])")
_COUNTY = re.compile(r"([\u4e00-\u9fa5]{2,3}?(?:区|县))(?![政级直域内])")
_NOT_REGION = re.compile(
    r"(工业|集中|开发|园|新|保税|示范|高新|经济|功能|城|社|片|辖|本|全|景|老)区$|^[本全各该省市县区内]|[年度的]"
)
_KIND_CUES: tuple[tuple[ReportKind, re.Pattern[str]], ...] = (
    ("部门决算", re.compile(r"决算")),
    ("部门整体支出", re.compile(r"部门整体支出|整体支出绩效")),
    ("项目支出", re.compile(r"项目支出|项目绩效|重点项目|专项资金|项目资金")),
)


@dataclass(frozen=True)
class DocMetadata:
    title: str
    unit: str = ""
    region: str = ""
    year: int | None = None
    report_kind: ReportKind = "其他"


# A year written on its own in the title ("上海市普陀区财政局 / 年度部门决算 / 2024" on three cover lines).
_BARE_YEAR = re.compile(r"(?<![0-9A-Za-z])((?:19|20)\d{2})(?![0-9A-Za-z])")
# The reporting year as a labelled field of a cover or form ("评价年度：2022年", "所属年度 | 2024").
_YEAR_FIELD = re.compile(r"(?:评价|报告|预算|决算|所属|填报|编报|项目)年度\s*[：:|]\s*((?:19|20)\d{2})")
_COVER = 3000  # characters of the body that hold the cover page and its form fields


def _year_of(title: str, body: str, source: str) -> int | None:
    m = re.search(_YEAR, title) or _BARE_YEAR.search(title) or _YEAR_FIELD.search(body[:_COVER])
    if m:
        return int(m.group(1))
    # The reporting year is stated as 对2021年度… near the top; dates such as 2022年3月 are not it.
    counts = Counter(int(y) for y in re.findall(r"((?:19|20)\d{2})\s*年度", body[:3000]))
    if counts:
        return counts.most_common(1)[0][0]
    # File names last, and only a free-standing year: hash-like names contain digit runs.
    m = re.search(r"(?<![0-9A-Za-z])((?:19|20)\d{2})(?![0-9A-Za-z])", source)
    return int(m.group(1)) if m else None


def _kind_of(title: str, body: str) -> ReportKind:
    for text in (title, body[:1500]):
        for kind, cue in _KIND_CUES:
            if cue.search(text):
                return kind
    return "其他"


def _first(pattern: re.Pattern[str], text: str) -> str:
    for m in pattern.finditer(text):
        name = m.group(1)
        if not _NOT_REGION.search(name):
            return name
    return ""


# jieba cuts each maximal run of these characters on its own (jieba.posseg.re_han_internal), so cutting only
# the runs that contain 区 or 县 yields exactly the words a cut of the whole text would that can match _COUNTY.
_JIEBA_BLOCK = re.compile("[\u4e00-\u9fd5a-zA-Z0-9+#&\\._]+")


def _body_county(body: str) -> str:
    """The county/district the body keeps naming (jieba place names, seen at least twice), or ''.

    Only the text runs that can hold such a name are tagged: the HMM tagger over the whole 6,000 characters
    was 95 % of parsing a report (~30 ms), CPU taken from the encoder during ingest."""
    blocks = [b for b in _JIEBA_BLOCK.findall(body[:6000]) if "区" in b or "县" in b]
    counts = Counter(
        word
        for block in blocks
        for word, flag in pseg.cut(block)
        if flag == "ns" and _COUNTY.fullmatch(word) and not _NOT_REGION.search(word)
    )
    best = counts.most_common(1)
    return best[0][0] if best and best[0][1] >= 2 else ""


def _region_of(unit: str, title: str, body: str) -> str:
    """Province/city/county path as written in the unit name or title (湖南省 + 益阳市 + 赫山区).

    The body is noisy (events in other provinces, 全市排名, 内五区), so it only supplies a county that the
    report keeps naming when the title has none.
    """
    parts: list[str] = []
    # "中共上海市普陀区委…": the party prefix is not part of the place name.
    texts = [re.sub(r"^(?:中共|中国共产党)", "", t) for t in (unit, title)]
    for pattern in (_PROVINCE, _CITY, _COUNTY):
        for text in texts:
            found = _first(pattern, text)
            if found:
                parts.append(found)
                # Blank it out so "益阳市赫山区" yields 赫山区, not 市赫山区, at the next level.
                texts = [t.replace(found, "，") for t in texts]
                break
    if not parts or not _COUNTY.fullmatch(parts[-1]):
        parts.append(_body_county(body))
    return "".join(parts)


# Where the unit name in a title ends: the year, or the words that name the report rather than its author
# ("…局2024年度部门决算", "…局部门决算（2024年度）", "…局“城市绿化养护”项目支出绩效自评报告").
_UNIT_END = re.compile(
    r"(?:19|20)\d{2}\s*年|年度|关于|部门整体|整体支出|项目支出|重点项目|部门决算|部门预算|单位决算|绩效|[“\"《「（(]"
)
_LEADING_YEAR = re.compile(r"^\s*(?:关于)?\s*(?:(?:19|20)\d{2}\s*年度?)?")
# A cover's form fields naming the reporting unit. Only these labels: 主管部门 names the parent, 评价机构 /
# 评价单位 the auditor, and a bare 单位 is as often the unit of measure (单位：万元).
_UNIT_FIELD = re.compile(
    r"(?:填报单位|单位名称|预算单位|编报单位|编制单位|报送单位|部门名称|部门（单位）名称|项目单位|项目实施单位|实施单位)"
    r"\s*(?:[（(]盖章[）)])?\s*[：:|]\s*([^\s|，,。；;：:（(]{2,40})"
)
# "第一部分 上海市普陀区财政局概况", "第三部分 上海市普陀区财政局2024年度部门决算情况说明".
_PART_HEADING = re.compile(r"^第[一二三四五六七八九十]+部分\s*(.+)$", re.MULTILINE)
_PART_END = re.compile(r"(?:19|20)\d{2}\s*年|年度|概况|基本情况|部门决算|决算|情况说明|部门预算|预算")


def _org(candidate: str) -> str:
    """candidate when it reads as an organisation's name (ends like one, no sentence or form punctuation)."""
    candidate = candidate.strip(" \t:：·-—")
    if not 3 <= len(candidate) <= 40 or re.search(r"[，,。；;：:|\s]", candidate):
        return ""
    return candidate if _UNIT_SUFFIX.search(candidate) else ""


def _unit_of(title: str) -> str:
    """The organisation the title names: before the year ("桃江县…中心2022年度…"), or after a leading year and
    before the report-kind words ("2021年度区商务局项目支出…"); '' when that text is not an organisation."""
    text = _LEADING_YEAR.sub("", title, count=1)
    # The year first: a unit's own name may hold report words (桃江县重点项目建设事务中心2022年度…).
    for cue in (re.compile(_YEAR), _UNIT_END):
        cut = cue.search(text)
        found = _org(text[: cut.start()]) if cut else ""
        if found:
            return found
    return ""


def _title_line_unit(title: str, body: str) -> str:
    """A title line that is an organisation's name by itself, once its year is removed ("2024年部门决算" /
    "上海市普陀区残疾人联合会"). Title lines are the body's first lines whose concatenation is the title."""
    joined = ""
    for line in body.lstrip().split("\n")[:6]:
        line = line.strip()
        if not line:
            continue
        joined += line
        if not title.startswith(joined):
            break
        found = _org(_BARE_YEAR.sub("", re.sub(_YEAR + "度?", "", line)))
        if found and not _UNIT_END.search(found):
            return found
    return ""


def _field_unit(body: str) -> str:
    """The unit a cover's form field names (填报单位：… / 单位名称 | …), when all such fields agree."""
    found = {_org(m.group(1)) for m in _UNIT_FIELD.finditer(body[:_COVER])} - {""}
    return found.pop() if len(found) == 1 else ""


def _part_heading_unit(body: str) -> str:
    """The unit that heads at least two of the report's parts ("第一部分 上海市普陀区财政局概况")."""
    counts: Counter[str] = Counter()
    for m in _PART_HEADING.finditer(body):
        cut = _PART_END.search(m.group(1))
        found = _org(m.group(1)[: cut.start()]) if cut else ""
        if found:
            counts[found] += 1
    best = counts.most_common(2)
    if best and best[0][1] >= 2 and (len(best) == 1 or best[1][1] < best[0][1]):
        return best[0][0]
    return ""


def infer_metadata(title: str, body: str, source: str) -> DocMetadata:
    # The title first; then what a cover or the report's own part headings say when the title names no one.
    unit = _unit_of(title) or _title_line_unit(title, body) or _field_unit(body) or _part_heading_unit(body)
    region = _region_of(unit, title, body)
    # "区商务局" / "县财政局": the title drops the area it belongs to; name it only when the region says which.
    if unit[:1] in ("区", "县") and region.endswith(unit[0]):
        county = _first(_COUNTY, region)
        unit = county + unit[1:] if county else ""
    return DocMetadata(
        title=title, unit=unit, region=region, year=_year_of(title, body, source), report_kind=_kind_of(title, body)
    )


# --- manifest -------------------------------------------------------------------------------------------

_MANIFEST_FIELDS = ("unit", "region", "year", "report_kind", "title")


def load_manifest(path: Path) -> dict[str, dict[str, str]]:
    """file name → overrides, from CSV (header: file,unit,region,year,report_kind[,title]) or JSON.

    JSON is either {"file.txt": {"unit": …}} or [{"file": "file.txt", "unit": …}, …].
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise IngestError(path.name, f"清单文件无法读取：{exc}") from exc
    rows: list[dict[str, str]]
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
            rows = [{"file": k, **v} for k, v in data.items()] if isinstance(data, dict) else list(data)
        else:
            rows = list(csv.DictReader(text.splitlines()))
    except (json.JSONDecodeError, csv.Error, TypeError, AttributeError) as exc:
        raise IngestError(path.name, f"清单文件格式错误：{exc}") from exc
    manifest: dict[str, dict[str, str]] = {}
    for row in rows:
        name = str(row.get("file") or "").strip()
        if not name:
            raise IngestError(path.name, "清单文件每一行都需要 file 列")
        manifest[Path(name).name] = {k: str(row[k]).strip() for k in _MANIFEST_FIELDS if row.get(k) not in (None, "")}
    return manifest


def apply_overrides(meta: DocMetadata, overrides: dict[str, str], source: str) -> DocMetadata:
    changes: dict[str, object] = {k: v for k, v in overrides.items() if k in ("unit", "region", "title")}
    if "year" in overrides:
        try:
            changes["year"] = int(overrides["year"])
        except ValueError as exc:
            raise IngestError(source, f"清单中的年份不是整数：{overrides['year']}") from exc
    if "report_kind" in overrides:
        if overrides["report_kind"] not in REPORT_KINDS:
            raise IngestError(
                source, f"清单中的报告类型无效：{overrides['report_kind']}（可选：{'、'.join(REPORT_KINDS)}）"
            )
        changes["report_kind"] = overrides["report_kind"]
    return replace(meta, **changes)  # type: ignore[arg-type]
