"""Follow-ups about named units ("它们分别提出了什么改进措施？" after an aggregate): each unit's best sentences on
the topic, from its own report, read in document order. A follow-up asking each unit for a number ("这些单位的基本
支出分别是多少？") is a lookup per unit, with every check a lookup answer passes: a unit whose report does not state
it is said to have none, instead of being answered with its best-scoring lines (a title, a heading)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace

from qa.answering.context import AnswerContext
from qa.answering.lookup import asked_role, lookup_answer
from qa.answering.result import Answer, Citation, group, unit_line
from qa.evidence import Sentence, Topic, score_sentences
from qa.retrieve import Filters, Hit
from qa.understand import Understood, catalogue_names

_EACH = re.compile(r"分别|各自|(?<=[的])各|^各|各(?=[有是])")
_JOINED = re.compile(r"[和与及跟同、，,]|以及")


def _asked_of(unit: str, u: Understood, aliases: Mapping[str, Sequence[str]]) -> Understood | None:
    """The question asked of one of the units it names together ("芙蓉区商务局、…的基本支出分别是多少？",
    "赫山区投资促进服务中心和大祥工业集中区的基本支出分别是多少？" → "…的基本支出是多少？" of each); None when the
    units are not named as one run."""
    text = u.standalone
    names = sorted({a for x in u.units for a in (x, *aliases.get(x, ())) if a}, key=len, reverse=True)
    spans = [(m.start(), m.end()) for a in names for m in re.finditer(re.escape(a), text)]
    if not spans:
        return None
    start, end = min(s for s, _ in spans), max(e for _, e in spans)
    between = text[start:end]
    for a in names:
        between = between.replace(a, "")
    if _JOINED.sub("", between):
        return None
    asked = _EACH.sub("", text[:start] + unit + text[end:])
    return replace(u, standalone=asked, topic=asked, intent="lookup", units=(), filters=replace(u.filters, unit=unit))


def _candidates(ctx: AnswerContext, topic: Topic, filters: Filters, depth: int) -> list[Hit]:
    """Dense ∪ BM25 candidates, `depth` from each side."""
    dense = ctx.retriever.dense(topic.text, depth, filters, vector=topic.vector)
    lexical = ctx.retriever.bm25(topic.text, depth, filters)
    return list({h.id: h for h in dense + lexical}.values())


def answer_per_unit(ctx: AnswerContext, u: Understood, top_k: int | None) -> Answer:
    role = asked_role(u.topic)
    topic = ctx.topic(u.topic)
    citations: list[Citation] = []
    picked: list[Sentence] = []
    aliases = catalogue_names(ctx.records()).aliases
    for unit in u.units:
        one = _asked_of(unit, u, aliases)
        if one is not None:
            _, chosen, number = lookup_answer(ctx, one, top_k)
            if number is not None:  # a number asked of each unit: its lookup answer, or none
                picked += sorted(chosen, key=lambda s: s.char_start)
                continue
        filters = Filters(year=u.filters.year, unit=unit, report_kind=u.filters.report_kind, section_role=role)
        hits = _candidates(ctx, topic, filters, top_k or 8) or _candidates(
            ctx, topic, Filters(year=u.filters.year, unit=unit), top_k or 8
        )
        # The unit's three best sentences, read in document order.
        scored = score_sentences(ctx.scoring(), topic, hits, lexical_weight=ctx.params.lookup_lexical_weight)
        picked += sorted(scored[:3], key=lambda s: s.char_start)
    units = group(picked, citations)
    lines = [unit_line("", ue, citations) for ue in units]
    missing = [x for x in u.units if x not in {ue.unit for ue in units}]
    lines += [f"{x}：未在其报告中找到相关内容。" for x in missing]
    return Answer("\n".join(lines), "aggregate", u.standalone, citations, units, [], u.filters)
