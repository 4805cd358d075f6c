"""Finding verdicts (qa.findings.evidence): which documents state a problem or measure topic, whatever its wording."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from qa.answer import Answerer
from qa.evidence import Topic
from qa.findings import Categorizer, load_taxonomy
from qa.findings.evidence import REASON_AS_MEASURE, finding_verdict
from qa.library import Library
from qa.retrieve import Filters, Retriever
from tests.conftest import FIXTURES, SAMPLES, ingest_into


def test_finding_verdicts_are_one_list_for_every_wording(sample_retriever: Retriever) -> None:
    """A topic that maps onto a concept lists the documents whose problems state it, whatever the wording; a unit
    that states it only as a measure is a near miss with its reason; filters narrow the same list."""
    answerer = Answerer(sample_retriever)
    answerer.warm()
    scoring = answerer.ctx.scoring(sample_retriever.lexical())
    budget = {"益阳市赫山区投资促进服务中心", "湖南省大祥工业集中区管理委员会"}
    for wording in ("预算编制不够细化", "预算做得太粗", "年初预算安排得比较笼统"):
        t = Topic(wording, sample_retriever.queries.encode(wording))
        v = finding_verdict(answerer.findings, scoring, t, "problem", Filters())
        assert v.concept == "预算编制不够细化" and {s.hit.doc.unit for s in v.accepted} == budget, (wording, v)
        assert all(s.hit.section_role == "problems" for s in v.accepted)
        # The counted rows build their sentences on demand: the units named without building them agree.
        assert (
            v.accepted.units()
            == [s.hit.doc.display_unit for s in v.accepted[:]]
            == [s.hit.doc.display_unit for s in v.accepted]
        )
        assert v.accepted[-1] == v.accepted[len(v.accepted) - 1] and v.accepted.take([1, 0]) == v.accepted[::-1]
    t = Topic("专账核算", sample_retriever.queries.encode("专账核算"))
    v = finding_verdict(answerer.findings, scoring, t, "problem", Filters())
    assert [s.hit.doc.display_unit for s in v.accepted] == ["000_b17f134b7a6d8e07.txt"]
    assert v.accepted[0].text.startswith("2、项目资金未实行专账核算")
    narrowed = finding_verdict(
        answerer.findings,
        scoring,
        Topic("预算编制不够细化", sample_retriever.queries.encode("预算编制不够细化")),
        "problem",
        Filters(year=2022),
    )
    assert list(narrowed.accepted) == []  # both units that say so reported on 2021
    # A measure question: units that only state the concept as a problem are near misses, never counted.
    t = Topic("加强专业人才队伍建设", sample_retriever.queries.encode("加强专业人才队伍建设"))
    measures = finding_verdict(answerer.findings, scoring, t, "measure", Filters())
    counted = {s.hit.doc.unit for s in measures.accepted}
    assert all(r.sentence.hit.doc.unit not in counted for r in measures.related)
    problems = finding_verdict(answerer.findings, scoring, t, "problem", Filters())
    assert {s.hit.doc.unit for s in problems.accepted} == {"芙蓉区商务局", "湖南省大祥工业集中区管理委员会"}
    assert REASON_AS_MEASURE not in {r.reason for r in measures.related}


def test_view_vectors_are_float16_and_cosines_match_float32(sample_retriever: Retriever, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Issue 23: the view keeps its sentence vectors in float16 (half the memory); the cosines of a topic of no
    concept, computed block by block, stay within float16's rounding of the float32 ones."""
    import numpy as np

    import qa.findings.evidence as fe
    from qa.findings import open_findings

    view = open_findings(sample_retriever).view()
    assert view.vectors.dtype == np.float16 and len(view.vectors) > 20
    rows = np.arange(len(view.vectors))[::-1].copy()
    topic = sample_retriever.embedder.encode_queries(["预算编制不够细化"])[0]
    exact = view.vectors.take(rows).astype(np.float64) @ topic.astype(np.float64)
    monkeypatch.setattr(fe, "_COSINE_BLOCK", 7)  # several blocks, one of them partial
    got = fe._cosines(view.vectors, rows, topic)
    assert got.shape == exact.shape and np.abs(got - exact).max() < 1e-3


