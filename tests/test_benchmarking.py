"""Outlet KPIs, self-service rates, peer ranks, moving averages and DEA, on tiny frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from outlet_months import outlet_months

from bankanalysis.benchmarking.frontier import dea_inputs_outputs, outlet_dea, reference_peers
from bankanalysis.benchmarking.kpis import (
    attainment,
    customer_counts,
    customer_counts_in_parts,
    customer_months,
    group_aggregates,
    outlet_kpis,
)
from bankanalysis.benchmarking.peers import (
    lagging_outlets,
    moving_average_gaps,
    peer_ranks,
    select_kpis,
)
from bankanalysis.benchmarking.self_service import (
    accounting_replacement_rate,
    outlet_replacement_rate,
    replacement_rates,
    self_service_by_region,
)
from bankanalysis.exceptions import BenchmarkingError


@pytest.fixture()
def one_month() -> pd.DataFrame:
    # peers (1, standard): sales per FTE 5, 3, 3, 1; o5 alone in (2, community)
    return outlet_months(
        [
            {
                "month": "2025-03",
                "outlet_id": "o1",
                "staff_fte": 4.0,
                "customers": 100,
                "sales_total": 20.0,
                "txn_n": 10,
                "txn_counter_n": 4,
                "txn_self_service_n": 4,
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


# --------------------------------------------------------------------------- kpis


def test_outlet_kpis_hand_computed(one_month):
    k = outlet_kpis(one_month).set_index("outlet_id")
    assert k.loc["o1", "customers_per_fte"] == 25.0
    assert k.loc["o1", "sales_per_fte"] == 5.0
    assert k.loc["o1", "aum_per_fte"] == 250000.0
    assert k.loc["o1", "aum_per_customer"] == 10000.0
    # 4 self-service of 4 + 4 (the 2 online/mobile/phone transactions are in neither part)
    assert k.loc["o1", "outlet_replacement_rate"] == pytest.approx(0.5)
    assert k.loc["o2", "outlet_replacement_rate"] == pytest.approx(3 / 8)
    assert k.loc["o1", "device_operating_rate"] == pytest.approx(0.8)
    assert k.loc["o2", "device_operating_rate"] == pytest.approx(0.5)
    assert np.isnan(k.loc["o5", "device_operating_rate"])  # no devices: undefined, not 0
    assert np.isnan(k.loc["o1", "share_quality_plus"])  # no customer_month given
    # no per-kind counts in this outlet_month: the accounting rate is not computed at all
    assert "accounting_replacement_rate" not in k.columns
    assert "e_channel_rate" not in k.columns


def test_accounting_replacement_rate_from_per_kind_counts(one_month):
    om = one_month.assign(
        txn_accounting_n=[8, 6, 0, 4, 2], txn_accounting_offcounter_n=[6, 3, 0, 1, 2]
    )
    k = outlet_kpis(om).set_index("outlet_id")
    assert k.loc["o1", "accounting_replacement_rate"] == pytest.approx(0.75)
    assert k.loc["o2", "accounting_replacement_rate"] == pytest.approx(0.5)
    assert np.isnan(k.loc["o3", "accounting_replacement_rate"])  # no accounting transactions
    agg = group_aggregates(outlet_kpis(om), "region_id").set_index("region_id")
    assert agg.loc["R1", "accounting_replacement_rate"] == pytest.approx(9 / 14)  # sums
    assert agg.loc["R2", "accounting_replacement_rate"] == pytest.approx(1 / 4)
    by_e = replacement_rates(outlet_kpis(om), "echelon").set_index("echelon")
    assert by_e.loc[1, "accounting_replacement_rate"] == pytest.approx(10 / 18)
    assert by_e.loc[2, "accounting_replacement_rate"] == 1.0
    frame = pd.DataFrame({"txn_accounting_offcounter_n": [1], "txn_accounting_n": [4]})
    assert accounting_replacement_rate(frame).tolist() == [0.25]
    with pytest.raises(BenchmarkingError, match="txn_accounting_n"):
        accounting_replacement_rate(frame.drop(columns="txn_accounting_n"))


def test_outlet_replacement_rate_needs_a_base():
    df = pd.DataFrame({"txn_self_service_n": [0, 0, 5], "txn_counter_n": [3, 0, 0]})
    assert outlet_replacement_rate(df).tolist()[0] == 0.0
    assert np.isnan(outlet_replacement_rate(df)[1])  # no transaction: unknown, not 0
    assert outlet_replacement_rate(df)[2] == 1.0


def test_customer_counts_in_parts_are_those_of_the_whole_read():
    """c1 and c2 | c3 and c4, in id order: the counts of the four customers, their months;
    an empty part changes nothing."""
    cm = pd.DataFrame(
        {
            "month": ["2025-01", "2025-02"] * 4,
            "customer_id": ["c1", "c1", "c2", "c2", "c3", "c3", "c4", "c4"],
            "outlet_id": ["o1", "o1", "o2", "o1", "o1", "o2", "o2", "o2"],
            "aum": [40e3, 70e3, 60e3, 30e3, 1e6, 1e6, 10e3, 10e3],
            "n_products": [3, 3, 1, 3, 5, 4, 1, 2],
        }
    )
    thr = [50e3, 5e5, 6e6]
    parts = [cm.iloc[:4], cm.iloc[:0], cm.iloc[4:]]
    counts, months = customer_counts_in_parts(iter(parts), thr, tier_months=2)
    assert months == ["2025-01", "2025-02"]
    pd.testing.assert_frame_equal(counts, customer_counts(cm, thr, tier_months=2))
    # 2025-01: o1 c1 (40k), c3 (1M); o2 c2 (60k), c4; 2025-02: o1 c1 (55k), c2 (45k); o2 c3, c4
    assert counts["n_quality_plus"].tolist() == [1, 1, 1, 1]
    assert counts["n_covered"].tolist() == [2, 0, 2, 1]
    assert counts["n_products_total"].tolist() == [8, 2, 6, 6]
    with pytest.raises(BenchmarkingError, match="no part"):
        customer_counts_in_parts(iter([]), thr)


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
    om = outlet_months(
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
    # exactly at the threshold is quality (the tier rule of bankanalysis.rules.tiers)
    at = gap.assign(aum=[50e3, 50e3])
    assert customer_counts(at, [50e3, 5e5, 6e6], tier_months=1)["n_quality_plus"].tolist() == [
        1,
        1,
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
    assert agg.loc["R1", "aum_per_customer"] == pytest.approx(2e6 / 150)
    assert agg.loc["R1", "outlet_replacement_rate"] == pytest.approx((4 + 3) / (8 + 8))
    ech = group_aggregates(outlet_kpis(one_month), "echelon").set_index("echelon")
    assert ech.loc[1, "sales_total"] == 49.0
    ch = replacement_rates(outlet_kpis(one_month), "echelon").set_index("echelon")
    assert ch.loc[1, "outlet_replacement_rate"] == pytest.approx(13 / 32)
    assert "accounting_replacement_rate" not in ch.columns


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


def test_customer_months_follow_the_tier_window() -> None:
    months = ["2025-01", "2025-02", "2025-03", "2025-04"]
    assert customer_months(months, "2025-03", 2, "sales_per_fte") == ["2025-02", "2025-03"]
    assert customer_months(months, "2025-03", 2, "product_coverage") == months[:3]
    # calendar months: a month missing from the data is not replaced by an older one
    assert customer_months(["2025-01", "2025-03"], "2025-03", 2, "sales_per_fte") == ["2025-03"]


# --------------------------------------------------------------------------- peers


def test_peer_ranks_hand_computed(one_month):
    r = peer_ranks(outlet_kpis(one_month), ["sales_per_fte"]).set_index("outlet_id")
    assert r.loc["o1", "percentile"] == 100.0
    assert r.loc["o2", "percentile"] == 62.5  # tie with o3: ranks 2 and 3 share 2.5 of 4
    assert r.loc["o4", "percentile"] == 25.0
    assert r[["quartile"]].loc[["o1", "o2", "o3", "o4"], "quartile"].tolist() == [4, 3, 3, 1]
    assert r.loc["o1", "z_score"] == pytest.approx(2 / np.sqrt(2))  # mean 3, population sd sqrt 2
    assert r.loc["o1", "gap_to_median"] == 2.0
    assert r.loc["o4", "gap_to_median"] == -2.0
    assert r.loc["o1", "n_peers"] == 4 and r.loc["o1", "basis"] == "peers"
    # o5 is alone in (2, community): ranked among the bank's 5 outlets, not against itself
    assert r.loc["o5", "basis"] == "bank" and r.loc["o5", "n_peers"] == 5
    assert r.loc["o5", "percentile"] == 30.0  # tie with o4 at the bottom: rank 1.5 of 5
    assert r.loc["o5", "peer_median"] == 3.0 and r.loc["o5", "gap_to_median"] == -2.0
    # bank mean 2.6, population sd sqrt(2.24)
    assert r.loc["o5", "z_score"] == pytest.approx(-1.6 / np.sqrt(2.24))
    # another grouping: by region, o5 is alone in R3 again; R1: o1 5, o2 3
    r2 = peer_ranks(outlet_kpis(one_month), ["sales_per_fte"], peer_cols=["region_id"])
    assert r2.set_index("outlet_id").loc["o2", "percentile"] == 50.0


def test_peer_ranks_with_a_single_outlet_compare_nothing(one_month):
    single = outlet_kpis(one_month[one_month["outlet_id"] == "o5"])
    r = peer_ranks(single, ["sales_per_fte"]).iloc[0]
    assert r["basis"] == "none" and r["n_peers"] == 1 and r["quartile"] == 0
    assert np.isnan(r["percentile"]) and np.isnan(r["gap_to_median"])
    # nothing left to rank (every KPI left out): empty, with the columns
    empty = peer_ranks(single, [])
    assert empty.empty and {"peer_group", "basis", "gap_to_median"} <= set(empty.columns)


def test_select_kpis_drops_what_the_data_cannot_support(one_month):
    no_txn = outlet_kpis(one_month.drop(columns=["txn_n", "txn_counter_n", "txn_self_service_n"]))
    sel = select_kpis(no_txn, ["sales_per_fte", "e_channel_rate", "share_quality_plus"], "2025-03")
    assert sel.kept == ["sales_per_fte"]
    assert sel.renamed == {"e_channel_rate": "outlet_replacement_rate"}
    assert sel.dropped == {
        "outlet_replacement_rate": "not computed",
        "share_quality_plus": "no values",
    }
    # the ranks of the kept KPIs work without a transactions table
    assert len(peer_ranks(no_txn, sel.kept, month="2025-03")) == 5
    with_txn = select_kpis(outlet_kpis(one_month), ["e_channel_rate"], "2025-03")
    assert with_txn.kept == ["outlet_replacement_rate"] and with_txn.dropped == {}


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
    return outlet_kpis(outlet_months(rows))


def test_moving_average_gaps_hand_computed(three_months):
    ma = moving_average_gaps(three_months, "sales_per_fte", window=2)
    o2 = ma[ma["outlet_id"] == "o2"]
    # peer (o1, o2) means 3, 4, 3.5 -> trailing 2-month averages 3, 3.5, 3.75
    assert o2["peer_ma"].tolist() == [3.0, 3.5, 3.75]
    assert o2["gap"].tolist() == [-1.0, -1.5, -2.75]
    assert o2["below"].all() and (o2["basis"] == "peers").all()
    assert not ma[ma["outlet_id"] == "o1"]["below"].any()
    # o3 is alone in its group: measured against the bank's mean (7/3, 3, 8/3), not its past
    o3 = ma[ma["outlet_id"] == "o3"]
    assert (o3["basis"] == "bank").all()
    assert o3["peer_ma"].tolist() == pytest.approx([7 / 3, 8 / 3, 17 / 6])
    assert o3["gap"].tolist() == pytest.approx([-4 / 3, -5 / 3, -11 / 6])
    lag = lagging_outlets(ma, k=2)
    assert lag["outlet_id"].tolist() == ["o2", "o3"]
    assert lag.loc[0, "months_below"] == 3
    assert lag.loc[0, "mean_gap_k"] == pytest.approx((-1.5 - 2.75) / 2)
    with pytest.raises(BenchmarkingError):
        lagging_outlets(ma, k=4)


def test_moving_average_of_a_single_outlet_bank(three_months):
    ma = moving_average_gaps(three_months[three_months["outlet_id"] == "o3"], window=2)
    assert (ma["basis"] == "none").all() and ma["peer_ma"].isna().all()
    assert not ma["below"].any()
    assert lagging_outlets(ma, k=2).empty


def test_missing_column_is_named(one_month):
    with pytest.raises(BenchmarkingError, match="no_such"):
        moving_average_gaps(outlet_kpis(one_month), "no_such")


# --------------------------------------------------------------------------- frontier


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
    assert (s["frontier"] == "bank").all()
    assert (s["bcc"] >= s["ccr"] - 1e-9).all()
    np.testing.assert_allclose(s["scale_efficiency"], s["ccr"] / s["bcc"])
    # per echelon: o5 is alone in echelon 2, so it is measured on the bank-wide frontier
    # (it would score 1 against itself)
    s2, lam2 = outlet_dea(outlet_kpis(one_month), ["staff_fte"], ["sales_total"], months=1)
    assert s2.loc["o5", "frontier"] == "bank" and s2.loc["o4", "frontier"] == "1"
    assert s2.loc["o5", "efficiency"] == pytest.approx(0.2)
    assert s2.loc["o5", "peers"] == "o1"
    assert s2.loc["o4", "efficiency"] == pytest.approx(0.2)
    assert lam2[lam2["unit"] == "o5"][["peer", "weight"]].values.tolist() == [["o1", 0.75]]


def test_outlet_dea_of_a_single_outlet_has_no_frontier(one_month):
    one = outlet_kpis(one_month[one_month["outlet_id"] == "o2"])
    s, lam = outlet_dea(one, ["staff_fte"], ["sales_total"], months=1)
    assert s.loc["o2", "frontier"] == "none" and np.isnan(s.loc["o2", "efficiency"])
    assert lam.empty


def test_reference_peers_sorted_and_empty(one_month):
    _, lam = outlet_dea(
        outlet_kpis(one_month), ["staff_fte"], ["sales_total"], months=1, frontier_by=None
    )
    peers = reference_peers(lam, ["o4", "o2"])
    assert peers["unit"].tolist() == ["o2", "o4"] and (peers["peer"] == "o1").all()
    assert peers["weight"].tolist() == pytest.approx([1.5, 1.25])
    empty = reference_peers(lam, [])
    assert empty.empty and empty.columns.tolist() == ["unit", "peer", "weight"]


# --------------------------------------------------------------------------- self-service


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
    assert s.loc["R1", "self_service_per_outlet"] == 2.5 and s.loc["R1", "sites_missing"] == 2
    assert s.loc["R2", "self_service_per_outlet"] == 3.5 and s.loc["R2", "sites_missing"] == 0
    # without device data the sites are unknown: no ratio and no "N more sites needed"
    none = self_service_by_region(rm.assign(self_service_sites=0), 3.0, has_devices=False)
    assert none["self_service_per_outlet"].isna().all() and none["sites_missing"].isna().all()


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
