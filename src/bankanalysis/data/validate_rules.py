"""The rules of the raw data contract as DuckDB checks (internal to validation).

Call :func:`bankanalysis.data.validate.validate_raw`, the one entry point; this module holds the
checks it runs: column rules (one scan per table, text columns on their distinct values), key
uniqueness, foreign keys and the rules across rows of :data:`bankanalysis.contract.EXTRA_RULES`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from bankanalysis.contract import Column, Table
from bankanalysis.data.sql_typing import (
    quote_ident,
    sql_null_expr,
    sql_parse_expr,
    sql_value_expr,
)
from bankanalysis.exceptions import Violation

logger = logging.getLogger(__name__)

_DTYPE_WORDS = {
    "str": "text",
    "int": "whole numbers",
    "float": "numbers",
    "bool": "true/false values",
    "date": "dates in YYYY-MM-DD form",
    "month": "months in YYYY-MM form",
}

_N_EXAMPLES = 5
#: Bits of the composite-key screen (<= 64); fewer bits only mean more exact re-checks.
KEY_SCREEN_BITS = 64


@dataclass
class RawTable:
    """A raw table opened for SQL checks.

    Attributes
    ----------
    spec : Table
        Contract of the table.
    path : Path
        File it was read from.
    src : str
        DuckDB relation reading it.
    types : dict
        ``{column: DuckDB type}`` as stored.
    n_rows : int
        Number of data rows.
    """

    spec: Table
    path: Path
    src: str
    types: dict[str, str]
    n_rows: int = 0
    #: relations of the distinct stored values of text columns, filled by the column checks
    values: dict[str, str] = field(default_factory=dict)
    #: text columns whose stored values all equal their converted values (no blanks to trim,
    #: no null tokens), so a reader may use them as stored; filled by the column checks
    plain: set[str] = field(default_factory=set)

    def distinct(self, name: str) -> str:
        """A relation of the distinct stored values of column ``name``."""
        return self.values.get(name, f"(SELECT DISTINCT {quote_ident(name)} FROM {self.src})")

    @property
    def present(self) -> list[Column]:
        """Contract columns present in the file."""
        return [c for c in self.spec.columns if c.name in self.types]

    def parsed(self, name: str) -> str:
        """SQL expression of column ``name`` converted to its contract type."""
        return sql_parse_expr(name, self.spec.column(name).dtype, self.types[name])

    def isnull(self, name: str) -> str:
        """SQL condition: column ``name`` is empty."""
        return sql_null_expr(name, self.types[name])

    def example_select(self) -> str:
        """SELECT list showing the contract columns of an example row as text."""
        cols = [c.name for c in self.present] or list(self.types)
        return ", ".join(f"CAST({quote_ident(c)} AS VARCHAR) AS {quote_ident(c)}" for c in cols)


def _examples(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict]:
    cur = con.execute(f"SELECT * FROM ({sql}) LIMIT {_N_EXAMPLES}")
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _v(rt: RawTable, column: str | None, rule: str, message: str, **kw: object) -> Violation:
    return Violation(
        table=rt.spec.name, file=str(rt.path), column=column, rule=rule, message=message, **kw
    )


def missing_table(raw_dir: Path, name: str, message: str, *, required: bool) -> Violation:
    """The violation of a table the extract lacks: an error when required, else a warning.

    Parameters
    ----------
    raw_dir : Path
        Folder of raw tables; the file is named as ``<name>.csv`` in it.
    name : str
        Table of the data contract.
    message : str
        The whole message (what is missing and what follows from it).
    required : bool
        Whether the contract requires the table.
    """
    return Violation(
        table=name,
        file=str(raw_dir / f"{name}.csv"),
        column=None,
        rule="missing_table" if required else "missing_optional_table",
        message=message,
        severity="error" if required else "warning",
    )


def unreadable(rt: RawTable, exc: Exception) -> Violation:
    first = " ".join(str(exc).splitlines()[:3])
    return _v(
        rt,
        None,
        "unparseable",
        f"the file cannot be read to the end ({first}); check delimiters, quotes, the "
        "encoding and that every line has the header's number of fields",
    )


# --------------------------------------------------------------------------- single-table checks


_INT_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER")


def _type_guaranteed(col: Column, source_type: str) -> bool:
    """Whether every non-empty value of this source type converts to the contract type."""
    t = source_type.upper()
    if col.dtype == "str":
        return True
    if col.dtype == "float":
        return t in ("DOUBLE", "FLOAT", "REAL", *_INT_TYPES) or t.startswith("DECIMAL")
    if col.dtype == "int":
        return t in _INT_TYPES
    if col.dtype == "date":
        return t == "DATE" or t.startswith("TIMESTAMP")
    if col.dtype == "bool":
        return t == "BOOLEAN"
    return col.dtype == "month" and (t == "DATE" or t.startswith("TIMESTAMP"))


def _by_value(col: Column, source_type: str) -> bool:
    """Check this column on its distinct values (text ids, months, categories)."""
    return col.dtype in ("str", "month", "bool") and source_type.upper() == "VARCHAR"


def _column_rules(rt: RawTable) -> list[tuple[str, str, str, str]]:
    """Return ``(column, rule, SQL condition of a bad row, message)`` for every column rule."""
    rules = []
    for col in rt.present:
        c = col.name
        null = rt.isnull(c)
        val = rt.parsed(c)
        if not col.nullable:
            rules.append(
                (
                    c,
                    "null",
                    null,
                    f"empty values in a column that must always be filled ({col.description}); "
                    "fill them or drop those rows",
                )
            )
        if not _type_guaranteed(col, rt.types[c]):
            rules.append(
                (
                    c,
                    "type",
                    f"(NOT {null} AND {val} IS NULL)",
                    f"values that are not valid {_DTYPE_WORDS[col.dtype]}; correct them",
                )
            )
        if col.allowed is not None:
            allowed = ", ".join(f"'{a}'" if isinstance(a, str) else str(a) for a in col.allowed)
            rules.append(
                (
                    c,
                    "allowed",
                    f"({val} IS NOT NULL AND {val} NOT IN ({allowed}))",
                    f"values outside the allowed list ({allowed}); map them to one of these",
                )
            )
        if col.min is not None:
            rules.append(
                (
                    c,
                    "min",
                    f"({val} < {col.min!r})",
                    f"values below the minimum {col.min:g} ({col.description})",
                )
            )
        if col.max is not None:
            rules.append(
                (
                    c,
                    "max",
                    f"({val} > {col.max!r})",
                    f"values above the maximum {col.max:g}, implausible for this column "
                    "(likely an extract or unit error); correct them",
                )
            )
        if col.pattern is not None:
            pat = col.pattern.replace("'", "''")
            rules.append(
                (
                    c,
                    "pattern",
                    f"({val} IS NOT NULL AND NOT regexp_matches({val}, '{pat}'))",
                    "ids with characters other than letters, digits, '_' and '-' (or longer than "
                    "64): these ids are used in file names; rename them",
                )
            )
    return rules


def check_columns(con: duckdb.DuckDBPyConnection, rt: RawTable) -> list[Violation]:
    """Check header, emptiness and every column rule of one table (one scan + examples).

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Connection.
    rt : RawTable
        Opened table.

    Returns
    -------
    list of Violation
    """
    out: list[Violation] = []
    spec = rt.spec
    for col in spec.columns:
        if col.required and col.name not in rt.types:
            out.append(
                _v(
                    rt,
                    col.name,
                    "missing_column",
                    f"required column '{col.name}' is missing from the header "
                    f"({col.description}); add it or rename the matching column",
                )
            )
    for name in rt.types:
        if name not in spec.column_names:
            out.append(
                _v(
                    rt,
                    name,
                    "unknown_column",
                    "column is not part of the data contract and is ignored",
                    severity="warning",
                )
            )
    if rt.n_rows == 0:
        out.append(
            _v(
                rt,
                None,
                "empty_table",
                "the table has a header but no rows"
                + (
                    "; a required table must have data: check the export"
                    if spec.required
                    else "; the optional table is treated as absent"
                ),
                severity="error" if spec.required else "warning",
            )
        )
        return out
    rules = _column_rules(rt)
    if not rules:
        return out
    counts = _rule_counts(con, rt, rules)
    for (col, rule, cond, message), n in zip(rules, counts, strict=True):
        if n:
            ex = _examples(con, f"SELECT {rt.example_select()} FROM {rt.src} WHERE {cond}")
            out.append(_v(rt, col, rule, message, n_rows=int(n), examples=ex))
    return out


def _rule_counts(
    con: duckdb.DuckDBPyConnection, rt: RawTable, rules: list[tuple[str, str, str, str]]
) -> list[int]:
    """Rows breaking each rule: text columns are checked on their distinct values (one
    grouped scan; cheap on dictionary-encoded Parquet), the others row by row (one scan)."""
    by_value = [c.name for c in rt.present if _by_value(c, rt.types[c.name])]
    counts: dict[int, int] = {}
    row_rules = [(i, r) for i, r in enumerate(rules) if r[0] not in by_value]
    if row_rules:
        agg = ", ".join(f"count(*) FILTER (WHERE {r[2]})" for _, r in row_rules)
        got = con.execute(f"SELECT {agg} FROM {rt.src}").fetchall()[0]
        counts.update({i: int(n) for (i, _), n in zip(row_rules, got, strict=True)})
    val_rules = [(i, r) for i, r in enumerate(rules) if r[0] in by_value]
    if val_rules:
        cols = ", ".join(quote_ident(c) for c in by_value)
        sets = ", ".join(f"({quote_ident(c)})" for c in by_value)
        flags = ", ".join(f"grouping({quote_ident(c)}) AS __g{j}" for j, c in enumerate(by_value))
        agg = ", ".join(
            f"coalesce(sum(__n) FILTER (WHERE __g{by_value.index(r[0])} = 0 AND {r[2]}), 0)"
            for _, r in val_rules
        )
        # text columns read as stored when no value changes under the reader's conversion
        as_text = [c for c in by_value if rt.spec.column(c).dtype in ("str", "month")]
        unclean = ", ".join(
            f"count(*) FILTER (WHERE __g{by_value.index(c)} = 0 AND "
            f"{sql_value_expr(c, rt.spec.column(c).dtype, rt.types[c])} "
            f"IS DISTINCT FROM {quote_ident(c)})"
            for c in as_text
        )
        vals = quote_ident(f"__values_{rt.spec.name}")
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {vals} AS SELECT {cols}, count(*) AS __n, {flags} "
            f"FROM {rt.src} GROUP BY GROUPING SETS ({sets})"
        )
        for j, c in enumerate(by_value):
            rt.values[c] = f"(SELECT {quote_ident(c)} FROM {vals} WHERE __g{j} = 0)"
        select = ", ".join(filter(None, [agg, unclean]))
        got = con.execute(f"SELECT {select} FROM {vals}").fetchall()[0]
        n_rules = len(val_rules)
        counts.update({i: int(n) for (i, _), n in zip(val_rules, got[:n_rules], strict=True)})
        rt.plain = {c for c, n in zip(as_text, got[n_rules:], strict=True) if n == 0}
    return [counts[i] for i in range(len(rules))]


def _key_bits(
    con: duckdb.DuckDBPyConnection, rt: RawTable, last: str, notnull: str
) -> tuple[str, str]:
    """Join clause and bit position of the last key column for the composite-key screen.

    When the last key column takes at most :data:`KEY_SCREEN_BITS` values (a product, a
    channel), each value gets its own bit and the screen is exact: a group is a suspect only
    when it holds a duplicate. Otherwise a hash picks the bit, and about half of the groups of
    ten values collide: on a large bank the exact re-check of those suspects is then most of
    the table (at 10 million customers it did not fit DuckDB's memory limit).
    """
    values = con.execute(
        f"SELECT DISTINCT {last} AS v FROM {rt.src} WHERE {notnull} LIMIT {KEY_SCREEN_BITS + 1}"
    ).fetchall()
    if len(values) > KEY_SCREEN_BITS:
        return "", f"CAST(hash({last}) % {KEY_SCREEN_BITS} AS UBIGINT)"
    table = quote_ident(f"_key_bits_{rt.spec.name}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table} (_key_value VARCHAR, _key_bit UBIGINT)")
    ranked = sorted(str(v) for (v,) in values)
    if ranked:
        con.executemany(
            f"INSERT INTO {table} VALUES (?, ?)", [(v, i) for i, v in enumerate(ranked)]
        )
    return f" JOIN {table} ON CAST({last} AS VARCHAR) = _key_value", "_key_bit"


def check_key(con: duckdb.DuckDBPyConnection, rt: RawTable) -> list[Violation]:
    """Check the table's key is unique (rows with an empty key part are ignored here).

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Connection.
    rt : RawTable
        Opened table.

    Returns
    -------
    list of Violation
    """
    key = rt.spec.key
    if not key or rt.n_rows == 0 or any(k not in rt.types for k in key):
        return []
    if rt.path.suffix == ".parquet":
        # stored values as they are: no per-row conversion on tens of millions of rows
        parsed = [quote_ident(k) for k in key]
        notnull = " AND ".join(f"{p} IS NOT NULL" for p in parsed)
    else:
        parsed = [f"trim({quote_ident(k)})" for k in key]
        notnull = " AND ".join(f"NOT {rt.isnull(k)}" for k in key)
    sel = ", ".join(f"{p} AS {quote_ident(k)}" for k, p in zip(key, parsed, strict=True))
    where = notnull
    if len(key) > 1:
        # Cheap screen: group by all key columns but the last and compare the row count with
        # the number of distinct bits hash(last) % 64 set; a duplicate always shows up (and a
        # rare hash collision is cleared by the exact check on those groups only).
        prefix = ", ".join(
            f"{p} AS {quote_ident(k)}" for k, p in zip(key[:-1], parsed[:-1], strict=True)
        )
        names = ", ".join(quote_ident(k) for k in key[:-1])
        join, bit = _key_bits(con, rt, parsed[-1], notnull)
        suspects = (
            f"SELECT {prefix} FROM {rt.src}{join} WHERE {notnull} GROUP BY ALL "
            f"HAVING count(*) > bit_count(bit_or(1::UBIGINT << {bit}))"
        )
        n_suspect = con.execute(f"SELECT count(*) FROM ({suspects})").fetchall()[0][0]
        if not n_suspect:
            return []
        where = f"{notnull} AND ({', '.join(parsed[:-1])}) IN (SELECT ({names}) FROM ({suspects}))"
    grouped = (
        f"SELECT {sel}, count(*) AS n FROM {rt.src} WHERE {where} GROUP BY ALL HAVING count(*) > 1"
    )
    n_keys, n_rows = con.execute(f"SELECT count(*), sum(n) FROM ({grouped})").fetchall()[0]
    if not n_keys:
        return []
    order = ", ".join(quote_ident(k) for k in key)
    examples = _examples(con, f"SELECT * FROM ({grouped}) ORDER BY n DESC, {order}")
    key_txt = ", ".join(key)
    return [
        _v(
            rt,
            key_txt,
            "duplicate_key",
            f"{n_keys:,} value{'s' if n_keys != 1 else ''} of the key ({key_txt}) {'appear' if n_keys != 1 else 'appears'} more than "
            "once; each must be unique: remove the duplicate rows",
            n_rows=int(n_rows),
            examples=examples,
        )
    ]


def check_foreign_keys(
    con: duckdb.DuckDBPyConnection, rt: RawTable, tables: dict[str, RawTable]
) -> list[Violation]:
    """Check every foreign key of ``rt`` resolves (skipped when the parent table is absent).

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Connection.
    rt : RawTable
        Child table.
    tables : dict
        All opened tables.

    Returns
    -------
    list of Violation
    """
    out: list[Violation] = []
    if rt.n_rows == 0:
        return out
    for fk in rt.spec.foreign_keys:
        parent = tables.get(fk.ref_table)
        if parent is None or fk.column not in rt.types or fk.ref_column not in parent.types:
            continue
        child_val = rt.parsed(fk.column)
        parent_val = parent.parsed(fk.ref_column)
        # distinct raw values first (cheap on dictionary-encoded Parquet), then convert
        values = (
            f"SELECT {child_val} AS v FROM {rt.distinct(fk.column)} "
            f"WHERE {child_val} IS NOT NULL "
            f"EXCEPT SELECT {parent_val} FROM {parent.distinct(fk.ref_column)}"
        )
        n_values = con.execute(f"SELECT count(*) FROM ({values})").fetchall()[0][0]
        if n_values:
            orphans = f"FROM {rt.src} WHERE {child_val} IN (SELECT v FROM ({values}))"
            n = con.execute(f"SELECT count(*) {orphans}").fetchall()[0][0]
            out.append(
                _v(
                    rt,
                    fk.column,
                    "foreign_key",
                    f"{n_values:,} value{'s' if n_values != 1 else ''} not found in "
                    f"{fk.ref_table}.{fk.ref_column} ({parent.path.name}): add the missing "
                    f"{fk.ref_table} rows or correct the ids",
                    n_rows=int(n),
                    examples=_examples(con, f"SELECT {rt.example_select()} {orphans}"),
                )
            )
    return out


# --------------------------------------------------------------------------- cross-row rules


def _month_index(month: str) -> int:
    y, m = month.split("-")
    return int(y) * 12 + int(m) - 1


def _month_name(idx: int) -> str:
    return f"{idx // 12:04d}-{idx % 12 + 1:02d}"


def data_months(con: duckdb.DuckDBPyConnection, holdings: RawTable) -> list[str]:
    """Return the sorted distinct valid months of the holdings table."""
    if "month" not in holdings.types:
        return []
    val = holdings.parsed("month")
    # the distinct stored values the column checks collected (or a grouped scan without them)
    rows = con.execute(
        f"SELECT DISTINCT {val} AS m FROM {holdings.distinct('month')} "
        f"WHERE {val} IS NOT NULL ORDER BY m"
    ).fetchall()
    return [r[0] for r in rows]


def check_months(months: list[str], holdings: RawTable) -> list[Violation]:
    """Check the holdings months form a contiguous run (no month-end missing).

    Parameters
    ----------
    months : list of str
        Sorted distinct months of the holdings table.
    holdings : RawTable
        The holdings table (for the file name).

    Returns
    -------
    list of Violation
    """
    if not months:
        return []
    idx = {_month_index(m) for m in months}
    lo, hi = min(idx), max(idx)
    gaps = [_month_name(i) for i in range(lo, hi + 1) if i not in idx]
    if not gaps:
        return []
    return [
        _v(
            holdings,
            "month",
            "months_not_contiguous",
            f"months are not contiguous from {months[0]} to {months[-1]}: "
            f"{len(gaps)} month-end{'s' if len(gaps) != 1 else ''} missing "
            f"({', '.join(gaps[:12])}{', ...' if len(gaps) > 12 else ''}); every month-end "
            "between the first and the last must be in the extract",
            examples=[{"missing_month": g} for g in gaps[:_N_EXAMPLES]],
        )
    ]


def _count_rule(
    con: duckdb.DuckDBPyConnection,
    rt: RawTable,
    column: str,
    rule: str,
    cond: str,
    message: str,
) -> list[Violation]:
    n = con.execute(f"SELECT count(*) FROM {rt.src} WHERE {cond}").fetchall()[0][0]
    if not n:
        return []
    ex = _examples(con, f"SELECT {rt.example_select()} FROM {rt.src} WHERE {cond}")
    return [_v(rt, column, rule, message, n_rows=int(n), examples=ex)]


def check_cross_rules(
    con: duckdb.DuckDBPyConnection, tables: dict[str, RawTable], months: list[str]
) -> list[Violation]:
    """Check the rules across rows of :data:`bankanalysis.contract.EXTRA_RULES`.

    Dates after the last data month, ``operating_hours > available_hours``, device months
    outside the holdings months, ``closed`` before ``since``.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Connection.
    tables : dict
        Opened tables.
    months : list of str
        Sorted holdings months (empty when unknown).

    Returns
    -------
    list of Violation
    """
    out: list[Violation] = []
    if months:
        last = months[-1]
        end = f"last_day(DATE '{last}-01')"
        for rt in tables.values():
            if rt.n_rows == 0:
                continue
            for c in rt.spec.not_after_last_month:
                if c in rt.types:
                    out += _count_rule(
                        con,
                        rt,
                        c,
                        "after_last_month",
                        f"{rt.parsed(c)} > {end}",
                        f"dates after the end of the data's last month ({last}): the extract "
                        "mixes in later data or the dates are wrong",
                    )
        dm = tables.get("device_months")
        if dm is not None and dm.n_rows and "month" in dm.types:
            listed = ", ".join(f"'{m}'" for m in months)
            out += _count_rule(
                con,
                dm,
                "month",
                "month_outside_data",
                f"{dm.parsed('month')} IS NOT NULL AND {dm.parsed('month')} NOT IN ({listed})",
                f"months outside the holdings months ({months[0]} to {months[-1]}); "
                "extract the same months for every table",
            )
    dm = tables.get("device_months")
    if dm is not None and dm.n_rows and {"available_hours", "operating_hours"} <= set(dm.types):
        out += _count_rule(
            con,
            dm,
            "operating_hours",
            "operating_above_available",
            f"{dm.parsed('operating_hours')} > {dm.parsed('available_hours')}",
            "operating_hours greater than available_hours: a device cannot operate longer "
            "than it is available; correct the hours",
        )
    cu = tables.get("customers")
    if cu is not None and cu.n_rows and {"since", "closed"} <= set(cu.types):
        out += _count_rule(
            con,
            cu,
            "closed",
            "closed_before_since",
            f"{cu.parsed('closed')} < {cu.parsed('since')}",
            "closing dates before the customer's 'since' date; correct either date",
        )
    return out
