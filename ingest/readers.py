"""File → RawDocument: one small reader per format, chosen by the file's suffix.

Every reader turns bytes into (text, heading hints) with paragraphs separated by '\\n' and table rows as one
line each, cells joined with ' | ' (the chunker keeps such rows whole). Readers only extract; whitespace
and width cleanup is `ingest.clean`'s job, except for the PDF layout repairs (joining wrapped lines, page
headers, the table of contents) that need the page geometry only the PDF reader has.

Tables of PDFs, docx and spreadsheets are read as data: each data row becomes a record line naming its table,
row and columns (ingest.tables), whose span and cell position the reader returns with the text. Scanned PDF
pages and image files are read by OCR (ingest.ocr), spreadsheets sheet by sheet (ingest.spreadsheets).

Bad input of any kind ends in an IngestError naming the file; UnsupportedFormatError when the file is not
what its name claims (so the API answers 415 rather than 422), judged by its content, not its name;
TooLargeError when it would unpack or parse into more than `ReadLimits` allow (zip bombs, PDFs with absurd
page counts), decided from the archive directory or the page tree before that work starts.
"""

from __future__ import annotations

import codecs
import io
import re
import statistics
import time
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import reduce
from pathlib import Path, PurePath
from typing import Any, NamedTuple

import charset_normalizer
import docx
import numpy as np
import pdfplumber
from bs4 import BeautifulSoup, Tag
from bs4.element import NavigableString, PreformattedString
from docx.oxml.ns import qn
from docx.table import Table
from docx.text.paragraph import Paragraph
from pdfminer.pdfdocument import PDFEncryptionError
from pdfminer.pdftypes import resolve1
from pdfplumber.utils.exceptions import PdfminerException

from ingest.document import (
    Box,
    HeadingHint,
    IngestError,
    Progress,
    RawDocument,
    ReadLimits,
    RecordSpan,
    TablePosition,
    TooLargeError,
    UnsupportedFormatError,
)
from ingest.ocr import OCR_DPI, OcrBox, OcrPage, read_image, render_pdf_pages
from ingest.spreadsheets import Sheet, SheetError, read_csv, read_xls, read_xlsx, sheet_tables
from ingest.tables import GridCell, TableGrid, TableLines, caption_of, grid_from_cells, row_line


@dataclass(frozen=True)
class Extracted:
    """What a reader gets out of a file (RawDocument without the file name and format)."""

    text: str
    hints: tuple[HeadingHint, ...] = ()
    records: tuple[RecordSpan, ...] = ()
    ocr_pages: int = 0
    ocr_seconds: float = 0.0

    def document(self, source: str, fmt: str) -> RawDocument:
        return RawDocument(source, self.text, fmt, self.hints, self.records, self.ocr_pages, self.ocr_seconds)


def _assemble(lines: Sequence[tuple[str, TablePosition | None]]) -> tuple[str, tuple[RecordSpan, ...]]:
    """Lines joined with '\n', and the spans of the record lines among them."""
    records: list[RecordSpan] = []
    pos = 0
    for text, position in lines:
        if position is not None:
            records.append(RecordSpan(pos, pos + len(text), position))
        pos += len(text) + 1
    return "\n".join(text for text, _ in lines), tuple(records)


_EMPTY = "文件为空"
_BINARY = "不是文本文件（疑似二进制内容）"
_BAD_DOCX = "文件已损坏或不是有效的 docx"
_BAD_XLSX = "文件已损坏或不是有效的 xlsx"
_NOT_PDF = "文件内容不是 PDF"
_BAD_PDF = "PDF 文件已损坏，无法读取"
_ENCRYPTED_PDF = "PDF 已加密，无法读取"
_NO_TEXT_LAYER = "PDF 中没有可提取或可识别的文字"
# A page with fewer usable characters than this in its text layer, that shows an image, is a scan: OCR reads it.
_MIN_TEXT_LAYER_CHARS = 10


class _Reject(Exception):
    """A reader's refusal; `_read` turns it into `error` (an IngestError) carrying the file name."""

    def __init__(self, reason: str, *, error: type[IngestError] = IngestError) -> None:
        super().__init__(reason)
        self.reason = reason
        self.error = error


# ---------------------------------------------------------------------------------------- shared

_WHITESPACE = re.compile(r"\s+")


