"""Plan sections of the overview and the region report (bankanalysis.report.planning), on the
hand-computed banks of test_planning."""

from __future__ import annotations

import pandas as pd
import pytest
from plan_data import _q1_kpis, _region_month

from bankanalysis.report import planning as rp
from bankanalysis.report.format import Absent, Suppressed

NAMES = {"R1": "North", "R2": "South", "O1": "Outlet 1", "O2": "Outlet 2", "O3": "Outlet 3"}
BANK = rp.PlanScope(month="2025-03", names=NAMES, min_group_size=4)
REGION = rp.PlanScope(
    month="2025-03",
    region_id="R1",
    echelon=1,
    names=NAMES,
    min_group_size=4,
    outlet_ids=("O1", "O2"),
)
TARGETS = pd.DataFrame(
    {
        "month": ["2025-12", "2025-03", "2025-03", "2025-03", "2025-03"],
        "level": ["bank", "region", "region", "outlet", "outlet"],
        "id": ["bank", "R1", "R2", "O1", "O3"],
        "kpi": ["new_deposits", "new_deposits", "fee_income", "aum", "aum"],
        "target": [400.0, 70.0, 30.0, 400.0, 1.0],
        "period": ["year", "quarter", "month", "month", "month"],
    }
)


def _rows(table) -> list[dict]:
    return table.frame.to_dict("records")


def test_plan_progress_year_to_date_and_attainment_of_every_period() -> None:
    k = _q1_kpis()
    sec = rp.plan_progress_section(rp.plan_monthly(k, BANK), TARGETS, BANK)
    assert sec.anchor == "plan-progress"
    text, ytd, chart, att = sec.parts
    assert chart.axes[0].get_title() == "The bank: year to date against the plan, 2025"
    # bank new deposits Jan-Mar: (10+5+1) + (20+5+1) + (30+5+1) = 78; a quarter of 400 due
    assert text.startswith("The bank, year to date 2025-03: new personal deposits 78 CNY")
    assert "on pace for 312 CNY (22.0% short of the annual target)" in text
    (row,) = _rows(ytd)
    assert (row["Plan to date"], row["Projected year-end"], row["Gap"]) == (
        "100 CNY",
        "312 CNY",
        "-88 CNY",
    )
    assert sec.metrics == {
        "new_deposits[period=ytd]": 78.0,
        "plan_ytd_attainment[kpi=new_deposits]": pytest.approx(0.78),
        "plan_projected_gap[kpi=new_deposits]": pytest.approx(-0.22),
    }
    status = {(r["Scope"], r["Period"]): (r["Actual"], r["Status"]) for r in _rows(att)}
    assert status == {
        ("The bank", "2025"): ("78 CNY", "to date"),  # the year is running
        ("North", "2025-Q1"): ("75 CNY", "met"),  # 60 + 15 against 70
        ("South", "2025-03"): ("<4", "withheld"),  # 3 customers
    }


def test_ytd_path_data_as_shares_of_the_annual_target() -> None:
    monthly = rp.plan_monthly(_q1_kpis(), BANK)
    from bankanalysis.planning import ytd_progress

    ytd = ytd_progress(monthly, TARGETS, "2025-03")
    data = rp.ytd_path_data(monthly, ytd, BANK, "seasonal", [2, 2, 2] + [1] * 9)
    assert len(data) == 12 and set(data["kpi"]) == {"New personal deposits"}
    # cumulative 16, 42, 78 of 400; the seasonal path due 2/15, 4/15, 6/15, ... 15/15
    assert data["actual"].iloc[:3].tolist() == pytest.approx([0.04, 0.105, 0.195])
    assert data["actual"].iloc[3:].isna().all()
    assert data["plan"].iloc[[0, 2, 11]].tolist() == pytest.approx([2 / 15, 6 / 15, 1.0])
    assert rp.ytd_path_data(monthly, ytd, REGION).empty  # North has no annual target


def test_the_region_report_shows_its_region_and_outlets_and_records_plainly() -> None:
    k = _q1_kpis()
    sec = rp.plan_progress_section(rp.plan_monthly(k, REGION), TARGETS, REGION)
    att = _rows(sec.parts[-1])
    # O3 belongs to another region: its target is not shown here; O1's AUM 300 misses 400
    assert [(r["Scope"], r["Status"]) for r in att] == [
        ("The bank", "to date"),
        ("North", "met"),
        ("Outlet 1", "missed"),
    ]
    assert att[-1]["Target attainment (%)"] == "75.0%"
    assert sec.parts[0] == "North has no annual targets of the plan's cumulative KPIs."
    assert sec.metrics == {}


def test_without_targets_the_section_says_so_and_records_absent() -> None:
    sec = rp.plan_progress_section(rp.plan_monthly(_q1_kpis(), BANK), None, BANK)
    assert "no `targets` table" in sec.parts[0]
    assert sec.metrics["plan_ytd_attainment[kpi=fee_income]"] == Absent("no targets table")


def test_quarters_sum_flows_and_withhold_small_groups() -> None:
    sec = rp.quarters_section(_q1_kpis(), BANK, ["new_deposits", "device_operating_rate", "nope"])
    assert sec.anchor == "quarters"
    assert sec.metrics["new_deposits[quarter=2025-Q1]"] == 78.0
    assert sec.metrics["device_operating_rate[quarter=2025-Q1]"] == pytest.approx(200 / 300)
    assert sec.metrics["new_deposits[region=R1,quarter=2025-Q1]"] == 75.0
    # South has 3 customers: its deposits are withheld, its device rate is not about customers
    assert sec.metrics["new_deposits[region=R2,quarter=2025-Q1]"] == Suppressed(4)
    assert sec.metrics["device_operating_rate[region=R2,quarter=2025-Q1]"] == 0.5
    table = sec.parts[0]
    assert "Not computed from this extract: nope." in table.note
    first = _rows(table)[0]
    assert (first["Scope"], first["2025-Q1"]) == ("The bank", "78 CNY")


