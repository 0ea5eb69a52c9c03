"""Shared fixtures: the tiny hand-written bank, the small CI bank and THE batch run of a session.

``ci_run`` is the one run of the real report notebooks per test session (``make test`` runs
them once more through nbval, and no other time): every test that needs real reports, their
``metrics.json``, the index or the manifest takes ``ci_run`` instead of running a batch.

The audit (``make audit RUN=... PROCESSED=...``): with ``$BANKANALYSIS_AUDIT_RUN`` (a finished
run folder, e.g. ``reports/latest``) and ``$BANKANALYSIS_AUDIT_PROCESSED`` (the processed data
it was computed from) set, ``ci_run`` and ``ci_bank`` point at that run and that data instead
of building the CI bank and its batch, and only the tests marked ``run_level`` are collected:
the same attacker and privacy checks, on any bank's finished run.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from audit_env import AUDIT_PROCESSED, AUDIT_RUN
from ci_bank import ROOT, Bank, build_ci_bank
from hostile import HostileBatch, build_hostile_batch

TESTS = Path(__file__).resolve().parent


def audit_paths() -> tuple[Path, Path] | None:
    """``(run folder, processed folder)`` of the audit, or ``None`` outside an audit.

    Both variables must be set, the run must have a ``manifest.json`` and the processed folder
    the data fingerprint the run records, so that the checks never compare a run with data it
    was not computed from.
    """
    run, processed = os.environ.get(AUDIT_RUN), os.environ.get(AUDIT_PROCESSED)
    if not run and not processed:
        return None
    if not run or not processed:
        raise pytest.UsageError(f"an audit needs both ${AUDIT_RUN} and ${AUDIT_PROCESSED}")
    run_dir, data = Path(run).resolve(), Path(processed).resolve()
    manifest, data_manifest = run_dir / "manifest.json", data / "_manifest.json"
    for f in (manifest, data_manifest):
        if not f.is_file():
            raise pytest.UsageError(f"audit: {f} does not exist (is {f.parent} finished?)")
    used = json.loads(manifest.read_text("utf-8")).get("data", {}).get("fingerprint")
    have = json.loads(data_manifest.read_text("utf-8")).get("fingerprint")
    if used != have:
        raise pytest.UsageError(
            f"audit: run {run_dir} was computed from data fingerprint {used}, "
            f"{data} holds {have}: pass the processed folder the run read"
        )
    return run_dir, data


def audit_batch(run_dir: Path, processed: Path) -> HostileBatch:
    """A finished run seen as the session's batch (what ``ci_run`` holds in an audit).

    ``region_a``/``region_b`` are the run's first two regions (by id) and ``exit_code`` is 0
    when the manifest says the run is complete; ``raw`` and ``result`` are not known.
    """
    manifest = json.loads((run_dir / "manifest.json").read_text("utf-8"))
    regions = sorted({str(j["region_id"]) for j in manifest["jobs"] if j.get("region_id")})
    if not regions:
        raise pytest.UsageError(f"audit: {run_dir} has no region report")
    a, b = (regions * 2)[:2]
    code = 0 if manifest.get("status") == "complete" else 1
    return HostileBatch(None, processed, run_dir.parent, run_dir, a, b, code)  # type: ignore[arg-type]


def pytest_configure(config: pytest.Config) -> None:
    """Refuse a half-set or inconsistent audit before anything is collected."""
    audit_paths()


def pytest_report_header(config: pytest.Config) -> str | None:
    """Say what an audit reads, at the top of its output."""
    paths = audit_paths()
    return f"audit of run {paths[0]} (processed data {paths[1]})" if paths else None


#: Session fixtures that are expensive to build (a whole batch, fitted models). Under
#: ``pytest -n 2`` (pytest-xdist, ``make test``) every test module that uses one of them runs on
#: the same worker, so each is built once per session, as without workers; other modules are
#: each one unit (their module fixtures, such as a shape's batch, are built once too).
SHARED_FIXTURES = {
    "ci_run": "ci_run",
    "propensity_fit": "propensity",
    "propensity_bank": "propensity",
}


def shared_units(test_dir: Path = TESTS) -> dict[str, str]:
    """``{module file name: unit}`` for the test modules that name a shared fixture; a module
    naming fixtures of two units joins them (every module of both goes to one worker)."""
    uses = {}
    for path in sorted(test_dir.glob("test_*.py")):
        text = path.read_text(encoding="utf-8")
        units = {u for f, u in SHARED_FIXTURES.items() if re.search(rf"\b{f}\b", text)}
        if units:
            uses[path.name] = units
    merged: list[set[str]] = []
    for units in uses.values():
        joined = [m for m in merged if m & units]
        for m in joined:
            merged.remove(m)
            units = units | m
        merged.append(set(units))
    name = {u: "+".join(sorted(m)) for m in merged for u in m}
    return {module: name[next(iter(units))] for module, units in uses.items()}


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """Schedule whole test modules (pytest-xdist's ``loadscope``), the modules sharing an
    expensive session fixture as one unit."""
    from xdist.scheduler import LoadScopeScheduling

    units = shared_units()

    class SharedFixtureScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return units.get(Path(module).name, module)

    return SharedFixtureScheduling(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In an audit, keep only the ``run_level`` tests (the others build hand-made banks)."""
    if audit_paths() is None:
        return
    keep = [i for i in items if i.get_closest_marker("run_level")]
    dropped = [i for i in items if not i.get_closest_marker("run_level")]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = keep


@pytest.fixture(scope="session")
def ci_bank() -> Bank:
    """The small synthetic bank of ``make test`` (``build/ci``, or ``$BANKANALYSIS_CI_BANK``);
    in an audit, the audited processed data (``raw`` is then unknown: ``None``)."""
    paths = audit_paths()
    if paths is not None:
        return Bank(raw=None, processed=paths[1])  # type: ignore[arg-type]
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
    ``name``, ``notebook``, ``status``, ``html`` and ``metrics``). In an audit: the audited run
    (:func:`audit_batch`).
    """
    paths = audit_paths()
    if paths is not None:
        return audit_batch(*paths)
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
