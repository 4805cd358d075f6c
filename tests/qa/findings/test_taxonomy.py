"""The finding taxonomy (qa.findings.taxonomy): the shipped file, a user's own file, and every way a file can be
wrong, named in Chinese."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.embeddings import Embedder
from qa.findings import TaxonomyError, load_taxonomy
from qa.findings.taxonomy import Categorizer, Taxonomy


def test_shipped_taxonomy_and_user_taxonomy_files(tmp_path: Path, embedder: Embedder) -> None:
    shipped = load_taxonomy()
    assert shipped.names[-1] == "其他" and "预算编制不够细化" in shipped.names and len(shipped.names) >= 15
    custom = tmp_path / "mine.yaml"
    custom.write_text(
        "categories:\n  - name: 政府采购不规范\n    description: 政府采购程序不规范\n    examples: [未按规定执行政府采购]\n    keywords: ['政府采购']\n",
        encoding="utf-8",
    )
    mine = load_taxonomy(custom)
    assert mine.names == ["政府采购不规范", "其他"]
    c = Categorizer(mine, embedder)
    texts = ["部分项目未按规定执行政府采购程序。", "预算编制不够细化。"]
    scores = c.sentence_scores(texts, embedder.encode_queries(texts))
    assigned = [c.assign(row[None, :], c.accepted(row[None, :]))[0].name for row in scores]
    assert assigned == ["政府采购不规范", "其他"]

    bad = tmp_path / "bad.yaml"
    for content, message in [
        ("categories: [", "不是合法的 YAML"),
        ("categories: []", "需要非空的 categories 列表"),
        ("categories:\n  - description: 无名\n", "缺少 name"),
        ("categories:\n  - name: a\n    keywords: ['(']\n", "不是合法的正则表达式"),
        ("categories:\n  - name: a\n  - name: a\n", "重复"),
    ]:
        bad.write_text(content, encoding="utf-8")
        with pytest.raises(TaxonomyError, match=message):
            load_taxonomy(bad)
    with pytest.raises(TaxonomyError, match="无法读取分类文件"):
        load_taxonomy(tmp_path / "missing.yaml")
    assert Taxonomy.parse({"categories": [{"name": "其他"}]}).names == ["其他"]
