"""Offline fusion experiments over the candidate dumps of bench/fusion_data.py (issue 19).

    .venv/bin/python -m bench.fusion_explore [variant]   # variant: "" (current dumps) or "nophrase"

Prints the Markdown tables of docs/evaluation.md "Hybrid ranking": every fusion variant scored per set and
group. Groups: dev (tuning) and test (reporting) of the eval sets; for BEIR sets the tune and report halves
(`bench.fusion_data.half_of`), the whole set, and `qa eval --limit-queries 1000 --seed 13`'s sample. Design
choices read only the tuning groups (dev, tune); the others are reported.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from bench import common  # noqa: F401  (thread settings before numpy)
from bench.fusion_data import Dump, Query, load, load_pseudo
from qa.fusion import FusionParams, convex, fuse, rrf
from qa.metrics import mean, mrr_at_k

SETS = ("dev", "test", "cmrc2018", "stard")
LIBRARY = {"dev": "samples", "test": "samples", "cmrc2018": "cmrc2018", "stard": "stard"}
TUNING = ("dev", "tune")


def mrr_of(queries: Sequence[Query], rankings: Sequence[Sequence[str]]) -> float:
    return round(
        mean([mrr_at_k([i in q.relevant for i in list(dict.fromkeys(r))[:10]], 10) for q, r in zip(queries, rankings)]),
        4,
    )


def groups(name: str, queries: Sequence[Query]) -> dict[str, list[Query]]:
    """The query groups a set is reported on."""
    if name in ("dev", "test"):
        return {name: list(queries)}
    return {
        "tune": [q for q in queries if q.half == "tune"],
        "report": [q for q in queries if q.half == "report"],
        "all": list(queries),
        "sample1000": [q for q in queries if q.sampled],
    }


def table(rows: list[tuple[str, dict[str, Any]]]) -> str:
    cols = list(rows[0][1])
    out = ["| variant | " + " | ".join(cols) + " |", "|---|" + "---:|" * len(cols)]
    out += [
        f"| {name} | " + " | ".join(f"{v:.4f}" if isinstance(v, float) else str(v) for v in vals.values()) + " |"
        for name, vals in rows
    ]
    return "\n".join(out)


def lists(q: Query, depth: int = 50) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
    return [(i, q.bm25_score[i]) for i in q.bm25[:depth]], [(i, q.cosine[i]) for i in q.dense[:depth]]


def samples_of(queries: Sequence[Query]) -> list[Any]:
    """Real queries as qa.tuning.Sample (both sides' candidates with scores, relevant ids)."""
    from qa.tuning import Sample

    return [
        Sample([(i, q.bm25_score[i]) for i in q.bm25], [(i, q.cosine[i]) for i in q.dense], q.relevant) for q in queries
    ]


def curve(samples: Sequence[Any], base: Any, alphas: Sequence[float] | None = None) -> list[tuple[float, float]]:
    """(alpha, MRR@10) of the convex fusion over a grid."""
    from qa.tuning import ALPHAS, reciprocal_ranks

    return [
        (a, float(reciprocal_ranks(samples, replace(base, method="convex", alpha=a)).mean()))
        for a in (alphas or ALPHAS)
    ]


# --- score normalisations other than the z-score (explored, not shipped) ----------------------------------------


def _norm(ranked: list[tuple[str, float]], how: str) -> tuple[dict[str, float], float]:
    if not ranked:
        return {}, 0.0
    v = np.array([s for _, s in ranked])
    if how == "minmax":
        lo, hi = v.min(), v.max()
        f = (v - lo) / (hi - lo) if hi > lo else np.zeros_like(v)
    elif how == "max":
        f = v / v.max() if v.max() > 0 else np.zeros_like(v)
    else:  # z
        f = (v - v.mean()) / v.std() if v.std() > 0 else np.zeros_like(v)
    return dict(zip((i for i, _ in ranked), f.tolist())), float(f.min())


def normalised_cc(q: Query, alpha: float, how_b: str, how_d: str) -> list[str]:
    b, d = lists(q)
    nb, fb = _norm(b, how_b)
    nd, fd = _norm(d, how_d)
    ids = dict.fromkeys([i for i, _ in b] + [i for i, _ in d])
    return sorted(ids, key=lambda i: (-((1 - alpha) * nb.get(i, fb) + alpha * nd.get(i, fd)), i))


# --- query-adaptive weights (explored, not shipped) -----------------------------------------------------------------


def features(q: Query) -> dict[str, float]:
    b = [q.bm25_score[i] for i in q.bm25[:50]]
    c = [q.cosine[i] for i in q.dense[:50]]
    return {
        "bm25 top z": (b[0] - np.mean(b)) / (np.std(b) + 1e-9) if b else 0.0,
        "bm25 gap 1-2": (b[0] - b[1]) / (b[0] + 1e-9) if len(b) > 1 else 1.0,
        "dense top z": (c[0] - np.mean(c)) / (np.std(c) + 1e-9) if c else 0.0,
        "top-10 overlap": len(set(q.bm25[:10]) & set(q.dense[:10])) / 10,
    }


def adaptive_rows(data: dict[str, Dump]) -> list[tuple[str, dict[str, Any]]]:
    """Two-weight rules alpha = lo if feature > threshold else hi: fitted on the tuning groups of all sets together
    (threshold at a quantile of the tuning queries), then scored on every group."""
    alphas = [round(0.1 * i, 1) for i in range(11)]
    per_group: dict[str, list[Query]] = {}
    for name, d in data.items():
        for g, qs in groups(name, d.queries).items():
            if g != "sample1000":
                per_group[f"{name}:{g}"] = qs
    rr: dict[str, dict[float, float]] = {}
    for qs in per_group.values():
        for q in qs:
            if q.id not in rr:
                b, dn = lists(q)
                rr[q.id] = {a: mrr_at_k([i in q.relevant for i, _ in convex(b, dn, a)[:10]], 10) for a in alphas}
    feats = {q.id: features(q) for qs in per_group.values() for q in qs}
    tuning = {k: v for k, v in per_group.items() if k.split(":")[1] in TUNING}
    rows = []
    for f in next(iter(feats.values())):
        best: tuple[float, tuple[float, float, float]] = (-1.0, (0.0, 0.0, 0.0))
        values = np.array([feats[q.id][f] for qs in tuning.values() for q in qs])
        for th in np.quantile(values, [0.25, 0.5, 0.75]):
            for lo in alphas:
                for hi in alphas:
                    score = mean(
                        [
                            mean([rr[q.id][lo] if feats[q.id][f] > th else rr[q.id][hi] for q in qs])
                            for qs in tuning.values()
                        ]
                    )
                    if score > best[0]:
                        best = (score, (float(th), lo, hi))
        th, lo, hi = best[1]
        rows.append(
            (
                f"{f} > {th:.3g} ? {lo} : {hi}",
                {
                    g: round(mean([rr[q.id][lo] if feats[q.id][f] > th else rr[q.id][hi] for q in qs]), 4)
                    for g, qs in per_group.items()
                },
            )
        )
    return rows


def adaptive_cv_rows(data: dict[str, Dump]) -> list[tuple[str, dict[str, Any]]]:
    """Leave one set out: a rule (and a global alpha, for comparison) fitted on the other sets' tuning groups, scored
    on the held-out set's tuning group. Whether adaptivity helps where it was not fitted."""
    alphas = [round(0.1 * i, 1) for i in range(11)]
    tuning = {name: qs for name, d in data.items() for g, qs in groups(name, d.queries).items() if g in TUNING}
    rr: dict[str, dict[float, float]] = {}
    feats: dict[str, dict[str, float]] = {}
    for qs in tuning.values():
        for q in qs:
            b, dn = lists(q)
            rr[q.id] = {a: mrr_at_k([i in q.relevant for i, _ in convex(b, dn, a)[:10]], 10) for a in alphas}
            feats[q.id] = features(q)
    rows = []
    for f in next(iter(feats.values())):
        vals: dict[str, Any] = {}
        for held, held_qs in tuning.items():
            train = [qs for name, qs in tuning.items() if name != held]
            values = np.array([feats[q.id][f] for qs in train for q in qs])
            best: tuple[float, tuple[float, float, float]] = (-1.0, (0.0, 0.0, 0.0))
            for th in np.quantile(values, [0.25, 0.5, 0.75]):
                for lo in alphas:
                    for hi in alphas:
                        score = mean(
                            [mean([rr[q.id][lo] if feats[q.id][f] > th else rr[q.id][hi] for q in qs]) for qs in train]
                        )
                        if score > best[0]:
                            best = (score, (float(th), lo, hi))
            th, lo, hi = best[1]
            glob = max(alphas, key=lambda a: mean([mean([rr[q.id][a] for q in qs]) for qs in train]))
            rule = mean([rr[q.id][lo] if feats[q.id][f] > th else rr[q.id][hi] for q in held_qs])
            vals[f"{held} rule"] = round(rule, 4)
            vals[f"{held} global alpha {glob}"] = round(mean([rr[q.id][glob] for q in held_qs]), 4)
        rows.append((f, vals))
    return rows


# --- the report ---------------------------------------------------------------------------------------------------


def grid_rows(
    data: dict[str, Dump], variants: dict[str, Callable[[Query], list[str]]]
) -> list[tuple[str, dict[str, Any]]]:
    rows = []
    for vname, fn in variants.items():
        vals: dict[str, Any] = {}
        for name, d in data.items():
            for g, qs in groups(name, d.queries).items():
                vals[f"{name}:{g}"] = mrr_of(qs, [fn(q) for q in qs])
        rows.append((vname, vals))
    return rows


def self_tuning_rows(
    data: dict[str, Dump], variant: str, prior: float, library: str
) -> list[tuple[str, dict[str, Any]]]:
    """Per sampling seed: the alpha chosen on the library's pseudo-queries, and MRR@10 of every group of its sets at
    that alpha, against the best alpha for the group's labelled questions (oracle)."""
    from qa.tuning import choose_alpha, side_mrr

    base = FusionParams(alpha=prior)
    oracle = {}
    for name, d in data.items():
        if LIBRARY[name] == library:
            for g, qs in groups(name, d.queries).items():
                oracle[(name, g)] = dict(curve(samples_of(qs), base))
    rows = []
    for seed, ps in sorted(load_pseudo(library, variant).items()):
        alpha, points = choose_alpha(ps, base, prior)
        vals: dict[str, Any] = {
            "pseudo-queries": len(ps),
            "pseudo bm25": round(side_mrr(ps, "bm25"), 3),
            "pseudo dense": round(side_mrr(ps, "dense"), 3),
            "pseudo best alpha": max(points, key=lambda p: p[1])[0],
            "chosen alpha": alpha,
        }
        for (name, g), c in oracle.items():
            best = max(c, key=lambda a: c[a])
            vals[f"{name}:{g}"] = f"{c[alpha]:.4f} / {c[best]:.4f} at {best} / {c[best] - c[alpha]:.4f}"
        rows.append((f"seed {seed}", vals))
    return rows


def main(argv: list[str]) -> int:
    variant = argv[0] if argv else ""
    data = {name: load(name, variant) for name in SETS}
    print(f"## Dumps: {variant or 'current'}\n")
    sides = {
        "bm25": lambda q: q.bm25,
        "dense": lambda q: q.dense,
        "rrf k60 w0.5 (before)": lambda q: [i for i, _ in rrf([q.bm25[:50], q.dense[:50]], 60, [1.0, 0.5])],
    }
    print("### Sides and today's fusion\n\n" + table(grid_rows(data, sides)) + "\n")
    rrfs = {
        f"rrf k{k} w{w}": (lambda q, k=k, w=w: [i for i, _ in rrf([q.bm25[:50], q.dense[:50]], k, [1.0, w])])
        for k in (10, 20, 60)
        for w in (0.2, 0.35, 0.5, 0.7, 1.0)
    }
    print("### Weighted RRF grid (depth 50)\n\n" + table(grid_rows(data, rrfs)) + "\n")
    ccs = {
        f"convex {hb}/{hd} a{a}": (lambda q, a=a, hb=hb, hd=hd: normalised_cc(q, a, hb, hd))
        for hb, hd in (("minmax", "minmax"), ("max", "minmax"), ("z", "z"))
        for a in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
    }
    print(
        "### Convex combination by score normalisation (BM25 / dense; depth 50)\n\n"
        + table(grid_rows(data, ccs))
        + "\n"
    )
    depths = {
        f"convex z a{a} depth {n}": (
            lambda q, a=a, n=n: [i for i, _ in fuse(*lists(q, n), FusionParams(alpha=a, depth=n))]
        )
        for n in (10, 20, 50, 100)
        for a in (0.4, 0.5)
    }
    print("### Candidate depth\n\n" + table(grid_rows(data, depths)) + "\n")
    print("### Query-adaptive weights (rules fitted on the tuning groups)\n\n" + table(adaptive_rows(data)) + "\n")
    print("### Query-adaptive weights, leave one set out (tuning groups)\n\n" + table(adaptive_cv_rows(data)) + "\n")
    alphas = {
        f"convex z a{a}": (lambda q, a=a: [i for i, _ in fuse(*lists(q), FusionParams(alpha=a))])
        for a in [round(0.05 * i, 2) for i in range(2, 17)]
    }
    rows = grid_rows(data, alphas)
    tuning_mean = {r[0]: mean([v for k, v in r[1].items() if k.split(":")[1] in TUNING]) for r in rows}
    prior = float(max(tuning_mean, key=lambda k: tuning_mean[k]).split("a")[-1])
    print("### Convex z-score fusion by alpha (the prior: best mean over the tuning groups)\n\n" + table(rows) + "\n")
    print(f"Prior from the tuning groups: alpha {prior}\n")
    for library in dict.fromkeys(LIBRARY.values()):
        rows = self_tuning_rows(data, variant, prior, library)
        print(
            f"### Self-tuning on {library}: chosen alpha; per group MRR@10 at it / oracle MRR@10 at the oracle alpha / gap\n\n{table(rows)}\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
