"""The upgrade list: customers just below the next tier threshold, and what would lift them.

A customer is an *upgrade candidate* when the window-average AUM the tier rule cuts on
(:func:`bankanalysis.rules.tiers.customer_tiers`) lies in ``[t * (1 - within), t)`` for the
threshold ``t`` of the next tier and the customer is in the tier just below it: the same band
as the ``upgrade_candidates`` KPI of :func:`bankanalysis.segmentation.migration.upgrade_pipeline`,
so the list and the counts always agree. The list adds, per customer, the AUM gap in money, the
AUM trend over recent month-ends, the account manager and the one or two products the
propensity models think most likely to be bought (among products that count towards AUM).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from bankanalysis.exceptions import AnalysisError, SegmentationError
from bankanalysis.frames import ids_in
from bankanalysis.propensity.leads import next_best_offers
from bankanalysis.rules.months import month_index, month_window
from bankanalysis.rules.tiers import TIERS, check_thresholds, customer_tiers

__all__ = [
    "UPGRADE_COLUMNS",
    "aum_trend",
    "region_upgrade_candidates",
    "upgrade_candidates",
    "upgrade_summary",
]

logger = logging.getLogger(__name__)

#: Columns of :func:`upgrade_candidates`, in order.
UPGRADE_COLUMNS: tuple[str, ...] = (
    "customer_id",
    "outlet_id",
    "manager_id",
    "tier",
    "next_tier",
    "aum",
    "threshold",
    "gap_to_next",
    "aum_trend",
    "products_to_close",
)


def _require(df: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise AnalysisError(
            f"{what}: column(s) {', '.join(missing)} missing (has "
            f"{', '.join(map(str, df.columns[:12]))}); pass customer_tiers() output and "
            "customer_month rows (docs/processed_data.md)"
        )


def aum_trend(history: pd.DataFrame, month: str, months: int = 3) -> pd.Series:
    """Each customer's AUM trend: the least-squares slope of month-end AUM per month.

    The slope is fitted over the month-ends of the ``months``-month window ending at ``month``
    (:func:`bankanalysis.rules.months.month_window`) at which the customer has a row; with
    fewer than two such month-ends there is no trend (NaN: absent, not flat). With three
    consecutive month-ends the slope is ``(last - first) / 2``.

    Parameters
    ----------
    history : DataFrame
        ``customer_month`` rows with ``month, customer_id, aum`` (other months are ignored).
    month : str
        Last month-end of the window (``YYYY-MM``).
    months : int
        Month-ends in the window (at least 2).

    Returns
    -------
    Series
        Money per month, indexed by ``customer_id`` (sorted), named ``aum_trend``.

    Examples
    --------
    >>> h = pd.DataFrame({"month": ["2025-01", "2025-02", "2025-03", "2025-03"],
    ...                   "customer_id": ["a", "a", "a", "b"], "aum": [100.0, 130.0, 160.0, 5.0]})
    >>> aum_trend(h, "2025-03", 3).tolist()
    [30.0, nan]
    """
    _require(history, ("month", "customer_id", "aum"), "aum_trend")
    if int(months) < 2:
        raise AnalysisError(f"an AUM trend needs a window of at least 2 months, got {months}")
    window = month_window(month, int(months))
    h = history.loc[history["month"].astype(str).isin(window), ["month", "customer_id", "aum"]]
    codes, uniques = pd.factorize(h["month"].astype(str))
    offsets = np.array([month_index(m) - month_index(month) for m in uniques], dtype="float64")
    x = offsets[codes] if len(codes) else np.zeros(0)
    y = h["aum"].to_numpy(dtype="float64")
    frame = pd.DataFrame(
        {"customer_id": h["customer_id"].to_numpy(), "x": x, "y": y, "xy": x * y, "xx": x * x}
    )
    s = frame.groupby("customer_id", sort=True).agg(
        n=("x", "size"), sx=("x", "sum"), sy=("y", "sum"), sxy=("xy", "sum"), sxx=("xx", "sum")
    )
    den = s["n"] * s["sxx"] - s["sx"] ** 2
    num = s["n"] * s["sxy"] - s["sx"] * s["sy"]
    slope = (num / den.where((s["n"] >= 2) & (den > 0))).astype("float64")
    return slope.rename("aum_trend")


def _products_to_close(
    scores: pd.DataFrame | None,
    ids: pd.Series,
    products: pd.DataFrame | None,
    n_products: int,
) -> list[tuple[str, ...]]:
    """The top ``n_products`` scored products of each customer of ``ids`` (AUM products only)."""
    empty: list[tuple[str, ...]] = [() for _ in range(len(ids))]
    if scores is None or scores.empty or len(ids) == 0:
        return empty
    cols = [str(c) for c in scores.columns]
    if products is not None and "in_aum" in products.columns:
        in_aum = set(products.loc[products["in_aum"].astype(bool), "product"].astype(str))
        cols = [c for c in cols if c in in_aum]
    if not cols:
        return empty
    keep = ids_in(pd.Series(scores.index.astype(str)), ids.astype(str))
    mine = scores.loc[keep, cols]
    mine.index = mine.index.astype(str)
    offers = next_best_offers(mine, None, k=int(n_products))
    picked = offers.groupby("customer_id", sort=False)["product"].agg(tuple)
    return [picked.get(c, ()) for c in ids.astype(str)]


def upgrade_candidates(
    tiers: pd.DataFrame,
    thresholds: Sequence[float],
    within: float = 0.10,
    history: pd.DataFrame | None = None,
    trend_months: int = 3,
    scores: pd.DataFrame | None = None,
    products: pd.DataFrame | None = None,
    n_products: int = 2,
    month: str | None = None,
) -> pd.DataFrame:
    """Customers within ``within`` below the next tier threshold: the upgrade list.

    Parameters
    ----------
    tiers : DataFrame
        :func:`bankanalysis.rules.tiers.customer_tiers` output of the customers to list (e.g.
        one region's): ``customer_id, outlet_id, avg_aum, tier`` and, when known,
        ``manager_id`` and ``month``.
    thresholds : sequence of float
        The tier thresholds (bank currency), the ``tier_thresholds`` parameter.
    within : float
        Band below each threshold as a fraction of it (the ``pipeline_within`` parameter;
        0.10 = customers at 90 % to 100 % of the threshold).
    history : DataFrame, optional
        ``customer_month`` rows (``month, customer_id, aum``) of the trend window; without it
        ``aum_trend`` is NaN (absent).
    trend_months : int
        Month-ends of the AUM trend (:func:`aum_trend`).
    scores : DataFrame, optional
        Propensity scores: customers as index, one probability column per product id, NaN
        where the product is already held (the propensity models' ``predict_proba`` per
        product; the frame :func:`bankanalysis.propensity.leads.next_best_offers` takes).
        Without it ``products_to_close`` is empty for everyone.
    products : DataFrame, optional
        The product catalogue (``product, in_aum``): only products that count towards AUM can
        close an AUM gap. Without it every scored product is considered.
    n_products : int
        Products named per customer (the highest probabilities first).
    month : str, optional
        The tiers' month-end; default ``tiers["month"]`` (needed only with ``history``).

    Returns
    -------
    DataFrame
        One row per candidate, sorted by ``outlet_id``, ``manager_id`` and ``gap_to_next``:

        - ``customer_id``, ``outlet_id``;
        - ``manager_id``: the account manager, missing (NA) when unassigned or when ``tiers``
          has no manager column;
        - ``tier`` (str): the current tier; ``next_tier`` (str): the tier above;
        - ``aum``: the window-average AUM the tier is cut on (money);
        - ``threshold``: the next tier's lower bound (money);
        - ``gap_to_next``: ``threshold - aum``, the AUM still missing (money, > 0);
        - ``aum_trend``: money per month over the last ``trend_months`` month-ends
          (:func:`aum_trend`; NaN when not computable);
        - ``products_to_close``: tuple of up to ``n_products`` product ids most likely to be
          bought among products counting towards AUM, highest probability first; ``()``
          without scores.

    Raises
    ------
    AnalysisError
        When a needed column is missing or ``within`` is not in (0, 1).

    Examples
    --------
    >>> t = pd.DataFrame({"customer_id": ["a", "b"], "outlet_id": ["O1", "O1"],
    ...     "avg_aum": [46000.0, 40000.0],
    ...     "tier": pd.Categorical(["mass", "mass"], categories=list(TIERS), ordered=True)})
    >>> c = upgrade_candidates(t, [50000, 500000, 6000000], within=0.1)
    >>> c[["customer_id", "next_tier", "gap_to_next"]].values.tolist()
    [['a', 'quality', 4000.0]]
    """
    if not 0 < within < 1:
        raise AnalysisError(f"the upgrade band must lie in (0, 1), got {within}")
    _require(tiers, ("customer_id", "outlet_id", "avg_aum", "tier"), "upgrade_candidates")
    thr = check_thresholds(thresholds, TIERS)
    tier = tiers["tier"].astype(str).to_numpy()
    code = pd.Series(tier).map({t: i for i, t in enumerate(TIERS)}).to_numpy()
    if np.isnan(code.astype("float64")).any():
        bad = sorted(set(tier) - set(TIERS))
        raise AnalysisError(f"unknown tier(s) {bad}; tiers are {list(TIERS)}")
    code = code.astype(int)
    aum = tiers["avg_aum"].to_numpy(dtype="float64")
    below_top = code < len(thr)
    nxt = np.where(below_top, thr[np.minimum(code, len(thr) - 1)], np.nan)
    band = below_top & (aum >= nxt * (1 - within)) & (aum < nxt)
    c = tiers.loc[band]
    manager = np.array(
        [None if pd.isna(m) else str(m) for m in c["manager_id"]]
        if "manager_id" in c.columns
        else [None] * len(c),
        dtype="object",
    )
    out = pd.DataFrame(
        {
            "customer_id": c["customer_id"].astype(str).to_numpy(),
            "outlet_id": c["outlet_id"].astype(str).to_numpy(),
            "manager_id": manager,
            "tier": tier[band],
            "next_tier": [TIERS[i + 1] for i in code[band]],
            "aum": aum[band],
            "threshold": nxt[band],
        }
    )
    out["gap_to_next"] = out["threshold"] - out["aum"]
    if history is not None and len(out):
        if month is None:
            if "month" not in tiers.columns:
                raise AnalysisError("upgrade_candidates: pass month= (tiers has no month column)")
            month = str(tiers["month"].astype(str).iloc[0])
        trend = aum_trend(history, month, trend_months)
        out["aum_trend"] = trend.reindex(out["customer_id"]).to_numpy(dtype="float64")
    else:
        out["aum_trend"] = np.nan
    out["products_to_close"] = _products_to_close(scores, out["customer_id"], products, n_products)
    out = out.sort_values(
        ["outlet_id", "manager_id", "gap_to_next", "customer_id"],
        na_position="last",
        kind="stable",
    )
    logger.info(
        "upgrade list: %d customers within %.0f%% below a threshold", len(out), within * 100
    )
    return out[list(UPGRADE_COLUMNS)].reset_index(drop=True)


def region_upgrade_candidates(
    bank: Any,
    region_id: str,
    month: str,
    thresholds: Sequence[float],
    tier_months: int,
    within: float,
    trend_months: int,
    scores: pd.DataFrame | None = None,
    n_products: int = 2,
) -> pd.DataFrame:
    """A region's upgrade list read from the processed data: :func:`upgrade_candidates` of the
    customers whose home outlet is in ``region_id`` at ``month``.

    The tiers are the bank's (the window average over every row of the customer, wherever
    they banked, as notebook 01 cuts them) and the AUM trend is over the region's rows, so the
    list equals notebook 01's. Only the rows of the customers in the region at ``month`` are
    read (all their months in the window, including those banked elsewhere): a tier depends
    on the customer's own rows alone, so the list is the one cut from the whole bank.

    Parameters
    ----------
    bank : ProcessedBank
        ``customer_month(months, region_id, columns, customer_ids)`` and ``months``,
        ``products``.
    region_id : str
        The region.
    month : str
        The data month (``YYYY-MM``).
    thresholds, tier_months
        The tier rule (``tier_thresholds``, ``tier_months`` parameters).
    within, trend_months
        The band below a threshold and the AUM trend's month-ends (``pipeline_within``,
        ``upgrade_trend_months``).
    scores : DataFrame, optional
        Propensity scores of the region's customers (products to close the gap).
    n_products : int
        Products named per customer.

    Returns
    -------
    DataFrame
        :data:`UPGRADE_COLUMNS`, one row per candidate of the region.

    Raises
    ------
    SegmentationError
        When ``month`` is not in the data.
    """
    have = set(bank.months)
    if month not in have:
        raise SegmentationError(
            f"no customer is active at month {month!r} (the data has {len(have)} month(s)); "
            "choose a data_month inside the data"
        )
    window = [m for m in month_window(month, max(int(tier_months), int(trend_months))) if m in have]
    cols = ["month", "customer_id", "outlet_id", "region_id", "manager_id", "aum"]
    # only the region's customers at ``month``, with every row of theirs in the window (a
    # customer who moved in keeps their earlier months): a tier is the customer's own average
    ids = bank.customer_month(months=[month], region_id=str(region_id), columns=["customer_id"])
    cm = bank.customer_month(months=window, columns=cols, customer_ids=ids["customer_id"])
    if cm.empty:
        tiers = cm.assign(avg_aum=pd.Series(dtype="float64"), tier=pd.Series(dtype="object"))
    else:
        tiers = customer_tiers(cm, month, thresholds, tier_months)
    tiers = tiers.loc[tiers["region_id"].astype(str) == str(region_id)]
    history = cm.loc[cm["region_id"].astype(str) == str(region_id)]
    return upgrade_candidates(
        tiers,
        thresholds,
        within=within,
        history=history,
        trend_months=trend_months,
        scores=scores,
        products=getattr(bank, "products", None),
        n_products=n_products,
        month=month,
    )


def upgrade_summary(candidates: pd.DataFrame, by: str = "outlet_id") -> pd.DataFrame:
    """Candidates per group (outlet, account manager, next tier): count, AUM gap, rising trends.

    Parameters
    ----------
    candidates : DataFrame
        :func:`upgrade_candidates` output.
    by : str
        Grouping column (``outlet_id``, ``manager_id``, ``next_tier``); customers without an
        account manager form their own group (``manager_id`` missing, listed last).

    Returns
    -------
    DataFrame
        ``<by>, candidates, gap_to_next`` (summed, money), ``rising`` (candidates whose AUM
        trend is positive) and ``with_trend`` (candidates with a trend), sorted by ``by``
        (the missing group last).

    Examples
    --------
    >>> c = pd.DataFrame({"manager_id": ["M1", None, "M1"], "gap_to_next": [1.0, 2.0, 3.0],
    ...                   "aum_trend": [5.0, np.nan, -1.0]})
    >>> upgrade_summary(c, "manager_id")[["candidates", "rising"]].values.tolist()
    [[2, 1], [1, 0]]
    """
    _require(candidates, (by, "gap_to_next", "aum_trend"), "upgrade_summary")
    key = np.array([None if pd.isna(v) else v for v in candidates[by]], dtype="object")
    frame = pd.DataFrame(
        {
            by: key,
            "gap": candidates["gap_to_next"].to_numpy(dtype="float64"),
            "rising": (candidates["aum_trend"] > 0).to_numpy(),
            "with_trend": candidates["aum_trend"].notna().to_numpy(),
        }
    )
    g = frame.groupby(by, sort=True, dropna=False).agg(
        candidates=("gap", "size"),
        gap_to_next=("gap", "sum"),
        rising=("rising", "sum"),
        with_trend=("with_trend", "sum"),
    )
    g = g.reset_index()
    g[by] = np.array([None if pd.isna(v) else v for v in g[by]], dtype="object")
    g = g.astype({"candidates": "int64", "rising": "int64", "with_trend": "int64"})
    order = g[by].isna().to_numpy()
    return pd.concat([g[~order], g[order]], ignore_index=True)
