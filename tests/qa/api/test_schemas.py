"""Request bodies (qa.api.schemas) validated in-process: a question is trimmed and never blank, unknown fields are
refused, explicit filters become the retriever's Filters, chat bodies ignore what OpenAI clients add."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from qa.api.schemas import MAX_QUESTION, AskIn, ChatIn, FiltersIn, MetadataIn, SearchIn
from qa.retrieve import Filters


def test_a_question_is_trimmed_and_never_blank() -> None:
    assert AskIn(question="  哪些单位提到预算编制不够细化？ \n").question == "哪些单位提到预算编制不够细化？"
    with pytest.raises(ValidationError, match="问题不能为空"):
        AskIn(question=" \u3000\n")
    with pytest.raises(ValidationError):
        AskIn(question="问" * (MAX_QUESTION + 1))
    with pytest.raises(ValidationError):
        AskIn(question="预算", top_k=0)
    with pytest.raises(ValidationError):
        AskIn(question="预算", colour="red")  # type: ignore[call-arg]


def test_filters_become_the_retrievers_filters() -> None:
    given = FiltersIn(year=2021, region="益阳市", report_kind="部门整体支出")
    assert given.to_filters() == Filters(year=2021, region="益阳市", report_kind="部门整体支出")
    assert FiltersIn().to_filters() == Filters()
    for bad in ({"report_kind": "年度报告"}, {"year": 1800}, {"region": ""}, {"section_role": "risks"}):
        with pytest.raises(ValidationError):
            FiltersIn(**bad)  # type: ignore[arg-type]


def test_search_defaults_and_modes() -> None:
    body = SearchIn(query="专账核算")
    assert (body.top_k, body.mode, body.filters) == (5, "hybrid", None)
    assert SearchIn(query="专账核算", mode="bm25").mode == "bm25"
    with pytest.raises(ValidationError):
        SearchIn(query="专账核算", mode="fuzzy")  # type: ignore[arg-type]


def test_chat_bodies_ignore_unknown_fields_and_need_a_message() -> None:
    chat = ChatIn(messages=[{"role": "user", "content": "你好", "name": "x"}], temperature=0.2)  # type: ignore[call-arg, list-item]
    assert (chat.model, chat.stream, chat.messages[0].content) == ("jixiao-qa", False, "你好")
    with pytest.raises(ValidationError):
        ChatIn(messages=[])
    with pytest.raises(ValidationError):
        ChatIn(messages=[{"role": "robot", "content": "x"}])  # type: ignore[list-item]


def test_metadata_edits_name_only_known_fields() -> None:
    assert MetadataIn(year=2022).model_dump(exclude_none=True) == {"year": 2022}
    assert MetadataIn(unit="").unit == ""  # a unit may be set empty
    for bad in ({"title": ""}, {"year": 2101}, {"colour": "red"}):
        with pytest.raises(ValidationError):
            MetadataIn(**bad)  # type: ignore[arg-type]
