"""Attack D: a printed rate gives back the withheld count it is over (tests/attacker_rates.py).

Hand-built pages with the headers the reports print (the KPI dictionary's names), then the
attacker on the session's CI batch (``run_level``: ``make audit`` runs it on any run).
"""

from __future__ import annotations

import functools

import pytest
from attacker import run_tables, write_page
from attacker_rates import (
    feasible_counts,
    implied_counts,
    implied_leaks,
    migration_retention,
    money_leaks,
    rate_leaks,
    rate_pairs,
    reading,
    region_totals,
    run_implied_leaks,
    run_migration_leaks,
    run_rate_leaks,
    withheld_money,
)
from audit_env import auditing

from bankanalysis.report.format import kpi_label

AUDIT = auditing()
QP = "Quality-and-above customers"
#: 01's account-manager table as the report heads it.
MANAGERS = [
    "Outlet",
    QP,
    kpi_label("manager_coverage"),
    "Full-time account managers",
    kpi_label("manager_adequacy"),
    kpi_label("contact_plan_coverage"),
]


def _values(found, region, unit):
    return found[(region, unit.lower(), QP)]["values"]


def test_the_pairs_come_from_the_kpi_dictionary():
    pairs = {p.kpi: (p.numerator, p.denominator, p.share) for p in rate_pairs()}
    assert pairs["manager_coverage"] == ("", QP, True)
    assert pairs["contact_plan_coverage"] == ("", QP, True)
    assert pairs["manager_adequacy"] == (QP, "Full-time account managers", False)
    assert pairs["take_up_rate"] == ("Buyers evaluated", "Customers evaluated", True)


def test_two_rates_over_a_secondary_outlet_give_the_small_one_back_with_the_regions_total(
    tmp_path,
):
    """R02 of the CI bank before h17rate, with a second rate: the `x` outlet's 16.7 % and
    57.1 % are 7/42 and 24/42 (16.7 % alone: 12, 18, .., 42, 48), so with the region's 49 the
    `<10` outlet's 7 is 7 exactly."""
    write_page(
        tmp_path / "run" / "R02" / "01_customer_segmentation.html",
        ("Account managers", MANAGERS,
         [["O'Brien", "x", "57.1%", "2", "x", "16.7%"],
          ["Small", "&lt;10", "&lt;10", "1", "&lt;10", "&lt;10"]]),
    )  # fmt: skip
    tables = run_tables(tmp_path / "run")
    found = feasible_counts(tables, totals={("R02", QP): {49}})
    assert _values(found, "R02", "O'Brien") == [42]
    assert _values(found, "R02", "Small") == [7]
    leaks = rate_leaks(found)
    assert leaks == [("R02", "small", QP, "<k", [7])]
    # without the region's total the rates say nothing of the small outlet, and O'Brien's
    # count is a multiple of 42 up to where rounding lets more through
    alone = feasible_counts(tables)
    assert ("R02", "small", QP) not in alone
    assert _values(alone, "R02", "O'Brien")[:3] == [42, 84, 126]
    assert rate_leaks(alone) == []


def test_a_rate_in_another_report_of_the_region_is_read_against_the_count(tmp_path):
    """01 withholds O'Brien's count and rates; 02's outlet scorecards print its contact-plan
    coverage, 16.7 %: with the region's 49 O'Brien is 42 or 48 and the small outlet 7 or 1
    (the brief's example: two values, 6 apart, not narrower than the protection interval)."""
    write_page(
        tmp_path / "run" / "R02" / "01_customer_segmentation.html",
        ("Account managers", MANAGERS,
         [["O'Brien", "x", "x", "2", "x", "x"],
          ["Small", "&lt;10", "&lt;10", "1", "&lt;10", "&lt;10"]]),
    )  # fmt: skip
    write_page(
        tmp_path / "run" / "R02" / "02_cross_sell_propensity.html",
        ("Account managers' scorecards", ["outlet", "Customers", kpi_label("contact_plan_coverage")],
         [["O'Brien", "160", "16.7%"], ["Small", "40", "&lt;10"]]),
    )  # fmt: skip
    found = feasible_counts(run_tables(tmp_path / "run"), totals={("R02", QP): {49}})
    assert _values(found, "R02", "O'Brien") == [42, 48]
    assert _values(found, "R02", "Small") == [1, 7]
    assert found[("R02", "o'brien", QP)]["rates"] == ["contact_plan_coverage"]
    assert rate_leaks(found) == []


