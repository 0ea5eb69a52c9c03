"""The relations :func:`~bankanalysis.report.disclosure_grid.protect_grid` reads from other
published tables: the parts of its cells printed in another table (``parts``), the cards of
another table its rows make together with figures printed nowhere (``covers``: an outlet's card
and its managers'), and the covers' own row sums. See ``docs/privacy.md``, "Per-unit tables".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Hashable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import pandas as pd

from bankanalysis.report.format import is_missing
from bankanalysis.rules.disclosure_secondary import FAILSAFE, PRIMARY, SECONDARY

__all__ = [
    "add_cover_row_sums",
    "add_covers",
    "add_parts",
    "add_row_sums",
    "cell_name",
    "cover_caps",
]


def cell_name(col: str, row: Hashable) -> str:
    """A cell's name in :func:`~bankanalysis.report.disclosure_grid.protect_grid`.

    Examples
    --------
    >>> cell_name("customers_vip", "O1")
    'customers_vip[row=O1]'
    """
    return f"{col}[row={row}]"


def _columns(
    linked: Mapping[str, Mapping[Hashable, object]],
    frame: pd.DataFrame,
    values: Mapping[str, float],
    scales: Mapping[str, float],
) -> Iterator[tuple[str, Mapping[Hashable, Any], float]]:
    """The columns of ``linked`` (``parts`` or ``covers``) that the problem has, each with its
    rows or units and its money scale (1 for counts)."""
    for col, by_row in linked.items():
        if col in frame.columns and col in values:
            yield col, by_row, scales.get(col, 1.0)


def _add_linked_cell(
    name: str,
    value: float,
    status: str,
    money: bool,
    values: dict[str, float],
    money_cells: set[str],
    fixed: set[str],
    hidden: dict[str, str],
) -> None:
    """A cell of another table in the problem: its (scaled) value, money or count; fixed when
    that table shows it, else withheld with its status (a small group's or a dominated cell's
    as primary) in ``hidden``."""
    values[name] = value
    if money:
        money_cells.add(name)
    if status:
        hidden[name] = status if status in (SECONDARY, FAILSAFE) else PRIMARY
    else:
        fixed.add(name)


def add_parts(
    parts: Mapping[str, Mapping[Hashable, Mapping[str, tuple[float, str]]]],
    frame: pd.DataFrame,
    values: dict[str, float],
    relations: list[dict[str, float]],
    money_cells: set[str],
    fixed: set[str],
    scales: Mapping[str, float],
) -> dict[str, str]:
    """Add the cells of another table that sum to cells of this one (``protect_grid``'s
    ``parts``) to the problem: values (money on this column's scale), one relation per cell,
    shown parts fixed. Returns the withheld parts' status for ``protect(hidden=...)``."""
    hidden: dict[str, str] = {}
    for col, rows, scale in _columns(parts, frame, values, scales):
        money = col in money_cells
        for row, cells in rows.items():
            key = cell_name(col, row)
            if key not in values:
                continue
            for name, (v, st) in cells.items():
                _add_linked_cell(
                    name, float(v) / scale, st, money, values, money_cells, fixed, hidden
                )
            relations.append({key: -1.0, **dict.fromkeys(cells, 1.0)})
    return hidden


def add_covers(
    covers: Mapping[str, Mapping[Hashable, tuple[float, str, Sequence[Hashable]]]],
    frame: pd.DataFrame,
    values: dict[str, float],
    relations: list[dict[str, float]],
    money_cells: set[str],
    fixed: set[str],
    scales: Mapping[str, float],
    hidden: dict[str, str],
) -> frozenset[str]:
    """Add ``protect_grid``'s ``covers``: per cover, its cell (fixed when shown, else in
    ``hidden`` with its status) and the rest printed nowhere (hidden, at least 0), in one
    relation with the rows inside it. Returns the rests (unmarked: no ``<k`` bounds them)."""
    rests: set[str] = set()
    for col, units, scale in _columns(covers, frame, values, scales):
        money = col in money_cells
        for unit, (v, st, rows) in units.items():
            inside = [cell_name(col, r) for r in rows if cell_name(col, r) in values]
            if not inside or is_missing(v):
                continue
            rest = float(v) / scale - sum(values[c] for c in inside)
            if rest < -1e-9:  # the rows are not all inside it: no relation
                continue
            key, left = f"cover.{col}[unit={unit}]", f"cover.rest.{col}[unit={unit}]"
            _add_linked_cell(key, float(v) / scale, st, money, values, money_cells, fixed, hidden)
            # the rest (customers without a manager) is printed nowhere: withheld, at least 0
            _add_linked_cell(
                left, max(rest, 0.0), SECONDARY, money, values, money_cells, fixed, hidden
            )
            relations.append({**dict.fromkeys(inside, 1.0), left: 1.0, key: -1.0})
            rests.add(left)
    return frozenset(rests)


def add_row_sums(
    units: Iterable[Hashable],
    row_sums: Mapping[str, Sequence[str]],
    name: Callable[[str, Hashable], str],
    values: Mapping[str, float],
    relations: list[dict[str, float]],
) -> None:
    """For each sum of ``row_sums`` (``{total: parts}``: a card's customers are its tiers'),
    then each unit, the relation ``total = sum(parts)`` over the cells ``name(column, unit)``;
    a unit missing one of them sets up none.

    Examples
    --------
    >>> rel = []
    >>> add_row_sums(["O1", "O2"], {"n": ["a", "b"]}, cell_name,
    ...              {"n[row=O1]": 5, "a[row=O1]": 2, "b[row=O1]": 3, "n[row=O2]": 4}, rel)
    >>> rel
    [{'n[row=O1]': -1.0, 'a[row=O1]': 1.0, 'b[row=O1]': 1.0}]
    """
    units = list(units)
    for total, parts in row_sums.items():
        for unit in units:
            names = [name(c, unit) for c in (total, *parts)]
            if all(n in values for n in names):
                relations.append({names[0]: -1.0} | dict.fromkeys(names[1:], 1.0))


def add_cover_row_sums(
    covers: Mapping[str, Mapping[Hashable, object]],
    row_sums: Mapping[str, Sequence[str]],
    values: Mapping[str, float],
    relations: list[dict[str, float]],
) -> None:
    """The covers' own cards add up like the rows (``row_sums``: an outlet's customers are
    its tiers'), so a cover's withheld tier is not protected by the managers' cells alone:
    the default bank's R05 printed an outlet's 362 customers, mass 291 and quality 55, so its
    VIP ``x`` and private banking ``<10`` made 16, and a manager's 14 VIP customers inside it
    left private banking 1 or 2."""
    units = sorted({u for by_unit in covers.values() for u in by_unit}, key=str)
    add_row_sums(units, row_sums, lambda c, u: f"cover.{c}[unit={u}]", values, relations)


def cover_caps(
    covers: Mapping[str, Mapping[Hashable, tuple[float, str, Sequence[Hashable]]]],
    columns: Collection[str],
) -> dict[str, float]:
    """The widest protection a part of a printed cover can have, for the cells of ``columns``
    (operational figures: an outlet's contacts, product sales): a manager's share of an
    outlet's printed contacts is 0 to that figure whatever is withheld, so it is protected to
    that range at most (:attr:`~bankanalysis.rules.disclosure_secondary.LinearTable.caps`);
    a withheld cover caps nothing. Policy item 2 of docs/privacy.md prints these figures of
    the outlets.

    Examples
    --------
    >>> cover_caps({"contacts": {"O1": (3.0, "", ["M1", "M2"]), "O2": (7.0, "primary", ["M3"])}},
    ...            ["contacts"])
    {'contacts[row=M1]': 3.0, 'contacts[row=M2]': 3.0}
    """
    caps: dict[str, float] = {}
    for col, units in covers.items():
        if col not in columns:
            continue
        for v, st, rows in units.values():
            if st or is_missing(v):
                continue
            for r in rows:
                caps[cell_name(col, r)] = min(caps.get(cell_name(col, r), math.inf), float(v))
    return caps
