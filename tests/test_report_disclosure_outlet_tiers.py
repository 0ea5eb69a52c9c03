"""An outlet's quality-and-above customers: one decision for 01's account-manager table and
03's outlet table and peer ranks (``report/disclosure_outlet_tiers.py``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from attacker import attack_linear

from bankanalysis.report import segmentation as rs
from bankanalysis.report.benchmarking import outlet_table
from bankanalysis.report.benchmarking_peers import peer_gap_table, percentile_grid
from bankanalysis.report.disclosure import hide_outlet_ranks, protect_outlet_counts
from bankanalysis.report.disclosure_outlet_tiers import (
    protect_outlet_group,
    protect_quality_plus,
    withheld_rank_note,
    withhold_outlet_groups,
    withhold_period_groups,
    withhold_plan_groups,
    withhold_quality_plus,
)
from bankanalysis.report.disclosure_plan import PlanCounts
from bankanalysis.report.lead_review import outlet_scorecard_table

K = 10
SHARE = "Quality-and-above customers"  # the gap table's header (the KPI's name)
RATE = "Quality-and-above customers (%)"  # the outlet table's


def _region(customers, quality_plus, new=None):
    """The region's outlets as 03 holds them (``region_outlets``), North, South, ..."""
    names = ["North", "South", "East", "West"][: len(customers)]
    qp = np.array(quality_plus, dtype=float)
    return pd.DataFrame(
        {
            "outlet_id": [f"O{i + 1}" for i in range(len(customers))],
            "outlet": names,
            "outlet_type": "full",
            "customers": customers,
            "new_customers": new if new is not None else [12] * len(customers),
            "n_quality_plus": qp,
            "share_quality_plus": qp / np.array(customers, dtype=float),
        },
        index=[7 + 3 * i for i in range(len(customers))],  # the kpis frame's row labels
    )


def _two_sided_bounds(
    sides: dict[str, tuple[float | str | None, float | str | None]],
    totals: tuple[float, float],
    sizes: dict[str, float],
) -> dict[str, tuple[float, float]]:
    """The attacker over a two-sided outlet table (a group and the rest of the count it is a
    share of): ``sides`` maps each outlet to its (group, rest) cells as published (``None``
    withheld, ``"<k"`` 1 to ``k - 1``, a number), ``totals`` the region's group and rest,
    ``sizes`` each outlet's published count. Bounds keyed ``n:<outlet>_group`` and
    ``n:<outlet>_rest``."""
    cells: dict[str, float | str | None] = {"n:group": totals[0], "n:rest": totals[1]}
    rel: list[dict[str, float]] = [{"n:group": -1.0}, {"n:rest": -1.0}]
    for outlet, (group, rest) in sides.items():
        g, r, n = f"n:{outlet}_group", f"n:{outlet}_rest", f"n:{outlet}"
        cells |= {g: group, r: rest, n: sizes[outlet]}
        rel[0][g] = rel[1][r] = 1.0
        rel.append({g: 1.0, r: 1.0, n: -1.0})
    return attack_linear(cells, rel, K)


def _ranks(mine, gaps, percentiles):
    return pd.DataFrame(
        {
            "outlet_id": mine["outlet_id"].to_numpy(),
            "outlet": mine["outlet"].to_numpy(),
            "kpi": "share_quality_plus",
            "value": mine["share_quality_plus"].to_numpy(),
            "percentile": percentiles,
            "gap_to_median": gaps,
        }
    )


def _by_outlet(mine):
    """01's ``manager_kpis`` by outlet for the same outlets (the same counts)."""
    return pd.DataFrame(
        {
            "quality_plus_customers": mine["n_quality_plus"].astype(int).to_numpy(),
            "manager_coverage": 0.8,
            "manager_adequacy": 10.0,
            "contact_plan_coverage": 0.5,
            "full_time_managers": 1.0,
        },
        index=pd.Index(mine["outlet_id"], name="outlet_id"),
    )


