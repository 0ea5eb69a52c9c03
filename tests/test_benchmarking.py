"""Outlet KPIs, peer ranks, moving averages, DEA preparation and self-service, on tiny frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bankanalysis.benchmarking import (
    BenchmarkingError,
    attainment,
    attainment_grid,
    benchmarking_headline,
    channel_replacement,
    channel_trends,
    customer_counts,
    customer_months,
    dea_inputs_outputs,
    dea_notes,
    dea_reference_peers,
    dea_scores_long,
    dea_targets_table,
    group_aggregates,
    kpi_unit,
    lagging_outlets,
    level_aggregates,
    moving_average_gaps,
    moving_average_position,
    outlet_dea,
    outlet_kpi_table,
    outlet_kpis,
    peer_gap_table,
    peer_rank_grid,
    peer_ranks,
    region_attainment,
    region_dea,
    region_outlets,
    region_peer_ranks,
    region_self_service,
    sales_by_family,
    self_service_by_region,
)


def _om(rows: list[dict]) -> pd.DataFrame:
    base = {
        "region_id": "R1",
        "echelon": 1,
        "outlet_type": "standard",
        "new_customers": 1,
        "aum": 1e6,
        "deposit_balance": 5e5,
        "new_deposits": 1e4,
        "fee_income": 100.0,
        "txn_n": 10,
        "txn_counter_n": 5,
        "devices": 1,
        "device_available_hours": 100.0,
        "device_operating_hours": 50.0,
    }
    return pd.DataFrame([{**base, **r} for r in rows])


@pytest.fixture()
def one_month() -> pd.DataFrame:
    # peers (1, standard): sales per FTE 5, 3, 3, 1; o5 alone in (2, community)
    return _om(
        [
            {
                "month": "2025-03",
                "outlet_id": "o1",
                "staff_fte": 4.0,
                "customers": 100,
                "sales_total": 20.0,
                "txn_n": 10,
                "txn_counter_n": 4,
                "device_available_hours": 100.0,
                "device_operating_hours": 80.0,
            },
            {
                "month": "2025-03",
                "outlet_id": "o2",
                "staff_fte": 6.0,
                "customers": 50,
                "sales_total": 18.0,
            },
            {
                "month": "2025-03",
                "outlet_id": "o3",
                "staff_fte": 2.0,
                "customers": 30,
                "sales_total": 6.0,
                "region_id": "R2",
            },
            {
                "month": "2025-03",
                "outlet_id": "o4",
                "staff_fte": 5.0,
                "customers": 40,
                "sales_total": 5.0,
                "region_id": "R2",
            },
            {
                "month": "2025-03",
                "outlet_id": "o5",
                "staff_fte": 3.0,
                "customers": 20,
                "sales_total": 3.0,
                "region_id": "R3",
                "echelon": 2,
                "outlet_type": "community",
                "devices": 0,
                "device_available_hours": 0.0,
                "device_operating_hours": 0.0,
            },
        ]
    )


def test_outlet_kpis_hand_computed(one_month):
    k = outlet_kpis(one_month).set_index("outlet_id")
    assert k.loc["o1", "customers_per_fte"] == 25.0
    assert k.loc["o1", "sales_per_fte"] == 5.0
    assert k.loc["o1", "aum_per_fte"] == 250000.0
    assert k.loc["o1", "e_channel_rate"] == pytest.approx(0.6)
    assert k.loc["o1", "device_operating_rate"] == pytest.approx(0.8)
    assert k.loc["o2", "device_operating_rate"] == pytest.approx(0.5)
    assert np.isnan(k.loc["o5", "device_operating_rate"])  # no devices: undefined, not 0
    assert np.isnan(k.loc["o1", "share_quality_plus"])  # no customer_month given


def test_customer_counts_and_quality_share():
    cm = pd.DataFrame(
        {
            "month": ["2025-01", "2025-02"] * 3,
            "customer_id": ["c1", "c1", "c2", "c2", "c3", "c3"],
            "outlet_id": ["o1"] * 6,
            "aum": [40e3, 70e3, 60e3, 30e3, 1e6, 1e6],
            "n_products": [3, 3, 1, 3, 5, 4],
        }
    )
    counts = customer_counts(cm, [50e3, 5e5, 6e6], tier_months=2, coverage_products=3)
    # month 1 tier AUM: c1 40k, c2 60k, c3 1M; month 2 (mean of 2): c1 55k, c2 45k, c3 1M
    assert counts["n_quality_plus"].tolist() == [2, 2]
    assert counts["n_covered"].tolist() == [2, 3]
    assert counts["n_products_total"].tolist() == [9, 10]
    om = _om(
        [
            {"month": m, "outlet_id": "o1", "staff_fte": 3.0, "customers": 3, "sales_total": 1.0}
            for m in ("2025-01", "2025-02")
        ]
    )
    # the window is calendar months: a customer absent in 2025-02 is judged on 2025-03 alone
    gap = pd.DataFrame(
        {
            "month": ["2025-01", "2025-03"],
            "customer_id": ["c9", "c9"],
            "outlet_id": ["o2", "o2"],
            "aum": [100e3, 20e3],
            "n_products": [1, 1],
        }
    )
    assert customer_counts(gap, [50e3, 5e5, 6e6], tier_months=2)["n_quality_plus"].tolist() == [
        1,
        0,
    ]
    k_last = outlet_kpis(om, cm[cm["month"] == "2025-02"], [50e3, 5e5, 6e6], tier_months=1)
    assert np.isnan(k_last["share_quality_plus"].iloc[0])  # 2025-01 not given: unknown, not 0
    assert k_last["share_quality_plus"].iloc[1] == pytest.approx(2 / 3)  # c1 70k, c3 1M
    k = outlet_kpis(om, cm, [50e3, 5e5, 6e6], tier_months=2)
    assert k["share_quality_plus"].tolist() == pytest.approx([2 / 3, 2 / 3])
    assert k["product_coverage"].tolist() == pytest.approx([2 / 3, 1.0])
    assert k["products_per_customer"].tolist() == pytest.approx([3.0, 10 / 3])


def test_region_aggregates_recompute_ratios(one_month):
    agg = group_aggregates(outlet_kpis(one_month), "region_id").set_index("region_id")
    # R1 = o1 + o2: 150 customers / 10 FTE (not the mean of 25 and 8.33)
    assert agg.loc["R1", "customers_per_fte"] == 15.0
    assert agg.loc["R1", "outlets"] == 2
    assert agg.loc["R1", "e_channel_rate"] == pytest.approx((6 + 5) / 20)
    ech = group_aggregates(outlet_kpis(one_month), "echelon").set_index("echelon")
    assert ech.loc[1, "sales_total"] == 49.0
    ch = channel_replacement(outlet_kpis(one_month), "echelon").set_index("echelon")
    assert ch.loc[1, "e_channel_rate"] == pytest.approx(21 / 40)


def test_peer_ranks_hand_computed(one_month):
    r = peer_ranks(outlet_kpis(one_month), ["sales_per_fte"]).set_index("outlet_id")
    assert r.loc["o1", "percentile"] == 100.0
    assert r.loc["o2", "percentile"] == 62.5  # tie with o3: ranks 2 and 3 share 2.5 of 4
    assert r.loc["o4", "percentile"] == 25.0
    assert r[["quartile"]].loc[["o1", "o2", "o3", "o4"], "quartile"].tolist() == [4, 3, 3, 1]
    assert r.loc["o1", "z_score"] == pytest.approx(2 / np.sqrt(2))  # mean 3, population sd sqrt 2
    assert r.loc["o1", "gap_to_median"] == 2.0
    assert r.loc["o4", "gap_to_median"] == -2.0
    assert r.loc["o1", "n_peers"] == 4
    assert r.loc["o5", "n_peers"] == 1 and np.isnan(r.loc["o5", "z_score"])
    # another grouping: echelon only puts o5 alone still, o1-o4 together
    r2 = peer_ranks(outlet_kpis(one_month), ["sales_per_fte"], peer_cols=["region_id"])
    assert r2.set_index("outlet_id").loc["o2", "percentile"] == 50.0  # R1: o1 5, o2 3


@pytest.fixture()
def three_months() -> pd.DataFrame:
    rows = []
    sales = {"o1": [4, 6, 6], "o2": [2, 2, 1], "o3": [1, 1, 1]}
    for i, m in enumerate(["2025-01", "2025-02", "2025-03"]):
        for oid, s in sales.items():
            typ = "community" if oid == "o3" else "standard"
            rows.append(
                {
                    "month": m,
                    "outlet_id": oid,
                    "staff_fte": 1.0,
                    "customers": 10,
                    "sales_total": float(s[i]),
                    "outlet_type": typ,
                }
            )
    return outlet_kpis(_om(rows))


def test_moving_average_gaps_hand_computed(three_months):
    ma = moving_average_gaps(three_months, "sales_per_fte", window=2)
    o2 = ma[ma["outlet_id"] == "o2"]
    # peer (o1, o2) means 3, 4, 3.5 -> trailing 2-month averages 3, 3.5, 3.75
    assert o2["peer_ma"].tolist() == [3.0, 3.5, 3.75]
    assert o2["gap"].tolist() == [-1.0, -1.5, -2.75]
    assert o2["below"].all()
    assert not ma[ma["outlet_id"] == "o1"]["below"].any()
    # o3 is alone: its own average, never below
    assert not ma[ma["outlet_id"] == "o3"]["below"].any()
    lag = lagging_outlets(ma, k=2)
    assert lag["outlet_id"].tolist() == ["o2"]
    assert lag.loc[0, "months_below"] == 3
    assert lag.loc[0, "mean_gap_k"] == pytest.approx((-1.5 - 2.75) / 2)
    with pytest.raises(BenchmarkingError):
        lagging_outlets(ma, k=4)


def test_attainment_against_targets(one_month):
    k = outlet_kpis(one_month)
    targets = pd.DataFrame(
        {
            "month": ["2025-03", "2025-03", "2025-03"],
            "level": ["outlet", "outlet", "region"],
            "id": ["o1", "o1", "R1"],
            "kpi": ["sales_total", "no_such_kpi", "customers"],
            "target": [16.0, 1.0, 300.0],
        }
    )
    a = attainment(k, targets, "outlet").set_index("kpi")
    assert a.loc["sales_total", "attainment"] == 1.25
    assert np.isnan(a.loc["no_such_kpi", "attainment"])
    reg = attainment(group_aggregates(k, "region_id"), targets, "region")
    assert reg["attainment"].tolist() == [0.5]
    assert attainment(k, None) is None


def test_dea_preparation_offsets_zero_devices_and_clips(one_month):
    om = one_month.assign(new_deposits=[1.0, -5.0, 2.0, 3.0, 4.0])
    X, Y, info = dea_inputs_outputs(
        outlet_kpis(om), ["staff_fte", "devices"], ["sales_total", "new_deposits"], months=1
    )
    assert X.loc["o5", "devices"] == 1.0  # 0 devices + the outlet itself
    assert X.loc["o1", "devices"] == 2.0  # every outlet shifted by the same offset
    assert info.attrs["offsets_applied"] == {"devices": 1.0}
    # no outlet without devices: the column is used as it is
    X1, _, info1 = dea_inputs_outputs(
        outlet_kpis(om[om["outlet_id"] != "o5"]), ["devices"], ["sales_total"], months=1
    )
    assert X1["devices"].tolist() == [1.0] * 4 and info1.attrs["offsets_applied"] == {}
    assert Y.loc["o2", "new_deposits"] == 0.0 and info.loc["o2", "clipped_outputs"] == 1
    X2, _, info2 = dea_inputs_outputs(
        outlet_kpis(om), ["devices"], ["sales_total"], months=1, input_offsets={}
    )
    assert "o5" not in X2.index and info2.loc["o5", "dropped"] == "input <= 0"


def test_outlet_dea_one_input_one_output(one_month):
    s, lam = outlet_dea(
        outlet_kpis(one_month), ["staff_fte"], ["sales_total"], months=1, frontier_by=None
    )
    # sales per FTE 5, 3, 3, 1, 1 -> CCR efficiency = ratio / 5
    assert s["ccr"].round(9).tolist() == [1.0, 0.6, 0.6, 0.2, 0.2]
    assert s.loc["o2", "target_sales_total"] == pytest.approx(30.0)  # 6 FTE x 5
    assert s.loc["o2", "peers"] == "o1"
    assert (s["bcc"] >= s["ccr"] - 1e-9).all()
    np.testing.assert_allclose(s["scale_efficiency"], s["ccr"] / s["bcc"])
    # per echelon: o5 is alone in echelon 2 and so on its own frontier
    s2, _ = outlet_dea(outlet_kpis(one_month), ["staff_fte"], ["sales_total"], months=1)
    assert s2.loc["o5", "efficiency"] == pytest.approx(1.0)
    assert s2.loc["o4", "efficiency"] == pytest.approx(0.2)


def test_self_service_ratio_against_target():
    rm = pd.DataFrame(
        {
            "month": ["2025-03"] * 2,
            "region_id": ["R1", "R2"],
            "echelon": [1, 3],
            "outlets": [4, 2],
            "self_service_sites": [10, 7],
            "offsite_sites": [6, 5],
        }
    )
    s = self_service_by_region(rm, 3.0).set_index("region_id")
    assert s.loc["R1", "ratio"] == 2.5 and s.loc["R1", "sites_missing"] == 2
    assert s.loc["R2", "ratio"] == 3.5 and s.loc["R2", "sites_missing"] == 0


def test_missing_column_is_named(one_month):
    with pytest.raises(BenchmarkingError, match="no_such"):
        moving_average_gaps(outlet_kpis(one_month), "no_such")


def test_notebook_parameter_cell_matches_the_schema():
    """The notebook declares every parameter of its schema, with the schema's defaults."""
    import ast
    import json
    from pathlib import Path

    from bankanalysis.params import BATCH_ONLY_KEYS, BenchmarkingParams

    path = Path(__file__).resolve().parents[1] / "notebooks" / "03_outlet_benchmarking.ipynb"
    nb = json.loads(path.read_text(encoding="utf-8"))
    cell = next(c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", []))
    declared = {}
    for node in ast.parse("".join(cell["source"])).body:
        if isinstance(node, ast.Assign):
            declared[node.targets[0].id] = ast.literal_eval(node.value)
    defaults = BenchmarkingParams().model_dump()
    expected = {k: v for k, v in defaults.items() if k not in BATCH_ONLY_KEYS}
    assert set(declared) == set(expected)
    for key, value in expected.items():
        assert declared[key] == value, key


# --------------------------------------------------------------------------- report helpers

NAMES = {"o1": "Zeta <i>", "o2": "Alpha", "o3": "Gamma", "o4": "Delta", "o5": "Eps"}
REGION_NAMES = {"R1": "North", "R2": "South", "R3": "East"}


def test_customer_months_and_units() -> None:
    months = ["2025-01", "2025-02", "2025-03", "2025-04"]
    assert customer_months(months, "2025-03", 2, "sales_per_fte") == ["2025-02", "2025-03"]
    assert customer_months(months, "2025-03", 2, "product_coverage") == months[:3]
    assert kpi_unit("fee_income", "EUR") == "EUR" and kpi_unit("sales_per_fte", "EUR") == (
        "products per FTE"
    )


def test_outlet_table_suppresses_small_outlets_and_shows_thousands(one_month):
    mine = region_outlets(outlet_kpis(one_month), "R1", "2025-03", NAMES)
    assert mine["outlet_id"].tolist() == ["o2", "o1"]  # sorted by name: Alpha, Zeta
    table = outlet_kpi_table(mine, min_group_size=60, currency="CNY").set_index("outlet")
    assert len(table.columns) == 15 and table.columns[0] == "type"
    assert table.at["Zeta <i>", "deposits (k CNY)"] == 500.0
    assert table.at["Zeta <i>", "e-channel rate"] == pytest.approx(0.6)
    assert table.at["Zeta <i>", "customers / FTE"] == 25.0
    # Alpha has 50 < 60 customers: its shares are blank, its counts are not
    assert np.isnan(table.at["Alpha", "e-channel rate"]) and table.at["Alpha", "customers"] == 50
    # one new customer per outlet: a group below 60, blanked; shown when groups of 1 are allowed
    assert table["new customers"].isna().all()
    loose = outlet_kpi_table(mine, min_group_size=1, currency="CNY")
    assert loose["new customers"].tolist() == [1, 1]
    sales = pd.DataFrame(
        {
            "outlet": ["A", "B"],
            "sales_total": [4, 6],
            "sales_per_fte": [1.0, 2.0],
            "sales_deposit": [1, 2],
            "sales_loan": [3, 4],
        }
    )
    fam = sales_by_family(sales)
    assert fam.columns.tolist() == ["deposit", "loan"] and fam.loc["B"].tolist() == [2, 4]


def test_level_aggregates_region_echelon_and_bank(one_month):
    agg = level_aggregates(outlet_kpis(one_month), "R1", 1, "North").set_index("level")
    assert agg.index.tolist() == ["North", "echelon 1", "whole bank"]
    assert agg.at["North", "customers_per_fte"] == 15.0  # (100 + 50) / (4 + 6)
    assert agg.at["echelon 1", "customers_per_fte"] == pytest.approx(220 / 17)
    assert agg.at["whole bank", "customers_per_fte"] == 12.0  # 240 / 20


def test_region_attainment_names_and_orders_levels(one_month):
    mine = region_outlets(outlet_kpis(one_month), "R1", "2025-03", NAMES)
    targets = pd.DataFrame(
        {
            "month": ["2025-03", "2025-03", "2025-03", "2025-02"],
            "level": ["outlet", "outlet", "region", "region"],
            "id": ["o1", "o1", "R1", "R1"],
            "kpi": ["sales_total", "no_such_kpi", "customers", "customers"],
            "target": [16.0, 1.0, 300.0, 1.0],
        }
    )
    att = region_attainment(mine, targets, "2025-03", {**REGION_NAMES, **NAMES})
    assert att["name"].tolist() == ["North", "Zeta <i>"]  # unknown KPI and 2025-02 dropped
    assert att["attainment"].tolist() == [0.5, 1.25]
    grid = attainment_grid(att)
    assert grid.index.tolist() == [("region", "North"), ("outlet", "Zeta <i>")]
    assert grid.at[("region", "North"), "customers"] == 0.5
    assert np.isnan(grid.at[("region", "North"), "sales_total"])


def test_peer_grids_and_gaps_in_units(one_month):
    k = outlet_kpis(one_month)
    mine = region_outlets(k, "R1", "2025-03", NAMES)
    kpis = ["sales_per_fte", "e_channel_rate"]
    ranks = region_peer_ranks(k, kpis, ["echelon", "outlet_type"], "2025-03", mine)
    assert sorted(ranks["outlet_id"].unique()) == ["o1", "o2"]
    pct = peer_rank_grid(ranks, kpis, "percentile")
    assert pct.columns.tolist() == kpis
    assert pct.at["Zeta <i>", "sales_per_fte"] == 100.0 and pct.at["Alpha", "sales_per_fte"] == 62.5
    gaps = peer_gap_table(ranks, kpis, "CNY")
    assert gaps.columns.tolist() == ["sales_per_fte (products per FTE)", "e_channel_rate (pp)"]
    # peers' e-channel rates 0.6, 0.5, 0.5, 0.5: median 0.5, Zeta is 10 points above
    assert gaps.at["Zeta <i>", "e_channel_rate (pp)"] == pytest.approx(10.0)
    assert gaps.at["Alpha", "sales_per_fte (products per FTE)"] == 0.0  # 3 = median of 5,3,3,1


def test_moving_average_position(three_months):
    ma = moving_average_gaps(three_months, "sales_per_fte", window=2)
    now = moving_average_position(ma, "2025-03", NAMES)
    # o2 1 vs 3.75, o3 alone (gap 0), o1 6 vs 3.75
    assert now["outlet"].tolist() == ["Alpha", "Gamma", "Zeta <i>"]
    assert now["gap"].tolist() == pytest.approx([-2.75, 0.0, 2.25])
    assert now["position"].tolist() == ["below the peers' average", "at or above", "at or above"]


def test_dea_notes_say_what_was_changed(one_month):
    om = one_month.assign(new_deposits=[1.0, -5.0, 2.0, 3.0, 4.0])
    k = outlet_kpis(om)
    _, _, info = dea_inputs_outputs(k, ["staff_fte", "devices"], ["new_deposits"], months=1)
    assert dea_notes(info) == [
        "Some outlets have no `devices`; DEA needs positive inputs, so 1 was added to every "
        "outlet's `devices` (the counter counts as one service point).",
        "1 outlet(s) had a negative mean output (clipped at 0).",
    ]
    _, _, info2 = dea_inputs_outputs(k, ["devices"], ["sales_total"], months=1, input_offsets={})
    assert dea_notes(info2) == ["1 outlet(s) left out of DEA (missing or non-positive inputs)."]
    _, _, info3 = dea_inputs_outputs(k, ["staff_fte"], ["sales_total"], months=1)
    assert dea_notes(info3) == []


def test_dea_region_tables(one_month):
    scores, lam = outlet_dea(
        outlet_kpis(one_month), ["staff_fte"], ["sales_total"], months=1, frontier_by=None
    )
    d = region_dea(scores, "R1", NAMES)
    assert d.index.tolist() == ["o1", "o2"] and d["outlet"].tolist() == ["Zeta <i>", "Alpha"]
    long = dea_scores_long(d)
    assert long["outlet"].tolist()[:2] == ["Alpha", "Zeta <i>"]  # lowest CCR first
    assert long["measure"].unique().tolist() == [
        "CCR (constant returns)",
        "BCC (variable returns)",
        "scale efficiency",
    ]
    assert long["score"].iloc[0] == pytest.approx(0.6)
    # o2 is below the frontier; o1 is on it but lagging its peers' moving average
    behind = dea_targets_table(d, ["o1"], ["sales_total"], "CNY")
    assert behind.index.tolist() == ["o2", "o1"]
    assert behind["lagging"].tolist() == ["no", "yes"]
    assert behind.loc["o2", "sales target"] == pytest.approx(30.0)  # 6 FTE x 5 per FTE
    assert behind.loc["o2", "sales now"] == 18.0
    assert dea_targets_table(d, [], ["sales_total"], "CNY").index.tolist() == ["o2"]
    peers = dea_reference_peers(lam, ["o2"], NAMES)
    # output-oriented CCR: o2's target 30 sales = 1.5 x o1's 20
    assert peers.to_dict("records") == [{"outlet": "Alpha", "peer (weight)": "Zeta <i> (1.50)"}]
    money = pd.DataFrame(
        {
            "outlet": ["A"],
            "efficiency": [0.5],
            "actual_fee_income": [2000.0],
            "target_fee_income": [4000.0],
        },
        index=["o9"],
    )
    shown = dea_targets_table(money, [], ["fee_income"], "EUR")
    assert shown.columns.tolist() == [
        "outlet",
        "efficiency",
        "lagging",
        "fees (k EUR) now",
        "fees (k EUR) target",
    ]
    assert shown.iloc[0, 3:].tolist() == [2.0, 4.0]


def test_self_service_and_channel_labels(one_month):
    rm = pd.DataFrame(
        {
            "month": ["2025-02", "2025-03", "2025-03"],
            "region_id": ["R1", "R1", "R2"],
            "outlets": [4, 4, 2],
            "self_service_sites": [1, 10, 7],
        }
    )
    ss = region_self_service(rm, "2025-03", 3.0, "R2", REGION_NAMES)
    assert ss["region"].tolist() == ["North", "South"]
    assert ss["group"].tolist() == ["other regions", "this region"]
    assert ss["sites_missing"].tolist() == [2, 0]
    by_region, by_echelon = channel_trends(outlet_kpis(one_month), REGION_NAMES)
    assert by_region["group"].tolist() == ["North", "South", "East"]
    assert by_echelon["group"].tolist() == ["echelon 1", "echelon 2"]
    assert by_echelon["e_channel_rate"].iloc[0] == pytest.approx(21 / 40)


def test_benchmarking_headline_hand_computed(one_month):
    k = outlet_kpis(one_month)
    mine = region_outlets(k, "R2", "2025-03", NAMES)  # o3 (2 FTE, 6 sales), o4 (5 FTE, 5)
    ranks = region_peer_ranks(k, ["sales_per_fte"], ["echelon", "outlet_type"], "2025-03", mine)
    scores, _ = outlet_dea(k, ["staff_fte"], ["sales_total"], months=1, frontier_by=None)
    d = region_dea(scores, "R2", NAMES)
    me = pd.Series({"ratio": 2.5, "sites_missing": 2})
    lag = pd.DataFrame({"outlet_id": ["o4"]})
    h = benchmarking_headline(mine, lag, ranks, d, me, 3, ["sales_per_fte"])
    assert h["outlets.count"] == 2 and h["outlets.below_moving_average"] == 1
    assert h["outlets.below_peer_median_sales_per_fte"] == 1  # o4: 1 < median 3
    assert h["outlets.customers_per_fte"] == pytest.approx(70 / 7)
    assert h["outlets.sales_per_fte"] == pytest.approx(11 / 7)
    assert h["dea.mean_ccr"] == pytest.approx((0.6 + 0.2) / 2)
    assert h["dea.efficient_outlets"] == 0
    assert h["self_service.ratio"] == 2.5 and h["self_service.sites_missing"] == 2
    assert h["channels.e_channel_rate"] == pytest.approx(0.5)
    assert h["devices.operating_rate"] == pytest.approx(0.5)
    assert h["targets.missed"] == 3
    no_sales = benchmarking_headline(mine, lag, ranks, d, me, None, ["aum_per_fte"])
    assert no_sales["outlets.below_peer_median_sales_per_fte"] is None
    assert no_sales["targets.missed"] is None
