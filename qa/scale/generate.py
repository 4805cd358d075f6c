"""The scale evaluation's library: report-shaped documents generated from one half of the phrasing bank.

Deterministic from (bank, common material, number of documents, seed): the same inputs give byte-identical
documents, file names and ground truth. Units are unique and realistic (局/中心/委员会/学校/医院 … of many
provinces, cities and counties), some with reports of two or three years (2019-2024), of both report kinds plus
a few 部门决算; 5-10 % are other government documents (notices, 工作总结, 信息公开年报) as distractors.

Each report states 0-4 bank topics as problems (every wording used in several documents; STYLE_WEIGHTS), laid out as real
reports vary (qa.scale.render), and carries near misses: the same concepts stated positively in its funds and
management sections, as plans in its measures section, "no problem found" in a problems section, neighbour
topics, sentences that share surface words, and decoys for the topics nobody states. The ground truth of a
document is the set of topics it states as problems; `planted` lists every bank sentence put into it.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import TypeVar

from qa.scale.bank import Bank, Common, UnitType, Wording
from qa.scale.render import DocParts, Planted, render_document

GENERATOR_VERSION = "1"
DEFAULT_SEED = 18
DEFAULT_DOCS = 340
YEARS = tuple(range(2019, 2025))
OTHER_SHARE = 0.07  # other government documents among the library's documents
T = TypeVar("T")


@dataclass(frozen=True)
class Unit:
    name: str
    province: str  # "" for a province-level city (重庆市)
    city: str
    county: str
    type_key: str
    group: str
    short: str  # a title's short form ("县财政局"), "" when the unit has none

    @property
    def region(self) -> str:
        return self.province + self.city + self.county


@dataclass(frozen=True)
class LibraryDoc:
    file: str
    title: str
    unit: str
    province: str
    city: str
    county: str
    year: int
    kind: str  # 部门整体支出 | 项目支出 | 部门决算 | 其他
    stated: tuple[str, ...]  # ground truth: topic ids stated as problems
    planted: tuple[Planted, ...]
    layout: dict[str, str]
    text: str

    @property
    def region(self) -> str:
        return self.province + self.city + self.county

    def carries(self, category: str, topic: str) -> bool:
        return any(p.category == category and p.topic == topic for p in self.planted)

    def in_region(self, region: str) -> bool:
        return region in (self.province, self.city, self.county)


@dataclass
class Library:
    split: str
    seed: int
    docs: list[LibraryDoc] = field(default_factory=list)

    def manifest(self) -> dict[str, dict[str, str]]:
        """The ingest manifest (ingest.metadata.load_manifest's JSON form): every document's true metadata, so the
        evaluation measures answering, not metadata inference (which `qa.scale.harness` checks separately)."""
        return {
            d.file: {"unit": d.unit, "region": d.region, "year": str(d.year), "report_kind": d.kind, "title": d.title}
            for d in self.docs
        }

    def fingerprint(self) -> str:
        h = hashlib.sha256()
        for d in self.docs:
            h.update(json.dumps(asdict(d), ensure_ascii=False, sort_keys=True).encode("utf-8"))
        return h.hexdigest()

    def by_file(self) -> dict[str, LibraryDoc]:
        return {d.file: d for d in self.docs}


class _RoundRobin:
    """Each list's entries in a shuffled order, over and over: every wording gets used about equally often."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._orders: dict[str, list[int]] = {}
        self._next: dict[str, int] = {}

    def take(self, key: str, items: Sequence[T]) -> T:
        if key not in self._orders:
            order = list(range(len(items)))
            self._rng.shuffle(order)
            self._orders[key], self._next[key] = order, 0
        i = self._next[key]
        self._next[key] = i + 1
        return items[self._orders[key][i % len(items)]]


_LEVEL_WEIGHTS = {"county": 6, "city": 3, "province": 1, "town": 5, "street": 5}


def _units(common: Common, rng: random.Random) -> Iterator[Unit]:
    """Unique units, forever."""
    seen: set[str] = set()
    provinces = sorted(common.geography)
    while True:
        ut: UnitType = rng.choice(common.unit_types)
        levels = [lv for lv in _LEVEL_WEIGHTS if lv in ut.names]
        level = rng.choices(levels, [_LEVEL_WEIGHTS[lv] for lv in levels])[0]
        province = rng.choice(provinces)
        city = rng.choice(sorted(common.geography[province]))
        county = rng.choice(common.geography[province][city])
        suffix = ut.names[level]
        short = ""
        if level == "county":
            name = (city + county if rng.random() < 0.6 or not province else county) + suffix
            if suffix.endswith("局"):
                short = county[-1] + suffix  # "区商务局", "县财政局"
        elif level == "city":
            name, county = city + suffix, ""
        elif level == "province":
            if not province:
                continue
            name, city, county = province + suffix, "", ""
        elif level == "town":
            name = county + rng.choice(common.towns) + suffix
        else:
            name = city + county + rng.choice(common.streets) + suffix
        if name in seen:
            continue
        seen.add(name)
        yield Unit(name, province, city, county, ut.key, ut.group, short)


# How often a wording of each style is used, relative to the others: reports mostly name a problem with the usual
# term, in a short or a causal sentence; wordings that only describe it are rarer (a quarter of the statements).
STYLE_WEIGHTS = {"named": 2, "causal": 2, "nested": 2, "described": 1}


def _weighted(wordings: Sequence[Wording]) -> list[Wording]:
    return [w for w in wordings for _ in range(STYLE_WEIGHTS[w.style])]


def _weighted_sample(rng: random.Random, weights: dict[str, float], k: int) -> list[str]:
    pool = dict(weights)
    out: list[str] = []
    for _ in range(min(k, len(pool))):
        keys = sorted(pool)
        pick = rng.choices(keys, [pool[x] for x in keys])[0]
        out.append(pick)
        del pool[pick]
    return out


@dataclass
class _Context:
    bank: Bank
    common: Common
    rng: random.Random
    rr: _RoundRobin

    def unit_type(self, key: str) -> UnitType:
        return next(u for u in self.common.unit_types if u.key == key)

    def decoy(self, unit: Unit) -> Planted | None:
        fitting = [(n.id, d) for n in self.bank.nobody for d in n.decoys if not d.groups or unit.group in d.groups]
        if not fitting:
            return None
        nobody_id, decoy = self.rr.take(f"decoy:{unit.group}", fitting)
        return Planted("decoy", nobody_id, decoy.text)


def _report_parts(ctx: _Context, unit: Unit, year: int, kind: str, project: str) -> DocParts:
    """What one report says: its stated problems and near misses (render_document lays them out)."""
    rng, bank, rr = ctx.rng, ctx.bank, ctx.rr
    weights = {t.id: ctx.common.topic_weights.get(t.id, 1.0) for t in bank.topics}
    n_topics = (
        rng.choices([0, 1, 2], [50, 35, 15])[0]
        if kind == "部门决算"
        else rng.choices([0, 1, 2, 3, 4], [15, 25, 30, 20, 10])[0]
    )
    stated = _weighted_sample(rng, weights, n_topics)
    problems = [Planted("problem", t, rr.take(f"w:{t}", _weighted(bank.topic(t).wordings)).text) for t in stated]
    others = [t.id for t in bank.topics if t.id not in stated]
    # Positive statements: of topics the report does not state (rarely of one it does, as real reports contradict
    # themselves: "按要求实行专账核算" in one section, "未实行专账核算" in the problems).
    positives = [
        Planted("positive", t, rr.take(f"pos:{t}", bank.topic(t).positive))
        for t in rng.sample(others, rng.choices([0, 1, 2, 3], [15, 40, 30, 15])[0])
    ]
    positives += [
        Planted("positive", t, rr.take(f"pos:{t}", bank.topic(t).positive)) for t in stated if rng.random() < 0.03
    ]
    plans = [Planted("plan", t, rr.take(f"plan:{t}", bank.topic(t).plan)) for t in stated if rng.random() < 0.7]
    plans += [
        Planted("plan", t, rr.take(f"plan:{t}", bank.topic(t).plan))
        for t in rng.sample(others, rng.choices([0, 1, 2], [35, 45, 20])[0])
    ]
    surface = [
        Planted("surface", t, rr.take(f"sur:{t}", bank.topic(t).surface))
        for t in rng.sample([t.id for t in bank.topics], rng.choices([0, 1, 2], [40, 40, 20])[0])
    ]
    decoys = [d for d in [ctx.decoy(unit)] if d is not None and rng.random() < 0.35]
    no_problem = Planted("no_problem", "", rr.take("np", bank.no_problem)) if not stated else None
    return DocParts(
        unit=unit.name,
        short=unit.short,
        region_gov=(unit.city + unit.county) or unit.province,
        year=year,
        kind=kind,
        project=project,
        unit_type=ctx.unit_type(unit.type_key),
        problems=problems,
        other_problems=[rng.choice(ctx.common.other_problems)] if problems and rng.random() < 0.3 else [],
        positives=positives,
        plans=plans,
        surface=surface,
        decoys=decoys,
        no_problem=no_problem,
        areas=ctx.common.areas,
    )


def _other_parts(ctx: _Context, unit: Unit, year: int) -> DocParts:
    """A distractor: notice / 工作总结 / 信息公开年报, with decoys, surface sentences and plans, stating no topic."""
    rng, bank, rr = ctx.rng, ctx.bank, ctx.rr
    topic_ids = [t.id for t in bank.topics]
    decoys = [d for d in (ctx.decoy(unit) for _ in range(rng.randint(1, 3))) if d is not None]
    return DocParts(
        unit=unit.name,
        short="",
        region_gov=(unit.city + unit.county) or unit.province,
        year=year,
        kind="其他",
        project="",
        unit_type=ctx.unit_type(unit.type_key),
        problems=[],
        other_problems=[rng.choice(ctx.common.other_problems)],
        positives=[],
        plans=[
            Planted("plan", t, rr.take(f"plan:{t}", bank.topic(t).plan))
            for t in rng.sample(topic_ids, rng.randint(0, 2))
        ],
        surface=[
            Planted("surface", t, rr.take(f"sur:{t}", bank.topic(t).surface))
            for t in rng.sample(topic_ids, rng.randint(1, 2))
        ],
        decoys=decoys,
        no_problem=None,
        areas=ctx.common.areas,
    )


def _file_name(i: int, text: str) -> str:
    return f"{i:04d}_{hashlib.sha1(text.encode('utf-8')).hexdigest()[:12]}.txt"


def generate_library(bank: Bank, common: Common, n_docs: int = DEFAULT_DOCS, seed: int = DEFAULT_SEED) -> Library:
    if n_docs < 10:
        raise ValueError("文档数至少为 10")
    rng = random.Random(f"scale/{bank.split}/{seed}/{n_docs}")
    ctx = _Context(bank, common, rng, _RoundRobin(rng))
    units = _units(common, rng)
    n_other = max(1, round(n_docs * OTHER_SHARE))
    n_reports = n_docs - n_other
    plans: list[tuple[Unit, int, str, str]] = []  # unit, year, kind, project
    report_units: list[Unit] = []
    while len(plans) < n_reports:
        unit = next(units)
        report_units.append(unit)
        k = min(rng.choices([1, 2, 3], [55, 30, 15])[0], n_reports - len(plans))
        mode = rng.choices(["dept", "proj", "mixed"], [50, 40, 10])[0]
        project = rng.choice(ctx.unit_type(unit.type_key).projects)
        for year in sorted(rng.sample(YEARS, k)):
            if rng.random() < 0.07:
                kind = "部门决算"
            elif mode == "dept" or (mode == "mixed" and rng.random() < 0.5):
                kind = "部门整体支出"
            else:
                kind = "项目支出"
            plans.append((unit, year, kind, project))
    parts: list[tuple[Unit, DocParts]] = [(u, _report_parts(ctx, u, y, k, p)) for u, y, k, p in plans]
    for _ in range(n_other):
        # Mostly units of their own; some issued by a unit that also has reports.
        unit = rng.choice(report_units) if rng.random() < 0.3 else next(units)
        parts.append((unit, _other_parts(ctx, unit, rng.choice(YEARS))))
    rng.shuffle(parts)
    library = Library(bank.split, seed)
    for i, (unit, p) in enumerate(parts):
        doc = render_document(p, common, rng)
        library.docs.append(
            LibraryDoc(
                file=_file_name(i, doc.text),
                title=doc.title,
                unit=p.unit,
                province=unit.province,
                city=unit.city,
                county=unit.county,
                year=p.year,
                kind=p.kind,
                stated=tuple(sorted({pl.topic for pl in doc.planted if pl.category == "problem"})),
                planted=tuple(doc.planted),
                layout=doc.layout,
                text=doc.text,
            )
        )
    check_library(library, bank)
    return library


def check_library(library: Library, bank: Bank) -> None:
    """The ground truth holds: every planted sentence is in its document (as written, or joined into a run),
    no document names a topic nobody states, units are unique per (unit, year, kind)."""
    absent = [(n.id, a) for n in bank.nobody for a in n.absent]
    seen: set[tuple[str, int, str]] = set()
    for d in library.docs:
        for nobody_id, term in absent:
            if term in d.text:
                raise AssertionError(f"{d.file} contains {nobody_id}'s absent term")
        for p in d.planted:
            if p.text.rstrip("。") not in d.text and p.text.rstrip("。").split("；")[0] not in d.text:
                raise AssertionError(f"{d.file}: planted {p.category}/{p.topic} sentence not found in the text")
        key = (d.unit, d.year, d.kind)
        if d.kind != "其他" and key in seen:
            raise AssertionError(f"two reports of {key}")
        seen.add(key)
