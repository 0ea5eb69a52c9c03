"""The run index: one page linking every report of a batch run, with its headline KPIs.

Rendered from the run manifest the batch writes (:mod:`bankanalysis.batch`); a self-contained
page with the reports' stylesheet, no script, every string from the data escaped.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bankanalysis.data.restricted import is_restricted
from bankanalysis.report.format import Absent, format_value
from bankanalysis.report.html import ERROR_ANCHOR, REPORT_CSS, escape
from bankanalysis.report.metrics import REASONS
from bankanalysis.rules import kpis
from bankanalysis.rules.kpis import is_kpi, parse_metric_key

__all__ = [
    "HEADLINE_METRICS",
    "index_html",
    "key_metrics",
    "manifest_json",
    "metric_label",
    "readable_error",
]

logger = logging.getLogger(__name__)


#: The KPIs the run index shows per report, what a manager looks at first (metric keys of
#: :mod:`bankanalysis.rules.kpis`: KPI ids, or breakdown keys such as ``customer_share[tier=vip]``).
#: Names, units and formats come from the dictionary through :mod:`bankanalysis.report.format`.
HEADLINE_METRICS: dict[str, tuple[str, ...]] = {
    "00_bank_overview": ("customers", "aum", "targets_met_share"),
    "01_customer_segmentation": ("customers", "customer_share[tier=vip]", "upward_migration_rate"),
    "02_cross_sell_propensity": (
        "models_beating_baseline",
        "leads",
        "expected_new_products_per_customer",
    ),
    "03_outlet_benchmarking": ("outlets", "dea_efficiency", "self_service_per_outlet"),
}


def metric_label(key: str) -> str:
    """The words the index shows for a metric key: the KPI's name and its breakdown.

    Examples
    --------
    >>> metric_label("product_coverage")
    'Product coverage'
    >>> metric_label("customer_share[tier=vip]")
    'Share of customers (tier vip)'
    """
    kpi_id, by = parse_metric_key(key)
    name = kpis.get(kpi_id).name
    if not by:
        return name
    return f"{name} ({', '.join(f'{dim} {value}' for dim, value in by.items())})"


def key_metrics(
    metrics: Mapping[str, Any],
    notebook: str | None = None,
    n: int = 3,
    currency: str = "CNY",
) -> list[tuple[str, str]]:
    """The metrics the run index shows for one report, as ``(label, formatted value)``.

    Parameters
    ----------
    metrics : mapping
        The report's ``metrics.json`` (KPI keys; a ``null`` value's reason under
        :data:`~bankanalysis.report.metrics.REASONS`).
    notebook : str, optional
        Notebook stem; its :data:`HEADLINE_METRICS` come first (those it recorded).
    n : int
        How many to show; the report's other KPIs, by key in key order, fill up to ``n``.
    currency : str
        Currency of money values.

    Returns
    -------
    list of (str, str)
        Label and value, both formatted by the KPI dictionary. Keys that are not KPIs of the
        dictionary (a report of an older version) are left out.
    """
    reasons = metrics.get(REASONS) or {}
    values = {k: v for k, v in metrics.items() if k != REASONS and is_kpi(k)}
    skipped = sorted(k for k in metrics if k != REASONS and k not in values)
    if skipped:
        logger.warning("run index: metrics keys that are not KPIs left out: %s", skipped)
    headline = [k for k in HEADLINE_METRICS.get(notebook or "", ()) if k in values]
    order = headline + [k for k in sorted(values) if k not in headline]
    shown = []
    for key in order[:n]:
        value = values[key]
        if value is None and key in reasons:
            value = Absent(str(reasons[key]))
        shown.append((metric_label(key), format_value(key, value, currency)))
    return shown


_ERROR = re.compile(
    r"^(?P<name>[A-Za-z_][\w.]*(?:Error|Exception|Interrupt)): (?P<message>.*)$", re.S
)


def readable_error(error: str) -> tuple[str, str]:
    """Why a job failed, in words, and the exception name (for a tooltip, "" when none).

    The package's own errors (:mod:`bankanalysis.exceptions`) carry a message written for the
    user (e.g. the data are too short for the propensity horizon): the message alone is shown.
    Any other exception is a fault of the report: "unexpected error: <message>".

    Examples
    --------
    >>> readable_error("ModelError: the data hold 5 months up to 2025-05")
    ('the data hold 5 months up to 2025-05', 'ModelError')
    >>> readable_error("KeyError: 'e_channel_rate'")
    ("unexpected error: 'e_channel_rate'", 'KeyError')
    >>> readable_error("timed out after 20 minutes (timeout_minutes)")
    ('timed out after 20 minutes (timeout_minutes)', '')
    """
    from bankanalysis import exceptions

    found = _ERROR.match(error.strip())
    if not found:
        return error, ""
    name, message = found["name"], found["message"].strip()
    own = getattr(exceptions, name.rsplit(".", 1)[-1], None)
    if isinstance(own, type) and issubclass(own, exceptions.BankAnalysisError):
        return message, name
    return f"unexpected error: {message}", name


def _job_cell(job: Mapping[str, Any], currency: str) -> str:
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
        text, name = readable_error(str(job["error"]))
        title = f' title="{escape(name)}"' if name else ""
        parts.append(f"<br><small{title}>{escape(text)}</small>")
    metrics = job.get("metrics") or {}
    if metrics:
        shown = key_metrics(metrics, job.get("notebook"), currency=currency)
        rows = "".join(f"<li>{escape(k)}: {escape(v)}</li>" for k, v in shown)
        parts.append(f'<ul class="metrics">{rows}</ul>')
    links = [
        f'<a href="{escape(o)}">{escape(Path(o).name)}</a>'
        for o in job.get("outputs", [])
        if Path(o).name != "metrics.json" and not is_restricted(o)
    ]
    if links:
        parts.append("<br>files: " + ", ".join(links))
    return " ".join(parts)


def index_html(manifest: Mapping[str, Any], currency: str | None = None) -> str:
    """Render the run index (regions x notebooks) from a run manifest.

    Parameters
    ----------
    manifest : dict
        The run manifest written by :mod:`bankanalysis.batch` (``run_id``, ``status``,
        ``notebooks``, ``regions`` and ``jobs``; job paths relative to the run folder).
    currency : str, optional
        Currency of money figures; default the manifest's ``currency``, else ``"CNY"``.

    Returns
    -------
    str
        A self-contained HTML page; every data string escaped.
    """
    currency = currency or str(manifest.get("currency") or "CNY")
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
            cells.append(f'<td class="l">{_job_cell(job, currency) if job else ""}</td>')
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
        + '\n</table>\n<p><a href="kpis.html">KPI glossary</a> · <a href="manifest.json">manifest.json</a></p>\n</body></html>\n'
    )


def manifest_json(manifest: Mapping[str, Any]) -> str:
    """Serialise a manifest deterministically (sorted keys, UTF-8 kept readable)."""
    return json.dumps(manifest, indent=1, sort_keys=True, ensure_ascii=False, default=str) + "\n"
