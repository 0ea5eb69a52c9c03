"""Findings of the charts that only explained how to read them: worked out by hand below."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bankanalysis.report.chart_findings import (
    calibration_sentence,
    gains_sentence,
    product_pair_sentences,
    segment_sentences,
)


def _profiles() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "tier": ["mass", "mass", "vip", "vip", "private_banking"],
            "name": ["digital savers", "dormant", "investors", "savers", "all customers"],
            "customers": [600, 5, 200, 150, 20],
            "age": [35.0, 70.0, 52.0, 60.0, 80.0],
            "has_investment": [0.05, 0.0, 0.9, 0.1, 1.0],
        }
    )


def _features() -> pd.DataFrame:
    # 600 x (35, 0.05), 5 x (70, 0), 200 x (52, 0.9), 150 x (60, 0.1); private banking's 20
    # customers are left out of the features so the region's averages stay round below
    rows = [(35.0, 0.05)] * 600 + [(70.0, 0.0)] * 5 + [(52.0, 0.9)] * 200 + [(60.0, 0.1)] * 150
    return pd.DataFrame(rows, columns=["age", "has_investment"])


def test_segments_name_the_largest_and_the_most_distinctive_never_a_small_one() -> None:
    f = _features()
    text = segment_sentences(_profiles(), f, 10)
    assert text.startswith(
        "The largest behaviour segment is Mass: digital savers, 600 customers (61.5% of the "
        "region's 975 in segments)."  # 600 / (600 + 5 + 200 + 150 + 20)
    )
    # investment: mean 0.2356, sd 0.3424; investors (0.9 - 0.2356) / 0.3424 = 1.94 sd, the
    # largest |z| of the split tiers (VIP savers' age: 1.68 sd); private banking's one group
    # (3.2 sd on investment) is a whole tier, not a segment; the dormant 5 are withheld
    mean, sd = f["has_investment"].mean(), f["has_investment"].std(ddof=0)
    assert round((0.9 - mean) / sd, 1) == 1.9
    assert (
        "The most distinctive is VIP: investors: share holding an investment product 90.0% "
        "against 23.6% for the region's customers on average (1.9 standard deviations above)."
    ) in text
    assert text.endswith("1 segment(s) of 1 to 9 customers are withheld.")
    assert "dormant" not in text and "Private banking" not in text


def test_segments_say_why_nothing_is_described() -> None:
    small = _profiles().assign(customers=[5, 4, 3, 2, 1])
    assert segment_sentences(small, _features(), 10) == (
        "Every behaviour segment has fewer than 10 customers, so none is described. "
        "5 segment(s) of 1 to 9 customers are withheld."
    )
    empty = _profiles().iloc[:0]
    assert "no customers to group" in segment_sentences(empty, _features(), 10)


def test_product_pairs_name_the_most_common_pair_and_the_widest_gap() -> None:
    # 100 customers: deposit 90, fund 50 (all with deposit), loan 20 (12 with deposit, 8 not),
    # card 3 (with deposit: a small pair, never named)
    dep = [1] * 90 + [0] * 10
    fund = [1] * 50 + [0] * 50
    loan = [0] * 78 + [1] * 12 + [1] * 8 + [0] * 2
    card = [1] * 3 + [0] * 97
    cm = pd.DataFrame({"hold_dep": dep, "hold_fund": fund, "hold_loan": loan, "hold_card": card})
    names = {"dep": "Deposit", "fund": "Fund", "loan": "Loan", "card": "Card"}
    text = product_pair_sentences(cm, 10, names)
    assert text == (
        "The products most often held together are Deposit and Fund: 50 customers hold both "
        "(55.6% of Deposit's 90 holders, 100.0% of Fund's 50). Of Deposit's holders, the "
        "fewest also hold Loan: 13.3%, the widest cross-selling gap among the products shown."
    )
    assert "Card" not in text  # 3 holders with a deposit: a small group
    few = cm.iloc[:9]
    assert product_pair_sentences(few, 10, names) == (
        "No two products are held together by at least 10 customers, so no pair is named."
    )
    assert "Fewer than two products" in product_pair_sentences(cm[["hold_dep"]], 10, names)


def _gains() -> pd.DataFrame:
    x = [0.0, 0.05, 0.2, 1.0]
    rows = []
    for product, model, base in (
        ("Fund (region)", [0, 0.2, 0.7, 1], [0, 0.1, 0.4, 1]),
        ("Loan (bank)", [0, 0.06, 0.24, 1], [0, 0.08, 0.3, 1]),
    ):
        for ranking, y in (("model", model), ("baseline", base), ("random", x)):
            rows += [(product, ranking, a, b) for a, b in zip(x, y, strict=True)]
    return pd.DataFrame(rows, columns=["product", "ranking", "share_contacted", "share_of_buyers"])


def test_gains_state_the_top_decile_lift_best_and_weakest() -> None:
    text = gains_sentence(_gains())
    # Fund at 10 %: halfway from 0.05 (0.2) to 0.2 (0.7) is 1/3 of the way: 0.2 + 0.5/3 = 0.367
    # baseline 0.1 + 0.3/3 = 0.2; Loan model 0.06 + 0.18/3 = 0.12, baseline 0.08 + 0.22/3 = 0.153
    assert text == (
        "Contacting the top 10% of customers by score reaches 36.7% of the buyers of Fund "
        "(region): a lift of 3.7, 3.7 times the buyers a random tenth would bring, against 20.0% "
        "(lift 2.0) by the tier baseline. Weakest: Loan (bank), 12.0% of its buyers (lift 1.2), "
        "no better than the tier baseline."
    )
    assert gains_sentence(_gains().iloc[:0]) == ""  # no model: the section says why


def test_calibration_names_bins_beyond_sampling_error_only() -> None:
    calib = pd.DataFrame(
        {
            "product": ["Fund (region)", "Fund (region)", "Loan (bank)", "Card (bank)"],
            "n": [500, 100, 400, 50],
            "mean_predicted": [0.05, 0.30, 0.20, 0.10],
            # Fund top: 0.30 vs 0.45, se = sqrt(.3 x .7 / 100) = 0.046: under-stated (3.3 se)
            # Loan: 0.20 vs 0.18, se 0.02: within; Card: 0.10 vs 0.0, se 0.042: over (2.4 se)
            "observed_rate": [0.05, 0.45, 0.18, 0.0],
        }
    )
    se_card = np.sqrt(0.1 * 0.9 / 50)
    assert 0.10 / se_card > 2  # Card: 0.10 - 0.0 = 2.4 se: over-stated
    assert calibration_sentence(calib) == (
        "In the highest-probability bin shown, the predicted probability matches the observed "
        "take-up within sampling error for 1 of 3 products; it over-states take-up for Card "
        "(bank) (10.0% predicted, 0.0% observed among 50 customers): read its top leads' "
        "probabilities as upper bounds; it under-states take-up for Fund (region) (30.0% "
        "predicted, 45.0% observed among 100 customers)."
    )
    assert calibration_sentence(calib.iloc[:0]) == ""


def test_segments_name_only_the_segments_the_chart_shows() -> None:
    from bankanalysis.report.segments import shown_segments

    # the tier table prints mass's 605 customers: naming digital savers' 600 gives the
    # dormant 5 back, so the chart leaves both out and the sentence names VIP's investors
    prof = _profiles()
    shown = shown_segments(prof, 10)
    assert shown["name"].tolist() == ["investors", "savers", "all customers"]
    text = segment_sentences(prof, _features(), 10, described=shown.index)
    assert text.startswith(
        "The largest behaviour segment is VIP: investors, 200 customers (20.5% of the "
        "region's 975 in segments)."
    )
    assert "digital savers" not in text and "dormant" not in text
