"""An outlet's quality-and-above customers: one decision for 01 and 03.

01's account-manager table prints each outlet's quality-and-above customers (withheld when
1 to ``k - 1``); 03 prints each outlet's *share* of quality-and-above customers (the outlet
table's rates, the peer ranks' gap to the median and the percentile heat map) beside the
outlet's customers, which gives the count back (share x customers). Both reports read
:func:`protect_quality_plus`, so a count the run withholds is withheld in every figure
derived from it (docs/privacy.md, "Per-outlet shares of a withheld count").

The decision is :func:`~bankanalysis.report.disclosure.protect_outlet_counts` over the
outlets' counts: the region's quality-and-above customers are published (01's tier table:
the region's customers less its mass tier; 03's key figures: the region's share times its
customers), so a lone withheld outlet would come back by subtraction and a second outlet is
withheld as a secondary cell (``x``), or every outlet under the fail-safe (``withheld``).

The same decision, :func:`protect_outlet_group`, serves every per-outlet share of a group of
the outlet's customers. For product coverage both sides are groups: the share of covered
customers beside the outlet's published customers gives the covered *and* the not-covered
customers back, so the share is withheld where either is 1 to ``k - 1`` (``size``: the
outlet's customers, with the complement as a second column; docs/privacy.md, "Per-outlet
shares of a withheld count").
"""

from __future__ import annotations

import html
import logging
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import replace

import pandas as pd

from bankanalysis.planning.periods import period_label
from bankanalysis.report.disclosure import protect_outlet_counts
from bankanalysis.report.disclosure_grid import cell_value
from bankanalysis.report.disclosure_plan import MOM, YOY, PlanCounts
from bankanalysis.rules.disclosure import is_small
from bankanalysis.rules.disclosure_secondary import (
    FAILSAFE,
    PRIMARY,
    SECONDARY,
    LinearTable,
    Protection,
    audit,
    unsafe_note,
)
from bankanalysis.rules.kpis import KPIS, rates_over
from bankanalysis.rules.months import quarter_months, quarter_of, shift_month

__all__ = [
    "OUTLET_GROUP_FIGURES",
    "QUALITY_PLUS",
    "QUALITY_PLUS_FIGURES",
    "mark_withheld_rows",
    "protect_outlet_group",
    "protect_quality_plus",
    "quality_plus_rates",
    "region_withheld",
    "same_month_ends",
    "quality_plus_rate_note",
    "withheld_rank_note",
    "withhold_outlet_groups",
    "withhold_period_groups",
    "withhold_plan_groups",
    "withhold_quality_plus",
]

logger = logging.getLogger(__name__)

#: The count decided (01's column name for it).
QUALITY_PLUS = "quality_plus_customers"
#: The count as the reports name it (01's column header; the KPI dictionary's ``denominator``).
QUALITY_PLUS_NAME = "Quality-and-above customers"
#: 03's per-outlet figures computed from the outlet's quality-and-above customers.
QUALITY_PLUS_FIGURES: tuple[str, ...] = ("share_quality_plus",)


def quality_plus_rates() -> tuple[str, ...]:
    """Per-outlet rates over the outlet's quality-and-above customers (01's account-manager
    table, 02's outlet scorecards, 03's quarter and changes tables): withheld wherever
    :func:`protect_quality_plus` withholds the count, since a rate restricts its denominator to
    few values (16.7 % is 7/42 or 8/48; with the region's count the other outlet's comes
    back). Read from the KPI dictionary (``denominator``), the pairs the tests' rate attacker
    reads too.

    >>> quality_plus_rates()
    ('wealth_card_matching', 'contact_plan_coverage', 'manager_coverage')
    """
    return rates_over(QUALITY_PLUS_NAME, unit="share")


#: 03's per-outlet shares of a group of the outlet's customers: figure -> (the group's count,
#: the count it is a share of when the rest of those is a group to protect too, else None).
#: The outlet's quality-and-above customers are 01's count (its mass tier is not printed per
#: outlet); product coverage gives the covered and the not-covered customers alike; the
#: wealth-card matching rate, a share of the outlet's quality-and-above customers (printed:
#: 01's count, 03's share), gives the card holders and the others among them alike (holdings,
#: policy item 1; the quarter table prints it per outlet at every quarter end).
OUTLET_GROUP_FIGURES: dict[str, tuple[str, str | None]] = {
    "share_quality_plus": ("n_quality_plus", None),
    "product_coverage": ("n_covered", "customers"),
    "wealth_card_matching": ("n_card_holders", "n_quality_plus"),
}

