"""Report shaping for ``03_outlet_benchmarking``: tables, sentences, chart data and metrics.

The notebook imports this module only; the DEA section's shaping lives in
:mod:`bankanalysis.report.benchmarking_dea` and the self-service and channel section's in
:mod:`bankanalysis.report.benchmarking_channels`, both re-exported here.

The analytics (:mod:`bankanalysis.benchmarking`) compute; this module names outlets, labels
columns through the KPI dictionary, writes the sentences (each saying why a section cannot be
shown when it cannot), draws the report's own charts and collects the ``metrics.json`` values
(keys are KPI ids). Every KPI value shown goes through :mod:`bankanalysis.report.format`.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bankanalysis.benchmarking.frontier import EFFICIENT
from bankanalysis.benchmarking.kpis import attainment, customer_months, group_aggregates
from bankanalysis.benchmarking.kpis import outlet_kpis as compute_outlet_kpis
from bankanalysis.benchmarking.peers import KpiSelection, peer_ranks
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
from bankanalysis.report.format import (
    Absent,
    attainment_met,
    format_change,
    format_value,
    kpi_label,
)
from bankanalysis.report.tables import KpiTable, kpi_table
from bankanalysis.rules.disclosure import is_small
from bankanalysis.rules.kpis import KPIS, get, metric_key, parse_metric_key

if TYPE_CHECKING:
    from matplotlib.figure import Figure

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
    "channel_notes",
    "dea_frontier_notes",
    "dea_notes",
    "dea_reference_peers",
    "dea_scores_long",
    "dea_target_items",
    "dea_targets_table",
    "device_rates",
    "heading",
    "key_figures",
    "lagging_sentence",
    "level_aggregates",
    "load_outlet_kpis",
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


def load_outlet_kpis(
    ctx: ReportContext,
    tier_thresholds: Sequence[float],
    tier_months: int,
    coverage_products: int,
    ma_kpi: str,
) -> pd.DataFrame:
    """Outlet KPIs of every outlet of the bank up to the report's month.

    Reads ``outlet_month`` and only the months of ``customer_month`` the report needs
    (:func:`bankanalysis.benchmarking.kpis.customer_months`).
    """
    bank = ctx.bank
    om = bank.outlet_month()
    om = om[om["month"] <= ctx.month]
    cm = bank.customer_month(
        months=customer_months(bank.months, ctx.month, tier_months, ma_kpi),
        columns=["month", "customer_id", "outlet_id", "aum", "n_products"],
    )
    return compute_outlet_kpis(om, cm, tier_thresholds, tier_months, coverage_products)


def region_outlets(
    kpis: pd.DataFrame, region_id: str, month: str, names: Mapping[str, str]
) -> pd.DataFrame:
    """The region's outlets at ``month`` with their display name (``outlet``), sorted by it."""
    mine = kpis[(kpis["region_id"] == region_id) & (kpis["month"] == month)]
    return mine.assign(outlet=mine["outlet_id"].map(names)).sort_values("outlet")


