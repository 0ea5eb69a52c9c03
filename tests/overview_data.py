"""Hand-made processed tables for the bank-overview tests: two regions, a base month and now.

At 2024-03 (tiers on one month-end, thresholds 100 / 1,000 / 10,000):

======  ======  ======  ======  ==========  =========  =========  ==============  ====
region  outlet  cust.   AUM     tier        products   manager    contacts 1m/3m  card
======  ======  ======  ======  ==========  =========  =========  ==============  ====
RA      OA      c1      50      mass        1          -          0 / 0 min       no
RA      OA      c2      500     quality     3          m1 (full)  1, 20 / 20 min  yes
RA      OA      c3      5,000   VIP         4          m1 (full)  0, 0 / 10 min   no
RB      OB      c4      200     quality     2          -          0 / 0 min       no
RB      OB      c5      20,000  private b.  5          m2 (part)  1, 30 / 30 min  yes
======  ======  ======  ======  ==========  =========  =========  ==============  ====

At the base month 2024-01: c1, c2, c6 in RA and c4 in RB. Managers: m1 (OA, full time), m2
(OB, part time), m3 and m4 (OB, full time, no customers). RA has outlets OA and OA2.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

THRESHOLDS = [100, 1000, 10000]


def customer_month() -> pd.DataFrame:
    """``customer_month`` rows of 2024-01 (base) and 2024-03 (analysis month)."""
    rows = [
        # month, customer, outlet, region, aum, products, manager, contacts, min 1m, min 3m, card
        ("2024-01", "c1", "OA", "RA", 40.0, 1, None, 0, 0.0, 0.0, 0),
        ("2024-01", "c2", "OA", "RA", 400.0, 3, "m1", 0, 0.0, 0.0, 1),
        ("2024-01", "c6", "OA", "RA", 90.0, 1, None, 0, 0.0, 0.0, 0),
        ("2024-01", "c4", "OB", "RB", 150.0, 2, None, 0, 0.0, 0.0, 0),
        ("2024-03", "c1", "OA", "RA", 50.0, 1, None, 0, 0.0, 0.0, 0),
        ("2024-03", "c2", "OA", "RA", 500.0, 3, "m1", 1, 20.0, 20.0, 1),
        ("2024-03", "c3", "OA", "RA", 5000.0, 4, "m1", 0, 0.0, 10.0, 0),
        ("2024-03", "c4", "OB", "RB", 200.0, 2, None, 0, 0.0, 0.0, 0),
        ("2024-03", "c5", "OB", "RB", 20000.0, 5, "m2", 1, 30.0, 30.0, 1),
    ]
    df = pd.DataFrame(
        rows,
        columns=[
            "month",
            "customer_id",
            "outlet_id",
            "region_id",
            "aum",
            "n_products",
            "manager_id",
            "contacts_1m",
            "contact_minutes_1m",
            "contact_minutes_3m",
            "hold_wealth_card",
        ],
    )
    df["n_products"] = df["n_products"].astype("int16")
    df["hold_wealth_card"] = df["hold_wealth_card"].astype("int8")
    return df


def managers() -> pd.DataFrame:
    """Account managers: m1 full time at OA, m2 part time and m3, m4 full time at OB."""
    return pd.DataFrame(
        {
            "manager_id": ["m1", "m2", "m3", "m4"],
            "outlet_id": ["OA", "OB", "OB", "OB"],
            "full_time": [True, False, True, True],
        }
    )


def region_month() -> pd.DataFrame:
    """Region totals of :func:`customer_month`'s regions at 2024-01 and 2024-03."""
    return pd.DataFrame(
        {
            "month": ["2024-01", "2024-01", "2024-03", "2024-03"],
            "region_id": ["RA", "RB", "RA", "RB"],
            "echelon": [1, 1, 1, 1],
            "outlets": [2, 1, 2, 1],
            "customers": [3, 1, 3, 2],
            "aum": [530.0, 150.0, 5550.0, 20200.0],
            "deposit_balance": [100.0, 50.0, 300.0, 60.0],
            "new_deposits": [np.nan, np.nan, 20.0, -5.0],
            "fee_income": [1.0, 2.0, 3.0, 4.0],
            "sales_total": [1.0, 0.0, 2.0, 1.0],
            "products_per_customer": [5 / 3, 2.0, 8 / 3, 3.5],
            "self_service_sites": [1, 1, 3, 1],
        }
    )


def outlet_month() -> pd.DataFrame:
    """Transactions by channel of the outlets at 2024-03 (and 2024-01, which must not count).

    Outlet replacement (self-service / (self-service + counter)): RA (6 + 0) / (6 + 0 + 4 + 10)
    = 0.3, RB 9 / 10 = 0.9. Accounting transactions off the counter: RA (5 + 1) / (8 + 2) = 0.6,
    RB 3 / 4 = 0.75.
    """
    return pd.DataFrame(
        {
            "month": ["2024-01", "2024-03", "2024-03", "2024-03"],
            "outlet_id": ["OA", "OA", "OA2", "OB"],
            "region_id": ["RA", "RA", "RA", "RB"],
            "echelon": [1, 1, 1, 1],
            "txn_self_service_n": [100, 6, 0, 9],
            "txn_counter_n": [0, 4, 10, 1],
            "txn_accounting_offcounter_n": [100, 5, 1, 3],
            "txn_accounting_n": [100, 8, 2, 4],
        }
    )


def tiers_now() -> pd.DataFrame:
    """:func:`bankanalysis.rules.tiers.customer_tiers` of the whole bank at 2024-03."""
    from bankanalysis.rules.tiers import customer_tiers

    return customer_tiers(customer_month(), "2024-03", THRESHOLDS, tier_months=1)


def cm_base() -> pd.DataFrame:
    """The base month's ``customer_id, region_id``."""
    cm = customer_month()
    return cm.loc[cm["month"] == "2024-01", ["customer_id", "region_id"]]
