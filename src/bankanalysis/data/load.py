"""Read the processed tables (``data/processed/``) for analytics and notebooks.

>>> bank = load_processed()                                  # doctest: +SKIP
>>> cm = bank.customer_month(months=[bank.data_month], region_id="R01",
...                          columns=["customer_id", "aum"])  # doctest: +SKIP

See docs/processed_data.md for every table and column.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from functools import cached_property
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from bankanalysis.config import Paths
from bankanalysis.exceptions import ProcessedDataError

logger = logging.getLogger(__name__)

_HINT = "run `make data` (or `bankanalysis data prepare`) first"
_DIMENSIONS = ("regions", "outlets", "products", "customers")
_OPTIONAL = ("managers", "devices", "device_months", "targets")
#: Customers per part when a bank-wide figure reads ``customer_month`` in parts of customers
#: (:meth:`ProcessedBank.customer_ranges`): a bank of at most this many is read in one part.
#: ``$BANKANALYSIS_CHUNK_CUSTOMERS`` overrides it.
CHUNK_CUSTOMERS = 1_000_000


def chunk_customers() -> int:
    """``$BANKANALYSIS_CHUNK_CUSTOMERS`` or :data:`CHUNK_CUSTOMERS`.

    Raises
    ------
    ProcessedDataError
        When the variable is not a whole number of at least 1.
    """
    text = os.environ.get("BANKANALYSIS_CHUNK_CUSTOMERS", "").strip()
    if not text:
        return CHUNK_CUSTOMERS
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise ProcessedDataError(
            f"BANKANALYSIS_CHUNK_CUSTOMERS={text!r} must be a whole number of at least 1"
        )
    return n


def default_processed_dir() -> Path:
    """``$BANKANALYSIS_PROCESSED`` or ``<project root>/data/processed``."""
    env = os.environ.get("BANKANALYSIS_PROCESSED")
    return Path(env) if env else Paths.default().processed


class ProcessedBank:
    """Access to one processed folder; tables are read lazily and cached.

    Parameters
    ----------
    folder : Path
        A folder written by :func:`bankanalysis.data.prepare.prepare`.
    manifest : dict
        Its ``_manifest.json``.
    """

    def __init__(self, folder: Path, manifest: dict) -> None:
        self.folder = Path(folder)
        self.manifest = manifest

    def __repr__(self) -> str:
        return f"ProcessedBank({str(self.folder)!r}, months={self.months[0]}..{self.data_month})"

    # ------------------------------------------------------------------ metadata
    @property
    def months(self) -> list[str]:
        """Sorted data months ``YYYY-MM``."""
        return list(self.manifest["months"])

    @property
    def data_month(self) -> str:
        """Last month of the data."""
        return self.months[-1]

    @property
    def fingerprint(self) -> str:
        """Fingerprint of the raw data this folder was built from (keys model caches)."""
        return str(self.manifest["fingerprint"])

    def has(self, table: str) -> bool:
        """Whether raw ``table`` was present when the data were prepared."""
        return table in self.manifest.get("tables_present", [])

    def _path(self, name: str) -> Path:
        return self.folder / f"{name}.parquet"

    def read(self, name: str, columns: list[str] | None = None) -> pd.DataFrame:
        """Read processed table ``name`` (``outlet_month``, ``customers``...).

        Raises
        ------
        ProcessedDataError
            When the file is missing.
        """
        path = self._path(name)
        if not path.is_file():
            raise ProcessedDataError(
                f"{path} is missing: the processed folder is incomplete; {_HINT}"
            )
        return pq.read_table(path, columns=columns).to_pandas()

    # ------------------------------------------------------------------ dimension tables
    @cached_property
    def regions(self) -> pd.DataFrame:
        """Regions (secondary branches) with ``echelon_name``."""
        return self.read("regions")

    @cached_property
    def outlets(self) -> pd.DataFrame:
        """Outlets with their region's ``echelon``."""
        return self.read("outlets")

    @cached_property
    def products(self) -> pd.DataFrame:
        """Product catalogue."""
        return self.read("products")

    @cached_property
    def customers(self) -> pd.DataFrame:
        """Customers with ``region_id`` and ``echelon`` of their home outlet."""
        return self.read("customers")

    def region_customers(self, region_id: str, columns: list[str] | None = None) -> pd.DataFrame:
        """The customers of one region (home outlet in ``region_id``), filtered while reading.

        The same rows, in the same order and with the same values, as
        ``customers[customers["region_id"] == region_id]`` (the index runs from 0), without
        reading the whole table into pandas; the full table is used when already loaded.
        """
        if "customers" in self.__dict__:  # already read: filter it, read nothing again
            df = self.customers
            df = df.loc[df["region_id"] == str(region_id), columns or list(df.columns)]
            return df.reset_index(drop=True)
        path = self._path("customers")
        if not path.is_file():
            raise ProcessedDataError(f"{path} is missing; {_HINT}")
        table = ds.dataset(path, format="parquet").to_table(
            columns=columns, filter=pc.field("region_id") == str(region_id)
        )
        return table.to_pandas()

    def customers_of(
        self, customer_ids: Iterable[str], columns: list[str] | None = None
    ) -> pd.DataFrame:
        """The ``customers`` rows of ``customer_ids``, filtered while reading.

        The same rows, in the table's order and with the same values, as
        ``customers[customers["customer_id"].isin(customer_ids)]`` (the index runs from 0).
        """
        ids = pa.array(sorted({str(c) for c in customer_ids}), type=pa.string())
        if "customers" in self.__dict__:
            df = self.customers
            df = df.loc[df["customer_id"].isin(ids.to_pylist()), columns or list(df.columns)]
            return df.reset_index(drop=True)
        path = self._path("customers")
        if not path.is_file():
            raise ProcessedDataError(f"{path} is missing; {_HINT}")
        table = ds.dataset(path, format="parquet").to_table(
            columns=columns, filter=pc.field("customer_id").isin(ids)
        )
        return table.to_pandas()

    def _optional(self, name: str) -> pd.DataFrame | None:
        return self.read(name) if self._path(name).is_file() else None

    @cached_property
    def managers(self) -> pd.DataFrame | None:
        """Account managers, or ``None`` when the raw table was absent."""
        return self._optional("managers")

    @cached_property
    def devices(self) -> pd.DataFrame | None:
        """Self-service devices, or ``None``."""
        return self._optional("devices")

    @cached_property
    def device_months(self) -> pd.DataFrame | None:
        """Monthly device hours, or ``None``."""
        return self._optional("device_months")

    @cached_property
    def targets(self) -> pd.DataFrame | None:
        """Plan targets, or ``None``."""
        return self._optional("targets")

    # ------------------------------------------------------------------ facts
    def customer_month(
        self,
        months: list[str] | str | None = None,
        region_id: str | None = None,
        columns: list[str] | None = None,
        customer_ids: Iterable[str] | None = None,
        id_range: tuple[str | None, str | None] | None = None,
    ) -> pd.DataFrame:
        """Read customer-month features, filtered while reading.

        The file is stored sorted by month and region in small row groups, so a month or a
        region filter reads only the matching row groups.

        Parameters
        ----------
        months : str or list of str, optional
            Months ``YYYY-MM`` to read (all by default).
        region_id : str, optional
            Only customers whose home outlet is in this region.
        columns : list of str, optional
            Columns to read (``month`` and ``customer_id`` are always included).
        customer_ids : iterable of str, optional
            Only these customers (wherever their home outlet is).
        id_range : (str or None, str or None), optional
            Only customers with ``low <= customer_id < high`` (``None``: unbounded), one part
            of :meth:`customer_ranges`.

        Returns
        -------
        pandas.DataFrame
            Sorted by ``month, customer_id``.

        Raises
        ------
        ProcessedDataError
            When a requested column or month does not exist.
        """
        path = self._path("customer_month")
        if not path.is_file():
            raise ProcessedDataError(f"{path} is missing; {_HINT}")
        dataset = ds.dataset(path, format="parquet")
        names = dataset.schema.names
        if columns is not None:
            unknown = [c for c in columns if c not in names]
            if unknown:
                raise ProcessedDataError(
                    f"customer_month has no column(s) {unknown}; see docs/processed_data.md"
                )
            columns = ["month", "customer_id"] + [
                c for c in columns if c not in ("month", "customer_id")
            ]
        if isinstance(months, str):
            months = [months]
        flt = None
        if months is not None:
            missing = sorted(set(months) - set(self.months))
            if missing:
                raise ProcessedDataError(
                    f"month(s) {missing} not in the data ({self.months[0]}..{self.data_month})"
                )
            flt = pc.field("month").isin(list(months))
        if region_id is not None:
            f = pc.field("region_id") == str(region_id)
            flt = f if flt is None else flt & f
        if customer_ids is not None:
            ids = pa.array(sorted({str(c) for c in customer_ids}), type=pa.string())
            f = pc.field("customer_id").isin(ids)
            flt = f if flt is None else flt & f
        low, high = id_range or (None, None)
        if low is not None:
            f = pc.field("customer_id") >= str(low)
            flt = f if flt is None else flt & f
        if high is not None:
            f = pc.field("customer_id") < str(high)
            flt = f if flt is None else flt & f
        table = dataset.to_table(columns=columns, filter=flt)
        if table.num_rows and not _by_month_and_customer(table):
            table = table.sort_by([("month", "ascending"), ("customer_id", "ascending")])
        return table.to_pandas()

    def customer_ranges(self, size: int | None = None) -> list[tuple[str | None, str | None]]:
        """Ranges of customer ids splitting the bank into parts of ``size`` customers (default
        :func:`chunk_customers`; the last part may be smaller).

        For a bank-wide figure that adds up over customers, read one part of
        ``customer_month`` at a time (``id_range=``): every customer id falls in exactly one
        range (the first starts and the last ends unbounded), and the ranges follow the ids'
        sort order, so the parts, one after the other, hold the rows of the whole read sorted by
        ``customer_id``. A bank of at most ``size`` customers is one range ``(None, None)``,
        read as a whole. The bounds come from the ``customer_id`` column of ``customers`` (read
        with Arrow, not into pandas).

        Raises
        ------
        ProcessedDataError
            When ``size`` is below 1 or ``customers`` is missing.
        """
        size = chunk_customers() if size is None else int(size)
        if size < 1:
            raise ProcessedDataError(f"customer_ranges: size must be at least 1, got {size}")
        path = self._path("customers")
        if not path.is_file():
            raise ProcessedDataError(f"{path} is missing; {_HINT}")
        if pq.ParquetFile(path).metadata.num_rows <= size:
            return [(None, None)]
        ids = pq.read_table(path, columns=["customer_id"]).column("customer_id")
        ids = pc.unique(ids.combine_chunks())
        ids = ids.take(pc.sort_indices(ids))
        starts = [ids[i].as_py() for i in range(size, len(ids), size)]
        lows: list[str | None] = [None, *starts]
        highs: list[str | None] = [*starts, None]
        return list(zip(lows, highs, strict=True))

    def outlet_month(self, region_id: str | None = None) -> pd.DataFrame:
        """Outlet-month aggregates, optionally for one region."""
        df = self.read("outlet_month")
        if region_id is not None:
            df = df[df["region_id"] == str(region_id)].reset_index(drop=True)
        return df

    def region_month(self) -> pd.DataFrame:
        """Region-month aggregates."""
        return self.read("region_month")


