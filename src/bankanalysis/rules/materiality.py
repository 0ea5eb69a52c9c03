"""The one materiality rule: when a difference between two figures is too small to matter.

Rankings, league tables, peer ranks and generated findings compare figures; a difference smaller
than the ``materiality`` parameter is a tie, not a ranking. Shares compare in absolute terms
(``materiality = 0.005`` is 0.5 percentage points); every other unit compares relative to the
larger of the two magnitudes (``0.005`` is 0.5 %). Ranks, percentiles and findings all call this
module, so "tied" means the same thing everywhere.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from bankanalysis.rules.kpis import KPI, get

__all__ = [
    "DEFAULT_MATERIALITY",
    "is_material",
    "material_values",
    "materiality_note",
    "tie_threshold",
]

logger = logging.getLogger(__name__)

#: Default threshold (the ``materiality`` parameter's default in ``params.py``).
DEFAULT_MATERIALITY = 0.005


def _unit(kpi: str | KPI | None) -> str:
    if kpi is None:
        return "share"
    return (kpi if isinstance(kpi, KPI) else get(kpi)).unit


def tie_threshold(kpi: str | KPI | None, a: float, b: float, materiality: float) -> float:
    """The smallest difference between ``a`` and ``b`` that counts, in the KPI's own unit.

    Examples
    --------
    >>> tie_threshold("product_coverage", 0.3, 0.31, 0.005)
    0.005
    >>> tie_threshold("aum_per_customer", 90_000.0, 100_000.0, 0.005)
    500.0
    """
    if materiality < 0:
        raise ValueError(f"materiality must be >= 0, got {materiality}")
    if _unit(kpi) == "share":
        return float(materiality)
    return float(materiality) * max(abs(float(a)), abs(float(b)))


def is_material(kpi: str | KPI | None, a: float, b: float, materiality: float) -> bool:
    """True when ``a`` and ``b`` differ by at least the materiality threshold.

    A tiny tolerance (1e-12) keeps a difference of exactly the threshold material despite
    floating-point noise.

    Examples
    --------
    >>> is_material("customer_growth", 0.071, 0.070, 0.005)
    False
    >>> is_material("customer_growth", 0.080, 0.070, 0.005)
    True
    """
    return abs(float(a) - float(b)) >= tie_threshold(kpi, a, b, materiality) - 1e-12


def material_values(
    values: pd.Series,
    kpi: str | KPI | None,
    materiality: float,
    higher_is_better: bool = True,
) -> pd.Series:
    """``values`` with every figure replaced by the best figure it is tied with.

    Going from the best figure down, each figure joins the tie group of the group's first
    (best) member when it is not materially different from it (:func:`is_material`);
    otherwise it starts a new group. Ranking the result with any pandas method makes tied
    figures share their rank; groups are anchored at their best member, so ties do not chain
    (0.080, 0.076, 0.072 with a 0.005 threshold give two groups, not one).

    Parameters
    ----------
    values : Series
        Figures of one comparison group (NaN stays NaN).
    kpi : str, KPI or None
        The KPI (for its unit); ``None`` compares in absolute terms.
    materiality : float
        The ``materiality`` parameter.
    higher_is_better : bool
        Direction of the ranking.

    Examples
    --------
    >>> s = pd.Series([0.071, 0.070, 0.070, 0.060])
    >>> material_values(s, "customer_growth", 0.005).tolist()
    [0.071, 0.071, 0.071, 0.06]
    """
    out = values.astype("float64").copy()
    known = out.dropna().sort_values(ascending=not higher_is_better, kind="stable")
    anchor = np.nan
    for idx, v in known.items():
        if np.isnan(anchor) or is_material(kpi, v, anchor, materiality):
            anchor = v
        out.loc[idx] = anchor
    return out


def materiality_note(materiality: float) -> str:
    """The sentence a ranking shows to say what counts as a tie.

    Examples
    --------
    >>> materiality_note(0.005)
    'Differences smaller than 0.5 pp (shares) or 0.5 % (other figures) are ties: tied figures share the better rank.'
    """
    pp = f"{materiality * 100:.2f}".rstrip("0").rstrip(".")
    return (
        f"Differences smaller than {pp} pp (shares) or {pp} % (other figures) are ties: tied "
        "figures share the better rank."
    )
