"""Aggregate answers ("哪些单位提到预算编制不够细化？"): an exhaustive pass over every document the filters admit, one
verdict per document with an absolute criterion, grouped by unit, each unit with its cited sentence; near misses
are listed separately as related, each with the reason it was not counted, and never counted.

A topic about problems or measures (qa.evidence.topic_role: 预算编制不够细化, 预算做得太粗, 加强人才队伍建设) is
answered from the findings (qa.findings.evidence): through the concept it maps onto, so every wording of one question
gives one list. Any other topic (招商引资, 内部控制) from the corpus-wide pass over candidate chunks
(qa.evidence.score_candidates): a document counts when its best sentence repeating the topic's key words scores at
least the absolute floor.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np

from ingest.schema import FINDING_ROLE_OF_SECTION, DocRecord, doc_of
from qa.answering.context import AnswerContext
from qa.answering.result import Answer, Citation, Page, UnitEvidence, group, unit_line
from qa.evidence import (
    Candidates,
    CandidateSource,
    Counted,
    EvidenceParams,
    ScoredSentences,
    Sentence,
    Topic,
    denial_of,
    denied_faults,
    denies,
    done_stripped,
    fault_words,
    plan_of,
    says_done,
    score_candidates,
    topic_role,
    undone_of,
)
from qa.findings.evidence import (
    REASON_DENIED,
    REASON_NOT_DENIED,
    REASON_PLANNED,
    REASON_UNDONE,
    REASON_VAGUE,
    RELATED_MAX,
    FindingVerdict,
    Related,
    finding_verdict,
)
from qa.sentences import entry_key
from qa.understand import RELATED_HEADER, Understood, list_header, more_units_line


def select_units(sentences: Sequence[Sentence], p: EvidenceParams) -> tuple[list[Sentence], list[Sentence]]:
    """The verdict per document from its best sentence: counted (at or above the absolute floor), related (a near
    miss shown apart, at most 5), or nothing."""
    best: dict[str, Sentence] = {}
    for s in sorted(sentences, key=lambda s: -s.score):
        best.setdefault(s.doc_id, s)
    ranked = sorted(best.values(), key=lambda s: -s.score)
    accepted = [s for s in ranked if s.score >= p.aggregate_threshold]
    # Below the floor by construction (ranked is sorted): no membership test, which was quadratic in units.
    related = [s for s in ranked[len(accepted) :] if s.score >= p.related_threshold][:RELATED_MAX]
    return accepted, related


def select_documents(best: ScoredSentences, p: EvidenceParams) -> tuple[ScoredSentences, list[Sentence]]:
    """`select_units` on the corpus-wide pass's best sentence per document (already one per document, best first),
    without building the counted sentences."""
    scores = best.scores
    n_accepted = int(np.searchsorted(-scores, -p.aggregate_threshold, side="right"))
    n_near = int(np.searchsorted(-scores, -p.related_threshold, side="right"))
    related = range(n_accepted, min(n_near, n_accepted + RELATED_MAX))
    return best.subset(np.arange(n_accepted)), best.take(related)


def aggregate_evidence(
    ctx: AnswerContext, u: Understood, topic: Topic | None = None, *, best_per_document: bool = False
) -> ScoredSentences:
    """The corpus-wide pass. `topic`: the topic with its embedding when the caller has it (computed once per
    request). `best_per_document`: only each document's best sentence (all an answer needs; the others are for
    tuning)."""
    topic = ctx.topic(u.topic) if topic is None else topic
    p = ctx.params
    # Recall far beyond a top-k: every admitted document with a lexical or dense match is a candidate,
    # through its best few chunks on each side (so the work grows with matching documents, not chunks).
    picked = ctx.retriever.candidate_chunks(u.topic, u.filters, vector=topic.vector, per_doc=p.aggregate_chunks_per_doc)
    lexical, keys = ctx.entry_keys()
    catalogue = ctx.retriever.catalogue()
    ids = picked.ids
    rows = picked.rows if picked.index is lexical else lexical.rows_of(ids)
    entry_keys = keys[np.maximum(rows, 0)] if len(keys) else np.zeros(len(ids), dtype=np.int64)
    doc_code = lexical.doc_codes()[np.maximum(rows, 0)] if len(lexical) else np.zeros(len(ids), dtype=np.int64)
    doc_names: list[str] = lexical.doc_names()
    # A chunk committed since the index was read has no row yet: a key no entry has, so it is prepared now; and
    # its document a code of its own.
    unindexed = np.flatnonzero(rows < 0).tolist()
    if unindexed:
        doc_names = list(doc_names)
        code_of = {name: i for i, name in enumerate(doc_names)}
        for i in unindexed:
            entry_keys[i] = entry_key(ids[i], -1)
            doc_code[i] = code_of.setdefault(doc_of(ids[i]), len(code_of))
        doc_names.extend(list(code_of)[len(doc_names) :])
    candidates = Candidates(
        ids, entry_keys, picked.similarity, doc_code, doc_names, ctx.doc_units(doc_names, catalogue)
    )
    ctx.sentences.refresh()
    source = CandidateSource(catalogue, ctx.sentences, ctx.store.get_chunks)
    return score_candidates(
        ctx.scoring(lexical),
        topic,
        candidates,
        source,
        meaning_chunks=p.aggregate_meaning_chunks,
        best_per_document=best_per_document,
    )


def verdict(ctx: AnswerContext, u: Understood) -> FindingVerdict:
    """Which documents state the topic, and the near misses (see the module docstring)."""
    topic = ctx.topic(u.topic)
    role = FINDING_ROLE_OF_SECTION.get(topic_role(u.topic) or "")
    findings = ctx.findings.usable()
    # A measure is a plan: "已经细化了预算编制" asks what a report says is done, which no measure item states (the
    # units saying so had 预算编制不够细化 as their problem).
    asked, done = u.topic, says_done(u.topic)
    faults = denied_faults(u.topic)
    if faults:
        return _denying(ctx, u, faults)
    if role is not None and findings is not None and not (done and role == "measure"):
        return finding_verdict(findings, ctx.scoring(), topic, role, u.filters)
    if done:  # 已经 is the topic's polarity, which the checks judge; the pass looks for what was done
        u = replace(u, topic=done_stripped(u.topic))
        topic = ctx.topic(u.topic)
    keyed = Topic(topic.text, topic.vector, ctx.params.key_coverage)
    # A sentence denying what the topic asserts, saying what it says is done is not, or only planning it: a near miss.
    judged = ((denial_of, REASON_DENIED), (undone_of, REASON_UNDONE), (plan_of, REASON_PLANNED))
    checks = [(c, r) for c, r in ((of(asked), r) for of, r in judged) if c]
    if not checks:
        accepted, related = select_documents(aggregate_evidence(ctx, u, keyed, best_per_document=True), ctx.params)
        return FindingVerdict(accepted, [Related(s, REASON_VAGUE) for s in related])
    return _checked(aggregate_evidence(ctx, u, keyed), checks, ctx.params, measures_plan=done)


def _denying(ctx: AnswerContext, u: Understood, faults: Sequence[str]) -> FindingVerdict:
    """Who denies a fault ("哪些单位明确表示不存在挤占、挪用资金的情况？"), which no problems section does: the corpus-wide
    pass over the sentences naming a fault of the kinds asked, in the reports' words whatever the question's ("钱没有被挪
    作他用" → 挤占, 挪用, 套取…); a document counts by a sentence denying one (`denies`), however it scores, since
    the denial is the criterion and the words are the fault's. Sentences naming it without denying it are near misses."""
    p = ctx.params
    words = fault_words(faults)
    text = f"{u.topic} 不存在{'、'.join(words)}"
    keyed = Topic(text, ctx.topic(text).vector, 1e-9)  # any key word: the denial decides
    scored = aggregate_evidence(ctx, replace(u, topic=text), keyed)
    denied = denies(faults)
    docs = scored.documents().tolist()
    counted: list[int] = []
    near: list[int] = []
    decided: set[int] = set()
    for i, doc in enumerate(docs):
        if doc not in decided and denied(scored.text(i)):
            counted.append(i)
            decided.add(doc)
    # Then, best first, the documents naming a fault without denying it anywhere.
    for i, doc in enumerate(docs):
        if len(near) == RELATED_MAX or scored.scores[i] < p.related_threshold:
            break
        if doc not in decided and any(w in scored.text(i) for w in words):
            near.append(i)
            decided.add(doc)
    return FindingVerdict(scored.subset(counted), [Related(s, REASON_NOT_DENIED) for s in scored.take(near)])


def _checked(
    scored: ScoredSentences,
    checks: Sequence[tuple[Callable[[str], bool], str]],
    p: EvidenceParams,
    *,
    measures_plan: bool = False,
) -> FindingVerdict:
    """The verdict per document from its best sentence that passes the checks (a report saying both "项目资金未实行专账
    核算" and "按要求实行项目专账核算" states the second); a document whose every sentence at the floor fails one is a
    near miss with that check's reason, one below the floor a vague one. `measures_plan`: a sentence of a measures
    section is a plan."""
    scores, docs = scored.scores, scored.documents()
    n_accepted = int(np.searchsorted(-scores, -p.aggregate_threshold, side="right"))
    n_near = int(np.searchsorted(-scores, -p.related_threshold, side="right"))
    counted: list[int] = []
    failed: dict[int, tuple[int, str]] = {}  # document → its best failing sentence and why
    decided: set[int] = set()
    for i, doc in enumerate(docs[:n_accepted].tolist()):
        if doc in decided:
            continue
        text = scored.text(i)
        why = next((r for check, r in checks if check(text)), None)
        if why is None and measures_plan and scored.section_role(i) == "measures":
            why = REASON_PLANNED
        if why is None:
            counted.append(i)
            decided.add(doc)
        else:
            failed.setdefault(doc, (i, why))
    near = [(i, why) for doc, (i, why) in failed.items() if doc not in decided][:RELATED_MAX]
    vague: list[int] = []
    for i, doc in enumerate(docs[n_accepted:n_near].tolist(), start=n_accepted):
        if len(vague) == RELATED_MAX:
            break
        if doc not in decided and doc not in failed:
            vague.append(i)
            decided.add(doc)
    related = [Related(s, why) for (_, why), s in zip(near, scored.take([i for i, _ in near]))]
    related += [Related(s, REASON_VAGUE) for s in scored.take(vague)]
    return FindingVerdict(scored.subset(counted), related[:RELATED_MAX])


class _Kept(Counted):
    """Some of a verdict's counted sentences, in order: those of the units a question leaves out are dropped."""

    def __init__(self, counted: Counted, keep: Sequence[int]) -> None:
        self._counted, self._keep = counted, list(keep)

    def __len__(self) -> int:
        return len(self._keep)

    def units(self) -> list[str]:
        names = self._counted.units()
        return [names[i] for i in self._keep]

    def take(self, positions: Sequence[int]) -> list[Sentence]:
        return self._counted.take([self._keep[p] for p in positions])


class _Joined(Counted):
    """Two verdicts' counted sentences one after the other (a question of two topics)."""

    def __init__(self, first: Counted, second: Counted) -> None:
        self._first, self._second = first, second

    def __len__(self) -> int:
        return len(self._first) + len(self._second)

    def units(self) -> list[str]:
        return self._first.units() + self._second.units()

    def take(self, positions: Sequence[int]) -> list[Sentence]:
        n = len(self._first)
        firsts = iter(self._first.take([p for p in positions if p < n]))
        seconds = iter(self._second.take([p - n for p in positions if p >= n]))
        return [next(firsts) if p < n else next(seconds) for p in positions]


def _left_out(name: str, excluded: Sequence[str]) -> bool:
    return any(e and (e in name or name in e) for e in excluded)


def _kept(counted: Counted, keep: Callable[[str], bool]) -> Counted:
    """The counted sentences of the units `keep` accepts (all of them: `counted` itself)."""
    names = counted.units()
    positions = [i for i, n in enumerate(names) if keep(n)]
    return counted if len(positions) == len(names) else _Kept(counted, positions)


def _excluding(u: Understood) -> str:
    """What an answer's subject adds for the units the question leaves out ("（不含A）")."""
    return f"（不含{'、'.join(u.excluded)}）" if u.excluded else ""


def _admitted(ctx: AnswerContext, u: Understood) -> list[tuple[str, DocRecord]]:
    """The units of the reports the question's filters admit, by name, each with one of its reports."""
    return sorted(
        {r.doc.display_unit: r for r in ctx.retriever.catalogue().values() if u.filters.admits(r.doc)}.items()
    )


# What is left of a which-units question that asks about the library, not about what reports say ("哪些单位的报告是
# 2022年的？" → "是", "2021年有哪些单位的报告？" → "有哪些单位", "库里有哪些单位？" → "库里"): nothing once these go.
_LIBRARY_WORDS = re.compile(
    r"哪些|单位|部门整体支出|整体支出|项目支出|部门决算|决算|绩效|自评|评价|报告|库里|库中|系统里|收录|上传|提交|"
    r"是|有|了|的|份|都|多少|几|一共|总共|共|个|家|讲|属于|类|[，,。？?！!\s]"
)


def asks_about_the_library(topic: str) -> bool:
    """Whether a which-units topic names nothing a report would state: the answer is the catalogue's units.

    >>> asks_about_the_library("是"), asks_about_the_library("有哪些单位"), asks_about_the_library("招商引资")
    (True, True, False)
    """
    return not _LIBRARY_WORDS.sub("", topic)


def answer_library(ctx: AnswerContext, u: Understood, page: Page) -> Answer:
    """ "哪些单位的报告是2022年的？", "2021年有哪些单位的报告？": the units whose reports the filters admit, from the
    catalogue, by name (no report sentence says that a report exists)."""
    names = [(n, r) for n, r in _admitted(ctx, u) if not _left_out(n, u.excluded)]
    window = page.window(len(names))
    units = [UnitEvidence(n, r.doc.doc_id, r.doc.source, ()) for n, r in names[window.start : window.stop]]
    f = u.filters
    scope = "、".join(x for x in (f"{f.year}年" if f.year else "", f.region or "", f.report_kind or "") if x)
    which = f"{scope}的报告" if scope else "已收录的报告"
    head = (
        list_header(len(names), f"有{which}", window.start, len(units))
        if names
        else "未在已收录报告中找到符合条件的单位。"
    )
    return _by_name(u, [head], units, len(names), window.start)


# "一共收录了多少份报告？", "库里有几份2022年的报告？", "赫山区投资促进服务中心有几份报告？": how many reports the
# library holds, a count of reports (not of units), read from the catalogue.
_REPORT_COUNT = re.compile(r"(?:多少|几)份(?:报告|文件|文档|材料)?|(?:报告|文件|文档)的?(?:数量|总数|份数)")
_COUNT_WORDS = re.compile(r"(?:19|20)\d{2}\s*年度?|目前|现在|当前|已经|已|总计|文件|文档|材料|数量|总数|份数")


def asks_report_count(question: str, names: Sequence[str] = ()) -> bool:
    """Whether a question asks how many reports the library holds; `names`: what it may name its scope by (a unit,
    a region), which is no part of what it asks.

    >>> asks_report_count("一共收录了多少份报告？"), asks_report_count("提到招商引资的报告有多少份？")
    (True, False)
    """
    if not _REPORT_COUNT.search(question):
        return False
    rest = _COUNT_WORDS.sub("", question)
    for name in sorted(names, key=len, reverse=True):
        rest = rest.replace(name, "")
    return asks_about_the_library(rest)


def answer_report_count(ctx: AnswerContext, u: Understood) -> Answer:
    """How many reports the filters admit, by year and kind, from how many units."""
    reports = [r.doc for r in ctx.retriever.catalogue().values() if u.filters.admits(r.doc)]
    f = u.filters
    scope = "".join(
        x for x in (f.unit or "", f"{f.year}年" if f.year else "", f.region or "", f.report_kind or "") if x
    )
    if not reports:
        text = f"未在已收录报告中找到{scope}的报告。" if scope else "还没有收录任何报告。"
        return Answer(text, "unanswerable", u.standalone, [], None, [], u.filters)
    years = Counter(d.year for d in reports)
    kinds = Counter(d.report_kind for d in reports if d.report_kind)
    by_year = "、".join(
        f"{y}年 {n} 份" if y else f"年份不明 {n} 份" for y, n in sorted(years.items(), key=lambda x: x[0] or 0)
    )
    by_kind = "、".join(f"{k} {n} 份" for k, n in sorted(kinds.items()))
    units = len({d.display_unit for d in reports})
    head = f"{scope}的报告" if scope else "已收录的报告"
    text = f"{head}共 {len(reports)} 份，来自 {units} 个单位：{by_year}" + (f"；{by_kind}" if by_kind else "") + "。"
    return Answer(text, "lookup", u.standalone, [], None, [], u.filters)


def _by_name(u: Understood, head: list[str], units: list[UnitEvidence], total: int, start: int) -> Answer:
    """An answer listing units by name only (nothing to cite): `head`, this page's units, and how many are left."""
    lines = [*head, *(f"{n}. {ue.unit}" for n, ue in enumerate(units, start + 1))]
    if units and start + len(units) < total:
        lines.append(more_units_line(total - start - len(units), start + len(units)))
    return Answer(
        "\n".join(lines), "aggregate", u.standalone, [], units, [], u.filters, total_units=total, offset=start
    )


def answer_complement(ctx: AnswerContext, u: Understood, counted: Counted, page: Page) -> Answer:
    """ "哪些单位没有提到X？": the units of the reports the filters admit whose reports do not state X, by name; there is
    no sentence to cite for what a report does not say."""
    stating = set(counted.units())
    names = _admitted(ctx, u)
    missing = [(n, r) for n, r in names if n not in stating and not _left_out(n, u.excluded)]
    window = page.window(len(missing))
    units = [UnitEvidence(n, r.doc.doc_id, r.doc.source, ()) for n, r in missing[window.start : window.stop]]
    subject = f"“{u.topic}”{_excluding(u)}"
    if not names:
        lines = ["未在已收录报告中找到符合条件的单位。"]
    elif not missing:
        lines = [f"已收录的 {len(names)} 个单位都提到了{subject}。"]
    else:
        lines = [f"共有 {len(missing)} 个单位未提到{subject}（已收录 {len(names)} 个单位）："]
    return _by_name(u, lines, units, len(missing), window.start)


def answer_two_topics(ctx: AnswerContext, u: Understood, page: Page) -> Answer:
    """ "既提到A又提到B" lists the units on both topics' lists, "A或者B" those on either, each with its sentences about
    A and about B (two verdicts; only the page's sentences are built)."""
    first, second = (verdict(ctx, replace(u, topic=t, also="")).accepted for t in (u.topic, u.also))
    a, b = set(first.units()), set(second.units())
    listed = a & b if u.joined == "and" else a | b
    both = _kept(_Joined(first, second), lambda n: n in listed and not _left_out(n, u.excluded))
    shown, total = page_of(both, page)
    citations: list[Citation] = []
    units = group(shown, citations)
    start, end = page.offset, page.offset + len(units)
    subject = f"“{u.topic}”{'和' if u.joined == 'and' else '或'}“{u.also}”{_excluding(u)}"
    verb = "同时提到" if u.joined == "and" else "提到"
    if not total:
        lines = [f"未在已收录报告中找到{verb}{subject}的单位。"]
    else:
        lines = [list_header(total, f"{verb}{subject}", start, len(units))]
        lines += [unit_line(f"{n}. ", ue, citations) for n, ue in enumerate(units, start + 1)]
        if end < total:
            lines.append(more_units_line(total - end, end))
    return Answer(
        "\n".join(lines), "aggregate", u.standalone, citations, units, [], u.filters, total_units=total, offset=start
    )


def page_of(counted: Counted, page: Page) -> tuple[list[Sentence], int]:
    """The sentences of the units on `page` (units ordered by their best sentence, as `group` lists them) and how
    many units there are. Only the page's sentences are built."""
    names = counted.units()
    order = list(dict.fromkeys(names))
    window = page.window(len(order))
    shown = set(order[window.start : window.stop])
    return counted.take([i for i, name in enumerate(names) if name in shown]), len(order)


def answer_aggregate(ctx: AnswerContext, u: Understood, page: Page | None = None) -> Answer:
    """Every counted unit (`page`: which of them to list; None: all), near misses on the first page only."""
    page = page or Page()
    if u.also:
        return answer_two_topics(ctx, u, page)
    if asks_about_the_library(u.topic) and not u.complement:
        return answer_library(ctx, u, page)
    found = verdict(ctx, u)
    accepted = found.accepted
    if u.complement:
        return answer_complement(ctx, u, accepted, page)
    if u.excluded:
        accepted = _kept(accepted, lambda n: not _left_out(n, u.excluded))
    citations: list[Citation] = []
    sentences, total = page_of(accepted, page)
    units = group(sentences, citations)
    start, end = page.offset, page.offset + len(units)
    related = found.related if start == 0 else []
    related_units = group([r.sentence for r in related], citations, [r.reason for r in related])
    subject = f"“{u.topic}”" + (f"（归入“{found.concept}”）" if found.concept and found.concept != u.topic else "")
    subject += _excluding(u)
    if not total:
        lines = [f"未在已收录报告中找到提到{subject}的单位。"]
    else:
        lines = [list_header(total, f"提到{subject}", start, len(units))]
    lines += [unit_line(f"{n}. ", ue, citations) for n, ue in enumerate(units, start + 1)]
    if end < total:
        lines.append(more_units_line(total - end, end))
    if related_units:
        lines.append(RELATED_HEADER)
        lines += [unit_line("- ", ue, citations) + f"（{ue.reason}）" for ue in related_units]
    return Answer(
        "\n".join(lines),
        "aggregate",
        u.standalone,
        citations,
        units,
        related_units,
        u.filters,
        total_units=total,
        offset=start,
    )
