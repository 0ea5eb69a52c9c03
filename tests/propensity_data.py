"""The small in-memory bank of the propensity tests, with a known acquisition rule.

Built once per session by the ``propensity_bank`` fixture (``conftest.py``) and fitted once by
``propensity_fit``; tests read, never change, both.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bankanalysis.rules.months import shift_month

PRODUCTS = ["deposit", "fund", "insurance", "gold"]

#: Training settings of ``propensity_fit``: fast, and enough buyers for every product.
FIT_SETTINGS = {"horizon": 2, "min_buyers": 20, "max_iter": 60, "random_state": 3}


class MemoryBank:
    """The part of ``load_processed``'s interface propensity uses, over in-memory frames."""

    def __init__(self, cm: pd.DataFrame, products: pd.DataFrame, regions: pd.DataFrame) -> None:
        self.cm = cm
        self.products = products
        self.regions = regions
        self.months = sorted(cm["month"].unique().tolist())
        self.manifest = {"fingerprint": "memory-bank-v1"}
        self.reads = 0

    def customer_month(
        self, months=None, region_id=None, columns=None, customer_ids=None
    ) -> pd.DataFrame:
        self.reads += 1
        df = self.cm
        if months is not None:
            df = df[df["month"].isin(list(months))]
        if region_id is not None:
            df = df[df["region_id"] == region_id]
        if customer_ids is not None:
            df = df[df["customer_id"].isin(list(customer_ids))]
        if columns is not None:
            df = df[list(columns)]
        return df.reset_index(drop=True)

    def customers_of(self, customer_ids, columns=None) -> pd.DataFrame:
        """The ``customers`` rows (set by a test) of ``customer_ids``."""
        df = self.customers[self.customers["customer_id"].isin(list(customer_ids))]
        return (df if columns is None else df[list(columns)]).reset_index(drop=True)


def make_bank(n: int = 1500, n_months: int = 10, seed: int = 1) -> MemoryBank:
    """A small bank with a known acquisition rule: richer customers with more products buy more."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"C{i:05d}" for i in range(n)], dtype=object)
    region = rng.choice(["R1", "R2", "R3"], size=n)
    outlet = np.array([f"{r}-O{rng.integers(1, 3)}" for r in region], dtype=object)
    manager = np.where(rng.random(n) < 0.6, [f"M{rng.integers(1, 6)}{r}" for r in region], None)
    birth = rng.integers(1950, 2000, size=n)
    aum = np.exp(rng.normal(10, 1.2, size=n))
    held = {p: rng.random(n) < (0.95 if p == "deposit" else 0.15) for p in PRODUCTS}
    active_from = rng.integers(0, 3, size=n)
    rows = []
    for m in range(n_months):
        month = shift_month("2025-01", m)
        active = active_from <= m
        n_prod = sum(held[p].astype(int) for p in PRODUCTS)
        frame = {
            "month": month,
            "customer_id": ids,
            "outlet_id": outlet,
            "region_id": region,
            "echelon": np.where(region == "R1", 1, 3).astype(np.int8),
            "manager_id": manager,
            "age": (2025 - birth).astype(np.int16),
            "tenure_months": (m + 12 - active_from).astype(np.int16),
            "aum": aum.copy(),
            "bal_deposit": aum * 0.7,
            "bal_investment": aum * 0.2 * held["fund"],
            "bal_insurance": aum * 0.1 * held["insurance"],
            "n_products": n_prod.astype(np.int16),
            "txn_n_1m": rng.poisson(3, size=n).astype(np.int32),
        }
        for p in PRODUCTS:
            frame[f"hold_{p}"] = held[p].astype(np.int8)
        rows.append(pd.DataFrame(frame)[active])
        # next month's acquisitions depend on what is observable now
        logit = -4.2 + 0.9 * (np.log(aum) - 10) + 0.6 * (n_prod - 1) + 0.5 * (region == "R1")
        for p in PRODUCTS[1:]:
            buy = rng.random(n) < 1 / (1 + np.exp(-logit))
            held[p] = held[p] | (buy & active)
        aum = aum * np.exp(rng.normal(0.01, 0.05, size=n))
    cm = pd.concat(rows, ignore_index=True)
    cm["manager_id"] = cm["manager_id"].astype("str")
    cm.loc[cm["manager_id"] == "None", "manager_id"] = None
    products = pd.DataFrame(
        {
            "product": PRODUCTS,
            "name": ["Deposit", "Funds", "Insurance", "Gold"],
            "family": ["deposit", "investment", "insurance", "investment"],
            "in_aum": [True, True, False, True],
            "cross_sell": [False, True, True, True],
        }
    )
    regions = pd.DataFrame({"region_id": ["R1", "R2", "R3"], "name": ["甲", "乙", "丙"]})
    return MemoryBank(cm, products, regions)


def lead_offers() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Five offers to four customers (two of manager ``M:1``, two without a manager, at O2),
    and the customers with a name and phone that no lead list may carry."""
    offers = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "c", "d"],
            "offer_rank": [1, 2, 1, 1, 1],
            "product": ["fund", "gold", "fund", "gold", "fund"],
            "probability": [0.5, 0.2, 0.4, 0.6, 0.3],
            "value": 1.0,
            "expected_value": [0.5, 0.2, 0.4, 0.6, 0.3],
        }
    )
    customers = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "tier": ["mass", "vip", "mass", "quality"],
            "outlet_id": ["O1", "O1", "O2", "O2"],
            "manager_id": ["M:1", "M:1", None, None],
            "name": ["张三", "李四", "王五", "赵六"],
            "phone": ["138", "139", "137", "136"],
        }
    )
    return offers, customers