#: Who a primary cell of a KPI is about, for the sentence naming a withheld peer rank.
_GROUP: dict[str, str] = {
    "new_customers": "new customers this month",
    "share_quality_plus": "quality-and-above customers",
    "product_coverage": "customers on one side of the product-coverage threshold, covered or not",
    "wealth_card_matching": "quality-and-above customers holding the wealth card, or not holding it",
}


def protect_quality_plus(counts: pd.Series, k: int) -> pd.Series:
    """Status of each outlet's quality-and-above customers: ``""`` (published),
    ``"primary"`` (1 to ``k - 1``), ``"secondary"`` or ``"fail-safe"``.

    :func:`protect_outlet_group` of the counts (no complement: 01 prints no per-outlet mass
    tier).

    Parameters
    ----------
    counts : Series
        Quality-and-above customers per outlet, **indexed by outlet id** (the secondary
        search breaks ties by the cells' names: 01 and 03 pass the same ids and get the
        same answer). 01: :func:`~bankanalysis.segmentation.managers.manager_kpis` by outlet;
        03: ``n_quality_plus`` of the outlet KPIs (the same tier rule on the same months).
    k : int
        ``min_group_size``. Always applied: the count says how many customers hold at least
        the first tier threshold (wealth), not an operational count.

    Returns
    -------
    Series
        Statuses, same index; ``attrs["protection"]`` the
        :class:`~bankanalysis.rules.disclosure_secondary.Protection` (for the appendix).

    Examples
    --------
    Outlet O2's 4 would come back as the region's 34 less O1's 30: O1 is withheld too.

    >>> s = protect_quality_plus(pd.Series([30, 4], index=["O1", "O2"]), 10)
    >>> s.tolist()
    ['secondary', 'primary']
    """
    return protect_outlet_group(counts, k, name=QUALITY_PLUS)


def protect_outlet_group(
    counts: pd.Series,
    k: int,
    size: pd.Series | None = None,
    name: str = QUALITY_PLUS,
    total_withheld: bool = False,
) -> pd.Series:
    """Status of each outlet's figure about a group of its customers (``counts``): ``""``
    (published), ``"primary"``, ``"secondary"`` or ``"fail-safe"``; the region's count is
    published, so a lone withheld outlet would come back by subtraction.

    Without ``size`` the counts are a one-way table
    (:func:`~bankanalysis.report.disclosure.protect_outlet_counts`): primary where the count
    is 1 to ``k - 1``. With ``size`` (the count the figure is a share of, published: the
    outlet's customers, or its quality-and-above customers) the rest (``size - counts``) is a
    group too, whose region total is published as well: the table has two columns and a row
    per outlet adding up to its ``size``, an outlet is primary where either side is 1 to
    ``k - 1``, and its figure (a share of ``size``) is withheld with both sides. Secondary
    outlets are chosen whole, as :func:`~bankanalysis.rules.disclosure_secondary.protect`
    chooses cells: the one that makes every primary outlet safe, then the one of fewest
    customers, then by id; where no outlet is enough, the smallest and the search goes on.
    Where every outlet withheld is not enough and an outlet's two sides are both small (its
    own ``<k`` markers pin them), that outlet is shown ``"fail-safe"`` (``withheld``: at least
    0) and the search runs again around it; where that is not enough either, the fail-safe
    withholds every outlet (``"fail-safe"``). The audit (linear programming over both columns, each side at least 0,
    so at most the outlet's customers) is the proof.

    Parameters
    ----------
    counts : Series
        The group's customers per outlet, **indexed by outlet id**.
    k : int
        ``min_group_size``.
    size : Series, optional
        The count the figure is a share of (same index), published beside it.
    name : str
        The count's name in the cells of the audit.
    total_withheld : bool
        The run withholds the region's share (its two sides are not published totals here:
        :mod:`~bankanalysis.report.disclosure_shares`); with ``size`` only.

    Returns
    -------
    Series
        Statuses, same index as ``counts``; ``attrs["protection"]`` the list of
        :class:`~bankanalysis.rules.disclosure_secondary.Protection` (for the appendix).

    Examples
    --------
    O2's 7 not covered of 26 customers (19 covered): the region's 109 covered less O1's 90
    would give 19, hence 7, back; O1 is withheld too.

    >>> s = protect_outlet_group(pd.Series([90, 19], index=["O1", "O2"]), 10,
    ...                          size=pd.Series([120, 26], index=["O1", "O2"]), name="n_covered")
    >>> s.tolist()
    ['secondary', 'primary']
    """
    if size is None:
        ids = [str(i) for i in counts.index]
        frame = pd.DataFrame({name: counts.astype("float64").to_numpy()}, index=ids)
        hidden = protect_outlet_counts(frame, k, columns=(name,))
        out = pd.Series(hidden[name].to_numpy(), index=counts.index, name=name)
        out.attrs["protection"] = list(hidden.attrs["protection"])
        return out
    prot = _protect_with_rest(counts, size, k, name, total_withheld)
    ids = [str(i) for i in counts.index]
    statuses, per_outlet, under_marker = [], {}, set()
    for oid in ids:
        cells = [f"{name}[outlet={oid}]", f"rest_{name}[outlet={oid}]"]
        st = {prot.shown_status(c) for c in cells} - {""}
        statuses.append(next((s for s in (FAILSAFE, PRIMARY, SECONDARY) if s in st), ""))
        own = {prot.status[c] for c in cells if c in prot.status}
        if own:
            per_outlet[f"{name}[outlet={oid}]"] = next(
                s for s in (PRIMARY, SECONDARY, FAILSAFE) if s in own
            )
        if statuses[-1] == FAILSAFE:
            under_marker.add(f"{name}[outlet={oid}]")
    out = pd.Series(statuses, index=counts.index, name=name)
    # one withheld figure per outlet for the appendix's count (the audit is over both sides)
    out.attrs["protection"] = [
        Protection(status=per_outlet, audit=prot.audit, failsafe=frozenset(under_marker))
    ]
    return out


