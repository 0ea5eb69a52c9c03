"""The action lists on a small hand-computed bank: upgrade list, lagging outlets, product gaps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from action_data import PRODUCTS, THR, _cm, _dea, _kpis, _om, _scores, _tiers

from bankanalysis.actions import (
    aum_trend,
    dea_kpi_target,
    gap_counts,
    lagging_actions,
    product_gaps,
    region_upgrade_candidates,
    sales_families,
    upgrade_candidates,
    upgrade_summary,
)
from bankanalysis.benchmarking.peers import moving_average_gaps
from bankanalysis.exceptions import AnalysisError
from bankanalysis.rules.months import shift_month
from bankanalysis.rules.tiers import customer_tiers
from bankanalysis.segmentation.migration import upgrade_pipeline


def test_upgrade_list_holds_exactly_the_customers_in_the_band_with_their_gaps() -> None:
    c = upgrade_candidates(_tiers(), THR, within=0.10)
    assert c["customer_id"].tolist() == ["c1", "c9", "c2", "c5", "c6"]
    assert c["outlet_id"].tolist() == ["O1", "O1", "O1", "O2", "O2"]
    assert c["manager_id"].fillna("-").tolist() == ["M1", "M1", "-", "M2", "M2"]
    assert c["tier"].tolist() == ["mass", "mass", "mass", "quality", "vip"]
    assert c["next_tier"].tolist() == ["quality", "quality", "quality", "vip", "private_banking"]
    assert c["aum"].tolist() == [46000.0, 46000.0, 45000.0, 470000.0, 5900000.0]
    assert c["gap_to_next"].tolist() == [4000.0, 4000.0, 5000.0, 30000.0, 100000.0]
    assert c["aum_trend"].isna().all()  # no history given: absent, not 0
    assert c["products_to_close"].tolist() == [(), (), (), (), ()]


def test_upgrade_list_trend_and_products_from_the_scores() -> None:
    c = upgrade_candidates(
        _tiers(), THR, 0.10, history=_cm(), trend_months=3, scores=_scores(), products=PRODUCTS
    ).set_index("customer_id")
    # slopes: c1 (48000 - 44000) / 2; c9 two month-ends 40000 -> 52000; c6 one month-end
    assert c["aum_trend"].to_dict() == pytest.approx(
        {"c1": 2000.0, "c9": 12000.0, "c2": 0.0, "c5": -10000.0, "c6": np.nan}, nan_ok=True
    )
    # card is not an AUM product; NaN = held; c9's wmp/fund tie goes to the column order
    assert c["products_to_close"].to_dict() == {
        "c1": ("fund", "wmp"),
        "c9": ("wmp", "fund"),
        "c2": ("fund", "gold"),
        "c5": (),
        "c6": (),
    }
    one = upgrade_candidates(_tiers(), THR, 0.10, scores=_scores(), n_products=1)
    assert one.set_index("customer_id").loc["c5", "products_to_close"] == ("card",)  # no filter


def test_upgrade_list_agrees_with_the_upgrade_candidates_kpi() -> None:
    tiers = _tiers()
    c = upgrade_candidates(tiers, THR, 0.10)
    pipe = upgrade_pipeline(tiers, THR, within=0.10, by="region_id").set_index("target_tier")
    assert c["next_tier"].value_counts().to_dict() == {
        t: n for t, n in pipe["customers"].items() if n
    }
    assert c["gap_to_next"].sum() == pytest.approx(pipe["aum_gap"].sum())


def test_upgrade_band_width_is_the_parameter() -> None:
    c = upgrade_candidates(_tiers(), THR, within=0.02)  # [49,000, 50,000) etc.: only c6
    assert c["customer_id"].tolist() == ["c6"]
    with pytest.raises(AnalysisError, match="band"):
        upgrade_candidates(_tiers(), THR, within=1.0)


def test_region_upgrade_list_reads_only_its_customers_with_the_old_candidates(
    propensity_bank,
) -> None:
    """The region's customers at the data month are read with all their rows of the window (a
    customer who moved in keeps the months banked elsewhere): the list equals the one cut from
    the whole bank's tiers, and no other customer's row is read."""
    from propensity_data import MemoryBank

    src = propensity_bank
    month = src.months[-1]
    cm = src.cm.copy()
    now = cm[(cm["month"] == month) & (cm["region_id"] == "R2")]["customer_id"]
    mover, leaver = now.iloc[0], now.iloc[1]
    earlier = cm["month"].isin([shift_month(month, -2), shift_month(month, -1)])
    cm.loc[earlier & (cm["customer_id"] == mover), ["region_id", "aum"]] = ["R1", 52_500.0]
    cm.loc[(cm["month"] == month) & (cm["customer_id"] == mover), "aum"] = 37_500.0
    cm.loc[(cm["month"] == month) & (cm["customer_id"] == leaver), "region_id"] = "R1"
    bank = MemoryBank(cm, src.products, src.regions)
    reads = []
    real = bank.customer_month

    def spy(months=None, region_id=None, columns=None, customer_ids=None):
        reads.append(None if customer_ids is None else set(customer_ids))
        return real(months, region_id, columns, customer_ids)

    bank.customer_month = spy
    args = (month, THR, 3, 0.10, 4)
    got = region_upgrade_candidates(bank, "R2", *args)
    # the old read: the whole bank's window, tiered, then the region kept
    window = [shift_month(month, -k) for k in range(3, -1, -1)]
    whole = cm[cm["month"].isin(window)]
    tiers = customer_tiers(whole, month, THR, 3)
    want = upgrade_candidates(
        tiers[tiers["region_id"] == "R2"],
        THR,
        0.10,
        history=whole[whole["region_id"] == "R2"],
        trend_months=4,
        products=src.products,
        month=month,
    )
    pd.testing.assert_frame_equal(got, want)
    region_now = set(cm[(cm["month"] == month) & (cm["region_id"] == "R2")]["customer_id"])
    assert leaver not in region_now and reads[-1] == region_now and None not in reads[1:]
    assert mover in set(got["customer_id"]) and len(got) >= 5
    assert got.set_index("customer_id").loc[mover, "aum"] == pytest.approx(47_500.0)
    empty = region_upgrade_candidates(bank, "R9", *args)
    assert empty.empty and list(empty.columns) == list(want.columns)
    with pytest.raises(AnalysisError, match="2099-01"):
        region_upgrade_candidates(bank, "R2", "2099-01", THR, 3, 0.10, 4)


def test_upgrade_summary_per_manager_and_per_outlet() -> None:
    c = upgrade_candidates(_tiers(), THR, 0.10, history=_cm())
    by_manager = upgrade_summary(c, "manager_id")
    assert by_manager.fillna({"manager_id": "-"}).values.tolist() == [
        ["M1", 2, 8000.0, 2, 2],
        ["M2", 2, 130000.0, 0, 1],
        ["-", 1, 5000.0, 0, 1],
    ]
    by_outlet = upgrade_summary(c, "outlet_id")
    assert by_outlet.values.tolist() == [["O1", 3, 13000.0, 2, 3], ["O2", 2, 130000.0, 0, 1]]


def test_aum_trend_is_the_least_squares_slope_and_absent_with_one_month_end() -> None:
    h = pd.DataFrame(
        {
            "month": ["2024-12", "2025-01", "2025-02", "2025-03", "2025-01", "2025-03"],
            "customer_id": ["a", "a", "a", "a", "b", "b"],
            "aum": [0.0, 10.0, 40.0, 40.0, 7.0, 1.0],
        }
    )
    t = aum_trend(h, "2025-03", 3)  # 2024-12 is outside the window
    # a: x = -2, -1, 0 with 10, 40, 40 -> slope 15; b: x = -2, 0 with 7, 1 -> slope -3
    assert t.to_dict() == pytest.approx({"a": 15.0, "b": -3.0})
    assert np.isnan(aum_trend(h, "2025-01", 2)["b"])
    with pytest.raises(AnalysisError, match="at least 2"):
        aum_trend(h, "2025-03", 1)


def test_lagging_actions_lists_outlets_below_either_average_sorted_by_gap() -> None:
    ma = moving_average_gaps(_kpis(), "sales_per_fte", 3, ["echelon", "outlet_type"])
    scores, lambdas = _dea()
    t, reason = lagging_actions(ma, "2025-03", "sales_per_fte", 3, scores, lambdas)
    assert reason is None
    assert t["outlet_id"].tolist() == ["D", "A", "C"]  # B is above both
    t = t.set_index("outlet_id")
    # group means: 20, 20, 22 -> moving average in March 62/3; the bank's for D:
    # 16.25, 16.25, 17.75 -> 16.75
    assert t["peer_ma"].to_dict() == pytest.approx({"D": 16.75, "A": 62 / 3, "C": 62 / 3})
    assert t["gap_to_ma"].to_dict() == pytest.approx({"D": -11.75, "A": -32 / 3, "C": 1 / 3})
    assert t["peer_mean"].to_dict() == pytest.approx({"D": 17.75, "A": 22.0, "C": 22.0})
    assert t["gap_to_mean"].to_dict() == pytest.approx({"D": -12.75, "A": -12.0, "C": -1.0})
    assert t["basis"].to_dict() == {"D": "bank", "A": "peers", "C": "peers"}
    assert t["months_below"].to_dict() == {"D": 3, "A": 3, "C": 0}
    assert t["months_below_mean"].to_dict() == {"D": 3, "A": 3, "C": 1}
    assert t["lagging"].to_dict() == {"D": True, "A": True, "C": False}
    # DEA: sales_total target / staff FTE; peers by weight, the outlet itself left out
    assert t["dea_actual"].to_dict() == pytest.approx({"D": 5.0, "A": 10.0, "C": 22.5})
    assert t["dea_target"].to_dict() == pytest.approx({"D": 5.0, "A": 15.0, "C": 25.0})
    assert t["reference_peers"].to_dict() == {"D": (), "A": ("B", "C"), "C": ("B",)}


def test_lagging_actions_restricted_to_the_region_and_without_dea() -> None:
    ma = moving_average_gaps(_kpis(), "sales_per_fte", 3, ["echelon", "outlet_type"])
    t, reason = lagging_actions(ma, "2025-02", "sales_per_fte", 2, outlets=["A", "B", "C"])
    assert t["outlet_id"].tolist() == ["A"]  # February: A below 20; D is not in the region
    assert t.loc[0, "months_below"] == 2 and bool(t.loc[0, "lagging"])
    assert reason == "no DEA scores" and np.isnan(t.loc[0, "dea_target"])


def test_dea_kpi_target_says_why_a_kpi_has_no_target() -> None:
    scores, _ = _dea()
    levels, reason = dea_kpi_target(scores, "customers_per_fte")
    assert levels["target"].isna().all() and "customers" in reason
    levels, reason = dea_kpi_target(scores, "sales_total")
    assert reason is None and levels["target"].tolist() == [60.0, 100.0, 10.0]
    assert (
        dea_kpi_target(scores, "share_quality_plus")[1] == "share_quality_plus is not a DEA output"
    )


def test_product_gaps_month_and_quarter_to_date_against_the_standard() -> None:
    g = product_gaps(_om(), "2025-05", {"investment": 2})
    assert g[["outlet_id", "family"]].values.tolist() == [
        ["O1", "deposit"],
        ["O1", "investment"],
        ["O1", "card"],
        ["O2", "deposit"],
        ["O2", "investment"],
        ["O2", "card"],
    ]
    assert g["sales_month"].tolist() == [3.0, 0.0, 0.0, 4.0, 2.0, 1.0]
    assert g["standard_month"].tolist() == [1.0, 2.0, 1.0, 1.0, 2.0, 1.0]
    assert g["gap_month"].tolist() == [False, True, True, False, False, False]
    # Q2 to date = April + May; O2's April deposits are unknown: one month of standard
    assert g["sales_quarter"].tolist() == [5.0, 0.0, 1.0, 4.0, 3.0, 6.0]
    assert g["standard_quarter"].tolist() == [2.0, 4.0, 2.0, 1.0, 4.0, 2.0]
    assert g["gap_quarter"].tolist() == [False, True, True, False, True, False]


def test_gap_counts_per_outlet_and_per_family() -> None:
    g = product_gaps(_om(), "2025-05", {"investment": 2})
    assert gap_counts(g, "outlet_id").values.tolist() == [["O1", 2, 2, 2, 3], ["O2", 0, 1, 0, 3]]
    assert gap_counts(g, "family").values.tolist() == [
        ["deposit", 0, 0, 0, 2],
        ["investment", 1, 2, 1, 2],
        ["card", 1, 1, 1, 2],
    ]


def test_product_gaps_unknown_sales_are_not_gaps() -> None:
    g = product_gaps(_om(), "2025-04", outlets=["O2"])  # April: O2 deposits unknown
    assert g["gap_month"].tolist() == [None, False, False]
    assert g["gap_quarter"].tolist() == [None, False, False]
    with pytest.raises(AnalysisError, match="unknown product famil"):
        product_gaps(_om(), "2025-05", {"gold": 1})
    with pytest.raises(AnalysisError, match="no sales_"):
        product_gaps(_om()[["month", "outlet_id", "sales_total"]], "2025-05")
    assert sales_families(list(_om().columns)) == ["deposit", "investment", "card"]
