"""Raw-file I/O: the only module that opens files in ``data/raw/``.

Raw tables are ``<table>.csv`` (UTF-8 with or without BOM, CRLF accepted, another encoding
such as GBK through ``encoding``) or ``<table>.parquet``. Small tables are read into pandas
with :func:`read_table`; big tables (holdings, transactions) are read by DuckDB through the
SQL relation returned by :func:`duckdb_source`, whose columns
:mod:`bankanalysis.data.sql_typing` converts to their contract types in SQL. Outputs are
written atomically by :mod:`bankanalysis.data.atomic`.
"""

from __future__ import annotations

import codecs
import contextlib
import logging
import os
import tempfile
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from bankanalysis.contract import TABLES, Column
from bankanalysis.data.sql_typing import FALSE_TOKENS, NULL_TOKENS, TRUE_TOKENS, sql_str
from bankanalysis.exceptions import DataContractError, Violation

logger = logging.getLogger(__name__)

#: File formats a raw table may come in, in order of preference.
RAW_FORMATS: tuple[str, ...] = ("parquet", "csv")

_CHUNK = 16 * 1024 * 1024

#: DuckDB memory limit of every connection that reads raw tables (validate, prepare), as set
#: by ``BANKANALYSIS_DUCKDB_MEMORY`` (e.g. ``"2GB"``); unset: :func:`default_memory_limit` of
#: the machine's memory. Work above the limit spills to disk in the caller's spill folder.
DUCKDB_MEMORY_LIMIT: str | None = os.environ.get("BANKANALYSIS_DUCKDB_MEMORY") or None

#: Bounds of the default DuckDB memory limit, in GB (10^9 bytes): never below the former fixed
#: default, never above what leaves room, under the 12 GB a process may take at most (issue
#: 18), for the Python and Arrow memory outside DuckDB's limit.
MEMORY_LIMIT_GB_RANGE: tuple[float, float] = (2.0, 8.0)
#: Share of the machine's physical memory the default limit gives DuckDB.
MEMORY_LIMIT_SHARE = 1 / 3


def default_memory_limit(physical_bytes: int | None) -> str:
    """The DuckDB memory limit for a machine with ``physical_bytes`` of memory.

    A third of the memory (:data:`MEMORY_LIMIT_SHARE`), held within
    :data:`MEMORY_LIMIT_GB_RANGE` and rounded down to a tenth of a GB; the lower bound when
    the memory is unknown. Below about three times the limit the big aggregations of a 10
    million customer bank spill to disk, and their cost then grows faster than the bank.

    Parameters
    ----------
    physical_bytes : int or None
        Physical memory of the machine (``None``: unknown).

    Returns
    -------
    str
        A DuckDB size, e.g. ``"8.0GB"`` on a 24 GB machine.
    """
    lo, hi = MEMORY_LIMIT_GB_RANGE
    if not physical_bytes or physical_bytes <= 0:
        return f"{lo:.1f}GB"
    gb = min(hi, max(lo, physical_bytes * MEMORY_LIMIT_SHARE / 1e9))
    return f"{int(gb * 10) / 10:.1f}GB"


def physical_memory() -> int | None:
    """Bytes of physical memory of this machine (``None`` where the system does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):
        return None


def duckdb_memory_limit() -> str:
    """The memory limit of :func:`bounded_connection`: the variable's, else the machine's default."""
    return DUCKDB_MEMORY_LIMIT or default_memory_limit(physical_memory())


def bounded_connection(spill_dir: Path) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection held to :func:`duckdb_memory_limit`, spilling to ``spill_dir``.

    Without a limit DuckDB takes up to 80 % of the machine's memory: a large bank's checks or
    aggregations would then grow with the bank instead of spilling. The progress bar is off (it
    floods stderr on big banks). In a Jupyter kernel DuckDB starts with it off and refuses to
    change the setting at all without ipywidgets, so it is only switched off where it is on.
    """
    con = duckdb.connect()
    con.execute(f"SET memory_limit = {sql_str(duckdb_memory_limit())}")
    con.execute(f"SET temp_directory = {sql_str(Path(spill_dir))}")
    if con.execute("SELECT current_setting('enable_progress_bar')").fetchall()[0][0]:
        con.execute("SET enable_progress_bar = false")
    return con


# --------------------------------------------------------------------------- finding files


