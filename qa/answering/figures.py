"""Questions that compare or add up amounts (or rates, scores) the reports state: "哪个单位的基本支出最多？", "2021年基本支出超过300万元的
单位有哪些？", "A和B哪个的项目支出多？", "A的人员经费和公用经费一共多少？".

Each report's amount is what a lookup of that report answers ("<unit><year>年<item>是多少？", every lookup check), read
off the answering sentence only where the sentence states it: the item, then its amount in the same clause ("基本支出
为388.07万元"; not "基本支出较上年增加125.47万元", a change). So a comparison never says anything about a report
that asking the report itself would not, and a report whose answer does not state the amount is said to have none.

>>> q = read_figures("哪个单位的基本支出最多？", set())
>>> (q.kind, q.items, q.descending)
('rank', ('基本支出',), True)
>>> read_figures("2021年“三公”经费超过10万元的单位有哪些？", set()).threshold
('>', 10.0)
>>> read_figures("哪个单位的预算执行率最高？", set()).measure  # a rate: compared in percent
'share'
>>> read_figures("哪个单位的问题最多？", set()) is None  # a count of findings, not a stated value
True
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from ingest.schema import DocRecord
from qa.answering.context import AnswerContext
from qa.answering.lookup import COUNT_NUMBER, lookup_answer
from qa.answering.result import Answer, Citation, UnitEvidence, decline
from qa.evidence import Sentence
from qa.lexical import words
from qa.understand import Understood, catalogue_names

FigureKind = Literal["rank", "threshold", "pair", "sum", "difference", "stated"]

# What may stand between an item and its amount in one statement ("基本支出为", "基本支出决算数为", a table row's
# " · 决算数 "): not a clause break, and not a change ("较上年增加", "同比下降"), whose amount is not the item's.
_STATED_WITHIN = 12
_CLAUSE_BREAK = re.compile(r"[，,。；;、:：？?！!（(]")
_CHANGE = re.compile(r"较|比|同比|增加|减少|增长|下降|增|减|占")
_BUDGET = re.compile(r"预算")


@dataclass(frozen=True)
class Measure:
    """What a comparison can be about: items ending like `item`, stated as `amount` (the number, then its unit),
    compared in `unit` (`scale`: each written unit in it). `counted`: compared as more / fewer (money, counts),
    not higher / lower; `asks`: how a report's lookup asks for it."""

    name: str
    item: re.Pattern[str]
    amount: re.Pattern[str]
    scale: dict[str, float]
    unit: str
    counted: bool = False
    asks: str = "{item}是多少？"
    noun: str = "数值"  # what a value is called in an answer ("金额", "个数")


_MEASURES = (
    # Amounts of money ("基本支出", "“三公”经费", "财政拨款收入", "项目资金"), in 万元 (元 and 亿元 converted).
    Measure(
        "money",
        re.compile(
            r"(?:支出|经费|收入|资金|预算|拨款|费|投资|资产|结余|结转|补助|工资|金额)(?:合计|总额|总计|总数|数)?$"
        ),
        re.compile(r"(\d[\d,，]*(?:\.\d+)?)\s*(亿元|万元|元|亿|万)(?!人|户|名|平方|亩|吨|册|次)"),
        {"亿元": 1e4, "亿": 1e4, "万元": 1.0, "万": 1.0, "元": 1e-4},
        "万元",
        counted=True,
        noun="金额",
    ),
    # Rates and shares ("预算执行率", "资金到位率", "人员经费占比"), in percent.
    Measure(
        "share",
        re.compile(r"(?:率|比例|占比|比重)$"),
        re.compile(r"(\d+(?:\.\d+)?)\s*([%％])"),
        {"%": 1.0, "％": 1.0},
        "%",
    ),
    # Scores ("绩效自评得分", "自评分"), in 分.
    Measure(
        "score", re.compile(r"(?:得分|评分|分数|总分|分值)$"), re.compile(r"(\d+(?:\.\d+)?)\s*(分)"), {"分": 1.0}, "分"
    ),
    # Counts of things ("新引进项目", "签约项目", "入驻企业"), in 个 / 家 / 项: asked as a count, so a lookup takes
    # only a count of that thing (qa.answering.lookup).
    Measure(
        "count",
        re.compile(r"(?:项目|企业|科室|市场|园区)$"),
        re.compile(rf"({COUNT_NUMBER})\s*(个|家|项)(?!目)"),
        {"个": 1.0, "家": 1.0, "项": 1.0},
        "个",
        counted=True,
        asks="有多少个{item}？",
        noun="个数",
    ),
)
_BY_NAME = {m.name: m for m in _MEASURES}
_DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"两": 2}


