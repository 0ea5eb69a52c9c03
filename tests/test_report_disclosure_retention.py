"""The run-level decision on the regions' and echelons' stock retention (lost customers)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from attacker import attack_linear
from disclosure_data import K, _flows

from bankanalysis.report import disclosure_migration as dm
from bankanalysis.report import disclosure_retention as dr
from bankanalysis.report import overview as rov
from bankanalysis.report.disclosure_plan import PlanCounts
from bankanalysis.report.format import Suppressed
from bankanalysis.rules.tiers import TIERS

#: The 120-region bank's R064 (12 months to 2026-10): 71 customers at the base month, 77 now,
#: 10 new; its 4 lost customers are all mass.
R064 = pd.DataFrame(
    [[8, 2, 0, 0, 0], [55, 1, 0, 0, 4], [1, 9, 0, 0, 0], [0, 0, 1, 0, 0], [0, 0, 0, 0, 0]],
    index=["new", *TIERS],
    columns=[*TIERS, "closed"],
)

#: Lost customers of one month-end: R1 (4) and R2 (14) in echelon 1, R3 (6) and R4 (20) in
#: echelon 2; the echelons lose 18 and 26, the bank 44.
LOST = pd.DataFrame(
    {
        "month": "2025-03",
        "level": ["region"] * 4 + ["echelon"] * 2 + ["bank"],
        "id": ["R1", "R2", "R3", "R4", "1", "2", "bank"],
        "base": [70.0, 190, 80, 300, 260, 380, 640],
        "lost": [4.0, 14, 6, 20, 18, 26, 44],
    }
)
ECHELON = {"R1": 1, "R2": 1, "R3": 2, "R4": 2}


def _attack(lost: pd.DataFrame, status: dict[tuple[str, str, str], str]) -> dict:
    """The attacker's bounds on every withheld lost count, reading each unit's retention as
    printed (times its published base: the lost customers exactly) or withheld (``<k``: 1 to
    k - 1; ``x``: at least 0), with the regions adding up to their echelons and those to the
    bank."""
    cells: dict[str, float | str | None] = {}
    for r in lost.itertuples(index=False):
        st = status.get((f"{r.level}={r.id}", dr.KPI, r.month), "")
        cells[f"n:{r.level}={r.id}"] = "<k" if st == "primary" else None if st else float(r.lost)
    relations = []
    for e in sorted({str(v) for v in ECHELON.values()}):
        rel = {f"n:region={r}": 1.0 for r, v in ECHELON.items() if str(v) == e}
        rel[f"n:echelon={e}"] = -1.0
        relations.append(rel)
    relations.append({"n:echelon=1": 1.0, "n:echelon=2": 1.0, "n:bank=bank": -1.0})
    return attack_linear(cells, relations, K)


def test_lost_counts_follow_the_base_customers_wherever_they_are_now() -> None:
    from plan_data import _customer_snapshot

    tiers, base = _customer_snapshot()
    cm = pd.concat(
        [
            base.assign(month="2024-03")[["month", "customer_id", "region_id"]],
            tiers.assign(month="2025-03")[["month", "customer_id", "region_id"]],
        ]
    )
    out = dr.lost_counts(cm, ["2025-03"], ["2024-03", "2025-03"], 12, {"R1": 1, "R2": 2})
    # North had C1, C2, C5 (now in South: kept) and C7 (gone); South had C4 and C8 (gone)
    assert out[["level", "id", "base", "lost"]].values.tolist() == [
        ["region", "R1", 4.0, 1.0],
        ["region", "R2", 2.0, 1.0],
        ["echelon", "1", 4.0, 1.0],
        ["echelon", "2", 2.0, 1.0],
        ["bank", "bank", 6.0, 2.0],
    ]


def test_retention_months_are_the_quarter_ends_and_the_standings_months() -> None:
    months = [f"2025-{m:02d}" for m in range(1, 13)] + ["2026-01"]
    # quarter tables: 2025-Q1 .. 2025-Q4 at their last months and 2026-Q1 so far (2026-01);
    # the standing: the month before (2025-12) and three months before (2025-10)
    assert dr.retention_months(months, "2026-01") == {
        "2025-03": "2025-Q1",
        "2025-06": "2025-Q2",
        "2025-09": "2025-Q3",
        "2025-10": "",
        "2025-12": "2025-Q4",
        "2026-01": "2026-Q1",
    }


def test_a_small_lost_count_cannot_be_worked_out_from_the_echelons_and_the_bank() -> None:
    # what the run published before: every unit's retention, so R1's 4 and R3's 6 exactly
    assert _attack(LOST, {}) == {}
    # withholding the two small regions alone: their echelons minus the other region
    alone = {(f"region={r}", dr.KPI, "2025-03"): "primary" for r in ("R1", "R3")}
    assert _attack(LOST, alone)["n:region=R1"] == (4.0, 4.0)
    assert _attack(LOST, alone)["n:region=R3"] == (6.0, 6.0)
    got = dr.protect_retention(LOST, ECHELON, K, {"2025-03": "2025-Q1"})
    assert got.safe
    assert got.status == {
        ("region=R1", dr.KPI, "2025-03"): "primary",
        ("region=R1", dr.KPI, "2025-Q1"): "primary",
        ("region=R3", dr.KPI, "2025-03"): "primary",
        ("region=R3", dr.KPI, "2025-Q1"): "primary",
        ("echelon=1", dr.KPI, "2025-03"): "secondary",
        ("echelon=1", dr.KPI, "2025-Q1"): "secondary",
        ("echelon=2", dr.KPI, "2025-03"): "secondary",
        ("echelon=2", dr.KPI, "2025-Q1"): "secondary",
    }
    after = _attack(LOST, got.status)
    # the bank's 44 minus the published 14 and 20: R1 + R3 = 10, each anywhere from 1 to 9
    assert after["n:region=R1"] == (1.0, 9.0) and after["n:region=R3"] == (1.0, 9.0)


def test_a_region_alone_small_in_the_bank_is_protected_by_another_regions_figure() -> None:
    # R3 loses 16: R1's 4 is the bank's 54 minus every other region, whatever the echelons
    lost = LOST.copy()
    lost.loc[lost["id"].isin(["R3", "2", "bank"]), "lost"] += 10
    only_echelons = {
        (u, dr.KPI, "2025-03"): s
        for u, s in (("region=R1", "primary"), ("echelon=1", "secondary"), ("echelon=2", "x"))
    }
    assert _attack(lost, only_echelons)["n:region=R1"] == (4.0, 4.0)
    got = dr.protect_retention(lost, ECHELON, K)
    assert got.safe
    assert {u: s for (u, _, _), s in got.status.items()} == {
        "region=R1": "primary",
        "region=R2": "secondary",
    }
    # the echelon's 18 = R1 + R2 with R2 withheld: R1 anywhere from 1 to 9
    assert _attack(lost, got.status)["n:region=R1"] == (1.0, 9.0)


def test_a_unit_whose_base_is_small_is_withheld_and_audited_with_the_others() -> None:
    lost = LOST.copy()
    lost.loc[lost["id"] == "R1", "base"] = 6.0  # the small-group rule withholds it already
    table, primary, hidden = dr.retention_table(lost, ECHELON, K)
    assert primary == ["region=R3"] and hidden == {"region=R1": "primary"}
    assert "region=R2" in table.fixed and "bank=bank" in table.fixed


def _scorecard() -> rov.Scorecard:
    from summary_data import raw_scorecard

    raw = raw_scorecard(["R1", "R2", "R3"], [1, 1, 2], [100, 200, 300], [0.2, 0.4, 0.9])
    raw["stock_retention"] = [0.96, 0.93, 0.95]
    raw.attrs["absent"].pop("stock_retention")
    whole = raw_scorecard(["all"], [np.nan], [600], [0.6])
    whole["stock_retention"] = [0.945]
    return rov.Scorecard.withheld_from(raw, K, "2024-03", whole)


def test_the_scorecard_withholds_the_retention_the_run_withholds() -> None:
    sc = _scorecard()
    before = rov.scorecard_metrics(sc)
    assert before["stock_retention[region=R1]"] == 0.96  # main: printed, 4 of 100 lost
    run = PlanCounts(
        {
            ("region=R1", dr.KPI, "2025-03"): "primary",
            ("region=R2", dr.KPI, "2025-03"): "secondary",
        }
    )
    sc = dr.withhold_scorecard(sc, run, "2025-03")
    m = rov.scorecard_metrics(sc)
    assert m["stock_retention[region=R1]"] == Suppressed(K)
    assert m["stock_retention[region=R2]"] == Suppressed(K, "secondary")
    assert m["stock_retention[region=R3]"] == 0.95
    shown = rov.scorecard_table(sc, {"R1": "North", "R2": "Mid", "R3": "South"}, "CNY").frame
    col = [c for c in shown.columns if "retention" in c.lower()][0]
    assert shown[col].tolist()[:3] == ["<10", "x", "95.0%"]
    # the heat map and the league table leave the withheld figures out
    assert np.isnan(sc.regions["stock_retention"].iloc[:2]).all()
    grid = rov.scorecard_shares(sc, {"R1": "North", "R2": "Mid", "R3": "South"})
    assert grid.filter(like="retention").isna().to_numpy().ravel().tolist() == [True, True, False]
    league = rov.league(sc, {"R1": "North", "R2": "Mid", "R3": "South"})
    assert league.set_index("region_id").loc[["R1", "R2"], "rank_stock_retention"].isna().all()


def test_the_quarter_table_withholds_the_retention_the_run_withholds() -> None:
    from plan_data import _customer_snapshot

    from bankanalysis import planning as pl
    from bankanalysis.report import planning as rp

    tiers, base = _customer_snapshot()
    q1 = ["2025-01", "2025-02", "2025-03"]
    cv = pd.concat(
        [
            pl.customer_period_values(tiers, base, "2025-03", lv, "quarter", q1)
            for lv in ("bank", "echelon", "region")
        ]
    )
    from plan_data import _q1_kpis

    names = {"R1": "North", "R2": "South", "O1": "Outlet 1", "O2": "Outlet 2", "O3": "Outlet 3"}
    scope = rp.PlanScope(month="2025-03", names=names, min_group_size=2)
    plain = rp.quarters_section(_q1_kpis(), scope, ["new_deposits"], customer_values=cv)
    # North kept 3 of its 4 base customers: 75.0% says 1 lost customer (small at k = 2)
    assert plain.metrics["stock_retention[region=R1,quarter=2025-Q1]"] == 0.75
    cm = pd.concat(
        [
            base.assign(month="2024-03")[["month", "customer_id", "region_id"]],
            tiers.assign(month="2025-03")[["month", "customer_id", "region_id"]],
        ]
    )
    lost = dr.lost_counts(cm, ["2025-03"], ["2024-03", *q1], 12, {"R1": 1, "R2": 2})
    run = dr.protect_retention(lost, {"R1": 1, "R2": 2}, 2, {"2025-03": "2025-Q1"})
    assert run.of_level("region", "R1", dr.KPI, "2025-Q1") == "primary"
    sec = rp.quarters_section(_q1_kpis(), scope, ["new_deposits"], customer_values=cv, counts=run)
    assert sec.metrics["stock_retention[region=R1,quarter=2025-Q1]"] == Suppressed(2)
    # every region and echelon loses 1 (small at k = 2): all withheld, the bank's 2 of 6 shown
    assert sec.metrics["stock_retention[quarter=2025-Q1]"] == pytest.approx(4 / 6)
    rows = {(r["Scope"], r["KPI"]): r["2025-Q1"] for r in sec.parts[0].frame.to_dict("records")}
    assert rows[("Echelon 2", "Stock customer retention rate (%)")] == "<2"


def _attack_migration(mig: dm.MigrationProtection, lost: str | float, gained: str | float):
    """The attacker on 01's heat map with the region's base (71) and end (77) customers, its
    lost customers as 01 or the overview shows them and its gained customers (``"x"``: at
    least k): bounds on the lost customers and on mass's."""
    cells: dict[str, float | str | None] = {"n:base": 71.0, "n:end": 77.0, "n:k": float(K)}
    markers = mig.matrix.attrs["markers"]
    for i, r in enumerate(mig.matrix.index):
        for j, c in enumerate(mig.matrix.columns):
            v = mig.matrix.iat[i, j]
            mark = markers[i][j]
            cells[f"n:{r}>{c}"] = float(v) if not np.isnan(v) else None if mark else "<k"
    cells["n:lost"] = lost if isinstance(lost, str) else float(lost)
    cells["n:gained"] = None if gained == "x" else gained
    cells["n:gained_over_k"] = None
    rows, cols = list(mig.matrix.index), list(mig.matrix.columns)
    tiers = [t for t in rows if t in cols]
    rel = [
        {**{f"n:{t}>{c}": 1.0 for t in tiers for c in cols}, "n:base": -1.0},
        {**{f"n:{r}>{t}": 1.0 for r in rows for t in tiers}, "n:end": -1.0},
        {**{f"n:new>{t}": 1.0 for t in tiers}, "n:gained": -1.0},
        {**{f"n:{t}>closed": 1.0 for t in tiers}, "n:lost": -1.0},
    ]
    if gained == "x":
        rel.append({"n:gained": 1.0, "n:gained_over_k": -1.0, "n:k": -1.0})
    found = attack_linear(cells, rel, K)
    return found.get("n:lost"), found.get("n:mass>closed")


