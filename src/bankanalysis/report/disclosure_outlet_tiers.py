"""An outlet's quality-and-above customers: one decision for 01 and 03.

01's account-manager table prints each outlet's quality-and-above customers (withheld when
1 to ``k - 1``); 03 prints each outlet's *share* of quality-and-above customers (the outlet
table's rates, the peer ranks' gap to the median and the percentile heat map) beside the
outlet's customers, which gives the count back (share x customers). Both reports read
:func:`protect_quality_plus`, so a count the run withholds is withheld in every figure
derived from it (docs/privacy.md, "Per-outlet shares of a withheld count").

The decision is :func:`~bankanalysis.report.disclosure.protect_outlet_counts` over the
outlets' counts: the region's quality-and-above customers are published (01's tier table:
the region's customers less its mass tier; 03's key figures: the region's share times its
customers), so a lone withheld outlet would come back by subtraction and a second outlet is
withheld as a secondary cell (``x``), or every outlet under the fail-safe (``withheld``).
"""

from __future__ import annotations

import html
import logging
from collections.abc import Mapping, Sequence

import pandas as pd

from bankanalysis.report.disclosure import protect_outlet_counts
from bankanalysis.report.disclosure_grid import cell_value
from bankanalysis.rules.disclosure import is_small
from bankanalysis.rules.disclosure_secondary import FAILSAFE, PRIMARY, SECONDARY
from bankanalysis.rules.kpis import KPIS

__all__ = [
    "QUALITY_PLUS",
    "QUALITY_PLUS_FIGURES",
    "mark_withheld_rows",
    "protect_quality_plus",
    "withheld_rank_note",
    "withhold_quality_plus",
]

logger = logging.getLogger(__name__)

#: The count decided (01's column name for it).
QUALITY_PLUS = "quality_plus_customers"
#: 03's per-outlet figures computed from the outlet's quality-and-above customers.
QUALITY_PLUS_FIGURES: tuple[str, ...] = ("share_quality_plus",)

#: Who a primary cell of a KPI is about, for the sentence naming a withheld peer rank.
_GROUP: dict[str, str] = {
    "new_customers": "new customers this month",
    "share_quality_plus": "quality-and-above customers",
}


def protect_quality_plus(counts: pd.Series, k: int) -> pd.Series:
    """Status of each outlet's quality-and-above customers: ``""`` (published),
    ``"primary"`` (1 to ``k - 1``), ``"secondary"`` or ``"fail-safe"``.

    Parameters
    ----------
    counts : Series
        Quality-and-above customers per outlet, **indexed by outlet id** (the secondary
        search breaks ties by the cells' names: 01 and 03 pass the same ids and get the
        same answer). 01: :func:`~bankanalysis.segmentation.managers.manager_kpis` by outlet;
        03: ``n_quality_plus`` of the outlet KPIs (the same tier rule on the same months).
    k : int
        ``min_group_size``. Always applied: the count says how many customers hold at least
        the first tier threshold (wealth), not an operational count.

    Returns
    -------
    Series
        Statuses, same index; ``attrs["protection"]`` the
        :class:`~bankanalysis.rules.disclosure_secondary.Protection` (for the appendix).

    Examples
    --------
    Outlet O2's 4 would come back as the region's 34 less O1's 30: O1 is withheld too.

    >>> s = protect_quality_plus(pd.Series([30, 4], index=["O1", "O2"]), 10)
    >>> s.tolist()
    ['secondary', 'primary']
    """
    ids = [str(i) for i in counts.index]
    frame = pd.DataFrame({QUALITY_PLUS: counts.astype("float64").to_numpy()}, index=ids)
    hidden = protect_outlet_counts(frame, k, columns=(QUALITY_PLUS,))
    out = pd.Series(hidden[QUALITY_PLUS].to_numpy(), index=counts.index, name=QUALITY_PLUS)
    out.attrs["protection"] = list(hidden.attrs["protection"])
    return out


