"""Tests of the search's programme (bankanalysis.rules.disclosure_choice)."""

from __future__ import annotations

import numpy as np
import pytest

from bankanalysis.rules.disclosure_choice import WarmChoice, goals, programme_choice
from bankanalysis.rules.disclosure_secondary import (
    PRIMARY,
    SECONDARY,
    LinearTable,
    _Intervals,
    audit,
)
from bankanalysis.rules.disclosure_table import withholdable


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


def _cards(seed: int, units: int, k: int = 10) -> tuple[LinearTable, dict[str, str]]:
    """Tier columns adding up to published totals, each card's customers its tiers' sum
    (one component of every small tier count), and the small counts as primary."""
    rng = np.random.default_rng(seed)
    values: dict[str, float] = {}
    relations = []
    tiers = {"mass": 40, "quality": 12, "vip": 5, "pb": 1}
    for col, scale in tiers.items():
        rel = {f"{col}[{u}]": 1.0 for u in range(units)}
        values.update({c: float(rng.poisson(scale)) for c in rel})
        values[col] = sum(values[c] for c in rel)
        relations.append({**rel, col: -1.0})
    for u in range(units):
        values[f"customers[{u}]"] = sum(values[f"{c}[{u}]"] for c in tiers)
        relations.append({**{f"{c}[{u}]": 1.0 for c in tiers}, f"customers[{u}]": -1.0})
    status = {c: PRIMARY for c, v in values.items() if 0 < v < k}
    return LinearTable(values, tuple(relations), fixed=frozenset(tiers)), status


def _reaches_both_goals(table: LinearTable, status: dict[str, str], target: str) -> bool:
    lo, hi = _Intervals(table, 10).interval(status, target)
    g_lo, g_hi = goals(table, target, 10, 0.5)
    return lo <= g_lo + 1e-6 and hi >= g_hi - 1e-6


def _linked(table: LinearTable, status: dict[str, str], target: str) -> set[str]:
    """The cells linked to ``target`` through withheld or withholdable cells."""
    cells, stack = {target}, [target]
    while stack:
        c = stack.pop()
        for rel in table.relations:
            if c in rel:
                for d in rel:
                    if d not in cells and (d in status or withholdable(table, d, 10)):
                        cells.add(d)
                        stack.append(d)
    return cells


def test_the_warm_model_answers_every_question_as_the_programme_built_for_it():
    """One model of the whole table asked in turn about several targets while cells are
    withheld between questions (bounds and costs changed, the basis kept) gives what the
    programme built for each question gives: no answer where it has none, else cells whose
    withholding lets the target reach both goals, all linked to it through unknowns (the
    cells named may differ where the cheapest point is not unique)."""
    table, status = _cards(7, 40)
    warm = WarmChoice(table, 10, 0.5)
    asked = 0
    for target in sorted(status)[:30]:
        fresh = programme_choice(table, status, target, 10, 0.5)
        got = warm.choose(status, target)
        assert (got is None) == (fresh is None), target
        if got:
            asked += 1
            withheld = {**status, **dict.fromkeys(got, SECONDARY)}
            assert _reaches_both_goals(table, withheld, target), (target, got)
            assert set(got) <= _linked(table, status, target), (target, got)
            status = withheld  # the next question sees the cells withheld by this one
    assert asked >= 5 and warm.solved >= 2 * asked


def test_a_pinned_cell_gets_no_answer_and_the_model_answers_the_next_question():
    """The lost customer pinned by its published total has no point (the solver says
    infeasible); the same model then answers the free cell beside it."""
    t = LinearTable(
        {"a": 13, "b": 1, "c": 0, "lost": 14, "d": 3, "e": 40, "f": 43},
        ({"a": 1, "b": 1, "c": 1, "lost": -1}, {"d": 1, "e": 1, "f": -1}),
        fixed=frozenset({"lost", "f"}),
    )
    warm = WarmChoice(t, 10, 0.5)
    status = {"b": PRIMARY, "d": PRIMARY}
    assert warm.choose(status, "b") is None
    assert warm.choose(status, "d") == ["e"]
    assert bool(audit(t, {**status, "e": SECONDARY}, 10).set_index("cell").loc["d", "safe"])
