"""Raw -> processed: validate, then build ``data/processed/`` atomically (see docs/processed_data.md).

Holdings, transactions and contacts are aggregated by DuckDB straight from the raw files
(never loaded whole into pandas); dimension tables are small and typed with pandas. The
result is written into a temporary folder next to the output folder and swapped in at the
end, with ``_manifest.json``. When the fingerprint of the raw files and of this code is
unchanged, nothing is done.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from bankanalysis import __version__
from bankanalysis.contract import (
    CHANNELS,
    E_CHANNELS,
    ECHELONS,
    PRODUCT_FAMILIES,
    TABLE_ORDER,
    TABLES,
)
from bankanalysis.data.atomic import atomic_write_parquet, atomic_write_text, swap_in_dir
from bankanalysis.data.io import (
    duckdb_source,
    find_table_file,
    quote_ident,
    read_table,
    source_columns,
    sql_value_expr,
)
from bankanalysis.data.validate import RawCheck, check_raw, key_violations, validate_raw
from bankanalysis.exceptions import DataContractError, ProcessedDataError

logger = logging.getLogger(__name__)

#: Bump when the processed layout or a definition changes (part of the fingerprint).
PREPARE_VERSION = "1"
MANIFEST = "_manifest.json"
MODELS_DIR = "_models"
#: Rows per Parquet row group of customer_month (month and region filters prune on them).
ROW_GROUP_SIZE = 65_536
#: DuckDB memory limit; aggregations above it spill to disk in the build folder.
DUCKDB_MEMORY_LIMIT = os.environ.get("BANKANALYSIS_DUCKDB_MEMORY", "2GB")
_BITS = 63  # products per UBIGINT holding mask
#: Decimals kept when money and minutes are summed exactly (see :func:`exact_sum`).
SUM_SCALE = 6
OPTIONAL_DIMS = ("managers", "devices", "device_months", "targets")


@dataclass
class PrepareResult:
    """What :func:`prepare` did.

    Attributes
    ----------
    skipped : bool
        True when the raw data and code were unchanged and nothing was rebuilt.
    fingerprint : str
        Fingerprint of the raw files and the prepare code.
    row_counts : dict
        Rows per processed table.
    out_dir : Path
        Processed folder.
    months : list of str
        Months of the data.
    seconds : float
        Wall time.
    """

    skipped: bool
    fingerprint: str
    row_counts: dict[str, int]
    out_dir: Path
    months: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        """One short human-readable paragraph for the command line."""
        if self.skipped:
            return (
                f"{self.out_dir}: up to date (raw data unchanged, fingerprint "
                f"{self.fingerprint[:12]}); nothing to do. Use --force to rebuild."
            )
        counts = ", ".join(f"{k} {v:,}" for k, v in self.row_counts.items())
        span = f"{self.months[0]}..{self.months[-1]}" if self.months else "-"
        return (
            f"{self.out_dir}: prepared months {span} in {self.seconds:.1f} s "
            f"(fingerprint {self.fingerprint[:12]}); rows: {counts}"
        )


# --------------------------------------------------------------------------- fingerprint


def code_version() -> str:
    """Hash of the package version, :data:`PREPARE_VERSION` and the data-layer source code."""
    h = hashlib.sha256(f"{__version__}|{PREPARE_VERSION}".encode())
    here = Path(__file__).resolve().parent
    for name in ("prepare.py", "io.py"):
        with contextlib.suppress(OSError):
            h.update((here / name).read_bytes())
    return h.hexdigest()


def raw_files(raw_dir: Path) -> list[Path]:
    """The contract table files present in ``raw_dir`` (``_truth/`` and others excluded)."""
    files = [find_table_file(raw_dir, t) for t in TABLE_ORDER]
    return [f for f in files if f is not None]


def compute_fingerprint(raw_dir: Path, encoding: str = "utf-8") -> str:
    """Return a sha256 over the raw files' names, sizes and contents and the prepare code.

    Parameters
    ----------
    raw_dir : Path
        Folder of raw tables.
    encoding : str
        CSV encoding (part of the fingerprint: it changes what is read).

    Returns
    -------
    str
        Hex digest.
    """
    h = hashlib.sha256()
    h.update(code_version().encode())
    h.update(encoding.lower().replace("_", "-").encode())
    for path in raw_files(Path(raw_dir)):
        h.update(f"|{path.name}|{path.stat().st_size}|".encode())
        with open(path, "rb") as f:
            while chunk := f.read(8 * 1024 * 1024):
                h.update(chunk)
    return h.hexdigest()


def read_manifest(out_dir: Path) -> dict | None:
    """Return the manifest of a processed folder, or ``None`` when absent or unreadable."""
    path = Path(out_dir) / MANIFEST
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _is_current(out_dir: Path, manifest: dict | None, fingerprint: str) -> bool:
    if not manifest or manifest.get("fingerprint") != fingerprint:
        return False
    return all((out_dir / f"{t}.parquet").is_file() for t in manifest.get("row_counts", {}))


# --------------------------------------------------------------------------- dimension tables


def _contract_frame(df: pd.DataFrame, table: str) -> pd.DataFrame:
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
        ``regions``, ``outlets``, ``products``, ``customers`` and the optional ``managers``,
        ``devices``, ``device_months``, ``targets`` when present.
    """
    dims = {
        t: _contract_frame(read_table(raw_dir, t, encoding), t)
        for t in ("regions", "outlets", "products", "customers")
    }
    regions = dims["regions"].assign(echelon=lambda d: d["echelon"].astype("int8"))
    regions["echelon_name"] = regions["echelon"].map(ECHELONS).astype("str")
    dims["regions"] = regions
    dims["outlets"] = dims["outlets"].merge(
        regions[["region_id", "echelon"]], on="region_id", how="left", validate="many_to_one"
    )
    dims["customers"] = dims["customers"].merge(
        dims["outlets"][["outlet_id", "region_id", "echelon"]],
        on="outlet_id",
        how="left",
        validate="many_to_one",
    )
    for t in ("managers", "devices", "device_months", "targets"):
        if t in present:
            df = _contract_frame(read_table(raw_dir, t, encoding), t)
            if len(df):  # a header-only optional table counts as absent
                dims[t] = df
    return dims


