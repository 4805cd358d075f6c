"""The heading tree (ingest.structure) of every sample, the numbering styles and format hints it reads, and a
property test (hypothesis, the "qa" profile in tests/conftest.py) over random mixes of numbering styles: offsets
are exact spans of the text, nested the way the numbering says."""

import pytest
from hypothesis import given, note
from hypothesis import strategies as st

from ingest.chunking import chunk_document
from ingest.clean import clean_text
from ingest.document import HeadingHint
from ingest.structure import parse_structure, role_of
from tests.conftest import SAMPLES


def _structure(name: str):
    return parse_structure(clean_text((SAMPLES / name).read_text(encoding="utf-8")).text)


@pytest.mark.parametrize(
    ("title", "role"),
    [
        ("七、存在的问题及原因分析", "problems"),
        ("六、存在的困难与问题", "problems"),
        ("三、部门整体支出绩效评价存在的问题", "problems"),
        ("八、下一步改进措施", "measures"),
        ("四、部门整体支出绩效评价提出的改进措施和建议", "measures"),
        ("七、建议", "measures"),
        ("一、部门、单位基本情况", "overview"),
        ("二、一般公共预算支出情况", "funds"),
        ("五、绩效评价结果和主要成效", "performance"),
        ("九、其他需要说明的情况", "other"),
        ("六、其他需要说明的问题", "other"),
    ],
)
def test_role_of_headings(title: str, role: str) -> None:
    assert role_of(title) == role


def test_heading_tree_of_001() -> None:
    s = _structure("001_5adf402d10fbcc74.txt")
    assert s.title == "益阳市赫山区投资促进服务中心2021年度部门整体支出绩效评价报告"
    sections = [n.section for n in s.headings()]
    assert "六、部门整体支出绩效情况 > （三）主要绩效及评价结论 > 1.经济性分析" in sections
    assert "八、下一步改进措施 > （二）强化管理，规范行为" in sections
    problems = [n for n in s.headings() if n.role == "problems"]
    assert [n.title for n in problems] == ["七、存在的问题及原因分析"]
    # The items under 1.经济性分析 are items, not headings, and inherit the performance role.
    items = [n for n in s.items() if n.path[-1] == "1.经济性分析"]
    assert [n.title[:3] for n in items] == ["（1）", "（2）", "（3）"]
    assert {n.role for n in items} == {"performance"}


def test_items_in_problem_sections_of_000_and_004() -> None:
    s000 = _structure("000_b17f134b7a6d8e07.txt")
    assert [n.title for n in s000.items() if n.role == "problems"] == [
        "1、部分项目管理不够规范。",
        "2、项目资金未实行专账核算。",
    ]
    s004 = _structure("004_30f3d27d840c4c9e.txt")
    assert [n.title for n in s004.items() if n.role == "problems"] == [
        "1、预算编制不够细化。",
        "2、缺乏懂法律的、懂财经的、懂环保的专业人才。",
    ]
    assert [n.title[:2] for n in s004.items() if n.role == "measures"] == ["1、", "2、", "3、"]


def test_long_headings_with_inline_body_and_spaced_markers_of_002_003() -> None:
    s002 = _structure("002_746ff3ccd9e6e85d.txt")
    assert "一、基本情况 > （一）项目单位基本情况" in [n.section for n in s002.headings()]
    assert [n.title for n in s002.headings() if n.level == 1][-2:] == ["六、存在的困难与问题", "七、建议"]
    s003 = _structure("003_332cd0b86e5ac67a.txt")
    measures = [n for n in s003.nodes if n.role == "measures" and n.kind == "item"]
    assert [n.title[:3] for n in measures] == ["1 、", "2、加"]  # "1 、" (space before 、) is still item 1


def test_every_sample_has_problems_and_measures_sections() -> None:
    for path in sorted(SAMPLES.glob("*.txt")):
        s = _structure(path.name)
        roles = {n.role for n in s.headings()}
        assert {"problems", "measures"} <= roles, path.name


def test_all_marker_kinds_and_levels() -> None:
    text = "第一部分 概况\n一、基本情况\n（一）单位情况\n1.人员\n（1）编制情况\n⑴ 在编人员\n2、经费\n(二)预算"
    s = parse_structure("报告标题\n" + text)
    levels = [(n.level, n.title) for n in s.headings()]
    assert levels == [
        (0, "第一部分 概况"),
        (1, "一、基本情况"),
        (2, "（一）单位情况"),
        (3, "1.人员"),
        (4, "（1）编制情况"),
        (5, "⑴ 在编人员"),
        (3, "2、经费"),
        (2, "(二)预算"),
    ]
    assert s.headings()[5].path == (
        "第一部分 概况",
        "一、基本情况",
        "（一）单位情况",
        "1.人员",
        "（1）编制情况",
        "⑴ 在编人员",
    )
    assert s.headings()[6].path == ("第一部分 概况", "一、基本情况", "（一）单位情况", "2、经费")


