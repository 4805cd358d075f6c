import pytest

from ingest.chunking import chunk_document, index_text
from ingest.clean import clean_text
from ingest.structure import parse_structure
from tests.conftest import SAMPLES


def _chunks(name: str, size: int = 300, overlap: int = 1):
    text = clean_text((SAMPLES / name).read_text(encoding="utf-8")).text
    return text, chunk_document(text, parse_structure(text), size=size, overlap=overlap)


@pytest.mark.parametrize("name", [p.name for p in sorted(SAMPLES.glob("*.txt"))])
def test_chunks_are_exact_spans_inside_one_section(name: str) -> None:
    text, chunks = _chunks(name)
    assert chunks
    for c in chunks:
        assert text[c.char_start : c.char_end] == c.text
        # Breaks fall between sentences/list items: a chunk ends at punctuation or at a line end.
        assert c.text[-1] in "。！？；!?;”）)" or c.char_end == len(text) or text[c.char_end] == "\n", c.text[-20:]
        assert len(c.text) <= 2 * 300
    assert [c.chunk_index for c in chunks] == list(range(len(chunks)))


def test_problem_items_stay_with_their_heading() -> None:
    _, chunks = _chunks("004_30f3d27d840c4c9e.txt")
    problems = [c for c in chunks if c.section_role == "problems"]
    assert len(problems) == 1
    assert "1、预算编制不够细化。" in problems[0].text and "专业人才" in problems[0].text


def test_overlap_repeats_sentences_and_sizes_respected() -> None:
    _, no_overlap = _chunks("000_b17f134b7a6d8e07.txt", size=120, overlap=0)
    _, overlap = _chunks("000_b17f134b7a6d8e07.txt", size=120, overlap=1)
    assert len(overlap) > len(no_overlap)
    same_section = [(a, b) for a, b in zip(overlap, overlap[1:]) if a.section == b.section]
    assert any(b.char_start < a.char_end for a, b in same_section)


def test_table_rows_are_never_cut() -> None:
    rows = "\n".join(f"项目{i} | 预算{i}0万元 | 执行{i}0万元。已完成；" for i in range(30))
    text = "报告\n一、资金情况\n" + rows
    chunks = chunk_document(text, parse_structure(text), size=100, overlap=0)
    row_set = set(rows.split("\n"))
    for c in chunks:
        for line in c.text.split("\n"):
            assert line in row_set or line in ("报告", "一、资金情况")


def test_index_text_prepends_unit_and_section() -> None:
    assert (
        index_text("预算编制不够细化。", unit="某局", title="T", section="三、问题")
        == "某局｜三、问题\n预算编制不够细化。"
    )
    assert index_text("正文", unit="", title="2021年度报告", section="") == "2021年度报告\n正文"