def _build_dimensions_timed(
    raw_dir: Path, encoding: str, present: list[str]
) -> dict[str, pd.DataFrame]:
    with _timed("dimension tables"):
        return build_dimensions(raw_dir, encoding, present)


# --------------------------------------------------------------------------- DuckDB helpers


def _typed_view(
    con: duckdb.DuckDBPyConnection,
    name: str,
    src: str,
    table: str,
    plain: set[str] | frozenset[str] = frozenset(),
) -> None:
    """Create view ``name`` with the contract columns of ``table`` converted to their types.

    Columns in ``plain`` are text columns the validator found already clean (nothing to trim,
    no null tokens): they are read as stored, which spares a conversion per row.
    """
    types = source_columns(con, src)
    spec = TABLES[table]
    cols = []
    for col in spec.columns:
        if col.name in plain and col.name in types:
            cols.append(quote_ident(col.name))
        elif col.name in types:
            cols.append(
                f"{sql_value_expr(col.name, col.dtype, types[col.name])} AS {quote_ident(col.name)}"
            )
        else:
            cols.append(f"NULL AS {quote_ident(col.name)}")
    con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT {', '.join(cols)} FROM {src}")


@contextlib.contextmanager
def _timed(what: str) -> Iterator[None]:
    """Log the wall and CPU time of a stage (DEBUG)."""
    w, c = time.perf_counter(), time.process_time()
    yield
    logger.debug(
        "%s: %.1f s wall, %.1f s CPU", what, time.perf_counter() - w, time.process_time() - c
    )


def _month_idx_sql(month_expr: str) -> str:
    return (
        f"(CAST(substr({month_expr}, 1, 4) AS INTEGER) * 12 + "
        f"CAST(substr({month_expr}, 6, 2) AS INTEGER) - 1)"
    )


def _month_index(month: str) -> int:
    return int(month[:4]) * 12 + int(month[5:7]) - 1


def month_end(month: str) -> pd.Timestamp:
    """Last day of a ``YYYY-MM`` month."""
    return pd.Period(month, freq="M").end_time.normalize()


def _partition_files(folder: Path, key: str, value: object) -> list[str]:
    d = folder / f"{key}={value}"
    return sorted(str(p) for p in d.glob("*.parquet")) if d.is_dir() else []


def _sql_list(paths: list[str]) -> str:
    return "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in paths) + "]"


def exact_sum(expr: str, where: str | None = None) -> str:
    """SQL of an order-independent sum of a DOUBLE expression (NULL when no rows).

    DuckDB adds doubles in the order its threads happen to combine partial sums, so the same
    raw data could give sums differing in the last bits from one prepare to the next. Summing
    as ``DECIMAL(38, SUM_SCALE)`` (exact integer arithmetic; inputs rounded to a millionth of
    a currency unit) and converting back once makes every run give the same, correctly
    rounded, result.

    Parameters
    ----------
    expr : str
        SQL expression (DOUBLE).
    where : str, optional
        ``FILTER`` condition.

    Returns
    -------
    str
        SQL of a DOUBLE aggregate.
    """
    filt = f" FILTER (WHERE {where})" if where else ""
    return f"CAST(sum(CAST({expr} AS DECIMAL(38, {SUM_SCALE}))){filt} AS DOUBLE)"