def test_the_peer_gap_of_an_outlet_whose_count_01_withholds_is_withheld():
    """R064 of the 120-region bank in small: South has 7 quality-and-above customers of 26,
    shown '<10' by 01's account-manager table. Main's 03 printed South's share (26.9 %) and
    its gap to the peer median (+7.5 pp; North's 25.0 % and +5.6 pp give the median 19.4 %):
    26.9 % of 26 customers is 7. Now 03 reads the same decision as 01: South's share, gap
    and percentile are withheld ('<10'), North's too ('x': the region's 37 less North's 30
    would give South's 7 back), and a sentence says why, in words."""
    mine = _region([120, 26], [30, 7])
    ranks = _ranks(mine, gaps=[0.056, 0.075], percentiles=[70.0, 85.0])
    # main: only the outlets' new customers are decided; South's share and gap are printed
    plain = protect_outlet_counts(mine, K)
    gaps = peer_gap_table(hide_outlet_ranks(ranks, mine, plain, K), ["share_quality_plus"], "CNY")
    assert gaps.frame[SHARE].tolist() == ["+5.6 pp", "+7.5 pp"]
    rates = outlet_table(mine, ["share_quality_plus"], K, "CNY", hidden=plain).frame
    assert rates[RATE].tolist() == ["25.0%", "26.9%"]
    assert round(0.269 * 26) == 7  # the printed share times the printed customers
    # this change: the same answer as 01's table
    hidden = withhold_quality_plus(plain, mine, K)
    assert hidden["share_quality_plus"].tolist() == ["secondary", "primary"]
    assert hidden["new_customers"].tolist() == ["", ""]  # the other answers are kept
    shown = hide_outlet_ranks(ranks, mine, hidden, K)
    gaps = peer_gap_table(shown, ["share_quality_plus"], "CNY")
    assert gaps.frame[SHARE].tolist() == ["x", "<10"]
    assert percentile_grid(shown, ["share_quality_plus"])[SHARE].isna().all()  # blank squares
    assert shown["value"].isna().all()
    rates = outlet_table(mine, ["share_quality_plus"], K, "CNY", hidden=hidden).frame
    assert rates[RATE].tolist() == ["x", "<10"]
    table01 = rs.manager_outlet_table(
        _by_outlet(mine), dict(zip(mine["outlet_id"], mine["outlet"], strict=True)), K
    )
    assert table01.frame["Quality-and-above customers"].tolist() == ["x", "<10"]
    assert withheld_rank_note(shown, hidden, mine, K) == (
        "Not ranked, so that no small group of customers can be worked out: North, "
        "Quality-and-above customers (withheld so that another withheld figure cannot be "
        "worked out from it); South, Quality-and-above customers (fewer than 10 "
        "quality-and-above customers)."
    )
    # what a reader can still say: South's 7 is 1 to 9, North's 30 at least 10 (the
    # region's 37, from 01's tier table, fixed)
    cells = {"n:north": None, "n:south": "<k", "n:region": 37.0}
    bounds = attack_linear(cells, [{"n:north": 1, "n:south": 1, "n:region": -1}], K)
    assert bounds["n:south"] == (1.0, 9.0) and bounds["n:north"] == (28.0, 36.0)
    # the appendix counts the decision with the outlet table's
    assert len(hidden.attrs["protection"]) == len(plain.attrs["protection"]) + 1


def test_a_third_outlet_keeps_its_share_when_one_more_protects_the_small_one():
    """Three outlets, 4, 30 and 12 quality-and-above customers: East's 12, the smallest
    other, is withheld (x) so that South's 4 is 1 to 6 under the region's 46; North's 30 and
    its peer gap stay printed."""
    mine = _region([200, 50, 60], [30, 4, 12])
    hidden = withhold_quality_plus(protect_outlet_counts(mine, K), mine, K)
    assert hidden["share_quality_plus"].tolist() == ["", "primary", "secondary"]
    ranks = _ranks(mine, gaps=[-0.05, -0.12, 0.0], percentiles=[40.0, 10.0, 50.0])
    gaps = peer_gap_table(hide_outlet_ranks(ranks, mine, hidden, K), ["share_quality_plus"], "CNY")
    assert gaps.frame["outlet"].tolist() == ["East", "North", "South"]  # by name
    assert gaps.frame[SHARE].tolist() == ["x", "-5.0 pp", "<10"]
    cells = {"n:north": 30.0, "n:south": "<k", "n:east": None, "n:region": 46.0}
    rel = [{"n:north": 1, "n:south": 1, "n:east": 1, "n:region": -1}]
    assert attack_linear(cells, rel, K)["n:south"] == (1.0, 9.0)  # East read as at least 0
    # the decision's own audit reads x as at least 10: South 1 to 6, wider than 4.5
    assert hidden.attrs["protection"][-1].safe


