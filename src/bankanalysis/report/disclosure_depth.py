"""Disclosure control of 01's product-depth table ("Product coverage": customers on the books
by number of products held, with their shares).

The table is a one-way table of five counts (0, 1, 2, 3 and 4+ products) and the share of
each in the customers on the books. Withholding a small row alone is not enough: the shares
add up to 100 %, a printed count over its printed share gives the customers on the books, and
the run publishes two more sums of its rows -- the region's active customers (every row but
the zero-product one: 01's population sentence and tier table) and the product coverage (the
rows of at least ``coverage_products`` products over the active customers: 01's KPI sentences
and the overview). On the 120-region bank a lone ``<10`` of one-product customers came back
to within 0.4 percentage points (a single customer) from the other rows' shares.
:func:`protect_depth` describes the table with those relations to the project's secondary
suppression (:func:`~bankanalysis.rules.disclosure_secondary.protect`: primary cells,
secondary cells audited by linear programming, a fail-safe where it gives up) and withholds each row's count
and share together, so the table, ``metrics.json`` (``zero_product_share``,
``single_product_share``) and the appendix read one answer. See ``docs/privacy.md``.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np
import pandas as pd

from bankanalysis.rules.disclosure import is_small
from bankanalysis.rules.disclosure_secondary import (
    PRIMARY,
    SECONDARY,
    LinearTable,
    Protection,
    fail_safe,
    protect,
    unsafe_note,
)

__all__ = [
    "DEPTH_COUNT_STATUS",
    "DEPTH_SHARE_STATUS",
    "depth_relations",
    "depth_table_cells",
    "protect_depth",
]

logger = logging.getLogger(__name__)

#: Status columns :func:`protect_depth` adds (``""``, ``"primary"``, ``"secondary"``,
#: ``"fail-safe"``): of the row's count and of its share.
DEPTH_COUNT_STATUS, DEPTH_SHARE_STATUS = "count_protection", "share_protection"

#: Name of the customers on the books (the table's total, the shares' base) in the problem.
_TOTAL = "customers"


def _cell(products: str) -> str:
    return f"customers[row={products}]"


def _least(products: str) -> int:
    """The fewest products a row's customers hold (``"4+"``: 4)."""
    return int(str(products).rstrip("+"))


def depth_relations(
    depth: pd.DataFrame, coverage_products: int | None = 3
) -> dict[str, tuple[float, list[str], str]]:
    """The sums of the depth table's rows the run publishes elsewhere: ``{name: (value, cells,
    status)}``.

    - ``active``: the rows of at least one product are the region's active customers (01's
      population sentence and tier table);
    - ``covered``: the rows of at least ``coverage_products`` products are the product
      coverage times the active customers (the KPI sentences, the overview), when
      ``coverage_products`` is one of the rows' lower ends (1 to 4; a coverage of 5 or more
      products splits the ``4+`` row and is no sum of rows).

    Both are published: ``status`` ``""``.

    Examples
    --------
    >>> d = pd.DataFrame({"products": ["0", "1", "2", "3", "4+"], "customers": [0, 4, 21, 23, 67]})
    >>> depth_relations(d, 3)["covered"]
    (90.0, ['customers[row=3]', 'customers[row=4+]'], '')
    >>> sorted(depth_relations(d, 5))
    ['active']
    """
    rows = [str(p) for p in depth["products"]]
    n = dict(zip(rows, depth["customers"].astype("float64"), strict=True))
    out: dict[str, tuple[float, list[str], str]] = {}
    sums = {"active": 1}
    if coverage_products is not None and 1 <= int(coverage_products) <= max(map(_least, rows)):
        sums["covered"] = int(coverage_products)
    for name, least in sums.items():
        members = [p for p in rows if _least(p) >= least]
        out[name] = (float(sum(n[p] for p in members)), [_cell(p) for p in members], "")
    return out


def depth_table_cells(
    depth: pd.DataFrame, k: int, coverage_products: int | None = 3
) -> tuple[LinearTable, list[str]]:
    """The product-depth table as cells and relations, and its primary cells.

    Cells ``customers[row=<products>]`` (counts), the customers on the books ``customers``
    (their sum: a printed count over its printed share gives it, so it is fixed) and the sums
    of :func:`depth_relations` (``active``, ``covered``: published elsewhere, fixed). Primary:
    every row of 1 to ``k - 1`` customers.

    Examples
    --------
    >>> d = pd.DataFrame({"products": ["0", "1", "2", "3", "4+"], "customers": [0, 4, 21, 23, 67]})
    >>> table, primary = depth_table_cells(d, 10)
    >>> primary, sorted(table.fixed)
    (['customers[row=1]'], ['active', 'covered', 'customers'])
    """
    rows = [str(p) for p in depth["products"]]
    counts = depth["customers"].astype("float64").to_numpy()
    values = {_cell(p): float(v) for p, v in zip(rows, counts, strict=True)}
    values[_TOTAL] = float(counts.sum())
    relations: list[dict[str, float]] = [{**dict.fromkeys(map(_cell, rows), 1.0), _TOTAL: -1.0}]
    for name, (total, members, _) in depth_relations(depth, coverage_products).items():
        values[name] = total
        relations.append({**dict.fromkeys(members, 1.0), name: -1.0})
    table = LinearTable(
        values=values,
        relations=tuple(relations),
        fixed=frozenset(c for c in values if not c.startswith("customers[")),
    )
    primary = [_cell(p) for p, v in zip(rows, counts, strict=True) if is_small([v], k)[0]]
    return table, primary


