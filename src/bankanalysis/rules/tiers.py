"""Customer tiers: names, order, labels, the window-average AUM and the cut at the thresholds.

The bank's rule, written once: a customer's tier at a month-end comes from the average AUM
over the last ``tier_months`` month-ends (ending at that month) at which the customer was
active; thresholds ``[t1, t2, t3]`` (bank currency) cut it as
``mass < t1 <= quality < t2 <= vip < t3 <= private_banking``: a customer exactly at a
threshold belongs to the higher tier. "Quality-and-above" means quality, VIP and private
banking; "VIP-and-above" VIP and private banking (:func:`tier_at_least`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from bankanalysis.exceptions import SegmentationError
from bankanalysis.rules.months import month_index, month_window

__all__ = [
    "TIERS",
    "TIER_LABELS",
    "assign_tiers",
    "check_thresholds",
    "require_columns",
    "customer_tiers",
    "rolling_average_aum",
    "rolling_average_aum_part",
    "tier_at_least",
    "tier_label",
    "window_average_aum",
]

logger = logging.getLogger(__name__)

#: Tier ids from the lowest to the highest AUM band.
TIERS: tuple[str, ...] = ("mass", "quality", "vip", "private_banking")
#: Display labels of the tier ids.
TIER_LABELS: dict[str, str] = {
    "mass": "Mass",
    "quality": "Quality",
    "vip": "VIP",
    "private_banking": "Private banking",
}


def tier_label(tier: str) -> str:
    """Display label of a tier id; other states (``new``, ``closed``, ``all``) unchanged.

    Examples
    --------
    >>> tier_label("private_banking"), tier_label("new")
    ('Private banking', 'new')
    """
    return TIER_LABELS.get(tier, tier)


def require_columns(df: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    """Raise :class:`SegmentationError` naming the columns ``what`` needs and ``df`` lacks."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise SegmentationError(
            f"{what}: column(s) {', '.join(missing)} missing from the customer-month frame "
            f"(has {', '.join(map(str, df.columns[:12]))}...); load them from "
            "customer_month.parquet (docs/processed_data.md)"
        )


def check_thresholds(thresholds: Sequence[float], names: Sequence[str] = TIERS) -> np.ndarray:
    """Validate tier thresholds: one fewer than tiers, positive, strictly increasing.

    Returns
    -------
    ndarray
        The thresholds as float64.

    Raises
    ------
    SegmentationError
        Naming the thresholds and the parameter to fix.

    Examples
    --------
    >>> check_thresholds([5e4, 5e5, 6e6]).tolist()
    [50000.0, 500000.0, 6000000.0]
    """
    try:
        thr = np.asarray(thresholds, dtype="float64").reshape(-1)
    except (TypeError, ValueError) as exc:
        raise SegmentationError(
            f"tier thresholds must be numbers, got {thresholds!r}; fix tier_thresholds in params/"
        ) from exc
    if len(names) != len(thr) + 1:
        raise SegmentationError(
            f"tiers {list(names)} need exactly {len(names) - 1} thresholds, got {thr.tolist()}; "
            "fix tier_thresholds in params/"
        )
    if not np.all(np.isfinite(thr)) or (thr.size and (thr[0] <= 0 or np.any(np.diff(thr) <= 0))):
        raise SegmentationError(
            f"tier thresholds must be positive and strictly increasing, got {thr.tolist()}; "
            "fix tier_thresholds in params/"
        )
    return thr


def assign_tiers(
    aum: pd.Series | np.ndarray | Sequence[float],
    thresholds: Sequence[float],
    names: Sequence[str] = TIERS,
) -> pd.Categorical:
    """Cut AUM into tiers; a customer exactly at a threshold belongs to the higher tier.

    Parameters
    ----------
    aum : Series, array or sequence of float
        AUM per customer in the bank's currency (the window average, see
        :func:`window_average_aum`).
    thresholds : sequence of float
        Lower bounds of quality, VIP and private banking, increasing.
    names : sequence of str
        Tier ids, lowest first (one more than ``thresholds``).

    Returns
    -------
    Categorical
        Ordered categories ``names``.

    Raises
    ------
    SegmentationError
        On bad thresholds or a missing (NaN) AUM.

    Examples
    --------
    >>> list(assign_tiers([0, 49999.0, 50000, 6e6], [5e4, 5e5, 6e6]))
    ['mass', 'mass', 'quality', 'private_banking']
    """
    thr = check_thresholds(thresholds, names)
    values = np.asarray(aum, dtype="float64").reshape(-1)
    if np.isnan(values).any():
        raise SegmentationError(
            f"{int(np.isnan(values).sum())} customer(s) have no AUM to put into a tier; "
            "check the aum column of customer_month"
        )
    codes = np.searchsorted(thr, values, side="right")
    return pd.Categorical.from_codes(codes, categories=list(names), ordered=True)


