"""Scale evaluation results as JSON, Markdown and a terminal table. The reporting half's results carry no
question or sentence text (qa.scale.harness adds text to the tuning half's rows only), so they can be read
while tuning: ids, counts, unit names and file names only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

HEADLINE = (
    "unit_precision",
    "unit_recall",
    "unit_f1",
    "jaccard_min",
    "jaccard_median",
    "nobody_false_units",
    "near_miss_clean",
    "count_exact",
    "latency_p50_ms",
    "latency_p95_ms",
)


def flat(results: dict[str, Any]) -> dict[str, float]:
    """'scale.unit_precision', 'scale.paraphrase.unit_recall', 'scale.topic.budget_refine.unit_f1', … → value:
    the names `--fail-under` takes."""
    out = {f"scale.{k}": v for k, v in results["scale"].items() if isinstance(v, (int, float))}
    out |= {
        f"scale.{f}.{k}": v for f, m in results["by_frame"].items() for k, v in m.items() if isinstance(v, (int, float))
    }
    out |= {
        f"scale.topic.{t}.{k}": v
        for t, m in results["by_topic"].items()
        for k, v in m.items()
        if isinstance(v, (int, float))
    }
    return out


def title(results: dict[str, Any]) -> str:
    return f"规模评测 · {results['split']} · {results['docs']} 篇"


def name(results: dict[str, Any]) -> str:
    from qa.scale.generate import DEFAULT_DOCS

    return f"scale-{results['split']}" + ("" if results["docs"] == DEFAULT_DOCS else f"-{results['docs']}")


def _fmt(v: Any) -> str:
    return f"{v:.3f}" if isinstance(v, float) and v <= 1.0 else f"{v:.0f}" if isinstance(v, float) else str(v)


def print_table(results: dict[str, Any], console: Console) -> None:
    head = Table(title=f"{title(results)}（{results['questions']} 个问题，{results['chunks']} 个段落）")
    for c in ("P", "R", "F1", "J min", "J med", "nobody", "NM clean", "count", "p50 ms", "p95 ms"):  # HEADLINE, short
        head.add_column(c, justify="right")
    head.add_row(*(_fmt(results["scale"][c]) for c in HEADLINE))
    console.print(head)
    topics = Table(title="按主题")
    for c in ("topic", "gold", "P", "R", "F1", "Jaccard min", "median"):
        topics.add_column(c, justify="right")
    for t, m in results["by_topic"].items():
        topics.add_row(
            t,
            str(m["gold_units"]),
            _fmt(m["unit_precision"]),
            _fmt(m["unit_recall"]),
            _fmt(m["unit_f1"]),
            _fmt(m["jaccard"]["min"]),
            _fmt(m["jaccard"]["median"]),
        )
    console.print(topics)
    timing = results["timing"]
    console.print(
        f"用时 {timing['total_s']} 秒（{'使用缓存' if timing['cache_hit'] else '新建'}：导入 {timing['ingest_s']} 秒，句子 {timing['sentences_s']} 秒，提问 {timing['questions_s']} 秒）"
    )


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)] + [
        "| " + " | ".join(_fmt(c) for c in r) + " |" for r in rows
    ]


def markdown(results: dict[str, Any]) -> str:
    s, lib = results["scale"], results["library"]
    lines = [
        f"# Scale evaluation · {results['split']} half · {results['docs']} documents",
        "",
        f"Library: {lib['reports']} reports of {lib['units']} units ({lib['units_with_several_reports']} with several years), "
        f"{lib['other_documents']} other government documents; {results['chunks']} chunks; {results['questions']} questions; "
        f"seed {results['seed']}, generator {results['generator_version']}.",
        "",
        "Overall (micro over the topic questions; nobody questions counted apart):",
        "",
    ]
    lines += _table(list(HEADLINE), [[s[c] for c in HEADLINE]])
    extra = (
        "unit_precision_with_nobody",
        "nobody_clean",
        "aggregate_kind",
        "evidence_ok",
        "related_same_topic",
        "related_entries",
        "latency_max_ms",
    )
    lines += ["", *_table(list(extra), [[s[c] for c in extra]])]
    lines += ["", "By frame:", ""]
    lines += _table(
        ["frame", "questions", "P", "R", "F1", "p50 ms", "p95 ms"],
        [
            [
                f,
                m["questions"],
                m["unit_precision"],
                m["unit_recall"],
                m["unit_f1"],
                m["latency_p50_ms"],
                m["latency_p95_ms"],
            ]
            for f, m in results["by_frame"].items()
        ],
    )
    lines += ["", "By topic (Jaccard: pairs of the unfiltered wordings' unit lists):", ""]
    lines += _table(
        ["topic", "gold units", "P", "R", "F1", "Jaccard min", "median", "mean"],
        [
            [
                t,
                m["gold_units"],
                m["unit_precision"],
                m["unit_recall"],
                m["unit_f1"],
                m["jaccard"]["min"],
                m["jaccard"]["median"],
                m["jaccard"]["mean"],
            ]
            for t, m in results["by_topic"].items()
        ],
    )
    lines += [
        "",
        "Wrongly counted documents by what their cited sentence is: (question, document) pairs, against the pairs where the",
        "document carries that near miss for the question's topic in its scope (exposed; - where every document could be):",
        "",
    ]
    lines += _table(
        ["cited sentence is", "exposed", "wrongly counted", "distinct documents"],
        [
            [k, "-" if v["exposed"] is None else v["exposed"], v["wrong"], v["docs_wrong"]]
            for k, v in results["near_miss"].items()
        ],
    )
    parse = results["parse"]
    lines += [
        "",
        "Parsing of the generated documents (ingest preparation without manifest; the evaluation itself ingests with the true metadata):",
        "",
    ]
    lines += _table(["metadata field", "correct"], [[k, v["share"]] for k, v in parse["metadata"].items()])
    lines += ["", "Stated problems returned as problem findings:", ""]
    lines += _table(
        ["layout", "problems", "extracted"], [[k, v["n"], v["share"]] for k, v in parse["problems_as_findings"].items()]
    )
    t = results["timing"]
    lines += [
        "",
        f"Time: {t['total_s']} s ({'cached store' if t['cache_hit'] else 'store built'}; generate {t['generate_s']} s, ingest {t['ingest_s']} s, sentences {t['sentences_s']} s, questions {t['questions_s']} s).",
        "",
    ]
    lines += ["Per question:", ""]
    lines += _table(
        ["id", "kind", "gold", "listed", "tp", "fp", "fn", "P", "R", "F1", "ms"],
        [
            [
                r["id"],
                r["kind"],
                r["gold"],
                r["listed"],
                r["tp"],
                r["fp"],
                r["fn"],
                r["precision"],
                r["recall"],
                r["f1"],
                r["ms"],
            ]
            for r in results["rows"]
        ],
    )
    if results["split"] == "tuning":
        lines += ["", "Misses and false units (tuning half only):", ""]
        for r in results["rows"]:
            if not (r["fp"] or r["fn"]):
                continue
            lines.append(f"- `{r['id']}` {r['question']}")
            lines += [f"  - false: {f['unit']} ({f['cause']}): {f['cited']}" for f in r["false"]]
            lines += [f"  - missed: {m['unit']} {m['year']}: {' / '.join(m['states'])}" for m in r["missed"]]
    else:
        lines += ["", "Question and sentence text of the reporting half is withheld (eval_sets/scale/README.md)."]
    return "\n".join(lines) + "\n"


def write(results: dict[str, Any], out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / f"{name(results)}.json", out_dir / f"{name(results)}.md"
    # One row per line: the per-question rows are most of the file, and a line each keeps diffs readable.
    head = json.dumps({k: v for k, v in results.items() if k != "rows"}, ensure_ascii=False, indent=1)
    rows = ",\n".join(json.dumps(r, ensure_ascii=False) for r in results["rows"])
    json_path.write_text(head[:-2] + ',\n "rows": [\n' + rows + "\n ]\n}\n", encoding="utf-8")
    md_path.write_text(markdown(results), encoding="utf-8")
    return [json_path, md_path]