def test_a_small_outlet_pinned_by_the_regions_count_is_withheld_with_every_outlet():
    """South's 2 beside North's 10 of the region's 12: an x (at least 10) on North leaves
    South 1 to 2, so the fail-safe withholds both ('withheld', read as at least 0)."""
    mine = _region([150, 40], [10, 2])
    hidden = withhold_quality_plus(protect_outlet_counts(mine, K), mine, K)
    assert hidden["share_quality_plus"].tolist() == ["fail-safe", "fail-safe"]
    rates = outlet_table(mine, ["share_quality_plus"], K, "CNY", hidden=hidden).frame
    assert rates[RATE].tolist() == ["withheld", "withheld"]
    ranks = _ranks(mine, gaps=[-0.1, -0.14], percentiles=[20.0, 5.0])
    note = withheld_rank_note(hide_outlet_ranks(ranks, mine, hidden, K), hidden, mine, K)
    assert note.count("withheld for every outlet of the region") == 2


def test_an_outlet_with_few_customers_keeps_its_shares_withheld():
    """West has 6 customers, none quality-and-above: its count is not small (0), but the
    outlet table's rule withholds every customer share of an outlet of 1 to 9 customers."""
    mine = _region([200, 150, 6], [40, 35, 0])
    hidden = withhold_quality_plus(protect_outlet_counts(mine, K), mine, K)
    assert hidden["share_quality_plus"].tolist() == ["", "", "primary"]
    rates = outlet_table(mine, ["share_quality_plus"], K, "CNY", hidden=hidden).frame
    assert rates[RATE].tolist() == ["20.0%", "23.3%", "<10"]


def test_01_and_03_get_the_same_answer_whatever_the_order_of_their_outlets():
    """O2's 4 of the region's 57: withholding O4's 11 leaves it 1 to 5 (57 - 30 - 12 - 10),
    narrower than 4.5; O3's 12 leaves it 1 to 6, so O3 is the secondary cell."""
    counts = pd.Series([30, 4, 12, 11], index=["O1", "O2", "O3", "O4"])
    one = protect_quality_plus(counts, K)
    other = protect_quality_plus(counts.iloc[::-1], K)
    assert one.to_dict() == other.to_dict()
    assert one.to_dict() == {"O1": "", "O2": "primary", "O3": "secondary", "O4": ""}


def test_no_sentence_when_every_peer_rank_is_shown_and_names_are_escaped():
    mine = _region([200, 150], [40, 35])
    hidden = withhold_quality_plus(protect_outlet_counts(mine, K), mine, K)
    ranks = _ranks(mine, gaps=[0.0, 0.03], percentiles=[50.0, 60.0])
    assert withheld_rank_note(hide_outlet_ranks(ranks, mine, hidden, K), hidden, mine, K) is None
    mine = _region([200, 26], [40, 3]).assign(outlet=["<b>A</b>", "B"])
    hidden = withhold_quality_plus(protect_outlet_counts(mine, K), mine, K)
    note = withheld_rank_note(_ranks(mine, [0.0, 0.0], [50.0, 50.0]), hidden, mine, K)
    assert "&lt;b&gt;A&lt;/b&gt;" in note and "<b>" not in note


# --------------------------------------------------------------------------- product coverage

COVERAGE = "Product coverage"  # the gap table's header (the KPI's name)
COVERAGE_RATE = "Product coverage (%)"  # the outlet table's


def _coverage_region(customers, covered):
    """The region's outlets with their covered customers (``n_covered``: holding at least
    ``coverage_products`` products) and product coverage, 40 quality-and-above each."""
    mine = _region(customers, [40] * len(customers))
    cov = np.array(covered, dtype=float)
    return mine.assign(n_covered=cov, product_coverage=cov / np.array(customers, dtype=float))


def _coverage_ranks(mine, gaps, percentiles):
    return _ranks(mine, gaps, percentiles).assign(
        kpi="product_coverage", value=mine["product_coverage"].to_numpy()
    )


