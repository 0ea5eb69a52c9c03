"""Tests of bankanalysis.propensity on small hand-made banks and hand-computed figures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from propensity_data import FIT_SETTINGS, MemoryBank, lead_offers, make_bank

from bankanalysis.exceptions import ModelError
from bankanalysis.propensity import (
    TierPopularityBaseline,
    TrainingSettings,
    build_features,
    build_labels,
    build_lead_lists,
    evaluate_scores,
    evaluation_table,
    fit_or_load,
    gains_by_product,
    gains_curve,
    leads_by_product,
    next_best_offers,
    offer_summary,
    region_lead_lists,
    score_region,
    skip_reason,
    tier_aum,
)
from bankanalysis.propensity.evaluation import (
    bootstrap_intervals,
    calibration_table,
    expected_calibration_error,
    roc_auc,
    top_fraction_lift,
)
from bankanalysis.propensity.features import cross_sell_products, months_needed
from bankanalysis.propensity.training import evaluation_months, plan_months
from bankanalysis.propensity.uci import benchmark_csv, load_csv_dataset
from bankanalysis.report.workbooks import write_lead_files
from bankanalysis.rules.months import shift_month
from bankanalysis.rules.tiers import TIERS, assign_tiers

UCI_SAMPLE = Path(__file__).parent / "data" / "uci_bank_additional_sample.csv"


@pytest.fixture(scope="module")
def bank(propensity_bank: MemoryBank) -> MemoryBank:
    return propensity_bank


@pytest.fixture(scope="module")
def fitted(propensity_fit):
    return propensity_fit


# ----------------------------------------------------------------------------- labels


def _tiny_cm() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "month": ["2025-01"] * 4 + ["2025-02"] * 3 + ["2025-03"] * 3,
            "customer_id": ["a", "b", "c", "d", "a", "b", "c", "a", "b", "d"],
            "region_id": ["R1"] * 10,
            "manager_id": ["m1", None, "m1", None, "m1", None, "m1", "m1", None, None],
            "aum": [100.0, 50, 10, 5, 120, 40, 10, 150, 30, 7],
            "n_products": [1, 2, 1, 1, 2, 2, 1, 2, 2, 1],
            "hold_fund": [0, 1, 0, 0, 1, 1, 0, 1, 1, 0],
            "hold_gold": [0, 0, 0, 1, 0, 0, 1, 0, 1, 1],
        }
    )


def test_labels_population_and_horizon():
    y = build_labels(_tiny_cm(), "2025-01", 2, ["fund", "gold"])
    assert y.index.tolist() == ["a", "b", "c", "d"]
    # fund: a buys (held at 2025-03), b already holds (NaN), c left, d active but no fund
    assert y["fund"].tolist()[0] == 1.0 and np.isnan(y["fund"].iloc[1])
    assert y["fund"].tolist()[2:] == [0.0, 0.0]
    # gold: b buys by 2025-03, d already holds, c bought in 2025-02 but is gone by 2025-03
    assert y["gold"].iloc[:3].tolist() == [0.0, 1.0, 0.0] and np.isnan(y["gold"].iloc[3])
    y1 = build_labels(_tiny_cm(), "2025-01", 1, ["gold"])
    assert y1["gold"].iloc[:3].tolist() == [0.0, 0.0, 1.0]


def test_labels_need_the_future_month():
    with pytest.raises(ModelError, match="2025-05"):
        build_labels(_tiny_cm(), "2025-02", 3, ["fund"])


def test_features_hand_computed_changes_and_manager_flag():
    X = build_features(_tiny_cm(), "2025-02", regions=["R1", "R2"])
    assert X.index.tolist() == ["a", "b", "c"]
    assert X.loc["a", "aum_chg_1m"] == pytest.approx(20.0)
    assert X.loc["b", "n_products_chg_1m"] == 0.0
    assert np.isnan(X.loc["a", "aum_chg_3m"])  # no data three months before
    assert X["has_manager"].tolist() == [1.0, 0.0, 1.0]
    assert list(X["region"].cat.categories) == ["R1", "R2"]
    assert X["aum"].dtype == np.float32


def test_features_never_read_rows_after_t(bank):
    t = "2025-06"
    before = build_features(bank.cm, t)
    messed = bank.cm.copy()
    late = messed["month"] > t
    num = messed.select_dtypes("number").columns
    messed.loc[late, num] = messed.loc[late, num] * 7 + 1
    messed.loc[late, "region_id"] = "R9"
    messed.loc[late, "manager_id"] = None
    extra = messed[late].head(50).assign(customer_id=lambda d: "NEW" + d["customer_id"])
    messed = pd.concat([messed, extra.assign(month=t).iloc[:0], extra])
    after = build_features(messed, t)
    pd.testing.assert_frame_equal(before, after)


def test_cross_sell_products_and_restriction(bank):
    assert cross_sell_products(bank.products) == ["fund", "insurance", "gold"]
    assert cross_sell_products(bank.products, ["gold", "fund"]) == ["fund", "gold"]
    with pytest.raises(ModelError, match="deposit"):
        cross_sell_products(bank.products, ["deposit"])


def test_plan_months_out_of_time():
    months = [shift_month("2025-01", k) for k in range(10)]
    train, ev, last = plan_months(months, 2, None, 3)
    assert (train, ev, last) == (["2025-04", "2025-05", "2025-06"], "2025-08", "2025-10")
    assert all(shift_month(t, 2) <= ev for t in train)
    with pytest.raises(ModelError, match="horizon 3"):
        plan_months(months[:6], 3, None, 3)


# ----------------------------------------------------------------------------- metrics


def test_metrics_on_hand_made_scores():
    y = np.array([1, 0, 1, 0, 0, 0, 0, 0, 0, 0])
    s = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05])
    # positives at ranks 1 and 3: 16 pairs, 15 won -> 15/16
    assert roc_auc(y, s) == pytest.approx(15 / 16)
    # top decile = 1 row (a buyer): rate 1 / base 0.2 = 5
    assert top_fraction_lift(y, s, 0.1) == pytest.approx(5.0)
    m = evaluate_scores(y, s)
    assert m["capture"] == pytest.approx(0.5)
    assert m["pr_auc"] == pytest.approx((1 + 2 / 3) / 2)
    # Brier by hand
    assert m["brier"] == pytest.approx(np.mean((y - s) ** 2))
    # ECE by hand: bins of width 0.1, each holding one row here
    assert m["ece"] == pytest.approx(np.mean(np.abs(y - s)))
    g = gains_curve(y, s, n_points=10)
    assert g["share_of_buyers"].tolist()[:4] == [0.0, 0.5, 0.5, 1.0]


def test_ece_and_calibration_bins():
    y = [0, 0, 1, 1, 1, 0]
    p = [0.12, 0.18, 0.14, 0.91, 0.95, 0.55]
    t = calibration_table(y, p)
    assert t["bin"].tolist() == [1, 5, 9]
    assert t["observed_rate"].tolist() == pytest.approx([1 / 3, 0.0, 1.0])
    # (3/6)|1/3-0.1467| + (1/6)|0-0.55| + (2/6)|1-0.93|
    expected = 0.5 * abs(1 / 3 - 0.44 / 3) + abs(0 - 0.55) / 6 + abs(1 - 0.93) / 3
    assert expected_calibration_error(y, p) == pytest.approx(expected)


@pytest.mark.parametrize("calibration", ["isotonic", "sigmoid", "none"])
def test_calibrated_probabilities_are_never_certain(calibration):
    """Isotonic regression gives exactly 1.0 and 0.0 on separable data; the model never does."""
    from bankanalysis.propensity.models import PropensityModel

    rng = np.random.default_rng(0)
    x = rng.normal(size=2000)
    X = pd.DataFrame({"x": x, "noise": rng.normal(size=2000)})
    y = (x > 0.5).astype(int)  # perfectly separable: the raw calibration reaches 0 and 1
    model = PropensityModel(max_iter=30, min_samples_leaf=20, calibration=calibration).fit(X, y)
    p = model.predict_proba(X)[:, 1]
    n = 400 if calibration != "none" else 2000  # rows the probabilities were estimated from
    lo, hi = 1 / (n + 2), 1 - 1 / (n + 2)
    assert model.proba_bounds_ == pytest.approx((lo, hi))
    assert lo <= p.min() and p.max() <= hi
    if calibration == "isotonic":  # the raw isotonic fit is certain; the clip is what helps
        raw = model.calibrated_.predict_proba(X)[:, 1]
        assert raw.max() == 1.0 and raw.min() == 0.0
        assert p.max() == pytest.approx(hi) and p.min() == pytest.approx(lo)


def test_single_class_gives_nan_auc():
    assert np.isnan(roc_auc([0, 0, 0], [0.1, 0.2, 0.3]))


# ----------------------------------------------------------------------------- models


def test_models_beat_baseline_out_of_time(fitted):
    bundle, reused, _, _ = fitted
    assert not reused
    assert sorted(bundle.models) == ["fund", "gold", "insurance"]
    tab = evaluation_table(bundle.evaluation)
    assert len(tab) == 3
    # the planted rule ranks by AUM, products and region: the model must see it
    assert (tab["auc"] > 0.7).all(), tab
    assert (tab["auc"] > tab["baseline_auc"]).all(), tab
    assert (tab["ece"] < 0.1).all(), tab
    assert bundle.eval_month == "2025-08" and max(bundle.train_months) == "2025-06"


def test_model_cache_reused_without_training(fitted, bank, monkeypatch):
    bundle, _, settings, cache = fitted
    import bankanalysis.propensity.training as training

    def boom(*a, **k):
        raise AssertionError("retrained although the cache is current")

    monkeypatch.setattr(training, "train_propensity", boom)
    again, reused = fit_or_load(bank, settings, cache)
    assert reused
    assert again.train_months == bundle.train_months
    pd.testing.assert_frame_equal(again.evaluation, bundle.evaluation)
    entries = [p.name for p in cache.iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert len(entries) == 1


def test_training_is_deterministic(bank, fitted):
    bundle, _, settings, _ = fitted
    again, reused = fit_or_load(bank, settings, None)
    assert not reused
    np.testing.assert_array_equal(
        again.evaluation["p_model"].to_numpy(), bundle.evaluation["p_model"].to_numpy()
    )


def test_products_with_too_few_buyers_are_skipped_not_fatal():
    small = make_bank(n=150, n_months=8, seed=5)
    bundle, _ = fit_or_load(small, TrainingSettings(horizon=1, min_buyers=25, max_iter=20), None)
    assert set(bundle.skipped) | set(bundle.models) == {"fund", "insurance", "gold"}
    assert bundle.skipped
    assert all("min_buyers" in r or "min_eval_buyers" in r for r in bundle.skipped.values())


# ----------------------------------------------------------------------------- offers and leads


def test_next_best_offers_weighted_by_value():
    s = pd.DataFrame(
        {"fund": [0.30, 0.10, np.nan], "gold": [0.20, 0.05, 0.4], "insurance": [0.1, 0.5, 0.2]},
        index=["c1", "c2", "c3"],
    )
    o = next_best_offers(s, {"fund": 1.0, "gold": 2.0, "insurance": 0.5}, k=2)
    got = o.groupby("customer_id")["product"].apply(list).to_dict()
    # c1: gold 0.4 > fund 0.3 > ins 0.05; c2: ins 0.25 > fund 0.10 = gold 0.10 (catalogue order)
    assert got == {"c1": ["gold", "fund"], "c2": ["insurance", "fund"], "c3": ["gold", "insurance"]}
    assert o["offer_rank"].tolist() == [1, 2, 1, 2, 1, 2]


@pytest.mark.parametrize("sort", [True, False])
@pytest.mark.parametrize("k", [0, 1, 2, 5])
def test_next_best_offers_rank_as_the_long_frame_does(sort, k):
    # ties (rounded scores, equal values), held products, unsorted ids and parts of 7
    # customers: the numpy ranking gives the long frame's rows, order and dtypes exactly
    from bankanalysis.propensity.leads import _offers_part_long

    rng = np.random.default_rng(3)
    n, products = 60, ["理财", "fund", "gold", "insurance", "bond"]
    ids = [f"C{i:03d}" for i in rng.permutation(n)]
    p = np.round(rng.random((n, len(products))), 1)
    p[rng.random(p.shape) < 0.3] = np.nan
    p[0] = np.nan  # a customer holding everything gets no offer
    s = pd.DataFrame(p, index=pd.Index(sorted(ids) if sort else ids), columns=products)
    values = {"理财": 2.0, "fund": 1.0, "gold": 2.0, "insurance": 0.0}
    want = _offers_part_long(s, values, k)
    assert len(want) > 0 or k == 0
    for chunk in (None, 7):
        pd.testing.assert_frame_equal(next_best_offers(s, values, k, chunk=chunk), want)


def test_next_best_offers_of_a_customer_listed_twice_rank_the_rows_together():
    s = pd.DataFrame({"a": [0.2, 0.5, 0.1], "b": [0.3, np.nan, 0.9]}, index=["c1", "c1", "c2"])
    o = next_best_offers(s, k=2)
    assert o[["customer_id", "product", "probability"]].values.tolist() == [
        ["c1", "a", 0.5],
        ["c1", "b", 0.3],
        ["c2", "b", 0.9],
        ["c2", "a", 0.1],
    ]


def test_lead_lists_ranks_per_manager_and_no_personal_data():
    offers, customers = lead_offers()
    leads = build_lead_lists(offers, customers, leads_per_sheet=2)
    assert "name" not in leads.columns and "phone" not in leads.columns
    by = {k: g for k, g in leads.groupby("sheet")}
    assert set(by) == {"M:1", "unassigned O2"}
    m = by["M:1"]
    assert m["customer_id"].tolist() == ["a", "b"]  # third lead cut by leads_per_sheet
    assert m["rank"].tolist() == [1, 2]
    assert by["unassigned O2"]["customer_id"].tolist() == ["c", "d"]
    assert (
        leads[["customer_id", "tier", "outlet_id", "product", "probability", "rank"]]
        .notna()
        .all()
        .all()
    )


def test_lead_lists_get_shorter_below_the_minimum_probability():
    offers, customers = lead_offers()
    leads = build_lead_lists(offers, customers, leads_per_sheet=5, min_probability=0.4)
    # a (0.5), b (0.4) for M:1; c (0.6) for O2; a's gold (0.2) and d (0.3) are not leads
    assert leads[["sheet", "customer_id"]].values.tolist() == [
        ["M:1", "a"],
        ["M:1", "b"],
        ["unassigned O2", "c"],
    ]
    assert (leads["probability"] >= 0.4).all()
    none = build_lead_lists(offers, customers, leads_per_sheet=5, min_probability=0.7)
    assert none.empty, "no list is padded with offers under the cutoff"


def test_offer_summary_hand_computed():
    offers, customers = lead_offers()
    leads = build_lead_lists(offers, customers, leads_per_sheet=1)
    n_products = pd.Series([1, 2, 3, 2])
    s = offer_summary(offers, leads, n_products)
    assert s["customers"] == 4 and s["leads"] == 2
    assert s["products_per_customer"] == pytest.approx(8 / 4)
    assert s["expected_sales"] == pytest.approx(0.5 + 0.6)
    assert s["expected_new_products_per_customer"] == pytest.approx(1.1 / 4)
    assert s["products_per_customer_after"] == pytest.approx((8 + 1.1) / 4)
    assert s["expected_sales_all_offers"] == pytest.approx(2.0)


def test_region_leads_end_to_end(fitted, bank, tmp_path):
    bundle, _, _, _ = fitted
    region = score_region(bank, bundle, "R2", [50000, 500000, 6000000], 3)
    assert set(region.customers["customer_id"]) == set(
        bank.cm.loc[(bank.cm["month"] == "2025-10") & (bank.cm["region_id"] == "R2"), "customer_id"]
    )
    held = region.X["hold_fund"].to_numpy() > 0
    assert np.isnan(region.scores["fund"].to_numpy()[held]).all()
    offers, leads = region_lead_lists(bundle, region, {"fund": 2.0}, 2, 5, 3, {"fund": "Funds"})
    assert (leads.groupby("sheet")["rank"].max() <= 5).all()
    for _, g in leads.groupby("sheet"):
        assert g["rank"].tolist() == list(range(1, len(g) + 1))
        assert g["expected_value"].is_monotonic_decreasing
    fund = leads["product"] == "fund"
    assert (leads.loc[fund, "product_name"] == "Funds").all()
    assert (leads.loc[~fund, "product_name"] == leads.loc[~fund, "product"]).all()
    assert (leads["reason_1"] != "").mean() > 0.9
    written = write_lead_files(
        leads, tmp_path, "R2", {}, {"fund": "Funds"}, {"data_month": bundle.data_month}
    )
    assert written.workbooks == leads["sheet"].nunique()
    assert all((tmp_path / "restricted" / f).is_file() for f in written.files)


# ----------------------------------------------------------------------------- real data


def test_uci_sample_cross_validated_auc_in_sane_band():
    X, y = load_csv_dataset(UCI_SAMPLE, "y", drop=["duration"], sep=";", positive="yes")
    assert len(y) == 4119 and int(y.sum()) == 451 and "duration" not in X.columns
    res = benchmark_csv(X, y, n_splits=3, model_params={"max_iter": 80})
    assert 0.70 <= res["cv_auc"] <= 0.85, res
    assert res["cv_top_decile_lift"] > 2.5, res
    assert 0.5 < res["oot_auc"] < 0.9, res


def test_uci_loader_names_missing_columns():
    from bankanalysis.exceptions import BankAnalysisError

    with pytest.raises(BankAnalysisError, match="durationx"):
        load_csv_dataset(UCI_SAMPLE, "y", drop=["durationx"], sep=";")


# ----------------------------------------------------------------------------- reasons, baseline, cache


def test_reason_codes_follow_the_model_contributions():
    from sklearn.linear_model import LogisticRegression

    from bankanalysis.propensity.leads import reason_codes

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(400, 3)), columns=["aum", "hold_fund", "age"])
    y = (X["aum"] * 2 - X["age"] + rng.normal(size=400) > 0).astype(int)
    lr = LogisticRegression().fit(X, y)
    who = pd.DataFrame({"aum": [2.0, -1.0], "hold_fund": [1.0, 0.0], "age": [-1.0, -3.0]})
    ref = pd.Series({"aum": 0.0, "hold_fund": 0.0, "age": 0.0})
    got = reason_codes(lr, who, ref, n_reasons=3, product_names={"fund": "基金"})
    coef = dict(zip(X.columns, lr.coef_[0], strict=True))
    for i in range(2):
        contrib = {f: coef[f] * who.loc[i, f] for f in X.columns}
        raising = sorted((f for f in contrib if contrib[f] > 1e-9), key=lambda f: -contrib[f])
        names = [got.loc[i, f"reason_{r + 1}"] for r in range(len(raising))]
        assert [n.split(" =")[0] for n in names] == [
            "holds 基金" if f == "hold_fund" else f for f in raising
        ]
        assert all(got.loc[i, f"reason_{r + 1}"] == "" for r in range(len(raising), 3))


def test_tier_baseline_rates_by_hand():
    X = pd.DataFrame({"avg_aum": [1e3, 2e3, 3e3, 1e5, 2e5, 1e6]})
    y = [0, 0, 1, 1, 1, 0]
    b = TierPopularityBaseline([5e4, 5e5, 6e6], prior_strength=2.0).fit(X, y)
    # overall 0.5; mass (1 of 3 + 2*0.5)/(3+2) = 0.4; quality (2+1)/(2+2) = 0.75
    # vip (0+1)/(1+2) = 1/3; private has no rows: (0+1)/(0+2) = 0.5
    assert b.rates_ == pytest.approx(
        {"mass": 0.4, "quality": 0.75, "vip": 1 / 3, "private_banking": 0.5}
    )
    # the threshold itself belongs to the higher tier, as in every report
    at = pd.DataFrame({"avg_aum": [5e4 - 0.01, 5e4]})
    assert b.predict_proba(at)[:, 1].tolist() == pytest.approx([0.4, 0.75])


def test_cache_builds_once_under_concurrent_callers(tmp_path):
    import threading
    import time

    from bankanalysis.propensity.cache import cache_key, load_or_build

    calls = []

    def build():
        calls.append(1)
        time.sleep(0.3)
        return {"models": len(calls)}

    key = cache_key("fp", {"horizon": 3})
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(load_or_build(tmp_path, key, build)))
        for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1
    assert sorted(r[1] for r in results) == [False, True, True]
    assert all(r[0] == {"models": 1} for r in results)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(f".{key}.") and p.is_dir()]


def test_the_cache_log_names_what_it_holds(tmp_path, caplog):
    """The run's figures share the models' cache: its log says which figure it built or
    reused (an operator reading "cached propensity models" for the new-customer counts would
    look in the wrong place)."""
    from types import SimpleNamespace

    from bankanalysis.propensity.cache import cached_for_data

    bank = SimpleNamespace(manifest={"fingerprint": "fp"}, folder=tmp_path)
    params = {"what": "total counts with lost customers", "month": "2026-10"}
    with caplog.at_level("INFO", logger="bankanalysis.propensity.cache"):
        assert cached_for_data(bank, "total_counts", params, lambda: 7) == (7, False)
        assert cached_for_data(bank, "total_counts", params, lambda: 8) == (7, True)
    said = [r.getMessage() for r in caplog.records]
    assert said[0].startswith("cached total counts with lost customers in ")
    assert said[1].startswith("reusing cached total counts with lost customers ")
    assert not any("propensity" in m for m in said)


def test_region_evaluation_blanks_products_with_few_buyers(fitted):
    bundle = fitted[0]
    ev = bundle.evaluation
    region = evaluation_table(ev, region_id="R3", min_buyers=10_000)
    assert region["auc"].isna().all()
    sel = ev[(ev["region_id"] == "R3") & (ev["product"] == "fund")]
    row = region.set_index("product").loc["fund"]
    assert row["n"] == len(sel) and row["buyers"] == int(sel["y"].sum())


def test_additive_lookup_scores_exactly_like_the_trees():
    from bankanalysis.propensity import PropensityModel

    rng = np.random.default_rng(0)
    n = 6000
    X = pd.DataFrame(
        {
            "a": rng.normal(size=n).astype(np.float32),
            "b": rng.integers(0, 3, n).astype(np.float32),
            "c": np.where(rng.random(n) < 0.1, np.nan, rng.normal(size=n)).astype(np.float32),
        }
    )
    X["region"] = pd.Categorical(rng.choice(["R1", "R2", "R3"], n), categories=["R1", "R2", "R3"])
    noise = rng.normal(size=n)
    y = (X["a"] + 0.5 * X["b"] + X["c"].fillna(0) + (X["region"] == "R2") + noise > 1.5).astype(int)
    m = PropensityModel(max_iter=80).fit(X, y)
    assert m.lookup_ is not None
    Xt = X.copy()
    Xt.loc[:20, "region"] = None  # unseen (missing) category
    Xt.loc[10:40, "a"] = np.nan
    Xt.loc[50:60, "b"] = np.inf
    fast_p, fast_r = m.predict_proba(Xt)[:, 1], m.decision_function(Xt)
    m.lookup_ = None
    np.testing.assert_allclose(fast_r, m.decision_function(Xt), rtol=0, atol=1e-9)
    np.testing.assert_allclose(fast_p, m.predict_proba(Xt)[:, 1], rtol=0, atol=1e-9)


# ----------------------------------------------------------------------------- issue 12/13 rules


def test_training_settings_take_every_default_from_the_parameter_schema():
    from dataclasses import fields

    from bankanalysis.params import PropensityParams

    schema = PropensityParams()
    for f in fields(TrainingSettings):
        default = getattr(TrainingSettings(), f.name)
        expected = getattr(schema, f.name)
        if isinstance(default, tuple):
            default, expected = list(default), [float(x) for x in expected]
        assert default == expected, f.name
    baseline = TierPopularityBaseline()
    assert list(baseline.tier_thresholds) == schema.tier_thresholds
    assert TrainingSettings().tier_months == schema.tier_months


def test_months_needed_covers_lags_and_the_tier_window():
    assert months_needed("2025-06", 1) == ["2025-06", "2025-05", "2025-03"]
    assert months_needed("2025-06", 3) == ["2025-06", "2025-05", "2025-03", "2025-04"]
    assert months_needed("2025-01", 4)[1:] == ["2024-12", "2024-10", "2024-11"]


def test_tier_aum_is_the_window_average_over_months_present():
    cm = _tiny_cm()
    # 2025-03, 3 months: a (100+120+150)/3; b (50+40+30)/3; d absent in 2025-02: (5+7)/2
    got = tier_aum(cm, "2025-03", 3)
    assert got.index.tolist() == ["a", "b", "d"]
    assert got.tolist() == pytest.approx([370 / 3, 40.0, 6.0])
    # history passed apart gives the same result
    now, past = cm[cm["month"] == "2025-03"], cm[cm["month"] < "2025-03"]
    pd.testing.assert_series_equal(tier_aum(now, "2025-03", 3, history=past), got)
    assert tier_aum(cm, "2025-03", 1).tolist() == [150.0, 30.0, 7.0]


def test_tier_aum_equals_the_rules_window_average(bank):
    from bankanalysis.rules.tiers import window_average_aum

    cm = bank.cm.sample(frac=0.85, random_state=4)  # customers missing from some month-ends
    for t, n in (("2025-06", 3), ("2025-03", 4), ("2025-01", 3), ("2025-08", 1)):
        expected = window_average_aum(cm, t, n)["avg_aum"]
        got = tier_aum(cm, t, n)
        assert got.index.equals(expected.index)
        np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=1e-14, atol=0)
        now, past = cm[cm["month"] == t], cm[cm["month"] != t]
        cache: dict = {}
        build_features(now, t, history=past, positions=cache)
        shared = tier_aum(now, t, n, history=past, positions=cache)
        pd.testing.assert_series_equal(shared, got)


def test_baseline_scores_the_tier_of_the_window_average_not_the_spot_aum(fitted, bank):
    """Every evaluated customer's baseline score is its tier's rate, tiers on window-average AUM."""
    bundle, _, settings, _ = fitted
    ev = bundle.evaluation
    avg = tier_aum(bank.cm, bundle.eval_month, settings.tier_months)
    for p in ("fund", "gold"):
        rows = ev[ev["product"] == p]
        tiers = assign_tiers(avg.reindex(rows["customer_id"]).to_numpy(), settings.tier_thresholds)
        rates = bundle.baselines[p].rates_
        expected = np.array([rates[t] for t in tiers], dtype=np.float32)
        np.testing.assert_array_equal(rows["p_baseline"].to_numpy(), expected)
    # the planted bank has customers whose spot AUM and window average fall in different tiers
    spot = bank.cm.loc[bank.cm["month"] == bundle.eval_month].set_index("customer_id")["aum"]
    thr = settings.tier_thresholds
    differ = np.asarray(assign_tiers(spot.reindex(avg.index), thr)) != np.asarray(
        assign_tiers(avg, thr)
    )
    assert differ.any()
    assert set(bundle.baselines["fund"].rates_) == set(TIERS)


def test_skip_reason_separates_training_and_evaluation_minimums():
    s = TrainingSettings(min_buyers=30, min_eval_buyers=10)
    months = ["2025-01", "2025-02", "2025-03"]
    # issue 13: 574 training buyers and 26 evaluation buyers is enough now
    assert skip_reason(574, 9000, 26, months, "2025-06", s) == ""
    assert skip_reason(574, 9000, 9, months, "2025-06", s) == (
        "too few buyers in evaluation: 9 in 2025-06; at least 10 needed (min_eval_buyers)"
    )
    assert skip_reason(29, 9000, 19, months, "2025-06", s) == (
        "too few buyers in training: 29 in 2025-01 to 2025-03; at least 30 needed (min_buyers)"
    )
    both = skip_reason(3, 9000, 2, months[:1], "2025-06", s)
    assert both.startswith("too few buyers in training: 3 in 2025-01;")
    assert both.endswith(
        "too few buyers in evaluation: 2 in 2025-06; at least 10 needed (min_eval_buyers)"
    )
    assert "nothing to rank" in skip_reason(40, 40, 12, months, "2025-06", s)


def test_products_modelled_by_training_and_evaluation_buyers_separately():
    small = make_bank(n=400, n_months=8, seed=5)
    base = TrainingSettings(horizon=1, max_iter=20, min_buyers=5, min_eval_buyers=1)
    b0, _ = fit_or_load(small, base, None)
    tab = evaluation_table(b0.evaluation).set_index("product")
    train_buyers = b0.train_buyers  # all modelled at these minimums; no subsampling (400 rows)
    assert sorted(b0.models) == ["fund", "gold", "insurance"], b0.skipped
    # an evaluation minimum just above one product's evaluation buyers drops only that product
    p_low = tab["buyers"].idxmin()
    cut = int(tab.loc[p_low, "buyers"]) + 1
    assert (tab.drop(index=p_low)["buyers"] >= cut).all()
    b1, _ = fit_or_load(
        small, TrainingSettings(**{**base.cache_params(), "min_eval_buyers": cut}), None
    )
    assert list(b1.skipped) == [p_low]
    assert "(min_eval_buyers)" in b1.skipped[p_low] and "(min_buyers)" not in b1.skipped[p_low]
    # a training minimum above every product's training buyers: nothing is modelled
    high = max(train_buyers.values()) + 1
    b2, _ = fit_or_load(
        small, TrainingSettings(**{**base.cache_params(), "min_buyers": high}), None
    )
    assert not b2.models and sorted(b2.skipped) == ["fund", "gold", "insurance"]


@pytest.fixture(scope="module")
def no_models(bank):
    settings = TrainingSettings(horizon=2, min_buyers=10**6, max_iter=20)
    bundle, _ = fit_or_load(bank, settings, None)
    return bundle


def test_no_product_with_a_model_completes_with_empty_leads(no_models, bank, tmp_path):
    """Issue 13: no model anywhere must not crash (was: 'NoneType' has no attribute 'groupby')."""
    bundle = no_models
    assert not bundle.models and len(bundle.skipped) == 3
    assert bundle.evaluation.empty and list(bundle.evaluation.columns) == [
        "product",
        "region_id",
        "customer_id",
        "y",
        "p_model",
        "p_baseline",
    ]
    tab = evaluation_table(bundle.evaluation)
    assert tab.empty and "auc" in tab.columns
    assert evaluation_table(bundle.evaluation, region_id="R1").empty
    assert gains_by_product(bundle.evaluation, region_id="R1").empty
    region = score_region(bank, bundle, "R1", [50000, 500000, 6000000], 3)
    assert region.scores.shape == (len(region.X), 0)
    offers, leads = region_lead_lists(bundle, region, {}, 2, 50, 3, {})
    assert offers.empty and leads.empty
    s = offer_summary(offers, leads, region.customers["n_products"])
    assert s["leads"] == 0 and s["expected_sales"] == 0.0
    assert s["expected_new_products_per_customer"] == 0.0
    assert leads_by_product(leads).empty
    written = write_lead_files(leads, tmp_path, "R1", {}, {}, {"data_month": bundle.data_month})
    assert written.workbooks == 0 and written.leads == 0


def test_score_region_tiers_are_the_banks_tiers(fitted, bank):
    bundle, _, settings, _ = fitted
    region = score_region(bank, bundle, "R1", settings.tier_thresholds, 3)
    avg = tier_aum(bank.cm[bank.cm["region_id"] == "R1"], bundle.data_month, 3)
    expected = np.asarray(assign_tiers(avg, settings.tier_thresholds), dtype=object)
    assert region.customers["tier"].tolist() == expected.tolist()
    assert set(region.customers["tier"]) <= set(TIERS)


def test_leads_by_product_hand_computed():
    offers, customers = lead_offers()
    leads = build_lead_lists(offers, customers, leads_per_sheet=5)
    by = leads_by_product(leads).set_index("product")
    assert by.loc["fund", "leads"] == 3 and by.loc["gold", "leads"] == 2
    assert by.loc["fund", "expected_sales"] == pytest.approx(0.5 + 0.4 + 0.3)
    assert by.loc["gold", "mean_probability"] == pytest.approx((0.2 + 0.6) / 2)


# ----------------------------------------------------------------------------- issue 13: small data


def test_plan_months_pools_evaluation_months_none_used_for_training():
    months = [shift_month("2025-01", k) for k in range(10)]
    train, ev, last = plan_months(months, 2, None, 3, eval_months=3)
    # evaluation 2025-06..2025-08; training ends horizon (2) months before 2025-06
    assert (train, ev, last) == (["2025-02", "2025-03", "2025-04"], "2025-08", "2025-10")
    assert evaluation_months(ev, 3) == ["2025-06", "2025-07", "2025-08"]
    assert all(shift_month(t, 2) <= "2025-06" for t in train)
    with pytest.raises(ModelError, match="eval_months 6 needs at least 10"):
        plan_months(months[:9], 2, None, 3, eval_months=6)


def test_pooled_evaluation_has_more_buyers_and_no_training_overlap():
    small = make_bank(n=400, n_months=9, seed=5)
    one, _ = fit_or_load(small, TrainingSettings(horizon=1, max_iter=20, min_buyers=5), None)
    two, _ = fit_or_load(
        small, TrainingSettings(horizon=1, max_iter=20, min_buyers=5, eval_months=2), None
    )
    assert one.eval_months == ["2025-08"] and one.eval_period == "2025-08"
    assert two.eval_months == ["2025-07", "2025-08"]
    assert two.eval_period == "2025-07 to 2025-08"
    assert max(two.train_months) == "2025-06" and max(one.train_months) == "2025-07"
    # one month holds too few evaluation buyers of two products; two months are enough
    assert sorted(one.skipped) == ["gold", "insurance"], one.skipped
    assert "4 in 2025-08" in one.skipped["insurance"]
    assert sorted(two.models) == ["fund", "gold", "insurance"], two.skipped
    b1 = evaluation_table(one.evaluation).set_index("product")["buyers"]
    b2 = evaluation_table(two.evaluation).set_index("product")["buyers"]
    assert b2["fund"] > b1["fund"] and (b2 >= 10).all(), (b1, b2)
    # the customers of both months are evaluated (a customer once per month)
    assert len(two.evaluation) > len(one.evaluation)


def _scores(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    s = np.round(rng.random(n), 2)  # 101 levels, many ties like calibrated scores
    y = (rng.random(n) < 0.05 + 0.3 * s).astype(int)
    return y, s


def test_bootstrap_perfect_ranking_is_a_point():
    # buyers always scored above non-buyers: every resample has AUC 1; top 10 % of 100 rows
    # are 10 of the 50 buyers -> buyer rate 1 / base 0.5 = lift 2 in every resample
    ci = bootstrap_intervals([0, 1] * 50, [0.2, 0.8] * 50, n_boot=50)
    assert ci == {"auc_low": 1.0, "auc_high": 1.0, "lift_low": 2.0, "lift_high": 2.0}


def test_bootstrap_interval_contains_estimate_is_seeded_and_shrinks():
    y, s = _scores(2_000, 1)
    ci = bootstrap_intervals(y, s, n_boot=200, random_state=7)
    assert ci["auc_low"] < roc_auc(y, s) < ci["auc_high"]
    assert ci["lift_low"] < top_fraction_lift(y, s) < ci["lift_high"]
    assert bootstrap_intervals(y, s, n_boot=200, random_state=7) == ci
    assert bootstrap_intervals(y, s, n_boot=200, random_state=8) != ci
    y4, s4 = _scores(32_000, 1)  # 16 x the rows: about a quarter of the width
    big = bootstrap_intervals(y4, s4, n_boot=200, random_state=7)
    width, width4 = ci["auc_high"] - ci["auc_low"], big["auc_high"] - big["auc_low"]
    assert 0.15 < width4 / width < 0.4, (width, width4)
    assert big["lift_high"] - big["lift_low"] < ci["lift_high"] - ci["lift_low"]


def test_bootstrap_without_both_classes_or_resamples_is_nan():
    assert all(np.isnan(v) for v in bootstrap_intervals([0, 0, 0], [0.1, 0.2, 0.3]).values())
    assert all(np.isnan(v) for v in bootstrap_intervals([0, 1], [0.1, 0.2], n_boot=0).values())


def test_level_counts_reproduce_auc_and_grouping_keeps_the_centre():
    from bankanalysis.propensity.evaluation import _auc_from_levels, _level_counts

    y, s = _scores(3_000, 2)
    pos, neg = _level_counts(y.astype(float), s, 4096)
    assert _auc_from_levels(pos, neg) == pytest.approx(roc_auc(y, s), abs=1e-12)
    # continuous scores grouped into 64 levels: the interval still surrounds the estimate
    rng = np.random.default_rng(3)
    sc = rng.random(3_000) + y * 0.3
    ci = bootstrap_intervals(y, sc, n_boot=200, max_levels=64)
    assert ci["auc_low"] < roc_auc(y, sc) < ci["auc_high"]


def test_evaluation_table_intervals_per_product(fitted):
    bundle = fitted[0]
    plain = evaluation_table(bundle.evaluation)
    assert plain[["auc_low", "auc_high"]].isna().all().all()
    tab = evaluation_table(bundle.evaluation, n_boot=100, random_state=3)
    assert ((tab["auc_low"] <= tab["auc"]) & (tab["auc"] <= tab["auc_high"])).all()
    assert ((tab["lift_low"] <= tab["lift"]) & (tab["lift"] <= tab["lift_high"])).all()
    pd.testing.assert_frame_equal(
        tab, evaluation_table(bundle.evaluation, n_boot=100, random_state=3)
    )


def test_data_too_short_gives_a_bundle_without_models_and_its_reason(tmp_path):
    """Issue 13: a short extract must not fail the report; the reason reaches the reader."""
    short = make_bank(n=200, n_months=4, seed=5)
    bundle, _ = fit_or_load(short, TrainingSettings(horizon=2, max_iter=20), None)
    assert not bundle.models and bundle.evaluation.empty and bundle.train_months == []
    assert bundle.no_model_reason.startswith("the data hold 4 months up to 2025-04")
    assert "needs at least 5" in bundle.no_model_reason
    region = score_region(short, bundle, "R1", [50000, 500000, 6000000], 3)
    offers, leads = region_lead_lists(bundle, region, {}, 2, 50, 3, {})
    assert offers.empty and leads.empty
    # a data_month outside the data stays an error of the parameters
    with pytest.raises(ModelError, match="data_month 2030-01"):
        fit_or_load(short, TrainingSettings(horizon=2, data_month="2030-01"), None)


# ----------------------------------------------------------------------------- last period's leads


def test_replayed_leads_are_checked_against_later_holdings(fitted, bank):
    from bankanalysis.propensity.conversion import lead_conversion
    from bankanalysis.propensity.workflow import replay_leads

    bundle, _, settings, _ = fitted
    outcomes, issued = replay_leads(
        bank, bundle, "R2", settings.tier_thresholds, 3, None, 2, 20, min_probability=0.0
    )
    assert issued == shift_month(bundle.data_month, -settings.horizon) == bundle.eval_month
    later = bank.cm[(bank.cm["month"] == bundle.data_month) & (bank.cm["region_id"] == "R2")]
    held = later.set_index("customer_id")
    for r in outcomes.sample(50, random_state=0).itertuples():
        expected = r.customer_id in held.index and held.loc[r.customer_id, f"hold_{r.product}"] > 0
        assert r.bought == expected, r
    then = bank.cm[(bank.cm["month"] == issued) & (bank.cm["region_id"] == "R2")]
    assert set(outcomes["customer_id"]) <= set(then["customer_id"])
    assert (outcomes.groupby("sheet").size() <= 20).all()
    table = lead_conversion(outcomes).set_index("product")
    # leads are the best-scored customers: on the planted rule they buy more than the rest
    rest = outcomes[~outcomes["lead"]].groupby("product")["bought"].mean()
    assert (table["lead_conversion"] > rest.reindex(table.index)).all()
    assert table["leads"].sum() == outcomes["lead"].sum()
    # the planted purchases check the scores' promise: leads bought about as often as predicted
    n = table["leads"].sum()
    bought = (table["lead_conversion"] * table["leads"]).sum()
    promised = (table["predicted_conversion"] * table["leads"]).sum()
    assert abs(bought - promised) < 4 * np.sqrt(promised), (bought, promised, n)


def test_replay_says_why_when_the_data_are_too_short(no_models, bank):
    from bankanalysis.propensity.workflow import replay_leads

    outcomes, why = replay_leads(bank, no_models, "R1", [50000, 500000, 6000000], 3, None, 2, 5)
    assert outcomes is None and why == "no product has a model"


def test_manager_book_reads_sales_new_customers_and_base_aum(fitted, bank):
    from bankanalysis.propensity.workflow import manager_book

    bundle, _, settings, _ = fitted
    t = bundle.data_month
    region = score_region(bank, bundle, "R3", settings.tier_thresholds, 3)
    ids = region.customers["customer_id"]
    since = [pd.Timestamp(f"{t}-03")] + [pd.Timestamp("2020-01-01")] * (len(ids) - 1)
    bank.customers = pd.DataFrame({"customer_id": ids, "since": since})  # first one is new
    try:
        book = manager_book(bank, region, t, ["fund", "insurance", "gold"])
    finally:
        del bank.customers
    assert book["is_new"].tolist() == [1] + [0] * (len(ids) - 1)
    cm = bank.cm.set_index(["month", "customer_id"])
    prev = shift_month(t, -1)
    c = book.iloc[5]
    now_held = {p for p in ("fund", "insurance", "gold") if cm.loc[(t, c.customer_id), f"hold_{p}"]}
    before = (
        {p for p in ("fund", "insurance", "gold") if cm.loc[(prev, c.customer_id), f"hold_{p}"]}
        if (prev, c.customer_id) in cm.index
        else set()
    )
    assert c.new_holdings == len(now_held - before)
    three = shift_month(t, -3)
    base = cm.loc[(three, c.customer_id), "aum"] if (three, c.customer_id) in cm.index else 0.0
    assert c.aum_base == pytest.approx(base, rel=1e-5)
    assert book["new_holdings"].sum() > 0


def test_manager_book_counts_the_new_holdings_of_every_catalogue_product(fitted, bank):
    """Product sales (``sales_total``) are new holdings of every product of the catalogue, as
    03's outlet KPIs count them; 02 passed the scored products only, so its scorecards and
    workbooks printed fewer product sales than 03 for the same outlet and month (the default
    bank's R06: 123 against 167)."""
    from bankanalysis.propensity.scorecards import new_holdings
    from bankanalysis.propensity.workflow import manager_book

    bundle, _, settings, _ = fitted
    t = bundle.data_month
    region = score_region(bank, bundle, "R3", settings.tier_thresholds, 3)
    # deposits (not scored: cross_sell false) opened this month by the customers without one
    opened = region.X["hold_deposit"] == 0
    assert 0 < opened.sum() < len(opened)
    region.X.loc[opened, "hold_deposit"] = 1
    bank.customers = pd.DataFrame(
        {"customer_id": region.customers["customer_id"], "since": pd.Timestamp("2020-01-01")}
    )
    try:
        book = manager_book(bank, region, t)
        scored_only = manager_book(bank, region, t, list(region.scores.columns))
    finally:
        del bank.customers
    every = bank.products["product"].astype(str).tolist()
    assert set(region.scores.columns) < set(every)
    prev = bank.cm[bank.cm["month"] == shift_month(t, -1)].set_index("customer_id")
    want = new_holdings(region.X, prev, every).to_numpy()
    assert book["new_holdings"].tolist() == want.tolist()
    extra = book["new_holdings"].to_numpy() - scored_only["new_holdings"].to_numpy()
    assert extra.tolist() == opened.astype(int).tolist()


def test_manager_book_reads_only_its_customers_with_the_old_figures(fitted, bank):
    """The previous month and the customers table are read for the book's customers only, and
    the book equals the one built from the whole bank's month (customers who moved in keep what
    they held in their former region)."""
    from bankanalysis.propensity.scorecards import new_holdings
    from bankanalysis.propensity.workflow import manager_book

    bundle, _, settings, _ = fitted
    t = bundle.data_month
    prev = shift_month(t, -1)
    region = score_region(bank, bundle, "R3", settings.tier_thresholds, 3)
    ids = region.customers["customer_id"]
    everyone = bank.cm["customer_id"].drop_duplicates()
    since = pd.Series(pd.Timestamp("2020-01-01"), index=everyone)
    since.iloc[::7] = pd.Timestamp(f"{t}-02")
    bank.customers = pd.DataFrame({"customer_id": since.index, "since": since.to_numpy()})
    moved = bank.cm.copy()
    mover = ids.iloc[3]
    moved.loc[(moved["month"] == prev) & (moved["customer_id"] == mover), "region_id"] = "R1"
    reads = []
    real, bank.cm = bank.cm, moved
    original = bank.customer_month

    def spy(months=None, region_id=None, columns=None, customer_ids=None):
        reads.append(None if customer_ids is None else set(customer_ids))
        return original(months, region_id, columns, customer_ids)

    bank.customer_month = spy
    try:
        book = manager_book(bank, region, t, ["fund", "insurance", "gold"])
    finally:
        del bank.customer_month
        bank.cm = real
        customers = bank.customers
        del bank.customers
    assert reads == [set(ids)]
    holds = ["hold_fund", "hold_insurance", "hold_gold"]
    whole = moved[moved["month"] == prev].set_index("customer_id")[holds]
    assert mover in whole.index and whole.loc[mover].sum() > 0
    want = new_holdings(region.X[holds], whole, ["fund", "insurance", "gold"]).to_numpy()
    assert book["new_holdings"].tolist() == want.tolist()
    started = customers.set_index("customer_id")["since"].reindex(book["customer_id"])
    want_new = (started.dt.strftime("%Y-%m").to_numpy() == t).astype(int)
    assert book["is_new"].tolist() == want_new.tolist() and 0 < book["is_new"].sum() < len(book)


def test_training_reads_only_the_seeded_sample_with_the_old_rows(bank, monkeypatch):
    """Each training window's seeded sample is drawn from the customer ids before reading: the
    frames the models are fitted on equal the old ones (whole window read, then sampled with the
    same generator), and only the sampled customers' rows are read."""
    from bankanalysis.propensity import training as tr

    settings = TrainingSettings(
        **{**FIT_SETTINGS, "max_train_rows": 600, "train_windows": 2, "products": ("fund",)}
    )
    seen = []
    real = tr.load_features

    def spy(*args, **kwargs):
        out = real(*args, **kwargs)
        seen.append((args[1], kwargs.get("customer_ids"), out))
        return out

    monkeypatch.setattr(tr, "load_features", spy)
    bundle = tr.train_propensity(bank, settings)
    monkeypatch.undo()
    train = [(t, ids, out) for t, ids, out in seen if t in bundle.train_months]
    assert [t for t, _, _ in train] == bundle.train_months and len(train) == 2
    rng = np.random.default_rng(settings.random_state)
    pool = 4 * settings.max_train_rows // len(bundle.train_months)
    for t, ids, out in train:
        whole = real(
            bank,
            t,
            bundle.regions,
            label_horizon=settings.horizon,
            products=bundle.products,
            tier_months=settings.tier_months,
        )
        keep = tr._uniform_rows(len(whole.X), pool, rng)
        assert keep.size == pool < len(whole.X) and ids is not None and len(ids) == pool
        pd.testing.assert_frame_equal(out.X, whole.X.iloc[keep])
        pd.testing.assert_frame_equal(out.Y, whole.Y.iloc[keep])
        pd.testing.assert_series_equal(out.tier_aum, whole.tier_aum.iloc[keep])
    assert bundle.models and all(n <= settings.max_train_rows for n in bundle.train_rows.values())
    # the same seed, the same sample
    again = tr.train_propensity(bank, settings)
    assert again.train_rows == bundle.train_rows
    pd.testing.assert_frame_equal(again.evaluation, bundle.evaluation)


def test_evaluation_reads_only_the_seeded_sample_with_the_old_figures(bank, monkeypatch):
    """The pooled evaluation months' seeded sample is drawn from the customer ids before
    reading: the evaluation equals the old one (every evaluation month read whole, pooled, then
    sampled with the same generator), and only the sampled customers' rows are read."""
    from bankanalysis.propensity import training as tr

    settings = TrainingSettings(
        **{
            **FIT_SETTINGS,
            "max_train_rows": 600,
            "max_eval_rows": 1_000,
            "eval_months": 2,
            "train_windows": 2,
            "products": ("fund", "insurance"),
        }
    )

    def old(bank, eval_list, regions, products, s, rng):
        parts = [
            tr.load_features(
                bank,
                t,
                regions,
                label_horizon=s.horizon,
                products=products,
                tier_months=s.tier_months,
            )
            for t in eval_list
        ]
        X = pd.concat([m.X for m in parts])
        keep = tr._uniform_rows(len(X), s.max_eval_rows, rng)
        Y, A = pd.concat([m.Y for m in parts]), pd.concat([m.tier_aum for m in parts])
        return [tr.MonthData(X.iloc[keep], Y.iloc[keep], A.iloc[keep])]

    with monkeypatch.context() as m:
        m.setattr(tr, "_evaluation_sample", old)
        want = tr.train_propensity(bank, settings)
    seen = []
    real = tr.load_features

    def spy(*args, **kwargs):
        out = real(*args, **kwargs)
        seen.append((args[1], kwargs.get("customer_ids"), len(out.X)))
        return out

    monkeypatch.setattr(tr, "load_features", spy)
    got = tr.train_propensity(bank, settings)
    monkeypatch.undo()
    evals = [(t, ids, n) for t, ids, n in seen if t in got.eval_months]
    pooled = sum((bank.cm["month"] == t).sum() for t in got.eval_months)
    assert len(got.eval_months) == 2 and [t for t, _, _ in evals] == got.eval_months
    assert all(ids is not None and len(ids) == n for _, ids, n in evals)
    assert sum(n for _, _, n in evals) == settings.max_eval_rows < pooled
    assert set(got.models) == {"fund", "insurance"} and len(got.evaluation) > 0
    pd.testing.assert_frame_equal(got.evaluation, want.evaluation)
    assert got.train_rows == want.train_rows and got.skipped == want.skipped


def test_active_ids_are_sorted_whether_or_not_the_reader_sorted_them():
    """The month's ids come back sorted as Python sorts them: taken as read when the reader
    sorted them (Arrow's byte order, non-ASCII ids included), sorted when it did not."""
    from bankanalysis.propensity.training import _active_ids

    ids = ["C10", "C2", "客户7", "C1", "Z9", "客户10"]

    class Reader:
        def __init__(self, order):
            self.order = order

        def customer_month(self, months, columns):
            return pd.DataFrame({"customer_id": pd.array(self.order, dtype="str")})

    import pyarrow as pa
    import pyarrow.compute as pc

    arrow_sorted = pc.take(pa.array(ids), pc.sort_indices(pa.array(ids))).to_pylist()
    assert arrow_sorted == sorted(ids)  # the order the reader gives is Python's
    for order in (ids, arrow_sorted, arrow_sorted[::-1]):
        got = _active_ids(Reader(order), "2026-10")
        assert got.dtype == object and got.tolist() == sorted(ids)
