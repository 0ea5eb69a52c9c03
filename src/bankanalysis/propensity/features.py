"""Propensity targets, labels and features at a month t (pure: DataFrame in, DataFrame out).

For a month ``t`` and a product, the *population* is every customer active at ``t`` (a row
of ``customer_month``) who does not hold the product; the *label* is 1 when that customer
holds the product at ``t + horizon`` (0 when not, or when no longer active). Features use
only rows with ``month <= t``: the month itself and, for trends, a few months before it.
Month arithmetic comes from :mod:`bankanalysis.rules.months`, tiers from
:mod:`bankanalysis.rules.tiers` (the same window-average AUM as every report).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from bankanalysis.exceptions import ModelError
from bankanalysis.rules.months import month_window, shift_month

__all__ = [
    "ID_COLUMNS",
    "LAG_COLUMNS",
    "LAG_MONTHS",
    "build_features",
    "build_labels",
    "cross_sell_products",
    "months_needed",
    "tier_aum",
]

logger = logging.getLogger(__name__)

#: Text columns of ``customer_month`` that are never used as numeric features.
ID_COLUMNS: tuple[str, ...] = ("month", "customer_id", "outlet_id", "region_id", "manager_id")
#: Columns whose change over the last months is a feature (``<col>_chg_<k>m``).
LAG_COLUMNS: tuple[str, ...] = ("aum", "n_products")
#: Look-back distances in months for the change features.
LAG_MONTHS: tuple[int, ...] = (1, 3)


def months_needed(t: str, tier_months: int = 1) -> list[str]:
    """Months whose rows the features of month ``t`` read: ``t``, the look-backs of the change
    features and the tier window (:func:`bankanalysis.rules.months.month_window`).

    Examples
    --------
    >>> months_needed("2025-06", 3)
    ['2025-06', '2025-05', '2025-03', '2025-04']
    """
    out = [t] + [shift_month(t, -k) for k in LAG_MONTHS]
    return out + [m for m in month_window(t, tier_months)[::-1] if m not in out]


def tier_aum(
    cm: pd.DataFrame,
    t: str,
    tier_months: int,
    history: pd.DataFrame | None = None,
    positions: dict | None = None,
) -> pd.Series:
    """Window-average AUM of every customer active at ``t``: the AUM the bank's tiers use.

    The rule of :func:`bankanalysis.rules.tiers.window_average_aum` (the mean AUM over the
    month-ends of :func:`bankanalysis.rules.months.month_window` at which the customer was
    active), computed by one index lookup per month-end, shared with the change features of
    :func:`build_features` through ``positions``, instead of a group-by over every customer id:
    the training computes it for every window of a million customers. A test keeps the two
    equal.

    Parameters
    ----------
    cm : DataFrame
        ``customer_month`` rows of month ``t`` (``month, customer_id, aum``; rows of other
        months are used when they are in the tier window).
    t : str
        Month-end ``YYYY-MM``.
    tier_months : int
        Month-ends averaged.
    history : DataFrame, optional
        Rows of earlier months (``month, customer_id, aum``) when they are not in ``cm``.
    positions : dict, optional
        The lookup cache of :func:`build_features` for the same frames.

    Returns
    -------
    Series
        ``avg_aum`` indexed by ``customer_id`` (sorted), the customers active at ``t``.

    Examples
    --------
    >>> cm = pd.DataFrame({"month": ["2025-01", "2025-02", "2025-02"],
    ...                    "customer_id": ["a", "a", "b"], "aum": [100.0, 300.0, 50.0]})
    >>> tier_aum(cm, "2025-02", 3).tolist()
    [200.0, 50.0]
    """
    month = cm["month"].astype("str")
    now = cm.loc[month == t, ["customer_id", "aum"]].set_index("customer_id")["aum"]
    if now.empty:
        raise ModelError(f"customer_month has no rows for month {t}; choose a month in the data")
    if not now.index.is_monotonic_increasing:
        now = now.sort_index()
    past = cm if history is None else history
    past_month = month if history is None else past["month"].astype("str")
    first = now.to_numpy(dtype=np.float64, na_value=np.nan)
    total = np.where(np.isnan(first), 0.0, first)
    count = (~np.isnan(first)).astype(np.int64)
    for m in month_window(t, tier_months)[:-1]:
        rows, pos = _month_rows(past, past_month, m, now.index, ["aum"], positions)
        if rows.empty:
            continue
        vals = rows["aum"].to_numpy(dtype=np.float64, na_value=np.nan)[np.maximum(pos, 0)]
        ok = (pos >= 0) & ~np.isnan(vals)
        total += np.where(ok, vals, 0.0)
        count += ok
    avg = np.divide(total, count, out=np.full(total.size, np.nan), where=count > 0)
    return pd.Series(avg, index=now.index, name="avg_aum")


def cross_sell_products(products: pd.DataFrame, restrict: Sequence[str] | None = None) -> list[str]:
    """Products that are cross-sell targets, in catalogue order.

    Parameters
    ----------
    products : DataFrame
        The product catalogue with ``product`` and ``cross_sell`` (bool).
    restrict : sequence of str, optional
        Keep only these products (must all be cross-sell products).

    Returns
    -------
    list of str

    Raises
    ------
    ModelError
        When ``restrict`` names a product that is not a cross-sell product of the catalogue.
    """
    flag = products["cross_sell"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    targets = [str(p) for p in products.loc[flag, "product"]]
    if restrict is None:
        return targets
    unknown = [p for p in restrict if p not in targets]
    if unknown:
        raise ModelError(
            f"products {unknown} are not cross-sell products of the catalogue "
            f"(products.cross_sell = true: {', '.join(targets)}); fix the 'products' parameter"
        )
    return [p for p in targets if p in set(restrict)]


def _numeric_columns(cm: pd.DataFrame) -> list[str]:
    return [
        c
        for c in cm.columns
        if c not in ID_COLUMNS
        and (pd.api.types.is_numeric_dtype(cm[c]) or pd.api.types.is_bool_dtype(cm[c]))
    ]


def _positions(keys: pd.Series, index: pd.Index) -> np.ndarray:
    """Position in ``keys`` (unique ids) of each id of ``index``; -1 where absent.

    Arrow's hash lookup on the string ids (about twice as fast as ``Index.get_indexer`` for a
    million customers); ``get_indexer`` for ids that are not strings.

    Examples
    --------
    >>> _positions(pd.Series(["b", "c", "a"]), pd.Index(["a", "x", "c"])).tolist()
    [2, -1, 1]
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        values = pa.array(keys.array if hasattr(keys.array, "__arrow_array__") else keys.to_numpy())
        wanted = pa.array(
            index.array if hasattr(index.array, "__arrow_array__") else index.to_numpy()
        )
        if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
            raise TypeError(values.type)
        values, wanted = values.cast(pa.large_string()), wanted.cast(pa.large_string())
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError):
        return pd.Index(keys).get_indexer(index)
    found = pc.index_in(wanted, value_set=values)
    return found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.intp)


