"""One uploaded file into the store (qa.api.uploads): its name is only a label, never a path."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN_KEY

pytestmark = pytest.mark.slow
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
REPORT = (
    "某某县观测测试中心2021年度部门整体支出绩效自评报告\n一、存在的问题\n1、观测测试专用句子：资产台账长期未更新。\n"
)


def _upload(base: str, name: str, data: bytes) -> httpx.Response:
    return httpx.post(f"{base}/v1/documents", files={"file": (name, data)}, headers=ADMIN, timeout=120)


@pytest.mark.parametrize(
    ("given", "stored"),
    [("..\\..\\windows\\报告.txt", "报告.txt"), ("/abs/path/a.md", "a.md"), ("dir/../../b.txt", "b.txt")],
)
def test_upload_names_lose_every_directory_part(keyed_api: tuple[str, Path], given: str, stored: str) -> None:
    base, _ = keyed_api
    r = _upload(base, given, REPORT.replace("观测", "命名").encode())
    assert r.status_code == 201, r.text
    assert r.json()["source"] == stored
    assert httpx.delete(f"{base}/v1/documents/{r.json()['doc_id']}", headers=ADMIN).status_code == 200


def test_safe_name_drops_directories_and_control_characters() -> None:
    from fastapi import HTTPException

    from qa.api.routes.documents import safe_name

    assert safe_name("a/../../b\x00c\x1f.txt") == "bc.txt"
    assert safe_name("C:\\Users\\x\\报告.docx") == "报告.docx"
    for bad in (None, "", "../", "..", "\x00\x01"):
        with pytest.raises(HTTPException) as caught:
            safe_name(bad)
        assert caught.value.status_code == 422
