"""The cells of a published table as an attacker reads them: their statuses, values,
relations and bounds (:class:`LinearTable`), shared by the audit
(:mod:`bankanalysis.rules.disclosure_secondary`), the search's programme
(:mod:`bankanalysis.rules.disclosure_choice`) and the pieces' solver
(:mod:`bankanalysis.rules.disclosure_pieces`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

__all__ = [
    "DEFAULT_DOMINANCE_P",
    "DEFAULT_PROTECTION_LEVEL",
    "FAILSAFE",
    "PRIMARY",
    "SECONDARY",
    "LinearTable",
    "relation_entries",
    "withholdable",
]

#: Status of a cell hidden because it is sensitive itself.
PRIMARY = "primary"
#: Status of a cell hidden so that a primary cell cannot be worked out from the others.
SECONDARY = "secondary"
#: Status of a cell withheld by :func:`fail_safe` (it was published before the fail-safe).
FAILSAFE = "fail-safe"

#: ``p`` of the p% dominance rule (acro's and many statistical offices' default, 10 %).
DEFAULT_DOMINANCE_P = 0.10
#: Half-width of a money cell's protection interval, as a fraction of its value.
DEFAULT_PROTECTION_LEVEL = 0.5

_TOL = 1e-7


@dataclass(frozen=True)
class LinearTable:
    """Cells and the linear relations an attacker can read from what is published.

    Attributes
    ----------
    values : dict
        True value of every cell (counts as integers; money best as shares of a total so the
        solver's tolerances apply).
    relations : tuple of dict
        Each relation ``{cell: coefficient}`` says ``sum(coefficient * value) == 0``; a total
        is a cell with coefficient -1.
    money : frozenset
        Cells holding money (continuous, protection ``value x (1 -/+ level)``); others are
        customer counts (integers, protection ``1 .. k - 1``).
    fixed : frozenset
        Cells that stay published whatever happens (e.g. the region's customer total, shown
        elsewhere); never chosen for secondary suppression.
    unmarked : frozenset
        Cells printed nowhere (a month a change or a quarter sum stands on): when withheld the
        reader sees no ``"<k"`` marker for them, so they are bounded by 0 only, even when small.
    rests : frozenset
        Hidden cells that stand for figures printed nowhere (an outlet's customers without a
        manager, beside its managers' cards): unknowns of the relations they are in, but no
        reason to look for secondary cells next to them (:func:`_candidates`).
    caps : dict
        ``{cell: width}``: the widest protection interval a count can have because a figure
        published whatever this table withholds bounds it (a manager's share of an outlet's
        printed contacts is 0 to that figure): its interval must be at least
        ``min((k - 1) / 2, width)`` wide.
    """

    values: Mapping[str, float]
    relations: tuple[Mapping[str, float], ...]
    money: frozenset[str] = field(default_factory=frozenset)
    fixed: frozenset[str] = field(default_factory=frozenset)
    unmarked: frozenset[str] = field(default_factory=frozenset)
    rests: frozenset[str] = field(default_factory=frozenset)
    caps: Mapping[str, float] = field(default_factory=dict)

    def neighbours(self, cell: str) -> set[str]:
        """Cells sharing a relation with ``cell``."""
        out: set[str] = set()
        for rel in self.relations:
            if cell in rel:
                out.update(rel)
        out.discard(cell)
        return out


def _bounds(table: LinearTable, cell: str, status: str, k: int) -> tuple[float, float | None]:
    if cell in table.money or cell in table.unmarked:
        return 0.0, None
    value = float(table.values[cell])
    if status == PRIMARY and 0 < value < k:
        return 1.0, float(k - 1)  # the "<k" marker says so
    if status == SECONDARY and value >= k:
        return float(k), None  # not shown as "<k", so not small; zeros are never hidden
    return 0.0, None


def _safe(table: LinearTable, cell: str, lo: float, hi: float, k: int, level: float) -> bool:
    value = float(table.values[cell])
    tol = _TOL * max(1.0, abs(value))
    if cell in table.money:
        return lo <= value * (1 - level) + tol and hi >= value * (1 + level) - tol
    if 0 < value < k:
        return hi - lo >= min((k - 1) / 2, table.caps.get(cell, math.inf)) - tol
    return True  # a zero or large count hidden for another reason: nothing required


def withholdable(table: LinearTable, cell: str, k: int) -> bool:
    """Whether a published ``cell`` may be withheld as a secondary cell: never fixed, never
    zero, a count of at least ``k`` (one of 1 to ``k - 1`` is primary) or money."""
    v = float(table.values[cell])
    return cell not in table.fixed and v != 0 and (cell in table.money or v >= k)


def relation_entries(
    relations: Iterable[Mapping[str, float]], pos: Mapping[str, int]
) -> Iterable[tuple[int, int, float]]:
    """The coefficients of ``relations`` (each one row, ``sum coef * cell = 0``) as
    ``(row, column, coefficient)``, a cell's column given by ``pos``: the ``entries`` of
    :func:`bankanalysis.lp.highs_model`."""
    for i, rel in enumerate(relations):
        for c, coef in rel.items():
            yield i, pos[c], float(coef)