def _number(written: str) -> float:
    """A number as a report writes it: digits ("1,234.5") or Chinese numerals up to the thousands ("三", "十二", "一百零五").

    >>> _number("1,234.5"), _number("三"), _number("十二"), _number("二十"), _number("一百零五")
    (1234.5, 3.0, 12.0, 20.0, 105.0)
    """
    if written[0].isdigit():
        return float(written.replace(",", "").replace("，", ""))
    total, digit = 0, 0
    for c in written:
        if c in _DIGITS:
            digit = _DIGITS[c]
        else:
            total += (digit or 1) * {"十": 10, "百": 100, "千": 1000}[c]
            digit = 0
    return float(total + digit)


_QUOTES = re.compile(r"[“”\"'‘’「」]")
_ITEM = r"[^，,。？?！!、的和与及跟比谁〔〕]{2,16}?"
# One item alone may contain 和 ("社会保障和就业支出", "年初结转和结余"); two items are split at it.
_ONE_ITEM = r"[^，,。？?！!、的与及跟比谁〔〕]{2,16}?"
_MORE = r"(?P<dir>多|高|大|少|低|小)"
_WHICH = r"(?:哪个|哪家|哪一个|哪一家|哪些|谁)(?:单位|部门)?"
# Words a question puts around its item, taken off its front: "哪个单位的", "各单位", "在", "年度", "的".
_ITEM_LEAD = re.compile(rf"^(?:{_WHICH}|各个?单位|所有单位|年度|在(?![谈建手职编岗])|中|里|的|了|，|,)+")
_RANK = (
    re.compile(rf"{_WHICH}的?(?P<item>{_ONE_ITEM})(?:是)?最{_MORE}"),
    re.compile(rf"(?P<item>{_ONE_ITEM})最{_MORE}的(?:是|为)?{_WHICH}"),
    re.compile(rf"(?P<item>{_ONE_ITEM})(?:最{_MORE}的(?:单位|部门)|(?:排名|排行|排序))"),
    re.compile(rf"(?P<item>{_ONE_ITEM}){_WHICH}(?:的)?最{_MORE}"),  # "基本支出哪个单位最多？"
    # "各单位的基本支出从高到低排一下": a ranking in the order asked.
    re.compile(rf"(?P<item>{_ONE_ITEM})(?:按)?(?:从|由)(?P<dir>高|多|大|低|少|小)到(?:低|少|小|高|多|大)"),
)
_COMPARED = r"(?P<op>超过|高于|大于|多于|不低于|不少于|达到|低于|少于|小于|不到|不足|不超过)"
_THRESHOLD = re.compile(
    rf"(?P<item>{_ONE_ITEM}){_COMPARED}(?P<n>\d[\d,]*(?:\.\d+)?)\s*(?P<unit>亿元|万元|元|亿|万|%|％|分)(?:以上|以下)?的"
)
# "基本支出在300万元以上的单位": the amount, then 以上 / 以下.
_RANGE = re.compile(
    rf"(?P<item>{_ONE_ITEM})(?:在|为|是)?(?P<n>\d[\d,]*(?:\.\d+)?)\s*(?P<unit>亿元|万元|元|亿|万|%|％|分)(?P<op>以上|以下)的"
)
_OPS = {
    "以上": ">=",
    "以下": "<=",
    "超过": ">",
    "高于": ">",
    "大于": ">",
    "多于": ">",
    "不低于": ">=",
    "不少于": ">=",
    "达到": ">=",
}
_UNIT_MARK = "〔单位〕"
_PAIR = (
    re.compile(rf"(?:哪个|哪家|谁|哪一个)(?:单位|部门)?的?(?P<item>{_ONE_ITEM})(?:更|比较|较)?{_MORE}"),
    re.compile(rf"(?:的|{_UNIT_MARK})(?P<item>{_ONE_ITEM})(?:哪个|哪家|谁)(?:更|比较|较)?{_MORE}"),
    re.compile(rf"(?:的|{_UNIT_MARK})(?P<item>{_ONE_ITEM})比{_UNIT_MARK}的?(?:{_MORE}了?多少|(?:多|少|高|低)?多少)"),
    re.compile(rf"(?:的|{_UNIT_MARK})(?P<item>{_ONE_ITEM})(?:相差|差了?|差额|差距)(?:是|有|为)?多少"),
    re.compile(
        rf"(?:的|{_UNIT_MARK})(?P<item>{_ONE_ITEM})(?:更)?{_MORE}还是{_UNIT_MARK}"
    ),  # "A的基本支出多还是B的多？"
)
_TWO_ITEMS = rf"(?P<a>{_ITEM})(?:和|与|及|加上|跟)(?P<b>{_ITEM})"
_SUM = re.compile(rf"{_TWO_ITEMS}(?:一共|合计|总共|加起来|共计|加在一起|之和|的总和|总计)(?:是|有|为)?多少")
_DIFFERENCE = (
    re.compile(rf"(?P<a>{_ITEM})比(?P<b>{_ITEM}){_MORE}了?多少"),
    re.compile(rf"{_TWO_ITEMS}(?:相差|差了?|差额|差距)(?:是|有|为)?多少"),
)
# "哪些单位给出了税收或税金的具体金额？": the units whose reports state an amount of the item (of any item joined by 或).
# The measure is the one the question asks for (金额, 比例, 得分), whatever the item ends with (税收, 税金).
_STATES = re.compile(
    r"(?:给出|列出|写明|写出|公布|披露|提供|报出|说明|写了|提到|(?:报告|汇报)(?=了))了?(?P<item>[^，,。？?！!]{2,24}?)的?(?:具体)?"
    r"(?P<asked>金额|数额|多少钱|比例|比重|百分比|得分|分数|个数|数量)"
)
_ASKED_MEASURE = {
    "个数": "count",
    "数量": "count",
    "金额": "money",
    "数额": "money",
    "多少钱": "money",
    "比例": "share",
    "比重": "share",
    "百分比": "share",
}
_ONE_OF = re.compile(r"或者|或|和|与|及|以及|、")
# Reports compared one by one: a lookup each (~0.1 s). A larger scope is declined with how to narrow it.
MAX_REPORTS = 30