def test_01_protects_a_small_lost_count_again_when_the_run_withholds_it() -> None:
    # main: the overview prints R064's retention, so 01 takes its 4 lost customers as
    # published, and mass's lost are 4 exactly
    before = dm.protect_migration(R064, _flows(R064), K)
    assert "lost_customers" in before.small_totals
    assert _attack_migration(before, 4.0, 10.0)[1] == (4.0, 4.0)
    # the run withholds it: primary in 01 again, with base - lost + new = the end customers
    mig = dm.protect_migration(R064, _flows(R064), K, lost_withheld="primary")
    assert mig.protection.safe and not mig.small_totals
    assert mig.protection.status["lost_customers"] == "primary"
    # 10 gained (shown, the sum of the new row) would give 71 + 10 - 77 = 4: withheld too
    assert mig.protection.status["new_customers"] == "secondary"
    lost, mass = _attack_migration(mig, "<k", "x")
    # gained at least 10 (x) says lost at least 4; "<10" says at most 9
    assert lost == (4.0, 9.0) and mass == (4.0, 9.0)
    kpis = pd.Series(
        {
            "stock_retention": 67 / 71,
            "upward_migration_rate": 1 / 71,
            "downward_migration_rate": 1 / 71,
            "attrition_rate": 4 / 71,
            "base_customers": 71,
            "lost_customers": 4,
            "upgraded_customers": 1,
            "downgraded_customers": 1,
            "gained_customers": 10,
        }
    )
    from bankanalysis.report import segmentation as rs

    m = dm.protected_migration_metrics(rs.migration_metrics(kpis, mig.flows, K), mig, K)
    assert [str(m[c]) for c in ("lost_customers", "stock_retention", "attrition_rate")] == [
        "<10"
    ] * 3
    assert str(m["gained_customers"]) == "x"


