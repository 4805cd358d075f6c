"""Report files built for tests: a Word document with a table, minimal PDFs with a CJK text layer, archives that
unpack into too much, and scans (image-only PDFs, PNGs) of the real 部门决算 PDFs in tests/fixtures.

Shared by the reader, limit, fuzzing, OCR, library, CLI and API tests, so each refuses or reads the same bytes."""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PDF_ZIRAN = FIXTURES / "上海市普陀区规划和自然资源局 2024 年度部门决算.pdf"
PDF_SHEGONG = FIXTURES / "中共上海市普陀区委社会工作部 2024 年度部门决算.pdf"
MB = 1024 * 1024
DPI = 200  # what the scans are rasterised at

# ------------------------------------------------------------------------------------------------- docx


def docx_bytes() -> bytes:
    """A Word document: a heading, a paragraph, a 3 × 3 table (its last row's first two cells merged), a level-2
    heading, a body paragraph promoted to a heading by its outline level, an empty paragraph and a sentence."""
    import docx
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    document = docx.Document()
    document.add_heading("一、基本情况", level=1)
    document.add_paragraph("本单位严格执行预算。")
    table = document.add_table(rows=3, cols=3)
    for row, values in zip(table.rows, [("项目", "预算数", "执行数"), ("楼宇经济", "30", "28"), ("", "", "")]):
        for cell, value in zip(row.cells, values):
            cell.text = value
    merged = table.cell(2, 0).merge(table.cell(2, 1))
    merged.text = "合计"
    table.cell(2, 2).text = "28"
    document.add_heading("（一）资金情况", level=2)
    outlined = document.add_paragraph("二、绩效目标")  # a body style promoted by its outline level
    outline = OxmlElement("w:outlineLvl")
    outline.set(qn("w:val"), "0")
    outlined._p.get_or_add_pPr().append(outline)
    document.add_paragraph("")
    document.add_paragraph("全年支出28万元。")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def with_member(name: str, data: bytes, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A valid docx (`docx_bytes`) with one more member added."""
    buffer = io.BytesIO(docx_bytes())
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.writestr(zipfile.ZipInfo(name), data, compress_type=compression)
    return buffer.getvalue()


def declare_size(archive: bytes, member: str, size: int) -> bytes:
    """The archive with the central directory claiming `size` unpacked bytes for `member` (a bomb's
    directory, without the bytes behind it: a reader that inflated anything would fail differently)."""
    data = bytearray(archive)
    at = 0
    while (at := data.find(b"PK\x01\x02", at)) != -1:  # central directory entries
        name_len = struct.unpack_from("<H", data, at + 28)[0]
        if data[at + 46 : at + 46 + name_len] == member.encode():
            struct.pack_into("<I", data, at + 24, size)  # its uncompressed size field
            return bytes(data)
        at += 4
    raise AssertionError(f"{member} not in the archive")


def zip_bomb() -> bytes:
    """A docx whose one extra member inflates ~1000:1 (4 MB of zeros in ~4 KB)."""
    return with_member("word/media/zeros.bin", bytes(4 * MB))


# -------------------------------------------------------------------------------------------------- pdf


def minimal_pdf(pages: list[bytes], trailer: bytes = b"") -> bytes:
    """A minimal PDF: one content stream per page, text in the non-embedded CJK font STSong-Light
    (Adobe-GB1, UCS-2 encoding: every glyph 1 em wide), page 595 × 842; `trailer` adds trailer entries."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"",  # the page tree, once the page objects are numbered
        b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UCS2-H /DescendantFonts [4 0 R] >>",
        b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light "
        b"/CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 4 >> /FontDescriptor 5 0 R >>",
        b"<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 /FontBBox [0 -200 1000 900] /ItalicAngle 0 "
        b"/Ascent 880 /Descent -120 /CapHeight 880 /StemV 80 >>",
    ]
    kids = []
    for content in pages:
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content))
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents %d 0 R "
            b"/Resources << /Font << /F1 3 0 R >> >> >>" % len(objects)
        )
        kids.append(b"%d 0 R" % len(objects))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(kids), len(kids))
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R %s >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, trailer, xref)
    return bytes(out)


def text_page(lines: list[tuple[float, float, str]], size: int = 12) -> bytes:
    """Content stream drawing each (x, distance from the top, text) line."""
    ops = [
        b"BT /F1 %d Tf %.1f %.1f Td <%s> Tj ET" % (size, x, 842 - top - size, text.encode("utf-16-be").hex().encode())
        for x, top, text in lines
    ]
    return b"\n".join(ops)


# ------------------------------------------------------------------------------------------------ scans


def pdf_pages(data: bytes, pages: list[int]) -> bytes:
    """A PDF of the given pages (0-based) of another."""
    import pypdfium2 as pdfium

    src = pdfium.PdfDocument(data)
    out = pdfium.PdfDocument.new()
    out.import_pages(src, pages)
    buf = io.BytesIO()
    out.save(buf)
    return buf.getvalue()


def scanned(data: bytes, dpi: int = DPI) -> bytes:
    """An image-only PDF of the pages: what a scanner makes (grey, no text layer)."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(data)
    images = [doc[i].render(scale=dpi / 72).to_pil().convert("L") for i in range(len(doc))]
    buf = io.BytesIO()
    images[0].save(buf, "PDF", save_all=True, append_images=images[1:], resolution=dpi)
    return buf.getvalue()


def scanned_page_png() -> bytes:
    """The shegong PDF's cover page as a 200 dpi greyscale scan (one page for OCR, no text layer)."""
    import pypdfium2 as pdfium

    page = pdfium.PdfDocument(PDF_SHEGONG.read_bytes())[0].render(scale=DPI / 72).to_pil().convert("L")
    png = io.BytesIO()
    page.save(png, "PNG", dpi=(DPI, DPI))
    return png.getvalue()
