"""The scope, section container and shared helpers of the plan sections
(:mod:`bankanalysis.report.planning`)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from bankanalysis import planning as pl
from bankanalysis.benchmarking.kpis import outlet_kpis
from bankanalysis.frames import map_few
from bankanalysis.report.benchmarking import blank_unmeasured
from bankanalysis.report.format import (
    DEFAULT_CURRENCY,
    Absent,
    Suppressed,
    format_value,
    is_missing,
)
from bankanalysis.rules.disclosure import is_small
from bankanalysis.rules.kpis import metric_key
from bankanalysis.rules.months import parse_month, shift_month
from bankanalysis.rules.tiers import TIERS

__all__ = [
    "SECTION_IDS",
    "load_all_customer_quarters",
    "load_customer_quarters",
    "PlanScope",
    "Section",
    "load_plan_kpis",
    "load_total_counts",
    "plan_end",
    "plan_monthly",
    "scope_for",
]

logger = logging.getLogger(__name__)


#: The section anchors of the plan sections, in report order.
SECTION_IDS: tuple[str, ...] = (
    "plan-progress",
    "quarters",
    "year-on-year",
    "echelons",
    "self-service-path",
)
#: KPIs about devices and transactions: not withheld for small customer groups.
NOT_CUSTOMER = (
    "device_operating_rate",
    "outlet_replacement_rate",
    "accounting_replacement_rate",
    "self_service_per_outlet",
)
_ORDER = {"bank": 0, "echelon": 1, "region": 2, "outlet": 3}


@dataclass
class Section:
    """What one plan section shows (Markdown, tables, figures in order) and records."""

    anchor: str
    parts: list[Any] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)

    def show(self, recorder: Any = None) -> None:
        """Record the metrics (when a recorder is given) and display the parts.

        The display is the report sections' one (:class:`bankanalysis.report.propensity.Section`).
        """
        from bankanalysis.report.propensity import Section as ReportSection

        ReportSection(self.parts, self.metrics).show(recorder)


@dataclass(frozen=True)
class PlanScope:
    """Whose plan a report follows.

    Attributes
    ----------
    month : str
        Data month.
    region_id : str or None
        The report's region; ``None`` for the bank report.
    echelon : int or None
        The region's echelon.
    names : mapping
        Region and outlet id -> display name.
    currency : str
        Currency of money figures.
    min_group_size : int
        ``k`` of the disclosure rule.
    outlet_ids : tuple of str
        The region's outlets (a region report shows their targets).
    """

    month: str
    region_id: str | None = None
    echelon: int | None = None
    names: Mapping[str, str] = field(default_factory=dict)
    currency: str = DEFAULT_CURRENCY
    min_group_size: int = 10
    outlet_ids: tuple[str, ...] = ()

    @property
    def levels(self) -> tuple[str, ...]:
        """Levels the report shows."""
        if self.region_id is None:
            return ("bank", "echelon", "region")
        return ("bank", "echelon", "region", "outlet")

    def shown(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Rows of ``frame`` (``level, id``) the report shows, bank first."""
        if self.region_id is None:
            keep = frame["level"].isin(self.levels)
        else:
            keep = (
                (frame["level"] == "bank")
                | ((frame["level"] == "echelon") & (frame["id"] == str(self.echelon)))
                | ((frame["level"] == "region") & (frame["id"] == self.region_id))
                | ((frame["level"] == "outlet") & frame["id"].isin(self.outlet_ids))
            )
        out = frame.loc[keep]
        return (
            out.assign(_o=out["level"].map(_ORDER))
            .sort_values(["_o", "id"], kind="stable")
            .drop(columns="_o")
        )

    def label(self, level: str, gid: str) -> str:
        """Display name of a row."""
        if level == "bank":
            return "The bank"
        if level == "echelon":
            return f"Echelon {gid}"
        return str(self.names.get(gid, gid))

    def key(self, kpi_id: str, level: str, gid: str, /, **by: object) -> str | None:
        """The ``metrics.json`` key of a figure, ``None`` when the report does not record it."""
        if self.region_id is None:
            if level == "bank":
                return metric_key(kpi_id, **by)
            if level == "region":
                return metric_key(kpi_id, region=gid, **by)
            return None
        if level == "region" and gid == self.region_id:
            return metric_key(kpi_id, **by)
        return None


