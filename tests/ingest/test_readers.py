import io
import random
import re
import zipfile
from pathlib import Path

import pytest

from ingest.document import HeadingHint, IngestError, RawDocument, UnsupportedFormatError
from ingest.readers import SUPPORTED_SUFFIXES, read_bytes, read_document
from tests.conftest import SAMPLES
from tests.support.documents import PDF_SHEGONG, PDF_ZIRAN, docx_bytes, minimal_pdf, text_page

SAMPLE = SAMPLES / "000_b17f134b7a6d8e07.txt"


def _lines(doc: RawDocument) -> list[str]:
    return doc.text.split("\n")


# ------------------------------------------------------------------------------------------- txt


@pytest.mark.parametrize(
    "encode",
    [
        lambda s: s.encode("utf-8"),
        lambda s: s.encode("utf-8-sig"),
        lambda s: s.encode("utf-16"),  # with BOM
        lambda s: b"\xfe\xff" + s.encode("utf-16-be"),
        lambda s: s.encode("gb18030"),
        lambda s: s.encode("gbk"),
        lambda s: s.replace("\n", "\r\n").encode("gb18030"),
    ],
    ids=["utf-8", "utf-8-sig", "utf-16-le-bom", "utf-16-be-bom", "gb18030", "gbk", "gb18030-crlf"],
)
def test_txt_encodings_decode_to_the_same_text(tmp_path: Path, encode) -> None:
    expected = SAMPLE.read_text(encoding="utf-8")
    path = tmp_path / "report.txt"
    path.write_bytes(encode(expected))
    doc = read_document(path)
    assert doc == RawDocument(source="report.txt", text=expected, fmt="txt", heading_hints=())


def test_read_bytes_matches_read_document_and_source_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes(SAMPLE.read_bytes())
    assert read_document(path, source="赫山区/a.txt").source == "赫山区/a.txt"
    assert read_bytes(SAMPLE.read_bytes(), "a.txt") == read_document(path)
    assert read_bytes(SAMPLE.read_bytes(), "A.TXT").fmt == "txt"


# -------------------------------------------------------------------------------------- markdown


def test_markdown_headings_emphasis_links_and_tables() -> None:
    md = (
        "# 某局2021年度绩效报告\n\n"
        "## 一、基本情况 ##\n"
        "本单位**严格**执行[预算法](https://example.org/law)，__规范__管理。\n\n"
        "| 项目 | 预算数 | 执行数 |\n"
        "|:---|---:|---|\n"
        "| 楼宇经济 | 30 | 30 |\n\n"
        "---\n"
        "###### 说明\n"
    )
    doc = read_bytes(md.encode("utf-8"), "report.md")
    assert doc.fmt == "md"
    assert [line for line in _lines(doc) if line] == [
        "某局2021年度绩效报告",
        "一、基本情况",
        "本单位严格执行预算法，规范管理。",
        "项目 | 预算数 | 执行数",
        "楼宇经济 | 30 | 30",
        "说明",
    ]
    assert doc.heading_hints == (
        HeadingHint("某局2021年度绩效报告", 1),
        HeadingHint("一、基本情况", 2),
        HeadingHint("说明", 6),
    )


# ------------------------------------------------------------------------------------------ html


def test_html_blocks_headings_tables_and_declared_gbk() -> None:
    html = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">'
        "<title>标题栏</title><style>p {color: red}</style></head><body>"
        "<nav>首页 | 栏目</nav><h1>某局绩效报告</h1>"
        "<div>本单位<b>严格</b>执行\n预算。<p>第二段<br>换行</p>尾段</div>"
        "<h3>（一）资金情况</h3>"
        "<table><tr><th>项目</th><th>金额</th></tr><tr><td>楼宇<br>经济</td><td>30</td></tr></table>"
        "<script>var x = '脚本';</script><!-- 注释 --></body></html>"
    )
    doc = read_bytes(html.encode("gbk"), "page.htm")
    assert doc.fmt == "html"
    assert _lines(doc) == [
        "某局绩效报告",
        "本单位严格执行 预算。",
        "第二段",
        "换行",
        "尾段",
        "（一）资金情况",
        "项目 | 金额",
        "楼宇 经济 | 30",
    ]
    assert doc.heading_hints == (HeadingHint("某局绩效报告", 1), HeadingHint("（一）资金情况", 3))