def test_changes_in_words_and_tables_with_reasons() -> None:
    monthly = pd.DataFrame(
        {
            "month": ["2024-03", "2025-02", "2025-03"],
            "level": "bank",
            "id": "bank",
            "fee_income": [80.0, 90.0, 120.0],
            "product_coverage": [0.30, 0.32, 0.35],
            "customers": [100, 100, 100],
        }
    )
    sec = rp.changes_section(monthly, BANK)
    assert sec.anchor == "year-on-year"
    assert sec.parts[0] == (
        "The bank, 2025-03: customers 0 on the year; product coverage +5.0 pp on the year; "
        "intermediary (fee) income +40 CNY on the year."
    )
    fee = [r for r in _rows(sec.parts[1]) if r["KPI"].startswith("Intermediary")][0]
    assert (fee["On the month"], fee["On the month (%)"]) == ("+30 CNY", "+33.3%")
    assert (fee["On the year"], fee["On the year (%)"]) == ("+40 CNY", "+50.0%")
    cov = [r for r in _rows(sec.parts[1]) if r["KPI"].startswith("Product coverage")][0]
    assert cov["On the year (%)"] == "–"  # shares change in points only
    short = rp.changes_section(monthly.iloc[1:], BANK)
    assert "on the month" in short.parts[0] and "on the year" not in short.parts[0]
    fee = [r for r in _rows(short.parts[1]) if r["KPI"].startswith("Intermediary")][0]
    assert fee["On the year"] == "n/a (the data start at 2025-02, so 2024-03 is not in them)"


def test_echelon_shares_and_gaps_recorded_for_the_bank() -> None:
    sec = rp.echelons_section(_region_month(), BANK)
    assert sec.anchor == "echelons"
    assert sec.metrics["echelon_contribution_share[echelon=1,kpi=fee_income]"] == pytest.approx(
        400 / 580
    )
    assert sec.metrics["echelon_gap_ratio[echelon=2,kpi=fee_income]"] == 0.75
    assert sec.metrics["echelon_gap_ratio[echelon=3,kpi=fee_income]"] == pytest.approx(0.2)
    gaps = _rows(sec.parts[1])
    assert gaps[0]["Gap"] == "-50 CNY" and gaps[0]["Echelon"] == "2 against 1"
    assert "cannot be shown" in sec.parts[1].note  # no month a year before
    trend = _rows(sec.parts[2])
    assert [(r["KPI"], r["Echelon"], r["2025-03"]) for r in trend] == [
        ("Intermediary (fee) income (CNY)", "2 against 1", "0.75"),
        ("Intermediary (fee) income (CNY)", "3 against 2", "0.20"),
        ("New personal deposits (CNY)", "2 against 1", "2.00"),
        ("New personal deposits (CNY)", "3 against 2", "0.00"),
    ]
    # echelons 2 and 3 hold 5 customers each: their shares are withheld at k = 10
    small = rp.echelons_section(_region_month(), rp.PlanScope(month="2025-03", min_group_size=10))
    assert small.metrics["echelon_contribution_share[echelon=3,kpi=customers]"] == Suppressed(10)
    unknown = _region_month().assign(new_deposits=[float("nan"), float("nan"), 20.0, 0.0])
    rows = _rows(rp.echelons_section(unknown, BANK).parts[1])
    two = [r for r in rows if r["KPI"].startswith("New") and r["Echelon"] == "2 against 1"][0]
    assert two["Echelon above, per region"] == "n/a (no value for the month)"
    three = [r for r in rows if r["KPI"].startswith("New") and r["Echelon"] == "3 against 2"][0]
    assert three["Echelon against the echelon above"] == "0.00"
    # every region against the first echelon's average per region: fee income (100 + 300) / 2
    first = {k: v for k, v in sec.metrics.items() if k.startswith("first_echelon_ratio")}
    assert first["first_echelon_ratio[region=R3,kpi=fee_income]"] == 0.75  # 150 / 200
    assert first["first_echelon_ratio[region=R4,kpi=new_deposits]"] == 0.0  # 0 / 10
    assert len(first) == 8
    south = [r for r in _rows(sec.parts[-1]) if r["Region"] == "South"][0]
    assert south["Intermediary (fee) income: against the first echelon"] == "1.50"
    # the region report records its own figures plainly (the overview's [region=R1] ones)
    region = rp.echelons_section(_region_month(), REGION)
    assert region.metrics == {
        "first_echelon_ratio[kpi=new_deposits]": 1.0,
        "first_echelon_ratio[kpi=fee_income]": 0.5,
    }
    assert region.parts[-1] == (
        "North in 2025-03: new personal deposits 10 CNY against 10 CNY per first-echelon region "
        "(ratio 1.00); intermediary (fee) income 100 CNY against 200 CNY per first-echelon region "
        "(ratio 0.50)."
    )
    # a region of 1 to k-1 customers: withheld, in the sentence and in metrics.json
    tiny = rp.echelons_section(_region_month().assign(customers=[3, 20, 5, 5]), REGION)
    assert tiny.metrics["first_echelon_ratio[kpi=fee_income]"] == Suppressed(4)