def load_processed(processed_dir: str | Path | None = None) -> ProcessedBank:
    """Open a processed folder.

    Parameters
    ----------
    processed_dir : str or Path, optional
        Folder written by ``bankanalysis data prepare``; ``None`` means
        ``$BANKANALYSIS_PROCESSED`` or ``<project root>/data/processed``.

    Returns
    -------
    ProcessedBank

    Raises
    ------
    ProcessedDataError
        When the folder or its manifest is missing or unreadable.
    """
    folder = Path(processed_dir) if processed_dir is not None else default_processed_dir()
    manifest_path = folder / "_manifest.json"
    if not manifest_path.is_file():
        raise ProcessedDataError(f"no processed data in {folder} (no _manifest.json); {_HINT}")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ProcessedDataError(f"{manifest_path} is unreadable ({exc}); {_HINT}") from None
    if not manifest.get("months"):
        raise ProcessedDataError(f"{manifest_path} lists no months; {_HINT}")
    return ProcessedBank(folder, manifest)


def _by_month_and_customer(table: pa.Table) -> bool:
    """Whether ``table``'s rows are already in ``month, customer_id`` order (a region's rows
    are, as stored: the check is a fraction of the sort's cost, a twentieth at 3M).

    Examples
    --------
    >>> t = pa.table({"month": ["2026-09", "2026-09", "2026-10"], "customer_id": ["C1", "C2", "C1"]})
    >>> _by_month_and_customer(t), _by_month_and_customer(t.take([1, 0, 2]))
    (True, False)
    """
    n = table.num_rows
    m, c = table.column("month"), table.column("customer_id")
    if m.null_count or c.null_count:  # a comparison with a missing value proves nothing
        return False
    if n < 2:
        return True
    m0, m1, c0, c1 = m.slice(0, n - 1), m.slice(1), c.slice(0, n - 1), c.slice(1)
    try:
        ordered = pc.or_(pc.less(m0, m1), pc.and_(pc.equal(m0, m1), pc.less_equal(c0, c1)))
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):  # a type without an order here
        return False
    return bool(pc.all(ordered).as_py())