def test_the_product_coverage_of_an_outlet_with_few_customers_not_covered_is_withheld():
    """R064 of the 120-region bank in small: South has 26 customers, 19 covered and 7 not.
    The lead's 03 printed South's coverage (73.1 %) and its gap to the peer median beside its
    26 customers: 26 - 73.1 % x 26 = 7 not covered. Now the share, gap and percentile are
    withheld ('<10'), North's too ('x': the region's 37 not covered, its customers less its
    published covered ones, less North's 30 would give South's 7 back), and the sentence
    says why in words; the attacker's interval for South's 7 is 1 to 9."""
    mine = _coverage_region([120, 26], [90, 19])
    ranks = _coverage_ranks(mine, gaps=[0.02, -0.015], percentiles=[60.0, 40.0])
    # before: only the outlets of 1 to 9 customers lose their shares
    plain = withhold_quality_plus(protect_outlet_counts(mine, K), mine, K)
    rates = outlet_table(mine, ["product_coverage"], K, "CNY", hidden=plain).frame
    assert rates[COVERAGE_RATE].tolist() == ["75.0%", "73.1%"]
    assert 26 - round(0.731 * 26) == 7  # the printed share times the printed customers
    gaps = peer_gap_table(hide_outlet_ranks(ranks, mine, plain, K), ["product_coverage"], "CNY")
    assert gaps.frame[COVERAGE].tolist() == ["+2.0 pp", "-1.5 pp"]
    # after: one decision on the covered and the not-covered customers
    hidden = withhold_outlet_groups(protect_outlet_counts(mine, K), mine, K)
    assert hidden["product_coverage"].tolist() == ["secondary", "primary"]
    assert hidden["share_quality_plus"].tolist() == ["", ""]  # 40 and 40: published
    rates = outlet_table(mine, ["product_coverage"], K, "CNY", hidden=hidden).frame
    assert rates[COVERAGE_RATE].tolist() == ["x", "<10"]
    shown = hide_outlet_ranks(ranks, mine, hidden, K)
    gaps = peer_gap_table(shown, ["product_coverage"], "CNY")
    assert gaps.frame[COVERAGE].tolist() == ["x", "<10"]
    assert percentile_grid(shown, ["product_coverage"])[COVERAGE].isna().all()
    assert withheld_rank_note(shown, hidden, mine, K) == (
        "Not ranked, so that no small group of customers can be worked out: North, Product "
        "coverage (withheld so that another withheld figure cannot be worked out from it); "
        "South, Product coverage (fewer than 10 customers on one side of the product-coverage "
        "threshold, covered or not)."
    )
    # the attacker: both outlets' covered and not-covered customers withheld, each outlet's
    # customers and the region's covered (109) and not covered (37) published
    sides = {"north": (None, None), "south": (None, "<k")}
    bounds = _two_sided_bounds(sides, (109.0, 37.0), {"north": 120.0, "south": 26.0})
    lo, hi = bounds["n:south_rest"]
    assert (lo, hi) == (1.0, 9.0) and hi - lo >= (K - 1) / 2
    # the decision's own audit (x read as at least 10) agrees
    prot = hidden.attrs["protection"][-1]
    assert prot.audit[["cell", "lower", "upper"]].values.tolist() == [
        ["rest_n_covered[outlet=O2]", 1.0, 9.0]
    ]
    # the appendix counts one withheld figure per outlet, as for quality-and-above
    assert prot.counts() == {"primary": 1, "secondary": 1}


def test_few_covered_customers_withhold_the_coverage_with_the_smallest_other_outlet():
    """South covers 6 of its 30 customers: East (60 customers) is the smallest other outlet
    whose withholding keeps South's 6 at 1 to 9 under the region's covered customers; North's
    coverage stays printed."""
    mine = _coverage_region([200, 30, 60], [150, 6, 40])
    hidden = withhold_outlet_groups(protect_outlet_counts(mine, K), mine, K)
    assert hidden["product_coverage"].tolist() == ["", "primary", "secondary"]
    rates = outlet_table(mine, ["product_coverage"], K, "CNY", hidden=hidden).frame
    assert rates[COVERAGE_RATE].tolist() == ["75.0%", "<10", "x"]
    audit = hidden.attrs["protection"][-1].audit
    assert audit["cell"].tolist() == ["n_covered[outlet=O2]"]
    assert (audit["upper"] - audit["lower"]).tolist() == [8.0]


def test_a_small_side_the_regions_totals_pin_withholds_every_outlets_coverage():
    """R074 of the 120-region bank: 10 of North's 55 customers and 4 of South's 28 are not
    covered. An x on North (at least 10) leaves South's 4 at 1 to 4, so the fail-safe
    withholds both ('withheld', read as at least 0: South 0 to 14)."""
    mine = _coverage_region([55, 28], [45, 24])
    hidden = withhold_outlet_groups(protect_outlet_counts(mine, K), mine, K)
    assert hidden["product_coverage"].tolist() == ["fail-safe", "fail-safe"]
    rates = outlet_table(mine, ["product_coverage"], K, "CNY", hidden=hidden).frame
    assert rates[COVERAGE_RATE].tolist() == ["withheld", "withheld"]
    prot = hidden.attrs["protection"][-1]
    assert prot.safe
    assert prot.audit[["lower", "upper"]].values.tolist() == [[0.0, 14.0]]
    assert prot.counts() == {"primary": 1, "secondary": 1} and len(prot.failsafe) == 2
    ranks = _coverage_ranks(mine, gaps=[0.0, -0.04], percentiles=[50.0, 30.0])
    note = withheld_rank_note(hide_outlet_ranks(ranks, mine, hidden, K), hidden, mine, K)
    assert note.count("withheld for every outlet of the region") == 2


