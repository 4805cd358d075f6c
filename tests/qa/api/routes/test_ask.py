"""POST /v1/ask and /v1/ask/stream through real HTTP against `qa serve` on 127.0.0.1 with the real model and Chroma:
aggregates, lookups, declines, follow-ups, filters, the event stream, and bad input as a Chinese 422."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from tests.support.api import ask

pytestmark = pytest.mark.slow

U001 = "益阳市赫山区投资促进服务中心"
U004 = "湖南省大祥工业集中区管理委员会"


def assert_markers_match(out: dict) -> None:  # type: ignore[type-arg]
    ids = {c["id"] for c in out["citations"]}
    markers = {int(m) for m in re.findall(r"\[(\d+)\]", out["answer"])}
    assert markers and markers <= ids


def test_headline_aggregate_lists_exactly_the_two_units_each_cited(api: str) -> None:
    out = ask(api, "哪些单位提到预算编制不够细化？")
    assert out["kind"] == "aggregate"
    assert [u["unit"] for u in out["units"]] == [U001, U004] or {u["unit"] for u in out["units"]} == {U001, U004}
    assert len(out["units"]) == 2
    by_id = {c["id"]: c for c in out["citations"]}
    for unit in out["units"]:
        assert unit["citation_ids"]
        cited = [by_id[i] for i in unit["citation_ids"]]
        assert all(c["unit"] == unit["unit"] for c in cited)
        assert any("预算编制" in c["text"] and "细化" in c["text"] for c in cited)
    # 芙蓉区商务局 wrote 绩效目标不够细化: a near miss, never in the list.
    assert "芙蓉区商务局" not in {u["unit"] for u in out["units"]}
    assert_markers_match(out)


def test_aggregate_units_come_in_pages(api: str) -> None:
    """A page of units with the total and the next offset; the pages together are the whole list, each page's
    citations its own; near misses only on the first page; past the end, no units and a plain sentence."""
    question = "哪些单位提到绩效目标不够细化？"
    whole = ask(api, question)
    total = len(whole["units"])
    assert total >= 2 and whole["total_units"] == total and whole["next_offset"] is None and whole["related"]
    first = ask(api, question, limit=1)
    assert [u["unit"] for u in first["units"]] == [whole["units"][0]["unit"]]
    assert first["total_units"] == total and first["offset"] == 0 and first["next_offset"] == 1
    assert [u["unit"] for u in first["related"]] == [u["unit"] for u in whole["related"]]
    assert first["answer"].startswith(f"共有 {total} 个单位提到") and "以下列出第 1–1 个" in first["answer"]
    assert f"另有 {total - 1} 个单位未列出" in first["answer"]
    assert_markers_match(first)
    rest = ask(api, question, offset=1)
    assert [u["unit"] for u in rest["units"]] == [u["unit"] for u in whole["units"][1:]]
    assert rest["offset"] == 1 and rest["next_offset"] is None and rest["related"] == []
    assert re.match(rf"共有 {total} 个单位提到.*以下列出第 2–{total} 个", rest["answer"])
    assert_markers_match(rest)
    assert {c["id"] for c in rest["citations"]} == {i for u in rest["units"] for i in u["citation_ids"]}
    past = ask(api, question, offset=total + 3)
    assert past["units"] == [] and past["total_units"] == total and past["next_offset"] is None
    assert f"第 {total + 4} 个起已没有更多单位" in past["answer"]


def test_citations_point_at_the_document_text(api: str) -> None:
    out = ask(api, "哪些单位项目资金未实行专账核算？")
    assert [u["source"] for u in out["units"]] == ["000_b17f134b7a6d8e07.txt"]  # the report names no unit
    for c in out["citations"]:
        doc = httpx.get(f"{api}/v1/documents/{c['doc_id']}").json()
        assert doc["text"][c["char_start"] : c["char_end"]] == c["text"]


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("赫山区投资促进服务中心2021年基本支出是多少？", "388.07万元"),
        ("桃江县重点项目建设事务中心的项目资金金额是多少？", "17.99万元"),
        ("大祥工业集中区2021年实缴税金是多少？", "4.92亿元"),
        ("益阳市赫山区投资促进服务中心编制人数多少人？", "13人"),
    ],
)
def test_lookups_return_the_number_with_its_unit(api: str, question: str, expected: str) -> None:
    out = ask(api, question)
    assert out["kind"] == "lookup"
    assert expected in out["answer"]
    assert any(expected in c["text"] for c in out["citations"])
    assert_markers_match(out)


@pytest.mark.parametrize(
    "question", ["长沙市财政局2021年三公经费是多少？", "2019年赫山区投资促进服务中心的基本支出是多少？"]
)
def test_unanswerable_is_declined(api: str, question: str) -> None:
    out = ask(api, question)
    assert out["kind"] == "unanswerable"
    assert out["answer"].startswith("未在已收录报告中找到")


def test_aggregate_nobody_says_returns_empty_list(api: str) -> None:
    out = ask(api, "是否有单位提到审计发现的问题？")
    assert out["kind"] == "aggregate" and out["units"] == []
    assert out["answer"].startswith("未在已收录报告中找到")


def test_followups_resolve_from_history(api: str) -> None:
    first = ask(api, "哪些单位提到预算编制不够细化？")
    history = [
        {"role": "user", "content": "哪些单位提到预算编制不够细化？"},
        {"role": "assistant", "content": first["answer"]},
    ]
    measures = ask(api, "它们分别提出了什么改进措施？", history=history)
    assert U001 in measures["resolved_question"] and U004 in measures["resolved_question"]
    assert {u["unit"] for u in measures["units"]} == {U001, U004}
    assert "细化预算管理" in measures["answer"]  # 004's first measure
    later = ask(api, "那2022年的呢？", history=history)
    assert later["resolved_question"].startswith("2022年") and later["filters"]["year"] == 2022
    assert later["units"] == []


def test_explicit_filters_win_and_apply(api: str) -> None:
    out = ask(api, "哪些单位提到预算编制不够细化？", filters={"region": "益阳市"})
    assert [u["unit"] for u in out["units"]] == [U001]
    out = ask(api, "2022年哪些单位提到预算编制不够细化？", filters={"year": 2021})
    assert out["filters"]["year"] == 2021 and {u["unit"] for u in out["units"]} == {U001, U004}


def test_stream_event_order(api: str) -> None:
    with httpx.stream(
        "POST", f"{api}/v1/ask/stream", json={"question": "哪些单位提到预算编制不够细化？"}, timeout=120
    ) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        body = "".join(r.iter_text())
    events = [(m.group(1), json.loads(m.group(2))) for m in re.finditer(r"event: (\w+)\ndata: (.*)\n\n", body)]
    names = [e for e, _ in events]
    assert names[0] == "citations" and names[-1] == "done" and set(names[1:-1]) == {"delta"}
    assert events[0][1]["citations"] and events[0][1]["kind"] == "aggregate"
    assert "".join(d["text"] for e, d in events if e == "delta") == events[-1][1]["answer"]


@pytest.mark.parametrize(
    "payload",
    [
        {"question": ""},
        {"question": "   "},
        {"question": "问" * 2001},
        {},
        {"question": 42},
        {"question": "预算", "filters": {"colour": "red"}},
        {"question": "预算", "filters": {"report_kind": "年度报告"}},
        {"question": "预算", "filters": {"year": "二〇二一"}},
        {"question": "预算", "filters": {"region": "北京市"}},
        {"question": "预算", "top_k": 0},
        {"question": "预算", "offset": -1},
        {"question": "预算", "limit": 0},
        {"question": "预算", "limit": 1001},
        {"question": "预算", "history": [{"role": "robot", "content": "x"}]},
    ],
)
def test_bad_ask_input_is_422_in_chinese(api: str, payload: dict) -> None:  # type: ignore[type-arg]
    r = httpx.post(f"{api}/v1/ask", json=payload)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert isinstance(detail, str) and not detail.isascii()
