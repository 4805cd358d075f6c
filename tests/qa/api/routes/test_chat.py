"""OpenAI-compatible clients as they are, against a real `qa serve`: the official `openai` Python client and
LangChain's ChatOpenAI list the model, then chat, streaming and not, and see the references — the official
client as the extra `references` field, LangChain (which drops unknown fields) in the content's source list."""

from __future__ import annotations

import json
import re

import httpx
import openai
import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langchain_openai import ChatOpenAI

from tests.conftest import READER_KEY

pytestmark = pytest.mark.slow
QUESTION = "哪些单位提到预算编制不够细化？"
HESHAN = "益阳市赫山区投资促进服务中心"
DAXIANG = "湖南省大祥工业集中区管理委员会"


@pytest.fixture(scope="module")
def client(api: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{api}/v1", api_key="not-needed-here", timeout=120, max_retries=0)


def sources_of(content: str) -> dict[int, str]:
    """The numbered source list at the end of an answer's content."""
    assert "\n\n来源：\n" in content
    return {int(n): label for n, label in re.findall(r"^- \[(\d+)\] (.+)$", content.split("\n\n来源：\n", 1)[1], re.M)}


def test_official_client_sees_references_streaming_and_not(client: openai.OpenAI) -> None:
    done = client.chat.completions.create(model="jixiao-qa", messages=[{"role": "user", "content": QUESTION}])
    content = done.choices[0].message.content or ""
    references = done.references  # type: ignore[attr-defined]  # an extra field the client keeps
    assert {HESHAN, DAXIANG} <= {r["unit"] for r in references}
    assert all({"doc_id", "source", "text", "char_start", "char_end"} <= set(r) for r in references)
    markers = {int(m) for m in re.findall(r"\[(\d+)\]", content.split("\n\n来源：\n")[0])}
    assert markers and markers <= {r["id"] for r in references}
    listed = sources_of(content)
    assert set(listed) == {r["id"] for r in references}
    assert all(listed[r["id"]].endswith(f"{r['source']} · 字符 {r['char_start']}–{r['char_end']}") for r in references)

    stream = client.chat.completions.create(
        model="jixiao-qa", messages=[{"role": "user", "content": QUESTION}], stream=True
    )
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == content
    assert chunks[0].references == references and chunks[-1].references == references  # type: ignore[attr-defined]
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_langchain_chat_openai_streaming_and_not(api: str) -> None:
    llm = ChatOpenAI(model="jixiao-qa", base_url=f"{api}/v1", api_key="not-needed-here", timeout=120, max_retries=0)
    reply = llm.invoke([HumanMessage(QUESTION)])
    assert isinstance(reply, AIMessage) and HESHAN in reply.content and DAXIANG in reply.content
    listed = sources_of(str(reply.content))
    assert listed and any(HESHAN in s for s in listed.values())
    assert reply.response_metadata["model_name"] == "jixiao-qa"
    streamed = "".join(str(chunk.content) for chunk in llm.stream([HumanMessage(QUESTION)]))
    assert streamed == reply.content

    # A follow-up with the conversation so far, the way LangChain sends it back: the source list in the
    # assistant turn does not confuse which units "它们" are.
    follow = llm.invoke([HumanMessage(QUESTION), reply, HumanMessage("它们分别提出了什么改进措施？")])
    answer = str(follow.content).split("\n\n来源：\n")[0]
    assert HESHAN in answer and DAXIANG in answer and "芙蓉区商务局" not in answer


def test_errors_reach_openai_clients_in_chinese(keyed_api: tuple[str, object]) -> None:
    base, _ = keyed_api
    wrong = openai.OpenAI(base_url=f"{base}/v1", api_key="wrong-key", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as denied:
        wrong.models.list()
    assert "API 密钥无效" in str(denied.value)
    reader = openai.OpenAI(base_url=f"{base}/v1", api_key=READER_KEY, max_retries=0)
    with pytest.raises(openai.UnprocessableEntityError) as bad:
        reader.chat.completions.create(model="jixiao-qa", messages=[{"role": "assistant", "content": "你好"}])
    assert "最后一条必须是非空的 user 消息" in str(bad.value)


def test_chat_completions_stream_and_non_stream(api: str) -> None:
    messages = [{"role": "user", "content": "哪些单位提到预算编制不够细化？"}]
    r = httpx.post(f"{api}/v1/chat/completions", json={"model": "jixiao-qa", "messages": messages}, timeout=120)
    body = r.json()
    assert r.status_code == 200 and body["object"] == "chat.completion"
    assert DAXIANG in body["choices"][0]["message"]["content"] and body["references"]
    with httpx.stream(
        "POST", f"{api}/v1/chat/completions", json={"messages": messages, "stream": True}, timeout=120
    ) as s:
        lines = [line for line in s.iter_lines() if line.startswith("data: ")]
    assert lines[-1] == "data: [DONE]"
    chunks = [json.loads(line[6:]) for line in lines[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert (
        "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == body["choices"][0]["message"]["content"]
    )
    assert chunks[-1]["references"] == body["references"]


def test_a_chat_client_pages_a_long_unit_list_by_saying_continue(client: openai.OpenAI) -> None:
    """A chat client has no offset parameter: after an answer that lists one page of units (as a library with more
    units than QA_ANSWER_UNITS gives; here a page of one is written as the service writes it), "继续" lists the next."""
    from qa.understand import page_header

    whole = client.chat.completions.create(model="jixiao-qa", messages=[{"role": "user", "content": QUESTION}])
    order = re.findall(r"^\d+\. (.+?)：", whole.choices[0].message.content or "", re.M)
    assert sorted(order) == sorted([HESHAN, DAXIANG]), order
    first = page_header(2, "“预算编制不够细化”", 0, 1) + f"\n1. {order[0]}：预算编制不够细化。"
    messages = [
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": first},
        {"role": "user", "content": "继续"},
    ]
    done = client.chat.completions.create(model="jixiao-qa", messages=messages)  # type: ignore[arg-type]
    content = done.choices[0].message.content or ""
    assert content.startswith("共有 2 个单位提到“预算编制不够细化”，以下列出第 2–2 个："), content
    assert f"2. {order[1]}：" in content and f"1. {order[0]}" not in content
