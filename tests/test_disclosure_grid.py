"""Tests of the disclosure step for per-unit tables (bankanalysis.report.disclosure_grid)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bankanalysis.report import disclosure_grid as dg
from bankanalysis.report.format import Suppressed
from bankanalysis.rules.disclosure_secondary import audit


def test_a_lone_small_row_gets_a_secondary_partner_in_every_column() -> None:
    df = pd.DataFrame(
        {"customers": [40, 4, 25, 0], "aum": [4e6, 3e5, 2e6, 0.0]}, index=list("abcd")
    )
    status = dg.protect_grid(df, ["customers", "aum"], 10, size="customers", money=["aum"])
    assert status["customers"].tolist() == ["", "primary", "secondary", ""]
    assert status["aum"].tolist() == ["", "primary", "secondary", ""]
    prot = status.attrs["protection"]
    assert prot.safe
    shown = dg.grid_values(df, status, 10)
    assert [str(v) for v in shown["customers"]] == ["40", "<10", "x", "0"]
    assert shown.at["a", "aum"] == 4e6 and shown.at["d", "aum"] == 0.0


def test_without_the_partner_the_audit_recovers_the_small_row() -> None:
    df = pd.DataFrame({"n": [40, 4, 25]})
    prot = dg.protect_grid(df, ["n"], 10, size="n").attrs["protection"]
    table_status = {"n[row=1]": "primary"}
    from bankanalysis.rules.disclosure_secondary import LinearTable

    table = LinearTable(
        values={"n[row=0]": 40, "n[row=1]": 4, "n[row=2]": 25, "n": 69},
        relations=({"n[row=0]": 1, "n[row=1]": 1, "n[row=2]": 1, "n": -1},),
        fixed=frozenset({"n"}),
    )
    res = audit(table, table_status, 10)
    assert res["lower"].iloc[0] == res["upper"].iloc[0] == 4  # 69 - 40 - 25
    assert prot.status == {"n[row=1]": "primary", "n[row=2]": "secondary"}


def test_a_small_sub_count_is_primary_and_a_small_total_is_withheld_too() -> None:
    df = pd.DataFrame({"n": [30, 20], "rising": [3, 0]})
    status = dg.protect_grid(df, ["n", "rising"], 10, size="n", counts=["rising"])
    assert status["rising"].tolist() == ["primary", ""]
    # the total (3) is published as "<10" itself, so the lone cell stays 1..9
    assert status.attrs["protection"].status["rising"] == "primary"


def test_protect_levels_blanks_small_months_only() -> None:
    levels = pd.DataFrame(
        {
            "month": ["2025-01", "2025-02", "2025-02"],
            "level": ["R", "R", "bank"],
            "customers": [8, 12, 500],
            "customers_per_fte": [4.0, 6.0, 50.0],
        }
    )
    out = dg.protect_levels(levels, 10)
    assert out["withheld"].tolist() == [True, False, False]
    assert np.isnan(out.at[0, "customers_per_fte"]) and out.at[1, "customers_per_fte"] == 6.0


def test_protect_levels_withholds_the_echelon_and_bank_months_the_run_withholds() -> None:
    """One rule with protect_region_totals: R2 (7 customers in 2025-02) is inside echelon 1,
    so echelon 1's and the bank's 2025-02 are withheld; 2025-01 (R2 at 12) and echelon 2 are
    not, nor a level the run's totals do not name."""
    rm = pd.DataFrame(
        {
            "month": ["2025-01"] * 3 + ["2025-02"] * 3,
            "region_id": ["R1", "R2", "R3"] * 2,
            "echelon": [1, 1, 2] * 2,
            "customers": [500, 12, 300, 500, 7, 300],
        }
    )
    levels = pd.DataFrame(
        {
            "month": ["2025-01", "2025-02"] * 3,
            "level": ["R3", "R3", "echelon 2", "echelon 2", "whole bank", "whole bank"],
            "customers": [300, 300, 300, 300, 812, 807],
            "customers_per_fte": [30.0, 30.0, 30.0, 30.0, 40.0, 41.0],
        }
    )
    assert dg.protect_region_totals(rm, "2025-02", 10) == {
        "customers[region=R2]": "primary",
        "customers[echelon=1]": "secondary",
        "customers": "secondary",
    }
    out = dg.protect_levels(levels, 10, region_month=rm)
    assert out["withheld"].tolist() == [False, False, False, False, False, True]
    assert np.isnan(out.at[5, "customers_per_fte"]) and out.at[4, "customers_per_fte"] == 40.0
    ech1 = pd.DataFrame({"month": ["2025-01", "2025-02"], "level": "echelon 1",
                         "customers": [512, 507], "customers_per_fte": [45.0, 46.0]})  # fmt: skip
    assert dg.protect_levels(ech1, 10, region_month=rm)["withheld"].tolist() == [False, True]
    assert not dg.protect_levels(ech1, 10)["withheld"].any()  # without the run's totals


