"""Settings (qa.settings): what the environment sets, what the readers' limits become, the parsed key and proxy
lists."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from ingest.document import MB, ReadLimits
from qa.settings import Settings, get_settings

DEFAULTS = Settings().read_limits()


def test_settings_feed_the_limits() -> None:
    limits = Settings(max_decompressed_mb=1.5, max_compression_ratio=20, max_pdf_pages=7).read_limits()
    assert limits == ReadLimits(max_decompressed_bytes=int(1.5 * MB), max_compression_ratio=20, max_pdf_pages=7)
    assert DEFAULTS.max_decompressed_bytes == 200 * MB and DEFAULTS.max_pdf_pages == 2000
    ocr = Settings(max_ocr_pages=3, ocr_timeout=9, max_image_mpixels=1.5, max_sheet_rows=10).read_limits()
    assert (ocr.max_ocr_pages, ocr.ocr_timeout, ocr.max_image_pixels, ocr.max_sheet_rows) == (3, 9.0, 1_500_000, 10)
    assert Settings().read_limits() == ReadLimits()  # one set of shipped defaults


def test_the_environment_sets_fields_by_their_qa_name(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("QA_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("QA_TOP_K", "7")
    monkeypatch.setenv("QA_NOT_A_SETTING", "x")  # ignored, not an error
    settings = Settings()
    assert (settings.data_dir, settings.top_k) == (tmp_path, 7)
    monkeypatch.setenv("QA_TOP_K", "0")
    with pytest.raises(ValidationError):
        Settings()  # bounds hold for the environment too


def test_key_lists_and_trusted_proxies_are_parsed() -> None:
    assert Settings.split(" a, b ,,c ") == ["a", "b", "c"] and Settings.split("") == []
    assert not Settings().keys_configured
    assert Settings(widget_keys=" w ").keys_configured and not Settings(api_keys=" , ").keys_configured
    networks = Settings(trusted_proxies="10.0.0.0/8, 127.0.0.1, ::1").trusted_networks
    assert [str(n) for n in networks] == ["10.0.0.0/8", "127.0.0.1/32", "::1/128"]
    with pytest.raises(ValidationError, match="QA_TRUSTED_PROXIES：无法识别的地址或网段“intranet-lb”"):
        Settings(trusted_proxies="10.0.0.0/8, intranet-lb")


def test_rate_limits_are_count_per_window() -> None:
    assert Settings(rate_limit="30/s", key_rate_limit="1000/hour").rate_limit == "30/s"
    for bad in ("30", "30/day", "many/min", "30 / min"):
        with pytest.raises(ValidationError):
            Settings(rate_limit=bad)


def test_get_settings_reads_the_environment_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    get_settings.cache_clear()
    try:
        monkeypatch.setenv("QA_DATA_DIR", str(tmp_path / "a"))
        first = get_settings()
        monkeypatch.setenv("QA_DATA_DIR", str(tmp_path / "b"))
        assert get_settings() is first and first.data_dir == tmp_path / "a"
    finally:
        get_settings.cache_clear()
