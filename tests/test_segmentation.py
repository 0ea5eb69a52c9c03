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
from bankanalysis.exceptions import ModelError, SegmentationError
from bankanalysis.rules.tiers import TIERS, customer_tiers

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
    return customer_tiers(cm, "2024-04", THR, 2)


@pytest.fixture()
def transitions(cm: pd.DataFrame, t04: pd.DataFrame) -> pd.DataFrame:
    t02 = customer_tiers(cm, "2024-02", THR, 2)
    return seg.tier_transitions(t02, t04)


# --------------------------------------------------------------------------- tiers


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
        customer_tiers(cm, "2030-01", THR)


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


def test_upgrade_pipeline_per_outlet(t04: pd.DataFrame) -> None:
    p = seg.upgrade_pipeline(t04, THR, within=0.10).set_index(["outlet_id", "target_tier"])
    assert p.loc[("O1", "quality"), "customers"] == 1  # E at 95
    assert p.loc[("O1", "quality"), "aum_gap"] == 5.0
    assert p.loc[("O1", "vip"), "customers"] == 1  # B at 900 (exactly 10 % below)
    assert p.loc[("O1", "vip"), "tier_customers"] == 2
    assert p.loc[("O1", "vip"), "pipeline_share"] == 0.5
    assert p.loc[("O2", "quality"), "customers"] == 0  # G at 1
    assert p["customers"].sum() == 2


# --------------------------------------------------------------------------- coverage


def test_products_per_customer(t04: pd.DataFrame) -> None:
    p = seg.products_per_customer(t04).set_index("tier")
    assert p.loc["all", "products_per_customer"] == pytest.approx(13 / 6)
    assert p.loc["quality", "products_per_customer"] == 2.5
    assert p.loc["private_banking", "products_per_customer"] == 3.0
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


# --------------------------------------------------------------------------- the plan's KPIs


@pytest.fixture()
def t02(cm: pd.DataFrame) -> pd.DataFrame:
    return customer_tiers(cm, "2024-02", THR, 2)


def test_customer_kpis_by_region_hand_computed(cm: pd.DataFrame, t04: pd.DataFrame) -> None:
    base = cm[cm["month"] == "2024-02"]  # R1: A, B, E; R2: C, F, G
    k = seg.customer_kpis(t04, base, PRODUCTS, by="region_id", coverage_products=3)
    assert list(k.columns[:7]) == list(seg.CUSTOMER_KPIS)
    assert k.index.tolist() == ["R1", "R2"] and k.index.name == "region_id"
    r1, r2 = k.loc["R1"], k.loc["R2"]
    assert (r1["customers"], r2["customers"]) == (3, 3)  # R1 A, B, E; R2 D, F, G
    assert (r1["customer_growth"], r2["customer_growth"]) == (0.0, 0.0)
    assert r1["stock_retention"] == 1.0
    assert r2["stock_retention"] == pytest.approx(2 / 3)  # C left
    assert r1["product_coverage"] == pytest.approx(1 / 3)  # B holds 3
    assert r2["product_coverage"] == pytest.approx(1 / 3)  # D holds 4
    assert r1["products_per_customer"] == 2.0  # (2 + 3 + 1) / 3
    assert r2["products_per_customer"] == pytest.approx(7 / 3)  # (4 + 2 + 1) / 3
    assert r1["wealth_card_matching"] == 0.5  # quality A no, B yes
    assert r2["wealth_card_matching"] == 1.0  # private banking D and F both hold it
    assert r1["e_banking_penetration"] == pytest.approx(1 / 3)  # A holds mobile
    assert (r1["base_customers"], r1["quality_plus_customers"]) == (3, 2)
    assert k.attrs["absent"] == {}


