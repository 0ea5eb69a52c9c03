"""The pandas side of prepare: the small dimension tables and the outlet and region months.

The small raw tables (regions, outlets, products and the optional ones; not customers, which
DuckDB types: :func:`bankanalysis.data.prepare_sql.stage_customers`) are read and typed with
pandas (:func:`build_dimensions`); :func:`build_units` assembles outlet_month and region_month
from the per-month customer sums that :func:`bankanalysis.data.prepare_sql.write_customer_month`
collects and the new and closed customers of
:func:`bankanalysis.data.prepare_sql.customer_events` (see docs/processed_data.md).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from bankanalysis.contract import CHANNELS, ECHELONS, PRODUCT_FAMILIES, TABLES
from bankanalysis.data.io import read_table
from bankanalysis.data.prepare_sql import month_end

logger = logging.getLogger(__name__)

#: Optional small tables kept in the processed folder when present and not empty.
OPTIONAL_DIMS = ("managers", "devices", "device_months", "targets")


def contract_frame(df: pd.DataFrame, table: str) -> pd.DataFrame:
    """Keep the contract columns in contract order; add absent optional columns as empty."""
    spec = TABLES[table]
    out = {}
    for col in spec.columns:
        if col.name in df.columns:
            s = df[col.name]
            if col.dtype == "bool" and not col.nullable and not s.isna().any():
                s = s.astype("bool")
            out[col.name] = s
        else:
            dtype = {"date": "datetime64[ns]", "float": "float64", "bool": "boolean"}.get(
                col.dtype, "str"
            )
            out[col.name] = pd.Series(pd.NA if dtype != "str" else None, index=df.index).astype(
                dtype
            )
    return pd.DataFrame(out, index=df.index)


def build_dimensions(raw_dir: Path, encoding: str, present: list[str]) -> dict[str, pd.DataFrame]:
    """Read and type the small tables, with the joins of docs/processed_data.md.

    Not ``customers``: one row per customer, it is typed and written by DuckDB
    (:func:`bankanalysis.data.prepare_sql.write_customers`).

    Parameters
    ----------
    raw_dir : Path
        Folder of validated raw tables.
    encoding : str
        CSV encoding.
    present : list of str
        Raw tables present.

    Returns
    -------
    dict of DataFrame
        ``regions``, ``outlets``, ``products`` and the optional ``managers``, ``devices``,
        ``device_months``, ``targets`` when present.
    """
    dims = {
        t: contract_frame(read_table(raw_dir, t, encoding), t)
        for t in ("regions", "outlets", "products")
    }
    regions = dims["regions"].assign(echelon=lambda d: d["echelon"].astype("int8"))
    regions["echelon_name"] = regions["echelon"].map(ECHELONS).astype("str")
    dims["regions"] = regions
    dims["outlets"] = dims["outlets"].merge(
        regions[["region_id", "echelon"]], on="region_id", how="left", validate="many_to_one"
    )
    for t in OPTIONAL_DIMS:
        if t in present:
            df = contract_frame(read_table(raw_dir, t, encoding), t)
            if len(df):  # a header-only optional table counts as absent
                dims[t] = df
    return dims


# --------------------------------------------------------------------------- outlet and region months


def _add_rates(df: pd.DataFrame) -> pd.DataFrame:
    """Derived columns shared by outlet_month and region_month."""
    out = df.copy()
    sales_cols = [f"sales_{f}" for f in PRODUCT_FAMILIES]
    out["sales_total"] = out[sales_cols].sum(axis=1, min_count=len(sales_cols))
    cust = out["customers"].where(out["customers"] > 0)
    out["products_per_customer"] = out["n_products"] / cust
    txn = out["txn_n"].where(out["txn_n"] > 0)
    out["e_channel_share"] = (out["txn_n"] - out["txn_counter_n"]) / txn
    return out


def _devices_by(dims: dict[str, pd.DataFrame], months: list[str], unit: str) -> pd.DataFrame | None:
    """Device counts, sites and hours per (month, unit); ``None`` without a devices table."""
    dev = dims.get("devices")
    if dev is None:
        return None
    dm = dims.get("device_months")
    rows = []
    for m in months:
        end = month_end(m)
        d = dev[dev["installed"] <= end]
        if unit == "outlet_id":
            d = d[d["outlet_id"].notna()]
        if dm is not None:
            hours = (
                dm[dm["month"] == m]
                .groupby("device_id", observed=True)[["available_hours", "operating_hours"]]
                .sum()
            )
            d = d.join(hours, on="device_id")
        else:
            d = d.assign(available_hours=np.nan, operating_hours=np.nan)
        g = d.groupby(unit, observed=True).agg(
            devices=("device_id", "size"),
            device_available_hours=("available_hours", lambda s: s.sum(min_count=1)),
            device_operating_hours=("operating_hours", lambda s: s.sum(min_count=1)),
        )
        if unit == "region_id":
            g["self_service_sites"] = d.groupby(unit, observed=True)["site_id"].nunique()
            off = d[d["outlet_id"].isna()]
            g["offsite_sites"] = off.groupby(unit, observed=True)["site_id"].nunique()
        rows.append(g.reset_index().assign(month=m))
    return pd.concat(rows, ignore_index=True)


def _managers_by(dims: dict[str, pd.DataFrame], months: list[str], unit: str) -> pd.DataFrame:
    """Managers hired by the month end per (month, unit)."""
    mg = dims.get("managers")
    if mg is None:
        return pd.DataFrame(columns=["month", unit, "managers", "managers_full_time"])
    mg = mg.merge(dims["outlets"][["outlet_id", "region_id"]], on="outlet_id", how="left")
    rows = []
    for m in months:
        d = mg[mg["hired"] <= month_end(m)]
        g = d.groupby(unit, observed=True).agg(
            managers=("manager_id", "size"), managers_full_time=("full_time", "sum")
        )
        rows.append(g.reset_index().assign(month=m))
    return pd.concat(rows, ignore_index=True)


def build_units(
    dims: dict[str, pd.DataFrame],
    months: list[str],
    per_month: dict[str, list[pd.DataFrame]],
    events: dict[str, pd.DataFrame],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Assemble outlet_month and region_month from the per-month customer sums.

    Parameters
    ----------
    dims : dict of DataFrame
        Dimension tables from :func:`build_dimensions`.
    months : list of str
        Sorted data months.
    per_month : dict
        ``{"outlet_id": [...], "region_id": [...]}`` frames of customer sums with a ``month``.
    events : dict
        ``{"outlet_id": frame, "region_id": frame}`` of ``month, <unit>, new_customers,
        closed_customers`` (:func:`bankanalysis.data.prepare_sql.customer_events`).

    Returns
    -------
    (DataFrame, DataFrame)
        outlet_month, region_month as in docs/processed_data.md.
    """
    outlets, regions = dims["outlets"], dims["regions"]
    counts = (
        ["customers", "new_customers", "closed_customers", "n_products", "txn_n"]
        + [f"txn_{c}_n" for c in CHANNELS]
        + ["txn_accounting_n", "txn_accounting_offcounter_n"]
    )
    money = ["aum", "deposit_balance", "fee_income"]
    result = {}
    for unit, base in (("outlet_id", outlets), ("region_id", regions)):
        grid = pd.MultiIndex.from_product([months, base[unit]], names=["month", unit])
        df = pd.DataFrame(index=grid).reset_index()
        sums = pd.concat(per_month[unit], ignore_index=True)
        df = df.merge(sums, on=["month", unit], how="left")
        df = df.merge(events[unit], on=["month", unit], how="left")
        df[counts] = df[counts].fillna(0).astype("int64")
        df[money] = df[money].fillna(0.0)
        first = df["month"] == months[0]
        for f in PRODUCT_FAMILIES:
            c = f"sales_{f}"
            df[c] = df[c].fillna(0.0).where(~first)
        df = df.sort_values([unit, "month"], ignore_index=True)
        prev = df.groupby(unit, observed=True)["deposit_balance"].shift(1)
        df["new_deposits"] = df["deposit_balance"] - prev
        df = _add_rates(df)
        dev = _devices_by(dims, months, unit)
        dev_cols = ["devices", "device_available_hours", "device_operating_hours"]
        if unit == "region_id":
            dev_cols += ["self_service_sites", "offsite_sites"]
        if dev is not None:
            df = df.merge(dev, on=["month", unit], how="left")
            for c in ("devices", "self_service_sites", "offsite_sites"):
                if c in df:
                    df[c] = df[c].fillna(0).astype("int64")
        else:
            for c in dev_cols:
                df[c] = 0 if c in ("devices", "self_service_sites", "offsite_sites") else np.nan
        avail = df["device_available_hours"].where(df["device_available_hours"] > 0)
        df["device_operating_rate"] = df["device_operating_hours"] / avail
        mg = _managers_by(dims, months, unit)
        df = df.merge(mg, on=["month", unit], how="left")
        df[["managers", "managers_full_time"]] = (
            df[["managers", "managers_full_time"]].fillna(0).astype("int64")
        )
        result[unit] = df

    om = result["outlet_id"].merge(
        outlets[["outlet_id", "region_id", "echelon", "outlet_type", "staff_fte", "opened"]],
        on="outlet_id",
        how="left",
    )
    ends = {m: month_end(m) for m in months}
    om = om[om["opened"] <= om["month"].map(ends)]
    om_cols = (
        ["month", "outlet_id", "region_id", "echelon", "outlet_type", "staff_fte"]
        + ["customers", "new_customers", "closed_customers", "aum", "deposit_balance"]
        + ["new_deposits", "fee_income"]
        + [f"sales_{f}" for f in PRODUCT_FAMILIES]
        + ["sales_total", "products_per_customer", "txn_n"]
        + [f"txn_{c}_n" for c in CHANNELS]
        + ["txn_accounting_n", "txn_accounting_offcounter_n"]
        + ["e_channel_share", "devices", "device_available_hours", "device_operating_hours"]
        + ["device_operating_rate", "managers", "managers_full_time"]
    )
    om = om[om_cols].sort_values(["month", "outlet_id"], ignore_index=True)
    om["echelon"] = om["echelon"].astype("int8")

    open_outlets = om.groupby(["month", "region_id"], observed=True).size().rename("outlets")
    rm = result["region_id"].merge(regions[["region_id", "echelon"]], on="region_id", how="left")
    rm = rm.merge(open_outlets.reset_index(), on=["month", "region_id"], how="left")
    rm["outlets"] = rm["outlets"].fillna(0).astype("int64")
    rm["self_service_ratio"] = rm["self_service_sites"] / rm["outlets"].where(rm["outlets"] > 0)
    rm_cols = (
        ["month", "region_id", "echelon", "outlets", "customers", "new_customers"]
        + ["closed_customers", "aum", "deposit_balance", "new_deposits", "fee_income"]
        + ["sales_total", "products_per_customer", "txn_n"]
        + ["txn_accounting_n", "txn_accounting_offcounter_n", "e_channel_share", "devices"]
        + ["self_service_sites", "offsite_sites", "self_service_ratio"]
        + ["device_operating_rate", "managers", "managers_full_time"]
    )
    rm = rm[rm_cols].sort_values(["month", "region_id"], ignore_index=True)
    rm["echelon"] = rm["echelon"].astype("int8")
    return om, rm