def find_table_file(raw_dir: Path, table: str) -> Path | None:
    """Return the file holding ``table`` in ``raw_dir``, or ``None`` when absent.

    Parameters
    ----------
    raw_dir : Path
        Folder of raw tables.
    table : str
        Table name, e.g. ``"customers"``.

    Returns
    -------
    Path or None
        ``<table>.parquet`` or ``<table>.csv``.

    Raises
    ------
    DataContractError
        When both a Parquet and a CSV file exist for the table (ambiguous).
    """
    raw_dir = Path(raw_dir)
    found = [
        raw_dir / f"{table}.{ext}" for ext in RAW_FORMATS if (raw_dir / f"{table}.{ext}").is_file()
    ]
    if len(found) > 1:
        raise DataContractError(
            [
                Violation(
                    table=table,
                    file=str(found[0]),
                    column=None,
                    rule="ambiguous_file",
                    message=(
                        f"both {found[0].name} and {found[1].name} exist; keep exactly one file "
                        f"per table (delete or move the other)"
                    ),
                )
            ],
            source=str(raw_dir),
        )
    return found[0] if found else None


def _file_error(table: str, path: Path, rule: str, message: str) -> DataContractError:
    return DataContractError(
        [Violation(table=table, file=str(path), column=None, rule=rule, message=message)],
        source=str(path.parent),
    )


# --------------------------------------------------------------------------- encodings


def _is_utf8(encoding: str) -> bool:
    return codecs.lookup(encoding).name in ("utf-8", "utf-8-sig")


def _encoding_error(table: str, path: Path, encoding: str, exc: Exception) -> DataContractError:
    hint = (
        "it is probably GBK (common for Chinese extracts): re-run with `--encoding gbk`"
        if _is_utf8(encoding)
        else "check the file's real encoding and pass it with `--encoding`"
    )
    return _file_error(
        table,
        path,
        "encoding",
        f"cannot be read as {encoding} text ({exc}); {hint}, or save the file as UTF-8",
    )


def transcode_to_utf8(path: Path, encoding: str, dest: Path, table: str = "") -> Path:
    """Stream ``path`` from ``encoding`` into a UTF-8 file ``dest`` (BOM removed).

    Parameters
    ----------
    path : Path
        Source CSV file.
    encoding : str
        Its encoding, e.g. ``"gbk"``.
    dest : Path
        Where to write the UTF-8 copy.
    table : str
        Table name, for error messages.

    Returns
    -------
    Path
        ``dest``.

    Raises
    ------
    DataContractError
        When the file is not valid ``encoding`` text.
    """
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    Path(dest).parent.mkdir(parents=True, exist_ok=True)
    first = True
    try:
        with open(path, "rb") as src, open(dest, "w", encoding="utf-8", newline="") as out:
            while True:
                chunk = src.read(_CHUNK)
                text = decoder.decode(chunk, final=not chunk)
                if first and text.startswith("\ufeff"):
                    text = text[1:]
                first = first and not text
                out.write(text)
                if not chunk:
                    break
    except UnicodeDecodeError as exc:
        with contextlib.suppress(OSError):
            dest.unlink()
        raise _encoding_error(table or path.stem, path, encoding, exc) from None
    return dest


