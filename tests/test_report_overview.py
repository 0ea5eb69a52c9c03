"""Report shaping of the bank overview: KPI tables in words and units, withheld cells shown with
the marker, chart grids and metrics keyed by KPI id (hand-made bank of :mod:`overview_data`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from overview_data import cm_base, managers, outlet_month, region_month, tiers_now

from bankanalysis.overview import (
    league_table,
    monthly_trends,
    region_scorecard,
    suppress_scorecard,
    target_attainment,
    withheld_cells,
)
from bankanalysis.report import overview as rov
from bankanalysis.report.format import Absent, Suppressed
from bankanalysis.rules.kpis import is_kpi

NAMES = {"RA": "North <b>", "RB": "South"}


def _regions() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "region_id": ["RA", "RB", "RC"],
            "echelon": [1, 1, 2],
            "echelon_name": ["central city", "central city", "key development"],
        }
    )


def _scorecard(k: int) -> rov.Scorecard:
    args = dict(managers=managers(), has_contacts=True, coverage_products=3)
    per_region = region_scorecard(
        tiers_now(), cm_base(), region_month(), outlet_month(), "2024-03", **args
    )
    whole = region_scorecard(
        tiers_now(), cm_base(), region_month(), outlet_month(), "2024-03", by_region=False, **args
    )
    return rov.Scorecard(
        regions=suppress_scorecard(per_region, k),
        withheld=withheld_cells(per_region, k),
        bank=suppress_scorecard(whole, k),
        base_month="2024-01",
        absent={},
        min_group_size=k,
    )


def test_echelon_table_names_formats_and_withholds_small_echelons() -> None:
    """Echelon 2 (region RC) has 4 customers: with k = 5 its per-customer figures are withheld."""
    rm = pd.concat([region_month(), region_month().iloc[[2]].assign(region_id="RC", echelon=2)])
    rm.loc[rm["region_id"] == "RC", "customers"] = 4
    om = pd.concat([outlet_month(), outlet_month().iloc[[1]].assign(region_id="RC", echelon=2)])
    ech = rov.echelons(rm, om, "2024-03", _regions())
    assert ech.columns[:2].tolist() == ["echelon", "echelon_name"]
    frame = rov.echelon_table(ech, "EUR", min_group_size=5).frame
    assert frame.columns.tolist()[:5] == [
        "Echelon",
        "Regions",
        "Outlets",
        "Customers",
        "AUM per customer (EUR)",
    ]
    assert frame["Echelon"].tolist() == ["central city", "key development"]
    assert frame["AUM per customer (EUR)"].tolist() == ["5,150", "<5"]  # 25,750 / 5
    assert frame["Products per customer (products per customer)"].tolist() == ["3.00", "<5"]
    assert frame["Customers"].tolist() == ["5", "<5"] and frame["Regions"].tolist() == ["2", "1"]
    assert frame["Outlet replacement rate (%)"].tolist() == ["50.0%", "60.0%"]
    m = rov.echelon_metrics(ech, min_group_size=5)
    assert m["customers[echelon=1]"] == 5 and m["customers[echelon=2]"] == Suppressed(5)
    assert m["aum_per_customer[echelon=1]"] == pytest.approx(5150.0)
    assert m["aum_per_customer[echelon=2]"] == Suppressed(5)
    assert m["outlet_replacement_rate[echelon=1]"] == pytest.approx(0.5)
    no_counts = rov.echelons(rm, om.drop(columns="txn_accounting_n"), "2024-03", _regions())
    reason = rov.echelon_metrics(no_counts, 5)["accounting_replacement_rate[echelon=1]"]
    assert isinstance(reason, Absent) and "transaction counts" in reason.reason
    assert all(is_kpi(key) for key in m)


def test_bank_metrics_take_the_data_month() -> None:
    totals = rov.bank_metrics(monthly_trends(region_month()), n_regions=7, month="2024-03")
    assert totals == {"customers": 5, "aum": 25750.0, "regions": 7}
    assert isinstance(totals["customers"], int)


def test_scorecard_table_formats_by_kpi_and_shows_withheld_cells() -> None:
    sc = _scorecard(k=2)
    frame = rov.scorecard_table(sc, NAMES, "CNY").frame.set_index("Region")
    assert frame.index.tolist() == ["North <b>", "South", "The bank"]
    assert frame.at["North <b>", "Product coverage (%)"] == "66.7%"
    assert frame.at["South", "Customer growth (%)"] == "<2"  # one base-month customer
    assert frame.at["South", "Wealth-management-card matching rate (%)"] == "50.0%"
    assert frame.at["North <b>", "Full-time account-manager adequacy ratio"] == "2"
    assert frame.at["South", "New personal deposits (CNY)"] == "-5"
    assert frame.at["The bank", "Customer growth (%)"] == "25.0%"
    assert frame.at["The bank", "Customers"] == "5"
    note = rov.scorecard_table(sc, NAMES, "CNY").note
    assert note.startswith("VIP customer service duration ratio: The data contract records")


def test_scorecard_grid_and_metrics_by_kpi_id() -> None:
    sc = _scorecard(k=2)
    grid = rov.scorecard_shares(sc, NAMES)
    assert grid.index.tolist() == ["North <b>", "South"]
    assert "Product coverage" in grid.columns and "New personal deposits" not in grid.columns
    assert grid.at["North <b>", "Product coverage"] == pytest.approx(2 / 3)
    assert np.isnan(grid.at["North <b>", "VIP customer service duration ratio"])  # withheld
    m = rov.scorecard_metrics(sc)
    assert all(is_kpi(key) for key in m)
    assert m["product_coverage[region=RA]"] == pytest.approx(2 / 3)
    assert m["customers[region=RB]"] == 2
    assert m["customer_growth[region=RB]"] == Suppressed(2)
    assert m["manager_coverage"] == pytest.approx(0.5)  # the bank
    # k = 3: the bank's two VIP-and-above customers are a small group too
    big_k = rov.scorecard_metrics(_scorecard(k=3))
    assert big_k["vip_service_duration_ratio"] == Suppressed(3)
    assert big_k["product_coverage"] == pytest.approx(3 / 5)
    frame = rov.scorecard_table(_scorecard(k=3), NAMES, "CNY").frame.set_index("Region")
    assert frame.at["The bank", "VIP customer service duration ratio (%)"] == "<3"
    assert frame.at["South", "Product coverage (%)"] == "<3"  # a region of 2 customers
    absent = rov.Scorecard(**{**sc.__dict__, "absent": {"manager_coverage": "no managers"}})
    assert rov.scorecard_metrics(absent)["manager_coverage[region=RA]"] == Absent("no managers")
    assert rov.scorecard_metrics(absent)["manager_coverage"] == Absent("no managers")


def test_a_kpi_the_data_cannot_measure_is_not_a_small_group() -> None:
    """No contacts table: the VIP duration ratio is n/a with its reason, never the marker, even
    where the VIP-and-above group is small (k = 3: the bank has 2)."""
    args = dict(managers=managers(), has_contacts=False, coverage_products=3)
    per_region = region_scorecard(
        tiers_now(), cm_base(), region_month(), outlet_month(), "2024-03", **args
    )
    whole = region_scorecard(
        tiers_now(), cm_base(), region_month(), outlet_month(), "2024-03", by_region=False, **args
    )
    sc = rov.Scorecard(
        regions=suppress_scorecard(per_region, 3),
        withheld=withheld_cells(per_region, 3),
        bank=suppress_scorecard(whole, 3),
        base_month="2024-01",
        absent=dict(per_region.attrs["absent"]),
        min_group_size=3,
    )
    assert "vip_service_duration_ratio" in sc.absent
    table = rov.scorecard_table(sc, NAMES, "CNY")
    column = table.frame.set_index("Region")["VIP customer service duration ratio (%)"]
    assert column.tolist() == ["n/a"] * 3
    reason = sc.absent["vip_service_duration_ratio"]
    assert f"VIP customer service duration ratio: not available ({reason})." in table.note
    assert table.frame.set_index("Region").at["South", "Product coverage (%)"] == "<3"
    m = rov.scorecard_metrics(sc)
    assert m["vip_service_duration_ratio"] == Absent(reason)


def test_league_view_and_metrics() -> None:
    sc = _scorecard(k=1)
    table = rov.league(sc, NAMES)
    assert table.columns[:2].tolist() == ["region_id", "region"]
    frame = rov.league_view(table).frame.set_index("Region")
    assert frame.index.tolist() == ["South", "North <b>"]
    assert frame.at["South", "League score"] == f"{7 / 12:.3f}"
    assert frame.at["North <b>", "League rank"] == "2"
    assert frame.at["North <b>", "Rank: Product coverage"] == "1"
    m = rov.league_metrics(table)
    assert m["league_rank[region=RB]"] == 1.0
    assert m["league_score[region=RA]"] == pytest.approx(5 / 12)
    assert all(is_kpi(key) for key in m)
    assert league_table(sc.regions).shape[0] == 2


def test_league_view_marks_a_shared_league_rank() -> None:
    table = pd.DataFrame(
        {
            "region_id": ["RA", "RB", "RC"],
            "echelon": [1, 1, 1],
            "product_coverage": [0.300, 0.298, 0.1],
        }
    )
    table = league_table(table, ["product_coverage"], materiality=0.005)
    table.insert(1, "region", table["region_id"].map({"RA": "A", "RB": "B", "RC": "C"}))
    ranks = rov.league_view(table).frame.set_index("Region")["League rank"]
    assert ranks.to_dict() == {"A": "1=", "B": "1=", "C": "3"}


def test_league_of_a_lone_region_says_so_and_records_no_rank() -> None:
    table = pd.DataFrame(
        {
            "region_id": ["RA", "RB", "RC"],
            "echelon": [1, 1, 2],
            "product_coverage": [0.3, 0.2, 0.25],
        }
    )
    table = league_table(table, ["product_coverage"])
    table.insert(1, "region", table["region_id"].map({"RA": "A", "RB": "B", "RC": "C <i>"}))
    view = rov.league_view(table)
    assert view.frame.set_index("Region").at["C <i>", "League rank"] == "n/a"
    assert view.note.endswith(
        "C <i> is the only region of echelon 2: its ranks and score are among all 3 regions of "
        "the bank, and it has no league rank."
    )
    m = rov.league_metrics(table)
    assert m["league_rank[region=RC]"] == Absent("the only region of its echelon")
    assert m["league_rank[region=RA]"] == 1.0


def test_unknown_scorecard_figures_say_why() -> None:
    row = pd.Series({"customers": 5, "quality_plus_customers": 0, "wealth_card_matching": np.nan})
    assert rov.known_or_why(row, "wealth_card_matching") == Absent("no quality-and-above customers")
    row["customers"] = 0
    row["product_coverage"] = np.nan
    assert rov.known_or_why(row, "product_coverage") == Absent("no active customers")
    row["product_coverage"] = 0.25
    assert rov.known_or_why(row, "product_coverage") == 0.25


def _targets() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "month": ["2024-03"] * 3,
            "level": ["region"] * 3,
            "id": ["RA", "RB", "RB"],
            "kpi": ["aum", "aum", "customers"],
            "target": [5000.0, 25000.0, 2.0],
        }
    )


def test_attainment_table_grid_and_metrics() -> None:
    ta = target_attainment(region_month(), _targets(), "2024-03")
    frame = rov.attainment_table(ta, NAMES, "EUR").frame
    assert frame.to_dict("records")[0] == {
        "Region": "North <b>",
        "KPI": "Assets under management",
        "Target": "5,000 EUR",
        "Actual": "5,550 EUR",
        "Target attainment (%)": "111.0%",
        "Met": "met",
    }
    assert frame["Met"].tolist() == ["met", "missed", "met"]
    assert frame["Actual"].tolist()[2] == "2"  # customers: a count, no currency
    grid = rov.attainment_grid(ta, NAMES)
    assert grid.index.tolist() == ["North <b>", "South"]
    assert grid.at["South", "Customers"] == 1.0 and np.isnan(grid.at["North <b>", "Customers"])
    m = rov.attainment_metrics(ta)
    assert m == {
        "targets_met_share": pytest.approx(2 / 3),
        "targets_missed": 1,
        "targets_missed[kpi=aum]": 1,
        "targets_missed[kpi=customers]": 0,
        "target_attainment[region=RA,kpi=aum]": pytest.approx(5550 / 5000),
        "target_attainment[region=RB,kpi=aum]": pytest.approx(20200 / 25000),
        "target_attainment[region=RB,kpi=customers]": pytest.approx(1.0),
    }
    assert all(is_kpi(key) for key in m)
    none = rov.attainment_metrics(target_attainment(region_month(), None, "2024-03"))
    assert isinstance(none["targets_met_share"], Absent)
    zero = _targets().assign(target=0.0)  # a target of 0 new customers: no attainment ratio
    m0 = rov.attainment_metrics(target_attainment(region_month(), zero, "2024-03"))
    assert m0["target_attainment[region=RA,kpi=aum]"] == Absent("the target is not positive")
    # a region's count the run withholds (protect_total_counts): its attainment is recorded
    # with the marker and counted neither as met nor as missed (RB's 1 customer of a target
    # of 1 would say on which side of the target it lies)
    from bankanalysis.report.disclosure_plan import PlanCounts, withhold_attainment

    counts = PlanCounts(status={("region=RB", "customers", "2024-03"): "primary"}, k=10)
    mw = rov.attainment_metrics(withhold_attainment(ta, counts, "2024-03"), 10)
    assert mw["target_attainment[region=RB,kpi=customers]"] == Suppressed(10, "small")
    assert (mw["targets_met_share"], mw["targets_missed"]) == (pytest.approx(1 / 2), 1)
    assert "targets_missed[kpi=customers]" not in mw
    assert mw["target_attainment[region=RA,kpi=aum]"] == pytest.approx(5550 / 5000)


def test_the_overview_scorecard_from_the_standing_is_the_one_computed_here(
    ci_bank, tmp_path
) -> None:
    """The overview passes the summary's standing (computed once per run): its scorecard of
    the data month is, frame for frame and bit for bit, the scorecard computed from every
    scorecard column of the months it needs, without reading them again."""
    import shutil

    from bankanalysis.report.context import report_context
    from bankanalysis.report.summary import standing_for

    folder = tmp_path / "processed"
    shutil.copytree(ci_bank.processed, folder)
    ctx = report_context(str(folder), None, None, None, whole_bank=True, theme=False)
    params = dict(
        tier_thresholds=[50000, 500000, 6000000],
        tier_months=3,
        lookback_months=12,
        coverage_products=3,
        wealth_card_product="wealth_card",
    )
    rm = rov.region_month_upto(ctx)
    computed = rov.load_scorecard(ctx, rm, **params)
    shown = rov.load_scorecard(ctx, rm, **params, standing=standing_for(ctx, params))
    for part in ("regions", "withheld", "bank"):
        pd.testing.assert_frame_equal(
            getattr(shown, part), getattr(computed, part), check_exact=True
        )
    assert (shown.base_month, shown.absent, shown.withheld_totals) == (
        computed.base_month,
        computed.absent,
        computed.withheld_totals,
    )
    active = len(ctx.bank.customer_month(months=[ctx.month], columns=["customer_id"]))
    assert (
        shown.bank["customers"].tolist() == [active] and shown.regions["customers"].sum() == active
    )
