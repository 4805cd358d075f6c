"""Which-units answers on wording sets outside the generator: eval_sets/scale/check_tuning.yaml, or independent
sets written from eval_sets/scale/author_brief.md, against the cached tuning library.

    .venv/bin/python scripts/scale_check.py                  # after `qa eval --scale` (tuning) has cached its store
    .venv/bin/python scripts/scale_check.py eval_sets/scale/independent_f.yaml eval_sets/scale/independent_g.yaml
    .venv/bin/python scripts/scale_check.py eval_sets/scale/independent_k_heldout.yaml   # numbers only

1. Sentences: does the categoriser give each problem statement its topic's concept (and no other); are the set's
   problems of no concept (`others`) and "no problem" statements kept out of every concept?
2. Question topics: does each question's topic map onto its concept (`Categorizer.topic_concept`), and do the
   nobody questions' topics map onto none?
3. Questions: each everyday question is asked through `Answerer.ask` on the cached tuning library and its unit list
   is scored against the units whose reports state the topic (the generator's ground truth), within the year and
   place the question names (none for a place the library lacks: such a question is to be declined): micro
   precision / recall and how many questions give that list (Jaccard ≥ 0.95); the nobody questions' listed units
   are all false.
A set whose file name says `heldout` prints the summary lines only, never its text: held-out sets are measured, not
read (eval_sets/scale/README.md). The reporting half is refused.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from qa.answer import Answerer
from qa.answering import prepared
from qa.embeddings import Embedder, get_embedder
from qa.findings import Categorizer, load_taxonomy
from qa.findings.evidence import topic_concept
from qa.retrieve import open_retriever
from qa.scale.bank import Bank, load_bank, load_common
from qa.scale.generate import DEFAULT_DOCS, DEFAULT_SEED, Library, generate_library
from qa.scale.harness import ROOT, asked_of, latest_store
from qa.scale.questions import gold_units
from qa.settings import get_settings
from qa.understand import aggregate_topic

CHECK = ROOT / "eval_sets" / "scale" / "check_tuning.yaml"
_YEAR = re.compile(r"((?:19|20)\d{2})\s*年")
_PLACE = re.compile(r"[\u4e00-\u9fa5]{2,3}?(?:省|市)(?!场)")


def scoped_gold(question: str, topic_id: str, library: Library, places: Sequence[str]) -> set[str]:
    """The units whose reports state the topic within the year and place the question names; none for a place the
    library has no report of (the question is then to be declined). `places`: the library's, longest first."""
    year = _YEAR.search(question)
    named = [p for p in _PLACE.findall(question) if not p.startswith(("各", "地", "全", "本", "该"))]  # 各地市
    if any(p not in places for p in named):  # "浙江省杭州市…" when the library has 浙江省 but no 杭州市
        return set()
    region = named[-1] if named else next((p for p in places if p in question), None)
    return set(gold_units(library, topic_id, year=int(year.group(1)) if year else None, region=region))


@dataclass
class WordingSet:
    """One set in one layout: per topic id its concept, problem statements and questions; negatives; nobody questions."""

    name: str
    quiet: bool  # held out: numbers only
    topics: dict[str, tuple[str, list[str], list[str]]]
    negatives: list[str] = field(default_factory=list)
    nobody: list[str] = field(default_factory=list)


