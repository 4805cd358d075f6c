"""The scale evaluation's generated libraries (qa.scale.generate): seeded and repeatable, each built from its own half
of the phrasing bank only, of the promised shape. Without the model (fast)."""

from __future__ import annotations

from qa.scale.bank import Bank, load_bank, load_common
from qa.scale.generate import DEFAULT_DOCS, generate_library
from tests.support.scale import bank_sentences


def test_generation_is_deterministic_and_seeded(banks: dict[str, Bank]) -> None:
    common = load_common()
    a, b = generate_library(banks["tuning"], common, 40, 7), generate_library(banks["tuning"], common, 40, 7)
    assert a.fingerprint() == b.fingerprint() and [d.file for d in a.docs] == [d.file for d in b.docs]
    assert generate_library(banks["tuning"], common, 40, 8).fingerprint() != a.fingerprint()


def test_each_library_is_built_from_its_own_half_only(banks: dict[str, Bank], libraries: dict) -> None:
    for split, other in (("tuning", "reporting"), ("reporting", "tuning")):
        own = bank_sentences(banks[split])
        # A short foreign wording may be part of a longer own one ("预算编制不够细化" in "部门预算编制不够细化，…").
        foreign = {s for s in bank_sentences(banks[other]) if len(s) > 6 and not any(s.rstrip("。") in o for o in own)}
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
