"""Files that would unpack or parse into too much are refused up front (TooLargeError, the API's 413), and a
file's content decides its type, not its name (UnsupportedFormatError, the API's 415)."""

from __future__ import annotations

import re
import zipfile
from unittest import mock

import pytest

from ingest.document import IngestError, ReadLimits, TooLargeError, UnsupportedFormatError
from ingest.readers import read_bytes
from tests.support.documents import declare_size, docx_bytes, minimal_pdf, text_page, with_member, zip_bomb

DEFAULTS = ReadLimits()  # the shipped limits (QA_MAX_* default to them: tests/qa/test_settings.py)
MB = 1024 * 1024


def _refused(data: bytes, name: str, limits: ReadLimits = DEFAULTS) -> TooLargeError:
    """Read under limits that must refuse it, from the archive directory or the page tree alone: python-docx
    and the PDF page reader fail the test if they are reached."""
    unpacked = AssertionError("unpacked before the limits were checked")
    with (
        mock.patch("ingest.readers.docx.Document", side_effect=unpacked),
        mock.patch("ingest.readers._pdf_page_lines", side_effect=unpacked),
        pytest.raises(TooLargeError) as caught,
    ):
        read_bytes(data, name, limits)
    assert caught.value.source == name and str(caught.value).startswith(f"{name}: ")
    assert isinstance(caught.value, IngestError) and caught.value.kind == "too_large"
    return caught.value


def test_docx_declaring_more_than_the_unpacked_limit_is_refused_before_inflating() -> None:
    bomb = declare_size(with_member("word/media/image1.png", b"\x89PNG" * 64), "word/media/image1.png", 3000 * MB)
    error = _refused(bomb, "炸弹.docx")
    assert "解压后共" in error.reason and "超过上限 200 MB" in error.reason and "QA_MAX_DECOMPRESSED_MB" in error.reason


def test_docx_with_a_highly_compressed_member_is_refused() -> None:
    bomb = zip_bomb()
    assert len(bomb) < 100_000
    error = _refused(bomb, "ratio.docx")
    assert re.search(r"压缩比 \d+:1（word/media/zeros.bin）超过上限 100:1", error.reason)


def test_limits_are_configurable_and_an_ordinary_docx_passes() -> None:
    # 1 MB of a repeating pattern packs far beyond 100:1, but members up to 1 MB may (Word's own XML does).
    docx = with_member("word/media/pattern.bin", bytes(range(256)) * 4096)
    assert read_bytes(docx, "ok.docx", DEFAULTS).text.startswith("一、基本情况")
    _refused(
        docx,
        "small-limit.docx",
        ReadLimits(max_decompressed_bytes=MB // 2, max_compression_ratio=100, max_pdf_pages=10),
    )


def test_docx_with_exotic_compression_is_refused_without_inflating() -> None:
    data = with_member("word/media/x.bin", b"x" * 1000, compression=zipfile.ZIP_BZIP2)
    with pytest.raises(IngestError, match=re.escape("不支持的压缩方式（word/media/x.bin）")):
        read_bytes(data, "bz.docx")


def test_pdf_with_too_many_pages_is_refused_from_its_page_tree() -> None:
    many = minimal_pdf([b""] * 2001)
    error = _refused(many, "长文.pdf")
    assert error.reason == "PDF 共 2001 页，超过上限 2000 页（QA_MAX_PDF_PAGES）"


def test_pdf_whose_page_count_lies_is_still_stopped_at_the_limit() -> None:
    page = text_page([(72, 100, "预算执行率为98%。")])
    liar = re.sub(rb"/Count \d+", b"/Count 1", minimal_pdf([page] * 5))
    limits = ReadLimits(max_decompressed_bytes=MB, max_compression_ratio=100, max_pdf_pages=3)
    with pytest.raises(TooLargeError, match=re.escape("liar.pdf: PDF 共 5 页，超过上限 3 页")):  # after 3 pages, not 5
        read_bytes(liar, "liar.pdf", limits)
    assert read_bytes(liar, "liar.pdf", ReadLimits(MB, 100, 5)).text.startswith("预算执行率为98%。")


@pytest.mark.parametrize(
    ("name", "data", "claimed"),
    [
        ("报告.txt", minimal_pdf([text_page([(72, 100, "预算执行率为98%。")])]), "文件内容是PDF，与扩展名 .txt 不符"),
        ("报告.md", docx_bytes(), "文件内容是ZIP 压缩包（如 docx/xlsx），与扩展名 .md 不符"),
        (
            "报告.html",
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512,
            "文件内容是旧版 Office 文档（.doc/.xls），与扩展名 .html 不符",
        ),
        ("报告.docx", minimal_pdf([b""]), "文件内容是PDF，与扩展名 .docx 不符"),
        ("报告.pdf", docx_bytes(), "文件内容是ZIP 压缩包（如 docx/xlsx），与扩展名 .pdf 不符"),
        ("报告.pdf", "一、基本情况\n预算执行率为98%。".encode(), "文件内容不是 PDF"),
        ("报告.docx", "一、基本情况".encode(), "不是有效的 docx"),
    ],
)
def test_content_decides_the_type_not_the_name(name: str, data: bytes, claimed: str) -> None:
    with pytest.raises(UnsupportedFormatError) as caught:
        read_bytes(data, name)
    assert caught.value.reason == claimed or claimed in caught.value.reason
    assert caught.value.source == name
