"""OCR on real material: pages of a real 部门决算 PDF rasterised at 200 dpi into an image-only PDF (the "scan"),
read back through OCR and compared with the text layer of the same pages: character error rate of the prose,
every number of the table, and the answer to the same lookups (issue #20). The scan is OCRed once, by
ingesting it; the tests compare what the two stores hold."""

from __future__ import annotations

import io
import re
from difflib import SequenceMatcher
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from PIL import Image

from ingest.document import IngestError, ReadLimits, TooLargeError
from ingest.readers import read_bytes
from qa.answer import Answerer
from qa.retrieve import Retriever, open_retriever
from tests.conftest import ingest_into, make_settings
from tests.support.documents import DPI, PDF_SHEGONG, pdf_pages, scanned

pytestmark = pytest.mark.slow

# Cover, 收入支出决算总表, two pages of 情况说明 (prose with the amounts the table holds).
PAGES = [0, 4, 16, 17]


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate on text without whitespace (layout spaces are not characters read)."""
    ref, hyp = re.sub(r"\s", "", reference), re.sub(r"\s", "", hypothesis)
    ops = SequenceMatcher(None, ref, hyp, autojunk=False).get_opcodes()
    return sum(max(i2 - i1, j2 - j1) for op, i1, i2, j1, j2 in ops if op != "equal") / len(ref)


def _numbers(text: str) -> list[str]:
    return re.findall(r"\d+\.\d{2}", text)


@pytest.fixture(scope="module")
def original() -> bytes:
    return pdf_pages(PDF_SHEGONG.read_bytes(), PAGES)


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory, embedder, original: bytes) -> dict[str, tuple[Retriever, str]]:
    """The original pages and their scan, each ingested into a store of its own: (retriever, stored text)."""
    folder = tmp_path_factory.mktemp("scan-files")
    out = {}
    pages: list[tuple[int, int]] = []
    for name, data in (("original", original), ("scan", scanned(original))):
        path = folder / f"社会工作部部门决算-{name}.pdf"
        path.write_bytes(data)
        retriever = open_retriever(make_settings(tmp_path_factory.mktemp(f"{name}-store")), embedder)
        report = ingest_into(retriever, [path], on_page=lambda _name, done, total: pages.append((done, total)))
        assert not report.failed and len(report.new) == 1
        assert report.ocr_pages == (len(PAGES) if name == "scan" else 0)
        found = retriever.store.get_document(report.doc_ids[path.name])
        assert found is not None
        out[name] = (retriever, found[1])
    assert pages == [(n, len(PAGES)) for n in range(len(PAGES) + 1)]  # progress per OCRed page
    return out


def test_prose_character_error_rate_is_within_5_percent(stores: dict[str, tuple[Retriever, str]]) -> None:
    prose = {name: "\n".join(l for l in text.split("\n") if " · " not in l) for name, (_, text) in stores.items()}
    rate = cer(prose["original"], prose["scan"])
    assert len(prose["original"]) > 1000 and rate <= 0.05, rate


def test_every_number_of_the_table_is_read_identically(stores: dict[str, tuple[Retriever, str]]) -> None:
    rows = {
        name: [l for l in text.split("\n") if l.startswith("收入支出决算总表 · ")] for name, (_, text) in stores.items()
    }
    assert len(rows["original"]) == 9
    assert _numbers("\n".join(rows["scan"])) == _numbers("\n".join(rows["original"]))
    # the scan's rows are data too: table name, row label, column and unit as in the text layer
    assert "收入支出决算总表 · 一、一般公共预算财政拨款收入 · 收入决算数 307.82 万元" in rows["scan"]


@pytest.mark.parametrize(
    "question", ["社会工作部一般公共预算财政拨款收入决算数是多少？", "社会工作部2024年度收入支出总计是多少？"]
)
def test_a_lookup_on_the_scan_answers_as_on_the_original(
    stores: dict[str, tuple[Retriever, str]], question: str
) -> None:
    answers = {name: Answerer(retriever).ask(question) for name, (retriever, _) in stores.items()}
    assert answers["original"].kind == answers["scan"].kind == "lookup"
    assert "307.82" in answers["original"].answer
    assert re.sub(r"\s", "", answers["scan"].answer) == re.sub(r"\s", "", answers["original"].answer)


def test_a_mixed_pdf_has_only_its_scanned_page_read_by_ocr(original: bytes) -> None:
    scan = pdfium.PdfDocument(scanned(pdf_pages(original, [0, 1])))
    text_layer = pdfium.PdfDocument(original)
    mixed = pdfium.PdfDocument.new()
    mixed.import_pages(text_layer, [0])
    mixed.import_pages(scan, [1])  # the table page scanned
    buf = io.BytesIO()
    mixed.save(buf)
    doc = read_bytes(buf.getvalue(), "mixed.pdf")
    assert doc.ocr_pages == 1 and doc.ocr_seconds > 0
    assert doc.text.startswith("中共上海市普陀区委社会工作部 2024 年度\n部门决算\n")  # the text layer, spaces and all
    assert "收入支出决算总表 · 一、一般公共服务支出 · 支出 决算数 264.87 万元" in doc.text
    assert any(doc.text[r.start : r.end].startswith("收入支出决算总表") and r.position.page == 2 for r in doc.records)


def test_ocr_limits_refuse_before_or_during_the_work(original: bytes) -> None:
    scan = scanned(pdf_pages(original, [0, 2]), dpi=100)
    with pytest.raises(TooLargeError, match="QA_MAX_OCR_PAGES"):
        read_bytes(scan, "scan.pdf", ReadLimits(10**9, 100, 100, max_ocr_pages=1))
    with pytest.raises(TooLargeError, match="QA_OCR_TIMEOUT"):
        read_bytes(scan, "scan.pdf", ReadLimits(10**9, 100, 100, ocr_timeout=0.001))


def test_an_image_file_is_read_by_ocr(original: bytes, tmp_path: Path) -> None:
    page = pdfium.PdfDocument(original)[0].render(scale=DPI / 72).to_pil().convert("RGB")
    buf = io.BytesIO()
    page.save(buf, "PNG", dpi=(DPI, DPI))
    doc = read_bytes(buf.getvalue(), "封面.png")
    assert doc.fmt == "image" and doc.ocr_pages == 1
    assert re.sub(r"\s", "", doc.text) == "中共上海市普陀区委社会工作部2024年度部门决算"


def test_a_tiff_with_more_frames_than_the_limit_is_refused_before_ocr() -> None:
    frames = [Image.new("L", (50, 50), 255) for _ in range(3)]
    buf = io.BytesIO()
    frames[0].save(buf, "TIFF", save_all=True, append_images=frames[1:])
    with pytest.raises(TooLargeError, match="QA_MAX_OCR_PAGES"):
        read_bytes(buf.getvalue(), "扫描.tif", ReadLimits(10**9, 100, 100, max_ocr_pages=2))
    with pytest.raises(IngestError, match="没有可提取或可识别的文字"):  # blank pages: nothing to read
        read_bytes(buf.getvalue(), "扫描.tif")


def test_the_ocr_models_ship_inside_the_installed_package() -> None:
    """Nothing is fetched at run time: detection, direction and recognition models are files of the wheel, and
    the recognition model carries its character dictionary (no rec_keys file to download)."""
    from importlib.resources import files

    import onnxruntime

    models = files("rapidocr_onnxruntime") / "models"
    names = sorted(p.name for p in models.iterdir() if p.name.endswith(".onnx"))
    assert names == ["ch_PP-OCRv4_det_infer.onnx", "ch_PP-OCRv4_rec_infer.onnx", "ch_ppocr_mobile_v2.0_cls_infer.onnx"]
    rec = onnxruntime.InferenceSession(str(models / "ch_PP-OCRv4_rec_infer.onnx"), providers=["CPUExecutionProvider"])
    characters = rec.get_modelmeta().custom_metadata_map["character"].splitlines()
    assert len(characters) > 6000 and "决" in characters and "算" in characters
