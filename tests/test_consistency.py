"""One value per KPI: the same KPI of the same region and month agrees wherever a run shows it.

Every report's ``metrics.json`` (keys are KPI ids; see :mod:`bankanalysis.rules.kpis`), the bank
overview's per-region breakdowns (``kpi[region=R]``) and the run index are compared on the
session's batch (``ci_run``).
"""

from __future__ import annotations

import html
import json
import math
import re
from collections import defaultdict
from pathlib import Path

import pytest

from bankanalysis.report.format import format_value
from bankanalysis.report.index import HEADLINE_METRICS, metric_label
from bankanalysis.report.metrics import read_metrics
from bankanalysis.rules.kpis import parse_metric_key, plan_kpis

BANK = "_bank"


def _observations(run_dir: Path) -> dict[tuple, list[tuple[str, float | None]]]:
    """``{(kpi, region, other breakdown): [(source, value), ...]}`` over every report."""
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    seen: dict[tuple, list[tuple[str, float | None]]] = defaultdict(list)
    for job in manifest["jobs"]:
        path = _metrics_path(run_dir, job)
        if job.get("status") not in ("ok", "reused") or path is None:
            continue
        source = f"{job.get('region_id') or BANK}/{job['notebook']}"
        metrics = read_metrics(path)
        for key, value in metrics.items():
            kpi, by = parse_metric_key(key)
            region = by.pop("region", None) or job.get("region_id") or BANK
            seen[(kpi, region, tuple(sorted(by.items())))].append((source, value))
    return seen


def _metrics_path(run_dir: Path, job: dict) -> Path | None:
    """The job's ``metrics.json`` as the manifest lists it among the job's outputs."""
    for out in job.get("outputs", []):
        if Path(out).name == "metrics.json" and (run_dir / out).is_file():
            return run_dir / out
    return None


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


@pytest.mark.run_level
def test_every_kpi_has_one_value_per_region_across_reports(ci_run):
    seen = _observations(ci_run.run_dir)
    shared = {k: v for k, v in seen.items() if len({s for s, _ in v}) > 1}
    # the comparison is not empty: the plan's KPIs appear in several reports of a region
    kpis_shared = {k[0] for k in shared}
    assert {"customers", "product_coverage", "stock_retention"} <= kpis_shared, sorted(kpis_shared)
    assert {k[1] for k in shared} >= {ci_run.region_a, ci_run.region_b}
    differ = {k: v for k, v in shared.items() if not all(_same(v[0][1], x) for _, x in v[1:])}
    assert not differ, "one KPI, several values:\n" + "\n".join(
        f"{k}: {v}" for k, v in sorted(differ.items())
    )


@pytest.mark.run_level
def test_the_index_shows_the_reports_values(ci_run):
    """The index's region rows carry the reports' plan KPIs; its bank figures the overview's."""
    raw = (ci_run.run_dir / "index.html").read_text(encoding="utf-8")
    text = html.unescape(re.sub(r"<[^>]+>", "", raw))
    manifest = json.loads((ci_run.run_dir / "manifest.json").read_text(encoding="utf-8"))
    currency = manifest.get("currency", "CNY")
    rows = {
        m.group(1): m.group(0)
        for m in re.finditer(r'<tr data-echelon=.*?href="([^"/]+)/.*?</tr>', raw, flags=re.S)
    }
    plan = {k.id for k in plan_kpis()}
    checked = 0
    for job in manifest["jobs"]:
        path = _metrics_path(ci_run.run_dir, job)
        if path is None:
            continue
        metrics = read_metrics(path)
        if job.get("region_id") is None:
            for key in HEADLINE_METRICS[job["notebook"]]:
                if metrics.get(key) is not None:
                    shown = f"{metric_label(key)}: {format_value(key, metrics[key], currency)}"
                    assert shown in text, shown
                    checked += 1
            continue
        row = rows[job["region_id"]]
        for key in sorted(plan & set(metrics)):
            if metrics[key] is None:
                continue
            shown = format_value(key, metrics[key], currency, unit=False)
            cells = re.findall(rf'data-v="([^"]*)">{re.escape(html.escape(shown))}[ <]', row)
            assert any(_same(float(v), float(metrics[key])) for v in cells), (job, key, shown)
            checked += 1
    assert checked >= 8