def _report(unit: str, measures: str) -> str:
    return (
        f"{unit}2021年度部门整体支出绩效自评报告\n一、基本情况\n本单位2021年支出预算100万元，实际支出98万元。\n"
        "二、存在的问题\n一是申报项目时写的预期成效多是“明显提升”“有效改善”之类的话，拿不出具体数字，年底没法对照打分。\n"
        f"三、改进措施\n{measures}\n"
    )


def test_a_problem_described_in_everyday_words_counts_when_its_report_states_the_concept_as_a_measure(
    empty_retriever: Retriever, tmp_path: Path
) -> None:
    """The problem sentence leans to 绩效目标不够细化量化 by less than the margin the categoriser needs; the report whose
    measures name that concept plainly is counted under it (its problem sentence cited), the report whose measures
    are about something else is not. Judged with the taxonomy as it was when the pairing was built (a fixture): the
    shipped one grows with every set of independent examples, and since session 17 states this sentence on its own."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text(
        _report("甲市乙区文化馆", "一是加强绩效目标审核，确保指标可衡量、可考核。"), encoding="utf-8"
    )
    (folder / "b.txt").write_text(_report("甲市丙区图书馆", "一是加强固定资产管理，定期盘点。"), encoding="utf-8")
    ingest_into(empty_retriever, [folder])
    answerer = Answerer(empty_retriever)
    answerer.findings.categorizer = Categorizer(
        load_taxonomy(FIXTURES / "taxonomy_session16.yaml"), empty_retriever.embedder
    )
    answerer.warm()
    scoring = answerer.ctx.scoring(empty_retriever.lexical())
    topic = Topic("绩效目标不够细化", empty_retriever.queries.encode("绩效目标不够细化"))
    v = finding_verdict(answerer.findings, scoring, topic, "problem", Filters())
    assert v.concept == "绩效目标不够细化量化"
    assert [(s.hit.doc.unit, s.hit.section_role) for s in v.accepted] == [("甲市乙区文化馆", "problems")]
    assert v.accepted[0].text.startswith("一是申报项目时写的预期成效")
    categorizer = answerer.findings.categorizer
    row = answerer.findings.view().row_scores[0]
    concept = categorizer.taxonomy.names.index("绩效目标不够细化量化")
    assert not categorizer.accepted(row[None, :])[0, concept]  # not stated on its own: the pairing decides
    strict = replace(categorizer.params, paired_margin=-1.0)
    answerer.findings.categorizer = Categorizer(categorizer.taxonomy, empty_retriever.embedder, strict)
    answerer.findings._accepted = None
    assert not finding_verdict(answerer.findings, scoring, topic, "problem", Filters()).accepted


def test_concept_questions_on_an_empty_library_and_after_its_last_delete(empty_retriever: Retriever) -> None:
    """Nothing stored yet, and everything deleted again (every row dead): a concept question lists nobody instead
    of failing on a view with no rows."""
    answerer = Answerer(empty_retriever)
    question = "哪些单位提到预算编制不够细化？"
    assert answerer.ask(question).units == []
    report = ingest_into(empty_retriever, [SAMPLES])
    assert answerer.ask(question).units
    library = Library.of(empty_retriever)
    for doc_id in report.doc_ids.values():
        library.delete(doc_id)
    assert answerer.ask(question).units == []


def test_a_sentence_denying_the_asked_event_is_not_counted(empty_retriever: Retriever, tmp_path: Path) -> None:
    """Session 17: "有没有项目施工时发生过安全事故？" listed every report with the stock line "全年未发生安全事故"; a denial is
    shown apart with its reason, the report stating the event is counted."""
    from qa.findings.evidence import REASON_DENIED

    folder = tmp_path / "in"
    folder.mkdir()
    head = "2021年度部门整体支出绩效自评报告\n一、基本情况\n本单位2021年支出预算100万元，实际支出98万元。\n二、项目实施情况\n"
    (folder / "a.txt").write_text(
        f"甲市乙区住房和城乡建设局{head}安全生产责任制落实到位，全年未发生安全事故。\n", encoding="utf-8"
    )
    (folder / "b.txt").write_text(
        f"甲市丙区交通运输局{head}6月道路改造项目施工时发生一起安全事故，一名工人受伤。\n", encoding="utf-8"
    )
    ingest_into(empty_retriever, [folder])
    answerer = Answerer(empty_retriever)
    ans = answerer.ask("有没有项目施工时发生过安全事故？")
    assert ans.kind == "aggregate"
    assert [u.unit for u in ans.units or []] == ["甲市丙区交通运输局"]
    assert [(u.unit, u.reason) for u in ans.related] == [("甲市乙区住房和城乡建设局", REASON_DENIED)]


def test_cosines_are_the_float32_product_of_the_float16_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    """`_cosines` converts the view's float16 rows through torch into one buffer: every value must be the one the
    plain numpy conversion and product give, block by block (a score's last digit decides ties and floors)."""
    from qa.findings import evidence
    from qa.findings.columns import Rows

    monkeypatch.setattr(evidence, "_COSINE_BLOCK", 7)  # several blocks, the last one short
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((40, 16)).astype(np.float16)
    topic = rng.standard_normal(16).astype(np.float32)
    rows = np.array([3, 0, 39, 5, 5, 12, 20, 21, 22, 23, 24, 25, 26, 27, 30, 31, 38], dtype=np.int64)
    got = evidence._cosines(Rows([vectors]), rows, topic)
    want = np.concatenate([vectors[rows[i : i + 7]].astype(np.float32) @ topic for i in range(0, len(rows), 7)])
    assert got.dtype == np.float64 and np.array_equal(got, want.astype(np.float64))
    assert len(evidence._cosines(Rows([vectors]), rows[:0], topic)) == 0


def test_a_sentence_saying_nothing_was_found_is_no_problem_in_an_older_store(
    empty_retriever: Retriever, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sentence 本年度未发现需要整改的事项。 resembles 绩效评价结果运用不充分 closely enough to be accepted for it. Extraction now
    drops such a finding; a store ingested before still holds it, and the view must not count it as a problem."""
    import ingest.findings

    folder = tmp_path / "in"
    folder.mkdir()
    head = "2021年度部门整体支出绩效自评报告\n一、基本情况\n本单位2021年支出预算100万元，实际支出98万元。\n二、存在的问题\n"
    (folder / "a.txt").write_text(f"甲市乙区住房和城乡建设局{head}本年度未发现需要整改的事项。\n", encoding="utf-8")
    (folder / "b.txt").write_text(
        f"甲市丙区交通运输局{head}绩效评价结果运用不充分，评价结果未与下年度预算安排挂钩。\n", encoding="utf-8"
    )
    monkeypatch.setattr(ingest.findings, "_is_finding", lambda text: len(text.strip()) >= 4)  # extraction as before
    ingest_into(empty_retriever, [folder])
    answerer = Answerer(empty_retriever)
    view = answerer.findings.view()
    rows = {view.finding(int(view.row_finding[r])).sentences[0].text: r for r in range(len(view.row_doc))}
    nothing = rows["本年度未发现需要整改的事项。"]
    assert view.row_accepted[nothing].any()  # the categoriser alone would count it …
    assert not view.row_problem[nothing]  # … the view does not
    ans = answerer.ask("哪些单位提到绩效评价结果运用不充分？")
    assert [u.unit for u in ans.units or []] == ["甲市丙区交通运输局"]