def _squash(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip()


_row_line = row_line


def _join(left: str, right: str) -> str:
    """Two pieces of one wrapped sentence: no space between CJK, one between Latin words or numbers."""
    latin = left[-1:].isascii() and left[-1:].isalnum() and right[:1].isascii() and right[:1].isalnum()
    return left + (" " if latin else "") + right


# ---------------------------------------------------------------------------------------------- text

_BOMS = (  # UTF-32 LE first: its BOM starts with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Control characters no report contains (tab, newline, CR, form feed, vertical tab excepted), plus the
# private use area that binary decoded as GB18030 lands in.
_JUNK = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\ue000-\uf8ff]")
_MAX_JUNK_SHARE = 0.05  # a stray control character or two is a text file's blemish; 5 % is binary


def _check_text(text: str) -> str:
    """text with unified line ends, or _Reject when it looks like decoded binary."""
    if "\x00" in text or len(_JUNK.findall(text)) > _MAX_JUNK_SHARE * len(text):
        raise _Reject(_BINARY, error=UnsupportedFormatError)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n").replace("\v", "\n")
    return _JUNK.sub("", text)


def decode_text(data: bytes) -> str:
    """Decoded text of a text file: BOM, then strict UTF-8, then strict GB18030, then charset_normalizer.

    UTF-8 goes first: GBK text practically never decodes as UTF-8, while UTF-8 text can decode (wrongly)
    as GB18030. GB18030 rather than GBK, since it is the superset the GBK files in the wild really use.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return _check_text(data[len(bom) :].decode(encoding))
            except UnicodeDecodeError as exc:
                raise _Reject(_BINARY, error=UnsupportedFormatError) from exc
    if b"\x00" in data:  # without a BOM, NUL bytes mean binary (UTF-16 is only accepted with its BOM)
        raise _Reject(_BINARY, error=UnsupportedFormatError)
    for encoding in ("utf-8", "gb18030"):
        try:
            return _check_text(data.decode(encoding))
        except UnicodeDecodeError:
            pass
    best = charset_normalizer.from_bytes(data).best()
    if best is None:
        raise _Reject(_BINARY, error=UnsupportedFormatError)
    return _check_text(str(best))


def _read_txt(data: bytes, _limits: ReadLimits) -> Extracted:
    return Extracted(decode_text(data))


# ------------------------------------------------------------------------------------------ markdown

# The space after the #'s is optional: Chinese authors often write "#一、概况".
_MD_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]*(.*?)(?:[ \t]+#+)?[ \t]*$")
_MD_TABLE_SEPARATOR = re.compile(r"^\s*\|?(?:\s*:?-+:?\s*\|)+\s*(?::?-+:?\s*)?$")
_MD_RULE = re.compile(r"^\s*([-*_])(?:\s*\1){2,}\s*$")
_MD_LINK = re.compile(r"!?\[([^\]\n]*)\]\([^)\n]*\)")
_MD_EMPHASIS = re.compile(r"\*\*|__")


def _md_inline(text: str) -> str:
    return _MD_EMPHASIS.sub("", _MD_LINK.sub(r"\1", text))


def _md_table_row(line: str) -> str:
    cells = [_md_inline(c).strip() for c in line.strip().strip("|").split("|")]
    return _row_line(cells)


def _read_md(data: bytes, _limits: ReadLimits) -> Extracted:
    lines: list[str] = []
    hints: list[HeadingHint] = []
    for line in decode_text(data).split("\n"):
        heading = _MD_HEADING.match(line)
        if heading and heading.group(2):
            text = _md_inline(heading.group(2)).strip()
            lines.append(text)
            hints.append(HeadingHint(text, len(heading.group(1))))
        elif _MD_TABLE_SEPARATOR.match(line) or _MD_RULE.match(line):
            continue
        elif line.lstrip().startswith("|"):
            lines.append(_md_table_row(line))
        else:
            lines.append(_md_inline(line))
    return Extracted("\n".join(lines), tuple(hints))


# ---------------------------------------------------------------------------------------------- html

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-z0-9_.:-]+)""", re.IGNORECASE)
_HTML_SKIP = frozenset({"script", "style", "nav", "noscript", "template", "head", "iframe", "svg"})
_HTML_BLOCKS = frozenset(
    {
        "address", "article", "aside", "blockquote", "body", "caption", "dd", "div", "dl", "dt", "fieldset",
        "figcaption", "figure", "footer", "form", "header", "hr", "html", "li", "main", "ol", "p", "pre",
        "section", "td", "th", "tr", "ul",
    }
)  # fmt: skip
_HTML_HEADINGS = {f"h{n}": n for n in range(1, 7)}


def _decode_html(data: bytes) -> str:
    """BOM or <meta charset> decide; anything else (or a wrong declaration) falls back to text detection."""
    declared = _META_CHARSET.search(data[:4096])
    if declared and not any(data.startswith(bom) for bom, _ in _BOMS):
        try:
            name = codecs.lookup(declared.group(1).decode("ascii")).name
            # gb2312 and gbk pages routinely contain characters only their superset GB18030 has.
            return _check_text(data.decode("gb18030" if name in ("gb2312", "gbk") else name))
        except (LookupError, UnicodeDecodeError):
            pass
    return decode_text(data)


def _html_table_rows(table: Tag) -> list[str]:
    rows = (_row_line([_squash(c.get_text(" ")) for c in tr.find_all(["td", "th"])]) for tr in table.find_all("tr"))
    return [r for r in rows if r]


def _read_html(data: bytes, _limits: ReadLimits) -> Extracted:
    soup = BeautifulSoup(_decode_html(data), "html.parser")
    lines: list[str] = []
    hints: list[HeadingHint] = []
    inline: list[str] = []

    def flush() -> None:
        text = _squash("".join(inline))
        if text:
            lines.append(text)
        inline.clear()

    # Iterative walk (deeply nested pages must not hit the recursion limit); a (node, True) entry marks
    # leaving a block element, which ends its paragraph.
    stack: list[tuple[Any, bool]] = [(soup, False)]
    while stack:
        node, leaving = stack.pop()
        if leaving:
            flush()
        elif isinstance(node, NavigableString):
            if not isinstance(node, PreformattedString):  # comments, doctype, CDATA…
                inline.append(str(node))
        elif isinstance(node, Tag) and node.name not in _HTML_SKIP:
            if node.name == "br":
                flush()
            elif node.name == "table":
                flush()
                lines.extend(_html_table_rows(node))
            elif node.name in _HTML_HEADINGS:
                flush()
                text = _squash(node.get_text(" "))
                if text:
                    lines.append(text)
                    hints.append(HeadingHint(text, _HTML_HEADINGS[node.name]))
            else:
                if node.name in _HTML_BLOCKS:
                    flush()
                    stack.append((node, True))
                stack.extend((child, False) for child in reversed(node.contents))
    flush()
    return Extracted("\n".join(lines), tuple(hints))


