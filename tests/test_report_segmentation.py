"""Report shaping of the segmentation notebook: sentences, tables, chart data and metric keys.

Inputs are small hand-built frames shaped like the analytics' outputs; every expected string
and number is worked out by hand in the comments.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from attacker import attack_unit_counts, attack_unit_money

from bankanalysis import segmentation as seg
from bankanalysis.report import plots
from bankanalysis.report import segmentation as rs
from bankanalysis.report.disclosure import withheld_tier_counts
from bankanalysis.report.disclosure_grid import pipeline_dominance, protect_pipeline
from bankanalysis.report.format import Absent, Suppressed
from bankanalysis.report.metrics import MetricsRecorder
from bankanalysis.rules.kpis import is_kpi
from bankanalysis.rules.tiers import TIERS

K = 10


def _comp() -> pd.DataFrame:
    """tier_comparison-like rows of the region: vip withheld (3 customers), pb empty."""
    return pd.DataFrame(
        {
            "scope": ["region"] * 4 + ["bank"] * 4,
            "tier": list(TIERS) * 2,
            "customers": [80.0, 17.0, np.nan, 0.0, 800.0, 170.0, 30.0, 10.0],
            "share": [0.8, 0.17, np.nan, 0.0, 0.8, 0.17, 0.03, 0.01],
            "aum": [1.0e6, 2.5e6, np.nan, 0.0, 1e7, 2.5e7, 3e7, 9e7],
            "aum_share": [0.2, 0.5, np.nan, 0.0, 0.06, 0.16, 0.19, 0.58],
            "aum_per_customer": [12500.0, 147058.82, np.nan, np.nan, 1.0, 1.0, 1.0, 1.0],
            "suppressed": [False, False, True, False] * 2,
        }
    )


def test_intro_basis_and_population_texts() -> None:
    assert rs.tier_basis_text(2, [100, 1500.5], "EUR") == (
        "Tiers use the average AUM of the last 2 month-ends at which a customer was active; "
        "quality, VIP and private banking start at 100 and 1,500 EUR."
    )
    assert not hasattr(rs, "intro_text")  # the title and the summary state region and month
    assert rs.population_text(1234, 56789, "2024-03") == (
        "1,234 active customers in the region at 2024-03, 56,789 in the bank."
    )


def test_tier_metrics_keys_and_withheld_tiers() -> None:
    m = rs.tier_metrics(_comp(), K)
    assert m["customer_share[tier=mass]"] == 0.8
    assert m["aum_share[tier=quality]"] == 0.5
    assert m["customer_share[tier=vip]"] == Suppressed(K)  # 3 customers: withheld
    assert m["customer_share[tier=private_banking]"] == 0.0  # empty: shown as 0
    rec = MetricsRecorder(None)
    rec.record_many(m)
    assert rec.values["customer_share[tier=vip]"] is None
    assert rec.reasons["customer_share[tier=vip]"] == "withheld: fewer than 10 customers"


def test_tier_metrics_record_the_scope_bars_as_the_chart_shows_them() -> None:
    # the bank's bars: shown as they are, one withheld by protect_scope_tiers ("x"), one a
    # small group of the bank itself (5 customers: "<k")
    comp = _comp()
    comp.loc[7, ["customers", "share", "aum", "aum_share"]] = [5.0, np.nan, np.nan, np.nan]
    comp.loc[6, "suppressed"] = False  # the bank's 30 VIP customers are not a small group
    comp["count_protection"] = ["", "", "primary", "", "", "", "secondary", ""]
    comp["money_protection"] = ["", "", "primary", "", "", "", "secondary", ""]
    comp.loc[6, ["share", "aum_share"]] = np.nan
    comp.loc[7, "suppressed"] = True
    m = rs.tier_metrics(comp, K, echelon=2)
    assert m["customer_share[level=bank,tier=mass]"] == 0.8
    assert m["aum_share[level=bank,tier=quality]"] == 0.16
    assert m["customer_share[level=bank,tier=vip]"] == Suppressed(K, "secondary")
    assert m["aum_share[level=bank,tier=private_banking]"] == Suppressed(K)
    assert not any("echelon=" in key for key in m)  # the frame has no echelon rows
    rec = MetricsRecorder(None)
    rec.record_many(m)
    assert all(is_kpi(key) for key in rec.values)
    assert rec.reasons["aum_share[level=bank,tier=vip]"] == (
        "withheld so that a withheld figure cannot be worked out from it"
    )
    assert rs.tier_metrics(comp, K).keys() == rs.tier_metrics(_comp(), K).keys()  # region only


def test_tier_mix_table_formats_through_the_dictionary() -> None:
    table = rs.tier_mix_table(_comp(), "CNY", K).frame
    assert table.columns.tolist() == [
        "Tier",
        "Customers",
        "Share of customers (%)",
        "Assets under management (CNY)",
        "Share of AUM (%)",
        "AUM per customer (CNY)",
    ]
    assert table["Tier"].tolist() == ["Mass", "Quality", "VIP", "Private banking"]
    assert table.iloc[1].tolist() == ["Quality", "17", "17.0%", "2,500,000", "50.0%", "147,059"]
    assert table.iloc[2].tolist()[1:] == ["<10"] * 5  # withheld
    assert table.iloc[3].tolist()[1:] == ["0", "0.0%", "0", "0.0%", "n/a"]  # empty tier


def test_shown_tier_comparison_withholds_small_tiers_not_empty_ones() -> None:
    comp = pd.DataFrame(
        {
            "scope": ["region"] * 4,
            "tier": list(TIERS),
            "customers": [80, 17, 3, 0],
            "share": [0.8, 0.17, 0.03, 0.0],
            "aum": [1.0e6, 2.5e6, 4e6, 0.0],
            "aum_share": [0.13, 0.33, 0.53, 0.0],
            "aum_per_customer": [12500.0, 147058.8, 1333333.3, np.nan],
        }
    )
    shown = rs.shown_tier_comparison(comp, K).set_index("tier")
    assert shown["suppressed"].tolist() == [False, False, True, False]
    assert shown.loc["vip", ["customers", "share", "aum", "aum_share"]].isna().all()
    assert shown.loc["private_banking", "customers"] == 0  # nobody to reveal: shown as 0
    assert shown.loc["quality", "share"] == 0.17  # shares stay over all customers
    assert rs.tier_metrics(shown.reset_index(), K)["aum_share[tier=vip]"] == Suppressed(K)


def test_concentration_and_lorenz_labels() -> None:
    assert rs.concentration_text("private_banking", 0.4567) == (
        "Customers in the **Private banking** tier and above hold **45.7%** of the region's AUM."
    )
    m = rs.concentration_metrics(0.61, 0.45, "vip")
    assert m == {"aum_gini": 0.61, "aum_share[tier_at_least=vip]": 0.45}
    assert all(is_kpi(key) for key in m)
    # a region without AUM (all balances zero): absent with the reason, never "hold n/a"
    none = rs.concentration_metrics(float("nan"), float("nan"), "vip")
    assert set(none.values()) == {Absent("the region's customers hold no AUM at this month-end")}
    assert rs.concentration_text("vip", float("nan")) == (
        "The AUM share of the **VIP** tier and above cannot be computed: the region's customers "
        "hold no AUM at this month-end."
    )
    curve = rs.lorenz_comparison(pd.Series([0.0, 0, 0, 4]), pd.Series([1.0, 1.0]), "North")
    assert curve["scope"].unique().tolist() == ["North (Gini 0.75)", "whole bank (Gini 0.00)"]
    # through the disclosure step: a region of 4 customers shows neither a curve nor a Gini;
    # the bank's curve has points only at groups of at least k customers
    bank = pd.Series(np.linspace(1_000.0, 50_000.0, 40))
    shown = rs.lorenz_comparison(pd.Series([0.0, 0, 0, 4]), bank, "North", K)
    assert "North (Gini withheld: fewer than 10 customers)" not in shown["scope"].tolist()
    assert shown["scope"].unique().tolist() == ["whole bank (Gini 0.33)"]
    assert shown["customer_share"].tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    # the left-out curve is said, with the reason, not silently missing
    assert shown.attrs["withheld"] == ["North"]
    assert shown.attrs["note"] == (
        "North: curve withheld (fewer than 20 customers: every step of the curve must hold at "
        "least 10 customers, so no point can be drawn without showing the AUM share of a small "
        "group)."
    )
    both = rs.lorenz_comparison(bank, bank, "North", K)
    assert both.attrs == {"note": "", "withheld": []}
    ax = plots.plot_lorenz(shown, "2024-04").axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "North: no curve (see below)" in labels
    assert any(t.get_text().startswith("North: curve withheld") for t in ax.figure.texts)
    assert not plots.plot_lorenz(both, "2024-04").texts


def test_shown_matrix_withholds_small_cells_and_labels_tiers() -> None:
    counts = pd.DataFrame(
        [[0, 12, 3], [40, 0, 1]],
        index=["new", "mass"],
        columns=["mass", "private_banking", "closed"],
    )
    shown = rs.shown_matrix(counts, K)
    assert shown.index.tolist() == ["new", "Mass"]
    assert shown.columns.tolist() == ["Mass", "Private banking", "closed"]
    assert shown.loc["new", "Mass"] == 0.0  # zero reveals nobody
    assert np.isnan(shown.loc["new", "closed"]) and np.isnan(shown.loc["Mass", "closed"])
    assert shown.loc["Mass", "Mass"] == 40.0


def test_migration_metrics_text_and_flows_table() -> None:
    row = pd.Series(
        {
            "stock_retention": 0.9,
            "upward_migration_rate": 0.1,
            "downward_migration_rate": 0.05,
            "attrition_rate": 0.1,
            "base_customers": 200,
            "lost_customers": 20,
            "upgraded_customers": 20,
            "downgraded_customers": 10,
            "gained_customers": 4,
        }
    )
    flows = pd.DataFrame(
        {
            "tier": ["mass", "vip"],
            "customers_from": [150.0, np.nan],
            "customers_to": [140.0, 12.0],
            "net_growth": [-10.0, np.nan],
            "up_in": [0.0, 1.0],
            "down_in": [2.0, 0.0],
            "new_in": [3.0, 0.0],
            "up_out": [15.0, np.nan],
            "down_out": [0.0, np.nan],
            "closed_out": [18.0, np.nan],
            "retention_rate": [0.88, np.nan],
            "suppressed": [False, True],
        }
    )
    m = rs.migration_metrics(row, flows, K)
    assert m["stock_retention"] == 0.9 and m["upward_migration_rate"] == 0.1
    assert m["gained_customers"] == Suppressed(K)  # 4 customers
    assert m["lost_customers"] == 20
    assert m["tier_net_growth[tier=mass]"] == -10.0
    assert m["tier_net_growth[tier=vip]"] == Suppressed(K)
    assert all(is_kpi(key) for key in m)
    assert rs.migration_text(m, "2023-04") == (
        "Since 2023-04: upward migration **10.0%**, downward migration **5.0%**, stock "
        "retention **90.0%**; <10 customers gained and 20 lost."
    )
    small = rs.migration_metrics(row.replace({200: 5}), flows, K)
    assert small["stock_retention"] == Suppressed(K)  # a cohort of 5 is withheld
    table = rs.flows_table(flows, "2023-04", "2024-04", K).frame
    assert table.columns[1:3].tolist() == ["Customers at 2023-04", "Customers at 2024-04"]
    assert table.iloc[0]["Net change"] == "-10"
    assert table.iloc[0]["Stock customer retention rate (%)"] == "88.0%"
    assert table.iloc[1]["Customers at 2023-04"] == "<10"
    assert table.iloc[1]["Customers at 2024-04"] == "12"


def test_shown_flows_withholds_each_side_by_its_own_count() -> None:
    flows = pd.DataFrame(
        {
            "tier": ["mass", "quality", "vip"],
            "customers_from": [300, 4, 0],
            "customers_to": [290, 30, 5],
            "net_growth": [-10, 26, 5],
            "up_in": [0, 20, 1],
            "down_in": [2, 0, 0],
            "new_in": [3, 6, 4],
            "up_out": [20, 1, 0],
            "down_out": [0, 2, 0],
            "closed_out": [13, 0, 0],
            "retention_rate": [0.9567, 1.0, np.nan],
        }
    )
    shown = rs.shown_flows(flows, K).set_index("tier")
    # quality: 4 at the base month (withheld: outflows, retention, base count, net change);
    # 30 now (shown: count and inflows)
    assert (
        shown.loc["quality", ["up_out", "retention_rate", "customers_from", "net_growth"]]
        .isna()
        .all()
    )
    assert shown.loc["quality", ["customers_to", "up_in"]].tolist() == [30.0, 20.0]
    # vip: empty at the base month (shown as 0), 5 now (withheld)
    assert shown.loc["vip", "customers_from"] == 0
    assert shown.loc["vip", ["customers_to", "new_in", "net_growth"]].isna().all()
    assert shown["suppressed"].tolist() == [False, True, True]
    assert shown.loc["mass"].drop("suppressed").notna().all()


def test_pipeline_metrics_table_and_plot_data() -> None:
    region = pd.DataFrame(
        {
            "region_id": ["R1"] * 3,
            "target_tier": ["quality", "vip", "private_banking"],
            "customers": [25, 3, 0],
            "tier_customers": [900, 40, 5],
            "pipeline_share": [25 / 900, 3 / 40, 0.0],
            "aum_gap": [1e5, 2e4, 0.0],
        }
    )
    m = rs.pipeline_metrics(region, K)
    assert m == {
        "upgrade_candidates[target_tier=quality]": 25,
        "upgrade_candidates[target_tier=vip]": Suppressed(K),
        "upgrade_candidates[target_tier=private_banking]": Suppressed(K),  # tier below: 5
    }
    pipe = rs.label_pipeline(
        pd.DataFrame(
            {
                "outlet_id": ["O1", "O1", "O1", "O2"],
                "target_tier": ["private_banking", "quality", "vip", "quality"],
                "customers": [0, 12, 2, 0],
                "tier_customers": [15, 300, 30, 40],
                "pipeline_share": [0.0, 0.04, 2 / 30, 0.0],
                "aum_gap": [0.0, 50000.4, 900.0, 0.0],
            }
        ),
        {"O1": "Zeta", "O2": "Alpha"},
    )
    table = rs.pipeline_table(pipe, "CNY", K).frame
    assert table.columns.tolist() == [
        "Outlet",
        "Target tier",
        "Upgrade candidates",
        "Customers in the tier below",
        "Upgrade candidates in the tier below (%)",
        "AUM gap of the upgrade candidates (CNY)",
    ]
    assert table.iloc[0].tolist() == ["Alpha", "Quality", "0", "40", "0.0%", "0"]
    # Zeta's VIP gap (2 customers) would come back as the region's gap minus this one: "x"
    assert table.iloc[1].tolist() == ["Zeta", "Quality", "12", "300", "4.0%", "x"]
    assert table.iloc[2].tolist() == ["Zeta", "VIP", "<10", "30", "<10", "<10"]
    assert table.iloc[3].tolist() == ["Zeta", "Private banking", "0", "15", "0.0%", "0"]
    assert rs.pipeline_plot_data(pipe, K)["outlet"].tolist() == ["Zeta"]
    # nobody near a threshold, or only small groups: no table of zeros and markers, the
    # report's sentence alone (the chart has nothing either)
    few = pipe[pipe["customers"] < K]
    assert rs.pipeline_plot_data(few, K).empty and rs.pipeline_table(few, "CNY", K) is None
    zero = pipe.assign(customers=0, pipeline_share=0.0, aum_gap=0.0)
    assert rs.pipeline_table(zero, "CNY", K) is None


def test_coverage_metrics_and_text() -> None:
    row = pd.Series(
        {
            "products_per_customer": 2.414,
            "wealth_card_matching": np.nan,
            "e_banking_penetration": 0.5,
        }
    )
    absent = {"wealth_card_matching": "not applicable: no wealth card in the product table"}
    depth = pd.DataFrame(
        {"products": ["0", "1", "2", "3", "4+"], "customers": [5, 40, 30, 20, 5]}
    ).assign(share=lambda d: d["customers"] / 100)
    ppc = pd.DataFrame(
        {
            "tier": ["mass", "vip", "all"],
            "customers": [90.0, np.nan, 95.0],
            "products_per_customer": [2.0, np.nan, 2.1],
            "suppressed": [False, True, False],
        }
    )
    m = rs.coverage_metrics(row, absent, depth, ppc, K)
    assert m["products_per_customer"] == 2.414
    assert m["wealth_card_matching"] == Absent(absent["wealth_card_matching"])
    assert m["zero_product_share"] == Suppressed(K)  # 5 customers
    # the 100 customers on the books (40 / 40.0 %) minus the 95 active ones would give the 5
    # back: every share is withheld (docs/privacy.md, product-depth table)
    assert m["single_product_share"] == Suppressed(K, "secondary")
    assert m["products_per_customer[tier=mass]"] == 2.0
    assert m["products_per_customer[tier=vip]"] == Suppressed(K)
    assert all(is_kpi(key) for key in m)
    assert rs.coverage_text(m) == (
        "Wealth-management-card matching rate (quality-and-above customers): **n/a (not "
        "applicable: no wealth card in the product table)**. E-banking penetration: **50.0%** "
        "of active customers."
    )
    table = rs.depth_table(depth, K).frame
    # the 5 with 4+ products beside 20 with 3: the covered 25 would give it back, so "x"
    assert table["Customers"].tolist() == ["<10", "40", "30", "x", "<10"]
    assert table.iloc[:, 2].tolist() == ["<10", "x", "x", "x", "<10"]
    labelled = rs.labelled_products_per_customer(ppc)
    assert labelled["tier"].tolist() == ["Mass", "VIP", "all tiers"]


def test_holding_grid_and_cross_holding() -> None:
    rates = pd.DataFrame(
        {
            "tier": ["vip", "mass", "vip", "mass"],
            "name": ["Fund", "Fund", "Card", "Card"],
            "holding_rate": [0.5, 0.1, 0.9, 0.2],
        }
    )
    grid = rs.holding_rate_grid(rates)
    assert grid.columns.tolist() == ["Mass", "VIP"]
    assert grid.loc["Fund", "VIP"] == 0.5
    cm = pd.DataFrame({"hold_a": [1] * 12 + [0] * 3, "hold_b": [1] * 3 + [0] * 12})
    cross = rs.cross_holding_shown(cm, K, {"a": "Alpha"})
    assert cross.loc["Alpha", "b"] == 0.25  # 3 of the 12 holders of a
    assert cross.loc["b"].isna().all()  # 3 holders of b: withheld


def test_manager_metrics_text_and_outlet_table() -> None:
    row = pd.Series(
        {
            "contact_plan_coverage": 0.406,
            "manager_coverage": 0.602,
            "manager_adequacy": 312.4,
            "vip_service_duration_ratio": 0.25,
            "vip_contact_rate": np.nan,
            "vip_service_minutes": np.nan,
            "quality_plus_customers": 500,
            "vip_plus_customers": 3,
            "full_time_managers": 2.0,
        }
    )
    m = rs.manager_metrics(row, {}, K)
    assert m["manager_coverage"] == 0.602 and m["manager_adequacy"] == 312.4
    assert m["vip_contact_rate"] == Suppressed(K)  # 3 VIP-and-above customers
    text = rs.manager_text(m, "CNY").splitlines()
    assert text[0] == (
        "- **60.2%** of quality-and-above customers have a full-time account manager."
    )
    assert text[1] == "- **312** quality-and-above customers per full-time manager."
    assert text[3] == (
        "- **<10** of VIP-and-above customers were contacted in the last three months."
    )
    assert "account managers' contacts only" in text[4]  # the proxy note beside the number
    absent = rs.manager_metrics(row, {"contact_plan_coverage": "no contacts table in the data"}, K)
    # an absent KPI is named, then why: never "n/a of quality-and-above customers were ..."
    assert rs.manager_text(absent).splitlines()[2] == (
        "- Customer contact-plan coverage: **n/a (no contacts table in the data)**."
    )
    # Zeta's 4 would come back as the region's 46 (published by the tier table) less 30 and
    # 12: Mid's 12, the smallest, is withheld too (x: at least 10), so Zeta is 1 to 6
    by_outlet = pd.DataFrame(
        {
            "quality_plus_customers": [4, 30, 12],
            "manager_coverage": [0.5, 0.9, 0.75],
            "manager_adequacy": [4.0, 15.0, 12.0],
            "contact_plan_coverage": [0.25, 1 / 3, 0.5],
            "full_time_managers": [1.0, 2.0, 1.0],
        },
        index=pd.Index(["O1", "O2", "O3"], name="outlet_id"),
    )
    names = {"O1": "Zeta", "O2": "Alpha", "O3": "Mid"}
    table = rs.manager_outlet_table(by_outlet, names, K).frame
    assert table.iloc[0].tolist() == ["Alpha", "30", "90.0%", "2", "15", "33.3%"]
    # Mid's adequacy ratio times its 1 manager would give the 12 back, and so would its rates
    # within few values (75 % is 9/12 or 12/16): all withheld with the count
    assert table.iloc[1].tolist() == ["Mid", "x", "x", "1", "x", "x"]
    assert table.iloc[2].tolist() == ["Zeta", "<10", "<10", "1", "<10", "<10"]
    # the chart draws the coverage rates the table shows
    assert rs.manager_outlet_plot_data(by_outlet, names, K)["outlet"].tolist() == ["Alpha"]


def test_a_lone_small_outlet_is_not_given_back_by_the_regions_quality_and_above_count() -> None:
    """Two outlets, 4 and 30 quality-and-above customers: the region's 34 (its tier table)
    less the 30 printed gave the withheld 4 back (main printed 30); now both are withheld,
    the 30 as x (at least 10) with its adequacy ratio (15 per manager times 2 managers), so
    the 4 is 1 to 9 for a reader. The rates over the 30 are withheld with it (a rate gives
    its denominator back within few values), in the table and the chart."""
    by_outlet = pd.DataFrame(
        {
            "quality_plus_customers": [4, 30],
            "manager_coverage": [0.5, 0.9],
            "manager_adequacy": [4.0, 15.0],
            "contact_plan_coverage": [0.25, 1 / 3],
            "full_time_managers": [1.0, 2.0],
        },
        index=pd.Index(["O1", "O2"], name="outlet_id"),
    )
    names = {"O1": "Zeta", "O2": "Alpha"}
    table = rs.manager_outlet_table(by_outlet, names, K).frame
    assert table.iloc[0].tolist() == ["Alpha", "x", "x", "2", "x", "x"]
    assert table.iloc[1].tolist() == ["Zeta", "<10", "<10", "1", "<10", "<10"]
    assert rs.manager_outlet_plot_data(by_outlet, names, K).empty
    # every outlet small: no row for the chart (main added the names as rows of NaN)
    few = by_outlet.assign(quality_plus_customers=[4, 5])
    assert rs.manager_outlet_plot_data(few, names, K).empty


def test_every_metric_key_of_the_report_is_a_kpi() -> None:
    rec = MetricsRecorder(None)
    rec.record("customers", 3)
    rec.record_many(rs.tier_metrics(_comp(), K))
    rec.record_many(rs.concentration_metrics(0.5, 0.4, "vip"))
    assert set(rec.values) >= {"customers", "aum_gini", "customer_share[tier=mass]"}


def test_bank_tiers_are_computed_once_per_data_and_parameters(tmp_path, monkeypatch) -> None:
    """The whole bank's tiers as 01 derived them in every job, now stored by the first region's
    report: the same frames, the second region does not read customer_month for them again;
    other parameters, another entry."""
    import pytest

    from bankanalysis.data.prepare import prepare
    from bankanalysis.report.context import report_context
    from bankanalysis.rules.tiers import customer_tiers
    from bankanalysis.synthetic import generate_bank

    raw, processed = tmp_path / "raw", tmp_path / "processed"
    generate_bank(raw, n_customers=1_500, n_months=8, seed=3)
    prepare(raw, processed)
    thresholds, tier_months, migration_months = [50_000, 500_000, 6_000_000], 3, 4
    first = report_context(processed, None, "R01", theme=False)
    # what the notebook computed before, cell by cell
    t0, window = seg.migration_window(first.bank.months, first.month, tier_months, migration_months)
    cm_all = first.bank.customer_month(
        months=window, columns=["outlet_id", "region_id", "echelon", "aum"]
    )
    old_now = customer_tiers(cm_all, first.month, thresholds, tier_months)
    old_t0 = customer_tiers(cm_all, t0, thresholds, tier_months)
    assert t0 < first.month and len(old_now) > 1_000

    args = (thresholds, tier_months, migration_months)
    built = rs.load_bank_tiers(first, *args)
    assert built[0] == t0
    pd.testing.assert_frame_equal(built[1], old_now)
    pd.testing.assert_frame_equal(built[2], old_t0)
    entries = [e for e in (processed / "_models" / "bank_tiers").iterdir() if e.is_dir()]
    assert len(entries) == 1

    second = report_context(processed, None, "R02", theme=False)

    def no_read(*a, **k):
        raise AssertionError("customer_month read again")

    monkeypatch.setattr(second.bank, "customer_month", no_read)
    again = rs.load_bank_tiers(second, *args)
    assert again[0] == t0
    pd.testing.assert_frame_equal(again[1], old_now)
    pd.testing.assert_frame_equal(again[2], old_t0)
    with pytest.raises(AssertionError, match="read again"):
        rs.load_bank_tiers(second, thresholds, tier_months, 2)  # other migration_months
    with pytest.raises(AssertionError, match="read again"):
        rs.load_bank_tiers(second, [40_000, 500_000, 6_000_000], tier_months, migration_months)


def _pipe(outlets: dict[str, tuple[int, int, float]], target: str = "quality") -> pd.DataFrame:
    """Pipeline rows of one target tier: outlet -> (candidates, tier below, AUM gap)."""
    return rs.label_pipeline(
        pd.DataFrame(
            {
                "outlet_id": list(outlets),
                "target_tier": target,
                "customers": [v[0] for v in outlets.values()],
                "tier_customers": [v[1] for v in outlets.values()],
                "pipeline_share": [v[0] / v[1] for v in outlets.values()],
                "aum_gap": [v[2] for v in outlets.values()],
            }
        ),
        {"O1": "Alpha", "O2": "Beta", "O3": "Gamma"},
    )


def test_pipeline_withheld_count_cannot_be_recovered_from_the_region_count() -> None:
    # Alpha has 3 candidates (withheld); the region's count, 68, is in metrics.json. The old
    # table showed Beta's 40 and Gamma's 25: 68 - 65 gave Alpha's 3 back exactly.
    pipe = _pipe({"O1": (3, 200, 9000.0), "O2": (40, 500, 150000.0), "O3": (25, 300, 90000.0)})
    assert attack_unit_counts({"O1": "<10", "O2": "40", "O3": "25"}, 68, K)["O1"] == (3, 3)
    status = protect_pipeline(pipe, K)
    table = rs.pipeline_table(pipe, "CNY", K, status).frame
    cells = dict(zip(table["Outlet"], table["Upgrade candidates"], strict=True))
    assert cells["Alpha"] == "<10" and cells["Gamma"] == "x" and cells["Beta"] == "40"
    lo, hi = attack_unit_counts(cells, 68, K)["Alpha"]
    assert hi - lo >= (K - 1) / 2
    # the gap of the small outlet: not the region's gap minus the two shown
    gaps = dict(zip(table["Outlet"], table["AUM gap of the upgrade candidates (CNY)"], strict=True))
    money = {o: None if g in ("<10", "x") else float(g.replace(",", "")) for o, g in gaps.items()}
    lo, hi = attack_unit_money(money, 249000.0)["Alpha"]
    assert lo <= 9000.0 * 0.5 and hi >= 9000.0 * 1.5
    # the share is withheld with the count (share x tier below = count)
    assert table.set_index("Outlet").loc["Gamma", "Upgrade candidates in the tier below (%)"] == "x"
    # the chart draws only the counts the table shows
    assert rs.pipeline_plot_data(pipe, K, status)["outlet"].tolist() == ["Beta"]


def test_pipeline_metrics_withhold_the_region_count_the_table_cannot_protect() -> None:
    # 3 + 12 = 15: withholding Beta's 12 would leave Alpha in [1, 5], narrower than the 4.5 a
    # count of <10 needs; the region's count is withheld ("x") in metrics.json instead
    pipe = _pipe({"O1": (3, 200, 9000.0), "O2": (12, 500, 40000.0)})
    status = protect_pipeline(pipe, K)
    assert status.attrs["withheld_totals"] == {"quality": "secondary"}
    region = pd.DataFrame(
        {
            "region_id": ["R1"],
            "target_tier": ["quality"],
            "customers": [15],
            "tier_customers": [700],
        }
    )
    m = rs.pipeline_metrics(region, K, status)
    assert m == {"upgrade_candidates[target_tier=quality]": Suppressed(K, "secondary")}
    table = rs.pipeline_table(pipe, "CNY", K, status).frame
    cells = dict(zip(table["Outlet"], table["Upgrade candidates"], strict=True))
    assert cells == {"Alpha": "<10", "Beta": "12"}
    lo, hi = attack_unit_counts({"O1": "<10", "O2": "12"}, None, K)["O1"]
    assert (lo, hi) == (1, 9)
    # without the step's answer (old behaviour) the count was published: 15 - 12 = 3
    assert rs.pipeline_metrics(region, K)["upgrade_candidates[target_tier=quality]"] == 15


def test_pipeline_gap_held_by_one_customer_is_withheld() -> None:
    # Alpha's 12 candidates: one needs 4,900 of its gap, the others 10 each (p% rule fails)
    aum = [45100.0] + [49990.0] * 11 + [46000.0] * 15 + [47000.0] * 15
    tiers = pd.DataFrame(
        {
            "outlet_id": ["O1"] * 12 + ["O2"] * 15 + ["O3"] * 15,
            "avg_aum": aum,
            "tier": pd.Categorical(["mass"] * 42, categories=["mass", "quality"]),
        }
    )
    dom = pipeline_dominance(tiers, [50000.0], 0.10)
    assert dom == [("O1", "quality")]
    pipe = _pipe({"O1": (12, 200, 5010.0), "O2": (15, 300, 60000.0), "O3": (15, 300, 45000.0)})
    status = protect_pipeline(pipe, K, dom)
    assert status["aum_gap"].tolist() == ["dominance", "", "secondary"]
    table = rs.pipeline_table(pipe, "CNY", K, status).frame
    assert table["AUM gap of the upgrade candidates (CNY)"].tolist() == ["x", "60,000", "x"]
    assert table["Upgrade candidates"].tolist() == ["12", "15", "15"]


def test_pipeline_hides_the_counts_of_a_tier_the_tier_table_withholds() -> None:
    # the tier table withholds VIP's count (R08: VIP hidden so that private banking's 5 cannot
    # be worked out); the pipeline's VIP counts per outlet (tier below private banking) would
    # add up to it, so they and the shares are withheld for every outlet
    pipe = _pipe({"O1": (12, 60, 9000.0), "O2": (14, 62, 8000.0)}, target="private_banking")
    comp = pd.DataFrame(
        {
            "scope": ["region"] * 4,
            "tier": list(TIERS),
            "count_protection": ["", "", "secondary", "primary"],
        }
    )
    status = protect_pipeline(pipe, K, hidden_tiers=withheld_tier_counts(comp))
    table = rs.pipeline_table(pipe, "CNY", K, status).frame
    assert table["Customers in the tier below"].tolist() == ["x", "x"]
    assert table["Upgrade candidates in the tier below (%)"].tolist() == ["x", "x"]
    assert table["Upgrade candidates"].tolist() == ["12", "14"]
    shown = protect_pipeline(pipe, K)  # without the tier table's answer: 60 + 62 = VIP's 122
    assert (shown["tier_customers"] == "").all()


def test_target_counts_are_guarded_against_the_published_count_of_all_thresholds() -> None:
    """28 candidates of which 25 near quality: the two <10 counts would be 1 or 2 (the attacker
    of issue 17 pins them); the quality count is withheld too, and without a shown count
    the <10 markers become x."""
    from attacker import attack_linear

    region = pd.DataFrame(
        {
            "region_id": ["R1"] * 3,
            "target_tier": ["quality", "vip", "private_banking"],
            "customers": [25, 2, 1],
            "tier_customers": [900, 40, 5],
            "pipeline_share": [25 / 900, 2 / 40, 1 / 5],
            "aum_gap": [1e5, 2e4, 1e4],
        }
    )
    keys = [f"upgrade_candidates[target_tier={t}]" for t in region["target_tier"]]

    def bounds(m: dict) -> dict:
        cells = {
            f"n:{key}": (None if str(v) == "x" else "<k" if str(v) == f"<{K}" else float(v))
            for key, v in m.items()
        }
        cells["n:total"] = 28.0
        rel = {**{c: 1.0 for c in cells if c != "n:total"}, "n:total": -1.0}
        return attack_linear(cells, [rel], K)

    plain = rs.pipeline_metrics(region, K)
    assert plain[keys[0]] == 25
    pinned = bounds(plain)
    assert pinned[f"n:{keys[1]}"] == (1, 2)  # the leak: VIP near its threshold is 1 or 2
    guarded = rs.pipeline_metrics(region, K, total=28)
    assert guarded == {
        keys[0]: Suppressed(K, "secondary"),
        keys[1]: Suppressed(K),
        keys[2]: Suppressed(K),
    }
    for lo, hi in bounds(guarded).values():
        assert hi - lo >= (K - 1) / 2
    # a shown pipeline row: the joint step of protect_upgrade_pipeline audits the counts
    status = pd.DataFrame({"customers": ["", "small"]})
    assert rs.pipeline_metrics(region, K, status, total=28) == plain
    # 35 candidates leave 10 for the two small counts: each 1 to 9, unchanged
    assert rs.pipeline_metrics(region, K, total=35) == plain
    assert rs.pipeline_metrics(region, K, total=np.int64(28)) == guarded
    assert rs.pipeline_metrics(region, K, total=Suppressed(K)) == plain


def test_bank_tiers_in_parts_of_customers_are_those_of_one_read(ci_bank) -> None:
    """The whole bank's tiers read 700 customers at a time (five parts of the CI bank) or in
    one part: the frames of both tier windows of every customer read at once."""
    from types import SimpleNamespace

    from bankanalysis.data.load import load_processed
    from bankanalysis.report.bank_tiers import _bank_tiers
    from bankanalysis.rules.tiers import customer_tiers

    bank = load_processed(ci_bank.processed)
    ctx = SimpleNamespace(bank=bank, month=bank.data_month)
    thresholds, tier_months, migration_months = [50_000, 500_000, 6_000_000], 3, 12
    t0, window = seg.migration_window(bank.months, ctx.month, tier_months, migration_months)
    cm = bank.customer_month(months=window, columns=["outlet_id", "region_id", "echelon", "aum"])
    want_now = customer_tiers(cm, ctx.month, thresholds, tier_months)
    want_t0 = customer_tiers(cm, t0, thresholds, tier_months)
    assert len(want_now) == (cm["month"] == ctx.month).sum() > 2_000
    assert len(bank.customer_ranges(700)) == 5
    for size in (700, None):
        got_t0, got_now, got_then = _bank_tiers(
            ctx, thresholds, tier_months, migration_months, size
        )
        assert got_t0 == t0
        pd.testing.assert_frame_equal(got_now, want_now, check_exact=True)
        pd.testing.assert_frame_equal(got_then, want_t0, check_exact=True)
    assert got_now["customer_id"].is_monotonic_increasing
    assert set(got_now["tier"]) >= {"mass", "quality"}


def test_the_coverage_chart_names_the_outlets_whose_coverage_is_withheld() -> None:
    """Zeta (4 quality-and-above customers, `<10`) and Mid (12, `x`: the region's 46 less the
    others would give the 4 back) have no bar; the lead's chart left them out without a word,
    so a missing bar read as 0. Now each has a row saying `withheld (<marker>)` and a line
    under the chart says why."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by_outlet = pd.DataFrame(
        {
            "quality_plus_customers": [4, 30, 12],
            "manager_coverage": [0.5, 0.9, 0.75],
            "manager_adequacy": [4.0, 15.0, 12.0],
            "contact_plan_coverage": [0.25, 1 / 3, 0.5],
            "full_time_managers": [1.0, 2.0, 1.0],
        },
        index=pd.Index(["O1", "O2", "O3"], name="outlet_id"),
    )
    names = {"O1": "Zeta", "O2": "Alpha", "O3": "Mid"}
    plot = rs.manager_outlet_plot_data(by_outlet, names, K)
    assert plot["outlet"].tolist() == ["Alpha"]
    assert plot.attrs["withheld"] == {"Mid": "x", "Zeta": "<10"}
    fig = rs.plot_manager_coverage(plot, "2026-10")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Alpha", "Mid", "Zeta"]
    assert [round(p.get_width(), 2) for p in ax.patches] == [0.9]  # one bar, Alpha's 90 %
    assert [t.get_text() for t in ax.texts] == ["withheld (x)", "withheld (<10)"]
    assert any("not 0" in t.get_text() for t in fig.texts)
    plt.close(fig)
    # nothing withheld: no row and no line added
    full = by_outlet.assign(quality_plus_customers=[40, 30, 52])
    fig = rs.plot_manager_coverage(rs.manager_outlet_plot_data(full, names, K), "2026-10")
    assert not fig.axes[0].texts and not fig.texts
    assert len(fig.axes[0].patches) == 3
    plt.close(fig)
