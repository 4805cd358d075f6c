import json
from pathlib import Path

import pytest

from ingest.clean import clean_text
from ingest.document import IngestError
from ingest.metadata import apply_overrides, infer_metadata, load_manifest
from ingest.structure import parse_structure
from tests.conftest import SAMPLES

# Read off the reports by hand. 000 never names its own unit (only 开福区 and "我中心"), so unit stays empty.
EXPECTED = {
    "000_b17f134b7a6d8e07.txt": ("", "开福区", 2021, "项目支出"),
    "001_5adf402d10fbcc74.txt": ("益阳市赫山区投资促进服务中心", "益阳市赫山区", 2021, "部门整体支出"),
    "002_746ff3ccd9e6e85d.txt": ("桃江县重点项目建设事务中心", "桃江县", 2022, "项目支出"),
    "003_332cd0b86e5ac67a.txt": ("芙蓉区商务局", "芙蓉区", 2021, "项目支出"),
    "004_30f3d27d840c4c9e.txt": ("湖南省大祥工业集中区管理委员会", "湖南省", 2021, "部门整体支出"),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_metadata(name: str) -> None:
    text = clean_text((SAMPLES / name).read_text(encoding="utf-8")).text
    meta = infer_metadata(parse_structure(text).title, text, name)
    assert (meta.unit, meta.region, meta.year, meta.report_kind) == EXPECTED[name]


def test_unknown_fields_stay_empty() -> None:
    meta = infer_metadata("工作总结", "今年我们做了很多工作。", "a3f2021b9.txt")
    assert (meta.unit, meta.region, meta.year, meta.report_kind) == ("", "", None, "其他")


def test_year_from_free_standing_filename_year_only() -> None:
    assert infer_metadata("工作总结", "正文", "报告_2023.txt").year == 2023


def test_zones_are_not_regions() -> None:
    meta = infer_metadata("某某经济开发区管理委员会2021年度部门整体支出绩效评价报告", "开发区开发区", "x.txt")
    assert meta.region == ""


def test_manifest_csv_and_json_override(tmp_path: Path) -> None:
    csv_path = tmp_path / "m.csv"
    csv_path.write_text(
        "file,unit,region,year,report_kind\n000_b17f134b7a6d8e07.txt,开福区楼宇经济促进中心,湖南省长沙市开福区,2021,项目支出\n",
        encoding="utf-8",
    )
    json_path = tmp_path / "m.json"
    json_path.write_text(json.dumps({"a.txt": {"unit": "甲单位", "year": 2020}}, ensure_ascii=False), encoding="utf-8")
    m = load_manifest(csv_path)
    base = infer_metadata("2021年度重点项目绩效评价结果", "正文", "000_b17f134b7a6d8e07.txt")
    over = apply_overrides(base, m["000_b17f134b7a6d8e07.txt"], "000_b17f134b7a6d8e07.txt")
    assert (over.unit, over.region, over.year) == ("开福区楼宇经济促进中心", "湖南省长沙市开福区", 2021)
    assert load_manifest(json_path)["a.txt"] == {"unit": "甲单位", "year": "2020"}


def test_bad_manifest_values_are_clear_errors(tmp_path: Path) -> None:
    base = infer_metadata("标题", "正文", "a.txt")
    with pytest.raises(IngestError, match="年份不是整数"):
        apply_overrides(base, {"year": "二〇二一"}, "a.txt")
    with pytest.raises(IngestError, match="报告类型无效"):
        apply_overrides(base, {"report_kind": "年度报告"}, "a.txt")
    broken = tmp_path / "m.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(IngestError, match="清单文件格式错误"):
        load_manifest(broken)


PDF_EXPECTED = {
    "上海市普陀区规划和自然资源局 2024 年度部门决算.pdf": (
        "上海市普陀区规划和自然资源局",
        "上海市普陀区",
        2024,
        "部门决算",
    ),
    "中共上海市普陀区委社会工作部 2024 年度部门决算.pdf": (
        "中共上海市普陀区委社会工作部",
        "上海市普陀区",
        2024,
        "部门决算",
    ),
}


@pytest.mark.parametrize("name", sorted(PDF_EXPECTED))
def test_pdf_metadata(name: str) -> None:
    from ingest.readers import read_document
    from tests.conftest import FIXTURES

    raw = read_document(FIXTURES / name)
    text = clean_text(raw.text).text
    meta = infer_metadata(parse_structure(text, raw.heading_hints).title, text, name)
    assert (meta.unit, meta.region, meta.year, meta.report_kind) == PDF_EXPECTED[name]


def test_body_county_tags_only_the_runs_that_can_hold_a_county() -> None:
    """The county found from the text runs containing 区/县 is the one tagging the whole body finds (the
    filter exists for speed; this is its oracle), on the samples and on report-shaped generated text."""
    from collections import Counter

    import jieba.posseg as pseg

    from bench.gen_corpus import generate_doc
    from ingest.metadata import _COUNTY, _NOT_REGION, _body_county

    def whole(body: str) -> str:
        words = Counter(
            w for w, f in pseg.cut(body[:6000]) if f == "ns" and _COUNTY.fullmatch(w) and not _NOT_REGION.search(w)
        )
        best = words.most_common(1)
        return best[0][0] if best and best[0][1] >= 2 else ""

    bodies = [clean_text(p.read_text(encoding="utf-8")).text for p in sorted(SAMPLES.glob("*.txt"))]
    bodies += [generate_doc(i, 0).text for i in range(40)]
    found = [(_body_county(b), whole(b)) for b in bodies]
    assert all(a == b for a, b in found), found
    assert sum(bool(a) for a, _ in found) >= 15  # the comparison is not between empty strings (18 of 45)
