"""Report shaping for ``03_outlet_benchmarking``: tables, sentences, chart data and metrics.

The notebook imports this module only; the DEA section's shaping lives in
:mod:`bankanalysis.report.benchmarking_dea` and the self-service and channel section's in
:mod:`bankanalysis.report.benchmarking_channels`, the peer sections' in
:mod:`bankanalysis.report.benchmarking_peers`, all re-exported here.

The analytics (:mod:`bankanalysis.benchmarking`) compute; this module names outlets, labels
columns through the KPI dictionary, writes the sentences (each saying why a section cannot be
shown when it cannot) and collects the ``metrics.json`` values, keyed by KPI id. The report's own
charts (lagging trends, replacement rates) sit with their sections. Every KPI value shown goes
through :mod:`bankanalysis.report.format`.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bankanalysis.benchmarking.frontier import EFFICIENT
from bankanalysis.benchmarking.kpis import (
    attainment,
    customer_counts_in_parts,
    customer_months,
    group_aggregates,
    outlet_kpis_from_counts,
)
from bankanalysis.propensity.cache import cached_for_data
from bankanalysis.report.benchmarking_channels import (
    REPLACEMENT_KPIS,
    channel_notes,
    device_rates,
    plot_replacement_trends,
    region_self_service,
    replacement_trends,
    self_service_sentence,
)
from bankanalysis.report.benchmarking_dea import (
    DEA_MEASURES,
    dea_frontier_notes,
    dea_notes,
    dea_reference_peers,
    dea_scores_long,
    dea_target_items,
    dea_targets_table,
    region_dea,
)
from bankanalysis.report.benchmarking_peers import (
    lagging_sentence,
    moving_average_notes,
    moving_average_position,
    peer_basis_notes,
    peer_gap_table,
    peer_kpi_notes,
    peer_rank_grid,
    percentile_grid,
    plot_lagging_trends,
    region_lagging,
    region_peer_ranks,
)
from bankanalysis.report.disclosure import cell_value
from bankanalysis.report.format import (
    Absent,
    attainment_met,
    format_value,
    kpi_label,
)
from bankanalysis.report.tables import KpiTable, kpi_table
from bankanalysis.rules.disclosure import is_small
from bankanalysis.rules.kpis import KPIS, metric_key, parse_metric_key

if TYPE_CHECKING:
    from bankanalysis.report.context import ReportContext

__all__ = [
    "DEA_MEASURES",
    "OUTLET_RATES",
    "OUTLET_SHARES",
    "OUTLET_VOLUMES",
    "REPLACEMENT_KPIS",
    "RegionFindings",
    "attainment_grid",
    "attainment_items",
    "attainment_summary",
    "benchmarking_metrics",
    "blank_unmeasured",
    "channel_notes",
    "dea_frontier_notes",
    "dea_notes",
    "dea_reference_peers",
    "dea_scores_long",
    "dea_target_items",
    "dea_targets_table",
    "device_rates",
    "key_figures",
    "lagging_sentence",
    "level_aggregates",
    "level_metrics",
    "load_outlet_kpis",
    "measured_outputs",
    "missing_tables",
    "moving_average_notes",
    "moving_average_position",
    "notes",
    "outlet_table",
    "peer_basis_notes",
    "peer_gap_table",
    "peer_kpi_notes",
    "peer_rank_grid",
    "percentile_grid",
    "plot_lagging_trends",
    "plot_replacement_trends",
    "region_attainment",
    "region_dea",
    "region_lagging",
    "region_outlets",
    "region_peer_ranks",
    "region_self_service",
    "replacement_trends",
    "sales_by_family",
    "self_service_sentence",
    "show",
]

logger = logging.getLogger(__name__)

#: Volume columns of the outlet table (KPI ids), in display order.
OUTLET_VOLUMES: tuple[str, ...] = (
    "staff_fte",
    "customers",
    "new_customers",
    "deposit_balance",
    "new_deposits",
    "aum",
    "fee_income",
    "sales_total",
)
#: Productivity and rate columns of the outlet table (KPI ids), in display order.
OUTLET_RATES: tuple[str, ...] = (
    "customers_per_fte",
    "sales_per_fte",
    "aum_per_customer",
    "share_quality_plus",
    "product_coverage",
    "outlet_replacement_rate",
    "accounting_replacement_rate",
    "device_operating_rate",
)
#: Shares of an outlet's customers (or of their transactions), withheld for small outlets.
OUTLET_SHARES: tuple[str, ...] = (
    "share_quality_plus",
    "product_coverage",
    "outlet_replacement_rate",
    "accounting_replacement_rate",
)


def _e(text: object) -> str:
    """A name from the data, HTML-escaped for a Markdown sentence."""
    return html.escape(str(text))


def _name(kpi: str) -> str:
    """The KPI's display name, or the column name for a column outside the dictionary."""
    return KPIS[kpi].name if kpi in KPIS else kpi