def test_a_ratio_over_a_printed_count_gives_its_withheld_numerator_back(tmp_path):
    """An adequacy ratio of 4 over 2 full-time managers: 7 to 9 quality-and-above customers
    (3.5 .. 4.5 per manager), narrower than the 4.5 a `<10` must keep."""
    write_page(
        tmp_path / "run" / "R05" / "01_customer_segmentation.html",
        ("Account managers", MANAGERS,
         [["North", "&lt;10", "&lt;10", "2", "4", "&lt;10"],
          ["South", "25", "60.0%", "1", "25", "20.0%"]]),
    )  # fmt: skip
    found = feasible_counts(run_tables(tmp_path / "run"))
    assert _values(found, "R05", "North") == [7, 8, 9]
    assert found[("R05", "north", QP)]["rates"] == ["manager_adequacy"]
    assert rate_leaks(found) == [("R05", "north", QP, "<k", [7, 8, 9])]


def test_03s_quarter_table_is_read_in_its_data_month_column_against_01s_count(tmp_path):
    """R057 of the 120-region bank before h17rate: 01 withholds both outlets' counts, 03's
    quarter table prints the `x` outlet's wealth-card matching, 73.7 % in 2026-Q4 (to date):
    14/19 (28/38 is over the region's 22), so the `<10` outlet is 22 - 19 = 3. The earlier
    quarters (stock figures of other months) are not read."""
    write_page(
        tmp_path / "run" / "R057" / "01_customer_segmentation.html",
        ("Account managers", MANAGERS,
         [["江港黄河路支行", "x", "x", "1", "x", "x"],
          ["江港学府路社区支行", "&lt;10", "&lt;10", "1", "&lt;10", "&lt;10"]]),
    )  # fmt: skip
    wcm = kpi_label("wealth_card_matching")
    write_page(
        tmp_path / "run" / "R057" / "03_outlet_benchmarking.html",
        ("Quarters", ["Scope", "KPI", "2026-Q3", "2026-Q4 (to date)"],
         [["江港黄河路支行", wcm, "50.0%", "73.7%"],
          ["江港学府路社区支行", wcm, "&lt;10", "&lt;10"]]),
    )  # fmt: skip
    found = feasible_counts(run_tables(tmp_path / "run"), totals={("R057", QP): {22}})
    assert _values(found, "R057", "江港黄河路支行") == [19]
    assert found[("R057", "江港黄河路支行", QP)]["rates"] == ["wealth_card_matching"]
    assert rate_leaks(found) == [("R057", "江港学府路社区支行", QP, "<k", [3])]


def test_a_money_numerator_and_its_per_customer_figure_give_the_customers_back(tmp_path):
    """A tier row printing its AUM and AUM per customer beside a `<10` count: 1,234,567 CNY at
    154,321 CNY a customer is 8 customers (1,234,566.5 / 154,321.5 = 7.99996, 1,234,567.5 /
    154,320.5 = 8.00002); the AUM itself is read, not enumerated."""
    write_page(
        tmp_path / "run" / "R08" / "01_customer_segmentation.html",
        ("Tiers", ["Tier", "Customers", "Assets under management (CNY)",
                   kpi_label("aum_per_customer", "CNY")],
         [["VIP", "&lt;10", "1,234,567", "154,321"], ["Private banking", "0", "0", "n/a"]]),
    )  # fmt: skip
    found = feasible_counts(run_tables(tmp_path / "run"))
    assert found[("R08", "vip", "Customers")]["values"] == [8]
    assert found[("R08", "vip", "Customers")]["rates"] == ["aum_per_customer"]
    assert rate_leaks(found) == [("R08", "vip", "Customers", "<k", [8])]


