"""SQL typing of raw columns: DuckDB expressions that convert stored values to contract types.

CSV columns are read as text and Parquet columns keep their stored types; these expressions
turn either into the contract's types (``str``, ``int``, ``float``, ``bool``, ``date``,
``month``) and recognise empty values, for the validator (:func:`sql_parse_expr`, strict) and
for prepare (:func:`sql_value_expr`, cheap on validated data).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

#: Text values read as "empty" in any column (what spreadsheets and pandas write for missing).
NULL_TOKENS: tuple[str, ...] = ("", "nan", "NaN", "NAN", "null", "NULL", "None", "<NA>", "#N/A")

TRUE_TOKENS: tuple[str, ...] = ("true", "t", "1", "yes", "y")
FALSE_TOKENS: tuple[str, ...] = ("false", "f", "0", "no", "n")


def sql_str(value: str | Path) -> str:
    """A single-quoted SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


def quote_ident(name: str) -> str:
    """Quote a column name for DuckDB SQL."""
    return '"' + name.replace('"', '""') + '"'


def _is_text_type(source_type: str) -> bool:
    return source_type.upper() in ("VARCHAR", "STRING", "TEXT") or source_type.upper().startswith(
        "VARCHAR"
    )


def _is_float_type(source_type: str) -> bool:
    return source_type.upper() in ("DOUBLE", "FLOAT", "REAL") or source_type.upper().startswith(
        "DECIMAL"
    )


def _is_numeric_type(source_type: str) -> bool:
    t = source_type.upper()
    return _is_float_type(t) or t in (
        "TINYINT",
        "SMALLINT",
        "INTEGER",
        "BIGINT",
        "HUGEINT",
        "UTINYINT",
        "USMALLINT",
        "UINTEGER",
        "UBIGINT",
    )


def _is_temporal_type(source_type: str) -> bool:
    t = source_type.upper()
    return t == "DATE" or t.startswith("TIMESTAMP")


def sql_null_expr(name: str, source_type: str) -> str:
    """SQL condition true where column ``name`` is empty (NULL, blank, ``nan``, ``NULL``...).

    Parameters
    ----------
    name : str
        Column name.
    source_type : str
        DuckDB type of the column in the source (``VARCHAR`` for CSV).

    Returns
    -------
    str
        A boolean SQL expression.
    """
    c = quote_ident(name)
    if _is_text_type(source_type):
        tokens = ", ".join(sql_str(t) for t in NULL_TOKENS)
        return f"({c} IS NULL OR trim({c}) IN ({tokens}))"
    if _is_float_type(source_type) and not source_type.upper().startswith("DECIMAL"):
        return f"({c} IS NULL OR isnan({c}))"
    return f"({c} IS NULL)"


