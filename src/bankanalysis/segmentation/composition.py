"""Tier composition: customers and AUM by tier, against echelon and bank; AUM concentration.

Pure: :func:`bankanalysis.rules.tiers.customer_tiers` output in, frames or numbers out.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from bankanalysis.exceptions import SegmentationError
from bankanalysis.rules.tiers import tier_at_least
from bankanalysis.segmentation.common import require_columns as _require

__all__ = [
    "gini",
    "lorenz_curve",
    "region_tiers",
    "tier_comparison",
    "tier_summary",
    "top_tier_aum_share",
]

logger = logging.getLogger(__name__)


def tier_summary(
    tiers: pd.DataFrame,
    names: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Customers, shares, AUM and AUM shares by tier.

    Parameters
    ----------
    tiers : DataFrame
        Output of :func:`customer_tiers` (``tier``, ``aum``).
    names : sequence of str, optional
        Tiers to list (default: the categories of ``tier``); empty tiers show 0.

    Returns
    -------
    DataFrame
        ``tier, customers, share, aum, aum_share, aum_per_customer`` (AUM at the month-end);
        small groups are not withheld here (the report does, with
        :func:`bankanalysis.rules.disclosure.suppress_small_groups`).
    """
    _require(tiers, ("tier", "aum"), "tier_summary")
    if names is None:
        names = list(tiers["tier"].cat.categories)
    g = tiers.groupby("tier", observed=True)["aum"].agg(["size", "sum"])
    g = g.reindex(list(names)).fillna(0)
    n_all, aum_all = float(g["size"].sum()), float(g["sum"].sum())
    out = pd.DataFrame(
        {
            "tier": list(names),
            "customers": g["size"].to_numpy().astype("int64"),
            "share": g["size"].to_numpy() / n_all if n_all else np.nan,
            "aum": g["sum"].to_numpy(),
            "aum_share": g["sum"].to_numpy() / aum_all if aum_all else np.nan,
        }
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        out["aum_per_customer"] = out["aum"] / out["customers"].where(out["customers"] > 0)
    return out


def tier_comparison(
    tiers: pd.DataFrame,
    region_id: str,
    names: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Tier mix of a region against its echelon and the whole bank.

    Parameters
    ----------
    tiers : DataFrame
        :func:`customer_tiers` of the whole bank (``region_id``, ``echelon``, ``tier``, ``aum``).
    region_id : str
        The region reported on.
    names : sequence of str, optional
        Tiers to list.

    Returns
    -------
    DataFrame
        :func:`tier_summary` columns plus ``scope`` (``region``, ``echelon``, ``bank``).
    """
    _require(tiers, ("region_id", "echelon", "tier", "aum"), "tier_comparison")
    mine = tiers["region_id"] == region_id
    if not mine.any():
        raise SegmentationError(
            f"region {region_id!r} has no active customer in the tier frame; check region_id"
        )
    echelon = tiers.loc[mine, "echelon"].iloc[0]
    parts = []
    for scope, mask in (
        ("region", mine),
        ("echelon", tiers["echelon"] == echelon),
        ("bank", pd.Series(True, index=tiers.index)),
    ):
        s = tier_summary(tiers.loc[mask], names=names)
        s.insert(0, "scope", scope)
        parts.append(s)
    return pd.concat(parts, ignore_index=True)


def lorenz_curve(aum: pd.Series | np.ndarray, n_points: int = 101) -> pd.DataFrame:
    """Lorenz curve of AUM: cumulative AUM share against cumulative customer share.

    Parameters
    ----------
    aum : Series or array
        AUM per customer (negative values are not expected).
    n_points : int
        Points on the customer axis, evenly spaced from 0 to 1.

    Returns
    -------
    DataFrame
        ``customer_share`` (poorest first) and ``aum_share``.

    Examples
    --------
    >>> lorenz_curve([0, 0, 0, 10], n_points=5)["aum_share"].tolist()
    [0.0, 0.0, 0.0, 0.0, 1.0]
    """
    v = np.sort(np.asarray(aum, dtype="float64"))
    x = np.linspace(0.0, 1.0, n_points)
    if v.size == 0 or v.sum() <= 0:
        return pd.DataFrame({"customer_share": x, "aum_share": np.full_like(x, np.nan)})
    cum = np.concatenate([[0.0], np.cumsum(v) / v.sum()])
    pos = np.concatenate([[0.0], np.arange(1, v.size + 1) / v.size])
    return pd.DataFrame({"customer_share": x, "aum_share": np.interp(x, pos, cum)})


def gini(aum: pd.Series | np.ndarray) -> float:
    """Gini coefficient of AUM (0 equal, towards 1 concentrated).

    Examples
    --------
    >>> gini([1, 1, 1, 1])
    0.0
    >>> gini([0, 0, 0, 4])
    0.75
    """
    v = np.sort(np.asarray(aum, dtype="float64"))
    n = v.size
    if n == 0 or v.sum() <= 0:
        return float("nan")
    i = np.arange(1, n + 1)
    return float((2.0 * np.sum(i * v) / (n * v.sum())) - (n + 1.0) / n)


def top_tier_aum_share(tiers: pd.DataFrame, from_tier: str = "vip") -> float:
    """Share of AUM held by customers in ``from_tier`` and above.

    Parameters
    ----------
    tiers : DataFrame
        :func:`customer_tiers` output.
    from_tier : str
        Lowest tier counted.

    Returns
    -------
    float
        Share in [0, 1]; NaN when the AUM total is 0.
    """
    top = tier_at_least(tiers["tier"], from_tier)
    total = float(tiers["aum"].sum())
    if total <= 0:
        return float("nan")
    return float(tiers.loc[top, "aum"].sum() / total)


def region_tiers(tiers_all: pd.DataFrame, now: pd.DataFrame, region_id: str) -> pd.DataFrame:
    """The region's tiered customers joined with their full rows at the data month.

    Parameters
    ----------
    tiers_all : DataFrame
        :func:`customer_tiers` of the whole bank.
    now : DataFrame
        The region's ``customer_month`` rows at the data month.
    region_id : str
        Region.
    """
    cols = ["customer_id", "avg_aum", "months_used", "tier"]
    mine = tiers_all.loc[tiers_all["region_id"] == region_id, cols]
    return mine.merge(now, on="customer_id", how="inner")
