"""Did last period's leads work? Conversion of the leads issued ``h`` months ago.

A lead converts when the customer holds the offered product ``h`` months after the list was
issued (the label of :mod:`bankanalysis.propensity.features`: a customer no longer active has
not bought). Leads are compared with *comparable* customers: those who were not leads for the
product but had a probability in the same score band, so a lead list that only picked likely
buyers does not look like a success. Pure functions: frames in, frames out.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = [
    "SCORE_BANDS",
    "add_counts",
    "comparable_counts",
    "conversion_by_group",
    "lead_conversion",
    "lead_outcomes",
]

logger = logging.getLogger(__name__)

#: Right-closed probability bands inside which leads and non-leads are compared.
SCORE_BANDS: tuple[float, ...] = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0)

_CONVERSION_COLUMNS = [
    "product",
    "leads",
    "lead_buyers",
    "lead_conversion",
    "predicted_conversion",
    "matched_leads",
    "matched_conversion",
    "comparable_customers",
    "comparable_conversion",
    "conversion_uplift",
]


def lead_outcomes(
    scores: pd.DataFrame,
    leads: pd.DataFrame,
    held_later: pd.DataFrame,
    bands: Sequence[float] = SCORE_BANDS,
) -> pd.DataFrame:
    """Every customer-product pair scored back then, whether it was a lead and whether it sold.

    Parameters
    ----------
    scores : DataFrame
        Customers (index) x products: the probabilities of the issue month (NaN = held then,
        not offerable).
    leads : DataFrame
        The lead lists issued then (``customer_id``, ``product``; ``sheet`` kept when present).
    held_later : DataFrame
        Customers (index) x products, 1 when held ``h`` months later; customers missing (no
        longer active) have not bought.
    bands : sequence of float
        Edges of the score bands (right-closed; the first band includes its left edge).

    Returns
    -------
    DataFrame
        ``customer_id, product, probability, band, lead, bought`` (and ``sheet``, NaN for
        non-leads), one row per offerable pair.

    Examples
    --------
    >>> s = pd.DataFrame({"fund": [0.3, 0.04, np.nan]}, index=["a", "b", "c"])
    >>> later = pd.DataFrame({"fund": [1, 0, 1]}, index=["a", "b", "c"])
    >>> lead_outcomes(s, pd.DataFrame({"customer_id": ["a"], "product": ["fund"]}), later)[
    ...     ["customer_id", "lead", "bought"]].values.tolist()
    [['a', True, True], ['b', False, False]]
    """
    long = scores.rename_axis("customer_id").reset_index()
    long = long.melt(id_vars="customer_id", var_name="product", value_name="probability")
    long = long.dropna(subset=["probability"]).reset_index(drop=True)
    long["probability"] = long["probability"].astype("float64")
    long["band"] = pd.cut(long["probability"], list(bands), include_lowest=True)
    cols = ["customer_id", "product"] + (["sheet"] if "sheet" in leads.columns else [])
    marked = leads[cols].drop_duplicates(["customer_id", "product"]).assign(lead=True)
    long = long.merge(marked, on=["customer_id", "product"], how="left", validate="one_to_one")
    long["lead"] = long["lead"].astype("boolean").fillna(False).astype(bool)
    later = held_later.rename_axis("customer_id").reset_index()
    later = later.melt(id_vars="customer_id", var_name="product", value_name="held")
    long = long.merge(later, on=["customer_id", "product"], how="left", validate="one_to_one")
    long["bought"] = long["held"].fillna(0).astype("float64") > 0
    return long.drop(columns="held")


def _rates(df: pd.DataFrame) -> pd.DataFrame:
    return df.groupby("band", observed=True)["bought"].agg(["size", "sum"])


def comparable_counts(outcomes: pd.DataFrame) -> pd.DataFrame:
    """Non-leads and their buyers per product and score band: all :func:`lead_conversion`
    reads of the non-lead rows of :func:`lead_outcomes`.

    Counts add up over customers, so the outcomes of a region can be built a part of its
    customers at a time, each part's lead rows kept and its non-leads counted here; the
    counts of the parts are summed with :func:`add_counts`.

    Returns
    -------
    DataFrame
        ``product, band, size, sum`` (``sum``: non-leads who bought), one row per product and
        band with non-leads.

    Examples
    --------
    >>> o = pd.DataFrame({"product": ["fund"] * 3, "band": pd.Categorical(["a", "a", "b"]),
    ...                   "lead": [False, False, True], "bought": [True, False, True]})
    >>> comparable_counts(o).values.tolist()
    [['fund', 'a', 2, 1]]
    """
    others = outcomes.loc[~outcomes["lead"].to_numpy(dtype=bool)]
    g = others.groupby(["product", "band"], observed=True, sort=False)["bought"]
    out = g.agg(["size", "sum"]).reset_index()
    out["size"] = out["size"].astype("int64")
    out["sum"] = out["sum"].astype("int64")
    return out


def add_counts(parts: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """The sum of :func:`comparable_counts` of parts of the customers (same columns).

    Examples
    --------
    >>> a = pd.DataFrame({"product": ["f"], "band": pd.Categorical(["x"]), "size": [2], "sum": [1]})
    >>> add_counts([a, a]).values.tolist()
    [['f', 'x', 4, 2]]
    """
    both = pd.concat(list(parts), ignore_index=True)
    g = both.groupby(["product", "band"], observed=True, sort=False)[["size", "sum"]].sum()
    return g.reset_index()


def _comparable_rates(counts: pd.DataFrame, product: object, like: pd.DataFrame) -> pd.DataFrame:
    """:func:`_rates` of a product's non-leads, from :func:`comparable_counts` (index: the band,
    with the categories of ``like``'s index)."""
    mine = counts.loc[counts["product"] == product]
    index = pd.CategoricalIndex(
        mine["band"].to_numpy(), categories=like.index.categories, name="band"
    )
    return pd.DataFrame(
        {"size": mine["size"].to_numpy(np.int64), "sum": mine["sum"].to_numpy(np.int64)},
        index=index,
    )


