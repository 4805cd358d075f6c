"""One generated document as text: title line, preamble, sections numbered as real reports number them, filler
with numbers, and the bank sentences of its `DocParts` in the places real reports put them.

Layouts vary per document (recorded in `RenderedDoc.layout`): numbering scheme (一、/（一）/1、/1./第一部分), title
form (unit + year + kind, two lines, year only in the preamble, a short unit name), where the problems are stated
(their own section under one of many headings, a combined 问题与建议 section, or inside the 评价结论 paragraph),
and how (numbered lines, one line of several numbers, an "一是…二是…" run, a prose paragraph, sub-headings).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from qa.scale.bank import Common, UnitType

_CN = "一二三四五六七八九十"
_CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩"
SCHEMES: dict[str, tuple[str, ...]] = {
    "cn": ("{cn}、", "（{cn}）", "{n}、", "（{n}）"),
    "cn_dot": ("{cn}、", "（{cn}）", "{n}.", "（{n}）"),
    "cn_arabic": ("{cn}、", "{n}、", "（{n}）", "{c}"),
    "part": ("第{cn}部分 ", "{cn}、", "（{cn}）", "{n}、"),
}
ITEM_MARKERS = {"arabic": "{n}、", "dot": "{n}.", "paren": "（{n}）", "circled": "{c}"}


@dataclass(frozen=True)
class Planted:
    category: str
    topic: str
    text: str


@dataclass
class DocParts:
    unit: str
    short: str
    region_gov: str
    year: int
    kind: str
    project: str
    unit_type: UnitType
    problems: list[Planted]
    other_problems: list[str]
    positives: list[Planted]
    plans: list[Planted]
    surface: list[Planted]
    decoys: list[Planted]
    no_problem: Planted | None
    areas: dict[str, str]


@dataclass
class RenderedDoc:
    title: str
    text: str
    planted: list[Planted] = field(default_factory=list)
    layout: dict[str, str] = field(default_factory=dict)


# Blocks of a section body: a paragraph, a numbered sub-section, numbered item lines, items on one line.
@dataclass(frozen=True)
class Sub:
    title: str
    blocks: Sequence[Block]


@dataclass(frozen=True)
class Items:
    texts: list[str]
    marker: str


@dataclass(frozen=True)
class OneLine:
    texts: list[str]
    marker: str


Block = str | Sub | Items | OneLine
Section = tuple[str, Sequence[Block]]


def _cn(i: int) -> str:
    return _CN[i - 1] if i <= 10 else "十" + _CN[i - 11]


def _mark(fmt: str, i: int) -> str:
    return fmt.format(cn=_cn(i), n=i, c=_CIRCLED[(i - 1) % 10])


def _render(sections: list[Section], scheme: str, blank: bool) -> list[str]:
    fmts = SCHEMES[scheme]
    lines: list[str] = []

    def blocks(items: Sequence[Block], level: int) -> None:
        sub = 0
        for b in items:
            if isinstance(b, str):
                lines.append(b)
            elif isinstance(b, Sub):
                sub += 1
                lines.append(_mark(fmts[min(level, 3)], sub) + b.title)
                blocks(b.blocks, level + 1)
            elif isinstance(b, Items):
                lines.extend(_mark(ITEM_MARKERS[b.marker], j) + t for j, t in enumerate(b.texts, 1))
            else:
                lines.append(" ".join(_mark(ITEM_MARKERS[b.marker], j) + t for j, t in enumerate(b.texts, 1)))

    for i, (title, body) in enumerate(sections, 1):
        if blank:
            lines.append("")
        lines.append(_mark(fmts[0], i) + title)
        blocks(body, 1)
    return lines


def _run(texts: list[str], lead: str = "") -> str:
    """ "一是…；二是…。" — the sub-points of one paragraph."""
    return lead + "；".join(f"{_cn(i)}是{t.rstrip('。')}" for i, t in enumerate(texts, 1)) + "。"


def _prose(texts: list[str], joins: tuple[str, ...], rng: random.Random, lead: str = "") -> str:
    order = rng.sample(joins, len(joins))
    out = lead + texts[0]
    for i, t in enumerate(texts[1:]):
        out += order[i % len(order)] + t
    return out


class _Writer:
    """Renders one document: keeps the random choices and the planted sentences it used."""

    def __init__(self, parts: DocParts, common: Common, rng: random.Random) -> None:
        self.p, self.c, self.rng = parts, common, rng
        self.planted: list[Planted] = []
        self.layout: dict[str, str] = {}

    def pick(self, key: str) -> str:
        return self.rng.choice(self.c.headings[key])

    def use(self, items: list[Planted]) -> list[str]:
        self.planted += items
        return [x.text for x in items]

    # --- numbers and filler ------------------------------------------------------------------------------

    def money(self, low: float, high: float) -> float:
        return round(self.rng.uniform(low, high), 2)

    def staff(self) -> str:
        r = self.rng
        e = r.randint(8, 120)
        return f"本单位内设{r.randint(3, 12)}个股室，核定编制{e}名，实有在职人员{e - r.randint(0, 4)}人，退休人员{r.randint(0, 40)}人。"

    def budget(self) -> list[str]:
        """Income, spending and “三公” sentences with consistent numbers."""
        r = self.rng
        total = self.money(80, 3000)
        basic = round(total * r.uniform(0.4, 0.8), 2)
        spent = round(total * r.uniform(0.86, 1.0), 2)
        staff = round(basic * r.uniform(0.5, 0.85), 2)
        three = self.money(0.5, 30)
        return [
            f"{self.p.year}年度部门收入预算{total}万元，其中一般公共预算财政拨款{round(total * r.uniform(0.85, 1.0), 2)}万元，"
            f"其他收入{round(total * r.uniform(0, 0.1), 2)}万元。",
            f"全年支出{spent}万元，其中基本支出{basic}万元、项目支出{round(spent - basic, 2)}万元，预算执行率{round(spent / total * 100, 2)}%。"
            f"基本支出中，人员经费{staff}万元，占基本支出的{round(staff / basic * 100, 2)}%；公用经费{round(basic - staff, 2)}万元，"
            f"主要用于办公费、印刷费、水电费和差旅费等日常运转支出。",
            f"“三公”经费支出{three}万元，其中公务接待费{round(three * r.uniform(0.1, 0.5), 2)}万元。",
        ]

    def project_budget(self) -> str:
        amount = self.money(10, 1500)
        arrived = round(amount * self.rng.uniform(0.9, 1.0), 2)
        spent = round(arrived * self.rng.uniform(0.85, 1.0), 2)
        return f"项目年初预算{amount}万元，实际到位{arrived}万元，实际支出{spent}万元，预算执行率{round(spent / amount * 100, 2)}%。"

    def indicators(self) -> list[str]:
        r = self.rng
        out = []
        for name, unit in r.sample(
            list(self.p.unit_type.indicators), min(len(self.p.unit_type.indicators), r.randint(2, 3))
        ):
            target = r.randint(3, 2000) if unit != "%" else r.randint(85, 98)
            actual = round(target * r.uniform(0.95, 1.2)) if unit != "%" else min(100, target + r.randint(0, 5))
            out.append(f"{name}{actual}{unit}，目标值{target}{unit}，完成率{round(actual / target * 100, 1)}%。")
        out.append(f"满意度指标：服务对象满意度{round(r.uniform(88, 99), 1)}%。")
        return out

    def work(self) -> str:
        r = self.rng
        sentences = r.sample(self.c.work_sentences, r.randint(3, 5))
        name, unit = r.choice(self.p.unit_type.indicators)
        sentences.insert(
            r.randint(1, len(sentences)),
            f"全年{name}{r.randint(5, 3000)}{unit}，较上年有所增加。"
            if unit != "%"
            else f"全年{name}达到{r.randint(90, 99)}%。",
        )
        return "".join(sentences)

    def targets(self) -> str:
        r = self.rng
        parts = [
            f"{name}不少于{r.randint(3, 2000)}{unit}"
            for name, unit in r.sample(list(self.p.unit_type.indicators), min(2, len(self.p.unit_type.indicators)))
            if unit != "%"
        ]
        return f"项目年度绩效目标为：{'，'.join(parts) or '按期完成各项建设任务'}，服务对象满意度不低于90%。"

    def score_line(self, scope: str) -> str:
        score = round(self.rng.uniform(78, 98), 1)
        grade = "优" if score >= 90 else "良" if score >= 80 else "中"
        self.layout["score"] = str(score)
        return f"经综合评价，{self.p.year}年度{scope}绩效自评得分{score}分，评价等级为“{grade}”。"

    def scatter(self, paragraphs: list[list[str]], items: list[Planted]) -> None:
        """Surface sentences and decoys appended to filler paragraphs (each paragraph is a list of sentences)."""
        for text in self.use(items):
            self.rng.choice(paragraphs).append(text)

    # --- problems and measures ----------------------------------------------------------------------------

    def problem_texts(self) -> list[str]:
        texts = self.use(self.p.problems)
        for other in self.p.other_problems:
            texts.insert(self.rng.randint(0, len(texts)), other)
        return texts

    def problem_blocks(self, texts: list[str]) -> Sequence[Block]:
        r = self.rng
        nested = any("一是" in t for t in texts)
        style = r.choices(["list", "oneline", "run", "prose", "subs"], [45, 8, 20, 15, 12])[0]
        if style == "run" and (len(texts) < 2 or nested):
            style = "list"
        if style == "oneline" and (len(texts) < 2 or nested):
            style = "prose"
        self.layout["problem_items"] = style
        colon_leads = [x for x in self.c.problem_leads if x.endswith("：")]
        if style == "list":
            marker = r.choice(["arabic", "arabic", "dot", "paren"])
            return ([r.choice(colon_leads)] if r.random() < 0.4 else []) + [Items(texts, marker)]
        if style == "oneline":
            return [OneLine(texts, r.choice(["arabic", "paren"]))]
        if style == "run":
            return [_run(texts, r.choice(self.c.problem_leads) if r.random() < 0.7 else "")]
        if style == "prose":
            return [_prose(texts, self.c.prose_joins, r, r.choice(self.c.problem_leads) if r.random() < 0.5 else "")]
        areas = self.areas_of(texts)
        return [Sub(area, [text]) for area, text in zip(areas, texts)]

    def areas_of(self, texts: list[str]) -> list[str]:
        by_text = {p.text: self.p.areas.get(p.topic, "其他方面") for p in self.p.problems}
        return [by_text.get(t, "其他方面") for t in texts]

    def measure_blocks(self) -> Sequence[Block]:
        r = self.rng
        texts = self.use(self.p.plans)
        if r.random() < 0.5 or not texts:
            texts.insert(r.randint(0, len(texts)), r.choice(self.c.generic_measures))
        style = r.choices(["list", "run", "prose"], [55, 25, 20])[0]
        if style == "run" and len(texts) < 2:
            style = "list"
        self.layout["measure_items"] = style
        if style == "list":
            return ([r.choice(self.c.measure_leads)] if r.random() < 0.4 else []) + [
                Items(texts, r.choice(["arabic", "dot", "paren"]))
            ]
        if style == "run":
            return [_run(texts, r.choice(self.c.measure_leads))]
        return [_prose(texts, self.c.prose_joins, r, r.choice(self.c.measure_leads))]

    def closing_sections(self, conclusion: list[str]) -> list[Section]:
        """Problems (own section, combined with measures, or in the conclusion paragraph), measures, other."""
        r = self.rng
        out: list[Section] = []
        has_problems = bool(self.p.problems)
        placement = (
            r.choices(["section", "combined", "conclusion"], [75, 12, 13])[0]
            if has_problems
            else r.choices(["no_problem", "none"], [75, 25])[0]
        )
        self.layout["placement"] = placement
        if placement == "conclusion":
            texts = self.problem_texts()
            turn = r.choice(self.c.conclusion_turns)
            conclusion.append(
                _run(texts, turn) if len(texts) > 1 and not any("一是" in t for t in texts) else turn + "".join(texts)
            )
        elif placement == "section":
            heading = self.pick("problems")
            self.layout["problems_heading"] = heading
            out.append((heading, self.problem_blocks(self.problem_texts())))
        elif placement == "combined":
            heading = self.pick("combined")
            self.layout["problems_heading"] = heading
            problems = Sub(self.pick("combined_sub_problems"), self.problem_blocks(self.problem_texts()))
            return (
                out
                + [(heading, [problems, Sub(self.pick("combined_sub_measures"), self.measure_blocks())])]
                + self.other_section()
            )
        elif placement == "no_problem":
            assert self.p.no_problem is not None
            heading = self.pick("problems")
            self.layout["problems_heading"] = heading
            out.append((heading, self.use([self.p.no_problem])))
        measures = self.pick("measures")
        self.layout["measures_heading"] = measures
        out.append((measures, self.measure_blocks()))
        return out + self.other_section()

    def other_section(self) -> list[Section]:
        if self.rng.random() < 0.4:
            return [(self.pick("other"), [self.rng.choice(["无。", "无其他需要说明的情况。"])])]
        return []

    # --- titles ------------------------------------------------------------------------------------------

    def title(self) -> list[str]:
        p, r = self.p, self.rng
        u, y = p.unit, p.year
        if p.kind == "部门整体支出":
            forms = {
                "unit_year": [f"{u}{y}年度部门整体支出绩效自评报告"],
                "unit_year_eval": [f"{u}{y}年度部门整体支出绩效评价报告"],
                "year_unit": [f"{y}年度{u}部门整体支出绩效自评报告"],
                "about": [f"{u}关于{y}年度部门整体支出绩效自评情况的报告"],
                "two_lines": [u, f"{y}年度部门整体支出绩效自评报告"],
                "no_year": [u, "", "部门整体支出绩效评价报告"],
            }
            weights = {
                "unit_year": 30,
                "unit_year_eval": 15,
                "year_unit": 15,
                "about": 10,
                "two_lines": 15,
                "no_year": 7,
            }
        elif p.kind == "项目支出":
            j = p.project
            forms = {
                "unit_year": [f"{u}{y}年度{j}项目支出绩效自评报告"],
                "year_unit": [f"{y}年度{u}{j}项目绩效自评报告"],
                "about": [f"{u}关于{y}年度“{j}”项目支出绩效自评的报告"],
                "special_fund": [f"{u}{y}年{j}{'' if j.endswith('经费') else '专项资金'}绩效自评报告"],
                "two_lines": [f"{u}{y}年度", f"{j}项目支出绩效自评报告"],
                "unit_after": [f"{y}年度{j}项目支出绩效自评报告", u],
            }
            weights = {
                "unit_year": 35,
                "year_unit": 15,
                "about": 12,
                "special_fund": 10,
                "two_lines": 13,
                "unit_after": 7,
            }
        else:
            forms = {"final": [f"{u}{y}年度部门决算"], "final_notes": [f"{u}{y}年度部门决算情况说明"]}
            weights = {"final": 60, "final_notes": 40}
        if p.short and p.kind != "部门决算" and r.random() < 0.08:
            kind_words = "部门整体支出绩效自评报告" if p.kind == "部门整体支出" else f"{p.project}项目支出绩效自评报告"
            self.layout["title"] = "short_unit"
            return [f"{y}年度{p.short}{kind_words}"]
        name = r.choices(sorted(weights), [weights[k] for k in sorted(weights)])[0]
        self.layout["title"] = name
        return forms[name]

    def preamble(self) -> str:
        p = self.p
        scope = "部门整体支出" if p.kind == "部门整体支出" else f"“{p.project}”项目支出"
        return self.rng.choice(self.c.preambles).format(region_gov=p.region_gov, year=p.year, scope=scope, unit=p.unit)


def _report(w: _Writer) -> tuple[list[str], list[Section]]:
    p, r = w.p, w.rng
    dept = p.kind == "部门整体支出"
    overview = [
        p.unit_type.duties
        if dept
        else f"“{p.project}”项目由{p.unit}组织实施，主要用于{r.choice(['项目实施、设备购置及运行维护', '相关补助发放和工作经费保障', '工程建设和配套设施完善'])}。"
        + w.targets()
    ]
    work = [w.work()]
    staff = [
        w.staff(),
        f"内设{r.choice(['办公室、财务股和业务股', '综合办公室、计划财务股和业务管理股', '办公室、财务室及若干业务科室'])}等机构，财务工作由专人负责。",
    ]
    budget = (
        w.budget()
        if dept
        else [
            w.project_budget(),
            f"资金来源为{r.choice(['中央和省级补助资金', '本级财政预算安排', '上级转移支付和本级配套资金'])}，按照项目实施进度分批拨付。",
        ]
    )
    funds = r.sample(w.c.funds_filler, 2) + w.use(w.p.positives)
    perf = w.indicators()
    w.scatter([overview, budget, perf, work], p.surface + p.decoys)
    sections: list[Section] = []
    if dept:
        body: list[Block] = (
            [Sub("单位职能", ["".join(overview)]), Sub("机构设置及人员情况", ["".join(staff)])]
            if r.random() < 0.6
            else ["".join(overview), "".join(staff)]
        )
        sections.append((w.pick("overview_dept"), body))
    else:
        sections.append((w.pick("overview_proj"), ["".join(overview), f"{p.unit}{p.unit_type.duties}"]))
    own_funds = r.random() < 0.6
    budget_key = "budget_dept" if dept else "budget_proj"
    sections.append((w.pick(budget_key), [budget[0], "".join(budget[1:])] + ([] if own_funds else ["".join(funds)])))
    if own_funds:
        sections.append((w.pick("funds_mgmt") if dept else w.pick("organization"), ["".join(funds)]))
    sections.insert(1 if r.random() < 0.5 else len(sections), (r.choice(w.c.work_headings), ["".join(work)]))
    sections.append(("绩效评价工作情况", r.sample(w.c.process, 2)))
    perf_blocks: list[Block] = [Items(perf, r.choice(["arabic", "paren"]))] if r.random() < 0.5 else ["".join(perf)]
    if r.random() < 0.6:
        perf_blocks.append("".join(r.sample(w.c.analysis, r.randint(2, 4))))
    sections.append((w.pick("performance_dept" if dept else "performance_proj"), perf_blocks))
    conclusion = [w.score_line("部门整体支出" if dept else f"“{p.project}”项目")]
    closing = w.closing_sections(conclusion)
    sections.append((w.pick("conclusion"), ["".join(conclusion)]))
    return [w.preamble()], sections + closing


def _final_accounts(w: _Writer) -> tuple[list[str], list[Section]]:
    """部门决算: 第一部分…第四部分; problems, if any, only inside the 预算绩效 paragraph."""
    p, r = w.p, w.rng
    w.layout["placement"] = "final_accounts" if p.problems else "none"
    income, spending, three = w.budget()
    budget = [income + spending]
    other = [f"截至{p.year}年12月31日，本部门共有车辆{r.randint(0, 6)}辆。"] + w.use(p.positives)
    w.scatter([budget, other], p.surface + p.decoys)
    perf = f"本部门组织对{r.randint(1, 12)}个项目开展了绩效自评，涉及资金{w.money(20, 900)}万元，自评结果总体较好。"
    if p.problems:
        texts = w.problem_texts()
        turn = r.choice(w.c.conclusion_turns)
        perf += _run(texts, turn) if len(texts) > 1 and not any("一是" in t for t in texts) else turn + "".join(texts)
    plans = w.use(p.plans)
    if plans:
        perf += ("" if plans[0].startswith("下一步") else "下一步，") + "".join(plans)
    sections: list[Section] = [
        ("部门概况", [Sub("部门职责", [p.unit_type.duties]), Sub("机构设置", [w.staff()])]),
        (f"{p.year}年度部门决算表", [f"本部门{p.year}年度部门决算表详见附件。"]),
        (
            f"{p.year}年度部门决算情况说明",
            [
                Sub("收入支出决算总体情况说明", ["".join(budget)]),
                Sub("“三公”经费支出决算情况说明", [f"{p.year}年度{three}"]),
                Sub("预算绩效管理情况说明", [perf]),
                Sub("其他重要事项的情况说明", ["".join(other)]),
            ],
        ),
        (
            "名词解释",
            [
                Items(
                    [
                        "财政拨款收入：指本级财政当年拨付的资金。",
                        "基本支出：指为保障机构正常运转、完成日常工作任务而发生的人员支出和公用支出。",
                    ],
                    "arabic",
                )
            ],
        ),
    ]
    return [], sections


def _other(w: _Writer) -> tuple[list[str], list[str], list[Section]]:
    """A notice, a 工作总结 or a 信息公开年报 (title lines, preamble, sections)."""
    p, r = w.p, w.rng
    u, y = p.unit, p.year
    kind = r.choice(["notice", "summary", "info"]) if p.unit_type.key == "finance" else r.choice(["summary", "info"])
    w.layout["other"] = kind
    if kind == "notice":
        lines = w.c.notice_lines
        return (
            [f"{u}关于开展{y}年度预算绩效自评工作的通知"],
            ["各有关单位：", f"为进一步加强预算绩效管理，现就开展{y}年度预算绩效自评工作有关事项通知如下："],
            [("自评范围", [lines[1]]), ("自评内容", [lines[0]]), ("工作要求", [Items([lines[2], lines[3]], "arabic")])],
        )
    if kind == "summary":
        work = w.indicators()
        inside = [r.choice(w.c.funds_filler)]
        w.scatter([work, inside], p.decoys + p.surface)
        plans = w.use(p.plans) + [r.choice(w.c.generic_measures)]
        return (
            [f"{u}{y}年工作总结和{y + 1}年工作计划"],
            [f"{y}年，{u}在上级的坚强领导下，围绕中心、服务大局，各项工作取得了新进展。现将有关情况总结如下："],
            [
                (
                    f"{y}年工作开展情况",
                    [Sub("重点工作推进情况", ["".join(work)]), Sub("内部管理情况", ["".join(inside)])],
                ),
                ("存在的困难和问题", list(p.other_problems)),
                (f"{y + 1}年工作计划", [Items(plans, "arabic")]),
            ],
        )
    overall = [f"{y}年，{u}认真贯彻落实《中华人民共和国政府信息公开条例》，主动公开政府信息{r.randint(40, 900)}条。"]
    w.scatter([overall], p.decoys)
    return (
        [f"{u}{y}年政府信息公开工作年度报告"],
        [],
        [
            ("总体情况", ["".join(overall)]),
            ("主动公开政府信息情况", ["通过门户网站、政务新媒体等渠道及时公开预算决算、重大项目等信息。"]),
            (
                "收到和处理政府信息公开申请情况",
                [f"本年度共收到政府信息公开申请{r.randint(0, 30)}件，均在法定期限内答复。"],
            ),
            ("存在的主要问题及改进情况", ["信息公开的及时性和规范性还有待提高。下一步将加强培训，规范信息发布流程。"]),
            ("其他需要报告的事项", ["无。"]),
        ],
    )


def render_document(parts: DocParts, common: Common, rng: random.Random) -> RenderedDoc:
    w = _Writer(parts, common, rng)
    scheme = (
        "part" if parts.kind == "部门决算" else rng.choices(["cn", "cn_dot", "cn_arabic", "part"], [50, 20, 18, 12])[0]
    )
    w.layout["scheme"] = scheme
    if parts.kind == "其他":
        title_lines, preamble, sections = _other(w)
    else:
        title_lines = w.title()
        preamble, sections = _final_accounts(w) if parts.kind == "部门决算" else _report(w)
    blank = rng.random() < 0.4
    lines = title_lines + [""] + preamble + _render(sections, scheme, blank)
    title = "".join(x for x in title_lines if x)
    return RenderedDoc(title, "\n".join(lines) + "\n", w.planted, w.layout)