@dataclass(frozen=True)
class FigureQuestion:
    kind: FigureKind
    items: tuple[str, ...]  # one item; two for a sum or difference
    descending: bool = True  # rank: most first ("最多"), or least first ("最少")
    threshold: tuple[str, float] | None = None  # (">" / ">=" / "<" / "<=", value in the measure's unit)
    measure: str = "money"  # `Measure.name`

    @property
    def of(self) -> Measure:
        return _BY_NAME[self.measure]


@dataclass(frozen=True)
class Stated:
    """One report's value of an item, as its answering sentence states it."""

    sentence: Sentence
    value: float  # in the measure's unit (万元, %, 分)
    shown: str  # as the report writes it ("388.07万元")
    budget: bool  # stated as a budget figure ("项目支出年初预算为450.00万元")


def _cleaned(text: str, places: Sequence[str]) -> str:
    """An item as a question names it, without quotes, years, places and the question words in front."""
    text = re.sub(r"(?:19|20)\d{2}\s*年度?", "", _QUOTES.sub("", text))
    for place in sorted(places, key=len, reverse=True):
        text = text.replace(place, "")
    return _ITEM_LEAD.sub("", text).strip()


def _item(raw: str, places: Sequence[str]) -> tuple[str, Measure] | None:
    """The item a question compares, without the words around it, and its measure; None if it has none."""
    item = _cleaned(raw, places)
    if not 2 <= len(item) <= 12:
        return None
    return next(((item, m) for m in _MEASURES if m.item.search(item)), None)


