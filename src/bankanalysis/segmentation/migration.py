"""Tier migration between two month-ends: transitions, matrix, rates, flows, upgrade pipeline.

A customer's *state* at a month-end is its tier, ``new`` (not active at the earlier month-end)
or ``closed`` (not active at the later one). Pure: tier frames in, frames or numbers out.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from bankanalysis.exceptions import SegmentationError
from bankanalysis.frames import ids_in
from bankanalysis.rules.months import base_month, month_window
from bankanalysis.rules.tiers import check_thresholds
from bankanalysis.segmentation.common import group_keys, group_sums, ratio
from bankanalysis.segmentation.common import require_columns as _require

__all__ = [
    "CLOSED",
    "NEW",
    "MIGRATION_KPIS",
    "migration_kpis",
    "migration_rates",
    "migration_window",
    "region_cohort",
    "region_transitions",
    "tier_flows",
    "tier_transitions",
    "transition_matrix",
    "upgrade_pipeline",
]

logger = logging.getLogger(__name__)

#: Migration state of a customer active at the later month-end only.
NEW = "new"
#: Migration state of a customer active at the earlier month-end only.
CLOSED = "closed"


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


def tier_flows(transitions: pd.DataFrame) -> pd.DataFrame:
    """Per tier: customers at both month-ends, inflows, outflows and net tier growth.

    Parameters
    ----------
    transitions : DataFrame
        :func:`tier_transitions` output.

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
    return out


