"""Next best offer, reason codes and the account managers' lead lists.

Pure functions build the tables (the report's summaries of them are
:mod:`bankanalysis.report.propensity`; the account managers' workbooks, written to the
restricted folder, :mod:`bankanalysis.report.workbooks`). Lead lists carry ids, tier, outlet,
product, probability, rank and reason codes, never names or phone numbers.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = [
    "LEAD_COLUMNS",
    "OFFER_CHUNK",
    "build_lead_lists",
    "describe_feature",
    "leads_by_product",
    "next_best_offers",
    "offer_summary",
    "reason_codes",
]

logger = logging.getLogger(__name__)

#: Customers whose offers :func:`next_best_offers` ranks at a time (the long frame of one part
#: holds this many customers times the products).
OFFER_CHUNK = 100_000

#: Columns of a lead list, in order.
LEAD_COLUMNS: tuple[str, ...] = (
    "sheet",
    "rank",
    "customer_id",
    "tier",
    "outlet_id",
    "manager_id",
    "product",
    "product_name",
    "probability",
    "expected_value",
    "reason_1",
    "reason_2",
    "reason_3",
)


def next_best_offers(
    scores: pd.DataFrame,
    values: Mapping[str, float] | None = None,
    k: int = 2,
    chunk: int | None = None,
) -> pd.DataFrame:
    """Each customer's top-``k`` products by probability x product value.

    A customer's offers depend on their own scores alone, so the customers are ranked in parts
    of ``chunk`` (default :data:`OFFER_CHUNK`) one after the other: the long (customer x
    product) frame of a whole region is never built at once. With customers sorted (as
    :func:`~bankanalysis.propensity.training.score_customers` returns them) the parts, one after
    the other, are the rows of ranking everyone at once, in the same order; an unsorted index is
    ranked whole.

    Parameters
    ----------
    scores : DataFrame
        Customers as index, one probability column per product (NaN = already held).
    values : mapping, optional
        Value of one sale per product (default 1 for every product).
    k : int
        Offers per customer.
    chunk : int, optional
        Customers ranked at a time (at least 1).

    Returns
    -------
    DataFrame
        ``customer_id, offer_rank (1..k), product, probability, value, expected_value``,
        sorted by customer and rank; ties broken by product order.

    Examples
    --------
    >>> s = pd.DataFrame({"fund": [0.2, np.nan], "gold": [0.1, 0.3]}, index=["c1", "c2"])
    >>> next_best_offers(s, {"fund": 1.0, "gold": 3.0}, k=1)[["customer_id", "product"]].values.tolist()
    [['c1', 'gold'], ['c2', 'gold']]
    """
    size = OFFER_CHUNK if chunk is None else int(chunk)
    if size < 1:
        raise ValueError(f"next_best_offers: chunk must be at least 1, got {size}")
    if len(scores) <= size or not scores.index.is_monotonic_increasing:
        return _offers_part(scores, values, k)
    parts = [
        _offers_part(scores.iloc[i : i + size], values, k) for i in range(0, len(scores), size)
    ]
    return pd.concat([p for p in parts if len(p)] or parts[:1], ignore_index=True)


def _offers_part(scores: pd.DataFrame, values: Mapping[str, float] | None, k: int) -> pd.DataFrame:
    """:func:`next_best_offers` of some customers, ranked at once: each row's products by
    expected value (highest first; ties in product order), held products (NaN) left out, the
    rows in customer order. Ranked in numpy, row by row (the long customer x product frame,
    sorted by customer id, took most of the lead lists' time)."""
    values = dict(values or {})
    products = list(scores.columns)
    prob = scores.to_numpy(dtype="float64", na_value=np.nan)
    value = np.array([float(values.get(p, 1.0)) for p in products], dtype="float64")
    expected = prob * value
    held = np.isnan(prob)
    if (
        not np.isfinite(expected[~held]).all()
        or not scores.index.is_unique
        or scores.index.hasnans
        or not products
    ):  # values that are not finite, customers twice or missing: the long frame's answer
        return _offers_part_long(scores, values, k)
    # held products last, then by expected value (highest first); a stable sort keeps the
    # product order among equals
    key = np.where(held, np.inf, -expected)
    rows = np.arange(len(scores))
    if not scores.index.is_monotonic_increasing:
        rows = np.argsort(scores.index.to_numpy(dtype=object), kind="stable")
    top = np.argsort(key[rows], axis=1, kind="stable")[:, : max(int(k), 0)]
    row = np.repeat(rows, top.shape[1])
    col = top.ravel()
    rank = np.tile(np.arange(1, top.shape[1] + 1, dtype="int64"), len(rows))
    keep = ~held[row, col]
    row, col, rank = row[keep], col[keep], rank[keep]
    product = pd.Series(np.asarray(products, dtype=object)[col], dtype=scores.columns.dtype)
    # the ids as the long frame had them (``reset_index`` infers a string dtype)
    ids = scores.iloc[:, :0].rename_axis("customer_id").reset_index()["customer_id"]
    return pd.DataFrame(
        {
            "customer_id": ids.iloc[row].reset_index(drop=True),
            "offer_rank": rank,
            "product": product,
            "probability": prob[row, col],
            "value": value[col],
            "expected_value": expected[row, col],
        }
    )


def _offers_part_long(
    scores: pd.DataFrame, values: Mapping[str, float] | None, k: int
) -> pd.DataFrame:
    """:func:`_offers_part` through the long frame (the pandas sort defines the order where
    values are not finite or a customer is listed twice or missing)."""
    values = dict(values or {})
    long = scores.rename_axis("customer_id").reset_index()
    long = long.melt(id_vars="customer_id", var_name="product", value_name="probability")
    long = long.dropna(subset=["probability"])
    long["probability"] = long["probability"].astype("float64")
    long["value"] = long["product"].map(lambda p: float(values.get(p, 1.0))).astype("float64")
    long["expected_value"] = long["probability"] * long["value"]
    order = {p: i for i, p in enumerate(scores.columns)}
    long["_p"] = long["product"].map(order)
    long = long.sort_values(
        ["customer_id", "expected_value", "_p"], ascending=[True, False, True], kind="stable"
    )
    long["offer_rank"] = long.groupby("customer_id").cumcount() + 1
    out = long.loc[long["offer_rank"] <= k].drop(columns="_p")
    cols = ["customer_id", "offer_rank", "product", "probability", "value", "expected_value"]
    return out[cols].reset_index(drop=True)


def build_lead_lists(
    offers: pd.DataFrame,
    customers: pd.DataFrame,
    leads_per_sheet: int = 50,
    min_probability: float = 0.0,
) -> pd.DataFrame:
    """Lead lists: one list per account manager, one per outlet for unassigned customers.

    Parameters
    ----------
    offers : DataFrame
        From :func:`next_best_offers`.
    customers : DataFrame
        ``customer_id, tier, outlet_id, manager_id`` (manager NaN when unassigned).
    leads_per_sheet : int
        Leads kept per list at most, best first.
    min_probability : float
        Offers with a lower probability are never leads: a list gets shorter instead of being
        padded with unlikely offers (a list with none is not issued).

    Returns
    -------
    DataFrame
        :data:`LEAD_COLUMNS` without the reasons; ``sheet`` is the manager id, or
        ``unassigned <outlet_id>``; ``rank`` runs 1..n within each sheet by descending
        expected value (ties: customer id, then offer rank).
    """
    info = customers[["customer_id", "tier", "outlet_id", "manager_id"]]
    offers = offers.loc[offers["probability"] >= min_probability]
    df = offers.merge(info, on="customer_id", how="inner", validate="many_to_one")
    mgr = df["manager_id"].astype("str")
    sheet = np.where(df["manager_id"].isna(), "unassigned " + df["outlet_id"].astype("str"), mgr)
    df["sheet"] = pd.Series(sheet, index=df.index, dtype="str")
    df = df.sort_values(
        ["sheet", "expected_value", "customer_id", "offer_rank"],
        ascending=[True, False, True, True],
        kind="stable",
    )
    df["rank"] = df.groupby("sheet").cumcount() + 1
    df = df.loc[df["rank"] <= leads_per_sheet]
    cols = [c for c in LEAD_COLUMNS if c in df.columns]
    return df[cols].reset_index(drop=True)


def describe_feature(
    name: str, value: float, product_names: Mapping[str, str] | None = None
) -> str:
    """A short reason code an account manager understands.

    Examples
    --------
    >>> describe_feature("hold_fund", 1.0, {"fund": "Funds"})
    'holds Funds'
    >>> describe_feature("aum_chg_3m", 25000.0)
    'aum_chg_3m = 25,000'
    """
    names = product_names or {}
    if name.startswith("hold_"):
        p = name[5:]
        return f"{'holds' if value > 0 else 'does not hold'} {names.get(p, p)}"
    if name == "has_manager":
        return "has an account manager" if value > 0 else "no account manager"
    if isinstance(value, str):
        return f"{name} {value}"
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return f"{name} unknown"
    if abs(value) >= 100:
        return f"{name} = {value:,.0f}"
    return f"{name} = {value:.3g}"


def reason_codes(
    model: object,
    X: pd.DataFrame,
    reference: pd.Series,
    n_reasons: int = 3,
    product_names: Mapping[str, str] | None = None,
    candidates: Sequence[str] | None = None,
    describe: Callable[[str, float], str] | None = None,
) -> pd.DataFrame:
    """The features that raise each customer's score most against a typical customer.

    For each candidate feature the customer's value is replaced by the reference value (the
    population median) and the drop in the model's raw score (log-odds) measured; the
    ``n_reasons`` largest positive drops are the reasons.

    Parameters
    ----------
    model : PropensityModel
        Anything with ``decision_function``.
    X : DataFrame
        Features of the customers to explain (model column order).
    reference : Series
        Reference value per feature.
    n_reasons : int
        Reasons per customer (fewer when fewer features raise the score).
    product_names : mapping, optional
        Display names for ``hold_<product>`` features.
    candidates : sequence of str, optional
        Features to try; default every feature of ``reference``.
    describe : callable, optional
        ``(feature, value) -> phrase`` in plain language (the report layer's
        :func:`bankanalysis.report.workbooks.reason_phrase`); default :func:`describe_feature`.

    Returns
    -------
    DataFrame
        Same index as ``X``; columns ``reason_1..reason_n`` (empty string when none).
    """
    feats = [c for c in (candidates or reference.index) if c in X.columns]
    n, k = len(X), len(feats)
    base = model.decision_function(X)
    # one scoring call: row block j is X with feature j set to its reference value
    big = X.iloc[np.tile(np.arange(n), k)].reset_index(drop=True)
    for j, f in enumerate(feats):
        col = big.columns.get_loc(f)
        big.iloc[j * n : (j + 1) * n, col] = reference[f]
    deltas = (base[None, :] - model.decision_function(big).reshape(k, n)).T
    order = np.argsort(-deltas, axis=1, kind="stable")
    values = {f: X[f].to_numpy(dtype=object) for f in feats}
    out = {f"reason_{r + 1}": [""] * len(X) for r in range(n_reasons)}
    for i in range(len(X)):
        for r in range(min(n_reasons, len(feats))):
            j = order[i, r]
            if deltas[i, j] <= 1e-9:
                break
            v = values[feats[j]][i]
            v = v if isinstance(v, str) else float(v)
            out[f"reason_{r + 1}"][i] = (
                describe(feats[j], v) if describe else describe_feature(feats[j], v, product_names)
            )
    return pd.DataFrame(out, index=X.index)


def offer_summary(offers: pd.DataFrame, leads: pd.DataFrame, n_products: pd.Series) -> dict:
    """Expected new products if the leads are worked, in total and per active customer.

    Parameters
    ----------
    offers : DataFrame
        All next best offers (every customer's top-k).
    leads : DataFrame
        The lead lists (the offers account managers actually work).
    n_products : Series
        Products held now per active customer.

    Returns
    -------
    dict
        Keyed by KPI id (:mod:`bankanalysis.rules.kpis`): ``customers`` (active customers),
        ``products_per_customer`` now, ``leads``, ``expected_sales`` (sum of the leads'
        probabilities), ``expected_new_products_per_customer`` (``expected_sales`` divided by
        the active customers: the expected change in products per customer),
        ``products_per_customer_after`` (now plus that change) and ``expected_sales_all_offers``
        (if every customer's top-k offers were made). Per-customer figures are NaN without
        customers.
    """
    n = int(n_products.size)
    now = float(n_products.mean()) if n else math.nan
    expected = float(leads["probability"].sum())
    per_customer = expected / n if n else math.nan
    return {
        "customers": n,
        "products_per_customer": now,
        "leads": int(len(leads)),
        "expected_sales": expected,
        "expected_new_products_per_customer": per_customer,
        "products_per_customer_after": now + per_customer,
        "expected_sales_all_offers": float(offers["probability"].sum()),
    }


def leads_by_product(leads: pd.DataFrame) -> pd.DataFrame:
    """Leads, mean probability and expected sales per product of the lead lists.

    Parameters
    ----------
    leads : DataFrame
        The lead lists (``product``, ``customer_id``, ``probability``).

    Returns
    -------
    DataFrame
        ``product, leads, mean_probability, expected_sales`` (the sum of probabilities: the
        sales to expect), one row per product with leads, in product order.

    Examples
    --------
    >>> leads = pd.DataFrame({"product": ["fund", "gold", "fund"], "customer_id": ["a", "b", "c"],
    ...                       "probability": [0.5, 0.2, 0.3]})
    >>> leads_by_product(leads).to_dict("list")
    {'product': ['fund', 'gold'], 'leads': [2, 1], 'mean_probability': [0.4, 0.2], 'expected_sales': [0.8, 0.2]}
    """
    return (
        leads.groupby("product", observed=True)
        .agg(
            leads=("customer_id", "size"),
            mean_probability=("probability", "mean"),
            expected_sales=("probability", "sum"),
        )
        .reset_index()
    )
