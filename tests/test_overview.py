"""Whole-bank overview analytics: scorecard, league table, echelons, trends and targets on the
hand-made bank of :mod:`overview_data` (values computed by hand in the docstrings)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from overview_data import (
    cm_base,
    customer_month,
    managers,
    outlet_month,
    region_month,
    tiers_now,
)

from bankanalysis.exceptions import BankAnalysisError
from bankanalysis.overview import (
    SCORECARD_KPIS,
    echelon_comparison,
    league_table,
    monthly_trends,
    overview_months,
    region_scorecard,
    scorecard_columns,
    suppress_scorecard,
    target_attainment,
    withheld_cells,
)


def _scorecard(by_region: bool = True, **kw: object) -> pd.DataFrame:
    args: dict[str, object] = dict(managers=managers(), has_contacts=True, coverage_products=3)
    args.update(kw)
    return region_scorecard(
        tiers_now(),
        cm_base(),
        region_month(),
        outlet_month(),
        "2024-03",
        by_region=by_region,
        **args,
    )


def test_scorecard_matches_hand_computed_kpis() -> None:
    """RA: c1 mass, c2 quality (card, full-time manager, contacted), c3 VIP (full-time manager,
    10 min in 3 months, none this month); base had c1, c2, c6. RB: c4 quality (no manager), c5
    private banking (card, part-time manager, 30 min this month); base had c4; RB's outlet has
    two full-time managers."""
    sc = _scorecard().set_index("region_id")
    expected = {
        "RA": {
            "customers": 3,
            "customer_growth": 0.0,
            "stock_retention": 2 / 3,
            "product_coverage": 2 / 3,
            "wealth_card_matching": 1 / 2,
            "contact_plan_coverage": 1 / 2,
            "manager_coverage": 1.0,
            "manager_adequacy": 2.0,
            "vip_service_duration_ratio": 0.0,  # 0 VIP minutes of 20 this month
            "self_service_per_outlet": 1.5,
            "accounting_replacement_rate": 0.6,
            "outlet_replacement_rate": 0.3,
            "new_deposits": 20.0,
            "base_customers": 3,
            "quality_plus_customers": 2,
            "vip_plus_customers": 1,
        },
        "RB": {
            "customers": 2,
            "customer_growth": 1.0,
            "stock_retention": 1.0,
            "product_coverage": 1 / 2,
            "wealth_card_matching": 1 / 2,  # private banking counts as quality-and-above
            "contact_plan_coverage": 1 / 2,
            "manager_coverage": 0.0,  # c5's manager is part time
            "manager_adequacy": 1.0,
            "vip_service_duration_ratio": 1.0,
            "self_service_per_outlet": 1.0,
            "accounting_replacement_rate": 0.75,
            "outlet_replacement_rate": 0.9,
            "new_deposits": -5.0,
            "base_customers": 1,
            "quality_plus_customers": 2,
            "vip_plus_customers": 1,
        },
    }
    for rid, values in expected.items():
        for col, want in values.items():
            assert sc.at[rid, col] == pytest.approx(want), (rid, col)
    assert sc["echelon"].tolist() == [1, 1]
    assert set(SCORECARD_KPIS) <= set(sc.columns) and sc.attrs["absent"] == {}


def test_bank_scorecard_is_one_row_over_all_customers() -> None:
    """5 customers now, 4 at the base (3 still active); 4 quality-and-above (2 with the card,
    2 contacted, 2 with a full-time manager) and 3 full-time managers; VIP-and-above minutes
    30 of 50; sites 4 / 3 outlets; outlet replacement 15 / 30; accounting 9 / 14."""
    bank = _scorecard(by_region=False).set_index("region_id").loc["all"]
    assert bank["customers"] == 5
    assert bank["customer_growth"] == pytest.approx(0.25)
    assert bank["stock_retention"] == pytest.approx(0.75)
    assert bank["product_coverage"] == pytest.approx(3 / 5)
    assert bank["wealth_card_matching"] == pytest.approx(0.5)
    assert bank["contact_plan_coverage"] == pytest.approx(0.5)
    assert bank["manager_coverage"] == pytest.approx(0.5)
    assert bank["manager_adequacy"] == pytest.approx(4 / 3)
    assert bank["vip_service_duration_ratio"] == pytest.approx(0.6)
    assert bank["self_service_per_outlet"] == pytest.approx(4 / 3)
    assert bank["outlet_replacement_rate"] == pytest.approx(0.5)
    assert bank["accounting_replacement_rate"] == pytest.approx(9 / 14)
    assert bank["new_deposits"] == 15.0


def test_scorecard_says_why_a_kpi_is_absent() -> None:
    om = outlet_month().drop(columns=["txn_accounting_offcounter_n", "txn_accounting_n"])
    sc = region_scorecard(
        tiers_now(),
        cm_base(),
        region_month(),
        om,
        "2024-03",
        managers=None,
        has_contacts=False,
        wealth_card_product=None,
    )
    absent = sc.attrs["absent"]
    assert set(absent) == {
        "wealth_card_matching",
        "contact_plan_coverage",
        "manager_coverage",
        "manager_adequacy",
        "vip_service_duration_ratio",
        "accounting_replacement_rate",
    }
    assert "no wealth card" in absent["wealth_card_matching"]
    assert sc[list(absent)].isna().all().all()
    assert sc["outlet_replacement_rate"].tolist() == pytest.approx([0.3, 0.9])


def test_withheld_cells_follow_the_group_each_kpi_is_about() -> None:
    """k = 2: each region has one VIP-and-above customer (duration ratio withheld) and RB one
    base-month customer (growth and retention withheld); quality-and-above groups of 2 stay."""
    sc = _scorecard()
    withheld = withheld_cells(sc, 2).set_index(sc["region_id"])
    assert withheld.loc["RA"][withheld.loc["RA"]].index.tolist() == ["vip_service_duration_ratio"]
    assert sorted(withheld.loc["RB"][withheld.loc["RB"]].index) == [
        "customer_growth",
        "stock_retention",
        "vip_service_duration_ratio",
    ]
    shown = suppress_scorecard(sc, 2).set_index("region_id")
    assert np.isnan(shown.at["RB", "customer_growth"])
    assert shown.at["RB", "wealth_card_matching"] == pytest.approx(0.5)
    # a region of 1 to k-1 customers loses every figure, region totals included
    small = withheld_cells(sc, 3).set_index(sc["region_id"])
    assert small.loc["RB"].all() and not small.loc["RA", "product_coverage"]


def test_scorecard_refuses_an_unknown_wealth_card() -> None:
    with pytest.raises(BankAnalysisError, match="wealth_card_product"):
        _scorecard(wealth_card_product="x")


def test_scorecard_columns_and_months() -> None:
    assert scorecard_columns("card")[-1] == "hold_card"
    assert "contacts_1m" in scorecard_columns("x") and "outlet_id" in scorecard_columns(None)
    assert set(scorecard_columns("wealth_card")) <= set(customer_month().columns)
    months = [f"2024-{m:02d}" for m in range(1, 13)] + ["2025-01"]
    assert overview_months(months, "2025-01", 3) == ["2024-01", "2024-11", "2024-12", "2025-01"]
    assert overview_months(["2024-01", "2024-03"], "2024-03", 3) == ["2024-01", "2024-03"]
    with pytest.raises(BankAnalysisError, match="not in the data"):
        overview_months(["2024-01"], "2030-01", 3)


def test_league_table_ranks_within_the_echelon_by_direction() -> None:
    """product_coverage: higher is better; manager_adequacy: lower is better."""
    sc = pd.DataFrame(
        {
            "region_id": ["X", "Y", "Z", "W"],
            "echelon": [1, 1, 1, 2],
            "product_coverage": [0.3, 0.2, 0.1, 0.9],
            "manager_adequacy": [300.0, 100.0, np.nan, 50.0],
        }
    )
    lt = league_table(sc, ["product_coverage", "manager_adequacy"]).set_index("region_id")
    # percentiles in echelon 1: coverage X 1, Y .5, Z 0; adequacy Y 1 (fewer per manager), X 0
    assert lt.loc[["X", "Y", "Z"], "league_score"].tolist() == pytest.approx([0.5, 0.75, 0.0])
    assert lt.loc[["Y", "X", "Z"], "league_rank"].tolist() == [1.0, 2.0, 3.0]
    assert lt.loc[["X", "Y", "Z"], "rank_product_coverage"].tolist() == [1.0, 2.0, 3.0]
    assert lt.at["Y", "rank_manager_adequacy"] == 1.0
    assert lt.at["X", "rank_manager_adequacy"] == 2.0
    assert np.isnan(lt.at["Z", "rank_manager_adequacy"])
    # alone in echelon 2: best of the bank on both, but no league rank (first of one)
    assert lt.at["W", "league_score"] == 1.0 and np.isnan(lt.at["W", "league_rank"])
    assert lt["compared_with"].tolist() == ["echelon"] * 3 + ["bank"]
    assert list(lt.index) == ["Y", "X", "Z", "W"]
    weighted = league_table(
        sc, ["product_coverage", "manager_adequacy"], weights={"product_coverage": 3.0}
    ).set_index("region_id")
    assert weighted.at["X", "league_score"] == pytest.approx((3 * 1.0 + 0.0) / 4)


def test_league_scores_within_materiality_share_the_rank() -> None:
    """Issue 14: the composite score was ranked on every difference, unlike the KPI ranks."""
    sc = pd.DataFrame(
        {
            "region_id": ["X", "Y", "Z", "V"],
            "echelon": [1, 1, 1, 1],
            "product_coverage": [0.4, 0.1, 0.25, 0.05],
            "manager_adequacy": [400.0, 100.0, 250.0, 450.0],
        }
    )
    w = {"product_coverage": 1.0, "manager_adequacy": 1.001}
    kpi_ids = ["product_coverage", "manager_adequacy"]
    lt = league_table(sc, kpi_ids, weights=w, materiality=0.005).set_index("region_id")
    # X: coverage best (1), adequacy 3rd of 4 (1/3); Y: 3rd (1/3) and best (1); Z: 2/3 and 2/3
    score = lt["league_score"]
    assert score["Y"] - score["X"] == pytest.approx(0.001 * (2 / 3) / 2.001)
    assert abs(score["Z"] - score["Y"]) < 0.005
    assert lt.loc[["X", "Y", "Z", "V"], "league_rank"].tolist() == [1.0, 1.0, 1.0, 4.0]
    exact = league_table(sc, kpi_ids, weights=w, materiality=0.0).set_index("region_id")
    assert exact.loc[["Y", "Z", "X", "V"], "league_rank"].tolist() == [1.0, 2.0, 3.0, 4.0]


def test_a_region_alone_in_its_echelon_is_ranked_against_the_bank_not_itself() -> None:
    """Issue 13: a one-region echelon showed score 1.000, rank 1 of 1 on every KPI."""
    sc = pd.DataFrame(
        {
            "region_id": ["X", "Y", "Z", "W"],
            "echelon": [1, 1, 1, 2],
            "product_coverage": [0.3, 0.2, 0.1, 0.25],
            "manager_adequacy": [300.0, 100.0, np.nan, 200.0],
        }
    )
    lt = league_table(sc, ["product_coverage", "manager_adequacy"]).set_index("region_id")
    # W among all four: coverage 2nd of 4 (percentile 2/3), adequacy 2nd of 3 (1/2)
    assert lt.at["W", "rank_product_coverage"] == 2.0
    assert lt.at["W", "rank_manager_adequacy"] == 2.0
    assert lt.at["W", "league_score"] == pytest.approx((2 / 3 + 1 / 2) / 2)
    assert np.isnan(lt.at["W", "league_rank"]) and lt.at["W", "compared_with"] == "bank"
    # the echelon of three is unchanged by W
    assert lt.loc[["X", "Y", "Z"], "league_score"].tolist() == pytest.approx([0.5, 0.75, 0.0])


def test_self_service_per_outlet_is_unknown_without_device_data() -> None:
    """Issue 13: an extract without devices showed 0.00 self-service banks per outlet and
    ranked the regions as ties."""
    sc = _scorecard(has_devices=False)
    assert sc["self_service_per_outlet"].isna().all()
    assert sc.attrs["absent"]["self_service_per_outlet"] == "no device data in this extract"
    assert "rank_self_service_per_outlet" in league_table(_scorecard()).columns
    ec = echelon_comparison(region_month(), outlet_month(), "2024-03", has_devices=False)
    assert ec["self_service_per_outlet"].isna().all() and (ec["outlets"] > 0).all()


def test_league_of_the_hand_made_scorecard() -> None:
    """RA is better on coverage, manager coverage, self-service and new deposits (4); RB on
    growth, retention, adequacy (fewer per manager), VIP duration and both replacement rates
    (6); wealth card and contact plan tie (0.5 each: percentile 0.5 for both)."""
    lt = league_table(_scorecard()).set_index("region_id")
    assert lt.at["RA", "league_score"] == pytest.approx((4 + 0.5 * 2) / 12)
    assert lt.at["RB", "league_score"] == pytest.approx((6 + 0.5 * 2) / 12)
    assert lt.loc[["RB", "RA"], "league_rank"].tolist() == [1.0, 2.0]
    assert lt.at["RA", "rank_wealth_card_matching"] == lt.at["RB", "rank_wealth_card_matching"]
    assert lt.at["RB", "rank_manager_adequacy"] == 1.0


def test_echelon_comparison_and_trends() -> None:
    ec = echelon_comparison(region_month(), outlet_month(), "2024-03").set_index("echelon")
    assert ec.at[1, "regions"] == 2 and ec.at[1, "customers"] == 5
    assert ec.at[1, "aum_per_customer"] == pytest.approx(25750.0 / 5)
    assert ec.at[1, "products_per_customer"] == pytest.approx((8 + 7) / 5)
    assert ec.at[1, "self_service_per_outlet"] == pytest.approx(4 / 3)
    assert ec.at[1, "outlet_replacement_rate"] == pytest.approx(15 / 30)
    assert ec.at[1, "accounting_replacement_rate"] == pytest.approx(9 / 14)
    assert "txn_counter_n" not in ec.columns
    tr = monthly_trends(region_month()).set_index("month")
    assert tr.at["2024-01", "customers"] == 4 and tr.at["2024-03", "aum"] == 25750.0
    assert np.isnan(tr.at["2024-01", "new_deposits"]) and tr.at["2024-03", "new_deposits"] == 15.0


def test_target_attainment() -> None:
    targets = pd.DataFrame(
        {
            "month": ["2024-03", "2024-03", "2024-03", "2024-02", "2024-03"],
            "level": ["region", "region", "region", "region", "outlet"],
            "id": ["RA", "RB", "RA", "RA", "O1"],
            "kpi": ["aum", "aum", "unknown_kpi", "aum", "aum"],
            "target": [5000.0, 25000.0, 1.0, 1.0, 1.0],
        }
    )
    ta = target_attainment(region_month(), targets, "2024-03")
    assert ta["region_id"].tolist() == ["RA", "RB"]
    assert ta["attainment"].tolist() == pytest.approx([5550 / 5000, 20200 / 25000])
    assert ta["met"].tolist() == [True, False]
    assert target_attainment(region_month(), None, "2024-03").empty
