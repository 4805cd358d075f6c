"""The questions of one half with their gold unit lists, computed from the generated library's ground truth.

Per bank topic: the canonical question, every paraphrase of the half, two year-filtered and two region-filtered
questions and one count question from the half's templates (filled with the canonical phrase); per nobody topic
its questions, whose gold is empty. Year: the year with the most stating units and the one with the fewest;
region: the province with the most, and the city with the most outside that province. A unit counts once whatever its number of reports; a filtered question's gold
holds only the units with a report of that year / in that region that states the topic.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from qa.scale.bank import Bank
from qa.scale.generate import Library, LibraryDoc

FRAMES = ("canonical", "paraphrase", "year", "region", "count", "nobody")
UNFILTERED = ("canonical", "paraphrase")  # the wordings whose lists must agree (Jaccard)


@dataclass(frozen=True)
class Question:
    id: str
    topic: str  # bank topic id or nobody id
    frame: str
    text: str
    gold: tuple[str, ...]  # units, sorted
    year: int | None = None
    region: str | None = None

    def admits(self, doc: LibraryDoc) -> bool:
        return (self.year is None or doc.year == self.year) and (self.region is None or doc.in_region(self.region))


def gold_units(library: Library, topic: str, year: int | None = None, region: str | None = None) -> tuple[str, ...]:
    """The units whose reports state the topic, within a year and a region when given."""
    return tuple(
        sorted(
            {
                d.unit
                for d in library.docs
                if topic in d.stated and (year is None or d.year == year) and (region is None or d.in_region(region))
            }
        )
    )


def _pick_two(counts: Counter[str] | Counter[int]) -> list:  # type: ignore[type-arg]
    """The value with the most units, and the one with the fewest (a small list is as telling as a long one)."""
    ranked = sorted(counts, key=lambda k: (-counts[k], str(k)))
    return ranked[:1] + ([ranked[-1]] if len(ranked) > 1 else [])


def build_questions(bank: Bank, library: Library) -> list[Question]:
    questions: list[Question] = []
    for n, t in enumerate(bank.topics):
        stating = [d for d in library.docs if t.id in d.stated]
        gold = gold_units(library, t.id)
        questions.append(Question(f"{t.id}/canonical", t.id, "canonical", t.canonical_question, gold))
        questions += [Question(f"{t.id}/para-{i}", t.id, "paraphrase", q, gold) for i, q in enumerate(t.paraphrases, 1)]
        years: Counter[int] = Counter()
        for year in {(d.unit, d.year) for d in stating}:
            years[year[1]] += 1
        for i, year in enumerate(_pick_two(years)):
            text = bank.templates["year"][(n + i) % len(bank.templates["year"])].format(year=year, topic=t.canonical)
            questions.append(
                Question(f"{t.id}/year-{year}", t.id, "year", text, gold_units(library, t.id, year=year), year=year)
            )
        provinces: Counter[str] = Counter(p for p, _ in {(d.province, d.unit) for d in stating} if p)
        province = _pick_two(provinces)[:1]
        # A city elsewhere: the one with the most units outside the chosen province.
        cities: Counter[str] = Counter(
            c for c, _ in {(d.city, d.unit) for d in stating if d.city and d.province not in province}
        )
        regions = province + _pick_two(cities)[:1]
        for i, region in enumerate(regions):
            text = bank.templates["region"][(n + i) % len(bank.templates["region"])].format(
                region=region, topic=t.canonical
            )
            questions.append(
                Question(
                    f"{t.id}/region-{region}",
                    t.id,
                    "region",
                    text,
                    gold_units(library, t.id, region=region),
                    region=region,
                )
            )
        count_text = bank.templates["count"][n % len(bank.templates["count"])].format(topic=t.canonical)
        questions.append(Question(f"{t.id}/count", t.id, "count", count_text, gold))
    for nobody in bank.nobody:
        questions += [
            Question(f"{nobody.id}/q{i}", nobody.id, "nobody", q, ()) for i, q in enumerate(nobody.questions, 1)
        ]
    return questions
