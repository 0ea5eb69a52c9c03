"""Hand-made processed tables for the bank-overview tests (two regions, three months)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def customer_month() -> pd.DataFrame:
    """Customers at 2024-01 (base) and 2024-03 (analysis month); see the test docstrings."""
    rows = [
        # month, customer, region, aum, n_products, manager, contact_minutes_3m, wealth card
        ("2024-01", "c1", "RA", 40.0, 1, None, 0.0, 0),
        ("2024-01", "c2", "RA", 400.0, 3, "m1", 0.0, 1),
        ("2024-01", "c6", "RA", 90.0, 1, None, 0.0, 0),
        ("2024-01", "c4", "RB", 150.0, 2, None, 0.0, 0),
        ("2024-03", "c1", "RA", 50.0, 1, None, 0.0, 0),
        ("2024-03", "c2", "RA", 500.0, 3, "m1", 0.0, 1),
        ("2024-03", "c3", "RA", 5000.0, 4, "m1", 10.0, 0),
        ("2024-03", "c4", "RB", 200.0, 2, None, 0.0, 0),
        ("2024-03", "c5", "RB", 20000.0, 5, "m2", 0.0, 1),
    ]
    df = pd.DataFrame(
        rows,
        columns=[
            "month",
            "customer_id",
            "region_id",
            "aum",
            "n_products",
            "manager_id",
            "contact_minutes_3m",
            "hold_wealth_card",
        ],
    )
    df["n_products"] = df["n_products"].astype("int16")
    df["hold_wealth_card"] = df["hold_wealth_card"].astype("int8")
    return df


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
            "txn_n": [10, 0, 10, 30],
            "e_channel_share": [0.5, 0.0, 0.4, 0.8],
            "self_service_sites": [1, 1, 3, 1],
            "self_service_ratio": [0.5, 1.0, 1.5, 1.0],
        }
    )