def test_html_without_declaration_and_with_a_wrong_one_falls_back_to_detection() -> None:
    body = "<p>预算执行率为98%。</p>"
    assert read_bytes(body.encode("gb18030"), "a.html").text == "预算执行率为98%。"
    wrong = '<meta charset="utf-8"><p>预算执行率为98%。</p>'.encode("gb18030")
    assert read_bytes(wrong, "a.html").text == "预算执行率为98%。"


# ------------------------------------------------------------------------------------------ docx


def test_docx_keeps_document_order_headings_and_table_rows(tmp_path: Path) -> None:
    path = tmp_path / "报告.docx"
    path.write_bytes(docx_bytes())
    doc = read_document(path)
    assert doc.fmt == "docx" and doc.source == "报告.docx"
    assert _lines(doc) == [
        "一、基本情况",
        "本单位严格执行预算。",
        # data rows as record lines: row label, column names, values (the header row lives in them)
        "楼宇经济 · 预算数 30 · 执行数 28",
        "合计 · 执行数 28",  # the merged cell once, not once per grid column
        "（一）资金情况",
        "二、绩效目标",
        "全年支出28万元。",
    ]
    assert doc.heading_hints == (
        HeadingHint("一、基本情况", 1),
        HeadingHint("（一）资金情况", 2),
        HeadingHint("二、绩效目标", 1),
    )
    assert [(doc.text[r.start : r.end], r.position.table, r.position.row, r.position.page) for r in doc.records] == [
        ("楼宇经济 · 预算数 30 · 执行数 28", 0, 1, None),
        ("合计 · 执行数 28", 0, 2, None),
    ]


# ------------------------------------------------------------------------------------------- pdf


@pytest.fixture(scope="module")
def ziran() -> RawDocument:
    return read_document(PDF_ZIRAN)


@pytest.fixture(scope="module")
def shegong() -> RawDocument:
    return read_document(PDF_SHEGONG)


_PAGE_NUMBER_LINE = re.compile(r"[-—–\s]*\d{1,4}[-—–\s]*|第\s*\d+\s*页.*")


@pytest.mark.parametrize("name", ["ziran", "shegong"])
def test_real_pdfs_have_no_page_numbers_toc_or_leaders(name: str, request: pytest.FixtureRequest) -> None:
    doc: RawDocument = request.getfixturevalue(name)
    lines = _lines(doc)
    assert doc.fmt == "pdf" and doc.heading_hints == ()
    assert all(line.strip() for line in lines)
    assert not [line for line in lines if _PAGE_NUMBER_LINE.fullmatch(line)]
    assert not [line for line in lines if re.search(r"[.．…]{4,}\s*\d+$", line)]
    assert not [line for line in lines if line.replace(" ", "") == "目录"]
    # the table of contents repeats every part heading; only the body's copy is left
    assert sum(line.startswith("第四部分") for line in lines) == 1
    assert lines.index(next(line for line in lines if line.startswith("第一部分"))) < 4