def test_one_decision_serves_quality_and_above_and_coverage():
    """The quality-and-above answer is the same through either entry point (no complement:
    01 prints no per-outlet mass tier), and coverage of no small side is published."""
    mine = _coverage_region([200, 150], [120, 100]).assign(n_quality_plus=[30.0, 4.0])
    both = withhold_outlet_groups(protect_outlet_counts(mine, K), mine, K)
    alone = withhold_quality_plus(protect_outlet_counts(mine, K), mine, K)
    assert both["share_quality_plus"].tolist() == alone["share_quality_plus"].tolist()
    assert both["share_quality_plus"].tolist() == ["secondary", "primary"]
    assert both["product_coverage"].tolist() == ["", ""]
    status = protect_outlet_group(
        pd.Series([120, 100], index=["O1", "O2"]), K, size=pd.Series([200, 150], ["O1", "O2"])
    )
    assert status.tolist() == ["", ""] and status.attrs["protection"][0].safe


def test_the_plan_tables_withhold_a_withheld_coverage_at_every_period_they_print():
    """03's quarter table printed South's coverage at every quarter end and the changes table
    the data month's (73.1 % beside 26 customers) with its changes: every period of a
    withheld outlet's coverage now reads the decision's marker; North's count of new
    customers withheld by the plan step is kept, and a published outlet stays published."""
    mine = _coverage_region([120, 26, 200], [90, 19, 150])
    hidden = withhold_outlet_groups(protect_outlet_counts(mine, K), mine, K)
    assert hidden["product_coverage"].tolist() == ["secondary", "primary", ""]
    plan = PlanCounts(status={("O1", "new_customers", "2026-10"): "primary"}, k=K)
    out = withhold_plan_groups(plan, hidden, mine, ["2025-12", "2026-01", "2026-10"])
    assert out.of("O1", "new_customers", "2026-10") == "primary"
    periods = ["2025-12", "2025-Q4", "2025", "2026-Q1", "2026-Q4", "2026-10", "mom", "yoy"]
    assert [out.of("O2", "product_coverage", p) for p in periods] == ["primary"] * 8
    assert [out.of("O1", "product_coverage", p) for p in periods] == ["secondary"] * 8
    assert [out.of("O3", "product_coverage", p) for p in periods] == [""] * 8


# --------------------------------------------------------------------------- rates over the count
# R02 of the CI bank: outlets of 42 and 7 quality-and-above customers; the 7 is `<10` and the
# 42 `x` (the region's 49 less it would give the 7 back). A rate over the 42 restricts it to
# few values: 16.7 % is 7/42 or 8/48, so with the region's 49 the small outlet's 7 is 7 or 1.


def _rates_by_outlet() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "quality_plus_customers": [42, 7],
            "manager_coverage": [7 / 42, 3 / 7],
            "manager_adequacy": [21.0, 7.0],
            "contact_plan_coverage": [7 / 42, 2 / 7],
            "full_time_managers": [2.0, 1.0],
        },
        index=pd.Index(["O1", "O2"], name="outlet_id"),
    )


def test_01_withholds_the_rates_over_a_secondary_outlets_quality_and_above_customers():
    """The lead printed Big's manager and contact-plan coverage (16.7 %) beside its `x`."""
    table = rs.manager_outlet_table(_rates_by_outlet(), {"O1": "Big", "O2": "Small"}, K)
    assert table.frame.iloc[0].tolist() == ["Big", "x", "x", "2", "x", "x"]
    assert table.frame.iloc[1].tolist() == ["Small", "<10", "<10", "1", "<10", "<10"]
    assert "16.7%" not in table.frame.to_string()
    assert table.note == (
        "Rates over an outlet's quality-and-above customers are withheld with that count, since "
        "a rate gives its denominator back within few values: <10 = fewer than 10 "
        "quality-and-above customers; x = withheld so that another withheld figure cannot be "
        "worked out from it."
    )
    # the chart draws what the table shows: no bar for either outlet
    assert rs.manager_outlet_plot_data(_rates_by_outlet(), {"O1": "Big"}, K).empty


