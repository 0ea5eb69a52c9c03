"""The disclosure step for the per-unit tables of the reports and workbooks (outlets, levels).

:mod:`bankanalysis.report.disclosure` protects the tier and migration tables; this module any
table with one row per unit whose columns add up to a published total: the upgrade table and
pipeline, the DEA targets, the attainment grid, the trends, the workbooks' aggregates. All go
through :func:`protect_grid` (primary cells, secondary cells audited by linear programming, the
fail-safe where the search gives up) and show the markers (``"<k"`` small, ``"x"`` secondary,
``"withheld"`` fail-safe) through :func:`grid_values`; the policy for a region smaller than
``k`` (:func:`region_too_small`) is here too. See ``docs/privacy.md``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Hashable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from bankanalysis.report.disclosure_links import (
    add_cover_row_sums,
    add_covers,
    add_parts,
    add_row_sums,
    cover_caps,
)
from bankanalysis.report.disclosure_links import cell_name as _cell
from bankanalysis.report.format import Suppressed, is_missing
from bankanalysis.rules.disclosure import is_small
from bankanalysis.rules.disclosure_pieces import PieceIntervals
from bankanalysis.rules.disclosure_secondary import (
    DEFAULT_DOMINANCE_P,
    DEFAULT_PROTECTION_LEVEL,
    FAILSAFE,
    PRIMARY,
    SECONDARY,
    LinearTable,
    fail_safe,
    failsafe_steps,
    p_percent_sensitive,
    protect,
    unsafe_note,
)
from bankanalysis.rules.tiers import TIERS

__all__ = [
    "DOMINANCE",
    "cell_value",
    "grid_values",
    "guard_target_counts",
    "PIPELINE_COLUMNS",
    "levels_note",
    "pipeline_cell",
    "pipeline_dominance",
    "pipeline_total",
    "protect_pipeline",
    "protect_grid",
    "protect_levels",
    "protected_lorenz",
    "protect_region_totals",
    "region_banner",
    "region_too_small",
    "run_counts",
    "withhold_echelons",
]

logger = logging.getLogger(__name__)

#: Status of a money cell withheld because one or two customers hold most of it.
DOMINANCE = "dominance"


def cell_value(value: Any, status: str, k: int | None) -> Any:
    """``value``, or :class:`Suppressed` saying why when ``status`` is not empty.

    Examples
    --------
    >>> cell_value(12, "", 10), str(cell_value(4, "primary", 10)), str(cell_value(40, "secondary", 10))
    (12, '<10', 'x')
    >>> str(cell_value(0, "fail-safe", 10))
    'withheld'
    """
    if not status:
        return value
    why = {PRIMARY: "small", SECONDARY: "secondary", DOMINANCE: "dominance", FAILSAFE: "failsafe"}[
        status
    ]
    return Suppressed(k, why)


def protect_grid(
    frame: pd.DataFrame,
    columns: Sequence[str],
    k: int,
    *,
    size: str | None = None,
    counts: Sequence[str] = (),
    money: Sequence[str] = (),
    totals: Mapping[str, Any] | None = None,
    level: float = DEFAULT_PROTECTION_LEVEL,
    withholdable_totals: Sequence[str] = (),
    dominated: Mapping[str, Sequence[Hashable]] | None = None,
    parts: Mapping[str, Mapping[Hashable, Mapping[str, tuple[float, str]]]] | None = None,
    part_totals: Mapping[str, tuple[float, Sequence[str], str]] | None = None,
    withholdable_parts: bool = False,
    forced: Collection[str] = (),
    row_sums: Mapping[str, Sequence[str]] | None = None,
    published: Collection[str] = (),
    covers: Mapping[str, Mapping[Hashable, tuple[float, str, Sequence[Hashable]]]] | None = None,
    marked: Collection[str] = (),
    row_marked: Collection[str] = (),
    totals_known: bool = False,
) -> pd.DataFrame:
    """Which cells of a per-unit table are withheld, and why.

    Each column of ``columns`` is a one-way table: its rows add up to the column's total,
    which is published elsewhere (the region's figure), so a lone withheld row would come back
    by subtraction. Primary cells: every non-zero figure of a row whose ``size`` (customers of
    the unit) is 1 to ``k - 1``, and every cell of a ``counts`` column holding 1 to ``k - 1``
    customers. Secondary cells are chosen by
    :func:`~bankanalysis.rules.disclosure_secondary.protect`, which proves by linear
    programming that no primary cell can be worked out from the rest; where it gives up, the
    fail-safe withholds the cell's column, then every cell (``"fail-safe"``, ``"withheld"``).

    Parameters
    ----------
    frame : DataFrame
        One row per unit, unsuppressed; missing cells are not published and take no part.
    columns : sequence of str
        Additive columns to protect (columns absent from ``frame`` are skipped).
    k : int
        ``min_group_size``.
    size : str, optional
        Column counting the unit's customers (its row is withheld when small).
    counts : sequence of str
        Columns that count customers (a cell of 1 to ``k - 1`` is withheld by itself).
    money : sequence of str
        Columns holding money (protected to ``value x (1 -/+ level)``, solved as shares of the
        column's total).
    totals : mapping, optional
        ``{column: published total}`` when the published total is not the column's sum (e.g.
        the rows shown are part of a larger region); default: the sum, published.
    level : float
        Half-width of a money cell's protection interval.
    withholdable_totals : sequence of str
        Columns whose published total the caller can withhold. When withholding cells alone
        leaves a withheld cell narrower than its protection interval (e.g. one small outlet
        holds more than ``1 / (1 + level)`` of a money total: the total bounds it), the step is
        run again with these totals as candidates for secondary suppression; the caller must
        then withhold every total listed in ``attrs["withheld_totals"]``.
    dominated : mapping, optional
        ``{column: rows}``: money cells held mostly by one or two customers (the p% rule,
        :func:`~bankanalysis.rules.disclosure_secondary.p_percent_sensitive`), primary with
        status ``"dominance"`` when not zero.
    parts : mapping, optional
        ``{column: {row: {part: (value, status)}}}``: the cells of another published table
        whose sum is this cell (the upgrade pipeline's rows of an outlet), with their status
        there (``""`` shown, else withheld; ``"dominance"`` and ``"primary"`` audited here
        too). One LP then covers both tables: a part withheld there must not come back as
        this cell minus the shown parts, nor through this table's totals.
    part_totals : mapping, optional
        ``{name: (value, parts, status)}``: further published counts the parts add up to in
        their own table (the pipeline's region count per target tier; ``status`` ``""``
        published, else withheld; ``"primary"``: a small count shown as ``"<k"``, audited),
        so that the one LP reads everything the two tables say.
    withholdable_parts : bool
        When the cells of this table and ``withholdable_totals`` cannot protect every withheld
        cell, run the step once more with the shown ``parts`` and published ``part_totals``
        as candidates too; those it withholds are listed in ``attrs["withheld_parts"]``
        (``{name: status}``) and the caller must withhold them in their own table (and run
        this step again: :func:`~bankanalysis.report.actions.protect_upgrade_pipeline`).
    forced : collection of str
        Cells withheld from the start (``"<column>[row=<row>]"``, or a column's name for its
        total), status ``"secondary"``: what a joint step found this table must withhold.
    row_sums : mapping, optional
        ``{column: parts}``: in every row, the cell of ``column`` is the sum of the cells of
        ``parts`` (a scorecard's customers are its tiers' customers), so a withheld cell
        must not come back as its row's total less the other parts; a row missing one of
        them sets up no relation.
    published : collection of str
        Columns, or cells (``"<column>[row=<row>]"``), that other files print whatever this
        step decides (an outlet's customers, in every report): never chosen as secondary
        cells (a primary cell of them is withheld as before), so no protection rests on
        hiding them.
    covers : mapping, optional
        ``{column: {unit: (value, status, rows)}}``: a cell of another published table (an
        outlet's card) that ``rows`` of this one (the managers working there) make together
        with figures printed nowhere (the outlet's customers without a manager: at least 0),
        with its status there (``""`` shown, else withheld; ``"primary"`` audited here too). A
        withheld manager's count must not come back as at most the outlet's less the other
        managers'. A cover whose rows add up to more than its value (a manager with customers
        at another outlet) sets up no relation.
    marked : collection of str
        Withheld cells whose marker a report decides (``forced`` cells of the run's decision,
        printed ``<k`` or ``x`` there too): the fail-safe never re-marks them ``withheld``,
        which would read them as at least 0 where the report's marker says more.
    row_marked : collection of str
        Columns whose cells in a small unit's row its reader takes as withheld with the row,
        at least 0 (the scorecards' operational figures: a card's contacts may be 0 or 50),
        not as 1 to ``k - 1``.
    totals_known : bool
        The table is a block of a larger one (:func:`~bankanalysis.report.disclosure_cards.
        protect_manager_cards`): every column's total is taken as known to the reader, a small
        one too, and never judged (a reading that knows more than any reader).

    Returns
    -------
    DataFrame
        Same index as ``frame``, one column per protected column: ``""``, ``"primary"``,
        ``"secondary"``, ``"dominance"`` or ``"fail-safe"``; ``attrs["protection"]`` the
        :class:`~bankanalysis.rules.disclosure_secondary.Protection` (for the appendix),
        ``attrs["withheld_totals"]`` the columns whose total must be withheld (``{column:
        status}``, empty unless ``withholdable_totals`` had to be used),
        ``attrs["withheld_parts"]`` the shown parts and part totals withheld (empty unless
        ``withholdable_parts`` had to be used).

    Examples
    --------
    >>> df = pd.DataFrame({"n": [40, 4, 25]}, index=["a", "b", "c"])
    >>> protect_grid(df, ["n"], 10, size="n")["n"].tolist()
    ['', 'primary', 'secondary']
    """
    cols = [c for c in columns if c in frame.columns]
    totals = dict(totals or {})
    values: dict[str, float] = {}
    relations: list[dict[str, float]] = []
    money_cells: set[str] = set()
    fixed: set[str] = set()
    primary: list[str] = []
    dom_cells = {_cell(c, i) for c, rows in (dominated or {}).items() for i in rows}
    scales: dict[str, float] = {}
    small_row = (
        pd.Series(is_small(frame[size].astype("float64"), k), index=frame.index)
        if size is not None and size in frame.columns
        else pd.Series(False, index=frame.index)
    )
    for col in cols:
        known = frame[col][[not is_missing(v) for v in frame[col]]].astype("float64")
        total = float(totals.get(col, known.sum()))
        is_money = col in money
        scale = abs(total) if is_money and total else 1.0
        scales[col] = scale
        rel: dict[str, float] = {}
        for i, v in known.items():
            key = _cell(col, i)
            values[key] = float(v) / scale
            rel[key] = 1.0
            if is_money:
                money_cells.add(key)
            if (
                (bool(small_row.get(i, False)) and v != 0)
                or (col in counts and is_small([v], k)[0])
                or (key in dom_cells and v != 0)
            ):
                primary.append(key)
        if not rel:
            continue
        values[col] = total / scale
        rel[col] = -1.0
        relations.append(rel)
        if is_money:
            money_cells.add(col)
        if col in counts and is_small([total], k)[0] and not totals_known:
            primary.append(col)  # published as "<k" itself
        else:
            fixed.add(col)
        if col not in totals and len(rel) == 2 and not totals_known:  # the row is the total
            fixed.discard(col)
    add_row_sums(frame.index, row_sums or {}, _cell, values, relations)
    named = {c for c in published if "[row=" in c} | {
        _cell(c, i) for c in published if "[row=" not in c for i in frame.index
    }
    fixed |= (named & set(values)) - set(primary)
    own_fixed = set(fixed)
    # the fail-safe's cells: not the totals, nor cells whose marker a report decides
    own = [c for c in values if c not in own_fixed and c not in cols and c not in marked]
    hidden = add_parts(parts or {}, frame, values, relations, money_cells, fixed, scales)
    rests = add_covers(covers or {}, frame, values, relations, money_cells, fixed, scales, hidden)
    add_cover_row_sums(covers or {}, row_sums or {}, values, relations)
    for name, (v, names, st) in (part_totals or {}).items():
        known = [c for c in names if c in values]
        if not known:
            continue
        values[name] = float(v)
        relations.append({**dict.fromkeys(known, 1.0), name: -1.0})
        if st:  # a small count published as "<k" is audited like the primary cells
            hidden[name] = st if st in (PRIMARY, FAILSAFE) else SECONDARY
        else:
            fixed.add(name)
    # the other table's "withheld" (fail-safe) cells: at least 0, audited as primary
    unmarked = frozenset(c for c, st in hidden.items() if st == FAILSAFE) | rests
    # a small unit's figures of these columns show its row's marker, zeros included: at
    # least 0, nothing more (a card's contacts under "<k" may be 0 or 50)
    unmarked |= {
        _cell(c, i)
        for c in row_marked
        for i in frame.index[small_row.to_numpy()]
        if _cell(c, i) in values
    }
    hidden = {c: PRIMARY if st == FAILSAFE else st for c, st in hidden.items()}
    shown_parts = fixed - own_fixed
    for name in sorted(forced):
        if name in values and name not in primary:
            hidden.setdefault(name, SECONDARY)
    table = LinearTable(
        values=values,
        relations=tuple(relations),
        money=frozenset(money_cells),
        fixed=frozenset(fixed),
        unmarked=unmarked,
        rests=rests,
        caps=cover_caps(covers or {}, [c for c in cols if c not in counts and c not in money]),
    )
    prot = protect(table, primary, k, level, hidden=hidden, large=PieceIntervals)
    loose = fixed - set(withholdable_totals)
    # the published totals pin a withheld cell: let the step withhold them too; then the
    # other table's shown parts (the caller withholds there what this step chose)
    for looser in (loose, loose - shown_parts if withholdable_parts else loose):
        if prot.safe or looser == table.fixed:
            continue
        table = replace(table, fixed=frozenset(looser))
        prot = protect(table, primary, k, level, hidden=hidden, large=PieceIntervals)
    # where the search gave up: the cell's column, then (a card adding up over its tiers) its
    # row too, then every cell, under "withheld"
    prot = fail_safe(
        table,
        prot,
        _grid_failsafe_steps(own, row_sums, covers),
        k,
        level,
        # a large table's audits (a region's manager cards) from one warm-started model
        auditor=lambda t, st: PieceIntervals(t, k, level).audit(st),
    )
    if not prot.safe:  # a count only: the cells are named by unit ids (outlets, managers)
        logger.info(unsafe_note("per-unit table", prot))
    out = pd.DataFrame("", index=frame.index, columns=cols)
    for col in cols:
        for i in frame.index:
            st = prot.shown_status(_cell(col, i))
            small = bool(small_row.get(i, False)) or (
                col in counts and is_small([frame.at[i, col]], k)[0]
            )
            out.at[i, col] = DOMINANCE if st == PRIMARY and not small else st
        # a small unit's zero figures are withheld with its row (the marker, not "0")
        if size is not None and size in frame.columns:
            out.loc[small_row & (out[col] == ""), col] = PRIMARY
    out.attrs["protection"] = prot
    out.attrs["withheld_totals"] = {
        c: prot.status[c] for c in withholdable_totals if c in cols and c in prot.status
    }
    out.attrs["withheld_parts"] = {c: prot.status[c] for c in sorted(shown_parts & prot.hidden)}
    return out


def _grid_failsafe_steps(
    own: Sequence[str],
    row_sums: Mapping[str, Sequence[str]] | None,
    covers: Mapping[str, Mapping[Hashable, tuple[float, str, Sequence[Hashable]]]] | None,
) -> list[Callable[[str], list[str]]]:
    """The fail-safe steps of :func:`protect_grid`: a cell's column; with ``row_sums``, its
    column and its row (a manager's private-banking count of 1 comes back as the card's
    customers less its other tiers whatever its column shows), a cover's cell (an outlet's
    count on the managers' side) standing for its column and the rows of its managers; then
    every cell.

    >>> steps = _grid_failsafe_steps(["a[row=1]", "a[row=2]", "b[row=1]", "b[row=3]"],
    ...                              {"a": ["b"]}, {"b": {"O1": (5.0, "", [3])}})
    >>> [sorted(step("b[row=1]")) for step in steps][:2]
    [['b[row=1]', 'b[row=3]'], ['a[row=1]', 'b[row=1]', 'b[row=3]']]
    >>> sorted(steps[1]("cover.b[unit=O1]"))
    ['b[row=1]', 'b[row=3]']
    """
    rows_of = {
        f"cover.{c}[unit={u}]": [str(r) for r in cover[2]]
        for c, units in (covers or {}).items()
        for u, cover in units.items()
    }

    def column(cell: str) -> set[Hashable]:
        return {cell.split("[")[0].removeprefix("cover.")}

    def row_and_column(cell: str) -> set[Hashable]:
        rows = rows_of.get(cell, [cell.split("[row=")[1][:-1]] if "[row=" in cell else [])
        return column(cell) | {("row", r) for r in rows}

    return failsafe_steps(own, column, *([row_and_column] if row_sums else []))


def grid_values(frame: pd.DataFrame, status: pd.DataFrame, k: int) -> pd.DataFrame:
    """``frame`` with each withheld cell of ``status`` replaced by :class:`Suppressed`
    (``"<k"`` when primary, ``"x"`` when secondary); other cells unchanged.

    Examples
    --------
    >>> df = pd.DataFrame({"n": [40, 4, 25]})
    >>> [str(v) for v in grid_values(df, protect_grid(df, ["n"], 10, size="n"), 10)["n"]]
    ['40', '<10', 'x']
    """
    out = frame.copy()
    for col in status.columns:
        if not (status[col] != "").any():
            continue
        out[col] = out[col].astype("object")
        for i in status.index[status[col] != ""]:
            out.at[i, col] = cell_value(out.at[i, col], str(status.at[i, col]), k)
    return out


def protect_levels(
    levels: pd.DataFrame,
    k: int,
    size: str = "customers",
    region_month: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Productivity trends with every month of a level (region, echelon, bank) whose customers
    are 1 to ``k - 1`` withheld: its KPI values NaN (the chart leaves the point out), column
    ``withheld`` True.

    A level's per-FTE ratios with its staff known (every outlet table publishes its FTE) give
    its customers, sales and AUM back, so a small level shows no figure at all. With
    ``region_month`` (``month, region_id, echelon`` and ``size`` of every region), a month of
    the echelon (level ``"echelon <e>"``) or the bank (``"whole bank"``) is withheld too when
    :func:`protect_region_totals` withholds that total for the month: the echelon's figure
    minus the other regions' (each published by their own report) would give a small region's
    back.

    Examples
    --------
    >>> lv = pd.DataFrame({"month": "2025-03", "level": ["R1", "echelon 1", "whole bank"],
    ...                    "customers": [500, 507, 807], "customers_per_fte": [50.0, 46.1, 53.8]})
    >>> rm = pd.DataFrame({"month": "2025-03", "region_id": ["R1", "R2", "R3"],
    ...                    "echelon": [1, 1, 2], "customers": [500, 7, 300]})
    >>> protect_levels(lv, 10, region_month=rm)["withheld"].tolist()
    [False, True, True]
    """
    out = levels.copy()
    small = (
        is_small(out[size].astype("float64"), k)
        if size in out.columns
        else np.zeros(len(out), dtype=bool)
    )
    if region_month is not None:
        small = small | _withheld_scope_months(out, region_month, k, size)
    keep = {"month", "level", size}
    numeric = [
        c
        for c in out.columns
        if c not in keep and c != "outlets" and pd.api.types.is_numeric_dtype(out[c])
    ]
    for c in numeric:
        out[c] = out[c].astype("float64").mask(small)
    out["withheld"] = small
    return out


def _withheld_scope_months(
    levels: pd.DataFrame, region_month: pd.DataFrame, k: int, size: str
) -> np.ndarray:
    """Rows of ``levels`` (echelon or bank) whose month's total :func:`protect_region_totals`
    withholds."""
    label = levels["level"].astype(str)
    out = np.zeros(len(levels), dtype=bool)
    for month in levels["month"].unique():
        withheld = protect_region_totals(region_month, str(month), k, size)
        if not withheld:
            continue
        keys = {f"echelon {e.split('=')[1].rstrip(']')}" for e in withheld if "[echelon=" in e}
        keys |= {"whole bank"} if "customers" in withheld else set()
        out |= ((levels["month"] == month) & label.isin(keys)).to_numpy()
    return out


def levels_note(levels: pd.DataFrame, k: int) -> str | None:
    """The sentence under the trends chart naming the levels and months :func:`protect_levels`
    withheld (``None`` when none): a missing point must not read as a drop to 0.

    Examples
    --------
    >>> lv = pd.DataFrame({"month": ["2025-01", "2025-02"], "level": ["R", "R"],
    ...                    "withheld": [True, False]})
    >>> levels_note(lv, 10)
    'R: 2025-01 left out (fewer than 10 customers; withheld).'
    """
    if "withheld" not in levels.columns or not levels["withheld"].any():
        return None
    parts = [
        f"{level}: {', '.join(sorted(map(str, g['month'])))}"
        for level, g in levels[levels["withheld"]].groupby("level", sort=False)
    ]
    return f"{'; '.join(parts)} left out (fewer than {k} customers; withheld)."


def protect_region_totals(
    region_month: pd.DataFrame, month: str, k: int, size: str = "customers"
) -> dict[str, str]:
    """Which customer totals of a run are withheld so that a region smaller than ``k`` cannot
    be worked out from the others (docs/privacy.md, "A region smaller than k").

    Each region's own reports publish its total; the overview publishes every region's, each
    echelon's and the bank's. A small region's total (primary) would come back as its
    echelon's (or the bank's) total minus the other regions'. The other regions' totals stay
    published (their own reports print them: hiding them in the overview alone would not
    help), so the step withholds the totals instead: the echelon's and, when needed, the
    bank's (:func:`~bankanalysis.rules.disclosure_secondary.protect`, audited). Every report
    of a run computes the same answer from the same data.

    Parameters
    ----------
    region_month : DataFrame
        ``month, region_id, echelon`` and ``size`` (processed ``region_month``).
    month : str
        Data month.
    k : int
        ``min_group_size``.

    Returns
    -------
    dict
        ``{"customers[region=R]" | "customers[echelon=e]" | "customers": "primary" |
        "secondary"}`` for every withheld total; empty when no region is small.

    Examples
    --------
    >>> rm = pd.DataFrame({"month": "2025-03", "region_id": ["R1", "R2", "R3"],
    ...                    "echelon": [1, 1, 2], "customers": [500, 7, 300]})
    >>> protect_region_totals(rm, "2025-03", 10)
    {'customers[region=R2]': 'primary', 'customers[echelon=1]': 'secondary', 'customers': 'secondary'}
    """
    now = region_month.loc[region_month["month"] == month]
    n = now.groupby("region_id", sort=True)[size].sum().astype("float64")
    ech = now.groupby("region_id", sort=True)["echelon"].first()
    values: dict[str, float] = {"customers": float(n.sum())}
    relations: list[dict[str, float]] = []
    bank: dict[str, float] = {"customers": -1.0}
    fixed: set[str] = set()
    primary: list[str] = []
    for e, regions in n.groupby(ech, sort=True):
        e_key = f"customers[echelon={e}]"
        values[e_key] = float(regions.sum())
        bank[e_key] = 1.0
        rel = {e_key: -1.0}
        for rid, v in regions.items():
            key = f"customers[region={rid}]"
            values[key] = float(v)
            rel[key] = 1.0
            if is_small([v], k)[0]:
                primary.append(key)
            else:
                fixed.add(key)  # published by the region's own reports
        relations.append(rel)
        if is_small([values[e_key]], k)[0]:
            primary.append(e_key)
    relations.append(bank)
    if not primary:
        return {}
    table = LinearTable(values=values, relations=tuple(relations), fixed=frozenset(fixed))
    prot = protect(table, primary, k)
    if not prot.safe:
        logger.warning("region totals: %d withheld totals stay recoverable", len(prot.audit))
    return dict(prot.status)


def withhold_echelons(
    frame: pd.DataFrame,
    withheld_totals: Mapping[str, str],
    columns: Sequence[str] = ("customers", "aum", "aum_per_customer", "products_per_customer"),
) -> pd.DataFrame:
    """Echelon rows (the bars, or the monthly trends) with the customer and money figures of
    every echelon :func:`protect_region_totals` withholds set to NaN: a chart leaves them out.

    Examples
    --------
    >>> ech = pd.DataFrame({"echelon": [1, 2], "aum": [5.0, 3.0]})
    >>> withhold_echelons(ech, {"customers[echelon=1]": "secondary"})["aum"].tolist()
    [nan, 3.0]
    """
    out = frame.copy()
    hidden = out["echelon"].map(
        lambda e: bool(withheld_totals.get(f"customers[echelon={int(e)}]", ""))
    )
    for c in columns:
        if c in out.columns:
            out[c] = out[c].astype("float64").mask(hidden.to_numpy())
    return out


def protected_lorenz(
    aum: pd.Series | np.ndarray, k: int, p: float = 0.10, n_points: int = 101
) -> pd.DataFrame:
    """The Lorenz curve with points only where every step between two points holds at least
    ``k`` customers and passes the p% dominance rule.

    The plain curve (:func:`~bankanalysis.segmentation.composition.lorenz_curve`) has a point
    every 1 % of customers: in a region of fewer than ``100 k`` customers the last step is a
    group of fewer than ``k`` customers whose AUM share, times the region's published AUM, is
    their money -- down to one customer's in a region of under 100. Here the step is widened
    to ``k`` customers at least, and steps are merged from the top while the richest one's
    customers fail the p% rule (one or two of them hold nearly all of it). Points are exact
    (at whole customers), straight lines between them.

    Returns
    -------
    DataFrame
        ``customer_share``, ``aum_share``; empty when the region has fewer than ``2 k``
        customers or no AUM (no curve can be shown without revealing a small group).

    Examples
    --------
    >>> c = protected_lorenz(np.arange(1, 51), 10)
    >>> c["customer_share"].round(2).tolist()
    [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    """
    v = np.sort(np.clip(np.asarray(aum, dtype="float64"), 0, None))
    n = v.size
    empty = pd.DataFrame({"customer_share": [], "aum_share": []})
    if n < 2 * k or v.sum() <= 0:
        return empty
    step = max(int(np.ceil(n / max(n_points - 1, 1))), int(k))
    cuts = list(range(n, 0, -step))  # from the top: whole groups of `step` customers
    cuts = [c for c in cuts if c >= step] + [0]
    cuts = sorted(set(cuts))
    # merge from the top while the top group fails the p% rule
    while len(cuts) > 2:
        top = v[cuts[-2] :][::-1]
        rest = top[2:].sum()
        if rest >= p * top[0]:
            break
        cuts.pop(-2)
    cum = np.concatenate([[0.0], np.cumsum(v)]) / v.sum()
    return pd.DataFrame(
        {"customer_share": [c / n for c in cuts], "aum_share": [float(cum[c]) for c in cuts]}
    )


def run_counts(
    region_month: pd.DataFrame,
    month: str,
    region_id: str,
    k: int,
    region_n: Any,
    bank_n: Any,
) -> tuple[Any, Any, bool]:
    """A region report's customer counts of its region and of the bank, as the whole run
    publishes them (:func:`protect_region_totals`), and whether the region is smaller than
    ``k`` (its report shows :func:`region_banner`): the same answer in every report of a run.

    Examples
    --------
    >>> rm = pd.DataFrame({"month": "2025-03", "region_id": ["R1", "R2", "R3"],
    ...                    "echelon": [1, 1, 2], "customers": [500, 7, 300]})
    >>> r, b, small = run_counts(rm, "2025-03", "R2", 10, 7, 807)
    >>> str(r), str(b), small
    ('<10', 'x', True)
    >>> r, b, small = run_counts(rm, "2025-03", "R1", 10, 500, 807)
    >>> r, str(b), small
    (500, 'x', False)
    """
    status = protect_region_totals(region_month, month, k)
    small = status.get(f"customers[region={region_id}]") == PRIMARY or region_too_small(region_n, k)
    r = Suppressed(k) if small else region_n
    b = Suppressed(None, "secondary") if status.get("customers") else bank_n
    return r, b, small


def region_too_small(customers: Any, k: int) -> bool:
    """True when a region's whole customer base is 1 to ``k - 1`` customers (docs/privacy.md:
    its reports show no customer figure and the overview withholds it).

    Examples
    --------
    >>> region_too_small(7, 10), region_too_small(0, 10), region_too_small(120, 10)
    (True, False, False)
    """
    if isinstance(customers, Suppressed):
        return True
    return bool(is_small([float(customers)], k)[0])


def region_banner(region_name: str, k: int) -> str:
    """The banner a report of a region smaller than ``k`` shows instead of customer figures."""
    return (
        f"**{region_name} has fewer than {k} customers.** Figures about so few customers could "
        f"identify them: every figure about the region's customers (counts, money, shares, "
        f"rates) is withheld and shown as <{k}, and the totals that would give them back (its "
        "echelon's and the bank's) are withheld in every report of this run. Outlet operations "
        "that concern no customer are shown (docs/privacy.md)."
    )


def pipeline_dominance(
    tiers: pd.DataFrame,
    thresholds: Sequence[float],
    within: float,
    p: float = DEFAULT_DOMINANCE_P,
    by: str = "outlet_id",
) -> list[tuple[Any, str]]:
    """The ``(unit, target tier)`` cells of the upgrade pipeline whose AUM gap fails the p%
    rule (one or two customers need most of it), the band as
    :func:`~bankanalysis.segmentation.migration.upgrade_pipeline`.

    Examples
    --------
    >>> t = pd.DataFrame({"outlet_id": ["a"] * 3 + ["b"] * 3,
    ...                   "avg_aum": [45000.0, 49990, 49995, 46000, 47000, 48000],
    ...                   "tier": pd.Categorical(["mass"] * 6, categories=["mass", "quality"])})
    >>> pipeline_dominance(t, [50000], 0.10)
    [('a', 'quality')]
    """
    names = list(tiers["tier"].cat.categories)
    codes = tiers["tier"].cat.codes.to_numpy()
    aum = tiers["avg_aum"].to_numpy(dtype="float64")
    out: list[tuple[Any, str]] = []
    for i, t in enumerate(thresholds):
        band = (codes == i) & (aum >= t * (1 - within)) & (aum < t)
        if not band.any():
            continue
        gap = pd.Series(t - aum[band])
        unit = pd.Series(tiers[by].to_numpy()[band])
        hit = p_percent_sensitive(gap, unit, p)
        out.extend((u, names[i + 1]) for u in hit.index[hit.to_numpy()])
    return out


#: Columns of the upgrade pipeline table the disclosure step protects.
PIPELINE_COLUMNS: tuple[str, ...] = ("customers", "tier_customers", "pipeline_share", "aum_gap")


def pipeline_cell(column: str, row: Hashable) -> str:
    """The name of a pipeline cell in a joint problem with the upgrade table.

    Examples
    --------
    >>> pipeline_cell("customers", 3), pipeline_total("vip")
    ('pipeline.customers[row=3]', 'pipeline.customers[target_tier=vip]')
    """
    return f"pipeline.{column}[row={row}]"


def pipeline_total(target_tier: str) -> str:
    """The name of the pipeline's region count of a target tier in a joint problem."""
    return f"pipeline.customers[target_tier={target_tier}]"


def protect_pipeline(
    pipe: pd.DataFrame,
    k: int,
    dominated: Sequence[tuple[Any, str]] = (),
    by: str = "outlet_id",
    level: float = DEFAULT_PROTECTION_LEVEL,
    hidden_tiers: Sequence[str] = (),
    forced: Collection[str] = (),
) -> pd.DataFrame:
    """The upgrade pipeline (one row per unit and target tier) through the disclosure step:
    the same answer for the table, the chart and ``metrics.json``.

    Per target tier, the units' counts near the threshold add up to the region's count
    (``metrics.json``) and the counts of the tier below to the tier table's count; the AUM gaps
    of all rows add up to the region's upgrade AUM gap (the upgrade list's figure). Primary:
    a row whose tier below or whose count near the threshold is 1 to ``k - 1`` customers, and
    an AUM gap failing the p% rule (``dominated``, from :func:`pipeline_dominance`); secondary
    cells by :func:`protect_grid` (LP-audited). The share (count over the tier below) is
    withheld with either count. A region count that cannot stay published is withheld too
    (``attrs["withheld_totals"]``: ``{target tier: status}``). ``hidden_tiers`` are the tiers
    whose region count the tier table withholds (its ``count_protection``): the units' counts
    of such a tier below a threshold would add up to it, so they are withheld (``"x"``) for
    every unit, with the shares (a share and a shown count give the tier count back).
    ``forced`` names further cells to withhold (:func:`pipeline_cell`, :func:`pipeline_total`):
    what the joint step with the upgrade table found necessary
    (:func:`~bankanalysis.report.actions.protect_upgrade_pipeline`).

    Returns
    -------
    DataFrame
        Index of ``pipe``, columns :data:`PIPELINE_COLUMNS` (``""`` or a status);
        ``attrs["protection"]`` the list of :class:`Protection` objects (for the appendix),
        ``attrs["level"]`` the ``level`` it was protected with (the upgrade table's joint step
        audits with the same one).
    """
    status = pd.DataFrame("", index=pipe.index, columns=list(PIPELINE_COLUMNS))
    prots: list[Any] = []
    withheld: dict[str, str] = {}
    for target, rows in pipe.groupby("target_tier", sort=False):
        must = [
            _cell("customers", i) for i in rows.index if pipeline_cell("customers", i) in forced
        ]
        st = protect_grid(
            rows,
            ["customers", "tier_customers"],
            k,
            size="tier_customers",
            counts=["customers", "tier_customers"],
            withholdable_totals=["customers"],
            forced=must + (["customers"] if pipeline_total(str(target)) in forced else []),
        )
        status.loc[st.index, ["customers", "tier_customers"]] = st.to_numpy()
        prots.append(st.attrs["protection"])
        if "customers" in st.attrs["withheld_totals"]:
            withheld[str(target)] = st.attrs["withheld_totals"]["customers"]
    n = pipe["customers"].astype("float64")
    tier_n = pipe["tier_customers"].astype("float64")
    size = n.where(~pd.Series(is_small(tier_n, k), index=pipe.index), tier_n)
    dom = set(dominated)
    gap_rows = [i for i in pipe.index if (pipe.at[i, by], str(pipe.at[i, "target_tier"])) in dom]
    # the region's AUM gap is withheld with a list of 1 to k - 1 candidates (upgrade_metrics)
    few = bool(is_small([n.sum()], k)[0])
    st = protect_grid(
        pipe.assign(_size=size),
        ["aum_gap"],
        k,
        size="_size",
        money=["aum_gap"],
        level=level,
        dominated={"aum_gap": gap_rows},
        withholdable_totals=["aum_gap"] if few else (),
        forced=[_cell("aum_gap", i) for i in pipe.index if pipeline_cell("aum_gap", i) in forced],
    )
    status["aum_gap"] = st["aum_gap"]
    prots.append(st.attrs["protection"])
    below = {t: TIERS[i] for i, t in enumerate(TIERS[1:])}
    gone = pipe["target_tier"].astype(str).map(below).isin({str(t) for t in hidden_tiers})
    status.loc[gone & (status["tier_customers"] == ""), "tier_customers"] = SECONDARY
    status["pipeline_share"] = status["customers"].where(
        status["customers"] != "", status["tier_customers"]
    )
    status.attrs["protection"] = prots
    status.attrs["withheld_totals"] = withheld
    status.attrs["level"] = float(level)
    return status


def guard_target_counts(counts: dict[str, Any], total: int, k: int) -> dict[str, Any]:
    """The region's counts per target tier such that their published sum (``total``) gives no
    ``<k`` count back.

    A reader knows each ``<k`` count is 1 to ``k - 1`` and that all counts add up to
    ``total``: with the shown counts subtracted, two small targets under 12 candidates leave
    each 1 to 9, but under 17 only 8 or 9. While some ``<k`` count's interval is narrower than
    ``(k - 1) / 2`` (the protection interval of a count), the smallest shown count is withheld
    too (``"x"``: no bound of its own), and when none is left the ``<k`` counts are shown as
    ``"x"`` (each then lies anywhere from 0 to the total). Deterministic.

    Examples
    --------
    >>> from bankanalysis.report.format import Suppressed
    >>> c = {"a": 25, "b": Suppressed(10), "c": Suppressed(10)}
    >>> guard_target_counts(c, 28, 10)["a"]  # 28 - 25 = 3 pins b and c to 1 or 2
    Suppressed(k=10, why='secondary')
    >>> guard_target_counts(c, 35, 10) == c  # 10 left: b and c anywhere from 1 to 9
    True
    """
    out = dict(counts)

    def pinned() -> bool:
        small = [v for v in out.values() if isinstance(v, Suppressed) and v.why == "small"]
        free = any(isinstance(v, Suppressed) and v.why != "small" for v in out.values())
        if not small:
            return False
        rest = total - sum(int(v) for v in out.values() if not isinstance(v, Suppressed))
        others = len(small) - 1
        hi = min(k - 1, rest - others)
        lo = 1 if free else max(1, rest - others * (k - 1))
        return hi - lo < (k - 1) / 2

    while pinned():
        shown = sorted((int(v), key) for key, v in out.items() if not isinstance(v, Suppressed))
        if shown:
            out[shown[0][1]] = Suppressed(k, "secondary")
            continue
        for key, v in out.items():
            if isinstance(v, Suppressed) and v.why == "small":
                out[key] = Suppressed(k, "secondary")
        break
    return out
