"""Tests of bankanalysis.report.propensity: notebook 02's tables, sentences, charts and metrics."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from propensity_data import lead_offers

from bankanalysis.propensity import PropensityBundle, TrainingSettings, build_lead_lists
from bankanalysis.propensity.evaluation import roc_auc
from bankanalysis.report import propensity as rp
from bankanalysis.report import propensity_charts as charts
from bankanalysis.report.chart_findings import calibration_sentence, gains_sentence
from bankanalysis.report.format import Absent, Suppressed
from bankanalysis.report.metrics import MetricsRecorder
from bankanalysis.rules.kpis import is_kpi


def _evaluation_frame(seed: int = 7) -> pd.DataFrame:
    """Out-of-time rows of two products in three regions.

    fund: R1 4 buyers of 40, R2 12 of 60; gold: R1 10 of 40, R2 15 of 60; R3 has 20 customers
    and no buyer of either product.
    """
    rng = np.random.default_rng(seed)
    frames = []
    for product, region, n, buyers in (
        ("fund", "R1", 40, 4),
        ("fund", "R2", 60, 12),
        ("fund", "R3", 20, 0),
        ("gold", "R1", 40, 10),
        ("gold", "R2", 60, 15),
        ("gold", "R3", 20, 0),
    ):
        y = np.zeros(n)
        y[rng.choice(n, size=buyers, replace=False)] = 1.0
        p_model = np.clip(0.25 * y + rng.uniform(0.0, 0.5, n), 0.0, 0.99)
        frames.append(
            pd.DataFrame(
                {
                    "product": product,
                    "region_id": region,
                    "customer_id": [f"{region}-{i}" for i in range(n)],
                    "y": y,
                    "p_model": p_model,
                    "p_baseline": rng.uniform(0.0, 0.5, n),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _bundle(evaluation: pd.DataFrame | None = None, skipped: dict | None = None):
    ev = _evaluation_frame() if evaluation is None else evaluation
    products = ["fund", "gold", "wmp"]
    modelled = sorted(ev["product"].unique()) if len(ev) else []
    bundle = PropensityBundle(
        settings=TrainingSettings(horizon=3),
        products=products,
        data_month="2025-12",
        eval_month="2025-09",
        train_months=["2025-01", "2025-06"],
        regions=["R1", "R2", "R3"],
        feature_names=[],
        skipped=skipped if skipped is not None else {"wmp": "too few buyers in training: 3"},
    )
    bundle.models = {p: object() for p in modelled}
    if len(ev):
        bundle.evaluation = ev
    return bundle


def _ctx(region_id: str = "R1", k: int = 5) -> SimpleNamespace:
    return SimpleNamespace(
        region_id=region_id,
        region_name="东区 <b>",
        echelon=1,
        min_group_size=k,
        currency="CNY",
        metrics=MetricsRecorder(None),
    )


def _figures(evaluation: pd.DataFrame) -> pd.DataFrame:
    from bankanalysis.propensity import evaluation_table

    return evaluation_table(evaluation)


# ----------------------------------------------------------------------------- evaluation


def test_region_evaluation_withholds_1_to_k_minus_1_buyers_and_shows_zero():
    ev = _evaluation_frame()
    r1 = rp.region_evaluation_table(ev, "R1", min_group_size=5).set_index("product")
    # fund has 4 buyers in R1 (< 5): buyers, auc, lift, capture and ece withheld, n kept
    assert r1.loc["fund", "suppressed"] and not r1.loc["gold", "suppressed"]
    assert np.isnan(r1.loc["fund", ["buyers", "auc", "lift", "capture", "ece"]].astype(float)).all()
    assert r1.loc["fund", "n"] == 40
    gold = ev[(ev["region_id"] == "R1") & (ev["product"] == "gold")]
    assert r1.loc["gold", "buyers"] == 10
    assert r1.loc["gold", "auc"] == pytest.approx(roc_auc(gold["y"], gold["p_model"]))
    # R3: no buyer reveals nobody, so 0 is shown (the one small-group rule); AUC not computable
    r3 = rp.region_evaluation_table(ev, "R3", min_group_size=5).set_index("product")
    assert not r3["suppressed"].any() and (r3["buyers"] == 0).all() and r3["auc"].isna().all()


def test_evaluation_metrics_are_kpi_keys_with_absent_and_withheld_values():
    ev = _evaluation_frame()
    bundle = _bundle(ev)
    bank_eval = _figures(ev)
    region_eval = rp.region_evaluation_table(ev, "R1", 5)
    m = rp.evaluation_metrics(bundle, bank_eval, region_eval, "R1", 5)
    assert all(is_kpi(k) for k in m)
    fund = bank_eval.set_index("product").loc["fund"]
    assert m["model_auc[product=fund]"] == fund["auc"]
    assert m["baseline_top_decile_lift[product=fund]"] == fund["baseline_lift"]
    assert m["calibration_error[product=gold]"] == bank_eval.set_index("product").loc["gold", "ece"]
    assert m["model_auc[product=fund,region=R1]"] == Suppressed(5)
    gold_r1 = region_eval.set_index("product").loc["gold", "auc"]
    assert m["model_auc[product=gold,region=R1]"] == gold_r1
    assert len(m) == 8 * 2 + 2 + 3
    assert m["products_modelled"] == 2 and m["products_without_model"] == 1
    beating = int((bank_eval["auc"] > bank_eval["baseline_auc"]).sum())
    assert m["models_beating_baseline"] == beating
    r3 = rp.evaluation_metrics(bundle, bank_eval, rp.region_evaluation_table(ev, "R3", 5), "R3", 5)
    assert r3["model_auc[product=fund,region=R3]"] == Absent(
        "no buyers among the region's customers in 2025-09"
    )
    rec = MetricsRecorder(None)
    rec.record_many(m)  # refuses anything that is not a KPI key
    assert rec.values["model_auc[product=fund,region=R1]"] is None
    assert "fewer than 5" in rec.reasons["model_auc[product=fund,region=R1]"]


def _hand_figures() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "product": ["fund", "gold"],
            "n": [100, 2000],
            "buyers": [10, 40],
            "base_rate": [0.1, 0.02],
            "auc": [0.8, 0.6],
            "pr_auc": [0.4, 0.3],
            "lift": [3.0, 1.5],
            "capture": [0.3, 0.5],
            "brier": [0.08, 0.15],
            "ece": [0.0104, 0.02],
            "baseline_auc": [0.7, 0.65],
            "baseline_lift": [2.0, 1.2],
        }
    )


def test_bank_evaluation_table_formats_through_the_dictionary():
    t = rp.bank_evaluation_table(_hand_figures(), {"fund": "基金 <b>"}).frame
    assert t.columns.tolist()[:5] == [
        "product name",
        "Customers evaluated",
        "Buyers evaluated",
        "Take-up rate (%)",
        "Model AUC (out of time)",
    ]
    fund, gold = t.iloc[0], t.iloc[1]
    assert fund["product name"] == "基金 <b>" and gold["product name"] == "gold"
    assert gold["Customers evaluated"] == "2,000" and fund["Take-up rate (%)"] == "10.0%"
    assert fund["Model AUC (out of time)"] == "0.800"
    assert fund["Top-decile lift"] == "3.00" and fund["Top-decile capture (%)"] == "30.0%"
    assert fund["Expected calibration error"] == "0.010"
    assert "<b>" not in rp.bank_evaluation_table(_hand_figures(), {"fund": "<b>"}).to_html()


def test_capture_and_lift_are_withheld_when_the_best_scored_buyers_are_few():
    """40 customers of R1, 20 buyers, scored so that the best-scored tenth (4 customers) are
    all buyers: capture 4 / 20 = 20.0 % beside the 20 buyers gives the 4 back, and lift
    (capture / 10 %) too, so both are withheld (`<10`), the 20 buyers and the AUC shown. With
    100 customers and 50 buyers the tenth holds 10 buyers: shown."""

    def frame(n: int, buyers: int) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "product": "fund",
                "region_id": "R1",
                "y": [0.0] * (n - buyers) + [1.0] * buyers,
                "p_model": [i / n for i in range(n)],
                "p_baseline": 0.5,
            }
        )

    few = rp.region_evaluation_table(frame(40, 20), "R1", 10).set_index("product")
    assert few.loc["fund", "buyers"] == 20 and few.loc["fund", "auc"] == 1.0
    assert bool(few.loc["fund", "top_suppressed"]) and not bool(few.loc["fund", "suppressed"])
    assert np.isnan(few.loc["fund", ["lift", "capture"]].astype(float)).all()
    shown = rp.region_evaluation(few.reset_index(), {"fund": "Funds"}, "东区", 10).frame
    row = shown.set_index("product name").loc["Funds"]
    assert row["Buyers evaluated"] == "20" and row["Model AUC (out of time)"] == "1.000"
    assert row["Top-decile lift"] == "<10" and row["Top-decile capture (%)"] == "<10"
    many = rp.region_evaluation_table(frame(100, 50), "R1", 10).set_index("product")
    assert not bool(many.loc["fund", "top_suppressed"])
    assert many.loc["fund", "capture"] == pytest.approx(0.2)
    assert many.loc["fund", "lift"] == pytest.approx(2.0)


def test_region_evaluation_table_shows_the_marker_for_withheld_cells():
    ev = _evaluation_frame()
    region_eval = rp.region_evaluation_table(ev, "R1", 5)
    t = rp.region_evaluation(region_eval, {"fund": "Funds"}, "东区", 5).frame.set_index(
        "product name"
    )
    assert t.loc["Funds", "Customers evaluated"] == "40"
    assert (
        t.loc["Funds", "Buyers evaluated"] == "<5"
        and t.loc["Funds", "Model AUC (out of time)"] == "<5"
    )
    assert t.loc["gold", "Buyers evaluated"] == "10"


def test_region_row_without_auc_says_why():
    """65 customers of the region evaluated, none bought: the row shows 0 and n/a, and the
    note says why (a withheld row keeps its marker and needs no note)."""
    region_eval = pd.DataFrame(
        {
            "product": ["gold", "fund", "card"],
            "n": [65, 40, 30],
            "buyers": [0.0, np.nan, 12.0],
            "auc": [np.nan, np.nan, 0.71],
            "lift": [np.nan, np.nan, 2.5],
            "capture": [np.nan, np.nan, 0.25],
            "suppressed": [False, True, False],
        }
    )
    table = rp.region_evaluation(region_eval, {"gold": "Gold <b>"}, "东区", 5)
    gold = table.frame.set_index("product name").loc["Gold <b>"]
    assert gold[
        ["Customers evaluated", "Buyers evaluated", "Model AUC (out of time)"]
    ].tolist() == [
        "65",
        "0",
        "n/a",
    ]
    assert table.note == (
        "AUC and lift are n/a for Gold <b> (none of its 65 evaluated customers bought it: no "
        "buyer to rank)."
    )
    assert "Gold &lt;b&gt;" in table.to_html() and "<b>" not in table.to_html()
    assert (
        rp.undefined_auc_note(region_eval.assign(**{"product name": ["a", "b", "c"]}).iloc[1:])
        == ""
    )


def test_evaluation_text_hand_computed_and_without_models():
    bank_eval = _hand_figures()
    assert rp.evaluation_text(bank_eval, _bundle()) == (
        "The model ranks better than the tier baseline for **1 of 2** products; median "
        "out-of-time AUC 0.700 against 0.675 for the baseline, and the top 10% of customers by "
        "score hold on median 40.0% of the buyers."
    )
    none = _bundle(pd.DataFrame(), skipped={"fund": "a", "gold": "b", "wmp": "c"})
    text = rp.evaluation_text(_figures(none.evaluation), none)
    assert text.startswith("**No product has a model**: none of the 3 cross-sell products")


def test_skipped_products_text_lists_reasons_escaped():
    b = _bundle(skipped={"wmp": "too few buyers in training: 3 in 2025-01 to 2025-06 <x>"})
    assert rp.skipped_products_text(b, {"wmp": "理财 & co"}) == (
        "**Products without a model:**\n\n"
        "- 理财 &amp; co: too few buyers in training: 3 in 2025-01 to 2025-06 &lt;x&gt;"
    )
    assert rp.skipped_products_text(_bundle(skipped={}), {}) == ""


def test_model_note_states_the_windows_not_the_region_or_month():
    text = rp.model_note(_bundle())
    assert text.startswith("Models fitted on 2 monthly windows (2025-01 to 2025-06), evaluated")
    assert "2025-09" in text and "echelon" not in text and "2025-12" not in text


def test_model_note_states_each_models_training_sample():
    bundle = _bundle()
    assert "sample" not in rp.model_note(bundle)  # nothing fitted, no sample to state
    bundle.train_rows = {"fund": 200_000, "gold": 48_213}
    text = rp.model_note(bundle, {"fund": "基金 <a>", "gold": "Gold"})
    assert text.endswith(
        "Each model was fitted on a seeded sample of at most 200,000 customer-months of the "
        "bank's training windows (max_train_rows): 基金 <a> 200,000, Gold 48,213 customer-months."
    )
    assert "wmp" not in text  # a skipped product has no sample


def test_no_model_sections_say_why_and_record_counts():
    bundle = _bundle(pd.DataFrame(), skipped={"fund": "too few", "gold": "too few", "wmp": "x"})
    ctx = _ctx()
    sec = rp.evaluation_section(bundle, ctx, {})
    assert len(sec.parts) == 2 and all(isinstance(p, str) for p in sec.parts)
    assert sec.parts[0].startswith("**No product has a model**")
    assert "- fund: too few" in sec.parts[1]
    assert sec.metrics == {
        "products_modelled": 0,
        "products_without_model": 3,
        # the reasons travel to metrics.json and so to the run index
        "models_beating_baseline": Absent(
            "no product has a model: fund: too few; gold: too few; wmp: x"
        ),
    }
    gains = rp.gains_section(bundle, ctx, 30, {})
    assert gains.parts == [
        "No product has a model, so there is no gains chart (see the products without a model "
        "above)."
    ]
    calib = rp.calibration_section(bundle, ctx, 30, {})
    assert calib.parts[0].startswith("No product has a model, so there is no calibration chart")
    sec.show(ctx.metrics)
    assert ctx.metrics.values["products_without_model"] == 3


# ----------------------------------------------------------------------------- charts


def test_gains_and_calibration_plot_data_scope_labels_and_small_bins():
    ev = _evaluation_frame()
    names = {"fund": "Funds"}  # gold has no display name: its code is shown
    gains = charts.gains_plot_data(ev, "R1", 5, names)
    # fund: 4 buyers in R1 < 5, so the whole bank; gold: 10 buyers, the region
    assert sorted(gains["product"].unique()) == ["Funds (bank)", "gold (region)"]
    assert len(gains) == 2 * 3 * 21
    end = gains[gains["share_contacted"] == 1.0]
    assert (end["share_of_buyers"] == 1.0).all()
    calib = charts.calibration_plot_data(ev, "R1", 5, 10, names)
    assert (calib["n"] >= 10).all()
    fund = ev[ev["product"] == "fund"]
    bins = np.clip((fund["p_model"] * 10).astype(int), 0, 9).value_counts()
    shown = calib[calib["product"] == "Funds (bank)"]
    assert shown["bin"].tolist() == sorted(bins[bins >= 10].index.tolist())
    assert shown["n"].tolist() == [bins[b] for b in shown["bin"]]
    assert charts.calibration_plot_data(ev, "R1", 5, 10_000, names).empty


def test_figures_one_panel_per_product_and_none_when_empty():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ev = _evaluation_frame()
    fig = charts.gains_figure(charts.gains_plot_data(ev, "R1", 5, {}), "2025-09")
    titles = sorted(ax.get_title() for ax in fig.axes)
    assert titles == ["fund (bank)", "gold (region)"]
    assert "Cumulative gains, out of time (2025-09)" == fig._suptitle.get_text()
    calib = charts.calibration_figure(charts.calibration_plot_data(ev, "R1", 5, 1, {}), "2025-09")
    assert len(calib.axes) == 2
    plt.close("all")
    assert charts.gains_figure(pd.DataFrame(), "2025-09") is None
    assert charts.calibration_figure(pd.DataFrame(), "2025-09") is None
    assert charts.expected_sales_figure(pd.DataFrame({"expected_sales": []}), "2025-12") is None


# ----------------------------------------------------------------------------- offers and leads


def _leads_fixture() -> pd.DataFrame:
    return build_lead_lists(*lead_offers(), leads_per_sheet=5)


def test_offer_summary_text_and_metrics_hand_computed():
    s = {
        "customers": 4,
        "products_per_customer": 2.0,
        "leads": 2,
        "expected_sales": 1.1,
        "expected_new_products_per_customer": 0.275,
        "products_per_customer_after": 2.275,
        "expected_sales_all_offers": 2.0,
    }
    # the index once printed +0.044 products per customer as "4.4 %": now products, 2 decimals
    assert rp.offer_summary_text(s) == (
        "4 active customers hold 2.00 products on average. Working the 2 leads should bring "
        "about **1 new products** (+0.28 products per customer); making every customer's top "
        "offer(s) would bring about 2."
    )
    m = rp.offer_metrics(s)
    assert all(is_kpi(k) for k in m) and "products_per_customer_after" not in m
    assert m["expected_new_products_per_customer"] == 0.275 and m["expected_sales"] == 1.1
    nothing = {**s, "leads": 0, "expected_sales": 0.0, "expected_new_products_per_customer": 0.0}
    assert rp.offer_summary_text(nothing).endswith(
        "There are no offers and no leads: no product has a model."
    )
    # without a model the expected sales are unknown, not 0; the lead count is a true 0
    unknown = rp.offer_metrics(nothing, modelled=False)
    assert unknown["expected_sales"] == Absent("no product has a model")
    assert unknown["expected_new_products_per_customer"] == Absent("no product has a model")
    assert unknown["leads"] == 0 and unknown["customers"] == 4
    empty = {**nothing, "customers": 0, "products_per_customer": np.nan}
    empty["expected_new_products_per_customer"] = np.nan
    got = rp.offer_metrics(empty)
    assert got["products_per_customer"] == Absent("no active customers")
    assert got["customers"] == 0


def test_lead_product_summary_table_and_plot_data():
    leads = _leads_fixture()
    by = rp.lead_product_summary(leads, 3, {"fund": "Funds", "gold": "Gold"})
    assert by["name"].tolist() == ["Funds", "Gold"] and by["product"].tolist() == ["fund", "gold"]
    fund = by.set_index("product").loc["fund"]
    assert fund["leads"] == 3 and fund["expected_sales"] == pytest.approx(0.5 + 0.4 + 0.3)
    assert fund["mean_probability"] == pytest.approx(0.4)
    gold = by.set_index("product").loc["gold"]  # 2 leads < 3: withheld
    assert gold["suppressed"] and np.isnan(gold["leads"]) and np.isnan(gold["expected_sales"])
    table = rp.lead_product_table(by, 3).frame
    assert table.columns.tolist() == [
        "name",
        "Leads",
        "Mean lead probability (%)",
        "Expected new products",
    ]
    assert table.iloc[0].tolist() == ["Funds", "3", "40.0%", "1"]
    assert table.iloc[1].tolist() == ["Gold", "<3", "<3", "<3"]
    plot = charts.expected_sales_plot_data(rp.lead_product_summary(leads, 1, {}))
    assert plot["product"].tolist() == ["gold", "fund"]  # 0.8 expected sales before 1.2
    assert charts.expected_sales_plot_data(by)["product"].tolist() == ["fund"]


def test_offers_section_parts_and_metrics():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    leads = _leads_fixture()
    s = {
        "customers": 4,
        "products_per_customer": 2.0,
        "leads": 5,
        "expected_sales": 2.0,
        "expected_new_products_per_customer": 0.5,
        "products_per_customer_after": 2.5,
        "expected_sales_all_offers": 2.0,
    }
    sec = rp.offers_section(s, leads, _ctx(k=1), _bundle(), {})
    assert isinstance(sec.parts[0], str) and hasattr(sec.parts[2], "savefig")
    assert sec.metrics["leads"] == 5
    plt.close("all")


# ----------------------------------------------------------------------------- intervals


def test_evaluation_section_shows_and_records_bootstrap_intervals():
    bundle = _bundle()
    sec = rp.evaluation_section(bundle, _ctx(), {"fund": "Fund", "gold": "Gold"})
    table = next(p for p in sec.parts if hasattr(p, "frame"))
    auc_cells = table.frame["Model AUC (out of time)"].tolist()
    # "0.761 (0.742-0.780)": the figure, then its interval, same format
    for cell, product in zip(auc_cells, ["fund", "gold"], strict=True):
        value, low, high = (
            sec.metrics[f"model_auc[product={product}]"],
            sec.metrics[f"model_auc[product={product},bound=low]"],
            sec.metrics[f"model_auc[product={product},bound=high]"],
        )
        assert low <= value <= high
        assert cell == f"{value:.3f} ({low:.3f}-{high:.3f})"
        assert f"top_decile_lift[product={product},bound=high]" in sec.metrics
    assert all(is_kpi(k) for k in sec.metrics)
    # 16 and 25 buyers: both intervals are wide and the report says why
    wide = next(p for p in sec.parts if isinstance(p, str) and "intervals are wide" in p)
    assert "Fund (" in wide and "16 buyers" in wide and "25 buyers" in wide
    assert "2025-09" in wide and "eval_months" in wide
    # same seed, same section
    again = rp.evaluation_section(bundle, _ctx(), {"fund": "Fund", "gold": "Gold"})
    assert again.metrics == sec.metrics


def test_with_interval_and_narrow_intervals_say_nothing():
    assert rp.with_interval("top_decile_lift", 2.345, 1.9, 2.81) == "2.35 (1.90-2.81)"
    assert rp.with_interval("model_auc", float("nan"), 0.1, 0.2) == "n/a"
    ev = pd.DataFrame({"product": ["fund"], "buyers": [900], "auc_low": [0.74], "auc_high": [0.78]})
    assert rp.interval_text(ev, _bundle(), {}) == ""


def test_report_of_data_too_short_states_the_reason_everywhere():
    bundle = _bundle(pd.DataFrame(), skipped={})
    bundle.train_months = []
    bundle.no_model_reason = "the data hold 4 months up to 2025-04; ... needs at least 7"
    assert rp.model_note(bundle).startswith("No model could be fitted: the data hold 4 months")
    sec = rp.evaluation_section(bundle, _ctx(), {})
    assert sec.parts[0].startswith("**No product has a model**: the data hold 4 months")
    assert sec.metrics["models_beating_baseline"] == Absent(
        "no product has a model: the data hold 4 months up to 2025-04; ... needs at least 7"
    )


def test_gains_and_calibration_sections_state_a_finding_for_the_region():
    """Issue 14: the sections explained how to read the charts but found nothing."""
    bundle, ctx = _bundle(), _ctx()
    names = {"fund": "Fund", "gold": "Gold"}
    gains = rp.gains_section(bundle, ctx, 5, names)
    expected = charts.gains_plot_data(bundle.evaluation, "R1", 5, names)
    assert gains.parts[1] == gains_sentence(expected)
    assert gains.parts[1].startswith("Contacting the top 10% of customers by score reaches ")
    assert "Fund (bank)" in gains.parts[1] and "Gold (region)" in gains.parts[1]
    calib = rp.calibration_section(bundle, ctx, 5, names)
    shown = charts.calibration_plot_data(bundle.evaluation, "R1", 5, 5, names)
    assert calib.parts[1] == calibration_sentence(shown)
    assert calib.parts[1].startswith("In the highest-probability bin shown, the predicted")
    import matplotlib.pyplot as plt

    for sec in (gains, calib):
        plt.close(sec.parts[0])


def test_bank_evaluation_is_computed_once_per_data_and_sample(tmp_path, monkeypatch):
    """The bank's table with its bootstrap intervals, the same in every region's report: the
    first report stores it, the others read it back; another sample is computed again."""
    import bankanalysis.report.propensity as module
    from bankanalysis.propensity import evaluation_table

    bundle = _bundle()
    ctx = _ctx()
    ctx.bank = SimpleNamespace(manifest={"fingerprint": "f1"}, folder=tmp_path)
    first = rp.load_bank_evaluation(ctx, bundle)
    direct = evaluation_table(
        bundle.evaluation, n_boot=rp.BOOTSTRAP_RESAMPLES, level=rp.INTERVAL_LEVEL, random_state=0
    )
    pd.testing.assert_frame_equal(first, direct)
    assert first["product"].tolist() == ["fund", "gold"] and first["buyers"].tolist() == [16, 25]
    entries = [e for e in (tmp_path / "_models" / "bank_evaluation").iterdir() if e.is_dir()]
    assert len(entries) == 1

    def no_bootstrap(*args, **kwargs):
        raise AssertionError("computed again")

    monkeypatch.setattr(module, "evaluation_table", no_bootstrap)
    other_region = _ctx("R2")
    other_region.bank = ctx.bank
    pd.testing.assert_frame_equal(rp.load_bank_evaluation(other_region, bundle), direct)
    # the same rows in another order bootstrap otherwise: another entry
    shuffled = _bundle(bundle.evaluation.sample(frac=1.0, random_state=1))
    with pytest.raises(AssertionError, match="computed again"):
        rp.load_bank_evaluation(ctx, shuffled)


def test_five_products_make_five_panels_four_to_a_row_with_one_legend_and_one_x_label():
    """The gains chart lays out one panel per product in the order they come, four to a row
    (no empty sixth to eighth panel), the y label on the left panel of each row, the x label
    once under the figure, and one legend for the figure with the rankings in the model,
    baseline, random order."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    products = ["E", "B", "D", "A", "C"]
    gains = pd.DataFrame(
        [
            (p, r, x, y)
            for p in products
            for r, ys in (("random", (0.0, 0.5, 1.0)), ("model", (0.0, 0.8, 1.0)))
            for x, y in zip((0.0, 0.5, 1.0), ys, strict=True)
        ],
        columns=["product", "ranking", "share_contacted", "share_of_buyers"],
    )
    fig = charts.gains_figure(gains, "2025-09")
    assert [ax.get_title() for ax in fig.axes] == products
    rows = sorted({round(ax.get_position().y0, 3) for ax in fig.axes}, reverse=True)
    assert len(rows) == 2
    first_row = [ax for ax in fig.axes if round(ax.get_position().y0, 3) == rows[0]]
    assert [ax.get_title() for ax in first_row] == products[:4]
    assert [ax.get_ylabel() for ax in fig.axes] == [
        "share of buyers reached (%)",
        "",
        "",
        "",
        "share of buyers reached (%)",
    ]
    assert all(ax.get_xlabel() == "" for ax in fig.axes)
    assert fig._supxlabel.get_text() == "share of customers contacted (%)"
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == ["model", "random"]
    assert all(ax.get_legend() is None for ax in fig.axes)
    # each panel draws its own product's lines only
    first = fig.axes[0]
    assert sorted(
        tuple(line.get_ydata()) for line in first.get_lines() if len(line.get_ydata()) == 3
    ) == [
        (0.0, 0.5, 1.0),
        (0.0, 0.8, 1.0),
    ]
    plt.close("all")


def test_a_chart_of_rows_without_a_product_is_not_drawn():
    """Rows whose product is missing make no panel: no chart rather than an empty grid."""
    gains = pd.DataFrame(
        {
            "product": [None],
            "ranking": ["model"],
            "share_contacted": [0.5],
            "share_of_buyers": [0.8],
        }
    )
    assert charts.gains_figure(gains, "2025-09") is None
    calib = pd.DataFrame({"product": [None], "mean_predicted": [0.1], "observed_rate": [0.1]})
    assert charts.calibration_figure(calib, "2025-09") is None