def _protect_with_rest(
    counts: pd.Series, size: pd.Series, k: int, name: str, total_withheld: bool = False
) -> Protection:
    """:func:`protect_outlet_group` with ``size``: the audited two-column table. The region's
    two sides are published unless ``total_withheld``; then they are withheld cells read as
    the run shows them (a side of 1 to ``k - 1`` under ``"<k"``, audited here too: the
    outlets published must not add up to it)."""
    group = counts.astype("float64").fillna(0.0).to_numpy()
    rest = size.astype("float64").fillna(0.0).to_numpy() - group
    ids = [str(i) for i in counts.index]
    values: dict[str, float] = {}
    relations: list[dict[str, float]] = []
    cells: dict[str, tuple[str, str]] = {}
    for oid, g, r in zip(ids, group, rest, strict=True):
        cells[oid] = (f"{name}[outlet={oid}]", f"rest_{name}[outlet={oid}]")
        values[cells[oid][0]], values[cells[oid][1]] = float(g), float(r)
        values[f"customers[outlet={oid}]"] = float(g + r)
        relations.append({cells[oid][0]: 1.0, cells[oid][1]: 1.0, f"customers[outlet={oid}]": -1.0})
    for col, side in ((name, 0), (f"rest_{name}", 1)):
        values[col] = float(sum(values[cells[o][side]] for o in ids))
        relations.append(dict.fromkeys((cells[o][side] for o in ids), 1.0) | {col: -1.0})
    fixed = frozenset(
        c for c in values if c.startswith("customers[") or ("[" not in c and not total_withheld)
    )
    table = LinearTable(values=values, relations=tuple(relations), fixed=fixed)
    primary = sorted(o for o in ids if any(is_small([values[c]], k)[0] for c in cells[o]))

    totals: dict[str, str] = {}
    if total_withheld:
        totals = {
            c: PRIMARY if is_small([values[c]], k)[0] else SECONDARY for c in (name, f"rest_{name}")
        }

    def status_of(outlets: set[str]) -> dict[str, str]:
        out = dict(totals)
        for o in sorted(outlets):
            for c in cells[o]:
                small = o in primary and is_small([values[c]], k)[0]
                out[c] = PRIMARY if small else SECONDARY
        return out

    def search(table: LinearTable) -> Protection:
        """Secondary outlets, whole, until every primary outlet is safe (or none is left)."""

        def safe(outlets: set[str]) -> bool:
            return bool(audit(table, status_of(outlets), k)["safe"].all())

        chosen = set(primary)
        order = sorted(
            (o for o in ids if o not in chosen),
            key=lambda o: (values[cells[o][0]] + values[cells[o][1]], o),
        )
        while (primary or PRIMARY in totals.values()) and not safe(chosen) and order:
            pick = next((o for o in order if safe(chosen | {o})), order[0])
            chosen.add(pick)
            order.remove(pick)
        status = status_of(chosen)
        return Protection(status=status, audit=audit(table, status, k), failsafe=table.unmarked)

    prot = search(table)
    two_small = [o for o in primary if all(is_small([values[c]], k)[0] for c in cells[o])]
    both = frozenset(c for o in two_small for c in cells[o])
    if not prot.safe and both:
        # an outlet whose two sides are both small is pinned by its own markers (16 split 9
        # and 7, each "<k": each 7 to 9): shown "withheld", which says only "at least 0", it
        # is not, and the search runs again around it before every outlet is withheld
        alone = search(replace(table, unmarked=both))
        if alone.safe:
            prot = alone
    if not prot.safe:
        # the region's totals pin a small side whatever is withheld as "x": every outlet's
        # figure under "withheld", which says nothing of either side's size
        shown = frozenset(c for o in ids for c in cells[o])
        status = {**totals, **{c: prot.status.get(c, FAILSAFE) for c in sorted(shown)}}
        marked = LinearTable(values=values, relations=tuple(relations), fixed=fixed, unmarked=shown)
        prot = Protection(status=status, audit=audit(marked, status, k), failsafe=shown)
    if not prot.safe:
        logger.warning(unsafe_note(f"outlet groups ({name})", prot))
    return prot