def test_region_too_small_and_banner() -> None:
    assert dg.region_too_small(9, 10) and not dg.region_too_small(10, 10)
    assert not dg.region_too_small(0, 10) and dg.region_too_small(Suppressed(10), 10)
    assert dg.region_banner("Tiny", 10).startswith("**Tiny has fewer than 10 customers.**")


@pytest.mark.parametrize("k", [3, 10])
def test_same_data_same_cells(k: int) -> None:
    rng = np.random.default_rng(7)
    df = pd.DataFrame({"n": rng.integers(0, 30, 12)})
    a = dg.protect_grid(df, ["n"], k, size="n")
    b = dg.protect_grid(df, ["n"], k, size="n")
    assert a.equals(b)
    assert a.attrs["protection"].safe


def test_lorenz_steps_hold_k_customers_and_the_plain_curve_gives_one_customer_away() -> None:
    from bankanalysis.segmentation.composition import lorenz_curve

    aum = np.array([1_000.0] * 49 + [951_000.0])  # 50 customers, one holds 95.1 %
    plain = lorenz_curve(aum)
    # the plain curve's point at 99 % lies on the richest customer's segment: from it and the
    # point at 98 % the attacker reads that customer's share (the slope times 1/50)
    slope = (plain["aum_share"].iloc[100] - plain["aum_share"].iloc[98]) / 0.02
    assert slope / 50 == pytest.approx(0.951, abs=0.01)
    # one customer holds nearly all of the region's AUM: every top group fails the p% rule and
    # is merged down to the whole region, the curve is the straight line 0 -> 1
    shown = dg.protected_lorenz(aum, 10)
    assert shown["customer_share"].tolist() == [0.0, 1.0]
    spread = np.r_[np.full(40, 1_000.0), np.linspace(20_000, 60_000, 10)]
    shown = dg.protected_lorenz(spread, 10)
    steps = np.diff(shown["customer_share"].to_numpy()) * 50
    assert shown["customer_share"].tolist() == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert (steps >= 10 - 1e-9).all()
    assert dg.protected_lorenz(aum[:15], 10).empty  # fewer than 2 k customers: no curve


def test_every_report_of_a_run_withholds_the_same_counts_for_a_tiny_region() -> None:
    rm = pd.DataFrame(
        {
            "month": "2025-03",
            "region_id": ["R1", "R2", "R3"],
            "echelon": [1, 1, 2],
            "customers": [500, 7, 300],
        }
    )
    status = dg.protect_region_totals(rm, "2025-03", 10)
    small_r, bank_r, small = dg.run_counts(rm, "2025-03", "R2", 10, 7, 807)
    big_r, bank_b, big_small = dg.run_counts(rm, "2025-03", "R1", 10, 500, 807)
    assert (str(small_r), small, big_r, big_small) == ("<10", True, 500, False)
    # the bank's total is withheld in R1's report too, not only in R2's and the overview's
    assert str(bank_r) == str(bank_b) == "x" and status["customers"] == "secondary"
    # no small region: nothing withheld, nothing changes
    assert dg.protect_region_totals(rm.assign(customers=[500, 70, 300]), "2025-03", 10) == {}


