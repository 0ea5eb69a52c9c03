"""Account-manager scorecards: each manager's (or outlet's) book of customers at the data month.

Per group (``manager_id``, or ``outlet_id`` for the wealth-management centre or outlet view):
customers assigned by tier, the plan's account-manager KPIs of
:func:`bankanalysis.segmentation.managers.manager_kpis` (quality-and-above contact coverage,
VIP contact rate and service minutes; computed there, not here), contacts, product sales
(new holdings in the month, the definition of ``sales_total``), new customers, the book's AUM
and its growth, and the conversion of the leads issued ``h`` months ago
(:func:`bankanalysis.propensity.conversion.conversion_by_group`). Pure: frames in, frame out.
Manager rows are restricted (:mod:`bankanalysis.data.restricted`); reports show distributions.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from bankanalysis.rules.tiers import TIERS
from bankanalysis.segmentation.common import ratio
from bankanalysis.segmentation.managers import manager_kpis

__all__ = ["SCORECARD_KPIS", "new_holdings", "scorecards"]

logger = logging.getLogger(__name__)

#: Scorecard columns that are KPIs of the dictionary (:mod:`bankanalysis.rules.kpis`), in order.
SCORECARD_KPIS: tuple[str, ...] = (
    "customers",
    "contact_plan_coverage",
    "vip_contact_rate",
    "vip_service_minutes",
    "sales_total",
    "new_customers",
    "aum",
    "book_aum_growth",
    "lead_conversion_rate",
)


def new_holdings(now: pd.DataFrame, before: pd.DataFrame, products: Sequence[str]) -> pd.Series:
    """Products each customer holds now and did not hold at the previous month-end.

    The definition of ``sales_total``: a customer not active before (missing from ``before``)
    bought everything they hold.

    Parameters
    ----------
    now, before : DataFrame
        Customers as index, ``hold_<product>`` columns (0/1).
    products : sequence of str
        Products counted.

    Examples
    --------
    >>> now = pd.DataFrame({"hold_a": [1, 1, 1], "hold_b": [1, 0, 1]}, index=["x", "y", "z"])
    >>> before = pd.DataFrame({"hold_a": [1, 0], "hold_b": [0, 0]}, index=["x", "y"])
    >>> new_holdings(now, before, ["a", "b"]).tolist()
    [1, 1, 2]
    """
    cols = [f"hold_{p}" for p in products if f"hold_{p}" in now.columns]
    cur = now[cols].fillna(0).to_numpy(dtype=np.float64) > 0
    prev = before.reindex(index=now.index, columns=cols).fillna(0).to_numpy(dtype=np.float64) > 0
    return pd.Series((cur & ~prev).sum(axis=1).astype(np.int64), index=now.index)


def scorecards(
    book: pd.DataFrame,
    managers: pd.DataFrame | None,
    has_contacts: bool,
    by: str = "manager_id",
    conversion: pd.DataFrame | None = None,
    tiers: Sequence[str] = TIERS,
) -> pd.DataFrame:
    """One scorecard row per manager (or outlet) of a book of customers.

    Parameters
    ----------
    book : DataFrame
        One row per active customer at the data month: ``customer_id, tier, manager_id,
        outlet_id, contacts_1m, contact_minutes_1m, contact_minutes_3m`` (as
        :func:`~bankanalysis.segmentation.managers.manager_kpis` needs), ``aum``, ``aum_base``
        (the customer's AUM at the base month, 0 when not active then), ``new_holdings``
        (:func:`new_holdings`) and ``is_new`` (relationship started in the month). Customers
        without a manager are left out when ``by="manager_id"``.
    managers : DataFrame or None
        The managers table (``manager_id, outlet_id, full_time``), ``None`` when absent.
    has_contacts : bool
        Whether the contacts table exists (otherwise contact KPIs are NaN, reason in
        ``attrs["absent"]``).
    by : str
        ``"manager_id"`` or ``"outlet_id"``.
    conversion : DataFrame, optional
        :func:`~bankanalysis.propensity.conversion.conversion_by_group` keyed by ``by``
        (``leads_issued, leads_converted, lead_conversion``); the scorecard's
        ``lead_conversion_rate`` is NaN for a group without leads then.
    tiers : sequence of str
        Tier names, low to high (one ``customers_<tier>`` column each).

    Returns
    -------
    DataFrame
        Indexed by ``by`` (sorted): ``customers``, ``customers_<tier>``,
        ``quality_plus_customers``, ``vip_plus_customers``, ``contact_plan_coverage``,
        ``vip_contact_rate``, ``vip_service_minutes``, ``contacts``, ``contact_minutes_3m``,
        ``sales_total``, ``new_customers``, ``aum``, ``aum_base``, ``book_aum_growth`` (AUM now
        / the same customers' AUM at the base month - 1; NaN when that is 0),
        ``leads_issued``, ``leads_converted``, ``lead_conversion_rate``.
    """
    rows = book.dropna(subset=[by])
    g = rows.groupby(by, sort=True)
    out = pd.DataFrame({"customers": g.size().astype("int64")})
    counts = pd.crosstab(rows[by], rows["tier"]).reindex(columns=list(tiers), fill_value=0)
    for t in tiers:
        out[f"customers_{t}"] = counts[t].reindex(out.index, fill_value=0).astype("int64")
    kpis = manager_kpis(rows, managers, has_contacts, by=by).reindex(out.index)
    for c in ("quality_plus_customers", "vip_plus_customers"):
        out[c] = kpis[c].fillna(0).astype("int64")
    for c in ("contact_plan_coverage", "vip_contact_rate", "vip_service_minutes"):
        out[c] = kpis[c]
    if has_contacts:
        out["contacts"] = g["contacts_1m"].sum().astype("float64")
        out["contact_minutes_3m"] = g["contact_minutes_3m"].sum().astype("float64")
    else:
        out["contacts"] = np.nan
        out["contact_minutes_3m"] = np.nan
    out["sales_total"] = g["new_holdings"].sum().astype("int64")
    out["new_customers"] = g["is_new"].sum().astype("int64")
    out["aum"] = g["aum"].sum().astype("float64")
    out["aum_base"] = g["aum_base"].sum().astype("float64")
    out["book_aum_growth"] = ratio(out["aum"] - out["aum_base"], out["aum_base"])
    conv = conversion.set_index(by) if conversion is not None else pd.DataFrame(index=out.index)
    for c in ("leads_issued", "leads_converted"):
        col = conv[c] if c in conv.columns else pd.Series(dtype="float64")
        out[c] = col.reindex(out.index).fillna(0).astype("int64")
    out["lead_conversion_rate"] = ratio(out["leads_converted"], out["leads_issued"])
    out.index.name = by
    out.attrs["absent"] = dict(kpis.attrs.get("absent", {}))
    return out
