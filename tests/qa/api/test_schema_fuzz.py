"""Schemathesis against the live OpenAPI schema of a real `qa serve` with keys configured: every operation
gets generated valid and invalid requests, sent with the admin key so upload and delete are exercised too.
Whatever a client sends, the answer is never a 5xx. Bounded: MAX_EXAMPLES per operation and mode.

The schema is read from the running server, so the operations are only known once it is up; schemathesis's
lazy pytest loader (`from_fixture`) does not work with pytest 9, hence the explicit loop over operations
with one hypothesis run each (every operation is fuzzed even when an earlier one fails)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode

from tests.conftest import ADMIN_KEY

pytestmark = pytest.mark.slow
MAX_EXAMPLES = int(os.environ.get("QA_TEST_SCHEMA_EXAMPLES", "12"))  # raise it for a deeper hunt
HEADERS = {"Authorization": f"Bearer {ADMIN_KEY}"}


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
def test_no_request_gets_a_server_error(keyed_api: tuple[str, Path], mode: GenerationMode) -> None:
    base, _ = keyed_api
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    failures: dict[str, str] = {}
    calls = 0

    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(max_examples=MAX_EXAMPLES, suppress_health_check=[HealthCheck.filter_too_much])
        @given(case=operation.as_strategy(generation_mode=mode))
        def fuzz(case: schemathesis.Case) -> None:
            nonlocal calls
            calls += 1
            response = case.call(base_url=base, headers=HEADERS, timeout=60)
            case.validate_response(response, checks=[not_a_server_error])

        try:
            fuzz()
        except Unsatisfiable:  # no invalid request exists for it (GET /healthz has no input to get wrong)
            continue
        except Exception as exc:
            failures[operation.label] = str(exc)[:2000]
    assert calls >= 4 * MAX_EXAMPLES  # ask, stream, chat, search, upload at least
    assert not failures, "\n\n".join(f"{label}:\n{detail}" for label, detail in failures.items())
