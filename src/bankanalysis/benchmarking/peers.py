"""Outlets against their peers: percentile ranks, gaps to the peer median and moving average.

A peer group is the outlets sharing the ``peer_cols`` values (default: echelon and outlet
type) across the whole bank. Nothing is compared with itself: an outlet alone in its peer group
is compared with every outlet of the bank instead (``basis`` = ``"bank"``), and when the bank
has no other outlet there is no comparison (``basis`` = ``"none"``, figures NaN).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bankanalysis.benchmarking._frame import require_columns
from bankanalysis.exceptions import BenchmarkingError
from bankanalysis.rules.kpis import is_kpi
from bankanalysis.rules.materiality import material_values

__all__ = [
    "RENAMED_KPIS",
    "KpiSelection",
    "lagging_outlets",
    "moving_average_gaps",
    "peer_ranks",
    "select_kpis",
]

logger = logging.getLogger(__name__)

#: KPI ids the parameters may still name and the KPI that replaced each.
RENAMED_KPIS: dict[str, str] = {"e_channel_rate": "outlet_replacement_rate"}


@dataclass(frozen=True)
class KpiSelection:
    """The KPIs that can be ranked and those left out, with the reason of each.

    Attributes
    ----------
    kept : list of str
        KPI columns with at least one value at the month, in the requested order.
    dropped : dict
        KPI id -> ``"not computed"`` (no such column: the data lack what it needs) or
        ``"no values"`` (the column is empty at the month).
    renamed : dict
        Requested id -> the KPI that replaced it (:data:`RENAMED_KPIS`).
    """

    kept: list[str]
    dropped: dict[str, str] = field(default_factory=dict)
    renamed: dict[str, str] = field(default_factory=dict)


def select_kpis(kpis: pd.DataFrame, wanted: Sequence[str], month: str) -> KpiSelection:
    """Split the requested KPIs into those with values at ``month`` and those without.

    A KPI that needs a table the bank does not have (e.g. the replacement rate without a
    transactions table) is left out instead of failing the report.

    Examples
    --------
    >>> k = pd.DataFrame({"month": ["2025-01"], "a": [1.0], "b": [np.nan]})
    >>> s = select_kpis(k, ["a", "b", "c"], "2025-01")
    >>> s.kept, s.dropped
    (['a'], {'b': 'no values', 'c': 'not computed'})
    """
    now = kpis[kpis["month"] == month]
    kept: list[str] = []
    dropped: dict[str, str] = {}
    renamed: dict[str, str] = {}
    for name in wanted:
        kpi = RENAMED_KPIS.get(name, name)
        if kpi != name:
            renamed[name] = kpi
        if kpi in kept or kpi in dropped:
            continue
        if kpi not in now.columns:
            dropped[kpi] = "not computed"
        elif now[kpi].notna().sum() == 0:
            dropped[kpi] = "no values"
        else:
            kept.append(kpi)
    if dropped:
        logger.info("KPIs left out of the peer comparison: %s", dropped)
    return KpiSelection(kept, dropped, renamed)


def _tied(long: pd.DataFrame, keys: list[str], materiality: float) -> pd.Series:
    """``value`` with figures tied within ``materiality`` set equal, per group (``kpi`` first)."""
    if not materiality:
        return long["value"]
    out = long["value"].astype("float64").copy()
    for key, idx in long.groupby(keys, observed=True, sort=False).groups.items():
        kpi = key[0] if isinstance(key, tuple) else key
        out.loc[idx] = material_values(
            long.loc[idx, "value"], kpi if is_kpi(str(kpi)) else None, materiality
        )
    return out


def _rank_stats(long: pd.DataFrame, keys: list[str], materiality: float = 0.0) -> pd.DataFrame:
    """Rank statistics of ``value`` within the groups of ``keys`` (rows of ``long``)."""
    g = long.groupby(keys, observed=True, sort=False)["value"]
    tied = _tied(long, keys, materiality).groupby(
        [long[k] for k in keys], observed=True, sort=False
    )
    out = pd.DataFrame(index=long.index)
    out["n_peers"] = g.transform("size")
    out["percentile"] = 100.0 * tied.rank(method="average", pct=True)
    mean = g.transform("mean")
    std = g.transform(lambda s: s.std(ddof=0))
    out["z_score"] = np.where(std > 0, (long["value"] - mean) / std.where(std > 0), np.nan)
    out["quartile"] = np.clip(np.ceil(out["percentile"] / 25.0 - 1e-9), 1, 4).astype(int)
    out["peer_median"] = g.transform("median")
    out["gap_to_median"] = long["value"] - out["peer_median"]
    return out


def peer_ranks(
    kpis: pd.DataFrame,
    kpi_cols: Sequence[str],
    peer_cols: Sequence[str] = ("echelon", "outlet_type"),
    month: str | None = None,
    materiality: float = 0.0,
) -> pd.DataFrame:
    """Rank every outlet among its peers on each KPI for one month.

    Parameters
    ----------
    kpis : DataFrame
        Outlet KPIs (``bankanalysis.benchmarking.kpis.outlet_kpis``; several months allowed).
    kpi_cols : sequence of str
        KPIs to rank (higher is better for every one of them).
    peer_cols : sequence of str
        Columns defining a peer group (default: same echelon and outlet type).
    month : str, optional
        ``YYYY-MM``; default the last month of ``kpis``.
    materiality : float
        Tie threshold (the ``materiality`` parameter, :mod:`bankanalysis.rules.materiality`):
        outlets whose figures differ by less share their percentile.

    Returns
    -------
    DataFrame
        Long: ``month, outlet_id, <peer_cols>, peer_group, kpi, value, basis`` (``"peers"``;
        ``"bank"`` for an outlet alone in its peer group, ranked among all outlets;
        ``"none"`` when the bank has no other outlet with a value), ``n_peers`` (outlets
        compared, the outlet included), ``percentile`` (0-100, average rank / group size,
        ties share their rank), ``z_score`` (against the group's mean and population standard
        deviation; NaN without spread), ``quartile`` (1 = bottom, 4 = top), ``peer_median``
        and ``gap_to_median`` (value - median, in the KPI's unit). With basis ``"none"`` the
        figures are NaN and the quartile 0.
    """
    peer_cols = list(peer_cols)
    require_columns(kpis, ["month", "outlet_id", *peer_cols, *kpi_cols], "outlet KPIs")
    month = month or str(kpis["month"].max())
    cur = kpis[kpis["month"] == month]
    if cur.empty:
        raise BenchmarkingError(
            f"no outlet data for month {month}; months: {sorted(kpis['month'].unique())}"
        )
    long = cur.melt(
        id_vars=["month", "outlet_id", *peer_cols],
        value_vars=list(kpi_cols),
        var_name="kpi",
        value_name="value",
    ).dropna(subset=["value"])
    long = long.reset_index(drop=True)
    group = long[peer_cols[0]].astype(str)
    for c in peer_cols[1:]:
        group = group + " / " + long[c].astype(str)
    long["peer_group"] = group
    stats = _rank_stats(long, ["kpi", *peer_cols], materiality)
    basis = np.where(stats["n_peers"] > 1, "peers", "bank")
    alone = basis == "bank"
    if alone.any():
        bank = _rank_stats(long, ["kpi"], materiality)
        stats.loc[alone] = bank.loc[alone]
        basis = np.where(alone & (bank["n_peers"] <= 1), "none", basis)
    stats = stats.astype({"n_peers": int, "quartile": int})
    none = basis == "none"
    stats.loc[none, ["percentile", "z_score", "peer_median", "gap_to_median"]] = np.nan
    stats.loc[none, "quartile"] = 0
    long["basis"] = basis
    long = pd.concat([long, stats], axis=1)
    return long.sort_values(["kpi", "peer_group", "outlet_id"], kind="stable").reset_index(
        drop=True
    )


def moving_average_gaps(
    kpis: pd.DataFrame,
    kpi: str = "sales_per_fte",
    window: int = 3,
    peer_cols: Sequence[str] = ("echelon", "outlet_type"),
) -> pd.DataFrame:
    """Each outlet's monthly value against its peer group's trailing moving average.

    The peer average of a month is the mean over the group's outlets that month; its trailing
    moving average is the mean of that series over the ``window`` months ending with the
    month (fewer at the start of the data). A group that never has more than one outlet would
    compare the outlet with its own past: its outlet is measured against the average of every
    outlet of the bank instead (``basis`` ``"bank"``; ``"none"`` when the bank has one).

    Parameters
    ----------
    kpis : DataFrame
        Outlet KPIs (``bankanalysis.benchmarking.kpis.outlet_kpis``).
    kpi : str
        The output compared (default sales per FTE).
    window : int
        Months in the moving average.
    peer_cols : sequence of str
        Columns defining a peer group.

    Returns
    -------
    DataFrame
        ``month, outlet_id, <peer_cols>, value, basis, peer_mean, peer_ma, gap`` (value -
        peer_ma, in the KPI's unit) and ``below`` (bool); months where the KPI is NaN are
        dropped.
    """
    peer_cols = list(peer_cols)
    require_columns(kpis, ["month", "outlet_id", *peer_cols, kpi], "outlet KPIs")
    if window < 1:
        raise BenchmarkingError(f"moving-average window must be >= 1 month, got {window}")
    df = kpis[["month", "outlet_id", *peer_cols, kpi]].rename(columns={kpi: "value"})
    df = df.dropna(subset=["value"])

    def trailing(keys: list[str]) -> pd.DataFrame:
        peer = (
            df.groupby([*keys, "month"], observed=True, sort=True)["value"]
            .agg(peer_mean="mean", peer_n="size")
            .reset_index()
        )
        ma = peer.groupby(keys, observed=True, sort=False) if keys else peer.groupby(lambda _: 0)
        peer["peer_ma"] = ma["peer_mean"].transform(
            lambda s: s.rolling(window, min_periods=1).mean()
        )
        peer["group_max"] = ma["peer_n"].transform("max")
        return peer

    peer = trailing(peer_cols)
    out = df.merge(peer, on=[*peer_cols, "month"], how="left")
    alone = (out["group_max"] <= 1).to_numpy()
    out["basis"] = "peers"
    if alone.any():
        bank = df[["month"]].merge(trailing([]), on="month", how="left")
        for c in ("peer_mean", "peer_ma"):
            out.loc[alone, c] = bank.loc[alone, c].to_numpy()
        none = alone & (bank["group_max"] <= 1).to_numpy()
        out.loc[alone, "basis"] = np.where(none[alone], "none", "bank")
        out.loc[none, ["peer_mean", "peer_ma"]] = np.nan
    out["gap"] = out["value"] - out["peer_ma"]
    out["below"] = out["gap"] < 0
    cols = ["month", "outlet_id", *peer_cols, "value", "basis", "peer_mean", "peer_ma", "gap"]
    return (
        out[[*cols, "below"]]
        .sort_values(["outlet_id", "month"], kind="stable")
        .reset_index(drop=True)
    )


def lagging_outlets(ma: pd.DataFrame, k: int = 3) -> pd.DataFrame:
    """Outlets below their peers' moving average in each of the last ``k`` months of the data.

    Parameters
    ----------
    ma : DataFrame
        Output of :func:`moving_average_gaps`.
    k : int
        Number of most recent months that must all be below.

    Returns
    -------
    DataFrame
        ``outlet_id, months_below`` (the current run of consecutive months below, >= k),
        ``last_value, last_peer_ma, last_gap, mean_gap_k`` (mean gap over the last k months),
        sorted by the largest shortfall first.
    """
    months = sorted(ma["month"].unique())
    if k < 1 or k > len(months):
        raise BenchmarkingError(
            f"k must be between 1 and the {len(months)} months of data, got {k}"
        )
    last_k = months[-k:]
    rows = []
    for oid, g in ma.sort_values("month").groupby("outlet_id", sort=True):
        tail = g[g["month"].isin(last_k)]
        if len(tail) < k or not tail["below"].all():
            continue
        below = g["below"].to_numpy()[::-1]
        run = int(np.argmin(below)) if not below.all() else len(below)
        last = g.iloc[-1]
        rows.append(
            {
                "outlet_id": oid,
                "months_below": run,
                "last_value": float(last["value"]),
                "last_peer_ma": float(last["peer_ma"]),
                "last_gap": float(last["gap"]),
                "mean_gap_k": float(tail["gap"].mean()),
            }
        )
    cols = ["outlet_id", "months_below", "last_value", "last_peer_ma", "last_gap", "mean_gap_k"]
    out = pd.DataFrame(rows, columns=cols)
    return out.sort_values(["mean_gap_k", "outlet_id"], kind="stable").reset_index(drop=True)
