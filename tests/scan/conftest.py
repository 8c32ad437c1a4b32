"""Fixtures for the scan tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.scan.scan_images import CORPUS, corpus_items


@pytest.fixture(scope="session")
def corpus() -> list[tuple[Path, bytes]]:
    items = corpus_items()
    if not items:
        pytest.skip(f"QR corpus not found at {CORPUS}")
    return items