def withhold_quality_plus(hidden: pd.DataFrame, mine: pd.DataFrame, k: int) -> pd.DataFrame:
    """:func:`withhold_outlet_groups` for the shares of quality-and-above customers alone.

    Examples
    --------
    >>> mine = pd.DataFrame({"outlet_id": ["O1", "O2"], "customers": [120, 40],
    ...                      "n_quality_plus": [30, 4], "share_quality_plus": [0.25, 0.1]})
    >>> h = pd.DataFrame({"new_customers": ["", ""]}, index=mine.index)
    >>> withhold_quality_plus(h, mine, 10)["share_quality_plus"].tolist()
    ['secondary', 'primary']
    """
    return withhold_outlet_groups(hidden, mine, k, figures=QUALITY_PLUS_FIGURES)


def withhold_outlet_groups(
    hidden: pd.DataFrame,
    mine: pd.DataFrame,
    k: int,
    figures: Sequence[str] = tuple(OUTLET_GROUP_FIGURES),
    withheld_totals: Iterable[str] = (),
) -> pd.DataFrame:
    """03's answer ``hidden`` with the outlets' shares of a group of their customers
    (:data:`OUTLET_GROUP_FIGURES`) withheld where :func:`protect_outlet_group` withholds the
    group: every table of 03 that reads ``hidden`` (the outlet table, the peer ranks' gaps
    and percentiles, the heat map) then withholds them, under the decision's marker. The
    share of quality-and-above customers follows 01's count (:func:`protect_quality_plus`);
    product coverage is withheld where the covered or the not-covered customers are 1 to
    ``k - 1``, with secondary outlets against the region's coverage and customers.

    An outlet of 1 to ``k - 1`` customers keeps its shares withheld as before (``"primary"``:
    the outlet table's rule for customer shares), whatever its counts.

    Parameters
    ----------
    hidden : DataFrame
        :func:`~bankanalysis.report.disclosure.protect_outlet_counts` (indexed like ``mine``).
    mine : DataFrame
        :func:`~bankanalysis.report.benchmarking.region_outlets` with ``outlet_id``,
        ``customers`` and the counts of :data:`OUTLET_GROUP_FIGURES`.
    k : int
        ``min_group_size``.
    figures : sequence of str
        Which shares to decide (default every one of :data:`OUTLET_GROUP_FIGURES`); a share
        or count absent from ``mine`` is skipped.
    withheld_totals : iterable of str
        Shares whose region figure the run withholds (:func:`~bankanalysis.report.
        disclosure_shares.load_level_shares`): the region's two sides are not published
        totals in their audit, so a region's own small side does not pin its outlets.

    Returns
    -------
    DataFrame
        ``hidden`` with one more column per share decided; each decision's protection
        appended to ``attrs["protection"]``.

    Examples
    --------
    >>> mine = pd.DataFrame({"outlet_id": ["O1", "O2"], "customers": [120, 26],
    ...                      "n_quality_plus": [30, 12], "share_quality_plus": [0.25, 0.46],
    ...                      "n_covered": [90, 19], "product_coverage": [0.98, 0.73]})
    >>> h = pd.DataFrame({"new_customers": ["", ""]}, index=mine.index)
    >>> out = withhold_outlet_groups(h, mine, 10)
    >>> out["share_quality_plus"].tolist(), out["product_coverage"].tolist()
    (['', ''], ['secondary', 'primary'])
    """
    out = hidden.copy()
    out.attrs = dict(hidden.attrs)
    prots = list(hidden.attrs.get("protection", []))
    few = is_small(mine["customers"], k)
    for col in figures:
        count, of = OUTLET_GROUP_FIGURES[col]
        if col not in mine.columns or count not in mine.columns:
            continue
        if of is not None and of not in mine.columns:
            continue
        counts = mine.set_index("outlet_id")[count]
        size = mine.set_index("outlet_id")[of] if of is not None else None
        name = QUALITY_PLUS if col == "share_quality_plus" else count
        total_withheld = col in set(withheld_totals) and of is not None
        status = protect_outlet_group(
            counts, k, size=size, name=name, total_withheld=total_withheld
        )
        out[col] = pd.Series(
            [st or (PRIMARY if s else "") for st, s in zip(status.to_numpy(), few, strict=True)],
            index=mine.index,
        )
        prots.extend(status.attrs["protection"])
    out.attrs["protection"] = prots
    return out