def withhold_quality_plus(hidden: pd.DataFrame, mine: pd.DataFrame, k: int) -> pd.DataFrame:
    """03's answer ``hidden`` with the outlets' shares of quality-and-above customers
    withheld where :func:`protect_quality_plus` withholds the count: every table of 03 that
    reads ``hidden`` (the outlet table, the peer ranks' gaps and percentiles) then withholds
    them, under the count's marker.

    An outlet of 1 to ``k - 1`` customers keeps its share withheld as before (``"primary"``:
    the outlet table's rule for customer shares), whatever its count.

    Parameters
    ----------
    hidden : DataFrame
        :func:`~bankanalysis.report.disclosure.protect_outlet_counts` (indexed like ``mine``).
    mine : DataFrame
        :func:`~bankanalysis.report.benchmarking.region_outlets` with ``outlet_id``,
        ``customers`` and ``n_quality_plus``.
    k : int
        ``min_group_size``.

    Returns
    -------
    DataFrame
        ``hidden`` with one more column per :data:`QUALITY_PLUS_FIGURES` present in ``mine``;
        the count's protection appended to ``attrs["protection"]``.

    Examples
    --------
    >>> mine = pd.DataFrame({"outlet_id": ["O1", "O2"], "customers": [120, 40],
    ...                      "n_quality_plus": [30, 4], "share_quality_plus": [0.25, 0.1]})
    >>> h = pd.DataFrame({"new_customers": ["", ""]}, index=mine.index)
    >>> withhold_quality_plus(h, mine, 10)["share_quality_plus"].tolist()
    ['secondary', 'primary']
    """
    out = hidden.copy()
    out.attrs = dict(hidden.attrs)
    figures = [c for c in QUALITY_PLUS_FIGURES if c in mine.columns]
    if not figures or "n_quality_plus" not in mine.columns:
        return out
    counts = mine.set_index("outlet_id")["n_quality_plus"]
    status = protect_quality_plus(counts, k)
    few = is_small(mine["customers"], k)
    marks = [
        st or (PRIMARY if small else "") for st, small in zip(status.to_numpy(), few, strict=True)
    ]
    for col in figures:
        out[col] = pd.Series(marks, index=mine.index)
    out.attrs["protection"] = [*hidden.attrs.get("protection", []), *status.attrs["protection"]]
    return out


def mark_withheld_rows(
    frame: pd.DataFrame, headers: Sequence[str], status: Sequence[str], k: int
) -> pd.DataFrame:
    """A formatted table's ``headers`` cells of the withheld rows under their marker
    (``<k``, ``x`` or ``withheld``; ``status`` in row order, ``""`` = shown).

    Examples
    --------
    >>> f = pd.DataFrame({"Outlet": ["A", "B"], "n": ["30", "<10"]})
    >>> mark_withheld_rows(f, ["n"], ["secondary", "primary"], 10)["n"].tolist()
    ['x', '<10']
    """
    out = frame.copy()
    for i, st in zip(out.index, status, strict=True):
        if st:
            for h in headers:
                out.at[i, h] = str(cell_value(None, str(st), k))
    return out


def _why(kpi: str, status: str, k: int) -> str:
    if status == PRIMARY:
        return f"fewer than {k} {_GROUP.get(kpi, 'customers')}"
    if status == SECONDARY:
        return "withheld so that another withheld figure cannot be worked out from it"
    if status == FAILSAFE:
        return "withheld for every outlet of the region, so that the region's total gives no small group back"
    return "withheld"


def withheld_rank_note(
    ranks: pd.DataFrame, hidden: pd.DataFrame, mine: pd.DataFrame, k: int
) -> str | None:
    """The sentence under the peer ranks naming the outlets and KPIs not ranked because their
    figure is withheld (``None`` when none is): a blank square of the heat map and a marker
    in the gap table must not read as 0 or as a missing figure.

    Parameters
    ----------
    ranks : DataFrame
        :func:`~bankanalysis.report.disclosure.hide_outlet_ranks` output.
    hidden : DataFrame
        The answer it was given (indexed like ``mine``).
    mine : DataFrame
        The region's outlets (``outlet_id``, ``outlet``).
    k : int
        ``min_group_size``.

    Examples
    --------
    >>> mine = pd.DataFrame({"outlet_id": ["O1", "O2"], "outlet": ["North", "South"]})
    >>> h = pd.DataFrame({"share_quality_plus": ["secondary", "primary"]}, index=mine.index)
    >>> r = pd.DataFrame({"outlet_id": ["O1", "O2"], "kpi": "share_quality_plus"})
    >>> print(withheld_rank_note(r, h, mine, 10))
    Not ranked, so that no small group of customers can be worked out: North, Quality-and-above customers (withheld so that another withheld figure cannot be worked out from it); South, Quality-and-above customers (fewer than 10 quality-and-above customers).
    """
    ranked = set(zip(ranks["outlet_id"].astype(str), ranks["kpi"].astype(str), strict=True))
    names: Mapping[str, str] = dict(
        zip(mine["outlet_id"].astype(str), mine["outlet"].astype(str), strict=True)
    )
    parts = []
    for i, oid in mine["outlet_id"].astype(str).items():
        for col in hidden.columns:
            st = str(hidden.at[i, col]) if i in hidden.index else ""
            if st and (oid, col) in ranked:
                name = KPIS[col].name if col in KPIS else col
                parts.append(f"{html.escape(names[oid])}, {name} ({_why(col, st, k)})")
    if not parts:
        return None
    return (
        "Not ranked, so that no small group of customers can be worked out: "
        + "; ".join(parts)
        + "."
    )