def upgrade_pipeline(
    tiers: pd.DataFrame,
    thresholds: Sequence[float],
    within: float = 0.10,
    by: str = "outlet_id",
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
    return out


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
    t0 = base_month(months, month, migration_months)
    wanted = set(month_window(month, tier_months) + month_window(t0, tier_months))
    return t0, sorted(m for m in wanted if m in set(months))


def region_transitions(
    tiers_base: pd.DataFrame, tiers_now: pd.DataFrame, region_id: str
) -> pd.DataFrame:
    """Tier transitions of a region's customers from the base month to the month-end.

    The rows are the region's customers at the base month (their cohort, followed wherever
    they are in the bank at the month-end, as :func:`migration_kpis` does) and the region's
    customers at the month-end. A customer who moved in from another region is ``new`` here;
    one who moved out keeps the tier they have now (retained, not closed), so the rates of
    :func:`migration_rates` equal :func:`migration_kpis` for the region.

    Parameters
    ----------
    tiers_base, tiers_now : DataFrame
        :func:`~bankanalysis.rules.tiers.customer_tiers` of the whole bank at the base month
        and the month-end (``customer_id``, ``region_id``, ``tier``; ``outlet_id`` optional).
    region_id : str
        The region.
    """
    before, now = region_cohort(tiers_base, tiers_now, region_id)
    cols = ["customer_id", "tier"] + (["outlet_id"] if "outlet_id" in now.columns else [])
    return tier_transitions(before, now[cols])


def region_cohort(
    tiers_base: pd.DataFrame, tiers_now: pd.DataFrame, region_id: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows a region's migration needs: its base-month customers and, at the month-end,
    its customers plus the base-month customers who moved elsewhere.

    ``migration_kpis(*region_cohort(b, n, r), by="region_id").loc[r]`` equals the ``r`` row of
    ``migration_kpis(b, n, by="region_id")`` at a fraction of the cost for a large bank.
    """
    _require(tiers_base, ("customer_id", "region_id", "tier"), "region_cohort")
    _require(tiers_now, ("customer_id", "region_id", "tier"), "region_cohort")
    before = tiers_base[tiers_base["region_id"] == region_id]
    keep = (tiers_now["region_id"] == region_id) | ids_in(
        tiers_now["customer_id"], before["customer_id"]
    )
    return before, tiers_now.loc[keep]


#: KPI ids computed by :func:`migration_kpis`, in display order.
MIGRATION_KPIS: tuple[str, ...] = (
    "stock_retention",
    "upward_migration_rate",
    "downward_migration_rate",
    "attrition_rate",
)


def migration_kpis(
    tiers_base: pd.DataFrame, tiers_now: pd.DataFrame, by: str | None = None
) -> pd.DataFrame:
    """Retention and tier migration of the base month's customers, for the frame or per group.

    The cohort of a group is its customers active at the base month (grouped by their ``by``
    value then). Each cohort customer is followed to the month-end wherever they are in the
    bank: still active (retained), in a higher or a lower tier than at the base month, or no
    longer active (lost). Pass the whole bank's tiers at both month-ends so that a customer who
    moved to another group counts as retained, not lost.

    - ``stock_retention``: cohort customers still active at the month-end / cohort;
    - ``upward_migration_rate``: cohort customers in a higher tier at the month-end / cohort;
    - ``downward_migration_rate``: cohort customers in a lower tier at the month-end / cohort;
    - ``attrition_rate``: cohort customers no longer active / cohort (1 - stock_retention).

    Parameters
    ----------
    tiers_base, tiers_now : DataFrame
        :func:`~bankanalysis.rules.tiers.customer_tiers` at the base month and at the month-end
        (``customer_id``, ``tier`` and the ``by`` column in ``tiers_base``; ``tiers_now`` also
        needs ``by`` for ``gained_customers``).
    by : str, optional
        Grouping column (``region_id``, ``outlet_id``, ``tier``...); ``None``: one row ``"all"``.

    Returns
    -------
    DataFrame
        Indexed by the groups (sorted): :data:`MIGRATION_KPIS` and the counts
        ``base_customers`` (the cohort), ``lost_customers``, ``upgraded_customers``,
        ``downgraded_customers`` and ``gained_customers`` (active in the group at the
        month-end, not in its cohort: new to the bank or moved in). Rates are NaN for an empty
        cohort.
    """
    _require(tiers_base, ("customer_id", "tier"), "migration_kpis (base month)")
    _require(tiers_now, ("customer_id", "tier"), "migration_kpis (month-end)")
    names = list(tiers_base["tier"].cat.categories)
    if names != list(tiers_now["tier"].cat.categories):
        raise SegmentationError("both tier frames must use the same tier names")
    n_base = len(tiers_base)
    codes, uniques = pd.factorize(
        pd.concat([tiers_base["customer_id"], tiers_now["customer_id"]], ignore_index=True)
    )
    base_c, now_c = codes[:n_base], codes[n_base:]
    twice = (np.bincount(base_c, minlength=len(uniques)) > 1).any() or (
        np.bincount(now_c, minlength=len(uniques)) > 1
    ).any()
    if twice:
        raise SegmentationError("migration_kpis: a customer appears twice at one month-end")
    where_now = np.full(len(uniques), -1, dtype=np.int64)
    where_now[now_c] = np.arange(len(now_c))
    where_base = np.full(len(uniques), -1, dtype=np.int64)
    where_base[base_c] = np.arange(n_base)
    pos = where_now[base_c]  # -1: not active at the month-end
    still = pos >= 0
    now_codes = tiers_now["tier"].cat.codes.to_numpy()
    later = np.where(still, now_codes[np.where(still, pos, 0)], -1)
    before = tiers_base["tier"].cat.codes.to_numpy()
    f = pd.DataFrame(
        {
            "base": 1.0,
            "kept": still.astype("float64"),
            "up": (still & (later > before)).astype("float64"),
            "down": (still & (later < before)).astype("float64"),
        }
    )
    g = group_sums(f, tiers_base, by)
    base_keys, now_keys = group_keys(tiers_base, by), group_keys(tiers_now, by)
    back = where_base[now_c]  # -1: not active at the base month
    was = back >= 0
    same_group = np.zeros(len(now_c), dtype=bool)
    same_group[was] = base_keys[back[was]] == now_keys[was]
    gained = group_sums(pd.DataFrame({"gained": (~same_group).astype("float64")}), tiers_now, by)
    gained = gained["gained"]
    index = g.index.union(gained.index)
    g = g.reindex(index, fill_value=0.0)
    out = pd.DataFrame(index=index)
    out["stock_retention"] = ratio(g["kept"], g["base"])
    out["upward_migration_rate"] = ratio(g["up"], g["base"])
    out["downward_migration_rate"] = ratio(g["down"], g["base"])
    out["attrition_rate"] = ratio(g["base"] - g["kept"], g["base"])
    out["base_customers"] = g["base"].astype("int64")
    out["lost_customers"] = (g["base"] - g["kept"]).astype("int64")
    out["upgraded_customers"] = g["up"].astype("int64")
    out["downgraded_customers"] = g["down"].astype("int64")
    out["gained_customers"] = gained.reindex(index, fill_value=0.0).astype("int64")
    out.index.name = by
    return out