def withhold_plan_groups(
    counts: PlanCounts, hidden: pd.DataFrame, mine: pd.DataFrame, months: Iterable[str]
) -> PlanCounts:
    """03's plan tables' answer with an outlet's share that :func:`withhold_outlet_groups`
    withholds withheld at every period those tables print (each month, quarter and year of
    ``months``, and the changes on the month and on the year), under the same marker.

    The quarter table prints each outlet's product coverage at every quarter end and the
    changes table the data month's with its changes; beside the outlet's customers the data
    month's gives the decided group back, and a change with the month gives the month before.
    Earlier quarter ends of an outlet whose data month is published are not decided here
    (docs/privacy.md, "Per-outlet shares of a withheld count").

    Examples
    --------
    >>> mine = pd.DataFrame({"outlet_id": ["O1", "O2"]})
    >>> h = pd.DataFrame({"product_coverage": ["secondary", ""]}, index=mine.index)
    >>> out = withhold_plan_groups(PlanCounts(k=10), h, mine, ["2026-09", "2026-10"])
    >>> out.of("O1", "product_coverage", "2026-Q3"), out.of("O1", "product_coverage", "mom")
    ('secondary', 'secondary')
    >>> out.of("O2", "product_coverage", "2026-10")
    ''
    """
    months = [str(m) for m in months]
    periods = {
        *months,
        *(period_label("quarter", m) for m in months),
        *(period_label("year", m) for m in months),
        MOM,
        YOY,
    }
    status = dict(counts.status)
    for col in (c for c in OUTLET_GROUP_FIGURES if c in hidden.columns):
        # the rates over the outlet's quality-and-above customers follow their count
        kpis = (col, *quality_plus_rates()) if col == "share_quality_plus" else (col,)
        for i, oid in mine["outlet_id"].astype(str).items():
            st = str(hidden.at[i, col]) if i in hidden.index else ""
            if st:
                for kpi in kpis:
                    for p in sorted(periods):
                        status.setdefault((oid, kpi, p), st)
    return replace(counts, status=status)


