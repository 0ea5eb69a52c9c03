"""Customer segmentation: tiers, migration, behaviour segments, product coverage, managers.

Everything here is pure: processed frames in (``customer_month`` rows, see
``docs/processed_data.md``), frames or plain numbers out. Money thresholds are parameters in
the bank's currency; nothing is read from disk.

Tiers
    :func:`customer_tiers` averages each customer's AUM over the last ``n_months`` month-ends
    at which the customer was active and cuts it at ``thresholds`` (lower bounds of quality,
    VIP and private banking). :func:`tier_summary`, :func:`tier_comparison`,
    :func:`lorenz_curve`, :func:`gini` and :func:`top_tier_aum_share` describe the mix.
Migration
    :func:`tier_transitions` pairs each customer's state at two month-ends, with ``new`` and
    ``closed`` as states; :func:`transition_matrix`, :func:`migration_rates`,
    :func:`tier_flows` and :func:`upgrade_pipeline` summarise it.
Behaviour segments
    :func:`behaviour_features` builds the features; :class:`BehaviourSegmenter` clusters them
    (k chosen by silhouette or BIC within a bounded range), profiles and names the segments;
    :func:`segment_tiers` runs it within each tier.
Coverage and managers
    :func:`products_per_customer`, :func:`holding_rates`, :func:`cross_holding_matrix`,
    :func:`product_depth`, :func:`wealth_card_matching`, :func:`e_banking_penetration`,
    :func:`manager_kpis` and :func:`manager_kpis_by_outlet`.

Tables meant for managers take ``min_group_size`` and pass through
:func:`bankanalysis.privacy.suppress_small_groups`; none of them carries customer or manager ids.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.mixture import GaussianMixture
from sklearn.preprocessing import StandardScaler

from bankanalysis.contract import CHANNELS, PRODUCT_FAMILIES
from bankanalysis.exceptions import ModelError, SegmentationError
from bankanalysis.privacy import suppress_small_groups
from bankanalysis.rules.months import month_end, month_window, shift_month
from bankanalysis.rules.tiers import (
    TIER_LABELS,
    TIERS,
    assign_tiers,
    check_thresholds,
    customer_tiers,
)

__all__ = [
    "BehaviourSegmenter",
    "DEFAULT_TIER_NAMES",
    "ManagerKPIs",
    "NEW",
    "CLOSED",
    "TIER_LABELS",
    "TierSegments",
    "assign_tiers",
    "behaviour_features",
    "block_weights",
    "cross_holding_matrix",
    "customer_tiers",
    "e_banking_penetration",
    "feature_block",
    "gini",
    "holding_rates",
    "lorenz_curve",
    "manager_kpis",
    "manager_kpis_by_outlet",
    "migration_rates",
    "month_window",
    "name_segments",
    "product_depth",
    "products_per_customer",
    "segment_tiers",
    "shift_month",
    "suppress_cells",
    "tier_comparison",
    "tier_flows",
    "tier_summary",
    "tier_transitions",
    "top_tier_aum_share",
    "transition_matrix",
    "upgrade_pipeline",
    "wealth_card_matching",
    # report helpers
    "SEGMENT_TRAITS",
    "TIER_ORDER",
    "coverage_metrics",
    "coverage_text",
    "cross_holding_shown",
    "holding_rate_grid",
    "label_pipeline",
    "label_tiers",
    "labelled_matrix",
    "labelled_products_per_customer",
    "labelled_tier_comparison",
    "lorenz_comparison",
    "manager_outlet_table",
    "manager_text",
    "migration_metrics",
    "migration_text",
    "migration_window",
    "pipeline_metrics",
    "pipeline_plot_data",
    "pipeline_table",
    "region_managers",
    "region_tiers",
    "region_transitions",
    "segment_metrics",
    "segment_summary_table",
    "segment_trait_z",
    "shown_segments",
    "tier_basis_text",
    "tier_metrics",
    "tier_mix_table",
]

logger = logging.getLogger(__name__)

#: Tier ids from the lowest to the highest AUM band (:data:`bankanalysis.rules.tiers.TIERS`).
DEFAULT_TIER_NAMES: tuple[str, ...] = TIERS
#: Migration state of a customer active at the later month-end only.
NEW = "new"
#: Migration state of a customer active at the earlier month-end only.
CLOSED = "closed"


# --------------------------------------------------------------------------- helpers


def _require(df: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise SegmentationError(
            f"{what}: column(s) {', '.join(missing)} missing from the customer-month frame "
            f"(has {', '.join(map(str, df.columns[:12]))}...); load them from "
            "customer_month.parquet (docs/processed_data.md)"
        )


# --------------------------------------------------------------------------- tiers


def tier_summary(
    tiers: pd.DataFrame,
    names: Sequence[str] | None = None,
    min_group_size: int | None = None,
) -> pd.DataFrame:
    """Customers, shares, AUM and AUM shares by tier.

    Parameters
    ----------
    tiers : DataFrame
        Output of :func:`customer_tiers` (``tier``, ``aum``).
    names : sequence of str, optional
        Tiers to list (default: the categories of ``tier``); empty tiers show 0.
    min_group_size : int, optional
        When given, tiers with fewer customers are suppressed (figures blanked).

    Returns
    -------
    DataFrame
        ``tier, customers, share, aum, aum_share, aum_per_customer`` (AUM at the month-end)
        and ``suppressed`` when ``min_group_size`` is given. Shares are computed before
        suppression, over all customers.
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
    if min_group_size is not None:
        out = suppress_small_groups(out, "customers", min_group_size)
    return out


