"""The phrasing bank of the scale evaluation: problem topics with their wordings, near misses and questions,
one YAML file per half (eval_sets/scale/bank_tuning.yaml, bank_reporting.yaml), and the split-neutral generator
material (eval_sets/scale/common.yaml). Format: eval_sets/scale/README.md.

A malformed file is a `BankError` naming the file and what is wrong; the counts the evaluation promises
(topics, wordings per topic, described wordings, paraphrases, nobody topics) are checked on load.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal

import yaml

Split = Literal["tuning", "reporting"]
SPLITS: tuple[Split, ...] = ("tuning", "reporting")
STYLES = ("named", "causal", "nested", "described")
BANK_DIR = Path(__file__).resolve().parents[2] / "eval_sets" / "scale"
# What one half must hold (the whole bank holds twice the per-half counts).
MIN_TOPICS = 12
MIN_WORDINGS = 4  # per topic and half
MIN_DESCRIBED = 2  # per topic and half
MIN_PARAPHRASES = 2  # per topic and half
MIN_NEAR = 2  # positive / plan / surface statements per topic and half
MIN_NOBODY = 3
MIN_NO_PROBLEM = 5


class BankError(ValueError):
    """A bank or common file that cannot be used; the message names the file."""


@dataclass(frozen=True)
class Wording:
    text: str
    style: str


@dataclass(frozen=True)
class Topic:
    id: str
    canonical: str  # the reports' usual term, also what the templates fill in
    neighbours: tuple[str, ...]
    wordings: tuple[Wording, ...]
    positive: tuple[str, ...]
    plan: tuple[str, ...]
    surface: tuple[str, ...]
    canonical_question: str
    paraphrases: tuple[str, ...]


@dataclass(frozen=True)
class Decoy:
    text: str
    groups: tuple[str, ...]  # unit groups the sentence fits; () = any


@dataclass(frozen=True)
class Nobody:
    id: str
    topic: str
    questions: tuple[str, ...]
    decoys: tuple[Decoy, ...]
    absent: tuple[str, ...]  # terms no generated document may contain (checked by the generator)


@dataclass(frozen=True)
class Bank:
    split: Split
    topics: tuple[Topic, ...]
    no_problem: tuple[str, ...]
    templates: dict[str, tuple[str, ...]]  # year / region / count
    nobody: tuple[Nobody, ...]

    def topic(self, topic_id: str) -> Topic:
        return next(t for t in self.topics if t.id == topic_id)


def bank_path(split: Split, directory: Path = BANK_DIR) -> Path:
    return directory / f"bank_{split}.yaml"


def _read(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise BankError(f"{path.name} 无法读取：{exc}") from exc
    if not isinstance(data, dict):
        raise BankError(f"{path.name} 不是 YAML 映射")
    return data


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise BankError(f"{where} 需要非空字符串列表")
    return tuple(v.strip() for v in value)


def load_bank(split: Split, directory: Path = BANK_DIR) -> Bank:
    path = bank_path(split, directory)
    data = _read(path)
    name = path.name
    if data.get("split") != split:
        raise BankError(f"{name}：split 应为 {split}")
    topics: list[Topic] = []
    try:
        for t in data["topics"]:
            where = f"{name} · {t.get('id')}"
            wordings = tuple(Wording(str(w["text"]).strip(), str(w["style"])) for w in t["wordings"])
            if any(w.style not in STYLES for w in wordings):
                raise BankError(f"{where}：style 只能是 {'/'.join(STYLES)}")
            q = t["questions"]
            topic = Topic(
                id=str(t["id"]),
                canonical=str(t["canonical"]),
                neighbours=tuple(t.get("neighbours") or ()),
                wordings=wordings,
                positive=_strings(t["positive"], f"{where} positive"),
                plan=_strings(t["plan"], f"{where} plan"),
                surface=_strings(t["surface"], f"{where} surface"),
                canonical_question=str(q["canonical"]),
                paraphrases=_strings(q["paraphrases"], f"{where} paraphrases"),
            )
            described = sum(w.style == "described" for w in topic.wordings)
            if (
                len(topic.wordings) < MIN_WORDINGS
                or described < MIN_DESCRIBED
                or len(topic.paraphrases) < MIN_PARAPHRASES
            ):
                raise BankError(
                    f"{where}：每个主题至少 {MIN_WORDINGS} 种说法（其中 {MIN_DESCRIBED} 种 described）和 {MIN_PARAPHRASES} 个问法"
                )
            if min(len(topic.positive), len(topic.plan), len(topic.surface)) < MIN_NEAR:
                raise BankError(f"{where}：positive / plan / surface 各至少 {MIN_NEAR} 句")
            topics.append(topic)
        nobody = tuple(
            Nobody(
                id=str(n["id"]),
                topic=str(n["topic"]),
                questions=_strings(n["questions"], f"{name} · {n['id']} questions"),
                decoys=tuple(Decoy(str(d["text"]), tuple(d.get("groups") or ())) for d in n["decoys"]),
                absent=_strings(n["absent"], f"{name} · {n['id']} absent"),
            )
            for n in data["nobody"]
        )
        templates = {k: _strings(data["templates"][k], f"{name} templates.{k}") for k in ("year", "region", "count")}
        no_problem = _strings(data["no_problem"], f"{name} no_problem")
    except (KeyError, TypeError) as exc:
        raise BankError(f"{name} 缺少字段或格式错误：{exc}") from exc
    ids = {t.id for t in topics}
    if len(ids) != len(topics) or len(topics) < MIN_TOPICS:
        raise BankError(f"{name}：需要至少 {MIN_TOPICS} 个不重复的主题")
    for t in topics:
        unknown = set(t.neighbours) - ids
        if unknown:
            raise BankError(f"{name} · {t.id}：未知的相邻主题 {sorted(unknown)}")
    if len(nobody) < MIN_NOBODY or len(no_problem) < MIN_NO_PROBLEM:
        raise BankError(f"{name}：至少 {MIN_NOBODY} 个无人提及的主题、{MIN_NO_PROBLEM} 句“未发现问题”")
    return Bank(split, tuple(topics), no_problem, templates, nobody)


@dataclass(frozen=True)
class UnitType:
    key: str
    names: dict[str, str]  # level → name suffix
    group: str
    duties: str
    projects: tuple[str, ...]
    indicators: tuple[tuple[str, str], ...]  # (indicator, measure unit)


@dataclass(frozen=True)
class Common:
    geography: dict[str, dict[str, tuple[str, ...]]]  # province ("" for 直辖市) → city → counties
    towns: tuple[str, ...]
    streets: tuple[str, ...]
    unit_types: tuple[UnitType, ...]
    headings: dict[str, tuple[str, ...]]
    areas: dict[str, str]
    topic_weights: dict[str, float]
    other_problems: tuple[str, ...]
    generic_measures: tuple[str, ...]
    problem_leads: tuple[str, ...]
    conclusion_turns: tuple[str, ...]
    prose_joins: tuple[str, ...]
    measure_leads: tuple[str, ...]
    preambles: tuple[str, ...]
    process: tuple[str, ...]
    funds_filler: tuple[str, ...]
    notice_lines: tuple[str, ...]
    work_sentences: tuple[str, ...]
    work_headings: tuple[str, ...]
    analysis: tuple[str, ...]


def load_common(directory: Path = BANK_DIR) -> Common:
    path = directory / "common.yaml"
    d = _read(path)
    special = {"geography", "unit_types", "headings", "areas", "topic_weights"}
    try:
        lists = {f.name: tuple(d[f.name]) for f in fields(Common) if f.name not in special}
        return Common(
            geography={p: {c: tuple(xs) for c, xs in cities.items()} for p, cities in d["geography"].items()},
            unit_types=tuple(
                UnitType(
                    u["key"],
                    dict(u["name"]),
                    u["group"],
                    u["duties"],
                    tuple(u["projects"]),
                    tuple((str(a), str(b)) for a, b in u["indicators"]),
                )
                for u in d["unit_types"]
            ),
            headings={k: tuple(v) for k, v in d["headings"].items()},
            areas=dict(d["areas"]),
            topic_weights={k: float(v) for k, v in d["topic_weights"].items()},
            **lists,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise BankError(f"{path.name} 缺少字段或格式错误：{exc}") from exc
