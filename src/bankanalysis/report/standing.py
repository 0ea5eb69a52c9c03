"""The plan's KPIs of every region, echelon and the bank, as a report may publish them.

:func:`load_standing` computes the scorecard of :mod:`bankanalysis.overview` (the KPIs' one
computing functions) for every region, every echelon and the whole bank at the data month,
last month and three months earlier, and keeps what the disclosure rule lets a report publish;
:func:`cached_standing` computes it once per data, month, parameters and package source for all
the reports of a run. :meth:`Standing.frame` gives one scope's figures side by side for the
summary (:mod:`bankanalysis.report.summary`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from bankanalysis import overview as ov
from bankanalysis.exceptions import ProcessedDataError
from bankanalysis.frames import map_few
from bankanalysis.params import OverviewParams
from bankanalysis.propensity.cache import cached_for_data
from bankanalysis.report.context import ReportContext
from bankanalysis.report.format import Absent, Suppressed, is_missing
from bankanalysis.report.overview import Scorecard, scorecard_options
from bankanalysis.rules.disclosure import is_small
from bankanalysis.rules.months import base_month, month_window, shift_month
from bankanalysis.rules.tiers import customer_tiers
from bankanalysis.segmentation.coverage import still_active

__all__ = [
    "Standing",
    "cached_standing",
    "echelon_key",
    "load_standing",
    "month_tiers",
    "scorecard_params",
    "raw_standing",
]

logger = logging.getLogger(__name__)


@dataclass
class Standing:
    """The plan's KPIs, as published, per region, echelon and bank at three months.

    Attributes
    ----------
    month : str
        Data month.
    since : dict
        ``{"month": last month, "quarter": three months earlier}``, only those in the data.
    regions, echelons, bank : dict of str to Scorecard
        Per month: the published scorecard (:class:`~bankanalysis.report.overview.Scorecard`)
        of the regions, of the echelons (``region_id`` is the echelon number as text) and of
        the bank.
    region_echelon : dict
        Region id -> echelon.
    """

    month: str
    since: dict[str, str]
    regions: dict[str, Scorecard]
    echelons: dict[str, Scorecard]
    bank: dict[str, Scorecard]
    region_echelon: dict[str, Any] = field(default_factory=dict)

    @property
    def kpi_ids(self) -> list[str]:
        """Scorecard KPIs computable for this bank (absent ones left out)."""
        absent = self.regions[self.month].absent
        return [k for k in ov.SCORECARD_KPIS if k not in absent]

    def lone(self, region_id: str) -> bool:
        """True when the region is the only one of its echelon."""
        e = self.region_echelon.get(region_id)
        return sum(1 for v in self.region_echelon.values() if v == e) == 1

    def frame(self, region_id: str | None) -> pd.DataFrame:
        """One scope's published figures: index KPI, columns ``value, echelon, bank, month,
        quarter`` (``Suppressed``/``Absent`` where not published).

        ``region_id`` ``None`` is the whole bank (its ``echelon`` and ``bank`` columns empty).
        A region alone in its echelon has no ``echelon`` figure (it is compared with the bank).
        """
        rows = []
        for k in self.kpi_ids:
            row: dict[str, Any] = {"kpi": k}
            if region_id is None:
                row["value"] = _figure(self.bank[self.month], "all", k)
                row["echelon"] = row["bank"] = None
                for col, m in self.since.items():
                    row[col] = _figure(self.bank[m], "all", k)
            else:
                row["value"] = _figure(self.regions[self.month], region_id, k)
                e = self.region_echelon.get(region_id)
                row["echelon"] = (
                    None
                    if self.lone(region_id)
                    else _figure(self.echelons[self.month], echelon_key(e), k)
                )
                row["bank"] = _figure(self.bank[self.month], "all", k)
                for col, m in self.since.items():
                    row[col] = _figure(self.regions[m], region_id, k)
            rows.append(row)
        out = pd.DataFrame(rows).set_index("kpi")
        for col in ("value", "echelon", "bank", "month", "quarter"):
            if col not in out:
                out[col] = None
        return out.astype(object)

    def echelon_frame(self) -> pd.DataFrame:
        """Every echelon's published figures at the data month: index KPI, one column per
        echelon (``"Echelon 1"`` ...), ``Suppressed``/``Absent`` where not published."""
        sc = self.echelons[self.month]
        keys = sorted(str(k) for k in sc.regions["region_id"].dropna().unique() if str(k))
        out = pd.DataFrame(
            {f"Echelon {e}": [_figure(sc, e, k) for k in self.kpi_ids] for e in keys},
            index=pd.Index(self.kpi_ids, name="kpi"),
        )
        return out.astype(object)

    def customers(self, region_id: str) -> Any:
        """The region's customers at the data month as published."""
        sc = self.regions[self.month]
        row = sc.regions.index[sc.regions["region_id"].astype(str) == region_id]
        if len(row) == 0:
            return Absent("no customers in the data")
        n = int(sc.regions.at[row[0], "customers"])
        return Suppressed(sc.min_group_size) if is_small(n, sc.min_group_size)[()] else n


