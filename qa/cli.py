"""`qa` command line: ingest, search, documents, reindex. Errors are one Chinese line and exit code 2."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from ingest.document import IngestError
from ingest.metadata import load_manifest
from ingest.pipeline import expand_paths
from qa.embeddings import Embedder, EmbeddingError, get_embedder
from qa.findings import (
    STATS_BY,
    Categorizer,
    FindingFilter,
    FindingsIndex,
    TaxonomyError,
    load_taxonomy,
    open_findings,
)
from qa.findings.evaluate import LabelError
from qa.library import DocumentNotFound, Library, MetadataError, edit_fields
from qa.progress import Tracker, progress
from qa.retrieve import MODES, Filters, Hit, Retriever, open_retriever
from qa.settings import MAX_ANSWER_UNITS, get_settings, settings_error
from qa.store import Store, StoreError
from qa.termwrap import wrap_text

app = typer.Typer(help="绩效报告问答：导入报告、检索段落。", no_args_is_help=True, add_completion=False)
docs_app = typer.Typer(help="查看和删除已导入的报告。", no_args_is_help=True)
app.add_typer(docs_app, name="docs")
findings_app = typer.Typer(help="报告中的问题与改进措施：列表、统计、分类评测。", invoke_without_command=True)
app.add_typer(findings_app, name="findings")
out = Console()
err = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])


def _in_range(option: str, value: int, low: int, high: int | None) -> None:
    """A numeric option out of range fails with one Chinese line (typer's own check prints an English box)."""
    if value < low or (high is not None and value > high):
        _fail(f"{option} 应为 {low}–{high} 之间的整数" if high is not None else f"{option} 不能小于 {low}")


def _fail(message: str) -> NoReturn:
    err.print(f"[red]错误：[/red]{message}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def friendly_errors(fn: F) -> F:
    """Known failures become one readable line and exit code 2 instead of a traceback."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (
            IngestError,
            StoreError,
            EmbeddingError,
            TaxonomyError,
            LabelError,
            DocumentNotFound,
            MetadataError,
        ) as exc:
            _fail(str(exc))
        except ValidationError as exc:  # a bad QA_* environment setting
            message = settings_error(exc)
            if message is None:
                raise
            _fail(message)

    return wrapper  # type: ignore[return-value]


def _retriever() -> Retriever:
    return open_retriever(get_settings(), get_embedder())


def _prepare_findings(retriever: Retriever) -> None:
    """Bring the saved findings view up to date, so the next `qa serve` on this data dir starts from it (derived
    state, like the BM25 index). A broken taxonomy only costs that: the import itself succeeded."""
    try:
        with err.status("正在整理问题清单（供服务启动时直接载入）……"):  # minutes after a bulk load at 1M chunks
            open_findings(retriever).prepare()
    except TaxonomyError as exc:
        err.print(f"提示：问题清单未预先整理（{exc}），服务启动时再整理")


@app.command()
@friendly_errors
def ingest(
    paths: Annotated[
        list[Path],
        typer.Argument(help="报告文件或文件夹（txt/docx/pdf/md/html、扫描件图片 png/jpg/tif、表格 xlsx/xls/csv）"),
    ],
    manifest: Annotated[
        Path | None, typer.Option(help="元数据清单（CSV 或 JSON），覆盖自动识别的单位/地区/年份/类型")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="在标准输出打印 JSON 结果（每个文件的结果）")] = False,
) -> None:
    """导入报告：解析、切分、向量化并写入向量库；未变化的文件跳过。进度写到标准错误（非终端时每隔一段打印一行）。"""
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        _fail(f"路径不存在：{'、'.join(missing)}")
    overrides = load_manifest(manifest) if manifest else None
    files = expand_paths(paths)
    if not files:
        _fail("没有找到可导入的文件")
    retriever = _retriever()
    with progress(err, "导入", len(files), "篇") as tracker:
        report = Library.of(retriever).ingest_files(
            files,
            manifest=overrides,
            on_file=lambda name: tracker.advance(1, note=name),
            on_page=lambda name, done, total: tracker.detail(f"OCR {name}", done, total, "页"),
        )
    retriever.lexical()  # bring the BM25 index up to date now rather than on the first query
    _prepare_findings(retriever)
    if as_json:
        outcomes = {"new": report.new, "unchanged": report.unchanged, "replaced": report.replaced}
        files_out = [
            {"source": src, "outcome": o, "doc_id": report.doc_ids.get(src)}
            for o, srcs in outcomes.items()
            for src in srcs
        ]
        files_out += [
            {"source": src, "outcome": "duplicate", "doc_id": report.doc_ids.get(src), "duplicate_of": original}
            for src, original in report.duplicates
        ]
        files_out += [{"source": src, "outcome": "refused", "reason": reason} for src, reason in report.failed]
        summary = {
            "chunks": report.chunks,
            "seconds": round(report.seconds, 1),
            "ocr_pages": report.ocr_pages,
            "ocr_seconds": round(report.ocr_seconds, 1),
        }
        print(json.dumps({"files": files_out, **summary}, ensure_ascii=False, indent=2))
        if report.failed:
            raise typer.Exit(1)
        return
    out.print(
        f"新增 {len(report.new)} 篇，未变化 {len(report.unchanged)} 篇，替换 {len(report.replaced)} 篇，"
        f"重复 {len(report.duplicates)} 篇，失败 {len(report.failed)} 篇；写入 {report.chunks} 个段落，用时 {report.seconds:.1f} 秒"
        + (f"；OCR 识别 {report.ocr_pages} 页，用时 {report.ocr_seconds:.1f} 秒" if report.ocr_pages else "")
    )
    for source, original in report.duplicates:
        out.print(f"重复 {source}：内容与 {original} 相同，已跳过", highlight=False)
    for source, reason in report.failed:
        err.print(f"[red]失败[/red] {source}：{reason}", highlight=False)
    if report.failed:
        raise typer.Exit(1)


def _print_hits(hits: list[Hit]) -> None:
    for n, h in enumerate(hits, start=1):
        d = h.doc
        who = d.unit or d.title or d.source
        out.print(
            f"[bold][{n}][/bold] {who}（{d.year or '年份未知'}）· {h.section or '正文'} · {d.source} · 得分 {h.score:.4f}",
            highlight=False,
        )
        out.print(f"    {h.text}", highlight=False)


@app.command()
@friendly_errors
def search(
    query: Annotated[str, typer.Argument(help="检索内容")],
    mode: Annotated[str, typer.Option(help="dense | bm25 | hybrid")] = "hybrid",
    top_k: Annotated[int, typer.Option("--top-k", help="返回条数，1–200")] = 5,
    year: Annotated[int | None, typer.Option(help="报告年度，如 2021")] = None,
    region: Annotated[str | None, typer.Option(help="地区，如 益阳市")] = None,
    unit: Annotated[str | None, typer.Option(help="单位名称（部分即可）")] = None,
    kind: Annotated[str | None, typer.Option(help="部门整体支出 | 项目支出 | 部门决算 | 其他")] = None,
    role: Annotated[
        str | None, typer.Option(help="problems | measures | performance | funds | overview | other")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False,
) -> None:
    """检索与问题最相关的报告段落（带出处）。"""
    if not query.strip():
        _fail("检索内容不能为空")
    if mode not in MODES:
        _fail(f"未知的检索模式 {mode}，可选：{' | '.join(MODES)}")
    _in_range("--top-k", top_k, 1, 200)
    hits = _retriever().search(
        query,
        mode=mode,
        top_k=top_k,
        filters=Filters(year=year, region=region, unit=unit, report_kind=kind, section_role=role),
    )
    if as_json:
        print(json.dumps({"hits": [h.as_dict() for h in hits]}, ensure_ascii=False, indent=2))
    elif not hits:
        out.print("未在已收录报告中找到相关段落。")
    else:
        _print_hits(hits)


@docs_app.command("list")
@friendly_errors
def docs_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """列出已导入的报告。"""
    records = _retriever().store.catalogue()
    if as_json:
        print(json.dumps([r.as_dict() for r in records], ensure_ascii=False, indent=2))
        return
    table = Table("doc_id", "文件", "单位", "地区", "年度", "类型", "段落数")
    for r in records:
        d = r.doc
        table.add_row(
            d.doc_id, d.source, d.unit or "—", d.region or "—", str(d.year or "—"), d.report_kind, str(r.n_chunks)
        )
    out.print(table)


@docs_app.command("show")
@friendly_errors
def docs_show(doc_id: str, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """显示一篇报告的元数据和清理后的全文。"""
    found = _retriever().store.get_document(doc_id)
    if found is None:
        _fail(f"没有 doc_id 为 {doc_id} 的报告")
        return
    record, text = found
    if as_json:
        print(json.dumps({**record.as_dict(), "text": text}, ensure_ascii=False, indent=2))
        return
    d = record.doc
    out.print(
        f"[bold]{d.title}[/bold]\n单位：{d.unit or '—'}  地区：{d.region or '—'}  年度：{d.year or '—'}  类型：{d.report_kind}  文件：{d.source}\n"
    )
    out.print(text, highlight=False)


@docs_app.command("delete")
@friendly_errors
def docs_delete(doc_id: str, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """删除一篇报告及其全部段落。"""
    retriever = _retriever()
    Library.of(retriever).delete(doc_id)
    retriever.lexical()
    if as_json:
        print(json.dumps({"doc_id": doc_id, "status": "deleted"}))
        return
    out.print(f"已删除 {doc_id}")


@docs_app.command("edit")
@friendly_errors
def docs_edit(
    doc_id: str,
    unit: Annotated[str | None, typer.Option(help="单位名称")] = None,
    region: Annotated[str | None, typer.Option(help="地区，如 湖南省益阳市赫山区")] = None,
    year: Annotated[int | None, typer.Option(help="报告年度，如 2021")] = None,
    kind: Annotated[str | None, typer.Option(help="部门整体支出 | 项目支出 | 部门决算 | 其他")] = None,
    title: Annotated[str | None, typer.Option(help="报告标题")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False,
) -> None:
    """修改一篇报告的元数据（单位/地区/年度/类型/标题），立即生效，无需重新向量化；再次导入同一文件时保留。"""
    if all(v is None for v in (unit, region, year, kind, title)):
        _fail("请至少给出一项要修改的元数据（--unit / --region / --year / --kind / --title）")
    edit_fields(unit, region, year, kind, title)  # bad values fail before the model loads
    retriever = _retriever()
    record = Library.of(retriever).edit_metadata(
        doc_id, unit=unit, region=region, year=year, report_kind=kind, title=title
    )
    retriever.lexical()  # the document's BM25 rows carry its unit and title
    if as_json:
        print(json.dumps(record.as_dict(), ensure_ascii=False, indent=2))
        return
    d = record.doc
    out.print(
        f"已修改 {doc_id}：单位：{d.unit or '—'}  地区：{d.region or '—'}  年度：{d.year or '—'}  类型：{d.report_kind}  标题：{d.title}",
        highlight=False,
    )


_ROLE_NAMES = {"problem": "问题", "measure": "措施"}
CategoryOpt = Annotated[str | None, typer.Option("--category", help="分类名称，如 预算编制不够细化")]
RoleOpt = Annotated[str | None, typer.Option("--role", help="problem（问题） | measure（措施）")]
YearOpt = Annotated[int | None, typer.Option("--year", help="报告年度")]
RegionOpt = Annotated[str | None, typer.Option("--region", help="地区（部分即可）")]
UnitOpt = Annotated[str | None, typer.Option("--unit", help="单位名称（部分即可）")]
JsonOpt = Annotated[bool, typer.Option("--json", help="输出 JSON")]


def _findings(
    category: str | None, role: str | None, year: int | None, region: str | None, unit: str | None
) -> tuple[FindingsIndex, FindingFilter]:
    """The store's findings and the filter, checked before the model loads (bad options fail fast)."""
    if role is not None and role not in _ROLE_NAMES:
        _fail(f"未知的类型 {role}，可选：problem（问题） | measure（措施）")
    taxonomy = load_taxonomy(get_settings().taxonomy)
    if category is not None and category not in taxonomy.names:
        _fail(f"未知的分类“{category}”，可选：{'、'.join(taxonomy.names)}")
    retriever = _retriever()
    index = FindingsIndex(retriever, Categorizer(taxonomy, retriever.embedder))
    return index, FindingFilter(category=category, role=role, year=year, region=region, unit=unit)


@findings_app.callback()
@friendly_errors
def findings_list(
    ctx: typer.Context,
    category: CategoryOpt = None,
    role: RoleOpt = None,
    year: YearOpt = None,
    region: RegionOpt = None,
    unit: UnitOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """列出报告中的问题与改进措施（带分类和出处）。子命令：stats 统计，eval 评测分类。"""
    if ctx.invoked_subcommand is not None:
        return
    index, flt = _findings(category, role, year, region, unit)
    found = index.select(flt)
    if as_json:
        print(json.dumps([f.as_dict() for f in found], ensure_ascii=False, indent=2))
        return
    if not found:
        out.print("没有符合条件的问题或措施。")
        return
    table = Table("单位", "年度", "类型", "内容", "分类", "出处", show_lines=True)
    for f in found:
        cats = "、".join(f"{c.name}（{c.confidence:.2f}）" for c in f.categories)
        table.add_row(
            f.doc.display_unit,
            str(f.doc.year or "—"),
            _ROLE_NAMES.get(f.role, f.role),
            f.text,
            cats,
            f"{f.doc.source} · 字符 {f.char_start}–{f.char_end}",
        )
    out.print(table)


@findings_app.command("stats")
@friendly_errors
def findings_stats(
    by: Annotated[str, typer.Option(help="统计维度：category | year | region | unit")] = "category",
    category: CategoryOpt = None,
    role: RoleOpt = None,
    year: YearOpt = None,
    region: RegionOpt = None,
    unit: UnitOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """按分类、年度、地区或单位统计问题与措施：每项有几个单位提到、是哪些单位。"""
    if by not in STATS_BY:
        _fail(f"未知的统计维度 {by}，可选：{' | '.join(STATS_BY)}")
    index, flt = _findings(category, role, year, region, unit)
    groups = index.stats(by, flt)
    if as_json:
        print(
            json.dumps(
                [{"key": g.key, "findings": g.findings, "units": [u.__dict__ for u in g.units]} for g in groups],
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    if not groups:
        out.print("没有符合条件的问题或措施。")
        return
    table = Table({"category": "分类", "year": "年度", "region": "地区", "unit": "单位"}[by], "单位数", "条数", "单位")
    for g in groups:
        table.add_row(
            g.key,
            str(len({u.unit for u in g.units})),
            str(g.findings),
            "、".join(dict.fromkeys(u.unit for u in g.units)),
        )
    out.print(table)


@findings_app.command("export")
@friendly_errors
def findings_export(
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="csv（UTF-8 带 BOM，Excel 可直接打开） | xlsx；默认按 -o 的扩展名，否则 csv"),
    ] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="输出文件；csv 可省略（写到标准输出）")] = None,
    category: CategoryOpt = None,
    role: RoleOpt = None,
    year: YearOpt = None,
    region: RegionOpt = None,
    unit: UnitOpt = None,
) -> None:
    """导出问题与措施（每条一行：单位、地区、年度、报告类型、类型、分类、内容、来源文件、章节、字符位置）。"""
    from qa.findings.export import FORMATS, export

    chosen = fmt or (
        output.suffix.lstrip(".").lower()
        if output is not None and output.suffix.lower() in (".csv", ".xlsx")
        else "csv"
    )
    if chosen not in FORMATS:
        _fail(f"未知的导出格式 {chosen}，可选：{' | '.join(FORMATS)}")
    if chosen == "xlsx" and output is None:
        _fail("xlsx 格式需要用 -o 指定输出文件")
    if output is not None and not output.parent.is_dir():
        _fail(f"输出目录不存在：{output.parent}")
    index, flt = _findings(category, role, year, region, unit)
    found = index.select(flt)
    body = export(found, chosen)  # type: ignore[arg-type]
    if output is None:
        sys.stdout.buffer.write(body)
        sys.stdout.flush()
        return
    output.write_bytes(body)
    err.print(f"已导出 {len(found)} 条到 {output}", highlight=False)


@findings_app.command("eval")
@friendly_errors
def findings_eval(
    labels: Annotated[Path, typer.Argument(help="人工标注 eval_sets/findings.jsonl")] = Path(
        "eval_sets/findings.jsonl"
    ),
    corpus: Annotated[list[Path] | None, typer.Option(help="标注对应的报告（默认 samples/）")] = None,
    as_json: JsonOpt = False,
) -> None:
    """用人工标注评测问题/措施的抽取（边界）和分类（精确率/召回率）。"""
    from qa.findings.evaluate import evaluate_findings, extract_corpus, load_labels

    if not labels.exists():
        _fail(f"标注文件不存在：{labels}")
    embedder = get_embedder()
    categorizer = Categorizer(load_taxonomy(get_settings().taxonomy), embedder)
    result = evaluate_findings(load_labels(labels), extract_corpus(corpus or [Path("samples")], embedder, categorizer))
    if as_json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return
    e, c = result["extraction"], result["categories"]
    out.print(
        f"抽取：标注 {result['labels']} 条，抽出 {result['extracted']} 条；边界完全一致的精确率 {e['precision']:.3f}，召回率 {e['recall']:.3f}"
    )
    out.print(
        f"分类：精确率 {c['precision']:.3f}，召回率 {c['recall']:.3f}，F1 {c['f1']:.3f}（{c['pairs_gold']} 个标注的（条目, 分类）对）"
    )
    table = Table("分类", "标注", "系统", "精确率", "召回率")
    for name, v in result["per_category"].items():
        table.add_row(name, str(v["gold"]), str(v["predicted"]), f"{v['precision']:.2f}", f"{v['recall']:.2f}")
    out.print(table)


@app.command()
@friendly_errors
def reindex(as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False) -> None:
    """用当前向量模型和切分设置重建全部段落向量与词法索引（更换模型或切分参数后运行）。"""
    settings = get_settings()
    embedder = get_embedder()
    store = Store(
        settings,
        embedder.model_id,
        embedder.dimension,
        findings_embedder_id=embedder.query_model_id,
        check_embedder=False,
    )
    retriever = Retriever(store, embedder, settings)
    with progress(err, "重建索引", len(store.catalogue()), "篇") as tracker:
        n = Library.of(retriever).reindex(on_doc=lambda done, total: tracker.update(done, total))
    retriever.lexical()
    documents = len(store.catalogue())
    if as_json:
        print(json.dumps({"documents": documents, "chunks": n, "model": embedder.model_id}, ensure_ascii=False))
        return
    out.print(f"已重建索引：{documents} 篇报告，{n} 个段落（模型 {embedder.model_id}）")


@app.command()
@friendly_errors
def sentences(
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False,
    workers: Annotated[int | None, typer.Option(help="并行编码的线程数（默认：CPU 核数）")] = None,
) -> None:
    """预先切分并向量化全部段落的句子，使“哪些单位提到……”的问题无需在提问时处理候选句子（qa serve 在后台自动进行）。"""
    from qa.answering.context import AnswerContext
    from qa.answering.prepared import prepare_sentences, sentences_prepared

    n_workers = workers if workers is not None else os.cpu_count() or 1
    _in_range("--workers", n_workers, 1, 64)
    settings = get_settings()
    if n_workers > 1:  # one thread per model run: the workers are the parallelism (2 per run on 2 cores: slower)
        settings = settings.model_copy(update={"torch_threads": 1})
    ctx = AnswerContext.of(open_retriever(settings, Embedder(settings)))
    with progress(err, "准备句子", None, "个段落") as tracker:
        n = prepare_sentences(ctx, progress=lambda done, total: tracker.update(done, total), workers=n_workers)
    ready, chunks = sentences_prepared(ctx), len(ctx.retriever.lexical())
    if as_json:
        print(json.dumps({"prepared_now": n, "prepared": ready, "chunks": chunks}))
        return
    out.print(f"本次处理 {n} 个段落的句子；已就绪 {ready} / {chunks} 个段落")


@app.command()
@friendly_errors
def tune() -> None:
    """混合检索自调：从文库自身抽取伪查询，选出 BM25 与向量检索的融合权重并记入向量库（qa serve 在文库变化较大后自动进行）。"""
    from qa import tuning

    retriever = _retriever()
    if not retriever.store.count_chunks():
        _fail("向量库为空：请先用 qa ingest 导入报告")
    with err.status("正在生成伪查询并选择融合权重……"):
        record = tuning.tune(retriever)
    m = record.mrr
    if not m:
        out.print(f"伪查询只有 {record.queries} 个，不足以选择权重：沿用默认设置（{record.params.describe()}）")
        return
    out.print(
        f"已选定：{record.params.describe()}（{record.queries} 个伪查询，MRR@10：选定 {m['chosen']:.3f} / 默认 {m['default']:.3f} / "
        f"BM25 {m['bm25']:.3f} / 向量 {m['dense']:.3f}，用时 {record.seconds:.0f} 秒）",
        highlight=False,
    )


@app.command()
@friendly_errors
def ask(
    question: Annotated[str, typer.Argument(help="问题，如：哪些单位提到预算编制不够细化？")],
    year: Annotated[int | None, typer.Option(help="报告年度")] = None,
    region: Annotated[str | None, typer.Option(help="地区")] = None,
    unit: Annotated[str | None, typer.Option(help="单位名称（部分即可）")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON（与 /v1/ask 相同）")] = False,
    offset: Annotated[int, typer.Option(help="“哪些单位…”类问题：从第几个单位开始列出（0 起）")] = 0,
    limit: Annotated[
        int | None,
        typer.Option(help=f"“哪些单位…”类问题：最多列出的单位数，1–{MAX_ANSWER_UNITS}（默认 QA_ANSWER_UNITS）"),
    ] = None,
) -> None:
    """提问：输出带 [n] 引用的回答和编号出处。"""
    if not question.strip():
        _fail("问题不能为空")
    _in_range("--offset", offset, 0, None)
    if limit is not None:
        _in_range("--limit", limit, 1, MAX_ANSWER_UNITS)
    from qa.answer import Answerer, Page

    filters = Filters(year=year, region=region, unit=unit) if any(v is not None for v in (year, region, unit)) else None
    page = Page(offset, limit or get_settings().answer_units)
    ans = Answerer(_retriever()).ask(question, (), filters, page=page)
    if as_json:
        from qa.api.convert import answer_out

        print(answer_out(ans).model_dump_json(indent=2))
        return
    from qa.api.convert import answer_out

    print_answer(out, answer_out(ans), question)


def print_answer(console: Console, answer: Any, question: str) -> None:
    """The answer, how the question was understood, and one line per citation, wrapped for the terminal
    (qa.termwrap: never a number alone on its line, never a split [n]); unwrapped when not a terminal."""
    from qa.api.convert import source_label

    lines = [answer.answer]
    if answer.resolved_question != question.strip():
        lines.append(f"（理解为：{answer.resolved_question}）")
    lines += [f"[{c.id}] {source_label(c)}" for c in answer.citations]
    for line in wrap_text("\n".join(lines), console.width if console.is_terminal else None):
        console.print(line, markup=False, highlight=False, soft_wrap=True)


@app.command("eval")
@friendly_errors
def eval_cmd(
    files: Annotated[list[Path] | None, typer.Argument(help="评测集 eval_sets/*.jsonl")] = None,
    beir: Annotated[
        Path | None, typer.Option(help="BEIR 格式目录（corpus.jsonl[.gz]、queries.jsonl、qrels.tsv）")
    ] = None,
    corpus: Annotated[list[Path] | None, typer.Option(help="评测语料（默认 samples/）")] = None,
    modes: Annotated[
        str, typer.Option(help="逗号分隔：bm25,dense,hybrid,langchain-baseline")
    ] = "bm25,dense,hybrid,langchain-baseline",
    out_dir: Annotated[Path, typer.Option("--out", help="结果目录（JSON、Markdown、PNG）")] = Path("eval_sets/results"),
    as_json: Annotated[bool, typer.Option("--json", help="在标准输出打印 JSON 结果")] = False,
    fail_under: Annotated[list[str] | None, typer.Option(help="指标下限，如 hybrid.mrr@10=0.8；低于则退出码 1")] = None,
    limit_queries: Annotated[int | None, typer.Option(min=1, help="BEIR：随机抽取的问题数")] = None,
    seed: Annotated[
        int | None, typer.Option(help="随机种子：BEIR 抽样（默认 13）、规模评测的语料生成（默认 18）")
    ] = None,
    answers: Annotated[bool, typer.Option(help="同时评测回答（汇总单位、查询、拒答、引用）")] = True,
    scale: Annotated[
        bool, typer.Option("--scale", help="规模评测：生成数百篇报告，逐题经真实回答路径提问（docs/evaluation.md）")
    ] = False,
    split: Annotated[str, typer.Option(help="规模评测的半区：tuning（调参）或 reporting（只用于报告）")] = "tuning",
    docs: Annotated[int | None, typer.Option(min=10, help="规模评测的文档数（默认 340）")] = None,
    cache: Annotated[bool, typer.Option(help="规模评测：复用 data/scale-cache/ 中已建好的向量库")] = True,
) -> None:
    """评测检索与回答质量，逐模式并列输出，并写出 JSON / Markdown / PNG 报告。"""
    from qa import eval_report
    from qa.evaluate import EvalError, load_eval_set, run_beir, run_eval_set, valid_modes
    from qa.scale.bank import SPLITS, BankError

    try:
        floors = eval_report.parse_floors(fail_under or [])
        mode_list = valid_modes(modes.split(","))
        if not files and beir is None and not scale:
            _fail("请给出评测集文件、--beir 目录或 --scale")
        if split not in SPLITS:
            _fail(f"--split 只能是 {' 或 '.join(SPLITS)}")
        settings = get_settings()
        embedder = get_embedder()
        runs: list[tuple[str, str, dict[str, Any]]] = []
        scale_runs: list[dict[str, Any]] = []
        for path in files or []:
            if not path.exists():
                _fail(f"评测集不存在：{path}")
            items = load_eval_set(path)
            stages = [*mode_list, "answers"]
            with progress(err, f"评测 {path.name}", len(stages), "个阶段", step=1) as tracker:

                def on_stage(stage: str, t: Tracker = tracker, s: list[str] = stages) -> None:
                    t.update(s.index(stage), note=stage)

                results = run_eval_set(
                    items,
                    corpus or [Path("samples")],
                    settings,
                    embedder,
                    mode_list,
                    answers,
                    progress=on_stage,
                )
                tracker.update(len(stages), note="完成")
            runs.append((path.stem, path.name, results))
        if beir is not None:
            with progress(err, f"BEIR {beir.name}", None, "项") as tracker:
                results = run_beir(
                    beir,
                    settings,
                    embedder,
                    mode_list,
                    limit_queries,
                    13 if seed is None else seed,
                    progress=lambda stage, done, total: tracker.update(done, total, note=stage),
                )
            runs.append((f"beir-{beir.name}", f"BEIR {beir.name}", results))
        if scale:
            from qa.scale.generate import DEFAULT_DOCS, DEFAULT_SEED
            from qa.scale.harness import run_scale

            with progress(err, f"规模评测 {split}", None, "项") as tracker:
                scale_runs.append(
                    run_scale(
                        split,
                        settings,
                        embedder,
                        docs or DEFAULT_DOCS,
                        DEFAULT_SEED if seed is None else seed,
                        use_cache=cache,
                        progress=lambda stage, done, total: tracker.update(done, total or None, note=stage),
                    )
                )
    except (EvalError, BankError, ValueError) as exc:
        _fail(str(exc))
        return
    failures: list[str] = []
    for results in scale_runs:
        from qa.scale import report as scale_report

        if as_json:
            print(json.dumps(results, ensure_ascii=False, indent=2))
        else:
            scale_report.print_table(results, out)
        err.print("已写出：" + "、".join(str(p) for p in scale_report.write(results, out_dir)))
        scale_floors = {k: v for k, v in floors.items() if k.startswith("scale.")}
        failures += [f"{scale_report.title(results)} · {f}" for f in eval_report.check_floors(results, scale_floors)]
    for name, title, results in runs:
        if as_json:
            print(json.dumps(results, ensure_ascii=False, indent=2))
        else:
            eval_report.print_table(results, out, title)
        paths = eval_report.write(results, out_dir, name, title)
        err.print("已写出：" + "、".join(str(p) for p in paths))
        failures += [
            f"{title} · {f}"
            for f in eval_report.check_floors(results, {k: v for k, v in floors.items() if not k.startswith("scale.")})
        ]
    for failure in failures:
        err.print(f"[red]未达标[/red] {failure}", highlight=False)
    if failures:
        raise typer.Exit(1)


@app.command()
@friendly_errors
def serve(
    host: Annotated[str, typer.Option(help="监听地址")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="端口")] = 8000,
    seed: Annotated[Path | None, typer.Option(help="向量库为空时先导入此文件夹（如 samples）")] = None,
    insecure: Annotated[bool, typer.Option("--insecure", help="未配置密钥时仍允许监听非本机地址")] = False,
) -> None:
    """启动 HTTP 服务（OpenAPI 文档在 /docs）。"""
    import uvicorn

    from qa.api.app import create_app

    settings = get_settings()
    if not settings.keys_configured:
        if host not in ("127.0.0.1", "localhost", "::1") and not insecure:
            _fail(
                f"未配置 API 密钥（QA_API_KEYS / QA_ADMIN_KEYS / QA_WIDGET_KEYS），拒绝监听 {host}；请配置密钥，或加 --insecure 明确允许"
            )
        err.print("注意：未配置 API 密钥，任何能访问该地址的人都可以提问、上传和删除。")
    if seed is not None and not seed.is_dir():
        _fail(f"示例文件夹不存在：{seed}")
    err.print(f"服务地址：http://{host}:{port}/  接口文档：http://{host}:{port}/docs")
    # X-Forwarded-For is read by the rate limiter, and only from QA_TRUSTED_PROXIES (qa.api.auth); uvicorn's own
    # proxy-header handling (which trusts 127.0.0.1 by default) would rewrite the client address before that.
    uvicorn.run(create_app(settings, seed=seed), host=host, port=port, log_level="warning", proxy_headers=False)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
