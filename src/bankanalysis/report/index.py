"""The run index: the portal to a batch run's reports.

Rendered from the run manifest the batch writes (:mod:`bankanalysis.batch`) as one
self-contained page with the reports' stylesheet:

- the whole bank first: a link to the bank overview and the bank-wide figures, shown once;
- one row per region, by name with its echelon: links to each of its reports, its targets met
  and the annual plan's KPIs (:func:`bankanalysis.rules.kpis.plan_kpis`) with units, the
  currency and met/missed where the plan sets a target;
- a search box finding a region or an outlet by name, a filter by echelon and sorting by any
  column: a few lines of embedded script over the page's own table and outlet list (no data in
  the script, no external file; without script the page is a plain table and a list);
- provenance (run, data fingerprint, git commit, versions) at the bottom.

Every string from the data is escaped; the script reads names only as text.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bankanalysis.data.restricted import is_restricted
from bankanalysis.planning.progress import PLAN_FLOW_KPIS
from bankanalysis.report.format import (
    DEFAULT_CURRENCY,
    Absent,
    attainment_met,
    format_value,
    is_missing,
    kpi_label,
    unit_label,
)
from bankanalysis.report.html import ERROR_ANCHOR, REPORT_CSS, escape
from bankanalysis.report.metrics import REASONS, suppressed_from_reason
from bankanalysis.rules import kpis
from bankanalysis.rules.kpis import is_kpi, parse_metric_key, plan_kpis

__all__ = [
    "BANK_FIGURES",
    "HEADLINE_METRICS",
    "INDEX_SCRIPT",
    "REPORT_NAMES",
    "RegionRow",
    "bank_figures",
    "index_columns",
    "index_html",
    "key_metrics",
    "manifest_json",
    "metric_label",
    "outlet_entries",
    "readable_error",
    "region_rows",
    "report_name",
    "sibling_links",
    "target_met",
]

logger = logging.getLogger(__name__)

#: The reports' names in words, by notebook stem.
REPORT_NAMES: dict[str, str] = {
    "00_bank_overview": "Bank overview",
    "01_customer_segmentation": "Customer segmentation",
    "02_cross_sell_propensity": "Cross-sell leads",
    "03_outlet_benchmarking": "Outlet benchmarking",
}

#: The KPIs a report is summed up by (metric keys of :mod:`bankanalysis.rules.kpis`); the index
#: shows the bank overview's and the bank-wide figures of the others once, in the bank section.
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

#: Plan-progress columns of the region rows (metric keys): each plan cumulative KPI's
#: year-to-date attainment of the annual plan, as the region's report (plain key) or the
#: overview (``[region=R,...]``) records it.
PLAN_PROGRESS_METRICS: tuple[str, ...] = tuple(
    kpis.metric_key("plan_ytd_attainment", kpi=k) for k in PLAN_FLOW_KPIS
)

#: Figures that belong to the whole bank, shown once at the top: (notebook, metric key). The
#: propensity models are fitted on the whole bank, so every region's report records the same
#: count of models beating the tier baseline.
BANK_FIGURES: tuple[tuple[str, str], ...] = (
    ("00_bank_overview", "regions"),
    ("00_bank_overview", "customers"),
    ("00_bank_overview", "aum"),
    ("00_bank_overview", "targets_met_share"),
    ("02_cross_sell_propensity", "models_beating_baseline"),
)


def report_name(notebook: str) -> str:
    """A report's name in words: ``"Customer segmentation"`` for ``01_customer_segmentation``.

    Examples
    --------
    >>> report_name("03_outlet_benchmarking")
    'Outlet benchmarking'
    >>> report_name("04_new_things")
    'New things'
    """
    if notebook in REPORT_NAMES:
        return REPORT_NAMES[notebook]
    words = re.sub(r"^\d+_", "", notebook).replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def sibling_links(
    region_id: str | None,
    notebook: str,
    planned: Iterable[tuple[str | None, str]],
    bank_folder: str = "_bank",
) -> list[tuple[str, str]]:
    """Links from a report to its region's other reports and the bank overview.

    Parameters
    ----------
    region_id, notebook : str
        The report (``region_id`` ``None`` for a bank-level report).
    planned : iterable of (region id, notebook)
        Every job of the run.
    bank_folder : str
        Folder of the bank-level reports in the run.

    Returns
    -------
    list of (str, str)
        ``(report name, href relative to the report's folder)``; bank reports first.

    Examples
    --------
    >>> sibling_links("R1", "01_customer_segmentation",
    ...               [(None, "00_bank_overview"), ("R1", "01_customer_segmentation"),
    ...                ("R1", "03_outlet_benchmarking"), ("R2", "03_outlet_benchmarking")])
    [('Bank overview', '../_bank/00_bank_overview.html'), ('Outlet benchmarking', '03_outlet_benchmarking.html')]
    """
    links = []
    for rid, nb in planned:
        if (rid, nb) == (region_id, notebook):
            continue
        if rid is None:
            href = f"{nb}.html" if region_id is None else f"../{bank_folder}/{nb}.html"
            links.append((0, report_name(nb), href))
        elif rid == region_id:
            links.append((1, report_name(nb), f"{nb}.html"))
    return [(name, href) for _, name, href in sorted(links, key=lambda t: t[0])]


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


def _value(metrics: Mapping[str, Any], key: str) -> Any:
    """A recorded value, an :class:`Absent` with the report's reason for a null, else None."""
    if key not in metrics:
        return None
    value = metrics[key]
    if value is None:
        reason = (metrics.get(REASONS) or {}).get(key)
        return Absent(str(reason)) if reason else None
    return value


def key_metrics(
    metrics: Mapping[str, Any],
    notebook: str | None = None,
    n: int = 3,
    currency: str = DEFAULT_CURRENCY,
) -> list[tuple[str, str]]:
    """A report's headline metrics as ``(label, formatted value)``.

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
    values = {k: v for k, v in metrics.items() if k != REASONS and is_kpi(k)}
    skipped = sorted(k for k in metrics if k != REASONS and k not in values)
    if skipped:
        logger.warning("run index: metrics keys that are not KPIs left out: %s", skipped)
    headline = [k for k in HEADLINE_METRICS.get(notebook or "", ()) if k in values]
    order = headline + [k for k in sorted(values) if k not in headline]
    return [
        (metric_label(key), format_value(key, _value(metrics, key), currency)) for key in order[:n]
    ]


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


# --------------------------------------------------------------------------- the data


def target_met(kpi_id: str, attainment: Any) -> bool | None:
    """Whether a target is met, from the attainment ratio (actual / target).

    The one rule of the reports (:func:`~bankanalysis.report.format.attainment_met`) on the
    exact ratio against 1, by the KPI's direction, as the summary's "targets missed" decides;
    the ratio's display (:func:`~bankanalysis.report.format.format_value`) never reads 100 %
    for a ratio that is not 1 (``99.96%``), so "missed" never stands beside "100.0%".
    ``None`` when the ratio is missing or the KPI has no direction.

    Examples
    --------
    >>> target_met("aum", 1.02), target_met("aum", 0.9994), target_met("aum", 0.9996)
    (True, False, False)
    >>> target_met("manager_adequacy", 1.1), target_met("aum", 1.0)
    (False, True)
    """
    if is_missing(attainment) or not kpis.is_kpi(kpi_id):
        return None
    return attainment_met(kpi_id, float(attainment), 1.0)


@dataclass
class RegionRow:
    """One region of the index: its reports, plan KPI values and target attainment."""

    region_id: str
    name: str
    echelon: str
    #: The region's jobs of the manifest, in notebook order.
    jobs: list[Mapping[str, Any]] = field(default_factory=list)
    #: KPI id -> value (float, or :class:`Absent` with the report's reason).
    values: dict[str, Any] = field(default_factory=dict)
    #: KPI id -> attainment ratio (actual / target) where the plan sets a target.
    attainment: dict[str, float] = field(default_factory=dict)
    #: Outlet names of the region (for the search).
    outlets: list[str] = field(default_factory=list)

    @property
    def targets(self) -> tuple[int, int]:
        """Targets met and targets with a verdict."""
        verdicts = [target_met(k, a) for k, a in self.attainment.items()]
        known = [v for v in verdicts if v is not None]
        return sum(known), len(known)


def _jobs_by_key(manifest: Mapping[str, Any]) -> dict[tuple[str | None, str], Mapping[str, Any]]:
    return {(j.get("region_id"), j["notebook"]): j for j in manifest.get("jobs", [])}


def _overview_metrics(manifest: Mapping[str, Any]) -> Mapping[str, Any]:
    for j in manifest.get("jobs", []):
        if j.get("region_id") is None and j["notebook"] == "00_bank_overview":
            return j.get("metrics") or {}
    return {}


def region_rows(manifest: Mapping[str, Any]) -> list[RegionRow]:
    """The index's region rows from a run manifest, in the manifest's region order.

    A plan KPI's value is the region's own report's (its plain key), else the bank overview's
    breakdown ``<kpi>[region=<id>]``; the two agree (``tests/test_consistency.py``). Target
    attainment comes from ``target_attainment[kpi=<kpi>]`` of a region report, else
    ``target_attainment[region=<id>,kpi=<kpi>]`` of the overview.

    Parameters
    ----------
    manifest : mapping
        Run manifest (``regions``, ``notebooks``, ``jobs`` with ``metrics``; optional
        ``outlets``, a list of ``{"name", "region_id"}``).

    Returns
    -------
    list of RegionRow
    """
    jobs = _jobs_by_key(manifest)
    notebooks: Sequence[str] = manifest.get("notebooks", [])
    overview = _overview_metrics(manifest)
    plan_ids = [k.id for k in plan_kpis()]
    outlets: dict[str, list[str]] = {}
    for o in manifest.get("outlets") or []:
        outlets.setdefault(str(o.get("region_id")), []).append(str(o.get("name", "")))
    rows = []
    for r in manifest.get("regions", []):
        rid = str(r["region_id"])
        row = RegionRow(rid, str(r.get("name", rid)), str(r.get("echelon", "")))
        row.jobs = [jobs[(rid, nb)] for nb in notebooks if (rid, nb) in jobs]
        row.outlets = outlets.get(rid, [])
        own = [j.get("metrics") or {} for j in row.jobs]
        for kpi_id in (*plan_ids, *PLAN_PROGRESS_METRICS):
            found = [_value(m, kpi_id) for m in own if kpi_id in m]
            found.append(_value(overview, _in_region(kpi_id, rid)))
            present = [v for v in found if v is not None and not is_missing(v)]
            reasons = [v for v in found if isinstance(v, Absent)]
            # withheld by one report of the run: no other report's figure fills it in
            hidden = [h for v in reasons if (h := suppressed_from_reason(v.reason)) is not None]
            if hidden:
                row.values[kpi_id] = hidden[0]
            elif present:
                row.values[kpi_id] = float(present[0])
            elif reasons:
                row.values[kpi_id] = reasons[0]
        withheld_att: set[str] = set()
        for source, prefix in [(m, {}) for m in own] + [(overview, {"region": rid})]:
            for key, value in source.items():
                if key == REASONS or not key.startswith("target_attainment["):
                    continue
                _, by = parse_metric_key(key)
                kpi_id = by.pop("kpi", None)
                if value is None:
                    why = (source.get(REASONS) or {}).get(key)
                    hid = suppressed_from_reason(why)
                    if kpi_id and by == prefix and hid is not None:
                        withheld_att.add(kpi_id)
                        # a figure known only through its attainment (the region's AUM) is
                        # shown withheld, not left out
                        row.values.setdefault(kpi_id, hid)
                    continue
                if kpi_id and by == prefix and kpi_id not in {*row.attainment, *withheld_att}:
                    row.attainment[kpi_id] = float(value)
        rows.append(row)
    return rows


def _in_region(key: str, region_id: str) -> str:
    """The overview's key of a region's figure: ``kpi[region=R,<breakdown>]``.

    Examples
    --------
    >>> _in_region("plan_ytd_attainment[kpi=fee_income]", "R1")
    'plan_ytd_attainment[region=R1,kpi=fee_income]'
    """
    kpi_id, by = parse_metric_key(key)
    return kpis.metric_key(kpi_id, region=region_id, **by)


def column_label(key: str, currency: str = DEFAULT_CURRENCY) -> str:
    """Header of an index column: the KPI with its unit, then its breakdown's KPI by name.

    Examples
    --------
    >>> column_label("plan_ytd_attainment[kpi=new_deposits]")
    'Year-to-date attainment of the annual plan: New personal deposits (%)'
    >>> column_label("fee_income", "EUR")
    'Intermediary (fee) income (EUR)'
    """
    kpi_id, by = parse_metric_key(key)
    if "kpi" not in by:
        return kpi_label(key, currency)
    k = kpis.get(kpi_id)
    return f"{k.name}: {kpis.get(by['kpi']).name} ({unit_label(k, currency) or k.unit})"


def index_columns(rows: Iterable[RegionRow]) -> list[str]:
    """KPI columns of the index: the plan's KPIs any region has, then other KPIs with targets.

    Examples
    --------
    >>> index_columns([RegionRow("R1", "a", "1", values={"customers": 3.0},
    ...                          attainment={"deposit_balance": 0.9})])
    ['customers', 'deposit_balance']
    """
    rows = list(rows)
    have = {k for r in rows for k in r.values} | {k for r in rows for k in r.attainment}
    plan = [k.id for k in plan_kpis() if k.id in have]
    plan += [k for k in PLAN_PROGRESS_METRICS if k in have]
    extra = sorted(
        {k for r in rows for k in r.attainment if k not in plan and kpis.is_kpi(k)},
        key=lambda k: list(kpis.KPIS).index(k),
    )
    return plan + extra


def bank_figures(
    manifest: Mapping[str, Any], currency: str = DEFAULT_CURRENCY
) -> list[tuple[str, str]]:
    """The bank-wide figures, once: ``(label, value)`` from :data:`BANK_FIGURES`.

    A bank-wide figure every region report records (the models beating the tier baseline) is
    shown once when the reports agree, as a range "a to b" when they do not.
    """
    shown = []
    for notebook, key in BANK_FIGURES:
        values = [
            _value(j.get("metrics") or {}, key)
            for j in manifest.get("jobs", [])
            if j["notebook"] == notebook and key in (j.get("metrics") or {})
        ]
        present = sorted({float(v) for v in values if v is not None and not is_missing(v)})
        if len(present) == 1:
            text = format_value(key, present[0], currency)
        elif present:
            low, high = (format_value(key, v, currency) for v in (present[0], present[-1]))
            text = f"{low} to {high} (differs between the regions' reports)"
        elif any(isinstance(v, Absent) for v in values):
            text = format_value(key, next(v for v in values if isinstance(v, Absent)))
        else:
            continue
        shown.append((metric_label(key), text))
    return shown


def outlet_entries(outlets: Any, region_ids: Iterable[str]) -> list[dict[str, str]]:
    """Outlets of the run's regions for the index's search: ``[{"name", "region_id"}]``.

    Parameters
    ----------
    outlets : DataFrame
        Processed ``outlets`` (``region_id``, ``name``; ``outlet_id`` when ``name`` is absent).
    region_ids : iterable of str
        Regions of the run.

    Returns
    -------
    list of dict
        In the table's order, by region.

    Examples
    --------
    >>> import pandas as pd
    >>> o = pd.DataFrame({"outlet_id": ["O1", "O2"], "region_id": ["R1", "R2"],
    ...                   "name": ["East", "West"]})
    >>> outlet_entries(o, ["R2"])
    [{'name': 'West', 'region_id': 'R2'}]
    """
    wanted = [str(r) for r in region_ids]
    if outlets is None or len(outlets) == 0:
        return []
    names = outlets["name"] if "name" in outlets.columns else outlets["outlet_id"]
    rid = outlets["region_id"].astype(str)
    out = []
    for region in wanted:
        mask = (rid == region).to_numpy()
        out += [{"name": str(n), "region_id": region} for n in names[mask].tolist()]
    return out


# --------------------------------------------------------------------------- the page

#: Styles of the index on top of the reports' stylesheet (wide table scrolls, first column
#: stays; sortable headers; met/missed by colour and words).
INDEX_CSS = """
body{max-width:1240px}
[hidden]{display:none!important}
.wrap{overflow-x:auto;max-width:100%}
table.regions{font-size:.84em}
table.regions th.name,table.regions td.name{position:sticky;left:0;background:#fff;z-index:1;
text-align:left;min-width:10em}
table.regions thead th.name{background:#eef3f8}
table.regions th.sortable{cursor:pointer;user-select:none}
table.regions th[aria-sort=ascending]::after{content:" \\25B2"}
table.regions th[aria-sort=descending]::after{content:" \\25BC"}
.met{color:#2e7d32}.missed{color:#c62828}.why{color:#666;font-size:.85em}
.controls{display:flex;gap:1.5em;align-items:center;margin:1em 0;flex-wrap:wrap}
.controls input{font-size:1em;padding:.3em .5em;min-width:20em}
ul.figures{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.4em 2em}
ul.outlets li{margin:.15em 0}
span.job{white-space:nowrap}td.reports{min-width:14em}
footer.provenance{margin-top:2em;border-top:1px solid #ccc;padding-top:.6em;font-size:.9em}
@media print{.controls{display:none}.wrap{overflow:visible}
table.regions{font-size:7.5pt}table.regions th.name,table.regions td.name{position:static;
min-width:0}span.job{white-space:normal}td.reports{min-width:0}}
"""

#: The index's script: search, echelon filter and sorting over the page's own elements. It
#: holds no data; names are read with ``dataset``/``textContent`` and never written as markup.
INDEX_SCRIPT = """
(function () {
  var table = document.getElementById("regions");
  if (!table) { return; }
  var body = table.tBodies[0];
  var heads = table.tHead.rows[0].cells;
  var search = document.getElementById("search");
  var echelon = document.getElementById("echelon");
  var count = document.getElementById("shown");
  var outlets = document.getElementById("outlets");
  var items = outlets ? outlets.querySelectorAll("li") : [];
  document.getElementById("controls").hidden = false;
  function apply() {
    var q = search.value.trim().toLowerCase(), e = echelon.value, n = 0;
    Array.prototype.forEach.call(body.rows, function (row) {
      var ok = (!e || row.dataset.echelon === e) &&
        (!q || row.dataset.q.toLowerCase().indexOf(q) >= 0);
      row.hidden = !ok;
      n += ok ? 1 : 0;
    });
    var hits = 0;
    Array.prototype.forEach.call(items, function (li) {
      var ok = !q || li.dataset.q.toLowerCase().indexOf(q) >= 0;
      li.hidden = !ok;
      hits += ok ? 1 : 0;
    });
    if (outlets) { outlets.open = !!q && hits > 0; }
    count.textContent = n + " of " + body.rows.length + " regions shown" +
      (q ? ", " + hits + (hits === 1 ? " outlet" : " outlets") + " found" : "");
  }
  function key(row, i) {
    var v = row.cells[i].dataset.v;
    if (v === undefined || v === "") { return null; }
    var x = Number(v);
    return isNaN(x) ? v.toLowerCase() : x;
  }
  function sort(i) {
    var th = heads[i], now = th.getAttribute("aria-sort");
    var dir = now ? (now === "ascending" ? "descending" : "ascending") :
      (th.dataset.type === "text" ? "ascending" : "descending");
    Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", dir);
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a, i), y = key(b, i);
      if (x === null || y === null) { return (x === null) - (y === null); }
      var c = x < y ? -1 : x > y ? 1 : 0;
      return dir === "ascending" ? c : -c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }
  Array.prototype.forEach.call(heads, function (th, i) {
    if (!th.classList.contains("sortable")) { return; }
    th.tabIndex = 0;
    th.title = "sort by this column";
    th.addEventListener("click", function () { sort(i); });
    th.addEventListener("keydown", function (ev) { if (ev.key === "Enter") { sort(i); } });
  });
  search.addEventListener("input", apply);
  echelon.addEventListener("change", apply);
  apply();
})();
"""


def _attr(value: Any) -> str:
    return escape(value)


def _num(value: Any) -> str:
    return "" if is_missing(value) else repr(float(value))


def _job_cell(job: Mapping[str, Any]) -> str:
    status = str(job.get("status", "not_run"))
    name = escape(report_name(str(job["notebook"])))
    link = f'<a href="{escape(job["html"])}">{name}</a>' if job.get("html") else name
    parts = [
        f'<span class="job">{link} <span class="status {escape(status)}">{escape(status)}</span>'
        "</span>"
    ]
    if job.get("reused_from"):
        parts.append(f'<span class="why">reused from run {escape(job["reused_from"])}</span>')
    if status not in ("ok", "reused", "not_run") and job.get("html"):
        parts.append(f'<a href="{escape(job["html"])}#{ERROR_ANCHOR}">failing cell</a>')
    if job.get("error"):
        text, exc = readable_error(str(job["error"]))
        title = f' title="{escape(exc)}"' if exc else ""
        parts.append(f'<br><small class="why"{title}>{escape(text)}</small>')
    files = [
        f'<a href="{escape(o)}">{escape(Path(o).name)}</a>'
        for o in job.get("outputs", [])
        if Path(o).name != "metrics.json" and not is_restricted(o)
    ]
    if files:
        parts.append('<br><small class="why">files: ' + ", ".join(files) + "</small>")
    return " ".join(parts)


def _kpi_cell(row: RegionRow, kpi_id: str, currency: str) -> str:
    value = row.values.get(kpi_id)
    text = escape(format_value(kpi_id, value, currency, unit=False, with_reason=False))
    if isinstance(value, Absent) and value.reason:
        text = f'<span title="{escape(value.reason)}">{text}</span>'
    att = row.attainment.get(kpi_id)
    if att is not None:
        met = target_met(kpi_id, att)
        share = escape(format_value("target_attainment", att))
        if met is not None:
            word, cls = ("\u2713 met", "met") if met else ("\u2717 missed", "missed")
            verdict = f'<small class="{cls}">{word} ({share} of target)</small>'
            # the actual may only be known as a share of its target (the overview's attainment)
            text = f"{text} <br>{verdict}" if not is_missing(value) else verdict
    sort = _num(value) if not is_missing(value) else _num(att)
    return f'<td data-v="{sort}">{text}</td>'


def _region_row(row: RegionRow, columns: Sequence[str], currency: str) -> str:
    search = " ".join([row.name, *row.outlets])
    met, known = row.targets
    targets = f"{met} of {known}" if known else "no targets"
    cells = [
        f'<th class="name" scope="row" data-v="{escape(row.name)}">{escape(row.name)}</th>',
        f'<td class="l" data-v="{escape(row.echelon)}">{escape(row.echelon)}</td>',
        f'<td class="l reports">{"<br>".join(_job_cell(j) for j in row.jobs) or "no reports"}</td>',
        f'<td data-v="{_num(met / known) if known else ""}">{targets}</td>',
        *(_kpi_cell(row, k, currency) for k in columns),
    ]
    return (
        f'<tr data-echelon="{escape(row.echelon)}" data-q="{escape(search)}">'
        + "".join(cells)
        + "</tr>"
    )


def _regions_table(rows: Sequence[RegionRow], columns: Sequence[str], currency: str) -> str:
    heads = [
        '<th class="name sortable" data-type="text" scope="col">Region</th>',
        '<th class="l sortable" data-type="text" scope="col">Echelon</th>',
        '<th class="l" scope="col">Reports</th>',
        '<th class="sortable" scope="col">Targets met</th>',
        *(
            f'<th class="sortable" scope="col" '
            f'title="{escape(kpis.get(parse_metric_key(k)[0]).definition)}">'
            f"{escape(column_label(k, currency))}</th>"
            for k in columns
        ),
    ]
    body = "\n".join(_region_row(r, columns, currency) for r in rows)
    return (
        f'<div class="wrap table-scroll"><table class="regions" id="regions"><thead><tr>{"".join(heads)}'
        f"</tr></thead>\n<tbody>\n{body}\n</tbody></table></div>"
    )


def _controls(rows: Sequence[RegionRow]) -> str:
    echelons = sorted({r.echelon for r in rows if r.echelon})
    options = "".join(f'<option value="{escape(e)}">{escape(e)}</option>' for e in echelons)
    return (
        '<div class="controls" id="controls" hidden>'
        '<label>Find a region or an outlet: <input type="search" id="search" '
        'placeholder="name" autocomplete="off"></label>'
        f'<label>Echelon: <select id="echelon"><option value="">all</option>{options}'
        '</select></label><span id="shown" aria-live="polite"></span></div>'
    )


def _outlets_list(rows: Sequence[RegionRow]) -> str:
    items = []
    for row in rows:
        links = " · ".join(
            f'<a href="{escape(j["html"])}">{escape(report_name(j["notebook"]))}</a>'
            for j in row.jobs
            if j.get("html")
        )
        for outlet in row.outlets:
            items.append(
                f'<li data-q="{escape(outlet)}"><b>{escape(outlet)}</b> '
                f"({escape(row.name)}): {links or 'no reports'}</li>"
            )
    if not items:
        return ""
    return (
        f'<details id="outlets"><summary>Outlets ({len(items)}) and their region\'s '
        f'reports</summary><ul class="outlets">{"".join(items)}</ul></details>'
    )


def _bank_section(manifest: Mapping[str, Any], currency: str) -> str:
    jobs = [j for j in manifest.get("jobs", []) if j.get("region_id") is None]
    links = "<br>".join(_job_cell(j) for j in jobs)
    figures = "".join(
        f"<li>{escape(k)}: <b>{escape(v)}</b></li>" for k, v in bank_figures(manifest, currency)
    )
    month = manifest.get("data", {}).get("data_month", "")
    return (
        '<section id="bank"><h2>Whole bank</h2>'
        + (f"<p>{links}</p>" if links else "")
        + (f'<ul class="figures">{figures}</ul>' if figures else "")
        + f'<p class="why">Data month {escape(month)}; money in {escape(currency)}.</p>'
        + "</section>"
    )


def _provenance(manifest: Mapping[str, Any]) -> str:
    counts = manifest.get("counts", {})
    summary = ", ".join(f"{escape(k)}: {escape(v)}" for k, v in sorted(counts.items()))
    status = manifest.get("status", "incomplete")
    meta = [
        ("Run", manifest.get("run_id", "")),
        ("Status", f"{status} ({manifest.get('reason', '')})" if status != "complete" else status),
        ("Jobs", summary),
        ("Data fingerprint", manifest.get("data", {}).get("fingerprint", "")),
        ("Data month", manifest.get("data", {}).get("data_month", "")),
        ("Currency", manifest.get("currency", "")),
        ("Package version", manifest.get("versions", {}).get("bankanalysis", "")),
        ("Git commit", manifest.get("git_commit", "")),
        ("Started (UTC)", manifest.get("started", "")),
        ("Finished (UTC)", manifest.get("finished", "")),
    ]
    dl = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in meta if v)
    return (
        '<footer class="provenance" id="provenance"><h2>About this run</h2>'
        f'<dl class="meta">{dl}</dl>'
        '<p><a href="kpis.html">KPI glossary: what each figure means</a> · '
        '<a href="manifest.json">manifest.json</a></p></footer>'
    )


def index_html(manifest: Mapping[str, Any], currency: str | None = None) -> str:
    """Render the run index from a run manifest.

    Parameters
    ----------
    manifest : dict
        The run manifest written by :mod:`bankanalysis.batch` (``run_id``, ``status``,
        ``notebooks``, ``regions``, ``jobs``, ``currency``, ``outlets``; job paths relative
        to the run folder).
    currency : str, optional
        Currency of money figures; default the manifest's ``currency``, else ``"CNY"``.

    Returns
    -------
    str
        A self-contained HTML page; every data string escaped, one embedded script without data.
    """
    currency = currency or str(manifest.get("currency") or DEFAULT_CURRENCY)
    rows = region_rows(manifest)
    columns = index_columns(rows)
    status = manifest.get("status", "incomplete")
    banner = ""
    if status != "complete":
        banner = (
            f'<div class="banner">This run is {escape(status)}: '
            f"{escape(manifest.get('reason', ''))}.</div>"
        )
    month = manifest.get("data", {}).get("data_month", "")
    regions = ""
    if rows:
        regions = (
            f'<section id="regions-section"><h2>Regions ({len(rows)})</h2>'
            '<p class="why">Each region\'s annual-plan KPIs at the data month; where the plan '
            "sets a target, met or missed and the attainment. Click a column heading to sort."
            "</p>"
            + _controls(rows)
            + _regions_table(rows, columns, currency)
            + _outlets_list(rows)
            + "</section>"
        )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Branch reports {escape(month)}</title>"
        f"<style>{REPORT_CSS}{INDEX_CSS}</style></head>\n<body>\n"
        f'<header class="report"><h1>Branch reports{" — " + escape(month) if month else ""}'
        f"</h1>{banner}</header>\n"
        + _bank_section(manifest, currency)
        + "\n"
        + regions
        + "\n"
        + _provenance(manifest)
        + f"\n<script>{INDEX_SCRIPT}</script>\n</body></html>\n"
    )


def manifest_json(manifest: Mapping[str, Any]) -> str:
    """Serialise a manifest deterministically (sorted keys, UTF-8 kept readable)."""
    return json.dumps(manifest, indent=1, sort_keys=True, ensure_ascii=False, default=str) + "\n"
