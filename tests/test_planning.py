"""Plan tracking analytics on small hand-computed banks (bankanalysis.planning)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from plan_data import _bank_monthly, _q1_kpis, _region_month

from bankanalysis import planning as pl
from bankanalysis.exceptions import BenchmarkingError
from bankanalysis.planning.periods import long_values


def test_period_values_sum_flows_recompute_rates_and_take_stocks_at_the_period_end() -> None:
    k = _q1_kpis()
    q = pl.period_values(k, "outlet", "quarter").set_index("id")
    # O1: new deposits 10 + 20 + 30; AUM at March 300; operating hours (50+80+20) / 300
    assert q.at["O1", "new_deposits"] == 60.0
    assert q.at["O1", "aum"] == 300.0
    assert q.at["O1", "device_operating_rate"] == pytest.approx(0.5)
    assert q.at["O1", "period_label"] == "2025-Q1" and bool(q.at["O1", "complete"])
    r = pl.period_values(k, "region", "quarter").set_index("id")
    # R1 = O1 + O2: deposits 60 + 15, AUM 300 + 50, hours (150 + 300) / 600
    assert r.at["R1", "new_deposits"] == 75.0
    assert r.at["R1", "aum"] == 350.0
    assert r.at["R1", "device_operating_rate"] == pytest.approx(0.75)
    b = pl.period_values(k, "bank", "year").set_index("id")
    assert b.at["bank", "new_deposits"] == 78.0  # 75 + 3 x 1
    assert b.at["bank", "fee_income"] == 100.0 * 6 + 21.0
    assert (b.at["bank", "months"], bool(b.at["bank", "complete"])) == (3, False)
    e = pl.period_values(k, "echelon", "month")
    assert sorted(set(e["id"])) == ["1", "2"]
    assert e.loc[(e["id"] == "2") & (e["period_label"] == "2025-02"), "aum"].item() == 10.0


def test_attainment_for_any_level_and_period_with_the_running_year_marked() -> None:
    k = _q1_kpis()
    actuals = pd.concat(
        [
            long_values([pl.period_values(k, lv, p) for lv in pl.LEVEL_COLUMNS], p)
            for p in ("month", "quarter", "year")
        ],
        ignore_index=True,
    )
    targets = pd.DataFrame(
        {
            "month": ["2025-03", "2025-03", "2025-12", "2025-02", "2025-03", "2025-03"],
            "level": ["bank", "region", "echelon", "bank", "outlet", "region"],
            "id": ["bank", "R1", "1", "bank", "O1", "R9"],
            "kpi": ["new_deposits", "new_deposits", "new_deposits", "aum", "aum", "aum"],
            "target": [30.0, 100.0, 300.0, 1.0, 0.0, 5.0],
            "period": ["month", "quarter", "year", None, None, "month"],
        }
    )
    att = pl.attainment(actuals, targets, "2025-03")
    got = {(r.level, r.id, r.period): r for r in att.itertuples(index=False)}
    # the February target is not of a period containing March: left out
    assert len(att) == 5
    bank = got[("bank", "bank", "month")]
    assert (bank.actual, bank.attainment, bank.complete) == (36.0, 1.2, True)  # 30 + 5 + 1
    q = got[("region", "R1", "quarter")]
    assert (q.actual, q.attainment, q.complete) == (75.0, 0.75, True)
    y = got[("echelon", "1", "year")]  # the year is running: to date, not complete
    assert (y.actual, y.attainment, y.complete) == (75.0, 0.25, False)
    o = got[("outlet", "O1", "month")]  # a zero target has no attainment
    assert o.actual == 300.0 and np.isnan(o.attainment)
    unknown = got[("region", "R9", "month")]
    assert np.isnan(unknown.actual) and not unknown.complete
    assert att["level"].tolist()[:2] == ["bank", "echelon"]


def test_normalise_targets_reads_old_files_as_month_targets() -> None:
    old = pd.DataFrame(
        {"month": ["2025-03"], "level": ["region"], "id": ["R1"], "kpi": ["aum"], "target": [1.0]}
    )
    t = pl.normalise_targets(old)
    assert t[["period", "period_label"]].iloc[0].tolist() == ["month", "2025-03"]
    assert pl.normalise_targets(None).empty


def test_ytd_progress_linear_and_seasonal_paths() -> None:
    monthly = _bank_monthly({"2024-12": 50.0, "2025-01": 100.0, "2025-02": 200.0, "2025-03": 300.0})
    targets = pd.DataFrame(
        {"month": ["2025-12"], "level": ["bank"], "id": ["bank"], "kpi": ["new_deposits"],
         "target": [2400.0], "period": ["year"]}
    )  # fmt: skip
    lin = pl.ytd_progress(monthly, targets, "2025-03").iloc[0]
    # 600 to date; a quarter of the year due (600): on plan, projected 2,400, no gap
    assert (lin.ytd_actual, lin.plan_to_date, lin.ytd_vs_plan) == (600.0, 600.0, 1.0)
    assert (lin.projected_year_end, lin.gap, lin.gap_share) == (2400.0, 0.0, 0.0)
    sea = pl.ytd_progress(monthly, targets, "2025-03", "seasonal", [2, 2, 2] + [1] * 9).iloc[0]
    # the first quarter carries 6 of 15 weights: 960 due; 600 / 0.4 = 1,500 projected
    assert sea.plan_to_date == pytest.approx(960.0)
    assert sea.ytd_vs_plan == pytest.approx(0.625)
    assert sea.projected_year_end == pytest.approx(1500.0)
    assert sea.gap == pytest.approx(-900.0) and sea.gap_share == pytest.approx(-0.375)
    assert sea.reason == "" and sea.source == "year"


def test_ytd_progress_keeps_every_level_and_id_apart() -> None:
    """Each target row sums its own (level, id)'s months of the year only; an id the frame
    lacks (another region's target, in a region's report) has no actual and says why."""
    months = ["2024-12", "2025-01", "2025-02"]
    monthly = pd.DataFrame(
        {"month": months * 3, "level": ["region"] * 6 + ["outlet"] * 3,
         "id": ["R1"] * 3 + ["R2"] * 3 + ["R1"] * 3,
         "new_deposits": [1.0, 2.0, 3.0, 10.0, 20.0, 30.0, 100.0, 200.0, 300.0]}
    )  # fmt: skip
    targets = pd.DataFrame(
        {"month": "2025-12", "level": ["region", "region", "outlet", "region"],
         "id": ["R1", "R2", "R1", "R3"], "kpi": "new_deposits", "target": 120.0,
         "period": "year"}
    )  # fmt: skip
    ytd = pl.ytd_progress(monthly, targets, "2025-02").set_index(["level", "id"])
    # 2025's January and February only (December 2024 is another year)
    assert ytd.loc[("region", "R1"), "ytd_actual"] == 5.0
    assert ytd.loc[("region", "R2"), "ytd_actual"] == 50.0
    assert ytd.loc[("outlet", "R1"), "ytd_actual"] == 500.0  # same id, other level
    r3 = ytd.loc[("region", "R3")]
    assert np.isnan(r3.ytd_actual) and r3.reason == "no region R3 in the data"
    assert ytd.loc[("region", "R2"), "ytd_vs_plan"] == pytest.approx(50.0 / 20.0)  # 2/12 due


def test_annual_target_from_twelve_month_targets_and_absent_ytd_with_reason() -> None:
    months = [f"2025-{m:02d}" for m in range(1, 13)]
    targets = pd.DataFrame(
        {"month": months, "level": "bank", "id": "bank", "kpi": "fee_income", "target": 10.0}
    )
    ann = pl.annual_targets(targets, 2025)
    assert ann[["annual_target", "source"]].iloc[0].tolist() == [120.0, "months"]
    # eleven month targets are no annual target
    assert pl.annual_targets(targets.iloc[:11], 2025).empty
    late = _bank_monthly({"2025-02": 5.0, "2025-03": 5.0}, "fee_income")
    row = pl.ytd_progress(late, targets, "2025-03").iloc[0]
    assert np.isnan(row.ytd_actual) and "start at 2025-02" in row.reason
    first = _bank_monthly({"2025-01": np.nan, "2025-02": 5.0}, "fee_income")
    row = pl.ytd_progress(first, targets, "2025-02").iloc[0]
    assert np.isnan(row.projected_year_end) and "no value for 2025-01" in row.reason


def test_plan_path_rejects_bad_weights() -> None:
    with pytest.raises(BenchmarkingError, match="twelve"):
        pl.plan_path("seasonal", [1, 2])
    with pytest.raises(BenchmarkingError, match="linear"):
        pl.plan_path("quarterly")


def test_changes_month_on_month_and_year_on_year() -> None:
    monthly = pd.DataFrame(
        {
            "month": ["2024-03", "2025-02", "2025-03"],
            "level": "bank",
            "id": "bank",
            "fee_income": [80.0, 90.0, 120.0],
            "product_coverage": [0.30, 0.32, 0.35],
        }
    )
    ch = pl.changes(monthly, "2025-03", ["fee_income", "product_coverage", "not_a_column"])
    fee = ch.set_index("kpi").loc["fee_income"]
    assert (fee.mom_change, fee.mom_pct) == (30.0, pytest.approx(1 / 3))
    assert (fee.yoy_change, fee.yoy_pct) == (40.0, pytest.approx(0.5))
    cov = ch.set_index("kpi").loc["product_coverage"]
    assert cov.yoy_change == pytest.approx(0.05) and np.isnan(cov.yoy_pct)  # points, no %
    short = pl.changes(monthly.iloc[1:], "2025-03", ["fee_income"]).iloc[0]
    assert np.isnan(short.yoy_change)
    assert short.yoy_reason == "the data start at 2025-02, so 2024-03 is not in them"
    assert short.mom_reason == ""


def test_echelon_contributions_and_gaps_per_region() -> None:
    rm = _region_month()
    con = pl.echelon_contributions(rm).set_index(["kpi", "echelon"])
    assert con.at[("fee_income", 1), "share"] == pytest.approx(400 / 580)
    assert con.at[("customers", 3), "value"] == 5
    assert con.at[("deposit_balance", 2), "share"] == pytest.approx(0.375)
    gaps = pl.echelon_gaps(rm).set_index(["kpi", "echelon"])
    # echelon 1 averages 200 fee income per region, echelon 2 150, echelon 3 30
    two = gaps.loc[("fee_income", 2)]
    assert (two.compared_with, two.gap, two.ratio) == (1, -50.0, 0.75)
    three = gaps.loc[("fee_income", 3)]
    assert (three.gap, three.ratio) == (-120.0, pytest.approx(0.2))
    assert gaps.loc[("new_deposits", 2), "ratio"] == 2.0
    # without a second echelon there is no pair to compare
    assert pl.echelon_gaps(rm.loc[rm["echelon"] != 2]).empty


def test_self_service_path_per_region_and_bank() -> None:
    rm = _region_month().iloc[:2]
    trend = pl.self_service_trend(rm, 3.0)
    bank = trend.set_index("region_id").loc["bank"]
    # 17 sites / 6 outlets; R1 needs 2 more sites, R2 none, so the bank needs 2 (not pooled 1)
    assert bank.self_service_per_outlet == pytest.approx(17 / 6)
    assert bank.sites_missing == 2.0
    devices = pd.DataFrame(
        {
            "device_id": ["d1", "d2", "d3", "d4", "d5"],
            "region_id": ["R1", "R1", "R1", "R1", "R2"],
            "site_id": ["s1", "s2", "s3", "s3", "s4"],
            "installed": pd.to_datetime(
                ["2023-05-01", "2024-06-10", "2024-12-01", "2022-01-01", "2025-02-01"]
            ),
        }
    )
    pace = pl.install_pace(devices, "2025-03")
    # new sites in April 2024 - March 2025: s2 (R1) and s4 (R2); s3 stood since 2022
    assert pace.to_dict() == {"R1": 1.0, "R2": 1.0, "bank": 2.0}
    path = pl.self_service_path(trend, devices, "2025-03", "2027-12", 3.0).set_index("region_id")
    r1 = path.loc["R1"]
    assert r1.years_left == 2.75  # 33 months
    assert r1.installs_needed_per_year == pytest.approx(2 / 2.75)
    assert bool(r1.on_pace) and not r1.at_target
    assert r1.projected_per_outlet == pytest.approx((10 + 2.75) / 4)
    assert bool(path.at["R2", "at_target"]) and path.at["R2", "installs_needed_per_year"] == 0
    assert path.at["bank", "install_pace"] == 2.0 and path.at["bank", "reason"] == ""
    late = pl.self_service_path(trend, devices, "2025-03", "2025-03")
    assert late["reason"].iloc[0] == "the plan date 2025-03 is not after 2025-03"
    none = pl.self_service_path(
        pl.self_service_trend(rm, 3.0, has_devices=False), None, "2025-03", "2027-12"
    )
    assert none["reason"].iloc[0] == "no device data in this extract"
    assert none["on_pace"].isna().all()


def test_operating_rate_trend_from_summed_hours() -> None:
    trend = pl.operating_rate_trend(_q1_kpis(), "region").set_index(["month", "id"])
    # R1 in January: (50 + 100) / 200
    assert trend.at[("2025-01", "R1"), "device_operating_rate"] == pytest.approx(0.75)
    assert trend.at[("2025-03", "R1"), "device_operating_rate"] == pytest.approx(0.6)


def test_synthetic_year_targets_are_planted_ahead_and_behind_the_pace() -> None:
    from bankanalysis.synthetic.spec import make_calendar
    from bankanalysis.synthetic.targets import plan_year_targets

    cal = make_calendar("2025-03", 4)  # 2024-12 .. 2025-03: three months of 2025
    actuals = pd.DataFrame(
        {
            "t": [t for t in range(4) for _ in range(2)],
            "outlet": [0, 1] * 4,
            "new_customers": [1.0, 2.0] * 4,
            "fee_income": [10.0, 20.0] * 4,
            "sales_total": [np.nan, np.nan] + [3.0, 3.0] * 3,
        }
    )
    outlets = pd.DataFrame({"outlet_id": ["O1", "O2"], "region_id": ["R1", "R2"]})
    targets, truth = plan_year_targets(actuals, outlets, cal)
    fee = targets.loc[targets["kpi"] == "fee_income"].set_index(["period", "id"])["target"]
    # R1: 30 to date, pace 120, planted ahead (x 0.85) = 102; R2: 60, pace 240, behind (x 1.15)
    assert fee["year"].to_dict() == {"R1": 102.0, "R2": 276.0, "bank": 378.0}
    # the first quarter carries a third of the year (the peak season): 34 and 92
    assert fee["quarter"].to_dict() == {"R1": 34.0, "R2": 92.0, "bank": 126.0}
    months = targets.groupby("period")["month"].unique().map(list).to_dict()
    assert months == {"quarter": ["2025-03"], "year": ["2025-12"]}
    t = truth.set_index(["region_id", "kpi"])
    assert t.at[("R1", "fee_income"), "side"] == "ahead"
    assert t.at[("R1", "fee_income"), "gap_share"] == pytest.approx(120 / 102 - 1)
    assert t.at[("R2", "fee_income"), "gap_share"] == pytest.approx(240 / 276 - 1)
    assert t.at[("R2", "fee_income"), "q1_attainment"] == pytest.approx(60 / 92)
    # December 2024 is not in 2025: sales of the year are known and planted
    assert t.at[("bank", "sales_total"), "annual_target"] == 31 + 41  # pace 36 x 0.85, x 1.15


@pytest.mark.slow
def test_the_plan_selfcheck_recovers_the_planted_year_targets(ci_bank) -> None:
    from bankanalysis import selfcheck as sc

    results = sc.check_plan(ci_bank.raw, ci_bank.processed, ci_bank.raw / "_truth")
    assert [r.name for r in results] == [
        "plan.q1_attainment_error",
        "plan.ytd_side_agreement",
        "plan.projected_gap_error",
        "plan.year_attainment_to_date",
    ]
    assert all(r.passed for r in results), [r.detail for r in results]


def test_month_attainment_of_the_older_reports_ignores_quarter_and_year_targets() -> None:
    from bankanalysis.benchmarking.kpis import attainment as month_attainment
    from bankanalysis.overview import target_attainment

    rm = pd.DataFrame({"month": ["2025-03"], "region_id": ["R1"], "fee_income": [90.0]})
    targets = pd.DataFrame(
        {
            "month": ["2025-03", "2025-03"],
            "level": "region",
            "id": "R1",
            "kpi": "fee_income",
            "target": [100.0, 300.0],
            "period": ["month", "quarter"],
        }
    )
    att = target_attainment(rm, targets, "2025-03")
    assert att[["target", "attainment"]].values.tolist() == [[100.0, 0.9]]
    att = month_attainment(rm, targets, "region")
    assert att[["target", "attainment"]].values.tolist() == [[100.0, 0.9]]


def test_absent_values_say_why() -> None:
    targets = pd.DataFrame(
        {"month": ["2025-12"], "level": "bank", "id": "bank", "kpi": "fee_income",
         "target": [100.0], "period": "year"}
    )  # fmt: skip
    unmeasured = _bank_monthly({"2025-01": np.nan, "2025-02": np.nan}, "fee_income")
    row = pl.ytd_progress(unmeasured, targets, "2025-02").iloc[0]
    assert row.reason == "fee_income is not measured in this extract (a table it needs is missing)"
    gap = _bank_monthly({"2024-12": 1.0, "2025-01": np.nan, "2025-02": 2.0}, "fee_income")
    assert pl.ytd_progress(gap, targets, "2025-02").iloc[0].reason == "no value for 2025-01"
    ch = pl.changes(unmeasured, "2025-02", ["fee_income"]).iloc[0]
    assert (ch.mom_reason, ch.yoy_reason) == ("no value for 2025-02", "no value for 2025-02")


def test_first_echelon_ratios_compare_every_region_with_the_first_echelons_average() -> None:
    from bankanalysis.planning import first_echelon_ratios

    rm = _region_month().assign(new_deposits=[10.0, float("nan"), 20.0, 0.0])
    out = first_echelon_ratios(rm).set_index(["kpi", "region_id"])
    # new deposits of the first echelon: 10 known over its 2 regions = 5 per region
    assert out.at[("new_deposits", "R3"), "first_per_region"] == 5.0
    assert out.at[("new_deposits", "R3"), "ratio"] == 4.0
    assert np.isnan(out.at[("new_deposits", "R2"), "ratio"])  # unknown, never 0
    assert out.at[("fee_income", "R4"), "ratio"] == pytest.approx(30 / 200)
    nothing = first_echelon_ratios(rm.assign(fee_income=0.0))
    assert nothing.loc[nothing["kpi"] == "fee_income", "ratio"].isna().all()
    assert first_echelon_ratios(rm.loc[rm["echelon"] > 1]).empty


def test_customer_kpis_of_a_quarter_are_their_one_definition_at_the_quarters_last_month() -> None:
    from plan_data import _customer_snapshot

    tiers, base = _customer_snapshot()
    months = ["2025-01", "2025-02", "2025-03"]
    region = pl.customer_period_values(tiers, base, "2025-03", "region", "quarter", months)
    r = region.set_index("id")
    assert list(r.index) == ["R1", "R2"] and set(r["period_label"]) == {"2025-Q1"}
    # retention: North kept C1, C2 and C5 (now in South) of 4; South C4 of 2
    assert r["stock_retention"].tolist() == [0.75, 0.5]
    # coverage (3 products or more): North C1, C3 of 3; South C4 of 3
    assert r["product_coverage"].tolist() == pytest.approx([2 / 3, 1 / 3])
    # card matching among quality and above: North C1 of C1, C3; South C4 of C4
    assert r["wealth_card_matching"].tolist() == [0.5, 1.0]
    assert r["base_customers"].tolist() == [4.0, 2.0]
    assert r["complete"].all() and (r["months"] == 3).all()
    bank = pl.customer_period_values(tiers, base, "2025-03", "bank", "quarter", months)
    assert bank[["id", "stock_retention", "product_coverage", "wealth_card_matching"]].to_dict(
        "records"
    ) == [{"id": "bank", "stock_retention": 4 / 6, "product_coverage": 0.5,
           "wealth_card_matching": 2 / 3}]  # fmt: skip
    ech = pl.customer_period_values(tiers, base, "2025-02", "echelon", "quarter", months[:2])
    assert ech["id"].tolist() == ["1", "2"] and not ech["complete"].any()  # to date
    no_base = pl.customer_period_values(tiers, None, "2025-03", "outlet", "quarter", months)
    assert no_base["stock_retention"].isna().all()
    assert no_base.set_index("id")["product_coverage"].to_dict() == {
        "O1": 0.5,
        "O2": 1.0,
        "O3": 1 / 3,
    }