def test_ziran_pdf_text_paragraphs_and_tables(ziran: RawDocument) -> None:
    lines = _lines(ziran)
    assert lines[:2] == ["上海市普陀区规划和自然资源局", "2024 年度部门决算"]
    for heading in (
        "第一部分 上海市普陀区规划和自然资源局概况",
        "一、主要职能",
        "（一）一般公共预算财政拨款支出决算总体情况",
        "第四部分 名词解释",
    ):
        assert heading in lines
    # layout breaks inside sentences are joined, across pages too (p.4 → p.5)
    assert "1.履行全民所有自然资源资产所有者职责和所有国土空间用途管制职责。贯彻执行有关自然资源" in ziran.text
    assert "统筹推进存量低效用地盘活再开发等相关工作。" in ziran.text
    assert "上海市普陀区规划和自然资源局 2024 年度收入支出总计9859.38 万元。与 2023 年度相比" in ziran.text
    assert "完成年初预算的100.00%。决算数同预算数持平。" in ziran.text
    # real paragraph breaks stay: the items after "其中：" are indented paragraphs of their own
    assert "2、公务用车购置及运行维护费支出 0.00 万元。其中：" in lines
    assert "公务用车购置支出为 0.00 万元。" in lines
    # tables: one record line per data row (table name, row label, merged header, unit), multi-line cells
    # joined, rows never merged into sentences; a table of text only keeps plain rows
    assert (
        "收入决算表 · 2080505 机关事业单位基本养老保险缴费支出 · 本年收入合计 446.11 万元 · 财政拨款收入 446.11 万元"
        in lines
    )
    assert "收入支出决算总表 · 总计 · 收入 决算数 9859.38 万元" in lines
    assert "收入支出决算总表 · 总计 · 支出 决算数 9859.38 万元" in lines  # a two-sided table: one line per side
    assert "5 | 上海市普陀区规划和自然资源管理事务中心（下属事业单位）" in lines
    assert "一般公共预算财政拨款基本支出决算表 · 30113 住房公积金 · 决算数 289.59 万元" in lines
    assert "一般公共预算财政拨款基本支出决算表 · 30212 因公出国（境）费用 · 决算数 0.00 万元" in lines
    # "三公": one row of amounts under a three-level header, read per column group
    assert "财政拨款“三公”经费支出决算表 · 公务接待费 · 预算数 2.85 万元 · 决算数 0.39 万元" in lines
    # a table continued on the next page keeps its name and header (p.13 carries on p.12's table)
    assert (
        "财政拨款收入支出决算总表 · 十八、自然资源海洋气象等支出 · 支出 合计 4461.67 万元 · 支出 一般公共预算财政拨款 4461.67 万元"
        in lines
    )
    # each record line's span and cell position
    for record in ziran.records:
        assert ziran.text[record.start : record.end] in lines
    by_text = {ziran.text[r.start : r.end]: r.position for r in ziran.records}
    p = by_text["财政拨款“三公”经费支出决算表 · 公务接待费 · 预算数 2.85 万元 · 决算数 0.39 万元"]
    assert (p.page, p.col_start, p.col_end, p.row) == (17, 10, 12, 4)
    assert p.bbox is not None and p.bbox[0] > 600 and p.bbox[2] <= 745
    continued = by_text[
        "财政拨款收入支出决算总表 · 十八、自然资源海洋气象等支出 · 支出 合计 4461.67 万元 · 支出 一般公共预算财政拨款 4461.67 万元"
    ]
    first = by_text["财政拨款收入支出决算总表 · 一、一般公共预算财政拨款 · 收入 决算数 9746.50 万元"]
    assert (continued.page, first.page) == (13, 12) and continued.table == first.table


