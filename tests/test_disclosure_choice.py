"""Tests of the search's programme (bankanalysis.rules.disclosure_choice)."""

from __future__ import annotations

import pytest

from bankanalysis.rules.disclosure_choice import goals, programme_choice
from bankanalysis.rules.disclosure_secondary import PRIMARY, SECONDARY, LinearTable, audit


def test_the_programme_names_cells_that_reach_both_goals_or_none_when_pinned():
    """Three tiers and their published total: the 4 must reach 1 and 6, so a published tier
    gives and takes 3 and 2 (b, the smaller: the cheaper point is not unique, either is
    safe); a lost customer pinned by a published total of 14 beside a 13 shown `x` (at least
    10) reaches no goal above 4 whatever is withheld."""
    t = LinearTable(
        {"a": 50, "b": 30, "c": 4, "n": 84},
        ({"a": 1, "b": 1, "c": 1, "n": -1},),
        fixed=frozenset({"n"}),
    )
    assert goals(t, "c", 10, 0.5) == (1.0, 6.0)
    chosen = programme_choice(t, {"c": PRIMARY}, "c", 10, 0.5)
    assert chosen and set(chosen) <= {"a", "b"}
    status = {"c": PRIMARY, **dict.fromkeys(chosen, SECONDARY)}
    assert bool(audit(t, status, 10)["safe"].all())
    pinned = LinearTable(
        {"a": 13, "b": 1, "c": 0, "lost": 14},
        ({"a": 1, "b": 1, "c": 1, "lost": -1},),
        fixed=frozenset({"lost"}),
    )
    assert programme_choice(pinned, {"b": PRIMARY}, "b", 10, 0.5) is None
    # money: the goals are the value -/+ the protection level
    m = LinearTable({"x": 0.2}, (), money=frozenset({"x"}))
    assert goals(m, "x", 10, 0.5) == pytest.approx((0.1, 0.3))
