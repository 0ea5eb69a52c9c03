"""Account managers: coverage of quality-and-above customers, adequacy, contacts, VIP service.

The plan's account-manager KPIs, one definition each (:mod:`bankanalysis.rules.kpis`), at any
level through a grouping column: :func:`manager_kpis`. Pure: customer rows with tiers and the
managers table in, a frame out.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from bankanalysis.frames import ids_in
from bankanalysis.rules.tiers import tier_at_least
from bankanalysis.segmentation.common import group_sums, ratio
from bankanalysis.segmentation.common import require_columns as _require

__all__ = ["MANAGER_KPIS", "manager_kpis", "region_managers"]

logger = logging.getLogger(__name__)

#: KPI ids computed by :func:`manager_kpis`, in display order.
MANAGER_KPIS: tuple[str, ...] = (
    "contact_plan_coverage",
    "manager_coverage",
    "manager_adequacy",
    "vip_service_duration_ratio",
    "vip_contact_rate",
    "vip_service_minutes",
)

_NO_CONTACTS = "no contacts table in the data"
_NO_MANAGERS = "no managers table in the data"


def _managers_by_group(tiers: pd.DataFrame, managers: pd.DataFrame, by: str | None) -> pd.Series:
    """Full-time managers per group: managers of the outlets the customers belong to."""
    m = managers
    if "outlet_id" in tiers.columns and "outlet_id" in m.columns:
        m = m.loc[m["outlet_id"].isin(tiers["outlet_id"].unique())]
    ft = m.loc[m["full_time"].astype(bool)]
    if by is None:
        return pd.Series([float(len(ft))], index=["all"])
    if by in ft.columns:
        key = ft[by]
    else:
        _require(tiers, ("outlet_id",), f"manager_kpis(by={by!r})")
        outlet_group = tiers.drop_duplicates("outlet_id").set_index("outlet_id")[by]
        key = ft["outlet_id"].map(outlet_group)
    return ft.groupby(key.to_numpy(), sort=True).size().astype("float64")


def manager_kpis(
    tiers: pd.DataFrame,
    managers: pd.DataFrame | None,
    has_contacts: bool,
    by: str | None = None,
) -> pd.DataFrame:
    """The plan's account-manager KPIs at one month-end, for the whole frame or per group.

    Definitions ("quality-and-above" and "VIP-and-above" by :func:`~bankanalysis.rules.tiers.
    tier_at_least` on the window-average tiers):

    - ``contact_plan_coverage``: quality-and-above customers contacted by an account manager in
      the month (``contacts_1m > 0``) / quality-and-above customers;
    - ``manager_coverage``: quality-and-above customers assigned to a full-time account manager
      / quality-and-above customers;
    - ``manager_adequacy``: quality-and-above customers / full-time account managers of the
      group's outlets (lower = better staffed);
    - ``vip_service_duration_ratio``: contact minutes with VIP-and-above customers in the month
      / all contact minutes with the group's customers in the month (proxy: account-manager
      contacts only);
    - ``vip_contact_rate``: VIP-and-above customers with contact minutes in the last three
      months / VIP-and-above customers;
    - ``vip_service_minutes``: contact minutes with VIP-and-above customers in the last three
      months / VIP-and-above customers.

    Parameters
    ----------
    tiers : DataFrame
        :func:`~bankanalysis.rules.tiers.customer_tiers` output with ``tier``, ``manager_id``
        (and ``outlet_id`` to match managers to outlets), ``contacts_1m``,
        ``contact_minutes_1m``, ``contact_minutes_3m`` (when the contacts table exists) and the
        ``by`` column.
    managers : DataFrame or None
        ``manager_id, outlet_id, full_time`` (``None`` when the optional table is absent). Only
        managers of the outlets in ``tiers`` count.
    has_contacts : bool
        Whether the optional contacts table was present (``bank.has("contacts")``).
    by : str, optional
        Grouping column (``outlet_id``, ``region_id``, ``tier``...); ``None``: the whole frame
        as one row indexed ``"all"``.

    Returns
    -------
    DataFrame
        Indexed by the groups (sorted): the KPI columns of :data:`MANAGER_KPIS` (NaN where a
        denominator is 0 or a table is absent) and the denominators ``quality_plus_customers``,
        ``vip_plus_customers``, ``full_time_managers`` (for the small-group rule).
        ``attrs["absent"]`` maps each KPI that cannot be computed at all to its reason.
    """
    _require(tiers, ("tier", "manager_id"), "manager_kpis")
    if has_contacts:
        _require(tiers, ("contacts_1m", "contact_minutes_1m", "contact_minutes_3m"), "manager_kpis")
    qplus = tier_at_least(tiers["tier"], "quality")
    vplus = tier_at_least(tiers["tier"], "vip")
    zeros = np.zeros(len(tiers))
    if managers is not None:
        ft_ids = managers.loc[managers["full_time"].astype(bool), "manager_id"].astype(str)
        assigned_ft = ids_in(tiers["manager_id"].astype(str), ft_ids)
    else:
        assigned_ft = np.zeros(len(tiers), bool)
    if has_contacts:
        contacted = tiers["contacts_1m"].to_numpy("float64") > 0
        min_1m = tiers["contact_minutes_1m"].to_numpy("float64")
        min_3m = tiers["contact_minutes_3m"].to_numpy("float64")
    else:
        contacted, min_1m, min_3m = zeros.astype(bool), zeros, zeros
    f = pd.DataFrame(
        {
            "qplus": qplus.astype("float64"),
            "vplus": vplus.astype("float64"),
            "qplus_contacted": (qplus & contacted).astype("float64"),
            "qplus_ft": (qplus & assigned_ft).astype("float64"),
            "vplus_contacted_3m": (vplus & (min_3m > 0)).astype("float64"),
            "minutes_1m": min_1m,
            "vplus_minutes_1m": np.where(vplus, min_1m, 0.0),
            "vplus_minutes_3m": np.where(vplus, min_3m, 0.0),
        }
    )
    g = group_sums(f, tiers, by)
    out = pd.DataFrame(index=g.index)
    out["contact_plan_coverage"] = ratio(g["qplus_contacted"], g["qplus"])
    out["manager_coverage"] = ratio(g["qplus_ft"], g["qplus"])
    if managers is not None:
        ft = _managers_by_group(tiers, managers, by).reindex(g.index).fillna(0.0)
    else:
        ft = pd.Series(np.nan, index=g.index)
    out["manager_adequacy"] = ratio(g["qplus"], ft)
    out["vip_service_duration_ratio"] = ratio(g["vplus_minutes_1m"], g["minutes_1m"])
    out["vip_contact_rate"] = ratio(g["vplus_contacted_3m"], g["vplus"])
    out["vip_service_minutes"] = ratio(g["vplus_minutes_3m"], g["vplus"])
    out["quality_plus_customers"] = g["qplus"].astype("int64")
    out["vip_plus_customers"] = g["vplus"].astype("int64")
    out["full_time_managers"] = ft
    absent: dict[str, str] = {}
    if not has_contacts:
        for k in (
            "contact_plan_coverage",
            "vip_service_duration_ratio",
            "vip_contact_rate",
            "vip_service_minutes",
        ):
            out[k] = np.nan
            absent[k] = _NO_CONTACTS
    if managers is None:
        for k in ("manager_coverage", "manager_adequacy"):
            out[k] = np.nan
            absent[k] = _NO_MANAGERS
    out.index.name = by
    out.attrs["absent"] = absent
    return out


def region_managers(managers: pd.DataFrame | None, tiers: pd.DataFrame) -> pd.DataFrame | None:
    """Managers of the outlets of ``tiers`` (``None`` when the bank has no managers table)."""
    if managers is None:
        return None
    return managers[managers["outlet_id"].isin(tiers["outlet_id"].unique())]