def _depth_protection(table: LinearTable, primary: list[str], k: int) -> Protection:
    """The first safe answer of: the secondary search (:func:`protect`); with the small rows
    shown as ``"withheld"`` rather than ``"<k"`` (their marker bounds them); with the
    customers on the books withheld (every share; whatever their number, so also below
    ``k``); both; failing all, every row withheld (:func:`fail_safe`). Each later answer
    withholds more; the last is returned when none is safe (and logged)."""
    tried: list[Protection] = []
    for hidden in ({}, {_TOTAL: SECONDARY}):
        for unmarked in (frozenset(), frozenset(primary)):
            prot = protect(replace(table, unmarked=unmarked), primary, k, hidden=hidden)
            if unmarked:  # the small rows read "withheld", audited as at least 0
                prot = Protection(status=prot.status, audit=prot.audit, failsafe=unmarked)
            if prot.safe:
                return prot
            tried.append(prot)
    rows = [c for c in table.values if c.startswith("customers[")]
    last = fail_safe(table, tried[-1], [lambda cell: rows], k)
    if not last.safe:
        logger.info(unsafe_note("product-depth table", last))
    return last


def protect_depth(depth: pd.DataFrame, k: int, coverage_products: int | None = 3) -> pd.DataFrame:
    """The product-depth table with every withheld count and share blanked (NaN) and said why.

    The rows add up to the customers on the books, which a printed count over its printed
    share gives (taken as published); the rows of at least one product add up to the
    region's active customers and those of at least ``coverage_products`` to the covered
    customers, both published elsewhere (:func:`depth_relations`). A row of 1 to ``k - 1``
    customers is primary; secondary rows are chosen by
    :func:`~bankanalysis.rules.disclosure_secondary.protect`, audited by linear programming
    against those relations. A row's share is withheld with its count (the share times the
    customers on the books is the count). Where the search gives up (:func:`_depth_protection`),
    in order: the small rows read ``"withheld"`` instead of ``"<k"`` (two small rows of 8 and
    9 whose sum the published totals give: ``<10`` and ``<10`` say 8 and 9); every share of a
    non-empty row is withheld (``x``) so that the customers on the books are not published (a
    zero-product row of 1 to ``k - 1``: the customers on the books minus the active ones);
    both; every row ``"withheld"``.

    Parameters
    ----------
    depth : DataFrame
        :func:`~bankanalysis.segmentation.coverage.product_depth` (``products``,
        ``customers``, ``share``), unsuppressed.
    k : int
        ``min_group_size``.
    coverage_products : int or None
        The report's ``coverage_products`` (the product coverage KPI the run prints);
        ``None``: no coverage published.

    Returns
    -------
    DataFrame
        ``depth`` with ``customers`` and ``share`` NaN where withheld, ``count_protection``
        and ``share_protection`` (``""``, ``"primary"``, ``"secondary"``, ``"fail-safe"``),
        ``suppressed`` (a row shown ``"<k"``) and ``attrs["protection"]`` the
        :class:`~bankanalysis.rules.disclosure_secondary.Protection` (for the appendix).

    Examples
    --------
    A lone small row of one-product customers would come back as the active customers minus
    the covered ones minus the two-product row: that row is withheld too.

    >>> d = pd.DataFrame({"products": ["0", "1", "2", "3", "4+"],
    ...                   "customers": [0, 4, 21, 23, 67]})
    >>> d = d.assign(share=d["customers"] / 115)
    >>> protect_depth(d, 10)["count_protection"].tolist()
    ['', 'primary', 'secondary', '', '']
    """
    table, primary = depth_table_cells(depth, k, coverage_products)
    prot = _depth_protection(table, primary, k)
    cells = [_cell(str(p)) for p in depth["products"]]
    count_status = pd.Series([prot.shown_status(c) for c in cells], index=depth.index)
    share_status = count_status.copy()
    if _TOTAL in prot.status:  # no printed share may give the customers on the books back
        nonzero = depth["customers"].astype("float64") != 0
        share_status[nonzero & (share_status == "")] = SECONDARY
    out = depth.copy()
    out["customers"] = out["customers"].astype("float64")
    out["share"] = out["share"].astype("float64")
    out[DEPTH_COUNT_STATUS] = count_status
    out[DEPTH_SHARE_STATUS] = share_status
    out.loc[out[DEPTH_COUNT_STATUS] != "", "customers"] = np.nan
    out.loc[out[DEPTH_SHARE_STATUS] != "", "share"] = np.nan
    out["suppressed"] = out[DEPTH_COUNT_STATUS] == PRIMARY
    out.attrs["protection"] = prot
    return out
