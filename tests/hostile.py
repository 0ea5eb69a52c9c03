"""A small batch on a bank with hostile names, shared by the privacy, browser and fault tests.

The CI bank (``ci_bank`` fixture) is copied and two regions are given names an attacker or a
careless extract could produce:

- region A is called ``<script>alert(1)</script>`` and one of its outlets
  ``<img src=x onerror=alert(2)>``;
- region B has an outlet called ``O'Brien & "Sons" <b>bold</b>``.

The copy is prepared and every report notebook is run for the two regions. This is THE batch
run of the test session: the ``ci_run`` fixture of ``tests/conftest.py`` builds it once and
every test that needs real reports (end-to-end, privacy, browser, faults) uses that fixture.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

SCRIPT_NAME = "<script>alert(1)</script>"
IMG_NAME = "<img src=x onerror=alert(2)>"
QUOTES_NAME = 'O\'Brien & "Sons" <b>bold</b>'
RUN_ID = "hostile"


@dataclass(frozen=True)
class HostileBatch:
    """Where the hostile bank and its batch live."""

    raw: Path
    processed: Path
    reports: Path
    run_dir: Path
    region_a: str
    region_b: str
    exit_code: int
    #: The batch's own result (``run_batch``'s return value: ``results`` per report, ...).
    result: Any = None

    @property
    def html_files(self) -> list[Path]:
        """Every HTML page of the run, the index first."""
        pages = sorted(self.run_dir.rglob("*.html"))
        index = self.run_dir / "index.html"
        return [index] + [p for p in pages if p != index]


def _read(raw: Path, table: str) -> tuple[pd.DataFrame, Path]:
    for ext in ("parquet", "csv"):
        p = raw / f"{table}.{ext}"
        if p.is_file():
            df = pd.read_parquet(p) if ext == "parquet" else pd.read_csv(p, dtype=str)
            return df, p
    raise FileNotFoundError(raw / table)


def _write(df: pd.DataFrame, path: Path) -> None:
    if path.suffix == ".parquet":
        df.to_parquet(path, index=False)
    else:
        df.to_csv(path, index=False)


def build_hostile_batch(ci_raw: Path, base: Path) -> HostileBatch:
    """Copy the CI bank, plant hostile names, prepare it and run every notebook for 2 regions."""
    from bankanalysis.batch import run_batch
    from bankanalysis.data.prepare import prepare

    raw = base / "raw"
    shutil.copytree(ci_raw, raw, ignore=shutil.ignore_patterns("_truth"))
    regions, rpath = _read(raw, "regions")
    outlets, opath = _read(raw, "outlets")
    # the two regions with the most outlets, so the per-region reports have peers to show
    counts = outlets.groupby("region_id").size().sort_values(ascending=False, kind="stable")
    region_a, region_b = (str(r) for r in counts.index[:2])
    regions.loc[regions["region_id"] == region_a, "name"] = SCRIPT_NAME
    first_a = outlets.index[outlets["region_id"] == region_a][0]
    first_b = outlets.index[outlets["region_id"] == region_b][0]
    outlets.loc[first_a, "name"] = IMG_NAME
    outlets.loc[first_b, "name"] = QUOTES_NAME
    _write(regions, rpath)
    _write(outlets, opath)
    processed = base / "processed"
    prepare(raw, processed)
    reports = base / "reports"
    result = run_batch(
        regions=[region_a, region_b],
        notebooks=None,
        jobs=2,
        run_id=RUN_ID,
        out=reports,
        processed_dir=processed,
        progress=False,
    )
    return HostileBatch(
        raw, processed, reports, result.run_dir, region_a, region_b, result.exit_code, result
    )
