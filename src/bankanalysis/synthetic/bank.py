"""The built-in synthetic bank, with the truth it was generated from.

:func:`generate_bank` writes every table of :data:`bankanalysis.contract.TABLES` into a raw
folder (Parquet by default, UTF-8 CSV on request) and the planted truth into ``_truth/``:

- ``personas.parquet``: each customer's behaviour persona (6 personas with clearly different
  channel mix, activity, age, tenure and product holdings);
- ``propensity.parquet`` and ``propensity_model.json``: for every cross-sell product and month,
  each active non-holder's true probability of holding the product at the next month-end,
  ``sigmoid(f_p(x_t))`` with ``x_t`` read only from what the processed ``customer_month`` row at
  ``t`` shows. The simulation draws the acquisitions from exactly these probabilities;
- ``outlet_efficiency.parquet``: each outlet's efficiency in (0, 1]. Customers and new customers
  are spread over outlets in proportion to ``efficiency * (staff_fte + 2 * devices)`` (a
  constant-returns production function), stratified by persona and wealth, and their assets scale
  with ``efficiency ** 0.8``, so deposits, new customers, sales and fee income follow inputs and
  efficiency with modest noise.

Customers are drawn and simulated in chunks of at most
:data:`~bankanalysis.synthetic.spec.CHUNK_CUSTOMERS`: each chunk over every month, vectorised
over its customers, its rows appended to the same files (one Parquet file or CSV per table, as
the raw contract has them: more row groups, nothing else changes), so the memory grows with the
chunk, not the bank. What needs the whole bank is either drawn before the chunk loop (regions,
outlets, devices; the managers, whose number per outlet follows the managed customers counted
by a census pass over the chunks; the centre of the outlets' wallet shares, the customers' mean
log home-outlet efficiency, from a first census pass) or summed over the chunks after it (the
outlets' monthly actuals the targets and the planted year targets are planned from): exact
per-chunk sums, not estimates. Same arguments, byte-identical files: every random draw comes
from a stream derived from ``seed``, a component id, the month and the chunk (the first chunk
draws from the streams a bank of one chunk always drew from, so a bank of at most
``CHUNK_CUSTOMERS`` customers is the data generator version 2 gave).

Nothing here reads the wall clock for data: the calendar ends at ``end_month``.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from bankanalysis.contract import GENDERS, TABLES
from bankanalysis.exceptions import GenerateError
from bankanalysis.synthetic.population import (
    Customers,
    assign_managers,
    build_device_months,
    build_devices,
    build_outlets,
    build_products,
    build_regions,
    draw_customers,
    draw_managers,
    home_log_efficiency,
    managed_per_outlet,
)
from bankanalysis.synthetic.simulate import Writers, add_actuals, simulate
from bankanalysis.synthetic.spec import (
    CHUNK_CUSTOMERS,
    CROSS_SELL,
    DEFAULT_N_REGIONS,
    Calendar,
    chunk_sizes,
    make_calendar,
    region_catalogue,
)
from bankanalysis.synthetic.targets import build_targets, plan_year_targets
from bankanalysis.synthetic.truth import CustomerTruth, propensity_schema, write_truth
from bankanalysis.synthetic.writer import (
    ChunkWriter,
    date_array,
    dict_array,
    fixed_strings,
    id_table,
    table_writer,
    write_table_frame,
)

logger = logging.getLogger(__name__)

#: Folder of the planted truth inside the raw folder.
TRUTH_DIR = "_truth"


def _customers_frame(
    cust: Customers, outlets: pd.DataFrame, managers: pd.DataFrame, ids: tuple[np.ndarray, int]
) -> pa.Table:
    """The ``customers`` table (contract columns) of the simulated customers of one chunk."""
    n = len(cust.persona)
    cid_table, width = ids
    mid_table, mwidth = id_table("M", max(len(managers), 1))
    has_mgr = cust.manager >= 0
    mgr = pc.if_else(
        pa.array(has_mgr),
        fixed_strings(mid_table, mwidth, np.maximum(cust.manager, 0)),
        pa.scalar(None, pa.string()),
    )
    return pa.table(
        {
            "customer_id": fixed_strings(cid_table, width, np.arange(n)),
            "outlet_id": dict_array(cust.outlet, outlets["outlet_id"].tolist()).cast(pa.string()),
            "manager_id": mgr,
            "birth_year": pa.array(cust.birth_year, type=pa.int32()),
            "gender": dict_array(cust.gender.astype(np.int32), list(GENDERS)).cast(pa.string()),
            "since": date_array(cust.since),
            "closed": date_array(cust.closed, np.isnat(cust.closed)),
        }
    )


def generate_bank(
    out_dir: Path,
    n_customers: int = 50_000,
    n_months: int = 13,
    seed: int = 20261130,
    fmt: str = "parquet",
    end_month: str = "2026-10",
    n_regions: int = DEFAULT_N_REGIONS,
    chunk_customers: int = CHUNK_CUSTOMERS,
) -> dict:
    """Write the synthetic bank and its planted truth to ``out_dir``.

    Every table of the raw data contract is written (``<table>.parquet`` or ``<table>.csv``) and
    the truth goes to ``out_dir/_truth/``. Files are built in a temporary folder next to
    ``out_dir`` and moved in with :func:`os.replace`; files of the other format left over from an
    earlier run are removed, a ``.gitkeep`` is kept.

    Parameters
    ----------
    out_dir : Path
        Raw data folder, e.g. ``data/raw``.
    n_customers : int
        Customers in the ``customers`` table (the stock plus about 13% who join in the window).
    n_months : int
        Number of month-ends.
    seed : int
        Random seed; the same arguments give byte-identical files.
    fmt : {"parquet", "csv"}
        File format of the raw tables (the truth is always Parquet).
    end_month : str
        Last month-end, ``YYYY-MM``.
    n_regions : int
        Regions (secondary branches) in three echelons; 8 is the built-in bank, other counts
        come from :func:`~bankanalysis.synthetic.spec.region_catalogue` (each region gets at
        least two outlets).
    chunk_customers : int
        Largest number of customers drawn and simulated at once (the memory grows with it, not
        with the bank; see :func:`~bankanalysis.synthetic.spec.chunk_sizes`). A bank of at
        most this many customers is one chunk; changing it changes larger banks' data.

    Returns
    -------
    dict
        Summary for the CLI: folder, format, months, row counts per table, seconds.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp()) / "raw"
    >>> generate_bank(d, n_customers=500, n_months=2)["rows.regions"]
    8
    """
    t0 = time.perf_counter()
    if fmt not in ("parquet", "csv"):
        raise GenerateError(f"format must be 'parquet' or 'csv', got {fmt!r}.")
    if n_customers < 100:
        raise GenerateError(f"--customers must be at least 100, got {n_customers}.")
    out_dir = Path(out_dir)
    cal = make_calendar(end_month, n_months)
    catalogue = region_catalogue(n_regions)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-generate-", dir=out_dir.parent))
    try:
        sizes = chunk_sizes(n_customers, chunk_customers)
        summary = _generate_into(tmp, sizes, cal, seed, fmt, catalogue)
        _swap_in(tmp, out_dir, fmt)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    summary = {"out": str(out_dir), "format": fmt, **summary}
    summary["seconds"] = round(time.perf_counter() - t0, 1)
    logger.info("generated %s customers x %d months in %s", n_customers, n_months, out_dir)
    return summary


def _bank_census(
    sizes: list[int], outlets: pd.DataFrame, cal: Calendar, seed: int
) -> tuple[float, np.ndarray]:
    """What the customers' draws need from the whole bank, from per-chunk sums.

    Two passes over the chunks redraw only what they need (each chunk from its own streams):
    the mean log efficiency of the customers' home outlets (which centres the outlets' wallet
    shares) and then, with it, the managed customers per outlet (which sets the managers).
    """
    n = sum(sizes)
    log_eff = 0.0
    for k, size in enumerate(sizes):
        log_eff += home_log_efficiency(size, outlets, cal, seed, k)
    centre = log_eff / n
    per_outlet = np.zeros(len(outlets), dtype=np.int64)
    for k, size in enumerate(sizes):
        per_outlet += managed_per_outlet(size, outlets, cal, seed, k, centre)
    return centre, per_outlet


def _generate_into(
    tmp: Path, sizes: list[int], cal: Calendar, seed: int, fmt: str, catalogue: tuple
) -> dict:
    """Generate every raw table into ``tmp`` and the truth into ``tmp/_truth``; return a summary.

    The customers are drawn and simulated chunk by chunk (``sizes``), each over every month
    and from its own random streams, and their rows appended to the tables; what needs the
    whole bank is drawn before the chunk loop (outlets, devices and, from per-chunk sums, the
    wallet-share centre and the managers: :func:`_bank_census`) or summed over the chunks after
    it (the outlets' actuals the targets are planned from).
    """
    n = sum(sizes)
    truth = tmp / TRUTH_DIR
    truth.mkdir()
    regions = build_regions(catalogue)
    outlets = build_outlets(n, cal, seed, catalogue)
    centre, per_outlet = _bank_census(sizes, outlets, cal, seed)
    managers = draw_managers(per_outlet, outlets, cal, seed, sizes[0])
    devices = build_devices(outlets, cal, seed, catalogue)
    rows: dict[str, int] = {}
    for table, frame in (
        ("regions", regions),
        ("outlets", outlets),
        ("products", build_products()),
        ("managers", managers),
        ("devices", devices),
        ("device_months", build_device_months(devices, cal, seed)),
    ):
        rows[table] = write_table_frame(frame, tmp, table, fmt)
    rows["customers"] = 0  # written chunk by chunk below

    writers = Writers(
        holdings=table_writer(tmp, "holdings", fmt),
        transactions=table_writer(tmp, "transactions", fmt),
        contacts=table_writer(tmp, "contacts", fmt),
        propensity=ChunkWriter(
            truth / "propensity.parquet",
            propensity_schema(),
            "parquet",
            ("customer_id", *(f"p_{p}" for p in CROSS_SELL)),
        ),
    )
    customers = table_writer(tmp, "customers", fmt)
    customer_truth = CustomerTruth(truth)
    parts = []
    try:
        start = 0
        for k, size in enumerate(sizes):
            cust = draw_customers(size, outlets, cal, seed, k, centre)
            assign_managers(cust, per_outlet, seed, k)
            ids = id_table("C", size, start, n)
            customers.write(_customers_frame(cust, outlets, managers, ids))
            customer_truth.write(cust, ids)
            parts.append(simulate(cust, outlets, managers, cal, seed, writers, k, ids))
            logger.info("customer chunk %d of %d: %d customers", k + 1, len(sizes), size)
            start += size
            del cust, ids
    finally:
        for wr in (
            customers,
            writers.holdings,
            writers.transactions,
            writers.contacts,
            writers.propensity,
        ):
            wr.close()
        customer_truth.close()
    for name in ("holdings", "transactions", "contacts"):
        rows[name] = getattr(writers, name).rows
    rows["customers"] = customers.rows
    actuals = add_actuals(parts)
    targets = build_targets(actuals, outlets, cal, seed)
    rows["targets"] = write_table_frame(targets, tmp, "targets", fmt)
    write_truth(truth, n, outlets, cal, seed)
    pq.write_table(
        pa.Table.from_pandas(
            plan_year_targets(actuals, outlets, cal)[1], preserve_index=False
        ).replace_schema_metadata(None),
        truth / "plan_targets.parquet",
        store_schema=False,
    )
    rows["truth.propensity"] = writers.propensity.rows
    summary: dict = {
        "customers": n,
        "chunks": len(sizes),
        "regions": len(regions),
        "outlets": len(outlets),
        "months": f"{cal.labels[0]}..{cal.labels[-1]}",
    }
    summary.update({f"rows.{k}": v for k, v in rows.items()})
    return summary


def _swap_in(tmp: Path, out_dir: Path, fmt: str) -> None:
    """Move the generated files from ``tmp`` into ``out_dir`` (atomic per file)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    other = "csv" if fmt == "parquet" else "parquet"
    for table in TABLES:
        stale = out_dir / f"{table}.{other}"
        if stale.exists():
            stale.unlink()
    for f in sorted(tmp.iterdir()):
        if f.is_file():
            os.replace(f, out_dir / f.name)
    old_truth = out_dir / TRUTH_DIR
    parked = None
    if old_truth.exists():
        parked = tmp / f"{TRUTH_DIR}.old"
        os.replace(old_truth, parked)
    os.replace(tmp / TRUTH_DIR, old_truth)
    if parked is not None:
        shutil.rmtree(parked, ignore_errors=True)