# --------------------------------------------------------------------------- outlet KPIs


def missing_tables(kpi: str, has_table: Any) -> list[str]:
    """Raw tables ``kpi`` needs (KPI dictionary) that the extract lacks (``has_table``:
    ``ProcessedBank.has``)."""
    needs = KPIS[kpi].needs if kpi in KPIS else ()
    return [t for t in needs if not has_table(t)]


def blank_unmeasured(kpis: pd.DataFrame, has_table: Any) -> pd.DataFrame:
    """``kpis`` with every KPI column whose raw table is missing set to NaN (unknown).

    prepare writes 0 (e.g. fee income) where a table is absent; that 0 must not be shown,
    ranked or used as a DEA output as if it were measured.
    """
    blank = [c for c in kpis.columns if c in KPIS and missing_tables(c, has_table)]
    return kpis.assign(**dict.fromkeys(blank, np.nan)) if blank else kpis


def measured_outputs(outputs: Sequence[str], has_table: Any) -> tuple[list[str], list[str]]:
    """DEA outputs the extract measures, and one note per output left out (table missing)."""
    kept, dropped = [], []
    for kpi in outputs:
        lacking = missing_tables(kpi, has_table)
        if lacking:
            tables = ", ".join(f"`{t}`" for t in lacking)
            name = KPIS[kpi].name
            dropped.append(
                f"{name} is left out of the DEA outputs: it needs {tables}, which this "
                "extract lacks."
            )
        else:
            kept.append(kpi)
    return kept, dropped


def load_outlet_kpis(
    ctx: ReportContext,
    tier_thresholds: Sequence[float],
    tier_months: int,
    coverage_products: int,
    ma_kpi: str,
) -> pd.DataFrame:
    """Outlet KPIs of every outlet of the bank up to the report's month.

    Reads ``outlet_month`` and only the months of ``customer_month`` the report needs
    (:func:`bankanalysis.benchmarking.kpis.customer_months`). KPIs whose raw table the
    extract lacks are NaN (:func:`blank_unmeasured`).

    Every region's report needs this same bank-wide table, so it is computed once per data,
    month, parameters and package source: the first report stores it under
    ``<processed>/_models/outlet_kpis`` (the locked cache of
    :mod:`bankanalysis.propensity.cache`, like the standing of :func:`~bankanalysis.report.
    standing.cached_standing`) and the others read it back, instead of re-reading the bank's
    ``customer_month`` in every job. Without a data fingerprint nothing is cached.
    """
    params = {
        "what": "outlet kpis",
        "month": ctx.month,
        "tier_thresholds": [float(t) for t in tier_thresholds],
        "tier_months": int(tier_months),
        "coverage_products": int(coverage_products),
        "ma_kpi": str(ma_kpi),
    }
    args = (ctx, tier_thresholds, tier_months, coverage_products, ma_kpi)
    return cached_for_data(ctx.bank, "outlet_kpis", params, lambda: _outlet_kpis(*args))[0]


def _outlet_kpis(
    ctx: ReportContext,
    tier_thresholds: Sequence[float],
    tier_months: int,
    coverage_products: int,
    ma_kpi: str,
    chunk_customers: int | None = None,
) -> pd.DataFrame:
    """:func:`load_outlet_kpis` computed from the processed tables (no cache).

    Reads ``customer_month`` one part of the customers at a time
    (:meth:`~bankanalysis.data.load.ProcessedBank.customer_ranges`, ``chunk_customers`` each,
    default :func:`~bankanalysis.data.load.chunk_customers`), each reduced to its counts per
    outlet and month before the next is read
    (:func:`~bankanalysis.benchmarking.kpis.customer_counts_in_parts`): the same KPIs as
    from one read of every customer.
    """
    bank = ctx.bank
    om = bank.outlet_month()
    om = om[om["month"] <= ctx.month]
    months = customer_months(bank.months, ctx.month, tier_months, ma_kpi)
    cols = ["month", "customer_id", "outlet_id", "aum", "n_products"]
    parts = (
        bank.customer_month(months=months, columns=cols, id_range=id_range)
        for id_range in bank.customer_ranges(chunk_customers)
    )
    counts, counted = customer_counts_in_parts(
        parts, tier_thresholds, tier_months, coverage_products
    )
    return blank_unmeasured(outlet_kpis_from_counts(om, counts, counted), bank.has)


