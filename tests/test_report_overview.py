"""Report shaping of the bank overview: labelled tables, withheld small groups, metrics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from overview_data import customer_month, region_month

from bankanalysis.overview import (
    SCORECARD_KPIS,
    echelon_comparison,
    league_table,
    monthly_trends,
    region_scorecard,
    scorecard_columns,
    target_attainment,
)
from bankanalysis.report.overview import (
    attainment_grid,
    attainment_metrics,
    bank_totals,
    echelon_metrics,
    echelon_table,
    league_metrics,
    league_ranks,
    scorecard_metrics,
    scorecard_shares,
    scorecard_table,
    suppress_scorecard,
    with_echelon_names,
    with_region_names,
)


def _scorecard(min_group_size: int) -> pd.DataFrame:
    return region_scorecard(
        customer_month(),
        region_month(),
        "2024-03",
        thresholds=[100, 1000, 10000],
        tier_months=1,
        coverage_products=3,
        min_group_size=min_group_size,
    ).set_index("region_id")


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
    rm = pd.concat(
        [region_month(), region_month().iloc[[2]].assign(region_id="RC", echelon=2, customers=4)]
    )
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
    totals = bank_totals(monthly_trends(region_month()), n_regions=7)
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
    ta = target_attainment(region_month(), targets, "2024-03")
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
    assert attainment_metrics(target_attainment(region_month(), None, "2024-03")) == {
        "targets.region_kpis": 0
    }
