"""Findings: each problem or measure a report states in its problems / measures sections, with exact offsets.

Built on the heading tree (`ingest.structure`): every node whose section_role is problems or measures contributes
its own text, cut into findings as the report numbers them:
- a numbered item ("1、预算编制不够细化。") is a finding, together with the unnumbered paragraphs that follow it
  (its explanation) up to a closing remark ("总之，…");
- a one-line list ("1、预算编制不够细化。 2、缺乏专业人才。") is one finding per number;
- sub-items inside an item or paragraph ("一是…；二是…", "（1）…（2）…", "①…②…") are one finding each; what
  precedes them ("1、部分项目管理不够规范。", "为进一步规范项目管理，") is their `lead`, not a finding;
- an unnumbered paragraph directly under the section heading is a finding (a paragraph is one problem with its
  reasons, "…因…，导致…", so it is not cut into sentences);
- a sub-heading with a body ("1、规范项目管理" + paragraph, "（一）进一步优化服务，…。着手建立…") is a finding
  spanning both, unless the body has sub-items; a bare sub-heading ("（一）提高认识，突出重点") is the lead of the
  items under it.
Lead-in lines ending with a colon ("主要存在以下问题：") and empty statements ("无。") are not findings.

>>> from ingest.structure import parse_structure
>>> doc = "报告\\n四、存在的问题\\n1、预算编制不够细化。 2、缺乏专业人才。\\n五、建议\\n加强管理，一是细化预算；二是引进人才。"
>>> [(f.role, f.text, f.lead) for f in extract_findings(doc, parse_structure(doc))]
[('problem', '1、预算编制不够细化。', ''), ('problem', '2、缺乏专业人才。', ''), ('measure', '一是细化预算', '加强管理'), ('measure', '二是引进人才。', '加强管理')]
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.schema import FINDING_ROLE_OF_SECTION, FindingRole, announces
from ingest.structure import DocStructure, Node, marker_level, role_of
from ingest.text import is_table_row, sentence_spans

_CN_ORD = "一二三四五六七八九十"
_CIRCLED = "⑴⑵⑶⑷⑸⑹⑺⑻⑼⑽①②③④⑤⑥⑦⑧⑨⑩"
# Where an inline marker may start: line start, after a sentence/clause end, a colon or a space.
_BOUNDARY = r"(?:(?<=^)|(?<=[。；;！？!?：:，,\s]))"
# Inline list markers by kind; group "n" is the number. 一是 needs no boundary ("管理，一是…" is common).
_INLINE: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("arabic", re.compile(_BOUNDARY + r"(?P<n>\d{1,2})\s?(?:[、．]|\.(?!\d))")),
    ("cn_is", re.compile(rf"(?P<n>[{_CN_ORD}])是(?=[^，,。；;]{{2}})")),
    ("paren", re.compile(_BOUNDARY + r"[（(](?P<n>\d{1,2})[）)]")),
    ("circled", re.compile(_BOUNDARY + rf"(?P<n>[{_CIRCLED}])")),
)
_CLOSING = re.compile(r"^(总之|综上|总而言之|总的来说)")
_EMPTY = re.compile(r"^(无|暂无|没有|无其他)[^\u4e00-\u9fa5]{0,3}$|^无(其他)?(需要说明的|存在的)?问题[。.]?$")
# "No problem found" is a statement about the whole report, not a finding (本年度未发现明显问题。, 无需要说明的问题,
# 均未指出问题, 暂无需整改事项, 存在的问题：无。): nothing found, or nothing of a kind that could be a problem.
_NONE_OBJECT = r"(?:问题|偏差|情况|违规|违纪|不足|事项|短板|差错|现象)"
_NONE_FOUND = re.compile(
    r"(?:未|没有|暂未|尚未|均未|并未|没)(?:发现|出现|指出|查出|发生|存在)[^。；;！!]{0,24}?"
    + _NONE_OBJECT
    + r"(?:[和及]不足|和问题)?"
    + r"|(?:无|暂无|没有|不存在|并无|均无)(?:明显|重大|突出|其他|任何|需要说明|需要特别说明|需要整改|需整改|存在){0,2}的?"
    r"(?:问题|偏差|不足|事项|短板)(?:和不足|和问题|需要整改)?(?=$|[。.，,；;])"
    r"|(?:无|暂无)(?:问题)?需(?:要)?整改|不存在[^。；;，,]{0,16}(?:情况|现象)"
    r"|^[^，,。]{0,10}(?:问题|不足)[：:]\s*(?:无|暂无|没有)[。.]?$"
)
# …unless what is left of the sentence negates or faults something else ("未发现重大问题，但个别项目进度滞后",
# "自评称未发现问题，与审计结果不符", "监督流于形式，多年未发现问题").
_PROBLEM_BESIDES = re.compile(
    r"(?<![不])不(?![断少仅但])|未(?!来)|没有|缺|难以|滞后|偏[慢低高]|较低|流于形式|走过场|薄弱|差距|但|隐患|风险"
)


# A problem put right ("上年度审计指出的资产管理不规范问题已整改到位。") is no problem of the report's year: the sentence
# ends on it having been rectified, and nothing in it says part of it, or something else, is still open.
_PUT_RIGHT = re.compile(
    r"(?:(?:已经?|均已|已全部|全部)(?:得到)?(?:整改|纠正|解决)(?:到位|完毕|完成)?|(?<![未没不])整改(?:到位|完毕))"
    r"[^，,；;。]{0,4}[。.！!]?$"
)
_STILL_OPEN = re.compile(r"部分|个别|尚|仍|还|但|未(?!来)|没有|不到位")


def states_no_problem(sentence: str) -> bool:
    """Whether a sentence says that nothing was found wrong (and states no problem besides), or that what was found
    has been put right.

    >>> [states_no_problem(s) for s in ("本年度未发现明显问题。", "均未指出本单位存在问题。", "存在的问题：无。")]
    [True, True, True]
    >>> [states_no_problem(s) for s in ("未发现重大问题，但个别项目进度滞后。", "预算编制不够细化。")]
    [False, False]
    >>> [states_no_problem(s) for s in ("上年度指出的政府采购不规范问题已得到纠正。", "部分问题至今未整改到位。")]
    [True, False]
    """
    rest = _NONE_FOUND.sub("|", sentence)
    if rest != sentence:
        return not _PROBLEM_BESIDES.search(rest)
    put_right = _PUT_RIGHT.search(sentence.strip())
    return put_right is not None and not _STILL_OPEN.search(sentence[: put_right.start()] + sentence[put_right.end() :])


# Problems stated outside a problems section, after a turn such as "但也存在一些不足，" in an evaluation conclusion
# or a 部门决算's 预算绩效 paragraph; they run to the end of the line or to a plan ("下一步，…").
_TURN = re.compile(
    r"(?:但|同时|不过|然而)?[，,]?(?:评价中|自评中|工作中)?(?:也|仍|还)?(?:存在|发现|反映出|暴露出)(?:了)?"
    r"(?:一些|以下|如下|部分|个别|若干|一定的)?(?:问题|不足|短板)(?:和不足|和问题)?(?:[，,：:]|(?=一是))"
)
_PLAN = re.compile(r"下一步|针对上述|针对以上|今后|为此，")
_TRIM = " \t\u3000；;，,、"
_MIN_CHARS = 4
_MAX_LEAD = 60


@dataclass(frozen=True)
class Finding:
    role: FindingRole
    text: str  # always document_text[char_start:char_end]
    char_start: int
    char_end: int
    section: str  # heading path of the node it comes from
    lead: str  # the headline or sub-heading it belongs to ("部分项目管理不够规范"), "" when none

    def sentences(self) -> list[tuple[int, int]]:
        """Absolute spans of the finding's sentences (what gets embedded and scored)."""
        return [(self.char_start + s, self.char_start + e) for s, e in sentence_spans(self.text)]