def region_outlets(
    kpis: pd.DataFrame, region_id: str, month: str, names: Mapping[str, str]
) -> pd.DataFrame:
    """The region's outlets at ``month`` with their display name (``outlet``), sorted by it."""
    mine = kpis[(kpis["region_id"] == region_id) & (kpis["month"] == month)]
    return mine.assign(outlet=mine["outlet_id"].map(names)).sort_values("outlet")


def outlet_table(
    mine: pd.DataFrame,
    columns: Sequence[str],
    min_group_size: int,
    currency: str,
    hidden: pd.DataFrame | None = None,
) -> KpiTable:
    """One of the outlet tables: the outlets' KPIs in words and units, small groups withheld.

    Parameters
    ----------
    mine : DataFrame
        :func:`region_outlets` output.
    columns : sequence of str
        KPI ids to show (:data:`OUTLET_VOLUMES` or :data:`OUTLET_RATES`); those not computed
        for this bank (no such column) are left out.
    min_group_size : int
        ``k`` of the disclosure rule: the shares of an outlet with 1 to k-1 customers
        (:data:`OUTLET_SHARES`) and a count of 1 to k-1 new customers are withheld.
    currency : str
        Currency of money columns.
    hidden : DataFrame, optional
        :func:`~bankanalysis.report.disclosure.protect_outlet_counts`: its cells replace the
        small-count rule for its columns (``"<k"`` or, for secondary cells, ``"x"``).
    """
    cols = [c for c in columns if c in mine.columns]
    small = pd.DataFrame(False, index=mine.index, columns=cols)
    few_customers = is_small(mine["customers"], min_group_size)
    for c in cols:
        if c in OUTLET_SHARES:
            small[c] = few_customers
    if "new_customers" in cols:
        new = mine["new_customers"]
        small["new_customers"] = is_small(new, min_group_size) & new.notna().to_numpy()
    shown = mine.rename(columns={"outlet_type": "type"})
    if hidden is not None:
        for c in (c for c in hidden.columns if c in cols):
            shown = shown.astype({c: "object"})
            for i in shown.index:
                shown.at[i, c] = cell_value(shown.at[i, c], hidden.at[i, c], min_group_size)
            small[c] = False
    return kpi_table(
        shown,
        {c: c for c in cols},
        labels=["outlet", "type"],
        currency=currency,
        min_group_size=min_group_size,
        suppressed=small,
    )


def sales_by_family(mine: pd.DataFrame) -> pd.DataFrame:
    """Product sales per outlet (rows, by name) and product family (columns, prefix dropped)."""
    fam = [
        c
        for c in mine.columns
        if c.startswith("sales_") and c not in ("sales_total", "sales_per_fte")
    ]
    return mine.set_index("outlet")[fam].rename(columns=lambda c: c.removeprefix("sales_"))


def level_aggregates(
    kpis: pd.DataFrame, region_id: str, echelon: int, region_name: str
) -> tuple[pd.DataFrame, str | None]:
    """Monthly aggregates of the region, its echelon and the whole bank, stacked.

    Returns
    -------
    (DataFrame, str or None)
        :func:`~bankanalysis.benchmarking.kpis.group_aggregates` rows with ``level``: the
        region's name, ``"echelon <e>"`` and ``"whole bank"``; and a note when the region is
        the only one of its echelon (the echelon line would repeat the region's: it is left
        out and the region compared with the bank).
    """
    parts = [
        group_aggregates(kpis[kpis["region_id"] == region_id], "region_id").assign(
            level=str(region_name)
        )
    ]
    note = None
    same_echelon = kpis[kpis["echelon"] == echelon]
    if same_echelon["region_id"].nunique() > 1:
        parts.append(group_aggregates(same_echelon, "echelon").assign(level=f"echelon {echelon}"))
    else:
        note = (
            f"{_e(region_name)} is the only region of echelon {echelon}, so it is compared with the "
            "whole bank only."
        )
    parts.append(group_aggregates(kpis.assign(bank="bank"), "bank").assign(level="whole bank"))
    return pd.concat(parts, ignore_index=True), note