def test_protect_grid_withholds_a_dominated_money_cell_and_its_complement() -> None:
    # outlet b's 20 customers: one of them holds nearly all of its 50,000 (the p% rule)
    df = pd.DataFrame({"n": [40, 20, 30], "gap": [80000.0, 50000.0, 60000.0]}, index=list("abc"))
    st = dg.protect_grid(df, ["gap"], 10, size="n", money=["gap"], dominated={"gap": ["b"]})
    assert st["gap"].tolist() == ["", "dominance", "secondary"]
    assert [str(v) for v in dg.grid_values(df, st, 10)["gap"]] == ["80000.0", "x", "x"]
    # a zero is never dominated
    zero = df.assign(gap=[80000.0, 0.0, 60000.0])
    st = dg.protect_grid(zero, ["gap"], 10, size="n", money=["gap"], dominated={"gap": ["b"]})
    assert st["gap"].tolist() == ["", "", ""]


def test_only_the_propensity_report_writes_workbooks_and_its_cards_go_through_the_step() -> None:
    # the scorecards read by more than one manager are protected in write_lead_files (via
    # lead_review, notebook 02, with min_group_size in its facts); notebooks 00, 01 and 03 write
    # no workbook and no scorecard, so they have no cards to protect
    import inspect
    import json
    from pathlib import Path

    from bankanalysis.report import lead_review, workbooks

    root = Path(__file__).resolve().parents[1] / "notebooks"
    writers = ("write_lead_files", "lead_review", "workbooks", "scorecards(", "to_excel")
    for nb in sorted(root.glob("0*.ipynb")):
        cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        used = [w for w in writers if w in code]
        assert bool(used) == nb.name.startswith("02_"), (nb.name, used)
    assert '"min_group_size": k' in inspect.getsource(lead_review.lead_review)
    assert '"protection_level": ctx.protection_level' in inspect.getsource(lead_review.lead_review)
    source = inspect.getsource(workbooks.write_lead_files)
    assert "protect_manager_cards(manager_cards, k, level, covers=covers, book=book)" in source
    assert "manager_covers(outlet_cards, shown_o, book)" in source
    assert "protect_cards(outlet_cards, k, level, both" in source


def test_forced_cells_are_withheld_from_the_start_and_can_spare_another() -> None:
    # a (40), b (4, small), c (25): the step hides c (the smallest that protects b); with a
    # forced hidden (a joint step needs it) a protects b and c stays shown
    df = pd.DataFrame({"n": [40, 4, 25]}, index=list("abc"))
    assert dg.protect_grid(df, ["n"], 10, size="n")["n"].tolist() == ["", "primary", "secondary"]
    forced = dg.protect_grid(df, ["n"], 10, size="n", forced=["n[row=a]"])
    assert forced["n"].tolist() == ["secondary", "primary", ""]
    assert forced.attrs["protection"].safe
    total = dg.protect_grid(df, ["n"], 10, size="n", forced=["n"], withholdable_totals=["n"])
    assert total.attrs["withheld_totals"] == {"n": "secondary"}  # the total forced hidden