def test_02_withholds_the_contact_plan_coverage_of_a_secondary_outlet():
    """02's outlet scorecards printed Big's 16.7 % (7/42) while 01 withheld the 42 as `x`."""
    cards = pd.DataFrame(
        {
            "customers": [300, 50],
            "quality_plus_customers": [42, 7],
            "contact_plan_coverage": [7 / 42, 2 / 7],
        },
        index=pd.Index(["O1", "O2"], name="outlet_id"),
    )
    table = outlet_scorecard_table(cards, {"O1": "Big", "O2": "Small"}, K)
    assert table.frame.values.tolist() == [["Big", "300", "x"], ["Small", "50", "<10"]]
    assert "quality-and-above customers are withheld with that count" in table.note
    # a third outlet makes the 7 safe alone with the smallest other one: the rest print
    more = pd.concat(
        [cards, pd.DataFrame({"customers": [400], "quality_plus_customers": [90],
                              "contact_plan_coverage": [0.5]}, index=pd.Index(["O3"]))]
    )  # fmt: skip
    frame = outlet_scorecard_table(more, {}, K).frame
    assert frame.iloc[:, 2].tolist() == ["x", "<10", "50.0%"]


def test_03_quarter_table_withholds_the_wealth_card_matching_of_a_secondary_outlet():
    """03's quarter and changes tables printed Big's wealth-card matching (16.7 %) at every
    quarter end: every period now reads the decision's marker, as its share does."""
    mine = _region([300, 50], [42, 7])
    hidden = withhold_quality_plus(protect_outlet_counts(mine, K), mine, K)
    assert hidden["share_quality_plus"].tolist() == ["secondary", "primary"]
    out = withhold_plan_groups(PlanCounts(k=K), hidden, mine, ["2025-12", "2026-10"])
    periods = ["2025-12", "2025-Q4", "2026-Q4", "2026", "mom", "yoy"]
    for kpi in ("wealth_card_matching", "contact_plan_coverage", "manager_coverage"):
        assert [out.of("O1", kpi, p) for p in periods] == ["secondary"] * 6
        assert [out.of("O2", kpi, p) for p in periods] == ["primary"] * 6
    assert out.of_level("outlet", "O1", "wealth_card_matching", "2026-Q4") == "secondary"


def _quarter_rows(label, customers, covered, quality_plus):
    n = np.array(customers, dtype=float)
    return pd.DataFrame(
        {
            "period_label": label,
            "level": "outlet",
            "id": [f"O{i + 1}" for i in range(len(n))],
            "customers": n,
            "product_coverage": np.array(covered, dtype=float) / n,
            "quality_plus_customers": quality_plus,
        }
    )


def test_an_earlier_quarter_end_with_a_small_side_is_withheld_by_its_own_counts():
    """South has 7 customers not covered of 26 at 2026-Q2 (19 covered) and 12 of 40 at the
    data month (2026-10): the data month's decision publishes both outlets, and the lead's
    code printed South's 73.1 % at 2026-Q2 beside its 26 customers (7 back). Each quarter end
    is now decided by its own counts: South `<10` at 2026-Q2 and North `x` (the region's 109
    covered of 146, printed in the region's row, less North's 90 would give 19), both shown
    at 2026-Q4; the quality-and-above rates follow that quarter's own count (12 and 30: none
    small)."""
    mine = _region([120, 40], [30, 12]).assign(
        n_covered=[100.0, 28.0], product_coverage=[100 / 120, 28 / 40]
    )
    hidden = withhold_outlet_groups(protect_outlet_counts(mine, K), mine, K)
    assert hidden["product_coverage"].tolist() == ["", ""]
    lead = withhold_plan_groups(PlanCounts(k=K), hidden, mine, ["2026-06", "2026-10"])
    assert lead.of("O2", "product_coverage", "2026-Q2") == ""  # the lead's: printed
    quarters = pd.concat(
        [
            _quarter_rows("2026-Q2", [120, 26], [90, 19], [30, 12]),
            _quarter_rows("2026-Q4", [120, 40], [100, 28], [30, 12]),
        ]
    )
    out = withhold_period_groups(lead, mine["outlet_id"], K, quarters=quarters)
    q2 = [out.of(o, "product_coverage", "2026-Q2") for o in ("O1", "O2")]
    assert q2 == ["secondary", "primary"]
    assert [out.of(o, "product_coverage", "2026-Q4") for o in ("O1", "O2")] == ["", ""]
    assert out.of("O2", "wealth_card_matching", "2026-Q2") == ""
    # the attacker: the region's covered customers and every outlet's customers published
    cells = {"n:c1": None, "n:c2": None, "n:cov": 109.0, "n:r1": None, "n:r2": None}
    cells |= {"n:n1": 120.0, "n:n2": 26.0}
    rel = [
        {"n:c1": 1.0, "n:c2": 1.0, "n:cov": -1.0},
        {"n:c1": 1.0, "n:r1": 1.0, "n:n1": -1.0},
        {"n:c2": 1.0, "n:r2": 1.0, "n:n2": -1.0},
    ]
    lo, hi = attack_linear(cells, rel, K)["n:r2"]
    assert lo <= 1 and hi >= 9  # South's not covered: 0 to 26, not 7