def test_self_service_path_section() -> None:
    devices = pd.DataFrame(
        {
            "region_id": ["R1", "R2"],
            "site_id": ["s2", "s4"],
            "installed": pd.to_datetime(["2024-06-10", "2025-02-01"]),
        }
    )
    rm = _region_month().iloc[:2]
    sec = rp.self_service_section(rm, devices, _q1_kpis(), BANK, plan_date="2027-12")
    assert sec.anchor == "self-service-path"
    assert sec.parts[0] == (
        "Bank-wide 2.83 per outlet in 2025-03 (target 3); 1 of 2 regions at the target; 2 sites "
        "short in the regions below it, 0.7 a year to add by 2027-12 against 2.0 a year recently."
    )
    assert sec.metrics["regions_at_self_service_target"] == 1
    assert sec.metrics["self_service_sites_missing"] == 2.0
    assert sec.metrics["self_service_installs_needed[region=R1]"] == pytest.approx(2 / 2.75)
    assert sec.metrics["self_service_install_pace"] == 2.0
    north = _rows(sec.parts[1])[0]
    assert (north["Scope"], north["On pace"], north["Per outlet by 2027-12 at this pace"]) == (
        "North",
        "yes",
        "3.19",  # (10 + 1 x 2.75) / 4
    )
    region = rp.self_service_section(rm, devices, _q1_kpis(), REGION, plan_date="2027-12")
    assert region.metrics == {
        "self_service_installs_needed": pytest.approx(2 / 2.75),
        "self_service_install_pace": 1.0,
    }
    assert region.parts[0].startswith(
        "North: 2.50 self-service banks per outlet, 2 sites short, 0.7 a year to add by 2027-12 "
        "against 1.0 a year recently. Bank-wide 2.83"
    )
    none = rp.self_service_section(
        rm, None, _q1_kpis(), BANK, plan_date="2027-12", has_devices=False
    )
    assert "no device data" in none.parts[0]
    assert none.metrics["regions_at_self_service_target"] == Absent(
        "no device data in this extract"
    )


@pytest.mark.parametrize("notebook", ["00_bank_overview", "03_outlet_benchmarking"])
def test_the_overview_and_region_reports_carry_the_section_anchors(notebook: str) -> None:
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "notebooks" / f"{notebook}.ipynb"
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    anchors = [
        anchor
        for c in cells
        if c["cell_type"] == "markdown"
        for anchor in rp.SECTION_IDS
        if f'<a id="{anchor}"></a>' in "".join(c["source"])
    ]
    assert anchors == list(rp.SECTION_IDS)


def test_quarters_show_the_focus_families_sales_summed_over_the_quarter() -> None:
    k = _q1_kpis().assign(sales_insurance=[1.0, 0.0, 0.0, 2.0, 0.0, 0.0, 3.0, 0.0, 4.0])
    sec = rp.quarters_section(k, BANK, ["family_sales"])
    # O1 sells 1 + 2 + 3 insurance products, O3 (South) 4 in March
    assert sec.metrics["family_sales[family=insurance,quarter=2025-Q1]"] == 10.0
    assert sec.metrics["family_sales[region=R1,family=insurance,quarter=2025-Q1]"] == 6.0
    labels = {r["KPI"] for r in _rows(sec.parts[0])}
    assert labels == {"Product sales of the family: insurance"}  # no other family column


def test_the_years_quarters_already_over_stay_in_the_attainment_table() -> None:
    k = _q1_kpis()
    k = pd.concat([k, k.loc[k["month"] == "2025-03"].assign(month="2025-04")], ignore_index=True)
    april = rp.PlanScope(month="2025-04", names=NAMES, min_group_size=4)
    sec = rp.plan_progress_section(rp.plan_monthly(k, april), TARGETS, april)
    status = {(r["Scope"], r["Period"]): r["Status"] for r in _rows(sec.parts[-1])}
    # the first quarter (75 against 70) is over and met; the March month target is not shown
    assert status == {("The bank", "2025"): "to date", ("North", "2025-Q1"): "met"}


def test_unmeasured_figures_show_their_reason() -> None:
    # without customer months product coverage is an outlet column of NaN, no region column
    sec = rp.quarters_section(_q1_kpis(), REGION, ["product_coverage"])
    assert _rows(sec.parts[0])[0]["2025-Q1"] == "n/a (not measured in the quarter)"
    assert sec.metrics["product_coverage[quarter=2025-Q1]"] == Absent("not measured in the quarter")
    none = rp.quarters_section(_q1_kpis(), BANK, ["product_coverage"])
    assert none.parts == [
        "None of the quarter KPIs is computed from this extract: product_coverage."
    ]
    targets = pd.DataFrame(
        {"month": ["2025-03"], "level": ["bank"], "id": ["bank"], "kpi": ["product_coverage"],
         "target": [0.3]}
    )  # fmt: skip
    sec = rp.plan_progress_section(rp.plan_monthly(_q1_kpis(), BANK), targets, BANK)
    (row,) = _rows(sec.parts[-1])
    assert (row["Actual"], row["Target attainment (%)"], row["Status"]) == (
        "n/a (not computed for this level and period)",
        "n/a (no actual)",
        "no actual",
    )


def test_the_overview_has_one_attainment_section_and_the_appendix_last() -> None:
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "notebooks" / "00_bank_overview.ipynb"
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    text = ["".join(c["source"]) for c in cells]
    # the old data-month attainment section is gone; its headline figures (met share, missed
    # per KPI, every region's attainment) are recorded by the plan-progress cell
    assert not any("## Attainment against" in t for t in text)
    recording = [t for t in text if "rov.attainment_metrics(" in t]
    assert len(recording) == 1 and "rplan.plan_progress_section(" in recording[0]
    assert "report_appendix(ctx" in text[-1]


