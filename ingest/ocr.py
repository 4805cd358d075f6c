"""OCR of scanned pages and images, offline.

The engine is RapidOCR 1.4 (`rapidocr-onnxruntime`): PP-OCRv4 detection and recognition and the PP-OCR
direction classifier as ONNX models inside its wheel (the recognition model carries its character dictionary in
its metadata), run by onnxruntime. Nothing is downloaded at run time; its 2.x successors fetch models on first
use and are not usable here. It is installed without its declared dependencies (scripts/install.sh): it asks
for the GUI build of OpenCV, which needs libGL; `opencv-python-headless` provides the same `cv2`.

A page image becomes an `OcrPage`: text boxes and the cells of its ruled tables, both in PDF points (the
image's pixels divided by its scale), so the PDF reader lays them out like a text-layer page. Table cells come
from the ruling lines (OpenCV morphology) handed to pdfplumber's own edge → cell → table steps.
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ingest.document import Box

# 200 dpi: the recognition model reads 10.5 pt body text and table digits reliably (docs/benchmarks.md, OCR).
OCR_DPI = 200
# Rendered or decoded images are scaled down to at most this many pixels before OCR (an A4 page at 200 dpi
# is 3.9 M); the detector downsizes to 2000 px on its longer side anyway.
_MAX_OCR_PIXELS = 12_000_000
_MIN_SCORE = 0.5


@dataclass(frozen=True)
class OcrBox:
    text: str
    x0: float
    top: float
    x1: float
    bottom: float
    score: float

    @property
    def height(self) -> float:
        return self.bottom - self.top


@dataclass(frozen=True)
class OcrPage:
    width: float  # points
    height: float
    boxes: tuple[OcrBox, ...]
    tables: tuple[tuple[Box, ...], ...]  # each ruled table's cells


class _Engine:
    """One RapidOCR instance per process, loaded on first use (~0.2 s, ~150 MB); one page at a time, so OCR
    never takes more than its threads' share of the cores whatever the number of concurrent uploads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ocr: Any = None

    def __call__(self, image: np.ndarray) -> list[tuple[Any, str, float]]:
        with self._lock:
            if self._ocr is None:
                from rapidocr_onnxruntime import RapidOCR

                threads = max(1, min(2, os.cpu_count() or 1))
                self._ocr = RapidOCR(intra_op_num_threads=threads, inter_op_num_threads=1)
            result, _ = self._ocr(image)
        return result or []


_engine = _Engine()


def _ruling_edges(gray: np.ndarray, scale: float) -> list[dict[str, Any]]:
    """Horizontal and vertical ruling lines of a page image as pdfplumber edges (points)."""
    import cv2

    ink = cv2.adaptiveThreshold(255 - gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, 15, -2)
    edges: list[dict[str, Any]] = []
    # Ruling lines are longer than any stroke of a character: 20 pt across, 12 pt down (a table row is ~15 pt
    # high; the vertical strokes of 10.5-12 pt characters are ~10 pt and must not read as cell borders).
    for orientation, kernel in (("h", (max(int(20 * scale), 10), 1)), ("v", (1, max(int(12 * scale), 10)))):
        lines = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, kernel))
        count, _, stats, _ = cv2.connectedComponentsWithStats(lines, connectivity=8)
        for x, y, bw, bh, _area in stats[1:count]:
            x0, top, x1, bottom = x / scale, y / scale, (x + bw) / scale, (y + bh) / scale
            if orientation == "h":
                mid = (top + bottom) / 2
                edge = {"x0": x0, "x1": x1, "top": mid, "bottom": mid, "width": x1 - x0, "height": 0.0}
            else:
                mid = (x0 + x1) / 2
                edge = {"x0": mid, "x1": mid, "top": top, "bottom": bottom, "width": 0.0, "height": bottom - top}
            edges.append({**edge, "doctop": edge["top"], "orientation": orientation, "object_type": "line"})
    return edges


def table_cells(gray: np.ndarray, scale: float) -> tuple[tuple[Box, ...], ...]:
    """Cells of the ruled tables on a page image, grouped per table (pdfplumber's lattice steps)."""
    from pdfplumber import table as t

    edges = t.merge_edges(_ruling_edges(gray, scale), 3, 3, 3, 3)
    if not edges:
        return ()
    cells = t.intersections_to_cells(t.edges_to_intersections(edges, 3, 3))
    tables = t.cells_to_tables(cells)
    return tuple(tuple(tuple(float(v) for v in c) for c in table) for table in tables if len(table) >= 2)  # type: ignore[misc]


def read_image(image: np.ndarray, scale: float) -> OcrPage:
    """OCR of one page image (RGB, uint8) whose pixels are `scale` times PDF points."""
    import cv2

    pixels = image.shape[0] * image.shape[1]
    if pixels > _MAX_OCR_PIXELS:
        factor = (_MAX_OCR_PIXELS / pixels) ** 0.5
        image = cv2.resize(
            image, (int(image.shape[1] * factor), int(image.shape[0] * factor)), interpolation=cv2.INTER_AREA
        )
        scale *= factor
    boxes = []
    for quad, text, score in _engine(image):
        if not text.strip() or float(score) < _MIN_SCORE:
            continue
        xs = [p[0] for p in quad]
        ys = [p[1] for p in quad]
        boxes.append(
            OcrBox(text.strip(), min(xs) / scale, min(ys) / scale, max(xs) / scale, max(ys) / scale, float(score))
        )
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    height, width = gray.shape
    return OcrPage(width / scale, height / scale, tuple(boxes), table_cells(gray, scale))


def render_pdf_pages(data: bytes, indices: list[int]) -> Iterator[tuple[int, np.ndarray, float]]:
    """(index, RGB image, scale) of the given PDF pages rendered at OCR_DPI (pdfium)."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(io.BytesIO(data))
    try:
        scale = OCR_DPI / 72
        for i in indices:
            page = pdf[i]
            try:
                image = page.render(scale=scale).to_pil().convert("RGB")
                yield i, np.asarray(image), scale
            finally:
                page.close()
    finally:
        pdf.close()