def region_withheld(run: PlanCounts | None, region_id: str | None, period: str) -> set[str]:
    """The shares of :data:`OUTLET_GROUP_FIGURES` whose region figure of ``period`` the run
    withholds (``run``: :func:`~bankanalysis.report.disclosure_totals.load_total_figures`,
    or 03's plan counts that merge it): :func:`withhold_outlet_groups`' ``withheld_totals``.

    Examples
    --------
    >>> run = PlanCounts({("region=R1", "wealth_card_matching", "2026-10"): "primary"})
    >>> region_withheld(run, "R1", "2026-10"), region_withheld(run, "R2", "2026-10")
    ({'wealth_card_matching'}, set())
    """
    if run is None or region_id is None:
        return set()
    return {c for c in OUTLET_GROUP_FIGURES if run.of_level("region", str(region_id), c, period)}


def withhold_period_groups(
    counts: PlanCounts,
    outlets: Iterable[str],
    k: int,
    *,
    quarters: pd.DataFrame | None = None,
    monthly: pd.DataFrame | None = None,
    month: str | None = None,
    region_id: str | None = None,
) -> PlanCounts:
    """03's plan tables' answer with each earlier period's outlet shares decided by that
    period's own counts (:func:`withhold_outlet_groups`, secondary outlets included, so the
    region's figure of that period gives no small side back), under the decision's marker.

    :func:`withhold_plan_groups` withholds at every period what the data month's decision
    withholds; an outlet published at the data month kept its earlier quarter ends printed
    even where a side (covered, not covered; its quality-and-above customers) was 1 to
    ``k - 1`` then. The quarter table prints each quarter's last month (``quarters``), the
    changes table the data month with its change on the month and on the year, which give
    the month before and the month a year before back (``monthly``). A cell already decided
    keeps its marker.

    Parameters
    ----------
    counts : PlanCounts
        :func:`withhold_plan_groups` output.
    outlets : iterable of str
        The region's outlet ids (one decision per period over all of them).
    k : int
        ``min_group_size``.
    quarters : DataFrame, optional
        :func:`~bankanalysis.report.planning_scope.load_customer_quarters` rows
        (``period_label, level, id, customers, product_coverage, quality_plus_customers`` and
        ``wealth_card_matching`` where the bank has a wealth card); the outlet rows are
        decided per quarter.
    monthly : DataFrame, optional
        The outlet KPIs (``outlet_id, month, customers, n_covered, n_quality_plus`` and the
        shares), with ``month`` the data month: the month before decides :data:`MOM`, the
        month a year before :data:`YOY`.
    month : str, optional
        The data month. With ``quarters`` too: a quarter end that is the month before or a year
        before is withheld in both tables where either withholds it (:func:`same_month_ends`).
    region_id : str, optional
        The region: its shares ``counts`` withholds at a period (the run's answer, merged by
        :func:`~bankanalysis.report.disclosure_plan.protect_plan_counts`) are no published
        totals in that period's decision (:func:`region_withheld`).

    Examples
    --------
    O2 has 7 customers not covered of 26 at 2026-Q2 (19 covered), none at the data month:
    its 2026-Q2 coverage is withheld, O1's too (the region's 109 covered less O1's gives 19).

    >>> q = pd.DataFrame({"period_label": ["2026-Q2", "2026-Q2"], "level": "outlet",
    ...                   "id": ["O1", "O2"], "customers": [120, 26],
    ...                   "product_coverage": [0.75, 19 / 26],
    ...                   "quality_plus_customers": [30, 12]})
    >>> out = withhold_period_groups(PlanCounts(k=10), ["O1", "O2"], 10, quarters=q)
    >>> out.of("O1", "product_coverage", "2026-Q2"), out.of("O2", "product_coverage", "2026-Q2")
    ('secondary', 'primary')
    >>> out.of("O2", "wealth_card_matching", "2026-Q2")
    ''

    With the wealth-card matching rate: O1's 30 quality-and-above customers hold 15 cards,
    O2's 12 hold 8, so 4 of O2's have none: both outlets' rates are withheld at 2026-Q2 (the
    region's 23 holders less O1's 15 would give O2's back).

    >>> q["wealth_card_matching"] = [15 / 30, 8 / 12]
    >>> out = withhold_period_groups(PlanCounts(k=10), ["O1", "O2"], 10, quarters=q)
    >>> out.of("O1", "wealth_card_matching", "2026-Q2"), out.of("O2", "wealth_card_matching", "2026-Q2")
    ('secondary', 'primary')
    """
    ids = [str(o) for o in outlets]
    frames: list[tuple[list[str], pd.DataFrame]] = []
    if quarters is not None and len(quarters):
        rows = quarters.loc[(quarters["level"] == "outlet") & quarters["id"].astype(str).isin(ids)]
        for label, g in rows.groupby("period_label", sort=True):
            n = g["customers"].astype("float64")
            q = g["quality_plus_customers"].astype("float64")
            mine = pd.DataFrame(
                {
                    "outlet_id": g["id"].astype(str),
                    "customers": n,
                    "n_covered": (g["product_coverage"].astype("float64") * n).round(),
                    "product_coverage": g["product_coverage"],
                    "n_quality_plus": q,
                    "share_quality_plus": q / n.where(n > 0),
                }
            )
            if "wealth_card_matching" in g.columns:
                rate = g["wealth_card_matching"].astype("float64")
                mine["n_card_holders"] = (rate * q).round()
                mine["wealth_card_matching"] = rate
            frames.append(([str(label)], mine.reset_index(drop=True)))
    if monthly is not None and month is not None:
        for change, back in ((MOM, 1), (YOY, 12)):
            m = shift_month(str(month), -back)
            g = monthly.loc[(monthly["month"].astype(str) == m) & monthly["outlet_id"].isin(ids)]
            if len(g):
                frames.append(([m, change], g.reset_index(drop=True)))
    status = dict(counts.status)
    for periods, mine in frames:
        # the region's share the run withholds at that period is no published total here
        totals = region_withheld(counts, region_id, periods[0])
        decided = withhold_outlet_groups(
            pd.DataFrame(index=mine.index), mine, k, withheld_totals=totals
        )
        for col in decided.columns:
            kpis = (col, *quality_plus_rates()) if col == "share_quality_plus" else (col,)
            for i, oid in mine["outlet_id"].astype(str).items():
                if st := str(decided.at[i, col]):
                    for kpi in kpis:
                        for p in periods:
                            status.setdefault((oid, kpi, p), st)
    return replace(counts, status=same_month_ends(status, set(ids), month))


