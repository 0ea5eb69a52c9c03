"""Report shaping of the outlet benchmarking report: tables, sentences, chart data, metrics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from outlet_months import outlet_months

from bankanalysis.benchmarking.frontier import dea_inputs_outputs, outlet_dea
from bankanalysis.benchmarking.kpis import outlet_kpis
from bankanalysis.benchmarking.peers import moving_average_gaps, select_kpis
from bankanalysis.report import benchmarking as rb
from bankanalysis.report.metrics import MetricsRecorder

NAMES = {"o1": "Zeta <i>", "o2": "Alpha", "o3": "Gamma", "o4": "Delta", "o5": "Eps"}
REGION_NAMES = {"R1": "North", "R2": "South", "R3": "East"}


@pytest.fixture()
def kpis() -> pd.DataFrame:
    # sales per FTE 5, 3, 3, 1, 1; o5 alone in (2, community)
    return outlet_kpis(
        outlet_months(
            [
                {"outlet_id": "o1", "staff_fte": 4.0, "customers": 100, "sales_total": 20.0}
                | {"txn_counter_n": 4, "txn_self_service_n": 4, "device_operating_hours": 80.0},
                {"outlet_id": "o2", "staff_fte": 6.0, "customers": 50, "sales_total": 18.0},
                {"outlet_id": "o3", "staff_fte": 2.0, "customers": 30, "sales_total": 6.0}
                | {"region_id": "R2"},
                {"outlet_id": "o4", "staff_fte": 5.0, "customers": 40, "sales_total": 5.0}
                | {"region_id": "R2"},
                {"outlet_id": "o5", "staff_fte": 3.0, "customers": 20, "sales_total": 3.0}
                | {"region_id": "R3", "echelon": 2, "outlet_type": "community", "devices": 0}
                | {"device_available_hours": 0.0, "device_operating_hours": 0.0},
            ],
            month="2025-03",
        )
    )


def test_outlet_tables_withhold_small_outlets_and_label_units(kpis):
    mine = rb.region_outlets(kpis, "R1", "2025-03", NAMES)
    assert mine["outlet_id"].tolist() == ["o2", "o1"]  # sorted by name: Alpha, Zeta
    rates = rb.outlet_table(mine, rb.OUTLET_RATES, 60, "CNY").frame.set_index("outlet")
    # the accounting rate is not computed for this extract: no column rather than n/a
    assert rates.columns.tolist() == [
        "type",
        "Customers per staff FTE",
        "Product sales per staff FTE",
        "AUM per customer (CNY)",
        "Quality-and-above customers (%)",
        "Product coverage (%)",
        "Outlet replacement rate (%)",
        "Self-service device operating rate (%)",
    ]
    assert rates.at["Zeta <i>", "Outlet replacement rate (%)"] == "50.0%"
    assert rates.at["Zeta <i>", "AUM per customer (CNY)"] == "10,000"
    # Alpha has 50 < 60 customers: its customer shares are withheld, its ratios are not
    assert rates.at["Alpha", "Outlet replacement rate (%)"] == "<60"
    assert rates.at["Alpha", "Customers per staff FTE"] == "8.3"
    assert rates.at["Zeta <i>", "Quality-and-above customers (%)"] == "n/a"  # no customer rows
    volumes = rb.outlet_table(mine, rb.OUTLET_VOLUMES, 60, "CNY").frame.set_index("outlet")
    assert volumes.at["Zeta <i>", "Personal deposit balance (CNY)"] == "500,000"
    assert volumes.at["Alpha", "Customers"] == "50"
    # one new customer per outlet: a group below 60, withheld; shown when k = 1
    assert (volumes["New customers"] == "<60").all()
    loose = rb.outlet_table(mine, rb.OUTLET_VOLUMES, 1, "CNY").frame
    assert loose["New customers"].tolist() == ["1", "1"]
    html = rb.outlet_table(mine, rb.OUTLET_VOLUMES, 1, "CNY").to_html()
    assert "Zeta &lt;i&gt;" in html and "<i>" not in html


def test_sales_by_family_drops_the_prefix():
    sales = pd.DataFrame(
        {
            "outlet": ["A", "B"],
            "sales_total": [4, 6],
            "sales_per_fte": [1.0, 2.0],
            "sales_deposit": [1, 2],
            "sales_loan": [3, 4],
        }
    )
    fam = rb.sales_by_family(sales)
    assert fam.columns.tolist() == ["deposit", "loan"] and fam.loc["B"].tolist() == [2, 4]


def test_level_aggregates_region_echelon_and_bank(kpis):
    agg, note = rb.level_aggregates(kpis, "R1", 1, "North")
    agg = agg.set_index("level")
    assert note is None
    assert agg.index.tolist() == ["North", "echelon 1", "whole bank"]
    assert agg.at["North", "customers_per_fte"] == 15.0  # (100 + 50) / (4 + 6)
    assert agg.at["echelon 1", "customers_per_fte"] == pytest.approx(220 / 17)
    assert agg.at["whole bank", "customers_per_fte"] == 12.0  # 240 / 20
    # East is the only region of echelon 2: no echelon line repeating the region's
    alone, note = rb.level_aggregates(kpis, "R3", 2, "East")
    assert alone["level"].tolist() == ["East", "whole bank"]
    assert (
        note == "East is the only region of echelon 2, so it is compared with the whole bank only."
    )


def test_region_attainment_counts_missed_targets_by_direction(kpis):
    mine = rb.region_outlets(kpis, "R1", "2025-03", NAMES)
    targets = pd.DataFrame(
        {
            "month": ["2025-03"] * 4 + ["2025-02"],
            "level": ["outlet", "outlet", "outlet", "region", "region"],
            "id": ["o1", "o1", "o2", "R1", "R1"],
            "kpi": ["sales_total", "no_such_kpi", "sales_total", "customers", "customers"],
            "target": [16.0, 1.0, 18.4, 300.0, 1.0],
        }
    )
    att = rb.region_attainment(mine, targets, "2025-03", {**REGION_NAMES, **NAMES})
    assert att["name"].tolist() == ["North", "Zeta <i>", "Alpha"]  # unknown KPI, 2025-02 dropped
    assert att["attainment"].tolist() == pytest.approx([0.5, 1.25, 18 / 18.4])
    # Alpha's 18 against 18.4 misses on the exact values (one rule with the summary and the
    # index), and its attainment shows 97.8 %, not a rounded "18 of 18"
    assert att["met"].tolist() == [False, True, False]
    missed, text = rb.attainment_summary(att, "2025-03")
    assert missed == 2
    assert text == "Attainment (actual / target) in 2025-03; below 100% = target missed (2 of 3)."
    grid = rb.attainment_grid(att)
    assert grid.index.tolist() == [("region", "North"), ("outlet", "Alpha"), ("outlet", "Zeta <i>")]
    assert grid.columns.tolist() == ["Customers", "Product sales"]
    assert grid.at[("region", "North"), "Customers"] == 0.5
    assert np.isnan(grid.at[("region", "North"), "Product sales"])


def test_peer_kpi_notes_say_why_a_kpi_is_left_out(kpis):
    no_txn = kpis.drop(columns=["outlet_replacement_rate"])
    sel = select_kpis(no_txn, ["sales_per_fte", "e_channel_rate", "share_quality_plus"], "2025-03")
    assert rb.peer_kpi_notes(sel) == [
        "`e_channel_rate` is no longer computed: it was replaced by Outlet replacement rate.",
        "Outlet replacement rate is left out: it needs `transactions`, which this extract lacks.",
        "Quality-and-above customers is left out: no outlet has a value this month.",
    ]


def test_peer_grids_gaps_and_the_lone_outlet(kpis):
    mine = rb.region_outlets(kpis, "R1", "2025-03", NAMES)
    chosen = ["sales_per_fte", "outlet_replacement_rate"]
    ranks = rb.region_peer_ranks(kpis, chosen, ["echelon", "outlet_type"], "2025-03", mine)
    assert sorted(ranks["outlet_id"].unique()) == ["o1", "o2"]
    pct = rb.peer_rank_grid(ranks, chosen, "percentile")
    assert pct.columns.tolist() == chosen
    assert pct.at["Zeta <i>", "sales_per_fte"] == 100.0 and pct.at["Alpha", "sales_per_fte"] == 62.5
    gaps = rb.peer_gap_table(ranks, chosen, "CNY").frame.set_index("outlet")
    assert gaps.columns.tolist() == ["Product sales per staff FTE", "Outlet replacement rate"]
    # peers' replacement rates 0.5, 0.375, 0.375, 0.375: median 0.375, Zeta 12.5 points above
    assert gaps.at["Zeta <i>", "Outlet replacement rate"] == "+12.5 pp"
    assert gaps.at["Alpha", "Product sales per staff FTE"] == "0.0"  # 3 = median of 5,3,3,1
    assert gaps.at["Zeta <i>", "Product sales per staff FTE"] == "+2.0"
    assert rb.peer_basis_notes(ranks, 5) == []
    east = rb.region_outlets(kpis, "R3", "2025-03", NAMES)
    lone = rb.region_peer_ranks(kpis, chosen, ["echelon", "outlet_type"], "2025-03", east)
    assert rb.peer_basis_notes(lone, 5) == [
        "Eps is the only outlet of its peer group (2 / community), so it is compared with all 5 "
        "outlets of the bank."
    ]


def _three_months() -> pd.DataFrame:
    sales = {"o1": [4, 6, 6], "o2": [2, 2, 1], "o3": [1, 1, 1]}
    rows = [
        {
            "month": m,
            "outlet_id": oid,
            "staff_fte": 1.0,
            "customers": 10,
            "sales_total": float(s[i]),
            "outlet_type": "community" if oid == "o3" else "standard",
        }
        for i, m in enumerate(["2025-01", "2025-02", "2025-03"])
        for oid, s in sales.items()
    ]
    return outlet_kpis(outlet_months(rows, month="2025-03"))


def test_moving_average_position_and_notes():
    ma = moving_average_gaps(_three_months(), "sales_per_fte", window=2)
    now = rb.moving_average_position(ma, "2025-03", NAMES)
    # o2 1 vs 3.75, o3 1 vs the bank's 17/6, o1 6 vs 3.75
    assert now["outlet"].tolist() == ["Alpha", "Gamma", "Zeta <i>"]
    assert now["gap"].tolist() == pytest.approx([-2.75, -11 / 6, 2.25])
    assert now["position"].tolist() == [
        "below the peers' average",
        "below the peers' average",
        "at or above",
    ]
    assert rb.moving_average_notes(ma, "2025-03", NAMES) == [
        "Gamma has no peer of its own type and echelon, so it is measured against the moving "
        "average of every outlet of the bank."
    ]
    assert rb.lagging_sentence(2, 3, 2) == (
        "**2** of 3 outlets were below their peers' moving average in each of the last 2 months."
    )


def test_dea_notes_say_what_was_changed(kpis):
    k = kpis.assign(new_deposits=[1.0, -5.0, 2.0, 3.0, 4.0])
    _, _, info = dea_inputs_outputs(k, ["staff_fte", "devices"], ["new_deposits"], months=1)
    assert rb.dea_notes(info) == [
        "Some outlets have no `devices`; DEA needs positive inputs, so 1 was added to every "
        "outlet's `devices` (the counter counts as one service point).",
        "1 outlet(s) had a negative mean output (clipped at 0).",
    ]
    _, _, info2 = dea_inputs_outputs(k, ["devices"], ["sales_total"], months=1, input_offsets={})
    assert rb.dea_notes(info2) == ["1 outlet(s) left out of DEA (missing or non-positive inputs)."]
    _, _, info3 = dea_inputs_outputs(k, ["staff_fte"], ["sales_total"], months=1)
    assert rb.dea_notes(info3) == []


def test_dea_region_tables(kpis):
    scores, lam = outlet_dea(kpis, ["staff_fte"], ["sales_total"], months=1, frontier_by=None)
    d = rb.region_dea(scores, "R1", NAMES)
    assert d.index.tolist() == ["o1", "o2"] and d["outlet"].tolist() == ["Zeta <i>", "Alpha"]
    long = rb.dea_scores_long(d)
    assert long["outlet"].tolist()[:2] == ["Alpha", "Zeta <i>"]  # lowest CCR first
    assert long["measure"].unique().tolist() == list(rb.DEA_MEASURES.values())
    assert long["score"].iloc[0] == pytest.approx(0.6)
    # o2 is below the frontier; o1 is on it but lagging its peers' moving average
    behind = rb.dea_targets_table(d, ["o1"], ["sales_total"], "EUR").frame
    assert behind.index.tolist() == ["o2", "o1"]
    assert behind.columns.tolist() == [
        "outlet",
        "DEA efficiency",
        "lagging",
        "Product sales now",
        "Product sales target",
    ]
    assert behind["lagging"].tolist() == ["no", "yes"]
    assert behind.loc["o2", "DEA efficiency"] == "0.600"
    assert behind.loc["o2", "Product sales now"] == "18"
    assert behind.loc["o2", "Product sales target"] == "30"  # 6 FTE x 5 per FTE
    assert rb.dea_targets_table(d, [], ["sales_total"], "CNY").frame.index.tolist() == ["o2"]
    peers = rb.dea_reference_peers(lam, ["o2"], NAMES)
    # output-oriented CCR: o2's target 30 sales = 1.5 x o1's 20
    assert peers.to_dict("records") == [{"outlet": "Alpha", "peer (weight)": "Zeta <i> (1.50)"}]
    money = pd.DataFrame(
        {
            "outlet": ["A"],
            "efficiency": [0.5],
            "actual_fee_income": [2000.0],
            "target_fee_income": [4000.4],
        },
        index=["o9"],
    )
    shown = rb.dea_targets_table(money, [], ["fee_income"], "EUR").frame
    assert shown.columns.tolist()[3:] == [
        "Intermediary (fee) income (EUR) now",
        "Intermediary (fee) income (EUR) target",
    ]
    assert shown.iloc[0, 3:].tolist() == ["2,000", "4,000"]


def test_all_outlets_on_the_frontier_leave_no_reference_peers(kpis):
    # R3 has one outlet; on its own frontier group it would be efficient against itself
    scores, lam = outlet_dea(kpis, ["staff_fte"], ["sales_total"], months=1)
    d = rb.region_dea(scores, "R1", NAMES)
    behind = rb.dea_targets_table(d.iloc[:1], [], ["sales_total"], "CNY")  # o1 on the frontier
    assert behind.frame.empty
    assert rb.dea_reference_peers(lam, behind.frame.index, NAMES) is None
    east = rb.region_dea(scores, "R3", NAMES)
    assert rb.dea_frontier_notes(east, "echelon") == [
        "Eps is the only outlet of its echelon with DEA data, so it is measured against the "
        "bank-wide frontier."
    ]
    assert rb.dea_frontier_notes(d, "echelon") == [] and rb.dea_frontier_notes(east, None) == []


def test_self_service_sentences_and_replacement_trends(kpis):
    rm = pd.DataFrame(
        {
            "month": ["2025-02", "2025-03", "2025-03"],
            "region_id": ["R1", "R1", "R2"],
            "outlets": [4, 4, 2],
            "self_service_sites": [1, 10, 7],
        }
    )
    ss = rb.region_self_service(rm, "2025-03", 3.0, "R2", REGION_NAMES)
    assert ss["region"].tolist() == ["North", "South"]
    assert ss["group"].tolist() == ["other regions", "this region"]
    assert ss["sites_missing"].tolist() == [2, 0]
    north = ss.set_index("region_id").loc["R1"]
    assert rb.self_service_sentence(north, "North", 3.0) == (
        "North: **2.50** self-service banks per outlet (10 sites, 4 outlets); **2** more sites "
        "needed for 3:1."
    )
    south = ss.set_index("region_id").loc["R2"]
    assert rb.self_service_sentence(south, "South", 3.0).endswith("the plan's 3:1 is met.")
    blind = rb.region_self_service(rm, "2025-03", 3.0, "R2", REGION_NAMES, has_devices=False)
    text = rb.self_service_sentence(blind.set_index("region_id").loc["R1"], "North", 3.0)
    assert text == (
        "North: self-service banks per outlet cannot be counted: this extract has no device data."
    )
    assert "needed" not in text
    by_region, by_echelon = rb.replacement_trends(kpis, REGION_NAMES)
    assert by_region["group"].tolist() == ["North", "South", "East"]
    assert by_echelon["group"].tolist() == ["echelon 1", "echelon 2"]
    assert by_echelon["outlet_replacement_rate"].iloc[0] == pytest.approx(13 / 32)
    no_txn = kpis.drop(columns=["txn_self_service_n", "txn_counter_n"])
    assert rb.replacement_trends(no_txn, REGION_NAMES) is None


def test_benchmarking_metrics_hand_computed_and_keyed_by_kpi_id(kpis):
    mine = rb.region_outlets(kpis, "R2", "2025-03", NAMES)  # o3 (2 FTE, 6 sales), o4 (5 FTE, 5)
    ranks = rb.region_peer_ranks(
        kpis, ["sales_per_fte"], ["echelon", "outlet_type"], "2025-03", mine
    )
    scores, _ = outlet_dea(kpis, ["staff_fte"], ["sales_total"], months=1, frontier_by=None)
    me = pd.Series({"self_service_per_outlet": 2.5, "sites_missing": 2.0})
    found = rb.RegionFindings(
        mine=mine,
        lagging=pd.DataFrame({"outlet_id": ["o4"]}),
        ranks=ranks,
        dea=rb.region_dea(scores, "R2", NAMES),
        self_service=me,
        targets_missed=3,
    )
    m = rb.benchmarking_metrics(found)
    assert m["outlets"] == 2 and m["outlets_below_moving_average"] == 1
    assert m["outlets_below_peer_median[kpi=sales_per_fte]"] == 1  # o4: 1 < median 3
    assert m["customers_per_fte"] == pytest.approx(70 / 7)
    assert m["sales_per_fte"] == pytest.approx(11 / 7)
    assert m["dea_ccr"] == pytest.approx((0.6 + 0.2) / 2)
    assert m["dea_efficient_outlets"] == 0
    assert m["self_service_per_outlet"] == 2.5 and m["self_service_sites_missing"] == 2
    assert m["outlet_replacement_rate"] == pytest.approx(6 / 16)
    assert m["device_operating_rate"] == pytest.approx(0.5)
    assert m["targets_missed"] == 3
    assert str(m["share_quality_plus"]) == "n/a (no customer data)"
    assert str(m["accounting_replacement_rate"]) == (
        "n/a (no accounting transaction counts in the prepared data)"
    )
    # the counts are prepared but the region made no accounting transaction this month
    counted = mine.assign(txn_accounting_n=0, txn_accounting_offcounter_n=0)
    m_zero = rb.benchmarking_metrics(
        rb.RegionFindings(counted, found.lagging, ranks, found.dea, me, 3)
    )
    assert str(m_zero["accounting_replacement_rate"]) == (
        "n/a (no accounting transactions this month)"
    )
    rec = MetricsRecorder(None)
    rec.record_many(m)  # every key is a KPI id of the dictionary
    assert rec.values["share_quality_plus"] is None
    blind = rb.RegionFindings(
        mine=mine,
        lagging=pd.DataFrame({"outlet_id": []}),
        ranks=ranks[ranks["kpi"] != "sales_per_fte"],
        dea=rb.region_dea(scores, "R2", NAMES),
        self_service=pd.Series({"self_service_per_outlet": np.nan, "sites_missing": np.nan}),
        targets_missed=None,
    )
    m2 = rb.benchmarking_metrics(blind)
    assert "outlets_below_peer_median[kpi=sales_per_fte]" not in m2
    assert str(m2["self_service_sites_missing"]) == "n/a (no device data in this extract)"
    assert str(m2["targets_missed"]) == "n/a (no targets table)"


def test_key_figures_name_each_kpi_and_its_breakdown():
    table = rb.key_figures(
        {
            "outlets": 2,
            "outlets_below_peer_median[kpi=sales_per_fte]": 1,
            "outlet_replacement_rate": 0.5017,
            "aum_per_customer": 191260.2,
            "targets_missed": rb.Absent("no targets table"),
        },
        "CNY",
    ).frame
    assert table.to_dict("records") == [
        {"figure": "Outlets", "value": "2"},
        {"figure": "Outlets below their peer median (Product sales per staff FTE)", "value": "1"},
        {"figure": "Outlet replacement rate", "value": "50.2%"},
        {"figure": "AUM per customer", "value": "191,260 CNY"},
        {"figure": "Targets missed", "value": "n/a (no targets table)"},
    ]


def test_no_transactions_table_leaves_both_rates_out_with_the_reason(kpis):
    # prepare writes 0 transaction counts when the raw table is absent: every rate is NaN
    zero = outlet_kpis(kpis.assign(txn_n=0, txn_counter_n=0, txn_self_service_n=0))
    sel = select_kpis(zero, ["sales_per_fte", "outlet_replacement_rate"], "2025-03")
    assert sel.kept == ["sales_per_fte"]
    has = {"transactions": False}.get
    assert rb.peer_kpi_notes(sel, lambda t: has(t, True)) == [
        "Outlet replacement rate is left out: it needs `transactions`, which this extract lacks."
    ]
    assert rb.peer_kpi_notes(sel) == [
        "Outlet replacement rate is left out: no outlet has a value this month."
    ]
    assert rb.replacement_trends(zero, REGION_NAMES) is None
    assert rb.channel_notes(zero, lambda t: has(t, True)) == [
        "This extract has no `transactions` table: neither replacement rate can be computed."
    ]
    assert rb.channel_notes(zero)[0].startswith("No outlet has transactions at the counter")
    assert rb.channel_notes(kpis, lambda t: True)[0].startswith(
        "The accounting-business replacement rate needs transaction counts by kind"
    )
    both = outlet_kpis(kpis.assign(txn_accounting_n=4, txn_accounting_offcounter_n=1))
    assert rb.channel_notes(both) == []


def test_section_items_say_why_a_section_is_empty(kpis):
    mine = rb.region_outlets(kpis, "R1", "2025-03", NAMES)
    missed, items = rb.attainment_items(None, mine, "2025-03", NAMES)
    assert missed is None and items == [
        "This bank has no `targets` table, so attainment against the plan cannot be shown."
    ]
    none_match = pd.DataFrame(
        {"month": ["2025-02"], "level": ["outlet"], "id": ["o1"], "kpi": ["aum"], "target": [1.0]}
    )
    missed, items = rb.attainment_items(none_match, mine, "2025-03", NAMES)
    assert (missed, items) == (0, ["No targets for 2025-03 match the KPIs computed here."])
    scores, lam = outlet_dea(kpis, ["staff_fte"], ["sales_total"], months=1)
    on_frontier = rb.dea_targets_table(rb.region_dea(scores, "R1", NAMES).iloc[:1], [], [], "CNY")
    assert rb.dea_target_items(on_frontier, None, 6) == [
        "Every outlet of the region is on its DEA frontier and none lags its peers' moving "
        "average: there are no output targets or reference peers to show."
    ]
    d = rb.region_dea(scores, "R1", NAMES)
    behind = rb.dea_targets_table(d, [], ["sales_total"], "CNY")
    items = rb.dea_target_items(behind, rb.dea_reference_peers(lam, ["o2"], NAMES), 6)
    assert items[0].endswith(
        "the monthly output (mean of the last 6 months) that would put them on the frontier:"
    )
    assert items[1] is behind and len(items) == 4
    assert rb.device_rates(mine)["outlet"].tolist() == ["Alpha", "Zeta <i>"]  # 0.5, 0.8
    assert rb.device_rates(mine.assign(device_operating_rate=np.nan)) is None
    assert rb.notes([]) is None and rb.notes(["a", "b"]) == "- a\n- b"


def test_region_lagging_on_a_short_extract():
    ma = moving_average_gaps(_three_months(), "sales_per_fte", window=2)
    lag, months, note = rb.region_lagging(ma, 3)
    assert (lag["outlet_id"].tolist(), months, note) == (["o2", "o3"], 3, None)
    lag, months, note = rb.region_lagging(ma, 5)  # 3 months of data, 5 asked for
    assert lag["outlet_id"].tolist() == ["o2", "o3"] and months == 3
    assert note == (
        "The data hold 3 month(s), fewer than the 5 asked for: an outlet lags here when it was "
        "below its peers' average in each of the 3."
    )
    lag, months, note = rb.region_lagging(ma.iloc[0:0], 3)
    assert lag.empty and months == 0 and note.startswith("No month has a value")
    assert (
        rb.lagging_sentence(0, 2, 0) == "No outlet can be compared with its peers' moving average."
    )


def test_kpis_of_a_missing_table_are_unknown_not_zero():
    """Issue 13: without a transactions table prepare writes fee income 0; the report showed
    0, ranked the outlets on it and used it as a DEA output."""
    kpis = pd.DataFrame({"outlet_id": ["O1", "O2"], "fee_income": [0.0, 0.0], "aum": [5.0, 7.0]})
    has = "transactions".__ne__  # every table but transactions
    out = rb.blank_unmeasured(kpis, has)
    assert out["fee_income"].isna().all() and out["aum"].tolist() == [5.0, 7.0]
    assert rb.blank_unmeasured(kpis, lambda t: True)["fee_income"].tolist() == [0.0, 0.0]
    kept, notes = rb.measured_outputs(["deposit_balance", "fee_income"], has)
    assert kept == ["deposit_balance"]
    assert notes == [
        "Intermediary (fee) income is left out of the DEA outputs: it needs `transactions`, "
        "which this extract lacks."
    ]


def test_attainment_withholds_the_outlet_counts_the_disclosure_step_hides(kpis):
    from bankanalysis.report.disclosure import protect_outlet_counts

    mine = rb.region_outlets(kpis, "R1", "2025-03", NAMES)  # Alpha (o2), Zeta (o1)
    mine = mine.assign(new_customers=[25, 4])
    hidden = protect_outlet_counts(mine, 10)
    # Zeta's 4 would come back as the region's 29 - 25: Alpha is withheld too
    assert hidden["new_customers"].tolist() == ["secondary", "primary"]
    targets = pd.DataFrame(
        {
            "month": "2025-03",
            "level": "outlet",
            "id": ["o2", "o1"],
            "kpi": "new_customers",
            "target": [20.0, 20.0],
        }
    )
    # without the step the 4 new customers show as 20 % of a target of 20
    plain_missed, plain = rb.attainment_items(targets, mine, "2025-03", NAMES)
    assert plain_missed == 1
    grid = plain[1].data
    assert grid.loc[("outlet", "Zeta <i>")].iloc[0] == pytest.approx(0.2)
    missed, items = rb.attainment_items(targets, mine, "2025-03", NAMES, hidden=hidden)
    assert missed == 0  # a withheld outlet is neither met nor missed
    assert len(items) == 1 or items[1].data.notna().sum().sum() == 0
    html = items[1].to_html()
    # the grid shows the standard markers, not "n/a" (which reads as no data)
    assert ">&lt;10<" in html and ">x<" in html
    assert "n/a" not in html
    assert "#eeeeee" in html  # no colour from the gradient for a withheld cell


def test_outlet_kpis_are_computed_once_per_data_and_parameters(tmp_path, monkeypatch):
    """The second region's report reads the bank-wide outlet KPIs the first one stored: the
    same frame, without reading customer_month again; other parameters, another entry."""
    from bankanalysis.data.prepare import prepare
    from bankanalysis.report.context import report_context
    from bankanalysis.synthetic import generate_bank

    raw, processed = tmp_path / "raw", tmp_path / "processed"
    generate_bank(raw, n_customers=1_500, n_months=6, seed=3)
    prepare(raw, processed)
    args = ([50_000, 500_000, 6_000_000], 3, 4, "aum")
    first = report_context(processed, None, "R01", theme=False)
    fresh = rb._outlet_kpis(first, *args)
    built = rb.load_outlet_kpis(first, *args)
    pd.testing.assert_frame_equal(built, fresh)
    entries = list((processed / "_models" / "outlet_kpis").iterdir())
    assert len([e for e in entries if e.is_dir()]) == 1

    second = report_context(processed, None, "R02", theme=False)

    def no_read(*a, **k):
        raise AssertionError("customer_month read again")

    monkeypatch.setattr(second.bank, "customer_month", no_read)
    pd.testing.assert_frame_equal(rb.load_outlet_kpis(second, *args), fresh)
    with pytest.raises(AssertionError, match="read again"):
        rb.load_outlet_kpis(second, args[0], 2, *args[2:])  # other tier_months: not cached


def test_level_metrics_record_every_month_of_the_three_lines():
    # R1 (2 months), echelon 1 (second month withheld for a small region inside: "x"), the
    # bank (sales not measured in the first month); R1 is the only key without a scope
    lv = pd.DataFrame(
        {
            "month": ["2025-01", "2025-02"] * 3,
            "level": ["North", "North", "echelon 1", "echelon 1", "whole bank", "whole bank"],
            "customers": [700, 701, 706, 708, 1206, 1209],
            "customers_per_fte": [50.0, 50.07, 44.1, np.nan, 46.4, 46.5],
            "sales_per_fte": [15.0, 15.1, 14.0, np.nan, np.nan, 15.9],
            "aum_per_fte": [1.1e6, 1.2e6, 1.0e6, np.nan, 1.1e6, 1.1e6],
            "withheld": [False, False, False, True, False, False],
        }
    )
    m = rb.level_metrics(lv, "North", 1, 10)
    assert len(m) == 18
    assert m["customers_per_fte[month=2025-02]"] == 50.07
    assert m["aum_per_fte[echelon=1,month=2025-01]"] == 1.0e6
    rec = MetricsRecorder(None)
    rec.record_many(m)
    assert rec.values["sales_per_fte[echelon=1,month=2025-02]"] is None
    assert rec.reasons["sales_per_fte[echelon=1,month=2025-02]"] == (
        "withheld so that a withheld figure cannot be worked out from it"
    )
    assert rec.reasons["sales_per_fte[level=bank,month=2025-01]"] == rb.NOT_MEASURED
    assert rec.values["sales_per_fte[level=bank,month=2025-02]"] == 15.9


def test_outlet_kpis_in_parts_of_customers_are_those_of_one_read(ci_bank):
    """The bank-wide outlet KPIs read 700 customers at a time (five parts of the CI bank) or
    in one part: the frame of one read of every customer, for the tier window of the data
    month and for every month (a moving-average KPI from customers)."""
    from types import SimpleNamespace

    from bankanalysis.benchmarking.kpis import customer_months, outlet_kpis
    from bankanalysis.data.load import load_processed

    bank = load_processed(ci_bank.processed)
    ctx = SimpleNamespace(bank=bank, month=bank.data_month)
    assert len(bank.customer_ranges(700)) == 5
    om = bank.outlet_month()
    cols = ["month", "customer_id", "outlet_id", "aum", "n_products"]
    for ma_kpi in ("sales_per_fte", "products_per_customer"):
        args = ([50_000, 500_000, 6_000_000], 3, 3, ma_kpi)
        cm = bank.customer_month(
            months=customer_months(bank.months, ctx.month, 3, ma_kpi), columns=cols
        )
        want = rb.blank_unmeasured(outlet_kpis(om, cm, *args[:3]), bank.has)
        for size in (700, None):
            got = rb._outlet_kpis(ctx, *args, chunk_customers=size)
            pd.testing.assert_frame_equal(got, want, check_exact=True)
        now = want.loc[want["month"] == ctx.month]
        at = cm.loc[cm["month"] == ctx.month]
        assert now["n_products_total"].sum() == at["n_products"].sum() > 0
        assert now["n_covered"].sum() == (at["n_products"] >= 3).sum()
        counted = sorted(set(want.loc[want["share_quality_plus"].notna(), "month"]))
        assert counted == sorted(set(cm["month"]))  # only the months read; the others NaN
    assert len(counted) == len(bank.months) > 3


def test_a_region_count_the_run_withholds_is_withheld_in_the_attainment_grid_and_frees_its_outlets(
    kpis,
):
    """A region of 4 new customers (Zeta 4, Alpha 0): printed, its attainment (40 % of a
    target of 10) gives the 4 back and pins Zeta's '<10' (the region less Alpha's 0); the
    run withholds such a region count (protect_total_counts), so 03 does too."""
    from attacker import attack_linear

    from bankanalysis.report.disclosure import protect_outlet_counts

    mine = rb.region_outlets(kpis, "R1", "2025-03", NAMES).assign(new_customers=[0, 4])
    targets = pd.DataFrame(
        {
            "month": "2025-03",
            "level": ["region", "outlet", "outlet"],
            "id": ["R1", "o2", "o1"],
            "kpi": "new_customers",
            "target": [10.0, 5.0, 5.0],
        }
    )
    printed = protect_outlet_counts(mine, 10)
    _, items = rb.attainment_items(
        targets, mine, "2025-03", {**NAMES, **REGION_NAMES}, hidden=printed
    )
    assert items[1].data.loc[("region", "North")].iloc[0] == pytest.approx(0.4)
    # the region's 4 less Alpha's 0: Zeta's withheld count comes back exactly
    assert not printed.attrs["protection"][0].safe
    # the run withholds the region's count: the grid shows its marker, nothing is pinned
    run = protect_outlet_counts(mine, 10, region={"new_customers": "primary"})
    assert run["new_customers"].tolist() == ["", "primary"]
    assert run.attrs["protection"][0].safe and run.attrs["region"] == {"new_customers": "primary"}
    missed, items = rb.attainment_items(
        targets, mine, "2025-03", {**NAMES, **REGION_NAMES}, hidden=run
    )
    grid = items[1].data
    assert np.isnan(grid.loc[("region", "North")].iloc[0])
    assert ">&lt;10<" in items[1].to_html()
    assert missed == 1  # Alpha's 0 of 5; the region and Zeta neither met nor missed
    # the attacker: with the region's total unknown, Zeta's count is anywhere in 1..9
    cells = {"n:z": "<k", "n:a": 0.0, "n:r": "<k"}
    lo, hi = attack_linear(cells, [{"n:z": 1.0, "n:a": 1.0, "n:r": -1.0}], 10)["n:z"]
    assert (lo, hi) == (1.0, 9.0)