def outlet_table(
    mine: pd.DataFrame, columns: Sequence[str], min_group_size: int, currency: str
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
    grid = grid.sort_index(level="level", key=lambda s: s.map({"region": 0, "outlet": 1}))
    return grid.rename(columns=_name)


# --------------------------------------------------------------------------- peers


def peer_kpi_notes(
    selection: KpiSelection, has_table: Callable[[str], bool] | None = None
) -> list[str]:
    """Sentences on the KPIs left out of the peer comparison (and renamed ones).

    Parameters
    ----------
    selection : KpiSelection
        :func:`bankanalysis.benchmarking.peers.select_kpis` output.
    has_table : callable, optional
        Whether the extract had a raw table (``ProcessedBank.has``): a KPI whose table is
        missing is said to need it, whatever the prepared columns hold (prepare writes 0
        counts for an absent transactions table).
    """
    notes = [
        f"`{old}` is no longer computed: it was replaced by {_name(new)}."
        for old, new in selection.renamed.items()
    ]
    for kpi, why in selection.dropped.items():
        name = _name(kpi)
        needs = get(kpi).needs if kpi in KPIS else ()
        lacking = [t for t in needs if has_table is not None and not has_table(t)]
        if why == "not computed" and needs and not lacking:
            lacking = list(needs)
        if lacking:
            tables = ", ".join(f"`{t}`" for t in lacking)
            notes.append(f"{name} is left out: it needs {tables}, which this extract lacks.")
        elif why == "not computed":
            notes.append(f"`{kpi}` is left out: it is not an outlet KPI of this report.")
        else:
            notes.append(f"{name} is left out: no outlet has a value this month.")
    return notes


def region_peer_ranks(
    kpis: pd.DataFrame,
    peer_kpis: Sequence[str],
    peer_by: Sequence[str],
    month: str,
    mine: pd.DataFrame,
) -> pd.DataFrame:
    """Peer ranks at ``month`` (peers across the bank) of the outlets in ``mine``, named.

    Without KPIs to rank (all left out) the result is empty, with the columns.
    """
    ranks = peer_ranks(kpis, peer_kpis, peer_by, month)
    names = dict(zip(mine["outlet_id"], mine["outlet"], strict=True))
    ranks = ranks[ranks["outlet_id"].isin(mine["outlet_id"])]
    return ranks.assign(outlet=ranks["outlet_id"].map(names))


def peer_basis_notes(ranks: pd.DataFrame, n_outlets: int) -> list[str]:
    """Sentences naming the outlets compared with the bank rather than with peers."""
    notes = []
    first = ranks.drop_duplicates("outlet_id")
    for row in first[first["basis"] != "peers"].itertuples():
        if row.basis == "bank":
            notes.append(
                f"{_e(row.outlet)} is the only outlet of its peer group ({_e(row.peer_group)}), so it "
                f"is compared with all {n_outlets} outlets of the bank."
            )
        else:
            notes.append(f"{_e(row.outlet)} has no other outlet to be compared with.")
    return notes


def peer_rank_grid(ranks: pd.DataFrame, kpis: Sequence[str], value: str) -> pd.DataFrame:
    """Outlet (name) x KPI grid of one peer-rank column, KPIs in the given order."""
    return ranks.pivot(index="outlet", columns="kpi", values=value)[list(kpis)]


def peer_gap_table(ranks: pd.DataFrame, kpis: Sequence[str], currency: str) -> KpiTable:
    """Gap to the peer median per outlet and KPI, as signed changes (shares in pp)."""
    gaps = peer_rank_grid(ranks, kpis, "gap_to_median")
    frame = pd.DataFrame({"outlet": gaps.index.astype(str)})
    for k in kpis:
        # a share's change carries its unit ("+1.2 pp") in the cell
        header = _name(k) if get(k).unit == "share" else kpi_label(k, currency)
        frame[header] = [format_change(k, v, currency, unit=False) for v in gaps[k]]
    return KpiTable(frame)


def moving_average_position(ma: pd.DataFrame, month: str, names: Mapping[str, str]) -> pd.DataFrame:
    """Each outlet's gap to its peers' moving average at ``month``, smallest gap first.

    Returns
    -------
    DataFrame
        Moving-average rows of ``month`` with ``outlet`` (name) and ``position``
        (``"below the peers' average"`` or ``"at or above"``); outlets without a comparison
        (basis ``"none"``) are left out.
    """
    now = ma[(ma["month"] == month) & (ma["basis"] != "none")]
    now = now.assign(outlet=now["outlet_id"].map(names)).sort_values("gap")
    return now.assign(
        position=now["below"].map({True: "below the peers' average", False: "at or above"})
    )


def moving_average_notes(ma: pd.DataFrame, month: str, names: Mapping[str, str]) -> list[str]:
    """Sentences naming outlets measured against the bank's average (alone in their group)."""
    now = ma[ma["month"] == month]
    notes = []
    for row in now[now["basis"] == "bank"].itertuples():
        notes.append(
            f"{_e(names.get(row.outlet_id, row.outlet_id))} has no peer of its own type and echelon,"
            " so it is measured against the moving average of every outlet of the bank."
        )
    for row in now[now["basis"] == "none"].itertuples():
        notes.append(
            f"{_e(names.get(row.outlet_id, row.outlet_id))} has no outlet to compare with."
        )
    return notes


def lagging_sentence(n_lagging: int, n_outlets: int, months: int) -> str:
    """How many of the region's outlets lag their peers' moving average."""
    return (
        f"**{n_lagging}** of {n_outlets} outlets were below their peers' moving average in each "
        f"of the last {months} months."
    )


# --------------------------------------------------------------------------- lagging outlets


def plot_lagging_trends(
    ma: pd.DataFrame,
    outlet_ids: Sequence[str],
    names: Mapping[str, str] | None = None,
    unit: str = "",
    ncols: int = 3,
) -> Figure:
    """Small multiples: each lagging outlet's monthly value against its peers' moving average.

    Parameters
    ----------
    ma : DataFrame
        Output of :func:`bankanalysis.benchmarking.peers.moving_average_gaps`.
    outlet_ids : sequence of str
        Outlets to draw (e.g. the lagging ones).
    names : mapping, optional
        Display name per outlet id (Chinese names render with the project theme).
    unit : str
        Unit of the KPI for the y axis label.
    ncols : int
        Charts per row.
    """
    import matplotlib.pyplot as plt

    names = dict(names or {})
    n = max(len(outlet_ids), 1)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(3.2 * ncols, 2.4 * nrows), squeeze=False, sharex=True
    )
    for ax in axes.flat[len(outlet_ids) :]:
        ax.set_visible(False)
    for ax, oid in zip(axes.flat, outlet_ids, strict=False):
        g = ma[ma["outlet_id"] == oid].sort_values("month")
        ax.plot(g["month"], g["value"], marker="o", ms=3, label="outlet")
        ax.plot(g["month"], g["peer_ma"], ls="--", color="grey", label="peer moving average")
        ax.set_title(names.get(oid, str(oid)), fontsize=10)
        ax.tick_params(axis="x", labelrotation=90, labelsize=7)
        ax.set_ylabel(unit, fontsize=8)
    if len(outlet_ids):
        axes.flat[0].legend(fontsize=7)
    fig.tight_layout()
    return fig


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

