"""Behaviour segments under the tier table's protection: which segments a chart or sentence
must leave out so that a tier count the tier table withholds is not given back
(docs/privacy.md). Part of the one disclosure step (:mod:`bankanalysis.report.disclosure`).
"""

from __future__ import annotations

import pandas as pd

from bankanalysis.report.disclosure import COUNT_STATUS
from bankanalysis.rules.disclosure import is_small

__all__ = ["protect_segments", "tier_count_status"]


def tier_count_status(tier_mix: pd.DataFrame | None) -> dict[str, str]:
    """``{tier: status}`` of the region's customer counts in a protected tier comparison
    (:func:`~bankanalysis.report.disclosure.protect_tiers`; ``""`` shown, ``"primary"``, ``"dominance"``, ``"secondary"``
    withheld); ``{}`` without one.

    Examples
    --------
    >>> comp = pd.DataFrame({"scope": ["region", "region", "bank"], "tier": ["mass", "vip", "vip"],
    ...                      COUNT_STATUS: ["", "secondary", ""]})
    >>> tier_count_status(comp)
    {'mass': '', 'vip': 'secondary'}
    """
    if tier_mix is None or COUNT_STATUS not in tier_mix.columns:
        return {}
    mine = tier_mix[tier_mix["scope"] == "region"]
    return dict(zip(mine["tier"].astype(str), mine[COUNT_STATUS].astype(str), strict=True))


def protect_segments(
    profiles: pd.DataFrame, k: int, tier_mix: pd.DataFrame | None = None
) -> pd.Series:
    """Which behaviour segments (``tier``, ``name``, ``customers``) a chart or sentence must
    leave out: True for a segment of 1 to ``k - 1`` customers, every segment of a tier whose
    count the tier table withholds (``tier_mix``, :func:`~bankanalysis.report.disclosure.protect_tiers`), and, in every tier,
    the smallest other segments until the left-out ones hold 0 or at least ``k`` customers.

    A tier's segments add up to its customer count, which the tier and segment tables print:
    the bars of a withheld tier give its count back, and a tier with one small segment left out
    gives that segment back (170 printed, 165 drawn: 5).

    Examples
    --------
    >>> prof = pd.DataFrame({"tier": ["mass", "mass", "vip"], "name": ["a", "b", "c"],
    ...                      "customers": [165, 5, 40]})
    >>> protect_segments(prof, 10).tolist()
    [True, True, False]
    """
    status = tier_count_status(tier_mix)
    out = pd.Series(is_small(profiles["customers"], k), index=profiles.index, dtype=bool)
    out |= profiles["tier"].astype(str).map(lambda t: bool(status.get(t))).astype(bool)
    for _, rows in profiles.groupby(profiles["tier"].astype(str), sort=False):
        left_out = float(rows.loc[out[rows.index], "customers"].sum())
        shown = rows.loc[~out[rows.index]].sort_values(["customers", "name"])
        for i, n in shown["customers"].items():
            if left_out == 0 or left_out >= k:
                break
            out[i] = True
            left_out += float(n)
    return out