def plan_end(month: str, plan_start: str | None, plan_years: int) -> str:
    """The plan date: the last month of ``plan_years`` years from ``plan_start`` (default
    January of the data month's year).

    Examples
    --------
    >>> plan_end("2025-06", None, 3)
    '2027-12'
    >>> plan_end("2025-06", "2024-07", 3)
    '2027-06'
    """
    start = plan_start or f"{parse_month(month)[0]:04d}-01"
    return shift_month(start, 12 * plan_years - 1)


def plan_monthly(outlet_kpis: pd.DataFrame, scope: PlanScope) -> pd.DataFrame:
    """Monthly KPI values of every level the report shows (up to the data month)."""
    k = outlet_kpis.loc[outlet_kpis["month"] <= scope.month]
    if scope.region_id is not None:
        mine = k.loc[k["region_id"] == scope.region_id]
        parts = [pl.level_values(mine, "outlet"), pl.level_values(mine, "region")]
        parts.append(pl.level_values(k.loc[k["echelon"] == scope.echelon], "echelon"))
    else:
        parts = [pl.level_values(k, "region"), pl.level_values(k, "echelon")]
    parts.append(pl.level_values(k, "bank"))
    return pd.concat(parts, ignore_index=True)


def small_rows(frame: pd.DataFrame, k: int) -> pd.Series:
    """Rows whose group holds 1 to k-1 customers (by ``customers``; unknown = not small)."""
    if "customers" not in frame.columns:
        return pd.Series(False, index=frame.index)
    c = frame["customers"].astype("float64").fillna(0.0)
    return pd.Series(is_small(c, k), index=frame.index)


def cell(
    kpi: str, value: Any, currency: str, withheld: bool, k: int, decimals: int | None = None
) -> str:
    """A table cell: the formatted value, or the small-group marker for a customer figure."""
    if withheld and kpi not in NOT_CUSTOMER:
        return format_value(kpi, Suppressed(k), currency)
    return format_value(kpi, value, currency, decimals=decimals)


def figure(value: float, reason: str) -> Any:
    """``value`` to record, or :class:`Absent` with ``reason`` when it is missing."""
    return value if not is_missing(value) else Absent(reason)


def customers_at(monthly: pd.DataFrame, month: str) -> dict[tuple[str, str], float]:
    """Active customers at ``month`` per (level, id) (the small-group rule's group sizes)."""
    if "customers" not in monthly.columns:
        return {}
    now = monthly.loc[monthly["month"] == month]
    return {
        (lv, i): float(c)
        for lv, i, c in zip(now["level"], now["id"], now["customers"], strict=True)
    }


# --------------------------------------------------------------------------- notebook helpers


def load_plan_kpis(ctx: Any) -> pd.DataFrame:
    """Outlet KPIs of every outlet up to the report's month (no customer-month reads; KPIs
    whose raw table the extract lacks are NaN)."""
    om = ctx.bank.outlet_month()
    return blank_unmeasured(outlet_kpis(om.loc[om["month"] <= ctx.month]), ctx.bank.has)


def load_total_counts(ctx: Any, params: Mapping[str, Any] | None = None) -> Any:
    """The run's :func:`~bankanalysis.report.disclosure_plan.protect_total_counts`: which
    counts of the regions and echelons every report withholds, from the whole bank's
    :func:`load_plan_kpis` at the report's month, decided jointly with the run's lost
    customers (:func:`~bankanalysis.report.disclosure_window.window_step`: the window's new
    customers bound a unit's lost customers with its base and end customers).

    Every report of a run needs this same answer (00's and 03's plan sections, each report's
    summary), and its linear programmes take seconds on a bank of many small regions, so it is
    computed once per data, month, ``min_group_size``, ``lookback_months`` (``params``, the
    report's ``globals()``; the overview's default when missing) and package source: the first
    report stores it under ``<processed>/_models/total_counts`` (the locked cache of
    :func:`~bankanalysis.propensity.cache.cached_for_data`) and the others read it back. One
    input for all of them also means one answer: no report can withhold a figure another
    prints.
    """
    from bankanalysis.propensity.cache import cached_for_data
    from bankanalysis.report.disclosure_plan import protect_total_counts
    from bankanalysis.report.disclosure_retention import retention_setup
    from bankanalysis.report.disclosure_window import load_window, window_step

    lookback, _, _, echelon_of = retention_setup(ctx, params)

    def build() -> Any:
        step = window_step(load_window(ctx, params), echelon_of, int(ctx.min_group_size))
        return protect_total_counts(load_plan_kpis(ctx), ctx.month, ctx.min_group_size, joint=step)

    key = {
        "what": "total counts with lost customers",
        "month": ctx.month,
        "k": int(ctx.min_group_size),
        "lookback": lookback,
    }
    return cached_for_data(ctx.bank, "total_counts", key, build)[0]