@dataclass
class _Catalogue:
    """Products in catalogue order with their bit in the holding masks."""

    products: list[str]
    families: dict[str, str]
    in_aum: dict[str, bool]

    @property
    def n_masks(self) -> int:
        return max(1, -(-len(self.products) // _BITS))

    def slot(self, product: str) -> tuple[int, int]:
        i = self.products.index(product)
        return i // _BITS, i % _BITS

    def family_mask(self, family: str, k: int) -> int:
        bits = 0
        for p in self.products:
            g, b = self.slot(p)
            if g == k and self.families[p] == family:
                bits |= 1 << b
        return bits


# --------------------------------------------------------------------------- stage 1: big aggregates


def _stage_holdings(con: duckdb.DuckDBPyConnection, cat: _Catalogue) -> None:
    """Aggregate holdings per (month, customer) into the temporary table ``hm`` (one scan).

    A DuckDB table (spilled to the build folder above the memory limit) rather than Parquet
    files: nothing to encode and compress, and each month reads its rows back cheaply.

    ``n_products`` is the number of rows; each product sets its own bit of the masks, so a
    group with more rows than bits set holds a duplicated (month, customer_id, product) key
    (see :func:`_has_duplicate_holdings`).
    """
    fam = ", ".join(
        f"coalesce({exact_sum('h.balance', f'p.fam = {i}')}, 0) AS bal_{f}"
        for i, f in enumerate(PRODUCT_FAMILIES)
    )
    masks = ", ".join(
        f"CAST(bit_or(CASE WHEN p.grp = {k} THEN (1::UBIGINT << CAST(p.bit AS UBIGINT)) "
        f"ELSE 0::UBIGINT END) AS UBIGINT) AS mask_{k}"
        for k in range(cat.n_masks)
    )
    con.execute(
        f"""CREATE TEMP TABLE hm AS
        SELECT h.month, h.customer_id,
               coalesce({exact_sum("h.balance", "p.in_aum")}, 0) AS aum, {fam},
               count(*) AS n_products, {masks}
        FROM raw_holdings h JOIN dim_catalogue p ON h.product = p.product
        GROUP BY h.month, h.customer_id"""
    )


def _has_duplicate_holdings(con: duckdb.DuckDBPyConnection, cat: _Catalogue) -> bool:
    """Whether a (month, customer) group of ``hm`` has more rows than products."""
    bits = " + ".join(f"CAST(bit_count(mask_{k}) AS INTEGER)" for k in range(cat.n_masks))
    sql = f"SELECT count(*) FROM hm WHERE n_products > {bits}"
    return bool(con.execute(sql).fetchall()[0][0])


def _check_holdings_key(
    con: duckdb.DuckDBPyConnection,
    cat: _Catalogue,
    raw_dir: Path,
    encoding: str,
    check: RawCheck,
) -> None:
    """The holdings key check the validation left to prepare: free from the aggregate.

    Raises
    ------
    DataContractError
        With the exact ``duplicate_key`` violation (and the warnings found before).
    """
    if _has_duplicate_holdings(con, cat):
        # Rows that differ only in blanks around an id are one key once read; the exact check
        # (on the values as stored, like `bankanalysis data validate`) decides.
        _raise_deferred_keys(raw_dir, encoding, check)


def _raise_deferred_keys(raw_dir: Path, encoding: str, check: RawCheck) -> None:
    """Run the key checks the validation deferred; raise the report when one fails.

    Raises
    ------
    DataContractError
        With every violation found, the key ones where a full validation lists them.
    """
    found = {table: key_violations(raw_dir, table, encoding) for table in check.deferred}
    violations = check.with_key_violations(found)
    if any(v.severity == "error" for v in violations):
        raise DataContractError(violations, source=str(raw_dir))


def _stage_events(
    con: duckdb.DuckDBPyConnection, view: str, date_col: str, aggs: str, out: Path
) -> None:
    """Aggregate an event table per (month index, customer) into ``out/mi=.../``."""
    d = quote_ident(date_col)
    target = str(out).replace("'", "''")
    con.execute(
        f"""COPY (
        SELECT CAST(year({d}) * 12 + month({d}) - 1 AS INTEGER) AS mi, customer_id, {aggs}
        FROM {view} WHERE {d} IS NOT NULL GROUP BY ALL
        ) TO '{target}' (FORMAT parquet, PARTITION_BY (mi))"""
    )


def _txn_aggs() -> str:
    ch = ", ".join(f"count(*) FILTER (WHERE channel = '{c}') AS n_{c}" for c in CHANNELS)
    money = f"{exact_sum('amount')} AS amount, {exact_sum('fee_income')} AS fee"
    return f"count(*) AS n, {ch}, {money}"


# --------------------------------------------------------------------------- stage 2: per month


def _sum_months(col: str, aliases: list[str | None]) -> str:
    """SQL adding the 3 monthly values of ``col`` oldest first (``aliases`` oldest first).

    Each monthly value comes from its own joined partition (``None``: no file, counts 0);
    the fixed order keeps prepare bit-for-bit deterministic.
    """
    terms = [f"coalesce({a}.{col}, 0)" if a else "0" for a in aliases]
    return "(" + " + ".join(terms) + ")"


def _window(prefix: str, files: list[list[str]], cols: list[str]) -> tuple[str, dict[str, str]]:
    """Joins and expressions of the 1- and 3-month windows of a monthly aggregate.

    Parameters
    ----------
    prefix : str
        Alias prefix (``t``: ``t2`` is two months back, ``t0`` the month itself).
    files : list of list of str
        Partition files of the 3 months, oldest first (one row per customer and month).
    cols : list of str
        Columns to sum.

    Returns
    -------
    (str, dict)
        ``LEFT JOIN`` clauses onto ``h``, and ``{col_1m: SQL, col_3m: SQL}`` (NULL where the
        customer has no row).
    """
    aliases = [f"{prefix}{2 - i}" if f else None for i, f in enumerate(files)]
    joins = "".join(
        f"\n    LEFT JOIN read_parquet({_sql_list(f)}) {a} ON h.customer_id = {a}.customer_id"
        for a, f in zip(aliases, files, strict=True)
        if a
    )
    exprs = {}
    for c in cols:
        exprs[f"{c}_1m"] = f"{aliases[-1]}.{c}" if aliases[-1] else "NULL"
        exprs[f"{c}_3m"] = _sum_months(c, aliases)
    return joins, exprs


def _customer_month_sql(
    month: str,
    cat: _Catalogue,
    tm_files: list[list[str]],
    ct_files: list[list[str]],
) -> str:
    """SQL of one month of customer_month (plus the holding masks, dropped before writing).

    The holdings come from table ``hm`` (:func:`_stage_holdings`); ``tm_files`` and
    ``ct_files`` are the transaction and contact partitions of the month and the two before,
    oldest first; each is joined by customer (no regrouping).
    """
    end = month_end(month)
    hold = ", ".join(
        f"CAST((h.mask_{g} >> CAST({b} AS UBIGINT)) & 1::UBIGINT AS TINYINT) AS {quote_ident('hold_' + p)}"
        for p in cat.products
        for g, b in [cat.slot(p)]
    )
    bal = ", ".join(f"h.bal_{f}" for f in PRODUCT_FAMILIES)
    masks = ", ".join(f"h.mask_{k}" for k in range(cat.n_masks))
    t_joins, t = _window("t", tm_files, ["n", *[f"n_{c}" for c in CHANNELS], "amount", "fee"])
    c_joins, c = _window("c", ct_files, ["n", "minutes"])
    txn_cols = ", ".join(
        [
            f"CAST(coalesce({t['n_1m']}, 0) AS INTEGER) AS txn_n_1m",
            f"CAST(coalesce({t['n_3m']}, 0) AS INTEGER) AS txn_n_3m",
        ]
        + [
            f"CAST(coalesce({t[f'n_{ch}_{w}']}, 0) AS INTEGER) AS txn_{ch}_n_{w}"
            for ch in CHANNELS
            for w in ("1m", "3m")
        ]
        + [
            f"CAST(coalesce({t['amount_1m']}, 0) AS DOUBLE) AS txn_amount_1m",
            f"CAST(coalesce({t['amount_3m']}, 0) AS DOUBLE) AS txn_amount_3m",
            f"CAST(coalesce({t['fee_1m']}, 0) AS DOUBLE) AS fee_income_1m",
            f"CAST(coalesce({t['fee_3m']}, 0) AS DOUBLE) AS fee_income_3m",
        ]
    )
    e3 = " + ".join(f"coalesce({t[f'n_{ch}_3m']}, 0)" for ch in E_CHANNELS)
    return f"""
    SELECT '{month}' AS month, h.customer_id, cu.outlet_id, cu.region_id,
           CAST(cu.echelon AS TINYINT) AS echelon, cu.manager_id,
           CAST({end.year} - cu.birth_year AS SMALLINT) AS age,
           CAST({end.year * 12 + end.month} - (year(cu.since) * 12 + month(cu.since))
                - CASE WHEN day(cu.since) > {end.day} THEN 1 ELSE 0 END AS SMALLINT)
               AS tenure_months,
           CAST(h.aum AS DOUBLE) AS aum, {bal}, CAST(h.n_products AS SMALLINT) AS n_products,
           {hold}, {txn_cols},
           CASE WHEN coalesce({t["n_3m"]}, 0) > 0 THEN ({e3}) / {t["n_3m"]} ELSE 0.0 END
               AS e_channel_share_3m,
           CAST(coalesce({c["n_1m"]}, 0) AS INTEGER) AS contacts_1m,
           CAST(coalesce({c["minutes_1m"]}, 0) AS DOUBLE) AS contact_minutes_1m,
           CAST(coalesce({c["minutes_3m"]}, 0) AS DOUBLE) AS contact_minutes_3m,
           {masks}
    FROM (SELECT * FROM hm WHERE month = '{month}') h
    JOIN dim_customers cu ON h.customer_id = cu.customer_id{t_joins}{c_joins}
    ORDER BY cu.sort_key"""


def _unit_aggregates_sql(unit: str, cat: _Catalogue, first: bool) -> str:
    """Per-outlet or per-region sums of one month of customer_month (view ``cm_cur``)."""
    sales = []
    for f in PRODUCT_FAMILIES:
        if first:
            sales.append(f"NULL::DOUBLE AS sales_{f}")
            continue
        terms = [
            f"bit_count(cm.mask_{k} & ~coalesce(pm.mask_{k}, 0::UBIGINT) & "
            f"{cat.family_mask(f, k)}::UBIGINT)"
            for k in range(cat.n_masks)
        ]
        sales.append(f"CAST(sum({' + '.join(terms)}) AS DOUBLE) AS sales_{f}")
    ch = ", ".join(f"sum(cm.txn_{c}_n_1m) AS txn_{c}_n" for c in CHANNELS)
    join = "" if first else "LEFT JOIN cm_prev pm ON cm.customer_id = pm.customer_id"
    return f"""
    SELECT cm.{unit} AS {unit}, count(*) AS customers, {exact_sum("cm.aum")} AS aum,
           {exact_sum("cm.bal_deposit")} AS deposit_balance,
           {exact_sum("cm.fee_income_1m")} AS fee_income,
           sum(cm.n_products) AS n_products, sum(cm.txn_n_1m) AS txn_n, {ch}, {", ".join(sales)}
    FROM cm_cur cm {join} GROUP BY cm.{unit}"""


# --------------------------------------------------------------------------- stage 3: units


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


def _events_by(dims: dict[str, pd.DataFrame], unit: str, months: list[str]) -> pd.DataFrame:
    """new_customers / closed_customers per (month, unit) from customers.since/closed."""
    cu = dims["customers"]
    rows = []
    for col, name in (("since", "new_customers"), ("closed", "closed_customers")):
        d = cu[[unit, col]].dropna(subset=[col])
        d = d.assign(month=d[col].dt.strftime("%Y-%m"))
        d = d[d["month"].isin(months)]
        g = d.groupby(["month", unit], observed=True).size().rename(name)
        rows.append(g)
    return pd.concat(rows, axis=1).reset_index() if rows else pd.DataFrame()


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

    Returns
    -------
    (DataFrame, DataFrame)
        outlet_month, region_month as in docs/processed_data.md.
    """
    outlets, regions = dims["outlets"], dims["regions"]
    counts = ["customers", "new_customers", "closed_customers", "n_products", "txn_n"] + [
        f"txn_{c}_n" for c in CHANNELS
    ]
    money = ["aum", "deposit_balance", "fee_income"]
    result = {}
    for unit, base in (("outlet_id", outlets), ("region_id", regions)):
        grid = pd.MultiIndex.from_product([months, base[unit]], names=["month", unit])
        df = pd.DataFrame(index=grid).reset_index()
        sums = pd.concat(per_month[unit], ignore_index=True)
        df = df.merge(sums, on=["month", unit], how="left")
        df = df.merge(_events_by(dims, unit, months), on=["month", unit], how="left")
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
        + ["sales_total", "products_per_customer", "txn_n", "e_channel_share", "devices"]
        + ["self_service_sites", "offsite_sites", "self_service_ratio"]
        + ["device_operating_rate", "managers", "managers_full_time"]
    )
    rm = rm[rm_cols].sort_values(["month", "region_id"], ignore_index=True)
    rm["echelon"] = rm["echelon"].astype("int8")
    return om, rm


# --------------------------------------------------------------------------- build


def build_processed(
    raw_dir: Path, out_dir: Path, encoding: str = "utf-8", check: RawCheck | None = None
) -> dict:
    """Build every processed table of validated raw data into ``out_dir`` (a fresh folder).

    Parameters
    ----------
    raw_dir : Path
        Folder of raw tables (already validated).
    out_dir : Path
        Empty folder to write into.
    encoding : str
        CSV encoding.
    check : RawCheck, optional
        What the validation found (:func:`bankanalysis.data.validate.check_raw`): text
        columns read as stored, and whether the holdings key check was left to this build.

    Returns
    -------
    dict
        Manifest fields: ``tables_present``, ``row_counts``, ``months``, ``data_month``,
        ``products``, ``families``.

    Raises
    ------
    DataContractError
        When the holdings key check was deferred to this build and a key is duplicated.
    """
    raw_dir, out_dir = Path(raw_dir), Path(out_dir)
    plain = check.plain if check is not None else {}
    work = out_dir / "_work"
    work.mkdir(parents=True)
    present = [t for t in TABLE_ORDER if find_table_file(raw_dir, t) is not None]
    products = _contract_frame(read_table(raw_dir, "products", encoding), "products")
    cat = _Catalogue(
        products=products["product"].tolist(),
        families=dict(zip(products["product"], products["family"], strict=True)),
        in_aum=dict(zip(products["product"], products["in_aum"].astype(bool), strict=True)),
    )
    # pandas types the small tables in a thread while DuckDB aggregates the big ones
    dims_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dimensions")
    dims_future = dims_pool.submit(_build_dimensions_timed, raw_dir, encoding, list(present))
    con = duckdb.connect()
    try:
        con.execute(f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
        con.execute(f"SET temp_directory = '{str(work / 'spill')}'")
        con.execute("SET enable_progress_bar = false")
        catalogue = pd.DataFrame(
            {
                "product": cat.products,
                "family": [cat.families[p] for p in cat.products],
                "fam": [PRODUCT_FAMILIES.index(cat.families[p]) for p in cat.products],
                "in_aum": [cat.in_aum[p] for p in cat.products],
                "grp": [cat.slot(p)[0] for p in cat.products],
                "bit": [cat.slot(p)[1] for p in cat.products],
            }
        )
        con.register("dim_catalogue", pa.Table.from_pandas(catalogue, preserve_index=False))
        src = duckdb_source(con, raw_dir, "holdings", encoding, work)
        _typed_view(con, "raw_holdings", src, "holdings", plain.get("holdings", set()))
        logger.info("aggregating holdings")
        with _timed("holdings aggregation"):
            _stage_holdings(con, cat)
        if check is not None and "holdings" in check.deferred:
            with _timed("holdings key check"):
                _check_holdings_key(con, cat, raw_dir, encoding, check)
        months = [r[0] for r in con.execute("SELECT DISTINCT month FROM hm ORDER BY 1").fetchall()]
        for t in ("transactions", "contacts"):
            if t in present:
                src = duckdb_source(con, raw_dir, t, encoding, work)
                if not con.execute(f"SELECT count(*) FROM {src}").fetchall()[0][0]:
                    present.remove(t)  # header only: treated as absent
        has_txn = "transactions" in present
        if has_txn:
            logger.info("aggregating transactions")
            src = duckdb_source(con, raw_dir, "transactions", encoding, work)
            _typed_view(
                con, "raw_transactions", src, "transactions", plain.get("transactions", set())
            )
            with _timed("transaction aggregation"):
                _stage_events(con, "raw_transactions", "txn_date", _txn_aggs(), work / "tm")
        if "contacts" in present:
            src = duckdb_source(con, raw_dir, "contacts", encoding, work)
            _typed_view(con, "raw_contacts", src, "contacts", plain.get("contacts", set()))
            _stage_events(
                con,
                "raw_contacts",
                "contact_date",
                f"count(*) AS n, {exact_sum('coalesce(minutes, 0)')} AS minutes",
                work / "ct",
            )

        dims = dims_future.result()
        present = [t for t in present if t not in OPTIONAL_DIMS or t in dims]
        cu = dims["customers"][
            ["customer_id", "outlet_id", "region_id", "echelon", "manager_id", "birth_year"]
        ].assign(since=dims["customers"]["since"].dt.date)
        # A native table: joined once per month, cheaper than re-scanning an Arrow view.
        # sort_key ranks (region_id, customer_id): each month sorts on one integer.
        con.register("cu_arrow", pa.Table.from_pandas(cu, preserve_index=False))
        con.execute(
            "CREATE TEMP TABLE dim_customers AS SELECT *, CAST(row_number() OVER "
            "(ORDER BY region_id, customer_id) AS INTEGER) AS sort_key FROM cu_arrow"
        )
        con.unregister("cu_arrow")

        per_month: dict[str, list[pd.DataFrame]] = {"outlet_id": [], "region_id": []}
        writer = None
        n_cm = 0
        prev: pa.Table | None = None
        mask_cols = [f"mask_{k}" for k in range(cat.n_masks)]
        tmp_cm = out_dir / "customer_month.parquet"
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cm-writer")
        pending: Future | None = None
        try:
            for i, m in enumerate(months):
                mi = _month_index(m)
                window = range(mi - 2, mi + 1)
                sql = _customer_month_sql(
                    m,
                    cat,
                    [_partition_files(work / "tm", "mi", w) for w in window],
                    [_partition_files(work / "ct", "mi", w) for w in window],
                )
                with _timed(f"customer_month {m}"):
                    cur = con.sql(sql).to_arrow_table()
                con.register("cm_cur", cur)
                if prev is not None:
                    con.register("cm_prev", prev)
                with _timed(f"unit sums {m}"):
                    for unit in per_month:
                        agg = con.execute(_unit_aggregates_sql(unit, cat, first=i == 0)).df()
                        per_month[unit].append(agg.assign(month=m))
                con.unregister("cm_cur")
                if prev is not None:
                    con.unregister("cm_prev")
                prev = cur.select(["customer_id", *mask_cols])
                out = cur.drop_columns(mask_cols)
                if writer is None:
                    writer = pq.ParquetWriter(tmp_cm, out.schema)
                # Encode and compress this month while DuckDB computes the next one.
                if pending is not None:
                    pending.result()
                pending = pool.submit(writer.write_table, out, row_group_size=ROW_GROUP_SIZE)
                n_cm += out.num_rows
                logger.info("customer_month %s: %s customers", m, f"{out.num_rows:,}")
            if pending is not None:
                pending.result()
        finally:
            pool.shutdown(wait=True)
            if writer is not None:
                writer.close()
    finally:
        con.close()
        dims_pool.shutdown(wait=True)
    shutil.rmtree(work, ignore_errors=True)

    with _timed("outlet and region tables"):
        om, rm = build_units(dims, months, per_month)
    tables: dict[str, pd.DataFrame] = {
        "regions": dims["regions"],
        "outlets": dims["outlets"],
        "products": dims["products"],
        "customers": dims["customers"],
    }
    for t in ("managers", "devices", "device_months", "targets"):
        if t in dims:
            tables[t] = dims[t]
    tables["outlet_month"] = om
    tables["region_month"] = rm
    for name, df in tables.items():
        atomic_write_parquet(df, out_dir / f"{name}.parquet")
    row_counts = {name: len(df) for name, df in tables.items()}
    row_counts["customer_month"] = n_cm
    return {
        "tables_present": present,
        "row_counts": dict(sorted(row_counts.items())),
        "months": months,
        "data_month": months[-1] if months else None,
        "products": cat.products,
        "families": list(PRODUCT_FAMILIES),
        "channels": list(CHANNELS),
        "has_transactions": has_txn,
    }


# --------------------------------------------------------------------------- entry point


def _pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (a foreign user's process counts as alive)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_builds(out_dir: Path) -> list[Path]:
    """Delete the build folders of prepares that were killed (their process is gone).

    Prepare builds into ``.<out>.tmp-<pid>`` and, when the atomic folder exchange is not
    available, moves the previous output aside to ``.<out>.old-<pid>`` (both next to
    ``out_dir``). A SIGKILL leaves them behind. Folders of a live process (another prepare
    running now) are never touched. If ``out_dir`` itself is missing because the kill hit
    between the two renames, the stale ``.old`` folder is put back instead of deleted.

    Parameters
    ----------
    out_dir : Path
        Processed folder.

    Returns
    -------
    list of Path
        Folders removed (or restored as ``out_dir``).
    """
    out_dir = Path(out_dir)
    if not out_dir.parent.is_dir():
        return []
    done = []
    for kind in ("old", "tmp"):  # restore a moved-aside output before deleting anything
        for d in sorted(out_dir.parent.glob(f".{out_dir.name}.{kind}-*")):
            pid = d.name.rsplit("-", 1)[1]
            if not pid.isdigit() or not d.is_dir() or int(pid) == os.getpid():
                continue
            if _pid_alive(int(pid)):
                continue
            if kind == "old" and not out_dir.exists():
                logger.warning("restoring %s from %s left by a killed prepare", out_dir, d.name)
                os.replace(d, out_dir)
            else:
                logger.info("removing %s left by a killed prepare (pid %s)", d.name, pid)
                shutil.rmtree(d, ignore_errors=True)
            done.append(d)
    return done


def check_out_dir(raw_dir: Path, out_dir: Path) -> None:
    """Refuse an output folder that prepare would wrongly replace as a whole.

    Raises
    ------
    ProcessedDataError
        When ``out_dir`` holds files prepare did not write, or contains ``raw_dir``.
    """
    out = out_dir.resolve()
    if out == raw_dir.resolve() or out in raw_dir.resolve().parents:
        raise ProcessedDataError(
            f"--out {out_dir} contains the raw data {raw_dir}; choose another folder "
            "(default data/processed)"
        )
    if not out_dir.is_dir():
        return
    foreign = [
        p.name
        for p in out_dir.iterdir()
        if not (p.name in (".gitkeep", MANIFEST, MODELS_DIR) or p.suffix == ".parquet")
    ]
    if foreign:
        raise ProcessedDataError(
            f"{out_dir} holds files prepare did not write ({', '.join(sorted(foreign)[:5])}); "
            "prepare replaces its output folder as a whole: point --out at an empty folder or "
            "at data/processed"
        )


def prepare(
    raw_dir: Path, out_dir: Path, encoding: str = "utf-8", force: bool = False
) -> PrepareResult:
    """Validate ``raw_dir``, then rebuild ``out_dir`` atomically unless it is up to date.

    Parameters
    ----------
    raw_dir : Path
        Folder of raw tables (``data/raw``).
    out_dir : Path
        Processed folder (``data/processed``); replaced as a whole.
    encoding : str
        CSV encoding (``"gbk"`` for GBK extracts).
    force : bool
        Rebuild even when the fingerprint is unchanged.

    Returns
    -------
    PrepareResult

    Raises
    ------
    DataContractError
        When the raw data break the contract; ``out_dir`` is then left untouched.
    """
    t0 = time.perf_counter()
    raw_dir, out_dir = Path(raw_dir), Path(out_dir)
    remove_stale_builds(out_dir)
    if not raw_dir.is_dir():
        validate_raw(raw_dir, encoding)  # raises a clear "folder not found"
    with _timed("fingerprint"):
        fingerprint = compute_fingerprint(raw_dir, encoding)
    old = read_manifest(out_dir)
    unchanged = _is_current(out_dir, old, fingerprint)
    if unchanged and not force:
        logger.info("%s is up to date; nothing to do", out_dir)
        return PrepareResult(
            skipped=True,
            fingerprint=fingerprint,
            row_counts=dict(old.get("row_counts", {})),
            out_dir=out_dir,
            months=list(old.get("months", [])),
            seconds=time.perf_counter() - t0,
        )
    with _timed("validation"):
        # the holdings key check comes almost free from the holdings aggregation
        check = check_raw(raw_dir, encoding, defer_keys=("holdings",))
    try:
        check_out_dir(raw_dir, out_dir)
    except ProcessedDataError:
        _raise_deferred_keys(raw_dir, encoding, check)  # the data's problems come first
        raise
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.parent / f".{out_dir.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    try:
        info = build_processed(raw_dir, tmp, encoding, check)
        if (out_dir / ".gitkeep").exists():
            shutil.copy2(out_dir / ".gitkeep", tmp / ".gitkeep")
        if unchanged and (out_dir / MODELS_DIR).is_dir():
            shutil.copytree(out_dir / MODELS_DIR, tmp / MODELS_DIR)
        manifest = {
            "fingerprint": fingerprint,
            "package_version": __version__,
            "prepare_version": PREPARE_VERSION,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "raw_dir": str(raw_dir.resolve()),
            "encoding": encoding,
            **info,
        }
        atomic_write_text(tmp / MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False))
        swap_in_dir(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    seconds = time.perf_counter() - t0
    logger.info("prepared %s in %.1f s", out_dir, seconds)
    return PrepareResult(
        skipped=False,
        fingerprint=fingerprint,
        row_counts=info["row_counts"],
        out_dir=out_dir,
        months=info["months"],
        seconds=seconds,
    )