def _items_of(text: str, places: Sequence[str]) -> tuple[str, ...]:
    """Items joined by 或 / 和 / 、, the last one's head shared: "税收或税金" → 税收, 税金; "新引进或签约项目" → 新引进项目,
    签约项目 (a part of up to 4 characters takes the rest of the last part after its first word).

    >>> _items_of("税收或税金", []), _items_of("当年新引进或签约项目", []), _items_of("人员经费和公用经费", [])
    (('税收', '税金'), ('新引进项目', '签约项目'), ('人员经费', '公用经费'))
    """
    # "当年新引进或签约项目": the year it asks about is no part of the items (本年支出合计 alone is one).
    parts = [p for p in _ONE_OF.split(_cleaned(re.sub(r"当年|本年|全年", "", text), places)) if p]
    if not parts:
        return ()
    last = parts[-1]
    head = last[len(next(iter(words(last)), "")) :]
    whole = [p + head if len(p) <= 4 and head and not p.endswith(head) else p for p in parts[:-1]] + [last]
    items = [_cleaned(p, places) for p in whole]
    # "项目支出的预算" names no item a report writes as one phrase (项目支出年初预算为…): left to the which-units pass.
    if any("的" in i or not 2 <= len(i) <= 12 for i in items):
        return ()
    return tuple(dict.fromkeys(items))


def read_figures(
    question: str, names: Iterable[str], places: Sequence[str] = (), which_units: bool = False
) -> FigureQuestion | None:
    """The comparison or sum a question asks for, or None. `names`: every name of the units it names (marked
    before reading, so "A和B哪个的…" reads A and B as units, not items); `places`: place names it may scope by;
    `which_units`: the question asks which units (a question for the units stating an amount)."""
    text = question
    for name in sorted(names, key=len, reverse=True):  # the longest first: a short alias is part of a longer one
        text = text.replace(name, _UNIT_MARK)
    units_named = text.count(_UNIT_MARK)
    if units_named >= 2:
        for pattern in _PAIR:
            if (m := pattern.search(text)) and (one := _item(m["item"], places)):
                return FigureQuestion("pair", (one[0],), _descending(m), measure=one[1].name)
    body = text.replace(_UNIT_MARK, "")
    for kind, patterns in (("sum", (_SUM,)), ("difference", _DIFFERENCE)):
        for pattern in patterns:
            m = pattern.search(body)
            a, b = (_item(m["a"], places), _item(m["b"], places)) if m else (None, None)
            if a and b and a[1] == b[1]:
                return FigureQuestion(kind, (a[0], b[0]), measure=a[1].name)  # type: ignore[arg-type]
    if units_named >= 2:
        return None
    if which_units and (m := _STATES.search(body)):
        measure = _BY_NAME[_ASKED_MEASURE.get(m["asked"], "score")]
        items = _items_of(m["item"], places)
        return FigureQuestion("stated", items, measure=measure.name) if items else None
    if m := _THRESHOLD.search(body) or _RANGE.search(body):
        one = _item(m["item"], places)
        scale = one[1].scale.get(m["unit"]) if one else None
        if one is None or scale is None:  # "得分超过90万元" compares nothing
            return None
        op = _OPS.get(m["op"], "<=" if m["op"] == "不超过" else "<")
        limit = float(m["n"].replace(",", "")) * scale
        return FigureQuestion("threshold", (one[0],), threshold=(op, limit), measure=one[1].name)
    for pattern in _RANK:
        if (m := pattern.search(body)) and (one := _item(m["item"], places)):
            return FigureQuestion("rank", (one[0],), _descending(m), measure=one[1].name)
    return None


def _descending(m: re.Match[str]) -> bool:
    """Most first ("最多", "哪个多"), unless the question asks for the least."""
    return m.groupdict().get("dir") not in ("少", "低", "小")


