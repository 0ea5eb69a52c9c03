"""Feasible intervals piece by piece, and the warm-started model with points for large pieces,
give the answers of one programme per cell (the joint new/lost decision at 120 regions)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bankanalysis.rules import disclosure_pieces as dp
from bankanalysis.rules.disclosure_pieces import PieceIntervals
from bankanalysis.rules.disclosure_secondary import PRIMARY, SECONDARY, LinearTable, audit

#: Two pieces: c (4) with b (30) against the published 84 and 50; d (3) and e (9) against
#: the published 12.
TWO = LinearTable(
    {"a": 50, "b": 30, "c": 4, "n": 84, "d": 3, "e": 9, "m": 12, "f": 7},
    ({"a": 1, "b": 1, "c": 1, "n": -1}, {"d": 1, "e": 1, "m": -1}),
    fixed=frozenset({"n", "m"}),
)
STATUS = {"c": PRIMARY, "b": SECONDARY, "d": PRIMARY, "e": PRIMARY}


@pytest.mark.parametrize("small", [60, 0])
def test_a_cells_interval_in_its_piece_is_its_interval_in_the_whole_table(
    small: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """By hand: b = 34 - c with b >= 10 ("x") and c in 1..9 gives c in [1, 9]; d + e = 12
    with both in 1..9 gives d in [3, 9], e in [3, 9]. The same whether each piece is its own
    programme (small pieces) or both are solved in one model of the whole table (``small=0``:
    every piece goes to the model), and :func:`audit`'s."""
    monkeypatch.setattr(dp, "SMALL_PIECE", small)
    pieces = PieceIntervals(TWO, 10)
    assert pieces.interval(STATUS, "c") == (1.0, 9.0)
    assert pieces.interval(STATUS, "d") == (3.0, 9.0)
    assert pieces.interval(STATUS, "e") == (3.0, 9.0)
    assert pieces.audit(STATUS)[["cell", "safe"]].values.tolist() == [
        ["c", True],
        ["d", True],
        ["e", True],
    ]
    assert audit(TWO, STATUS, 10)["safe"].tolist() == [True, True, True]
    # b published again: c = 84 - 50 - 30 = 4, pinned; the model's bounds follow the status
    fewer = {c: s for c, s in STATUS.items() if c != "b"}
    assert pieces.interval(fewer, "c") == (4.0, 4.0)
    assert not pieces.safe(fewer, "c") and pieces.safe(STATUS, "c")


@pytest.mark.parametrize("small", [60, 0])
def test_a_relation_between_two_pieces_makes_them_one(
    small: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """c + d = 7 published (f) joins the pieces: c = 7 - d with d in [3, 9] gives c in
    [1, 4] (3 wide, narrower than 4.5) and d in [3, 6], e = 12 - d in [6, 9]. Solving the two
    pieces apart would have said 1 .. 9 for c: pieces must share no withheld cell."""
    monkeypatch.setattr(dp, "SMALL_PIECE", small)
    linked = LinearTable(
        TWO.values, (*TWO.relations, {"c": 1, "d": 1, "f": -1}), fixed=frozenset({"n", "m", "f"})
    )
    pieces = PieceIntervals(linked, 10)
    assert pieces.interval(STATUS, "c") == (1.0, 4.0)
    assert pieces.interval(STATUS, "d") == (3.0, 6.0)
    assert pieces.interval(STATUS, "e") == (6.0, 9.0)
    got = pieces.audit(STATUS)
    assert got[["cell", "safe"]].values.tolist() == [["c", False], ["d", False], ["e", False]]
    pd.testing.assert_frame_equal(got, audit(linked, STATUS, 10), check_exact=True)


def _months_table(seed: int, units: int = 14, months: int = 6) -> tuple[LinearTable, dict]:
    """New-customer-like counts: units x months, mostly 1 to 9, each unit's total and each
    month's total published; most cells withheld (one piece), a few published."""
    rng = np.random.default_rng(seed)
    values: dict[str, float] = {}
    relations = []
    status: dict[str, str] = {}
    grid = rng.integers(1, 16, size=(units, months)).astype(float)
    for u in range(units):
        rel = {f"x[{u},{m}]": 1.0 for m in range(months)}
        values[f"row[{u}]"] = float(grid[u].sum())
        relations.append({**rel, f"row[{u}]": -1.0})
    for m in range(months):
        values[f"col[{m}]"] = float(grid[:, m].sum())
        relations.append({**{f"x[{u},{m}]": 1.0 for u in range(units)}, f"col[{m}]": -1.0})
    for u in range(units):
        for m in range(months):
            v = float(grid[u, m])
            values[f"x[{u},{m}]"] = v
            if v < 10:
                status[f"x[{u},{m}]"] = PRIMARY
            elif rng.random() < 0.5:
                status[f"x[{u},{m}]"] = SECONDARY
    fixed = frozenset(c for c in values if not c.startswith("x["))
    return LinearTable(values, tuple(relations), fixed=fixed), status


@pytest.mark.parametrize("seed", [3, 4])
def test_an_audit_settled_by_points_gives_the_same_safe_cells_as_one_programme_per_cell(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every cell in one piece, solved by the model (``SMALL_PIECE = 0``): the points settle
    most primary cells; ``safe`` is :func:`audit`'s for every cell, the bounds of an unsafe cell
    are exactly its interval, and a safe cell's bounds lie inside its interval."""
    monkeypatch.setattr(dp, "SMALL_PIECE", 0)
    table, status = _months_table(seed)
    pieces = PieceIntervals(table, 10)
    got = pieces.audit(status)
    want = audit(table, status, 10)
    assert got["cell"].tolist() == want["cell"].tolist()
    assert got["safe"].tolist() == want["safe"].tolist()
    assert got["safe"].any()
    unsafe = ~want["safe"]
    cols = ["lower", "upper"]
    assert got.loc[unsafe, cols].values.tolist() == want.loc[unsafe, cols].values.tolist()
    assert (got["lower"] >= want["lower"]).all() and (got["upper"] <= want["upper"]).all()
    # far fewer programmes than two per primary cell
    assert pieces.solved < 2 * len(want)


def test_an_unsafe_cell_of_a_large_piece_is_found_and_its_interval_is_exact(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A unit whose five other months are published gives its one withheld month back by its
    published total (its total less the five), though the month's total puts it in the same
    piece as the other withheld cells: the audit says so, with the value as both bounds."""
    monkeypatch.setattr(dp, "SMALL_PIECE", 0)
    table, status = _months_table(3)
    cell = min(c for c, s in status.items() if s == PRIMARY)  # x[0,m], 1 to 9
    unit = cell.split(",")[0]
    status = {c: s for c, s in status.items() if c == cell or not c.startswith(unit + ",")}
    value = float(table.values[cell])
    assert 1 <= value <= 9
    got = PieceIntervals(table, 10).audit(status).set_index("cell")
    assert (got.loc[cell, "lower"], got.loc[cell, "upper"]) == (value, value)
    assert not got.loc[cell, "safe"]
    assert len(got) > 20  # one piece of many withheld cells
