"""The scale evaluation's bank, generator, questions, scoring and cache keys, without the model (fast)."""

from __future__ import annotations

import dataclasses
import re

import jieba
import pytest

from qa.scale.bank import MIN_DESCRIBED, MIN_TOPICS, SPLITS, Bank, load_bank, load_common
from qa.scale.generate import DEFAULT_DOCS, LibraryDoc, Planted, generate_library
from qa.scale.harness import ROOT, import_closure
from qa.scale.questions import build_questions
from qa.scale.report import flat, markdown
from qa.scale.score import Asked, Cited, cause, overlaps, score

_FUNCTION_WORDS = {"的", "了", "和", "与", "不", "未", "较", "有", "等", "是", "在"}


@pytest.fixture(scope="module")
def banks() -> dict[str, Bank]:
    return {s: load_bank(s) for s in SPLITS}


@pytest.fixture(scope="module")
def libraries(banks: dict[str, Bank]) -> dict:
    common = load_common()
    return {s: generate_library(banks[s], common) for s in SPLITS}


def _sentences(bank: Bank) -> set[str]:
    out = {w.text for t in bank.topics for w in t.wordings}
    out |= {x for t in bank.topics for x in (*t.positive, *t.plan, *t.surface, *t.paraphrases)}
    out |= (
        set(bank.no_problem)
        | {d.text for n in bank.nobody for d in n.decoys}
        | {q for n in bank.nobody for q in n.questions}
    )
    return out


def test_both_halves_hold_what_the_evaluation_promises(banks: dict[str, Bank]) -> None:
    tuning, reporting = banks["tuning"], banks["reporting"]
    assert len(tuning.topics) >= MIN_TOPICS and [t.id for t in tuning.topics] == [t.id for t in reporting.topics]
    for t, r in zip(tuning.topics, reporting.topics):
        assert (t.canonical, t.canonical_question, t.neighbours) == (r.canonical, r.canonical_question, r.neighbours)
        assert len(t.wordings) + len(r.wordings) >= 8 and len(t.paraphrases) + len(r.paraphrases) >= 4
        described = [w for w in (*t.wordings, *r.wordings) if w.style == "described"]
        assert len(described) >= max(3, 2 * MIN_DESCRIBED)
        assert sum(w.style == "described" for w in t.wordings) == sum(w.style == "described" for w in r.wordings)
    assert min(len(tuning.nobody), len(reporting.nobody)) >= 3
    # Nothing of one half is in the other: the reporting half is never seen while tuning.
    assert not (_sentences(tuning) - {"无。"}) & _sentences(reporting)
    assert not {n.topic for n in tuning.nobody} & {n.topic for n in reporting.nobody}


def test_described_wordings_share_almost_no_word_with_the_canonical_phrase(banks: dict[str, Bank]) -> None:
    for bank in banks.values():
        for t in bank.topics:
            canonical = set(jieba.lcut(t.canonical)) - _FUNCTION_WORDS
            for w in t.wordings:
                if w.style == "described":
                    shared = canonical & set(jieba.lcut(w.text))
                    assert len(shared) <= 1, (t.id, shared)


def test_generation_is_deterministic_and_seeded(banks: dict[str, Bank]) -> None:
    common = load_common()
    a, b = generate_library(banks["tuning"], common, 40, 7), generate_library(banks["tuning"], common, 40, 7)
    assert a.fingerprint() == b.fingerprint() and [d.file for d in a.docs] == [d.file for d in b.docs]
    assert generate_library(banks["tuning"], common, 40, 8).fingerprint() != a.fingerprint()


def test_each_library_is_built_from_its_own_half_only(banks: dict[str, Bank], libraries: dict) -> None:
    for split, other in (("tuning", "reporting"), ("reporting", "tuning")):
        own = _sentences(banks[split])
        # A short foreign wording may be part of a longer own one ("预算编制不够细化" in "部门预算编制不够细化，…").
        foreign = {s for s in _sentences(banks[other]) if len(s) > 6 and not any(s.rstrip("。") in o for o in own)}
        text = "\n".join(d.text for d in libraries[split].docs)
        assert not [s for s in foreign if s.rstrip("。") in text]