#: The productivity trends 03 draws (customers and sales per FTE) and states (AUM per FTE).
TREND_KPIS: tuple[str, ...] = ("customers_per_fte", "sales_per_fte", "aum_per_fte")
#: Why a month of a trend has no value although nothing is withheld.
NOT_MEASURED = "not measured this month (the extract has no figure for it)"


def level_metrics(
    levels: pd.DataFrame, region_name: str, echelon: object, min_group_size: int
) -> dict[str, Any]:
    """The productivity trends of 03 for ``metrics.json``: every month's customers, sales
    and AUM per FTE of the region (``<kpi>[month=..]``), its echelon
    (``<kpi>[echelon=<e>,month=..]``) and the bank (``<kpi>[level=bank,month=..]``).

    ``levels`` is :func:`level_aggregates` after
    :func:`~bankanalysis.report.disclosure_grid.protect_levels` (column ``withheld``): a
    withheld month is recorded withheld, ``"<k"`` when the level itself has 1 to ``k - 1``
    customers, else ``"x"`` (a small region inside the echelon or bank); a month without a
    figure is absent with its reason, never NaN.

    Examples
    --------
    >>> lv = pd.DataFrame({"month": "2025-03", "level": ["R1", "whole bank"],
    ...                    "customers": [4, 807], "customers_per_fte": [np.nan, 53.8],
    ...                    "withheld": [True, False]})
    >>> m = level_metrics(lv, "R1", 1, 10)
    >>> m["customers_per_fte[level=bank,month=2025-03]"], str(m["customers_per_fte[month=2025-03]"])
    (53.8, '<10')
    """
    scope = {str(region_name): {}, f"echelon {echelon}": {"echelon": echelon}}
    scope["whole bank"] = {"level": "bank"}
    flags = levels["withheld"] if "withheld" in levels else pd.Series(False, levels.index)
    out: dict[str, Any] = {}
    for i, row in levels.iterrows():
        by = scope.get(str(row["level"]))
        if by is None:
            continue
        small = bool(is_small([float(row.get("customers", np.nan))], min_group_size)[0])
        for kpi in TREND_KPIS:
            if kpi not in levels.columns:
                continue
            value = row[kpi]
            if bool(flags[i]):
                value = cell_value(value, "primary" if small else "secondary", min_group_size)
            elif pd.isna(value):
                value = Absent(NOT_MEASURED)
            else:
                value = float(value)
            out[metric_key(kpi, **by, month=row["month"])] = value
    return out


# --------------------------------------------------------------------------- attainment


def region_attainment(
    mine: pd.DataFrame, targets: pd.DataFrame, month: str, names: Mapping[str, str]
) -> pd.DataFrame:
    """Attainment of the region and its outlets at ``month``, named, NaN actuals dropped.

    Returns
    -------
    DataFrame
        ``month, id, kpi, target, actual, attainment, level`` (``region`` rows first),
        ``name`` and ``met`` (by the KPI's direction on the displayed values; ``None`` for a
        KPI outside the dictionary).
    """
    att_o = attainment(mine, targets, "outlet")
    att_r = attainment(group_aggregates(mine, "region_id"), targets, "region")
    att = pd.concat([att_r.assign(level="region"), att_o.assign(level="outlet")])
    att = att[att["month"] == month].dropna(subset=["actual"])
    met = [
        attainment_met(k, a, t) if k in KPIS else None
        for k, a, t in zip(att["kpi"], att["actual"], att["target"], strict=True)
    ]
    return att.assign(name=att["id"].map(names), met=pd.Series(met, index=att.index, dtype=object))


def attainment_summary(att: pd.DataFrame, month: str) -> tuple[int, str]:
    """Targets missed and the sentence above the attainment grid."""
    missed = int((att["met"] == False).sum())  # noqa: E712 (None = no direction, not missed)
    if att.empty:
        return 0, f"No targets for {month} match the KPIs computed here."
    return missed, (
        f"Attainment (actual / target) in {month}; below 100% = target missed "
        f"({missed} of {len(att)})."
    )


