"""The answerer over the bundled samples' store (tests/conftest.py), one per test module."""

from __future__ import annotations

import pytest

from qa.answer import Answerer
from qa.retrieve import Retriever


@pytest.fixture(scope="module")
def answerer(sample_retriever: Retriever) -> Answerer:
    return Answerer(sample_retriever)
