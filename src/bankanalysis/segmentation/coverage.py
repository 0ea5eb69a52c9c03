"""Product coverage: products per customer, holding rates, cross-holding, depth, card, e-banking.

Pure: customer rows (``customer_month`` of one month, usually with tiers) in, frames or
numbers out.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from bankanalysis.exceptions import SegmentationError
from bankanalysis.frames import ids_in
from bankanalysis.rules.months import month_end
from bankanalysis.rules.tiers import tier_at_least
from bankanalysis.segmentation.common import family_map as _family_map
from bankanalysis.segmentation.common import group_sums, ratio
from bankanalysis.segmentation.common import hold_columns as _hold_cols
from bankanalysis.segmentation.common import require_columns as _require

__all__ = [
    "CUSTOMER_KPIS",
    "NO_WEALTH_CARD",
    "cross_holding_matrix",
    "add_customer_sums",
    "customer_kpis",
    "customer_sums",
    "holding_rates",
    "kpis_from_sums",
    "product_depth",
    "products_per_customer",
    "still_active",
    "sums_of_units",
]

logger = logging.getLogger(__name__)


def products_per_customer(cm_tiers: pd.DataFrame) -> pd.DataFrame:
    """Average number of products held per customer, by tier and overall.

    Parameters
    ----------
    cm_tiers : DataFrame
        :func:`customer_tiers` output (``tier``, ``n_products``).

    Returns
    -------
    DataFrame
        ``tier, customers, products_per_customer`` with a last row ``tier = "all"``
        (the definition of :func:`customer_kpis`: products held / active customers).
    """
    _require(cm_tiers, ("tier", "n_products"), "products_per_customer")
    names = list(cm_tiers["tier"].cat.categories)
    frame = pd.DataFrame(
        {
            "tier": cm_tiers["tier"].astype("object"),
            "n": cm_tiers["n_products"].astype("float64"),
        }
    )
    g = frame.groupby("tier").agg(
        customers=("n", "size"),
        products_per_customer=("n", "mean"),
    )
    g = g.reindex(names)
    g["customers"] = g["customers"].fillna(0).astype("int64")
    allrow = pd.DataFrame(
        {
            "customers": [len(frame)],
            "products_per_customer": [frame["n"].mean()],
        },
        index=["all"],
    )
    out = pd.concat([g, allrow]).rename_axis("tier").reset_index()
    return out


def holding_rates(
    cm: pd.DataFrame,
    products: pd.DataFrame,
    by: str | None = None,
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
        active = ids_in(customers["customer_id"], cm_month["customer_id"])
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


#: KPI ids computed by :func:`customer_kpis`, in display order.
CUSTOMER_KPIS: tuple[str, ...] = (
    "customers",
    "customer_growth",
    "stock_retention",
    "product_coverage",
    "products_per_customer",
    "wealth_card_matching",
    "e_banking_penetration",
)

#: Reason recorded when the bank has no wealth card (``wealth_card_product`` is null).
NO_WEALTH_CARD = "not applicable: no wealth card in the product table"


def customer_kpis(
    tiers_now: pd.DataFrame,
    cm_base: pd.DataFrame | None,
    products: pd.DataFrame | None,
    by: str | None = None,
    coverage_products: int = 3,
    wealth_card_product: str | None = "wealth_card",
) -> pd.DataFrame:
    """The plan's customer KPIs at one month-end, for the whole frame or per group.

    Definitions (active = a ``customer_month`` row at the month-end; quality-and-above by
    :func:`~bankanalysis.rules.tiers.tier_at_least` on the window-average tiers):

    - ``customers``: active customers;
    - ``customer_growth``: (active customers - active at the base month) / active at the base
      month (each counted in its group at that month);
    - ``stock_retention``: customers of the group at the base month still active (anywhere in
      the frame) at the month-end / customers of the group at the base month;
    - ``product_coverage``: active customers holding at least ``coverage_products`` products /
      active customers;
    - ``products_per_customer``: products held / active customers;
    - ``wealth_card_matching``: quality-and-above customers holding the wealth card /
      quality-and-above customers;
    - ``e_banking_penetration``: active customers holding an ``e_banking``-family product /
      active customers.

    Parameters
    ----------
    tiers_now : DataFrame
        :func:`~bankanalysis.rules.tiers.customer_tiers` at the month-end with ``n_products``,
        the ``hold_<product>`` columns and the ``by`` column. Pass the whole bank (grouped by
        ``by``) so that customers who moved between groups count as retained.
    cm_base : DataFrame or None
        ``customer_month`` rows of the base month (``customer_id`` and the ``by`` column);
        ``None`` leaves growth and retention absent. A boolean column ``kept``, when there, is
        taken as :func:`still_active` of these rows (a caller grouping the same customers
        several ways computes it once); without it, it is computed.
    products : DataFrame or None
        The product catalogue (``product``, ``family``); ``None`` leaves e-banking absent.
    by : str, optional
        Grouping column (``region_id``, ``outlet_id``, ``echelon``, ``tier``...); ``None``: the
        whole frame as one row indexed ``"all"``.
    coverage_products : int
        Products a customer must hold to count as covered.
    wealth_card_product : str or None
        Product id of the wealth-management card; ``None`` when the bank has none (the KPI is
        then absent, "not applicable").

    Returns
    -------
    DataFrame
        Indexed by the groups (sorted): the columns of :data:`CUSTOMER_KPIS` (NaN where a
        denominator is 0) and the denominators ``base_customers`` and
        ``quality_plus_customers`` (for the small-group rule). ``attrs["absent"]`` maps each
        KPI that cannot be computed at all to its reason.

    Raises
    ------
    SegmentationError
        When a needed column is missing, ``coverage_products`` is below 1 or
        ``wealth_card_product`` is not a product of the catalogue.
    """
    return kpis_from_sums(
        customer_sums(tiers_now, cm_base, products, by, coverage_products, wealth_card_product),
        by,
    )


def customer_sums(
    tiers_now: pd.DataFrame,
    cm_base: pd.DataFrame | None,
    products: pd.DataFrame | None,
    by: str | None = None,
    coverage_products: int = 3,
    wealth_card_product: str | None = "wealth_card",
) -> pd.DataFrame:
    """The counts behind :func:`customer_kpis`, per group: additive, so the sums of disjoint
    sets of customers add up to those of their union (:func:`add_customer_sums`).

    Parameters are those of :func:`customer_kpis`.

    Returns
    -------
    DataFrame
        Indexed by the groups (sorted): ``one`` (active customers), ``n`` (products held),
        ``covered``, ``qplus``, ``qplus_card``, ``e_bank`` and, from the base month, ``base``
        and ``kept`` (NaN without ``cm_base``), all float64 counts. ``attrs["absent"]`` maps
        each KPI that cannot be computed to its reason.

    Raises
    ------
    SegmentationError
        As :func:`customer_kpis`.
    """
    _require(tiers_now, ("customer_id", "tier", "n_products"), "customer_kpis")
    if int(coverage_products) < 1:
        raise SegmentationError(
            f"coverage_products must be at least 1, got {coverage_products}; fix it in params/"
        )
    absent: dict[str, str] = {}
    n = tiers_now["n_products"].to_numpy("float64")
    qplus = tier_at_least(tiers_now["tier"], "quality")
    if wealth_card_product is None:
        card = np.zeros(len(tiers_now), bool)
        absent["wealth_card_matching"] = NO_WEALTH_CARD
    else:
        col = f"hold_{wealth_card_product}"
        if col not in tiers_now.columns:
            raise SegmentationError(
                f"product {wealth_card_product!r} is not in the catalogue (no column {col}); set "
                "wealth_card_product to a product id of products.csv, or to null when the bank "
                "has no wealth card"
            )
        card = tiers_now[col].to_numpy("float64") > 0
    e_cols = _family_map(products, tiers_now.columns).get("e_banking", [])
    if products is None or not e_cols:
        e_bank = np.zeros(len(tiers_now), bool)
        absent["e_banking_penetration"] = (
            "no product catalogue given"
            if products is None
            else "no e-banking product in the product table"
        )
    else:
        e_bank = tiers_now[e_cols].to_numpy("float64").sum(axis=1) > 0
    f = pd.DataFrame(
        {
            "one": 1.0,
            "n": n,
            "covered": (n >= int(coverage_products)).astype("float64"),
            "qplus": qplus.astype("float64"),
            "qplus_card": (qplus & card).astype("float64"),
            "e_bank": e_bank.astype("float64"),
        }
    )
    g = group_sums(f, tiers_now, by)
    if cm_base is not None:
        _require(cm_base, ("customer_id",), "customer_kpis (base month)")
        kept = (
            cm_base["kept"].to_numpy(bool)
            if "kept" in cm_base.columns
            else still_active(cm_base, tiers_now)
        ).astype("float64")
        b = group_sums(pd.DataFrame({"base": 1.0, "kept": kept}), cm_base, by)
        index = g.index.union(b.index)
        g, b = g.reindex(index, fill_value=0.0), b.reindex(index, fill_value=0.0)
    else:
        b = pd.DataFrame({"base": np.nan, "kept": np.nan}, index=g.index)
        absent["customer_growth"] = absent["stock_retention"] = "no base month given"
    out = g.join(b)
    out.attrs["absent"] = absent
    return out


def still_active(cm_base: pd.DataFrame, tiers_now: pd.DataFrame) -> np.ndarray:
    """Which customers of the base month are active at the month-end (anywhere in
    ``tiers_now``): the ``kept`` of :func:`customer_sums`.

    Examples
    --------
    >>> still_active(pd.DataFrame({"customer_id": ["A", "B"]}),
    ...              pd.DataFrame({"customer_id": ["B", "C"]})).tolist()
    [False, True]
    """
    return ids_in(cm_base["customer_id"], tiers_now["customer_id"])


def add_customer_sums(parts: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """The :func:`customer_sums` of the union of disjoint sets of customers from theirs.

    The counts are whole numbers held exactly in float64, so the totals are those of one
    :func:`customer_sums` over all the customers (groups sorted; ``base`` and ``kept`` stay
    NaN when no part had a base month). ``attrs["absent"]`` is the first part's.
    """
    if len(parts) == 1:
        return parts[0]
    out = pd.concat(parts).groupby(level=0, sort=True).sum(min_count=1)
    out.attrs["absent"] = dict(parts[0].attrs.get("absent", {}))
    return out


#: The counts of :func:`customer_sums` taken from the active customers, in its order.
NOW_SUMS: tuple[str, ...] = ("one", "n", "covered", "qplus", "qplus_card", "e_bank")


def sums_of_units(
    now: pd.DataFrame,
    base: pd.DataFrame,
    by: str | None,
    wealth_card_product: str | None = "wealth_card",
) -> pd.DataFrame:
    """:func:`customer_sums` (no product catalogue) from counts already summed per unit.

    ``now`` holds, per unit of the active customers (any rows carrying the ``by`` column),
    the counts ``one, n, covered, qplus, qplus_card``; ``base`` per unit of the base month's
    customers ``base, kept``. Summed per ``by`` group as :func:`customer_sums` sums its
    customers (the counts are whole numbers, which add up exactly in float64), so the frame
    is the one it gives for those customers: groups sorted, ``e_bank`` 0, ``attrs["absent"]``.

    Examples
    --------
    >>> now = pd.DataFrame({"region_id": ["R2", "R1", "R2"], "one": [2.0, 1.0, 1.0],
    ...                     "n": [5.0, 1.0, 3.0], "covered": [1.0, 0.0, 1.0],
    ...                     "qplus": [1.0, 0.0, 0.0], "qplus_card": [0.0, 0.0, 0.0]})
    >>> base = pd.DataFrame({"region_id": ["R3"], "base": [4.0], "kept": [3.0]})
    >>> sums_of_units(now, base, "region_id")[["one", "n", "base", "kept"]].values.tolist()
    [[1.0, 1.0, 0.0, 0.0], [3.0, 8.0, 0.0, 0.0], [0.0, 0.0, 4.0, 3.0]]
    """
    absent: dict[str, str] = {}
    if wealth_card_product is None:
        absent["wealth_card_matching"] = NO_WEALTH_CARD
    absent["e_banking_penetration"] = "no product catalogue given"
    f = now.reindex(columns=list(NOW_SUMS), fill_value=0.0).astype("float64")
    g = group_sums(f, now, by)
    b = group_sums(base[["base", "kept"]].astype("float64"), base, by)
    index = g.index.union(b.index)
    out = g.reindex(index, fill_value=0.0).join(b.reindex(index, fill_value=0.0))
    out.attrs["absent"] = absent
    return out


def kpis_from_sums(sums: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """:func:`customer_kpis` from its counts (:func:`customer_sums`, possibly added up)."""
    absent = dict(sums.attrs.get("absent", {}))
    s = sums
    out = pd.DataFrame(index=s.index)
    out["customers"] = s["one"].astype("int64")
    out["customer_growth"] = ratio(s["one"] - s["base"], s["base"])
    out["stock_retention"] = ratio(s["kept"], s["base"])
    out["product_coverage"] = ratio(s["covered"], s["one"])
    out["products_per_customer"] = ratio(s["n"], s["one"])
    out["wealth_card_matching"] = ratio(s["qplus_card"], s["qplus"])
    out["e_banking_penetration"] = ratio(s["e_bank"], s["one"])
    for kpi in absent:
        out[kpi] = np.nan
    out["base_customers"] = s["base"].astype("float64")
    out["quality_plus_customers"] = s["qplus"].astype("int64")
    out.index.name = by
    out.attrs["absent"] = absent
    return out