def _number(kind: str, token: str) -> int:
    if kind in ("arabic", "paren"):
        return int(token)
    if kind == "cn_is":
        return _CN_ORD.index(token) + 1
    return _CIRCLED.index(token) % 10 + 1


def _list_markers(text: str, start: int, end: int) -> list[int]:
    """Absolute starts of a run of inline list markers numbered 1, 2, 3 … (at least two) in text[start:end],
    of the first marker kind that has one; [] when there is none. A unit that itself starts with "1、" counts
    its own marker, so "1、… 2、…" is a list."""
    span = text[start:end]
    for kind, pattern in _INLINE:
        found = [(m.start(), _number(kind, m.group("n"))) for m in pattern.finditer(span)]
        run: list[int] = []
        for pos, n in found:
            if n == len(run) + 1:
                run.append(pos)
            elif n == 1 and len(run) < 2:
                run = [pos]  # a stray "1" before the real list starts it again
        if len(run) >= 2:
            return [start + p for p in run]
    return []


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start] in _TRIM + "\n":
        start += 1
    while end > start and text[end - 1] in _TRIM + "\n":
        end -= 1
    return start, end


def _label(line: str) -> str:
    """A headline or heading as a short label: numbering marker and trailing punctuation removed."""
    line = line.strip()
    found = marker_level(line)
    if found:
        line = line[found[1] :]
    return line.strip(_TRIM + "。：:")[:_MAX_LEAD]