def stated(
    text: str, item: str, measure: Measure = _MEASURES[0], budget_asked: bool = False
) -> tuple[float, str, bool] | None:
    """The value the text states for the item: (in the measure's unit, as written, whether a budget figure the
    question did not ask for), or None.

    >>> stated("2021年基本支出为388.07万元，较上年增加125.47万元", "基本支出")
    (388.07, '388.07万元', False)
    >>> stated("基本支出较上年增加125.47万元", "基本支出") is None
    True
    >>> stated("支出决算表 · 合计 · 本年支出合计 9759.38 万元 · 基本支出 5377.64 万元", "基本支出")
    (5377.64, '5377.64万元', False)
    >>> stated("我单位项目支出年初预算为450.00万元", "项目支出")
    (450.0, '450.00万元', True)
    >>> stated("全年预算执行率为98.6%，较上年提高2%", "预算执行率", _BY_NAME["share"])
    (98.6, '98.6%', False)
    """
    text = _QUOTES.sub("", text)
    for m in re.finditer(re.escape(item), text):
        amount = measure.amount.search(text, m.end(), m.end() + _STATED_WITHIN + 16)
        if amount is None or amount.start() - m.end() > _STATED_WITHIN:
            continue
        between = text[m.end() : amount.start()]
        if _CLAUSE_BREAK.search(between) or _CHANGE.search(between):
            continue
        value = _number(amount[1]) * measure.scale[amount[2]]
        return value, re.sub(r"\s+", "", amount[0]), bool(_BUDGET.search(between)) and not budget_asked
    return None


def _of_report(
    ctx: AnswerContext, u: Understood, record: DocRecord, item: str, measure: Measure, top_k: int | None
) -> Stated | None:
    """The report's value of the item: its lookup answer, where that states it."""
    doc = record.doc
    year = f"{doc.year}年" if doc.year else ""
    asked = f"{doc.display_unit}{year}" + measure.asks.format(item=item)
    one = replace(
        u,
        standalone=asked,
        topic=asked,
        intent="lookup",
        units=(),
        filters=replace(u.filters, unit=doc.unit or doc.source, year=doc.year, section_role=None),
    )
    _, chosen, _ = lookup_answer(ctx, one, top_k)
    for c in chosen:
        amount = stated(c.text, item, measure, "预算" in item)
        if amount is not None and c.doc_id == doc.doc_id:
            return Stated(c, *amount)
    return None


def _reports(ctx: AnswerContext, u: Understood) -> list[DocRecord]:
    """The reports a comparison reads: those of the units it names, else every report the filters admit."""
    records = sorted(ctx.retriever.catalogue().values(), key=lambda r: (r.doc.display_unit, r.doc.year or 0))
    if u.units:
        return [r for r in records if any(_names(r, x) for x in u.units) and u.filters.admits(r.doc)]
    return [r for r in records if u.filters.admits(r.doc)]


def _names(record: DocRecord, unit: str) -> bool:
    return unit in (record.doc.unit, record.doc.source)


def _unit(record: DocRecord, cid: int) -> UnitEvidence:
    """A listed report as an aggregate answer's unit: named as every aggregate names units (its year is in the
    answer's text; the report is its `source`)."""
    return UnitEvidence(record.doc.display_unit, record.doc.doc_id, record.doc.source, (cid,))


def _label(record: DocRecord, several_years: bool) -> str:
    year = f"（{record.doc.year}年）" if several_years and record.doc.year else ""
    return f"{record.doc.display_unit}{year}"


def _shown(value: float, measure: Measure) -> str:
    """A computed value as an answer states it: two decimals at most ("120.91万元", "300万元", "2.5%")."""
    return f"{value:.2f}".rstrip("0").rstrip(".") + measure.unit


def _more(measure: Measure, by: float) -> str:
    """ "多 120.91万元", "高 2.5 个百分点", "高 3 分"."""
    if measure.name == "share":
        return f"高{_shown(by, measure)[:-1]}个百分点"
    return ("多" if measure.counted else "高") + _shown(by, measure)


