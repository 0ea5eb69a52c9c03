"""A tiny hand-written raw bank whose processed figures can be computed by hand.

Two regions, three outlets, seven products, six customers, three month-ends
(2024-01 .. 2024-03), and every optional table. Tests import :func:`tiny_tables` to
get the frames (and break one on purpose) and :func:`write_tiny_bank` to write them.

Hand-computed facts used by tests (month 2024-03 unless said otherwise):

- active customers per month: 2024-01 C1 C2 C3 C4 C6 (5); 2024-02 C1-C5 (5); 2024-03 C1-C5 (5).
- C6 closed on 2024-02-20: active in 2024-01 only.
- C5 joined on 2024-02-15 (a new customer of O3 in 2024-02).
- AUM (in_aum: current_deposit, time_deposit, fund) 2024-03: C1 81,000; C2 1,000;
  C3 1,130,000; C4 30,000 (the loan is not AUM); C5 4,000. Average of the three month-ends:
  C1 71,000; C2 1,500; C3 1,113,333.33; C4 25,000; C5 3,500 (2 months).
- products held 2024-03: C1 4, C2 3, C3 3, C4 3, C5 2.
- new holdings 2024-02: C1 fund; C2 mobile_banking; C3 wealth_card; C5 current_deposit;
  2024-03: C4 personal_loan; C5 debit_card.
- transactions 2024-03: C1 counter 1 + mobile 2; C4 self_service 1; C2 online 1 (5 in all,
  4 outside the counter). Over 2024-01..03 C1 has 5 transactions, 2 of them at the counter.
- self-service sites: R1 S1 (on-site O1), S2 (off-site) -> 2 sites / 2 outlets; R2 S3 from 2024-02.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

MONTHS = ["2024-01", "2024-02", "2024-03"]


def tiny_tables() -> dict[str, pd.DataFrame]:
    """Return the tiny bank as raw frames (text columns as they would be in a CSV)."""
    regions = pd.DataFrame(
        {
            "region_id": ["R1", "R2"],
            "name": ["中心城区", "东部拓展区"],
            "echelon": [1, 3],
        }
    )
    outlets = pd.DataFrame(
        {
            "outlet_id": ["O1", "O2", "O3"],
            "region_id": ["R1", "R1", "R2"],
            "name": ["人民路支行", "新华社区支行", "东湖支行"],
            "outlet_type": ["flagship", "community", "standard"],
            "staff_fte": [10.0, 4.0, 6.0],
            "opened": ["2020-01-15", "2021-06-01", "2019-03-01"],
        }
    )
    products = pd.DataFrame(
        {
            "product": [
                "current_deposit",
                "time_deposit",
                "fund",
                "debit_card",
                "wealth_card",
                "mobile_banking",
                "personal_loan",
            ],
            "name": ["活期存款", "定期存款", "基金", "借记卡", "财富卡", "手机银行", "个人贷款"],
            "family": ["deposit", "deposit", "investment", "card", "card", "e_banking", "loan"],
            "in_aum": [True, True, True, False, False, False, False],
            "cross_sell": [False, True, True, False, True, True, True],
        }
    )
    customers = pd.DataFrame(
        {
            "customer_id": ["C1", "C2", "C3", "C4", "C5", "C6"],
            "outlet_id": ["O1", "O1", "O2", "O3", "O3", "O2"],
            "manager_id": ["M1", "M1", None, "M2", None, None],
            "birth_year": [1980, 1990, 1960, 1975, 2000, 1985],
            "gender": ["F", "M", "F", "M", "U", "F"],
            "since": [
                "2015-05-10",
                "2022-02-01",
                "2010-01-01",
                "2018-07-07",
                "2024-02-15",
                "2012-01-01",
            ],
            "closed": [None, None, None, None, None, "2024-02-20"],
        }
    )
    h = [
        # 2024-01
        ("2024-01", "C1", "current_deposit", 10000.0),
        ("2024-01", "C1", "time_deposit", 50000.0),
        ("2024-01", "C1", "debit_card", 0.0),
        ("2024-01", "C2", "current_deposit", 2000.0),
        ("2024-01", "C2", "debit_card", 0.0),
        ("2024-01", "C3", "current_deposit", 800000.0),
        ("2024-01", "C3", "fund", 300000.0),
        ("2024-01", "C4", "current_deposit", 20000.0),
        ("2024-01", "C4", "mobile_banking", 0.0),
        ("2024-01", "C6", "current_deposit", 500.0),
        # 2024-02
        ("2024-02", "C1", "current_deposit", 12000.0),
        ("2024-02", "C1", "time_deposit", 50000.0),
        ("2024-02", "C1", "debit_card", 0.0),
        ("2024-02", "C1", "fund", 10000.0),
        ("2024-02", "C2", "current_deposit", 1500.0),
        ("2024-02", "C2", "debit_card", 0.0),
        ("2024-02", "C2", "mobile_banking", 0.0),
        ("2024-02", "C3", "current_deposit", 790000.0),
        ("2024-02", "C3", "fund", 320000.0),
        ("2024-02", "C3", "wealth_card", 0.0),
        ("2024-02", "C4", "current_deposit", 25000.0),
        ("2024-02", "C4", "mobile_banking", 0.0),
        ("2024-02", "C5", "current_deposit", 3000.0),
        # 2024-03
        ("2024-03", "C1", "current_deposit", 11000.0),
        ("2024-03", "C1", "time_deposit", 60000.0),
        ("2024-03", "C1", "debit_card", 0.0),
        ("2024-03", "C1", "fund", 10000.0),
        ("2024-03", "C2", "current_deposit", 1000.0),
        ("2024-03", "C2", "debit_card", 0.0),
        ("2024-03", "C2", "mobile_banking", 0.0),
        ("2024-03", "C3", "current_deposit", 800000.0),
        ("2024-03", "C3", "fund", 330000.0),
        ("2024-03", "C3", "wealth_card", 0.0),
        ("2024-03", "C4", "current_deposit", 30000.0),
        ("2024-03", "C4", "mobile_banking", 0.0),
        ("2024-03", "C4", "personal_loan", 100000.0),
        ("2024-03", "C5", "current_deposit", 4000.0),
        ("2024-03", "C5", "debit_card", 0.0),
    ]
    holdings = pd.DataFrame(h, columns=["month", "customer_id", "product", "balance"])
    t = [
        # txn_date, customer, outlet, channel, product, kind, amount, fee
        ("2024-01-05", "C1", "O1", "counter", "current_deposit", "deposit", 5000.0, 0.0),
        ("2024-01-20", "C3", "O2", "counter", "fund", "purchase", 300000.0, 1500.0),
        ("2024-02-03", "C1", None, "mobile", "fund", "purchase", 10000.0, 50.0),
        ("2024-02-10", "C2", None, "online", None, "transfer", 500.0, 0.0),
        ("2024-02-18", "C5", "O3", "counter", "current_deposit", "deposit", 3000.0, 0.0),
        ("2024-03-01", "C1", "O1", "counter", "time_deposit", "deposit", 10000.0, 0.0),
        ("2024-03-11", "C1", None, "mobile", None, "payment", 200.0, 0.0),
        ("2024-03-12", "C1", None, "mobile", None, "transfer", 800.0, 0.0),
        ("2024-03-15", "C4", "O3", "self_service", "current_deposit", "deposit", 5000.0, 0.0),
        ("2024-03-28", "C2", None, "online", None, "payment", 500.0, 2.0),
    ]
    transactions = pd.DataFrame(
        t,
        columns=[
            "txn_date",
            "customer_id",
            "outlet_id",
            "channel",
            "product",
            "kind",
            "amount",
            "fee_income",
        ],
    )
    managers = pd.DataFrame(
        {
            "manager_id": ["M1", "M2"],
            "outlet_id": ["O1", "O3"],
            "full_time": [True, False],
            "hired": ["2019-01-01", "2020-05-01"],
        }
    )
    contacts = pd.DataFrame(
        {
            "contact_date": ["2024-02-02", "2024-03-05", "2024-03-10"],
            "customer_id": ["C1", "C1", "C4"],
            "manager_id": ["M1", "M1", "M2"],
            "channel": ["visit", "phone", "visit"],
            "minutes": [20.0, 15.0, 30.0],
        }
    )
    devices = pd.DataFrame(
        {
            "device_id": ["D1", "D2", "D3", "D4"],
            "region_id": ["R1", "R1", "R1", "R2"],
            "outlet_id": ["O1", "O1", None, "O3"],
            "site_id": ["S1", "S1", "S2", "S3"],
            "device_type": ["atm", "crs", "atm", "kiosk"],
            "installed": ["2020-01-01", "2020-01-01", "2023-01-01", "2024-02-10"],
        }
    )
    dm = []
    for m in MONTHS:
        dm += [(m, "D1", 720.0, 700.0), (m, "D2", 720.0, 360.0), (m, "D3", 720.0, 720.0)]
    dm += [("2024-02", "D4", 400.0, 300.0), ("2024-03", "D4", 720.0, 540.0)]
    device_months = pd.DataFrame(
        dm, columns=["month", "device_id", "available_hours", "operating_hours"]
    )
    targets = pd.DataFrame(
        {
            "month": ["2024-03", "2024-03"],
            "level": ["region", "outlet"],
            "id": ["R1", "O1"],
            "kpi": ["new_customers", "aum"],
            "target": [2.0, 100000.0],
        }
    )
    return {
        "regions": regions,
        "outlets": outlets,
        "products": products,
        "customers": customers,
        "holdings": holdings,
        "transactions": transactions,
        "managers": managers,
        "contacts": contacts,
        "devices": devices,
        "device_months": device_months,
        "targets": targets,
    }


def write_tables(
    tables: dict[str, pd.DataFrame], raw_dir: Path, fmt: str = "csv", encoding: str = "utf-8"
) -> Path:
    """Write frames as raw files ``<table>.csv`` or ``<table>.parquet`` into ``raw_dir``."""
    raw_dir = Path(raw_dir)
    raw_dir.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        if fmt == "csv":
            out = df.copy()
            for c in out.columns:
                if out[c].dtype == bool:
                    out[c] = out[c].map({True: "true", False: "false"})
            out.to_csv(raw_dir / f"{name}.csv", index=False, encoding=encoding)
        elif fmt == "parquet":
            df.to_parquet(raw_dir / f"{name}.parquet", index=False)
        else:
            raise ValueError(fmt)
    return raw_dir


def write_tiny_bank(raw_dir: Path, fmt: str = "csv") -> Path:
    """Write the tiny bank into ``raw_dir`` and return it."""
    return write_tables(tiny_tables(), raw_dir, fmt=fmt)