def _lead_of(text: str, start: int, end: int) -> str:
    """The label of a preamble: its first line ("1、部分项目管理不够规范。", "（二）进一步严格督考，…。")."""
    return _label(text[start:end].strip().split("\n")[0])


# What precedes the first colon of a finding, when it only announces the finding ("对照评价指标，项目实施中还存在一些不足：
# 与相关部门的信息共享还不够顺畅。", "针对上述问题，下一步将重点做好以下工作：…"): the lead, as it is before a numbered list,
# not part of the statement (its words, 评价指标 or 自评, would otherwise be judged as the problem's).
_PREFIX = re.compile(r"[^。；;！？!?：:\n]{2,40}[：:]")


def _announced(text: str, start: int, end: int, lead: str) -> tuple[int, int, str]:
    m = _PREFIX.match(text, start, end)
    if m is None or not announces(m.group()):
        return start, end, lead
    s, e = _trimmed(text, m.end(), end)
    return (s, e, m.group()[:-1].strip(_TRIM)) if e - s >= _MIN_CHARS else (start, end, lead)


def _split(text: str, start: int, end: int, lead: str) -> list[tuple[int, int, str]]:
    """(start, end, lead) of the findings in one unit: one per list number, then one per sub-item."""
    markers = _list_markers(text, start, end)
    if not markers:
        return [_announced(text, start, end, lead)]
    out: list[tuple[int, int, str]] = []
    if markers[0] > start:
        pre_s, pre_e = _trimmed(text, start, markers[0])
        sentences = sentence_spans(text, pre_s, pre_e) if "\n" not in text[pre_s:pre_e] else []
        if len(sentences) > 1:
            # Items inline after several sentences ("…流于表面。项目管理制度不健全。绩效自评工作不够扎实，一是…二是…"): the
            # sentence right before them is their lead, the ones before it are statements of their own.
            s, e = _trimmed(text, pre_s, sentences[-1][0])
            out.append((s, e, lead))
            pre_s = sentences[-1][0]
        if pre_e > pre_s:
            lead = _lead_of(text, pre_s, pre_e) or lead
    bounds = markers + [end]
    for s, e in zip(bounds, bounds[1:]):
        # A list item may carry sub-items of its own ("2、…：一是…二是…"): cut those too.
        out += _split(text, s, e, lead) if _list_markers(text, s + 1, e) else [(s, e, lead)]
    return out


