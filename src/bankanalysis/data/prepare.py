"""Raw -> processed: validate, then build ``data/processed/`` atomically (see docs/processed_data.md).

Holdings, transactions and contacts are aggregated by DuckDB straight from the raw files
(never loaded whole into pandas; the holdings one month at a time, in the month loop that
builds customer_month), and the customers dimension is typed there and streamed to its file;
the other dimension tables are small and typed with pandas. The result is written into a
temporary folder next to the output folder and swapped in at the end, with
``_manifest.json``. When the fingerprint of the raw files and of this code is
unchanged, nothing is done.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from bankanalysis import __version__
from bankanalysis.contract import CHANNELS, PRODUCT_FAMILIES, TABLE_ORDER
from bankanalysis.data.atomic import atomic_write_parquet, atomic_write_text, swap_in_dir
from bankanalysis.data.fingerprint import PREPARE_VERSION, compute_fingerprint
from bankanalysis.data.io import bounded_connection, duckdb_source, find_table_file, read_table
from bankanalysis.data.prepare_holdings import HoldingsByMonth, register_catalogue, split_holdings
from bankanalysis.data.prepare_sql import (
    UNITS,
    Catalogue,
    check_customer_dates,
    customer_events,
    exact_sum,
    stage_customers,
    stage_events,
    timed,
    txn_aggs,
    typed_view,
    write_customer_month,
    write_customers,
)
from bankanalysis.data.prepare_units import (
    OPTIONAL_DIMS,
    build_dimensions,
    build_units,
    contract_frame,
)
from bankanalysis.data.support import data_support
from bankanalysis.data.validate import RawCheck, validate_raw
from bankanalysis.exceptions import ProcessedDataError

logger = logging.getLogger(__name__)

MANIFEST = "_manifest.json"
MODELS_DIR = "_models"


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


def read_manifest(out_dir: Path) -> dict | None:
    """Return the manifest of a processed folder, or ``None`` when absent or unreadable."""
    path = Path(out_dir) / MANIFEST
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _is_current(out_dir: Path, manifest: dict | None, fingerprint: str) -> bool:
    """Whether ``out_dir`` was built from the same fingerprint and has all its tables."""
    if not manifest or manifest.get("fingerprint") != fingerprint:
        return False
    return all((out_dir / f"{t}.parquet").is_file() for t in manifest.get("row_counts", {}))


def _raise_deferred_keys(check: RawCheck) -> None:
    """Run the key checks the validation deferred; raise the report when one fails.

    Raises
    ------
    DataContractError
        With every violation found, the key ones where a full validation lists them.
    """
    full = check.resolve_deferred()
    if full.errors:
        full.raise_for_errors()


# --------------------------------------------------------------------------- build


def _build_dimensions_timed(
    raw_dir: Path, encoding: str, present: list[str]
) -> dict[str, pd.DataFrame]:
    with timed("dimension tables"):
        return build_dimensions(raw_dir, encoding, present)


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
        What the validation found (:func:`bankanalysis.data.validate.validate_raw`): text
        columns read as stored, and whether the holdings key check was left to this build.

    Returns
    -------
    dict
        Manifest fields: ``tables_present``, ``row_counts``, ``months``, ``data_month``,
        ``products``, ``families``, ``channels``, ``has_transactions`` and ``support``
        (what the data can support, :func:`bankanalysis.data.support.data_support`).

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
    products = contract_frame(read_table(raw_dir, "products", encoding), "products")
    cat = Catalogue(
        products=products["product"].tolist(),
        families=dict(zip(products["product"], products["family"], strict=True)),
        in_aum=dict(zip(products["product"], products["in_aum"].astype(bool), strict=True)),
    )
    # pandas types the small tables in a thread while DuckDB aggregates the big ones
    dims_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dimensions")
    dims_future = dims_pool.submit(_build_dimensions_timed, raw_dir, encoding, list(present))
    con = bounded_connection(work / "spill")
    try:
        register_catalogue(con, cat)
        src = duckdb_source(con, raw_dir, "holdings", encoding, work)
        typed_view(con, "raw_holdings", src, "holdings", plain.get("holdings", set()))
        with timed("holdings by month"):
            holdings = split_holdings(
                con, find_table_file(raw_dir, "holdings"), plain.get("holdings", set()), work
            )
        months = holdings.months
        for t in ("transactions", "contacts"):
            if t in present:
                src = duckdb_source(con, raw_dir, t, encoding, work)
                if not con.execute(f"SELECT count(*) FROM {src}").fetchall()[0][0]:
                    present.remove(t)  # header only: treated as absent
        has_txn = "transactions" in present
        if has_txn:
            logger.info("aggregating transactions")
            src = duckdb_source(con, raw_dir, "transactions", encoding, work)
            typed_view(
                con, "raw_transactions", src, "transactions", plain.get("transactions", set())
            )
            with timed("transaction aggregation"):
                stage_events(con, "raw_transactions", "txn_date", txn_aggs(), work / "tm")
        if "contacts" in present:
            src = duckdb_source(con, raw_dir, "contacts", encoding, work)
            typed_view(con, "raw_contacts", src, "contacts", plain.get("contacts", set()))
            stage_events(
                con,
                "raw_contacts",
                "contact_date",
                f"count(*) AS n, {exact_sum('coalesce(minutes, 0)')} AS minutes",
                work / "ct",
            )

        dims = dims_future.result()
        present = [t for t in present if t not in OPTIONAL_DIMS or t in dims]
        # customers: one row per customer, typed in DuckDB and streamed to its file
        src = duckdb_source(con, raw_dir, "customers", encoding, work)
        typed_view(
            con, "raw_customers", src, "customers", plain.get("customers", set()), keep_time=True
        )
        with timed("customers"):
            check_customer_dates(con, str(find_table_file(raw_dir, "customers")))
            n_customers = write_customers(con, dims["outlets"], out_dir / "customers.parquet")
            stage_customers(con, dims["outlets"])
            events = {unit: customer_events(con, unit, months) for unit in UNITS}

        # each month's holdings are aggregated (and their keys checked) in the month loop
        key_check = None
        if check is not None and "holdings" in check.deferred:
            key_check = functools.partial(_raise_deferred_keys, check)
        by_month = HoldingsByMonth(con, cat, holdings, key_check)
        path = out_dir / "customer_month.parquet"
        loop = write_customer_month(con, cat, months, work, path, by_month.stage)
        aum = by_month.aum_range
    finally:
        con.close()
        dims_pool.shutdown(wait=True)
    shutil.rmtree(work, ignore_errors=True)

    with timed("outlet and region tables"):
        om, rm = build_units(dims, months, loop.unit_sums, events)
    tables: dict[str, pd.DataFrame] = {
        "regions": dims["regions"],
        "outlets": dims["outlets"],
        "products": dims["products"],
    }
    for t in OPTIONAL_DIMS:
        if t in dims:
            tables[t] = dims[t]
    tables["outlet_month"] = om
    tables["region_month"] = rm
    for name, df in tables.items():
        atomic_write_parquet(df, out_dir / f"{name}.parquet")
    row_counts = {name: len(df) for name, df in tables.items()}
    row_counts["customers"] = n_customers
    row_counts["customer_month"] = loop.rows
    return {
        "tables_present": present,
        "row_counts": dict(sorted(row_counts.items())),
        "months": months,
        "data_month": months[-1] if months else None,
        "products": cat.products,
        "families": list(PRODUCT_FAMILIES),
        "channels": list(CHANNELS),
        "has_transactions": has_txn,
        "support": data_support(present, months, dims["regions"], om, loop.product_counts, aum),
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
        validate_raw(raw_dir, encoding).raise_for_errors()  # a clear "folder not found"
    with timed("fingerprint"):
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
    with timed("validation"):
        # the holdings key check comes almost free from the holdings aggregation
        check = validate_raw(raw_dir, encoding, defer_keys=("holdings",))
        check.raise_for_errors()
    try:
        check_out_dir(raw_dir, out_dir)
    except ProcessedDataError:
        _raise_deferred_keys(check)  # the data's problems come first
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