def test_the_summary_quotes_plan_progress_with_numbers_and_units() -> None:
    k = _q1_kpis()
    said = rp.plan_summary_sentences(rp.plan_monthly(k, BANK), TARGETS, BANK)
    # year to date 16 + 26 + 36 = 78 against a quarter of 400 due; March 36 against February 26
    assert said == [
        "The bank, year to date 2025-03: new personal deposits 78 CNY to date, on pace for "
        "312 CNY (22.0% short of the annual target).",
        "The bank, 2025-03: new personal deposits +10 CNY on the month; intermediary (fee) "
        "income 0 CNY on the month; product sales 0 on the month; new customers 0 on the month.",
    ]
    # North has no annual target: only its changes
    (north,) = rp.plan_summary_sentences(rp.plan_monthly(k, REGION), TARGETS, REGION)
    assert north.startswith("North, 2025-03: new personal deposits +10 CNY on the month;")
    # South's 3 customers are a small group (k = 4): nothing is said
    south = rp.PlanScope(month="2025-03", region_id="R2", echelon=2, names=NAMES,
                         min_group_size=4, outlet_ids=("O3",))  # fmt: skip
    assert rp.plan_summary_sentences(rp.plan_monthly(k, south), TARGETS, south) == []


def test_the_self_service_and_operating_rate_trends_are_charts_with_the_region_highlighted() -> (
    None
):
    from matplotlib.ticker import PercentFormatter

    from bankanalysis.report.figures import chart_alt

    rm = _region_month().iloc[:2]
    rm = pd.concat(
        [
            rm.assign(month="2025-01", self_service_sites=[8, 6]),
            rm.assign(month="2025-02", self_service_sites=[9, 7]),
            rm,
        ]
    )
    devices = pd.DataFrame(
        {"region_id": ["R1"], "site_id": ["s2"], "installed": pd.to_datetime(["2024-06-10"])}
    )
    sec = rp.self_service_section(rm, devices, _q1_kpis(), REGION, plan_date="2027-12")
    ratio, rate = sec.parts[2:]
    # sites / outlets: the bank (8 + 6) / 6 in January, North 10 / 4 and South 7 / 2 in March
    assert chart_alt(ratio) == (
        "Chart. Self-service banks per physical outlet, month by month, 2025-01 to 2025-03. "
        "North: 2.00 in 2025-01, 2.50 in 2025-03. The bank: 2.33 in 2025-01, 2.83 in 2025-03. "
        "Regions in 2025-03 from 2.50 (North) to 3.50 (South)."
    )
    ax = ratio.axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert lines["North"].get_linewidth() == 2.8  # the reader's region, thick
    assert lines["other regions"].get_linewidth() == 1.0
    assert lines["The bank"].get_linestyle() == "--"
    assert list(lines["target 3"].get_ydata()) == [3, 3]
    # operating hours / available hours: North (20 + 100) / 200, the bank 170 / 300 in March
    assert "North: 75.0% in 2025-01, 60.0% in 2025-03. The bank: 66.7% in 2025-01, 56.7%" in (
        chart_alt(rate)
    )
    assert isinstance(rate.axes[0].yaxis.get_major_formatter(), PercentFormatter)
    table = rp.trend_lines(
        pd.DataFrame(
            {
                "month": ["2025-02", "2025-03", "2025-03", "2025-04"],
                "level": ["region", "bank", "region", "bank"],
                "id": ["R2", "bank", "R1", "bank"],
                "v": [1.0, 2.0, 3.0, 9.0],
            }
        ),  # fmt: skip
        "v",
        REGION,
    )
    # up to the data month, the bank first, regions by name; a month without a value is NaN
    assert list(table.columns) == ["The bank", "North", "South"]
    assert table.fillna(-1).to_dict("list") == {
        "The bank": [-1, 2.0], "North": [-1, 3.0], "South": [1.0, -1]
    }  # fmt: skip


def test_quarters_show_retention_coverage_and_card_matching_at_the_quarters_end() -> None:
    from plan_data import _customer_snapshot

    from bankanalysis import planning as pl

    tiers, base = _customer_snapshot()
    q1 = ["2025-01", "2025-02", "2025-03"]
    cv = pd.concat(
        [
            pl.customer_period_values(tiers, base, "2025-03", lv, "quarter", q1)
            for lv in ("bank", "echelon", "region", "outlet")
        ]
    )
    k2 = rp.PlanScope(month="2025-03", names=NAMES, min_group_size=2)
    sec = rp.quarters_section(_q1_kpis(), k2, ["new_deposits"], customer_values=cv)
    m = sec.metrics
    # the bank kept 4 of its 6 base customers; 3 of 6 hold 3 products or more; 2 of its 3
    # quality-and-above customers hold the card
    assert m["stock_retention[quarter=2025-Q1]"] == pytest.approx(4 / 6)
    assert m["product_coverage[quarter=2025-Q1]"] == 0.5
    assert m["wealth_card_matching[quarter=2025-Q1]"] == pytest.approx(2 / 3)
    assert m["stock_retention[region=R1,quarter=2025-Q1]"] == 0.75
    assert m["wealth_card_matching[region=R1,quarter=2025-Q1]"] == 0.5
    # South's card matching is about its one quality-and-above customer: withheld at k = 2
    assert m["wealth_card_matching[region=R2,quarter=2025-Q1]"] == Suppressed(2)
    rows = {(r["Scope"], r["KPI"]): r["2025-Q1"] for r in _rows(sec.parts[0])}
    assert rows[("North", "Product coverage (%)")] == "66.7%"
    assert rows[("Echelon 2", "Stock customer retention rate (%)")] == "50.0%"
    # k = 4: North's 2 quality-and-above customers withhold its card matching, not its coverage
    sec4 = rp.quarters_section(_q1_kpis(), BANK, ["new_deposits"], customer_values=cv)
    assert sec4.metrics["wealth_card_matching[region=R1,quarter=2025-Q1]"] == Suppressed(4)
    assert sec4.metrics["product_coverage[region=R1,quarter=2025-Q1]"] == pytest.approx(2 / 3)