def test_01_reads_the_runs_answer_only_for_the_same_base_month() -> None:
    run = PlanCounts({("region=R064", dr.KPI, "2026-10"): "primary"})
    months = [f"2025-{m:02d}" for m in range(10, 13)] + [f"2026-{m:02d}" for m in range(1, 11)]
    assert dr.lost_withheld(run, "R064", "2026-10", "2025-10", months, 12) == "primary"
    # 01 with migration_months = 6 compares with 2026-04: another figure, published by none
    assert dr.lost_withheld(run, "R064", "2026-10", "2026-04", months, 12) == ""
    assert dr.lost_withheld(run, "R057", "2026-10", "2025-10", months, 12) == ""


def test_03s_outlets_do_not_give_their_small_lost_counts_or_their_regions_back() -> None:
    # R1's outlets O1 (3 lost) and O2 (17) add up to R1's 20 (published); R2's O3 (3) and O4
    # (1) to R2's 4, which the run withholds; R3's O5 (25) and O6 (30) to its 55, published
    outlets = pd.DataFrame(
        {
            "month": "2025-03",
            "level": "outlet",
            "id": ["O1", "O2", "O3", "O4", "O5", "O6"],
            "base": [40.0, 150, 47, 24, 200, 210],
            "lost": [3.0, 17, 3, 1, 25, 30],
        }
    )
    regions = pd.DataFrame(
        {
            "month": "2025-03",
            "level": ["region"] * 3 + ["echelon", "bank"],
            "id": ["R1", "R2", "R3", "1", "bank"],
            "base": [190.0, 71, 410, 671, 671],
            "lost": [20.0, 4, 55, 79, 79],
        }
    )
    where = {"O1": "R1", "O2": "R1", "O3": "R2", "O4": "R2", "O5": "R3", "O6": "R3"}
    eo = {"R1": 1, "R2": 1, "R3": 1}
    run = dr.protect_retention(pd.concat([regions, outlets]), eo, K, None, where)
    got = {u: s for (u, _, _), s in run.status.items()}
    assert got == {
        "region=R2": "primary",
        "region=R1": "secondary",
        "O1": "primary",
        "O2": "secondary",
        "O3": "primary",
        "O4": "primary",
    }

    def attack(status: dict[str, str], region: str, members: list[str], total: float | str):
        cells: dict[str, float | str | None] = {"n:region": total}
        for o in members:
            v = float(outlets.set_index("id").at[o, "lost"])
            st = status.get(o, "")
            cells[f"n:{o}"] = "<k" if st == "primary" else None if st else v
        return attack_linear(cells, [{**{f"n:{o}": 1.0 for o in members}, "n:region": -1.0}], K)

    # the plain quarter table: R1's 20 minus O2's 17, and R2's O3 + O4 (3 + 1) give its 4
    assert attack({"O1": "primary"}, "R1", ["O1", "O2"], 20.0)["n:O1"] == (3.0, 3.0)
    assert attack({}, "R2", ["O3", "O4"], "<k") == {"n:region": (4.0, 4.0)}
    # protected: R1's outlets are withheld with R1 (secondary in the run: every outlet), R2's
    # small outlets are "<10" and R2 itself anywhere from 2 to 9
    assert all(got[o] for o in ("O1", "O2"))
    r2 = attack(got, "R2", ["O3", "O4"], "<k")
    assert r2["n:region"] == (2.0, 9.0) and r2["n:O4"] == (1.0, 8.0)


