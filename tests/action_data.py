"""Small seeded data for the action-list tests (analytics and report layers)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bankanalysis.rules.tiers import customer_tiers

THR = [50000.0, 500000.0, 6000000.0]


MONTHS = ["2025-01", "2025-02", "2025-03"]


CUSTOMERS = {
    "c1": ("O1", "M1", [44000, 46000, 48000]),  # avg 46,000 mass: gap 4,000, trend +2,000
    "c2": ("O1", None, [45000, 45000, 45000]),  # avg 45,000 = band floor: in, gap 5,000, flat
    "c3": ("O1", "M1", [44999, 44999, 44999]),  # just under the band: out
    "c4": ("O1", "M1", [50000, 50000, 50000]),  # at the threshold: quality, far from VIP: out
    "c5": ("O2", "M2", [480000, 470000, 460000]),  # avg 470,000 quality: VIP gap 30,000, -10,000
    "c6": (
        "O2",
        "M2",
        [None, None, 5900000],
    ),  # one month-end: avg 5.9 m VIP, gap 100,000, no trend
    "c7": ("O2", "M2", [7e6, 7e6, 7e6]),  # private banking: no next tier
    "c9": ("O1", "M1", [None, 40000, 52000]),  # avg 46,000 mass (month-end above!): gap 4,000
}


def _cm() -> pd.DataFrame:
    rows = []
    for cid, (outlet, manager, aums) in CUSTOMERS.items():
        for month, aum in zip(MONTHS, aums, strict=True):
            if aum is not None:
                rows.append(
                    {
                        "month": month,
                        "customer_id": cid,
                        "outlet_id": outlet,
                        "region_id": "R1",
                        "manager_id": manager,
                        "aum": float(aum),
                    }
                )
    return pd.DataFrame(rows)


def _tiers() -> pd.DataFrame:
    return customer_tiers(_cm(), "2025-03", THR, 3)


def _scores() -> pd.DataFrame:
    nan = np.nan
    return pd.DataFrame(
        {
            "wmp": [0.10, nan, nan, 0.20, 0.9],
            "fund": [0.30, 0.02, nan, 0.20, 0.9],
            "card": [0.90, 0.50, 0.40, 0.05, 0.9],
            "gold": [0.05, 0.01, nan, 0.10, 0.9],
        },
        index=["c1", "c2", "c5", "c9", "c3"],
    )


PRODUCTS = pd.DataFrame(
    {
        "product": ["wmp", "fund", "card", "gold"],
        "name": ["Wealth product", "Fund", "Credit card", "Gold"],
        "in_aum": [True, True, False, True],
    }
)


def _kpis() -> pd.DataFrame:
    # peer group echelon 1 / flagship: A, B, C; D alone in echelon 2 / standard
    values = {
        "A": [10, 10, 10],
        "B": [20, 20, 35],
        "C": [30, 30, 21],
        "D": [5, 5, 5],
    }
    rows = []
    for oid, vals in values.items():
        for month, v in zip(MONTHS, vals, strict=True):
            rows.append(
                {
                    "month": month,
                    "outlet_id": oid,
                    "echelon": 1 if oid != "D" else 2,
                    "outlet_type": "flagship" if oid != "D" else "standard",
                    "sales_per_fte": float(v),
                }
            )
    return pd.DataFrame(rows)


def _dea() -> tuple[pd.DataFrame, pd.DataFrame]:
    scores = pd.DataFrame(
        {
            "efficiency": [2 / 3, 0.9, 1.0],
            "actual_sales_total": [40.0, 90.0, 10.0],
            "target_sales_total": [60.0, 100.0, 10.0],
            "actual_staff_fte": [4.0, 4.0, 2.0],
        },
        index=pd.Index(["A", "C", "D"], name="outlet_id"),
    )
    lambdas = pd.DataFrame(
        {
            "unit": ["A", "A", "C", "D"],
            "peer": ["C", "B", "B", "D"],
            "weight": [0.4, 0.6, 1.0, 1.0],
        }
    )
    return scores, lambdas


def _om() -> pd.DataFrame:
    nan = np.nan
    rows = [  # month, outlet, deposit, investment, card
        ("2025-03", "O1", 9, 9, 9),
        ("2025-03", "O2", 0, 0, 0),
        ("2025-04", "O1", 2, 0, 1),
        ("2025-04", "O2", nan, 1, 5),
        ("2025-05", "O1", 3, 0, 0),
        ("2025-05", "O2", 4, 2, 1),
    ]
    return pd.DataFrame(
        [
            {
                "month": m,
                "outlet_id": o,
                "sales_deposit": float(d),
                "sales_investment": float(i),
                "sales_card": float(c),
                "sales_total": float(d + i + c),
            }
            for m, o, d, i, c in rows
        ]
    )


def manager_book() -> pd.DataFrame:
    """Five customers' books at the data month (propensity.workflow.manager_book's columns):
    managers M7 (c1, c2) and M9 (c5), outlet O2's c3 and c4 without a manager."""
    return pd.DataFrame(
        {
            "customer_id": ["c1", "c2", "c3", "c4", "c5"],
            "tier": ["quality", "vip", "mass", "quality", "mass"],
            "outlet_id": ["O1", "O1", "O2", "O2", "O1"],
            "manager_id": ["M7", "M7", None, None, "M9"],
            "contacts_1m": [1, 0, 0, 2, 0],
            "contact_minutes_1m": [10.0, 0.0, 0.0, 5.0, 0.0],
            "contact_minutes_3m": [30.0, 12.0, 0.0, 5.0, 0.0],
            "aum": [480_000.0, 800_000.0, 1_000.0, 470_000.0, 2_000.0],
            "aum_base": [400_000.0, 800_000.0, 0.0, 470_000.0, 2_000.0],
            "new_holdings": [1, 0, 2, 0, 0],
            "is_new": [0, 0, 1, 0, 0],
        }
    )