def test_a_region_against_a_first_echelon_without_positive_figure_says_why() -> None:
    rm = _region_month().assign(new_deposits=[-10.0, -30.0, 20.0, 0.0])
    sec = rp.echelons_section(rm, REGION)
    reason = "the first echelon has no positive figure"
    assert sec.metrics["first_echelon_ratio[kpi=new_deposits]"] == Absent(reason)
    assert (
        "new personal deposits -10 CNY against -20 CNY per first-echelon region (no ratio: "
        f"{reason});" in sec.parts[-1]
    )


def test_actual_and_target_that_round_alike_are_shown_apart_beside_missed() -> None:
    # bank coverage 29.96 % against a 30 % target: missed on the exact values, and the table
    # shows the decimals that make it visible instead of "30.0%" against "30.0%"
    targets = pd.DataFrame(
        {"month": ["2025-03"], "level": ["bank"], "id": ["bank"], "kpi": ["product_coverage"],
         "target": [0.30], "period": ["month"]}
    )  # fmt: skip
    extra = pd.DataFrame(
        {"level": ["bank"], "id": ["bank"], "period": ["month"], "period_label": ["2025-03"],
         "kpi": ["product_coverage"], "actual": [0.2996], "complete": [True]}
    )  # fmt: skip
    sec = rp.plan_progress_section(
        rp.plan_monthly(_q1_kpis(), BANK), targets, BANK, extra_actuals=extra
    )
    (row,) = _rows(sec.parts[-1])
    assert (row["Actual"], row["Target"], row["Status"]) == ("29.96%", "30.00%", "missed")
    assert row["Target attainment (%)"] == "99.9%"


def test_customer_quarters_are_computed_once_for_every_report_of_the_data(tmp_path, monkeypatch):
    """The outlet reports and the overview read the bank-wide quarter customer KPIs the first
    report stored (every level, each report keeps its own): the same rows as computed afresh,
    without reading customer_month again; other parameters, another entry."""
    from bankanalysis.data.prepare import prepare
    from bankanalysis.report import planning_scope
    from bankanalysis.report.context import report_context
    from bankanalysis.report.planning_scope import ALL_LEVELS, _customer_quarters
    from bankanalysis.report.standing import scorecard_params
    from bankanalysis.synthetic import generate_bank

    raw, processed = tmp_path / "raw", tmp_path / "processed"
    generate_bank(raw, n_customers=1_500, n_months=7, seed=5)
    prepare(raw, processed)
    first = report_context(processed, None, "R01", theme=False)
    scope = rp.PlanScope(month=first.month, region_id="R01", echelon=first.echelon)
    fresh = _customer_quarters(first, first.month, scorecard_params({}), 5, scope.levels)
    assert set(fresh["level"]) == {"bank", "echelon", "region", "outlet"}
    assert set(fresh.loc[fresh["level"] == "region", "id"]) == set(first.bank.regions["region_id"])
    built = rp.load_customer_quarters(first, scope, {})
    pd.testing.assert_frame_equal(built, fresh)
    entries = list((processed / "_models" / "customer_quarters").iterdir())
    assert len([e for e in entries if e.is_dir()]) == 1

    second = report_context(processed, None, "R02", theme=False)

    def no_read(*a, **k):
        raise AssertionError("customer_month read again")

    monkeypatch.setattr(second.bank, "customer_month", no_read)
    monkeypatch.setattr(planning_scope, "_customer_quarters", no_read)  # nor counted in SQL
    scope2 = rp.PlanScope(month=second.month, region_id="R02", echelon=second.echelon)
    pd.testing.assert_frame_equal(rp.load_customer_quarters(second, scope2, {}), fresh)
    bank_scope = rp.PlanScope(month=second.month)
    overview = rp.load_customer_quarters(second, bank_scope, {})
    every = _customer_quarters(first, first.month, scorecard_params({}), 5, ALL_LEVELS)
    expected = every.loc[every["level"] != "outlet"].reset_index(drop=True)
    pd.testing.assert_frame_equal(overview, expected)
    with pytest.raises(AssertionError, match="read again"):
        rp.load_customer_quarters(second, scope2, {"coverage_products": 2})


def _straight_customer_quarters(bank, month, p, n_quarters=5):
    """The quarter customer KPIs as computed before the parts: every month the quarter ends
    need, of every customer, read at once (the code of main up to 8a92d80)."""
    from bankanalysis import planning as pl
    from bankanalysis.overview import scorecard_columns
    from bankanalysis.rules.months import base_month, month_window
    from bankanalysis.rules.tiers import customer_tiers

    months = [m for m in bank.months if m <= month]
    last = {pl.period_label("quarter", m): m for m in months}
    ends = [last[q] for q in sorted(last)[-n_quarters:]]
    bases = {m: base_month(months, m, p["lookback_months"]) for m in ends}
    needed = sorted(
        {w for m in ends for w in month_window(m, p["tier_months"]) if w in set(months)}
        | set(bases.values())
    )
    cm = bank.customer_month(
        months=needed, columns=scorecard_columns(p["wealth_card_product"], has_contacts=False)
    )
    echelons = dict(
        zip(bank.regions["region_id"], bank.regions["echelon"].astype(int), strict=True)
    )
    cm["echelon"] = cm["region_id"].astype(str).map(echelons)
    frames = []
    for m in ends:
        tiers = customer_tiers(cm, m, p["tier_thresholds"], p["tier_months"])
        base = cm.loc[cm["month"] == bases[m], ["customer_id", "outlet_id", "region_id", "echelon"]]
        for level in ("bank", "echelon", "region", "outlet"):
            frames.append(
                pl.customer_period_values(
                    tiers, base, m, level, "quarter", months,
                    coverage_products=p["coverage_products"],
                    wealth_card_product=p["wealth_card_product"],
                )
            )  # fmt: skip
    return pd.concat(frames, ignore_index=True), cm, bases