# ---------------------------------------------------------------------------------------------- docx

_DOCX_HEADING_STYLE = re.compile(r"^(?:heading|标题)\s*([1-9])$", re.IGNORECASE)
_DOCX_TOC_STYLE = re.compile(r"^(?:toc|目录)", re.IGNORECASE)
_BODY_TEXT_OUTLINE = 9  # w:outlineLvl 9 means "body text"


def _outline_level(paragraph: Paragraph) -> int | None:
    """w:outlineLvl of the paragraph, else of its style or the styles that style is based on."""
    holders: list[Any] = [paragraph._p.pPr]
    style = paragraph.style
    while style is not None:
        holders.append(style.element.pPr)
        style = style.base_style
    for ppr in holders:
        found = ppr.find(qn("w:outlineLvl")) if ppr is not None else None
        if found is not None:
            # Only 0–9 are valid; anything else (hand-edited or generator-made files) is no outline level at
            # all rather than a reason to refuse the whole document.
            value = found.get(qn("w:val")) or ""
            return int(value) if value.isdigit() else None
    return None


def _docx_heading_level(paragraph: Paragraph) -> int | None:
    named = _DOCX_HEADING_STYLE.match((paragraph.style.name or "").strip()) if paragraph.style else None
    if named:
        return int(named.group(1))
    outline = _outline_level(paragraph)
    return outline + 1 if outline is not None and outline < _BODY_TEXT_OUTLINE else None


def _docx_blocks(parent: Any, document: Any) -> Iterator[Paragraph | Table]:
    """Paragraphs and tables of the body in document order, including those inside content controls
    (w:sdt, which Word uses for cover pages and the like)."""
    for child in parent.iterchildren():
        if child.tag == qn("w:p"):
            yield Paragraph(child, document)
        elif child.tag == qn("w:tbl"):
            yield Table(child, document)
        elif child.tag == qn("w:sdt"):
            content = child.find(qn("w:sdtContent"))
            if content is not None:
                yield from _docx_blocks(content, document)


def _docx_grid(table: Table, above: list[str]) -> TableGrid:
    """The table as a grid: a merged cell comes back once per grid position it covers (same w:tc)."""
    origins: dict[int, tuple[int, int]] = {}
    rows = []
    for i, row in enumerate(table.rows):
        cells = []
        for j, cell in enumerate(row.cells):
            origin = origins.setdefault(id(cell._tc), (i, j))
            cells.append(GridCell(_squash(cell.text), origin))
        rows.append(cells)
    width = max((len(r) for r in rows), default=0)
    grid = tuple(tuple(r + [GridCell("", (i, j)) for j in range(len(r), width)]) for i, r in enumerate(rows))
    caption, unit = caption_of(above)
    return TableGrid(grid, caption=caption, unit=unit)


def _mb(n: float) -> str:
    return f"{n / (1024 * 1024):.0f} MB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KB"


def _check_archive(members: list[zipfile.ZipInfo], limits: ReadLimits) -> None:
    """Refuse a zip bomb from its central directory alone, before any member is inflated.

    The declared sizes are what counts: CPython's zipfile never returns more bytes of a member than its
    declared file_size (it truncates), so a directory that lies about sizes cannot make extraction bigger.
    Only stored and deflated members are accepted (all Word writes); bzip2/lzma members would be inflated
    in one call without that bound."""
    for m in members:
        if m.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise _Reject(f"不支持的压缩方式（{m.filename}），不是 Word 生成的 docx")
    total = sum(m.file_size for m in members)
    if total > limits.max_decompressed_bytes:
        raise _Reject(
            f"解压后共 {_mb(total)}，超过上限 {_mb(limits.max_decompressed_bytes)}（QA_MAX_DECOMPRESSED_MB），疑似压缩炸弹",
            error=TooLargeError,
        )
    for m in members:
        ratio = m.file_size / max(m.compress_size, 1)
        if m.file_size > _RATIO_FLOOR and ratio > limits.max_compression_ratio:
            raise _Reject(
                f"压缩比 {ratio:.0f}:1（{m.filename}）超过上限 {limits.max_compression_ratio:g}:1"
                "（QA_MAX_COMPRESSION_RATIO），疑似压缩炸弹",
                error=TooLargeError,
            )


# Members smaller than this may compress however well they like (a page of repeated table XML); they
# cannot exhaust anything. Above it the ratio limit applies.
_RATIO_FLOOR = 1024 * 1024