def same_month_ends(
    status: Mapping[tuple[str, str, str], str], outlets: Collection[str], month: str | None
) -> dict[tuple[str, str, str], str]:
    """03 prints a quarter end twice when it is the month before or the month a year before
    the data month ``month``: as its quarter in the quarter table (``"2026-Q3"``) and as the
    month its change gives back in the changes table (``"2026-09"``, :data:`MOM` or
    :data:`YOY`). Two decisions (the run's, 03's) may withhold different outlets there, and a
    cell withheld in one table but printed in the other protects nothing; so a withheld
    outlet cell of either is withheld in both, under the marker decided first. Only the
    month-end shares (:data:`OUTLET_GROUP_FIGURES` and the rates over the quality-and-above
    customers) are the same figure in both: a quarter's new customers are not its last month's.

    Examples
    --------
    >>> st = {("O1", "product_coverage", "2026-Q3"): "secondary",
    ...       ("O2", "product_coverage", "2026-09"): "primary",
    ...       ("O2", "product_coverage", "mom"): "primary"}
    >>> out = same_month_ends(st, {"O1", "O2"}, "2026-10")
    >>> out[("O1", "product_coverage", "mom")], out[("O2", "product_coverage", "2026-Q3")]
    ('secondary', 'primary')
    """
    if month is None:
        return dict(status)
    twins = []
    for change, back in ((MOM, 1), (YOY, 12)):
        m = shift_month(str(month), -back)
        if quarter_months(m)[-1] == m:  # a quarter's last month
            twins.append((quarter_of(m), m, change))
    # month-end stocks only: a quarter's new customers are three months' flow, not its end's
    stocks = {*OUTLET_GROUP_FIGURES, *quality_plus_rates()}
    out = dict(status)
    for (oid, kpi, period), st in status.items():
        if not st or oid not in outlets or kpi not in stocks:
            continue
        for group in twins:
            if period in group:
                for other in group:
                    out.setdefault((oid, kpi, other), st)
    return out


