"""Client errors are a 4xx with a Chinese detail (qa.api.errors), never a 500: malformed bodies through a real
`qa serve`, and the handlers on a small app of their own (field names, OpenAI's error shape, a defect's 500)."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI, HTTPException
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field

from qa.api import errors


@pytest.mark.slow
def test_malformed_json_and_wrong_types(api: str) -> None:
    r = httpx.post(f"{api}/v1/ask", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422 and "JSON" in r.json()["detail"]
    r = httpx.post(f"{api}/v1/search", json=["a", "b"])
    assert r.status_code == 422
    r = httpx.post(f"{api}/v1/chat/completions", json={"messages": [{"role": "assistant", "content": "hi"}]})
    assert r.status_code == 422


# ---- the handlers in-process, on an app of their own -------------------------------------------------------


class Body(BaseModel):
    question: str = Field(max_length=5)
    top_k: int = Field(1, ge=1)


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = FastAPI()
    errors.install(app)

    @app.post("/v1/ask")
    def ask(body: Body) -> dict[str, str]:
        return {}

    @app.post("/v1/chat/completions")
    def chat(body: Body) -> dict[str, str]:
        raise HTTPException(429, "请求过于频繁，请稍后再试", headers={"Retry-After": "3"})

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("a defect")

    @app.get("/english")
    def english() -> None:
        raise HTTPException(404, "Not here")

    return TestClient(app, raise_server_exceptions=False)


def test_validation_errors_name_the_field_and_the_problem_in_chinese(client: TestClient) -> None:
    assert client.post("/v1/ask", json={}).json() == {"detail": "问题：缺少必填字段"}
    r = client.post("/v1/ask", json={"question": "123456", "top_k": 0})
    assert r.status_code == 422 and r.json() == {"detail": "问题：过长（最多 5 个字符）；top_k：数值过小"}
    bad_json = client.post("/v1/ask", content=b"{x", headers={"content-type": "application/json"})
    assert bad_json.status_code == 422 and "请求体不是合法的 JSON" in bad_json.json()["detail"]


def test_english_details_become_chinese_and_a_defect_is_a_json_500(client: TestClient) -> None:
    assert (client.get("/english").status_code, client.get("/english").json()) == (404, {"detail": "未找到"})
    assert client.get("/no/such/path").json() == {"detail": "未找到"}
    assert client.delete("/v1/ask").json() == {"detail": "不支持的请求方法"}
    boom = client.get("/boom")
    assert boom.status_code == 500 and boom.json() == {"detail": "服务器内部错误"}


def test_openai_routes_also_answer_in_openais_error_shape(client: TestClient) -> None:
    limited = client.post("/v1/chat/completions", json={"question": "a"})
    assert limited.status_code == 429 and limited.headers["retry-after"] == "3"
    assert limited.json() == {
        "detail": "请求过于频繁，请稍后再试",
        "error": {"message": "请求过于频繁，请稍后再试", "type": "rate_limit_error", "code": 429},
    }
    invalid = client.post("/v1/chat/completions", json={}).json()
    assert invalid["error"] == {"message": "问题：缺少必填字段", "type": "invalid_request_error", "code": 422}
    assert "error" not in client.post("/v1/ask", json={}).json()
