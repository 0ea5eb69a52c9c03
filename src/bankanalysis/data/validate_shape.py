"""Warnings about degenerate data shapes (issue 13 §4): valid, but the reports will be thin.

A real extract can satisfy the contract and still be unable to support parts of the reports:
every balance zero, fewer months than the windows need, an optional table missing, products
nobody holds, a region with one outlet, an echelon with one region. :func:`check_shape` says so
before anything runs, as warnings (severity ``"warning"``: ``bankanalysis data validate``
still exits 0), each naming the file, the column, how many rows and an example, and what the
reports will do about it.

The months the windows need come from :func:`bankanalysis.data.support_check.months_needed`
with the parameters' schema defaults (or a parameter folder's values); the KPIs a missing
table takes away come from the KPI dictionary's ``needs``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb

from bankanalysis.data.support import OPTIONAL_TABLES
from bankanalysis.data.support_check import kpis_needing, months_needed
from bankanalysis.data.validate_rules import RawTable, missing_table
from bankanalysis.exceptions import Violation
from bankanalysis.rules.kpis import KPIS

__all__ = ["SECTIONS", "check_shape", "window_params"]

logger = logging.getLogger(__name__)

_N_EXAMPLES = 5

#: Report sections fed by the module computing a KPI (``compute`` of the KPI dictionary).
SECTIONS: dict[str, str] = {
    "bankanalysis.segmentation.behaviour": "behaviour segments (01 customer segmentation)",
    "bankanalysis.segmentation.managers": (
        "account managers and VIP service (01 customer segmentation, 00 bank overview)"
    ),
    "bankanalysis.benchmarking.kpis": "outlet KPIs, peer ranks and DEA (03 outlet benchmarking)",
    "bankanalysis.benchmarking.self_service": (
        "self-service and channel replacement (03 outlet benchmarking, 00 bank overview)"
    ),
    "bankanalysis.overview": (
        "attainment against the plan's targets (00 bank overview, 03 outlet benchmarking)"
    ),
}


def window_params(params_dir: str | Path | None = None) -> dict[str, Any]:
    """The parameters that size the month windows: schema defaults or a folder's values.

    Parameters
    ----------
    params_dir : str or Path, optional
        Folder with ``defaults.yaml`` (as ``bankanalysis run --params``); its bank-wide
        values are used (region overrides are not).

    Returns
    -------
    dict
        ``migration_months``, ``horizon``, ``eval_months``, ``train_windows``.

    Raises
    ------
    ParameterError
        When the folder's parameters are invalid.
    """
    from bankanalysis.params import load_params, schema_defaults

    def get(nb: str) -> dict[str, Any]:
        if params_dir is None:
            return schema_defaults(nb)
        return load_params(params_dir, nb, None)

    seg, prop = get("01_customer_segmentation"), get("02_cross_sell_propensity")
    return {
        "migration_months": seg["migration_months"],
        "horizon": prop["horizon"],
        "eval_months": prop["eval_months"],
        "train_windows": prop["train_windows"],
    }


def _warn(rt: RawTable, column: str | None, rule: str, message: str, **kw: Any) -> Violation:
    return Violation(
        table=rt.spec.name,
        file=str(rt.path),
        column=column,
        rule=rule,
        message=message,
        severity="warning",
        **kw,
    )


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict]:
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _balances(con: duckdb.DuckDBPyConnection, h: RawTable, p: RawTable) -> list[Violation]:
    """AUM balances all zero or all equal: tiers, AUM shares and the baseline model say nothing."""
    if not {"product", "balance"} <= set(h.types) or not {"product", "in_aum"} <= set(p.types):
        return []
    sql = (
        f"SELECT count(*) AS n, min(b) AS lo, max(b) AS hi FROM (SELECT {h.parsed('balance')} AS b "
        f"FROM {h.src} WHERE {h.parsed('product')} IN (SELECT {p.parsed('product')} FROM "
        f"{p.src} WHERE {p.parsed('in_aum')})) WHERE b IS NOT NULL"
    )
    (row,) = _rows(con, sql)
    if not row["n"] or row["lo"] != row["hi"]:
        return []
    what = "0" if row["hi"] == 0 else f"the same value ({row['hi']:,.2f})"
    return [
        _warn(
            h,
            "balance",
            "balances_constant",
            f"every balance of an AUM product (products.in_aum = true) is {what}: every "
            "customer falls in the same tier, AUM shares and concentration cannot be computed "
            "and the propensity baseline cannot rank anyone; check the balance column of the "
            "extract",
            n_rows=int(row["n"]),
            examples=[{"balance": row["hi"]}],
        )
    ]


def _months(months: list[str], h: RawTable, windows: Mapping[str, Any]) -> list[Violation]:
    """Fewer month-ends than the migration or the propensity windows need."""
    if not months:
        return []
    n = len(months)
    need = months_needed(**windows)
    span = f"the data hold {n} month{'s' if n != 1 else ''} ({months[0]} to {months[-1]})"
    out: list[Violation] = []
    if n < need["migration"]:
        effect = (
            "there is no earlier month, so the tier migration cannot be computed"
            if n == 1
            else f"the migration will compare with the first month, {n - 1} months earlier"
        )
        out.append(
            _warn(
                h,
                "month",
                "too_few_months",
                f"{span}; the tier migration over migration_months = "
                f"{windows['migration_months']} needs {need['migration']}: {effect}",
                examples=[{"first_month": months[0], "last_month": months[-1]}],
            )
        )
    cfg = (
        f"horizon {windows['horizon']}, eval_months {windows['eval_months']} and "
        f"train_windows {windows['train_windows']}"
    )
    if n < need["propensity_any"]:
        out.append(
            _warn(
                h,
                "month",
                "too_few_months",
                f"{span}; cross-sell propensity with {cfg} needs at least "
                f"{need['propensity_any']} for any model: no product gets a model (the report "
                "says why); shorten the horizon or lower eval_months",
                examples=[{"first_month": months[0], "last_month": months[-1]}],
            )
        )
    elif n < need["propensity_full"]:
        k = n - need["propensity_any"] + 1
        out.append(
            _warn(
                h,
                "month",
                "too_few_months",
                f"{span}; cross-sell propensity with {cfg} needs {need['propensity_full']} for "
                f"every training window: the models train on {k} window{'s' if k != 1 else ''}",
                examples=[{"first_month": months[0], "last_month": months[-1]}],
            )
        )
    return out


def _sections(kpis: list[str]) -> list[str]:
    out: list[str] = []
    for k in kpis:
        module = KPIS[k].compute.partition(":")[0]
        section = SECTIONS.get(module, module)
        if section not in out:
            out.append(section)
    return out


def _missing_tables(raw_dir: Path, tables: Mapping[str, RawTable]) -> list[Violation]:
    """Optional tables the extract lacks: the KPIs and report sections that will be absent."""
    out: list[Violation] = []
    for name in OPTIONAL_TABLES:
        if name in tables:
            continue
        kpis = kpis_needing(name)
        if kpis:
            named = ", ".join(f"{k} ({KPIS[k].name})" for k in kpis)
            effect = (
                f"the KPIs that need it (KPI dictionary) will be absent, or rest on the other "
                f"tables, as the reports say: {named}; report sections affected: "
                f"{'; '.join(_sections(kpis))}"
            )
        else:
            effect = "no KPI needs it"
        out.append(
            missing_table(
                raw_dir, name, f"optional table '{name}' is missing: {effect}", required=False
            )
        )
    return out


def _never_held(con: duckdb.DuckDBPyConnection, h: RawTable, p: RawTable) -> list[Violation]:
    if "product" not in h.types or "product" not in p.types:
        return []
    rows = _rows(
        con,
        f"SELECT DISTINCT {p.parsed('product')} AS product FROM {p.src} WHERE "
        f"{p.parsed('product')} NOT IN (SELECT DISTINCT {h.parsed('product')} FROM {h.src} "
        f"WHERE {h.parsed('product')} IS NOT NULL) ORDER BY product",
    )
    if not rows:
        return []
    names = ", ".join(r["product"] for r in rows[:10]) + (" ..." if len(rows) > 10 else "")
    return [
        _warn(
            p,
            "product",
            "product_never_held",
            f"products nobody holds in any month ({names}): their holding rates read 0 and "
            "cross-sell models for them cannot be trained; remove them from the product table "
            "or check the holdings extract",
            n_rows=len(rows),
            examples=rows[:_N_EXAMPLES],
        )
    ]


def _singletons(
    con: duckdb.DuckDBPyConnection,
    rt: RawTable,
    group: str,
    member: str,
    rule: str,
    message: str,
) -> list[Violation]:
    """Groups of ``rt`` (by ``group``) with exactly one ``member``."""
    if not {group, member} <= set(rt.types):
        return []
    g, m = rt.parsed(group), rt.parsed(member)
    rows = _rows(
        con,
        f"SELECT {g} AS {group}, min({m}) AS only_{member} FROM {rt.src} WHERE {g} IS NOT NULL "
        f"GROUP BY 1 HAVING count(DISTINCT {m}) = 1 ORDER BY 1",
    )
    if not rows:
        return []
    return [_warn(rt, group, rule, message, n_rows=len(rows), examples=rows[:_N_EXAMPLES])]


def check_shape(
    con: duckdb.DuckDBPyConnection,
    raw_dir: Path,
    tables: Mapping[str, RawTable],
    months: list[str],
    windows: Mapping[str, Any] | None = None,
) -> list[Violation]:
    """Warnings about a valid extract whose shape leaves parts of the reports empty.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        Connection the tables are registered on.
    raw_dir : Path
        The raw folder (file names of missing tables).
    tables : mapping
        Opened tables (:func:`bankanalysis.data.validate.validate_raw`).
    months : list of str
        Sorted holdings months.
    windows : mapping, optional
        :func:`window_params` (schema defaults when omitted).

    Returns
    -------
    list of Violation
        Severity ``"warning"`` each: constant balances, too few months, missing optional
        tables, products nobody holds, regions with one outlet, echelons with one region.
    """
    windows = dict(windows) if windows is not None else window_params()
    h, p = tables.get("holdings"), tables.get("products")
    out: list[Violation] = []
    if h is not None and p is not None:
        out += _balances(con, h, p)
    if h is not None:
        out += _months(months, h, windows)
    out += _missing_tables(Path(raw_dir), tables)
    if h is not None and p is not None:
        out += _never_held(con, h, p)
    if (o := tables.get("outlets")) is not None:
        out += _singletons(
            con,
            o,
            "region_id",
            "outlet_id",
            "region_one_outlet",
            "regions with a single outlet: the region's figures are that outlet's, its report "
            "has no other outlet of the region to set beside it (outlets are compared with "
            "their peer group across the bank), and a DEA frontier per region "
            "(dea_frontier_by: region_id) would be the outlet alone",
        )
    if (r := tables.get("regions")) is not None:
        out += _singletons(
            con,
            r,
            "echelon",
            "region_id",
            "echelon_one_region",
            "echelons with a single region: that region has no peer region in its echelon, so "
            "the overview ranks it among all the bank's regions and gives it no league rank",
        )
    return out