def figures_question(ctx: AnswerContext, u: Understood) -> FigureQuestion | None:
    # Only the units the question names are marked (not every name in the catalogue: this runs for every question).
    names = catalogue_names(ctx.records())
    named = [a for a in names.names_of((*u.units, u.filters.unit)) if len(a) >= 2]
    q = read_figures(u.standalone, named, sorted(names.region_parts), u.intent == "aggregate" and not u.units)
    if q is not None and q.kind == "stated" and len(_reports(ctx, u)) > MAX_REPORTS:
        return None  # too many reports to ask one by one: the which-units pass answers it
    return q


def answer_figures(ctx: AnswerContext, u: Understood, q: FigureQuestion, top_k: int | None) -> Answer:
    reports = _reports(ctx, u)
    if not reports:
        return decline(u, "未在已收录报告中找到符合条件的单位。", [])
    if len(reports) > MAX_REPORTS and q.kind in ("rank", "threshold"):
        return decline(
            u,
            f"符合条件的报告有 {len(reports)} 份，逐份比较最多 {MAX_REPORTS} 份。请在问题中加上年份、地区或报告类型以缩小范围。",
            [],
        )
    if q.kind in ("sum", "difference"):
        return _two_items(ctx, u, q, reports, top_k)
    if q.kind == "stated":
        return _stating(ctx, u, q, reports, top_k)
    item, measure, amounts = q.items[0], q.of, q.of.noun
    several_years = len({r.doc.year for r in reports}) > 1
    found: list[tuple[DocRecord, Stated]] = []
    missing: list[DocRecord] = []
    for r in reports:
        s = _of_report(ctx, u, r, item, measure, top_k)
        if s is None:
            missing.append(r)
        else:
            found.append((r, s))
    if not found:
        return decline(u, f"未在已收录报告中找到这些单位{item}的具体{amounts}。", [])
    found.sort(key=lambda x: -x[1].value if q.descending else x[1].value)
    listed = found
    if q.kind == "threshold":
        assert q.threshold is not None
        op, limit = q.threshold
        listed = [x for x in found if _meets(x[1].value, op, limit)]
        words = {">": "超过", ">=": "不低于", "<": "低于", "<=": "不超过"}[op]
        head = (
            f"{item}{words}{_shown(limit, measure)}的有 {len(listed)} 个（在列出{item}{amounts}的 {len(found)} 份报告中）："
            if listed
            else f"列出{item}{amounts}的 {len(found)} 份报告中，没有{item}{words}{_shown(limit, measure)}的。"
        )
    elif q.kind == "rank":
        top = [x for x in found if x[1].value == found[0][1].value]
        most = ("最多" if q.descending else "最少") if measure.counted else ("最高" if q.descending else "最低")
        who = "、".join(_label(r, several_years) for r, _ in top)
        order = (
            ("从多到少" if q.descending else "从少到多")
            if measure.counted
            else ("从高到低" if q.descending else "从低到高")
        )
        head = (
            f"{item}{most}的是{who}：{top[0][1].shown}（共 {len(found)} 份报告列出了{item}{amounts}，按{amounts}{order}）："
            if len(found) > 1
            else f"只有{who}的报告列出了{item}{amounts}：{top[0][1].shown}。"
        )
    else:
        head = _pair_line(item, measure, found, several_years)
    lines, citations, units = _listing(listed, several_years)
    lines.insert(0, head)
    if missing:
        lines.append(f"未在报告中找到{item}{amounts}的：" + "、".join(_label(r, several_years) for r in missing) + "。")
    return Answer("\n".join(lines), "aggregate", u.standalone, citations, units, [], u.filters, total_units=len(units))


def _listing(
    found: Sequence[tuple[DocRecord, Stated]], several_years: bool
) -> tuple[list[str], list[Citation], list[UnitEvidence]]:
    """One numbered line per report ("1. 单位（388.07万元）：<its sentence>[1]"), its citation and its unit."""
    lines: list[str] = []
    citations: list[Citation] = []
    units: list[UnitEvidence] = []
    for n, (r, s) in enumerate(found, 1):
        citations.append(_cite(n, s))
        units.append(_unit(r, n))
        budget = "（预算数）" if s.budget else ""
        lines.append(f"{n}. {_label(r, several_years)}（{s.shown}{budget}）：{s.sentence.text.strip()}[{n}]")
    return lines, citations, units