def window_average_aum(cm: pd.DataFrame, month: str, tier_months: int = 3) -> pd.DataFrame:
    """Average AUM over the last ``tier_months`` month-ends of every customer active at ``month``.

    Only the month-ends at which the customer was active (has a ``customer_month`` row) count:
    a customer who joined two months ago, or is missing from one month-end of the window, is
    averaged over the month-ends present.

    Parameters
    ----------
    cm : DataFrame
        ``customer_month`` rows with at least ``month, customer_id, aum``.
    month : str
        Month-end ``YYYY-MM``.
    tier_months : int
        Month-ends in the window (ending at ``month``).

    Returns
    -------
    DataFrame
        Indexed by ``customer_id`` (sorted), the customers active at ``month``: ``avg_aum``
        and ``months_used`` (month-ends averaged, 1..``tier_months``).

    Raises
    ------
    SegmentationError
        When no customer is active at ``month`` (the message lists the months present).
    ParameterError
        When ``month`` is not ``YYYY-MM`` or ``tier_months`` is below 1.
    """
    require_columns(cm, ("month", "customer_id", "aum"), "window_average_aum")
    window = month_window(month, tier_months)
    months = cm["month"].astype("str")
    at = (months == month).to_numpy()
    if not at.any():
        known = sorted(months.unique().tolist())
        raise SegmentationError(
            f"no customer is active at month {month!r} in the customer-month frame "
            f"(months present: {', '.join(known[:3])}{'...' if len(known) > 3 else ''}"
            f"{known[-1] if len(known) > 3 else ''}); choose a data_month inside the data"
        )
    # every customer of the window, then those with a row at the month: the same rows per
    # active customer, in the same order, as selecting the active customers' rows first
    inside = months.isin(window).to_numpy()
    hist = cm.loc[inside, ["customer_id", "aum"]].assign(now=at[inside])
    avg = hist.groupby("customer_id", sort=True).agg(
        mean=("aum", "mean"), size=("aum", "size"), now=("now", "any")
    )
    avg = avg.loc[avg["now"].to_numpy()]
    return pd.DataFrame(
        {"avg_aum": avg["mean"].astype("float64"), "months_used": avg["size"].astype("int16")}
    )


def rolling_average_aum(cm: pd.DataFrame, tier_months: int = 3) -> pd.Series:
    """The window-average AUM of every ``customer_month`` row (each row's own month-end).

    Same rule as :func:`window_average_aum`, for all months at once (vectorised with
    cumulative sums: seconds for a million customers).

    Parameters
    ----------
    cm : DataFrame
        ``customer_month`` rows (``month, customer_id, aum``), any order, one row per
        customer and month.
    tier_months : int
        Month-ends in the window.

    Returns
    -------
    Series
        Aligned with ``cm.index``.
    """
    return rolling_average_aum_part(cm, tier_months)[0]