def test_a_quarter_end_whose_wealth_card_holders_or_others_are_few_is_withheld():
    """The quarter table prints each outlet's wealth-card matching rate at every quarter end,
    a share of its quality-and-above customers (01's count, 03's share): South's 8 holders of
    12 at 2026-Q3 leave 4 without the card, and its 66.7 % beside 12 gives them back. That
    quarter withholds South `<10` and North `x` (the region's 23 holders, printed in the
    region's row, less North's 15 would give 8); at 2026-Q4 both outlets have a small side
    (North 3 of 30 without the card, South 2 of 12 holding it), and the markers would pin
    them (South's others shown `x`, at least 10 of 12, leave at most 2 holders): every
    outlet's rate is withheld under `withheld`, which says nothing of either side; at 2026-Q2
    South holds none (a zero reveals nobody): both shown. Coverage keeps its own decision (no
    small side)."""
    quarters = pd.concat(
        [
            _quarter_rows(label, [120, 40], [60, 20], [30, 12]).assign(
                wealth_card_matching=np.array(holders, dtype=float) / [30, 12]
            )
            for label, holders in (
                ("2026-Q2", [15, 0]),
                ("2026-Q3", [15, 8]),
                ("2026-Q4", [27, 2]),
            )
        ]
    )
    out = withhold_period_groups(PlanCounts(k=K), ["O1", "O2"], K, quarters=quarters)
    card = {
        p: [out.of(o, "wealth_card_matching", p) for o in ("O1", "O2")]
        for p in ("2026-Q2", "2026-Q3", "2026-Q4")
    }
    assert card == {
        "2026-Q2": ["", ""],
        "2026-Q3": ["secondary", "primary"],
        "2026-Q4": ["fail-safe", "fail-safe"],
    }
    assert [out.of(o, "product_coverage", "2026-Q3") for o in ("O1", "O2")] == ["", ""]
    # the attacker at 2026-Q3: both outlets' quality-and-above customers and the region's
    # holders and others published, North's sides withheld, South's two `<10`
    sides = {"north": (None, None), "south": ("<k", "<k")}
    lo, hi = _two_sided_bounds(sides, (23.0, 19.0), {"north": 30.0, "south": 12.0})["n:south_rest"]
    assert hi - lo >= (K - 1) / 2  # South's 4 without the card: not pinned


def test_an_outlet_whose_two_sides_are_small_is_withheld_alone_not_every_outlet():
    """West's 16 quality-and-above customers split 9 holders and 7 others: shown `<10`, each
    side would be 7 to 9 by its own markers, and the region's outlets would all be withheld.
    West is shown `withheld` (at least 0) and one more outlet `x` (East, the smallest whose
    sides are both at least 10): the others stay published, and the attacker, who knows the
    region's holders and others, every published outlet and that East's sides are at least
    10 each, cannot narrow West's sides below the protection interval."""
    ids = ["North", "West", "East", "South"]
    holders, size = [45.0, 9.0, 30.0, 35.0], [60.0, 16.0, 40.0, 50.0]
    status = protect_outlet_group(
        pd.Series(holders, index=ids), K, size=pd.Series(size, index=ids), name="n_card_holders"
    )
    assert status.tolist() == ["", "fail-safe", "secondary", ""]
    cells = {"n:hW": None, "n:rW": None, "n:hE": None, "n:rE": None, "n:sh": None, "n:sr": None}
    cells |= {"n:H": 119.0, "n:R": 47.0, "n:qW": 16.0, "n:qE": 40.0, "n:ten": 10.0}
    cells |= {"n:hN": 45.0, "n:rN": 15.0, "n:hS": 35.0, "n:rS": 15.0}
    rel = [
        {"n:hN": 1.0, "n:hW": 1.0, "n:hE": 1.0, "n:hS": 1.0, "n:H": -1.0},
        {"n:rN": 1.0, "n:rW": 1.0, "n:rE": 1.0, "n:rS": 1.0, "n:R": -1.0},
        {"n:hW": 1.0, "n:rW": 1.0, "n:qW": -1.0},
        {"n:hE": 1.0, "n:rE": 1.0, "n:qE": -1.0},
        {"n:hE": 1.0, "n:sh": -1.0, "n:ten": -1.0},  # East's "x": at least 10 each side
        {"n:rE": 1.0, "n:sr": -1.0, "n:ten": -1.0},
    ]
    bounds = attack_linear(cells, rel, K)
    for cell in ("n:hW", "n:rW"):
        lo, hi = bounds[cell]
        assert hi - lo >= (K - 1) / 2, (cell, lo, hi)


