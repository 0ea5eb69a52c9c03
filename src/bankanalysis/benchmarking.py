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
from bankanalysis.exceptions import BankAnalysisError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "KPI_UNITS",
    "BenchmarkingError",
    "attainment",
    "customer_counts",
    "dea_inputs_outputs",
    "group_aggregates",
    "lagging_outlets",
    "moving_average_gaps",
    "outlet_dea",
    "outlet_kpis",
    "peer_ranks",
    "plot_lagging_trends",
    "self_service_by_region",
    "channel_replacement",
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


class BenchmarkingError(BankAnalysisError):
    """Outlet data cannot be benchmarked as asked (missing column, unknown KPI, no outlets)."""


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