def test_library_shape(libraries: dict) -> None:
    for lib in libraries.values():
        docs = lib.docs
        assert len(docs) == DEFAULT_DOCS and len([d for d in docs if d.kind != "其他"]) >= 300
        assert 0.05 <= sum(d.kind == "其他" for d in docs) / len(docs) <= 0.10
        assert {d.kind for d in docs} == {"部门整体支出", "项目支出", "部门决算", "其他"}
        assert {d.year for d in docs} == set(range(2019, 2025))
        assert len({d.province for d in docs}) >= 10 and len({d.file for d in docs}) == len(docs)
        assert max(len(d.stated) for d in docs) == 4 and all(not d.stated for d in docs if d.kind == "其他")
        units = {d.unit for d in docs if d.kind != "其他"}
        assert sum(1 for u in units if len({d.year for d in docs if d.unit == u}) > 1) >= 50
        uses: dict[str, int] = {}
        for d in docs:
            for p in d.planted:
                if p.category == "problem":
                    uses[p.text] = uses.get(p.text, 0) + 1
        assert min(uses.values()) >= 2 and len(uses) == sum(len(t.wordings) for t in load_bank(lib.split).topics)  # type: ignore[arg-type]
        layouts = {d.layout.get("placement") for d in docs}
        assert {"section", "combined", "conclusion", "no_problem", "final_accounts"} <= layouts


def test_gold_lists_follow_the_ground_truth(banks: dict[str, Bank], libraries: dict) -> None:
    lib = libraries["tuning"]
    questions = build_questions(banks["tuning"], lib)
    by_id = {q.id: q for q in questions}
    for q in questions:
        if q.frame == "nobody":
            assert q.gold == ()
            continue
        canonical = set(by_id[f"{q.topic}/canonical"].gold)
        assert set(q.gold) <= canonical and (q.frame not in ("paraphrase", "count") or set(q.gold) == canonical)
        assert q.gold == tuple(sorted({d.unit for d in lib.docs if q.topic in d.stated and q.admits(d)}))
        if q.frame in ("year", "region"):
            assert q.gold and (str(q.year) in q.text if q.year else q.region in q.text)  # type: ignore[operator]


def _doc(
    file: str, unit: str, stated: tuple[str, ...], planted: tuple[Planted, ...], kind: str = "部门整体支出"
) -> LibraryDoc:
    return LibraryDoc(
        file,
        "t",
        unit,
        "湖南省",
        "长沙市",
        "芙蓉区",
        2021,
        kind,
        stated,
        planted,
        {},
        " ".join(p.text for p in planted),
    )


def test_scoring_by_hand() -> None:
    from qa.scale.generate import Library
    from qa.scale.questions import Question

    lib = Library("tuning", 1)
    lib.docs = [
        _doc("a.txt", "甲局", ("budget",), (Planted("problem", "budget", "年初安排资金时只定了大盘子。"),)),
        _doc("b.txt", "乙局", (), (Planted("positive", "budget", "预算编制科学合理，细化到具体项目。"),)),
        _doc("c.txt", "丙局", ("goals",), (Planted("problem", "goals", "绩效目标不够细化、量化。"),)),
        _doc("d.txt", "丁局", ("budget",), (Planted("problem", "budget", "预算编制不够细化。"),)),
    ]
    neighbours = {"budget": ("goals",)}
    qs = [
        Question("budget/canonical", "budget", "canonical", "q1", ("丁局", "甲局")),
        Question("budget/para-1", "budget", "paraphrase", "q2", ("丁局", "甲局")),
    ]
    asked = [
        Asked(
            "aggregate",
            ("丁局", "乙局"),
            (
                Cited("丁局", "d.txt", "预算编制不够细化。"),
                Cited("乙局", "b.txt", "预算编制科学合理，细化到具体项目。"),
            ),
            (),
            0.1,
        ),
        Asked(
            "aggregate",
            ("丁局", "甲局", "丙局"),
            (
                Cited("丁局", "d.txt", "预算编制不够细化。"),
                Cited("甲局", "a.txt", "年初安排资金时只定了大盘子。"),
                Cited("丙局", "c.txt", "绩效目标不够细化、量化。"),
            ),
            (Cited("乙局", "b.txt", "预算编制科学合理"),),
            0.3,
        ),
    ]
    result = score(qs, asked, lib, neighbours)
    overall = result["overall"]
    # tp 1 + 2, fp 1 + 1, fn 1 + 0
    assert (overall["unit_precision"], overall["unit_recall"]) == (0.6, 0.75)
    assert overall["jaccard_min"] == round(1 / 4, 4)  # {丁,乙} vs {丁,甲,丙}
    assert result["near_miss"]["positive"] == {"exposed": 2, "wrong": 1, "docs_wrong": 1}
    assert result["near_miss"]["neighbour"]["wrong"] == 1 and overall["near_miss_clean"] == 0.5
    assert overall["evidence_ok"] == 1.0 and overall["related_same_topic"] == 1.0
    assert cause(lib.docs[1], "budget", "预算编制科学合理，细化到具体项目。", neighbours) == "positive"
    assert overlaps("一是年初安排资金时只定了大盘子", "年初安排资金时只定了大盘子。") and not overlaps(
        "预算编制", "绩效目标不够细化"
    )