def _meets(value: float, op: str, limit: float) -> bool:
    return {">": value > limit, ">=": value >= limit, "<": value < limit, "<=": value <= limit}[op]


def _pair_line(item: str, measure: Measure, found: Sequence[tuple[DocRecord, Stated]], several_years: bool) -> str:
    if len(found) < 2:
        r, s = found[0]
        return f"只有{_label(r, several_years)}的报告列出了{item}{measure.noun}：{s.shown}，无法比较。"
    (a, sa), (b, sb) = found[0], found[-1]
    if sa.value == sb.value:
        return f"{item}相同，都是{sa.shown}："
    hi, lo, shi, slo = (a, b, sa, sb) if sa.value > sb.value else (b, a, sb, sa)
    word = "较多" if measure.counted else "较高"
    more = f"{_label(hi, several_years)}的{item}{word}，比{_label(lo, several_years)}{_more(measure, shi.value - slo.value)}"
    return more + ("（其中有预算数，请留意口径）：" if sa.budget or sb.budget else "：")


def _two_items(
    ctx: AnswerContext, u: Understood, q: FigureQuestion, reports: Sequence[DocRecord], top_k: int | None
) -> Answer:
    if len(reports) != 1:
        return decline(u, "请指明是哪个单位哪一年的报告，再计算这两项。", [])
    r, measure = reports[0], q.of
    got = [(item, _of_report(ctx, u, r, item, measure, top_k)) for item in q.items]
    lacking = [item for item, s in got if s is None]
    if lacking:
        return decline(
            u, f"未在{r.doc.display_unit}的报告中找到{'、'.join(lacking)}的具体{measure.noun}，无法计算。", []
        )
    (a, sa), (b, sb) = got
    assert sa is not None and sb is not None
    citations = [_cite(1, sa)] if sa.sentence == sb.sentence else [_cite(1, sa), _cite(2, sb)]
    quoted = "".join(f"{c.text.strip()}[{c.id}]" for c in citations)
    if q.kind == "sum":
        result = f"两项合计：{a}{sa.shown} + {b}{sb.shown} = {_shown(sa.value + sb.value, measure)}。"
    else:
        diff = sa.value - sb.value
        less = "少" if measure.counted else "低"
        by = _more(measure, abs(diff)) if diff >= 0 else less + _more(measure, -diff)[1:]
        result = f"{a}{sa.shown}，{b}{sb.shown}，{a}比{b}{by}。"
    budget = "（其中有预算数，请留意口径）" if sa.budget or sb.budget else ""
    text = f"{r.doc.display_unit}：{quoted}\n{result}{budget}"
    return Answer(text, "lookup", u.standalone, citations, None, [], u.filters)


def _cite(cid: int, s: Stated) -> Citation:
    return Citation(cid, s.sentence.hit, s.sentence.text, s.sentence.char_start, s.sentence.char_end, s.sentence.score)


def _stating(
    ctx: AnswerContext, u: Understood, q: FigureQuestion, reports: Sequence[DocRecord], top_k: int | None
) -> Answer:
    """The reports stating an amount of any of the items, each with the first it states."""
    several_years = len({r.doc.year for r in reports}) > 1
    found: list[tuple[DocRecord, Stated]] = []
    for r in reports:
        s = next((s for s in (_of_report(ctx, u, r, item, q.of, top_k) for item in q.items) if s is not None), None)
        if s is not None:
            found.append((r, s))
    what = f"{'或'.join(q.items)}的具体{q.of.noun}"
    if not found:
        return Answer(
            f"未在已收录报告中找到给出{what}的单位。", "aggregate", u.standalone, [], [], [], u.filters, total_units=0
        )
    lines, citations, units = _listing(found, several_years)
    lines.insert(0, f"共有 {len(found)} 份报告给出了{what}：")
    return Answer("\n".join(lines), "aggregate", u.standalone, citations, units, [], u.filters, total_units=len(units))