def test_decimal_numbers_are_not_headings() -> None:
    s = parse_structure("标题\n一、支出\n3.5万元用于办公。")
    assert [n.kind for n in s.nodes] == ["title", "heading"]


def test_format_heading_hints_make_unnumbered_headings() -> None:
    s = parse_structure("标题\n\n存在问题\n预算编制不够细化。\n", (HeadingHint("存在问题", 1),))
    assert [(n.kind, n.role) for n in s.nodes] == [("title", "overview"), ("heading", "problems")]


def test_node_spans_cover_the_text_in_order() -> None:
    for path in sorted(SAMPLES.glob("*.txt")):
        text = clean_text(path.read_text(encoding="utf-8")).text
        nodes = parse_structure(text).nodes
        assert all(a.end <= b.start for a, b in zip(nodes, nodes[1:])), path.name
        assert all(text[n.start : n.end].strip() for n in nodes)


def test_pdf_table_rows_are_never_headings() -> None:
    from ingest.readers import read_document
    from tests.conftest import FIXTURES

    for path in sorted(FIXTURES.glob("*.pdf")):
        raw = read_document(path)
        s = parse_structure(clean_text(raw.text).text, raw.heading_hints)
        titles = [n.title for n in s.headings()]
        assert not any("|" in t for t in titles), path.name
        assert any(t.startswith("七、财政拨款“三公”经费支出决算情况说明") for t in titles)
        assert [n.title[:4] for n in s.headings() if n.level == 0] == ["第一部分", "第三部分", "第四部分"]


# ---------------------------------------------------------------------------------------- property test

_ROLES = {"problems", "measures", "performance", "funds", "overview", "other"}
_CN = st.sampled_from(["一", "二", "三", "十", "十一", "二十"])
_N = st.integers(1, 12).map(str)
_title = st.text(
    alphabet=st.sampled_from("存在的问题改进措施建议绩效资金预算基本情况概况其他需要说明 ，：:"),
    min_size=0,
    max_size=40,
)
_markers = st.one_of(
    st.builds(lambda n: f"第{n}部分", _CN),
    st.builds(lambda n, sep: f"{n}{sep}", _CN, st.sampled_from("、.．")),
    st.builds(lambda n, p: f"{p[0]}{n}{p[1]}", _CN, st.sampled_from(["（）", "()"])),
    st.builds(lambda n, sep: f"{n}{sep}", _N, st.sampled_from([".", "、", " 、", "．"])),
    st.builds(lambda n, p: f"{p[0]}{n}{p[1]}", _N, st.sampled_from(["（）", "()"])),
    st.sampled_from(list("⑴⑵⑶⒇①②⑩")),
)
_line = st.one_of(
    st.builds(lambda m, t, ws: ws + m + t, _markers, _title, st.sampled_from(["", " ", "\u3000", "\t"])),  # headings
    st.builds(lambda m, t: m + t + "。" + t * 3 + "。", _markers, _title),  # numbered items
    st.just(""),
    st.sampled_from(
        ["   ", "\u3000\u3000", "3.5万元用于办公。", "一、一般公共预算 | 9746.50 | 100%", "|", "（", "第部分", "⑴"]
    ),
    st.text(max_size=60),  # anything at all, control characters and newlines included
)


@given(st.lists(_line, max_size=40), st.lists(_title, max_size=3), st.sampled_from(["\n", "\r\n"]))
def test_structure_invariants(lines: list[str], hint_titles: list[str], newline: str) -> None:
    text = newline.join(["某某单位2021年度部门整体支出绩效自评报告", *lines])
    hints = tuple(HeadingHint(t, 1) for t in hint_titles)
    note(repr(text))
    structure = parse_structure(text, hints)
    nodes = structure.nodes
    for i, n in enumerate(nodes):
        assert 0 <= n.start < n.end <= len(text) and text[n.start : n.end].strip()
        assert n.start == 0 or text[n.start - 1].isspace()  # a node starts its line (after indentation)
        if i + 1 < len(nodes):
            assert n.end <= nodes[i + 1].start
        assert n.role in _ROLES and -1 <= n.level <= 5
        if n.kind in ("title", "preamble"):
            assert n.path == () and n.level == -1
        elif n.kind == "heading":
            assert n.path[-1] == n.title
            # Nested: the enclosing path is an earlier heading of a lower level.
            if len(n.path) > 1:
                assert any(p.kind == "heading" and p.path == n.path[:-1] and p.level < n.level for p in nodes[:i])
        else:
            assert n.kind == "item"
            assert not n.path or any(p.kind == "heading" and p.path == n.path and p.level <= n.level for p in nodes[:i])
    assert [n.kind for n in nodes].count("title") <= 1
    # Chunks are exact spans of the text inside one section (the citation contract).
    for chunk in chunk_document(text, structure, size=120, overlap=1):
        assert text[chunk.char_start : chunk.char_end] == chunk.text and chunk.text.strip()