def test_a_share_whose_numerator_is_printed_nowhere_leaves_the_multiples_of_its_fraction(
    tmp_path,
):
    """A take-up rate of 25.0 % beside `<10` customers evaluated, the buyers printed nowhere:
    1/4 or 2/8, so 4 or 8 (4 apart: a leak); 33.3 % leaves 3, 6 or 9 (6 apart: none)."""
    write_page(
        tmp_path / "run" / "R01" / "02_cross_sell_propensity.html",
        ("How good are the models?", ["product name", "Customers evaluated",
                                      kpi_label("take_up_rate")],
         [["Fund", "&lt;10", "25.0%"], ["Gold", "&lt;10", "33.3%"]]),
    )  # fmt: skip
    found = feasible_counts(run_tables(tmp_path / "run"))
    assert found[("R01", "fund", "Customers evaluated")]["values"] == [4, 8]
    assert found[("R01", "gold", "Customers evaluated")]["values"] == [3, 6, 9]
    assert rate_leaks(found) == [("R01", "fund", "Customers evaluated", "<k", [4, 8])]


def test_the_protected_table_gives_nothing_back(tmp_path):
    """What 01 prints since h17rate: the rates follow their count (`<10`, `x`): no rate is read
    and the region's total leaves the small outlet 1 .. 9."""
    write_page(
        tmp_path / "run" / "R02" / "01_customer_segmentation.html",
        ("Account managers", MANAGERS,
         [["O'Brien", "x", "x", "2", "x", "x"],
          ["Small", "&lt;10", "&lt;10", "1", "&lt;10", "&lt;10"]]),
    )  # fmt: skip
    found = feasible_counts(run_tables(tmp_path / "run"), totals={("R02", QP): {49}})
    assert found == {}
    assert rate_leaks(found) == []


def test_a_gap_column_under_the_counts_name_is_not_the_count(tmp_path):
    """03's peer ranks head the share's gap to the peer median "Quality-and-above customers"
    (pp): it is neither the count nor a rate over it."""
    write_page(
        tmp_path / "run" / "R02" / "03_outlet_benchmarking.html",
        ("Peer ranks", ["outlet", "Product coverage", QP],
         [["O'Brien", "+1.0 pp", "x"], ["Small", "-2.0 pp", "&lt;10"]]),
    )  # fmt: skip
    assert feasible_counts(run_tables(tmp_path / "run"), totals={("R02", QP): {49}}) == {}
    # nor is a per-FTE gap read as the ratio (customers per staff FTE over a withheld count)
    write_page(
        tmp_path / "run" / "R03" / "03_outlet_benchmarking.html",
        ("Outlet KPIs", ["outlet", "Staff (FTE)", "Customers"], [["East", "2.0", "&lt;10"]]),
        ("Peer ranks", ["outlet", kpi_label("customers_per_fte"), "Product coverage"],
         [["East", "-0.8", "+1.0 pp"]]),
    )  # fmt: skip
    assert feasible_counts(run_tables(tmp_path / "run")) == {}


def test_the_regions_total_is_read_from_03s_key_figures_and_outlet_table(tmp_path):
    """19.1 % of the outlets' 98 + 17 = 115 customers is 22 quality-and-above customers
    (21.9 .. 22.0; R057 of the 120-region bank), and 01's tier table agrees (115 - 93)."""
    write_page(
        tmp_path / "run" / "R057" / "03_outlet_benchmarking.html",
        ("Outlet KPIs", ["outlet", "Customers"], [["A", "98"], ["B", "17"]]),
        ("Key figures", ["figure", "value"], [["Outlets", "2"], [QP, "19.1%"]]),
    )
    write_page(
        tmp_path / "run" / "R057" / "01_customer_segmentation.html",
        ("Tiers: mass, quality, VIP and private banking", ["Tier", "Customers"],
         [["Mass", "93"], ["Quality", "x"], ["VIP", "&lt;10"], ["Private banking", "&lt;10"]]),
    )  # fmt: skip
    assert region_totals(run_tables(tmp_path / "run")) == {("R057", QP): {22}}


