"""Aggregate answers (qa.answering.aggregate) on the bundled samples: problem and measure topics from the findings,
other topics from the corpus-wide pass, whose shortcuts must not change a verdict."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from ingest.schema import DocFields
from qa.answer import Answerer, Page
from qa.answering import aggregate
from qa.answering.aggregate import page_of
from qa.evidence import Coverage, EvidenceParams, Sentence, SentenceList, Topic, topic_role
from qa.findings.evidence import (
    REASON_DENIED,
    REASON_NOT_DENIED,
    REASON_PLANNED,
    REASON_UNDONE,
    REASON_VAGUE,
    RELATED_MAX,
)
from qa.lexical import tokenize
from qa.retrieve import Hit, Retriever
from qa.understand import Turn, understand
from tests.support.recording import RecordingVectors


def test_aggregate_answers_come_from_findings_and_fall_back(sample_retriever: Retriever) -> None:
    answerer = Answerer(sample_retriever)
    ans = answerer.ask("哪些单位提到预算编制不够细化？")
    assert [u.unit for u in ans.units or []] == ["益阳市赫山区投资促进服务中心", "湖南省大祥工业集中区管理委员会"]
    # Cited from the problems sections' findings; every citation is the document's own text.
    for c in ans.citations[: len(ans.units or [])]:
        assert c.hit.section_role == "problems" and c.hit.chunk_index == -1
        assert sample_retriever.store.get_document(c.hit.doc.doc_id)[1][c.char_start : c.char_end] == c.text  # type: ignore[index]
    # Not a problems/measures topic: the corpus-wide pass still answers.
    invest = answerer.ask("哪些单位提到招商引资？")
    assert invest.units and all(c.hit.chunk_index >= 0 for c in invest.citations)


def test_questions_about_the_library_list_its_units(sample_retriever: Retriever) -> None:
    """Session 24: "哪些单位的报告是2022年的？" looked for units whose reports say "是"; a which-units question that names
    nothing a report would state lists the units whose reports the filters admit, from the catalogue."""
    answerer = Answerer(sample_retriever)
    ans = answerer.ask("哪些单位的报告是2022年的？")
    assert [u.unit for u in ans.units or []] == ["桃江县重点项目建设事务中心"] and not ans.citations, ans.answer
    assert ans.answer.startswith("共有 1 个单位有2022年的报告：")
    assert len(answerer.ask("库里有哪些单位？").units or []) == len(
        {r.doc.display_unit for r in sample_retriever.catalogue().values()}
    )
    assert answerer.ask("有多少单位有部门整体支出报告？").total_units == 2
    # A page of them, then "继续" past the last one.
    first = answerer.ask("2021年有哪些单位的报告？", page=Page(0, 3))
    history = [Turn("user", "2021年有哪些单位的报告？"), Turn("assistant", first.answer)]
    rest = answerer.ask("继续", history)
    assert [u.unit for u in (first.units or []) + (rest.units or [])] == sorted(
        {r.doc.display_unit for r in sample_retriever.catalogue().values() if r.doc.year == 2021}
    )


def test_a_template_heading_is_not_what_a_unit_did(sample_retriever: Retriever) -> None:
    """Session 24: 芙蓉区商务局's template heading "（一）项目组织情况（包括项目招投标情况、调整情况、完成验收等）分析。"
    (the line ends in 。, its section name does not) counted it for completed tendering; under it the report says
    本年度未产生项目招投标等情况. 大祥 states it: …及工程招投标等工作已全部完成."""
    ans = Answerer(sample_retriever).ask("哪些单位完成了工程招投标工作？")
    assert [u.unit for u in ans.units or []] == ["湖南省大祥工业集中区管理委员会"], ans.answer


def test_a_plan_is_not_what_a_unit_has_already_done(sample_retriever: Retriever) -> None:
    """Session 25: 开福区's measure "争取一定金额以上的项目均采用社会监理服务" counted it for "已经采用了社会监理"; a plan
    is a near miss with its reason. Asked without 已经, the same sentence still counts (it does mention it)."""
    answerer = Answerer(sample_retriever)
    done = answerer.ask("哪些单位已经采用了社会监理？")
    assert done.units == [] and [r.reason for r in done.related] == [REASON_PLANNED], done.answer
    assert "争取一定金额以上的项目均采用社会监理服务" in done.citations[0].text
    assert [u.source for u in answerer.ask("哪些单位提到采用社会监理？").units or []] == [done.related[0].source]


def test_an_action_asked_as_done_with_le_is_not_a_plan(sample_retriever: Retriever) -> None:
    """Session 27 (blind which-units probes, agq-043): "哪些单位开展了服务对象满意度调查？" listed 赫山区 by its
    measure "注重服务对象满意度调查工作…"; a completed action (开展了, 制定出台了) is asked as done, like 已经."""
    ans = Answerer(sample_retriever).ask("哪些单位开展了服务对象满意度调查？")
    assert ans.units == [] and [r.reason for r in ans.related] == [REASON_PLANNED], ans.answer
    done = Answerer(sample_retriever).ask("哪些单位制定出台了重点项目工作考核办法？")
    assert [u.unit for u in done.units or []] == ["桃江县重点项目建设事务中心"], done.answer


def test_a_word_of_every_budget_text_does_not_map_a_topic_onto_a_concept(sample_retriever: Retriever) -> None:
    """Session 27 (agq-042, agp-024): "资金被挤占、挪用或套取" mapped weakly onto 资金使用效益不高 through 资金 alone and
    listed 芙蓉区商务局 for "项目的经济效益和社会效益还有待提升"; no report states it (000 and 003 deny it)."""
    ans = Answerer(sample_retriever).ask("哪些单位存在资金被挤占、挪用或套取的问题？")
    assert ans.units == [], ans.answer


def test_a_denial_of_what_is_done_is_not_it(sample_retriever: Retriever) -> None:
    """Session 26: "哪些单位已经实行了项目专账核算？" listed 开福区 citing its problem "2、项目资金未实行专账核算。"; its
    recommendation "财务应尽量…，实行项目专账核算" is a plan, not a fact. Both are near misses with their reasons."""
    ans = Answerer(sample_retriever).ask("哪些单位已经实行了项目专账核算？")
    assert ans.units == [], ans.answer
    cited = {c.id: c.text for c in ans.citations}
    assert [(r.reason, "未实行专账核算" in cited[r.citation_ids[0]]) for r in ans.related][:1] == [
        (REASON_UNDONE, True)
    ], ans.answer


@pytest.mark.parametrize(
    "asked", ["哪些单位明确表示不存在挤占、挪用、套取资金的情况？", "哪些单位称资金没有被挤占挪用？"]
)
def test_a_topic_denying_a_fault_lists_the_units_that_deny_it(sample_retriever: Retriever, asked: str) -> None:
    """Session 28 (blind which-units probes, agq-004): a question asking who states there was no misuse read 不存在挤占
    挪用 as the problem 挤占挪用 and listed nobody (no problems section states it). 000 and 003 deny it; 桃江 only
    checks "是否存在截留、挪用等情况", which denies nothing: a near miss with its reason."""
    ans = Answerer(sample_retriever).ask(asked)
    assert sorted(u.source for u in ans.units or []) == ["000_b17f134b7a6d8e07.txt", "003_332cd0b86e5ac67a.txt"], (
        ans.answer
    )
    assert all(r.reason == REASON_NOT_DENIED for r in ans.related), ans.answer
    # The problem itself, asked without the denial, is still stated by nobody.
    assert Answerer(sample_retriever).ask("哪些单位存在挤占挪用资金的问题？").units == []


@pytest.mark.parametrize(
    "asked", ["提到招商引资的单位，请列出来。", "招商引资的，列出来", "提到招商引资的乡镇单位有哪些？"]
)
def test_a_topic_of_no_concept_asked_for_as_a_list_gets_the_same_list(sample_retriever: Retriever, asked: str) -> None:
    """Session 22: "，请列出来" and "乡镇单位" stayed in the topic, so the corpus-wide pass looked for them too and found no
    unit, where "哪些单位提到招商引资？" lists every one."""
    answerer = Answerer(sample_retriever)
    plain = answerer.ask("哪些单位提到招商引资？")
    ans = answerer.ask(asked)
    assert plain.units and [u.unit for u in ans.units or []] == [u.unit for u in plain.units], ans.answer


def test_pages_of_an_aggregate_are_the_whole_list_in_order(sample_retriever: Retriever) -> None:
    answerer = Answerer(sample_retriever)
    question = "哪些单位提到绩效目标不够细化？"
    whole = answerer.ask(question)
    assert whole.units and len(whole.units) >= 2 and whole.total_units == len(whole.units) and whole.related
    pages = [answerer.ask(question, page=Page(i, 1)) for i in range(len(whole.units))]
    assert [p.units[0].unit for p in pages if p.units] == [u.unit for u in whole.units]
    assert [c.text for p in pages for c in p.citations[:1]] == [
        whole.citations[i - 1].text for u in whole.units for i in u.citation_ids[:1]
    ]
    assert pages[0].related and not any(p.related for p in pages[1:])  # near misses once, with the first page
    assert all(p.total_units == len(whole.units) for p in pages)
    # A chat client pages by saying "继续": the next page, as many units as the page before.
    more = answerer.ask("继续", [Turn("user", question), Turn("assistant", pages[0].answer)], page=Page(0, 1))
    assert more.offset == 1 and [u.unit for u in more.units or []] == [whole.units[1].unit], more.answer


def test_a_page_counts_units_not_documents() -> None:
    """Two reports of one unit are one unit on one page, with both cited sentences; only the page's sentences are
    built (`take`)."""

    def sentence(doc: DocFields, score: float) -> Sentence:
        h = Hit(f"{doc.doc_id}-0", doc, "一、问题", "problems", "预算编制不够细化。", 0, 9, 0, score)
        return Sentence(h, h.text, 0, 9, score)

    a21, a22 = (
        DocFields("a21", "a21.txt", "", "甲局", "", 2021, "其他"),
        DocFields("a22", "a22.txt", "", "甲局", "", 2022, "其他"),
    )
    b = DocFields("b", "b.txt", "", "乙局", "", 2021, "其他")
    taken: list[list[int]] = []

    class Recorded(SentenceList):
        def take(self, positions):  # type: ignore[no-untyped-def]
            taken.append(list(positions))
            return super().take(positions)

    counted = Recorded([sentence(a21, 0.9), sentence(b, 0.8), sentence(a22, 0.7)])
    first, total = page_of(counted, Page(0, 1))
    assert total == 2 and [s.hit.doc.doc_id for s in first] == ["a21", "a22"] and taken == [[0, 2]]
    second, _ = page_of(counted, Page(1, 1))
    assert [s.hit.doc.doc_id for s in second] == ["b"]


# Problem and measure topics are answered from findings; these neutral topics take the corpus-wide pass, whose key-word
# floor (Topic.key_floor) already keeps most unrelated sentences out, so the pruning may add nothing: it must never
# change an answer.
@pytest.mark.parametrize("question", ["哪些单位提到招商引资？", "哪些单位提到500强企业？"])
def test_corpus_wide_pass_embeds_unrelated_sentences_only_from_the_nearest_chunks(
    sample_retriever: Retriever, question: str
) -> None:
    runs = {}
    for pruned in (True, False):
        answerer = Answerer(sample_retriever)
        nearest = answerer.params.aggregate_meaning_chunks if pruned else 10**6
        answerer.ctx.params = replace(answerer.params, aggregate_meaning_chunks=nearest)
        answerer.ctx.vectors = recording = RecordingVectors(answerer.ctx.vectors)
        ans = answerer.ask(question)
        runs[pruned] = (
            recording.asked,
            [(u.unit, u.citation_ids) for u in ans.units or []],
            [u.unit for u in ans.related],
        )
    pruned, every = runs[True][0], runs[False][0]
    topic = understand(question, (), list(sample_retriever.catalogue().values()), None).topic
    coverage = Coverage(set(tokenize(topic)), sample_retriever.lexical().idf)
    assert pruned and set(pruned) <= set(every)
    assert sum(coverage(s) == 0 for s in pruned) <= sum(coverage(s) == 0 for s in every)
    assert runs[True][1:] == runs[False][1:]  # same units, same evidence, same near misses


CORPUS_WIDE = ["哪些单位提到招商引资？", "哪些单位存在重大事项？", "哪些单位提到500强企业？", "哪些单位提到项目库？"]


def _reference_verdict(
    every: list[Sentence], denied_by: Callable[[str], bool] | None, p: EvidenceParams
) -> tuple[list[Sentence], list[Sentence], list[Sentence]]:
    """Per document, sentence by sentence (best first): counted by its best sentence at the floor that the check
    does not deny; denied (a near miss) when each of those is; otherwise its best sentence above the near floor is
    related. Returns counted, denied, related (each in order of the sentence listed)."""
    counted: dict[str, Sentence] = {}
    denied: dict[str, Sentence] = {}
    related: dict[str, Sentence] = {}
    for s in every:
        if s.score >= p.aggregate_threshold:
            if s.doc_id in counted:
                continue
            if denied_by is not None and denied_by(s.text):
                denied.setdefault(s.doc_id, s)
            else:
                counted[s.doc_id] = s
        elif s.score >= p.related_threshold and s.doc_id not in counted and s.doc_id not in denied:
            related.setdefault(s.doc_id, s)
    return (
        list(counted.values()),
        [s for d, s in denied.items() if d not in counted],
        list(related.values()),
    )


@pytest.mark.parametrize("denies", [False, True])
def test_corpus_wide_verdict_is_the_reference_verdict_built_lazily(
    sample_retriever: Retriever, monkeypatch: pytest.MonkeyPatch, denies: bool
) -> None:
    """The corpus-wide verdict keeps the pass's sentences as columns and builds only what is listed; oracle: the
    per-sentence reference (every sentence built, `_reference_verdict`) at several floors. No sample sentence
    denies an occurrence, so a stand-in denial (sentences of even length) exercises that branch: a document whose
    best sentence is denied is counted by its next one (session 26)."""
    if denies:
        monkeypatch.setattr(aggregate, "denial_of", lambda topic: lambda sentence: len(sentence) % 2 == 0)
    answerer = Answerer(sample_retriever)
    ctx = answerer.ctx
    catalogue = list(sample_retriever.catalogue().values())
    seen = {"counted": 0, "related": 0, "denied": 0, "counted_after_denial": 0}
    for question in CORPUS_WIDE:
        u = understand(question, (), catalogue, None)
        assert u.intent == "aggregate" and topic_role(u.topic) is None, question
        topic = Topic(u.topic, ctx.topic(u.topic).vector, ctx.params.key_coverage)
        every = list(aggregate.aggregate_evidence(ctx, u, topic))
        denied_by = aggregate.denial_of(u.topic)
        for floor, near in ((0.8, 0.75), (0.75, 0.6), (1.05, 0.7)):
            ctx.params = replace(answerer.params, aggregate_threshold=floor, related_threshold=near)
            counted, denied, related = _reference_verdict(every, denied_by, ctx.params)
            if denied_by is None:
                accepted, plain = aggregate.select_units(every, ctx.params)
                assert (counted, related[:RELATED_MAX]) == (accepted, plain)
            got = aggregate.verdict(ctx, u)
            assert got.accepted[:] == counted, (question, floor)
            assert got.accepted.units() == [s.hit.doc.display_unit for s in counted]
            assert [(r.sentence, r.reason) for r in got.related] == [
                *[(s, REASON_DENIED) for s in denied][:RELATED_MAX],
                *[(s, REASON_VAGUE) for s in related],
            ][:RELATED_MAX]
            seen["counted"] += len(counted)
            seen["related"] += len(related)
            seen["denied"] += len(denied)
            firsts = {s.doc_id: s for s in reversed(every) if s.score >= floor}
            seen["counted_after_denial"] += sum(firsts[s.doc_id] is not s for s in counted)
    assert seen["counted"] and seen["related"] and bool(seen["denied"]) == denies, seen
    assert bool(seen["counted_after_denial"]) == denies, seen


def test_units_that_do_not_state_a_topic_and_units_left_out(sample_retriever: Retriever) -> None:
    """Session 22: "哪些单位没有提到X？" listed the units that do state X, and "除了A，还有哪些单位提到X？" listed only A (its
    name was read as a filter). Now the first lists the other units of the library (by name: nothing to cite), the
    second leaves A out."""
    answerer = Answerer(sample_retriever)
    stating = [u.unit for u in answerer.ask("哪些单位提到预算编制不够细化？").units or []]
    everyone = {r.doc.display_unit for r in sample_retriever.catalogue().values()}
    missing = answerer.ask("哪些单位没有提到预算编制不够细化？")
    assert stating and missing.kind == "aggregate" and "未提到" in missing.answer, missing.answer
    assert {u.unit for u in missing.units or []} == everyone - set(stating)
    assert not missing.citations
    rest = answerer.ask(f"除了{stating[0]}，还有哪些单位提到预算编制不够细化？")
    assert [u.unit for u in rest.units or []] == stating[1:] and "不含" in rest.answer, rest.answer


def test_two_topics_both_or_either(sample_retriever: Retriever) -> None:
    """Session 22: "既提到A又提到B" was read as one topic and listed A's units under a label naming both."""
    answerer = Answerer(sample_retriever)

    def units(q: str) -> set[str]:
        return {u.unit for u in answerer.ask(q).units or []}

    a, b = units("哪些单位提到招商引资？"), units("哪些单位提到专项资金？")
    assert a and b and a != b
    both = answerer.ask("哪些单位同时提到招商引资和专项资金？")
    assert {u.unit for u in both.units or []} == a & b and "同时提到" in both.answer, both.answer
    assert units("哪些单位提到预算编制不够细化或者招商引资？") == units("哪些单位提到预算编制不够细化？") | a
    # Every listed unit cites a sentence for each topic it is listed for.
    for ue in both.units or []:
        quoted = "".join(both.citations[c - 1].text for c in ue.citation_ids)
        assert "招商" in quoted and "专项资金" in quoted, ue
    # A unit the question leaves out stays out of a two-topic list too.
    first = sorted(a & b)[0]
    rest = answerer.ask(f"除了{first}，还有哪些单位同时提到招商引资和专项资金？")
    assert {u.unit for u in rest.units or []} == (a & b) - {first} and "不含" in rest.answer, rest.answer
