"""The migration table's fail-safe: small regions whose published cohort totals pin a cell."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from attacker import attack_flows
from disclosure_data import K, _flows

from bankanalysis.report import disclosure_migration as dm
from bankanalysis.report.disclosure import failsafe_note, protection_summary
from bankanalysis.report.segmentation import flows_table
from bankanalysis.rules.disclosure_secondary import FAILSAFE, protect
from bankanalysis.rules.tiers import TIERS

#: A region of about 200 customers (the 120-region bank's R044): quality loses 1 customer,
#: mass 13, so the 14 lost customers the run publishes (the overview's stock retention) pin the
#: quality one to 1 .. 4 once mass's 13 shows as "x" (at least 10).
LOST_ONE = pd.DataFrame(
    [[25, 1, 2, 0, 0], [141, 2, 0, 0, 13], [1, 25, 1, 0, 1], [0, 0, 8, 0, 0], [0, 0, 0, 0, 0]],
    index=["new", *TIERS],
    columns=[*TIERS, "closed"],
)
#: The 120-region bank's R057: 8 lost customers, all mass (a small total, yet printed by the
#: overview), and one new private-banking customer among 16 new ones.
LOST_EIGHT = pd.DataFrame(
    [[13, 2, 0, 1, 0], [80, 1, 0, 0, 8], [0, 14, 1, 0, 0], [0, 0, 3, 0, 0], [0, 0, 0, 0, 0]],
    index=["new", *TIERS],
    columns=[*TIERS, "closed"],
)


def _table(mig: dm.MigrationProtection) -> list[list[str]]:
    return flows_table(mig.flows, "t0", "t1", K).frame.iloc[:, :10].values.tolist()


def _greedy_only(matrix: pd.DataFrame, monkeypatch: pytest.MonkeyPatch) -> dm.MigrationProtection:
    """What the step published before the fail-safe: the greedy search's pattern alone."""
    with monkeypatch.context() as m:
        m.setattr(dm, "fail_safe", lambda table, prot, *args, **kwargs: prot)
        return dm.protect_migration(matrix, _flows(matrix), K)


def test_a_lost_customer_pinned_by_the_published_lost_customers_is_withheld_with_its_column(
    monkeypatch,
):
    table, primary, _ = dm.migration_table(LOST_ONE, K)
    greedy = protect(table, primary, K)
    audit = greedy.audit.set_index("cell")
    # the search gives up: 14 lost - mass's 13 ("x": at least 10) leaves quality's 1 at most 4
    assert not greedy.safe
    assert audit.loc["transitions[from=quality,to=closed]", ["lower", "upper"]].tolist() == [1, 4]
    before = attack_flows(_table(_greedy_only(LOST_ONE, monkeypatch)), K, lost=14)
    assert [f for f in before if not f[4]] == [("Quality", "lost", 1.0, 4.0, False)]

    mig = dm.protect_migration(LOST_ONE, _flows(LOST_ONE), K)
    assert mig.protection.safe
    # the closed column and quality's row are withheld under the fail-safe marker
    assert sorted(mig.protection.failsafe) == [
        "transitions[from=mass,to=closed]",
        "transitions[from=private_banking,to=closed]",
        "transitions[from=quality,to=closed]",
        "transitions[from=quality,to=mass]",
        "transitions[from=quality,to=private_banking]",
        "transitions[from=quality,to=quality]",
        "transitions[from=quality,to=vip]",
        "transitions[from=vip,to=closed]",
    ]
    rows = _table(mig)
    assert [r[9] for r in rows] == ["withheld"] * 4  # Lost: every tier, zeros included
    assert rows[1][8] == "withheld"  # quality's one downgrade (its row)
    after = {(f[0], f[1]): f[2:4] for f in attack_flows(rows, K, lost=14)}
    assert after[("Quality", "lost")] == (0.0, 14.0)
    assert all(f[4] for f in attack_flows(rows, K, lost=14))
    # the heat map leaves the same cells out and names them
    assert np.isnan(mig.matrix.loc["quality", "closed"]) and np.isnan(
        mig.matrix.loc["vip", "closed"]
    )
    assert mig.matrix.attrs["markers"][2] == ["withheld"] * 5
    # a secondary cell reads "x" (mass to mass, 141), a small one "<k" (the default, "")
    assert mig.matrix.attrs["markers"][1][:2] == ["x", ""]
    # the appendix counts the cells the fail-safe added (primary and secondary ones keep theirs)
    assert mig.protection.counts()[FAILSAFE] == 3
    assert protection_summary(mig)[FAILSAFE] == 3
    assert failsafe_note(mig).startswith(
        "Cells withheld by the fail-safe of the disclosure step: 3 "
    )


def test_a_small_total_of_lost_customers_printed_by_the_overview_pins_nothing(monkeypatch):
    # 8 lost, all of them mass: the old step took the total as withheld (01 shows "<10"), but
    # the overview's stock retention gives it, and with it mass's 8
    before = attack_flows(_table(_greedy_only(LOST_EIGHT, monkeypatch)), K, lost=8)
    assert ("Mass", "lost", 8.0, 8.0, False) in before
    mig = dm.protect_migration(LOST_EIGHT, _flows(LOST_EIGHT), K)
    assert mig.protection.safe
    rows = _table(mig)
    found = attack_flows(rows, K, lost=8)
    assert found and all(f[4] for f in found), found
    lost = {f[0]: f[2:4] for f in found if f[1] == "lost"}
    assert lost["Mass"] == (0.0, 8.0)
    # the new private-banking customer: 1 .. 9, as its "<10" says
    assert {(f[0], f[1]): f[2:4] for f in found}[("Private banking", "new_in")] == (1.0, 9.0)


def test_the_fail_safe_leaves_a_safe_table_as_it_was():
    from disclosure_data import MATRIX

    mig = dm.protect_migration(MATRIX, _flows(MATRIX), K)
    assert mig.protection.safe and not mig.protection.failsafe
    assert FAILSAFE not in mig.protection.counts()
    assert failsafe_note(mig) == ""


def test_a_small_count_of_lost_customers_keeps_its_rates_withheld_in_01():
    from bankanalysis.report import segmentation as rs

    mig = dm.protect_migration(LOST_EIGHT, _flows(LOST_EIGHT), K)
    kpis = pd.Series(
        {
            "stock_retention": 99 / 107,
            "upward_migration_rate": 2 / 107,
            "downward_migration_rate": 0.0,
            "attrition_rate": 8 / 107,
            "base_customers": 107,
            "lost_customers": 8,
            "upgraded_customers": 2,
            "downgraded_customers": 0,
            "gained_customers": 16,
        }
    )
    m = dm.protected_migration_metrics(rs.migration_metrics(kpis, mig.flows, K), mig, K)
    assert [str(m[c]) for c in ("lost_customers", "stock_retention", "attrition_rate")] == [
        "<10"
    ] * 3
    assert str(m["upward_migration_rate"]) == "<10" and m["downward_migration_rate"] == 0.0
