"""Generated section sentences: what the league, the targets and the productivity mean."""

from __future__ import annotations

import pandas as pd

from bankanalysis.report.narrative import (
    attainment_conclusion,
    league_conclusion,
    level_sentences,
)


def _league(scores: list[float], echelons: list[int], compared: list[str] | None = None):
    n = len(scores)
    return pd.DataFrame(
        {
            "region": [f"Region {c}" for c in "ABCDE"[:n]],
            "echelon": echelons,
            "league_score": scores,
            "league_rank": pd.Series(scores).rank(ascending=False, method="min").tolist(),
            "compared_with": compared or ["echelon"] * n,
        }
    )


def test_league_conclusion_names_leader_last_and_ties() -> None:
    t = _league([0.9, 0.5, 0.1, 0.6, 0.6], [1, 1, 1, 2, 2])
    assert league_conclusion(t, 0.005) == (
        "Echelon 1: Region A leads (score 0.900); Region C is last (0.100). "
        "Echelon 2: all 2 regions are level (scores within 0.5 % of each other)."
    )
    # a region alone in its echelon gets no sentence of its own
    lone = _league([0.9, 0.5, 0.7], [1, 1, 3], ["echelon", "echelon", "bank"])
    assert league_conclusion(lone, 0.005) == (
        "Echelon 1: Region A leads (score 0.900); Region B is last (0.500)."
    )


def test_attainment_conclusion_counts_and_worst() -> None:
    a = pd.DataFrame(
        {
            "region_id": ["R1", "R1", "R2", "R2", "R3"],
            "kpi": ["aum", "fee_income", "aum", "fee_income", "fee_income"],
            "met": [True, False, False, False, False],
        }
    )
    # fee income missed by R1, R2, R3 (3 of 3); R2 misses both of its targets
    assert attainment_conclusion(a, {"R1": "North", "R2": "South", "R3": "East"}) == (
        "4 of 5 region targets are missed. Most often missed: Intermediary (fee) income (3 of 3 "
        "regions). Most targets missed: South (2 of 2)."
    )
    assert attainment_conclusion(a.iloc[0:0], {}) == (
        "The data carry no region targets for this month."
    )


def _levels(region_customers: int = 400) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "month": ["2025-05", "2025-06"] * 3,
            "level": ["North"] * 2 + ["echelon 2"] * 2 + ["whole bank"] * 2,
            "customers": [region_customers] * 2 + [2000] * 2 + [9000] * 2,
            "customers_per_fte": [80.0, 80.2, 90.0, 90.0, 100.0, 100.0],
            "sales_per_fte": [5.0, 4.0, 4.5, 4.5, 5.0, 5.0],
        }
    )


def test_level_sentences_against_echelon_and_last_month() -> None:
    text = level_sentences(_levels(), "2025-06", 0.005, "CNY", 10)
    # 80.2 vs 90.0: 9.8 below; 80.2 vs 80.0 is 0.25 % (a tie); 4.0 vs 4.5 below, vs 5.0 fell 1.0
    assert text == (
        "Customers per staff FTE is 80.2, 9.8 below its echelon (90.0). "
        "Customers per staff FTE is unchanged since 2025-05 within 0.5 % (80.2). "
        "Product sales per staff FTE is 4.0, 0.5 below its echelon (4.5). "
        "Product sales per staff FTE fell 1.0 since 2025-05, to 4.0."
    )


def test_level_sentences_say_nothing_for_a_small_region() -> None:
    assert level_sentences(_levels(region_customers=4), "2025-06", 0.005, "CNY", 10) == ""


def test_trend_sentences_bank_then_echelons_small_echelon_withheld() -> None:
    from bankanalysis.report.narrative import comparison_months, trend_sentences

    t = pd.DataFrame(
        {
            "month": ["2026-07"] * 2 + ["2026-09"] * 2 + ["2026-10"] * 2,
            "echelon": [1, 2] * 3,
            "customers": [500, 400, 500, 400, 510, 5],
            "aum": [2.0e6, 1.0e6, 1.0e6, 2.0e6, 1.002e6, 2.0e6],
        }
    )
    text = trend_sentences(t, "2026-10", comparison_months("2026-10"), 0.005, "CNY", 10)
    # bank: 3,002,000 vs 3,000,000 (0.07 %: a tie) and vs 3,000,000 in 2026-07; echelon 1:
    # 1,002,000 vs 1,000,000 is 0.2 %: a tie; echelon 2 has 5 customers: withheld.
    assert text == (
        "The bank: Assets under management is unchanged since last month (2026-09) within "
        "0.5 % (3,002,000 CNY). The bank: Assets under management is unchanged since last "
        "quarter (2026-07) within 0.5 % (3,002,000 CNY). Echelon 1: Assets under management is "
        "unchanged since last month (2026-09) within 0.5 % (1,002,000 CNY)."
    )