def quality_plus_rate_note(status: Iterable[str], k: int) -> str:
    """The sentence under a per-outlet table saying why the rates over an outlet's
    quality-and-above customers are withheld with their count (``""`` when none is).

    Examples
    --------
    >>> print(quality_plus_rate_note(["secondary", "primary", ""], 10))
    Rates over an outlet's quality-and-above customers are withheld with that count, since a rate gives its denominator back within few values: <10 = fewer than 10 quality-and-above customers; x = withheld so that another withheld figure cannot be worked out from it.
    """
    shown = [s for s in (PRIMARY, SECONDARY, FAILSAFE) if s in {str(x) for x in status}]
    if not shown:
        return ""
    parts = [f"{cell_value(None, s, k)} = {_why('share_quality_plus', s, k)}" for s in shown]
    return (
        "Rates over an outlet's quality-and-above customers are withheld with that count, "
        "since a rate gives its denominator back within few values: " + "; ".join(parts) + "."
    )


def mark_withheld_rows(
    frame: pd.DataFrame, headers: Sequence[str], status: Sequence[str], k: int
) -> pd.DataFrame:
    """A formatted table's ``headers`` cells of the withheld rows under their marker
    (``<k``, ``x`` or ``withheld``; ``status`` in row order, ``""`` = shown).

    Examples
    --------
    >>> f = pd.DataFrame({"Outlet": ["A", "B"], "n": ["30", "<10"]})
    >>> mark_withheld_rows(f, ["n"], ["secondary", "primary"], 10)["n"].tolist()
    ['x', '<10']
    """
    out = frame.copy()
    for i, st in zip(out.index, status, strict=True):
        if st:
            for h in headers:
                out.at[i, h] = str(cell_value(None, str(st), k))
    return out


def _why(kpi: str, status: str, k: int) -> str:
    if status == PRIMARY:
        return f"fewer than {k} {_GROUP.get(kpi, 'customers')}"
    if status == SECONDARY:
        return "withheld so that another withheld figure cannot be worked out from it"
    if status == FAILSAFE:
        return "withheld for every outlet of the region, so that the region's total gives no small group back"
    return "withheld"


def withheld_rank_note(
    ranks: pd.DataFrame, hidden: pd.DataFrame, mine: pd.DataFrame, k: int
) -> str | None:
    """The sentence under the peer ranks naming the outlets and KPIs not ranked because their
    figure is withheld (``None`` when none is): a blank square of the heat map and a marker
    in the gap table must not read as 0 or as a missing figure.

    Parameters
    ----------
    ranks : DataFrame
        :func:`~bankanalysis.report.disclosure.hide_outlet_ranks` output.
    hidden : DataFrame
        The answer it was given (indexed like ``mine``).
    mine : DataFrame
        The region's outlets (``outlet_id``, ``outlet``).
    k : int
        ``min_group_size``.

    Examples
    --------
    >>> mine = pd.DataFrame({"outlet_id": ["O1", "O2"], "outlet": ["North", "South"]})
    >>> h = pd.DataFrame({"share_quality_plus": ["secondary", "primary"]}, index=mine.index)
    >>> r = pd.DataFrame({"outlet_id": ["O1", "O2"], "kpi": "share_quality_plus"})
    >>> print(withheld_rank_note(r, h, mine, 10))
    Not ranked, so that no small group of customers can be worked out: North, Quality-and-above customers (withheld so that another withheld figure cannot be worked out from it); South, Quality-and-above customers (fewer than 10 quality-and-above customers).
    """
    ranked = set(zip(ranks["outlet_id"].astype(str), ranks["kpi"].astype(str), strict=True))
    names: Mapping[str, str] = dict(
        zip(mine["outlet_id"].astype(str), mine["outlet"].astype(str), strict=True)
    )
    parts = []
    for i, oid in mine["outlet_id"].astype(str).items():
        for col in hidden.columns:
            st = str(hidden.at[i, col]) if i in hidden.index else ""
            if st and (oid, col) in ranked:
                name = KPIS[col].name if col in KPIS else col
                parts.append(f"{html.escape(names[oid])}, {name} ({_why(col, st, k)})")
    if not parts:
        return None
    return (
        "Not ranked, so that no small group of customers can be worked out: "
        + "; ".join(parts)
        + "."
    )
