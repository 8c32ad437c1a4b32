"""Fixtures for the daemon tests (the builders live in gatekit.py, which tools import too)."""

from __future__ import annotations

from pathlib import Path

import pytest
from gatekit import GateSite


@pytest.fixture
def gate_site(tmp_path: Path) -> GateSite:
    return GateSite(tmp_path / "site")
