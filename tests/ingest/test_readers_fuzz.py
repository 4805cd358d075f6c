"""Property tests (hypothesis) for the readers, which see untrusted input: any bytes under any supported name,
damaged real files, Word packages put together at random. Nothing but IngestError may escape a reader. Budget:
the "qa" profile in tests/conftest.py. (The heading-tree parser's property test is in
test_structure.py.)"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from xml.sax.saxutils import escape

from hypothesis import event, given, settings
from hypothesis import strategies as st

from ingest.document import IngestError, RawDocument
from ingest.readers import SUPPORTED_SUFFIXES, read_bytes
from tests.support.documents import PDF_SHEGONG, docx_bytes

_DOCX = docx_bytes()
with zipfile.ZipFile(io.BytesIO(_DOCX)) as _archive:
    _DOCX_PARTS = {name: _archive.read(name) for name in _archive.namelist()}
_PDF_HEAD = PDF_SHEGONG.read_bytes()[:6000]  # a real header, xref-less: pdfminer's recovery paths


def _check_read(data: bytes, name: str) -> RawDocument | None:
    try:
        doc = read_bytes(data, name)
    except IngestError as exc:  # the project's own error, naming the file and a reason
        assert exc.source == name and exc.reason and str(exc).startswith(f"{name}: ")
        event(f"refused: {type(exc).__name__}")
        return None
    event("read")
    assert (
        doc.source == name
        and doc.text.strip()
        and doc.fmt in {"txt", "md", "html", "docx", "pdf", "image", "xlsx", "xls", "csv"}
    )
    assert "\x00" not in doc.text and "\r" not in doc.text
    return doc


# ------------------------------------------------------------------------------------------ readers

_prefixes = st.sampled_from(
    [b"", b"%PDF-1.4\n", b"PK\x03\x04", b"\xef\xbb\xbf", b"\xff\xfe", b"<html><meta charset=gbk>"]
)


@given(st.sampled_from(sorted(SUPPORTED_SUFFIXES)), _prefixes, st.binary(max_size=3000))
def test_any_bytes_under_any_supported_name(suffix: str, prefix: bytes, body: bytes) -> None:
    _check_read(prefix + body, f"fuzz{suffix}")


@given(st.sampled_from([_DOCX, _PDF_HEAD]), st.data())
def test_damaged_real_files(original: bytes, data: st.DataObject) -> None:
    cut = data.draw(st.integers(10, len(original)), label="cut")
    flips = data.draw(st.lists(st.tuples(st.integers(0, cut - 1), st.integers(1, 255)), max_size=8), label="flips")
    damaged = bytearray(original[:cut])
    for at, mask in flips:
        damaged[at] ^= mask
    _check_read(bytes(damaged), "damaged.pdf" if original is _PDF_HEAD else "damaged.docx")


_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_words = st.text(
    alphabet=st.sampled_from("预算编制不够细化资金绩效一二三（）()、。. 1234abc|&<>\"'"), min_size=0, max_size=30
)


@st.composite
def _paragraph(draw: st.DrawFn) -> tuple[str, str]:
    """(w:p XML, the line it must read as) with a random style and outline level, sometimes nonsense ones;
    a table-of-contents paragraph must not be read at all (its expected line is empty)."""
    text = draw(_words)
    style = draw(st.sampled_from(["", "Heading1", "Heading9", "TOC1", "Normal", "NoSuchStyle"]))
    outline = draw(st.sampled_from(["", "0", "8", "9", "-1", "x"]))
    ppr = ""
    if style or outline:
        ppr = (
            "<w:pPr>"
            + (f'<w:pStyle w:val="{style}"/>' if style else "")
            + (f'<w:outlineLvl w:val="{outline}"/>' if outline else "")
            + "</w:pPr>"
        )
    parts = draw(st.lists(_words, max_size=2)) + [text]
    runs = "".join(f'<w:r><w:t xml:space="preserve">{escape(part)}</w:t></w:r>' for part in parts)
    return f"<w:p>{ppr}{runs}</w:p>", "" if style == "TOC1" else "".join(parts)


@st.composite
def _table(draw: st.DrawFn) -> str:
    rows = draw(st.lists(st.lists(_words, min_size=0, max_size=4), min_size=0, max_size=3))
    return (
        "<w:tbl>"
        + "".join(
            "<w:tr>" + "".join(f"<w:tc><w:p><w:r><w:t>{escape(c)}</w:t></w:r></w:p></w:tc>" for c in row) + "</w:tr>"
            for row in rows
        )
        + "</w:tbl>"
    )


@dataclass(frozen=True)
class _Package:
    data: bytes
    paragraphs: list[str]  # the lines the body's paragraphs must read as, in order ([] when it is damaged)

    def __repr__(self) -> str:  # the bytes are ~30 KB: failures show the paragraphs, the seed replays them
        return f"_Package({len(self.data)} bytes, paragraphs={self.paragraphs!r})"


@st.composite
def _docx_package(draw: st.DrawFn) -> _Package:
    """A Word package built from the real one's parts with a generated body: well-formed XML most of the
    time, truncated now and then; parts dropped or added; stored or deflated members."""
    blocks = draw(st.lists(st.one_of(_paragraph(), _table().map(lambda x: (x, None))), max_size=12))
    body = "".join(xml for xml, _ in blocks)
    if draw(st.booleans()):
        body = f"<w:sdt><w:sdtContent>{body}</w:sdtContent></w:sdt>"
    xml = f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="{_W}"><w:body>{body}</w:body></w:document>'.encode()
    if draw(st.integers(0, 9)) == 9:  # (hypothesis favours small draws: the rare case is the large one)
        xml = xml[: draw(st.integers(0, len(xml)))]
    parts = {**_DOCX_PARTS, "word/document.xml": xml}
    if draw(st.integers(0, 3)) == 3:  # now and then a part missing (content types, styles, relationships …)
        parts.pop(draw(st.sampled_from(sorted(parts))))
    parts.update(
        draw(
            st.dictionaries(
                st.sampled_from(["word/extra.xml", "unknown/part.bin", "x"]), st.binary(max_size=50), max_size=2
            )
        )
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in parts.items():
            archive.writestr(
                name, content, compress_type=draw(st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]))
            )
    wrote = [text.strip() for _, text in blocks if text is not None and text.strip()]
    return _Package(buffer.getvalue(), wrote if "word/document.xml" in parts and xml.endswith(b"</w:document>") else [])


@settings(max_examples=max(20, settings.default.max_examples // 3))  # ~20 ms an example: python-docx
@given(_docx_package())
def test_generated_word_packages(package: _Package) -> None:
    doc = _check_read(package.data, "generated.docx")
    if doc is not None:
        lines = iter(doc.text.split("\n"))
        assert all(p in lines for p in package.paragraphs)  # every paragraph, in document order
        assert all(h.text in doc.text.split("\n") for h in doc.heading_hints)  # a heading hint is a line of the text