def test_customer_kpis_whole_frame_and_growth_by_tier(
    cm: pd.DataFrame, t02: pd.DataFrame, t04: pd.DataFrame
) -> None:
    whole = seg.customer_kpis(t04, cm[cm["month"] == "2024-02"], PRODUCTS)
    assert whole.index.tolist() == ["all"]
    row = whole.loc["all"]
    assert row["customers"] == 6 and row["customer_growth"] == 0.0
    assert row["stock_retention"] == pytest.approx(5 / 6)
    assert row["product_coverage"] == pytest.approx(2 / 6)
    assert row["products_per_customer"] == pytest.approx(13 / 6)
    assert row["wealth_card_matching"] == 0.75  # A, B, D, F: all but A
    # by tier: each customer counted in the tier of its month (base tiers at 02)
    by = seg.customer_kpis(t04, t02, PRODUCTS, by="tier")
    assert by["customers"].to_dict() == {"mass": 2, "private_banking": 2, "quality": 2, "vip": 0}
    assert by["customer_growth"].to_dict() == pytest.approx(
        {"mass": -1 / 3, "private_banking": 1.0, "quality": 1.0, "vip": -1.0}
    )
    assert by.loc["vip", "customers"] == 0 and np.isnan(by.loc["vip", "product_coverage"])
    assert by.loc["quality", "stock_retention"] == 0.0  # C, the only quality customer, left


def test_customer_kpis_absent_with_reasons(t04: pd.DataFrame) -> None:
    k = seg.customer_kpis(t04, None, None, wealth_card_product=None)
    assert k.attrs["absent"] == {
        "wealth_card_matching": "not applicable: no wealth card in the product table",
        "e_banking_penetration": "no product catalogue given",
        "customer_growth": "no base month given",
        "stock_retention": "no base month given",
    }
    assert k[list(k.attrs["absent"])].isna().all().all()
    assert k.loc["all", "products_per_customer"] == pytest.approx(13 / 6)
    no_e = PRODUCTS.assign(family=["deposit", "investment", "card", "card"])
    k2 = seg.customer_kpis(t04, None, no_e)
    assert (
        k2.attrs["absent"]["e_banking_penetration"] == "no e-banking product in the product table"
    )
    with pytest.raises(SegmentationError, match="hold_gold.*null"):
        seg.customer_kpis(t04, None, PRODUCTS, wealth_card_product="gold")
    with pytest.raises(SegmentationError, match="coverage_products"):
        seg.customer_kpis(t04, None, PRODUCTS, coverage_products=0)


def test_customer_sums_of_disjoint_customers_add_up_to_the_kpis_of_all(
    cm: pd.DataFrame, t04: pd.DataFrame
) -> None:
    """Counts per region of A-C and of D-G, added, are those of all seven customers: the
    same KPIs as customer_kpis of the whole frame (C, at the base only, counts as not kept)."""
    base = cm[cm["month"] == "2024-02"]
    first = ["A", "B", "C"]

    def sums(mask_now, mask_base):
        return seg.customer_sums(t04[mask_now], base[mask_base], PRODUCTS, by="region_id")

    a = sums(t04["customer_id"].isin(first), base["customer_id"].isin(first))
    b = sums(~t04["customer_id"].isin(first), ~base["customer_id"].isin(first))
    assert a.loc["R2", ["one", "base", "kept"]].tolist() == [0.0, 1.0, 0.0]  # C left
    assert b.loc["R2", ["one", "base", "kept"]].tolist() == [3.0, 2.0, 2.0]  # D, F, G; F, G
    total = seg.add_customer_sums([a, b])
    assert total.loc["R1", ["one", "n", "covered", "qplus", "qplus_card"]].tolist() == [
        3.0, 6.0, 1.0, 2.0, 1.0
    ]  # fmt: skip
    assert total.loc["R2", ["one", "base", "kept"]].tolist() == [3.0, 3.0, 2.0]
    whole = seg.customer_kpis(t04, base, PRODUCTS, by="region_id")
    pd.testing.assert_frame_equal(seg.kpis_from_sums(total, "region_id"), whole)
    assert seg.kpis_from_sums(total, "region_id").loc["R2", "stock_retention"] == pytest.approx(
        2 / 3
    )
    no_base = seg.add_customer_sums(
        [seg.customer_sums(t04.iloc[:3], None, None), seg.customer_sums(t04.iloc[3:], None, None)]
    )
    assert np.isnan(no_base.loc["all", "base"]) and no_base.loc["all", "one"] == 6.0
    pd.testing.assert_frame_equal(seg.kpis_from_sums(no_base), seg.customer_kpis(t04, None, None))