#: Why a region KPI can be absent, by the column it comes from.
_ABSENT_REASONS: dict[str, str] = {
    "outlet_replacement_rate": "no transactions by channel in this extract",
    "accounting_replacement_rate": "no accounting transaction counts in the prepared data",
    "device_operating_rate": "no device data for the region's outlets",
    "share_quality_plus": "no customer data for the month",
    "product_coverage": "no customer data for the month",
}


def _value(row: pd.Series, kpi: str) -> Any:
    v = row.get(kpi, np.nan)
    if pd.isna(v):
        return Absent(_ABSENT_REASONS.get(kpi, "not computed"))
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


def heading(region_name: str, echelon: int | None, month: str) -> str:
    """The line under the title: region, echelon and data month."""
    return f"**{_e(region_name)}** (echelon {echelon}), data month **{month}**."


def percentile_grid(ranks: pd.DataFrame, kpis: Sequence[str]) -> pd.DataFrame:
    """Outlet x KPI name grid of percentile ranks among peers (for the heat map)."""
    return peer_rank_grid(ranks, kpis, "percentile").rename(columns=_name)


def attainment_items(
    targets: pd.DataFrame | None, mine: pd.DataFrame, month: str, names: Mapping[str, str]
) -> tuple[int | None, list[Any]]:
    """Targets missed (``None`` without a targets table) and what the section shows."""
    if targets is None:
        return None, [
            "This bank has no `targets` table, so attainment against the plan cannot be shown."
        ]
    att = region_attainment(mine, targets, month, names)
    missed, text = attainment_summary(att, month)
    if att.empty:
        return missed, [text]
    from bankanalysis.report.tables import style_table

    grid = style_table(
        attainment_grid(att), formatter=lambda v: format_value("target_attainment", v)
    ).background_gradient(cmap="RdYlGn", vmin=0.7, vmax=1.3)
    return missed, [text, grid]


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
