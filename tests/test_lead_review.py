"""What notebook 02 shows of the restricted lead material (report/lead_review.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bankanalysis.report.format import Absent, Suppressed
from bankanalysis.report.lead_review import (
    conversion_metrics,
    conversion_table,
    conversion_text,
    converted_is_small,
    outlet_scorecard_table,
    scorecard_distribution,
    scorecard_distribution_table,
)


def _cards(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customers": [10 * (i + 1) for i in range(n)],
            "contact_plan_coverage": [0.1 * (i + 1) for i in range(n)],
            "lead_conversion_rate": [float("nan")] * (n - 1) + [0.5],
        },
        index=pd.Index([f"M{i}" for i in range(n)], name="manager_id"),
    )


def test_distribution_shows_quartiles_and_withholds_few_managers():
    dist = scorecard_distribution(_cards(4), min_group_size=3).set_index("measure")
    assert dist.loc["customers", ["q1", "median", "q3"]].tolist() == [17.5, 25.0, 32.5]
    assert dist.loc["customers", "managers"] == 4 and not dist.loc["customers", "suppressed"]
    # one manager had leads then: his conversion is not published as a "median"
    assert dist.loc["lead_conversion_rate", "suppressed"]
    assert dist.loc["lead_conversion_rate", ["q1", "median", "q3"]].isna().all()
    few = scorecard_distribution(_cards(4).assign(customers=[2, 4, 30, 40]), 4).set_index("measure")
    assert few.loc["customers", ["q1", "median", "q3"]].tolist()[1:] == [17.0, 32.5]
    assert np.isnan(few.loc["customers", "q1"]), "a quartile of 3.5 customers is a small count"
    frame = scorecard_distribution_table(dist.reset_index(), 3).frame
    assert frame["Median"].tolist() == ["25", "25.0%", "<3"]
    assert "M0" not in frame.to_string()


def test_outlet_aggregates_withhold_small_outlets_and_show_names():
    cards = pd.DataFrame(
        {
            "customers": [120, 4, 300],
            "sales_total": [30, 2, 40],
            "new_customers": [12, 1, 3],
            "book_aum_growth": [0.05, 0.5, 0.01],
        },
        index=pd.Index(["O1", "O2", "O3"], name="outlet_id"),
    )
    frame = outlet_scorecard_table(cards, {"O1": "东区", "O2": "西区"}, 10).frame
    assert frame["outlet"].tolist() == ["东区", "西区", "O3"]
    assert frame.iloc[0].tolist()[1:] == ["120", "30", "12", "5.0%"]
    assert frame.iloc[1].tolist()[1:] == ["<10", "<10", "<10", "<10"]
    assert frame.iloc[2].tolist()[1:] == ["300", "40", "<10", "1.0%"]  # 3 new customers


def test_outlet_table_withholds_what_the_workbooks_withhold():
    """The CI batch's R01: South converted 9 of its 88 leads (`<10` in the workbook) and
    North 14 of 100 (`x`: the region's 23 less it gives the 9 back). 02 printed South's
    10.2 %, which with the workbook's 88 leads issued is 8.9 .. 9.0, i.e. 9. With the cards
    as the workbooks show them (protect_cards), both rates carry the workbook's marker."""
    from bankanalysis.report.disclosure_cards import protect_cards

    cards = pd.DataFrame(
        {
            "customers": [358, 257],
            "sales_total": [29, 18],
            "leads_issued": [100, 88],
            "leads_converted": [14, 9],
            "lead_conversion_rate": [0.14, 9 / 88],
        },
        index=pd.Index(["O1", "O2"], name="outlet_id"),
    )
    names = {"O1": "North", "O2": "South"}
    before = outlet_scorecard_table(cards, names, 10).frame
    assert before["Lead conversion rate (%)"].tolist() == ["14.0%", "10.2%"]
    table = outlet_scorecard_table(cards, names, 10, shown=protect_cards(cards, 10))
    assert table.frame["Lead conversion rate (%)"].tolist() == ["x", "<10"]
    assert table.frame["Product sales"].tolist() == ["29", "18"]  # printed in both
    assert "withheld as in the region's scorecards workbook" in table.note
    assert "<10" in table.note


def test_outlet_figures_03_prints_keep_03s_answer_in_the_outlet_table():
    """The default bank's R04: the workbook withheld an outlet's 10 new customers as a
    secondary cell (x) while 03 printed them, so 02's table, copying the workbook's marker,
    contradicted 03. Customers and product sales, which 03 prints for every outlet, are shown
    as they are (the workbooks never choose them as secondary cells either); new customers
    follow the workbooks, which carry 03's own decision (``outlet_count_decision``); a rate
    only the workbook and 02 print carries the workbook's marker."""
    from bankanalysis.report.format import Suppressed

    cards = pd.DataFrame(
        {
            "customers": [358, 257],
            "sales_total": [29, 18],
            "new_customers": [10, 13],
            "lead_conversion_rate": [0.14, 0.2],
        },
        index=pd.Index(["O1", "O2"], name="outlet_id"),
    )
    shown = cards.astype("object")
    shown.loc["O1", "new_customers"] = Suppressed(10, "secondary")
    shown.loc["O1", "sales_total"] = Suppressed(10, "secondary")
    shown.loc["O1", "lead_conversion_rate"] = Suppressed(10, "secondary")
    table = outlet_scorecard_table(cards, {"O1": "North", "O2": "South"}, 10, shown=shown)
    assert table.frame["New customers"].tolist() == ["x", "13"]
    assert table.frame["Product sales"].tolist() == ["29", "18"]
    assert table.frame["Lead conversion rate (%)"].tolist() == ["x", "20.0%"]


def _conv() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "product": ["fund", "gold"],
            "leads": [40, 3],
            "lead_buyers": [10, 1],
            "lead_conversion": [0.25, 1 / 3],
            "predicted_conversion": [0.3, 0.2],
            "matched_leads": [40, 0],
            "matched_conversion": [0.25, float("nan")],
            "comparable_customers": [300, 0],
            "comparable_conversion": [0.2, float("nan")],
            "conversion_uplift": [0.05, float("nan")],
        }
    )


