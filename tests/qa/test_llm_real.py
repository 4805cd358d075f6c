"""`make test-llm`: the LLM composer end to end against the real local Qwen2.5-Coder-1.5B GGUF served by
llama-cpp-python's OpenAI-compatible server. Needs QA_TEST_LLM_URL (set by the Makefile target); the regular
suite uses the scripted server in test_llm.py instead."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import SAMPLES
from tests.support.server import running_server

LLM_URL = os.environ.get("QA_TEST_LLM_URL")
pytestmark = [pytest.mark.llm, pytest.mark.skipif(not LLM_URL, reason="needs a local LLM server: make test-llm")]

LOOKUPS = [
    ("赫山区投资促进服务中心2021年基本支出是多少？", "388.07"),
    ("桃江县重点项目建设事务中心的项目资金金额是多少？", "17.99"),
    ("大祥工业集中区2021年实缴税金是多少？", "4.92"),
    ("益阳市赫山区投资促进服务中心编制人数多少人？", "13"),
]


@pytest.fixture(scope="module")
def real_llm_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = {
        "QA_LLM_BASE_URL": str(LLM_URL),
        "QA_LLM_MODEL": "qwen2.5-coder-1.5b-instruct",
        "QA_LLM_TIMEOUT": "300",
        "QA_ANSWER_TIMEOUT": "600",
    }
    with running_server(tmp_path_factory.mktemp("real-llm"), "--seed", str(SAMPLES), env=env) as base:
        yield base


def test_real_model_answers_are_cited_and_checked(real_llm_api: str) -> None:
    composers = []
    for question, number in LOOKUPS:
        out = httpx.post(f"{real_llm_api}/v1/ask", json={"question": question}, timeout=600).json()
        print(f"\n{question}\n→ [{out['composer']}] {out['answer']} (dropped {out['unsupported_dropped']})")
        assert out["kind"] == "lookup", out
        ids = {c["id"] for c in out["citations"]}
        assert {int(m) for m in re.findall(r"\[(\d+)\]", out["answer"])} <= ids  # never a marker without its passage
        assert number in out["answer"]
        composers.append(out["composer"])
    # The model must actually write most answers; a composer that always falls back would pass the rest.
    assert composers.count("llm") >= len(LOOKUPS) // 2, composers
