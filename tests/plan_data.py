"""Small seeded data for the plan-tracking tests (analytics and report layers)."""

from __future__ import annotations

import pandas as pd
from outlet_months import outlet_months

from bankanalysis.benchmarking.kpis import outlet_kpis

Q1 = ["2025-01", "2025-02", "2025-03"]


def _q1_kpis() -> pd.DataFrame:
    """O1, O2 in R1 (echelon 1) and O3 in R2 (echelon 2) over the first quarter of 2025."""
    rows = []
    for i, m in enumerate(Q1):
        rows.append(dict(month=m, outlet_id="O1", new_deposits=10.0 * (i + 1), aum=100.0 * (i + 1),
                         device_operating_hours=[50.0, 80.0, 20.0][i], staff_fte=2.0, customers=10,
                         sales_total=1.0))  # fmt: skip
        rows.append(dict(month=m, outlet_id="O2", new_deposits=5.0, aum=50.0, staff_fte=1.0,
                         customers=5, sales_total=2.0, device_operating_hours=100.0))  # fmt: skip
        rows.append(dict(month=m, outlet_id="O3", region_id="R2", echelon=2, new_deposits=1.0,
                         aum=10.0, staff_fte=1.0, customers=3, sales_total=0.0,
                         fee_income=7.0))  # fmt: skip
    return outlet_kpis(outlet_months(rows))


def _bank_monthly(values: dict[str, float], kpi: str = "new_deposits") -> pd.DataFrame:
    return pd.DataFrame(
        {"month": list(values), "level": "bank", "id": "bank", kpi: list(values.values())}
    )


def _region_month() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "month": "2025-03",
            "region_id": ["R1", "R2", "R3", "R4"],
            "echelon": [1, 1, 2, 3],
            "fee_income": [100.0, 300.0, 150.0, 30.0],
            "new_deposits": [10.0, 10.0, 20.0, 0.0],
            "deposit_balance": [1000.0, 1000.0, 1500.0, 500.0],
            "customers": [10, 20, 5, 5],
            "outlets": [4, 2, 1, 1],
            "self_service_sites": [10, 7, 3, 2],
        }
    )


def _customer_snapshot() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Six customers at 2025-03 (tiers, products held, the wealth card) and the base month's.

    North (R1, echelon 1): C1 quality 3 products with the card, C2 mass 1, C3 quality 4
    without the card; South (R2, echelon 2): C4 vip 3 with the card, C5 mass 2, C6 mass 1.
    At the base month North had C1, C2, C5 (moved to South since) and C7 (gone), South had
    C4 and C8 (gone).
    """
    tiers = pd.DataFrame(
        {
            "customer_id": ["C1", "C2", "C3", "C4", "C5", "C6"],
            "region_id": ["R1", "R1", "R1", "R2", "R2", "R2"],
            "echelon": [1, 1, 1, 2, 2, 2],
            "outlet_id": ["O1", "O1", "O2", "O3", "O3", "O3"],
            "tier": ["quality", "mass", "quality", "vip", "mass", "mass"],
            "n_products": [3, 1, 4, 3, 2, 1],
            "hold_wealth_card": [1, 0, 0, 1, 0, 0],
        }
    )
    base = pd.DataFrame(
        {
            "customer_id": ["C1", "C2", "C5", "C7", "C4", "C8"],
            "region_id": ["R1", "R1", "R1", "R1", "R2", "R2"],
            "echelon": [1, 1, 1, 1, 2, 2],
            "outlet_id": ["O1", "O1", "O2", "O2", "O3", "O3"],
        }
    )
    return tiers, base
