"""Arrow arrays and chunk writers of the raw tables, with schemas derived from the contract."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from bankanalysis.contract import TABLES

# --------------------------------------------------------------------------- arrow helpers


def id_table(
    prefix: str, n: int, start: int = 0, total: int | None = None
) -> tuple[np.ndarray, int]:
    """Fixed-width ASCII ids ``<prefix><zero-padded number>`` as a numpy bytes array.

    Parameters
    ----------
    prefix : str
        ``"C"`` (customers, at least 7 digits) or another letter (at least 5 digits).
    n : int
        Number of ids: numbers ``start + 1`` to ``start + n``.
    start : int
        Ids before this block (a customer chunk's first customer).
    total : int, optional
        Ids of the whole table, which sets the width (default ``n``).

    Returns
    -------
    (numpy.ndarray, int)
        The ids and their width in bytes.

    Examples
    --------
    >>> id_table("C", 2, start=3, total=10_000_000)[0].tolist()
    [b'C00000004', b'C00000005']
    """
    total = n if total is None else total
    width = max(7 if prefix == "C" else 5, len(str(total)))
    numbers = np.arange(start + 1, start + n + 1)
    ids = np.char.add(prefix.encode(), np.char.zfill(numbers.astype(f"S{width}"), width))
    return ids, len(prefix) + width


def fixed_strings(table: np.ndarray, width: int, idx: np.ndarray) -> pa.Array:
    """Arrow string array of ``table[idx]`` (all entries ``width`` bytes long), built zero-copy."""
    data = np.ascontiguousarray(table[idx])
    m = len(idx)
    offsets = np.arange(0, (m + 1) * width, width, dtype=np.int32)
    return pa.StringArray.from_buffers(m, pa.py_buffer(offsets), pa.py_buffer(data.view(np.uint8)))


def dict_array(idx: np.ndarray, values: list[str] | np.ndarray) -> pa.Array:
    """Dictionary-encoded string column; negative indices are nulls."""
    idx = np.asarray(idx)
    mask = idx < 0
    indices = pa.array(np.where(mask, 0, idx).astype(np.int32), mask=mask if mask.any() else None)
    return pa.DictionaryArray.from_arrays(indices, pa.array(list(values), type=pa.string()))


def plain_schema(schema: pa.Schema) -> pa.Schema:
    """``schema`` with dictionary columns as their plain value type (for CSV)."""
    return pa.schema(
        [
            pa.field(f.name, f.type.value_type if pa.types.is_dictionary(f.type) else f.type)
            for f in schema
        ]
    )


class ChunkWriter:
    """Write a table chunk by chunk as Parquet (dictionary columns kept) or UTF-8 CSV.

    Chunks are encoded on a background thread (Arrow releases the GIL), so the next month is
    simulated while the previous one is written; at most one chunk waits at a time.
    """

    def __init__(self, path: Path, schema: pa.Schema, fmt: str, plain_cols: tuple[str, ...] = ()):
        self.fmt = fmt
        self.plain = plain_schema(schema)
        self.rows = 0
        if fmt == "parquet":
            dict_cols = [f.name for f in schema if f.name not in plain_cols]
            self._w = pq.ParquetWriter(
                path,
                schema,
                compression="snappy",
                use_dictionary=dict_cols,
                store_schema=False,
            )
        else:
            self._w = pacsv.CSVWriter(path, self.plain)
        self.schema = schema
        self._pool = ThreadPoolExecutor(max_workers=1)
        self._pending: Future | None = None

    def _write(self, table: pa.Table) -> None:
        if self.fmt == "parquet":
            self._w.write_table(table.cast(self.schema), row_group_size=1 << 20)
        else:
            self._w.write_table(table.cast(self.plain))

    def write(self, table: pa.Table) -> None:
        """Queue one chunk (waits while the previous one is still being written)."""
        self.rows += table.num_rows
        if self._pending is not None:
            self._pending.result()
        self._pending = self._pool.submit(self._write, table)

    def close(self) -> None:
        """Finish the pending chunk and close the file."""
        try:
            if self._pending is not None:
                self._pending.result()
        finally:
            self._pool.shutdown()
            self._w.close()


#: Arrow type of each contract dtype (months are ``YYYY-MM`` text, whole numbers 32-bit).
ARROW_TYPES: dict[str, pa.DataType] = {
    "str": pa.string(),
    "month": pa.string(),
    "int": pa.int32(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "date": pa.date32(),
}
DICT_STRING = pa.dictionary(pa.int32(), pa.string())


@dataclass(frozen=True)
class Storage:
    """How the generator stores one raw table (storage only: names and types come from the contract).

    Attributes
    ----------
    dictionary : tuple of str
        Text columns held as Arrow dictionaries (few distinct values, written month by month).
    float32 : tuple of str
        Float columns stored in single precision (hours and minutes).
    plain : tuple of str
        Columns written without Parquet dictionary pages (many distinct values); empty means
        every column gets dictionary pages.
    """

    dictionary: tuple[str, ...] = ()
    float32: tuple[str, ...] = ()
    plain: tuple[str, ...] = ()


#: Storage choices per table; tables not listed use :class:`Storage` defaults.
STORAGE: dict[str, Storage] = {
    "device_months": Storage(float32=("available_hours", "operating_hours")),
    "holdings": Storage(dictionary=("month", "product"), plain=("customer_id", "balance")),
    "transactions": Storage(
        dictionary=("outlet_id", "channel", "product", "kind"),
        plain=("customer_id", "amount", "fee_income"),
    ),
    "contacts": Storage(
        dictionary=("manager_id", "channel"), float32=("minutes",), plain=("customer_id", "minutes")
    ),
}


def table_schema(table: str) -> pa.Schema:
    """Arrow schema of raw ``table`` as the generator writes it, derived from the contract.

    Column names, order and logical types are those of :data:`bankanalysis.contract.TABLES`;
    :data:`STORAGE` only chooses dictionary encoding and single-precision floats.

    Parameters
    ----------
    table : str
        A contract table name.

    Returns
    -------
    pyarrow.Schema
    """
    store = STORAGE.get(table, Storage())
    fields = []
    for col in TABLES[table].columns:
        if col.name in store.dictionary:
            typ = DICT_STRING
        elif col.name in store.float32:
            typ = pa.float32()
        else:
            typ = ARROW_TYPES[col.dtype]
        fields.append(pa.field(col.name, typ))
    return pa.schema(fields)


def table_writer(folder: Path, table: str, fmt: str) -> ChunkWriter:
    """A :class:`ChunkWriter` of raw ``table`` into ``folder/<table>.<fmt>``."""
    return ChunkWriter(
        folder / f"{table}.{fmt}", table_schema(table), fmt, STORAGE.get(table, Storage()).plain
    )


def write_table_frame(df: pd.DataFrame | pa.Table, folder: Path, table: str, fmt: str) -> int:
    """Write a whole raw table (its contract columns, in contract order); return its rows."""
    schema = table_schema(table)
    if isinstance(df, pd.DataFrame):
        df = pa.Table.from_pandas(df[schema.names], schema=schema, preserve_index=False)
    w = table_writer(folder, table, fmt)
    w.write(df)
    w.close()
    return w.rows


def date_array(days: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """Arrow ``date32`` array of ``datetime64[D]`` values; ``mask`` marks nulls."""
    vals = np.asarray(days, dtype="datetime64[D]")
    if mask is not None and mask.any():
        vals = np.where(mask, np.datetime64("1970-01-01"), vals)
        return pa.array(vals, type=pa.date32(), mask=mask)
    return pa.array(vals, type=pa.date32())
