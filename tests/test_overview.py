"""Whole-bank overview: scorecard KPIs, league tables, echelons and targets on hand-made data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from overview_data import customer_month as _cm
from overview_data import region_month as _rm

from bankanalysis.exceptions import BankAnalysisError
from bankanalysis.overview import (
    base_month,
    echelon_comparison,
    league_table,
    monthly_trends,
    overview_months,
    region_scorecard,
    target_attainment,
)

MONTHS = ["2024-01", "2024-02", "2024-03"]


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