def check_utf8(path: Path, table: str = "") -> None:
    """Raise a clear :class:`DataContractError` when ``path`` is not valid UTF-8 (streamed).

    Parameters
    ----------
    path : Path
        File to check.
    table : str
        Table name, for the message.
    """
    decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
    offset = 0
    try:
        with open(path, "rb") as f:
            while chunk := f.read(_CHUNK):
                decoder.decode(chunk)
                offset += len(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        pos = offset + exc.start
        with open(path, "rb") as f:
            line = f.read(pos).count(b"\n") + 1 if pos < 64 * 1024 * 1024 else None
        where = f"line {line}" if line else f"byte {pos:,}"
        raise _encoding_error(
            table or path.stem, path, "utf-8", ValueError(f"invalid byte sequence at {where}")
        ) from None


# --------------------------------------------------------------------------- DuckDB sources


def duckdb_source(
    con: duckdb.DuckDBPyConnection,
    raw_dir: Path,
    table: str,
    encoding: str = "utf-8",
    tmp_dir: Path | None = None,
) -> str:
    """Return a DuckDB SQL relation reading raw ``table``.

    CSV columns are all read as VARCHAR (the validator must see the raw text); Parquet
    columns keep their stored types. A CSV in another encoding than UTF-8 is first
    transcoded (streamed) to a UTF-8 file in ``tmp_dir``.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Connection used to check the file can be parsed.
    raw_dir : Path
        Folder of raw tables.
    table : str
        Table name.
    encoding : str
        CSV encoding.
    tmp_dir : Path, optional
        Folder for transcoded copies (required for non-UTF-8 CSV).

    Returns
    -------
    str
        e.g. ``"read_parquet('data/raw/holdings.parquet')"``.

    Raises
    ------
    DataContractError
        When the table is absent, or its file cannot be parsed or decoded.
    """
    path = find_table_file(raw_dir, table)
    if path is None:
        raise _file_error(table, Path(raw_dir) / f"{table}.csv", "missing_table", "file not found")
    if path.stat().st_size == 0:
        raise _file_error(
            table,
            path,
            "empty_file",
            "the file is empty (not even a header line); export the table with its header",
        )
    if path.suffix == ".parquet":
        src = f"read_parquet({sql_str(path)})"
        try:
            con.sql(f"SELECT count(*) FROM {src}").fetchall()
        except duckdb.Error as exc:
            raise _file_error(
                table, path, "unreadable", f"cannot be read as Parquet ({exc}); re-export it"
            ) from None
        return src
    csv_path = path
    if not _is_utf8(encoding):
        if tmp_dir is None:
            tmp_dir = Path(tempfile.mkdtemp(prefix="bankanalysis-csv-"))
        csv_path = transcode_to_utf8(path, encoding, Path(tmp_dir) / f"{table}.utf8.csv", table)
    src = (
        f"read_csv({sql_str(csv_path)}, header=true, all_varchar=true, delim=',', "
        f"quote='\"', escape='\"', auto_detect=false, columns={_csv_header_columns(csv_path, table, path)})"
    )
    if _is_utf8(encoding):
        check_utf8(path, table)
    try:
        con.sql(f"SELECT * FROM {src} LIMIT 0").fetchall()
    except duckdb.Error as exc:
        text = str(exc)
        if "unicode" in text.lower() or "utf" in text.lower():
            raise _encoding_error(
                table, path, encoding, exc.__class__("invalid byte sequence")
            ) from None
        first = text.splitlines()[0:3]
        raise _file_error(
            table,
            path,
            "unparseable_csv",
            "cannot be parsed as comma-separated text ("
            + " ".join(first)
            + "); check delimiters, quotes and that every line has the header's number of fields",
        ) from None
    return src


def _csv_header_columns(csv_path: Path, table: str, orig: Path) -> str:
    """Read the header line of a UTF-8 CSV and return a DuckDB ``columns`` struct literal."""
    with open(csv_path, "rb") as f:
        head = f.readline()
    try:
        line = head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _encoding_error(table, orig, "utf-8", exc) from None
    line = line.rstrip("\r\n")
    if not line.strip():
        raise _file_error(table, orig, "empty_file", "the first line (the header) is empty")
    import csv

    names = next(csv.reader([line]))
    names = [n.strip() for n in names]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise _file_error(
            table, orig, "duplicate_column", f"the header repeats column(s) {dup}; rename them"
        )
    if any(n == "" for n in names):
        raise _file_error(table, orig, "empty_column_name", "the header has an empty column name")
    return "{" + ", ".join(f"{sql_str(n)}: 'VARCHAR'" for n in names) + "}"


# --------------------------------------------------------------------------- pandas reading


def _null_mask(s: pd.Series) -> pd.Series:
    text = s.astype("str").str.strip()
    return s.isna() | text.isin(NULL_TOKENS)


def _to_text(s: pd.Series) -> pd.Series:
    """Column as stripped text with missing values as NA (floats like 12.0 become '12')."""
    if pd.api.types.is_float_dtype(s) and s.dropna().mod(1).eq(0).all():
        s = s.astype("Int64")
    out = s.astype("str").str.strip()
    return out.mask(_null_mask(s)).astype("str")


def parse_column(s: pd.Series, col: Column) -> pd.Series:
    """Convert a raw column to its contract type; unparseable values become missing.

    Parameters
    ----------
    s : pandas.Series
        Raw values (text from CSV, or native Parquet types).
    col : Column
        Contract column.

    Returns
    -------
    pandas.Series
        ``str`` (ids, names, months), ``Int64``/``int64``, ``float64``, ``boolean`` or
        ``datetime64[ns]``.
    """
    missing = _null_mask(s)
    if col.dtype in ("str", "month"):
        return _to_text(s)
    if col.dtype == "float":
        out = pd.to_numeric(s.where(~missing), errors="coerce").astype("float64")
        return out.where(np.isfinite(out))
    if col.dtype == "int":
        num = pd.to_numeric(s.where(~missing), errors="coerce").astype("float64")
        num = num.where(num.mod(1).eq(0))
        out = num.astype("Int64")
        return out.astype("int64") if not out.isna().any() else out
    if col.dtype == "bool":
        if pd.api.types.is_bool_dtype(s):
            return s.astype("boolean")
        text = s.astype("str").str.strip().str.lower()
        out = pd.Series(pd.NA, index=s.index, dtype="boolean")
        out = out.mask(text.isin(TRUE_TOKENS), True).mask(text.isin(FALSE_TOKENS), False)
        return out.mask(missing).astype("boolean")
    if col.dtype == "date":
        if pd.api.types.is_datetime64_any_dtype(s):
            out = s
        else:
            text = s.astype("str").str.strip().str.slice(0, 10).where(~missing)
            out = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
        return out.astype("datetime64[ns]")
    raise ValueError(f"unknown dtype {col.dtype!r}")


def read_raw_frame(raw_dir: Path, table: str, encoding: str = "utf-8") -> tuple[pd.DataFrame, Path]:
    """Read ``table`` as it is stored (CSV as text), without contract typing.

    Parameters
    ----------
    raw_dir : Path
        Folder of raw tables.
    table : str
        Table name.
    encoding : str
        CSV encoding.

    Returns
    -------
    (pandas.DataFrame, Path)
        The frame and the file it came from.

    Raises
    ------
    DataContractError
        When the table is absent or its file cannot be read.
    """
    path = find_table_file(raw_dir, table)
    if path is None:
        raise _file_error(table, Path(raw_dir) / f"{table}.csv", "missing_table", "file not found")
    if path.stat().st_size == 0:
        raise _file_error(table, path, "empty_file", "the file is empty (not even a header line)")
    if path.suffix == ".parquet":
        try:
            return pq.read_table(path).to_pandas(), path
        except (OSError, pa.ArrowException) as exc:
            raise _file_error(
                table, path, "unreadable", f"cannot be read as Parquet ({exc})"
            ) from None
    enc = "utf-8-sig" if _is_utf8(encoding) else encoding
    try:
        df = pd.read_csv(
            path,
            dtype="str",
            keep_default_na=False,
            na_values=[],
            encoding=enc,
            skipinitialspace=False,
        )
    except UnicodeDecodeError as exc:
        raise _encoding_error(table, path, encoding, exc) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise _file_error(
            table, path, "unparseable_csv", f"cannot be parsed as CSV ({exc})"
        ) from None
    df.columns = [str(c).strip() for c in df.columns]
    return df, path


def read_table(raw_dir: Path, table: str, encoding: str = "utf-8") -> pd.DataFrame:
    """Read a raw table into pandas, typed per the contract.

    Contract columns are converted (ids and months as ``str``, dates as ``datetime64[ns]``,
    bools as ``boolean``, numbers as ``float64``/``int64``); extra columns are kept as read.
    Call :func:`bankanalysis.data.validate.validate_raw` first: values that cannot be
    converted raise here.

    Parameters
    ----------
    raw_dir : Path
        Folder of raw tables.
    table : str
        Table name from :data:`bankanalysis.contract.TABLES`.
    encoding : str
        CSV encoding (``"utf-8"`` accepts a BOM; ``"gbk"`` for GBK extracts).

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    DataContractError
        When the file is absent, undecodable, or holds values that do not fit the contract.
    """
    df, path = read_raw_frame(raw_dir, table, encoding)
    spec = TABLES[table]
    out = {}
    problems = []
    for name in df.columns:
        if name not in spec.column_names:
            out[name] = df[name]
            continue
        col = spec.column(name)
        parsed = parse_column(df[name], col)
        bad = parsed.isna() & ~_null_mask(df[name])
        if bad.any():
            problems.append(
                Violation(
                    table=table,
                    file=str(path),
                    column=name,
                    rule="type",
                    message=f"values are not valid {col.dtype} values",
                    n_rows=int(bad.sum()),
                    examples=[{name: v} for v in df.loc[bad, name].head(5).tolist()],
                )
            )
        out[name] = parsed
    if problems:
        raise DataContractError(problems, source=str(path.parent))
    return pd.DataFrame(out, index=df.index)