def test_the_changes_withhold_a_month_before_whose_own_counts_hold_a_small_group():
    """The changes table prints the data month's coverage and its change on the month: with
    the month before's 4 not covered of 30 (26 covered) that change gives them back. The
    month before is decided by its own counts: South `<10` and North `x` on the month and
    at that month; the change on the year (a year before: none small) stays."""
    monthly = pd.concat(
        [
            _region([120, 30], [30, 12]).assign(
                month=m, n_covered=cov, product_coverage=np.array(cov) / [120, 30]
            )
            for m, cov in (("2026-09", [100.0, 26.0]), ("2025-10", [95.0, 15.0]))
        ]
    )
    out = withhold_period_groups(PlanCounts(k=K), ["O1", "O2"], K, monthly=monthly, month="2026-10")
    assert [out.of(o, "product_coverage", "mom") for o in ("O1", "O2")] == ["secondary", "primary"]
    assert out.of("O2", "product_coverage", "2026-09") == "primary"
    assert [out.of(o, "product_coverage", "yoy") for o in ("O1", "O2")] == ["", ""]


def test_a_quarter_end_printed_as_the_month_before_is_withheld_in_both_tables():
    """Data month 2026-10: 2026-09, the month before, is also 2026-Q3's end in the quarter
    table. The run withheld North's (O1) coverage at 2026-Q3 (`x`, for a neighbour of the
    hierarchy); 03's own month-before decision withholds South (O2, 4 not covered, `<10`)
    with East (O3, `x`). Printed in one table, North's 2026-09 would give the run's cell
    back, and East's 2026-Q3 03's: each is withheld in both tables, under its marker, at
    2026-Q3, 2026-09 and on the change on the month. The year before (2025-10) is no
    quarter end: untouched."""
    monthly = pd.concat(
        [
            _region([120, 30, 80], [30, 12, 20]).assign(
                month=m, n_covered=cov, product_coverage=np.array(cov) / [120, 30, 80]
            )
            for m, cov in (("2026-09", [100.0, 26.0, 60.0]), ("2025-10", [95.0, 15.0, 50.0]))
        ]
    )
    run = PlanCounts({("O1", "product_coverage", "2026-Q3"): "secondary"}, k=K)
    out = withhold_period_groups(run, ["O1", "O2", "O3"], K, monthly=monthly, month="2026-10")
    for period in ("2026-Q3", "2026-09", "mom"):
        got = [out.of(o, "product_coverage", period) for o in ("O1", "O2", "O3")]
        assert got == ["secondary", "primary", "secondary"], (period, got)
    assert [out.of(o, "product_coverage", "yoy") for o in ("O1", "O2", "O3")] == ["", "", ""]
    # a quarter end that is neither the month before nor a year before pairs with nothing
    # nor does a flow: a month's new customers are not its quarter's
    flow = PlanCounts({("O1", "new_customers", "2026-09"): "primary"}, k=K)
    flowed = withhold_period_groups(flow, ["O1", "O2", "O3"], K, monthly=monthly, month="2026-10")
    assert flowed.of("O1", "new_customers", "2026-Q3") == ""
    q2 = PlanCounts({("O1", "product_coverage", "2026-Q2"): "secondary"}, k=K)
    other = withhold_period_groups(q2, ["O1", "O2", "O3"], K, monthly=monthly, month="2026-10")
    assert [other.of("O1", "product_coverage", p) for p in ("2026-09", "mom")] == ["", ""]
