"""The path to the plan's self-service target (3 self-service banks per physical outlet).

Sites per outlet come from :func:`bankanalysis.benchmarking.self_service.self_service_by_region`
(the one definition), per region and month; the bank's ratio is its sites over its outlets and
the sites it still needs are the sum of its regions' shortfalls (a region above target does not
lend sites to another). The recent install pace is the number of new sites (a site's first
device installed, ``devices.installed``) in the last ``window_months`` months, per year; the
installs needed per year spread the shortfall over the years left to the plan date.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from bankanalysis.benchmarking.self_service import self_service_by_region
from bankanalysis.planning.periods import BANK_ID, level_values
from bankanalysis.rules.months import month_end, months_between, shift_month

__all__ = ["install_pace", "operating_rate_trend", "self_service_path", "self_service_trend"]

logger = logging.getLogger(__name__)


def self_service_trend(
    region_month: pd.DataFrame, target: float = 3.0, has_devices: bool = True
) -> pd.DataFrame:
    """Sites per outlet per region and month, and the bank's (``region_id`` ``"bank"``).

    Returns
    -------
    DataFrame
        :func:`~bankanalysis.benchmarking.self_service.self_service_by_region` rows plus one
        ``"bank"`` row per month (its ``sites_missing`` is the sum of its regions').
    """
    regions = self_service_by_region(region_month, target, has_devices)
    summed = region_month.groupby("month", sort=True)[["outlets", "self_service_sites"]].sum()
    bank = self_service_by_region(
        summed.reset_index().assign(region_id=BANK_ID), target, has_devices
    )
    bank["sites_missing"] = (
        regions.groupby("month", sort=True)["sites_missing"]
        .sum(min_count=1)
        .reindex(bank["month"])
        .to_numpy()
    )
    out = pd.concat([regions, bank], ignore_index=True)
    return out.sort_values(["month", "region_id"], kind="stable").reset_index(drop=True)


def install_pace(devices: pd.DataFrame | None, month: str, window_months: int = 12) -> pd.Series:
    """New self-service sites per year per region (and ``"bank"``), over the last
    ``window_months`` months to the end of ``month``.

    Returns
    -------
    Series
        Sites per year by ``region_id``; empty without device data.
    """
    if devices is None or devices.empty:
        return pd.Series(dtype="float64", name="install_pace")
    first = (
        devices.groupby(["region_id", "site_id"], observed=True)["installed"].min().reset_index()
    )
    end = month_end(month)
    start = month_end(shift_month(month, -window_months))
    new = first.loc[(first["installed"] > start) & (first["installed"] <= end)]
    per_region = new.groupby("region_id", observed=True).size()
    regions = pd.Index(sorted(first["region_id"].astype(str).unique()))
    out = per_region.reindex(regions, fill_value=0).astype("float64") * 12.0 / window_months
    out.loc[BANK_ID] = float(len(new)) * 12.0 / window_months
    return out.rename("install_pace")


def self_service_path(
    trend: pd.DataFrame,
    devices: pd.DataFrame | None,
    month: str,
    plan_end: str,
    target: float = 3.0,
    window_months: int = 12,
) -> pd.DataFrame:
    """Where each region and the bank stand at ``month`` on the way to ``target`` by
    ``plan_end``.

    Returns
    -------
    DataFrame
        One row per region and ``"bank"``: ``outlets, self_service_sites,
        self_service_per_outlet, sites_missing, at_target, years_left`` (to the end of
        ``plan_end``), ``installs_needed_per_year`` (sites missing / years left),
        ``install_pace`` (new sites per year recently), ``on_pace`` (pace >= needed; ``None``
        when unknown), ``projected_per_outlet`` (sites per outlet at the plan date at the recent
        pace, outlets unchanged) and ``reason`` (why the path is unknown, else empty).
    """
    now = trend.loc[trend["month"] == month].copy()
    pace = install_pace(devices, month, window_months)
    years_left = months_between(month, plan_end) / 12.0
    now["at_target"] = now["sites_missing"] == 0
    now["years_left"] = years_left
    now["install_pace"] = now["region_id"].map(pace).astype("float64")
    if years_left > 0:
        now["installs_needed_per_year"] = now["sites_missing"] / years_left
    else:
        now["installs_needed_per_year"] = np.nan
    now["on_pace"] = [
        None if np.isnan(p) or np.isnan(n) else bool(p >= n)
        for p, n in zip(now["install_pace"], now["installs_needed_per_year"], strict=True)
    ]
    now["projected_per_outlet"] = (
        now["self_service_sites"] + now["install_pace"] * max(years_left, 0.0)
    ) / now["outlets"].where(now["outlets"] > 0)
    reason = ""
    if now["self_service_per_outlet"].isna().all():
        reason = "no device data in this extract"
    elif years_left <= 0:
        reason = f"the plan date {plan_end} is not after {month}"
    now["reason"] = reason
    cols = [
        "region_id", "outlets", "self_service_sites", "self_service_per_outlet", "sites_missing",
        "at_target", "years_left", "installs_needed_per_year", "install_pace", "on_pace",
        "projected_per_outlet", "reason",
    ]  # fmt: skip
    return now[cols].reset_index(drop=True)


def operating_rate_trend(outlet_kpis: pd.DataFrame, level: str = "region") -> pd.DataFrame:
    """The device operating rate per month at ``level`` (from summed hours).

    Returns
    -------
    DataFrame
        ``month, level, id, device_operating_rate`` (NaN where no device was available).
    """
    values = level_values(outlet_kpis, level)
    if "device_operating_rate" not in values.columns:
        values["device_operating_rate"] = np.nan
    return values[["month", "level", "id", "device_operating_rate"]]