def test_customer_quarters_in_parts_of_customers_are_those_of_one_read(ci_bank):
    """One quarter end and one part of the customers at a time (here 700 of the CI bank's
    3,000, five parts, and one part, in pandas; and counted by DuckDB, the default): the same
    frame as every month of every customer read at once, whose bank figures are counted again
    here from the rows."""
    from types import SimpleNamespace

    from bankanalysis.data.load import load_processed
    from bankanalysis.report.planning_scope import ALL_LEVELS, _customer_quarters
    from bankanalysis.report.standing import scorecard_params

    bank = load_processed(ci_bank.processed)
    ctx = SimpleNamespace(bank=bank, month=bank.data_month)
    p = scorecard_params({})
    want, cm, bases = _straight_customer_quarters(bank, ctx.month, p)
    assert len(bank.customer_ranges(700)) == 5
    for size, engine in ((700, "pandas"), (None, "pandas"), (None, "sql")):
        got = _customer_quarters(ctx, ctx.month, p, 5, ALL_LEVELS, size, engine=engine)
        pd.testing.assert_frame_equal(got, want, check_exact=True)
    # the bank's last quarter, counted from the rows
    end = ctx.month
    now = set(cm.loc[cm["month"] == end, "customer_id"])
    base = set(cm.loc[cm["month"] == bases[end], "customer_id"])
    row = want.loc[(want["level"] == "bank") & (want["period_label"] == want["period_label"].max())]
    assert row["customers"].item() == len(now) > 2_000
    assert row["base_customers"].item() == len(base)
    assert row["stock_retention"].item() == pytest.approx(len(now & base) / len(base))
    assert 0.5 < row["stock_retention"].item() < 1.0
    assert (want["level"] == "bank").sum() == 5 == want["period_label"].nunique()


def test_customer_quarters_in_sql_tier_averages_at_the_threshold_as_pandas(ci_bank, tmp_path):
    """The CI bank with 60 customers active at every month-end of the tier window put at an average of exactly the
    quality threshold over the tier window (499,999.99, 500,000.00 and 500,000.01, whose sum
    in floating point is not exact) and 3 with a NaN AUM: SQL leaves them to pandas' average,
    and the quarters are those of the pandas engine to the bit, quality-plus counts included;
    without the wealth-card column in the file the pandas engine runs, which names it."""
    import shutil
    from types import SimpleNamespace

    import pyarrow as pa
    import pyarrow.parquet as pq

    from bankanalysis.data.load import load_processed
    from bankanalysis.data.processed_sql import quarter_unit_counts
    from bankanalysis.exceptions import ProcessedDataError
    from bankanalysis.report.planning_scope import ALL_LEVELS, _customer_quarters
    from bankanalysis.report.standing import scorecard_params
    from bankanalysis.rules.months import month_window

    folder = tmp_path / "processed"
    shutil.copytree(ci_bank.processed, folder, ignore=shutil.ignore_patterns("_models"))
    path = folder / "customer_month.parquet"
    table = pq.read_table(path)
    cm = table.select(["month", "customer_id", "aum"]).to_pandas()
    bank = load_processed(folder)
    p = scorecard_params({})
    window = month_window(bank.data_month, p["tier_months"])
    in_window = cm.loc[cm["month"].isin(window), "customer_id"].value_counts()
    always = sorted(in_window.index[in_window == len(window)])  # active at all three
    chosen, nan_ids = set(always[:60]), set(always[60:63])
    aum = cm["aum"].to_numpy().copy()
    for month, value in zip(window, (499_999.99, 500_000.00, 500_000.01), strict=True):
        aum[((cm["month"] == month) & cm["customer_id"].isin(chosen)).to_numpy()] = value
    aum[((cm["month"] == window[0]) & cm["customer_id"].isin(nan_ids)).to_numpy()] = float("nan")
    column = pa.array(aum, from_pandas=False)
    table = table.set_column(table.schema.get_field_index("aum"), "aum", column)
    pq.write_table(table, path)
    counts = quarter_unit_counts(folder, bank.data_month, window[0], window, 5e5, 3, None)
    assert set(counts.near["customer_id"]) >= chosen | nan_ids
    ctx = SimpleNamespace(bank=load_processed(folder), month=bank.data_month)
    want = _customer_quarters(ctx, ctx.month, p, 5, ALL_LEVELS, engine="pandas")
    got = _customer_quarters(ctx, ctx.month, p, 5, ALL_LEVELS)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    last = want["period_label"].max()
    bank_row = want.loc[(want["level"] == "bank") & (want["period_label"] == last)]
    assert bank_row["quality_plus_customers"].item() >= 60
    no_card = {**p, "wealth_card_product": "gold_bar"}
    with pytest.raises(ProcessedDataError, match="no column.*hold_gold_bar"):
        _customer_quarters(ctx, ctx.month, no_card, 5, ALL_LEVELS)


