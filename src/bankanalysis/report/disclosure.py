"""Disclosure control of the tables a report publishes: which cells are hidden, and why.

:mod:`bankanalysis.rules.disclosure_secondary` decides (primary cells, secondary suppression,
the linear-programming audit); this module describes each published table to it as cells and
linear relations, and applies the answer to the frames the tables, charts, sentences and
``metrics.json`` use, so all of them hide the same cells:

- the tier table (:func:`protect_tiers`): customers and AUM per tier, their totals, and the
  "<top tier> and above hold X % of the AUM" sentence (:func:`protected_top_share`);
- the migration matrix and the tier-flow table beneath it (:func:`protect_migration`, from
  :mod:`bankanalysis.report.disclosure_migration`, re-exported here).

Where the secondary search gives up, both take the fail-safe
(:func:`~bankanalysis.rules.disclosure_secondary.fail_safe`). :func:`protection_summary`
counts the hidden cells (primary, secondary, fail-safe) for the appendix.
The policy and the method are in ``docs/privacy.md``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from bankanalysis.report.disclosure_grid import DOMINANCE, cell_value, protect_grid
from bankanalysis.report.disclosure_migration import (
    MigrationProtection,
    migration_failsafe,
    migration_table,
    protect_migration,
    protected_migration_metrics,
)
from bankanalysis.report.format import DEFAULT_CURRENCY, Suppressed, is_missing
from bankanalysis.rules.disclosure import FAILSAFE_MARKER, is_small
from bankanalysis.rules.disclosure_secondary import (
    DEFAULT_DOMINANCE_P,
    DEFAULT_PROTECTION_LEVEL,
    FAILSAFE,
    PRIMARY,
    SECONDARY,
    LinearTable,
    Protection,
    audit,
    fail_safe,
    failsafe_steps,
    p_percent_sensitive,
    protect,
    unsafe_cells,
    unsafe_note,
)
from bankanalysis.rules.tiers import TIERS

__all__ = [
    "OUTLET_COUNTS",
    "MigrationProtection",
    "audit_without_total",
    "cell_value",
    "failsafe_cells",
    "failsafe_note",
    "failsafe_text",
    "hide_cells",
    "hide_dea_counts",
    "hide_outlet_ranks",
    "label_withheld_bars",
    "migration_failsafe",
    "migration_table",
    "protect_migration",
    "protect_outlet_counts",
    "protect_scope_tiers",
    "protected_migration_metrics",
    "protect_tiers",
    "protected_top_share",
    "protection_summary",
    "region_tier_status",
    "withheld_cells",
    "withheld_tier_counts",
    "tier_count_status",
    "tier_table",
    "unsafe_note",
]

logger = logging.getLogger(__name__)

#: Status columns :func:`protect_tiers` adds to the tier comparison ("", primary, secondary,
#: dominance).
COUNT_STATUS, MONEY_STATUS = "count_protection", "money_protection"


def _key(name: str, **by: str) -> str:
    inner = ",".join(f"{k}={v}" for k, v in by.items())
    return f"{name}[{inner}]" if inner else name


def tier_table(
    region: pd.DataFrame, top_tier: str | None, k: int, dominated: Mapping[str, bool] | None = None
) -> tuple[LinearTable, list[str]]:
    """The tier table as cells and relations, and its primary cells.

    Parameters
    ----------
    region : DataFrame
        The region's rows of :func:`~bankanalysis.segmentation.composition.tier_comparison`
        (``tier`` ids, ``customers``, ``aum``), unsuppressed.
    top_tier : str or None
        Lowest tier of the "and above" sentence (``None``: no sentence published).
    k : int
        ``min_group_size``.
    dominated : mapping, optional
        Tier -> whether its AUM fails the dominance rule.

    Returns
    -------
    (LinearTable, list of str)
        Cells ``customers[tier=..]`` (counts), ``aum[tier=..]`` (shares of the region's AUM),
        the totals ``customers`` and ``aum`` (published elsewhere: fixed) and the sentence
        ``aum_share[tier_at_least=..]``; the primary cells.
    """
    dominated = dominated or {}
    tiers = [str(t) for t in region["tier"]]
    n = dict(zip(tiers, region["customers"].astype("float64"), strict=True))
    aum = dict(zip(tiers, region["aum"].astype("float64").clip(lower=0), strict=True))
    total = sum(aum.values())
    values: dict[str, float] = {"customers": float(sum(n.values()))}
    rel_n: dict[str, float] = {"customers": -1.0}
    for t in tiers:
        values[_key("customers", tier=t)] = n[t]
        rel_n[_key("customers", tier=t)] = 1.0
    relations = [rel_n]
    money: set[str] = set()
    primary = [_key("customers", tier=t) for t in tiers if is_small([n[t]], k)[0]]
    if total > 0:
        values["aum"] = 1.0
        money.add("aum")
        rel_a: dict[str, float] = {"aum": -1.0}
        for t in tiers:
            c = _key("aum", tier=t)
            values[c] = aum[t] / total
            money.add(c)
            rel_a[c] = 1.0
            if (is_small([n[t]], k)[0] or dominated.get(t, False)) and aum[t] > 0:
                primary.append(c)
        relations.append(rel_a)
        if top_tier is not None:
            s = _key("aum_share", tier_at_least=top_tier)
            top = list(TIERS)[list(TIERS).index(top_tier) :]
            rel_s = {_key("aum", tier=t): 1.0 for t in tiers if t in top}
            values[s] = sum(values[c] for c in rel_s)
            money.add(s)
            rel_s[s] = -1.0
            relations.append(rel_s)
    table = LinearTable(
        values=values,
        relations=tuple(relations),
        money=frozenset(money),
        fixed=frozenset({"customers", "aum"}),
    )
    return table, primary


def protect_tiers(
    comp: pd.DataFrame,
    tiers: pd.DataFrame,
    top_tier: str | None,
    k: int,
    dominance_p: float = DEFAULT_DOMINANCE_P,
    level: float = DEFAULT_PROTECTION_LEVEL,
    *,
    warn: bool = True,
    aum_withheld: bool = False,
) -> pd.DataFrame:
    """The tier comparison with every hidden cell of the region blanked (NaN) and said why.

    Parameters
    ----------
    comp : DataFrame
        :func:`~bankanalysis.segmentation.composition.tier_comparison` (tier ids), possibly
        through :func:`~bankanalysis.report.segmentation.shown_tier_comparison` already (the
        region rows are rebuilt from the unsuppressed ``tiers``).
    tiers : DataFrame
        The region's customers (``tier``, ``aum``): their AUM feeds the dominance rule.
    top_tier : str or None
        Lowest tier of the "and above" sentence the report prints.
    k, dominance_p, level : int, float, float
        ``min_group_size``, ``p`` of the p% rule, half-width of a money cell's protection
        interval (fraction of its value).
    warn : bool
        Log a warning when a withheld cell stays recoverable (``False`` when the table is
        another region's, computed only for its withheld tiers: :func:`region_tier_status`).
    aum_withheld : bool
        Whether the run withholds the region's AUM
        (:func:`~bankanalysis.report.disclosure_totals.protect_total_aum`). The cells chosen
        stay the same (other regions' reports compute them without it); when every tier's
        AUM is withheld, the audit then reads the total as unknown: shares of an unknown total
        give no tier's money (:func:`audit_without_total`).

    Returns
    -------
    DataFrame
        ``comp`` where the region rows' ``customers``/``share`` are NaN when the count is
        hidden, ``aum``/``aum_share`` when the money is, ``aum_per_customer`` when either is;
        columns ``count_protection`` and ``money_protection`` (``""``, ``"primary"``,
        ``"dominance"``, ``"secondary"``); ``attrs["protection"]`` the :class:`Protection` and
        ``attrs["top_share_hidden"]`` whether the sentence must be withheld.
    """
    region_tiers = tiers.assign(tier=tiers["tier"].astype("object").astype(str))
    raw = (
        region_tiers.groupby("tier")["aum"]
        .agg(customers="size", aum="sum")
        .reindex(TIERS)
        .fillna(0)
    )
    raw = raw.rename_axis("tier").reset_index()
    mine = comp["scope"] == "region"
    raw = raw[raw["tier"].isin(comp.loc[mine, "tier"].astype(str))]
    dom = p_percent_sensitive(region_tiers["aum"], region_tiers["tier"], dominance_p)
    table, primary = tier_table(raw, top_tier, k, dom.to_dict())
    prot = fail_safe(table, protect(table, primary, k, level), [_same_column(table)], k, level)
    if aum_withheld:
        prot = audit_without_total(table, prot, k, level)
    if warn and not prot.safe:
        logger.warning(unsafe_note("tier table", prot))
    out = comp.copy()
    for col in ("customers", "share", "aum", "aum_share", "aum_per_customer"):
        out[col] = out[col].astype("float64")
    out[COUNT_STATUS] = ""
    out[MONEY_STATUS] = ""
    for i in out.index[mine]:
        t = str(out.at[i, "tier"])
        c_status = prot.shown_status(_key("customers", tier=t))
        m_status = prot.shown_status(_key("aum", tier=t))
        if m_status == PRIMARY and not is_small([raw.set_index("tier").at[t, "customers"]], k)[0]:
            m_status = DOMINANCE
        out.at[i, COUNT_STATUS] = c_status
        out.at[i, MONEY_STATUS] = m_status
        if c_status:
            out.loc[i, ["customers", "share", "aum_per_customer"]] = np.nan
        if m_status:
            out.loc[i, ["aum", "aum_share", "aum_per_customer"]] = np.nan
        if "suppressed" in out.columns:
            out.at[i, "suppressed"] = bool(c_status == PRIMARY)
    out.attrs["protection"] = prot
    out.attrs["top_share_hidden"] = top_tier is not None and (
        _key("aum_share", tier_at_least=top_tier) in prot.status
    )
    return out


def audit_without_total(
    table: LinearTable, prot: Protection, k: int, level: float = DEFAULT_PROTECTION_LEVEL
) -> Protection:
    """``prot`` audited again with the region's AUM (the cell ``aum``) withheld by the run.

    Only when every tier AUM cell of positive value (and the "and above" sentence) is
    withheld: a tier's amount over its share gives the total back, so with one tier's AUM
    shown the total is as good as published. The status is unchanged (the total is withheld
    by the run, not counted as a cell of this table).

    Examples
    --------
    One tier holds 75 % of the region's AUM: pinned while the total is published, not after.

    >>> t, primary = tier_table(pd.DataFrame({"tier": ["mass", "vip"], "customers": [20, 1],
    ...                                       "aum": [25.0, 75.0]}), None, 10)
    >>> p = protect(t, primary, 10)
    >>> p.safe, sorted(p.status), audit_without_total(t, p, 10).safe
    (False, ['aum[tier=mass]', 'aum[tier=vip]', 'customers[tier=mass]', \
'customers[tier=vip]'], True)
    """
    money = [c for c in table.values if c.startswith("aum") and c != "aum"]
    if "aum" not in table.values or any(c not in prot.status for c in money if table.values[c] > 0):
        return prot
    free = replace(table, fixed=table.fixed - {"aum"})
    checked = audit(free, {**prot.status, "aum": SECONDARY}, k, level)
    return Protection(status=prot.status, audit=checked, failsafe=prot.failsafe)


def _same_column(table: LinearTable) -> Any:
    """The tier table's fail-safe: every cell of the kind of an unprotected one (all tiers'
    counts; all tiers' AUM with the "and above" sentence)."""

    def column(cell: str) -> list[str]:
        kind = "customers[" if cell.startswith("customers[") else "aum"
        return [c for c in table.values if c.startswith(kind) and c not in table.fixed]

    return column


def region_tier_status(
    region_rows: pd.DataFrame,
    tiers_all: pd.DataFrame,
    top_tier: str | None,
    k: int,
    dominance_p: float = DEFAULT_DOMINANCE_P,
    level: float = DEFAULT_PROTECTION_LEVEL,
) -> dict[str, dict[str, set[str]]]:
    """The tiers each region withholds in its own tier table, as its report computes them.

    Parameters
    ----------
    region_rows : DataFrame
        The region rows of a tier comparison (``scope == "region"``; only their ``tier``
        column is read: the tiers whose cells are protected).
    tiers_all : DataFrame
        Every customer of the bank (``region_id``, ``tier``, ``aum``).
    top_tier, k, dominance_p, level
        As :func:`protect_tiers` (run for each region, without its warning).

    Returns
    -------
    dict
        ``{region_id: {COUNT_STATUS: tiers whose count is withheld, MONEY_STATUS: tiers whose
        AUM is withheld}}`` for every region of ``tiers_all``, in region order.
    """
    hidden: dict[str, dict[str, set[str]]] = {}
    for rid, rows in tiers_all.groupby(tiers_all["region_id"], sort=True):
        prot = protect_tiers(region_rows, rows, top_tier, k, dominance_p, level, warn=False)
        hidden[str(rid)] = {
            col: {str(t) for t, st in zip(prot["tier"], prot[col], strict=True) if st}
            for col in (COUNT_STATUS, MONEY_STATUS)
        }
    return hidden


def tier_count_status(counts: Mapping[str, float], k: int) -> dict[str, str]:
    """The status of each tier's count in a region's tier table (01's, :func:`protect_tiers`)
    from its tier counts alone: ``""`` published, else ``"primary"``, ``"secondary"`` or
    ``"fail-safe"``.

    The counts and the AUM of the tier table are separate relations, so the secondary search
    chooses the same count cells without the money; only the fail-safe step may withhold the
    counts in :func:`protect_tiers` for an unsafe AUM cell where it does not here. What this
    withholds, :func:`protect_tiers` withholds too: read as the run's decision on the region's
    tier counts (the workbooks' outlet cards add up to them), the published ones may be
    published there or not, which only makes the reader of those cards know less.

    Examples
    --------
    Private banking's 3 would come back as the region's customers less the other tiers:
    the smallest other tier is withheld with it.

    >>> tier_count_status({"mass": 400, "quality": 60, "vip": 25, "private_banking": 3}, 10)
    {'mass': '', 'quality': '', 'vip': 'secondary', 'private_banking': 'primary'}
    """
    raw = pd.DataFrame(
        {"tier": list(TIERS), "customers": [float(counts.get(t, 0)) for t in TIERS], "aum": 0.0}
    )
    table, primary = tier_table(raw, None, k)
    prot = fail_safe(table, protect(table, primary, k), [_same_column(table)], k)
    return {t: prot.shown_status(_key("customers", tier=t)) for t in TIERS}


def protect_scope_tiers(
    comp: pd.DataFrame,
    tiers_all: pd.DataFrame,
    echelon: Any,
    top_tier: str | None,
    k: int,
    dominance_p: float = DEFAULT_DOMINANCE_P,
    level: float = DEFAULT_PROTECTION_LEVEL,
    withheld_totals: Mapping[str, str] | None = None,
    hidden: Mapping[str, Mapping[str, set[str]]] | None = None,
) -> pd.DataFrame:
    """The echelon and bank bars of the tier-mix chart, withheld where they would give a
    region's withheld tier cell back.

    An echelon's tier share is the sum of its regions' tier counts over the echelon's total;
    every other region's report publishes its own counts, so the share (times the echelon's
    total, or with the total unknown, through the ratios of the shares: both are linear in the
    counts) gives the withheld count of a small group back. The rule: a scope's (echelon's,
    bank's) customer share of a tier is withheld when any of its regions withholds its count of
    that tier in its own report (:func:`protect_tiers` run for each region, the same answer as
    that region's report), and its AUM share when any withholds that tier's AUM; when one share
    of a scope is withheld, the smallest other one is too (the shares add up to 1); every bar of
    a scope whose customer total the run withholds
    (:func:`~bankanalysis.report.disclosure_grid.protect_region_totals`, a region smaller than
    ``k`` inside) is withheld.

    Parameters
    ----------
    comp : DataFrame
        :func:`protect_tiers` output (tier ids; scopes ``region``, ``echelon``, ``bank``).
    tiers_all : DataFrame
        Every customer of the bank (``region_id``, ``echelon``, ``tier``, ``aum``).
    echelon : object
        The echelon of the region reported on (its ``echelon`` rows).
    top_tier, k, dominance_p, level
        As :func:`protect_tiers`.
    withheld_totals : mapping, optional
        :func:`~bankanalysis.report.disclosure_grid.protect_region_totals` of the run.
    hidden : mapping, optional
        :func:`region_tier_status` of ``comp``'s region rows and ``tiers_all`` when already
        computed (it does not depend on the region reported on beyond the tiers its rows
        show, so a run computes it once for every region's report); computed here without it.

    Returns
    -------
    DataFrame
        ``comp`` with the withheld scope cells NaN and their status columns ``"secondary"``;
        ``attrs["protection"]`` the region's :class:`Protection` and one for the scope cells
        (a list: :func:`withheld_cells` counts both for the appendix).
    """
    out = comp.copy()
    for col in (COUNT_STATUS, MONEY_STATUS):
        if col not in out.columns:
            out[col] = ""
    scope_status: dict[str, str] = {}
    withheld_totals = dict(withheld_totals or {})
    region_id = tiers_all["region_id"]
    mine = out["scope"] == "region"
    # each region's own withheld cells, as its report computes them
    if hidden is None:
        hidden = region_tier_status(out[mine], tiers_all, top_tier, k, dominance_p, level)
    echelon_of = tiers_all.groupby(region_id, sort=True)["echelon"].first()
    for scope in ("echelon", "bank"):
        rows = out.index[out["scope"] == scope]
        if not len(rows):
            continue
        if scope == "echelon":
            regions = [str(r) for r, e in echelon_of.items() if e == echelon]
            total_key = f"customers[echelon={echelon}]"
        else:
            regions = [str(r) for r in echelon_of.index]
            total_key = "customers"
        all_hidden = bool(withheld_totals.get(total_key))
        for col, cells in (
            (COUNT_STATUS, ["customers", "share", "aum_per_customer"]),
            (MONEY_STATUS, ["aum", "aum_share", "aum_per_customer"]),
        ):
            share = "share" if col == COUNT_STATUS else "aum_share"
            tiers_here = [str(t) for t in out.loc[rows, "tier"]]
            gone = {
                t
                for t in tiers_here
                if all_hidden or any(t in hidden.get(r, {}).get(col, set()) for r in regions)
            }
            if len(gone) == 1 and len(tiers_here) > 1:
                rest = out.loc[rows][~out.loc[rows, "tier"].astype(str).isin(gone)]
                gone.add(str(rest.sort_values([share, "tier"], kind="stable")["tier"].iloc[0]))
            for i in rows:
                if str(out.at[i, "tier"]) in gone:
                    out.at[i, col] = out.at[i, col] or SECONDARY
                    out.loc[i, cells] = np.nan
                    what = "customers" if col == COUNT_STATUS else "aum"
                    scope_status[f"{what}[{scope}, tier={out.at[i, 'tier']}]"] = SECONDARY
    # the appendix counts the scope bars withheld here beside the region's own cells
    own = comp.attrs.get("protection")
    extra = Protection(status=scope_status, audit=pd.DataFrame(columns=["cell", "safe"]))
    out.attrs["protection"] = [
        *([own] if own is not None else []),
        *([extra] if scope_status else []),
    ]
    return out


def protected_top_share(comp: pd.DataFrame, top_share: float, k: int) -> Any:
    """The "and above" AUM share, or :class:`Suppressed` when :func:`protect_tiers` hid it."""
    if comp.attrs.get("top_share_hidden", False) and not is_missing(top_share):
        return Suppressed(k, "secondary")
    return top_share


# --------------------------------------------------------------------------- summary


def protection_summary(*protections: Protection | pd.DataFrame | MigrationProtection) -> dict:
    """How many cells a report hides, and why, over the given tables.

    Parameters
    ----------
    *protections : Protection, DataFrame or MigrationProtection
        :class:`Protection` objects, frames from :func:`protect_tiers` (their
        ``attrs["protection"]``) or :class:`MigrationProtection`.

    Returns
    -------
    dict
        ``{"primary": n, "secondary": m, "fail-safe": f, "tables": t, "safe": bool}``
        (``fail-safe``: cells withheld by
        :func:`~bankanalysis.rules.disclosure_secondary.fail_safe`).

    Examples
    --------
    >>> from bankanalysis.rules.disclosure_secondary import LinearTable, protect
    >>> t = LinearTable({"a": 50, "b": 30, "c": 4, "n": 84},
    ...                 ({"a": 1, "b": 1, "c": 1, "n": -1},), fixed=frozenset({"n"}))
    >>> protection_summary(protect(t, ["c"], 10))
    {'primary': 1, 'secondary': 1, 'fail-safe': 0, 'tables': 1, 'safe': True}
    """
    out = {PRIMARY: 0, SECONDARY: 0, FAILSAFE: 0, "tables": 0, "safe": True}
    flat: list[Any] = []
    for p in protections:
        inner = p.attrs.get("protection") if isinstance(p, pd.DataFrame) else p
        flat.extend(inner if isinstance(inner, list | tuple) else [inner])
    for p in flat:
        if isinstance(p, pd.DataFrame):
            p = p.attrs.get("protection")
        elif isinstance(p, MigrationProtection):
            p = p.protection
        if p is None:
            continue
        counts = p.counts()
        for why in (PRIMARY, SECONDARY, FAILSAFE):
            out[why] += counts.get(why, 0)
        out["tables"] += 1
        out["safe"] = out["safe"] and p.safe
    return out


def withheld_tier_counts(comp: pd.DataFrame) -> list[str]:
    """The tiers whose region count :func:`protect_tiers` withholds (primary or secondary):
    no other table may publish figures that add up to them (the upgrade pipeline's counts of
    the tier below a threshold, :func:`~bankanalysis.report.disclosure_grid.protect_pipeline`).

    Examples
    --------
    >>> comp = pd.DataFrame({"scope": ["region", "region", "bank"], "tier": ["mass", "vip", "vip"],
    ...                      "count_protection": ["", "secondary", ""]})
    >>> withheld_tier_counts(comp)
    ['vip']
    """
    if COUNT_STATUS not in comp.columns:
        return []
    mine = comp[(comp["scope"] == "region") & (comp[COUNT_STATUS] != "")]
    return [str(t) for t in mine["tier"]]


def withheld_cells(*protections: Protection | pd.DataFrame | MigrationProtection) -> int:
    """Cells a report withholds over the given tables (primary and secondary), for its appendix.

    A frame whose ``attrs["protection"]`` is a list of :class:`Protection` objects (as from
    :func:`protect_outlet_counts`) counts each of them.
    """
    flat: list[Protection | pd.DataFrame | MigrationProtection] = []
    for p in protections:
        inner = p.attrs.get("protection") if isinstance(p, pd.DataFrame) else None
        flat.extend(inner if isinstance(inner, list | tuple) else [p])
    summary = protection_summary(*flat)
    return int(summary[PRIMARY] + summary[SECONDARY] + summary[FAILSAFE])


def failsafe_text(n: int) -> str:
    """What the appendix says of the cells the fail-safe withholds (``""`` for none).

    Examples
    --------
    >>> failsafe_text(3)
    '3 with the whole row or column of a small group that the figures published elsewhere would otherwise pin down (fail-safe, shown as "withheld", whatever their size)'
    >>> failsafe_text(0)
    ''
    """
    if not n:
        return ""
    return (
        f"{int(n)} with the whole row or column of a small group that the figures published "
        f'elsewhere would otherwise pin down (fail-safe, shown as "{FAILSAFE_MARKER}", '
        "whatever their size)"
    )


def _flat_protections(*items: Any) -> list[Protection]:
    """Every :class:`Protection` in ``items``: protections, frames carrying them in
    ``attrs["protection"]`` (one or a list), and objects with a ``protection`` attribute
    (:class:`MigrationProtection`, :class:`~bankanalysis.report.disclosure_plan.PlanCounts`,
    the DEA table)."""
    out: list[Protection] = []
    for p in items:
        if isinstance(p, Protection):
            out.append(p)
            continue
        inner = p.attrs.get("protection") if isinstance(p, pd.DataFrame) else None
        if inner is None:
            inner = getattr(p, "protection", None)
        if inner is None:
            continue
        out.extend(_flat_protections(*(inner if isinstance(inner, list | tuple) else [inner])))
    return out


def failsafe_cells(*protections: Any) -> int:
    """Cells shown under the fail-safe marker (``"withheld"``) over the given protections
    (:attr:`Protection.failsafe`: the cells the fail-safe added and those already withheld
    in its sets), for an appendix whose count reads the ``"<k"`` and ``"x"`` markers only
    (:func:`~bankanalysis.report.tables.shown_withheld_cells`).

    Examples
    --------
    >>> from bankanalysis.rules.disclosure_secondary import LinearTable, fail_safe, protect
    >>> t = LinearTable({"a": 13, "b": 1, "c": 0, "lost": 14},
    ...                 ({"a": 1, "b": 1, "c": 1, "lost": -1},), fixed=frozenset({"lost"}))
    >>> failsafe_cells(fail_safe(t, protect(t, ["b"], 10), [lambda c: ["a", "b", "c"]], 10))
    3
    """
    return sum(len(p.failsafe) for p in _flat_protections(*protections))


def failsafe_note(*protections: Any) -> str:
    """The appendix sentences on the report's fail-safe cells and on the withheld cells no
    protection could keep wide enough (``""`` when there is neither), so a reader knows why a
    row or column reads "withheld", how many cells it holds, and what is left.

    ``protections``: as :func:`protection_summary`, and objects with a ``protection``
    attribute (:class:`~bankanalysis.report.disclosure_plan.PlanCounts`, the DEA table).

    Examples
    --------
    >>> from bankanalysis.rules.disclosure_secondary import LinearTable, protect
    >>> t = LinearTable({"pb": 4, "n": 4}, ({"pb": 1, "n": -1},), fixed=frozenset({"n"}))
    >>> failsafe_note(protect(t, ["pb"], 10))[:60]
    '1 withheld cell could not be kept from being narrowed down: '
    """
    flat = _flat_protections(*protections)
    n = int(protection_summary(*flat)[FAILSAFE])
    left = unsafe_cells(*flat)
    out = []
    if n:
        out.append(f"Cells withheld by the fail-safe of the disclosure step: {failsafe_text(n)}.")
    if left:
        cells = "cell could" if left == 1 else "cells could"
        out.append(
            f"{left} withheld {cells} not be kept from being narrowed down: a total published "
            "elsewhere in the run bounds it more tightly than the protection interval "
            'requires, whatever else is withheld (docs/privacy.md, "Not covered yet").'
        )
    return " ".join(out)


def hide_cells(region: pd.DataFrame, k: int) -> pd.DataFrame:
    """Tier rows with each cell :func:`protect_tiers` hid replaced by :class:`Suppressed`
    (object columns), so tables and metrics say why; rows without status columns unchanged.

    The ``suppressed`` flag stays only on rows whose count is a small group, so that only
    those read ``"<k"``; cells hidden for dominance or secondary suppression read ``"x"``.
    """
    if COUNT_STATUS not in region.columns:
        return region
    out = region.astype(
        {c: "object" for c in ("customers", "share", "aum", "aum_share", "aum_per_customer")}
    )
    for i in out.index:
        c_st, m_st = str(out.at[i, COUNT_STATUS]), str(out.at[i, MONEY_STATUS])
        for col in ("customers", "share"):
            out.at[i, col] = cell_value(out.at[i, col], c_st, k)
        for col in ("aum", "aum_share"):
            out.at[i, col] = cell_value(out.at[i, col], m_st, k)
        both = PRIMARY if PRIMARY in (c_st, m_st) else (c_st or m_st)
        out.at[i, "aum_per_customer"] = cell_value(out.at[i, "aum_per_customer"], both, k)
        if "suppressed" in out.columns:
            out.at[i, "suppressed"] = False
    return out


def label_withheld_bars(fig: Any, comp: pd.DataFrame, marker: str = "withheld") -> Any:
    """Name, under each tier of the tier-mix chart, the region bars that are withheld.

    The chart (:func:`~bankanalysis.report.plots.plot_tier_mix`: customer shares left, AUM
    shares right) leaves a withheld bar out; without a word a missing bar reads as 0. The tick
    label of such a tier gains ``"(region: withheld)"`` on the panel concerned.

    Parameters
    ----------
    fig : Figure
        The tier-mix figure (its first two axes).
    comp : DataFrame
        :func:`protect_tiers` output (tier ids, region rows with status columns).
    marker : str
        Word shown.
    """
    from bankanalysis.rules.tiers import tier_label

    if COUNT_STATUS not in comp.columns:
        return fig
    for ax, col in zip(fig.axes[:2], (COUNT_STATUS, MONEY_STATUS), strict=False):
        hidden: dict[str, list[str]] = {}
        for scope, t, st in zip(comp["scope"], comp["tier"], comp[col], strict=True):
            if st:
                hidden.setdefault(tier_label(t), []).append(str(scope))
        if not hidden:
            continue
        ticks = ax.get_xticks()
        labels = [t.get_text() for t in ax.get_xticklabels()]
        ax.set_xticks(
            ticks,
            [
                f"{lab}\n({', '.join(hidden[lab])}: {marker})" if lab in hidden else lab
                for lab in labels
            ],
        )
    return fig


# --------------------------------------------------------------------------- outlet counts

#: Operational counts at outlet level that concern customers (docs/privacy.md: their
#: protection is a policy parameter, on by default).
OUTLET_COUNTS: tuple[str, ...] = ("new_customers",)


def protect_outlet_counts(
    mine: pd.DataFrame,
    k: int,
    columns: tuple[str, ...] = OUTLET_COUNTS,
    protect_counts: bool = True,
    region: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Which outlet counts are hidden, and why: one answer for every table and chart of 03.

    Each column is a one-way table: the region's outlets add up to the region's total, which
    the report shows elsewhere (trends, attainment of the region), so a lone hidden outlet
    would come back by subtraction; :func:`~bankanalysis.rules.disclosure_secondary.protect`
    hides one more outlet where needed, and where that is not enough (the total minus an
    ``"x"``, at least ``k``, pins a small outlet) the fail-safe withholds every outlet's count
    under ``"withheld"`` (status ``"fail-safe"``). Where the run withholds the region's own
    count (``region``, from
    :func:`~bankanalysis.report.disclosure_plan.protect_total_counts`: a region of 1 to
    ``k - 1`` new customers, or a secondary cell of the run) the total is not published: it is
    audited as withheld, so that the outlets do not give it back and it does not pin them, and
    ``attrs["region"]`` carries its status for the region's row of 03's other tables (the
    attainment grid: actual = attainment x a published target).

    Parameters
    ----------
    mine : DataFrame
        :func:`~bankanalysis.report.benchmarking.region_outlets` (one row per outlet).
    k : int
        ``min_group_size``.
    columns : tuple of str
        Count columns to protect (those absent are skipped).
    protect_counts : bool
        The policy parameter: ``False`` publishes operational counts as they are.
    region : mapping, optional
        Column -> the run's status of the region's own count of the data month (``""`` or
        absent: published).

    Returns
    -------
    DataFrame
        Same index as ``mine``, one column per protected count: ``""``, ``"primary"``,
        ``"secondary"`` or ``"fail-safe"``; ``attrs["protection"]`` the list of
        :class:`Protection` objects, ``attrs["region"]`` the region's withheld counts
        (column -> status).

    Examples
    --------
    A region of 4 new customers, all at one outlet: printed, the region's 4 less the other
    outlet's 0 gives the lone outlet's 4 back; withheld by the run, it does not.

    >>> mine = pd.DataFrame({"new_customers": [4.0, 0.0]})
    >>> printed = protect_outlet_counts(mine, 10)  # logs the cell it cannot protect
    >>> printed["new_customers"].tolist(), printed.attrs["protection"][0].safe
    (['primary', ''], False)
    >>> out = protect_outlet_counts(mine, 10, region={"new_customers": "primary"})
    >>> out["new_customers"].tolist(), out.attrs["protection"][0].safe, out.attrs["region"]
    (['primary', ''], True, {'new_customers': 'primary'})
    """
    out = pd.DataFrame(index=mine.index)
    prots: list[Protection] = []
    withheld = {c: str(st) for c, st in (region or {}).items() if st and c in mine.columns}
    # cells named by outlet id where known: the same answer from any frame of the same outlets
    # (03's outlet KPIs, the workbooks' outlet_month rows), whatever its index
    ids = mine["outlet_id"] if "outlet_id" in mine.columns else pd.Series(mine.index, mine.index)
    for col in columns:
        if col not in mine.columns:
            continue
        out[col] = ""
        if not protect_counts:
            continue
        known = mine[col].dropna()
        values = {f"{col}[outlet={ids[i]}]": float(v) for i, v in known.items()}
        values[col] = float(known.sum())
        rel = dict.fromkeys((c for c in values if c != col), 1.0) | {col: -1.0}
        total = withheld.get(col) if protect_counts else None
        table = LinearTable(
            values=values, relations=(rel,), fixed=frozenset() if total else frozenset({col})
        )
        primary = [c for c in values if c != col and is_small([values[c]], k)[0]]
        prot = protect(table, primary, k, hidden={col: total} if total else None)
        # the region's total pins a small outlet whatever is withheld as "x" (at least k):
        # the fail-safe withholds the column under "withheld" (at least 0)
        outlets = [c for c in values if c != col]
        prot = fail_safe(table, prot, failsafe_steps(outlets, lambda c: {"outlets"}), k)
        if not prot.safe:
            logger.warning(unsafe_note(f"outlet counts ({col})", prot))
        prots.append(prot)
        for i in known.index:
            out.at[i, col] = prot.shown_status(f"{col}[outlet={ids[i]}]")
    out.attrs["protection"] = prots
    out.attrs["k"] = int(k)
    out.attrs["region"] = withheld if protect_counts else {}
    return out


def hide_outlet_ranks(
    ranks: pd.DataFrame, mine: pd.DataFrame, hidden: pd.DataFrame, k: int
) -> pd.DataFrame:
    """Peer ranks with the hidden outlet counts withheld: the gap to the peer median (with the
    median known from another outlet's value and gap, the value itself), the percentile and the
    value become NaN (the heat map leaves them blank); column ``gap_shown`` holds the gap or
    :class:`Suppressed` for the gap table."""
    status = {
        (oid, col): hidden.at[i, col]
        for i, oid in mine["outlet_id"].items()
        for col in hidden.columns
        if hidden.at[i, col]
    }
    out = ranks.assign(gap_shown=ranks["gap_to_median"].astype("object"))
    for idx, oid, kpi in zip(out.index, out["outlet_id"], out["kpi"], strict=True):
        st = status.get((oid, kpi), "")
        if st:
            out.at[idx, "gap_shown"] = cell_value(np.nan, st, k)
            numeric = [c for c in ("gap_to_median", "percentile", "value") if c in out.columns]
            out.loc[idx, numeric] = np.nan
    return out


def hide_dea_counts(
    table: Any,
    d: pd.DataFrame,
    mine: pd.DataFrame,
    hidden: pd.DataFrame,
    k: int,
    currency: str = DEFAULT_CURRENCY,
) -> Any:
    """The DEA targets table with the outlet counts withheld: ``<count> now`` and
    ``<count> target`` (the target is the actual over the efficiency shown beside it) of an
    outlet whose count :func:`protect_outlet_counts` hides, or whose DEA mean is itself of
    1 to ``k - 1`` customers.

    ``table`` is :func:`~bankanalysis.report.benchmarking_dea.dea_targets_table` (frame indexed
    by ``outlet_id``), ``d`` the :func:`~bankanalysis.report.benchmarking_dea.region_dea` frame
    it was built from.
    """
    from bankanalysis.report.format import kpi_label

    status = {
        (oid, col): hidden.at[i, col]
        for i, oid in mine["outlet_id"].items()
        for col in hidden.columns
        if hidden.at[i, col]
    }
    frame = table.frame.copy()
    prots: list[Protection] = []
    for col in hidden.columns:
        label = kpi_label(col, currency)
        cols = [c for c in (f"{label} now", f"{label} target") if c in frame.columns]
        actual = f"actual_{col}"
        if not cols or actual not in d.columns:
            continue
        # the DEA means of the region's outlets add up to the region's mean (published by its
        # trends): a mean of 1 to k - 1 customers is primary, and the step adds the secondary
        # cells that keep it from that total (over every outlet of the region: one not in the
        # table is not shown at all)
        grid = protect_grid(d[[actual]], [actual], k, counts=[actual])
        prots.append(grid.attrs["protection"])
        for oid in frame.index:
            st = status.get((oid, col), "") or (
                str(grid.at[oid, actual]) if oid in grid.index else ""
            )
            if st and not (oid in d.index and is_missing(d.at[oid, actual])):
                frame.loc[oid, cols] = str(cell_value(np.nan, st, k))
    table.frame = frame
    table.protection = prots
    return table