def tier_comparison(
    tiers: pd.DataFrame,
    region_id: str,
    names: Sequence[str] | None = None,
    min_group_size: int | None = None,
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
    min_group_size : int, optional
        Suppress groups smaller than this.

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
        s = tier_summary(tiers.loc[mask], names=names, min_group_size=min_group_size)
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
    cats = list(tiers["tier"].cat.categories)
    if from_tier not in cats:
        raise SegmentationError(f"unknown tier {from_tier!r}; tiers are {cats}")
    total = float(tiers["aum"].sum())
    if total <= 0:
        return float("nan")
    top = tiers["tier"].cat.codes >= cats.index(from_tier)
    return float(tiers.loc[top, "aum"].sum() / total)


# --------------------------------------------------------------------------- migration


def tier_transitions(tiers_from: pd.DataFrame, tiers_to: pd.DataFrame) -> pd.DataFrame:
    """Pair every customer's state at two month-ends.

    Parameters
    ----------
    tiers_from, tiers_to : DataFrame
        :func:`customer_tiers` at the earlier and the later month-end (same tier names).

    Returns
    -------
    DataFrame
        ``customer_id, from_state, to_state`` (+ ``outlet_id`` of the latest known home
        outlet when present). ``from_state`` is a tier or ``new`` (not active at the earlier
        month-end); ``to_state`` is a tier or ``closed`` (not active at the later one).
        Ordered categoricals: ``new`` < tiers and tiers < ``closed``.
    """
    names = list(tiers_from["tier"].cat.categories)
    if names != list(tiers_to["tier"].cat.categories):
        raise SegmentationError("both tier frames must use the same tier names")
    keep = ["customer_id", "tier"] + (["outlet_id"] if "outlet_id" in tiers_to.columns else [])
    a = tiers_from[keep].rename(columns={"tier": "from_state", "outlet_id": "outlet_from"})
    b = tiers_to[keep].rename(columns={"tier": "to_state"})
    m = a.merge(b, on="customer_id", how="outer", sort=True)
    from_state = pd.Categorical(
        m["from_state"].astype("object").fillna(NEW),
        categories=[NEW, *names],
        ordered=True,
    )
    to_state = pd.Categorical(
        m["to_state"].astype("object").fillna(CLOSED),
        categories=[*names, CLOSED],
        ordered=True,
    )
    out = pd.DataFrame(
        {"customer_id": m["customer_id"].to_numpy(), "from_state": from_state, "to_state": to_state}
    )
    if "outlet_id" in m.columns:
        out["outlet_id"] = m["outlet_id"].fillna(m["outlet_from"]).to_numpy()
    return out


def transition_matrix(transitions: pd.DataFrame, normalize: bool = False) -> pd.DataFrame:
    """Counts of customers by (state at the earlier month-end, state at the later one).

    Parameters
    ----------
    transitions : DataFrame
        :func:`tier_transitions` output.
    normalize : bool
        Divide each row by its total (share of the row's customers going to each state).

    Returns
    -------
    DataFrame
        Rows ``new`` + tiers, columns tiers + ``closed``; every state listed even when empty.
        The (``new``, ``closed``) cell is always 0.
    """
    rows = list(transitions["from_state"].cat.categories)
    cols = list(transitions["to_state"].cat.categories)
    counts = (
        transitions.groupby(["from_state", "to_state"], observed=True)
        .size()
        .unstack(fill_value=0)
        .reindex(index=rows, columns=cols, fill_value=0)
        .astype("int64")
    )
    counts.index.name, counts.columns.name = "from", "to"
    if normalize:
        tot = counts.sum(axis=1).replace(0, np.nan)
        return counts.div(tot, axis=0)
    return counts


def _moves(transitions: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return boolean masks (stock, upgraded, downgraded); stock = active at both month-ends."""
    n_tiers = len(transitions["to_state"].cat.categories) - 1
    fr = transitions["from_state"].cat.codes.to_numpy().astype("int64") - 1  # -1 = new
    tr = transitions["to_state"].cat.codes.to_numpy().astype("int64")
    tr = np.where(tr >= n_tiers, -1, tr)  # -1 = closed
    stock = (fr >= 0) & (tr >= 0)
    return stock, stock & (tr > fr), stock & (tr < fr)


def migration_rates(transitions: pd.DataFrame) -> dict[str, float]:
    """Headline migration figures between the two month-ends.

    Denominators are the customers active at the earlier month-end (the stock):
    ``upward_rate + downgrade_rate + stable_rate + closed_rate = 1``.

    Parameters
    ----------
    transitions : DataFrame
        :func:`tier_transitions` output.

    Returns
    -------
    dict
        ``customers_from, customers_to, stock, upgraded, downgraded, stable, new, closed,
        upward_rate, downgrade_rate, stable_rate, retention_rate, closed_rate,
        net_customer_growth`` (counts as floats for a uniform type).
    """
    stock, up, down = _moves(transitions)
    n_from = int((transitions["from_state"] != NEW).sum())
    n_to = int((transitions["to_state"] != CLOSED).sum())
    new = int((transitions["from_state"] == NEW).sum())
    closed = int((transitions["to_state"] == CLOSED).sum())
    n_stock, n_up, n_down = int(stock.sum()), int(up.sum()), int(down.sum())

    def rate(x: int) -> float:
        return x / n_from if n_from else float("nan")

    return {
        "customers_from": float(n_from),
        "customers_to": float(n_to),
        "stock": float(n_stock),
        "upgraded": float(n_up),
        "downgraded": float(n_down),
        "stable": float(n_stock - n_up - n_down),
        "new": float(new),
        "closed": float(closed),
        "upward_rate": rate(n_up),
        "downgrade_rate": rate(n_down),
        "stable_rate": rate(n_stock - n_up - n_down),
        "retention_rate": rate(n_stock),
        "closed_rate": rate(closed),
        "net_customer_growth": float(n_to - n_from),
    }


def suppress_cells(counts: pd.DataFrame, min_group_size: int) -> pd.DataFrame:
    """Blank (NaN) the cells of a count matrix holding 1 to ``min_group_size - 1`` customers.

    Zero cells stay: they reveal nothing about anyone.

    Examples
    --------
    >>> suppress_cells(pd.DataFrame({"a": [0, 3, 12]}), 10)["a"].tolist()
    [0.0, nan, 12.0]
    """
    if min_group_size < 1:
        raise ValueError("min_group_size must be at least 1")
    small = (counts > 0) & (counts < min_group_size)
    return counts.astype("float64").mask(small)


def tier_flows(transitions: pd.DataFrame, min_group_size: int | None = None) -> pd.DataFrame:
    """Per tier: customers at both month-ends, inflows, outflows and net tier growth.

    Parameters
    ----------
    transitions : DataFrame
        :func:`tier_transitions` output.
    min_group_size : int, optional
        Suppress tiers with fewer customers at the earlier month-end than this (the
        counts of the later month-end and the net growth are kept when that side is large).

    Returns
    -------
    DataFrame
        ``tier, customers_from, customers_to, net_growth, up_in, down_in, new_in, up_out,
        down_out, closed_out, retention_rate`` (share of the tier's customers still active).
    """
    stock, up, down = _moves(transitions)
    names = list(transitions["from_state"].cat.categories)[1:]
    f = transitions["from_state"].astype("object")
    t = transitions["to_state"].astype("object")
    rows = []
    for n in names:
        fm, tm = (f == n).to_numpy(), (t == n).to_numpy()
        n_from, n_to = int(fm.sum()), int(tm.sum())
        retained = int((fm & stock).sum())
        rows.append(
            {
                "tier": n,
                "customers_from": n_from,
                "customers_to": n_to,
                "net_growth": n_to - n_from,
                "up_in": int((tm & up).sum()),
                "down_in": int((tm & down).sum()),
                "new_in": int((tm & (f == NEW).to_numpy()).sum()),
                "up_out": int((fm & up).sum()),
                "down_out": int((fm & down).sum()),
                "closed_out": int((fm & (t == CLOSED).to_numpy()).sum()),
                "retention_rate": retained / n_from if n_from else np.nan,
            }
        )
    out = pd.DataFrame(rows)
    if min_group_size is not None:
        small_from = out["customers_from"] < min_group_size
        out = suppress_small_groups(
            out,
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
        out["suppressed"] = out["suppressed"] | small_from.to_numpy()
        out.loc[small_from.to_numpy(), ["customers_from", "net_growth"]] = np.nan
    return out


def upgrade_pipeline(
    tiers: pd.DataFrame,
    thresholds: Sequence[float],
    within: float = 0.10,
    by: str = "outlet_id",
    min_group_size: int | None = None,
) -> pd.DataFrame:
    """Customers within ``within`` (a fraction) below a tier threshold: the upgrade pipeline.

    A customer with average AUM in ``[threshold * (1 - within), threshold)`` is one step from
    the next tier.

    Parameters
    ----------
    tiers : DataFrame
        :func:`customer_tiers` output (``avg_aum``, ``tier`` and the ``by`` column).
    thresholds : sequence of float
        The tier thresholds (bank currency).
    within : float
        Band below each threshold, as a fraction (0.10 = within 10 %).
    by : str
        Grouping column, e.g. ``outlet_id``.
    min_group_size : int, optional
        Suppress groups whose tier (the one below the threshold) has fewer customers.

    Returns
    -------
    DataFrame
        ``<by>, target_tier, customers`` (in the band), ``tier_customers`` (customers of the
        tier below), ``pipeline_share`` and ``aum_gap`` (AUM still missing to reach the
        threshold, summed), one row per group and threshold.
    """
    if not 0 < within < 1:
        raise SegmentationError(f"pipeline band must lie in (0, 1), got {within}")
    _require(tiers, ("avg_aum", "tier", by), "upgrade_pipeline")
    names = list(tiers["tier"].cat.categories)
    thr = check_thresholds(thresholds, names)
    codes = tiers["tier"].cat.codes.to_numpy()
    aum = tiers["avg_aum"].to_numpy()
    parts = []
    for i, t in enumerate(thr):
        in_tier = codes == i
        band = in_tier & (aum >= t * (1 - within)) & (aum < t)
        frame = pd.DataFrame(
            {by: tiers[by].to_numpy(), "in_tier": in_tier, "band": band, "gap": (t - aum) * band}
        )
        g = frame.groupby(by, observed=True, sort=True).agg(
            tier_customers=("in_tier", "sum"), customers=("band", "sum"), aum_gap=("gap", "sum")
        )
        g = g.reset_index()
        g.insert(1, "target_tier", names[i + 1])
        parts.append(g)
    out = pd.concat(parts, ignore_index=True)
    out["customers"] = out["customers"].astype("int64")
    out["tier_customers"] = out["tier_customers"].astype("int64")
    out["pipeline_share"] = out["customers"] / out["tier_customers"].where(
        out["tier_customers"] > 0
    )
    out = out[[by, "target_tier", "customers", "tier_customers", "pipeline_share", "aum_gap"]]
    if min_group_size is not None:
        out = suppress_small_groups(
            out,
            "tier_customers",
            min_group_size,
            value_cols=["customers", "tier_customers", "pipeline_share", "aum_gap"],
        )
    return out


# --------------------------------------------------------------------------- behaviour


def _family_map(products: pd.DataFrame | None, columns: Iterable[str]) -> dict[str, list[str]]:
    """``{family: [hold_<product> columns]}`` for products present in ``columns``."""
    cols = set(columns)
    fam: dict[str, list[str]] = {}
    if products is None:
        return fam
    for p, f in zip(products["product"].astype(str), products["family"].astype(str), strict=True):
        c = f"hold_{p}"
        if c in cols:
            fam.setdefault(f, []).append(c)
    return fam


def behaviour_features(cm_month: pd.DataFrame, products: pd.DataFrame) -> pd.DataFrame:
    """Behavioural features of each customer at one month-end.

    Parameters
    ----------
    cm_month : DataFrame
        ``customer_month`` rows of one month (``customer_id``, ``n_products``,
        ``hold_<product>``, ``txn_n_3m``, ``txn_<channel>_n_3m``, ``tenure_months``, ``age``).
    products : DataFrame
        The product catalogue (``product``, ``family``).

    Returns
    -------
    DataFrame
        Indexed by ``customer_id``: ``n_products``; ``has_<family>`` (0/1, any product of the
        family held); ``share_<channel>`` (share of the last 3 months' transactions, 0 when
        none); ``activity`` (log(1 + transactions in 3 months)); ``tenure_years``; ``age``.
    """
    _require(
        cm_month, ("customer_id", "n_products", "txn_n_3m", "tenure_months", "age"), "features"
    )
    fam = _family_map(products, cm_month.columns)
    out: dict[str, np.ndarray] = {"n_products": cm_month["n_products"].to_numpy("float64")}
    for f in PRODUCT_FAMILIES:
        if f in fam:
            out[f"has_{f}"] = (cm_month[fam[f]].to_numpy().sum(axis=1) > 0).astype("float64")
    n = cm_month["txn_n_3m"].to_numpy("float64")
    safe = np.where(n > 0, n, 1.0)
    for ch in CHANNELS:
        c = f"txn_{ch}_n_3m"
        if c in cm_month.columns:
            out[f"share_{ch}"] = np.where(n > 0, cm_month[c].to_numpy("float64") / safe, 0.0)
    out["activity"] = np.log1p(n)
    out["tenure_years"] = cm_month["tenure_months"].to_numpy("float64") / 12.0
    out["age"] = cm_month["age"].to_numpy("float64")
    return pd.DataFrame(out, index=pd.Index(cm_month["customer_id"].to_numpy(), name="customer_id"))


#: (feature, sign, word) for the style adjective of a segment name, in priority order.
_STYLE_TRAITS: tuple[tuple[str, int, str], ...] = (
    ("e_share", 1, "digital"),
    ("share_counter", 1, "branch-loyal"),
    ("share_self_service", 1, "self-service"),
    ("share_phone", 1, "phone-banking"),
    ("age", 1, "senior"),
    ("age", -1, "young"),
    ("activity", -1, "dormant"),
    ("activity", 1, "active"),
    ("tenure_years", -1, "new"),
    ("tenure_years", 1, "long-standing"),
)
#: (feature, word) for the noun of a segment name, from the products held.
_PRODUCT_TRAITS: tuple[tuple[str, str], ...] = (
    ("has_investment", "investors"),
    ("has_insurance", "protection buyers"),
    ("has_loan", "borrowers"),
    ("n_products", "multi-product holders"),
)


def name_segments(z_profiles: pd.DataFrame, min_z: float = 0.25) -> list[str]:
    """Name segments from their dominant traits, e.g. ``"digital savers"``.

    Parameters
    ----------
    z_profiles : DataFrame
        One row per segment: mean standardized features (0 = the population average).
        An ``e_share`` column (online + mobile share) is derived when missing.
    min_z : float
        A product trait must be at least this far above average to name the segment;
        otherwise the segment is called "savers".

    Returns
    -------
    list of str
        One unique name per row: "<style> <products>", the style word taken from the
        strongest channel, age, activity or tenure trait.
    """
    z = z_profiles.copy()
    if "e_share" not in z.columns:
        e = [c for c in ("share_online", "share_mobile") if c in z.columns]
        z["e_share"] = z[e].mean(axis=1) if e else 0.0
    names: list[str] = []
    for _, row in z.iterrows():
        styles = sorted(
            (
                (sign * float(row[f]), word)
                for f, sign, word in _STYLE_TRAITS
                if f in row.index and np.isfinite(row[f])
            ),
            key=lambda x: -x[0],
        )
        prods = sorted(
            ((float(row[f]), word) for f, word in _PRODUCT_TRAITS if f in row.index),
            key=lambda x: -x[0],
        )
        noun = prods[0][1] if prods and prods[0][0] >= min_z else "savers"
        cand = [f"{w} {noun}" for _, w in styles] or [noun]
        name = next((c for c in cand if c not in names), None)
        if name is None:
            name = f"{cand[0]} {sum(n.startswith(cand[0]) for n in names) + 1}"
        names.append(name)
    return names


def feature_block(name: str) -> str:
    """Behaviour dimension a feature belongs to: ``products``, ``channels`` or itself.

    Examples
    --------
    >>> feature_block("has_loan"), feature_block("share_mobile"), feature_block("age")
    ('products', 'channels', 'age')
    """
    if name.startswith("has_") or name == "n_products":
        return "products"
    if name.startswith("share_"):
        return "channels"
    return name


def block_weights(columns: Sequence[str]) -> np.ndarray:
    """Weights ``1 / sqrt(block size)`` so every behaviour dimension weighs the same.

    After standardization each feature has variance 1; a dimension described by 8 product
    flags would otherwise count 8 times as much as age in the distance.

    Examples
    --------
    >>> block_weights(["has_a", "has_b", "n_products", "has_c", "age"]).round(2).tolist()
    [0.5, 0.5, 0.5, 0.5, 1.0]
    """
    blocks = [feature_block(str(c)) for c in columns]
    size = {b: blocks.count(b) for b in blocks}
    return np.array([1.0 / np.sqrt(size[b]) for b in blocks])


class BehaviourSegmenter(ClusterMixin, BaseEstimator):
    """Cluster customers on standardized behavioural features; k chosen by a stated criterion.

    ``fit`` standardizes the features, draws a seeded sample of at most ``sample_size``
    customers, fits a model for every k in ``k_range`` on the sample and keeps the k with
    the best criterion: the silhouette (on a seeded sub-sample of ``silhouette_sample``) for
    ``method="kmeans"``, the lowest BIC for ``method="gmm"``. Every customer is then assigned
    to a segment; segments are numbered by decreasing size, profiled and named. With
    ``balance_blocks`` the standardized features are weighted by :func:`block_weights` so that
    product holdings, channel mix, activity, tenure and age weigh the same.

    Parameters
    ----------
    k_range : tuple of int
        Smallest and largest number of segments tried (inclusive).
    method : {"kmeans", "gmm"}
        KMeans (criterion: silhouette) or a Gaussian mixture (criterion: BIC).
    sample_size : int
        Customers used to fit the models (all when fewer).
    silhouette_sample : int
        Customers used to compute the silhouette.
    n_init : int
        Restarts of each model.
    n_stability_seeds : int
        Extra seeds refitted at ``k_`` to measure stability (0 = skip).
    balance_blocks : bool
        Weight features so each behaviour dimension counts the same (needs named columns).
    random_state : int
        Seed of every random draw.

    Attributes
    ----------
    k_ : int
        Number of segments chosen.
    scores_ : dict
        Criterion per k tried.
    labels_ : ndarray
        Segment (0 = largest) of each row of ``X``.
    profiles_ : DataFrame
        Per segment: ``segment, name, customers, share`` and the mean of every feature.
    names_ : list of str
        Segment names by segment number.
    stability_ari_ : float
        Mean adjusted Rand index between the chosen model and refits with other seeds
        (NaN when ``n_stability_seeds`` is 0).
    feature_names_in_ : ndarray
        Feature names when ``X`` was a DataFrame.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(0, 0.1, (30, 2)), rng.normal(5, 0.1, (30, 2))])
    >>> BehaviourSegmenter(k_range=(2, 4), random_state=0).fit(X).k_
    2
    """

    def __init__(
        self,
        k_range: tuple[int, int] = (4, 8),
        method: str = "kmeans",
        sample_size: int = 5000,
        silhouette_sample: int = 3000,
        n_init: int = 4,
        n_stability_seeds: int = 2,
        balance_blocks: bool = True,
        random_state: int = 0,
    ) -> None:
        self.k_range = k_range
        self.method = method
        self.sample_size = sample_size
        self.silhouette_sample = silhouette_sample
        self.n_init = n_init
        self.n_stability_seeds = n_stability_seeds
        self.balance_blocks = balance_blocks
        self.random_state = random_state

    def _model(self, k: int, seed: int) -> KMeans | GaussianMixture:
        if self.method == "kmeans":
            return KMeans(n_clusters=k, n_init=self.n_init, random_state=seed)
        if self.method == "gmm":
            return GaussianMixture(
                n_components=k, n_init=self.n_init, covariance_type="full", random_state=seed
            )
        raise ValueError(f"method must be 'kmeans' or 'gmm', got {self.method!r}")

    def fit(self, X: pd.DataFrame | np.ndarray, y: None = None) -> BehaviourSegmenter:
        """Choose k, fit the segments and profile them.

        Parameters
        ----------
        X : DataFrame or ndarray
            Behavioural features, one row per customer (e.g. :func:`behaviour_features`).
        y : None
            Ignored.

        Returns
        -------
        BehaviourSegmenter
            ``self``.

        Raises
        ------
        ModelError
            When there are too few customers for the smallest k.
        """
        k_min, k_max = int(self.k_range[0]), int(self.k_range[1])
        if not 2 <= k_min <= k_max:
            raise ValueError(f"k_range must satisfy 2 <= k_min <= k_max, got {self.k_range}")
        if isinstance(X, pd.DataFrame):
            self.feature_names_in_ = np.asarray(X.columns, dtype=object)
            raw = X.to_numpy("float64")
        else:
            raw = np.asarray(X, dtype="float64")
        n = raw.shape[0]
        if n < 2 * k_min + 1:
            raise ModelError(
                f"{n} customers are too few for {k_min} segments; lower k_range or skip this group"
            )
        self.scaler_ = StandardScaler().fit(raw)
        cols = (
            list(self.feature_names_in_)
            if hasattr(self, "feature_names_in_")
            else [f"x{i}" for i in range(raw.shape[1])]
        )
        self.weights_ = block_weights(cols) if self.balance_blocks else np.ones(len(cols))
        Z = self.scaler_.transform(raw) * self.weights_
        rng = np.random.default_rng(self.random_state)
        idx = np.sort(rng.choice(n, size=min(n, self.sample_size), replace=False))
        Zs = Z[idx]
        sil_idx = np.sort(
            rng.choice(len(idx), size=min(len(idx), self.silhouette_sample), replace=False)
        )
        self.scores_: dict[int, float] = {}
        models: dict[int, KMeans | GaussianMixture] = {}
        for k in range(k_min, min(k_max, len(idx) - 1) + 1):
            m = self._model(k, self.random_state).fit(Zs)
            models[k] = m
            if self.method == "gmm":
                self.scores_[k] = float(m.bic(Zs))
            else:
                lab = m.predict(Zs[sil_idx])
                ok = len(np.unique(lab)) > 1
                self.scores_[k] = (
                    float(silhouette_score(Zs[sil_idx], lab, random_state=self.random_state))
                    if ok
                    else -1.0
                )
        pick = min if self.method == "gmm" else max
        self.k_ = int(pick(self.scores_, key=lambda k: (self.scores_[k], -k)))
        self.model_ = models[self.k_]
        raw_labels = self.model_.predict(Z)
        sizes = np.bincount(raw_labels, minlength=self.k_)
        order = np.lexsort((np.arange(self.k_), -sizes))
        self.label_map_ = np.empty(self.k_, dtype="int64")
        self.label_map_[order] = np.arange(self.k_)
        self.labels_ = self.label_map_[raw_labels]
        base = self.model_.predict(Zs)
        aris = []
        for s in range(1, int(self.n_stability_seeds) + 1):
            other = self._model(self.k_, self.random_state + 1000 * s).fit(Zs)
            aris.append(adjusted_rand_score(base, other.predict(Zs)))
        self.stability_ari_ = float(np.mean(aris)) if aris else float("nan")
        self.profiles_, self.names_ = self._profile(raw, Z / self.weights_, cols)
        return self

    def _profile(
        self, raw: np.ndarray, Z: np.ndarray, cols: list[str]
    ) -> tuple[pd.DataFrame, list[str]]:
        lab = self.labels_
        counts = np.bincount(lab, minlength=self.k_)
        means = pd.DataFrame(raw, columns=cols).groupby(lab).mean().reindex(range(self.k_))
        zmeans = pd.DataFrame(Z, columns=cols).groupby(lab).mean().reindex(range(self.k_))
        names = name_segments(zmeans)
        prof = pd.DataFrame(
            {
                "segment": np.arange(self.k_),
                "name": names,
                "customers": counts.astype("int64"),
                "share": counts / counts.sum(),
            }
        )
        prof = pd.concat([prof, means.reset_index(drop=True)], axis=1)
        return prof, names

    def predict(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Segment of new customers (same features as ``fit``)."""
        raw = X.to_numpy("float64") if isinstance(X, pd.DataFrame) else np.asarray(X, "float64")
        return self.label_map_[self.model_.predict(self.scaler_.transform(raw) * self.weights_)]


@dataclass
class TierSegments:
    """Behaviour segments within each tier (output of :func:`segment_tiers`).

    Attributes
    ----------
    labels : DataFrame
        ``customer_id, tier, segment, segment_name`` (internal; never shown in reports).
    profiles : DataFrame
        Per (tier, segment): name, customers, share of the tier, mean features.
    summary : DataFrame
        Per tier: ``tier, customers, k, criterion, stability_ari`` (NaN k for tiers too small
        to segment, kept as one segment).
    """

    labels: pd.DataFrame
    profiles: pd.DataFrame
    summary: pd.DataFrame
    segmenters: dict[str, BehaviourSegmenter] = field(default_factory=dict)


def segment_tiers(
    features: pd.DataFrame,
    tiers: pd.DataFrame,
    k_range: tuple[int, int] = (4, 8),
    min_customers: int = 200,
    **segmenter_kwargs: object,
) -> TierSegments:
    """Fit a :class:`BehaviourSegmenter` within each tier.

    Parameters
    ----------
    features : DataFrame
        :func:`behaviour_features` (indexed by ``customer_id``).
    tiers : DataFrame
        :func:`customer_tiers` of the same month (``customer_id``, ``tier``).
    k_range : tuple of int
        Range of k tried in each tier.
    min_customers : int
        Tiers with fewer customers are not split (one segment named after the tier).
    **segmenter_kwargs
        Passed to :class:`BehaviourSegmenter` (``method``, ``random_state``...).

    Returns
    -------
    TierSegments
    """
    tier_of = tiers.set_index("customer_id")["tier"].reindex(features.index)
    labels, profiles, summary, fitted = [], [], [], {}
    for tier in tiers["tier"].cat.categories:
        mask = (tier_of == tier).to_numpy()
        X = features.loc[mask]
        n = len(X)
        if n == 0:
            continue
        if n < max(min_customers, 2 * k_range[0] + 1):
            seg = np.zeros(n, dtype="int64")
            name = "all customers (too few to split)"
            prof = pd.DataFrame({"segment": [0], "name": [name], "customers": [n], "share": [1.0]})
            prof = pd.concat([prof, X.mean().to_frame().T.reset_index(drop=True)], axis=1)
            summary.append(
                {
                    "tier": tier,
                    "customers": n,
                    "k": np.nan,
                    "criterion": np.nan,
                    "stability_ari": np.nan,
                }
            )
            names = [name]
        else:
            sgm = BehaviourSegmenter(k_range=k_range, **segmenter_kwargs).fit(X)
            fitted[tier] = sgm
            seg, prof, names = sgm.labels_, sgm.profiles_.copy(), sgm.names_
            summary.append(
                {
                    "tier": tier,
                    "customers": n,
                    "k": float(sgm.k_),
                    "criterion": sgm.scores_[sgm.k_],
                    "stability_ari": sgm.stability_ari_,
                }
            )
        labels.append(
            pd.DataFrame(
                {
                    "customer_id": X.index.to_numpy(),
                    "tier": tier,
                    "segment": seg,
                    "segment_name": np.asarray(names, dtype=object)[seg],
                }
            )
        )
        prof.insert(0, "tier", tier)
        profiles.append(prof)
    return TierSegments(
        labels=pd.concat(labels, ignore_index=True),
        profiles=pd.concat(profiles, ignore_index=True),
        summary=pd.DataFrame(summary),
        segmenters=fitted,
    )


# --------------------------------------------------------------------------- coverage


def _hold_cols(df: pd.DataFrame, products: Sequence[str] | None = None) -> list[str]:
    if products is None:
        return [c for c in df.columns if c.startswith("hold_")]
    return [f"hold_{p}" for p in products if f"hold_{p}" in df.columns]


def products_per_customer(
    cm_tiers: pd.DataFrame, min_group_size: int | None = None
) -> pd.DataFrame:
    """Average number of products held per customer, by tier and overall.

    Parameters
    ----------
    cm_tiers : DataFrame
        :func:`customer_tiers` output (``tier``, ``n_products``).
    min_group_size : int, optional
        Suppress tiers with fewer customers.

    Returns
    -------
    DataFrame
        ``tier, customers, products_per_customer, single_product_share`` with a last row
        ``tier = "all"``.
    """
    _require(cm_tiers, ("tier", "n_products"), "products_per_customer")
    names = list(cm_tiers["tier"].cat.categories)
    frame = pd.DataFrame(
        {
            "tier": cm_tiers["tier"].astype("object"),
            "n": cm_tiers["n_products"].astype("float64"),
            "single": (cm_tiers["n_products"] == 1).astype("float64"),
        }
    )
    g = frame.groupby("tier").agg(
        customers=("n", "size"),
        products_per_customer=("n", "mean"),
        single_product_share=("single", "mean"),
    )
    g = g.reindex(names)
    g["customers"] = g["customers"].fillna(0).astype("int64")
    allrow = pd.DataFrame(
        {
            "customers": [len(frame)],
            "products_per_customer": [frame["n"].mean()],
            "single_product_share": [frame["single"].mean()],
        },
        index=["all"],
    )
    out = pd.concat([g, allrow]).rename_axis("tier").reset_index()
    if min_group_size is not None:
        out = suppress_small_groups(out, "customers", min_group_size)
    return out


def holding_rates(
    cm: pd.DataFrame,
    products: pd.DataFrame,
    by: str | None = None,
    min_group_size: int | None = None,
) -> pd.DataFrame:
    """Share of customers holding each product (overall or by a grouping column).

    Parameters
    ----------
    cm : DataFrame
        One row per customer (``hold_<product>`` columns; ``by`` when given).
    products : DataFrame
        Catalogue (``product``, ``name``, ``family``).
    by : str, optional
        Grouping column, e.g. ``tier``.
    min_group_size : int, optional
        Suppress groups with fewer customers.

    Returns
    -------
    DataFrame
        ``[by,] product, name, family, customers, holders, holding_rate``.
    """
    cols = _hold_cols(cm, products["product"].astype(str).tolist())
    prods = [c.removeprefix("hold_") for c in cols]
    if by is None:
        keys = pd.Series("all", index=cm.index)
    else:
        keys = cm[by].astype("object")
    flags = cm[cols].astype("int64")
    flags.columns = prods
    holders = flags.groupby(keys.to_numpy()).sum()
    sizes = keys.groupby(keys.to_numpy()).size()
    if by is not None and isinstance(cm[by].dtype, pd.CategoricalDtype):
        order = [c for c in cm[by].cat.categories if c in holders.index]
        holders, sizes = holders.reindex(order), sizes.reindex(order)
    long = holders.stack().rename("holders").reset_index()
    long.columns = ["group", "product", "holders"]
    long["customers"] = long["group"].map(sizes).astype("int64")
    long["holding_rate"] = long["holders"] / long["customers"]
    info = products[["product", "name", "family"]].astype({"product": "str"})
    long = long.merge(info, on="product", how="left")
    out = long[["group", "product", "name", "family", "customers", "holders", "holding_rate"]]
    out = out.rename(columns={"group": by}) if by is not None else out.drop(columns="group")
    if min_group_size is not None:
        out = suppress_small_groups(
            out, "customers", min_group_size, value_cols=["customers", "holders", "holding_rate"]
        )
    return out.reset_index(drop=True)


def cross_holding_matrix(cm: pd.DataFrame, products: Sequence[str] | None = None) -> pd.DataFrame:
    """Share of the holders of product A (rows) who also hold product B (columns).

    Parameters
    ----------
    cm : DataFrame
        One row per customer with ``hold_<product>`` columns.
    products : sequence of str, optional
        Products to include (default: every ``hold_`` column).

    Returns
    -------
    DataFrame
        Square, indexed by product; the diagonal is 1 for held products; rows of products
        nobody holds are NaN.
    """
    cols = _hold_cols(cm, products)
    H = cm[cols].to_numpy("float64")
    co = H.T @ H
    n = np.diag(co).copy()
    with np.errstate(invalid="ignore", divide="ignore"):
        share = co / np.where(n > 0, n, np.nan)[:, None]
    names = [c.removeprefix("hold_") for c in cols]
    return pd.DataFrame(
        share, index=pd.Index(names, name="holds"), columns=pd.Index(names, name="also_holds")
    )


def product_depth(
    cm_month: pd.DataFrame,
    customers: pd.DataFrame | None = None,
    month: str | None = None,
) -> pd.DataFrame:
    """Customers by number of products held, including zero-product customers on the books.

    Parameters
    ----------
    cm_month : DataFrame
        ``customer_month`` rows of one month (``customer_id``, ``n_products``).
    customers : DataFrame, optional
        The customer table (``customer_id``, ``since``, ``closed``) already restricted to the
        population reported on. Customers on the books at ``month`` (joined by its end and not
        closed) who hold no product are the zero-product customers. Without it the zero row is 0.
    month : str, optional
        The month of ``cm_month`` (needed with ``customers``).

    Returns
    -------
    DataFrame
        ``products`` (``"0"``, ``"1"``, ``"2"``, ``"3"``, ``"4+"``), ``customers``, ``share``.
    """
    n = cm_month["n_products"].to_numpy()
    zero = 0
    if customers is not None:
        if month is None:
            raise SegmentationError("product_depth needs month together with customers")
        end = month_end(month)
        since = pd.to_datetime(customers["since"])
        closed = pd.to_datetime(customers["closed"])
        on_book = (since <= end) & (closed.isna() | (closed > end))
        active = customers["customer_id"].isin(cm_month["customer_id"])
        zero = int((on_book & ~active).sum())
    counts = [
        zero,
        int((n == 1).sum()),
        int((n == 2).sum()),
        int((n == 3).sum()),
        int((n >= 4).sum()),
    ]
    total = sum(counts)
    return pd.DataFrame(
        {
            "products": ["0", "1", "2", "3", "4+"],
            "customers": counts,
            "share": [c / total if total else np.nan for c in counts],
        }
    )


def wealth_card_matching(
    cm_tiers: pd.DataFrame,
    product: str = "wealth_card",
    tiers: Sequence[str] = ("quality", "vip"),
) -> float:
    """Share of quality and VIP customers holding the wealth card (the plan's matching rate).

    Parameters
    ----------
    cm_tiers : DataFrame
        :func:`customer_tiers` output with ``hold_<product>``.
    product : str
        Product id of the wealth card.
    tiers : sequence of str
        Tiers that should hold it.

    Returns
    -------
    float
        Share in [0, 1]; NaN when no customer is in ``tiers``.
    """
    col = f"hold_{product}"
    if col not in cm_tiers.columns:
        raise SegmentationError(
            f"product {product!r} is not in the catalogue (no column {col}); set "
            "wealth_card_product to a product id of products.csv"
        )
    sel = cm_tiers["tier"].isin(list(tiers)).to_numpy()
    if not sel.any():
        return float("nan")
    return float(cm_tiers.loc[sel, col].astype("float64").mean())


def e_banking_penetration(cm: pd.DataFrame, products: pd.DataFrame) -> float:
    """Share of customers holding at least one e-banking product (online or mobile banking).

    Returns
    -------
    float
        Share in [0, 1]; NaN without customers or e-banking products.
    """
    cols = _family_map(products, cm.columns).get("e_banking", [])
    if not cols or cm.empty:
        return float("nan")
    return float((cm[cols].to_numpy().sum(axis=1) > 0).mean())


# --------------------------------------------------------------------------- managers


@dataclass
class ManagerKPIs:
    """Account-manager KPIs of a population of customers.

    Attributes
    ----------
    values : dict
        ``assigned_share`` (quality and VIP customers with an assigned manager),
        ``ft_managers``, ``customers_per_ft_manager`` (assigned customers per full-time
        manager), ``priority_customers_per_ft_manager``, ``contact_coverage`` (assigned
        customers contacted in the month), ``vip_minutes_per_customer`` and
        ``vip_minutes_total`` (month); ``None`` where the needed table is absent.
    notes : list of str
        What could not be computed and why (absent optional tables).
    """

    values: dict[str, float | None]
    notes: list[str] = field(default_factory=list)


def manager_kpis(
    cm_tiers: pd.DataFrame,
    managers: pd.DataFrame | None,
    has_contacts: bool,
    priority_tiers: Sequence[str] = ("quality", "vip"),
    vip_tiers: Sequence[str] = ("vip", "private_banking"),
) -> ManagerKPIs:
    """Coverage of quality and VIP customers by account managers.

    Parameters
    ----------
    cm_tiers : DataFrame
        :func:`customer_tiers` output with ``manager_id``, ``outlet_id``, ``contacts_1m`` and
        ``contact_minutes_1m``.
    managers : DataFrame or None
        Managers of the population's outlets (``manager_id``, ``outlet_id``, ``full_time``);
        ``None`` when the optional table is absent.
    has_contacts : bool
        Whether the optional contacts table was present (``bank.has("contacts")``).
    priority_tiers : sequence of str
        Tiers that should have a manager.
    vip_tiers : sequence of str
        Tiers whose service minutes are reported.

    Returns
    -------
    ManagerKPIs
    """
    _require(cm_tiers, ("tier", "manager_id"), "manager_kpis")
    notes: list[str] = []
    assigned = cm_tiers["manager_id"].notna().to_numpy()
    prio = cm_tiers["tier"].isin(list(priority_tiers)).to_numpy()
    vals: dict[str, float | None] = {
        "priority_customers": float(prio.sum()),
        "assigned_share": float(assigned[prio].mean()) if prio.any() else None,
        "ft_managers": None,
        "customers_per_ft_manager": None,
        "priority_customers_per_ft_manager": None,
        "contact_coverage": None,
        "vip_minutes_per_customer": None,
        "vip_minutes_total": None,
    }
    if managers is None:
        notes.append(
            "The managers table is absent from the data: manager adequacy (customers per "
            "full-time manager) cannot be shown."
        )
    else:
        outlets = set(cm_tiers["outlet_id"].unique().tolist()) if "outlet_id" in cm_tiers else None
        m = managers if outlets is None else managers.loc[managers["outlet_id"].isin(outlets)]
        ft = int(m["full_time"].astype(bool).sum())
        vals["ft_managers"] = float(ft)
        if ft:
            vals["customers_per_ft_manager"] = float(assigned.sum()) / ft
            vals["priority_customers_per_ft_manager"] = float(prio.sum()) / ft
        else:
            notes.append("No full-time account manager works at these outlets.")
    if not has_contacts:
        notes.append(
            "The contacts table is absent from the data: contact-plan coverage and VIP "
            "service minutes cannot be shown."
        )
    else:
        _require(cm_tiers, ("contacts_1m", "contact_minutes_1m"), "manager_kpis")
        if assigned.any():
            vals["contact_coverage"] = float(
                (cm_tiers["contacts_1m"].to_numpy()[assigned] > 0).mean()
            )
        vip = cm_tiers["tier"].isin(list(vip_tiers)).to_numpy()
        if vip.any():
            mins = cm_tiers["contact_minutes_1m"].to_numpy("float64")[vip]
            vals["vip_minutes_per_customer"] = float(mins.mean())
            vals["vip_minutes_total"] = float(mins.sum())
    return ManagerKPIs(values=vals, notes=notes)


def manager_kpis_by_outlet(
    cm_tiers: pd.DataFrame,
    managers: pd.DataFrame | None,
    has_contacts: bool,
    priority_tiers: Sequence[str] = ("quality", "vip"),
    min_group_size: int | None = None,
) -> pd.DataFrame:
    """Manager coverage per outlet (no manager or customer ids).

    Returns
    -------
    DataFrame
        ``outlet_id, priority_customers, assigned_share, ft_managers,
        priority_customers_per_ft_manager, contact_coverage`` (NaN where a table is absent);
        outlets with fewer priority customers than ``min_group_size`` are suppressed.
    """
    _require(cm_tiers, ("outlet_id", "tier", "manager_id"), "manager_kpis_by_outlet")
    prio = cm_tiers["tier"].isin(list(priority_tiers)).to_numpy()
    assigned = cm_tiers["manager_id"].notna().to_numpy()
    contacted = (
        (cm_tiers["contacts_1m"].to_numpy() > 0) if has_contacts else np.zeros(len(cm_tiers), bool)
    )
    f = pd.DataFrame(
        {
            "outlet_id": cm_tiers["outlet_id"].to_numpy(),
            "prio": prio,
            "prio_assigned": prio & assigned,
            "assigned": assigned,
            "assigned_contacted": assigned & contacted,
        }
    )
    g = f.groupby("outlet_id", sort=True).sum()
    out = pd.DataFrame(
        {
            "outlet_id": g.index.to_numpy(),
            "priority_customers": g["prio"].to_numpy().astype("int64"),
        }
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        out["assigned_share"] = (g["prio_assigned"] / g["prio"].where(g["prio"] > 0)).to_numpy()
        if managers is not None:
            ft = managers.loc[managers["full_time"].astype(bool)].groupby("outlet_id").size()
            out["ft_managers"] = out["outlet_id"].map(ft).fillna(0).astype("float64")
            out["priority_customers_per_ft_manager"] = out["priority_customers"] / out[
                "ft_managers"
            ].where(out["ft_managers"] > 0)
        else:
            out["ft_managers"] = np.nan
            out["priority_customers_per_ft_manager"] = np.nan
        cov = g["assigned_contacted"] / g["assigned"].where(g["assigned"] > 0)
        out["contact_coverage"] = cov.to_numpy() if has_contacts else np.nan
    if min_group_size is not None:
        out = suppress_small_groups(
            out,
            "priority_customers",
            min_group_size,
            value_cols=[
                "priority_customers",
                "assigned_share",
                "priority_customers_per_ft_manager",
                "contact_coverage",
            ],
        )
    return out


# --------------------------------------------------------------------------- report helpers

#: Tier display labels from the lowest to the highest tier (the reports' category order).
TIER_ORDER: tuple[str, ...] = tuple(TIER_LABELS[t] for t in DEFAULT_TIER_NAMES)

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

_MIGRATION_KEYS = (
    "upward_rate",
    "downgrade_rate",
    "retention_rate",
    "closed_rate",
    "new",
    "closed",
    "net_customer_growth",
)


def label_tiers(tiers: pd.Series) -> pd.Series:
    """Display label of each tier id (other states such as ``new`` are kept as they are)."""
    return tiers.map(lambda t: TIER_LABELS.get(t, t))


def tier_basis_text(tier_months: int, thresholds: Sequence[float], currency: str) -> str:
    """How tiers are assigned, for the report's introduction.

    Examples
    --------
    >>> tier_basis_text(3, [50000, 500000], "CNY")
    'Tiers use the average AUM of the last 3 month-ends; thresholds 50,000, 500,000 CNY.'
    """
    cuts = ", ".join(f"{t:,.0f}" for t in thresholds)
    return (
        f"Tiers use the average AUM of the last {tier_months} month-ends; "
        f"thresholds {cuts} {currency}."
    )


def migration_window(
    months: Sequence[str], month: str, tier_months: int, migration_months: int
) -> tuple[str, list[str]]:
    """Base month of the migration and the months whose AUM the tiers of both ends need.

    Parameters
    ----------
    months : sequence of str
        Months in the data, sorted.
    month : str
        Data month.
    tier_months : int
        Months averaged per tier assignment.
    migration_months : int
        How far back the migration looks (clamped to the first month of the data).

    Returns
    -------
    (t0, window)
        Base month and the sorted months in the data of both tier windows.
    """
    t0 = max(shift_month(month, -migration_months), months[0])
    wanted = set(month_window(month, tier_months) + month_window(t0, tier_months))
    return t0, sorted(m for m in wanted if m in set(months))


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


def labelled_tier_comparison(comp: pd.DataFrame, region_name: str, echelon: object) -> pd.DataFrame:
    """:func:`tier_comparison` with tier labels and scope names (region, echelon, bank)."""
    scope = {"region": str(region_name), "echelon": f"echelon {echelon}", "bank": "whole bank"}
    return comp.assign(tier=label_tiers(comp["tier"]), scope=comp["scope"].map(scope))


def tier_metrics(comp: pd.DataFrame, n_customers: int) -> dict[str, float | int]:
    """``tiers.share.<tier>``, ``tiers.aum_share.<tier>`` of the region and ``tiers.customers``.

    ``comp`` is :func:`tier_comparison` output (tier ids, scope ``region``).
    """
    mine = comp[comp["scope"] == "region"]
    out: dict[str, float | int] = {}
    for row in mine.itertuples(index=False):
        out[f"tiers.share.{row.tier}"] = row.share
        out[f"tiers.aum_share.{row.tier}"] = row.aum_share
    out["tiers.customers"] = int(n_customers)
    return out


def tier_mix_table(mine: pd.DataFrame, currency: str) -> pd.DataFrame:
    """The region's tier mix for display (money columns labelled with the currency)."""
    cols = ["tier", "customers", "share", "aum", "aum_share", "aum_per_customer"]
    return mine[cols].rename(
        columns={
            "aum": f"AUM ({currency})",
            "aum_share": "AUM share",
            "aum_per_customer": f"AUM per customer ({currency})",
        }
    )


def lorenz_comparison(region_aum: pd.Series, bank_aum: pd.Series, region_name: str) -> pd.DataFrame:
    """Lorenz curves of the region and the bank, ``scope`` naming each with its Gini."""
    return pd.concat(
        [
            lorenz_curve(region_aum).assign(scope=f"{region_name} (Gini {gini(region_aum):.2f})"),
            lorenz_curve(bank_aum).assign(scope=f"whole bank (Gini {gini(bank_aum):.2f})"),
        ]
    )


def region_transitions(
    cm: pd.DataFrame,
    tiers: pd.DataFrame,
    region_id: str,
    t0: str,
    thresholds: Sequence[float],
    tier_months: int,
) -> pd.DataFrame:
    """Tier transitions of the region's customers from ``t0`` to the data month.

    Parameters
    ----------
    cm : DataFrame
        Bank ``customer_month`` rows covering both tier windows (``aum``, ``region_id``...).
    tiers : DataFrame
        :func:`region_tiers` output (the data month).
    region_id, t0 : str
        Region and base month.
    thresholds, tier_months
        As for :func:`customer_tiers`.
    """
    before = customer_tiers(cm, t0, thresholds, tier_months)
    return tier_transitions(
        before[before["region_id"] == region_id], tiers[["customer_id", "outlet_id", "tier"]]
    )


def labelled_matrix(matrix: pd.DataFrame) -> pd.DataFrame:
    """A state x state matrix with tier labels on both axes (``new``/``closed`` kept)."""
    out = matrix.copy()
    out.index = [TIER_LABELS.get(s, s) for s in out.index]
    out.columns = [TIER_LABELS.get(s, s) for s in out.columns]
    return out


def migration_metrics(rates: dict[str, float], flows: pd.DataFrame) -> dict[str, float]:
    """``migration.<rate>`` from :func:`migration_rates` and ``migration.net_growth.<tier>``."""
    out = {f"migration.{k}": rates[k] for k in _MIGRATION_KEYS}
    for row in flows.itertuples(index=False):
        out[f"migration.net_growth.{row.tier}"] = row.net_growth
    return out


def migration_text(rates: dict[str, float]) -> str:
    """One Markdown sentence with the migration rates and customer counts.

    Examples
    --------
    >>> r = dict(upward_rate=0.1, downgrade_rate=0.05, retention_rate=0.8, new=12, closed=2,
    ...          net_customer_growth=10)
    >>> migration_text(r)[:42]
    'Upward migration **10.0%**, downgrades **5'
    """
    return (
        f"Upward migration **{rates['upward_rate']:.1%}**, downgrades "
        f"**{rates['downgrade_rate']:.1%}**, stock retention **{rates['retention_rate']:.1%}**; "
        f"{rates['new']:,.0f} new and {rates['closed']:,.0f} closed customers, "
        f"net growth {rates['net_customer_growth']:+,.0f}."
    )


def pipeline_metrics(pipe: pd.DataFrame) -> dict[str, float]:
    """``pipeline.customers.<tier>``: customers near the threshold of each tier above mass.

    NaN when every outlet's count for that tier is suppressed.
    """
    return {
        f"pipeline.customers.{t}": pipe.loc[pipe["target_tier"] == t, "customers"].sum(min_count=1)
        for t in DEFAULT_TIER_NAMES[1:]
    }


def label_pipeline(pipe: pd.DataFrame, outlet_names: dict[str, str]) -> pd.DataFrame:
    """:func:`upgrade_pipeline` by outlet with ``outlet`` names and ``target tier`` labels."""
    return pipe.assign(
        outlet=pipe["outlet_id"].map(outlet_names),
        **{"target tier": label_tiers(pipe["target_tier"])},
    )


def _small_count(counts: pd.Series, min_group_size: int) -> pd.Series:
    """True where a count is positive but below ``min_group_size`` (zero is not a group)."""
    return (counts > 0) & (counts < min_group_size)


def pipeline_plot_data(pipe: pd.DataFrame, min_group_size: int) -> pd.DataFrame:
    """Pipeline rows the chart may show: at least ``min_group_size`` customers near a threshold."""
    return pipe[pipe["customers"] >= min_group_size]


def pipeline_table(pipe: pd.DataFrame, currency: str, min_group_size: int) -> pd.DataFrame:
    """The pipeline for display, sorted by outlet and target tier (:func:`label_pipeline`).

    Rows with fewer than ``min_group_size`` (but some) customers near the threshold lose
    their count, share and AUM gap (the share times the tier count would give the count).
    """
    cols = ["outlet", "target tier", "customers", "tier_customers", "pipeline_share", "aum_gap"]
    small = _small_count(pipe["customers"], min_group_size)
    shown = pipe[cols].astype({c: "float64" for c in ("customers", "pipeline_share", "aum_gap")})
    shown.loc[small, ["customers", "pipeline_share", "aum_gap"]] = np.nan
    return shown.rename(
        columns={
            "tier_customers": "customers in tier below",
            "pipeline_share": "share",
            "aum_gap": f"AUM gap ({currency})",
        }
    ).sort_values(["outlet", "target tier"])


def segment_summary_table(summary: pd.DataFrame, min_group_size: int) -> pd.DataFrame:
    """:attr:`TierSegments.summary` for display: tier labels, small tiers' counts blanked."""
    customers = summary["customers"].astype("float64")
    return summary.assign(
        tier=label_tiers(summary["tier"]),
        customers=customers.mask(_small_count(customers, min_group_size)),
    )


def segment_metrics(segs: TierSegments) -> dict[str, float | None]:
    """Segments per tier, their stability, the mass tier's k and the totals."""
    out: dict[str, float | None] = {}
    for row in segs.summary.itertuples(index=False):
        out[f"segments.k.{row.tier}"] = row.k
        out[f"segments.stability_ari.{row.tier}"] = row.stability_ari
    out["segments.k"] = segs.summary.set_index("tier")["k"].get("mass")
    out["segments.total"] = segs.profiles.shape[0]
    out["segments.stability_ari"] = segs.summary["stability_ari"].mean()
    return out


def shown_segments(profiles: pd.DataFrame, min_group_size: int) -> pd.DataFrame:
    """Segment profiles big enough to show, with a ``segment`` label ``"<Tier>: <name>"``."""
    prof = suppress_small_groups(profiles, "customers", min_group_size)
    prof = prof.dropna(subset=["customers"])
    return prof.assign(segment=label_tiers(prof["tier"]) + ": " + prof["name"])


def segment_trait_z(
    prof: pd.DataFrame, features: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Segment averages of the traits and their distance from the region average.

    Parameters
    ----------
    prof : DataFrame
        :func:`shown_segments` output.
    features : DataFrame
        :func:`behaviour_features` of the region's customers.

    Returns
    -------
    (z, means)
        Both indexed by ``segment`` with the :data:`SEGMENT_TRAITS` present: ``z`` in
        population standard deviations of the region (NaN for traits without spread), and
        the segment means rounded to 2 decimals (the heat map's annotations).
    """
    traits = [c for c in SEGMENT_TRAITS if c in prof.columns]
    means = prof.set_index("segment")[traits]
    z = (means - features[traits].mean()) / features[traits].std(ddof=0).replace(0, np.nan)
    return z, means.round(2)


def coverage_metrics(ppc: pd.DataFrame, depth: pd.DataFrame) -> dict[str, float]:
    """Products per customer (all tiers) and the zero- and single-product shares.

    ``ppc`` is :func:`products_per_customer` output (last row ``tier = "all"``), ``depth``
    :func:`product_depth` output.
    """
    every = ppc.loc[ppc["tier"] == "all", "products_per_customer"]
    return {
        "coverage.products_per_customer": every.iloc[0],
        "coverage.zero_product_share": depth.loc[depth["products"] == "0", "share"].iloc[0],
        "coverage.single_product_share": depth.loc[depth["products"] == "1", "share"].iloc[0],
    }


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
    cm: pd.DataFrame, min_group_size: int, product_names: dict[str, str]
) -> pd.DataFrame:
    """:func:`cross_holding_matrix` with rows of rarely held products blanked, names as labels.

    A row whose product has fewer than ``min_group_size`` holders is all NaN.
    """
    cross = cross_holding_matrix(cm)
    holders = cm[[f"hold_{p}" for p in cross.index]].sum().to_numpy()
    cross = cross.mask(np.broadcast_to((holders < min_group_size)[:, None], cross.shape))
    cross.index = [product_names.get(p, p) for p in cross.index]
    cross.columns = [product_names.get(p, p) for p in cross.columns]
    return cross


def coverage_text(wealth_card: float | None, e_banking: float) -> str:
    """Markdown on wealth-card matching (left out when unknown or NaN) and e-banking.

    Examples
    --------
    >>> coverage_text(None, 0.5)
    'E-banking penetration (online or mobile banking held): **50.0%** of active customers.'
    """
    card = ""
    if wealth_card is not None and wealth_card == wealth_card:
        card = f"Wealth-card matching among quality and VIP customers: **{wealth_card:.1%}**. "
    return (
        card + f"E-banking penetration (online or mobile banking held): **{e_banking:.1%}** "
        "of active customers."
    )


def region_managers(managers: pd.DataFrame | None, tiers: pd.DataFrame) -> pd.DataFrame | None:
    """Managers of the outlets of ``tiers`` (``None`` when the bank has no managers table)."""
    if managers is None:
        return None
    return managers[managers["outlet_id"].isin(tiers["outlet_id"].unique())]


def manager_text(values: dict[str, float | None]) -> str:
    """Markdown with the region's manager KPIs; ``not available`` where one is ``None``."""

    def fmt(v: float | None, f: str) -> str:
        return "not available" if v is None else format(v, f)

    return (
        "Quality and VIP customers with an assigned manager: "
        f"**{fmt(values['assigned_share'], '.1%')}**; "
        "assigned customers per full-time manager: "
        f"**{fmt(values['customers_per_ft_manager'], ',.0f')}**; "
        f"contact-plan coverage this month: **{fmt(values['contact_coverage'], '.1%')}**; "
        "VIP and private service minutes per customer this month: "
        f"**{fmt(values['vip_minutes_per_customer'], ',.1f')}**."
    )


def manager_outlet_table(by_outlet: pd.DataFrame) -> pd.DataFrame:
    """:func:`manager_kpis_by_outlet` (with ``outlet`` names) for display, by outlet."""
    cols = {
        "outlet": "outlet",
        "priority_customers": "quality+VIP customers",
        "assigned_share": "assigned",
        "ft_managers": "full-time managers",
        "priority_customers_per_ft_manager": "quality+VIP per FT manager",
        "contact_coverage": "contact coverage",
    }
    return by_outlet[list(cols)].rename(columns=cols).sort_values("outlet")