def test_an_outlet_retention_pinned_by_the_regions_published_one_is_withheld_by_the_fail_safe(
    caplog, monkeypatch
):
    """R1's retention is published (11 lost: not small). Its outlets lost 10 and 1: the 1 is
    small, and withholding the 10 as 'x' (at least 10) still leaves the 1 at exactly 1
    (11 - 10). Before, that was only logged (and the log line reached the top of the
    overview's page); now every outlet of R1 is withheld ('withheld', at least 0), so the 1
    is anywhere in 0..11."""
    outlets = pd.DataFrame({"id": ["O1", "O2"], "lost": [10.0, 1.0], "base": [400.0, 90.0]})
    regions = {"O1": "R1", "O2": "R1"}
    status = dr._outlet_status(outlets, regions, {}, "2025-03", 10)
    assert status == {"O1": "fail-safe", "O2": "fail-safe"}
    assert "stay recoverable" not in caplog.text
    # the greedy search alone (main): the 10 withheld as 'x', the 1 pinned, only logged
    monkeypatch.setattr(dr, "fail_safe", lambda table, prot, *a, **kw: prot)
    assert dr._outlet_status(outlets, regions, {}, "2025-03", 10) == {
        "O1": "secondary",
        "O2": "primary",
    }
    assert "stock retention 2025-03: 1 withheld outlet figures stay recoverable" in caplog.text
    # the attacker after: both outlets at least 0, their sum the published 11
    rel = [{"n:o1": 1.0, "n:o2": 1.0, "n:r": -1.0}]
    after = attack_linear({"n:o1": None, "n:o2": None, "n:r": 11.0}, rel, 10)
    assert after["n:o2"] == (pytest.approx(0.0), pytest.approx(11.0))