def test_shegong_pdf_text_paragraphs_and_tables(shegong: RawDocument) -> None:
    lines = _lines(shegong)
    assert lines[:2] == ["中共上海市普陀区委", "社会工作部 2024 年度部门决算"]
    assert "第三部分 中共上海市普陀区委社会工作部 2024 年度部门决算情况说明" in lines
    assert "（二）一般公共预算财政拨款支出决算结构情况" in lines
    assert "中共上海市普陀区委社会工作部2024年度收入支出总计307.82万元。与 2023 年度相比" in shegong.text
    assert "3、一般公共服务支出（类）社会工作事务（款）其他社会工作事务支出（项）。" in shegong.text  # p.18 → p.19
    assert "决算包括：中共上海市普陀区委社会工作部本级决算、下属行政事业单位决算。" in shegong.text
    assert "收入决算表 · 2013999 其他社会工作事务支出 · 本年收入合计 202.24 万元 · 财政拨款收入 202.24 万元" in lines
    assert "收入支出决算总表 · 一、一般公共预算财政拨款收入 · 收入 决算数 307.82 万元" in lines
    assert "收入支出决算总表 · 一、一般公共服务支出 · 支出 决算数 264.87 万元" in lines
    # rows continued on the next page (p.7 carries on p.6's 收入决算表)
    assert "收入决算表 · 2210203 购房补贴 · 本年收入合计 11.72 万元 · 财政拨款收入 11.72 万元" in lines
    # a "三公" table left empty (a merged header over empty cells) gives no lines: nothing to read as data
    assert not [
        line
        for line in lines
        if line.startswith("财政拨款“三公”经费支出决算表 · ") or line.startswith("预算数 | 决算数")
    ]
    assert "说明：中共上海市普陀区委社会工作部本年度没有财政拨款“三公”经费支出，故本表无数据。" in lines


# Justified body text at 12 pt between x = 72 and 372: a paragraph's first line is indented two glyphs.
FULL_LINE = "本单位严格按照预算法规定编制预算并加强资金管理确保"
FIRST_LINE = FULL_LINE[2:]


def test_synthetic_pdf_drops_running_heads_page_numbers_and_dotted_toc() -> None:
    head = (200.0, 30.0, "某某局2024年度绩效报告")
    toc = text_page([(260, 80, "目录"), (72, 120, "一、基本情况…………………1"), (72, 150, "二、存在的问题…………………2")])
    page2 = text_page(
        [
            head,
            (96, 100, "一、基本情况"),
            (96, 130, FIRST_LINE),
            (72, 160, FULL_LINE),
            (72, 190, "资金安全有效。"),
            (280, 800, "- 1 -"),
        ]
    )
    page3 = text_page([head, (96, 100, FIRST_LINE), (72, 130, "资金使用"), (280, 800, "- 2 -")])
    page4 = text_page(
        [head, (72, 100, "规范。"), (96, 130, "二、存在的问题"), (96, 160, "预算编制不够细化。"), (280, 800, "第 3 页")]
    )
    doc = read_bytes(minimal_pdf([toc, page2, page3, page4]), "synthetic.pdf")
    assert _lines(doc) == [
        "一、基本情况",
        FIRST_LINE + FULL_LINE + "资金安全有效。",
        FIRST_LINE + "资金使用",  # a short line ends its paragraph, even without a full stop
        "规范。",
        "二、存在的问题",
        "预算编制不够细化。",
    ]


def test_synthetic_pdf_joins_across_pages_and_keeps_indented_paragraphs() -> None:
    page1 = text_page([(96, 100, FIRST_LINE), (72, 130, FULL_LINE)])
    page2 = text_page([(72, 100, "资金安全有效。"), (96, 130, "下一步将细化预算。"), (96, 160, "二、下一步措施")])
    assert _lines(read_bytes(minimal_pdf([page1, page2]), "a.pdf")) == [
        FIRST_LINE + FULL_LINE + "资金安全有效。",
        "下一步将细化预算。",
        "二、下一步措施",
    ]


# ----------------------------------------------------------------------------------------- errors


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


# RC4 encryption whose user password is not the empty one (the check value U matches no password we try).
_ENCRYPT_WITH_UNKNOWN_PASSWORD = b"/Encrypt << /Filter /Standard /V 1 /R 2 /O <%s> /U <%s> /P -4 >> /ID [<%s> <%s>]" % (
    b"00" * 32,
    b"00" * 32,
    b"00" * 16,
    b"00" * 16,
)


