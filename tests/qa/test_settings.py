"""Settings (qa.settings): what the environment sets, what the readers' limits become, the parsed key and proxy
lists."""

from __future__ import annotations

from ingest.document import MB, ReadLimits
from qa.settings import Settings

DEFAULTS = Settings().read_limits()


def test_settings_feed_the_limits() -> None:
    limits = Settings(max_decompressed_mb=1.5, max_compression_ratio=20, max_pdf_pages=7).read_limits()
    assert limits == ReadLimits(max_decompressed_bytes=int(1.5 * MB), max_compression_ratio=20, max_pdf_pages=7)
    assert DEFAULTS.max_decompressed_bytes == 200 * MB and DEFAULTS.max_pdf_pages == 2000
    ocr = Settings(max_ocr_pages=3, ocr_timeout=9, max_image_mpixels=1.5, max_sheet_rows=10).read_limits()
    assert (ocr.max_ocr_pages, ocr.ocr_timeout, ocr.max_image_pixels, ocr.max_sheet_rows) == (3, 9.0, 1_500_000, 10)
    assert Settings().read_limits() == ReadLimits()  # one set of shipped defaults