def test_a_part_of_customers_none_active_at_the_quarter_end_counts_at_the_base_only():
    """Customers in the base month but none active at the quarter end (a part of closed
    customers): their groups count them as base customers, none kept, none now."""
    from bankanalysis.report.planning_scope import _quarter_sums
    from bankanalysis.report.standing import scorecard_params

    cm = pd.DataFrame(
        {"month": ["2024-03", "2024-03"], "customer_id": ["C1", "C2"], "outlet_id": ["O1", "O2"],
         "region_id": ["R1", "R1"], "aum": [1e5, 2e3], "n_products": [2, 1],
         "manager_id": [None, None], "hold_wealth_card": [1, 0], "echelon": [1, 1]}
    )  # fmt: skip
    sums = _quarter_sums(cm, "2025-03", "2024-03", scorecard_params({}), ("region", "outlet"))
    assert sums["region"].loc["R1", ["one", "qplus", "base", "kept"]].tolist() == [0, 0, 2, 0]
    assert sums["outlet"]["base"].to_dict() == {"O1": 1.0, "O2": 1.0}
    assert (sums["outlet"]["one"] == 0).all()


def test_an_outlets_withheld_count_is_withheld_with_its_changes_and_attainment() -> None:
    from bankanalysis.report.disclosure_plan import MOM, YOY, PlanCounts

    nc = "new_customers"
    monthly = pd.DataFrame(
        {
            "month": ["2025-02", "2025-03"] * 4,
            "level": ["bank"] * 2 + ["region"] * 2 + ["outlet"] * 4,
            "id": ["bank"] * 2 + ["R1"] * 2 + ["O1"] * 2 + ["O2"] * 2,
            nc: [40, 45, 26, 29, 6, 4, 20, 25],
            "customers": [100] * 8,
        }
    )
    # O1's 4 of March withheld (primary), with its change on the month (6 = 4 - (-2)) and on
    # the year, which the data cannot give (no March 2024): said, not marked
    counts = PlanCounts(
        status={("O1", nc, "2025-03"): "primary", ("O1", nc, MOM): "secondary",
                ("O1", nc, YOY): "secondary"},
        k=4,
    )  # fmt: skip
    rows = {r["Scope"]: r for r in _rows(rp.changes_section(monthly, REGION, counts).parts[1])}
    one, two = rows["Outlet 1"], rows["Outlet 2"]
    assert (one["2025-03"], one["On the month"], one["On the month (%)"]) == ("<4", "x", "x")
    assert one["On the year"] == "n/a (the data start at 2025-02, so 2024-03 is not in them)"
    assert (two["2025-03"], two["On the month"], two["On the month (%)"]) == ("25", "+5", "+25.0%")
    assert rows["North"]["2025-03"] == "29"  # the region's row stays published
    # without the counts the outlet's 4 and its -2 were printed
    plain = {r["Scope"]: r for r in _rows(rp.changes_section(monthly, REGION).parts[1])}
    assert (plain["Outlet 1"]["2025-03"], plain["Outlet 1"]["On the month"]) == ("4", "-2")
    # the attainment table: actual = attainment x the target shown, so both go, and the status
    att = pd.DataFrame(
        {"level": ["region", "outlet", "outlet"], "id": ["R1", "O1", "O2"], "kpi": nc,
         "period": "month", "period_label": "2025-03", "target": [30.0, 5.0, 20.0],
         "actual": [29.0, 4.0, 25.0], "attainment": [29 / 30, 0.8, 1.25], "complete": True}
    )  # fmt: skip
    view = {r["Scope"]: r for r in _rows(rp.attainment_view(att, REGION, None, counts))}
    assert [view["Outlet 1"][c] for c in ("Target", "Actual", "Target attainment (%)", "Status")] == [
        "5", "<4", "<4", "withheld"
    ]  # fmt: skip
    assert (view["Outlet 2"]["Actual"], view["Outlet 2"]["Status"]) == ("25", "met")


def test_a_regions_withheld_count_is_withheld_in_the_bank_reports_plan_sections() -> None:
    from bankanalysis.report.disclosure_plan import MOM, YOY, PlanCounts

    # the run withholds North's deposits of the quarter (the mechanism is the count's:
    # protect_total_counts); North's attainment of its quarter target (75 of 70) goes with it
    counts = PlanCounts(status={("region=R1", "new_deposits", "2025-Q1"): "primary"}, k=4)
    sec = rp.plan_progress_section(rp.plan_monthly(_q1_kpis(), BANK), TARGETS, BANK, counts=counts)
    status = {(r["Scope"], r["Period"]): (r["Actual"], r["Status"]) for r in _rows(sec.parts[3])}
    assert status[("North", "2025-Q1")] == ("<4", "withheld")
    assert status[("The bank", "2025")] == ("78 CNY", "to date")
    # the quarter table and its metrics
    counts = PlanCounts(status={("region=R1", "new_deposits", "2025-Q1"): "secondary"}, k=4)
    q = rp.quarters_section(_q1_kpis(), BANK, ["new_deposits"], counts=counts)
    assert q.metrics["new_deposits[region=R1,quarter=2025-Q1]"] == Suppressed(4, "secondary")
    assert q.metrics["new_deposits[quarter=2025-Q1]"] == 78.0
    rows = {r["Scope"]: r["2025-Q1"] for r in _rows(q.parts[0])}
    assert (rows["North"], rows["The bank"]) == ("x", "78 CNY")
    # the regions' changes on the year: North's withheld, South's said
    nc = "new_customers"
    monthly = pd.DataFrame(
        {
            "month": ["2024-03", "2025-02", "2025-03"] * 3,
            "level": ["bank"] * 3 + ["region"] * 6,
            "id": ["bank"] * 3 + ["R1"] * 3 + ["R2"] * 3,
            nc: [30, 33, 35, 6, 7, 3, 24, 26, 32],
            "customers": [100] * 9,
        }
    )
    withheld = {("region=R1", nc, p): s for p, s in (("2025-03", "primary"), (MOM, "secondary"),
                                                      (YOY, "secondary"))}  # fmt: skip
    ch = rp.changes_section(monthly, BANK, PlanCounts(status=withheld, k=4))
    grid = {r["Region"]: r["New customers on the year"] for r in _rows(ch.parts[2])}
    assert grid == {"North": "x", "South": "+8"}
    plain = rp.changes_section(monthly, BANK)
    assert {r["Region"]: r["New customers on the year"] for r in _rows(plain.parts[2])}[
        "North"
    ] == "-3"
    # a region report's sentence says nothing of a withheld change
    region = rp.PlanScope(month="2025-03", region_id="R1", echelon=1, names=NAMES, min_group_size=4)
    said = rp.change_sentences(pl_changes(monthly), region, PlanCounts(status=withheld, k=4))
    assert said == "North: the data hold no earlier month to compare 2025-03 with."