def test_conversion_table_and_metrics_follow_the_small_group_rule():
    frame = conversion_table(_conv(), {"fund": "Funds", "gold": "Gold"}, 10).frame
    assert frame.iloc[0].tolist() == [
        "Funds", "40", "25.0%", "30.0%", "40", "25.0%", "20.0%", "+5.0 pp",
    ]  # fmt: skip
    assert frame.iloc[1].tolist() == ["Gold"] + ["<10"] * 7
    few = _conv()
    few.loc[0, "matched_leads"] = 4
    assert conversion_table(few, {}, 10).frame.iloc[0].tolist()[4:] == ["<10"] * 4
    assert conversion_metrics(few, 10)["lead_conversion_uplift[product=fund]"] == Suppressed(10)
    assert conversion_metrics(few, 10)["lead_conversion_rate[product=fund]"] == 0.25
    m = conversion_metrics(_conv(), 10)
    assert m["lead_conversion_rate[product=fund]"] == 0.25
    assert m["lead_conversion_uplift[product=fund]"] == 0.05
    assert m["lead_conversion_rate[product=gold]"] == Suppressed(10)
    conv = _conv()
    conv.loc[1, "leads"] = 30
    assert conversion_metrics(conv, 10)["lead_conversion_uplift[product=gold]"] == Absent(
        "no comparable customer in the leads' score bands"
    )


def test_a_conversion_rate_whose_buyers_are_few_is_withheld_with_its_difference():
    """30 leads of which 4 bought (13.3 %): the rate beside the 30 would give the 4 back, so
    it is withheld; of the 20 compared leads 3 bought (15.0 %): their conversion and the
    difference to the comparable customers' 10.0 % (which with it gives 15.0 % back) are
    withheld, the comparable customers' own rate is shown. 40 leads of which 10 bought stay."""
    conv = pd.DataFrame(
        {
            "product": ["gold", "fund"],
            "leads": [30, 40],
            "lead_conversion": [4 / 30, 0.25],
            "predicted_conversion": [0.2, 0.3],
            "matched_leads": [20, 40],
            "matched_conversion": [0.15, 0.25],
            "comparable_conversion": [0.1, 0.2],
            "conversion_uplift": [0.05, 0.05],
        }
    )
    assert [a.tolist() for a in converted_is_small(conv, 10)] == [[True, False], [True, False]]
    frame = conversion_table(conv, {"gold": "Gold", "fund": "Funds"}, 10).frame
    assert frame.iloc[0].tolist() == ["Gold", "30", "<10", "20.0%", "20", "<10", "10.0%", "<10"]
    assert frame.iloc[1].tolist() == [
        "Funds", "40", "25.0%", "30.0%", "40", "25.0%", "20.0%", "+5.0 pp",
    ]  # fmt: skip
    m = conversion_metrics(conv, 10)
    assert m["lead_conversion_rate[product=gold]"] == Suppressed(10)
    assert m["lead_conversion_uplift[product=gold]"] == Suppressed(10)
    assert m["comparable_conversion_rate[product=gold]"] == 0.1
    assert m["lead_conversion_rate[product=fund]"] == 0.25
    # the sentence compares the products whose compared buyers are none or at least 10
    text = conversion_text(conv, "2025-09", "2025-12", {"fund": "Funds"}, 10)
    assert "25.0% of the 40 Funds leads" in text and "15.0%" not in text
    alone = conversion_text(conv.iloc[:1], "2025-09", "2025-12", {}, 10)
    assert "held 30 leads; no product had enough leads (at least 10)" in alone
    assert "none or at least 10 of them buying" in alone