def sql_parse_expr(name: str, dtype: str, source_type: str) -> str:
    """SQL expression converting column ``name`` to its contract type (NULL when unparseable).

    Parameters
    ----------
    name : str
        Column name.
    dtype : str
        Contract dtype (``str``, ``int``, ``float``, ``bool``, ``date``, ``month``).
    source_type : str
        DuckDB type of the column in the source.

    Returns
    -------
    str
        SQL expression of type VARCHAR, BIGINT, DOUBLE, BOOLEAN, DATE or VARCHAR (month).
    """
    c = quote_ident(name)
    null = sql_null_expr(name, source_type)
    text = _is_text_type(source_type)
    if dtype == "str":
        if text:
            val = f"trim({c})"
        elif _is_float_type(source_type):
            val = (
                f"CASE WHEN {c} = floor({c}) THEN CAST(CAST({c} AS BIGINT) AS VARCHAR) "
                f"ELSE CAST({c} AS VARCHAR) END"
            )
        else:
            val = f"CAST({c} AS VARCHAR)"
    elif dtype == "month":
        if text:
            val = (
                f"CASE WHEN regexp_full_match(trim({c}), '[0-9]{{4}}-(0[1-9]|1[0-2])') "
                f"THEN trim({c}) END"
            )
        elif _is_temporal_type(source_type):
            val = f"strftime({c}, '%Y-%m')"
        else:
            val = "CAST(NULL AS VARCHAR)"
    elif dtype == "date":
        if text:
            val = (
                f"CASE WHEN regexp_full_match(trim({c}), "
                f"'[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}([ T][0-9:.]+)?') "
                f"THEN TRY_CAST(TRY_CAST(trim({c}) AS TIMESTAMP) AS DATE) END"
            )
        elif _is_temporal_type(source_type):
            val = f"CAST({c} AS DATE)"
        else:
            val = "CAST(NULL AS DATE)"
    elif dtype in ("float", "int"):
        if text:
            num = f"TRY_CAST(trim({c}) AS DOUBLE)"
        elif _is_numeric_type(source_type):
            num = f"CAST({c} AS DOUBLE)"
        elif source_type.upper() == "BOOLEAN":
            num = f"CAST(CAST({c} AS INTEGER) AS DOUBLE)"
        else:
            num = "CAST(NULL AS DOUBLE)"
        if dtype == "float":
            val = f"CASE WHEN isfinite({num}) THEN {num} END" if text else num
        else:
            val = f"CASE WHEN {num} = floor({num}) AND abs({num}) < 9e18 THEN CAST({num} AS BIGINT) END"
    elif dtype == "bool":
        if text:
            t = ", ".join(sql_str(x) for x in TRUE_TOKENS)
            f = ", ".join(sql_str(x) for x in FALSE_TOKENS)
            val = (
                f"CASE WHEN lower(trim({c})) IN ({t}) THEN true "
                f"WHEN lower(trim({c})) IN ({f}) THEN false END"
            )
        elif source_type.upper() == "BOOLEAN":
            val = c
        elif _is_numeric_type(source_type):
            val = f"CASE WHEN {c} = 1 THEN true WHEN {c} = 0 THEN false END"
        else:
            val = "CAST(NULL AS BOOLEAN)"
    else:
        raise ValueError(f"unknown dtype {dtype!r}")
    return f"(CASE WHEN {null} THEN NULL ELSE {val} END)"


def source_columns(con: duckdb.DuckDBPyConnection, src: str) -> dict[str, str]:
    """Return ``{column: DuckDB type}`` of a SQL relation such as :func:`duckdb_source` gives."""
    return {row[0]: row[1] for row in con.sql(f"DESCRIBE SELECT * FROM {src}").fetchall()}


def sql_value_expr(name: str, dtype: str, source_type: str) -> str:
    """Cheap SQL conversion of a *validated* column to its contract type.

    Unlike :func:`sql_parse_expr` it does not re-check formats (the validator did), so it
    is fast on tens of millions of rows. Empty values become NULL.

    Parameters
    ----------
    name : str
        Column name.
    dtype : str
        Contract dtype.
    source_type : str
        DuckDB type of the column in the source.

    Returns
    -------
    str
        SQL expression.
    """
    c = quote_ident(name)
    if not _is_text_type(source_type):
        if dtype == "str" and _is_float_type(source_type):
            return sql_parse_expr(name, dtype, source_type)
        if dtype in ("str", "month") and not _is_temporal_type(source_type):
            return f"CAST({c} AS VARCHAR)"
        if dtype == "month":
            return f"strftime({c}, '%Y-%m')"
        if dtype == "date":
            return f"CAST({c} AS DATE)"
        if dtype == "float":
            return f"CAST({c} AS DOUBLE)"
        return sql_parse_expr(name, dtype, source_type)
    tokens = ", ".join(sql_str(t) for t in NULL_TOKENS)
    txt = f"(CASE WHEN trim({c}) IN ({tokens}) THEN NULL ELSE trim({c}) END)"
    if dtype in ("str", "month"):
        return txt
    if dtype == "float":
        return f"TRY_CAST({txt} AS DOUBLE)"
    if dtype == "date":
        return f"CAST(TRY_CAST({txt} AS TIMESTAMP) AS DATE)"
    return sql_parse_expr(name, dtype, source_type)