def pl_changes(monthly: pd.DataFrame) -> pd.DataFrame:
    from bankanalysis import planning as pl

    return pl.changes(monthly, "2025-03", ["new_customers"])


def test_total_counts_are_computed_once_for_every_report_of_the_data(tmp_path, monkeypatch):
    """Every report of a run withholds the same regions' and echelons' counts: the first one
    stores protect_total_counts' answer (decided jointly with the run's lost customers), the
    others (a region's, the overview) read it back."""
    import bankanalysis.report.disclosure_plan as rdp
    from bankanalysis.data.prepare import prepare
    from bankanalysis.report.context import report_context
    from bankanalysis.report.disclosure_retention import retention_setup
    from bankanalysis.report.disclosure_window import load_window, window_step
    from bankanalysis.synthetic import generate_bank

    raw, processed = tmp_path / "raw", tmp_path / "processed"
    generate_bank(raw, n_customers=1_500, n_months=7, seed=5)
    prepare(raw, processed)
    first = report_context(processed, None, "R01", theme=False)
    k = first.min_group_size
    step = window_step(load_window(first, {}), retention_setup(first, {})[3], k)
    fresh = rdp.protect_total_counts(rp.load_plan_kpis(first), first.month, k, joint=step)
    # regions of about 190 customers: some monthly counts of new customers are 1 to 9
    assert any(s == "primary" for s in fresh.status.values())
    assert rp.load_total_counts(first).status == fresh.status
    entries = [e for e in (processed / "_models" / "total_counts").iterdir() if e.is_dir()]
    assert len(entries) == 1

    def no_lp(*a, **k):
        raise AssertionError("computed again")

    monkeypatch.setattr(rdp, "protect_total_counts", no_lp)
    for region in ("R02", None):
        ctx = report_context(processed, None, region, theme=False)
        assert rp.load_total_counts(ctx).status == fresh.status


def test_ytd_chart_leaves_out_a_count_whose_months_hold_small_groups() -> None:
    from bankanalysis.planning import ytd_progress
    from bankanalysis.report.disclosure_plan import PlanCounts, unit_key

    def monthly(values):
        return pd.DataFrame(
            {
                "month": ["2025-01", "2025-02", "2025-03"],
                "level": "bank",
                "id": "bank",
                "new_customers": values,
            }
        )

    targets = pd.DataFrame(
        {"month": ["2025-12"], "level": ["bank"], "id": ["bank"]}
        | {"kpi": ["new_customers"], "target": [100.0], "period": ["year"]}
    )
    scope = rp.PlanScope(month="2025-03", min_group_size=4)
    shown = monthly([12.0, 5.0, 15.0])
    data = rp.ytd_path_data(shown, ytd_progress(shown, targets, "2025-03"), scope)
    # 12, 17, 32 of 100: every month a group of at least 4, so the line is drawn
    assert data["actual"].iloc[:3].tolist() == pytest.approx([0.12, 0.17, 0.32])
    assert data.attrs["withheld"] == []
    # February's 3 new customers would be the step from 12 % to 15 % of a known target
    small = monthly([12.0, 3.0, 15.0])
    data = rp.ytd_path_data(small, ytd_progress(small, targets, "2025-03"), scope)
    assert data.empty and data.attrs["withheld"] == ["New customers"]
    assert data.attrs["withheld_why"] == {"New customers": "small"}
    assert "groups of fewer than 4 customers" in rp.ytd_left_out_text(data.attrs["withheld_why"], 4)
    # and a count the run withholds for the scope in any period is left out too, saying so
    # (every month is at least 4: "groups of fewer than 4" would be false)
    counts = PlanCounts(
        status={(unit_key("bank", "bank"), "new_customers", "2025-Q1"): "secondary"}
    )
    data = rp.ytd_path_data(shown, ytd_progress(shown, targets, "2025-03"), scope, counts=counts)
    assert data.empty and data.attrs["withheld"] == ["New customers"]
    assert data.attrs["withheld_why"] == {"New customers": "run"}
    text = rp.ytd_left_out_text(data.attrs["withheld_why"], 4)
    assert text.startswith("The chart leaves out New customers: the run withholds some of its")
    assert "fewer than" not in text
    assert rp.ytd_left_out_text({}, 4) == ""
