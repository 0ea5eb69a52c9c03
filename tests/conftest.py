"""Shared fixtures: the tiny hand-written bank and a small generated CI bank."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Size of the small synthetic bank used by notebook and end-to-end tests.
CI_BANK_CUSTOMERS = 3000
CI_BANK_MONTHS = 13
CI_BANK_SEED = 7


@dataclass(frozen=True)
class Bank:
    """Locations of a raw and a processed bank."""

    raw: Path
    processed: Path


def build_ci_bank(base: Path) -> Bank:
    """Generate (deterministically) and prepare the CI bank under ``base``; reuse if current."""
    from bankanalysis.data.generate import generate_bank
    from bankanalysis.data.prepare import prepare

    raw, processed = base / "raw", base / "processed"
    if not (raw / "_truth" / ".synthetic").exists():
        generate_bank(
            raw, n_customers=CI_BANK_CUSTOMERS, n_months=CI_BANK_MONTHS, seed=CI_BANK_SEED
        )
    prepare(raw, processed)
    return Bank(raw=raw, processed=processed)


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
