"""The run index: one page linking every report of a batch run, with its headline numbers.

Rendered from the run manifest the batch writes (:mod:`bankanalysis.batch`); a self-contained
page with the reports' stylesheet, no script, every string from the data escaped.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bankanalysis.report.html import ERROR_ANCHOR, REPORT_CSS, escape

__all__ = ["HEADLINE_METRICS", "index_html", "key_metrics", "manifest_json"]

logger = logging.getLogger(__name__)


#: The numbers the run index shows per report, what a manager looks at first, with the label
#: and format the index gives them (``pct``: a share shown as a percentage).
HEADLINE_METRICS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "00_bank_overview": (
        ("bank.customers", "customers", "num"),
        ("bank.aum", "AUM", "num"),
        ("targets.share_met", "targets met", "pct"),
    ),
    "01_customer_segmentation": (
        ("tiers.customers", "customers", "num"),
        ("tiers.share.vip", "VIP share", "pct"),
        ("migration.upward_rate", "moved up a tier", "pct"),
    ),
    "02_cross_sell_propensity": (
        ("propensity.products_beating_baseline", "models beating the tier baseline", "num"),
        ("propensity.nbo.leads", "leads", "num"),
        ("propensity.nbo.coverage_uplift", "expected coverage gain", "pct"),
    ),
    "03_outlet_benchmarking": (
        ("outlets.count", "outlets", "num"),
        ("dea.mean_efficiency", "mean DEA efficiency", "num"),
        ("self_service.ratio", "self-service banks per outlet", "num"),
    ),
}


def key_metrics(
    metrics: Mapping[str, Any], notebook: str | None = None, n: int = 3
) -> list[tuple[str, str]]:
    """The metrics the run index shows for one report, as ``(label, formatted value)``.

    Parameters
    ----------
    metrics : mapping
        The report's ``metrics.json`` values.
    notebook : str, optional
        Notebook stem; its :data:`HEADLINE_METRICS` come first (those it recorded).
    n : int
        How many to show; other metrics, by name in name order, fill up to ``n``.

    Returns
    -------
    list of (str, str)
    """
    shown = [
        (label, _fmt_metric(metrics[name], kind))
        for name, label, kind in HEADLINE_METRICS.get(notebook or "", ())
        if name in metrics
    ]
    headline = {name for name, _, _ in HEADLINE_METRICS.get(notebook or "", ())}
    shown += [(k, _fmt_metric(metrics[k])) for k in sorted(metrics) if k not in headline]
    return shown[:n]


def _fmt_metric(v: Any, kind: str = "num") -> str:
    if v is None or (isinstance(v, float) and v != v):
        return "n/a"
    if kind == "pct" and isinstance(v, int | float):
        return f"{v:.1%}"
    if isinstance(v, float):
        return f"{v:,.3g}" if abs(v) < 1000 else f"{v:,.0f}"
    return f"{v:,}" if isinstance(v, int) else str(v)


def _job_cell(job: Mapping[str, Any]) -> str:
    status = job.get("status", "not_run")
    parts = [f'<span class="status {escape(status)}">{escape(status)}</span>']
    if job.get("duration_s") is not None:
        parts.append(f"{float(job['duration_s']):.1f} s")
    if job.get("reused_from"):
        parts.append(f"reused from run {escape(job['reused_from'])}")
    if job.get("html"):
        parts.append(f'<a href="{escape(job["html"])}">report</a>')
    if status not in ("ok", "reused", "not_run") and job.get("html"):
        parts.append(f'<a href="{escape(job["html"])}#{ERROR_ANCHOR}">failing cell</a>')
    if job.get("error"):
        parts.append(f"<br><small>{escape(job['error'])}</small>")
    metrics = job.get("metrics") or {}
    if metrics:
        shown = key_metrics(metrics, job.get("notebook"))
        rows = "".join(f"<li>{escape(k)}: {escape(v)}</li>" for k, v in shown)
        parts.append(f'<ul class="metrics">{rows}</ul>')
    links = [
        f'<a href="{escape(o)}">{escape(Path(o).name)}</a>'
        for o in job.get("outputs", [])
        if Path(o).name != "metrics.json"
    ]
    if links:
        parts.append("<br>files: " + ", ".join(links))
    return " ".join(parts)


def index_html(manifest: Mapping[str, Any]) -> str:
    """Render the run index (regions x notebooks) from a run manifest.

    Parameters
    ----------
    manifest : dict
        The run manifest written by :mod:`bankanalysis.batch` (``run_id``, ``status``,
        ``notebooks``, ``regions`` and ``jobs``; job paths relative to the run folder).

    Returns
    -------
    str
        A self-contained HTML page; every data string escaped.
    """
    notebooks: Sequence[str] = manifest.get("notebooks", [])
    regions: Sequence[Mapping[str, Any]] = manifest.get("regions", [])
    jobs = {(j.get("region_id"), j["notebook"]): j for j in manifest.get("jobs", [])}
    head = "".join(f"<th>{escape(nb)}</th>" for nb in notebooks)
    rows = []
    row_keys: list[tuple[str | None, str, str]] = [(None, "whole bank", "")]
    row_keys += [
        (str(r["region_id"]), str(r.get("name", "")), str(r.get("echelon", ""))) for r in regions
    ]
    for rid, name, echelon in row_keys:
        cells = []
        for nb in notebooks:
            job = jobs.get((rid, nb))
            cells.append(f'<td class="l">{_job_cell(job) if job else ""}</td>')
        if not any(jobs.get((rid, nb)) for nb in notebooks):
            continue
        label = f"{escape(name)}<br><small>{escape(rid or '_bank')}</small>"
        rows.append(
            f'<tr><th class="l">{label}</th><td>{escape(echelon)}</td>{"".join(cells)}</tr>'
        )
    counts = manifest.get("counts", {})
    summary = ", ".join(f"{escape(k)}: {escape(v)}" for k, v in sorted(counts.items()))
    status = manifest.get("status", "incomplete")
    meta = [
        ("Run", manifest.get("run_id", "")),
        ("Status", f"{status} ({manifest.get('reason', '')})" if status != "complete" else status),
        ("Jobs", summary),
        ("Data fingerprint", manifest.get("data", {}).get("fingerprint", "")),
        ("Data month", manifest.get("data", {}).get("data_month", "")),
        ("Package version", manifest.get("versions", {}).get("bankanalysis", "")),
        ("Git commit", manifest.get("git_commit", "")),
        ("Started (UTC)", manifest.get("started", "")),
        ("Finished (UTC)", manifest.get("finished", "")),
    ]
    dl = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in meta)
    banner = ""
    if status != "complete":
        banner = f'<div class="banner">This run is {escape(status)}: {escape(manifest.get("reason", ""))}.</div>'
    return (
        "<!DOCTYPE html>\n"
        '<html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>Reports {escape(manifest.get('run_id', ''))}</title>"
        f"<style>{REPORT_CSS}</style></head>\n<body>\n"
        f'<header class="report"><h1>Branch reports</h1><dl class="meta">{dl}</dl>{banner}</header>\n'
        f'<table class="index"><tr><th class="l">region</th><th>echelon</th>{head}</tr>\n'
        + "\n".join(rows)
        + '\n</table>\n<p><a href="manifest.json">manifest.json</a></p>\n</body></html>\n'
    )


def manifest_json(manifest: Mapping[str, Any]) -> str:
    """Serialise a manifest deterministically (sorted keys, UTF-8 kept readable)."""
    return json.dumps(manifest, indent=1, sort_keys=True, ensure_ascii=False, default=str) + "\n"
