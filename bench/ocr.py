"""OCR throughput: pages of the real 部门决算 PDFs rasterised at 200 dpi into an image-only PDF (a scan), read by
`ingest.readers.read_bytes` as an upload is: render (pdfium), RapidOCR detection + recognition on 2 threads, ruled
table detection, layout. Reports pages/second and seconds per page for prose and table pages, and the reader's
peak RSS, and the CPU seconds per page (the work itself, which a busy machine does not stretch).

    python -m bench.ocr          # 8 pages (4 prose, 4 table); BENCH_QUICK=1: 2 pages
"""

from __future__ import annotations

import io
import resource
import time
from pathlib import Path
from typing import Any

from bench.common import QUICK, ROOT, header, log, summary, write_result

FIXTURES = ROOT / "tests" / "fixtures"
# (file, 0-based page, kind): prose pages of 情况说明 and pages of the决算 tables, from both PDFs.
PAGES = [
    ("中共上海市普陀区委社会工作部 2024 年度部门决算.pdf", 16, "prose"),
    ("中共上海市普陀区委社会工作部 2024 年度部门决算.pdf", 4, "table"),
    ("上海市普陀区规划和自然资源局 2024 年度部门决算.pdf", 20, "prose"),
    ("上海市普陀区规划和自然资源局 2024 年度部门决算.pdf", 7, "table"),
    ("中共上海市普陀区委社会工作部 2024 年度部门决算.pdf", 18, "prose"),
    ("中共上海市普陀区委社会工作部 2024 年度部门决算.pdf", 12, "table"),
    ("上海市普陀区规划和自然资源局 2024 年度部门决算.pdf", 22, "prose"),
    ("上海市普陀区规划和自然资源局 2024 年度部门决算.pdf", 15, "table"),
]
DPI = 200


def scanned_page(path: Path, index: int) -> bytes:
    """One page as an image-only PDF at DPI (grey, as a scanner makes it)."""
    import pypdfium2 as pdfium

    image = pdfium.PdfDocument(path.read_bytes())[index].render(scale=DPI / 72).to_pil().convert("L")
    buf = io.BytesIO()
    image.save(buf, "PDF", resolution=DPI)
    return buf.getvalue()


def main() -> None:
    from ingest.readers import read_bytes

    pages = PAGES[:2] if QUICK else PAGES
    scans = [(kind, scanned_page(FIXTURES / name, index)) for name, index, kind in pages]
    read_bytes(scans[0][1], "warm.pdf")  # loads the models (~0.2 s); not a page of the run
    seconds: dict[str, list[float]] = {"prose": [], "table": []}
    chars = 0
    cpu = 0.0
    for kind, data in scans:
        t, c = time.perf_counter(), time.process_time()
        doc = read_bytes(data, f"{kind}.pdf")
        seconds[kind].append(time.perf_counter() - t)
        cpu += time.process_time() - c
        chars += len(doc.text)
        log(f"{kind}: {seconds[kind][-1]:.2f} s, {len(doc.text)} chars, {len(doc.records)} table rows")
    every = seconds["prose"] + seconds["table"]
    out: dict[str, Any] = header("ocr") | {
        "dpi": DPI,
        "engine": "rapidocr-onnxruntime 1.4.4 (PP-OCRv4 det/rec, 2 onnxruntime threads)",
        "pages": len(every),
        "pages_per_s": round(len(every) / sum(every), 3),
        "s_per_page": summary(every),
        "s_per_prose_page": summary(seconds["prose"]),
        "s_per_table_page": summary(seconds["table"]),
        # CPU seconds of all the process's threads per page: what the work costs whatever else runs on the machine
        # (wall times above stretch with the load average; on an idle 2-core machine pages/s ≈ 2 / this at best).
        "cpu_s_per_page": round(cpu / len(every), 2),
        "chars": chars,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    log(f"OCR: {out['pages_per_s']} pages/s ({out['s_per_page']['median']} s median per page)")
    write_result("ocr", out)


if __name__ == "__main__":
    main()
