"""Product gaps per outlet ("sweeping zero"): families an outlet sold none or too few of.

Product sales per outlet and family are the ``sales_<family>`` columns of ``outlet_month``
(new holdings of the family's products in the month, computed once by ``data prepare``; the
benchmarking KPIs' ``sales_total`` is their sum). An outlet has a *gap* in a family when its
sales are below the standard: this month against the monthly standard, and over the quarter to
date (the quarter's months up to the data month) against the monthly standard times the months
with known sales. The default standard of one sale a month makes a gap exactly a zero.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from bankanalysis.exceptions import AnalysisError
from bankanalysis.rules.months import quarter_months

__all__ = ["GAP_COLUMNS", "gap_counts", "product_gaps", "sales_families"]

logger = logging.getLogger(__name__)

#: Columns of :func:`product_gaps`, in order.
GAP_COLUMNS: tuple[str, ...] = (
    "outlet_id",
    "family",
    "sales_month",
    "standard_month",
    "gap_month",
    "sales_quarter",
    "standard_quarter",
    "gap_quarter",
)

_NOT_FAMILIES = ("sales_total", "sales_per_fte")


def sales_families(columns: Sequence[str]) -> list[str]:
    """Product families with a ``sales_<family>`` column, in column order.

    Examples
    --------
    >>> sales_families(["month", "sales_card", "sales_total", "sales_loan", "sales_per_fte"])
    ['card', 'loan']
    """
    return [
        c.removeprefix("sales_")
        for c in columns
        if c.startswith("sales_") and c not in _NOT_FAMILIES
    ]


def product_gaps(
    outlet_month: pd.DataFrame,
    month: str,
    standard: Mapping[str, float] | None = None,
    outlets: Sequence[str] | None = None,
    default_standard: float = 1.0,
) -> pd.DataFrame:
    """Every outlet x product family with its sales and whether they fall short of the standard.

    Parameters
    ----------
    outlet_month : DataFrame
        ``month, outlet_id, sales_<family>...`` (``outlet_month.parquet`` or the outlet KPIs).
    month : str
        The data month.
    standard : mapping, optional
        Minimum sales per outlet and month by family (the ``product_sales_standard``
        parameter); families not named get ``default_standard``.
    outlets : sequence of str, optional
        Outlets to include (default every outlet with a row at ``month``).
    default_standard : float
        Monthly standard of the families not in ``standard`` (1 = a gap is a zero).

    Returns
    -------
    DataFrame
        :data:`GAP_COLUMNS`, one row per outlet and family (outlets sorted, families in column
        order): ``sales_month`` (NaN when unknown, e.g. the first month of the data, whose
        sales cannot be told from the opening stock), ``standard_month``, ``gap_month``
        (``sales_month < standard_month``; ``None`` when the sales are unknown),
        ``sales_quarter`` (sum over the quarter's months up to ``month`` with known sales),
        ``standard_quarter`` (monthly standard x those months) and ``gap_quarter`` (``None``
        when no month of the quarter has known sales).

    Raises
    ------
    AnalysisError
        When there is no ``sales_<family>`` column or no row at ``month``.

    Examples
    --------
    >>> om = pd.DataFrame({"month": ["2025-01", "2025-02"], "outlet_id": ["O1", "O1"],
    ...                    "sales_card": [0.0, 2.0]})
    >>> g = product_gaps(om, "2025-02", {"card": 3})
    >>> g[["sales_month", "gap_month", "sales_quarter", "standard_quarter", "gap_quarter"]].values.tolist()
    [[2.0, True, 2.0, 6.0, True]]
    """
    families = sales_families(list(outlet_month.columns))
    if not families:
        raise AnalysisError(
            "product_gaps: no sales_<family> column in the outlet-month frame; re-run "
            "`bankanalysis data prepare`"
        )
    std = dict(standard or {})
    unknown = sorted(set(std) - set(families))
    if unknown:
        raise AnalysisError(
            f"product standard names unknown product famil(ies) {unknown}; families: {families}"
        )
    months = outlet_month["month"].astype(str)
    now = outlet_month[months == month]
    if now.empty:
        raise AnalysisError(f"product_gaps: no outlet row at month {month!r}")
    ids = sorted(now["outlet_id"].astype(str).unique()) if outlets is None else list(outlets)
    qtd = [m for m in quarter_months(month) if m <= month]
    q = outlet_month[months.isin(qtd)]
    q = q.assign(outlet_id=q["outlet_id"].astype(str))
    rows = []
    for fam in families:
        col = f"sales_{fam}"
        m_std = float(std.get(fam, default_standard))
        cur = now.assign(outlet_id=now["outlet_id"].astype(str)).set_index("outlet_id")[col]
        cur = cur.reindex(ids).astype("float64")
        qsum = q.groupby("outlet_id", sort=True)[col].sum(min_count=1).reindex(ids)
        qn = q.groupby("outlet_id", sort=True)[col].count().reindex(ids).fillna(0)
        q_std = m_std * qn
        rows.append(
            pd.DataFrame(
                {
                    "outlet_id": ids,
                    "family": fam,
                    "sales_month": cur.to_numpy(),
                    "standard_month": m_std,
                    "gap_month": [None if np.isnan(v) else bool(v < m_std) for v in cur],
                    "sales_quarter": qsum.to_numpy(dtype="float64"),
                    "standard_quarter": q_std.to_numpy(dtype="float64"),
                    "gap_quarter": [
                        None if n == 0 else bool(v < s)
                        for v, s, n in zip(qsum.fillna(0.0), q_std, qn, strict=True)
                    ],
                }
            )
        )
    out = pd.concat(rows, ignore_index=True)
    order = {f: i for i, f in enumerate(families)}
    out = out.sort_values(
        ["outlet_id", "family"], key=lambda s: s.map(order) if s.name == "family" else s
    )
    return out[list(GAP_COLUMNS)].reset_index(drop=True)


def gap_counts(gaps: pd.DataFrame, by: str = "outlet_id") -> pd.DataFrame:
    """Gaps per outlet (``by="outlet_id"``) or per family (``by="family"``), both periods.

    Returns
    -------
    DataFrame
        ``<by>, gaps_month, gaps_quarter, zero_month`` (families/outlets with no sale at all
        this month) and ``known_month`` (cells with known sales this month), in the order of
        first appearance in ``gaps``.

    Examples
    --------
    >>> g = pd.DataFrame({"outlet_id": ["O1", "O1"], "family": ["a", "b"],
    ...     "sales_month": [0.0, 5.0], "gap_month": [True, False], "gap_quarter": [True, None]})
    >>> gap_counts(g).values.tolist()
    [['O1', 1, 1, 1, 2]]
    """
    frame = pd.DataFrame(
        {
            by: gaps[by].to_numpy(),
            "gaps_month": gaps["gap_month"].eq(True).to_numpy(),
            "gaps_quarter": gaps["gap_quarter"].eq(True).to_numpy(),
            "zero_month": (gaps["sales_month"] == 0).to_numpy(),
            "known_month": gaps["sales_month"].notna().to_numpy(),
        }
    )
    g = frame.groupby(by, sort=False).sum().reset_index()
    return g.astype({c: "int64" for c in g.columns if c != by})
