"""What every region withholds in its tier table, computed once per run for every 01 report.

The echelon's and bank's bars of a region's tier-mix chart are withheld where any region of
the scope withholds that tier in its own report
(:func:`~bankanalysis.report.disclosure.protect_scope_tiers`). Finding out runs the tier
table's protection of every region of the bank: with 120 regions that was about 15 s in each
region's report, the same answer computed 120 times. :func:`load_region_tier_status` computes
it once per data, month, parameters and package source and the other reports read it back.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import pandas as pd

from bankanalysis.propensity.cache import cached_for_data
from bankanalysis.report.disclosure import region_tier_status

__all__ = ["load_region_tier_status"]

logger = logging.getLogger(__name__)


def load_region_tier_status(
    ctx: Any,
    comp: pd.DataFrame,
    tiers_all: pd.DataFrame,
    tier_thresholds: Sequence[float],
    tier_months: int,
    top_tier: str | None,
    dominance_p: float,
    protection_level: float,
) -> dict[str, dict[str, set[str]]]:
    """:func:`~bankanalysis.report.disclosure.region_tier_status` of the bank, cached per run.

    Parameters
    ----------
    ctx : ReportContext
        The report's context (its data, month and ``min_group_size``).
    comp : DataFrame
        The report's tier comparison (scopes ``region``, ``echelon``, ``bank``): only the
        tiers of its region rows are read (they are part of the key).
    tiers_all : DataFrame
        The whole bank's tiers at ``ctx.month``, as
        :func:`~bankanalysis.report.bank_tiers.load_bank_tiers` gives them for
        ``tier_thresholds`` and ``tier_months`` (the key names those parameters, not the
        frame: pass no other frame).
    tier_thresholds, tier_months
        The tier parameters ``tiers_all`` was computed with.
    top_tier, dominance_p, protection_level
        As :func:`~bankanalysis.report.disclosure.protect_tiers`.

    Returns
    -------
    dict
        ``{region_id: {"count_protection": tiers, "money_protection": tiers}}``: the tiers
        each region withholds; stored under ``<processed>/_models/region_tier_status`` by
        :func:`~bankanalysis.propensity.cache.cached_for_data` (without a data fingerprint it
        is computed, not stored).
    """
    region_rows = comp.loc[comp["scope"] == "region"]
    params = {
        "what": "region tier status",
        "month": ctx.month,
        "tier_thresholds": [float(t) for t in tier_thresholds],
        "tier_months": int(tier_months),
        "tiers": sorted(str(t) for t in region_rows["tier"]),
        "top_tier": None if top_tier is None else str(top_tier),
        "k": int(ctx.min_group_size),
        "dominance_p": float(dominance_p),
        "protection_level": float(protection_level),
    }
    k = int(ctx.min_group_size)
    args = (region_rows, tiers_all, top_tier, k, dominance_p, protection_level)
    status, reused = cached_for_data(
        ctx.bank, "region_tier_status", params, lambda: region_tier_status(*args)
    )
    logger.debug("region tier status %s", "read back" if reused else "computed")
    return status
