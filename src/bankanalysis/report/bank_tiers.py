"""The whole bank's tiers that every region's ``01_customer_segmentation`` needs, computed once.

:func:`load_bank_tiers` is re-exported by :mod:`bankanalysis.report.segmentation` (``rs``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from bankanalysis.exceptions import SegmentationError
from bankanalysis.propensity.cache import cached_for_data
from bankanalysis.rules.tiers import customer_tiers
from bankanalysis.segmentation.migration import migration_window

__all__ = ["load_bank_tiers"]


def load_bank_tiers(
    ctx: Any,
    tier_thresholds: Sequence[float],
    tier_months: int,
    migration_months: int,
) -> tuple[str, pd.DataFrame, pd.DataFrame]:
    """Tiers of every customer of the bank at the report's month and at the migration's base.

    ``ctx`` is the report's :class:`~bankanalysis.report.context.ReportContext` (not imported
    here: :mod:`bankanalysis.report.plots`, which the context imports, imports this module).

    Reads only the months of ``customer_month`` both tier windows need
    (:func:`~bankanalysis.segmentation.migration.migration_window`) and only the columns the
    tiers need (AUM and the home outlet, region and echelon).

    Every region's report needs this same bank-wide table, so it is computed once per data,
    month, parameters and package source: the first report stores it under
    ``<processed>/_models/bank_tiers`` (the locked cache of
    :mod:`bankanalysis.propensity.cache`, like
    :func:`~bankanalysis.report.benchmarking.load_outlet_kpis`) and the others read it back
    instead of re-reading the bank's ``customer_month``. Without a data fingerprint nothing is
    cached.

    Returns
    -------
    (t0, tiers_now, tiers_base)
        The base month of the migration and :func:`~bankanalysis.rules.tiers.customer_tiers`
        of the whole bank at the report's month and at ``t0``.
    """
    params = {
        "what": "bank tiers",
        "month": ctx.month,
        "tier_thresholds": [float(t) for t in tier_thresholds],
        "tier_months": int(tier_months),
        "migration_months": int(migration_months),
    }
    args = (ctx, tier_thresholds, tier_months, migration_months)
    return cached_for_data(ctx.bank, "bank_tiers", params, lambda: _bank_tiers(*args))[0]


def _bank_tiers(
    ctx: Any,
    tier_thresholds: Sequence[float],
    tier_months: int,
    migration_months: int,
    chunk_customers: int | None = None,
) -> tuple[str, pd.DataFrame, pd.DataFrame]:
    """:func:`load_bank_tiers` computed from ``customer_month`` (no cache).

    Reads one part of the customers at a time
    (:meth:`~bankanalysis.data.load.ProcessedBank.customer_ranges`, ``chunk_customers`` each,
    default :func:`~bankanalysis.data.load.chunk_customers`) and keeps only its tiers: a
    customer's rows are all in one part, so its tier is that of the whole read, and the parts
    follow the customer ids' order, so the tiers put together are the frames of one read of
    every customer (sorted by ``customer_id``, index from 0).
    """
    bank, month = ctx.bank, ctx.month
    t0, window = migration_window(bank.months, month, tier_months, migration_months)
    cols = ["outlet_id", "region_id", "echelon", "aum"]
    now, then = [], []
    for id_range in bank.customer_ranges(chunk_customers):
        cm = bank.customer_month(months=window, columns=cols, id_range=id_range)
        now.append(_tiers_of_part(cm, month, tier_thresholds, tier_months))
        then.append(_tiers_of_part(cm, t0, tier_thresholds, tier_months))
        del cm
    return t0, _together(now), _together(then)


def _tiers_of_part(
    cm: pd.DataFrame, month: str, tier_thresholds: Sequence[float], tier_months: int
) -> pd.DataFrame | None:
    """:func:`customer_tiers` of some customers' rows; ``None`` when none is active at ``month``."""
    if not (cm["month"] == month).any():
        return None
    return customer_tiers(cm, month, tier_thresholds, tier_months)


def _together(parts: list[pd.DataFrame | None]) -> pd.DataFrame:
    """The tiers of the parts, one after the other (index from 0).

    Raises
    ------
    SegmentationError
        When no customer is active at the month (as :func:`customer_tiers` of the whole read).
    """
    got = [t for t in parts if t is not None]
    if not got:
        raise SegmentationError(
            "no customer is active at the month of the tiers in customer_month; "
            "choose a data_month inside the data"
        )
    return got[0] if len(got) == 1 else pd.concat(got, ignore_index=True)
