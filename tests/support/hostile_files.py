"""Hostile files for the readers added in issue #20 (images, spreadsheets, PDFs without pages), built in memory:
the reader tests, the API upload tests and the CLI test all refuse the same bytes."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from dataclasses import dataclass
from functools import cache

from ingest.document import IngestError, TooLargeError, UnsupportedFormatError


@dataclass(frozen=True)
class Hostile:
    name: str
    data: bytes
    error: type[IngestError]
    status: int  # what the upload API answers
    reason: str  # part of the Chinese reason


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def png_declaring(width: int, height: int) -> bytes:
    """A ~100-byte PNG whose header declares width × height pixels (a decompression bomb when decoded)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _chunk(b"IEND", b"")
    )


def truncated_png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.effect_noise((400, 300), 60).convert("RGB").save(buf, "PNG")
    data = buf.getvalue()
    return data[: len(data) // 2]


ZERO_PAGE_PDF = (
    b"%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n2 0 obj <</Type /Pages /Kids [] /Count 0>> endobj\n"
    b"trailer <</Root 1 0 R /Size 3>>\n%%EOF\n"
)


def xlsx_bytes(rows: list[list[object]], title: str = "收入支出决算总表") -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


@cache
def xlsx_with_empty_rows(n: int = 1_000_000, data_rows: int = 2) -> bytes:
    """An .xlsx whose one sheet declares n + data_rows rows "used": its data rows, then n rows holding an empty
    cell each (openpyxl yields every one of them; compressed 8:1, so the zip checks let it through)."""
    rows = [["项目", "决算数"], ["一般公共预算财政拨款收入", 307.82]][:data_rows]
    template = xlsx_bytes(rows)
    with zipfile.ZipFile(io.BytesIO(template)) as src:
        parts = {name: src.read(name) for name in src.namelist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    start = data_rows + 1
    empty = "".join(f'<row r="{i}"><c r="A{i}"/></row>' for i in range(start, start + n))
    dimension = "A1:B2" if data_rows == 2 else "A1:B1"
    sheet = sheet.replace("</sheetData>", empty + "</sheetData>").replace(
        f'ref="{dimension}"', f'ref="A1:B{start + n - 1}"'
    )
    if data_rows == 0:
        sheet = sheet.replace("<sheetData/>", f"<sheetData>{empty}</sheetData>")
    parts["xl/worksheets/sheet1.xml"] = sheet.encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, body in parts.items():
            z.writestr(name, body)
    return out.getvalue()


def xlsx_bomb() -> bytes:
    """An .xlsx whose sheet member declares 3 GB unpacked: refused from the zip directory alone."""
    data = bytearray(xlsx_bytes([["项目", "决算数"], ["合计", 1.0]]))
    name = b"xl/worksheets/sheet1.xml"
    # Patch the declared size in the central directory entry (offset 24 from its signature).
    at = data.find(b"PK\x01\x02")
    while at != -1:
        name_len = struct.unpack("<H", data[at + 28 : at + 30])[0]
        if data[at + 46 : at + 46 + name_len] == name:
            data[at + 24 : at + 28] = struct.pack("<I", 3_000_000_000)
        at = data.find(b"PK\x01\x02", at + 4)
    return bytes(data)


def corrupt_xlsx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<<< not xml")
    return out.getvalue()


def hostile_files() -> list[Hostile]:
    return [
        Hostile("损坏的扫描件.png", truncated_png(), IngestError, 422, "图片已损坏"),
        Hostile("不是图片.jpg", b"\xff\xd8\xff" + b"\x00garbage" * 50, UnsupportedFormatError, 415, "不是可识别的图片"),
        Hostile("解压炸弹.png", png_declaring(60_000, 60_000), TooLargeError, 413, "QA_MAX_IMAGE_MPIXELS"),
        Hostile("零页.pdf", ZERO_PAGE_PDF, IngestError, 422, "没有任何页面"),
        Hostile("一百万空行.xlsx", xlsx_with_empty_rows(1_000_000, data_rows=0), IngestError, 422, "文件为空"),
        Hostile("压缩炸弹.xlsx", xlsx_bomb(), TooLargeError, 413, "QA_MAX_DECOMPRESSED_MB"),
        Hostile("损坏.xlsx", corrupt_xlsx(), IngestError, 422, "xlsx"),
        Hostile("损坏.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 1000, IngestError, 422, "xls"),
        Hostile("二进制.csv", bytes(range(256)) * 8, UnsupportedFormatError, 415, "二进制"),
    ]