def test_migration_kpis_follow_the_base_cohort(t02: pd.DataFrame, t04: pd.DataFrame) -> None:
    k = seg.migration_kpis(t02, t04, by="region_id")
    assert list(k.columns[:4]) == list(seg.MIGRATION_KPIS)
    r1, r2 = k.loc["R1"], k.loc["R2"]
    # R1 cohort A mass->quality, B vip->quality, E mass->mass
    assert (r1["stock_retention"], r1["attrition_rate"]) == (1.0, 0.0)
    assert r1["upward_migration_rate"] == pytest.approx(1 / 3)
    assert r1["downward_migration_rate"] == pytest.approx(1 / 3)
    assert (r1["gained_customers"], r1["lost_customers"]) == (0, 0)
    # R2 cohort C quality->gone, F private->private, G mass->mass; D is new
    assert r2["stock_retention"] == pytest.approx(2 / 3)
    assert r2["attrition_rate"] == pytest.approx(1 / 3)
    assert r2["upward_migration_rate"] == 0.0
    assert (r2["gained_customers"], r2["lost_customers"], r2["base_customers"]) == (1, 1, 3)
    whole = seg.migration_kpis(t02, t04).loc["all"]
    assert whole["upward_migration_rate"] == pytest.approx(1 / 6)
    assert whole["stock_retention"] == pytest.approx(5 / 6)


def test_a_customer_who_moves_region_is_retained_not_lost(
    t02: pd.DataFrame, t04: pd.DataFrame
) -> None:
    moved = t04.copy()
    moved.loc[moved["customer_id"] == "E", ["region_id", "outlet_id"]] = ["R2", "O2"]
    k = seg.migration_kpis(t02, moved, by="region_id")
    assert k.loc["R1", "stock_retention"] == 1.0  # E still a customer, now in R2
    assert k.loc["R2", "gained_customers"] == 2  # D new, E moved in
    for region in ("R1", "R2"):
        fast = seg.migration_kpis(*seg.region_cohort(t02, moved, region), by="region_id")
        pd.testing.assert_series_equal(fast.loc[region], k.loc[region])
    trans = seg.region_transitions(t02, moved, "R1")
    r = seg.migration_rates(trans)
    assert r["retention_rate"] == k.loc["R1", "stock_retention"]
    assert r["upward_rate"] == k.loc["R1", "upward_migration_rate"]
    trans2 = seg.region_transitions(t02, moved, "R2")
    states = {c: str(s) for c, s in zip(trans2["customer_id"], trans2["from_state"], strict=True)}
    assert states["E"] == "new"


MANAGERS = pd.DataFrame(
    {
        "manager_id": ["M1", "M2", "M3"],
        "outlet_id": ["O1", "O2", "O2"],
        "full_time": [True, False, True],
    }
)


@pytest.fixture()
def t04c(t04: pd.DataFrame) -> pd.DataFrame:
    # 3-month contact minutes: D was contacted in March (10 min), A and F this month
    minutes_3m = {"A": 20.0, "D": 10.0, "F": 45.0}
    return t04.assign(contact_minutes_3m=t04["customer_id"].map(minutes_3m).fillna(0.0))


def test_manager_kpis_by_region_hand_computed(t04c: pd.DataFrame) -> None:
    k = seg.manager_kpis(t04c, MANAGERS, has_contacts=True, by="region_id")
    assert list(k.columns[:6]) == list(seg.MANAGER_KPIS)
    r1, r2 = k.loc["R1"], k.loc["R2"]
    # R1 quality-and-above: A (M1 full-time, contacted), B (no manager)
    assert r1["contact_plan_coverage"] == 0.5 and r1["manager_coverage"] == 0.5
    assert r1["full_time_managers"] == 1 and r1["manager_adequacy"] == 2.0
    assert r1["vip_service_duration_ratio"] == 0.0  # A's 20 minutes are not VIP time
    assert np.isnan(r1["vip_contact_rate"]) and r1["vip_plus_customers"] == 0
    # R2 quality-and-above: D and F (both with part-time M2), F contacted
    assert r2["contact_plan_coverage"] == 0.5 and r2["manager_coverage"] == 0.0
    assert r2["full_time_managers"] == 1 and r2["manager_adequacy"] == 2.0  # M3 only
    assert r2["vip_service_duration_ratio"] == 1.0  # F's 45 of 45 minutes
    assert r2["vip_contact_rate"] == 1.0 and r2["vip_service_minutes"] == 27.5
    whole = seg.manager_kpis(t04c, MANAGERS, has_contacts=True).loc["all"]
    assert whole["manager_coverage"] == 0.25  # A of A, B, D, F
    assert whole["manager_adequacy"] == 2.0  # 4 customers, M1 and M3
    assert whole["vip_service_duration_ratio"] == pytest.approx(45 / 65)
    assert "manager_id" not in k.columns and "customer_id" not in k.columns