def _check_office_zip(data: bytes, main_part: str, bad: str, limits: ReadLimits) -> None:
    """An Office Open XML package (docx, xlsx): a zip holding `main_part`, refused as a bomb from its directory."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError) as exc:
        raise _Reject(bad, error=UnsupportedFormatError) from exc
    if main_part not in {m.filename for m in members}:
        raise _Reject(bad, error=UnsupportedFormatError)
    _check_archive(members, limits)


def _read_docx(data: bytes, limits: ReadLimits) -> Extracted:
    _check_office_zip(data, "word/document.xml", _BAD_DOCX, limits)
    try:
        document = docx.Document(io.BytesIO(data))
        lines: list[tuple[str, TablePosition | None]] = []
        hints: list[HeadingHint] = []
        tables = TableLines()
        above: list[str] = []  # paragraphs since the last table: the next table's caption and unit
        for block in _docx_blocks(document.element.body, document):
            if isinstance(block, Table):
                lines.extend((row.text, row.position) for row in tables.lines(_docx_grid(block, above)))
                above = []
                continue
            style_name = (block.style.name if block.style is not None else "") or ""
            text = block.text.strip()
            if not text or _DOCX_TOC_STYLE.match(style_name):  # Word's table of contents
                continue
            level = _docx_heading_level(block)
            if level is not None:
                hints.append(HeadingHint(text, level))
            lines.append((text, None))
            above.append(text)
    except Exception as exc:  # python-docx and lxml raise many types for a damaged package
        raise _Reject(_BAD_DOCX) from exc
    text, records = _assemble(lines)
    return Extracted(text, tuple(hints), records)


# ----------------------------------------------------------------------------------------------- pdf

_CN_NUM = "一二三四五六七八九十百零〇"
# Lines that start a paragraph of their own: numbered headings and list items.
_PDF_PARAGRAPH_START = re.compile(
    rf"^(?:第[{_CN_NUM}\d]+(?:部分|章|节)|[{_CN_NUM}]+[、.．]|[（(][{_CN_NUM}\d]{{1,3}}[）)]"
    r"|\d{1,2}(?:[、．]|\.(?!\d))|[⑴-⒇①-⑳])"
)
_SENTENCE_END = "。！？；：…!?;:"
_CLOSERS = "”’」』）)》】"
_PAGE_NUMBER = re.compile(
    r"^(?:[-—–－_\s]*\d{1,4}[-—–－_\s]*|第\s*\d{1,4}\s*页(?:\s*[，,/]?\s*共\s*\d{1,4}\s*页)?"
    r"|\d{1,4}\s*/\s*\d{1,4}|page\s*\d{1,4}(?:\s*of\s*\d{1,4})?)$",
    re.IGNORECASE,
)
_TOC_TITLE = re.compile(r"^\s*目\s*录\s*$")
_TOC_PAGE_REF = re.compile(r"(?:[.．·…⋯_\-]{2,}\s*|\s)\d{1,3}\s*$")
_DOT_LEADER = re.compile(r"[.．·…⋯]{4,}\s*\d{1,4}\s*$")
_CID = re.compile(r"\(cid:\d+\)")
_MARGIN_ZONE = 0.1  # headers and footers sit in the outer tenth of the page height
_TOC_MAX_PAGES = 5  # a table of contents whose first entry never repeats ends within this many pages


@dataclass(frozen=True)
class _PdfLine:
    text: str
    page: int
    page_width: float
    in_margin_zone: bool
    x0: float
    x1: float
    size: float
    font: str  # the font most of the line is set in
    is_table: bool = False  # a table row: always a line of its own
    position: TablePosition | None = None  # a record line's cells (ingest.tables)


def _cell_text(cell: str | None) -> str:
    """A PDF cell's own line breaks are layout: join them like wrapped lines."""
    parts = [p.strip() for p in (cell or "").split("\n") if p.strip()]
    return reduce(_join, parts) if parts else ""


def _pdf_grid(
    table: Any, texts: list[list[str | None]], caption: str, unit: str, page: int, may_continue: bool
) -> TableGrid:
    """pdfplumber's table as a grid: a merged cell (None in the positions it covers) spans the columns whose
    left edge and the rows whose top lie inside its box."""
    rows = table.rows
    width = max(len(r.cells) for r in rows)
    col_x0 = [
        min((r.cells[j][0] for r in rows if j < len(r.cells) and r.cells[j] is not None), default=0.0)
        for j in range(width)
    ]
    row_top = [r.bbox[1] for r in rows]
    grid: list[list[GridCell | None]] = [[None] * width for _ in rows]
    for i, row in enumerate(rows):
        for j, box in enumerate(row.cells):
            if box is None or grid[i][j] is not None:
                continue
            cell = GridCell(_cell_text(texts[i][j]), (i, j), tuple(box))
            cols = [k for k in range(j, width) if k == j or col_x0[k] < box[2] - 1]
            for m in [m for m in range(i, len(rows)) if m == i or row_top[m] < box[3] - 1]:
                for k in cols:
                    if grid[m][k] is None:
                        grid[m][k] = cell
    cells = tuple(tuple(c or GridCell("", (i, j)) for j, c in enumerate(r)) for i, r in enumerate(grid))
    return TableGrid(cells, caption=caption, unit=unit, page=page, may_continue=may_continue)


def _inside(obj: dict[str, Any], box: tuple[float, float, float, float]) -> bool:
    x: float = (obj["x0"] + obj["x1"]) / 2
    y: float = (obj["top"] + obj["bottom"]) / 2
    return box[0] <= x <= box[2] and box[1] <= y <= box[3]


@dataclass
class _PageLayout:
    """One page before its tables are read as data: text lines (top, line) and tables (bbox, grid maker)."""

    number: int
    width: float
    placed: list[tuple[float, _PdfLine]]
    tables: list[tuple[Box, Callable[[str, str, bool], TableGrid]]]
    needs_ocr: bool = False


def _pdf_page_lines(page: Any, number: int) -> _PageLayout:
    """Text lines and tables of one page; table text is read from the table cells. A page whose text layer is
    (nearly) empty but which shows images is a scan: `needs_ocr`."""
    usable = sum(1 for c in page.chars if c.get("text", "").strip() and not _CID.match(c.get("text", "")))
    if usable < _MIN_TEXT_LAYER_CHARS and page.images:
        return _PageLayout(number, page.width, [], [], needs_ocr=True)
    tables = page.find_tables()
    boxes = [t.bbox for t in tables]
    text_page = page.filter(lambda o: o.get("object_type") != "char" or not any(_inside(o, b) for b in boxes))
    zone = _MARGIN_ZONE * page.height
    placed: list[tuple[float, _PdfLine]] = []
    for line in text_page.extract_text_lines():
        if line["text"].strip():
            chars = line["chars"]
            size = statistics.median(c["size"] for c in chars)
            font = Counter(c["fontname"] for c in chars).most_common(1)[0][0]
            in_zone = line["top"] < zone or line["bottom"] > page.height - zone
            text = line["text"].strip()
            placed.append(
                (line["top"], _PdfLine(text, number, page.width, in_zone, line["x0"], line["x1"], size, font))
            )

    def maker(table: Any) -> Callable[[str, str, bool], TableGrid]:
        texts = table.extract()  # now: the page is closed once its layout is taken
        return lambda caption, unit, may_continue: _pdf_grid(table, texts, caption, unit, number + 1, may_continue)

    return _PageLayout(number, page.width, placed, [(tuple(t.bbox), maker(t)) for t in tables])


