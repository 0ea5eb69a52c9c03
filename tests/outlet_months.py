"""One builder of outlet-month rows for the benchmarking tests (analytics and report shaping).

Each row starts from healthy defaults (one device, some transactions, one new customer) so a test
states only the columns it is about.
"""

from __future__ import annotations

import pandas as pd

DEFAULTS = {
    "region_id": "R1",
    "echelon": 1,
    "outlet_type": "standard",
    "new_customers": 1,
    "aum": 1e6,
    "deposit_balance": 5e5,
    "new_deposits": 1e4,
    "fee_income": 100.0,
    "txn_n": 10,
    "txn_counter_n": 5,
    "txn_self_service_n": 3,
    "devices": 1,
    "device_available_hours": 100.0,
    "device_operating_hours": 50.0,
}


def outlet_months(rows: list[dict], month: str | None = None) -> pd.DataFrame:
    """Outlet-month frame from ``rows`` over :data:`DEFAULTS` (and ``month`` when given)."""
    base = DEFAULTS if month is None else {"month": month, **DEFAULTS}
    return pd.DataFrame([{**base, **r} for r in rows])