def test_manager_kpis_by_outlet_counts_the_outlets_managers(t04c: pd.DataFrame) -> None:
    k = seg.manager_kpis(t04c, MANAGERS, has_contacts=True, by="outlet_id")
    assert k["full_time_managers"].to_dict() == {"O1": 1.0, "O2": 1.0}
    assert k.loc["O2", "quality_plus_customers"] == 2


def test_manager_kpis_absent_tables(t04c: pd.DataFrame) -> None:
    k = seg.manager_kpis(t04c, None, has_contacts=False)
    assert k.attrs["absent"] == {
        "contact_plan_coverage": "no contacts table in the data",
        "vip_service_duration_ratio": "no contacts table in the data",
        "vip_contact_rate": "no contacts table in the data",
        "vip_service_minutes": "no contacts table in the data",
        "manager_coverage": "no managers table in the data",
        "manager_adequacy": "no managers table in the data",
    }
    assert k[list(seg.MANAGER_KPIS)].isna().all().all()
    assert k.loc["all", "quality_plus_customers"] == 4
    no_ft = seg.manager_kpis(t04c, MANAGERS.assign(full_time=False), has_contacts=True)
    assert np.isnan(no_ft.loc["all", "manager_adequacy"])  # no full-time manager: no ratio
    assert no_ft.loc["all", "manager_coverage"] == 0.0


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
    with pytest.raises(ModelError, match="too few"):
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
                categories=list(TIERS),
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


# --------------------------------------------------------------------------- region selection


def test_migration_window_base_month_and_tier_months() -> None:
    months = ["2024-01", "2024-02", "2024-03", "2024-04"]
    assert seg.migration_window(months, "2024-04", 2, 2) == ("2024-02", months)
    # 12 months back is before the data: the first month, whose window starts in 2023-12
    assert seg.migration_window(months, "2024-04", 2, 12) == (
        "2024-01",
        ["2024-01", "2024-03", "2024-04"],
    )


def test_region_tiers_join_the_full_rows(cm: pd.DataFrame, t04: pd.DataFrame) -> None:
    now = cm[(cm["month"] == "2024-04") & (cm["region_id"] == "R1")]
    tiers = seg.region_tiers(
        t04[["customer_id", "region_id", "avg_aum", "months_used", "tier"]], now, "R1"
    )
    assert sorted(tiers["customer_id"]) == ["A", "B", "E"]
    assert {"avg_aum", "tier", "hold_fund", "outlet_id"} <= set(tiers.columns)
    managers = pd.DataFrame({"manager_id": ["M1", "M2"], "outlet_id": ["O1", "O9"]})
    assert seg.region_managers(None, tiers) is None
    assert seg.region_managers(managers, tiers)["manager_id"].tolist() == ["M1"]


def test_top_tier_share_refuses_an_unknown_tier(t04: pd.DataFrame) -> None:
    with pytest.raises(SegmentationError, match="unknown tier 'private'"):
        seg.top_tier_aum_share(t04, "private")


