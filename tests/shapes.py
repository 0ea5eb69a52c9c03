"""Degenerate shapes of a raw bank, as real extracts have them.

Each shape is a pure transform of raw tables (``{table: DataFrame}`` -> the same), applied to a
generated bank; :func:`write_shape` writes the result as a raw folder. Shapes combine: a real
extract is often several of these at once.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

Tables = dict[str, pd.DataFrame]

OPTIONAL = ("transactions", "devices", "device_months", "managers", "contacts", "targets")


def read_raw(raw: Path) -> Tables:
    """Every raw table of a generated bank (Parquet) as frames."""
    return {p.stem: pd.read_parquet(p) for p in sorted(Path(raw).glob("*.parquet"))}


def no_transactions(t: Tables) -> Tables:
    """The expected transactions table is missing."""
    return {k: v for k, v in t.items() if k != "transactions"}


def no_optional(t: Tables) -> Tables:
    """Only the required tables: no transactions, devices, managers, contacts or targets."""
    out = {k: v for k, v in t.items() if k not in OPTIONAL}
    out["customers"] = out["customers"].assign(manager_id=None)
    return out


def one_outlet_per_region(t: Tables) -> Tables:
    """Every region has one outlet: the others' customers, devices and managers move to it."""
    outlets = t["outlets"]
    keep = outlets.groupby("region_id", sort=False).head(1)
    first = outlets["region_id"].map(keep.set_index("region_id")["outlet_id"])
    to_first = dict(zip(outlets["outlet_id"], first, strict=True))
    out = dict(t)
    out["outlets"] = keep.reset_index(drop=True)
    for name in ("customers", "managers", "transactions", "devices"):
        if name in out:
            df = out[name]
            mapped = df["outlet_id"].map(to_first)
            out[name] = df.assign(outlet_id=mapped.where(df["outlet_id"].notna(), None))
    if "targets" in out:
        tg = out["targets"]
        out["targets"] = tg[(tg["level"] != "outlet") | tg["id"].isin(keep["outlet_id"])]
    return out


def lone_echelon(t: Tables) -> Tables:
    """Echelon 1 has exactly one region and echelon 2 exactly one (the rest are echelon 3)."""
    regions = t["regions"].copy()
    regions["echelon"] = [1, 2] + [3] * (len(regions) - 2)
    return {**t, "regions": regions}


def zero_balances(t: Tables) -> Tables:
    """Every balance is zero: every customer sits in the lowest tier."""
    return {**t, "holdings": t["holdings"].assign(balance=0.0)}


def last_months(n: int) -> Callable[[Tables], Tables]:
    """Only the last ``n`` month-ends (and the transactions and contacts within them)."""

    def shape(t: Tables) -> Tables:
        months = sorted(t["holdings"]["month"].unique())[-n:]
        first = pd.Timestamp(f"{months[0]}-01")
        out = dict(t)
        out["holdings"] = t["holdings"][t["holdings"]["month"].isin(months)]
        for name, col in (("transactions", "txn_date"), ("contacts", "contact_date")):
            if name in out:
                df = out[name]
                out[name] = df[pd.to_datetime(df[col]) >= first]
        for name in ("device_months", "targets"):
            if name in out:
                df = out[name]
                out[name] = df[df["month"].isin(months)]
        return out

    return shape


def unheld_products(t: Tables, n: int = 3) -> Tables:
    """The last ``n`` cross-sell products of the catalogue are held by nobody."""
    products = t["products"]
    gone = products.loc[
        products["cross_sell"].astype(str).str.lower().isin(["true", "1"]), "product"
    ]
    gone = set(gone.tail(n))
    out = dict(t)
    out["holdings"] = t["holdings"][~t["holdings"]["product"].isin(gone)]
    if "transactions" in out:
        out["transactions"] = out["transactions"][~out["transactions"]["product"].isin(gone)]
    return out


def tiny(t: Tables, n_customers: int = 300) -> Tables:
    """A few hundred customers (the first of each outlet, in file order)."""
    cust = t["customers"]
    keep = cust.groupby("outlet_id", sort=False).head(
        max(1, n_customers // cust["outlet_id"].nunique())
    )
    ids = set(keep["customer_id"])
    out = dict(t)
    out["customers"] = keep
    for name in ("holdings", "transactions", "contacts"):
        if name in out:
            out[name] = out[name][out[name]["customer_id"].isin(ids)]
    return out


def month_gaps(t: Tables) -> Tables:
    """Every tenth customer is missing from a middle month-end (a gap in the extract)."""
    h = t["holdings"]
    months = sorted(h["month"].unique())
    mid = months[len(months) // 2]
    ids = sorted(t["customers"]["customer_id"])[::10]
    drop = h["month"].eq(mid) & h["customer_id"].isin(ids)
    return {**t, "holdings": h[~drop]}


def compose(*shapes: Callable[[Tables], Tables]) -> Callable[[Tables], Tables]:
    """Apply shapes left to right."""

    def shape(t: Tables) -> Tables:
        for s in shapes:
            t = s(t)
        return t

    return shape


def write_shape(tables: Tables, dest: Path, fmt: str = "parquet", encoding: str = "utf-8") -> Path:
    """Write raw tables to ``dest`` as Parquet, or as CSV in ``encoding`` (e.g. ``gbk``)."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        if fmt == "parquet":
            df.to_parquet(dest / f"{name}.parquet", index=False)
        else:
            df.to_csv(dest / f"{name}.csv", index=False, encoding=encoding)
    return dest
