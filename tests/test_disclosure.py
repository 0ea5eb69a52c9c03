"""The one small-group rule: 1 to k-1 customers withheld, zero shown, unknown withheld."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from bankanalysis.rules.disclosure import (
    is_small,
    is_small_part,
    suppress_small_cells,
    suppress_small_groups,
    suppressed_marker,
)


def test_a_share_of_a_count_is_small_when_the_customers_it_counts_are_few():
    """13.3 % of 30 leads is 4 customers who bought (small); 1/3 of 30 is 10, 0 % nobody, a
    missing share prints nothing; 3 of 7 at k = 3 is not small, 2 of 7 is."""
    assert is_small_part([4 / 30, 1 / 3, 0.0, math.nan], [30, 30, 15, 30], 10).tolist() == [
        True, False, False, False,
    ]  # fmt: skip
    assert is_small_part([3 / 7, 2 / 7], [7, 7], 3).tolist() == [False, True]


def test_is_small_withholds_one_to_k_minus_one_and_unknown():
    assert is_small([0, 1, 9, 10, 11, math.nan], 10).tolist() == [
        False,
        True,
        True,
        False,
        False,
        True,
    ]
    with pytest.raises(ValueError, match="at least 1"):
        is_small([1], 0)


def test_suppress_small_groups_blanks_every_figure_of_the_row():
    df = pd.DataFrame(
        {"tier": ["mass", "vip", "private_banking"], "customers": [120, 4, 0], "aum": [1e6, 3e6, 0]}
    )
    out = suppress_small_groups(df, "customers", 10)
    assert out["suppressed"].tolist() == [False, True, False]
    assert out.loc[1, ["customers", "aum"]].isna().all()
    assert out.loc[2, "aum"] == 0 and out.loc[0, "aum"] == 1e6
    assert df["aum"].tolist() == [1e6, 3e6, 0]  # input untouched


def test_suppress_small_cells_matrix():
    m = pd.DataFrame({"a": [0, 3, 12], "b": [10, 9, 1]})
    out = suppress_small_cells(m, 10)
    assert out["a"].tolist()[0] == 0 and math.isnan(out["a"][1]) and out["a"][2] == 12
    assert out["b"][0] == 10 and out["b"][1:].isna().all()


def test_marker_names_k():
    assert suppressed_marker(10) == "<10"
    assert suppressed_marker(None) == "<k"


# ------------------------------------------------- dominance rule and secondary suppression

from bankanalysis.rules.disclosure_secondary import (  # noqa: E402
    PRIMARY,
    LinearTable,
    audit,
    p_percent_sensitive,
    protect,
)


def test_p_percent_rule_hand_computed():
    v = pd.Series([100.0, 5.0, 3.0, 10.0, 10.0, 10.0, 50.0, 50.0, 0.0, 0.0, 9.0, 1.0, 1.0, 1.0])
    g = pd.Series(list("aaabbbccddeeee"))
    out = p_percent_sensitive(v, g, 0.10)
    # a: rest 3 < 10 % of 100; b: rest 10 >= 1; c: two customers, rest 0; d: no money;
    # e: 12 = 9 + 1 + (1 + 1), rest 2 >= 0.9
    assert out.to_dict() == {"a": True, "b": False, "c": True, "d": False, "e": False}
    assert p_percent_sensitive(v, g, 0.25)["e"] is np.True_  # rest 2 < 2.25


def _row(values, fixed=("n",)):
    """A one-row table: the parts add up to ``n``."""
    rel = {c: 1.0 for c in values if c != "n"} | {"n": -1.0}
    return LinearTable(values, (rel,), fixed=frozenset(fixed))


def test_hiding_one_small_cell_of_a_total_leaks_and_one_more_cell_stops_it():
    t = _row({"a": 50, "b": 30, "c": 4, "n": 84})
    leak = audit(t, {"c": "primary"}, 10).iloc[0]
    assert (leak["lower"], leak["upper"], leak["safe"]) == (4, 4, False)  # 84 - 50 - 30
    prot = protect(t, ["c"], 10)
    assert prot.status == {"c": "primary", "b": "secondary"}  # 30 < 50: the smaller one
    row = prot.audit.iloc[0]
    assert (row["lower"], row["upper"], row["safe"]) == (1, 9, True)  # c + b = 34, b >= 10
    assert prot.counts() == {"primary": 1, "secondary": 1}


def test_protect_starts_from_cells_another_table_already_withholds():
    # u = p1 + p2 (an outlet's upgrade figure and its two pipeline rows); the pipeline shows
    # p2 = 30 and withholds p1 = 3 (primary there); u + v = n is published. Shown, u gives p1
    # back (33 - 30); withheld alone, n - v does: v is withheld too.
    rels = ({"p1": 1.0, "p2": 1.0, "u": -1.0}, {"u": 1.0, "v": 1.0, "n": -1.0})
    t = LinearTable(
        {"p1": 3, "p2": 30, "u": 33, "v": 65, "n": 98}, rels, fixed=frozenset({"p2", "n"})
    )
    assert audit(t, {"p1": "primary"}, 10).iloc[0][["lower", "upper"]].tolist() == [3, 3]
    prot = protect(t, [], 10, hidden={"p1": "primary"})
    assert prot.status == {"p1": "primary", "u": "secondary", "v": "secondary"}
    assert prot.safe
    assert protect(t, [], 10).status == {}  # nothing withheld, nothing to protect


def test_two_small_cells_pinned_by_their_sum_need_a_third():
    # c1 + c2 = 5 with both in 1..9: c1 in [1, 4] is narrower than (10 - 1) / 2 = 4.5
    t = _row({"a": 100, "c1": 2, "c2": 3, "n": 105})
    before = audit(t, {"c1": "primary", "c2": "primary"}, 10).set_index("cell")
    assert before.loc["c1", ["lower", "upper"]].tolist() == [1, 4]
    assert not before["safe"].any()
    prot = protect(t, ["c1", "c2"], 10)
    assert prot.status == {"c1": "primary", "c2": "primary", "a": "secondary"}
    after = prot.audit.set_index("cell")
    assert after.loc["c1", ["lower", "upper"]].tolist() == [1, 9] and prot.safe


def test_money_needs_its_protection_interval():
    # shares of AUM: x = 0.2 hidden with y = 0.05: x + y = 0.25 -> x in [0, 0.25] < 0.2 * 1.5
    t = LinearTable(
        {"x": 0.2, "y": 0.05, "z": 0.75, "tot": 1.0},
        ({"x": 1, "y": 1, "z": 1, "tot": -1},),
        money=frozenset({"x", "y", "z", "tot"}),
        fixed=frozenset({"tot"}),
    )
    res = audit(t, {"x": "primary", "y": "secondary"}, 10).iloc[0]
    assert res["upper"] == pytest.approx(0.25) and not res["safe"]
    prot = protect(t, ["x"], 10)
    # y alone leaves x in [0, 0.25]: not enough; z (0.75) makes x in [0, 0.95]
    assert prot.status == {"x": "primary", "z": "secondary"} and prot.safe


def test_protect_is_deterministic_and_never_hides_zeros_or_fixed_cells():
    t = _row({"a": 0, "b": 12, "c": 12, "d": 3, "n": 27})
    first = protect(t, ["d"], 10)
    # b before c (tie 12 = 12: by name); d + b = 15 with b >= 10 leaves d in [1, 5], narrower
    # than 4.5 customers, so c goes too: d + b + c = 27 -> d in [1, 7]; a (zero) and n never
    assert first.status == {"d": "primary", "b": "secondary", "c": "secondary"}
    assert first.audit[["lower", "upper"]].iloc[0].tolist() == [1, 7]
    assert all(protect(t, ["d"], 10).status == first.status for _ in range(3))


def test_unmarked_cells_give_the_reader_no_small_group_bound():
    # a quarter of 25 printed, its three months printed nowhere: had they been shown as "<10"
    # (1 to 9 each) the quarter would pin each to 7 .. 9; printed nowhere, each is 0 .. 25
    values = {"jan": 9, "feb": 8, "mar": 8, "q": 25}
    rel = ({"jan": 1, "feb": 1, "mar": 1, "q": -1},)
    status = {"jan": PRIMARY, "feb": PRIMARY, "mar": PRIMARY}
    marked = audit(LinearTable(values, rel, fixed=frozenset({"q"})), status, 10)
    assert marked.set_index("cell").loc["jan", ["lower", "upper", "safe"]].tolist() == [
        7.0, 9.0, False
    ]  # fmt: skip
    months = frozenset({"jan", "feb", "mar"})
    table = LinearTable(values, rel, fixed=frozenset({"q"}), unmarked=months)
    unmarked = audit(table, status, 10).set_index("cell")
    assert unmarked.loc["jan", ["lower", "upper"]].tolist() == [0.0, 25.0]
    assert unmarked["safe"].all()


def test_fail_safe_takes_only_the_steps_that_protect_a_cell():
    from bankanalysis.rules.disclosure_secondary import FAILSAFE, LinearTable, fail_safe, protect

    # 14 lost = 13 ("x": at least 10) + 1 + 0: the 1 is pinned to 1 .. 4 by the markers
    t = LinearTable(
        {"a": 13, "b": 1, "c": 0, "d": 40, "lost": 14, "n": 54},
        ({"a": 1, "b": 1, "c": 1, "lost": -1}, {"a": 1, "d": 1, "n": -1}),
        fixed=frozenset({"lost", "n"}),
    )
    greedy = protect(t, ["b"], 10)
    assert not greedy.safe
    assert greedy.audit[["lower", "upper"]].values.tolist() == [[1.0, 4.0]]
    # a step that cannot help (d, withheld already, is not in b's relation) is skipped
    useless = fail_safe(t, greedy, [lambda cell: ["d"]], 10)
    assert useless is greedy and not useless.failsafe
    # the column of lost customers under the fail-safe marker: b is 0 .. 14
    f = fail_safe(t, greedy, [lambda cell: ["d"], lambda cell: ["a", "b", "c"]], 10)
    assert f.safe and f.failsafe == frozenset({"a", "b", "c"})
    assert f.audit[["lower", "upper"]].values.tolist() == [[0.0, 14.0]]
    assert f.status["c"] == FAILSAFE and f.counts() == {"primary": 1, "secondary": 2, FAILSAFE: 1}
    assert f.shown_status("b") == FAILSAFE and f.shown_status("d") == "secondary"
    assert f.shown_status("lost") == ""


def test_failsafe_steps_go_from_the_narrowest_grouping_to_every_cell():
    from bankanalysis.rules.disclosure_secondary import failsafe_steps

    cells = ["r1[m1]", "r1[m2]", "r2[m1]", "r3[m1]", "r3[m2]"]
    echelon = {"r1": "e1", "r2": "e1", "r3": "e2"}

    def row_and_echelon(c: str) -> set:
        return {("row", c[:2]), ("echelon", echelon[c[:2]], c[3:5])}

    def row_and_column(c: str) -> set:
        return {("row", c[:2]), ("column", c[3:5])}

    steps = failsafe_steps(cells, row_and_echelon, row_and_column)
    assert [sorted(s("r1[m1]")) for s in steps] == [
        ["r1[m1]", "r1[m2]", "r2[m1]"],
        ["r1[m1]", "r1[m2]", "r2[m1]", "r3[m1]"],
        cells,
    ]