def test_withholdable_parts_lets_the_step_withhold_the_other_tables_cells() -> None:
    # unit u = p1 + p2 (parts of another table: p1 = 3 withheld there, p2 = 30 shown),
    # v = p3 + p4 (15 + 35), and the parts' own total T = p1 + p3 = 18: T - p3 gives p1 back
    # whatever this table hides; only the other table's cells can protect it. No single cell
    # does (u - p2 pins it too); the cheapest pair that does is T and p2 (p3 and p2 cost less
    # but v - p4 still gives p3, so T - p3 still gives p1)
    df = pd.DataFrame({"n": [33, 50]}, index=["u", "v"])
    parts = {
        "n": {
            "u": {"p1": (3.0, "primary"), "p2": (30.0, "")},
            "v": {"p3": (15.0, ""), "p4": (35.0, "")},
        }
    }
    totals = {"T": (18.0, ["p1", "p3"], "")}
    plain = dg.protect_grid(df, ["n"], 10, parts=parts, part_totals=totals)
    assert not plain.attrs["protection"].safe and plain.attrs["withheld_parts"] == {}
    joint = dg.protect_grid(df, ["n"], 10, parts=parts, part_totals=totals, withholdable_parts=True)
    assert joint.attrs["protection"].safe
    assert joint.attrs["withheld_parts"] == {"T": "secondary", "p2": "secondary"}
    assert joint["n"].tolist() == ["", ""]  # this table's own cells stay shown


def test_a_small_units_figure_pinned_by_a_figure_below_k_is_withheld_with_its_column(
    monkeypatch,
) -> None:
    from attacker import attack_linear

    # unit a (5 customers) has 8 leads, unit b 2 of the 10 the region publishes: b's 2 can
    # never be an "x" (which says at least k), so the greedy search finds no secondary cell
    df = pd.DataFrame({"customers": [5, 40], "leads": [8, 2]}, index=["a", "b"])
    rel = [{"n:a": 1, "n:b": 1, "n:total": -1}]
    with monkeypatch.context() as m:  # the greedy search alone (before the fail-safe)
        m.setattr(dg, "fail_safe", lambda table, prot, *a, **kw: prot)
        old = dg.protect_grid(df, ["customers", "leads"], 10, size="customers")
    assert old["leads"].tolist() == ["primary", ""] and not old.attrs["protection"].safe
    assert attack_linear({"n:a": "<k", "n:b": 2.0, "n:total": 10.0}, rel, 10)["n:a"] == (8, 8)
    status = dg.protect_grid(df, ["customers", "leads"], 10, size="customers")
    prot = status.attrs["protection"]
    assert prot.safe and prot.counts() == {"primary": 2, "secondary": 1, "fail-safe": 1}
    assert status["leads"].tolist() == ["fail-safe", "fail-safe"]
    assert status["customers"].tolist() == ["primary", "secondary"]  # not pinned: as before
    shown = dg.grid_values(df, status, 10)
    assert [str(v) for v in shown["leads"]] == ["withheld", "withheld"]
    lo, hi = attack_linear({"n:a": None, "n:b": None, "n:total": 10.0}, rel, 10)["n:a"]
    assert (lo, hi) == (0.0, 10.0) and hi - lo >= 4.5


def test_a_cell_the_published_total_pins_stays_logged_and_counted(caplog) -> None:
    from bankanalysis.rules.disclosure_secondary import unsafe_cells

    # outlet a's 3 candidates need 80 % of the region's published AUM gap: the total bounds
    # it (at most 100, under 1.5 x 80), whatever is withheld, so the fail-safe takes no step
    df = pd.DataFrame({"n": [3, 30], "gap": [80.0, 20.0]}, index=["a", "b"])
    with caplog.at_level("INFO", logger="bankanalysis.report.disclosure_grid"):
        status = dg.protect_grid(df, ["n", "gap"], 10, size="n", money=["gap"])
    prot = status.attrs["protection"]
    assert not prot.safe and not prot.failsafe
    assert status["gap"].tolist() == ["primary", "secondary"]
    assert unsafe_cells(prot) == 1
    assert "1 withheld cell stays narrower than its protection interval" in caplog.text