def _load(path: Path, bank: Bank, categorizer: Categorizer, embedder: Embedder) -> WordingSet:
    """check_tuning.yaml names each topic's concept; the independent sets list topics with `problems` ({style, text}),
    and their concept is the one the bank's canonical phrase maps onto."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    out = WordingSet(path.name, "heldout" in path.name, {})
    if isinstance(data["topics"], dict):
        for topic_id, t in data["topics"].items():
            out.topics[topic_id] = (t["concept"], list(t["sentences"]), list(t["questions"]))
    else:
        canonical = {t.id: t.canonical for t in bank.topics}
        for t in data["topics"]:
            phrase = canonical[t["id"]]
            c = categorizer.topic_concept(phrase, embedder.encode_queries([phrase])[0])
            if c is None:
                raise SystemExit(f"主题 {t['id']} 的标准说法“{phrase}”没有对应的分类")
            out.topics[t["id"]] = (categorizer.taxonomy.names[c], [p["text"] for p in t["problems"]], t["questions"])
    out.negatives = [str(s) for s in (data.get("others") or []) + (data.get("no_problem") or [])]
    for item in data.get("nobody") or []:
        out.nobody += list(item["questions"]) if isinstance(item, dict) else [str(item)]
    return out


def main() -> int:
    settings = get_settings()
    store_dir = latest_store(settings)
    if store_dir is None:
        print("没有调参半区的缓存向量库：先运行 qa eval --scale", file=sys.stderr)
        return 2
    paths = [Path(a) for a in sys.argv[1:]] or [CHECK]
    if any("reporting" in p.name for p in paths):
        print("只用调参材料或留出集检查（reporting 半区只用于报告）", file=sys.stderr)
        return 2
    bank = load_bank("tuning")
    library = generate_library(bank, load_common(), DEFAULT_DOCS, DEFAULT_SEED)
    places = sorted({p for d in library.docs for p in (d.province, d.city) if p}, key=len, reverse=True)
    embedder = get_embedder()
    categorizer = Categorizer(load_taxonomy(settings.taxonomy), embedder)
    names = categorizer.taxonomy.names
    sets = [_load(p, bank, categorizer, embedder) for p in paths]

    def show(s: WordingSet, line: str) -> None:
        if not s.quiet:
            print(line)

    def accepted(texts: list[str]) -> np.ndarray:
        return categorizer.accepted(categorizer.sentence_scores(texts, embedder.encode_queries(texts)))

    def mapped(question: str) -> int | None:
        topic = aggregate_topic(question)
        return topic_concept(categorizer, topic, embedder.encode_queries([topic])[0])

    right = other = total = negatives = false_negatives = 0
    map_right = map_wrong = map_total = nobody_mapped = nobody_total = 0
    for s in sets:
        for topic_id, (concept_name, texts, questions) in s.topics.items():
            concept = names.index(concept_name)
            for text, row in zip(texts, accepted(texts)):
                total += 1
                right += int(row[concept])
                other += int(row.sum() - row[concept])
                if not row[concept]:
                    show(s, f"  句子未归入 {topic_id}: {text} → {[names[i] for i in np.flatnonzero(row)]}")
            for q in questions:
                got = mapped(q)
                map_total += 1
                map_right += int(got == concept)
                map_wrong += int(got is not None and got != concept)
                if got != concept:
                    show(s, f"  问题未映射到 {topic_id}: {q} → {None if got is None else names[got]}")
        if s.negatives:
            for text, row in zip(s.negatives, accepted(s.negatives)):
                negatives += 1
                false_negatives += int(row.any())
                if row.any():
                    show(s, f"  无主题句被归类: {text} → {[names[i] for i in np.flatnonzero(row)]}")
        for q in s.nobody:
            got = mapped(q)
            nobody_total += 1
            nobody_mapped += int(got is not None)
            if got is not None:
                show(s, f"  无人提到的主题被映射: {q} → {names[got]}")
    print(f"sentences: {right}/{total} given their concept, {other} other concepts accepted")
    print(f"negatives (others, no_problem) given a concept: {false_negatives}/{negatives}")
    print(
        f"question topics: {map_right}/{map_total} mapped right, {map_wrong} wrong; nobody mapped {nobody_mapped}/{nobody_total}"
    )

    retriever = open_retriever(settings.model_copy(update={"data_dir": store_dir}), embedder)
    answerer = Answerer(retriever)
    prepared.prepare_sentences(answerer.ctx)
    answerer.warm()
    tp = fp = fn = same = asked = nobody_units = 0
    for s in sets:
        for topic_id, (_, _, questions) in s.topics.items():
            for question in questions:
                gold = scoped_gold(question, topic_id, library, places)
                units = set(asked_of(answerer.ask(question), 0.0).units)
                asked += 1
                tp, fp, fn = tp + len(units & gold), fp + len(units - gold), fn + len(gold - units)
                jaccard = len(units & gold) / len(units | gold) if units | gold else 1.0
                same += int(jaccard >= 0.95)
                if jaccard < 0.95:
                    show(s, f"  {topic_id:16s} J={jaccard:.2f} +{len(units - gold)} -{len(gold - units)} {question}")
        for question in s.nobody:
            listed = asked_of(answerer.ask(question), 0.0).units
            nobody_units += len(listed)
            if listed:
                show(s, f"  无人提到却列出 {len(listed)} 个单位: {question}")
    p, r = tp / max(1, tp + fp), tp / max(1, tp + fn)
    print(
        f"questions: P {p:.3f} R {r:.3f} F1 {2 * p * r / max(1e-9, p + r):.3f}; {same}/{asked} give the gold list; "
        f"nobody questions list {nobody_units} false units"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
