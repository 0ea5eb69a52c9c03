"""Behaviour segments for display: the segment table, its metrics, the segments a chart may
draw and their traits against the region's average.

The segments of a tier add up to the tier's customers, which the tier table shows, so every
figure here follows the tier table's protection (:mod:`bankanalysis.report.disclosure`,
:func:`~bankanalysis.report.disclosure_segments.protect_segments`; docs/privacy.md).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from bankanalysis.report.disclosure_grid import cell_value
from bankanalysis.report.disclosure_segments import protect_segments, tier_count_status
from bankanalysis.report.format import Absent, format_number, is_missing, kpi_label
from bankanalysis.report.segmentation import SEGMENT_TRAITS, _formatted_table, label_tiers
from bankanalysis.report.tables import KpiTable
from bankanalysis.rules.disclosure import is_small
from bankanalysis.rules.kpis import metric_key
from bankanalysis.segmentation.behaviour import TierSegments

__all__ = [
    "NO_TRANSACTIONS_SEGMENTS",
    "segment_metrics",
    "segment_summary_table",
    "segment_trait_z",
    "shown_segments",
]

logger = logging.getLogger(__name__)


#: Said under the segment table when the extract has no transactions table.
NO_TRANSACTIONS_SEGMENTS = (
    "This extract has no transactions table: the segments rest on the products held, tenure "
    "and age only (no channel mix and no activity)."
)


def segment_summary_table(
    summary: pd.DataFrame,
    min_group_size: int,
    has_transactions: bool = True,
    tier_mix: pd.DataFrame | None = None,
) -> KpiTable:
    """:attr:`TierSegments.summary` for display: tier labels, small tiers withheld; without a
    transactions table a note says what the segments rest on.

    ``tier_mix`` is the protected tier comparison the tier table shows
    (:func:`~bankanalysis.report.disclosure.protect_tiers`): a tier whose customer count it
    withholds (``x``: dominance or secondary) is withheld here too. The count is the same
    figure, and printed here it gave back the small tier the tier table protects (the region's
    total minus the other tiers).
    """
    small = pd.Series(is_small(summary["customers"], min_group_size), index=summary.index)
    status = tier_count_status(tier_mix)
    customers = summary["customers"].astype("float64").mask(small).astype("object")
    for i, t in summary["tier"].astype(str).items():
        if not small[i] and status.get(t):
            customers[i] = cell_value(customers[i], status[t], min_group_size)
    shown = summary.assign(
        tier=label_tiers(summary["tier"]),
        customers=customers,
        k=summary["k"].fillna(1.0),
        criterion=summary["criterion"].map(
            lambda v: "kept as one group" if is_missing(v) else format_number(v, 3)
        ),
    )
    spec = [
        ("tier", "Tier", None),
        ("customers", kpi_label("customers"), "customers"),
        ("k", kpi_label("behaviour_segments"), "behaviour_segments"),
        ("criterion", "Silhouette of the chosen k", None),
        ("stability_ari", kpi_label("segment_stability"), "segment_stability"),
    ]
    return _formatted_table(
        shown,
        spec,
        currency="",
        min_group_size=min_group_size,
        withheld=small,
        note="" if has_transactions else NO_TRANSACTIONS_SEGMENTS,
    )


def segment_metrics(segs: TierSegments, min_customers: int) -> dict[str, Any]:
    """Segments and stability per tier, and for the region (total segments, mean stability).

    A tier kept as one group records one segment and no stability (with the reason).
    """
    unsplit = Absent(f"fewer than {min_customers} customers: kept as one group")
    out: dict[str, Any] = {}
    for row in segs.summary.itertuples(index=False):
        split = not is_missing(row.k)
        out[metric_key("behaviour_segments", tier=row.tier)] = int(row.k) if split else 1
        out[metric_key("segment_stability", tier=row.tier)] = (
            row.stability_ari if split else unsplit
        )
    out["behaviour_segments"] = int(segs.profiles.shape[0])
    stab = segs.summary["stability_ari"].dropna()
    out["segment_stability"] = (
        float(stab.mean()) if len(stab) else Absent("no tier large enough to split")
    )
    return out


def shown_segments(
    profiles: pd.DataFrame, min_group_size: int, tier_mix: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Segment profiles big enough to show, with a ``segment`` label ``"<Tier>: <name>"``.

    The segments of a tier add up to the tier's customers, which the tier table shows: with
    ``tier_mix`` (the protected tier comparison,
    :func:`~bankanalysis.report.disclosure.protect_tiers`) no segment of a tier whose count
    the tier table withholds is shown (their sizes would give the count back); and in every
    tier whose small segments are left out, the smallest shown ones are left out too until the
    segments left out hold 0 or at least ``min_group_size`` customers (the tier's count,
    printed by the segment table, minus the shown segments would give a small group back).
    """
    prof = profiles.assign(suppressed=protect_segments(profiles, min_group_size, tier_mix))
    prof = prof[~prof["suppressed"]]
    return prof.assign(segment=label_tiers(prof["tier"]) + ": " + prof["name"])


def segment_trait_z(
    prof: pd.DataFrame, features: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Segment averages of the traits and their distance from the region average.

    Returns
    -------
    (z, means)
        Both indexed by ``segment`` with the :data:`SEGMENT_TRAITS` present: ``z`` in
        population standard deviations of the region (NaN for traits without spread), and
        the segment means as text with 2 decimals (the heat map's annotations).
    """
    traits = [c for c in SEGMENT_TRAITS if c in prof.columns]
    means = prof.set_index("segment")[traits]
    z = (means - features[traits].mean()) / features[traits].std(ddof=0).replace(0, np.nan)
    return z, means.map(lambda v: format_number(v, 2))
