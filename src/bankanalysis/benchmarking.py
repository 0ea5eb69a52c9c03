"""Outlet productivity benchmarking: KPIs, peer groups, moving-average gaps, DEA, self-service.

Pure functions on processed data (``docs/processed_data.md``): DataFrame in, DataFrame out.
The DEA linear programs live in :mod:`bankanalysis.dea`; :func:`outlet_dea` prepares the
outlets' inputs and outputs for it.

KPI units: money in the bank's currency, counts in customers or products, rates as shares in
[0, 1]. ``*_per_fte`` divide by the outlet's staff in full-time equivalents.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from bankanalysis.dea import dea, scale_efficiency
from bankanalysis.exceptions import BenchmarkingError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "CUSTOMER_KPIS",
    "DEA_MEASURES",
    "DEA_SHORT_LABELS",
    "KPI_UNITS",
    "OUTLET_MONEY",
    "OUTLET_SHARES",
    "OUTLET_TABLE_RATES",
    "BenchmarkingError",
    "attainment",
    "attainment_grid",
    "benchmarking_headline",
    "channel_replacement",
    "channel_trends",
    "customer_counts",
    "customer_months",
    "dea_inputs_outputs",
    "dea_notes",
    "dea_reference_peers",
    "dea_scores_long",
    "dea_targets_table",
    "group_aggregates",
    "kpi_unit",
    "lagging_outlets",
    "level_aggregates",
    "moving_average_gaps",
    "moving_average_position",
    "outlet_dea",
    "outlet_kpi_table",
    "outlet_kpis",
    "peer_gap_table",
    "peer_rank_grid",
    "peer_ranks",
    "plot_lagging_trends",
    "region_attainment",
    "region_dea",
    "region_outlets",
    "region_peer_ranks",
    "region_self_service",
    "sales_by_family",
    "self_service_by_region",
]

logger = logging.getLogger(__name__)

#: Unit of every KPI column of :func:`outlet_kpis` ("money" = the bank's currency).
KPI_UNITS: dict[str, str] = {
    "deposit_balance": "money",
    "new_deposits": "money",
    "aum": "money",
    "fee_income": "money",
    "sales_total": "products",
    "new_customers": "customers",
    "customers": "customers",
    "staff_fte": "FTE",
    "customers_per_fte": "customers per FTE",
    "sales_per_fte": "products per FTE",
    "aum_per_fte": "money per FTE",
    "share_quality_plus": "share",
    "product_coverage": "share",
    "products_per_customer": "products per customer",
    "e_channel_rate": "share",
    "device_operating_rate": "share",
}

#: Flow and stock columns summed in aggregates; ratios are recomputed from the sums.
_ADDITIVE = (
    "customers",
    "new_customers",
    "closed_customers",
    "staff_fte",
    "aum",
    "deposit_balance",
    "new_deposits",
    "fee_income",
    "sales_total",
    "txn_n",
    "txn_e_n",
    "devices",
    "device_available_hours",
    "device_operating_hours",
    "n_quality_plus",
    "n_covered",
    "n_products_total",
)


def _require(df: pd.DataFrame, cols: Sequence[str], what: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise BenchmarkingError(
            f"{what} lacks column(s) {missing}; available: {sorted(df.columns)[:30]}. "
            "Re-run `bankanalysis data prepare` or choose existing columns in the parameters."
        )


def _div(a: pd.Series | np.ndarray, b: pd.Series | np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / b, np.nan)


def _window_mean(cm: pd.DataFrame, months: int) -> np.ndarray:
    """Mean ``aum`` per row over the customer's rows of the last ``months`` calendar months.

    ``cm`` must be sorted by customer and month. Vectorised with cumulative sums: for a
    million customers this takes seconds where a grouped rolling window takes minutes.
    """
    codes, uniques = pd.factorize(cm["month"], sort=False)
    month_index = np.array([int(m[:4]) * 12 + int(m[5:7]) for m in uniques], dtype=np.int64)
    mi = month_index[codes]
    cust = pd.factorize(cm["customer_id"], sort=False)[0].astype(np.int64)
    span = int(mi.max() - mi.min() + months + 1) if len(mi) else 1
    key = cust * span + (mi - (mi.min() if len(mi) else 0))
    start = np.searchsorted(key, key - months + 1, side="left")
    cs = np.r_[0.0, np.cumsum(cm["aum"].to_numpy(dtype=float))]
    idx = np.arange(len(cm))
    return (cs[idx + 1] - cs[start]) / (idx + 1 - start)


def customer_counts(
    customer_month: pd.DataFrame,
    tier_thresholds: Sequence[float],
    tier_months: int = 3,
    coverage_products: int = 3,
) -> pd.DataFrame:
    """Per outlet and month: quality-and-above customers and customers with broad coverage.

    Parameters
    ----------
    customer_month : DataFrame
        ``month, customer_id, outlet_id, aum, n_products`` (``customer_month.parquet``).
    tier_thresholds : sequence of float
        AUM lower bounds of quality, VIP and private banking; a customer counts as
        "quality and above" when the mean AUM over the month-ends of the last ``tier_months``
        calendar months in which they were active is at least the first threshold.
    tier_months : int
        Months averaged for the tier.
    coverage_products : int
        A customer is "covered" when holding at least this many distinct products.

    Returns
    -------
    DataFrame
        ``month, outlet_id, n_quality_plus, n_covered, n_products_total``.
    """
    _require(
        customer_month, ["month", "customer_id", "outlet_id", "aum", "n_products"], "customer_month"
    )
    cm = customer_month[["month", "customer_id", "outlet_id", "aum", "n_products"]].sort_values(
        ["customer_id", "month"], kind="stable"
    )
    avg = pd.Series(_window_mean(cm, tier_months), index=cm.index)
    cm = cm.assign(
        q=(avg >= float(tier_thresholds[0])).astype(np.int64),
        c=(cm["n_products"] >= coverage_products).astype(np.int64),
    )
    return (
        cm.groupby(["month", "outlet_id"], observed=True, sort=True)
        .agg(
            n_quality_plus=("q", "sum"),
            n_covered=("c", "sum"),
            n_products_total=("n_products", "sum"),
        )
        .reset_index()
    )


def _ratios(df: pd.DataFrame) -> pd.DataFrame:
    """(Re)compute every ratio KPI from the additive columns present."""
    out = df.copy()
    out["customers_per_fte"] = _div(out["customers"], out["staff_fte"])
    out["sales_per_fte"] = _div(out["sales_total"], out["staff_fte"])
    out["aum_per_fte"] = _div(out["aum"], out["staff_fte"])
    if "n_quality_plus" in out:
        out["share_quality_plus"] = _div(out["n_quality_plus"], out["customers"])
        out["product_coverage"] = _div(out["n_covered"], out["customers"])
        out["products_per_customer"] = _div(out["n_products_total"], out["customers"])
    if "txn_e_n" in out:
        out["e_channel_rate"] = _div(out["txn_e_n"], out["txn_n"])
    if "device_operating_hours" in out:
        out["device_operating_rate"] = _div(
            out["device_operating_hours"], out["device_available_hours"]
        )
    return out


def outlet_kpis(
    outlet_month: pd.DataFrame,
    customer_month: pd.DataFrame | None = None,
    tier_thresholds: Sequence[float] = (50000.0, 500000.0, 6000000.0),
    tier_months: int = 3,
    coverage_products: int = 3,
) -> pd.DataFrame:
    """Outlet KPIs per month.

    Parameters
    ----------
    outlet_month : DataFrame
        ``outlet_month.parquet``: ``month, outlet_id, region_id, echelon, outlet_type,
        staff_fte, customers, new_customers, aum, deposit_balance, new_deposits, fee_income,
        sales_<family>, sales_total, txn_n, txn_<channel>_n, devices, device_*`` hours.
    customer_month : DataFrame, optional
        Needed for the share of quality-and-above customers and product coverage
        (see :func:`customer_counts`); without it those KPIs are NaN and
        ``products_per_customer`` comes from ``outlet_month``. Months absent from it get NaN
        for these KPIs (pass the data month and the ``tier_months - 1`` months before it to
        get the data month right at a fraction of the cost).
    tier_thresholds, tier_months, coverage_products
        See :func:`customer_counts`.

    Returns
    -------
    DataFrame
        One row per (month, outlet): the inputs' columns plus ``customers_per_fte``,
        ``sales_per_fte``, ``aum_per_fte``, ``share_quality_plus``, ``product_coverage``,
        ``products_per_customer``, ``e_channel_rate`` (transactions outside the counter /
        all transactions) and ``device_operating_rate`` (operating / available hours).

    Examples
    --------
    >>> om = pd.DataFrame({"month": ["2025-01"], "outlet_id": ["o1"], "staff_fte": [4.0],
    ...     "customers": [100], "sales_total": [20.0], "aum": [1e6], "txn_n": [10],
    ...     "txn_counter_n": [4]})
    >>> outlet_kpis(om)[["customers_per_fte", "sales_per_fte", "e_channel_rate"]].iloc[0].tolist()
    [25.0, 5.0, 0.6]
    """
    _require(
        outlet_month,
        ["month", "outlet_id", "staff_fte", "customers", "sales_total", "aum"],
        "outlet_month",
    )
    om = outlet_month.copy()
    if "txn_n" in om and "txn_counter_n" in om:
        om["txn_e_n"] = om["txn_n"] - om["txn_counter_n"]
    if customer_month is not None:
        counts = customer_counts(customer_month, tier_thresholds, tier_months, coverage_products)
        om = om.drop(columns=[c for c in counts.columns[2:] if c in om.columns]).merge(
            counts, on=["month", "outlet_id"], how="left"
        )
        # outlets without active customers count 0; months not in customer_month stay NaN
        covered = om["month"].isin(pd.unique(customer_month["month"]))
        for c in ("n_quality_plus", "n_covered", "n_products_total"):
            om[c] = om[c].where(~covered, om[c].fillna(0))
    out = _ratios(om)
    if customer_month is None:
        out["share_quality_plus"] = np.nan
        out["product_coverage"] = np.nan
    return out.sort_values(["month", "outlet_id"], kind="stable").reset_index(drop=True)


def group_aggregates(kpis: pd.DataFrame, by: str | Sequence[str] = "region_id") -> pd.DataFrame:
    """Aggregate outlet KPIs per month and group (region, echelon, ...).

    Additive columns are summed and every ratio is recomputed from the sums (a region's
    customers per FTE is its customers over its FTE, not the mean of its outlets' ratios).

    Parameters
    ----------
    kpis : DataFrame
        Output of :func:`outlet_kpis`.
    by : str or sequence of str
        Grouping column(s) besides ``month``.

    Returns
    -------
    DataFrame
        ``month, <by>, outlets`` + summed additive columns + ratios.
    """
    by = [by] if isinstance(by, str) else list(by)
    _require(kpis, ["month", *by], "outlet KPIs")
    cols = [c for c in _ADDITIVE if c in kpis.columns]
    g = kpis.groupby(["month", *by], observed=True, sort=True)
    agg = g[cols].sum(min_count=1)
    agg.insert(0, "outlets", g.size())
    return _ratios(agg.reset_index())


def attainment(
    actual: pd.DataFrame, targets: pd.DataFrame | None, level: str = "outlet"
) -> pd.DataFrame | None:
    """Actual KPI values against the plan's targets.

    Parameters
    ----------
    actual : DataFrame
        ``month``, the id column (``outlet_id`` for level ``"outlet"``, ``region_id`` for
        ``"region"``) and KPI columns (from :func:`outlet_kpis` or :func:`group_aggregates`).
    targets : DataFrame or None
        ``targets.parquet``: ``month, level, id, kpi, target``. ``None`` when the bank has no
        targets table: the function returns ``None`` and the report says so.
    level : {"outlet", "region"}
        Which targets to use.

    Returns
    -------
    DataFrame or None
        ``month, id, kpi, target, actual, attainment`` (actual / target; NaN when the target
        is 0 or the KPI is not a column of ``actual``, which is logged).
    """
    if targets is None:
        return None
    idcol = {"outlet": "outlet_id", "region": "region_id"}.get(level)
    if idcol is None:
        raise BenchmarkingError(f"level must be 'outlet' or 'region', got {level!r}")
    t = targets[targets["level"] == level]
    if t.empty:
        return t.assign(actual=pd.Series(dtype=float), attainment=pd.Series(dtype=float))[
            ["month", "id", "kpi", "target", "actual", "attainment"]
        ]
    unknown = sorted(set(t["kpi"]) - set(actual.columns))
    if unknown:
        logger.warning("targets name KPI(s) %s that are not computed; attainment is NaN", unknown)
    known = [k for k in t["kpi"].unique() if k in actual.columns]
    long = actual.melt(
        id_vars=["month", idcol], value_vars=known, var_name="kpi", value_name="actual"
    ).rename(columns={idcol: "id"})
    long["id"] = long["id"].astype(str)
    t = t.assign(id=t["id"].astype(str))
    out = t[["month", "id", "kpi", "target"]].merge(long, on=["month", "id", "kpi"], how="left")
    out["attainment"] = _div(out["actual"], out["target"].where(out["target"] != 0))
    return out.sort_values(["month", "id", "kpi"], kind="stable").reset_index(drop=True)


def peer_ranks(
    kpis: pd.DataFrame,
    kpi_cols: Sequence[str],
    peer_cols: Sequence[str] = ("echelon", "outlet_type"),
    month: str | None = None,
) -> pd.DataFrame:
    """Rank every outlet among its peers on each KPI for one month.

    Parameters
    ----------
    kpis : DataFrame
        Output of :func:`outlet_kpis` (several months allowed).
    kpi_cols : sequence of str
        KPIs to rank (higher is better for every one of them).
    peer_cols : sequence of str
        Columns defining a peer group (default: same echelon and outlet type).
    month : str, optional
        ``YYYY-MM``; default the last month of ``kpis``.

    Returns
    -------
    DataFrame
        Long: ``month, outlet_id, <peer_cols>, peer_group, kpi, value, n_peers,
        percentile`` (0-100, average rank / group size, ties share their rank),
        ``z_score`` (against the group's mean and population standard deviation; NaN when
        the group has one outlet or no spread), ``quartile`` (1 = bottom, 4 = top),
        ``peer_median`` and ``gap_to_median`` (value - median, in the KPI's unit).
    """
    peer_cols = list(peer_cols)
    _require(kpis, ["month", "outlet_id", *peer_cols, *kpi_cols], "outlet KPIs")
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
    long["peer_group"] = long[peer_cols].astype(str).agg(" / ".join, axis=1)
    g = long.groupby(["kpi", *peer_cols], observed=True, sort=False)["value"]
    long["n_peers"] = g.transform("size")
    long["percentile"] = 100.0 * g.rank(method="average", pct=True)
    mean = g.transform("mean")
    std = g.transform(lambda s: s.std(ddof=0))
    long["z_score"] = np.where(std > 0, (long["value"] - mean) / std.where(std > 0), np.nan)
    long["quartile"] = np.clip(np.ceil(long["percentile"] / 25.0 - 1e-9), 1, 4).astype(int)
    long["peer_median"] = g.transform("median")
    long["gap_to_median"] = long["value"] - long["peer_median"]
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
    month (fewer at the start of the data).

    Parameters
    ----------
    kpis : DataFrame
        Output of :func:`outlet_kpis`.
    kpi : str
        The output compared (default sales per FTE).
    window : int
        Months in the moving average.
    peer_cols : sequence of str
        Columns defining a peer group.

    Returns
    -------
    DataFrame
        ``month, outlet_id, <peer_cols>, value, peer_mean, peer_ma, gap`` (value - peer_ma,
        in the KPI's unit) and ``below`` (bool); months where the KPI is NaN are dropped.
    """
    peer_cols = list(peer_cols)
    _require(kpis, ["month", "outlet_id", *peer_cols, kpi], "outlet KPIs")
    if window < 1:
        raise BenchmarkingError(f"moving-average window must be >= 1 month, got {window}")
    df = kpis[["month", "outlet_id", *peer_cols, kpi]].rename(columns={kpi: "value"})
    df = df.dropna(subset=["value"])
    peer = (
        df.groupby([*peer_cols, "month"], observed=True, sort=True)["value"]
        .mean()
        .rename("peer_mean")
        .reset_index()
    )
    peer["peer_ma"] = peer.groupby(peer_cols, observed=True, sort=False)["peer_mean"].transform(
        lambda s: s.rolling(window, min_periods=1).mean()
    )
    out = df.merge(peer, on=[*peer_cols, "month"], how="left")
    out["gap"] = out["value"] - out["peer_ma"]
    out["below"] = out["gap"] < 0
    return out.sort_values(["outlet_id", "month"], kind="stable").reset_index(drop=True)


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


def dea_inputs_outputs(
    kpis: pd.DataFrame,
    inputs: Sequence[str],
    outputs: Sequence[str],
    months: int = 6,
    input_offsets: Mapping[str, float] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Average each outlet's DEA variables over the last ``months`` months.

    Parameters
    ----------
    kpis : DataFrame
        Output of :func:`outlet_kpis`.
    inputs, outputs : sequence of str
        KPI columns used as DEA inputs and outputs.
    months : int
        Months averaged (NaN months, e.g. the first month's sales, are skipped).
    input_offsets : mapping, optional
        DEA needs strictly positive inputs. When some outlet has 0 (or less) in an input
        column named here, the offset is added to *every* outlet's value of that column (so
        outlets stay comparable). The default ``{"devices": 1}`` then counts the outlet's
        counter as one service point: an outlet without self-service devices enters the model
        with 1 and an outlet with 2 devices with 3. Columns without zeros are left as they are.

    Returns
    -------
    (X, Y, info)
        ``X`` and ``Y`` indexed by ``outlet_id``; ``info`` holds ``region_id, echelon,
        outlet_type`` (when present) and ``dropped`` reasons for outlets left out (an input
        still <= 0 or missing after the offset); ``info.attrs["offsets_applied"]`` says which
        offsets were used. Negative outputs (e.g. falling deposits) are clipped at 0 and
        counted in ``info["clipped_outputs"]``.
    """
    offsets = {"devices": 1.0} if input_offsets is None else dict(input_offsets)
    inputs, outputs = list(inputs), list(outputs)
    _require(kpis, ["month", "outlet_id", *inputs, *outputs], "outlet KPIs")
    last = sorted(kpis["month"].unique())[-months:]
    cur = kpis[kpis["month"].isin(last)]
    means = cur.groupby("outlet_id", sort=True)[inputs + outputs].mean()
    X = means[inputs].copy()
    offset_applied = {}
    for c, off in offsets.items():
        if c in X and (X[c] <= 0).any():
            X[c] = X[c] + float(off)
            offset_applied[c] = float(off)
            logger.info("DEA input %s has zeros: %g added to every outlet", c, off)
    Y = means[outputs].copy()
    clipped = (Y < 0).sum(axis=1)
    Y = Y.clip(lower=0.0)
    keep_cols = [c for c in ("region_id", "echelon", "outlet_type") if c in cur.columns]
    info = cur.sort_values("month").groupby("outlet_id", sort=True)[keep_cols].last()
    info["clipped_outputs"] = clipped
    info.attrs["offsets_applied"] = offset_applied
    reason = pd.Series("", index=X.index, dtype=str)
    reason[X.isna().any(axis=1) | Y.isna().any(axis=1)] = "missing value"
    reason[(X <= 0).any(axis=1)] = "input <= 0"
    info["dropped"] = reason
    ok = reason == ""
    if (~ok).any():
        logger.warning(
            "%d outlet(s) left out of DEA, e.g. %s", int((~ok).sum()), list(X.index[~ok][:5])
        )
    return X[ok], Y[ok], info


def outlet_dea(
    kpis: pd.DataFrame,
    inputs: Sequence[str] = ("staff_fte", "devices"),
    outputs: Sequence[str] = ("deposit_balance", "new_customers", "sales_total", "fee_income"),
    months: int = 6,
    orientation: str = "output",
    rts: str = "crs",
    frontier_by: str | None = "echelon",
    input_offsets: Mapping[str, float] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """DEA of outlets: efficiency, CCR/BCC/scale efficiency, targets, slacks and peers.

    Parameters
    ----------
    kpis : DataFrame
        Output of :func:`outlet_kpis`.
    inputs, outputs : sequence of str
        DEA variables (KPI columns).
    months : int
        Months averaged per outlet (see :func:`dea_inputs_outputs`).
    orientation : {"input", "output"}
        Orientation of the model whose targets are reported (output: how much more each
        outlet should produce with what it has).
    rts : {"crs", "vrs"}
        Returns to scale of that model (CCR or BCC).
    frontier_by : str or None
        One frontier per value of this column (default the echelon); ``None`` = one frontier.
    input_offsets : mapping, optional
        See :func:`dea_inputs_outputs`.

    Returns
    -------
    (scores, lambdas)
        ``scores`` indexed by ``outlet_id``: ``efficiency`` (of the chosen model), ``ccr``,
        ``bcc``, ``scale_efficiency``, ``returns_to_scale``, ``slack_*``, ``target_*``,
        ``n_peers``, ``peers`` and the outlet's ``region_id, echelon, outlet_type``;
        ``lambdas``: ``unit, peer, weight``.
    """
    X, Y, info = dea_inputs_outputs(kpis, inputs, outputs, months, input_offsets)
    if X.empty:
        raise BenchmarkingError("no outlet has usable DEA inputs and outputs; check the data")
    groups = None
    if frontier_by is not None:
        if frontier_by not in info:
            raise BenchmarkingError(f"frontier_by column {frontier_by!r} is not in the outlet data")
        groups = info.loc[X.index, frontier_by]
    if rts not in ("crs", "vrs"):
        raise BenchmarkingError(f"rts must be 'crs' (CCR) or 'vrs' (BCC), got {rts!r}")
    both = {r: dea(X, Y, orientation, r, groups) for r in ("crs", "vrs")}  # type: ignore[arg-type]
    res = both[rts]
    summ = scale_efficiency(both["crs"].scores["efficiency"], both["vrs"].scores["efficiency"])
    scores = res.scores.drop(columns=["group"], errors="ignore")
    scores = scores.join(summ).join(info.drop(columns=["dropped"]))
    for c in inputs:
        scores[f"actual_{c}"] = X[c]
    for c in outputs:
        scores[f"actual_{c}"] = Y[c]
    scores.index.name = "outlet_id"
    return scores, res.lambdas


def self_service_by_region(region_month: pd.DataFrame, target_ratio: float = 3.0) -> pd.DataFrame:
    """Self-service banks (distinct device sites) per physical outlet, by region and month.

    Parameters
    ----------
    region_month : DataFrame
        ``region_month.parquet``: ``month, region_id, echelon, outlets, self_service_sites,
        offsite_sites``.
    target_ratio : float
        The plan's target (3 self-service banks per outlet).

    Returns
    -------
    DataFrame
        ``month, region_id, echelon, outlets, self_service_sites, offsite_sites, ratio,
        target_ratio, sites_missing`` (sites still needed to reach the target; 0 when met).
    """
    _require(region_month, ["month", "region_id", "outlets", "self_service_sites"], "region_month")
    cols = [
        c
        for c in ("month", "region_id", "echelon", "outlets", "self_service_sites", "offsite_sites")
        if c in region_month
    ]
    out = region_month[cols].copy()
    out["ratio"] = _div(out["self_service_sites"], out["outlets"])
    out["target_ratio"] = float(target_ratio)
    out["sites_missing"] = np.maximum(
        np.ceil(target_ratio * out["outlets"] - out["self_service_sites"]), 0
    ).astype(int)
    return out.sort_values(["month", "region_id"], kind="stable").reset_index(drop=True)


def channel_replacement(kpis: pd.DataFrame, by: str | Sequence[str] = "region_id") -> pd.DataFrame:
    """E-channel replacement rate (transactions outside the counter) per month and group.

    Parameters
    ----------
    kpis : DataFrame
        Output of :func:`outlet_kpis` (needs ``txn_n`` and ``txn_counter_n``).
    by : str or sequence of str
        Grouping besides the month (``"region_id"`` or ``"echelon"``).

    Returns
    -------
    DataFrame
        ``month, <by>, txn_n, txn_e_n, e_channel_rate``.
    """
    by = [by] if isinstance(by, str) else list(by)
    _require(kpis, ["txn_n", "txn_e_n"], "outlet KPIs (transactions)")
    out = (
        kpis.groupby(["month", *by], observed=True, sort=True)[["txn_n", "txn_e_n"]]
        .sum()
        .reset_index()
    )
    out["e_channel_rate"] = _div(out["txn_e_n"], out["txn_n"])
    return out


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
        Output of :func:`moving_average_gaps`.
    outlet_ids : sequence of str
        Outlets to draw (e.g. from :func:`lagging_outlets`).
    names : mapping, optional
        Display name per outlet id (Chinese names render with the project theme).
    unit : str
        Unit of the KPI for the y axis label.
    ncols : int
        Charts per row.

    Returns
    -------
    matplotlib.figure.Figure
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


# --------------------------------------------------------------------------- report helpers

#: KPIs of :func:`outlet_kpis` computed from customer rows (need every month's customers).
CUSTOMER_KPIS: tuple[str, ...] = ("share_quality_plus", "product_coverage", "products_per_customer")

#: Shares blanked for outlets with fewer customers than the minimum group size.
OUTLET_SHARES: tuple[str, ...] = ("share_quality_plus", "product_coverage", "e_channel_rate")

#: Money columns of the outlet table, shown in thousands.
OUTLET_MONEY: tuple[str, ...] = ("deposit_balance", "new_deposits", "aum", "fee_income")

#: Rate columns of :func:`outlet_kpi_table` (labels).
OUTLET_TABLE_RATES: tuple[str, ...] = (
    "quality+ share",
    "coverage",
    "e-channel rate",
    "device operating rate",
)

#: Short labels of DEA outputs in the targets table.
DEA_SHORT_LABELS: dict[str, str] = {
    "deposit_balance": "deposits",
    "new_customers": "new cust.",
    "sales_total": "sales",
    "fee_income": "fees",
}

#: DEA measures and their labels in the efficiency chart.
DEA_MEASURES: dict[str, str] = {
    "ccr": "CCR (constant returns)",
    "bcc": "BCC (variable returns)",
    "scale_efficiency": "scale efficiency",
}

_EFFICIENT = 1 - 1e-6


def kpi_unit(kpi: str, currency: str) -> str:
    """Unit of a KPI for labels, ``money`` spelled as the currency.

    Examples
    --------
    >>> kpi_unit("aum_per_fte", "CNY"), kpi_unit("unknown", "CNY")
    ('CNY per FTE', 'unknown')
    """
    return KPI_UNITS.get(kpi, kpi).replace("money", currency)


def customer_months(months: Sequence[str], month: str, tier_months: int, ma_kpi: str) -> list[str]:
    """Months of ``customer_month`` the benchmarking report reads.

    Only the tier window of the data month, unless the moving-average KPI is computed from
    customers (:data:`CUSTOMER_KPIS`): then every month up to ``month``.

    Examples
    --------
    >>> customer_months(["2024-01", "2024-02", "2024-03", "2024-04"], "2024-03", 2, "aum_per_fte")
    ['2024-02', '2024-03']
    """
    upto = [m for m in months if m <= month]
    return upto if ma_kpi in CUSTOMER_KPIS else upto[-tier_months:]


def region_outlets(
    kpis: pd.DataFrame, region_id: str, month: str, names: Mapping[str, str]
) -> pd.DataFrame:
    """The region's outlets at ``month`` with their display name (``outlet``), sorted by it."""
    _require(kpis, ["outlet_id", "region_id", "month"], "outlet KPIs")
    mine = kpis[(kpis["region_id"] == region_id) & (kpis["month"] == month)]
    return mine.assign(outlet=mine["outlet_id"].map(names)).sort_values("outlet")


def outlet_kpi_table(mine: pd.DataFrame, min_group_size: int, currency: str) -> pd.DataFrame:
    """The outlet KPI table of the report: shares of small outlets blanked, money in thousands.

    Parameters
    ----------
    mine : DataFrame
        :func:`region_outlets` output.
    min_group_size : int
        Outlets with fewer customers lose :data:`OUTLET_SHARES`; fewer (but some) new
        customers than this are blanked too.
    currency : str
        Currency code for the money column labels.

    Returns
    -------
    DataFrame
        Display columns under their labels (rates in :data:`OUTLET_TABLE_RATES`).
    """
    from bankanalysis.privacy import suppress_small_groups

    table = suppress_small_groups(mine, "customers", min_group_size, value_cols=list(OUTLET_SHARES))
    new = table["new_customers"].astype("float64")
    table["new_customers"] = new.mask((new > 0) & (new < min_group_size))
    money = list(OUTLET_MONEY)
    table[money] = table[money] / 1000.0
    cols = {
        "outlet": "outlet",
        "outlet_type": "type",
        "staff_fte": "staff FTE",
        "customers": "customers",
        "new_customers": "new customers",
        "deposit_balance": f"deposits (k {currency})",
        "new_deposits": f"new deposits (k {currency})",
        "aum": f"AUM (k {currency})",
        "fee_income": f"fee income (k {currency})",
        "sales_total": "products sold",
        "customers_per_fte": "customers / FTE",
        "sales_per_fte": "sales / FTE",
        "share_quality_plus": "quality+ share",
        "product_coverage": "coverage",
        "e_channel_rate": "e-channel rate",
        "device_operating_rate": "device operating rate",
    }
    return table[list(cols)].rename(columns=cols)


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
) -> pd.DataFrame:
    """Monthly aggregates of the region, its echelon and the whole bank, stacked.

    Returns
    -------
    DataFrame
        :func:`group_aggregates` rows with ``level``: the region's name,
        ``"echelon <e>"`` and ``"whole bank"``.
    """
    return pd.concat(
        [
            group_aggregates(kpis[kpis["region_id"] == region_id], "region_id").assign(
                level=str(region_name)
            ),
            group_aggregates(kpis[kpis["echelon"] == echelon], "echelon").assign(
                level=f"echelon {echelon}"
            ),
            group_aggregates(kpis.assign(bank="bank"), "bank").assign(level="whole bank"),
        ]
    )


def region_attainment(
    mine: pd.DataFrame,
    targets: pd.DataFrame,
    month: str,
    names: Mapping[str, str],
) -> pd.DataFrame:
    """Attainment of the region and its outlets at ``month``, named, NaN actuals dropped.

    Parameters
    ----------
    mine : DataFrame
        :func:`region_outlets` output (one region, one month).
    targets : DataFrame
        Processed ``targets``.
    month : str
        Month.
    names : mapping
        Outlet and region ids -> display names.

    Returns
    -------
    DataFrame
        ``month, id, kpi, target, actual, attainment, level`` (``region`` rows first) and
        ``name``.
    """
    att_o = attainment(mine, targets, "outlet")
    att_r = attainment(group_aggregates(mine, "region_id"), targets, "region")
    att = pd.concat([att_r.assign(level="region"), att_o.assign(level="outlet")])
    att = att[att["month"] == month].dropna(subset=["actual"])
    return att.assign(name=att["id"].map(names))


def attainment_grid(att: pd.DataFrame) -> pd.DataFrame:
    """(level, name) x KPI grid of attainment, the region before its outlets."""
    grid = att.pivot_table(
        index=["level", "name"], columns="kpi", values="attainment", aggfunc="first", observed=True
    )
    return grid.sort_index(level="level", key=lambda s: s.map({"region": 0, "outlet": 1}))


def region_peer_ranks(
    kpis: pd.DataFrame,
    peer_kpis: Sequence[str],
    peer_by: Sequence[str],
    month: str,
    mine: pd.DataFrame,
) -> pd.DataFrame:
    """:func:`peer_ranks` at ``month`` (peers across the bank) of the outlets in ``mine``.

    ``mine`` is :func:`region_outlets` output; its ``outlet`` names are added.
    """
    ranks = peer_ranks(kpis, peer_kpis, peer_by, month)
    names = dict(zip(mine["outlet_id"], mine["outlet"], strict=True))
    ranks = ranks[ranks["outlet_id"].isin(mine["outlet_id"])]
    return ranks.assign(outlet=ranks["outlet_id"].map(names))


def peer_rank_grid(ranks: pd.DataFrame, kpis: Sequence[str], value: str) -> pd.DataFrame:
    """Outlet (name) x KPI grid of one :func:`peer_ranks` column, KPIs in the given order."""
    return ranks.pivot(index="outlet", columns="kpi", values=value)[list(kpis)]


def peer_gap_table(ranks: pd.DataFrame, kpis: Sequence[str], currency: str) -> pd.DataFrame:
    """Gap to the peer median per outlet and KPI, shares in percentage points.

    Column labels carry the unit: ``"<kpi> (pp)"`` for shares, else ``"<kpi> (<unit>)"``.
    """
    gaps = peer_rank_grid(ranks, kpis, "gap_to_median")
    share_kpis = [k for k in gaps.columns if KPI_UNITS.get(k) == "share"]
    gaps[share_kpis] = gaps[share_kpis] * 100.0
    gaps.columns = [
        f"{k} (pp)"
        if k in share_kpis
        else f"{k} ({KPI_UNITS.get(k, '').replace('money', currency)})"
        for k in gaps.columns
    ]
    return gaps


def moving_average_position(ma: pd.DataFrame, month: str, names: Mapping[str, str]) -> pd.DataFrame:
    """Each outlet's gap to its peers' moving average at ``month``, smallest gap first.

    Returns
    -------
    DataFrame
        :func:`moving_average_gaps` rows of ``month`` with ``outlet`` (name) and ``position``
        (``"below the peers' average"`` or ``"at or above"``).
    """
    now = ma[ma["month"] == month]
    now = now.assign(outlet=now["outlet_id"].map(names)).sort_values("gap")
    return now.assign(
        position=now["below"].map({True: "below the peers' average", False: "at or above"})
    )


def dea_notes(info: pd.DataFrame) -> list[str]:
    """What the reader must know about the DEA data (:func:`dea_inputs_outputs` ``info``).

    One note per input offset applied, one for outlets left out and one for outlets whose
    mean output was negative; empty when nothing happened.
    """
    notes = [
        f"Some outlets have no `{col}`; DEA needs positive inputs, so {off:g} was added to "
        f"every outlet's `{col}` (the counter counts as one service point)."
        for col, off in info.attrs.get("offsets_applied", {}).items()
    ]
    dropped = int((info["dropped"] != "").sum())
    if dropped:
        notes.append(f"{dropped} outlet(s) left out of DEA (missing or non-positive inputs).")
    if info["clipped_outputs"].sum():
        clipped = int((info["clipped_outputs"] > 0).sum())
        notes.append(f"{clipped} outlet(s) had a negative mean output (clipped at 0).")
    return notes


def region_dea(scores: pd.DataFrame, region_id: str, names: Mapping[str, str]) -> pd.DataFrame:
    """The region's rows of :func:`outlet_dea` scores with the outlet ``outlet`` name."""
    d = scores[scores["region_id"] == region_id]
    return d.assign(outlet=d.index.map(names))


def dea_scores_long(d: pd.DataFrame) -> pd.DataFrame:
    """CCR, BCC and scale efficiency per outlet in long form (``outlet, measure, score``).

    Outlets in increasing CCR order; measures labelled by :data:`DEA_MEASURES`.
    """
    return (
        d.sort_values("ccr")
        .rename(columns=DEA_MEASURES)
        .melt(
            id_vars="outlet",
            value_vars=list(DEA_MEASURES.values()),
            var_name="measure",
            value_name="score",
        )
    )


def dea_targets_table(
    d: pd.DataFrame, lagging_ids: Sequence[str], outputs: Sequence[str], currency: str
) -> pd.DataFrame:
    """Outlets below the DEA frontier or lagging their peers, with their output targets.

    Parameters
    ----------
    d : DataFrame
        :func:`region_dea` output.
    lagging_ids : sequence of str
        Outlets lagging their peers' moving average (:func:`lagging_outlets`).
    outputs : sequence of str
        DEA outputs; money outputs are shown in thousands of ``currency``.
    currency : str
        Currency code for the labels.

    Returns
    -------
    DataFrame
        ``outlet, efficiency, lagging`` (yes/no) and ``<output> now`` / ``<output> target``
        per output; least efficient first; indexed by ``outlet_id``.
    """
    money_out = [c for c in outputs if KPI_UNITS.get(c) == "money"]
    labels: dict[str, str] = {}
    for c in outputs:
        label = DEA_SHORT_LABELS.get(c, c) + (f" (k {currency})" if c in money_out else "")
        labels[f"actual_{c}"] = f"{label} now"
        labels[f"target_{c}"] = f"{label} target"
    d = d.assign(lagging=d.index.isin(list(lagging_ids)))
    behind = d[(d["efficiency"] < _EFFICIENT) | d["lagging"]].sort_values("efficiency")
    behind = behind.assign(lagging=behind["lagging"].map({True: "yes", False: "no"}))
    for c in money_out:
        behind[[f"actual_{c}", f"target_{c}"]] = behind[[f"actual_{c}", f"target_{c}"]] / 1000.0
    return behind[["outlet", "efficiency", "lagging", *labels]].rename(columns=labels)


def dea_reference_peers(
    lambdas: pd.DataFrame, unit_ids: Sequence[str], names: Mapping[str, str]
) -> pd.DataFrame:
    """``outlet, peer (weight)``: each unit's frontier peers as ``"name (0.42), ..."``."""
    w = lambdas[lambdas["unit"].isin(list(unit_ids))]
    w = w.assign(
        outlet=w["unit"].map(names),
        label=w["peer"].map(names) + " (" + w["weight"].map("{:.2f}".format) + ")",
    )
    out = w.groupby("outlet", sort=False)["label"].agg(", ".join).reset_index()
    return out.rename(columns={"label": "peer (weight)"})


def region_self_service(
    region_month: pd.DataFrame,
    month: str,
    target_ratio: float,
    region_id: str,
    region_names: Mapping[str, str],
) -> pd.DataFrame:
    """:func:`self_service_by_region` at ``month`` with ``region`` names and ``group``.

    ``group`` is ``"this region"`` for ``region_id`` and ``"other regions"`` otherwise.
    """
    ss = self_service_by_region(region_month[region_month["month"] == month], target_ratio)
    return ss.assign(
        region=ss["region_id"].map(region_names),
        group=np.where(ss["region_id"] == region_id, "this region", "other regions"),
    )


def channel_trends(
    kpis: pd.DataFrame, region_names: Mapping[str, str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """E-channel rate by region and by echelon with a ``group`` label for the legends."""
    ch_r = channel_replacement(kpis, "region_id")
    ch_e = channel_replacement(kpis, "echelon")
    return (
        ch_r.assign(group=ch_r["region_id"].map(region_names)),
        ch_e.assign(group="echelon " + ch_e["echelon"].astype(str)),
    )


def benchmarking_headline(
    mine: pd.DataFrame,
    lagging: pd.DataFrame,
    ranks: pd.DataFrame,
    d: pd.DataFrame,
    self_service: pd.Series,
    targets_missed: int | None,
    peer_kpis: Sequence[str],
) -> dict[str, float | int | None]:
    """The report's headline numbers for ``metrics.json``.

    Parameters
    ----------
    mine : DataFrame
        :func:`region_outlets` output.
    lagging : DataFrame
        :func:`lagging_outlets` of the region's outlets.
    ranks : DataFrame
        :func:`peer_ranks` of the region's outlets.
    d : DataFrame
        :func:`region_dea` output.
    self_service : Series
        The region's row of :func:`region_self_service`.
    targets_missed : int or None
        Region and outlet targets missed (``None`` without a targets table).
    peer_kpis : sequence of str
        KPIs ranked; without ``sales_per_fte`` the below-median count is ``None``.
    """
    reg = group_aggregates(mine, "region_id").iloc[0]
    below = None
    if "sales_per_fte" in peer_kpis:
        below = int(((ranks["kpi"] == "sales_per_fte") & (ranks["gap_to_median"] < 0)).sum())
    return {
        "outlets.count": int(mine["outlet_id"].nunique()),
        "outlets.below_moving_average": int(len(lagging)),
        "outlets.below_peer_median_sales_per_fte": below,
        "outlets.customers_per_fte": float(reg["customers_per_fte"]),
        "outlets.sales_per_fte": float(reg["sales_per_fte"]),
        "dea.mean_efficiency": float(d["efficiency"].mean()),
        "dea.mean_ccr": float(d["ccr"].mean()),
        "dea.mean_bcc": float(d["bcc"].mean()),
        "dea.mean_scale_efficiency": float(d["scale_efficiency"].mean()),
        "dea.efficient_outlets": int((d["efficiency"] >= _EFFICIENT).sum()),
        "self_service.ratio": float(self_service["ratio"]),
        "self_service.sites_missing": int(self_service["sites_missing"]),
        "channels.e_channel_rate": float(reg["e_channel_rate"])
        if "e_channel_rate" in reg
        else None,
        "devices.operating_rate": float(reg["device_operating_rate"]),
        "targets.missed": targets_missed,
    }