def attainment_grid(att: pd.DataFrame) -> pd.DataFrame:
    """(level, name) x KPI name grid of attainment, the region before its outlets."""
    grid = att.pivot_table(
        index=["level", "name"], columns="kpi", values="attainment", aggfunc="first", observed=True
    )
    # a withheld cell (NaN) keeps its row and column: the grid shows its marker
    rows = pd.MultiIndex.from_frame(att[["level", "name"]].drop_duplicates())
    grid = grid.reindex(index=rows, columns=list(dict.fromkeys(att["kpi"])))
    grid.columns.name = "kpi"
    grid = grid.sort_index(level="level", key=lambda s: s.map({"region": 0, "outlet": 1}))
    return grid.rename(columns=_name)


# --------------------------------------------------------------------------- metrics


@dataclass(frozen=True)
class RegionFindings:
    """What the report found for the region, for :func:`benchmarking_metrics`.

    Attributes
    ----------
    mine : DataFrame
        :func:`region_outlets` output.
    lagging : DataFrame
        Lagging outlets of the region.
    ranks : DataFrame
        :func:`region_peer_ranks` output.
    dea : DataFrame
        :func:`region_dea` output.
    self_service : Series
        The region's row of :func:`region_self_service`.
    targets_missed : int or None
        Region and outlet targets missed (``None`` without a targets table).
    """

    mine: pd.DataFrame
    lagging: pd.DataFrame
    ranks: pd.DataFrame
    dea: pd.DataFrame
    self_service: pd.Series
    targets_missed: int | None


_REGION_KPIS: tuple[str, ...] = (
    "customers_per_fte",
    "sales_per_fte",
    "aum_per_fte",
    "aum_per_customer",
    "share_quality_plus",
    "product_coverage",
    "outlet_replacement_rate",
    "accounting_replacement_rate",
    "device_operating_rate",
)

#: Why a region KPI can be absent: (no such column, a column without a value this month).
_ABSENT_REASONS: dict[str, tuple[str, str]] = {
    "outlet_replacement_rate": (
        "no transaction counts by channel in the prepared data",
        "no counter or self-service transactions this month",
    ),
    "accounting_replacement_rate": (
        "no accounting transaction counts in the prepared data",
        "no accounting transactions this month",
    ),
    "device_operating_rate": (
        "no device data in the prepared data",
        "no device data for the region's outlets",
    ),
    "share_quality_plus": ("no customer data", "no customer data for the month"),
    "product_coverage": ("no customer data", "no customer data for the month"),
}


def _value(row: pd.Series, kpi: str) -> Any:
    v = row.get(kpi, np.nan)
    if pd.isna(v):
        missing, empty = _ABSENT_REASONS.get(kpi, ("not computed", "not computed"))
        return Absent(missing if kpi not in row.index else empty)
    return float(v)


def benchmarking_metrics(f: RegionFindings) -> dict[str, Any]:
    """The report's values for ``metrics.json``, keyed by KPI id (the region's scope).

    Values that cannot be computed are :class:`~bankanalysis.report.format.Absent` with their
    reason (recorded as ``null``), never NaN or 0.
    """
    reg = group_aggregates(f.mine, "region_id").iloc[0]
    out: dict[str, Any] = {
        "outlets": int(f.mine["outlet_id"].nunique()),
        "outlets_below_moving_average": int(len(f.lagging)),
    }
    out.update({k: _value(reg, k) for k in _REGION_KPIS})
    if "sales_per_fte" in set(f.ranks["kpi"]):
        below = (f.ranks["kpi"] == "sales_per_fte") & (f.ranks["gap_to_median"] < 0)
        out[metric_key("outlets_below_peer_median", kpi="sales_per_fte")] = int(below.sum())
    scored = f.dea.dropna(subset=["efficiency"])
    no_dea = Absent("no outlet of the region has DEA data")
    for key, col in (
        ("dea_efficiency", "efficiency"),
        ("dea_ccr", "ccr"),
        ("dea_bcc", "bcc"),
        ("dea_scale_efficiency", "scale_efficiency"),
    ):
        out[key] = float(scored[col].mean()) if len(scored) else no_dea
    out["dea_efficient_outlets"] = int((scored["efficiency"] >= EFFICIENT).sum())
    ss = f.self_service
    if pd.isna(ss["self_service_per_outlet"]):
        out["self_service_per_outlet"] = Absent("no device data in this extract")
        out["self_service_sites_missing"] = Absent("no device data in this extract")
    else:
        out["self_service_per_outlet"] = float(ss["self_service_per_outlet"])
        out["self_service_sites_missing"] = int(ss["sites_missing"])
    out["targets_missed"] = (
        Absent("no targets table") if f.targets_missed is None else int(f.targets_missed)
    )
    return out