def _lines(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Non-empty, non-table lines of text[start:end] as absolute (start, end), stripped."""
    out: list[tuple[int, int]] = []
    pos = start
    for line in text[start:end].split("\n"):
        s, e = _trimmed(text, pos, pos + len(line))
        pos += len(line) + 1
        if e > s and not is_table_row(text[s:e]):
            out.append((s, e))
    return out


def _is_finding(text: str) -> bool:
    body = text.strip()
    if len(body) < _MIN_CHARS or _EMPTY.match(body) or body[-1] in "：:":
        return False
    return not all(states_no_problem(body[s:e]) for s, e in sentence_spans(body))


def _defines_role(node: Node) -> bool:
    """The section heading itself ("七、存在的问题及原因分析"), as opposed to a sub-heading inside it."""
    return role_of(node.title) in FINDING_ROLE_OF_SECTION


def _units(text: str, node: Node, has_children: bool) -> list[tuple[int, int, str]]:
    """(start, end, lead) of the spans of one node that are findings or lists of findings."""
    lines = _lines(text, node.start, node.end)
    if not lines:
        return []
    head_s, head_e = lines[0]
    # Paragraphs after a closing remark ("总之，…") sum the section up; they are not findings.
    rest: list[tuple[int, int]] = []
    for s, e in lines[1:]:
        if _CLOSING.match(text[s:e]):
            break
        rest.append((s, e))
    if node.kind == "item":
        # The item with its explanation paragraphs; a sub-heading above it ("（一）提高认识，突出重点") leads it.
        parent = node.path[-1] if node.path else ""
        lead = "" if not parent or role_of(parent) in FINDING_ROLE_OF_SECTION else _label(parent)
        return [(head_s, rest[-1][1] if rest else head_e, lead)]
    if _defines_role(node):
        # Body paragraphs under the section heading, plus any text on the heading line after its title.
        units = [(s, e, "") for s, e in rest]
        title_end = head_s + len(node.title.rstrip("…"))
        if text[head_s:head_e].startswith(node.title.rstrip("…")) and head_e > title_end:
            s, e = _trimmed(text, title_end, head_e)
            while s < e and text[s] in "。：:":
                s += 1
            if e > s:
                units.insert(0, (s, e, ""))
        return units
    # A sub-heading: title and body are one unit; a bare title leads the items below it, or, with nothing
    # below it ("1.加强管理" in a list of short headings), is a finding itself.
    if not rest and text[head_s:head_e] == node.title and has_children:
        return []
    return [(head_s, rest[-1][1] if rest else head_e, "")]


def _turned(text: str, node: Node) -> list[tuple[int, int, str]]:
    """(start, end, lead) of the problems a node outside the problems/measures sections states after a turn
    ("经综合评价，…得分92分。但也存在一些不足，一是…；二是…。下一步，…")."""
    out: list[tuple[int, int, str]] = []
    for s, e in _lines(text, node.start, node.end):
        turn = _TURN.search(text, s, e)
        if turn is None:
            continue
        plan = _PLAN.search(text, turn.end(), e)
        start, end = _trimmed(text, turn.end(), plan.start() if plan else e)
        if end > start:
            out.append((start, end, ""))
    return out


def extract_findings(text: str, structure: DocStructure) -> list[Finding]:
    """Every finding of a cleaned document, in document order."""
    findings: list[Finding] = []
    nodes = structure.nodes
    for i, node in enumerate(nodes):
        role = FINDING_ROLE_OF_SECTION.get(node.role)
        if node.kind not in ("heading", "item", "preamble"):
            continue
        if role is None:
            role, units = "problem", _turned(text, node)
        elif node.kind == "preamble":
            continue
        else:
            units = _units(text, node, i + 1 < len(nodes) and nodes[i + 1].level > node.level)
        for start, end, lead in units:
            for s, e, sub_lead in _split(text, start, end, lead):
                s, e = _trimmed(text, s, e)
                if e > s and _is_finding(text[s:e]):
                    findings.append(Finding(role, text[s:e], s, e, node.section, sub_lead))
    return findings
