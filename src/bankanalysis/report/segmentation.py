"""Report shaping of ``01_customer_segmentation``: sentences, tables, chart data and metrics.

The analytics (:mod:`bankanalysis.segmentation`) compute; this module turns their frames into
what the report shows: Markdown sentences, KPI tables (values formatted by
:mod:`bankanalysis.report.format`, small groups withheld by :mod:`bankanalysis.rules.disclosure`),
the frames the charts draw and the ``metrics.json`` values keyed by KPI id
(:func:`bankanalysis.rules.kpis.metric_key`). Nothing here formats a KPI by hand.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from bankanalysis.report.bank_tiers import load_bank_tiers
from bankanalysis.report.disclosure import hide_cells
from bankanalysis.report.disclosure_depth import (
    DEPTH_COUNT_STATUS,
    DEPTH_SHARE_STATUS,
    protect_depth,
)
from bankanalysis.report.disclosure_grid import (
    cell_value,
    grid_values,
    guard_target_counts,
    protect_pipeline,
)
from bankanalysis.report.disclosure_outlet_tiers import (
    mark_withheld_rows,
    protect_quality_plus,
    quality_plus_rate_note,
)
from bankanalysis.report.format import (
    DEFAULT_CURRENCY,
    NOT_AVAILABLE,
    Absent,
    Suppressed,
    format_value,
    is_missing,
    kpi_label,
)
from bankanalysis.report.tables import KpiTable
from bankanalysis.rules.disclosure import (
    KPI_GROUP,
    is_small,
    suppress_small_cells,
    suppress_small_groups,
    suppressed_marker,
)
from bankanalysis.rules.disclosure_secondary import PRIMARY
from bankanalysis.rules.kpis import get, metric_key
from bankanalysis.rules.tiers import TIER_LABELS, TIERS, tier_label
from bankanalysis.segmentation.composition import gini, lorenz_curve
from bankanalysis.segmentation.coverage import cross_holding_matrix

__all__ = [
    "SEGMENT_TRAITS",
    "TIER_ORDER",
    "concentration_metrics",
    "concentration_text",
    "coverage_metrics",
    "coverage_text",
    "cross_holding_shown",
    "depth_table",
    "escape",
    "flows_table",
    "holding_rate_grid",
    "kpi_value",
    "load_bank_tiers",
    "label_pipeline",
    "label_tiers",
    "labelled_matrix",
    "labelled_products_per_customer",
    "labelled_tier_comparison",
    "lorenz_comparison",
    "manager_metrics",
    "manager_outlet_plot_data",
    "manager_outlet_table",
    "manager_text",
    "migration_metrics",
    "migration_text",
    "pipeline_metrics",
    "pipeline_plot_data",
    "pipeline_table",
    "plot_manager_coverage",
    "population_text",
    "shown_flows",
    "shown_holding_rates",
    "shown_matrix",
    "shown_products_per_customer",
    "shown_tier_comparison",
    "tier_basis_text",
    "tier_metrics",
    "tier_mix_table",
]

logger = logging.getLogger(__name__)

#: Tier display labels from the lowest to the highest tier (the reports' category order).
TIER_ORDER: tuple[str, ...] = tuple(TIER_LABELS[t] for t in TIERS)

#: Behaviour traits shown in the segment heat map, when present.
SEGMENT_TRAITS: tuple[str, ...] = (
    "age",
    "tenure_years",
    "activity",
    "n_products",
    "share_counter",
    "share_self_service",
    "share_online",
    "share_mobile",
    "has_investment",
    "has_loan",
)


# --------------------------------------------------------------------------- shared helpers


def label_tiers(tiers: pd.Series) -> pd.Series:
    """Display label of each tier id (other states such as ``new`` are kept as they are)."""
    return tiers.astype("object").map(tier_label)


def kpi_value(row: Mapping[str, Any] | pd.Series, kpi: str, absent: Mapping[str, str]) -> Any:
    """A KPI value of an analytics row for the metrics and the text.

    The number when it is finite, else :class:`Absent` with the reason from ``absent`` (the
    analytics frame's ``attrs["absent"]``) or a generic one.
    """
    if kpi in absent:
        return Absent(absent[kpi])
    value = row[kpi]
    if is_missing(value):
        return Absent("no customers in the denominator")
    return float(value)


def _cell(kpi: str, value: Any, currency: str, withheld: bool, k: int) -> str:
    if withheld and is_missing(value):
        return suppressed_marker(k)
    return format_value(kpi, value, currency, unit=False, with_reason=False)


def _formatted_table(
    df: pd.DataFrame,
    spec: Sequence[tuple[str, str, str | None]],
    *,
    currency: str,
    min_group_size: int,
    withheld: pd.Series | None = None,
    caption: str = "",
    note: str = "",
) -> KpiTable:
    """A table of strings: ``spec`` = ``(column, header, kpi id or None for a text label)``.

    A missing value of a withheld row shows the disclosure marker, any other ``n/a``.
    """
    rows = withheld if withheld is not None else pd.Series(False, index=df.index)
    out = pd.DataFrame(index=df.index)
    for col, header, kpi in spec:
        if kpi is None:
            out[header] = df[col].map(lambda v: NOT_AVAILABLE if is_missing(v) else str(v))
        else:
            out[header] = [
                _cell(kpi, v, currency, bool(rows.get(i, False)), min_group_size)
                for i, v in df[col].items()
            ]
    return KpiTable(out.reset_index(drop=True), caption=caption, note=note)


def _money_list(values: Iterable[float], currency: str) -> str:
    parts = [format_value("aum", v, currency, unit=False) for v in values]
    text = ", ".join(parts[:-1]) + f" and {parts[-1]}" if len(parts) > 1 else "".join(parts)
    return f"{text} {currency}"


# --------------------------------------------------------------------------- tiers


def population_text(region_customers: int, bank_customers: int, month: str) -> str:
    """How many active customers the region and the bank have at the data month.

    Examples
    --------
    >>> population_text(1234, 56789, "2024-03")
    '1,234 active customers in the region at 2024-03, 56,789 in the bank.'
    """
    return (
        f"{format_value('customers', region_customers)} active customers in the region at "
        f"{escape(month)}, {format_value('customers', bank_customers)} in the bank."
    )


def tier_basis_text(tier_months: int, thresholds: Sequence[float], currency: str) -> str:
    """How tiers are assigned, for the report's appendix (its method notes).

    Examples
    --------
    >>> tier_basis_text(3, [50000, 500000, 6000000], "CNY")
    'Tiers use the average AUM of the last 3 month-ends at which a customer was active; quality, VIP and private banking start at 50,000, 500,000 and 6,000,000 CNY.'
    """
    return (
        f"Tiers use the average AUM of the last {int(tier_months)} month-ends at which a customer "
        f"was active; quality, VIP and private banking start at "
        f"{_money_list(thresholds, currency)}."
    )


def shown_tier_comparison(comp: pd.DataFrame, min_group_size: int) -> pd.DataFrame:
    """:func:`~bankanalysis.segmentation.composition.tier_comparison` with every figure of a
    small tier group withheld (shares stay computed over all customers)."""
    return suppress_small_groups(comp, "customers", min_group_size)


def labelled_tier_comparison(comp: pd.DataFrame, region_name: str, echelon: object) -> pd.DataFrame:
    """:func:`~bankanalysis.segmentation.composition.tier_comparison` with tier labels and
    scope names (region, echelon, bank), for the tier-mix chart."""
    scope = {"region": str(region_name), "echelon": f"echelon {echelon}", "bank": "whole bank"}
    return comp.assign(tier=label_tiers(comp["tier"]), scope=comp["scope"].map(scope))


def _withheld(value: Any, suppressed: bool, k: int) -> Any:
    if suppressed and is_missing(value):
        return Suppressed(k)
    return value


def tier_metrics(
    comp: pd.DataFrame, min_group_size: int, echelon: object | None = None
) -> dict[str, Any]:
    """``customer_share[tier=..]`` and ``aum_share[tier=..]`` of the region, and with
    ``echelon`` the echelon's and the bank's bars of the tier-mix chart.

    ``comp`` is :func:`~bankanalysis.segmentation.composition.tier_comparison` output (tier
    ids; scopes ``region``, ``echelon``, ``bank``), after
    :func:`~bankanalysis.report.disclosure.protect_tiers` and
    :func:`~bankanalysis.report.disclosure.protect_scope_tiers` when they ran: a withheld
    figure is recorded as withheld (``"<k"`` small group, ``"x"`` secondary), so
    ``metrics.json`` says what the chart shows. The scope bars are keyed
    ``customer_share[echelon=<e>,tier=..]`` and ``customer_share[level=bank,tier=..]`` (the
    same for ``aum_share``); without ``echelon`` only the region's figures are returned.

    Examples
    --------
    >>> comp = pd.DataFrame({"scope": ["region", "echelon", "bank"], "tier": "mass",
    ...                      "customers": [40, 90, 200], "share": [1.0, 0.9, 0.8],
    ...                      "aum_share": [1.0, 0.7, 0.6]})
    >>> sorted(tier_metrics(comp, 10, echelon=2))[:3]
    ['aum_share[echelon=2,tier=mass]', 'aum_share[level=bank,tier=mass]', 'aum_share[tier=mass]']
    """
    scopes: dict[str, dict[str, object]] = {"region": {}}
    if echelon is not None:
        scopes |= {"echelon": {"echelon": echelon}, "bank": {"level": "bank"}}
    out: dict[str, Any] = {}
    for scope, by in scopes.items():
        rows = comp[comp["scope"] == scope]
        flags = rows["suppressed"] if "suppressed" in rows else pd.Series(False, rows.index)
        rows = hide_cells(rows, min_group_size)  # cells hidden by protect_tiers, if it ran
        for row, small in zip(rows.itertuples(index=False), flags.astype(bool), strict=True):
            share = _withheld(row.share, small, min_group_size)
            out[metric_key("customer_share", **by, tier=row.tier)] = (
                Absent(NO_CUSTOMERS) if is_missing(share) and not isinstance(share, Suppressed)
                else share
            )  # fmt: skip
            aum_share = _withheld(row.aum_share, small, min_group_size)
            out[metric_key("aum_share", **by, tier=row.tier)] = (
                Absent(NO_AUM if scope == "region" else NO_SCOPE_AUM)
                if not small and is_missing(aum_share) and not isinstance(aum_share, Suppressed)
                else aum_share
            )
    return out


#: Why a tier share is absent: the scope had no active customer at the month-end.
NO_CUSTOMERS = "no active customer at this month-end"
#: Why a scope's AUM share is absent.
NO_SCOPE_AUM = "the scope's customers hold no AUM at this month-end"


def tier_mix_table(comp: pd.DataFrame, currency: str, min_group_size: int) -> KpiTable:
    """The region's tier mix: customers, shares, AUM and AUM per customer by tier."""
    mine = comp[comp["scope"] == "region"].reset_index(drop=True)
    mine = hide_cells(mine.assign(tier=label_tiers(mine["tier"])), min_group_size)
    spec = [
        ("tier", "Tier", None),
        ("customers", kpi_label("customers"), "customers"),
        ("share", kpi_label("customer_share"), "customer_share"),
        ("aum", kpi_label("aum", currency), "aum"),
        ("aum_share", kpi_label("aum_share"), "aum_share"),
        ("aum_per_customer", kpi_label("aum_per_customer", currency), "aum_per_customer"),
    ]
    return _formatted_table(
        mine,
        spec,
        currency=currency,
        min_group_size=min_group_size,
        withheld=mine.get("suppressed"),
    )


def lorenz_comparison(
    region_aum: pd.Series, bank_aum: pd.Series, region_name: str, min_group_size: int | None = None
) -> pd.DataFrame:
    """Lorenz curves of the region and the bank, ``scope`` naming each with its Gini.

    With ``min_group_size`` the curves go through the disclosure step
    (:func:`~bankanalysis.report.disclosure_grid.protected_lorenz`: steps of at least ``k``
    customers, none dominated by one or two), and a region of fewer than ``k`` customers shows
    no Gini (with its total AUM it would give the customers' AUM away). ``attrs["note"]`` says
    which curve is withheld and why (empty when both are drawn), ``attrs["withheld"]`` their
    names; :func:`plot_lorenz
    <bankanalysis.report.plots.plot_lorenz>` shows it in the legend and under the chart.
    """
    if min_group_size is None:
        curve = lorenz_curve
        g_r = format_value("aum_gini", gini(region_aum), decimals=2)
    else:
        from bankanalysis.report.disclosure_grid import protected_lorenz, region_too_small

        def curve(aum: pd.Series) -> pd.DataFrame:
            return protected_lorenz(aum, min_group_size)

        g_r = (
            f"withheld: fewer than {min_group_size} customers"
            if region_too_small(len(region_aum), min_group_size)
            else format_value("aum_gini", gini(region_aum), decimals=2)
        )
    g_b = format_value("aum_gini", gini(bank_aum), decimals=2)
    notes: list[str] = []
    withheld: list[str] = []
    parts = []
    for aum, scope, name in (
        (region_aum, f"{region_name} (Gini {g_r})", region_name),
        (bank_aum, f"whole bank (Gini {g_b})", "The whole bank"),
    ):
        part = curve(aum)
        if part.empty and len(aum) and min_group_size is not None:
            notes.append(_lorenz_withheld(name, aum, min_group_size))
            withheld.append(name)
        parts.append(part.assign(scope=scope))
    out = pd.concat(parts)
    out.attrs["note"] = " ".join(notes)
    out.attrs["withheld"] = withheld
    return out


def _lorenz_withheld(name: str, aum: pd.Series, k: int) -> str:
    """Why a scope's Lorenz curve is left out of the chart (said under it)."""
    if float(np.clip(np.asarray(aum, dtype="float64"), 0, None).sum()) <= 0:
        return f"{name}: no curve (its customers hold no AUM at this month-end)."
    return (
        f"{name}: curve withheld (fewer than {2 * k} customers: every step of the curve must "
        f"hold at least {k} customers, so no point can be drawn without showing the AUM share "
        "of a small group)."
    )


#: Why the concentration figures cannot be computed (they are NaN only then).
NO_AUM = "the region's customers hold no AUM at this month-end"


def concentration_metrics(gini_value: float, top_share: float, top_tier: str) -> dict[str, Any]:
    """``aum_gini`` and ``aum_share[tier_at_least=<top_tier>]`` of the region (absent, with
    the reason, when the region holds no AUM)."""
    return {
        "aum_gini": (
            Absent(NO_AUM)
            if is_missing(gini_value) and not isinstance(gini_value, Suppressed)
            else gini_value
        ),
        metric_key("aum_share", tier_at_least=top_tier): (
            Absent(NO_AUM)
            if is_missing(top_share) and not isinstance(top_share, Suppressed)
            else top_share
        ),
    }


def concentration_text(top_tier: str, top_share: float) -> str:
    """One sentence: the AUM share of the top tiers.

    Examples
    --------
    >>> concentration_text("vip", 0.4567)
    "Customers in the **VIP** tier and above hold **45.7%** of the region's AUM."
    >>> concentration_text("vip", float("nan"))
    "The AUM share of the **VIP** tier and above cannot be computed: the region's customers hold no AUM at this month-end."
    """
    if isinstance(top_share, Suppressed):
        return (
            f"The AUM share of the **{tier_label(top_tier)}** tier and above is withheld: with "
            "the tier table it would reveal the AUM of a withheld group."
        )
    if is_missing(top_share):
        return (
            f"The AUM share of the **{tier_label(top_tier)}** tier and above cannot be "
            f"computed: {NO_AUM}."
        )
    return (
        f"Customers in the **{tier_label(top_tier)}** tier and above hold "
        f"**{format_value('aum_share', top_share)}** of the region's AUM."
    )


# --------------------------------------------------------------------------- migration


def labelled_matrix(matrix: pd.DataFrame) -> pd.DataFrame:
    """A state x state matrix with tier labels on both axes (``new``/``closed`` kept)."""
    out = matrix.copy()
    out.index = [tier_label(s) for s in out.index]
    out.columns = [tier_label(s) for s in out.columns]
    return out


def shown_matrix(matrix: pd.DataFrame, min_group_size: int) -> pd.DataFrame:
    """The transition counts the report may show: small cells withheld, tier labels."""
    return labelled_matrix(suppress_small_cells(matrix, min_group_size))


def migration_metrics(kpis: pd.Series, flows: pd.DataFrame, min_group_size: int) -> dict[str, Any]:
    """The region's migration KPIs and the net growth of each tier.

    ``kpis`` is the region's row of
    :func:`~bankanalysis.segmentation.migration.migration_kpis`; ``flows`` is
    :func:`~bankanalysis.segmentation.migration.tier_flows` (suppressed when its
    ``min_group_size`` was given).
    """
    cohort_small = bool(is_small([kpis["base_customers"]], min_group_size)[0])
    out: dict[str, Any] = {}
    for kpi in (
        "stock_retention",
        "upward_migration_rate",
        "downward_migration_rate",
        "attrition_rate",
    ):
        out[kpi] = Suppressed(min_group_size) if cohort_small else kpi_value(kpis, kpi, {})
    for kpi in ("gained_customers", "lost_customers"):
        n = kpis[kpi]
        out[kpi] = Suppressed(min_group_size) if is_small([n], min_group_size)[0] else int(n)
    for row in flows.itertuples(index=False):
        small = bool(getattr(row, "suppressed", False))
        out[metric_key("tier_net_growth", tier=row.tier)] = _withheld(
            row.net_growth, small, min_group_size
        )
    return out


def migration_text(metrics: Mapping[str, Any], t0: str) -> str:
    """One Markdown sentence with the migration KPIs (from :func:`migration_metrics`).

    Examples
    --------
    >>> m = dict(upward_migration_rate=0.1, downward_migration_rate=0.05, stock_retention=0.8,
    ...          gained_customers=12, lost_customers=Suppressed(10))
    >>> migration_text(m, "2024-01")
    'Since 2024-01: upward migration **10.0%**, downward migration **5.0%**, stock retention **80.0%**; 12 customers gained and <10 lost.'
    """

    def f(kpi: str) -> str:
        return format_value(kpi, metrics[kpi], with_reason=False)

    return (
        f"Since {t0}: upward migration **{f('upward_migration_rate')}**, downward migration "
        f"**{f('downward_migration_rate')}**, stock retention **{f('stock_retention')}**; "
        f"{f('gained_customers')} customers gained and {f('lost_customers')} lost."
    )


def shown_flows(flows: pd.DataFrame, min_group_size: int) -> pd.DataFrame:
    """:func:`~bankanalysis.segmentation.migration.tier_flows` with small groups withheld.

    A tier with few customers at the base month loses its outflows, retention, base count and
    net change; a tier with few customers now loses its count, inflows and net change.
    """
    small_from = is_small(flows["customers_from"], min_group_size)
    out = suppress_small_groups(
        flows,
        "customers_from",
        min_group_size,
        value_cols=["up_out", "down_out", "closed_out", "retention_rate"],
    )
    out = suppress_small_groups(
        out.drop(columns="suppressed"),
        "customers_to",
        min_group_size,
        value_cols=["customers_to", "up_in", "down_in", "new_in", "net_growth"],
    )
    out["suppressed"] = out["suppressed"].to_numpy() | small_from
    out.loc[small_from, ["customers_from", "net_growth"]] = np.nan
    return out


def flows_table(flows: pd.DataFrame, t0: str, month: str, min_group_size: int) -> KpiTable:
    """Per tier: customers at both month-ends, moves in and out, and the tier's retention."""
    shown = flows.assign(tier=label_tiers(flows["tier"]))
    spec = [
        ("tier", "Tier", None),
        ("customers_from", f"Customers at {t0}", "customers"),
        ("customers_to", f"Customers at {month}", "customers"),
        ("net_growth", "Net change", "tier_net_growth"),
        ("up_in", "Upgraded in", "customers"),
        ("down_in", "Downgraded in", "customers"),
        ("new_in", "New", "customers"),
        ("up_out", "Upgraded out", "customers"),
        ("down_out", "Downgraded out", "customers"),
        ("closed_out", "Lost", "customers"),
        ("retention_rate", kpi_label("stock_retention"), "stock_retention"),
    ]
    return _formatted_table(
        shown,
        spec,
        currency="",
        min_group_size=min_group_size,
        withheld=shown.get("suppressed"),
    )


def pipeline_metrics(
    region_pipe: pd.DataFrame,
    min_group_size: int,
    status: pd.DataFrame | None = None,
    total: Any = None,
) -> dict[str, Any]:
    """``upgrade_candidates[target_tier=..]``: the region's customers near each threshold.

    ``region_pipe`` is :func:`~bankanalysis.segmentation.migration.upgrade_pipeline` of the
    region's customers grouped by ``region_id`` (one row per target tier, unsuppressed): the
    region's own counts, withheld when the tier below the threshold or the count is a small
    group, and (``"x"``) when ``status`` (the per-outlet table's
    :func:`~bankanalysis.report.disclosure_grid.protect_pipeline`) withholds the region's count
    so that a withheld outlet's count cannot be worked out from it.

    ``total``: the region's published count of all thresholds (``upgrade_candidates`` of
    :func:`~bankanalysis.report.actions.upgrade_metrics`; ignored unless an ``int``), which
    the counts per target tier add up to: when the pipeline shows no row,
    :func:`~bankanalysis.report.disclosure_grid.guard_target_counts` keeps that sum from giving a
    ``<k`` count back.
    """
    out = _pipeline_counts(region_pipe, min_group_size, status)
    rows_shown = status is not None and bool((status["customers"] == "").any())
    if isinstance(total, int | np.integer) and not isinstance(total, bool) and not rows_shown:
        # with a pipeline row shown, protect_upgrade_pipeline's joint step already audits
        # these counts against the upgrade list's
        out = guard_target_counts(out, int(total), min_group_size)
    return out


def _pipeline_counts(
    region_pipe: pd.DataFrame, min_group_size: int, status: pd.DataFrame | None
) -> dict[str, Any]:
    """:func:`pipeline_metrics` before the guard of the region's published total."""
    totals = status.attrs.get("withheld_totals", {}) if status is not None else {}
    out: dict[str, Any] = {}
    for row in region_pipe.itertuples(index=False):
        small = bool(is_small([row.tier_customers], min_group_size)[0]) or bool(
            is_small([row.customers], min_group_size)[0]
        )
        key = metric_key("upgrade_candidates", target_tier=row.target_tier)
        out[key] = Suppressed(min_group_size) if small else int(row.customers)
        if not small and totals.get(str(row.target_tier)):
            out[key] = Suppressed(min_group_size, "secondary")
    return out


def label_pipeline(pipe: pd.DataFrame, outlet_names: Mapping[str, str]) -> pd.DataFrame:
    """:func:`upgrade_pipeline` by outlet with ``outlet`` names and ``target tier`` labels."""
    return pipe.assign(
        outlet=pipe["outlet_id"].map(outlet_names),
        **{"target tier": label_tiers(pipe["target_tier"])},
    )


def pipeline_plot_data(
    pipe: pd.DataFrame, min_group_size: int, status: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Pipeline rows the chart may show: counts near a threshold the table shows (``status``
    from :func:`~bankanalysis.report.disclosure_grid.protect_pipeline`; default: that step
    without the dominance rule, which concerns the AUM gap the chart does not draw)."""
    status = protect_pipeline(pipe, min_group_size) if status is None else status
    return pipe[(status["customers"] == "") & (pipe["customers"] >= min_group_size)]


def pipeline_table(
    pipe: pd.DataFrame, currency: str, min_group_size: int, status: pd.DataFrame | None = None
) -> KpiTable | None:
    """The pipeline by outlet and target tier, tiers in order (``pipe`` from
    :func:`label_pipeline`).

    ``status`` is :func:`~bankanalysis.report.disclosure_grid.protect_pipeline` of ``pipe``
    (default: that step without the dominance rule): a small count shows ``"<k"``, a gap held
    mostly by one or two customers or a cell withheld so that another cannot be worked out
    from the region's totals shows ``"x"``; the share is withheld with either count.
    None when no row would show a count above 0 (every count is 0 or withheld): exactly when
    :func:`pipeline_plot_data` is empty and the report says that no outlet has enough customers
    near a threshold; a table of zeros and withheld markers would add nothing to that sentence.
    """
    k = min_group_size
    status = protect_pipeline(pipe, k) if status is None else status
    if not (pipe["customers"].where(status["customers"] == "", 0) > 0).any():
        return None
    shown = grid_values(pipe, status.loc[pipe.index], k)
    rank = {tier_label(t): i for i, t in enumerate(TIERS)}
    shown = shown.assign(_rank=shown["target tier"].map(rank))
    shown = shown.sort_values(["outlet", "_rank"], kind="stable").reset_index(drop=True)
    spec = [
        ("outlet", "Outlet", None),
        ("target tier", "Target tier", None),
        ("customers", kpi_label("upgrade_candidates"), "upgrade_candidates"),
        ("tier_customers", "Customers in the tier below", "customers"),
        ("pipeline_share", kpi_label("upgrade_candidate_share"), "upgrade_candidate_share"),
        ("aum_gap", kpi_label("upgrade_aum_gap", currency), "upgrade_aum_gap"),
    ]
    return _formatted_table(shown, spec, currency=currency, min_group_size=k)


# --------------------------------------------------------------------------- coverage


def coverage_metrics(
    kpis: pd.Series,
    absent: Mapping[str, str],
    depth: pd.DataFrame,
    ppc: pd.DataFrame,
    min_group_size: int,
) -> dict[str, Any]:
    """The region's coverage KPIs, the depth shares and products per customer by tier.

    ``kpis`` is the region's row of :func:`~bankanalysis.segmentation.coverage.customer_kpis`
    (``absent`` its ``attrs["absent"]``), ``depth`` :func:`product_depth` after
    :func:`~bankanalysis.report.disclosure_depth.protect_depth` (the frame the table shows; an
    unprotected frame is protected here with the default ``coverage_products``), ``ppc``
    :func:`products_per_customer` (suppressed when its ``min_group_size`` was given). A
    withheld share is recorded as withheld (``"<k"`` small, ``"x"`` secondary, ``"withheld"``
    fail-safe), as the table shows it.
    """
    out: dict[str, Any] = {
        kpi: kpi_value(kpis, kpi, absent)
        for kpi in ("products_per_customer", "wealth_card_matching", "e_banking_penetration")
    }
    shown = _protected_depth(depth, min_group_size).set_index("products")
    for kpi, n in (("zero_product_share", "0"), ("single_product_share", "1")):
        out[kpi] = cell_value(
            shown.loc[n, "share"], str(shown.loc[n, DEPTH_SHARE_STATUS]), min_group_size
        )
    for row in ppc[ppc["tier"] != "all"].itertuples(index=False):
        small = bool(getattr(row, "suppressed", False))
        value = _withheld(row.products_per_customer, small, min_group_size)
        out[metric_key("products_per_customer", tier=row.tier)] = (
            Absent("no customers in the tier") if not small and is_missing(value) else value
        )
    return out


def _protected_depth(depth: pd.DataFrame, k: int) -> pd.DataFrame:
    """``depth`` as :func:`~bankanalysis.report.disclosure_depth.protect_depth` returns it
    (protected here, default ``coverage_products``, when it is not yet)."""
    if DEPTH_COUNT_STATUS in depth.columns and DEPTH_SHARE_STATUS in depth.columns:
        return depth
    return protect_depth(depth, k)


def depth_table(depth: pd.DataFrame, min_group_size: int) -> KpiTable:
    """Customers on the books by number of products held, with their shares.

    ``depth`` is :func:`product_depth` after
    :func:`~bankanalysis.report.disclosure_depth.protect_depth` (an unprotected frame is
    protected here with the default ``coverage_products``): each withheld count and share
    shows its marker (``"<k"`` small, ``"x"`` secondary, ``"withheld"`` fail-safe).
    """
    shown = _protected_depth(depth, min_group_size).astype(
        {"customers": "object", "share": "object"}
    )
    for i in shown.index:
        for col, status in (("customers", DEPTH_COUNT_STATUS), ("share", DEPTH_SHARE_STATUS)):
            shown.at[i, col] = cell_value(
                shown.at[i, col], str(shown.at[i, status]), min_group_size
            )
    spec = [
        ("products", "Products held", None),
        ("customers", kpi_label("customers"), "customers"),
        ("share", "Share of customers on the books (%)", "customer_share"),
    ]
    return _formatted_table(shown, spec, currency="", min_group_size=min_group_size)


def shown_products_per_customer(ppc: pd.DataFrame, min_group_size: int) -> pd.DataFrame:
    """:func:`products_per_customer` with small tiers withheld."""
    return suppress_small_groups(ppc, "customers", min_group_size)


def shown_holding_rates(rates: pd.DataFrame, min_group_size: int) -> pd.DataFrame:
    """:func:`holding_rates` with the rates of small groups withheld."""
    return suppress_small_groups(
        rates, "customers", min_group_size, value_cols=["customers", "holders", "holding_rate"]
    )


def labelled_products_per_customer(ppc: pd.DataFrame) -> pd.DataFrame:
    """:func:`products_per_customer` with tier labels; the ``all`` row reads ``all tiers``."""
    return ppc.assign(tier=ppc["tier"].map(lambda t: TIER_LABELS.get(t, "all tiers")))


def holding_rate_grid(rates: pd.DataFrame) -> pd.DataFrame:
    """Product name x tier label grid of :func:`holding_rates` by tier, tiers in order."""
    heat = rates.assign(tier=label_tiers(rates["tier"])).pivot(
        index="name", columns="tier", values="holding_rate"
    )
    return heat[[t for t in TIER_ORDER if t in heat.columns]]


def cross_holding_shown(
    cm: pd.DataFrame, min_group_size: int, product_names: Mapping[str, str]
) -> pd.DataFrame:
    """:func:`cross_holding_matrix` with rows of small holder groups withheld, names as labels."""
    cross = cross_holding_matrix(cm)
    holders = cm[[f"hold_{p}" for p in cross.index]].sum().to_numpy()
    cross = cross.mask(np.broadcast_to(is_small(holders, min_group_size)[:, None], cross.shape))
    cross.index = [product_names.get(p, p) for p in cross.index]
    cross.columns = [product_names.get(p, p) for p in cross.columns]
    return cross


def coverage_text(metrics: Mapping[str, Any]) -> str:
    """Markdown on wealth-card matching and e-banking penetration (reasons when absent).

    Examples
    --------
    >>> coverage_text({"wealth_card_matching": Absent("not applicable: no wealth card"),
    ...                "e_banking_penetration": 0.5})
    'Wealth-management-card matching rate (quality-and-above customers): **n/a (not applicable: no wealth card)**. E-banking penetration: **50.0%** of active customers.'
    """
    card = format_value("wealth_card_matching", metrics["wealth_card_matching"])
    e_bank = format_value("e_banking_penetration", metrics["e_banking_penetration"])
    return (
        f"{get('wealth_card_matching').name} (quality-and-above customers): **{card}**. "
        f"{get('e_banking_penetration').name}: **{e_bank}** of active customers."
    )


# --------------------------------------------------------------------------- account managers

_MANAGER_SENTENCE: tuple[tuple[str, str], ...] = (
    ("manager_coverage", "of quality-and-above customers have a full-time account manager"),
    ("manager_adequacy", "quality-and-above customers per full-time manager"),
    ("contact_plan_coverage", "of quality-and-above customers were contacted this month"),
    ("vip_contact_rate", "of VIP-and-above customers were contacted in the last three months"),
    (
        "vip_service_duration_ratio",
        "of account-manager contact time went to VIP-and-above customers this month",
    ),
    ("vip_service_minutes", "per VIP-and-above customer in the last three months"),
)


def manager_metrics(kpis: pd.Series, absent: Mapping[str, str], min_group_size: int) -> dict:
    """The region's account-manager KPIs (row of :func:`manager_kpis`, ``absent`` its reasons).

    Rates over a small group of quality-and-above (or VIP-and-above) customers are withheld.
    """
    out: dict[str, Any] = {}
    for kpi, _ in _MANAGER_SENTENCE:
        small = bool(is_small([kpis[KPI_GROUP[kpi]]], min_group_size)[0])
        value = kpi_value(kpis, kpi, absent)
        out[kpi] = Suppressed(min_group_size) if small and kpi not in absent else value
    return out


def manager_text(metrics: Mapping[str, Any], currency: str = DEFAULT_CURRENCY) -> str:
    """Markdown bullet list of the region's manager KPIs, proxies noted beside the number."""
    lines = []
    for kpi, words in _MANAGER_SENTENCE:
        value = format_value(kpi, metrics[kpi], currency)
        proxy = get(kpi).proxy
        note = f" *({proxy})*" if proxy else ""
        if isinstance(metrics[kpi], Absent):  # the KPI's name, then why it is missing
            lines.append(f"- {get(kpi).name}: **{value}**.{note}")
        else:
            lines.append(f"- **{value}** {words}.{note}")
    return "\n".join(lines)


#: Columns of the account-manager table that give an outlet's quality-and-above customers
#: back (the adequacy ratio times the full-time managers printed beside it).
_MANAGER_OUTLET_COUNT: tuple[str, ...] = ("quality_plus_customers", "manager_adequacy")
#: Rates over the outlet's quality-and-above customers, withheld with that count (a rate
#: restricts its denominator to few values: 16.7 % is 7/42 or 8/48).
_MANAGER_OUTLET_RATES: tuple[str, ...] = ("manager_coverage", "contact_plan_coverage")


def manager_outlet_table(
    by_outlet: pd.DataFrame, outlet_names: Mapping[str, str], min_group_size: int
) -> KpiTable:
    """:func:`manager_kpis` by outlet for display.

    An outlet's quality-and-above customers and the adequacy ratio (which gives them back)
    follow :func:`~bankanalysis.report.disclosure_outlet_tiers.protect_quality_plus`, the
    decision 03 reads for the outlet's share of them (``<k``; ``x`` or ``withheld`` where the
    region's count would give a small one back); so do the coverage rates over them (a rate
    restricts its denominator to few values), and a note under the table says why.
    """
    status = protect_quality_plus(by_outlet["quality_plus_customers"], min_group_size)
    df = by_outlet.reset_index()
    df["outlet"] = df["outlet_id"].map(outlet_names)
    df["status"] = status.to_numpy()
    small = pd.Series(is_small(df["quality_plus_customers"], min_group_size), index=df.index)
    hidden = df["status"].ne("") | small
    for col in (*_MANAGER_OUTLET_COUNT, *_MANAGER_OUTLET_RATES):
        df[col] = df[col].astype("float64").mask(hidden)
    df = df.assign(withheld=hidden).sort_values("outlet").reset_index(drop=True)
    spec = [
        ("outlet", "Outlet", None),
        ("quality_plus_customers", "Quality-and-above customers", "customers"),
        ("manager_coverage", kpi_label("manager_coverage"), "manager_coverage"),
        ("full_time_managers", "Full-time account managers", "customers"),
        ("manager_adequacy", kpi_label("manager_adequacy"), "manager_adequacy"),
        ("contact_plan_coverage", kpi_label("contact_plan_coverage"), "contact_plan_coverage"),
    ]
    note = quality_plus_rate_note(df["status"], min_group_size)
    table = _formatted_table(
        df, spec, currency="", min_group_size=min_group_size, withheld=df["withheld"], note=note
    )
    counted = [h for c, h, _ in spec if c in (*_MANAGER_OUTLET_COUNT, *_MANAGER_OUTLET_RATES)]
    table.frame = mark_withheld_rows(table.frame, counted, df["status"].tolist(), min_group_size)
    return table


def manager_outlet_plot_data(
    by_outlet: pd.DataFrame, outlet_names: Mapping[str, str], min_group_size: int
) -> pd.DataFrame:
    """Outlets whose manager coverage the table shows (their quality-and-above customers
    published: :func:`~bankanalysis.report.disclosure_outlet_tiers.protect_quality_plus`).

    ``attrs["withheld"]`` maps the name of each outlet whose coverage the table withholds to
    its marker (``<k``, ``x``, ``withheld``), which :func:`plot_manager_coverage` names on the
    chart: a missing bar must not read as 0.

    Examples
    --------
    >>> by = pd.DataFrame({"quality_plus_customers": [4, 30, 50],
    ...                    "manager_coverage": [0.5, 0.9, 0.8]},
    ...                   index=pd.Index(["O1", "O2", "O3"], name="outlet_id"))
    >>> plot = manager_outlet_plot_data(by, {"O1": "Zeta", "O2": "Alpha", "O3": "Mid"}, 10)
    >>> plot["outlet"].tolist(), plot.attrs["withheld"]
    (['Mid'], {'Alpha': 'x', 'Zeta': '<10'})
    """
    status = protect_quality_plus(by_outlet["quality_plus_customers"], min_group_size)
    df = by_outlet.reset_index()
    small = is_small(df["quality_plus_customers"], min_group_size) | status.ne("").to_numpy()
    has_rate = df["manager_coverage"].notna().to_numpy()
    keep = df.loc[~small & has_rate]
    hidden = df.loc[small & has_rate]
    withheld = {
        str(outlet_names.get(o, o)): str(cell_value(None, st or PRIMARY, min_group_size))
        for o, st in zip(hidden["outlet_id"], status.to_numpy()[small & has_rate], strict=True)
    }
    # the names of the kept rows only (a Series assigned to an empty frame would add its rows)
    out = keep.assign(outlet=keep["outlet_id"].map(outlet_names))
    out.attrs["withheld"] = dict(sorted(withheld.items()))
    return out


def plot_manager_coverage(plot: pd.DataFrame, month: str) -> Any:
    """Full-time account-manager coverage per outlet, lowest first (a chart only this report
    draws). The outlets in ``plot.attrs["withheld"]`` get a row without a bar that says
    ``withheld (<marker>)``, and a line under the chart says why."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import PercentFormatter

    data = plot.sort_values("manager_coverage")
    withheld: Mapping[str, str] = plot.attrs.get("withheld", {})
    n = len(data) + len(withheld)
    fig, ax = plt.subplots(figsize=(8, 0.35 * n + 2))
    ax.barh(range(len(data)), data["manager_coverage"], color="#2171b5")
    for y, marker in enumerate(withheld.values(), start=len(data)):
        ax.text(0.01, y, f"withheld ({marker})", va="center", color="#555555", style="italic")
    labels = [*data["outlet"].astype(str), *withheld]
    ax.set_yticks(range(n), labels)
    ax.set_title(f"{get('manager_coverage').name} by outlet, {month}")
    ax.set_xlabel(kpi_label("manager_coverage"))
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlim(0, 1)
    if withheld:
        why = "No bar: withheld with the outlet's quality-and-above customers (table), not 0."
        fig.text(0.01, 0.005, why, fontsize=8, color="#555555")
    return fig


def escape(text: object) -> str:
    """HTML-escaped text of a name from the data, for Markdown sentences."""
    return html.escape(str(text))
