"""Shared fixtures: the tiny hand-written bank and a small generated CI bank."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from ci_bank import ROOT, Bank, build_ci_bank

__all__ = ["Bank", "build_ci_bank"]


@pytest.fixture(scope="session")
def ci_bank() -> Bank:
    """The small synthetic bank of ``make test`` (``build/ci``, or ``$BANKANALYSIS_CI_BANK``)."""
    base = Path(os.environ.get("BANKANALYSIS_CI_BANK", ROOT / "build" / "ci"))
    return build_ci_bank(base)


@pytest.fixture()
def tiny_raw(tmp_path: Path) -> Path:
    """A fresh copy of the tiny hand-written bank as CSV files."""
    from tinybank import write_tiny_bank

    return write_tiny_bank(tmp_path / "raw", fmt="csv")