def test_sums_of_units_are_the_customer_sums_of_their_customers(
    cm: pd.DataFrame, t04: pd.DataFrame
) -> None:
    """The counts per outlet at 2024-04 (coverage 3 products), summed per level, are
    customer_sums of the customers themselves: O1 holds A (2 products, quality), B (3, quality,
    card) and E (1, mass); O2 holds D (4, private, card), F (2, private, card) and G (1, mass);
    of the 2024-02 customers O1's A, B, E are all kept, O2's C left (F, G kept)."""
    now = pd.DataFrame(
        {"region_id": ["R1", "R2"], "outlet_id": ["O1", "O2"], "echelon": [1, 3],
         "one": [3.0, 3.0], "n": [6.0, 7.0], "covered": [1.0, 1.0], "qplus": [2.0, 2.0],
         "qplus_card": [1.0, 2.0]}
    )  # fmt: skip
    base_units = pd.DataFrame(
        {"region_id": ["R1", "R2"], "outlet_id": ["O1", "O2"], "echelon": [1, 3],
         "base": [3.0, 3.0], "kept": [3.0, 2.0]}
    )  # fmt: skip
    base = cm[cm["month"] == "2024-02"]
    for by in (None, "region_id", "outlet_id", "echelon"):
        got = seg.sums_of_units(now, base_units, by)
        pd.testing.assert_frame_equal(got, seg.customer_sums(t04, base, None, by=by))
        assert got.attrs["absent"] == {"e_banking_penetration": "no product catalogue given"}
    bank = seg.sums_of_units(now, base_units, None)
    assert bank.loc["all"].tolist() == [6.0, 13.0, 2.0, 4.0, 3.0, 0.0, 6.0, 5.0]
    # a unit with base customers only (no one active now) and no wealth card
    gone = seg.sums_of_units(now.iloc[:1], base_units, "outlet_id", wealth_card_product=None)
    assert gone.loc["O2", ["one", "base", "kept"]].tolist() == [0.0, 3.0, 2.0]
    assert set(gone.attrs["absent"]) == {"wealth_card_matching", "e_banking_penetration"}


@pytest.mark.parametrize(
    "column",
    [
        pd.Series(["R2", "R10", None, "R1", "R2", "R10"], dtype="string[pyarrow]"),
        pd.Series(["O2", "O1", "O2", "O3", "O1", "O1"], dtype=object),
        pd.Categorical(["vip", "mass", "vip", "private_banking", None, "quality"], TIERS, True),
        pd.Series([3, 1, 3, 2, 1, 1], dtype="int64"),
        pd.Series([3, 1, None, 2, 1, 1], dtype="int64[pyarrow]"),
    ],
    ids=["arrow-strings", "objects", "ordered-tiers", "ints", "arrow-ints"],
)
def test_group_sums_equals_grouping_by_the_group_keys(column):
    """Same groups, order (labels sorted as objects: a tier's lexical order, "R10" before
    "R2"), labels and sums as the object keys' groupby; missing groups left out."""
    from bankanalysis.segmentation.common import group_keys, group_sums

    df = pd.DataFrame({"g": column})
    values = pd.DataFrame({"one": 1.0, "x": [0.1, 0.2, 0.3, 0.4, 0.5, 0.7]})
    for by in ("g", None):
        got = group_sums(values, df, by)
        want = values.groupby(group_keys(df, by), sort=True).sum()
        pd.testing.assert_frame_equal(got, want, check_exact=True)
        assert [type(v) for v in got.index] == [type(v) for v in want.index]
    assert group_sums(values, df, None)["one"].to_dict() == {"all": 6.0}


def test_group_sums_of_no_rows_and_of_only_missing_groups():
    from bankanalysis.segmentation.common import group_sums

    values = pd.DataFrame({"one": [1.0, 1.0]})
    df = pd.DataFrame({"g": pd.Series([None, None], dtype="string[pyarrow]")})
    assert group_sums(values, df, "g").empty
    assert group_sums(values.iloc[:0], df.iloc[:0], "g").index.dtype == object
    assert group_sums(values.iloc[:0], df.iloc[:0], None).empty


def test_customer_sums_take_the_base_s_kept_column_when_there(
    cm: pd.DataFrame, t04: pd.DataFrame
) -> None:
    """A base frame carrying ``kept`` (still_active, computed once by a caller grouping the
    same customers several ways) gives the sums computed without it; the column, not the
    active frame, decides which base customers count as kept."""
    base = cm[cm["month"] == "2024-02"].reset_index(drop=True)
    kept = seg.still_active(base, t04)
    assert dict(zip(base["customer_id"], kept, strict=True)) == {
        "A": True, "B": True, "C": False, "E": True, "F": True, "G": True
    }  # fmt: skip
    for by in ("region_id", None):
        plain = seg.customer_sums(t04, base, PRODUCTS, by=by)
        carried = seg.customer_sums(t04, base.assign(kept=kept), PRODUCTS, by=by)
        pd.testing.assert_frame_equal(carried, plain, check_exact=True)
    none_kept = seg.customer_sums(t04, base.assign(kept=False), PRODUCTS, by=None)
    assert none_kept.loc["all", ["base", "kept"]].tolist() == [6.0, 0.0]