def rolling_average_aum_part(
    cm: pd.DataFrame, tier_months: int = 3, carry: float = 0.0
) -> tuple[pd.Series, float]:
    """:func:`rolling_average_aum` of one part of a larger read, the same to the last bit.

    The averages are differences of one running sum of AUM over the rows in customer-id then
    month order. When a read is split into parts of customers in that order (ranges of
    customer ids, every row of a customer in the same part), give each part the running sum
    the one before it returned (``carry``; 0 for the first): its running sum then continues
    the whole read's, addition for addition, and its averages are those of the whole read.

    Returns
    -------
    (Series, float)
        The averages (aligned with ``cm.index``) and the running sum after the part's rows.
    """
    require_columns(cm, ("month", "customer_id", "aum"), "rolling_average_aum")
    if int(tier_months) < 1:
        month_window("2000-01", tier_months)  # raises the ParameterError
    if cm.empty:
        return pd.Series(np.zeros(0), index=cm.index, dtype="float64"), float(carry)
    codes, uniques = pd.factorize(cm["month"].astype("str"), sort=False)
    mi = np.array([month_index(m) for m in uniques], dtype=np.int64)[codes]
    cust = pd.factorize(cm["customer_id"], sort=True)[0].astype(np.int64)
    order = np.lexsort((mi, cust))
    mi, cust = mi[order], cust[order]
    lo = int(mi.min())
    span = int(mi.max()) - lo + int(tier_months) + 1
    key = cust * span + (mi - lo)
    if np.any(np.diff(key) == 0):
        raise SegmentationError(
            "customer_month has more than one row for a customer and month; "
            "re-run `bankanalysis data prepare`"
        )
    start = np.searchsorted(key, key - int(tier_months) + 1, side="left")
    # sequential (np.cumsum), from the carried sum: 0.0 + x is x, so the first part's sums are
    # those of np.r_[0.0, np.cumsum(x)]
    cs = np.cumsum(np.r_[float(carry), cm["aum"].to_numpy(dtype="float64")[order]])
    idx = np.arange(len(order))
    avg = np.empty(len(order), dtype="float64")
    avg[order] = (cs[idx + 1] - cs[start]) / (idx + 1 - start)
    return pd.Series(avg, index=cm.index, name="avg_aum"), float(cs[-1])


def customer_tiers(
    cm: pd.DataFrame,
    month: str,
    thresholds: Sequence[float],
    tier_months: int = 3,
    names: Sequence[str] = TIERS,
) -> pd.DataFrame:
    """Tier of every customer active at ``month``.

    Parameters
    ----------
    cm : DataFrame
        ``customer_month`` rows with at least ``month, customer_id, aum``; the other columns
        of the ``month`` rows (``outlet_id``, ``region_id``, ``manager_id``, holdings...) are
        carried over.
    month : str
        Month-end ``YYYY-MM``.
    thresholds : sequence of float
        Lower bounds of quality, VIP and private banking (bank currency).
    tier_months : int
        Month-ends averaged (:func:`window_average_aum`).
    names : sequence of str
        Tier ids, lowest first.

    Returns
    -------
    DataFrame
        The ``month`` rows of ``cm`` (one per customer, sorted by ``customer_id``) plus
        ``avg_aum``, ``months_used`` and ``tier`` (ordered categorical).
    """
    check_thresholds(thresholds, names)
    avg = window_average_aum(cm, month, tier_months)
    now = cm.loc[cm["month"].astype("str") == month]
    out = now.sort_values("customer_id").reset_index(drop=True)
    got = avg.reindex(out["customer_id"].to_numpy())
    out["avg_aum"] = got["avg_aum"].to_numpy()
    out["months_used"] = got["months_used"].to_numpy().astype("int16")
    out["tier"] = assign_tiers(out["avg_aum"], thresholds, names)
    return out


def tier_at_least(tiers: pd.Series | pd.Categorical | Sequence[str], tier: str) -> np.ndarray:
    """True where a customer's tier is ``tier`` or higher (e.g. ``"quality"``: quality-and-above).

    Parameters
    ----------
    tiers : Series, Categorical or sequence of str
        Tier ids (an ordered categorical from :func:`assign_tiers`, or plain strings of
        :data:`TIERS`).
    tier : str
        The lowest tier counted.

    Returns
    -------
    ndarray of bool

    Raises
    ------
    SegmentationError
        When ``tier`` or a value of ``tiers`` is not a tier id.

    Examples
    --------
    >>> tier_at_least(["mass", "quality", "vip", "private_banking"], "vip").tolist()
    [False, False, True, True]
    """
    if isinstance(tiers, pd.Series) and isinstance(tiers.dtype, pd.CategoricalDtype):
        cat = tiers.array
    elif isinstance(tiers, pd.Categorical):
        cat = tiers
    else:
        values = pd.Series(np.asarray(tiers, dtype="object"))
        bad = sorted({str(v) for v in values.unique()} - set(TIERS))
        if bad:
            raise SegmentationError(f"unknown tier id(s) {bad}; tiers are {list(TIERS)}")
        cat = pd.Categorical(values, categories=list(TIERS), ordered=True)
    names = [str(c) for c in cat.categories]
    if tier not in names:
        raise SegmentationError(f"unknown tier {tier!r}; tiers are {names}")
    codes = np.asarray(cat.codes)
    return (codes >= names.index(tier)) & (codes >= 0)
