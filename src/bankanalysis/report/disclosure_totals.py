"""Which AUM totals of the regions (and outlets) a run withholds so that a tier's AUM is not
pinned by its region's published AUM.

The tier table of 01 withholds a tier's AUM when the tier is small (1 to ``k - 1``
customers) or dominated by one or two customers (p % rule)
(:func:`~bankanalysis.report.disclosure.protect_tiers`). Whatever else it withholds, that
tier's AUM is at most the region's AUM, which the run publishes (the overview's plan tables and
target attainment, 03's outlet table whose outlets add up to the region, the plan tables, the
trends per staff FTE, the index). A tier holding more than ``1 / (1 + level)`` of that total
(two thirds at the default ``level`` 0.5) can therefore never reach its protection interval
(its value times ``1 + level``): on the 120-region bank, one or two customers hold 72 to 82 %
of ten regions' AUM.

:func:`protect_total_aum` decides once per run, like
:func:`~bankanalysis.report.disclosure_plan.protect_total_counts`, which units' AUM of the data
month every report withholds:

- **primary**: a region (and, generically, an echelon or the bank) whose largest primary tier
  AUM cell exceeds ``1 / (1 + level)`` of its AUM (:func:`pinned_totals`). Its AUM is audited
  as a money cell at its own value: an interval reaching ``value x (1 - level)`` ..
  ``value x (1 + level)`` for the total reaches ``(1 + level)`` times the tier, which is at most
  the total;
- **secondary**: so the total does not come back from its outlets' sum (the outlets of a
  region are printed by its 03), the region's outlets of largest AUM are withheld until the
  ones left shown hold at most ``1 - level`` of it; so it does not come back from its echelon
  minus the other regions (the echelons and the bank stay published), other regions of the
  echelon are withheld, each with its largest outlet, until those outlets hold at least
  ``level`` of it (:func:`choose_secondary`). The result is audited by linear programming
  over the outlets, regions, echelons and bank
  (:func:`~bankanalysis.rules.disclosure_secondary.audit`); a cell the structured choice
  leaves unsafe goes to the generic greedy search
  (:func:`~bankanalysis.rules.disclosure_secondary.protect`).

Every figure that gives a withheld total back is withheld with it: its change on the month and
on the year (the month before is published), its attainment and met/missed (actual =
attainment x a published target), per-FTE and per-customer figures (times published FTE or
customers). The answer is a :class:`~bankanalysis.report.disclosure_plan.PlanCounts` keyed
``(unit_key(level, id) or outlet id, "aum", period)`` so the plan tables and
:func:`~bankanalysis.report.disclosure_plan.withhold_attainment` read it as they read the
withheld counts (:func:`merge_counts`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from bankanalysis.report.disclosure import tier_table
from bankanalysis.report.disclosure_plan import MOM, YOY, PlanCounts, unit_key, withhold_figures
from bankanalysis.rules.disclosure_secondary import (
    DEFAULT_DOMINANCE_P,
    DEFAULT_PROTECTION_LEVEL,
    PRIMARY,
    SECONDARY,
    LinearTable,
    Protection,
    audit,
    p_percent_sensitive,
    protect,
)
from bankanalysis.rules.tiers import TIERS

__all__ = [
    "AUM",
    "OUTLET_AUM_COLUMNS",
    "REGION_AUM_KEYS",
    "aum_status",
    "choose_secondary",
    "load_total_aum",
    "load_total_figures",
    "merge_counts",
    "pinned_totals",
    "protect_total_aum",
    "total_aum_table",
    "withheld_units",
    "withhold_level_aum",
    "withhold_outlet_aum",
    "withhold_region_aum",
]

logger = logging.getLogger(__name__)

#: The KPI id of the withheld totals in :attr:`PlanCounts.status`.
AUM = "aum"
#: Money is audited in millions: the solver's tolerances suit figures near 1 .. 1e4.
_SCALE = 1e6


def _primary_tier_aum(customers: pd.DataFrame, k: int, dominance_p: float) -> float:
    """The largest AUM of a tier the tier table withholds as primary (small or dominated), 0
    when none (the rule of :func:`~bankanalysis.report.disclosure.tier_table`)."""
    tiers = customers.assign(tier=customers["tier"].astype("object").astype(str))
    raw = tiers.groupby("tier")["aum"].agg(customers="size", aum="sum").reindex(TIERS)
    raw = raw.fillna(0.0).rename_axis("tier").reset_index()
    dom = p_percent_sensitive(tiers["aum"], tiers["tier"], dominance_p).to_dict()
    _, primary = tier_table(raw, None, k, dom)
    aum = raw.set_index("tier")["aum"].clip(lower=0)
    tiers_hit = [c[len("aum[tier=") : -1] for c in primary if c.startswith("aum[")]
    return float(max((aum[t] for t in tiers_hit), default=0.0))


def pinned_totals(
    tiers_all: pd.DataFrame,
    k: int,
    dominance_p: float = DEFAULT_DOMINANCE_P,
    level: float = DEFAULT_PROTECTION_LEVEL,
) -> pd.DataFrame:
    """Every region's, echelon's and the bank's AUM and its largest primary tier AUM.

    Parameters
    ----------
    tiers_all : DataFrame
        Every customer of the bank at the data month: ``region_id``, ``echelon``, ``tier``,
        ``aum`` (:func:`~bankanalysis.report.bank_tiers.load_bank_tiers`).
    k, dominance_p, level
        ``min_group_size``, ``p`` of the p % rule, the money protection level.

    Returns
    -------
    DataFrame
        ``level, id, aum, tier_aum, pinned``: ``pinned`` when ``tier_aum`` exceeds
        ``aum / (1 + level)`` (no choice of the tier table's cells protects that tier while
        ``aum`` is published). Bank first, then echelons and regions in id order.

    Examples
    --------
    One customer of 75 holds 75 % of region R1 (VIP, dominated); R2 has no such tier.

    >>> t = pd.DataFrame({"region_id": ["R1"] * 21 + ["R2"] * 20, "echelon": 1,
    ...                   "tier": ["mass"] * 20 + ["vip"] + ["mass"] * 20,
    ...                   "aum": [1.25] * 20 + [75.0] + [5.0] * 20})
    >>> pinned_totals(t, 10)[["level", "id", "aum", "tier_aum", "pinned"]].values.tolist()
    [['bank', 'bank', 200.0, 75.0, False], ['echelon', '1', 200.0, 75.0, False], \
['region', 'R1', 100.0, 75.0, True], ['region', 'R2', 100.0, 0.0, False]]
    """
    groups: list[tuple[str, str, pd.DataFrame]] = [("bank", "bank", tiers_all)]
    groups += [("echelon", str(e), g) for e, g in tiers_all.groupby("echelon", sort=True)]
    groups += [("region", str(r), g) for r, g in tiers_all.groupby("region_id", sort=True)]
    rows = []
    for lv, gid, g in groups:
        total = float(g["aum"].clip(lower=0).sum())
        top = _primary_tier_aum(g, k, dominance_p)
        rows.append((lv, gid, total, top, bool(top > 0 and top * (1 + level) > total)))
    return pd.DataFrame(rows, columns=["level", "id", "aum", "tier_aum", "pinned"])


def total_aum_table(tiers_all: pd.DataFrame, pinned: pd.DataFrame) -> LinearTable:
    """The AUM of the data month of every outlet, region, echelon and the bank as cells
    (``unit_key(level, id)``, outlets by ``outlet=<id>``; in millions) and relations: the
    outlets add up to their region, the regions to their echelon, the echelons to the bank.

    The echelons and the bank are printed throughout the run (00's trends and change tables,
    03's trends): ``fixed`` unless ``pinned`` names them.
    """
    cust = tiers_all.assign(aum=tiers_all["aum"].clip(lower=0) / _SCALE)
    values: dict[str, float] = {unit_key("bank", "bank"): float(cust["aum"].sum())}
    relations: list[dict[str, float]] = []
    bank_rel = {unit_key("bank", "bank"): -1.0}
    for e, ge in cust.groupby("echelon", sort=True):
        ek = unit_key("echelon", e)
        values[ek] = float(ge["aum"].sum())
        bank_rel[ek] = 1.0
        e_rel = {ek: -1.0}
        for r, gr in ge.groupby("region_id", sort=True):
            rk = unit_key("region", r)
            values[rk] = float(gr["aum"].sum())
            e_rel[rk] = 1.0
            r_rel = {rk: -1.0}
            for o, go in gr.groupby("outlet_id", sort=True):
                ok = unit_key("outlet", o)
                values[ok] = float(go["aum"].sum())
                r_rel[ok] = 1.0
            relations.append(r_rel)
        relations.append(e_rel)
    relations.append(bank_rel)
    on = pinned.loc[pinned["pinned"].astype(bool)]
    hit = {unit_key(lv, i) for lv, i in zip(on["level"], on["id"], strict=True)}
    fixed = {c for c in values if c.split("=")[0] in ("bank", "echelon") and c not in hit}
    return LinearTable(
        values=values,
        relations=tuple(relations),
        money=frozenset(values),
        fixed=frozenset(fixed),
    )


def _largest(cells: Sequence[str], values: Mapping[str, float]) -> list[str]:
    return sorted(cells, key=lambda c: (-values[c], c))


def choose_secondary(
    table: LinearTable, primary: Sequence[str], level: float = DEFAULT_PROTECTION_LEVEL
) -> dict[str, str]:
    """The structured choice of secondary cells for withheld region totals (module docstring).

    For each primary region total ``V`` (in name order): its outlets of largest AUM until the
    ones left shown hold at most ``(1 - level) V``; then other regions of its echelon, each
    with its largest outlet, largest outlet first, until the withheld outlets of the other
    regions hold at least ``level x V`` (regions withheld already count with their withheld
    outlets). Deterministic: ties go by name.

    Examples
    --------
    R1 (100: outlets 80 and 20) beside R2 (60: 50 and 10) and R3 (30) in echelon 1.

    >>> v = {"bank=bank": 190, "echelon=1": 190, "region=R1": 100, "region=R2": 60,
    ...      "region=R3": 30, "outlet=a": 80, "outlet=b": 20, "outlet=c": 50, "outlet=d": 10,
    ...      "outlet=e": 30}
    >>> rel = ({"region=R1": -1, "outlet=a": 1, "outlet=b": 1},
    ...        {"region=R2": -1, "outlet=c": 1, "outlet=d": 1},
    ...        {"region=R3": -1, "outlet=e": 1},
    ...        {"echelon=1": -1, "region=R1": 1, "region=R2": 1, "region=R3": 1},
    ...        {"bank=bank": -1, "echelon=1": 1})
    >>> t = LinearTable(v, rel, money=frozenset(v), fixed=frozenset({"bank=bank", "echelon=1"}))
    >>> choose_secondary(t, ["region=R1"])
    {'region=R1': 'primary', 'outlet=a': 'secondary', 'region=R2': 'secondary', \
'outlet=c': 'secondary'}
    """
    values = table.values
    outlets_of: dict[str, list[str]] = {}
    regions_of: dict[str, list[str]] = {}
    echelon_of: dict[str, str] = {}
    for rel in table.relations:
        total = next(c for c, coef in rel.items() if coef < 0)
        parts = [c for c, coef in rel.items() if coef > 0]
        if total.startswith("region="):
            outlets_of[total] = parts
        elif total.startswith("echelon="):
            regions_of[total] = parts
            echelon_of.update(dict.fromkeys(parts, total))
    status: dict[str, str] = {c: PRIMARY for c in sorted(primary)}
    for cell in sorted(primary):
        if cell not in outlets_of:
            continue
        v = values[cell]
        shown = v
        for o in _largest(outlets_of[cell], values):
            if shown <= (1 - level) * v:
                break
            status.setdefault(o, SECONDARY)
            shown -= values[o]
        siblings = [r for r in regions_of.get(echelon_of.get(cell, ""), []) if r != cell]

        def cover(r: str) -> float:
            return (
                sum(values[o] for o in outlets_of.get(r, []) if o in status) if r in status else 0.0
            )

        got = sum(cover(r) for r in siblings)
        offers = sorted(
            (-values[o], o, r)
            for r in siblings
            if r not in status
            for o in _largest(outlets_of.get(r, []), values)[:1]
        )
        for neg, o, r in offers:
            if got >= level * v:
                break
            status[r] = SECONDARY
            status[o] = SECONDARY
            got += -neg
    return status


def protect_total_aum(
    tiers_all: pd.DataFrame,
    month: str,
    k: int,
    dominance_p: float = DEFAULT_DOMINANCE_P,
    level: float = DEFAULT_PROTECTION_LEVEL,
) -> PlanCounts:
    """Which AUM figures of the data month a run withholds (module docstring).

    Parameters
    ----------
    tiers_all : DataFrame
        Every customer of the bank at ``month``: ``region_id``, ``echelon``, ``outlet_id``,
        ``tier``, ``aum``.
    month : str
        The data month.
    k, dominance_p, level
        As :func:`pinned_totals`.

    Returns
    -------
    PlanCounts
        Keys ``(unit_key(level, id), "aum", period)`` for regions, echelons and the bank and
        ``(outlet id, "aum", period)`` for outlets, ``period`` the data month, :data:`MOM` and
        :data:`YOY` (their changes); every status ``"secondary"`` (shown as ``x``: withheld so
        that a withheld tier AUM cannot be worked out). ``protection`` holds the audit (its
        primary cells are the pinned totals). Empty when nothing is pinned.
    """
    if tiers_all.empty:
        return PlanCounts(k=int(k))
    pinned = pinned_totals(tiers_all, k, dominance_p, level)
    primary = [unit_key(lv, i) for lv, i, p in pinned[["level", "id", "pinned"]].values if p]
    if not primary:
        return PlanCounts(k=int(k))
    table = total_aum_table(tiers_all, pinned)
    status = choose_secondary(table, primary, level)
    checked = audit(table, status, k, level)
    if not bool(checked["safe"].all()):
        prot = protect(table, [], k, level, hidden=status)
    else:
        prot = Protection(status=status, audit=checked)
    if not prot.safe:
        logger.warning(
            "region AUM totals: %d withheld totals stay narrower than their protection interval",
            int((~prot.audit["safe"]).sum()),
        )
    return PlanCounts(status=aum_status(prot.status, month), k=int(k), protection=(prot,))


def aum_status(cells: Mapping[str, str] | Sequence[str], month: str) -> dict:
    """The :attr:`PlanCounts.status` of withheld AUM cells: the data month and both changes.

    Examples
    --------
    >>> sorted(aum_status({"region=R1": "primary", "outlet=O1": "secondary"}, "2026-10"))
    ... # doctest: +NORMALIZE_WHITESPACE
    [('O1', 'aum', '2026-10'), ('O1', 'aum', 'mom'), ('O1', 'aum', 'yoy'),
     ('region=R1', 'aum', '2026-10'), ('region=R1', 'aum', 'mom'), ('region=R1', 'aum', 'yoy')]
    """
    out: dict[tuple[str, str, str], str] = {}
    for c in cells:
        who = c.removeprefix("outlet=")
        for period in (month, MOM, YOY):
            out[(who, AUM, period)] = SECONDARY
    return out


def withheld_units(counts: PlanCounts | None, level: str, month: str) -> set[str]:
    """Ids of the units of ``level`` (``"region"``, ``"echelon"``, ``"bank"``, ``"outlet"``)
    whose AUM of ``month`` ``counts`` withholds.

    Examples
    --------
    >>> pc = PlanCounts(aum_status(["region=R1", "outlet=O1"], "2026-10"))
    >>> withheld_units(pc, "region", "2026-10"), withheld_units(pc, "outlet", "2026-10")
    ({'R1'}, {'O1'})
    """
    if counts is None:
        return set()
    out = set()
    for who, kpi, period in counts.status:
        if kpi != AUM or period != month:
            continue
        if level == "outlet" and "=" not in who:
            out.add(who)
        elif who.startswith(f"{level}="):
            out.add(who.split("=", 1)[1])
    return out


def merge_counts(*counts: PlanCounts | None) -> PlanCounts:
    """One :class:`PlanCounts` holding every given one's status (the first's ``k``; a key in
    several keeps the first status).

    Examples
    --------
    >>> a = PlanCounts({("region=R1", "new_customers", "2026-10"): "primary"}, k=10)
    >>> b = PlanCounts(aum_status(["region=R2"], "2026-10"), k=10)
    >>> len(merge_counts(a, b).status), merge_counts(a, None).status == a.status
    (4, True)
    """
    given = [c for c in counts if c is not None]
    status: dict[tuple[str, str, str], str] = {}
    for c in given:
        for key, st in c.status.items():
            status.setdefault(key, st)
    k = given[0].k if given else 10
    return PlanCounts(status=status, k=k, protection=tuple(p for c in given for p in c.protection))


def load_total_aum(ctx: Any, params: Mapping[str, Any] | None = None) -> PlanCounts:
    """The run's :func:`protect_total_aum`, computed once per data, month and parameters.

    ``params`` is the report's ``globals()``: ``tier_thresholds`` and ``tier_months`` (the
    overview's defaults when missing). ``k``, ``dominance_p`` and ``protection_level`` are the
    context's (:func:`~bankanalysis.report.context.report_context`), which every report builds
    from the same common parameters, one value per run
    (:data:`~bankanalysis.params.RUN_WIDE_KEYS`); they are part of the cache key. Stored under
    ``<processed>/_models/total_aum`` by
    :func:`~bankanalysis.propensity.cache.cached_for_data`; every report reads the same answer.
    """
    from bankanalysis.propensity.cache import cached_for_data
    from bankanalysis.report.bank_tiers import load_bank_tiers
    from bankanalysis.report.standing import scorecard_params

    given = dict(params or {})
    sp = scorecard_params(given)
    p = float(ctx.dominance_p)
    level = float(ctx.protection_level)
    k = int(ctx.min_group_size)
    key = {
        "what": "total aum",
        "month": ctx.month,
        "k": k,
        "tier_thresholds": [float(t) for t in sp["tier_thresholds"]],
        "tier_months": int(sp["tier_months"]),
        "dominance_p": p,
        "protection_level": level,
    }

    def compute() -> PlanCounts:
        thresholds, months = sp["tier_thresholds"], int(sp["tier_months"])
        tiers_all = load_bank_tiers(ctx, thresholds, months, 12)[1]
        return protect_total_aum(tiers_all, ctx.month, k, p, level)

    return cached_for_data(ctx.bank, "total_aum", key, compute)[0]


def load_total_figures(ctx: Any, params: Mapping[str, Any] | None = None) -> PlanCounts:
    """The run's withheld totals: the counts of
    :func:`~bankanalysis.report.planning_scope.load_total_counts`, the AUM of
    :func:`load_total_aum`, the stock retention of
    :func:`~bankanalysis.report.disclosure_retention.load_retention` and the shares with a
    small side of :func:`~bankanalysis.report.disclosure_shares.load_level_shares`, as one
    :class:`PlanCounts` for the plan tables, the target attainment, 03's outlet table, the
    scorecards and the summaries of every report."""
    from bankanalysis.report.disclosure_retention import load_retention
    from bankanalysis.report.disclosure_shares import load_level_shares
    from bankanalysis.report.planning_scope import load_total_counts

    return merge_counts(
        load_total_counts(ctx, params),
        load_total_aum(ctx, params),
        load_retention(ctx, params),
        load_level_shares(ctx, params),
    )


# --------------------------------------------------------------------------- 03's figures

#: Outlet figures that give the outlet's AUM back (times its published customers or FTE).
OUTLET_AUM_COLUMNS: tuple[str, ...] = ("aum", "aum_per_customer", "aum_per_fte")
#: 03's region figures that give the region's AUM back (``metrics.json`` keys).
REGION_AUM_KEYS: tuple[str, ...] = ("aum", "aum_per_customer", "aum_per_fte")


def withhold_outlet_aum(
    hidden: pd.DataFrame, mine: pd.DataFrame, counts: PlanCounts | None, month: str
) -> pd.DataFrame:
    """:func:`~bankanalysis.report.disclosure.protect_outlet_counts`' answer (``hidden``) with
    the outlets' AUM figures of :data:`OUTLET_AUM_COLUMNS` withheld (``"secondary"``, shown
    ``x``) where ``counts`` withholds the outlet's AUM: every table of 03 that reads
    ``hidden`` (outlet tables, peer ranks, attainment) then withholds them. ``attrs["region"]``
    maps ``"aum"`` to ``"secondary"`` when the region's own AUM is withheld (its attainment
    row).

    Examples
    --------
    >>> mine = pd.DataFrame({"outlet_id": ["O1", "O2"], "aum": [8.0, 2.0]})
    >>> h = pd.DataFrame({"new_customers": ["", "primary"]}, index=mine.index)
    >>> pc = PlanCounts(aum_status(["region=R1", "outlet=O1"], "2026-10"))
    >>> out = withhold_outlet_aum(h, mine, pc, "2026-10")
    >>> out["aum"].tolist(), out["new_customers"].tolist(), out.attrs["region"]
    (['secondary', ''], ['', 'primary'], {'aum': 'secondary'})
    """
    out = hidden.copy()
    out.attrs = dict(hidden.attrs)
    gone = withheld_units(counts, "outlet", month)
    mark = [SECONDARY if str(o) in gone else "" for o in mine["outlet_id"]]
    if any(mark):
        for col in OUTLET_AUM_COLUMNS:
            if col in mine.columns:
                out[col] = pd.Series(mark, index=mine.index)
    regions = {
        str(r)
        for r in (mine["region_id"] if "region_id" in mine.columns else [])
        if str(r) in withheld_units(counts, "region", month)
    }
    if regions or (any(mark) and "region_id" not in mine.columns):
        out.attrs["region"] = {**out.attrs.get("region", {}), AUM: SECONDARY}
    return out


def withhold_region_aum(
    values: Mapping[str, Any],
    counts: PlanCounts | None,
    month: str,
    region_id: str,
    k: int,
    keys: Sequence[str] = REGION_AUM_KEYS,
) -> dict[str, Any]:
    """A region report's figures (``metrics.json`` keys) with the region's AUM figures of
    ``month`` withheld (``x``) when ``counts`` withholds its AUM: ``keys`` and their
    ``[month=<month>]`` breakdown (03's trends record every month).

    Examples
    --------
    >>> pc = PlanCounts(aum_status(["region=R1"], "2026-10"))
    >>> v = {"aum_per_fte": 5.0, "aum_per_fte[month=2026-10]": 5.0,
    ...      "aum_per_fte[month=2026-09]": 4.0, "outlets": 2}
    >>> {k: str(x) for k, x in withhold_region_aum(v, pc, "2026-10", "R1", 10).items()}
    ... # doctest: +NORMALIZE_WHITESPACE
    {'aum_per_fte': 'x', 'aum_per_fte[month=2026-10]': 'x', 'aum_per_fte[month=2026-09]': '4.0',
     'outlets': '2'}
    """
    if str(region_id) not in withheld_units(counts, "region", month):
        return dict(values)
    hit = [*keys, *(f"{key}[month={month}]" for key in keys)]
    return withhold_figures(values, dict.fromkeys(hit, SECONDARY), k)


def withhold_level_aum(
    levels: pd.DataFrame,
    counts: PlanCounts | None,
    month: str,
    region_id: str,
    region_name: str,
) -> tuple[pd.DataFrame, str | None]:
    """03's productivity trends (:func:`~bankanalysis.report.benchmarking.level_aggregates`)
    with the region's AUM per FTE of ``month`` NaN when ``counts`` withholds its AUM (times
    the FTE every outlet table prints, it is the AUM), and the line saying so under the
    chart (``None`` when nothing is withheld).

    Examples
    --------
    >>> lv = pd.DataFrame({"month": ["2026-09", "2026-10"], "level": "North",
    ...                    "aum_per_fte": [4.0, 5.0]})
    >>> pc = PlanCounts(aum_status(["region=R1"], "2026-10"))
    >>> out, note = withhold_level_aum(lv, pc, "2026-10", "R1", "North")
    >>> out["aum_per_fte"].tolist(), note is not None
    ([4.0, nan], True)
    """
    if str(region_id) not in withheld_units(counts, "region", month) or (
        "aum_per_fte" not in levels.columns
    ):
        return levels, None
    out = levels.copy()
    at = (out["month"].astype(str) == month) & (out["level"].astype(str) == str(region_name))
    out["aum_per_fte"] = out["aum_per_fte"].astype("float64").mask(at)
    note = (
        f"{region_name}'s AUM per staff FTE of {month} is withheld (not drawn): with the staff "
        "FTE it would give the region's AUM, withheld in every report of the run so that a "
        "tier held by one or two customers cannot be worked out (docs/privacy.md)."
    )
    return out, note
