"""Report sections of the action lists: upgrade candidates (01), lagging outlets and product gaps (03).

The lists themselves are :mod:`bankanalysis.actions`. This module names outlets and peers,
formats every value through :mod:`bankanalysis.report.format`, withholds small groups by
:mod:`bankanalysis.rules.disclosure`, writes the customer rows of the upgrade list to the
restricted folder only (:mod:`bankanalysis.data.restricted`; never linked from a report) and
collects the ``metrics.json`` values, keyed by KPI id.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from bankanalysis.actions.product_gaps import gap_counts
from bankanalysis.actions.upgrade import upgrade_summary
from bankanalysis.data.restricted import restricted_dir, write_restricted
from bankanalysis.report.disclosure_grid import (
    grid_values,
    pipeline_cell,
    pipeline_total,
    protect_grid,
    protect_pipeline,
)
from bankanalysis.report.format import (
    NOT_AVAILABLE,
    Absent,
    Suppressed,
    format_change,
    format_value,
    kpi_label,
)
from bankanalysis.report.tables import KpiTable, kpi_table, style_table
from bankanalysis.rules.disclosure import is_small
from bankanalysis.rules.disclosure_secondary import DEFAULT_PROTECTION_LEVEL
from bankanalysis.rules.kpis import metric_key
from bankanalysis.rules.months import month_window
from bankanalysis.rules.tiers import tier_label

__all__ = [
    "UPGRADE_LIST_FILE",
    "UPGRADE_MANAGER_FILE",
    "family_label",
    "gap_matrices",
    "gap_matrix",
    "gap_matrix_frame",
    "lagging_action_metrics",
    "lagging_action_table",
    "lagging_notes",
    "product_gap_metrics",
    "product_gap_text",
    "protect_upgrade_pipeline",
    "standard_note",
    "trend_months",
    "upgrade_list_frame",
    "upgrade_manager_frame",
    "upgrade_metrics",
    "upgrade_outlet_table",
    "upgrade_text",
    "write_upgrade_list",
]

logger = logging.getLogger(__name__)

#: File name of the region's upgrade list in the restricted folder.
UPGRADE_LIST_FILE = "upgrade_list.csv"
#: File name of the region's upgrade list per account manager in the restricted folder.
UPGRADE_MANAGER_FILE = "upgrade_by_manager.csv"


def _e(text: object) -> str:
    return html.escape(str(text))


# --------------------------------------------------------------------------- 01: upgrade list


def trend_months(months: Sequence[str], month: str, n: int) -> list[str]:
    """The months of the AUM-trend window (``n`` month-ends ending at ``month``) in the data.

    Examples
    --------
    >>> trend_months(["2025-01", "2025-02", "2025-03"], "2025-03", 4)
    ['2025-01', '2025-02', '2025-03']
    """
    have = set(months)
    return [m for m in month_window(month, n) if m in have]


def _count(n: int, k: int) -> int | Suppressed:
    return Suppressed(k) if bool(is_small([n], k)[0]) else int(n)


def upgrade_metrics(
    candidates: pd.DataFrame, min_group_size: int, pipeline: Pipeline | None = None
) -> dict[str, Any]:
    """The region's upgrade-list totals for ``metrics.json`` (small groups withheld).

    Keys: ``upgrade_candidates`` (all thresholds), ``upgrade_aum_gap`` (withheld with the count),
    ``upgrade_candidates_rising`` (AUM trend above 0; absent when no candidate has a trend)
    and ``upgrade_candidates_unassigned`` (no account manager). The AUM gap is withheld
    (``"x"``) when the per-outlet table (:func:`upgrade_outlet_table`) cannot protect a small
    outlet's gap while the region's total is published (one outlet of fewer than
    ``min_group_size`` candidates holds most of it: the total would give it back).
    ``pipeline``: as for :func:`upgrade_outlet_table` (the same answer for both).
    """
    k = min_group_size
    n = len(candidates)
    small = bool(is_small([n], k)[0])
    gap: Any = Suppressed(k) if small else float(candidates["gap_to_next"].sum())
    if not small and n:
        outlets = sorted(candidates["outlet_id"].dropna().unique())
        _, status = _outlet_status(candidates, outlets, k, pipeline)
        if "gap" in status.attrs["withheld_totals"]:
            gap = Suppressed(k, "secondary")
    out: dict[str, Any] = {"upgrade_candidates": _count(n, k), "upgrade_aum_gap": gap}
    with_trend = int(candidates["aum_trend"].notna().sum())
    if n and not with_trend:
        out["upgrade_candidates_rising"] = Absent("no candidate has two month-ends of AUM")
    else:
        rising = int((candidates["aum_trend"] > 0).sum())
        out["upgrade_candidates_rising"] = Suppressed(k) if small else _count(rising, k)
    unassigned = int(candidates["manager_id"].isna().sum())
    out["upgrade_candidates_unassigned"] = Suppressed(k) if small else _count(unassigned, k)
    return out


def upgrade_text(
    metrics: Mapping[str, Any], within: float, months: int, currency: str, n_managers: int
) -> str:
    """The region's upgrade list in two sentences (values from :func:`upgrade_metrics`)."""
    n = metrics["upgrade_candidates"]
    restricted = (
        "The customer list, with each customer's gap, trend, manager and the products most "
        "likely to close the gap, is a restricted file for the account managers, not part of "
        "this report."
    )
    if n == 0:
        return f"No customer of the region is within {within:.0%} below the next tier's threshold."
    if isinstance(n, Suppressed):
        return (
            f"Fewer than {n.k} customers of the region are within {within:.0%} below the next "
            f"tier's threshold, too few to publish their figures. {restricted}"
        )
    count = format_value("upgrade_candidates", n)
    if isinstance(metrics["upgrade_aum_gap"], Suppressed):
        need = (
            "the AUM they need to move up is withheld: the region's total would give away "
            "an outlet's withheld figure (too few candidates to publish, or one or two of "
            "them needing most of it)"
        )
    else:
        gap = format_value("upgrade_aum_gap", metrics["upgrade_aum_gap"], currency, compact=True)
        need = f"together they need **{gap}** more AUM to move up"
    rising_value = metrics["upgrade_candidates_rising"]
    if isinstance(rising_value, Absent):
        trend = f"Their AUM trend cannot be computed ({rising_value.reason})"
    else:
        rising = format_value("upgrade_candidates_rising", rising_value)
        trend = f"The AUM of {rising} of them rose over the last {months} month-ends"
    unassigned = format_value(
        "upgrade_candidates_unassigned", metrics["upgrade_candidates_unassigned"]
    )
    managers = f"{n_managers} account manager{'' if n_managers == 1 else 's'}"
    return (
        f"**{count}** customers are within {within:.0%} below the next tier's threshold; "
        f"{need}. {trend}; {unassigned} have no account "
        f"manager, and the others are spread over {managers}. {restricted}"
    )


