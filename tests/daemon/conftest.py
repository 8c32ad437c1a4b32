"""Fixtures for the daemon tests (the builders live in tests/kit/gate.py, which tools import too)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.kit.gate import GateSite


@pytest.fixture
def gate_site(tmp_path: Path) -> GateSite:
    return GateSite(tmp_path / "site")