def scope_for(ctx: Any) -> PlanScope:
    """The :class:`PlanScope` of a report context (the bank when it has no region)."""
    return PlanScope(
        month=ctx.month,
        region_id=ctx.region_id,
        echelon=ctx.echelon,
        names={**ctx.region_names, **ctx.outlet_names},
        currency=ctx.currency,
        min_group_size=ctx.min_group_size,
        outlet_ids=tuple(ctx.region_outlets) if ctx.region_id is not None else (),
    )


def load_customer_quarters(
    ctx: Any, scope: PlanScope, params: Mapping[str, Any], n_quarters: int = 5
) -> pd.DataFrame:
    """The scorecard's customer KPIs (retention, coverage, card matching) of the last
    ``n_quarters`` quarters at every level the report shows, each at its quarter's last month
    in the data (:func:`bankanalysis.planning.customer_period_values`).

    Reads the customer months those snapshots need (each one's tier window and base month).
    ``params`` is the report's ``globals()``: tier thresholds and months, lookback, coverage
    products and wealth card (the overview's defaults for those the report does not have,
    :func:`bankanalysis.report.standing.scorecard_params`).

    Every region's outlet report and the overview need the same bank-wide figures (about ten
    months of every customer: the dominant cost of a large bank's reports), so they are
    computed once for every level per data, month, parameters and package source: the first
    report stores them under ``<processed>/_models/customer_quarters`` (the locked cache of
    :func:`~bankanalysis.report.benchmarking.load_outlet_kpis`) and the others read them back
    and keep the levels they show. Without a data fingerprint nothing is cached.
    """
    frame = load_all_customer_quarters(ctx, scope.month, params, n_quarters)
    if not len(frame):
        return frame
    return frame.loc[frame["level"].isin(scope.levels)].reset_index(drop=True)


def load_all_customer_quarters(
    ctx: Any, month: str, params: Mapping[str, Any], n_quarters: int = 5
) -> pd.DataFrame:
    """:func:`load_customer_quarters` of every level (:data:`ALL_LEVELS`) at ``month``: the
    cached frame every report reads (the run's decision on the levels' shares,
    :func:`~bankanalysis.report.disclosure_shares.load_level_shares`, reads all of it)."""
    from bankanalysis.propensity.cache import cached_for_data
    from bankanalysis.report.standing import scorecard_params

    p = scorecard_params(params)
    what = {"what": "customer quarters", "month": month, "n_quarters": int(n_quarters)}
    return cached_for_data(
        ctx.bank,
        "customer_quarters",
        {**what, "params": p},
        lambda: _customer_quarters(ctx, month, p, n_quarters, ALL_LEVELS),
    )[0]


#: Every level :func:`load_customer_quarters` computes once (a report keeps those it shows).
ALL_LEVELS: tuple[str, ...] = ("bank", "echelon", "region", "outlet")


