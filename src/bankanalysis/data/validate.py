"""Check the raw tables in ``data/raw/`` against the data contract, all problems at once.

:func:`validate_raw` is the one entry point (``bankanalysis data validate`` and prepare both
call it): every table present is checked against :data:`bankanalysis.contract.TABLES` and the
rules of :data:`bankanalysis.contract.EXTRA_RULES` (the checks live in
:mod:`bankanalysis.data.validate_rules`). Row-level checks run in DuckDB SQL, so a bank of tens
of millions of rows is checked without loading it into pandas.

>>> check = validate_raw(Path("data/raw"))      # doctest: +SKIP
>>> check.errors, check.warnings                 # doctest: +SKIP
([], [])
>>> check.raise_for_errors()                     # doctest: +SKIP
[]                                               # the warnings; errors raise DataContractError
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from bankanalysis.contract import TABLE_ORDER, TABLES
from bankanalysis.data.io import RAW_FORMATS, bounded_connection, duckdb_source, find_table_file
from bankanalysis.data.sql_typing import source_columns
from bankanalysis.data.validate_rules import (
    RawTable,
    check_columns,
    check_cross_rules,
    check_foreign_keys,
    check_key,
    check_months,
    data_months,
    missing_table,
    unreadable,
)
from bankanalysis.data.validate_targets import check_targets
from bankanalysis.exceptions import DataContractError, Violation

logger = logging.getLogger(__name__)


@dataclass
class RawCheck:
    """What :func:`validate_raw` found.

    Attributes
    ----------
    violations : list of Violation
        Errors and warnings, in report order.
    months : list of str
        Sorted distinct valid months of the holdings table.
    plain : dict
        ``{table: text columns}`` whose stored values need no conversion (nothing to trim, no
        null tokens): :func:`bankanalysis.data.sql_typing.sql_value_expr` would return them unchanged.
    deferred : dict
        ``{table: position in violations}`` of the key checks left to the caller (not run
        because nothing else was broken); :meth:`resolve_deferred` runs them and puts their
        violations where a full check would have listed them.
    raw_dir : Path
        The folder checked.
    encoding : str
        Its CSV encoding.
    """

    violations: list[Violation]
    months: list[str] = field(default_factory=list)
    plain: dict[str, set[str]] = field(default_factory=dict)
    deferred: dict[str, int] = field(default_factory=dict)
    raw_dir: Path = Path()
    encoding: str = "utf-8"

    @property
    def errors(self) -> list[Violation]:
        """The violations of severity ``error``."""
        return [v for v in self.violations if v.severity == "error"]

    @property
    def warnings(self) -> list[Violation]:
        """The violations of lower severity (warnings)."""
        return [v for v in self.violations if v.severity != "error"]

    def resolve_deferred(self) -> RawCheck:
        """Run the deferred key checks; return the complete check (nothing deferred).

        Returns
        -------
        RawCheck
            The same check with the key violations of the deferred tables in place, i.e.
            exactly what :func:`validate_raw` without ``defer_keys`` reports.
        """
        out = list(self.violations)
        for table in reversed(list(self.deferred)):  # last first: earlier positions stay valid
            pos = self.deferred[table]
            out[pos:pos] = _key_violations(self.raw_dir, table, self.encoding)
        return RawCheck(out, self.months, self.plain, {}, self.raw_dir, self.encoding)

    def raise_for_errors(self, log_warnings: bool = True) -> list[Violation]:
        """Raise the report when a rule is broken; log and return the warnings otherwise.

        Parameters
        ----------
        log_warnings : bool
            Log each warning (``False`` when the caller shows them itself, as ``bankanalysis
            data validate`` does: otherwise each would appear twice).

        Returns
        -------
        list of Violation
            The warnings (unknown files or columns, empty optional tables).

        Raises
        ------
        DataContractError
            When any rule is broken; it holds every violation found, each with file, column,
            number of rows and up to five example rows.
        """
        if self.errors:
            raise DataContractError(self.violations, source=str(self.raw_dir))
        if log_warnings:
            for w in self.warnings:
                logger.warning(w.format())
        return self.warnings


def _open_raw_tables(
    con: duckdb.DuckDBPyConnection, raw_dir: Path, encoding: str, tmp_dir: Path
) -> tuple[dict[str, RawTable], list[Violation]]:
    """Find and open every contract table in ``raw_dir``.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Connection to register the sources on.
    raw_dir : Path
        Folder of raw tables.
    encoding : str
        CSV encoding.
    tmp_dir : Path
        Folder for transcoded CSV copies.

    Returns
    -------
    (dict, list)
        Opened tables by name, and the file-level violations met (missing required tables,
        unreadable or undecodable files, unknown files as warnings).
    """
    tables: dict[str, RawTable] = {}
    problems: list[Violation] = []
    known = {f"{t}.{ext}" for t in TABLES for ext in RAW_FORMATS}
    for f in sorted(raw_dir.iterdir()):
        if f.is_file() and f.suffix in (".csv", ".parquet") and f.name not in known:
            problems.append(
                Violation(
                    table=f.stem,
                    file=str(f),
                    column=None,
                    rule="unknown_file",
                    message=(
                        f"'{f.name}' is not a table of the data contract and is ignored "
                        f"(tables: {', '.join(TABLES)})"
                    ),
                    severity="warning",
                )
            )
    for name in TABLE_ORDER:
        spec = TABLES[name]
        try:
            path = find_table_file(raw_dir, name)
            if path is None:
                if spec.required:
                    problems.append(
                        missing_table(
                            raw_dir,
                            name,
                            f"required table '{name}' is missing: add {name}.csv or "
                            f"{name}.parquet to {raw_dir} ({spec.description})",
                            required=True,
                        )
                    )
                continue
            src = duckdb_source(con, raw_dir, name, encoding, tmp_dir)
        except DataContractError as exc:
            problems += exc.violations + exc.warnings
            continue
        rt = RawTable(spec, path, src, source_columns(con, src))
        try:
            rt.n_rows = int(con.execute(f"SELECT count(*) FROM {src}").fetchall()[0][0])
        except duckdb.Error as exc:
            problems.append(unreadable(rt, exc))
            continue
        tables[name] = rt
    return tables, problems


def validate_raw(
    raw_dir: Path,
    encoding: str = "utf-8",
    *,
    defer_keys: tuple[str, ...] = (),
    con: duckdb.DuckDBPyConnection | None = None,
    shape: bool = False,
    windows: Mapping[str, Any] | None = None,
) -> RawCheck:
    """Check the raw tables in ``raw_dir`` against the data contract; report every violation.

    Parameters
    ----------
    raw_dir : Path
        Folder of raw tables (``data/raw``).
    encoding : str
        Encoding of CSV files (``"utf-8"`` also accepts a BOM; ``"gbk"`` for GBK extracts).
    defer_keys : tuple of str
        Tables whose key-uniqueness check the caller does itself, more cheaply, when nothing
        else is broken (prepare derives it from its holdings aggregation and calls
        :meth:`RawCheck.resolve_deferred` only when it finds a duplicate). When another rule
        is broken, their key checks run here anyway, so that every violation is reported at
        once.
    con : duckdb.DuckDBPyConnection, optional
        Connection to use (a new in-memory one by default).
    shape : bool
        Also warn about degenerate shapes of a valid extract (constant balances, too few
        months, missing optional tables, products nobody holds, one outlet in a region, one
        region in an echelon: :func:`bankanalysis.data.validate_shape.check_shape`); only
        when no rule is broken. ``bankanalysis data validate`` sets it.
    windows : mapping, optional
        Parameters sizing the month windows for ``shape``
        (:func:`bankanalysis.data.validate_shape.window_params`); schema defaults if omitted.

    Returns
    -------
    RawCheck
        Errors and warnings (call :meth:`RawCheck.raise_for_errors` to stop on errors), the
        data months and what the checks learnt about the text columns.
    """
    raw_dir = Path(raw_dir)
    if not raw_dir.is_dir():
        missing = Violation(
            table="*",
            file=str(raw_dir),
            column=None,
            rule="missing_folder",
            message="raw data folder not found: run `make data` or point --raw at the extract",
        )
        return RawCheck([missing], raw_dir=raw_dir, encoding=encoding)
    own = con is None
    with tempfile.TemporaryDirectory(prefix="bankanalysis-validate-") as tmp:
        # a bank's checks must not grow with the bank: held to the memory limit, spilling
        con = con or bounded_connection(Path(tmp) / "spill")
        try:
            tables, out = _open_raw_tables(con, raw_dir, encoding, Path(tmp))
            for name, rt in list(tables.items()):
                logger.info("checking %s (%s rows)", rt.path.name, f"{rt.n_rows:,}")
                try:
                    out += check_columns(con, rt)
                except duckdb.Error as exc:
                    out.append(unreadable(rt, exc))
                    del tables[name]
            deferred: dict[str, int] = {}
            for rt in tables.values():
                t0 = time.perf_counter()
                if rt.spec.name in defer_keys:
                    deferred[rt.spec.name] = len(out)
                else:
                    out += check_key(con, rt)
                t1 = time.perf_counter()
                out += check_foreign_keys(con, rt, tables)
                logger.debug(
                    "%s: key %.1f s, foreign keys %.1f s",
                    rt.spec.name,
                    t1 - t0,
                    time.perf_counter() - t1,
                )
            months: list[str] = []
            if "holdings" in tables:
                months = data_months(con, tables["holdings"])
                out += check_months(months, tables["holdings"])
            out += check_cross_rules(con, tables, months) + check_targets(con, tables)
            if deferred and any(v.severity == "error" for v in out):
                # something else is broken: the report must name the duplicate keys too,
                # where the full check lists them (last first keeps earlier positions valid)
                for name in reversed(list(deferred)):
                    pos = deferred[name]
                    out[pos:pos] = check_key(con, tables[name])
                deferred = {}
            if shape and not any(v.severity == "error" for v in out):
                from bankanalysis.data.validate_shape import check_shape

                out += check_shape(con, raw_dir, tables, months, windows)
            plain = {name: set(rt.plain) for name, rt in tables.items()}
        finally:
            if own:
                con.close()
    return RawCheck(out, months, plain, deferred, raw_dir, encoding)


def _key_violations(raw_dir: Path, table: str, encoding: str = "utf-8") -> list[Violation]:
    """Run the exact key-uniqueness check of one raw table (the ``duplicate_key`` violation)."""
    path = find_table_file(Path(raw_dir), table)
    if path is None:
        return []
    with tempfile.TemporaryDirectory(prefix="bankanalysis-validate-") as tmp:
        con = bounded_connection(Path(tmp) / "spill")
        try:
            src = duckdb_source(con, Path(raw_dir), table, encoding, Path(tmp))
            rt = RawTable(TABLES[table], path, src, source_columns(con, src))
            rt.n_rows = int(con.execute(f"SELECT count(*) FROM {src}").fetchall()[0][0])
            return check_key(con, rt)
        finally:
            con.close()
