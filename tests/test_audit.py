"""``make audit``: the run-level tests pointed at a finished run fail, naming the leak.

The audit is pytest on the tests marked ``run_level`` with ``$BANKANALYSIS_AUDIT_RUN`` and
``$BANKANALYSIS_AUDIT_PROCESSED`` set (``tests/conftest.py``). Here it is fed a copy of the
session's batch (``ci_run``) in which the overview prints a figure a region report withholds,
and processed data the run was not computed from.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from audit_env import AUDIT_PROCESSED, AUDIT_RUN

TESTS = Path(__file__).resolve().parent


def _audit(run: Path, processed: Path, *args: str) -> subprocess.CompletedProcess:
    """The command ``make audit`` runs, on ``run`` and ``processed``."""
    env = os.environ | {AUDIT_RUN: str(run), AUDIT_PROCESSED: str(processed)}
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "run_level"]
    return subprocess.run(
        [*cmd, "tests", *args],
        cwd=TESTS.parent,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def _first_withheld(run_dir: Path) -> tuple[str, str, str]:
    """``(region, notebook, key)`` of the first plain figure a region report withholds."""
    for f in sorted(run_dir.glob("*/*/metrics.json")):
        region, notebook = f.parent.parent.name, f.parent.name
        data = json.loads(f.read_text("utf-8"))
        why = data.pop("_reasons", {}) or {}
        for key, value in sorted(data.items()):
            if region != "_bank" and "[" not in key and value is None:
                if str(why.get(key, "")).startswith("withheld"):
                    return region, notebook, key
    raise AssertionError(f"no region report of {run_dir} withholds a figure")


@pytest.mark.slow
def test_the_audit_fails_on_a_run_whose_overview_prints_what_a_region_report_withholds(
    ci_run, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    shutil.copytree(ci_run.run_dir, run)
    region, notebook, key = _first_withheld(run)
    overview = run / "_bank" / "00_bank_overview" / "metrics.json"
    data = json.loads(overview.read_text("utf-8"))
    data[f"{key}[region={region}]"] = 0.125
    overview.write_text(json.dumps(data), "utf-8")

    # the checks that read the run (those that recompute every region from the processed data,
    # "ci_bank" in their names, take minutes and do not read the run), the HTML attacker's
    # attacks A and B included: a region's own count of 1 to k-1 is withheld in every report
    out = _audit(run, ci_run.processed, "-k", "not ci_bank", "-rf")
    text = out.stdout + out.stderr
    assert out.returncode == 1, text
    # the attacker names the leak; the consistency check sees one KPI with two values; every
    # other run-level check that reads the run passes on the doctored copy
    failed = sorted(ln.split()[1] for ln in text.splitlines() if ln.startswith("FAILED "))
    assert failed == [
        "tests/test_attacker.py::test_no_figure_is_recoverable_by_combining_the_reports_of_a_run",
        "tests/test_consistency.py::test_every_kpi_has_one_value_per_region_across_reports",
    ], text
    assert f"('{region}', '{key}', 'withheld in {notebook}', 'printed in 00_bank_overview')" in text
    assert "2 failed" in text and " passed" in text, text


@pytest.mark.slow
def test_the_audit_refuses_processed_data_the_run_was_not_computed_from(
    ci_run, ci_bank, tmp_path: Path
) -> None:
    # the batch ran on a copy of the CI bank with other names: another fingerprint
    out = _audit(ci_run.run_dir, ci_bank.processed)
    assert out.returncode == 4, out.stdout + out.stderr  # pytest's usage error
    assert "was computed from data fingerprint" in out.stderr
    assert str(ci_bank.processed.resolve()) in out.stderr
