"""Heading tree of a cleaned report, built from its own numbering (第X部分 / 一、 / （一） / 1. / （1） / ⑴).

Reports are inconsistent (a （2） after （一）, a skipped 三、, "1、 标题" used as a heading above items
numbered 1、 2、), so levels come from the marker type and a numbered line is either a *heading* (a short
title) or an *item* (a numbered paragraph such as "1、预算编制不够细化。"). Items never set a role of
their own: their text talks about 预算 or 资金 without being a funds section.

>>> s = parse_structure("标题\\n七、存在的问题\\n1、预算编制不够细化。\\n八、下一步改进措施\\n细化预算。")
>>> [(n.kind, n.title, n.role) for n in s.nodes]
[('title', '标题', 'overview'), ('heading', '七、存在的问题', 'problems'), ('item', '1、预算编制不够细化。', 'problems'), ('heading', '八、下一步改进措施', 'measures')]
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from ingest.document import HeadingHint
from ingest.schema import FINDING_ROLE_OF_SECTION, SectionRole
from ingest.text import is_table_row

NodeKind = Literal["title", "preamble", "heading", "item"]

_CN_NUM = "一二三四五六七八九十百零〇"
# (level, pattern matching the marker at the start of a line). Order matters: first match wins.
_MARKERS: tuple[tuple[int, re.Pattern[str]], ...] = (
    (0, re.compile(rf"^第[{_CN_NUM}\d]+(部分|章)\s*")),
    (1, re.compile(rf"^[{_CN_NUM}]+[、.．]\s*")),
    (2, re.compile(rf"^[（(][{_CN_NUM}]+[）)]\s*")),
    (3, re.compile(r"^\d{1,2}(?:\s?[、．]|\.(?!\d))\s*")),
    (4, re.compile(r"^[（(]\d{1,2}[）)]\s*")),
    (5, re.compile(r"^[⑴⑵⑶⑷⑸⑹⑺⑻⑼⑽⑾⑿⒀⒁⒂⒃⒄⒅⒆⒇①②③④⑤⑥⑦⑧⑨⑩]\s*")),
)
_SENTENCE_END = "。！？；!?;"
_FINDING_ROLES = tuple(FINDING_ROLE_OF_SECTION)
# A title is at most this long; longer numbered lines are paragraphs (items).
_MAX_TITLE = 30
_MAX_DOC_TITLE_LINE = 45
_FORM_FIELD = re.compile(r"^[^：:]{2,12}[：:]\s*\S")

# Role cues, checked in this order against a heading's own title (first hit wins).
_ROLE_CUES: tuple[tuple[SectionRole, re.Pattern[str]], ...] = (
    ("other", re.compile(r"其他需要说明|其它需要说明")),
    (
        "problems",
        re.compile(r"存在的?问题|问题及原因|问题与原因|困难|存在的?不足|不足之处|主要问题|存在问题|问题和不足|短板"),
    ),
    ("measures", re.compile(r"建议|改进措施|整改措施|下一步|改进方向|工作打算|工作计划|努力方向|意见")),
    ("overview", re.compile(r"基本情况|概况|单位概况|职能|机构设置|主要职责|人员编制|部门简介")),
    ("performance", re.compile(r"绩效|成效|效益|评价结论|评价结果|目标完成|产出|完成情况|工作情况")),
    ("funds", re.compile(r"资金|支出|预算|决算|收入|经费|财务|资产|三公")),
)


@dataclass(frozen=True)
class Node:
    """One line-started unit of the tree. Its own text runs from `start` to `end` (the next node)."""

    kind: NodeKind
    level: int  # -1 title/preamble, 0 第X部分 … 5 ⑴
    title: str  # heading line (headings), first sentence (items), joined title lines (title)
    path: tuple[str, ...]  # titles of enclosing headings, then this one (items: their heading's path)
    role: SectionRole
    start: int
    end: int

    @property
    def section(self) -> str:
        return " > ".join(self.path)


@dataclass(frozen=True)
class DocStructure:
    title: str
    nodes: tuple[Node, ...]

    def headings(self) -> list[Node]:
        return [n for n in self.nodes if n.kind == "heading"]

    def items(self) -> list[Node]:
        return [n for n in self.nodes if n.kind == "item"]


def marker_level(line: str) -> tuple[int, int] | None:
    """(level, marker length) when the line starts with a numbering marker."""
    for level, pattern in _MARKERS:
        m = pattern.match(line)
        if m:
            return level, m.end()
    return None


def role_of(title: str) -> SectionRole | None:
    for role, cue in _ROLE_CUES:
        if cue.search(title):
            return role
    return None


def _first_sentence(text: str) -> str:
    for i, ch in enumerate(text):
        if ch in _SENTENCE_END:
            return text[: i + 1]
    return text


def _shorten(text: str, limit: int = _MAX_TITLE * 2) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _classify(line: str, hint_levels: dict[str, int]) -> tuple[NodeKind, int, str] | None:
    """kind, level and title of a line that starts a node, or None for body text."""
    stripped = line.strip()
    if is_table_row(stripped):
        return None  # "一、一般公共预算财政拨款收入 | 9746.50 | …" is a table row, not a heading
    if stripped in hint_levels:
        found = marker_level(stripped)
        return "heading", found[0] if found else hint_levels[stripped], stripped
    found = marker_level(stripped)
    if found is None:
        return None
    level, marker_len = found
    rest = stripped[marker_len:]
    if not rest:
        return None
    head = _first_sentence(rest)
    title_only = head == rest and rest[-1] not in "。！？!?"
    if title_only and len(rest) <= _MAX_TITLE:
        return "heading", level, stripped
    # 一、 and （一） lines are headings even when long or followed by text on the same line
    # ("（一）项目单位基本情况。该项目主要由…"); the title is their first sentence, shortened.
    if level <= 2:
        return "heading", level, stripped[:marker_len] + _shorten(head.rstrip("。：:"))
    return "item", level, stripped[:marker_len] + _shorten(head)


def _title_lines(lines: list[tuple[int, str]], hint_levels: dict[str, int]) -> int:
    """How many leading non-empty lines form the document title (short lines before the body starts)."""
    count = 0
    for _, line in lines:
        text = line.strip()
        if _classify(text, hint_levels) is not None and not (count == 0 and text in hint_levels):
            break
        if len(text) > _MAX_DOC_TITLE_LINE or text[-1] in "。！？；，,：:":
            break
        # A cover's form fields ("编制日期：2025年3月", "填报单位 | …") follow the title; they are not part of it.
        if is_table_row(text) or _FORM_FIELD.match(text):
            break
        count += 1
        if count == 3:
            break
    return count


def parse_structure(text: str, hints: tuple[HeadingHint, ...] = ()) -> DocStructure:
    hint_levels = {h.text.strip(): h.level for h in hints if h.text.strip()}
    lines: list[tuple[int, str]] = []
    pos = 0
    for raw_line in text.split("\n"):
        if raw_line.strip():
            lines.append((pos, raw_line))
        pos += len(raw_line) + 1

    starts: list[tuple[NodeKind, int, str, int]] = []  # kind, level, title, start offset
    n_title = _title_lines(lines, hint_levels)
    doc_title = "".join(line.strip() for _, line in lines[:n_title])
    if n_title:
        starts.append(("title", -1, doc_title, lines[0][0]))
    body = lines[n_title:]
    if body and _classify(body[0][1], hint_levels) is None:
        starts.append(("preamble", -1, "", body[0][0]))
    for offset, line in body:
        found = _classify(line, hint_levels)
        if found:
            kind, level, title = found
            starts.append((kind, level, title, offset + len(line) - len(line.lstrip())))

    nodes: list[Node] = []
    stack: list[tuple[int, str, SectionRole]] = []  # open headings: level, title, role
    for i, (kind, level, title, start) in enumerate(starts):
        end = starts[i + 1][3] if i + 1 < len(starts) else len(text)
        end = len(text[:end].rstrip())
        if kind in ("title", "preamble"):
            nodes.append(Node(kind, level, title, (), "overview", start, end))
            continue
        # A heading closes open headings at its level; an item only closes deeper ones, so items
        # numbered 1、2、 stay under a heading that was itself numbered "1、 重点项目支出主要绩效".
        while stack and (stack[-1][0] >= level if kind == "heading" else stack[-1][0] > level):
            stack.pop()
        inherited: SectionRole = stack[-1][2] if stack else "other"
        if kind == "heading":
            role = role_of(title) or inherited
            # Inside a problems/measures section a sub-heading such as "2、规范资金核算" or "（一）预算执行方面"
            # names the topic of a problem or measure, not a funds/performance section of its own.
            if inherited in _FINDING_ROLES and role not in (*_FINDING_ROLES, "other"):
                role = inherited
            stack.append((level, title, role))
            nodes.append(Node(kind, level, title, tuple(t for _, t, _ in stack), role, start, end))
        else:
            nodes.append(Node(kind, level, title, tuple(t for _, t, _ in stack), inherited, start, end))
    return DocStructure(doc_title, tuple(nodes))