def test_conversion_text_names_the_issue_month_and_the_biggest_product():
    text = conversion_text(_conv(), "2025-09", "2025-12", {"fund": "Funds"}, 10)
    assert text.startswith("The lists of 2025-09 (rebuilt with today's models and parameters)")
    assert "25.0% of the 40 Funds leads that have comparable customers" in text
    assert "(+5.0 pp)" in text
    none = conversion_text(_conv().iloc[1:], "2025-09", "2025-12", {}, 10)
    assert "no product had enough leads (at least 10)" in none


# --------------------------------------------------------------------------- in parts, as whole


def test_scores_offers_and_replay_in_small_parts_equal_the_whole_on_the_ci_bank(ci_bank):
    """Scoring, ranking offers and replaying last period's leads a few customers at a time
    (parts of 23 to 37 customers, so every region is split many times) give exactly what
    doing each whole gives: the same bits, the same rows in the same order."""
    from bankanalysis.data.load import load_processed
    from bankanalysis.propensity import TrainingSettings, fit_or_load
    from bankanalysis.propensity.conversion import conversion_by_group, lead_conversion
    from bankanalysis.propensity.leads import build_lead_lists, next_best_offers
    from bankanalysis.propensity.training import score_customers
    from bankanalysis.propensity.workflow import replay_conversion, replay_leads, score_region

    bank = load_processed(ci_bank.processed)
    settings = TrainingSettings(max_iter=40, n_threads=1)
    bundle, _ = fit_or_load(bank, settings, None)
    assert bundle.models, bundle.skipped
    region = str(bank.regions["region_id"].iloc[0])
    thresholds = list(settings.tier_thresholds)
    scored = score_region(bank, bundle, region, thresholds, 3)
    n = len(scored.X)
    assert n > 100  # split into several parts below

    whole = score_customers(bundle, scored.X, chunk=n)
    parts = score_customers(bundle, scored.X, chunk=37)
    pd.testing.assert_frame_equal(parts, whole, check_exact=True)
    assert np.array_equal(parts.to_numpy().view(np.int32), whole.to_numpy().view(np.int32))
    p = whole.to_numpy()
    assert np.isfinite(p).sum() > n and ((p[np.isfinite(p)] > 0) & (p[np.isfinite(p)] < 1)).all()
    pd.testing.assert_frame_equal(scored.scores, whole, check_exact=True)

    offers = next_best_offers(whole, {"fund": 3.0}, 2, chunk=n)
    offers_parts = next_best_offers(whole, {"fund": 3.0}, 2, chunk=29)
    pd.testing.assert_frame_equal(offers_parts, offers, check_exact=True)
    assert offers.groupby("customer_id").size().max() == 2 and len(offers) > n
    leads = build_lead_lists(offers, scored.customers, 20, 0.0)
    assert len(leads) > 0

    args = (bank, bundle, region, thresholds, 3, None, 2, 20, 0.0)
    outcomes, issued = replay_leads(*args)
    replay = replay_conversion(*args, chunk=31)
    assert replay.issue_month == issued
    lead_rows = outcomes[outcomes["lead"]].reset_index(drop=True)
    assert len(lead_rows) > 0 and (~outcomes["lead"]).sum() > len(lead_rows)
    pd.testing.assert_frame_equal(replay.leads, lead_rows, check_exact=True)
    assert replay.comparable["size"].sum() == (~outcomes["lead"]).sum()
    assert replay.comparable["sum"].sum() == outcomes.loc[~outcomes["lead"], "bought"].sum()
    for k in (1, 10):
        pd.testing.assert_frame_equal(
            lead_conversion(replay.leads, k, comparable=replay.comparable),
            lead_conversion(outcomes, k),
            check_exact=True,
        )
    for by in ("manager_id", "outlet_id"):
        pd.testing.assert_frame_equal(
            conversion_by_group(replay.leads, by), conversion_by_group(outcomes, by)
        )