def echelon_key(e: Any) -> str:
    return str(int(e)) if not is_missing(e) else ""


def _figure(sc: Scorecard, key: str, kpi: str) -> Any:
    """The published figure of ``kpi`` for the scorecard row ``key`` (Absent when no row)."""
    rows = sc.regions.index[sc.regions["region_id"].astype(str) == key]
    if len(rows) == 0:
        return Absent("no data for it this month")
    return sc.value(kpi, rows[0])


def _relabel(df: pd.DataFrame, lookup: Mapping[str, str]) -> pd.DataFrame:
    return df.assign(region_id=map_few(df["region_id"].astype(str), lookup))


def month_tiers(
    bank: Any,
    month: str,
    base: str,
    columns: Sequence[str],
    tier_thresholds: Sequence[float],
    tier_months: int,
    month_aum: dict[str, pd.DataFrame] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The whole bank's tiers at ``month`` and its customers at the base month, read narrowly.

    :func:`~bankanalysis.rules.tiers.customer_tiers` of the ``columns`` of ``month`` with the
    tier window's AUM, and ``customer_id, region_id`` of ``base``: only ``month`` is read with
    every column; the window's earlier month-ends are read as ``customer_id, aum`` and the base
    month as ``customer_id, region_id`` (a tier depends on the window's AUM alone), one month
    of the standing at a time, instead of every column of every month the standing needs at
    once. The frames equal those cut from the wide read (a test keeps them so).

    Parameters
    ----------
    month_aum : dict, optional
        Month-ends already read, month -> ``month, customer_id, aum`` sorted by customer (the
        rows of :meth:`~bankanalysis.data.load.ProcessedBank.customer_month` of that month):
        the window's month-ends found there are not read again, and every month-end read here
        is added to it, so that the windows of several months, which overlap, read each
        month-end once.

    Returns
    -------
    (tiers_now, cm_base)
    """
    known = set(bank.months)
    read = {} if month_aum is None else month_aum
    now = bank.customer_month(months=[month], columns=list(columns))
    if "aum" in now.columns:
        read.setdefault(month, now[["month", "customer_id", "aum"]])
    window = [m for m in month_window(month, tier_months) if m in known]
    for m in window:
        if m not in read:
            read[m] = bank.customer_month(months=[m], columns=["customer_id", "aum"])
    aum = pd.concat([read[m] for m in window], ignore_index=True)
    tiers = customer_tiers(aum, month, tier_thresholds, tier_months)
    del aum
    out = now.sort_values("customer_id").reset_index(drop=True)
    del now
    if not out["customer_id"].equals(tiers["customer_id"]):
        raise ProcessedDataError(f"customer_month {month}: the AUM and the full rows differ")
    for c in ("avg_aum", "months_used", "tier"):
        out[c] = tiers[c].array  # same customers in the same (sorted) order
    if base in known:
        cm_base = bank.customer_month(months=[base], columns=["customer_id", "region_id"])
        cm_base = cm_base[["customer_id", "region_id"]]
    else:
        cm_base = out.loc[[], ["customer_id", "region_id"]]
    return out, cm_base


def load_standing(
    ctx: ReportContext,
    *,
    tier_thresholds: Sequence[float],
    tier_months: int,
    lookback_months: int = 12,
    coverage_products: int = 3,
    wealth_card_product: str | None = "wealth_card",
) -> Standing:
    """Compute the plan's KPIs of every region, echelon and the bank at the data month, last
    month and three months earlier (those in the data), withheld as the disclosure rule says.

    The KPIs come from :func:`bankanalysis.overview.region_scorecard` (their one computing
    functions); an echelon's figures are the scorecard of its regions' customers pooled.
    Parameters a report does not have take the bank overview's defaults.
    """
    bank, month, k = ctx.bank, ctx.month, ctx.min_group_size
    months = [m for m in bank.months if m <= month]
    since = {
        col: shift_month(month, -n)
        for col, n in (("month", 1), ("quarter", 3))
        if shift_month(month, -n) in months
    }
    wanted = [month, *since.values()]
    has_contacts = bank.has("contacts")
    columns = ov.scorecard_columns(wealth_card_product, has_contacts)
    rm = bank.region_month()
    rm = rm.loc[rm["month"] <= month]
    om = bank.outlet_month()
    firsts = rm.drop_duplicates("region_id")
    region_echelon = pd.Series(
        firsts["echelon"].to_numpy(), index=firsts["region_id"].astype(str).to_numpy()
    )
    to_echelon = {r: echelon_key(e) for r, e in region_echelon.items()}
    common = scorecard_options(bank, coverage_products, wealth_card_product)
    regions, echelons, whole = {}, {}, {}
    month_aum: dict[str, pd.DataFrame] = {}
    for i, m in enumerate(order := sorted(wanted)):  # oldest first: the windows overlap
        base = base_month([x for x in months if x <= m], m, lookback_months)
        tiers_now, cm_base = month_tiers(
            bank, m, base, columns, tier_thresholds, tier_months, month_aum
        )
        later = {w for x in order[i + 1 :] for w in month_window(x, tier_months)}
        for w in set(month_aum) - later:  # kept only for the windows still to come
            del month_aum[w]
        # the base customers still active, once for the three levels' retention
        cm_base = cm_base.assign(kept=still_active(cm_base, tiers_now))
        args = (tiers_now, cm_base, rm, om, m)
        regions[m] = Scorecard.withheld_from(ov.region_scorecard(*args, **common), k, base)
        relabelled = [_relabel(a, to_echelon) for a in args[:4]]
        echelons[m] = Scorecard.withheld_from(
            ov.region_scorecard(*relabelled, m, **common), k, base
        )
        whole[m] = Scorecard.withheld_from(
            ov.region_scorecard(*args, by_region=False, **common), k, base
        )
    logger.info("standing computed for %s", ", ".join(wanted))
    return Standing(
        month=month,
        since=since,
        regions={m: regions[m] for m in wanted},
        echelons={m: echelons[m] for m in wanted},
        bank={m: whole[m] for m in wanted},
        region_echelon=dict(region_echelon.items()),
    )


def scorecard_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """The scorecard's parameters from a report's ``globals()``, the overview's defaults for
    those the report does not have."""
    fields = OverviewParams.model_fields
    names = (
        "tier_thresholds",
        "tier_months",
        "lookback_months",
        "coverage_products",
        "wealth_card_product",
    )
    return {
        n: params[n] if n in params else fields[n].get_default(call_default_factory=True)
        for n in names
    }


def cached_standing(ctx: ReportContext, **params: Any) -> tuple[Standing, bool]:
    """:func:`load_standing`, computed once per data, month, parameters and package source.

    Every report of a run needs the same figures: the first computes them and stores them under
    ``<processed>/_models/summary`` (beside the models, the one folder of ``processed`` that
    prepare keeps; the propensity models' cache, :mod:`bankanalysis.propensity.
    cache`, locked against parallel workers); the others read them. Without a data fingerprint
    nothing is cached.

    Returns
    -------
    (Standing, bool)
        The figures and whether they came from the cache.
    """
    what = {
        "what": "summary standing",
        "month": ctx.month,
        "min_group_size": ctx.min_group_size,
        **params,
    }
    return cached_for_data(ctx.bank, "summary", what, lambda: load_standing(ctx, **params))


def raw_standing(ctx: ReportContext, params: Mapping[str, Any]) -> Standing:
    """The report's :class:`Standing` (cached, :func:`cached_standing`) from its parameters,
    every figure as the small-group rule leaves it: what the run's decisions are made from.
    A report publishes :func:`~bankanalysis.report.summary.standing_for` (with the figures
    the run withholds for every report withheld)."""
    return cached_standing(ctx, **scorecard_params(params))[0]
