"""data_support: what a prepared bank can support, on hand-made frames."""

from __future__ import annotations

import json

import pandas as pd

from bankanalysis.data.support import OPTIONAL_TABLES, data_support

MONTHS = ["2024-01", "2024-02"]


def _regions() -> pd.DataFrame:
    return pd.DataFrame({"region_id": ["R2", "R1", "R3"], "echelon": [2, 2, 3]})


def _outlet_month() -> pd.DataFrame:
    rows = [
        # month, outlet, region, echelon, type: O4 opens in February
        ("2024-01", "O1", "R1", 2, "flagship"),
        ("2024-01", "O2", "R1", 2, "standard"),
        ("2024-01", "O3", "R2", 2, "standard"),
        ("2024-02", "O1", "R1", 2, "flagship"),
        ("2024-02", "O2", "R1", 2, "standard"),
        ("2024-02", "O3", "R2", 2, "standard"),
        ("2024-02", "O4", "R2", 2, "standard"),
    ]
    return pd.DataFrame(rows, columns=["month", "outlet_id", "region_id", "echelon", "outlet_type"])


def _product_counts() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "month": ["2024-01", "2024-01", "2024-02", "2024-02"],
            "product": ["deposit", "gold", "deposit", "gold"],
            "holders": [10, 0, 12, 0],
            "buyers": pd.array([pd.NA, pd.NA, 2, 0], dtype="Int64"),
        }
    )


def _support(**kw: object) -> dict:
    args = {
        "tables_present": ["regions", "outlets", "products", "customers", "holdings", "targets"],
        "months": MONTHS,
        "regions": _regions(),
        "outlet_month": _outlet_month(),
        "product_counts": _product_counts(),
        "aum_range": (0.0, 2500.5),
        **kw,
    }
    return data_support(**args)


def test_tables_and_months() -> None:
    s = _support()
    assert s["tables"] == {t: t == "targets" for t in OPTIONAL_TABLES}
    assert set(OPTIONAL_TABLES) == {
        "transactions",
        "managers",
        "contacts",
        "devices",
        "device_months",
        "targets",
    }
    assert s["months"] == {"first": "2024-01", "last": "2024-02", "n": 2}


def test_products_holders_buyers_and_never_held() -> None:
    s = _support()
    assert s["products"]["deposit"] == {
        "holders": {"2024-01": 10, "2024-02": 12},
        "buyers": {"2024-01": None, "2024-02": 2},
    }
    assert s["products"]["gold"]["holders"] == {"2024-01": 0, "2024-02": 0}
    assert s["products_never_held"] == ["gold"]


def test_peer_groups_regions_and_echelons_at_the_data_month() -> None:
    s = _support()
    assert s["outlets_per_peer_group"] == [
        {"echelon": 2, "outlet_type": "flagship", "outlets": 1},
        {"echelon": 2, "outlet_type": "standard", "outlets": 3},  # O4 opened in February
    ]
    # R3 has no open outlet: listed with 0, not left out
    assert s["outlets_per_region"] == {"R1": 2, "R2": 2, "R3": 0}
    assert s["regions_per_echelon"] == {"1": 0, "2": 2, "3": 1}


def test_balances_vary_or_not() -> None:
    assert _support()["balances"] == {"aum_min": 0.0, "aum_max": 2500.5, "vary": True}
    assert _support(aum_range=(0.0, 0.0))["balances"]["vary"] is False
    assert _support(aum_range=(7.0, 7.0))["balances"]["vary"] is False
    assert _support(aum_range=None)["balances"] == {
        "aum_min": None,
        "aum_max": None,
        "vary": False,
    }


def test_empty_bank_is_json_ready() -> None:
    s = _support(
        months=[],
        outlet_month=_outlet_month().iloc[0:0],
        product_counts=_product_counts().iloc[0:0],
        aum_range=None,
    )
    assert s["months"] == {"first": None, "last": None, "n": 0}
    assert s["outlets_per_peer_group"] == [] and s["products"] == {}
    assert s["outlets_per_region"] == {"R1": 0, "R2": 0, "R3": 0}
    assert json.loads(json.dumps(s)) == s
