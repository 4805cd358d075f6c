"""Both halves of the scale evaluation's phrasing bank and the library generated from each (seconds: once a
session)."""

from __future__ import annotations

import pytest

from qa.scale.bank import SPLITS, Bank, load_bank, load_common
from qa.scale.generate import generate_library


@pytest.fixture(scope="session")
def banks() -> dict[str, Bank]:
    return {s: load_bank(s) for s in SPLITS}


@pytest.fixture(scope="session")
def libraries(banks: dict[str, Bank]) -> dict:
    common = load_common()
    return {s: generate_library(banks[s], common) for s in SPLITS}