def lead_conversion(
    outcomes: pd.DataFrame, min_comparable: int = 1, comparable: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Per product: how the leads converted against comparable non-leads of the same score band.

    The comparable rate weights each band's non-lead conversion by the band's number of leads
    (what the leads would have bought at the rate of similar customers who were not called);
    the uplift is the matched leads' conversion minus that rate. Leads in a band with fewer
    than ``min_comparable`` non-leads are left out of the comparison (``matched_leads`` counts
    the others, ``matched_conversion`` is their conversion): lists pick the best-scored
    customers, so the top bands often hold leads only.

    Parameters
    ----------
    outcomes : DataFrame
        :func:`lead_outcomes`.
    min_comparable : int
        Fewest non-leads a band needs to be compared.
    comparable : DataFrame, optional
        :func:`comparable_counts` of the non-leads; when given, ``outcomes`` need only hold
        the lead rows (its non-lead rows, if any, are not read) and the result is the same as
        from the whole outcomes.

    Returns
    -------
    DataFrame
        ``product, leads, lead_buyers, lead_conversion, predicted_conversion (the leads' mean
        probability: what calibrated scores promised), matched_leads, matched_conversion,
        comparable_customers, comparable_conversion, conversion_uplift`` for every product with
        leads; rates are NaN where nothing could be compared.

    Examples
    --------
    >>> o = pd.DataFrame({"product": ["f"] * 6, "band": ["hi"] * 6,
    ...                   "lead": [True, True, False, False, False, False],
    ...                   "bought": [True, False, True, False, False, False]})
    >>> lead_conversion(o)[["leads", "lead_conversion", "comparable_conversion",
    ...                     "conversion_uplift"]].values.tolist()
    [[2.0, 0.5, 0.25, 0.25]]
    """
    counts = comparable  # the name is reused below for a product's comparable rate
    rows = []
    for product, g in outcomes.groupby("product", sort=False, observed=True):
        lead = g[g["lead"]]
        if lead.empty:
            continue
        mine = _rates(lead)
        if counts is None:
            others = _rates(g[~g["lead"]])
        else:
            others = _comparable_rates(counts, product, mine)
        both = mine.add_suffix("_lead").join(others.add_suffix("_other"), how="inner")
        both = both[both["size_other"] >= max(1, min_comparable)]
        matched = int(both["size_lead"].sum())
        if matched:
            comparable = float(
                (both["size_lead"] * both["sum_other"] / both["size_other"]).sum() / matched
            )
            matched_rate = float(both["sum_lead"].sum() / matched)
            uplift = matched_rate - comparable
        else:
            comparable = uplift = matched_rate = np.nan
        rows.append(
            {
                "product": product,
                "leads": len(lead),
                "lead_buyers": int(lead["bought"].sum()),
                "lead_conversion": float(lead["bought"].mean()),
                "predicted_conversion": float(lead["probability"].mean())
                if "probability" in lead.columns
                else np.nan,
                "matched_leads": matched,
                "matched_conversion": matched_rate,
                "comparable_customers": int(both["size_other"].sum()),
                "comparable_conversion": comparable,
                "conversion_uplift": uplift,
            }
        )
    return pd.DataFrame(rows, columns=_CONVERSION_COLUMNS)


def conversion_by_group(outcomes: pd.DataFrame, by: str = "sheet") -> pd.DataFrame:
    """Leads issued, leads converted and the conversion rate per lead list (or other group).

    Examples
    --------
    >>> o = pd.DataFrame({"sheet": ["M1", "M1", "M2", None], "lead": [True, True, True, False],
    ...                   "bought": [True, False, False, True]})
    >>> conversion_by_group(o).to_dict("list")
    {'sheet': ['M1', 'M2'], 'leads_issued': [2, 1], 'leads_converted': [1, 0], 'lead_conversion': [0.5, 0.0]}
    """
    lead = outcomes[outcomes["lead"]]
    g = lead.groupby(by, sort=True)["bought"].agg(leads_issued="size", leads_converted="sum")
    g["leads_converted"] = g["leads_converted"].astype("int64")
    g["lead_conversion"] = g["leads_converted"] / g["leads_issued"]
    return g.reset_index()
