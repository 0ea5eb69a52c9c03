"""A seeded random raw bank for comparing prepare's output across implementations.

The dimension tables of the tiny bank (``tinybank.py``: 2 regions, 3 outlets, 7 products,
2 managers, devices and targets) with ``n`` random customers in shuffled file order, three
month-ends of random holdings and five months of random transactions and contacts (so the
three-month windows reach before the first month-end), drawn with numpy from one seed. It
does not use the synthetic generator (``bankanalysis.synthetic``), so its data stay the same
when the generator changes.

:func:`processed_digests` reduces a processed folder to one digest per table of the frame
``bankanalysis.data.load`` reads (columns, dtypes, values, row order), the row groups of
``customer_month`` and the manifest without its run-specific fields.
``python tests/seeded_bank.py`` prints the digests of the code on ``sys.path``.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from tinybank import tiny_tables, write_tables

from bankanalysis.contract import CHANNELS, CONTACT_CHANNELS, TXN_KINDS

MONTHS = ("2024-01", "2024-02", "2024-03")
#: Rows per customer_month row group while preparing it (several per month, the last shorter).
ROW_GROUP_SIZE = 1000
#: Manifest fields that are not data: the run (time, folders, code hash) and the versions.
RUN_FIELDS = ("fingerprint", "created", "raw_dir", "package_version", "prepare_version")


def _dates(rng: np.random.Generator, lo: str, hi: str, n: int) -> pd.Series:
    """``n`` random ``YYYY-MM-DD`` dates between ``lo`` and ``hi`` inclusive."""
    days = (pd.Timestamp(hi) - pd.Timestamp(lo)).days
    offsets = pd.to_timedelta(rng.integers(0, days + 1, n), unit="D")
    return pd.Series(pd.Timestamp(lo) + offsets).dt.strftime("%Y-%m-%d")


def _customers(rng: np.random.Generator, n: int, outlets: list[str]) -> pd.DataFrame:
    outlet = rng.choice(outlets, n)
    manager = np.where(
        rng.random(n) < 0.5, np.where(outlet == "O3", "M2", "M1"), None
    )  # about half have a manager
    since = _dates(rng, "2000-01-01", "2024-03-31", n)
    closing = rng.random(n) < 0.06
    closed = _dates(rng, "2024-01-01", "2024-03-31", n).where(closing)
    closed = closed.where(closed.isna() | (closed >= since))
    return pd.DataFrame(
        {
            "customer_id": [f"C{i:05d}" for i in rng.permutation(n) + 1],
            "outlet_id": outlet,
            "manager_id": manager,
            "birth_year": rng.integers(1940, 2006, n),
            "gender": rng.choice(["F", "M", "U"], n),
            "since": since,
            "closed": closed,
        }
    )


def _holdings(rng: np.random.Generator, cu: pd.DataFrame, products: pd.DataFrame) -> pd.DataFrame:
    names = products["product"].to_numpy()
    money = products["family"].isin(["deposit", "investment", "loan"]).to_numpy()
    rows = []
    for m in MONTHS:
        end = pd.Period(m, "M").end_time.strftime("%Y-%m-%d")
        active = cu[(cu["since"] <= end) & (cu["closed"].isna() | (cu["closed"] > m))]
        for cid in active["customer_id"][rng.random(len(active)) < 0.92]:
            for j in rng.choice(len(names), rng.integers(1, 6), replace=False):
                bal = round(float(rng.lognormal(8, 2)), 2) if money[j] else 0.0
                rows.append((m, cid, names[j], bal))
    return pd.DataFrame(rows, columns=["month", "customer_id", "product", "balance"])


def _transactions(rng: np.random.Generator, cu: pd.DataFrame, n: int, products: list[str]):
    who = rng.integers(0, len(cu), n)
    channel = rng.choice(list(CHANNELS), n)
    counter = np.isin(channel, ["counter", "self_service"])
    fee = np.round(rng.exponential(5.0, n), 2) * (rng.random(n) < 0.3)
    return pd.DataFrame(
        {
            "txn_date": _dates(rng, "2023-11-01", "2024-03-31", n),
            "customer_id": cu["customer_id"].to_numpy()[who],
            "outlet_id": np.where(counter, cu["outlet_id"].to_numpy()[who], None),
            "channel": channel,
            "product": np.where(rng.random(n) < 0.6, rng.choice(products, n), None),
            "kind": rng.choice(list(TXN_KINDS), n),
            "amount": np.round(rng.lognormal(6, 1.5, n), 2),
            "fee_income": fee,
        }
    )


def seeded_tables(n_customers: int = 1500, seed: int = 18) -> dict[str, pd.DataFrame]:
    """The raw tables of the seeded bank (see the module docstring)."""
    rng = np.random.default_rng(seed)
    t = tiny_tables()
    cu = _customers(rng, n_customers, t["outlets"]["outlet_id"].tolist())
    t["customers"] = cu
    t["holdings"] = _holdings(rng, cu, t["products"])
    t["transactions"] = _transactions(rng, cu, 4 * n_customers, t["products"]["product"].tolist())
    n_ct = n_customers // 2
    with_manager = cu[cu["manager_id"].notna()]
    pick = rng.integers(0, len(with_manager), n_ct)
    t["contacts"] = pd.DataFrame(
        {
            "contact_date": _dates(rng, "2023-11-01", "2024-03-31", n_ct),
            "customer_id": with_manager["customer_id"].to_numpy()[pick],
            "manager_id": with_manager["manager_id"].to_numpy()[pick],
            "channel": rng.choice(list(CONTACT_CHANNELS), n_ct),
            "minutes": np.round(rng.uniform(1, 90, n_ct), 1),
        }
    )
    return t


def _frame_digest(df: pd.DataFrame) -> str:
    h = hashlib.sha256()
    h.update(json.dumps([[c, str(t)] for c, t in df.dtypes.items()]).encode())
    h.update(pd.util.hash_pandas_object(df, index=True).to_numpy().tobytes())
    return h.hexdigest()[:16]


def processed_digests(folder: Path) -> dict[str, object]:
    """Digests of a processed folder: each table as loaded, row groups, manifest.

    Returns
    -------
    dict
        ``{table: digest}`` for every Parquet table, ``customer_month_row_groups`` (rows per
        row group) and ``manifest`` (digest of the manifest without :data:`RUN_FIELDS`).
    """
    folder = Path(folder)
    out: dict[str, object] = {
        p.stem: _frame_digest(pq.read_table(p).to_pandas())
        for p in sorted(folder.glob("*.parquet"))
    }
    meta = pq.ParquetFile(folder / "customer_month.parquet").metadata
    out["customer_month_row_groups"] = [
        meta.row_group(i).num_rows for i in range(meta.num_row_groups)
    ]
    manifest = json.loads((folder / "_manifest.json").read_text(encoding="utf-8"))
    kept = {k: v for k, v in manifest.items() if k not in RUN_FIELDS}
    out["manifest"] = hashlib.sha256(json.dumps(kept, sort_keys=True).encode()).hexdigest()[:16]
    return out


def prepare_seeded(base: Path, fmt: str) -> Path:
    """Write the seeded bank as ``fmt`` files and prepare it; return the processed folder."""
    from bankanalysis.data import prepare_sql
    from bankanalysis.data.prepare import prepare

    raw = write_tables(seeded_tables(), Path(base) / "raw", fmt=fmt)
    old = prepare_sql.ROW_GROUP_SIZE
    prepare_sql.ROW_GROUP_SIZE = ROW_GROUP_SIZE
    try:
        prepare(raw, Path(base) / "processed")
    finally:
        prepare_sql.ROW_GROUP_SIZE = old
    return Path(base) / "processed"


if __name__ == "__main__":  # pragma: no cover
    for fmt in sys.argv[1:] or ["csv", "parquet"]:
        with tempfile.TemporaryDirectory() as tmp:
            print(fmt, json.dumps(processed_digests(prepare_seeded(Path(tmp), fmt))))
