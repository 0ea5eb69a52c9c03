"""Whole-bank overview: scorecard KPIs, league tables, echelons and targets on hand-made data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bankanalysis.exceptions import BankAnalysisError
from bankanalysis.overview import (
    SCORECARD_KPIS,
    attainment_grid,
    attainment_metrics,
    bank_totals,
    base_month,
    echelon_comparison,
    echelon_metrics,
    echelon_table,
    league_metrics,
    league_ranks,
    league_table,
    monthly_trends,
    overview_months,
    region_scorecard,
    scorecard_columns,
    scorecard_metrics,
    scorecard_shares,
    scorecard_table,
    suppress_scorecard,
    target_attainment,
    with_echelon_names,
    with_region_names,
)

MONTHS = ["2024-01", "2024-02", "2024-03"]


def _cm() -> pd.DataFrame:
    """Customers at 2024-01 (base) and 2024-03 (analysis month); see the test docstrings."""
    rows = [
        # month, customer, region, aum, n_products, manager, contact_minutes_3m, wealth card
        ("2024-01", "c1", "RA", 40.0, 1, None, 0.0, 0),
        ("2024-01", "c2", "RA", 400.0, 3, "m1", 0.0, 1),
        ("2024-01", "c6", "RA", 90.0, 1, None, 0.0, 0),
        ("2024-01", "c4", "RB", 150.0, 2, None, 0.0, 0),
        ("2024-03", "c1", "RA", 50.0, 1, None, 0.0, 0),
        ("2024-03", "c2", "RA", 500.0, 3, "m1", 0.0, 1),
        ("2024-03", "c3", "RA", 5000.0, 4, "m1", 10.0, 0),
        ("2024-03", "c4", "RB", 200.0, 2, None, 0.0, 0),
        ("2024-03", "c5", "RB", 20000.0, 5, "m2", 0.0, 1),
    ]
    df = pd.DataFrame(
        rows,
        columns=[
            "month",
            "customer_id",
            "region_id",
            "aum",
            "n_products",
            "manager_id",
            "contact_minutes_3m",
            "hold_wealth_card",
        ],
    )
    df["n_products"] = df["n_products"].astype("int16")
    df["hold_wealth_card"] = df["hold_wealth_card"].astype("int8")
    return df


def _rm() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "month": ["2024-01", "2024-01", "2024-03", "2024-03"],
            "region_id": ["RA", "RB", "RA", "RB"],
            "echelon": [1, 1, 1, 1],
            "outlets": [2, 1, 2, 1],
            "customers": [3, 1, 3, 2],
            "aum": [530.0, 150.0, 5550.0, 20200.0],
            "deposit_balance": [100.0, 50.0, 300.0, 60.0],
            "new_deposits": [np.nan, np.nan, 20.0, -5.0],
            "fee_income": [1.0, 2.0, 3.0, 4.0],
            "sales_total": [1.0, 0.0, 2.0, 1.0],
            "products_per_customer": [5 / 3, 2.0, 8 / 3, 3.5],
            "txn_n": [10, 0, 10, 30],
            "e_channel_share": [0.5, 0.0, 0.4, 0.8],
            "self_service_sites": [1, 1, 3, 1],
            "self_service_ratio": [0.5, 1.0, 1.5, 1.0],
        }
    )


def _scorecard(min_group_size: int) -> pd.DataFrame:
    return region_scorecard(
        _cm(),
        _rm(),
        "2024-03",
        thresholds=[100, 1000, 10000],
        tier_months=1,
        coverage_products=3,
        min_group_size=min_group_size,
    ).set_index("region_id")


def test_scorecard_matches_hand_computed_kpis() -> None:
    """RA at 2024-03: c1 mass, c2 quality (card, manager), c3 VIP (manager, contacted);
    base 2024-01 had c1, c2, c6. RB: c4 quality (no manager), c5 private (card, manager,
    not contacted); base had c4."""
    sc = _scorecard(min_group_size=1)
    expected = {
        "RA": {
            "customers": 3,
            "customer_growth": 0.0,
            "product_coverage": 2 / 3,
            "wealth_card_matching": 1 / 2,
            "stock_retention": 2 / 3,
            "vip_service": 1.0,
            "contact_plan_coverage": 1.0,
            "self_service_ratio": 1.5,
            "e_channel_share": 0.4,
            "new_deposits": 20.0,
        },
        "RB": {
            "customers": 2,
            "customer_growth": 1.0,
            "product_coverage": 1 / 2,
            "wealth_card_matching": 0.0,
            "stock_retention": 1.0,
            "vip_service": 0.0,
            "contact_plan_coverage": 1 / 2,
            "self_service_ratio": 1.0,
            "e_channel_share": 0.8,
            "new_deposits": -5.0,
        },
    }
    for rid, values in expected.items():
        for col, want in values.items():
            assert sc.at[rid, col] == pytest.approx(want), (rid, col)


def test_scorecard_suppresses_small_denominators() -> None:
    sc = _scorecard(min_group_size=2)
    assert sc.at["RA", "wealth_card_matching"] == pytest.approx(0.5)  # 2 quality/VIP
    assert np.isnan(sc.at["RA", "vip_service"])  # 1 VIP
    assert np.isnan(sc.at["RB", "customer_growth"])  # 1 customer in the base month
    assert np.isnan(sc.at["RB", "wealth_card_matching"])
    assert np.isnan(sc.at["RB", "stock_retention"])
    assert sc.at["RB", "product_coverage"] == pytest.approx(0.5)


def test_scorecard_refuses_an_unknown_wealth_card() -> None:
    with pytest.raises(BankAnalysisError, match="wealth_card_product"):
        region_scorecard(_cm(), _rm(), "2024-03", thresholds=[1, 2, 3], wealth_card_product="x")


def test_base_and_overview_months() -> None:
    months = [f"2024-{m:02d}" for m in range(1, 13)] + ["2025-01"]
    assert base_month(months, "2025-01", 12) == "2024-01"
    assert base_month(MONTHS, "2024-03", 12) == "2024-01"
    assert base_month(months, "2024-06", 3) == "2024-03"
    assert overview_months(months, "2025-01", 3) == ["2024-01", "2024-11", "2024-12", "2025-01"]
    with pytest.raises(BankAnalysisError, match="not in the data"):
        base_month(MONTHS, "2030-01")


def test_league_table_ranks_within_the_echelon() -> None:
    sc = pd.DataFrame(
        {
            "region_id": ["X", "Y", "Z", "W"],
            "echelon": [1, 1, 1, 2],
            "a": [3.0, 2.0, 1.0, 9.0],
            "b": [1.0, 2.0, np.nan, 0.0],
        }
    )
    lt = league_table(sc, kpis=["a", "b"]).set_index("region_id")
    # percentiles in echelon 1: a: X 1, Y .5, Z 0; b: X 0, Y 1 (Z missing)
    assert lt.loc[["X", "Y", "Z"], "score"].tolist() == pytest.approx([0.5, 0.75, 0.0])
    assert lt.loc[["Y", "X", "Z"], "rank"].tolist() == [1.0, 2.0, 3.0]
    assert lt.loc[["X", "Y", "Z"], "rank_a"].tolist() == [1.0, 2.0, 3.0]
    assert lt.at["Y", "rank_b"] == 1.0 and np.isnan(lt.at["Z", "rank_b"])
    assert (lt.at["W", "score"], lt.at["W", "rank"]) == (1.0, 1.0)  # alone in echelon 2
    assert list(lt.index) == ["Y", "X", "Z", "W"]
    weighted = league_table(sc, kpis=["a", "b"], weights={"a": 3.0}).set_index("region_id")
    assert weighted.at["X", "score"] == pytest.approx((3 * 1.0 + 0.0) / 4)


def test_echelon_comparison_and_trends() -> None:
    ec = echelon_comparison(_rm(), "2024-03").set_index("echelon")
    assert ec.at[1, "regions"] == 2 and ec.at[1, "customers"] == 5
    assert ec.at[1, "aum_per_customer"] == pytest.approx(25750.0 / 5)
    assert ec.at[1, "products_per_customer"] == pytest.approx((8 + 7) / 5)
    assert ec.at[1, "e_channel_share"] == pytest.approx((4 + 24) / 40)
    assert ec.at[1, "self_service_ratio"] == pytest.approx(4 / 3)
    tr = monthly_trends(_rm()).set_index("month")
    assert tr.at["2024-01", "customers"] == 4 and tr.at["2024-03", "aum"] == 25750.0
    assert tr.at["2024-01", "e_channel_share"] == pytest.approx(0.5)
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
    ta = target_attainment(_rm(), targets, "2024-03")
    assert ta["region_id"].tolist() == ["RA", "RB"]
    assert ta["attainment"].tolist() == pytest.approx([5550 / 5000, 20200 / 25000])
    assert ta["met"].tolist() == [True, False]
    assert target_attainment(_rm(), None, "2024-03").empty


# --------------------------------------------------------------------------- report helpers

NAMES = {"RA": "North <b>", "RB": "South"}


def _regions() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "region_id": ["RA", "RB", "RC"],
            "echelon": [1, 1, 2],
            "echelon_name": ["central city", "central city", "key development"],
        }
    )


def test_echelon_table_names_and_suppresses_small_echelons() -> None:
    rm = pd.concat([_rm(), _rm().iloc[[2]].assign(region_id="RC", echelon=2, customers=4)])
    ec = with_echelon_names(echelon_comparison(rm, "2024-03"), _regions())
    assert ec.columns[:2].tolist() == ["echelon", "echelon_name"]
    assert ec["echelon_name"].tolist() == ["central city", "key development"]
    shown = echelon_table(ec, min_group_size=5)
    assert shown.index.tolist() == [1, 2]
    assert shown.columns[0] == "echelon_name" and "aum" not in shown.columns
    # echelon 1 has 3 + 2 customers: shown; echelon 2 has 4: per-customer figures blank
    assert shown.at[1, "aum_per_customer"] == pytest.approx(25750.0 / 5)
    assert np.isnan(shown.at[2, "aum_per_customer"]) and np.isnan(
        shown.at[2, "products_per_customer"]
    )
    assert shown.at[2, "customers"] == 4 and shown.at[2, "e_channel_share"] == pytest.approx(0.4)
    m = echelon_metrics(ec)
    assert m["echelon.1.customers"] == 5 and m["echelon.2.customers"] == 4
    assert m["echelon.2.aum_per_customer"] == pytest.approx(5550.0 / 4)
    assert m["echelon.1.e_channel_share"] == pytest.approx(28 / 40)


def test_bank_totals_take_the_last_month() -> None:
    totals = bank_totals(monthly_trends(_rm()), n_regions=7)
    assert totals == {"bank.customers": 5, "bank.aum": 25750.0, "bank.regions": 7}
    assert isinstance(totals["bank.customers"], int)


def test_scorecard_table_shares_and_metrics() -> None:
    assert scorecard_columns("card")[-1] == "hold_card" and "manager_id" in scorecard_columns("x")
    sc = suppress_scorecard(_scorecard(min_group_size=1).reset_index(), min_group_size=3)
    assert "suppressed" not in sc.columns
    ra, rb = sc.set_index("region_id").loc["RA"], sc.set_index("region_id").loc["RB"]
    assert ra["product_coverage"] == pytest.approx(2 / 3)  # 3 customers: shown
    assert rb[list(SCORECARD_KPIS)].isna().all() and rb["customers"] == 2  # 2 < 3: blank
    table = scorecard_table(sc, NAMES)
    assert table.index.tolist() == ["North <b>", "South"] and "region_id" not in table.columns
    assert table.at["North <b>", "product coverage"] == pytest.approx(2 / 3)
    heat = scorecard_shares(sc, NAMES)
    assert heat.columns.tolist()[0] == "product coverage" and heat.shape == (2, 6)
    assert "new deposits" not in heat.columns and "self-service ratio" not in heat.columns
    m = scorecard_metrics(sc)
    assert m["scorecard.stock_retention.median"] == pytest.approx(2 / 3)
    assert m["scorecard.new_deposits.max"] == 20.0
    full = scorecard_metrics(_scorecard(min_group_size=1).reset_index())
    assert full["scorecard.customer_growth.median"] == pytest.approx(0.5)
    assert full["scorecard.customer_growth.min"] == 0.0
    assert full["scorecard.customer_growth.max"] == 1.0
    blank = scorecard_metrics(sc.assign(vip_service=np.nan))
    assert blank["scorecard.vip_service.median"] is None


def test_league_ranks_and_metrics() -> None:
    sc = _scorecard(min_group_size=1).reset_index()
    league = with_region_names(league_table(sc), NAMES)
    assert league.columns[:2].tolist() == ["region_id", "region"]
    ranks = league_ranks(league)
    assert "region_id" not in ranks.columns and "rank_customer_growth" not in ranks.columns
    # RB beats RA on growth, retention and e-channel; RA on coverage, VIP service, contact plan,
    # self-service ratio, new deposits and wealth card: RA first on 6 of 9 KPIs
    assert ranks.at["North <b>", "customer growth"] == 2.0
    assert ranks.at["North <b>", "score"] == pytest.approx(6 / 9)
    m = league_metrics(league)
    assert m == {"league.regions_ranked": 2, "league.score.spread": pytest.approx(6 / 9 - 3 / 9)}


def test_attainment_grid_and_metrics() -> None:
    targets = pd.DataFrame(
        {
            "month": ["2024-03"] * 3,
            "level": ["region"] * 3,
            "id": ["RA", "RB", "RB"],
            "kpi": ["aum", "aum", "customers"],
            "target": [5000.0, 25000.0, 2.0],
        }
    )
    ta = target_attainment(_rm(), targets, "2024-03")
    grid = attainment_grid(ta, NAMES)
    assert grid.index.tolist() == ["North <b>", "South"]
    assert grid.at["South", "customers"] == 1.0 and np.isnan(grid.at["North <b>", "customers"])
    m = attainment_metrics(ta)
    assert m == {
        "targets.region_kpis": 3,
        "targets.share_met": pytest.approx(2 / 3),
        "targets.aum.regions_below": 1,
        "targets.customers.regions_below": 0,
    }
    assert attainment_metrics(target_attainment(_rm(), None, "2024-03")) == {
        "targets.region_kpis": 0
    }