def upgrade_outlet_table(
    candidates: pd.DataFrame,
    outlets: Sequence[str],
    outlet_names: Mapping[str, str],
    currency: str,
    min_group_size: int,
    pipeline: Pipeline | None = None,
) -> KpiTable:
    """Upgrade candidates per outlet of the region: count, AUM gap, rising, without a manager.

    Every outlet of ``outlets`` has a row (0 when it has no candidate). An outlet with 1 to
    ``min_group_size - 1`` candidates is withheld (every figure shows the marker); a count of 1
    to ``min_group_size - 1`` rising or unassigned candidates is withheld in its cell. The
    region's totals are published, so the disclosure step
    (:func:`~bankanalysis.report.disclosure_grid.protect_grid`) withholds further cells
    (``"x"``) until no withheld one can be worked out from them.

    ``pipeline`` is the upgrade pipeline the same report publishes, ``(pipe, status)`` from
    :func:`~bankanalysis.report.disclosure_grid.protect_pipeline`: an outlet's candidates and
    gap here are the sums of its pipeline rows, so one is withheld here whenever a row of it is
    withheld there (else it would come back as this figure minus the shown rows, e.g. a gap
    the pipeline withholds for dominance at an outlet with one target tier), and a figure the
    pipeline gives away (all its rows shown) is never chosen to protect another.
    """
    frame, status = _outlet_status(candidates, outlets, min_group_size, pipeline)
    frame["outlet"] = frame["outlet_id"].map(lambda o: outlet_names.get(o, o))
    frame = grid_values(frame, status, min_group_size)
    order = frame["outlet"].sort_values(kind="stable").index
    frame = frame.loc[order].reset_index(drop=True)
    note = (
        "The region's total AUM gap is withheld: one outlet's withheld gap (too few candidates, "
        "or one or two of them needing most of it) is most of it, so the total would give it "
        "away."
        if "gap" in status.attrs["withheld_totals"]
        else ""
    )
    table = kpi_table(
        frame,
        {
            "candidates": "upgrade_candidates",
            "gap": "upgrade_aum_gap",
            "rising": "upgrade_candidates_rising",
            "unassigned": "upgrade_candidates_unassigned",
        },
        labels=["outlet"],
        currency=currency,
        min_group_size=min_group_size,
    )
    table.note = note or table.note
    return table