def test_reporting_results_carry_no_bank_text(banks: dict[str, Bank], libraries: dict) -> None:
    """The markdown and JSON of the reporting half name questions by id only."""
    lib = libraries["reporting"]
    qs = build_questions(banks["reporting"], lib)
    asked = [Asked("aggregate", (), (), (), 0.01) for _ in qs]
    scored = score(qs, asked, lib, {t.id: t.neighbours for t in banks["reporting"].topics})
    results = {
        "split": "reporting",
        "docs": DEFAULT_DOCS,
        "seed": 18,
        "generator_version": "1",
        "questions": len(qs),
        "chunks": 0,
        "library": {"reports": 1, "units": 1, "units_with_several_reports": 0, "other_documents": 0},
        "scale": scored["overall"],
        "by_frame": scored["by_frame"],
        "by_topic": scored["by_topic"],
        "near_miss": scored["near_miss"],
        "parse": {"metadata": {}, "problems_as_findings": {}},
        "rows": scored["rows"],
        "timing": {"total_s": 0, "cache_hit": True, "generate_s": 0, "ingest_s": 0, "sentences_s": 0, "questions_s": 0},
    }
    text = markdown(results) + repr(results)
    leaked = [s for s in _sentences(banks["reporting"]) - {"无。", "暂无。"} if s in text or s.rstrip("。？") in text]
    assert not leaked
    assert flat(results)["scale.unit_recall"] == 0.0 and "scale.topic.budget_refine.unit_f1" in flat(results)


def test_cache_key_covers_what_ingest_imports() -> None:
    files = {str(p.relative_to(ROOT)) for p in import_closure(["qa.library", "qa.store"])}
    assert {
        "qa/library.py",
        "qa/ingest_run.py",
        "ingest/pipeline.py",
        "ingest/findings.py",
        "ingest/metadata.py",
        "qa/store.py",
    } <= files
    # Answering changes keep the cached store.
    assert not {"qa/answer.py", "qa/evidence.py", "qa/retrieve.py"} & files and not any(
        f.startswith("qa/answering/") for f in files
    )
    sentences = {str(p.relative_to(ROOT)) for p in import_closure(["qa.sentences"])}
    assert "qa/sentences.py" in sentences and "qa/lexical.py" in sentences


def test_bank_errors_name_the_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from qa.scale.bank import BankError, bank_path

    source = bank_path("tuning").read_text(encoding="utf-8")
    (tmp_path / "bank_tuning.yaml").write_text(
        re.sub(r"paraphrases:\n(\s+- .*\n)+", "paraphrases: [只有一个？]\n", source, count=1), encoding="utf-8"
    )
    with pytest.raises(BankError, match=re.escape("bank_tuning.yaml")):
        load_bank("tuning", tmp_path)
    assert dataclasses.is_dataclass(load_bank("tuning"))


def test_no_reporting_sentence_is_already_in_the_project(banks: dict[str, Bank]) -> None:
    """The reporting half is unseen: none of its sentences is in the samples, the eval sets or the shipped taxonomy
    (which the answering mechanism reads and its tuning may extend)."""
    seen = "".join(
        p.read_text(encoding="utf-8")
        for p in [
            *(ROOT / "samples").glob("*.txt"),
            *(ROOT / "eval_sets").glob("*.jsonl"),
            ROOT / "qa" / "resources" / "finding_categories.yaml",
        ]
    )
    assert not [s for s in _sentences(banks["reporting"]) if len(s) > 6 and s.rstrip("。？") in seen]
