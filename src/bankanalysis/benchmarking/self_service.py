"""Self-service and channel KPIs: sites per outlet, device operating rate, replacement rates.

The plan's self-service KPIs, each defined once (``bankanalysis.rules.kpis`` points here):

- ``self_service_per_outlet``: distinct self-service sites / physical outlets open at the
  month-end (plan target 3);
- ``device_operating_rate``: device operating hours / available hours in the month;
- ``outlet_replacement_rate``: transactions at self-service devices / (self-service + counter)
  transactions in the month;
- ``accounting_replacement_rate``: accounting transactions (deposit, withdrawal, transfer,
  payment) outside the counter / all accounting transactions in the month.

A rate without a base (no devices, no transactions) is NaN: unknown, never 0.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from bankanalysis.benchmarking._frame import require_columns, safe_div

__all__ = [
    "RATE_COLUMNS",
    "accounting_replacement_rate",
    "add_channel_rates",
    "device_operating_rate",
    "outlet_replacement_rate",
    "replacement_rates",
    "self_service_by_region",
]

logger = logging.getLogger(__name__)

#: The additive columns each rate is computed from (numerator, denominator parts).
RATE_COLUMNS: dict[str, tuple[str, ...]] = {
    "device_operating_rate": ("device_operating_hours", "device_available_hours"),
    "outlet_replacement_rate": ("txn_self_service_n", "txn_counter_n"),
    "accounting_replacement_rate": ("txn_accounting_offcounter_n", "txn_accounting_n"),
}


def device_operating_rate(df: pd.DataFrame) -> np.ndarray:
    """Device operating hours / available hours (NaN without available hours).

    Examples
    --------
    >>> df = pd.DataFrame({"device_operating_hours": [80.0, 0.0],
    ...                    "device_available_hours": [100.0, 0.0]})
    >>> device_operating_rate(df).tolist()
    [0.8, nan]
    """
    require_columns(df, RATE_COLUMNS["device_operating_rate"], "device hours")
    return safe_div(df["device_operating_hours"], df["device_available_hours"])


def outlet_replacement_rate(df: pd.DataFrame) -> np.ndarray:
    """Self-service-device transactions / (self-service + counter) transactions.

    Online, mobile and phone transactions are in neither part: the rate measures how much of
    the outlet's own business moved from the counter to its devices.

    Examples
    --------
    >>> df = pd.DataFrame({"txn_self_service_n": [3, 0], "txn_counter_n": [1, 0]})
    >>> outlet_replacement_rate(df).tolist()
    [0.75, nan]
    """
    require_columns(df, RATE_COLUMNS["outlet_replacement_rate"], "transactions by channel")
    self_service = df["txn_self_service_n"].astype(float)
    return safe_div(self_service, self_service + df["txn_counter_n"].astype(float))


def accounting_replacement_rate(df: pd.DataFrame) -> np.ndarray:
    """Accounting transactions outside the counter / all accounting transactions.

    Accounting transactions are deposits, withdrawals, transfers and payments
    (``txn_accounting_n``); ``txn_accounting_offcounter_n`` counts those made through any
    channel but the counter.

    Examples
    --------
    >>> df = pd.DataFrame({"txn_accounting_offcounter_n": [6, 0], "txn_accounting_n": [8, 0]})
    >>> accounting_replacement_rate(df).tolist()
    [0.75, nan]
    """
    require_columns(df, RATE_COLUMNS["accounting_replacement_rate"], "accounting transactions")
    return safe_div(df["txn_accounting_offcounter_n"], df["txn_accounting_n"])


_RATES = {
    "device_operating_rate": device_operating_rate,
    "outlet_replacement_rate": outlet_replacement_rate,
    "accounting_replacement_rate": accounting_replacement_rate,
}


def add_channel_rates(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` with every rate of :data:`RATE_COLUMNS` whose columns are present.

    Rates whose columns are absent (no device data, no per-kind transaction counts) are not
    added, so a caller can tell "not measurable" (no column) from "no base" (NaN).
    """
    out = df.copy()
    for kpi, cols in RATE_COLUMNS.items():
        if all(c in out.columns for c in cols):
            out[kpi] = _RATES[kpi](out)
    return out


def replacement_rates(kpis: pd.DataFrame, by: str | Sequence[str] = "region_id") -> pd.DataFrame:
    """Both replacement rates per month and group, from summed transaction counts.

    Parameters
    ----------
    kpis : DataFrame
        Outlet rows (``bankanalysis.benchmarking.kpis.outlet_kpis``) with ``txn_self_service_n``
        and ``txn_counter_n`` and, when the data has them, the accounting counts.
    by : str or sequence of str
        Grouping besides the month (``"region_id"`` or ``"echelon"``).

    Returns
    -------
    DataFrame
        ``month, <by>``, the summed counts, ``outlet_replacement_rate`` and (with the
        accounting counts) ``accounting_replacement_rate``.
    """
    by = [by] if isinstance(by, str) else list(by)
    require_columns(
        kpis, ["month", *by, *RATE_COLUMNS["outlet_replacement_rate"]], "outlet transactions"
    )
    counts = [
        c
        for c in (
            *RATE_COLUMNS["outlet_replacement_rate"],
            *RATE_COLUMNS["accounting_replacement_rate"],
        )
        if c in kpis.columns
    ]
    out = kpis.groupby(["month", *by], observed=True, sort=True)[counts].sum().reset_index()
    rates = add_channel_rates(out)
    return rates.drop(columns=["device_operating_rate"], errors="ignore")


def self_service_by_region(
    region_month: pd.DataFrame, target_ratio: float = 3.0, has_devices: bool = True
) -> pd.DataFrame:
    """Self-service banks (distinct device sites) per physical outlet, by region and month.

    Parameters
    ----------
    region_month : DataFrame
        ``region_month.parquet``: ``month, region_id, echelon, outlets, self_service_sites,
        offsite_sites``.
    target_ratio : float
        The plan's target (3 self-service banks per outlet).
    has_devices : bool
        Whether the bank's extract has a devices table. Without it the site counts are not
        known (prepare writes 0): ``self_service_per_outlet`` and ``sites_missing`` are NaN,
        never "0 sites" or "N more sites needed".

    Returns
    -------
    DataFrame
        ``month, region_id, echelon, outlets, self_service_sites, offsite_sites,
        self_service_per_outlet, target_ratio, sites_missing`` (sites still needed to reach
        the target; 0 when met; NaN when unknown).

    Examples
    --------
    >>> rm = pd.DataFrame({"month": ["2025-03"], "region_id": ["R1"], "outlets": [4],
    ...                    "self_service_sites": [10]})
    >>> self_service_by_region(rm)[["self_service_per_outlet", "sites_missing"]].iloc[0].tolist()
    [2.5, 2.0]
    """
    require_columns(region_month, ["month", "region_id", "outlets"], "region_month")
    cols = [
        c
        for c in ("month", "region_id", "echelon", "outlets", "self_service_sites", "offsite_sites")
        if c in region_month
    ]
    out = region_month[cols].copy()
    if not has_devices or "self_service_sites" not in out:
        logger.info("no device data: self-service sites per outlet are unknown")
        out["self_service_sites"] = np.nan
    sites = out["self_service_sites"].astype(float)
    out["self_service_per_outlet"] = safe_div(sites, out["outlets"])
    out["target_ratio"] = float(target_ratio)
    out["sites_missing"] = np.maximum(np.ceil(target_ratio * out["outlets"] - sites), 0.0)
    return out.sort_values(["month", "region_id"], kind="stable").reset_index(drop=True)