def test_a_pipeline_row_pinned_by_the_tier_tables_count_is_withheld_with_its_column(
    monkeypatch,
) -> None:
    from attacker import attack_linear

    # outlet a: 3 customers in the tier below quality, b: 11; the tier table prints 14, and
    # b's "x" (at least 10) leaves a's 3 at 1 .. 4
    pipe = pd.DataFrame(
        {
            "outlet_id": ["a", "b"],
            "target_tier": ["quality", "quality"],
            "customers": [1, 10],
            "tier_customers": [3, 11],
            "pipeline_share": [1 / 3, 10 / 11],
            "aum_gap": [3000.0, 100000.0],
        }
    )
    rel = [{"n:b": 1, "n:b_over_k": -1, "n:k": -1}, {"n:a": 1, "n:b": 1, "n:t": -1}]
    before = {"n:a": "<k", "n:b": None, "n:b_over_k": None, "n:k": 10.0, "n:t": 14.0}
    with monkeypatch.context() as m:
        m.setattr(dg, "fail_safe", lambda table, prot, *a, **kw: prot)
        old = dg.protect_pipeline(pipe, 10)
    assert old["tier_customers"].tolist() == ["primary", "secondary"]  # "<10" and "x"
    assert attack_linear(before, rel, 10)["n:a"] == (1.0, 4.0)
    status = dg.protect_pipeline(pipe, 10)
    assert status["tier_customers"].tolist() == ["fail-safe", "fail-safe"]
    assert all(p.safe for p in status.attrs["protection"])
    shown = dg.grid_values(pipe, status, 10)
    assert [str(v) for v in shown["tier_customers"]] == ["withheld", "withheld"]
    after = {"n:a": None, "n:b": None, "n:t": 14.0}
    assert attack_linear(after, rel[1:], 10)["n:a"] == (0.0, 14.0)


def test_a_part_the_other_table_shows_as_withheld_is_read_as_at_least_zero_and_audited() -> None:
    # outlet a's candidates (12) are the sum of two pipeline rows the pipeline shows as
    # "withheld" (3 and 9): the joint audit reads them as at least 0 (not 1 .. 9) and keeps
    # them from a's published 12 (each 0 .. 12), so nothing more is withheld
    df = pd.DataFrame({"n": [12, 30]}, index=["a", "b"])
    parts = {"n": {"a": {"p1": (3.0, "fail-safe"), "p2": (9.0, "fail-safe")}}}
    status = dg.protect_grid(df, ["n"], 10, counts=["n"], parts=parts)
    prot = status.attrs["protection"]
    assert status["n"].tolist() == ["", ""] and prot.safe
    audit = prot.audit.set_index("cell")
    assert audit.loc["p1", ["lower", "upper"]].tolist() == [0.0, 12.0]
    assert audit.loc["p2", ["lower", "upper"]].tolist() == [0.0, 12.0]


def test_a_pipeline_of_fewer_than_k_candidates_is_not_audited_against_a_gap_no_report_prints() -> (
    None
):
    from attacker import attack_linear

    # 4 candidates (the region's AUM gap is withheld with them, upgrade_metrics): one row
    # needs 86 % of the gap; against the gap taken as published it stayed "unprotected"
    pipe = pd.DataFrame(
        {
            "outlet_id": ["a", "a", "b"],
            "target_tier": ["quality", "vip", "quality"],
            "customers": [2, 1, 1],
            "tier_customers": [40, 20, 30],
            "pipeline_share": [0.05, 0.05, 1 / 30],
            "aum_gap": [12000.0, 86000.0, 2000.0],
        }
    )
    status = dg.protect_pipeline(pipe, 10)
    gap = status.attrs["protection"][-1]
    assert gap.safe and gap.status.get("aum_gap") == "secondary"  # the total may be withheld
    assert status["aum_gap"].tolist() == ["primary"] * 3
    # the reader: every row's gap withheld, the region's gap withheld too
    cells = {"a1": None, "a2": None, "b1": None, "total": None}
    lo, hi = attack_linear(cells, [{"a1": 1, "a2": 1, "b1": 1, "total": -1}], 10)["a2"]
    assert lo == 0.0 and hi == float("inf")
