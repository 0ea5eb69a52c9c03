"""Segmentation analytics on a tiny hand-built customer-month frame.

Tiers use thresholds 100 / 1,000 / 10,000 and a 2-month average. Hand-computed facts:

- tiers at 2024-04 (average of 03 and 04): A 150 quality, B 900 quality, D 20,000 private
  (new, one month), E 95 mass, F 12,000 private, G 1 mass.
- tiers at 2024-02 (average of 01 and 02): A 50 mass, B 2,000 vip (one month), C 500 quality,
  E 95 mass, F 12,000 private, G 99 mass (one month).
- 02 -> 04: A up, B down, C closed, D new, E F G stay.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bankanalysis import segmentation as seg
from bankanalysis.exceptions import SegmentationError

THR = [100.0, 1000.0, 10000.0]
PRODUCTS = pd.DataFrame(
    {
        "product": ["current", "fund", "wealth_card", "mobile"],
        "name": ["Current", "Fund", "Wealth card", "Mobile banking"],
        "family": ["deposit", "investment", "card", "e_banking"],
    }
)
# customer -> (outlet, manager, {month: aum})
AUM = {
    "A": ("O1", "M1", {"2024-01": 50, "2024-02": 50, "2024-03": 150, "2024-04": 150}),
    "B": ("O1", None, {"2024-02": 2000, "2024-03": 900, "2024-04": 900}),
    "C": ("O2", None, {"2024-01": 500, "2024-02": 500, "2024-03": 500}),
    "D": ("O2", "M2", {"2024-04": 20000}),
    "E": ("O1", None, {m: 95 for m in ("2024-01", "2024-02", "2024-03", "2024-04")}),
    "F": ("O2", "M2", {m: 12000 for m in ("2024-01", "2024-02", "2024-03", "2024-04")}),
    "G": ("O2", "M1", {"2024-02": 99, "2024-03": 1, "2024-04": 1}),
}
# holdings at 2024-04 (other months: current only)
HOLD_04 = {
    "A": ["current", "mobile"],
    "B": ["current", "fund", "wealth_card"],
    "D": ["current", "fund", "wealth_card", "mobile"],
    "E": ["current"],
    "F": ["fund", "wealth_card"],
    "G": ["current"],
}
CONTACTS_04 = {"A": (1, 20.0), "F": (2, 45.0)}


def tiny_cm() -> pd.DataFrame:
    rows = []
    for cid, (outlet, manager, months) in AUM.items():
        for month, aum in months.items():
            held = HOLD_04[cid] if month == "2024-04" else ["current"]
            n_c, minutes = CONTACTS_04.get(cid, (0, 0.0)) if month == "2024-04" else (0, 0.0)
            row = {
                "month": month,
                "customer_id": cid,
                "outlet_id": outlet,
                "region_id": "R1" if outlet == "O1" else "R2",
                "echelon": 1 if outlet == "O1" else 3,
                "manager_id": manager,
                "aum": float(aum),
                "n_products": len(held),
                "contacts_1m": n_c,
                "contact_minutes_1m": minutes,
            }
            for p in PRODUCTS["product"]:
                row[f"hold_{p}"] = int(p in held)
            rows.append(row)
    cm = pd.DataFrame(rows).sort_values(["month", "customer_id"], ignore_index=True)
    return cm


@pytest.fixture()
def cm() -> pd.DataFrame:
    return tiny_cm()


@pytest.fixture()
def t04(cm: pd.DataFrame) -> pd.DataFrame:
    return seg.customer_tiers(cm, "2024-04", THR, 2)


@pytest.fixture()
def transitions(cm: pd.DataFrame, t04: pd.DataFrame) -> pd.DataFrame:
    t02 = seg.customer_tiers(cm, "2024-02", THR, 2)
    return seg.tier_transitions(t02, t04)


# --------------------------------------------------------------------------- tiers


def test_month_helpers() -> None:
    assert seg.shift_month("2024-01", -1) == "2023-12"
    assert seg.month_window("2024-04", 2) == ["2024-03", "2024-04"]


def test_assign_tiers_boundaries_belong_to_the_higher_tier() -> None:
    tiers = seg.assign_tiers([99.99, 100.0, 999.0, 1000.0, 10000.0], THR)
    assert list(tiers) == ["mass", "quality", "quality", "vip", "private_banking"]


def test_assign_tiers_refuses_unordered_thresholds() -> None:
    with pytest.raises(SegmentationError, match="strictly increasing"):
        seg.assign_tiers([1.0], [1000.0, 100.0, 10000.0])


def test_customer_tiers_average_over_active_months(t04: pd.DataFrame) -> None:
    got = t04.set_index("customer_id")
    assert got["avg_aum"].to_dict() == {
        "A": 150.0,
        "B": 900.0,
        "D": 20000.0,
        "E": 95.0,
        "F": 12000.0,
        "G": 1.0,
    }
    assert got["months_used"].to_dict() == {"A": 2, "B": 2, "D": 1, "E": 2, "F": 2, "G": 2}
    assert got["tier"].astype(str).to_dict() == {
        "A": "quality",
        "B": "quality",
        "D": "private_banking",
        "E": "mass",
        "F": "private_banking",
        "G": "mass",
    }


def test_customer_tiers_unknown_month_names_the_months(cm: pd.DataFrame) -> None:
    with pytest.raises(SegmentationError, match="2030-01"):
        seg.customer_tiers(cm, "2030-01", THR)


def test_tier_summary_hand_computed(t04: pd.DataFrame) -> None:
    s = seg.tier_summary(t04).set_index("tier")
    assert s["customers"].tolist() == [2, 2, 0, 2]
    assert s.loc["mass", "aum"] == 96.0
    assert s.loc["quality", "aum"] == 1050.0
    assert s.loc["private_banking", "aum"] == 32000.0
    assert s.loc["quality", "share"] == pytest.approx(1 / 3)
    assert s.loc["private_banking", "aum_share"] == pytest.approx(32000 / 33146)
    assert s.loc["quality", "aum_per_customer"] == 525.0
    assert np.isnan(s.loc["vip", "aum_per_customer"])


def test_tier_summary_suppresses_small_groups(t04: pd.DataFrame) -> None:
    shown = seg.tier_summary(t04, min_group_size=2).set_index("tier")
    assert shown.loc["mass", "aum"] == 96.0
    assert not shown.loc["mass", "suppressed"]
    hidden = seg.tier_summary(t04, min_group_size=3).set_index("tier")
    assert hidden["suppressed"].all()
    assert hidden[["customers", "aum", "share"]].isna().all().all()


def test_tier_comparison_region_echelon_bank(t04: pd.DataFrame) -> None:
    c = seg.tier_comparison(t04, "R1")
    region = c[c["scope"] == "region"].set_index("tier")
    bank = c[c["scope"] == "bank"].set_index("tier")
    # R1 = outlet O1 = A, B, E
    assert region["customers"].tolist() == [1, 2, 0, 0]
    assert region.loc["quality", "share"] == pytest.approx(2 / 3)
    assert bank["customers"].sum() == 6
    # R1 is the only echelon-1 region
    echelon = c[c["scope"] == "echelon"].set_index("tier")
    assert echelon["customers"].tolist() == region["customers"].tolist()


def test_lorenz_gini_and_top_share(t04: pd.DataFrame) -> None:
    assert seg.gini([0, 0, 0, 4]) == pytest.approx(0.75)
    lc = seg.lorenz_curve([1, 1, 2], n_points=4)
    # poorest third holds 1/4; two thirds hold 2/4
    assert lc["aum_share"].tolist() == pytest.approx([0.0, 0.25, 0.5, 1.0])
    assert seg.top_tier_aum_share(t04, "vip") == pytest.approx(32000 / 33146)
    assert seg.top_tier_aum_share(t04, "quality") == pytest.approx(33050 / 33146)


# --------------------------------------------------------------------------- migration


def test_transitions_states(transitions: pd.DataFrame) -> None:
    got = transitions.set_index("customer_id")
    pairs = {c: (str(r.from_state), str(r.to_state)) for c, r in got.iterrows()}
    assert pairs == {
        "A": ("mass", "quality"),
        "B": ("vip", "quality"),
        "C": ("quality", "closed"),
        "D": ("new", "private_banking"),
        "E": ("mass", "mass"),
        "F": ("private_banking", "private_banking"),
        "G": ("mass", "mass"),
    }
    assert got.loc["C", "outlet_id"] == "O2"  # closed customers keep their last outlet


def test_transition_matrix_hand_computed(transitions: pd.DataFrame) -> None:
    m = seg.transition_matrix(transitions)
    assert list(m.index) == ["new", "mass", "quality", "vip", "private_banking"]
    assert list(m.columns) == ["mass", "quality", "vip", "private_banking", "closed"]
    expected = np.array(
        [
            [0, 0, 0, 1, 0],
            [2, 1, 0, 0, 0],
            [0, 0, 0, 0, 1],
            [0, 1, 0, 0, 0],
            [0, 0, 0, 1, 0],
        ]
    )
    np.testing.assert_array_equal(m.to_numpy(), expected)
    share = seg.transition_matrix(transitions, normalize=True)
    assert share.loc["mass", "mass"] == pytest.approx(2 / 3)


def test_transition_matrix_cells_are_suppressed(transitions: pd.DataFrame) -> None:
    m = seg.suppress_cells(seg.transition_matrix(transitions), 2)
    assert m.loc["mass", "mass"] == 2.0  # E and G
    assert np.isnan(m.loc["mass", "quality"])  # A alone
    assert m.loc["vip", "vip"] == 0.0  # empty cells stay visible


def test_migration_rates_hand_computed(transitions: pd.DataFrame) -> None:
    r = seg.migration_rates(transitions)
    assert r["customers_from"] == 6 and r["customers_to"] == 6
    assert (r["upgraded"], r["downgraded"], r["stable"]) == (1, 1, 3)
    assert (r["new"], r["closed"]) == (1, 1)
    assert r["upward_rate"] == pytest.approx(1 / 6)
    assert r["downgrade_rate"] == pytest.approx(1 / 6)
    assert r["retention_rate"] == pytest.approx(5 / 6)
    assert r["upward_rate"] + r["downgrade_rate"] + r["stable_rate"] + r["closed_rate"] == (
        pytest.approx(1.0)
    )


def test_tier_flows_net_growth(transitions: pd.DataFrame) -> None:
    f = seg.tier_flows(transitions).set_index("tier")
    assert f["net_growth"].to_dict() == {"mass": -1, "quality": 1, "vip": -1, "private_banking": 1}
    assert f.loc["quality", "up_in"] == 1 and f.loc["quality", "down_in"] == 1
    assert f.loc["quality", "closed_out"] == 1
    assert f.loc["quality", "retention_rate"] == 0.0
    assert f.loc["mass", "retention_rate"] == 1.0
    hidden = seg.tier_flows(transitions, min_group_size=2).set_index("tier")
    # quality had 1 customer at 02: its outflows are hidden, its 2 customers at 04 are shown
    assert np.isnan(hidden.loc["quality", "retention_rate"])
    assert hidden.loc["quality", "customers_to"] == 2
    assert hidden.loc["mass", "customers_from"] == 3


def test_upgrade_pipeline_per_outlet(t04: pd.DataFrame) -> None:
    p = seg.upgrade_pipeline(t04, THR, within=0.10).set_index(["outlet_id", "target_tier"])
    assert p.loc[("O1", "quality"), "customers"] == 1  # E at 95
    assert p.loc[("O1", "quality"), "aum_gap"] == 5.0
    assert p.loc[("O1", "vip"), "customers"] == 1  # B at 900 (exactly 10 % below)
    assert p.loc[("O1", "vip"), "tier_customers"] == 2
    assert p.loc[("O1", "vip"), "pipeline_share"] == 0.5
    assert p.loc[("O2", "quality"), "customers"] == 0  # G at 1
    assert p["customers"].sum() == 2
    hidden = seg.upgrade_pipeline(t04, THR, within=0.10, min_group_size=2)
    assert hidden.loc[hidden["customers"].notna(), "tier_customers"].min() >= 2


# --------------------------------------------------------------------------- coverage


def test_products_per_customer(t04: pd.DataFrame) -> None:
    p = seg.products_per_customer(t04).set_index("tier")
    assert p.loc["all", "products_per_customer"] == pytest.approx(13 / 6)
    assert p.loc["quality", "products_per_customer"] == 2.5
    assert p.loc["private_banking", "products_per_customer"] == 3.0
    assert p.loc["mass", "single_product_share"] == 1.0
    assert p.loc["all", "single_product_share"] == pytest.approx(2 / 6)
    assert p.loc["vip", "customers"] == 0


def test_holding_rates_and_cross_holding(t04: pd.DataFrame) -> None:
    h = seg.holding_rates(t04, PRODUCTS).set_index("product")
    assert h["holding_rate"].to_dict() == pytest.approx(
        {"current": 5 / 6, "fund": 3 / 6, "wealth_card": 3 / 6, "mobile": 2 / 6}
    )
    assert h.loc["mobile", "family"] == "e_banking"
    by = seg.holding_rates(t04, PRODUCTS, by="tier").set_index(["tier", "product"])
    assert by.loc[("quality", "fund"), "holding_rate"] == 0.5
    x = seg.cross_holding_matrix(t04)
    assert x.loc["fund", "wealth_card"] == 1.0
    assert x.loc["current", "fund"] == pytest.approx(2 / 5)
    assert x.loc["mobile", "fund"] == 0.5
    assert x.loc["fund", "fund"] == 1.0


def test_product_depth_counts_zero_product_customers_on_the_books(t04: pd.DataFrame) -> None:
    customers = pd.DataFrame(
        {
            "customer_id": ["A", "B", "C", "D", "E", "F", "G", "H", "I"],
            "since": pd.to_datetime(["2020-01-01"] * 7 + ["2024-01-01", "2024-05-01"]),
            "closed": pd.to_datetime(
                [None, None, "2024-03-15", None, None, None, None, None, None]
            ),
        }
    )
    d = seg.product_depth(t04, customers, "2024-04").set_index("products")
    assert d["customers"].to_dict() == {"0": 1, "1": 2, "2": 2, "3": 1, "4+": 1}
    assert d.loc["0", "share"] == pytest.approx(1 / 7)


def test_wealth_card_and_e_banking(t04: pd.DataFrame) -> None:
    assert seg.wealth_card_matching(t04, "wealth_card") == 0.5  # A no, B yes
    assert seg.e_banking_penetration(t04, PRODUCTS) == pytest.approx(2 / 6)
    with pytest.raises(SegmentationError, match="hold_gold"):
        seg.wealth_card_matching(t04, "gold")


# --------------------------------------------------------------------------- managers


MANAGERS = pd.DataFrame(
    {
        "manager_id": ["M1", "M2", "M3"],
        "outlet_id": ["O1", "O2", "O1"],
        "full_time": [True, True, False],
    }
)


def test_manager_kpis_hand_computed(t04: pd.DataFrame) -> None:
    k = seg.manager_kpis(t04, MANAGERS, has_contacts=True)
    v = k.values
    assert v["assigned_share"] == 0.5  # quality A (M1) and B (none)
    assert v["ft_managers"] == 2
    assert v["customers_per_ft_manager"] == 2.0  # A, D, F, G assigned
    assert v["contact_coverage"] == 0.5  # A and F contacted
    assert v["vip_minutes_per_customer"] == 22.5  # D 0, F 45
    assert k.notes == []


def test_manager_kpis_say_when_tables_are_absent(t04: pd.DataFrame) -> None:
    k = seg.manager_kpis(t04, None, has_contacts=False)
    assert k.values["assigned_share"] == 0.5
    assert k.values["customers_per_ft_manager"] is None
    assert k.values["contact_coverage"] is None
    assert any("managers table is absent" in n for n in k.notes)
    assert any("contacts table is absent" in n for n in k.notes)


def test_manager_kpis_by_outlet_suppresses_and_hides_ids(t04: pd.DataFrame) -> None:
    o = seg.manager_kpis_by_outlet(t04, MANAGERS, has_contacts=True).set_index("outlet_id")
    assert o.loc["O1", "priority_customers"] == 2
    assert o.loc["O1", "assigned_share"] == 0.5
    assert o.loc["O1", "ft_managers"] == 1
    assert o.loc["O2", "contact_coverage"] == pytest.approx(1 / 3)  # D, F, G assigned; F contacted
    assert "manager_id" not in o.columns and "customer_id" not in o.columns
    hidden = seg.manager_kpis_by_outlet(t04, MANAGERS, True, min_group_size=1)
    assert hidden.set_index("outlet_id").loc["O2", "suppressed"]  # no priority customer at O2


# --------------------------------------------------------------------------- behaviour


def _blobs(seed: int = 0, n: int = 150) -> pd.DataFrame:
    """Three well separated personas: young digital, senior counter, investors."""
    rng = np.random.default_rng(seed)
    parts = []
    for age, online, counter, inv in (
        (28, 0.9, 0.05, 0.0),
        (68, 0.05, 0.9, 0.0),
        (48, 0.4, 0.4, 1.0),
    ):
        parts.append(
            pd.DataFrame(
                {
                    "age": rng.normal(age, 3, n),
                    "share_online": np.clip(rng.normal(online, 0.05, n), 0, 1),
                    "share_mobile": np.clip(rng.normal(online, 0.05, n), 0, 1),
                    "share_counter": np.clip(rng.normal(counter, 0.05, n), 0, 1),
                    "has_investment": np.full(n, inv),
                    "activity": rng.normal(2.0, 0.2, n),
                }
            )
        )
    X = pd.concat(parts, ignore_index=True)
    X.index = pd.Index([f"C{i:04d}" for i in range(len(X))], name="customer_id")
    return X


def test_segmenter_finds_three_personas_and_names_them() -> None:
    X = _blobs()
    s = seg.BehaviourSegmenter(k_range=(2, 6), random_state=0).fit(X)
    assert s.k_ == 3
    truth = np.repeat([0, 1, 2], 150)
    from sklearn.metrics import adjusted_rand_score

    assert adjusted_rand_score(truth, s.labels_) == 1.0
    assert s.stability_ari_ == 1.0
    assert s.profiles_["customers"].tolist() == [150, 150, 150]
    names = dict(zip(s.labels_[[0, 150, 300]], ["young", "senior", "inv"], strict=True))
    by_name = dict(zip(s.profiles_["segment"], s.profiles_["name"], strict=True))
    assert by_name[[k for k, v in names.items() if v == "inv"][0]].endswith("investors")
    assert by_name[[k for k, v in names.items() if v == "senior"][0]].split()[0] in (
        "senior",
        "branch-loyal",
    )
    assert len(set(s.names_)) == 3
    np.testing.assert_array_equal(s.predict(X), s.labels_)


def test_same_seed_same_segments() -> None:
    X = _blobs(seed=3)
    a = seg.BehaviourSegmenter(k_range=(2, 5), sample_size=300, random_state=11).fit(X)
    b = seg.BehaviourSegmenter(k_range=(2, 5), sample_size=300, random_state=11).fit(X)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    assert a.scores_ == b.scores_
    pd.testing.assert_frame_equal(a.profiles_, b.profiles_)


def test_segmenter_gmm_and_too_few_customers() -> None:
    X = _blobs(seed=1, n=60)
    g = seg.BehaviourSegmenter(k_range=(2, 4), method="gmm", random_state=0).fit(X)
    assert g.k_ == 3
    with pytest.raises(seg.ModelError, match="too few"):
        seg.BehaviourSegmenter(k_range=(3, 5)).fit(X.iloc[:5])


def test_behaviour_features_and_segment_tiers(t04: pd.DataFrame) -> None:
    cm = t04.assign(  # rows: A, B, D, E, F, G
        txn_n_3m=[4, 0, 2, 1, 0, 3],
        txn_counter_n_3m=[1, 0, 2, 0, 0, 0],
        txn_mobile_n_3m=[3, 0, 0, 1, 0, 3],
        tenure_months=[24, 12, 6, 60, 120, 36],
        age=[30, 40, 50, 60, 70, 35],
    )
    f = seg.behaviour_features(cm, PRODUCTS)
    assert f.loc["A", "share_mobile"] == 0.75
    assert f.loc["B", "share_counter"] == 0.0  # no transactions: shares are 0
    assert f.loc["A", "has_e_banking"] == 1.0 and f.loc["E", "has_investment"] == 0.0
    assert f.loc["D", "activity"] == pytest.approx(np.log(3))
    assert f.loc["E", "tenure_years"] == 5.0
    ts = seg.segment_tiers(f, t04, k_range=(2, 3), min_customers=200)
    # every tier is below min_customers: one segment per tier
    assert set(ts.labels["segment_name"]) == {"all customers (too few to split)"}
    assert ts.labels.groupby("tier", observed=True).size().to_dict() == {
        "mass": 2,
        "quality": 2,
        "private_banking": 2,
    }
    assert ts.summary["k"].isna().all()
    assert ts.profiles["customers"].sum() == 6


def test_segment_tiers_splits_large_tiers() -> None:
    X = _blobs(seed=2, n=100)
    tiers = pd.DataFrame(
        {
            "customer_id": X.index,
            "tier": pd.Categorical(
                ["mass"] * 250 + ["quality"] * 50,
                categories=list(seg.DEFAULT_TIER_NAMES),
                ordered=True,
            ),
        }
    )
    ts = seg.segment_tiers(X, tiers, k_range=(2, 4), min_customers=100, random_state=0)
    summary = ts.summary.set_index("tier")
    assert summary.loc["mass", "k"] == 3  # persona 1, persona 2, persona 3's first half
    assert np.isnan(summary.loc["quality", "k"])
    assert len(ts.labels) == 300
    assert set(ts.segmenters) == {"mass"}


# --------------------------------------------------------------------------- report helpers


def test_tier_basis_and_migration_window() -> None:
    assert seg.tier_basis_text(2, [100, 1500.5], "EUR") == (
        "Tiers use the average AUM of the last 2 month-ends; thresholds 100, 1,500 EUR."
    )
    months = ["2024-01", "2024-02", "2024-03", "2024-04"]
    assert seg.migration_window(months, "2024-04", 2, 2) == ("2024-02", months)
    # 12 months back is before the data: clamped to 2024-01, whose window starts in 2023-12
    assert seg.migration_window(months, "2024-04", 2, 12) == (
        "2024-01",
        ["2024-01", "2024-03", "2024-04"],
    )


def test_region_tiers_comparison_and_metrics(cm: pd.DataFrame, t04: pd.DataFrame) -> None:
    now = cm[(cm["month"] == "2024-04") & (cm["region_id"] == "R1")]
    tiers = seg.region_tiers(t04, now, "R1")
    assert sorted(tiers["customer_id"]) == ["A", "B", "E"]
    assert {"avg_aum", "tier", "hold_fund", "outlet_id"} <= set(tiers.columns)
    comp = seg.tier_comparison(t04, "R1")
    m = seg.tier_metrics(comp, len(tiers))
    assert m["tiers.share.quality"] == pytest.approx(2 / 3)
    assert m["tiers.share.mass"] == pytest.approx(1 / 3) and m["tiers.share.vip"] == 0.0
    assert m["tiers.aum_share.quality"] == pytest.approx(1050 / 1145)  # A 150 + B 900 of 1145
    assert m["tiers.customers"] == 3 and len(m) == 9
    shown = seg.labelled_tier_comparison(comp, "North <b>", 1)
    assert set(shown["scope"]) == {"North <b>", "echelon 1", "whole bank"}
    assert shown["tier"].tolist()[:4] == list(seg.TIER_ORDER)
    table = seg.tier_mix_table(shown[comp["scope"] == "region"], "CNY")
    assert table.columns.tolist() == [
        "tier",
        "customers",
        "share",
        "AUM (CNY)",
        "AUM share",
        "AUM per customer (CNY)",
    ]
    curve = seg.lorenz_comparison(pd.Series([0.0, 0, 0, 4]), pd.Series([1.0, 1.0]), "North")
    assert curve["scope"].unique().tolist() == ["North (Gini 0.75)", "whole bank (Gini 0.00)"]


def test_region_migration_metrics_and_text(cm: pd.DataFrame, t04: pd.DataFrame) -> None:
    now = cm[(cm["month"] == "2024-04") & (cm["region_id"] == "R1")]
    tiers = seg.region_tiers(t04, now, "R1")
    trans = seg.region_transitions(cm, tiers, "R1", "2024-02", THR, 2)
    # R1: A mass -> quality, B vip -> quality, E mass -> mass
    pairs = {r.customer_id: (str(r.from_state), str(r.to_state)) for r in trans.itertuples()}
    assert pairs == {"A": ("mass", "quality"), "B": ("vip", "quality"), "E": ("mass", "mass")}
    shown = seg.labelled_matrix(seg.transition_matrix(trans))
    assert list(shown.index) == ["new", "Mass", "Quality", "VIP", "Private banking"]
    assert shown.loc["Mass", "Quality"] == 1 and shown.columns[-1] == "closed"
    rates = seg.migration_rates(trans)
    m = seg.migration_metrics(rates, seg.tier_flows(trans))
    assert m["migration.upward_rate"] == pytest.approx(1 / 3)
    assert m["migration.retention_rate"] == 1.0 and m["migration.closed"] == 0
    assert m["migration.net_growth.quality"] == 2 and m["migration.net_growth.vip"] == -1
    assert seg.migration_text(rates) == (
        "Upward migration **33.3%**, downgrades **33.3%**, stock retention **100.0%**; "
        "0 new and 0 closed customers, net growth +0."
    )


def test_pipeline_metrics_labels_and_table(t04: pd.DataFrame) -> None:
    pipe = seg.upgrade_pipeline(t04, THR, within=0.10)
    # E (95, O1) is near quality, B (900, O1) near VIP, nobody near private banking
    assert seg.pipeline_metrics(pipe) == {
        "pipeline.customers.quality": 1,
        "pipeline.customers.vip": 1,
        "pipeline.customers.private_banking": 0,
    }
    hidden = seg.pipeline_metrics(seg.upgrade_pipeline(t04, THR, within=0.10, min_group_size=5))
    assert all(np.isnan(v) for v in hidden.values())  # every outlet suppressed
    named = seg.label_pipeline(pipe, {"O1": "Zeta", "O2": "Alpha"})
    table = seg.pipeline_table(named, "CNY", min_group_size=1)
    assert table.columns.tolist() == [
        "outlet",
        "target tier",
        "customers",
        "customers in tier below",
        "share",
        "AUM gap (CNY)",
    ]
    assert table["outlet"].iloc[0] == "Alpha" and table["outlet"].iloc[-1] == "Zeta"
    first_zeta = table[table["outlet"] == "Zeta"].iloc[0]
    assert first_zeta["target tier"] == "Private banking"  # labels sort alphabetically
    # with groups of 2: Zeta's single customers near quality (E) and VIP (B) are blanked,
    # with the share and gap that would give them away; zero counts stay visible
    small = seg.pipeline_table(named, "CNY", min_group_size=2).set_index(["outlet", "target tier"])
    assert small.loc[("Zeta", "VIP"), ["customers", "share", "AUM gap (CNY)"]].isna().all()
    assert small.loc[("Zeta", "VIP"), "customers in tier below"] == 2
    assert small.loc[("Zeta", "Private banking"), "customers"] == 0
    assert seg.pipeline_plot_data(named, 1)["customers"].tolist() == [1, 1]
    assert seg.pipeline_plot_data(named, 2).empty


def test_segment_metrics_profiles_and_traits() -> None:
    summary = pd.DataFrame(
        {
            "tier": ["mass", "vip"],
            "customers": [17, 20],
            "k": [2.0, np.nan],
            "criterion": [0.4, np.nan],
            "stability_ari": [0.8, 0.6],
        }
    )
    profiles = pd.DataFrame(
        {
            "tier": ["mass", "mass", "vip"],
            "name": ["savers", "digital", "investors"],
            "customers": [12, 5, 20],
            "age": [30.0, 35.0, 50.0],
            "n_products": [2.0, 2.0, 2.0],
        }
    )
    segs = seg.TierSegments(labels=pd.DataFrame(), profiles=profiles, summary=summary)
    shown = seg.segment_summary_table(summary.assign(customers=[17, 3]), 10)
    assert shown["tier"].tolist() == ["Mass", "VIP"]
    assert shown["customers"].iloc[0] == 17 and np.isnan(shown["customers"].iloc[1])
    m = seg.segment_metrics(segs)
    assert m["segments.k.mass"] == 2.0 and np.isnan(m["segments.k.vip"])
    assert m["segments.k"] == 2.0 and m["segments.total"] == 3
    assert m["segments.stability_ari"] == pytest.approx(0.7)
    prof = seg.shown_segments(profiles, 10)  # "digital" has 5 customers: left out
    assert prof["segment"].tolist() == ["Mass: savers", "VIP: investors"]
    features = pd.DataFrame({"age": [20.0, 40.0], "n_products": [2.0, 2.0]})
    z, means = seg.segment_trait_z(prof, features)
    assert z.columns.tolist() == ["age", "n_products"]
    assert z["age"].tolist() == [0.0, 2.0]  # mean 30, population sd 10
    assert z["n_products"].isna().all()  # no spread: no distance
    assert means.loc["VIP: investors", "age"] == 50.0


def test_coverage_helpers(t04: pd.DataFrame) -> None:
    ppc = seg.products_per_customer(t04)
    labelled = seg.labelled_products_per_customer(ppc)
    assert labelled["tier"].tolist() == [*seg.TIER_ORDER, "all tiers"]
    depth = pd.DataFrame(
        {"products": ["0", "1", "2", "3", "4+"], "customers": [1, 2, 2, 1, 1]}
    ).assign(share=lambda d: d["customers"] / 7)
    assert seg.coverage_metrics(ppc, depth) == pytest.approx(
        {
            "coverage.products_per_customer": 13 / 6,
            "coverage.zero_product_share": 1 / 7,
            "coverage.single_product_share": 2 / 7,
        }
    )
    grid = seg.holding_rate_grid(seg.holding_rates(t04, PRODUCTS, by="tier"))
    assert grid.columns.tolist() == [t for t in seg.TIER_ORDER if t in grid.columns]
    assert grid.loc["Fund", "Quality"] == 0.5
    names = dict(zip(PRODUCTS["product"], PRODUCTS["name"], strict=True))
    cross = seg.cross_holding_shown(t04, 3, names)
    # holders: current 5, fund 3, wealth card 3, mobile 2 (< 3: row blank)
    assert cross.loc["Current", "Fund"] == pytest.approx(2 / 5)
    assert cross.loc["Mobile banking"].isna().all()
    assert cross.loc["Fund", "Mobile banking"] == pytest.approx(
        1 / 3
    )  # fund: B, D, F; only D has mobile
    assert seg.coverage_text(0.25, 0.5) == (
        "Wealth-card matching among quality and VIP customers: **25.0%**. "
        "E-banking penetration (online or mobile banking held): **50.0%** of active customers."
    )
    assert seg.coverage_text(float("nan"), 0.5).startswith("E-banking")


def test_manager_helpers(t04: pd.DataFrame) -> None:
    managers = pd.DataFrame({"manager_id": ["M1", "M2"], "outlet_id": ["O1", "O9"]})
    assert seg.region_managers(None, t04) is None
    assert seg.region_managers(managers, t04)["manager_id"].tolist() == ["M1"]
    values = {
        "assigned_share": 0.5,
        "customers_per_ft_manager": 1234.4,
        "contact_coverage": None,
        "vip_minutes_per_customer": 2.25,
    }
    assert seg.manager_text(values) == (
        "Quality and VIP customers with an assigned manager: **50.0%**; assigned customers "
        "per full-time manager: **1,234**; contact-plan coverage this month: **not available**; "
        "VIP and private service minutes per customer this month: **2.2**."
    )
    by_outlet = pd.DataFrame(
        {
            "outlet_id": ["O1", "O2"],
            "outlet": ["Zeta", "Alpha"],
            "priority_customers": [12, 30],
            "assigned_share": [0.5, 1.0],
            "ft_managers": [1.0, 2.0],
            "priority_customers_per_ft_manager": [12.0, 15.0],
            "contact_coverage": [0.25, 0.75],
        }
    )
    table = seg.manager_outlet_table(by_outlet)
    assert table["outlet"].tolist() == ["Alpha", "Zeta"] and "outlet_id" not in table.columns
    assert table.columns.tolist()[1:3] == ["quality+VIP customers", "assigned"]