#: 02's table of last period's leads as the report heads it.
CONVERSION = [
    "product name", "Leads", kpi_label("lead_conversion_rate"), "Predicted by the scores (%)",
    "Leads with comparable customers", "Their conversion (%)",
    kpi_label("comparable_conversion_rate"), kpi_label("lead_conversion_uplift"),
]  # fmt: skip
#: 02's table of the region's customers' evaluation.
REGION_EVAL = [
    "product name", "Customers evaluated", "Buyers evaluated", "Model AUC (out of time)",
    kpi_label("top_decile_lift"), kpi_label("top_decile_capture"),
]  # fmt: skip


def test_a_conversion_rate_beside_its_leads_gives_the_few_who_bought_back(tmp_path):
    """R01 of the CI bank on main: 13.3 % of 30 leads is 4 customers who bought (3.99 ..
    4.02), a group of fewer than 10 the policy withholds; 0.0 % of 15 is nobody and 25.0 % of
    40 is 10 (no finding). The protected table (``<10``) gives nothing."""
    write_page(
        tmp_path / "run" / "R01" / "02_cross_sell_propensity.html",
        ("Did last period's leads work?", CONVERSION,
         [["理财产品", "30", "13.3%", "17.8%", "&lt;10", "&lt;10", "&lt;10", "&lt;10"],
          ["保险", "15", "0.0%", "13.7%", "15", "0.0%", "6.7%", "-6.7 pp"],
          ["基金", "40", "25.0%", "26.6%", "40", "25.0%", "20.0%", "+5.0 pp"]]),
    )  # fmt: skip
    found = implied_counts(run_tables(tmp_path / "run"))
    where = "R01/02_cross_sell_propensity.html#0 (Did last period's leads work?)"
    assert found[("R01", "理财产品", "Leads converted", where)]["values"] == [4]
    assert found[("R01", "保险", "Leads converted", where)]["values"] == [0]
    assert found[("R01", "基金", "Leads converted", where)]["values"] == [10]
    assert implied_leaks(found) == [("R01", "理财产品", "Leads converted", [4])]
    # the uplift column (pp) is a gap, not a rate: it is not read as the conversion
    assert found[("R01", "保险", "Leads converted", where)]["rates"] == ["lead_conversion_rate"]
    write_page(
        tmp_path / "run" / "R01" / "02_cross_sell_propensity.html",
        ("Did last period's leads work?", CONVERSION,
         [["理财产品", "30", "&lt;10", "17.8%", "&lt;10", "&lt;10", "&lt;10", "&lt;10"]]),
    )  # fmt: skip
    assert implied_counts(run_tables(tmp_path / "run")) == {}


def test_a_capture_beside_the_regions_buyers_gives_the_best_scored_buyers_back(tmp_path):
    """R01 of the CI bank on main: 37.5 % of 16 buyers is 6 among the best-scored tenth (the
    whole bank's table, 43.8 % of 73, is 32: another table, read apart)."""
    write_page(
        tmp_path / "run" / "R01" / "02_cross_sell_propensity.html",
        ("How good are the models?", ["product name", "Buyers evaluated",
                                      kpi_label("top_decile_capture")],
         [["理财产品", "73", "43.8%"]]),
        ("How good are the models?", REGION_EVAL,
         [["理财产品", "466", "16", "0.730", "3.72", "37.5%"],
          ["保险", "507", "&lt;10", "&lt;10", "&lt;10", "&lt;10"]]),
    )  # fmt: skip
    found = implied_counts(run_tables(tmp_path / "run"))
    page = "R01/02_cross_sell_propensity.html"
    bank = (f"{page}#0 (How good are the models?)", f"{page}#1 (How good are the models?)")
    assert found[("R01", "理财产品", "Buyers in the top decile", bank[0])]["values"] == [32]
    assert found[("R01", "理财产品", "Buyers in the top decile", bank[1])]["values"] == [6]
    assert implied_leaks(found) == [("R01", "理财产品", "Buyers in the top decile", [6])]
    # as 02 prints it now: the region's capture and lift withheld, the bank's 32 stay read
    write_page(
        tmp_path / "run" / "R01" / "02_cross_sell_propensity.html",
        ("How good are the models?", ["product name", "Buyers evaluated",
                                      kpi_label("top_decile_capture")],
         [["理财产品", "73", "43.8%"]]),
        ("How good are the models?", REGION_EVAL,
         [["理财产品", "466", "16", "0.730", "&lt;10", "&lt;10"]]),
    )  # fmt: skip
    found = implied_counts(run_tables(tmp_path / "run"))
    assert [key[3] for key in found] == [bank[0]] and implied_leaks(found) == []


