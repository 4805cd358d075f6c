"""Eval results as a terminal table, JSON, Markdown and a PNG chart, and `--fail-under` checks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

RETRIEVAL_COLUMNS = (
    "recall@1",
    "recall@5",
    "recall@10",
    "mrr@10",
    "ndcg@10",
    "doc_recall@5",
    "latency_p50_ms",
    "latency_p95_ms",
)
ANSWER_COLUMNS = (
    "unit_precision",
    "unit_recall",
    "unit_f1",
    "answer_contains",
    "cited_contains",
    "unanswerable_declined",
    "citation_precision",
    "latency_p50_ms",
    "latency_p95_ms",
)


def flat_metrics(results: dict[str, Any]) -> dict[str, float]:
    """'hybrid.mrr@10' → value, 'answers.unit_recall' → value, 'scale.unit_precision' → value: the names
    `--fail-under` takes."""
    flat = {f"{mode}.{k}": v for mode, metrics in results.get("modes", {}).items() for k, v in metrics.items()}
    flat |= {f"answers.{k}": v for k, v in results.get("answers", {}).items()}
    if "scale" in results:
        from qa.scale.report import flat as scale_flat

        flat |= scale_flat(results)
    return flat


def check_floors(results: dict[str, Any], floors: dict[str, float]) -> list[str]:
    """Readable failures for every metric below its floor (an unknown metric name is a failure too)."""
    flat = flat_metrics(results)
    failures = []
    for name, floor in floors.items():
        if name not in flat:
            failures.append(f"{name}：没有这个指标（可用：{', '.join(sorted(flat))}）")
        elif flat[name] < floor:
            failures.append(f"{name} = {flat[name]:.4f}，低于下限 {floor:.4f}")
    return failures


def parse_floors(items: list[str]) -> dict[str, float]:
    floors = {}
    for item in items:
        name, _, value = item.partition("=")
        try:
            floors[name.strip()] = float(value)
        except ValueError as exc:
            raise ValueError(f"--fail-under 需要 指标=数值，如 hybrid.mrr@10=0.8，收到：{item}") from exc
    return floors


def _columns(results: dict[str, Any]) -> list[str]:
    first: dict[str, Any] = next(iter(results["modes"].values()), {})
    return [c for c in RETRIEVAL_COLUMNS if c in first] or sorted(first)


def fusion_line(results: dict[str, Any]) -> str | None:
    """The hybrid mode's fusion in one line: the library's self-tuned choice or the defaults."""
    f = results.get("fusion")
    if not f:
        return None
    how = (
        f"convex alpha={f['alpha']:g}"
        if f.get("method") == "convex"
        else f"rrf k={f.get('rrf_k')} dense_weight={f.get('dense_weight'):g}"
    )
    line = f"hybrid fusion: {how}, depth {f.get('depth')} ({f.get('source')}"
    if f.get("pseudo_queries"):
        m = f.get("pseudo_mrr@10", {})
        line += f", {f['pseudo_queries']} pseudo-queries: MRR@10 chosen {m.get('chosen', 0):.3f} / default {m.get('default', 0):.3f} / bm25 {m.get('bm25', 0):.3f} / dense {m.get('dense', 0):.3f}"
    return line + ")"


def print_table(results: dict[str, Any], console: Console, title: str) -> None:
    cols = _columns(results)
    table = Table(title=f"{title}：检索（每种模式同一批问题）")
    table.add_column("mode")
    for c in cols:
        table.add_column(c, justify="right")
    for mode, metrics in results["modes"].items():
        table.add_row(
            mode, *(f"{metrics.get(c, 0):.3f}" if "latency" not in c else f"{metrics.get(c, 0):.0f}" for c in cols)
        )
    console.print(table)
    if (line := fusion_line(results)) is not None:
        console.print(line, highlight=False)
    if "answers" in results:
        answers = Table(title=f"{title}：回答（hybrid + 抽取式）")
        for c in ANSWER_COLUMNS:
            answers.add_column(c, justify="right")
        a = results["answers"]
        answers.add_row(*(f"{a[c]:.3f}" if "latency" not in c else f"{a[c]:.0f}" for c in ANSWER_COLUMNS))
        console.print(answers)


def markdown(results: dict[str, Any], title: str, chart: str | None) -> str:
    cols = _columns(results)
    lines = [
        f"# {title}",
        "",
        f"Questions: {results.get('questions', results.get('queries'))}; "
        f"corpus: {results.get('chunks', results.get('documents'))} {'chunks' if 'chunks' in results else 'documents'}.",
        "",
    ]
    lines += ["| mode | " + " | ".join(cols) + " |", "|---|" + "---:|" * len(cols)]
    for mode, metrics in results["modes"].items():
        lines.append(f"| {mode} | " + " | ".join(f"{metrics.get(c, 0):.3f}" for c in cols) + " |")
    if (line := fusion_line(results)) is not None:
        lines += ["", line[0].upper() + line[1:] + "."]
    if "answers" in results:
        a = results["answers"]
        lines += [
            "",
            "Answers (hybrid retrieval, extractive composer):",
            "",
            "| " + " | ".join(ANSWER_COLUMNS) + " |",
            "|" + "---:|" * len(ANSWER_COLUMNS),
        ]
        lines.append("| " + " | ".join(f"{a[c]:.3f}" for c in ANSWER_COLUMNS) + " |")
        misses = [
            r
            for r in results.get("answer_rows", [])
            if r.get("f1", 1) < 1 or r.get("contains") is False or r.get("declined") is False
        ]
        if misses:
            lines += ["", "Misses:", ""] + [
                f"- `{r['id']}` {json.dumps({k: v for k, v in r.items() if k != 'id'}, ensure_ascii=False)}"
                for r in misses
            ]
    if chart:
        lines += ["", f"![{title}]({chart})"]
    return "\n".join(lines) + "\n"


def chart(results: dict[str, Any], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    modes = list(results["modes"])
    metrics = [m for m in ("recall@5", "mrr@10", "ndcg@10") if m in results["modes"][modes[0]]]
    fig, ax = plt.subplots(figsize=(7, 3.5))
    width = 0.8 / max(1, len(metrics))
    for i, metric in enumerate(metrics):
        ax.bar(
            [x + i * width for x in range(len(modes))],
            [results["modes"][m][metric] for m in modes],
            width,
            label=metric,
        )
    ax.set_xticks([x + width * (len(metrics) - 1) / 2 for x in range(len(modes))], modes)
    ax.set_ylim(0, 1)
    ax.set_title(title)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(results: dict[str, Any], out_dir: Path, name: str, title: str) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path, png_path = out_dir / f"{name}.json", out_dir / f"{name}.md", out_dir / f"{name}.png"
    json_path.write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    chart(results, png_path, title)
    md_path.write_text(markdown(results, title, png_path.name), encoding="utf-8")
    return [json_path, md_path, png_path]