def _month_rows(
    past: pd.DataFrame,
    past_month: pd.Series,
    month: str,
    index: pd.Index,
    columns: Sequence[str],
    cache: dict | None,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows of ``month`` in ``past`` and, for each customer of ``index``, its row position (-1:
    not active then). ``cache`` (keyed by month) shares the lookups between the change
    features and the tier AUM of the same month ``t``."""
    if cache is not None and month in cache:
        rows, pos, seen = cache[month]
        if all(c in rows.columns for c in columns) and (seen is index or seen.equals(index)):
            return rows, pos
    cols = [c for c in dict.fromkeys(["customer_id", *columns]) if c in past.columns]
    rows = past.loc[past_month == month, cols]
    pos = _positions(rows["customer_id"], index)
    if cache is not None:
        cache[month] = (rows, pos, index)
    return rows, pos


def build_features(
    cm: pd.DataFrame,
    t: str,
    regions: Iterable[str] | None = None,
    history: pd.DataFrame | None = None,
    positions: dict | None = None,
) -> pd.DataFrame:
    """Features of every customer active at month ``t``, from rows with ``month <= t`` only.

    Parameters
    ----------
    cm : DataFrame
        ``customer_month`` rows (any months; rows after ``t`` are ignored). Needs ``month``,
        ``customer_id``, ``region_id``, ``manager_id`` and the numeric columns of
        ``docs/processed_data.md``; the look-back months only need ``aum`` and ``n_products``.
    t : str
        The month the features describe (``YYYY-MM``).
    regions : iterable of str, optional
        Region categories in a fixed order (the bank's regions), so codes agree between
        training and scoring; default the regions present at ``t``.
    history : DataFrame, optional
        Rows of the look-back months (``month``, ``customer_id``, ``aum``, ``n_products``)
        when they are not in ``cm`` (saves concatenating a wide frame); rows after ``t`` are
        ignored here too.
    positions : dict, optional
        A cache (filled here) of each look-back month's rows and customer positions, shared
        with :func:`tier_aum` on the same frames so each month is looked up once.

    Returns
    -------
    DataFrame
        Indexed by ``customer_id`` (sorted); every numeric column of month ``t`` as float32,
        ``has_manager`` (0/1), ``<col>_chg_<k>m`` changes against ``k`` months earlier (NaN
        for customers not active then), and ``region`` (categorical).
    """
    month = cm["month"].astype("str")
    cur = cm.loc[month == t].set_index("customer_id")
    if not cur.index.is_monotonic_increasing:
        cur = cur.sort_index()
    past = cm if history is None else history
    past_month = month if history is None else past["month"].astype("str")
    if cur.empty:
        raise ModelError(f"customer_month has no rows for month {t}; choose a month in the data")
    cols = _numeric_columns(cur)
    X = pd.DataFrame(
        {c: cur[c].to_numpy(dtype=np.float32, na_value=np.nan) for c in cols}, index=cur.index
    )
    X["has_manager"] = cur["manager_id"].notna().to_numpy(dtype=np.float32)
    lag_cols = [c for c in LAG_COLUMNS if c in cur.columns]
    for k in LAG_MONTHS:
        prev, pos = _month_rows(
            past, past_month, shift_month(t, -k), cur.index, [*lag_cols, "aum"], positions
        )
        for c in lag_cols:
            vals = prev[c].to_numpy(dtype=np.float32, na_value=np.nan)
            before = np.where(pos >= 0, vals[np.maximum(pos, 0)] if vals.size else np.nan, np.nan)
            X[f"{c}_chg_{k}m"] = X[c].to_numpy() - before.astype(np.float32)
    cats = sorted(cur["region_id"].dropna().unique()) if regions is None else list(regions)
    X["region"] = pd.Categorical(cur["region_id"].to_numpy(dtype=object), categories=cats)
    X.index.name = "customer_id"
    return X


def build_labels(cm: pd.DataFrame, t: str, horizon: int, products: Sequence[str]) -> pd.DataFrame:
    """Labels of month ``t``: 1 if the product is held at ``t + horizon``, NaN outside the population.

    Parameters
    ----------
    cm : DataFrame
        ``customer_month`` with ``month``, ``customer_id`` and ``hold_<product>`` columns,
        including months ``t`` and ``t + horizon``.
    t : str
        Month of the features.
    horizon : int
        Months ahead (>= 1).
    products : sequence of str
        Target products.

    Returns
    -------
    DataFrame
        Indexed by ``customer_id`` (customers active at ``t``, sorted), one float32 column per
        product: NaN where the product is already held at ``t`` (not in the population),
        else 1.0 when held at ``t + horizon`` and 0.0 otherwise (also when no longer active).

    Raises
    ------
    ModelError
        When month ``t + horizon`` is not in the data.
    """
    if horizon < 1:
        raise ModelError(f"horizon must be at least 1 month, got {horizon}")
    t_end = shift_month(t, horizon)
    cur = cm.loc[cm["month"] == t].set_index("customer_id").sort_index()
    fut = cm.loc[cm["month"] == t_end].set_index("customer_id")
    if fut.empty:
        raise ModelError(
            f"no customer_month rows for {t_end} (= {t} + {horizon} months): labels of {t} "
            "are not observed yet; evaluate an earlier month or shorten the horizon"
        )
    out = {}
    for p in products:
        col = f"hold_{p}"
        if col not in cur.columns:
            raise ModelError(
                f"customer_month has no column {col!r}; is {p!r} in the product catalogue?"
            )
        held_now = cur[col].to_numpy(dtype=np.float32) > 0
        later = fut[col].reindex(cur.index).fillna(0).to_numpy(dtype=np.float32) > 0
        lab = later.astype(np.float32)
        lab[held_now] = np.nan
        out[p] = lab
    return pd.DataFrame(out, index=cur.index)