def test_a_rate_with_both_counts_withheld_gives_both_back(tmp_path):
    """A take-up rate of 87.5 % with `<10` customers evaluated and `<10` buyers: 7 of 8
    (14/16 is over 9), so both; 50.0 % leaves 2, 4, 6 or 8 customers (no finding)."""
    write_page(
        tmp_path / "run" / "R01" / "02_cross_sell_propensity.html",
        ("How good are the models?", ["product name", "Customers evaluated", "Buyers evaluated",
                                      kpi_label("take_up_rate")],
         [["Fund", "&lt;10", "&lt;10", "87.5%"], ["Gold", "&lt;10", "&lt;10", "50.0%"]]),
    )  # fmt: skip
    found = feasible_counts(run_tables(tmp_path / "run"))
    assert found[("R01", "fund", "Customers evaluated")]["values"] == [8]
    assert found[("R01", "fund", "Buyers evaluated")]["values"] == [7]
    assert found[("R01", "gold", "Customers evaluated")]["values"] == [2, 4, 6, 8]
    assert found[("R01", "gold", "Buyers evaluated")]["values"] == [1, 2, 3, 4]
    assert rate_leaks(found) == [
        ("R01", "fund", "Buyers evaluated", "<k", [7]),
        ("R01", "fund", "Customers evaluated", "<k", [8]),
        ("R01", "gold", "Buyers evaluated", "<k", [1, 2, 3, 4]),
    ]
    # withheld with its counts, the rate says nothing
    write_page(
        tmp_path / "run" / "R01" / "02_cross_sell_propensity.html",
        ("How good are the models?", ["product name", "Customers evaluated", "Buyers evaluated",
                                      kpi_label("take_up_rate")],
         [["Fund", "&lt;10", "&lt;10", "&lt;10"]]),
    )  # fmt: skip
    assert feasible_counts(run_tables(tmp_path / "run")) == {}


def test_an_earlier_quarter_of_a_long_table_is_read_against_the_same_quarter(tmp_path):
    """03's quarter table: an outlet's customers `<10` at 2026-Q3 (its end, 2026-09) with
    its AUM per customer and AUM of 2026-Q3 printed: 1,234,567 CNY at 154,321 a customer is 8
    customers; the rate of another quarter (2026-Q2) is not read against it."""
    aum, per = kpi_label("aum", "CNY"), kpi_label("aum_per_customer", "CNY")
    write_page(
        tmp_path / "run" / "R05" / "03_outlet_benchmarking.html",
        ("Quarters", ["Scope", "KPI", "2026-Q2", "2026-Q3", "2026-10"],
         [["East", "Customers", "12", "&lt;10", "15"],
          ["East", aum, "2,000,000 CNY", "1,234,567 CNY", "2,500,000 CNY"],
          ["East", per, "166,667 CNY", "154,321 CNY", "166,667 CNY"]]),
    )  # fmt: skip
    found = feasible_counts(run_tables(tmp_path / "run"))
    assert found[("R05", "east @ 2026-09", "Customers")]["values"] == [8]
    assert rate_leaks(found) == [("R05", "east @ 2026-09", "Customers", "<k", [8])]
    write_page(
        tmp_path / "run" / "R05" / "03_outlet_benchmarking.html",
        ("Quarters", ["Scope", "KPI", "2026-Q2", "2026-Q3", "2026-10"],
         [["East", "Customers", "12", "&lt;10", "15"],
          ["East", aum, "2,000,000 CNY", "&lt;10", "2,500,000 CNY"],
          ["East", per, "166,667 CNY", "&lt;10", "166,667 CNY"]]),
    )  # fmt: skip
    assert feasible_counts(run_tables(tmp_path / "run")) == {}


