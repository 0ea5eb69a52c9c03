"""The rules of the ``targets`` table that single-column checks cannot express.

Called by :func:`bankanalysis.data.validate.validate_raw` (the one entry point) after the
column checks. A target names a KPI of the dictionary (:func:`bankanalysis.rules.kpis.is_kpi`)
at a level the KPI exists at, an id that exists at that level (an outlet or region of the
extract, an echelon 1-3, ``bank``), and a period (``month``, ``quarter``, ``year``; empty or no
column = ``month``) whose ``month`` is the period's last month. One row per (period, month,
level, id, kpi). Each broken rule is one :class:`~bankanalysis.exceptions.Violation` naming the
file, the column, the number of rows and up to five example rows with their row number
(1 = the first row under the header).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import duckdb
import pandas as pd

from bankanalysis.contract import BANK_TARGET_ID, ECHELONS
from bankanalysis.data.sql_typing import quote_ident
from bankanalysis.data.validate_rules import RawTable
from bankanalysis.exceptions import Violation
from bankanalysis.rules import kpis

__all__ = ["check_targets", "target_problems"]

logger = logging.getLogger(__name__)

_N_EXAMPLES = 5
_COLUMNS = ("month", "level", "id", "kpi", "period")


def _rows(con: duckdb.DuckDBPyConnection, rt: RawTable) -> pd.DataFrame:
    """The table's rows as text (row number first), contract columns parsed, period filled."""
    sel = ['row_number() OVER () AS "row"']
    for c in _COLUMNS:
        if c in rt.types:
            sel.append(f"{rt.parsed(c)} AS {quote_ident(c)}")
        else:
            sel.append(f"NULL AS {quote_ident(c)}")
    df = con.execute(f"SELECT {', '.join(sel)} FROM {rt.src}").df()
    for c in _COLUMNS:
        df[c] = df[c].astype("object").where(df[c].notna(), None)
    return df


def target_problems(
    rows: pd.DataFrame, outlet_ids: set[str] | None, region_ids: set[str] | None
) -> list[tuple[str, str, pd.DataFrame, str]]:
    """The broken target rules of ``rows`` (pure; :func:`check_targets` reads the file).

    Parameters
    ----------
    rows : DataFrame
        ``row, month, level, id, kpi, period`` as text (``None`` for empty values).
    outlet_ids, region_ids : set of str or None
        Ids of the extract's outlets and regions (``None``: the table is missing, not checked).

    Returns
    -------
    list of (column, rule, offending rows, message)
    """
    out: list[tuple[str, str, pd.DataFrame, str]] = []
    r = rows.assign(period=rows["period"].fillna("month"))
    kpi_known = r["kpi"].map(lambda k: k is not None and kpis.is_kpi(str(k)))
    bad = r.loc[r["kpi"].notna() & ~kpi_known]
    if len(bad):
        names = sorted(set(bad["kpi"].astype(str)))
        out.append(
            (
                "kpi",
                "unknown_kpi",
                bad,
                f"KPI ids that are not in the KPI dictionary ({', '.join(names[:5])}"
                f"{', ...' if len(names) > 5 else ''}): use the ids of docs/kpis.md "
                "(`bankanalysis kpis` lists them)",
            )
        )
    known = r.loc[kpi_known & r["level"].notna()]
    wrong_level = known.loc[
        [
            lv not in kpis.get(str(k)).levels
            for k, lv in zip(known["kpi"], known["level"], strict=True)
        ]
    ]
    if len(wrong_level):
        pairs = sorted(
            {f"{k} at {lv}" for k, lv in zip(wrong_level["kpi"], wrong_level["level"], strict=True)}
        )
        out.append(
            (
                "level",
                "kpi_level",
                wrong_level,
                f"targets at a level the KPI does not exist at ({', '.join(pairs[:5])}); each "
                "KPI's levels are listed in docs/kpis.md",
            )
        )
    ids = {
        "outlet": outlet_ids,
        "region": region_ids,
        "echelon": {str(e) for e in ECHELONS},
        "bank": {BANK_TARGET_ID},
    }
    unknown_id = [
        lv in ids and ids[lv] is not None and i is not None and str(i) not in ids[lv]
        for lv, i in zip(r["level"], r["id"], strict=True)
    ]
    bad_id = r.loc[unknown_id]
    if len(bad_id):
        out.append(
            (
                "id",
                "unknown_target_id",
                bad_id,
                "ids that do not exist at the row's level: an outlet level names an outlet_id "
                "of outlets, a region level a region_id of regions, an echelon level 1, 2 or 3, "
                f"the bank level '{BANK_TARGET_ID}'",
            )
        )
    month_no = pd.to_numeric(r["month"].str.slice(5, 7), errors="coerce")
    wrong_q = (r["period"] == "quarter") & month_no.notna() & (month_no % 3 != 0)
    wrong_y = (r["period"] == "year") & month_no.notna() & (month_no != 12)
    bad_p = r.loc[wrong_q | wrong_y]
    if len(bad_p):
        out.append(
            (
                "month",
                "period_month",
                bad_p,
                "quarter or year targets whose month is not the period's last month: a quarter "
                "target's month is March, June, September or December, a year target's "
                "December",
            )
        )
    key = ["period", "month", "level", "id", "kpi"]
    full = r.dropna(subset=key)
    dup = full.loc[full.duplicated(key, keep=False)]
    if len(dup):
        n_keys = len(dup.drop_duplicates(key))
        out.append(
            (
                "period, month, level, id, kpi",
                "duplicate_key",
                dup,
                f"{n_keys:,} value(s) of the key (period, month, level, id, kpi) appear more than "
                "once (an empty period counts as month); remove the duplicate rows",
            )
        )
    return out


def _ids(con: duckdb.DuckDBPyConnection, rt: RawTable | None, column: str) -> set[str] | None:
    if rt is None or column not in rt.types:
        return None
    got = con.execute(f"SELECT DISTINCT {rt.parsed(column)} FROM {rt.src}").fetchall()
    return {str(v[0]) for v in got if v[0] is not None}


def check_targets(
    con: duckdb.DuckDBPyConnection, tables: Mapping[str, RawTable]
) -> list[Violation]:
    """Check the ``targets`` table's KPI ids, levels, ids, periods and key.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Connection the tables are registered on.
    tables : mapping
        Opened raw tables (``targets``, ``outlets``, ``regions`` when present).

    Returns
    -------
    list of Violation
        One per broken rule, with the rows affected and up to five examples (``row`` is the
        row number under the header).
    """
    rt = tables.get("targets")
    if rt is None or rt.n_rows == 0:
        return []
    rows = _rows(con, rt)
    problems = target_problems(
        rows,
        _ids(con, tables.get("outlets"), "outlet_id"),
        _ids(con, tables.get("regions"), "region_id"),
    )
    out = []
    for column, rule, bad, message in problems:
        shown = [c for c in ("row", *_COLUMNS) if c == "row" or c in rt.types]
        examples = [
            {c: (int(v) if c == "row" else v) for c, v in rec.items()}
            for rec in bad[shown].head(_N_EXAMPLES).to_dict("records")
        ]
        out.append(
            Violation(
                table="targets",
                file=str(rt.path),
                column=column,
                rule=rule,
                message=message,
                n_rows=len(bad),
                examples=examples,
            )
        )
    return out
