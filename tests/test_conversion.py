"""Did last period's leads work? (propensity/conversion.py) on planted purchases."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from bankanalysis.propensity.conversion import (
    add_counts,
    comparable_counts,
    conversion_by_group,
    lead_conversion,
    lead_outcomes,
)


def _planted():
    """Ten customers scored for fund; the leads (a-d) and six non-leads; purchases planted.

    Band (0.2, 0.3]: leads a, b (a bought); non-leads e, f, g, h (e bought) -> 1/4.
    Band (0.5, 1.0]: leads c, d (both bought); non-leads i, j (i bought)   -> 1/2.
    Gold: lead k alone in band (0.1, 0.2]: no comparable customer.
    """
    ids = list("abcdefghij") + ["k"]
    fund = [0.25, 0.22, 0.7, 0.6, 0.21, 0.28, 0.3, 0.25, 0.55, 0.9, np.nan]
    gold = [np.nan] * 10 + [0.15]
    scores = pd.DataFrame({"fund": fund, "gold": gold}, index=ids)
    leads = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "k"],
            "product": ["fund"] * 4 + ["gold"],
            "sheet": ["M1", "M1", "M2", "M2", "M2"],
        }
    )
    later = pd.DataFrame(
        {"fund": [1, 0, 1, 1, 1, 0, 0, 0, 1], "gold": [0] * 8 + [1]},
        index=["a", "b", "c", "d", "e", "f", "g", "h", "i"],  # j, k no longer active
    )
    return scores, leads, later


def test_outcomes_mark_leads_and_purchases_and_count_the_departed_as_not_bought():
    out = lead_outcomes(*_planted())
    assert len(out) == 11  # held pairs (NaN scores) are not offerable
    got = out.set_index(["customer_id", "product"])
    assert got.loc[("a", "fund"), "lead"] and got.loc[("a", "fund"), "bought"]
    assert not got.loc[("j", "fund"), "bought"], "a customer gone is not a buyer"
    assert not got.loc[("k", "gold"), "bought"]
    assert got["lead"].sum() == 5 and pd.isna(got.loc[("e", "fund"), "sheet"])


def test_conversion_against_comparable_customers_hand_computed():
    table = lead_conversion(lead_outcomes(*_planted())).set_index("product")
    fund = table.loc["fund"]
    assert (fund.leads, fund.lead_buyers, fund.lead_conversion) == (4, 3, 0.75)
    assert fund.predicted_conversion == pytest.approx((0.25 + 0.22 + 0.7 + 0.6) / 4)
    assert fund.matched_leads == 4 and fund.comparable_customers == 6
    assert fund.matched_conversion == 0.75
    # each band's non-lead rate weighted by its 2 leads: (2 * 1/4 + 2 * 1/2) / 4
    assert fund.comparable_conversion == pytest.approx(0.375)
    assert fund.conversion_uplift == pytest.approx(0.75 - 0.375)
    gold = table.loc["gold"]
    assert (gold.leads, gold.lead_buyers, gold.matched_leads) == (1, 0, 0)
    assert math.isnan(gold.comparable_conversion) and math.isnan(gold.conversion_uplift)


def test_bands_with_too_few_comparable_customers_are_left_out():
    table = lead_conversion(lead_outcomes(*_planted()), min_comparable=3).set_index("product")
    fund = table.loc["fund"]
    # only band (0.2, 0.3] has 3+ non-leads (e-h): leads a, b (1 of 2) against 1/4
    assert (fund.leads, fund.lead_conversion) == (4, 0.75)
    assert (fund.matched_leads, fund.comparable_customers) == (2, 4)
    assert fund.matched_conversion == 0.5 and fund.comparable_conversion == 0.25
    assert fund.conversion_uplift == pytest.approx(0.25)


def test_conversion_per_list():
    per = conversion_by_group(lead_outcomes(*_planted()))
    assert per.to_dict("list") == {
        "sheet": ["M1", "M2"],
        "leads_issued": [2, 3],
        "leads_converted": [1, 2],
        "lead_conversion": [0.5, 2 / 3],
    }


def test_no_leads_no_rows():
    scores, _, later = _planted()
    none = pd.DataFrame({"customer_id": [], "product": []})
    assert lead_conversion(lead_outcomes(scores, none, later)).empty


def test_non_leads_counted_per_band_hand_computed():
    counts = comparable_counts(lead_outcomes(*_planted()))
    got = {(r.product, r.band.right): (r.size, r.sum) for r in counts.itertuples()}
    # fund (0.2, 0.3]: e, f, g, h (e bought); (0.5, 1.0]: i, j (i bought); gold: none
    assert got == {("fund", 0.3): (4, 1), ("fund", 1.0): (2, 1)}
    assert counts["size"].dtype == np.int64 and counts["sum"].dtype == np.int64


def test_conversion_from_lead_rows_and_counted_parts_equals_whole_outcomes():
    scores, leads, later = _planted()
    whole = lead_outcomes(scores, leads, later)
    # two parts of the customers, each part's lead rows kept and its non-leads counted
    parts = [scores.iloc[:5], scores.iloc[5:]]
    outs = [lead_outcomes(s, leads[leads["customer_id"].isin(s.index)], later) for s in parts]
    counts = add_counts([comparable_counts(o) for o in outs])
    assert sorted(counts["size"]) == [2, 4] and counts["sum"].sum() == 2
    lead_rows = whole[whole["lead"]]
    for k in (1, 3):
        expected = lead_conversion(whole, min_comparable=k)
        got = lead_conversion(lead_rows, min_comparable=k, comparable=counts)
        pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert got.set_index("product").loc["fund", "comparable_conversion"] == 0.25