def test_a_regions_count_withheld_in_its_page_is_read_against_the_overviews_rate(tmp_path):
    """A region's customers `<10` in its 03 change table (named by the region's name) and the
    overview's scorecard printing its customers per staff FTE (2.3) beside its staff (3.0):
    6.75 .. 7.05, so 7 customers."""
    write_page(
        tmp_path / "run" / "_bank" / "00_bank_overview.html",
        ("Scorecard", ["Region", "Staff (FTE)", kpi_label("customers_per_fte")],
         [["东湖分行", "3.0", "2.3"], ["西港分行", "40.0", "9.7"]]),
    )  # fmt: skip
    write_page(
        tmp_path / "run" / "R02" / "03_outlet_benchmarking.html",
        ("Change on the month and on the year", ["Scope", "KPI", "2026-10", "On the month"],
         [["东湖分行", "Customers", "&lt;10", "&lt;10"]]),
    )  # fmt: skip
    found = feasible_counts(run_tables(tmp_path / "run"))
    assert found[("", "东湖分行", "Customers")]["values"] == [7]
    assert found[("", "东湖分行", "Customers")]["rates"] == ["customers_per_fte"]
    assert rate_leaks(found) == [("", "东湖分行", "Customers", "<k", [7])]
    # the overview withholding the ratio with the count: nothing read
    write_page(
        tmp_path / "run" / "_bank" / "00_bank_overview.html",
        ("Scorecard", ["Region", "Staff (FTE)", kpi_label("customers_per_fte")],
         [["东湖分行", "3.0", "&lt;10"], ["西港分行", "40.0", "9.7"]]),
    )  # fmt: skip
    assert feasible_counts(run_tables(tmp_path / "run")) == {}


def test_withheld_money_beside_its_per_customer_figure_is_bounded(tmp_path):
    """03's outlet table: AUM `x` beside 358 customers at 274,575 CNY a customer: 358 x
    274,574.5 .. 358 x 274,575.5 = 98,297,671 .. 98,298,029 CNY, far narrower than half its
    upper end; withheld with its per-customer figure (South), nothing is bounded."""
    write_page(
        tmp_path / "run" / "R01" / "03_outlet_benchmarking.html",
        ("Outlet KPIs", ["outlet", "type", "Staff (FTE)", "Customers", kpi_label("aum", "CNY")],
         [["North", "flagship", "41.5", "358", "x"], ["South", "flagship", "43.0", "257", "x"]]),
        ("Outlet KPIs", ["outlet", "type", kpi_label("aum_per_customer", "CNY")],
         [["North", "flagship", "274,575"], ["South", "flagship", "x"]]),
    )  # fmt: skip
    found = withheld_money(run_tables(tmp_path / "run"))
    north = found[("R01", "north", "Assets under management")]
    assert (north["lower"], north["upper"]) == (98_297_671.0, 98_298_029.0)
    assert ("R01", "south", "Assets under management") not in found
    assert [leak[:3] for leak in money_leaks(found)] == [
        ("R01", "north", "Assets under management")
    ]


#: 01's migration table as the report heads it (base month 2025-10, data month 2026-10).
MIGRATION = [
    "Tier", "Customers at 2025-10", "Customers at 2026-10", "Net change", "New", "Lost",
    kpi_label("stock_retention"),
]  # fmt: skip