@pytest.mark.parametrize(
    ("name", "data", "error", "reason"),
    [
        ("演示.pptx", b"PK\x03\x04junk", UnsupportedFormatError, "不支持的文件类型 .pptx，支持："),
        ("表格.xlsx", b"PK\x03\x04junk", UnsupportedFormatError, "文件已损坏或不是有效的 xlsx"),
        ("README", b"text", UnsupportedFormatError, "不支持的文件类型"),
        ("empty.txt", b"", IngestError, "文件为空"),
        ("blank.txt", b" \r\n\t\n", IngestError, "文件为空"),
        ("blank16.txt", "\n  \n".encode("utf-16"), IngestError, "文件为空"),
        ("empty.pdf", b"", IngestError, "文件为空"),
        ("binary.txt", bytes(range(256)) * 4, UnsupportedFormatError, "不是文本文件（疑似二进制内容）"),
        ("binary.md", bytes(range(256)) * 4, UnsupportedFormatError, "不是文本文件"),
        ("binary.html", bytes(range(1, 256)) * 4, UnsupportedFormatError, "不是文本文件"),
        ("control.txt", b"\x01\x02\x03\x04\x05\x06\x07\x08abc" * 20, UnsupportedFormatError, "不是文本文件"),
        ("fake.pdf", b"this is not a pdf", UnsupportedFormatError, "文件内容不是 PDF"),
        ("broken.pdf", b"%PDF-1.4 broken", IngestError, "PDF 文件已损坏"),
        ("notzip.docx", b"not a zip", UnsupportedFormatError, "文件已损坏或不是有效的 docx"),
        ("other.docx", _zip({"hello.txt": b"hi"}), UnsupportedFormatError, "不是有效的 docx"),
        ("damaged.docx", _zip({"word/document.xml": b"<w:document"}), IngestError, "文件已损坏或不是有效的 docx"),
        ("shapes.pdf", minimal_pdf([b"0 0 1 rg 100 100 300 400 re f"]), IngestError, "PDF 中没有可提取或可识别的文字"),
        ("blank-pages.pdf", minimal_pdf([b"", b""]), IngestError, "PDF 中没有可提取或可识别的文字"),
        (
            "locked.pdf",
            minimal_pdf([text_page([(72, 100, "机密")])], _ENCRYPT_WITH_UNKNOWN_PASSWORD),
            IngestError,
            "PDF 已加密，无法读取",
        ),
    ],
)
def test_bad_input_raises_ingest_error_naming_the_file(
    tmp_path: Path, name: str, data: bytes, error: type, reason: str
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    for call in (lambda: read_document(path), lambda: read_bytes(data, name)):
        with pytest.raises(error) as caught:
            call()
        assert caught.value.source == name and reason in caught.value.reason
        assert str(caught.value).startswith(f"{name}: ")


def test_unreadable_paths(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match=re.escape("missing.txt: 文件不存在")):
        read_document(tmp_path / "missing.txt")
    folder = tmp_path / "folder.txt"
    folder.mkdir()
    with pytest.raises(IngestError, match=re.escape("folder.txt: ")):
        read_document(folder)


def test_no_other_exception_escapes_for_any_bytes() -> None:
    rng = random.Random(7)
    valid = {".pdf": PDF_SHEGONG.read_bytes()[:5000], ".docx": docx_bytes()}
    for suffix in sorted(SUPPORTED_SUFFIXES):
        for n in range(15):
            data = rng.randbytes(rng.randrange(1, 3000))
            if suffix in valid and n % 2:  # a truncated or bit-flipped real file gets further into the parser
                data = bytearray(valid[suffix][: rng.randrange(10, len(valid[suffix]))])
                data[rng.randrange(len(data))] ^= 0xFF
            try:
                read_bytes(bytes(data), f"fuzz{suffix}")
            except IngestError as exc:
                assert exc.source == f"fuzz{suffix}" and exc.reason
