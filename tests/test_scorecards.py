"""Account-manager scorecards (propensity/scorecards.py) on a hand-computed book."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from action_data import manager_book

from bankanalysis.propensity.scorecards import new_holdings, scorecards


def test_manager_scorecards_hand_computed():
    conv = pd.DataFrame(
        {
            "manager_id": ["M7"],
            "leads_issued": [4],
            "leads_converted": [1],
            "lead_conversion": [0.25],
        }
    )
    managers = pd.DataFrame(
        {"manager_id": ["M7", "M9"], "outlet_id": ["O1", "O1"], "full_time": [True, False]}
    )
    card = scorecards(manager_book(), managers, True, by="manager_id", conversion=conv)
    assert card.index.tolist() == ["M7", "M9"]  # unassigned customers have no manager row
    m7, m9 = card.loc["M7"], card.loc["M9"]
    assert (m7.customers, m7.customers_quality, m7.customers_vip, m7.customers_mass) == (2, 1, 1, 0)
    assert m7.contact_plan_coverage == pytest.approx(1 / 2)  # c1 contacted of c1, c2
    assert m7.vip_contact_rate == 1.0 and m7.vip_service_minutes == pytest.approx(12.0)
    assert (m7.contacts, m7.contact_minutes_3m) == (1.0, 42.0)
    assert (m7.sales_total, m7.new_customers) == (1, 0)
    assert m7.aum == 1_280_000.0
    assert m7.book_aum_growth == pytest.approx(80_000 / 1_200_000)
    assert (m7.leads_issued, m7.leads_converted, m7.lead_conversion_rate) == (4, 1, 0.25)
    assert math.isnan(m9.contact_plan_coverage), "no quality-and-above customer: no coverage"
    assert m9.book_aum_growth == 0.0
    assert m9.leads_issued == 0 and math.isnan(m9.lead_conversion_rate)


def test_outlet_scorecards_include_customers_without_a_manager():
    card = scorecards(manager_book(), None, True, by="outlet_id")
    assert card["customers"].to_dict() == {"O1": 3, "O2": 2}
    o2 = card.loc["O2"]
    assert o2.contact_plan_coverage == 1.0  # c4 is quality and contacted
    assert (o2.sales_total, o2.new_customers) == (2, 1)
    assert o2.book_aum_growth == pytest.approx(1_000 / 470_000)


def test_scorecards_without_contacts_say_why():
    card = scorecards(manager_book(), None, False, by="manager_id")
    assert card["contact_plan_coverage"].isna().all() and card["contacts"].isna().all()
    assert card.attrs["absent"]["contact_plan_coverage"] == "no contacts table in the data"


def test_new_holdings_count_products_not_held_the_month_before():
    now = pd.DataFrame({"hold_a": [1, 1, 0], "hold_b": [1, 1, 1]}, index=["x", "y", "z"])
    before = pd.DataFrame({"hold_a": [1, 0], "hold_b": [1, 0]}, index=["x", "y"])
    # x: nothing new; y: both; z (not active before): everything held
    assert new_holdings(now, before, ["a", "b"]).tolist() == [0, 2, 1]