def _customer_quarters(
    ctx: Any,
    month: str,
    p: Mapping[str, Any],
    n_quarters: int,
    levels: Sequence[str],
    chunk_customers: int | None = None,
    engine: str = "sql",
) -> pd.DataFrame:
    """:func:`load_customer_quarters` of ``levels`` computed from ``customer_month`` (no cache).

    ``engine="sql"`` (the default, when ``customer_month.parquet`` has the columns it reads):
    DuckDB counts each quarter end's customers per region and outlet straight from the file
    (:func:`~bankanalysis.data.processed_sql.quarter_unit_counts`: only small frames of counts
    come back; the few customers whose window average is near the quality threshold are
    tiered by pandas' own rule, :func:`_near_units`) and pandas adds the counts up per level
    (:func:`~bankanalysis.segmentation.coverage.sums_of_units`): the frame of the pandas
    engine, to the last bit.

    ``engine="pandas"``: one quarter end at a time, reading only its tier window and base
    month, and within it one part of the customers at a time
    (:meth:`~bankanalysis.data.load.ProcessedBank.customer_ranges`, ``chunk_customers`` each,
    default :func:`~bankanalysis.data.load.chunk_customers`): each part is reduced to its
    per-group counts (:func:`~bankanalysis.segmentation.coverage.customer_sums`, whole numbers,
    added exactly) before the next is read. A customer's rows are all in one part, so its tier
    and whether it was retained are those of the whole read; the figures are the same as
    from all the months of every customer at once.
    """
    from bankanalysis.overview import scorecard_columns

    cols = scorecard_columns(p["wealth_card_product"], has_contacts=False)
    if engine == "sql" and chunk_customers is None and _has_columns(ctx.bank, cols):
        return _quarters_of(ctx, month, p, n_quarters, levels, _sql_quarter_sums(ctx, p, levels))

    def parts(m: str, base: str, needed: list[str]) -> dict[str, pd.DataFrame]:
        return _pandas_quarter_sums(ctx, m, base, needed, p, levels, cols, chunk_customers)

    return _quarters_of(ctx, month, p, n_quarters, levels, parts)


def _has_columns(bank: Any, columns: Sequence[str]) -> bool:
    """Whether the bank's ``customer_month.parquet`` has every one of ``columns``."""
    import pyarrow.parquet as pq

    path = Path(bank.folder) / "customer_month.parquet"
    if not path.is_file():
        return False
    return set(columns) <= set(pq.read_schema(path).names)


def _echelons(bank: Any) -> dict[str, int]:
    """Region id -> echelon of the bank's ``regions`` table."""
    regions = bank.regions
    if "region_id" in regions.columns:
        regions = regions.set_index("region_id")
    return {str(r): int(e) for r, e in regions["echelon"].items()}


def _quarters_of(
    ctx: Any,
    month: str,
    p: Mapping[str, Any],
    n_quarters: int,
    levels: Sequence[str],
    sums_of: Any,
) -> pd.DataFrame:
    """The quarter rows of every level, each quarter end's counts per level from
    ``sums_of(end, base, needed)`` (``needed``: the window's and base months in the data)."""
    from bankanalysis.rules.months import base_month, month_window

    months = [m for m in ctx.bank.months if m <= month]
    last: dict[str, str] = {}
    for m in months:
        last[pl.period_label("quarter", m)] = m
    ends = [last[q] for q in sorted(last)[-n_quarters:]]
    have = set(months)
    frames = []
    for m in ends:
        base = base_month(months, m, p["lookback_months"])
        needed = sorted({w for w in month_window(m, p["tier_months"]) if w in have} | {base})
        sums = sums_of(m, base, needed)
        for level in levels:
            frames.append(pl.customer_period_from_sums(sums[level], m, level, "quarter", months))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _pandas_quarter_sums(
    ctx: Any,
    m: str,
    base: str,
    needed: list[str],
    p: Mapping[str, Any],
    levels: Sequence[str],
    cols: list[str],
    chunk_customers: int | None,
) -> dict[str, pd.DataFrame]:
    """Per level, the counts of quarter end ``m`` from the ``customer_month`` rows of
    ``needed``, read one part of the customers at a time (the pandas engine)."""
    from bankanalysis.segmentation.coverage import add_customer_sums

    echelons = _echelons(ctx.bank)
    sums: dict[str, list[pd.DataFrame]] = {level: [] for level in levels}
    for id_range in ctx.bank.customer_ranges(chunk_customers):
        cm = ctx.bank.customer_month(months=needed, columns=cols, id_range=id_range)
        cm["echelon"] = map_few(cm["region_id"].astype(str), echelons)
        for level, part in _quarter_sums(cm, m, base, p, levels).items():
            sums[level].append(part)
        del cm
    return {level: add_customer_sums(sums[level]) for level in levels}


