"""Shared fixtures: the tiny hand-written bank, the small CI bank and THE batch run of a session.

``ci_run`` is the one run of the real report notebooks per test session (``make test`` runs
them once more through nbval, and no other time): every test that needs real reports, their
``metrics.json``, the index or the manifest takes ``ci_run`` instead of running a batch.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from ci_bank import ROOT, Bank, build_ci_bank
from hostile import HostileBatch, build_hostile_batch


@pytest.fixture(scope="session")
def ci_bank() -> Bank:
    """The small synthetic bank of ``make test`` (``build/ci``, or ``$BANKANALYSIS_CI_BANK``)."""
    base = Path(os.environ.get("BANKANALYSIS_CI_BANK", ROOT / "build" / "ci"))
    return build_ci_bank(base)


@pytest.fixture(scope="session")
def ci_run(ci_bank: Bank, tmp_path_factory: pytest.TempPathFactory) -> HostileBatch:
    """Every report notebook run ONCE per session on a copy of the CI bank, for two regions.

    The copy carries hostile names (see ``tests/hostile.py``): region ``region_a`` is called
    ``<script>alert(1)</script>``. Read, never write, what it holds: ``run_dir`` (index.html,
    manifest.json, ``<region>/<notebook>.html`` and ``metrics.json``), ``processed`` (the data
    the reports were computed from), ``region_a``/``region_b``, ``exit_code``, ``html_files``
    and ``result`` (``run_batch``'s result: ``result.results`` has one entry per report with
    ``name``, ``notebook``, ``status``, ``html`` and ``metrics``).
    """
    return build_hostile_batch(ci_bank.raw, tmp_path_factory.mktemp("ci_run"))


@pytest.fixture()
def tiny_raw(tmp_path: Path) -> Path:
    """A fresh copy of the tiny hand-written bank as CSV files."""
    from tinybank import write_tiny_bank

    return write_tiny_bank(tmp_path / "raw", fmt="csv")


@pytest.fixture(scope="session")
def propensity_bank():
    """The propensity tests' in-memory bank (``tests/propensity_data.py``), built once."""
    from propensity_data import make_bank

    return make_bank()


@pytest.fixture(scope="session")
def propensity_fit(propensity_bank, tmp_path_factory: pytest.TempPathFactory):
    """``(bundle, reused, settings, cache_dir)``: the bank's models, fitted once per session."""
    from propensity_data import FIT_SETTINGS

    from bankanalysis.propensity import TrainingSettings, fit_or_load

    cache = tmp_path_factory.mktemp("models")
    settings = TrainingSettings(**FIT_SETTINGS)
    bundle, reused = fit_or_load(propensity_bank, settings, cache)
    return bundle, reused, settings, cache