def test_a_tiers_retention_gives_its_lost_customers_back_over_its_base(tmp_path):
    """01's migration table: quality 40 customers at the base month, `<10` lost, retention
    95.0 %: lost / 40 within 4.95 .. 5.05 %, so 2 lost (1.98 .. 2.02); VIP `<10` at the base,
    `<10` lost, 85.7 %: 1 of 7 (2 of 14 is over 9); mass `x` / `<10` at 95.0 % leaves every
    lost count 1 .. 9 (20 .. 180 at the base): no finding. Withheld with its counts (as 01
    prints it), the retention says nothing."""
    write_page(
        tmp_path / "run" / "R01" / "01_customer_segmentation.html",
        ("Migration between tiers", MIGRATION,
         [["Mass", "x", "499", "x", "x", "&lt;10", "95.0%"],
          ["Quality", "40", "45", "+5", "12", "&lt;10", "95.0%"],
          ["VIP", "&lt;10", "18", "x", "x", "&lt;10", "85.7%"]]),
    )  # fmt: skip
    found = migration_retention(run_tables(tmp_path / "run"))
    assert found[("R01", "quality", "lost")]["values"] == [2]
    assert found[("R01", "vip", "base")]["values"] == [7]
    assert found[("R01", "vip", "lost")]["values"] == [1]
    assert found[("R01", "mass", "lost")]["values"] == list(range(1, 10))
    assert found[("R01", "mass", "base")]["values"][:3] == [20, 40, 60]
    leaks = run_migration_leaks(run_tables(tmp_path / "run"))[1]
    assert leaks == [
        ("R01", "quality", "lost", "<k", [2]),
        ("R01", "vip", "base", "<k", [7]),
        ("R01", "vip", "lost", "<k", [1]),
    ]
    write_page(
        tmp_path / "run" / "R01" / "01_customer_segmentation.html",
        ("Migration between tiers", MIGRATION,
         [["Quality", "40", "45", "+5", "12", "&lt;10", "&lt;10"],
          ["VIP", "&lt;10", "18", "x", "x", "&lt;10", "&lt;10"]]),
    )  # fmt: skip
    assert migration_retention(run_tables(tmp_path / "run")) == {}


@functools.cache
def _attack(run_dir):
    tables = run_tables(run_dir)
    implied = (*run_implied_leaks(tables), *run_migration_leaks(tables))
    return (*run_rate_leaks(run_dir, tables), reading(tables), implied)


@pytest.mark.run_level
@pytest.mark.slow
def test_no_printed_rate_gives_a_withheld_count_back_in_the_html(ci_run):
    """Attack D on every HTML table of the run: every withheld count with a rate over it (or
    of it) printed, bounded by the rates' rounding, its markers and the region's total."""
    found, leaks, read, _ = _attack(ci_run.run_dir)
    assert leaks == [], leaks
    assert read["printed_rates"] > 0
    if not AUDIT:
        # the CI batch (R01, R02): withheld counts of the dictionary's pairs are read (13 on
        # the CI bank of 1 Dec 2026: tier customers and AUM, R02's two outlets'
        # quality-and-above customers, two products' leads; 146 printed rates), none with a
        # rate over it printed: since h17rate the rates over an outlet's quality-and-above
        # customers are withheld with the count
        assert read["withheld_counts"] > 0 and read["paired"] == 0
        assert found == {}


@pytest.mark.run_level
@pytest.mark.slow
def test_no_printed_rate_gives_a_small_group_or_withheld_money_back_in_the_html(ci_run):
    """Attack D on the counts no table prints (the leads who bought, the buyers among the
    best-scored tenth: a printed rate times its printed denominator), on withheld money
    beside a per-customer or per-FTE figure and its count, and on 01's retention per tier
    over its base and lost customers."""
    _, _, _, (implied, small, money, pinned, _, retention) = _attack(ci_run.run_dir)
    assert small == [], small
    assert pinned == [], pinned
    assert retention == [], retention
    if not AUDIT:
        # the CI batch (R01, R02): 02's conversion and model tables print rates over leads
        # and buyers (main gave 19 small groups back there: R01's 4 of 30 leads converted,
        # 6 of 16 buyers in the best-scored tenth, ...)
        # and the covered customers of every printed product coverage beside its customers
        counted = {key[2] for key in implied}
        assert {"Leads converted", "Buyers in the top decile", "Covered customers"} <= counted