def _sql_quarter_sums(ctx: Any, p: Mapping[str, Any], levels: Sequence[str]) -> Any:
    """``sums_of`` of :func:`_quarters_of` counted by DuckDB (the SQL engine)."""
    from bankanalysis.data.processed_sql import quarter_unit_counts
    from bankanalysis.rules.months import month_window
    from bankanalysis.rules.tiers import check_thresholds
    from bankanalysis.segmentation.coverage import sums_of_units

    quality_from = float(check_thresholds(p["tier_thresholds"])[0])
    card = p["wealth_card_product"]
    echelons = _echelons(ctx.bank)

    def sums_of(m: str, base: str, needed: list[str]) -> dict[str, pd.DataFrame]:
        window = [w for w in month_window(m, p["tier_months"]) if w in set(needed)]
        counts = quarter_unit_counts(
            ctx.bank.folder,
            m,
            base,
            window,
            quality_from,
            int(p["coverage_products"]),
            f"hold_{card}" if card is not None else None,
        )
        now = pd.concat([counts.now, _near_units(ctx.bank, counts.near, m, window, p)])
        now = now.reset_index(drop=True)
        base_units = counts.base
        for units in (now, base_units):
            units["echelon"] = map_few(units["region_id"].astype(str), echelons)
        return {
            level: sums_of_units(now, base_units, pl.LEVEL_COLUMNS[level], card) for level in levels
        }

    return sums_of


def _near_units(
    bank: Any, near: pd.DataFrame, month: str, window: Sequence[str], p: Mapping[str, Any]
) -> pd.DataFrame:
    """``qplus`` and ``qplus_card`` of the customers SQL left undecided (``near``: window
    average at or next to the quality threshold, or missing), tiered by
    :func:`~bankanalysis.rules.tiers.customer_tiers` on their own rows of the window: one row
    per customer with its ``region_id, outlet_id`` (the other counts 0, SQL has them)."""
    from bankanalysis.rules.tiers import customer_tiers, tier_at_least

    out = near[["region_id", "outlet_id"]].copy()
    if not len(near):
        return out.assign(qplus=pd.Series(dtype="float64"), qplus_card=pd.Series(dtype="float64"))
    rows = bank.customer_month(
        months=list(window), columns=["aum"], customer_ids=near["customer_id"].astype(str)
    )
    tiers = customer_tiers(rows, month, p["tier_thresholds"], p["tier_months"])
    qplus = pd.Series(
        tier_at_least(tiers["tier"], "quality"), index=tiers["customer_id"].astype(str).to_numpy()
    )
    out["qplus"] = qplus.reindex(near["customer_id"].astype(str).to_numpy()).to_numpy("float64")
    out["qplus_card"] = out["qplus"] * near["card"].to_numpy("float64")
    return out


def _quarter_sums(
    cm: pd.DataFrame, month: str, base: str, p: Mapping[str, Any], levels: Sequence[str]
) -> dict[str, pd.DataFrame]:
    """Per level, the customer counts of quarter end ``month`` from the ``customer_month``
    rows ``cm`` of some customers (its tier window and ``base`` month, with ``echelon``)."""
    from bankanalysis.rules.tiers import customer_tiers
    from bankanalysis.segmentation.coverage import customer_sums

    now = cm.loc[cm["month"] == month]
    if len(now):
        tiers = customer_tiers(cm, month, p["tier_thresholds"], p["tier_months"])
    else:  # none of these customers is active at the quarter end (they count at the base only)
        tiers = now.assign(tier=pd.Categorical([], categories=list(TIERS), ordered=True))
    base_rows = cm.loc[cm["month"] == base, ["customer_id", "outlet_id", "region_id", "echelon"]]
    return {
        level: customer_sums(
            tiers,
            base_rows,
            None,
            by=pl.LEVEL_COLUMNS[level],
            coverage_products=p["coverage_products"],
            wealth_card_product=p["wealth_card_product"],
        )
        for level in levels
    }