# --------------------------------------------------------------------------- notebook helpers


def notes(lines: Sequence[str]) -> str | None:
    """Sentences as a Markdown bullet list (``None`` when there is nothing to say)."""
    return "\n".join(f"- {line}" for line in lines) if lines else None


def show(*items: Any) -> None:
    """Display each item in the notebook: text as Markdown, figures, tables; ``None`` skipped."""
    from IPython.display import Markdown, display

    for item in items:
        if item is None:
            continue
        if isinstance(item, str):
            display(Markdown(item))
        elif hasattr(item, "savefig"):
            import matplotlib.pyplot as plt

            display(item)
            plt.close(item)
        else:
            display(item)


def attainment_items(
    targets: pd.DataFrame | None,
    mine: pd.DataFrame,
    month: str,
    names: Mapping[str, str],
    hidden: pd.DataFrame | None = None,
) -> tuple[int | None, list[Any]]:
    """Targets missed (``None`` without a targets table) and what the section shows.

    ``hidden`` (:func:`~bankanalysis.report.disclosure.protect_outlet_counts`) withholds the
    attainment of the outlet counts it hides (actual = attainment x a target the managers
    know): shown with the standard marker (``"<k"``, ``"x"``), not counted as met or missed;
    ``hidden.attrs["region"]`` (``{kpi: status}``,
    :func:`~bankanalysis.report.disclosure_totals.withhold_outlet_aum`) does the same for the
    region's row.
    """
    if targets is None:
        return None, [
            "This bank has no `targets` table, so attainment against the plan cannot be shown."
        ]
    att = region_attainment(mine, targets, month, names)
    if hidden is not None:
        withheld = {
            (oid, col): str(hidden.at[i, col])
            for i, oid in mine["outlet_id"].items()
            for col in hidden.columns
            if hidden.at[i, col]
        }
        # the region's own row: a figure the run withholds for the region (its AUM)
        region_why = dict(hidden.attrs.get("region", {}))
        why = [
            withheld.get((i, k), "") if lvl == "outlet" else str(region_why.get(k, ""))
            for lvl, i, k in zip(att["level"], att["id"], att["kpi"], strict=True)
        ]
        drop = [bool(w) for w in why]
        att = att.assign(
            attainment=att["attainment"].mask(drop),
            met=att["met"].mask(drop, None),
            withheld=why,
        )
    missed, text = attainment_summary(att, month)
    if att.empty:
        return missed, [text]
    from bankanalysis.report.disclosure import cell_value
    from bankanalysis.report.tables import style_table

    grid = attainment_grid(att)
    styler = style_table(
        grid, formatter=lambda v: format_value("target_attainment", v)
    ).background_gradient(cmap="RdYlGn", vmin=0.7, vmax=1.3)
    # a withheld or missing cell has no colour (the gradient would paint it black)
    styler = styler.highlight_null(props="background-color: #eeeeee; color: #333333")
    k = int(hidden.attrs.get("k", 0)) if hidden is not None else 0
    for row in att[att.get("withheld", pd.Series("", index=att.index)) != ""].itertuples():
        # the standard marker ("<k" small, "x" secondary), not "n/a" (which reads as no data)
        marker = html.escape(str(cell_value(None, row.withheld, k or None)))
        styler = styler.format(
            lambda _v, m=marker: m,
            subset=pd.IndexSlice[[(row.level, row.name)], [_name(row.kpi)]],
        )
    return missed, [text, styler]


def key_figures(values: Mapping[str, Any], currency: str) -> KpiTable:
    """The recorded metrics as a two-column table of KPI names and formatted values."""
    rows = []
    for key, v in values.items():
        figure = kpi_label(key, currency, unit=False)
        _, by = parse_metric_key(key)
        if "kpi" in by:  # a breakdown by KPI: name it ("... (Product sales per staff FTE)")
            figure = f"{figure} ({_name(by['kpi'])})"
        rows.append({"figure": figure, "value": format_value(key, v, currency)})
    return KpiTable(pd.DataFrame(rows, columns=["figure", "value"]))