def _ocr_page_lines(ocr: OcrPage, number: int) -> _PageLayout:
    """An OCRed page laid out like a text-layer page: boxes on one visual line joined into a line (a wide gap
    between them becomes a cell break), boxes inside a ruled table read as that table's cell text."""
    in_table = [any(_box_inside(b, cell) for table in ocr.tables for cell in table) for b in ocr.boxes]
    free = sorted((b for b, t in zip(ocr.boxes, in_table) if not t), key=lambda b: (b.top, b.x0))
    rows: list[list[OcrBox]] = []
    for box in free:
        row = rows[-1] if rows else None
        if row and box.top < (row[0].top + row[0].bottom) / 2 < box.bottom:
            row.append(box)
        else:
            rows.append([box])
    heights = sorted(b.height for b in free) or [12.0]
    typical = heights[len(heights) // 2]
    zone = _MARGIN_ZONE * ocr.height
    placed: list[tuple[float, _PdfLine]] = []
    for row in rows:
        row.sort(key=lambda b: b.x0)
        cells = [row[0].text]
        for prev, box in zip(row, row[1:]):
            if box.x0 - prev.x1 > 2 * typical:
                cells.append(box.text)
            else:
                cells[-1] = _join(cells[-1], box.text)
        top, bottom = min(b.top for b in row), max(b.bottom for b in row)
        height = bottom - top
        # Font size from the box height; lines of body text share one size so wrapped lines join up.
        size = round(0.8 * (typical if abs(height - typical) < 0.25 * typical else height), 1)
        in_zone = top < zone or bottom > ocr.height - zone
        line = _PdfLine(
            row_line(cells), number, ocr.width, in_zone, row[0].x0, row[-1].x1, size, "ocr", is_table=len(cells) > 1
        )
        placed.append((top, line))

    def maker(cells: tuple[Box, ...]) -> Callable[[str, str, bool], TableGrid]:
        def text_of(cell: Box) -> str:
            inside = sorted((b for b in ocr.boxes if _box_inside(b, cell)), key=lambda b: (round(b.top), b.x0))
            return reduce(_join, (b.text for b in inside)) if inside else ""

        return lambda caption, unit, may_continue: grid_from_cells(
            cells, text_of, caption, unit, number + 1, may_continue
        )

    tables = [
        ((min(c[0] for c in t), min(c[1] for c in t), max(c[2] for c in t), max(c[3] for c in t)), maker(t))
        for t in ocr.tables
    ]
    return _PageLayout(number, ocr.width, placed, tables)


def _box_inside(box: OcrBox, cell: Box) -> bool:
    x, y = (box.x0 + box.x1) / 2, (box.top + box.bottom) / 2
    return cell[0] <= x <= cell[2] and cell[1] <= y <= cell[3]


def _lay_out(page: _PageLayout, tables_seen: TableLines) -> list[_PdfLine]:
    """The page's lines top to bottom, each table's data rows as record lines (ingest.tables) named by the lines
    right above the table; a table nothing names may continue the previous page's."""
    placed = sorted(page.placed, key=lambda item: item[0])
    rows: list[tuple[float, _PdfLine]] = []
    above_from = 0.0
    for (x0, top, x1, bottom), make in sorted(page.tables, key=lambda t: t[0][1]):
        above = [
            l.text for t, l in placed if above_from <= t < top and not l.is_table and not _PAGE_NUMBER.match(l.text)
        ]
        caption, unit = caption_of(above)
        grid = make(caption, unit, not caption and not unit)
        for row in tables_seen.lines(grid):
            rows.append((top, _PdfLine(row.text, page.number, page.width, False, x0, x1, 0.0, "", True, row.position)))
        above_from = bottom
    # Lines inside a table's box (an OCR line over a ruled table) are the table's: drop them.
    boxes = [t[0] for t in page.tables]
    placed = [(t, l) for t, l in placed if not any(b[1] <= t < b[3] and b[0] <= l.x0 < b[2] for b in boxes)]
    merged = sorted(placed + rows, key=lambda item: item[0])  # stable: a table's rows keep their order
    return [line for _, line in merged]


def _head_key(text: str) -> str:
    """Running headers and footers repeat with only the page number changing."""
    return re.sub(r"\d+", "#", re.sub(r"\s+", "", text))


def _drop_running_heads(pages: list[list[_PdfLine]]) -> list[_PdfLine]:
    """All lines except bare page numbers and the headers/footers repeated across pages."""
    key_pages = {(_head_key(l.text), l.page) for page in pages for l in page if l.in_margin_zone}
    per_key = Counter(key for key, _ in key_pages)
    repeated = {key for key, n in per_key.items() if n >= max(3, 0.3 * len(pages))}
    kept = []
    for page in pages:
        text_lines = [l for l in page if not l.is_table]
        edges = {id(text_lines[0]), id(text_lines[-1])} if text_lines else set()
        for line in page:
            if line.in_margin_zone and (
                _head_key(line.text) in repeated or (id(line) in edges and _PAGE_NUMBER.match(line.text))
            ):
                continue
            kept.append(line)
    return kept


def _toc_key(text: str) -> str:
    return re.sub(r"\s+", "", _TOC_PAGE_REF.sub("", text))


def _drop_toc(lines: list[_PdfLine]) -> list[_PdfLine]:
    """Lines without the table of contents: from a 目录 line to where the body starts.

    The body starts where the first entry comes back as a heading. A contents list with page numbers also
    ends at the first line that neither has a page number nor wraps onto one that has; one without page
    numbers whose first entry never comes back ends with the page the 目录 line is on.
    """
    start = next((i for i, l in enumerate(lines) if _TOC_TITLE.match(l.text)), None)
    if start is None or start + 1 >= len(lines):
        return lines
    first_key = _toc_key(lines[start + 1].text)
    numbered = bool(_TOC_PAGE_REF.search(lines[start + 1].text))
    toc_page = lines[start].page

    def has_ref(i: int) -> bool:
        return i < len(lines) and bool(_TOC_PAGE_REF.search(lines[i].text))

    end = start + 2
    while end < len(lines):
        line = lines[end]
        if _toc_key(line.text) == first_key:
            break
        if numbered and not has_ref(end) and not has_ref(end + 1):
            break
        if not numbered and line.page > toc_page + _TOC_MAX_PAGES:
            end = next(i for i in range(start, len(lines)) if lines[i].page > toc_page)
            break
        end += 1
    return lines[:start] + lines[end:]


class _Margins(NamedTuple):
    left: float
    right: float
    indents: bool  # paragraphs start with an indented first line, so a line at the left margin continues


def _is_paragraph_indent(line: _PdfLine, left: float) -> bool:
    return 0.8 * line.size <= line.x0 - left <= 3.5 * line.size


def _margins(lines: list[_PdfLine]) -> dict[int, _Margins]:
    """Body text margins per page width (portrait and landscape pages differ): the most common line start,
    and the line end most full lines reach (75th percentile: wrapped lines are the bulk of a report)."""
    by_width: dict[int, list[_PdfLine]] = {}
    for line in lines:
        if not line.is_table:
            by_width.setdefault(round(line.page_width), []).append(line)
    margins = {}
    for width, group in by_width.items():
        left = Counter(round(l.x0) for l in group).most_common(1)[0][0]
        ends = sorted(l.x1 for l in group)
        indented = sum(_is_paragraph_indent(l, left) for l in group)
        margins[width] = _Margins(left, ends[(len(ends) * 3) // 4], indented >= 0.1 * len(group))
    return margins


def _continues(prev: _PdfLine, line: _PdfLine, margins: dict[int, _Margins]) -> bool:
    """Whether `line` carries on the paragraph `prev` ends.

    prev must run to the right margin (the layout wrapped it) and `line` must not start a numbered
    paragraph. When prev ends mid-sentence, `line` continues unless indented as a first line. When prev
    ends a sentence, only stronger evidence joins: the document marks paragraphs with first-line indents
    and `line` sits at the left margin in the same font ("…完成年初预算的 100.00%。" / "决算数同预算数持平。").
    """
    if prev.is_table or line.is_table or abs(prev.size - line.size) > 1:
        return False
    prev_margins, margins_here = margins[round(prev.page_width)], margins[round(line.page_width)]
    if prev.x1 < prev_margins.right - 1.5 * prev.size or _PDF_PARAGRAPH_START.match(line.text):
        return False
    if prev.text.rstrip(_CLOSERS)[-1:] in _SENTENCE_END:
        at_left = abs(line.x0 - margins_here.left) <= 0.5 * line.size
        return margins_here.indents and at_left and line.font == prev.font
    return not _is_paragraph_indent(line, margins_here.left)


def _pdf_paragraphs(lines: list[_PdfLine]) -> list[tuple[str, TablePosition | None]]:
    """Paragraphs (wrapped lines joined), each with the table position of a record line (never joined)."""
    margins = _margins(lines)
    paragraphs: list[tuple[str, TablePosition | None]] = []
    previous: _PdfLine | None = None
    for line in lines:
        if previous is not None and _continues(previous, line, margins):
            paragraphs[-1] = (_join(paragraphs[-1][0], line.text), None)
        else:
            paragraphs.append((line.text, line.position))
        previous = line
    return paragraphs


def _declared_pages(pdf: Any) -> int | None:
    """/Count of the page tree's root: what the file claims, known before any page is parsed."""
    try:
        root = resolve1(pdf.doc.catalog.get("Pages"))
        count = resolve1(root.get("Count")) if isinstance(root, dict) else None
    except Exception:  # a damaged tree: the page loop below still counts
        return None
    return count if isinstance(count, int) else None


def _too_many_pages(count: int, limits: ReadLimits) -> _Reject:
    return _Reject(f"PDF 共 {count} 页，超过上限 {limits.max_pdf_pages} 页（QA_MAX_PDF_PAGES）", error=TooLargeError)


def _too_many_ocr_pages(count: int, limits: ReadLimits) -> _Reject:
    return _Reject(
        f"需要 OCR 识别的页数为 {count}，超过上限 {limits.max_ocr_pages} 页（QA_MAX_OCR_PAGES）", error=TooLargeError
    )


def _ocr_pages(data: bytes, wanted: list[int], limits: ReadLimits, progress: Progress | None) -> Iterator[OcrPage]:
    """OCR of the given pages in order, within the page count and time limits."""
    if len(wanted) > limits.max_ocr_pages:
        raise _too_many_ocr_pages(len(wanted), limits)
    started = time.monotonic()
    if progress:
        progress(0, len(wanted))
    for done, (_, image, scale) in enumerate(render_pdf_pages(data, wanted), start=1):
        yield read_image(image, scale)
        _check_ocr_time(started, limits)
        if progress:
            progress(done, len(wanted))


def _check_ocr_time(started: float, limits: ReadLimits) -> None:
    if time.monotonic() - started > limits.ocr_timeout:
        raise _Reject(f"OCR 识别超过 {limits.ocr_timeout:g} 秒上限（QA_OCR_TIMEOUT），已放弃", error=TooLargeError)


def _read_pdf(data: bytes, limits: ReadLimits, progress: Progress | None = None) -> Extracted:
    if b"%PDF-" not in data[:1024]:
        raise _Reject(_NOT_PDF, error=UnsupportedFormatError)
    try:
        layouts: list[_PageLayout] = []
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            declared = _declared_pages(pdf)
            if declared is not None and declared > limits.max_pdf_pages:
                raise _too_many_pages(declared, limits)
            for number, page in enumerate(pdf.pages):
                if number >= limits.max_pdf_pages:  # the declared count may lie
                    raise _too_many_pages(len(pdf.pages), limits)
                layouts.append(_pdf_page_lines(page, number))
                page.close()  # frees the page's parsed objects: long reports stay small in memory
    except _Reject:
        raise
    except PdfminerException as exc:
        cause = exc.args[0] if exc.args else exc
        raise _Reject(_ENCRYPTED_PDF if isinstance(cause, PDFEncryptionError) else _BAD_PDF) from exc
    except Exception as exc:  # pdfminer raises assorted errors on damaged streams while pages are read
        raise _Reject(_BAD_PDF) from exc
    if not layouts:
        raise _Reject("PDF 没有任何页面")
    # Scanned pages (no text layer, images shown): OCR, only those pages.
    wanted = [l.number for l in layouts if l.needs_ocr]
    started = time.monotonic()
    for k, scanned in enumerate(_ocr_pages(data, wanted, limits, progress) if wanted else ()):
        layouts[wanted[k]] = _ocr_page_lines(scanned, wanted[k])
    seconds = time.monotonic() - started if wanted else 0.0
    text, records = _pages_text(layouts)
    return Extracted(text, (), records, len(wanted), seconds)


def _pages_text(layouts: list[_PageLayout]) -> tuple[str, tuple[RecordSpan, ...]]:
    """Text and record spans of laid-out pages (text-layer or OCRed): tables read as data in page order, running
    heads, the table of contents and wrapped lines handled as for any PDF."""
    tables_seen = TableLines()
    pages = [_lay_out(l, tables_seen) for l in layouts]
    # No text at all (images without any text, even to OCR), or only glyphs without a Unicode mapping.
    if not any(_CID.sub("", line.text).strip() for page in pages for line in page):
        raise _Reject(_NO_TEXT_LAYER)
    lines = [l for l in _drop_toc(_drop_running_heads(pages)) if not _DOT_LEADER.search(l.text)]
    return _assemble(_pdf_paragraphs(lines))


# --------------------------------------------------------------------------------------------- images

_NOT_IMAGE = "文件内容不是可识别的图片（png/jpg/tif）"
_BAD_IMAGE = "图片已损坏，无法解码"


def _read_image(data: bytes, limits: ReadLimits, progress: Progress | None = None) -> Extracted:
    """An image file (a scanned page; a multi-page TIFF is several) read by OCR. Its declared size is checked
    against the pixel limit before anything is decoded (a 100 kB PNG can declare 50,000 × 50,000 pixels)."""
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(data))  # parses the header only
        width, height = image.size
        frames = int(getattr(image, "n_frames", 1))
    except Image.DecompressionBombError as exc:
        raise _Reject("图片像素数超过上限（QA_MAX_IMAGE_MPIXELS），疑似解压炸弹", error=TooLargeError) from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise _Reject(_NOT_IMAGE, error=UnsupportedFormatError) from exc
    if width * height > limits.max_image_pixels:
        raise _Reject(
            f"图片尺寸 {width}×{height}（{width * height / 1e6:.0f} 百万像素）超过上限 {limits.max_image_pixels / 1e6:g} 百万像素"
            "（QA_MAX_IMAGE_MPIXELS），疑似解压炸弹",
            error=TooLargeError,
        )
    if frames > limits.max_ocr_pages:
        raise _too_many_ocr_pages(frames, limits)
    started = time.monotonic()
    layouts = []
    if progress:
        progress(0, frames)
    for k in range(frames):
        try:
            image.seek(k)
            dpi = image.info.get("dpi", (OCR_DPI, OCR_DPI))[0] or OCR_DPI
            pixels = np.asarray(image.convert("RGB"))
        except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError) as exc:
            raise _Reject(_BAD_IMAGE) from exc
        # Coordinates in points as for a PDF page: the scan's own dpi (200 when it declares none).
        layouts.append(_ocr_page_lines(read_image(pixels, float(dpi) / 72), k))
        _check_ocr_time(started, limits)
        if progress:
            progress(k + 1, frames)
    text, records = _pages_text(layouts)
    return Extracted(text, (), records, frames, time.monotonic() - started)


# ---------------------------------------------------------------------------------------- spreadsheets


def _sheets_text(sheets: list[Sheet]) -> Extracted:
    """Sheet by sheet: the sheet's name, its title lines, its tables' rows as record lines (ingest.tables)."""
    lines: list[tuple[str, TablePosition | None]] = []
    for sheet in sheets:
        if sheet.name and sheet.rows:
            lines.append((sheet.name, None))
        tables = TableLines()
        for titles, grid in sheet_tables(sheet):
            lines.extend((t, None) for t in titles)
            if grid is not None:
                lines.extend((row.text, row.position) for row in tables.lines(grid))
    text, records = _assemble(lines)
    return Extracted(text, (), records)


def _sheet_reject(exc: SheetError) -> _Reject:
    return _Reject(exc.reason, error=TooLargeError if exc.too_large else IngestError)


def _read_xlsx(data: bytes, limits: ReadLimits) -> Extracted:
    _check_office_zip(data, "xl/workbook.xml", _BAD_XLSX, limits)
    try:
        return _sheets_text(read_xlsx(data, limits.max_sheet_rows))
    except SheetError as exc:
        raise _sheet_reject(exc) from exc


def _read_xls(data: bytes, limits: ReadLimits) -> Extracted:
    try:
        return _sheets_text(read_xls(data, limits.max_sheet_rows))
    except SheetError as exc:
        raise _sheet_reject(exc) from exc


def _read_csv(data: bytes, limits: ReadLimits) -> Extracted:
    try:
        return _sheets_text(read_csv(decode_text(data), limits.max_sheet_rows))
    except SheetError as exc:
        raise _sheet_reject(exc) from exc


# ------------------------------------------------------------------------------------------ dispatch


class _Reader(NamedTuple):
    fmt: str
    read: Callable[..., Extracted]  # (data, limits) or, for readers that OCR, (data, limits, progress)
    container: str | None  # the binary container the content must be (sniffed), None for text formats


_READERS: dict[str, _Reader] = {
    ".txt": _Reader("txt", _read_txt, None),
    ".md": _Reader("md", _read_md, None),
    ".markdown": _Reader("md", _read_md, None),
    ".html": _Reader("html", _read_html, None),
    ".htm": _Reader("html", _read_html, None),
    ".docx": _Reader("docx", _read_docx, "zip"),
    ".pdf": _Reader("pdf", _read_pdf, "pdf"),
    ".png": _Reader("image", _read_image, "image"),
    ".jpg": _Reader("image", _read_image, "image"),
    ".jpeg": _Reader("image", _read_image, "image"),
    ".tif": _Reader("image", _read_image, "image"),
    ".tiff": _Reader("image", _read_image, "image"),
    ".xlsx": _Reader("xlsx", _read_xlsx, "zip"),
    ".xls": _Reader("xls", _read_xls, "ole"),
    ".csv": _Reader("csv", _read_csv, None),
}
_OCR_FORMATS = frozenset({"pdf", "image"})
SUPPORTED_SUFFIXES: frozenset[str] = frozenset(_READERS)

# Binary containers recognised by their first bytes.
_CONTAINERS = {
    "pdf": "PDF",
    "zip": "ZIP 压缩包（如 docx/xlsx）",
    "ole": "旧版 Office 文档（.doc/.xls）",
    "image": "图片",
}
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*")


def sniff(data: bytes) -> str | None:
    """The binary container the bytes are ("pdf", "zip", "ole", "image"), or None for anything else (text)."""
    if data.lstrip().startswith(b"%PDF-"):  # (the PDF reader itself also accepts junk before the header)
        return "pdf"
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "ole"
    if data.startswith(_IMAGE_MAGIC):
        return "image"
    return None


def _read(data: bytes, source: str, suffix: str, limits: ReadLimits, progress: Progress | None = None) -> RawDocument:
    reader = _READERS.get(suffix.lower())
    if reader is None:
        supported = "、".join(sorted(SUPPORTED_SUFFIXES))
        raise UnsupportedFormatError(source, f"不支持的文件类型 {suffix or '（无扩展名）'}，支持：{supported}")
    if not data.strip():
        raise IngestError(source, _EMPTY)
    # The name chooses the reader; the content must agree (a PDF renamed .txt is not read as text).
    found = sniff(data)
    if found is not None and found != reader.container:
        raise UnsupportedFormatError(source, f"文件内容是{_CONTAINERS[found]}，与扩展名 {suffix} 不符")
    try:
        got = reader.read(data, limits, progress) if reader.fmt in _OCR_FORMATS else reader.read(data, limits)
    except _Reject as exc:
        raise exc.error(source, exc.reason) from exc
    except Exception as exc:  # the contract: nothing but IngestError leaves a reader, whatever the bytes
        raise IngestError(source, f"读取失败（{type(exc).__name__}）") from exc
    if not got.text.strip():
        raise IngestError(source, _EMPTY)
    return got.document(source, reader.fmt)


def read_bytes(
    data: bytes, source: str, limits: ReadLimits = ReadLimits(), progress: Progress | None = None
) -> RawDocument:
    """Read a file's content; the format comes from the suffix of `source` and is checked against the bytes.
    `limits`: the shipped defaults unless given (a service passes its QA_MAX_* settings)."""
    return _read(data, source, PurePath(source).suffix, limits, progress)


def read_document(
    path: Path, source: str | None = None, limits: ReadLimits = ReadLimits(), progress: Progress | None = None
) -> RawDocument:
    """Read a file; `source` (the name reported and stored) defaults to the file name. `progress(done, total)`
    hears about pages read by OCR (scanned PDF pages, images), the only reads that take long."""
    source = source or path.name
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise IngestError(source, "文件不存在") from exc
    except IsADirectoryError as exc:
        raise IngestError(source, "是目录而不是文件") from exc
    except OSError as exc:
        raise IngestError(source, f"无法读取文件（{exc.strerror or type(exc).__name__}）") from exc
    return _read(data, source, path.suffix, limits, progress)