#: The upgrade pipeline as published: rows (``outlet_id``, ``customers``, ``aum_gap``) and
#: their disclosure status (:func:`~bankanalysis.report.disclosure_grid.protect_pipeline`).
Pipeline = tuple[pd.DataFrame, pd.DataFrame]

#: Upgrade-table column -> pipeline column it is the per-outlet sum of.
_PIPELINE_SUMS = {"candidates": "customers", "gap": "aum_gap"}


def _pipeline_parts(pipeline: Pipeline) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(parts, part_totals)`` for :func:`protect_grid`: each outlet's pipeline rows (value,
    status) under its candidates and gap, and the pipeline's region count per target tier
    (withheld when the pipeline withholds it). Empty when the pipeline publishes no row (no
    table: every count withheld or 0)."""
    pipe, status = pipeline
    shown = (status["customers"] == "") & (pipe["customers"].astype("float64") > 0)
    if not shown.any():
        return {}, {}
    parts: dict[str, Any] = {}
    for col, src in _PIPELINE_SUMS.items():
        parts[col] = {
            outlet: {
                pipeline_cell(src, i): (float(pipe.at[i, src]), str(status.at[i, src]))
                for i in rows.index
            }
            for outlet, rows in pipe.groupby("outlet_id", sort=True)
        }
    withheld = status.attrs.get("withheld_totals", {})
    part_totals = {
        pipeline_total(str(t)): (
            float(rows["customers"].sum()),
            [pipeline_cell("customers", i) for i in rows.index],
            str(withheld.get(str(t), "")),
        )
        for t, rows in pipe.groupby("target_tier", sort=False)
    }
    return parts, part_totals


def protect_upgrade_pipeline(
    pipe: pd.DataFrame,
    candidates: pd.DataFrame,
    k: int,
    dominated: Sequence[tuple[Any, str]] = (),
    level: float = DEFAULT_PROTECTION_LEVEL,
    hidden_tiers: Sequence[str] = (),
) -> pd.DataFrame:
    """The upgrade pipeline's disclosure status, such that the pipeline and the upgrade table
    read together give no withheld cell back.

    :func:`~bankanalysis.report.disclosure_grid.protect_pipeline` protects the pipeline on its
    own; the upgrade table's step (:func:`upgrade_outlet_table`) then adds the pipeline's rows
    (an outlet's candidates and gap are their sums) and withholds upgrade-table cells. When
    that is not enough (e.g. the region's count of all thresholds minus the published counts
    per target tier gives a withheld one back, and with it a small outlet's row), the joint
    step chooses shown pipeline cells (rows or region counts per target tier) to withhold;
    the pipeline's step runs again with them forced hidden, then the joint step, until the
    joint step needs no further pipeline cell. Every round withholds at least one more cell,
    so it ends; same data, same cells. ``dominated``, ``level``, ``hidden_tiers``: as
    :func:`~bankanalysis.report.disclosure_grid.protect_pipeline` (``pipe`` by outlet).

    Returns
    -------
    DataFrame
        :func:`~bankanalysis.report.disclosure_grid.protect_pipeline`'s status with the
        forced cells withheld; pass ``(pipe, status)`` to :func:`upgrade_outlet_table` and
        :func:`upgrade_metrics`, which then give the joint step's answer.
    """
    forced: set[str] = set()
    outlets = sorted(candidates["outlet_id"].dropna().unique())
    while True:
        status = protect_pipeline(
            pipe, k, dominated, level=level, hidden_tiers=hidden_tiers, forced=forced
        )
        if not len(candidates):
            return status  # no candidate: the upgrade table shows zeros only
        _, joint = _outlet_status(candidates, outlets, k, (pipe, status), final=False)
        more = set(joint.attrs["withheld_parts"]) - forced
        if not more:
            return status
        logger.info("upgrade pipeline: %d more cells withheld for the upgrade table", len(more))
        forced |= more


def _outlet_status(
    candidates: pd.DataFrame,
    outlets: Sequence[str],
    k: int,
    pipeline: Pipeline | None = None,
    final: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The per-outlet upgrade figures (one row per outlet id, sorted) and the disclosure
    step's answer for them, shared by :func:`upgrade_outlet_table` and
    :func:`upgrade_metrics` so that both withhold the same figures.

    Small outlets and small sub-counts are primary; the cells that keep them from the region's
    published totals are secondary (LP-audited). The region's AUM gap total may be withheld
    too (``status.attrs["withheld_totals"]``) when no set of cells can protect a small
    outlet's gap while it is published. ``final``: the answer published (not a round of
    :func:`protect_upgrade_pipeline`), which warns when the pipeline shows a cell the joint
    step withholds.
    """
    per = upgrade_summary(candidates, "outlet_id").set_index("outlet_id")
    unassigned = candidates["manager_id"].isna().groupby(candidates["outlet_id"]).sum()
    frame = pd.DataFrame({"outlet_id": sorted(dict.fromkeys(outlets))})
    frame["candidates"] = frame["outlet_id"].map(per["candidates"]).fillna(0).astype("int64")
    frame["gap"] = frame["outlet_id"].map(per["gap_to_next"]).fillna(0.0)
    frame["rising"] = frame["outlet_id"].map(per["rising"]).fillna(0).astype("int64")
    frame["unassigned"] = frame["outlet_id"].map(unassigned).fillna(0).astype("int64")
    frame.index = pd.Index(frame["outlet_id"].tolist())
    parts, part_totals = _pipeline_parts(pipeline) if pipeline is not None else ({}, {})
    grid = {
        "columns": ["candidates", "gap", "rising", "unassigned"],
        "k": k,
        "size": "candidates",
        "counts": ["candidates", "rising", "unassigned"],
        "money": ["gap"],
        # the pipeline's level (the parameter protection_level), so both tables agree
        "level": float(pipeline[1].attrs.get("level", DEFAULT_PROTECTION_LEVEL))
        if pipeline is not None
        else DEFAULT_PROTECTION_LEVEL,
        "withholdable_totals": ["gap"],
        "parts": parts,
        "part_totals": part_totals,
    }
    status = protect_grid(frame, **grid, withholdable_parts=bool(parts))
    if status.attrs["withheld_parts"] and final:
        # the pipeline was not protected with protect_upgrade_pipeline: it shows cells this
        # answer would rely on being withheld, so the upgrade table keeps to its own cells (and
        # the region's gap) and says how many it could not protect (the cells' names hold
        # outlet ids: counted only)
        logger.warning(
            "upgrade table: the pipeline shows %d cells the joint protection needs withheld; "
            "protect it with protect_upgrade_pipeline",
            len(status.attrs["withheld_parts"]),
        )
        status = protect_grid(frame, **grid)
    return frame, status


def upgrade_list_frame(
    candidates: pd.DataFrame,
    outlet_names: Mapping[str, str],
    product_names: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """The upgrade list as the restricted CSV shows it: names beside ids, products joined.

    Columns: ``customer_id, outlet_id, outlet, manager_id`` (empty when unassigned), ``tier,
    next_tier`` (labels), ``aum, threshold, gap_to_next`` (rounded to the currency unit),
    ``aum_trend_per_month`` (empty when unknown) and ``products_to_close`` (names, ``"; "``).
    """
    names = dict(product_names or {})
    return pd.DataFrame(
        {
            "customer_id": candidates["customer_id"].to_numpy(),
            "outlet_id": candidates["outlet_id"].to_numpy(),
            "outlet": [outlet_names.get(o, o) for o in candidates["outlet_id"]],
            "manager_id": candidates["manager_id"].fillna("").to_numpy(),
            "tier": [tier_label(t) for t in candidates["tier"]],
            "next_tier": [tier_label(t) for t in candidates["next_tier"]],
            "aum": candidates["aum"].round(0).to_numpy(),
            "threshold": candidates["threshold"].round(0).to_numpy(),
            "gap_to_next": candidates["gap_to_next"].round(0).to_numpy(),
            "aum_trend_per_month": candidates["aum_trend"].round(0).to_numpy(),
            "products_to_close": [
                "; ".join(names.get(p, p) for p in ps) for ps in candidates["products_to_close"]
            ],
        }
    )


def upgrade_manager_frame(
    candidates: pd.DataFrame, outlet_names: Mapping[str, str]
) -> pd.DataFrame:
    """The upgrade list per account manager and outlet, for the restricted summary file.

    Columns: ``manager_id`` (empty for customers without a manager), ``outlet_id, outlet,
    candidates, gap_to_next`` (summed, rounded to the currency unit), ``rising`` and
    ``with_trend`` (:func:`bankanalysis.actions.upgrade_summary`); one row per manager and
    outlet, the unassigned customers of each outlet last.
    """
    key = candidates["manager_id"].fillna("").astype(str) + "\t" + candidates["outlet_id"]
    per = upgrade_summary(candidates.assign(_key=key), "_key")
    parts = per["_key"].str.split("\t", n=1, expand=True)
    out = pd.DataFrame(
        {
            "manager_id": parts[0] if len(per) else pd.Series(dtype=str),
            "outlet_id": parts[1] if len(per) else pd.Series(dtype=str),
        }
    )
    out["outlet"] = [str(outlet_names.get(o, o)) for o in out["outlet_id"]]
    out["candidates"] = per["candidates"].to_numpy()
    out["gap_to_next"] = per["gap_to_next"].round(0).to_numpy()
    out["rising"] = per["rising"].to_numpy()
    out["with_trend"] = per["with_trend"].to_numpy()
    unassigned = out["manager_id"] == ""
    return pd.concat([out[~unassigned], out[unassigned]], ignore_index=True)


def _csv_bytes(frame: pd.DataFrame) -> bytes:
    """UTF-8 with BOM (Excel shows Chinese names), CRLF line ends."""
    return ("\ufeff" + frame.to_csv(index=False, lineterminator="\r\n")).encode("utf-8")


def write_upgrade_list(
    candidates: pd.DataFrame,
    output_dir: str | Path | None,
    outlet_names: Mapping[str, str],
    region_name: str,
    product_names: Mapping[str, str] | None = None,
) -> list[Path]:
    """Write the region's upgrade list and its per-manager summary to ``<output_dir>/restricted/``.

    ``upgrade_list.csv`` (:func:`upgrade_list_frame`) and ``upgrade_by_manager.csv``
    (:func:`upgrade_manager_frame`), written atomically with their audience recorded
    (:func:`bankanalysis.data.restricted.write_restricted`); never linked from the report.
    Nothing is written when ``output_dir`` is ``None`` (an analyst's session).

    Returns
    -------
    list of Path
        The files written.
    """
    if output_dir is None:
        return []
    folder = restricted_dir(output_dir)
    audience = f"account managers and outlet heads of {region_name}"
    return [
        write_restricted(
            folder,
            UPGRADE_LIST_FILE,
            _csv_bytes(upgrade_list_frame(candidates, outlet_names, product_names)),
            f"{audience}: upgrade candidates",
        ),
        write_restricted(
            folder,
            UPGRADE_MANAGER_FILE,
            _csv_bytes(upgrade_manager_frame(candidates, outlet_names)),
            f"{audience}: upgrade candidates per account manager",
        ),
    ]


# --------------------------------------------------------------------------- 03: lagging outlets


def lagging_action_table(
    actions: pd.DataFrame, outlet_names: Mapping[str, str], currency: str
) -> KpiTable:
    """The lagging-outlet action table (:func:`bankanalysis.actions.lagging_actions`), sorted by gap.

    Columns: outlet, KPI, this month's value, the peers' moving average and the gap to it, the
    peers' per-outlet average and the gap to it, months below each, the DEA level now (mean
    of the DEA months) and on the frontier, and the reference peers by name.
    """
    rows = []
    for r in actions.itertuples(index=False):
        kpi = r.kpi

        def val(v: float, kpi: str = kpi) -> str:
            return format_value(kpi, v, currency, unit=False, with_reason=False)

        def gap(v: float, kpi: str = kpi) -> str:
            return format_change(kpi, v, currency, unit=False)

        peers = ", ".join(str(outlet_names.get(p, p)) for p in r.reference_peers)
        rows.append(
            {
                "outlet": str(outlet_names.get(r.outlet_id, r.outlet_id)),
                "KPI": kpi_label(kpi, currency),
                "this month": val(r.value),
                "peers' moving average": val(r.peer_ma),
                "gap to it": gap(r.gap_to_ma),
                "months below it": str(r.months_below),
                "peers' per-outlet average": val(r.peer_mean),
                "gap to that": gap(r.gap_to_mean),
                "months below that": str(r.months_below_mean),
                "DEA: now": val(r.dea_actual),
                "DEA: frontier target": val(r.dea_target),
                "reference peers": peers or NOT_AVAILABLE,
            }
        )
    cols = [
        "outlet",
        "KPI",
        "this month",
        "peers' moving average",
        "gap to it",
        "months below it",
        "peers' per-outlet average",
        "gap to that",
        "months below that",
        "DEA: now",
        "DEA: frontier target",
        "reference peers",
    ]
    return KpiTable(pd.DataFrame(rows, columns=cols))


def lagging_notes(
    actions: pd.DataFrame,
    outlet_names: Mapping[str, str],
    n_outlets: int,
    month: str,
    dea_reason: str | None,
    dea_months: int,
) -> list[str]:
    """What the reader must know about the action table, one sentence each.

    How many of the region's ``n_outlets`` outlets are on it; the outlets compared with the
    whole bank (alone in their peer group); and, when the KPI has no DEA target, why.
    """
    if actions.empty:
        return [
            f"No outlet of the region is below its peers' moving average or per-outlet average "
            f"in {month}."
        ]
    n_lag = int(actions["lagging"].sum())
    notes = [
        f"{len(actions)} of {n_outlets} outlets are below their peers' moving average or "
        f"per-outlet average in {month}, {n_lag} of them below the moving average for long "
        "enough to count as lagging; largest shortfall first. The DEA columns are means over "
        f"the last {dea_months} months: the level the outlet shows now and the level that would "
        "put it on its efficiency frontier, with the same staff."
    ]
    for r in actions[actions["basis"] == "bank"].itertuples(index=False):
        notes.append(
            f"{_e(outlet_names.get(r.outlet_id, r.outlet_id))} is the only outlet of its peer "
            "group, so it is compared with the average of every outlet of the bank."
        )
    if dea_reason is not None:
        notes.append(f"The DEA columns are empty: {_e(dea_reason)}.")
    return notes


def lagging_action_metrics(actions: pd.DataFrame, kpi: str) -> dict[str, Any]:
    """``lagging_outlets[kpi=<kpi>]``: outlets of the action table."""
    return {metric_key("lagging_outlets", kpi=kpi): int(len(actions))}


# --------------------------------------------------------------------------- 03: product gaps


_PERIOD_COLUMNS = {
    "month": ("sales_month", "gap_month"),
    "quarter": ("sales_quarter", "gap_quarter"),
}
#: Background of a zero cell, of a below-standard cell and of an unknown one.
ZERO_COLOUR = "background-color: #f4a6a6"
BELOW_COLOUR = "background-color: #fbd9a6"
UNKNOWN_COLOUR = "background-color: #e6e6e6"


def family_label(family: str) -> str:
    """A product family id as a column header.

    Examples
    --------
    >>> family_label("e_banking")
    'E-banking'
    """
    return family.replace("_", "-").capitalize()


def gap_matrix_frame(
    gaps: pd.DataFrame, outlet_names: Mapping[str, str], period: str = "month"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Outlet x family sales of ``period`` as text, with gap counts, and the cell states.

    Returns
    -------
    (DataFrame, DataFrame)
        The matrix shown: one row per outlet (by name) and a last row ``"outlets with a gap"``;
        one column per family and a last column ``"gaps"``; cells are sales (``n/a`` when
        unknown) and the counts. Then a frame of the same shape holding ``"zero"``,
        ``"below"``, ``"unknown"`` or ``""`` per cell (for the highlight).
    """
    if period not in _PERIOD_COLUMNS:
        raise ValueError(f"period must be 'month' or 'quarter', got {period!r}")
    sales_col, gap_col = _PERIOD_COLUMNS[period]
    g = gaps.assign(outlet=gaps["outlet_id"].map(lambda o: str(outlet_names.get(o, o))))
    outlets = list(dict.fromkeys(g.sort_values("outlet", kind="stable")["outlet"]))
    families = list(dict.fromkeys(g["family"]))
    sales = g.pivot(index="outlet", columns="family", values=sales_col).loc[outlets, families]
    flag = g.pivot(index="outlet", columns="family", values=gap_col).loc[outlets, families]
    text = sales.map(lambda v: NOT_AVAILABLE if pd.isna(v) else f"{v:,.0f}")
    state = pd.DataFrame("", index=sales.index, columns=families)
    state[flag.eq(True)] = "below"
    state[flag.eq(True) & sales.eq(0)] = "zero"
    state[sales.isna()] = "unknown"
    is_gap = flag.eq(True)
    text["gaps"] = is_gap.sum(axis=1).astype(int).astype(str)
    state["gaps"] = ""
    total = [str(int(is_gap[f].sum())) for f in families] + [str(int(is_gap.to_numpy().sum()))]
    text.loc["outlets with a gap"] = total
    state.loc["outlets with a gap"] = ""
    text.index.name = state.index.name = "outlet"
    labels = {f: family_label(f) for f in families}
    text = text.rename(columns=labels)
    state = state.rename(columns=labels)
    text.columns.name = state.columns.name = None
    return text, state


def gap_matrix(gaps: pd.DataFrame, outlet_names: Mapping[str, str], period: str = "month") -> Any:
    """The highlighted product-gap matrix (a ``Styler``): zero red, below standard orange."""
    text, state = gap_matrix_frame(gaps, outlet_names, period)
    colours = {"zero": ZERO_COLOUR, "below": BELOW_COLOUR, "unknown": UNKNOWN_COLOUR, "": ""}
    css = state.map(lambda s: colours[s])
    return style_table(text).apply(lambda _: css, axis=None)


def gap_matrices(gaps: pd.DataFrame, outlet_names: Mapping[str, str]) -> list[Any]:
    """The two highlighted matrices with their captions (none when the region has no outlet)."""
    if gaps.empty:
        return []
    return [
        "This month:",
        gap_matrix(gaps, outlet_names, "month"),
        "Quarter to date:",
        gap_matrix(gaps, outlet_names, "quarter"),
    ]


def product_gap_metrics(gaps: pd.DataFrame) -> dict[str, Any]:
    """``product_gaps[period=month|quarter]``: outlet x family cells below the standard.

    A period in which no outlet has known sales is absent with its reason, not 0.
    """
    out: dict[str, Any] = {}
    for period, (_, gap_col) in _PERIOD_COLUMNS.items():
        known = gaps[gap_col].notna()
        key = metric_key("product_gaps", period=period)
        if not known.any():
            out[key] = Absent(f"no outlet has known product sales this {period}")
        else:
            out[key] = int(gaps[gap_col].eq(True).sum())
    return out


def product_gap_text(
    gaps: pd.DataFrame, outlet_names: Mapping[str, str], month: str, standard_note: str
) -> str:
    """How many gaps there are this month and quarter, and the outlets with the most."""
    if gaps.empty:
        return "The region has no outlet with product sales to compare."
    per = gap_counts(gaps, "outlet_id")
    n_cells = len(gaps)
    if not per["known_month"].any():
        return (
            f"Product sales are not known for {month}: sales are new holdings against the "
            "previous month-end, which this extract does not have for that month."
        )
    m = int(per["gaps_month"].sum())
    q = int(per["gaps_quarter"].sum())
    zero = int(per["zero_month"].sum())
    worst = per[per["gaps_month"] == per["gaps_month"].max()]
    text = (
        f"In {month}, **{m}** of {n_cells} outlet x product-family cells are below the standard "
        f"({zero} with no sale at all); over the quarter to date, **{q}**. {standard_note}"
    )
    if m:
        names = ", ".join(_e(outlet_names.get(o, o)) for o in worst["outlet_id"])
        text += f" Most gaps this month ({int(worst['gaps_month'].iloc[0])}): {names}."
    return text


def standard_note(standard: Mapping[str, float], families: Sequence[str]) -> str:
    """The standard in words: one sale a month unless the parameter sets a family's minimum."""
    named = [f"{f}: {float(standard[f]):g}" for f in families if f in standard]
    base = "The standard is one sale a month per family (a gap is a zero)"
    if named:
        base = (
            "The standard is the monthly minimum set in `product_sales_standard` ("
            + ", ".join(named)
            + "; one sale for the other families)"
        )
    return base + ", times the months with known sales for the quarter."
