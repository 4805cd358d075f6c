"""GET /v1/models (OpenAI-compatible) through the official `openai` client against a real `qa serve`."""

from __future__ import annotations

import openai
import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client(api: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{api}/v1", api_key="not-needed-here", timeout=120, max_retries=0)


def test_models_are_listed_and_retrieved(client: openai.OpenAI) -> None:
    models = list(client.models.list())
    assert [m.id for m in models] == ["jixiao-qa"] and models[0].object == "model" and models[0].owned_by
    assert client.models.retrieve("jixiao-qa").id == "jixiao-qa"
    with pytest.raises(openai.NotFoundError) as missing:
        client.models.retrieve("gpt-4o")
    assert "没有名为 gpt-4o 的模型" in str(missing.value)
