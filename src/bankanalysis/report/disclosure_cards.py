"""Scorecards (one row per manager or outlet) through the disclosure step.

The workbooks (:mod:`bankanalysis.report.workbooks`) show the scorecards to more people than
the unit's own account manager (an outlet's workbook, the region's scorecards): their additive
columns go through :func:`~bankanalysis.report.disclosure_grid.protect_grid` with the
region's totals published and the sums within a card (:func:`card_row_sums`), the outlets'
counts that 01 and 03 print too follow the run's decision (``decided``), and a rate is
withheld with the count it is over (docs/privacy.md, "Per-unit tables").
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from bankanalysis.report.disclosure import protect_outlet_counts, tier_count_status
from bankanalysis.report.disclosure_grid import cell_value, grid_values, protect_grid
from bankanalysis.report.disclosure_links import cell_name
from bankanalysis.report.disclosure_outlet_tiers import QUALITY_PLUS, protect_quality_plus
from bankanalysis.report.format import Suppressed, is_missing
from bankanalysis.rules.disclosure import is_small
from bankanalysis.rules.disclosure_secondary import (
    DEFAULT_PROTECTION_LEVEL,
    FAILSAFE,
    PRIMARY,
    SECONDARY,
)
from bankanalysis.rules.tiers import TIERS

__all__ = [
    "PRINTED_BY_03",
    "ColumnDecision",
    "card_row_sums",
    "manager_blocks",
    "manager_covers",
    "outlet_count_decision",
    "outlet_decisions",
    "protect_cards",
    "protect_manager_cards",
    "region_tier_decision",
]

logger = logging.getLogger(__name__)


#: Money columns of the cards (the p % rule, the protection level).
_MONEY: tuple[str, ...] = ("aum", "aum_base")
#: Operational figures of the cards: additive, protected to at least 0 under a ``<k`` (a
#: card's contacts may be 0 or 50), and under policy item 2 for an outlet's (docs/privacy.md).
_OPERATIONAL: tuple[str, ...] = ("contacts", "contact_minutes_3m", "sales_total")
#: Additive columns besides the customer counts (``customers``, ``customers_<tier>``,
#: ``<group>_customers``).
_ADDITIVE: tuple[str, ...] = (
    *_OPERATIONAL,
    "new_customers",
    *_MONEY,
    "leads_issued",
    "leads_converted",
)


@dataclass(frozen=True)
class ColumnDecision:
    """The run's decision on one column of the cards, which a report prints too.

    Attributes
    ----------
    cells : Series
        Status of the column's cells by unit id (``""`` published, else ``"primary"``,
        ``"secondary"``, ``"failsafe"``); may be empty when only the total is decided.
    total : str
        Status of the column's total (the region's figure the cards add up to): ``""``
        published, else withheld by the run, so the cards' step does not read it as a
        published total that pins the cells.
    """

    cells: pd.Series = field(default_factory=lambda: pd.Series(dtype="object"))
    total: str = ""


#: Scorecard rates and the customers each is about (withheld when that group is small or the
#: unit's row is withheld): :data:`~bankanalysis.rules.disclosure.KPI_GROUP` plus the leads.
_CARD_RATES: dict[str, str] = {
    "contact_plan_coverage": "quality_plus_customers",
    "vip_contact_rate": "vip_plus_customers",
    "vip_service_minutes": "vip_plus_customers",
    "book_aum_growth": "customers",
    "lead_conversion_rate": "leads_issued",
}
#: Scorecard rates whose numerator the card prints too: the rate times the count it is over
#: gives the numerator back (the workbook's rate is exact: 9 of 88 converted leads is
#: 0.1022727...), so the rate is withheld with a withheld numerator as with its group.
_CARD_NUMERATORS: dict[str, str] = {"lead_conversion_rate": "leads_converted"}


def _additive(columns: Collection[str]) -> tuple[list[str], list[str]]:
    """The cards' additive columns among ``columns``, and those of them counting customers or
    leads (protected as counts: not money, not the operational figures)."""
    additive = [
        c
        for c in columns
        if c == "customers"
        or c.startswith("customers_")
        or c.endswith("_customers")
        or c in _ADDITIVE
    ]
    return additive, [c for c in additive if c not in _MONEY and c not in _OPERATIONAL]


def card_row_sums(columns: Collection[str]) -> dict[str, tuple[str, ...]]:
    """The scorecard columns that add up within a card (:func:`protect_grid`'s ``row_sums``):
    the customers are the tiers' customers, the quality-and-above customers the tiers from
    quality up, the VIP-and-above customers the tiers from VIP up; only sums whose columns
    are all in ``columns``.

    Examples
    --------
    >>> card_row_sums(["customers", "customers_mass", "customers_quality", "customers_vip",
    ...                "customers_private_banking", "vip_plus_customers"])["vip_plus_customers"]
    ('customers_vip', 'customers_private_banking')
    """
    sums = {
        "customers": tuple(f"customers_{t}" for t in TIERS),
        "quality_plus_customers": tuple(f"customers_{t}" for t in TIERS[TIERS.index("quality") :]),
        "vip_plus_customers": tuple(f"customers_{t}" for t in TIERS[TIERS.index("vip") :]),
    }
    have = set(columns)
    return {c: parts for c, parts in sums.items() if c in have and set(parts) <= have}


#: Why a shown card cell is withheld (:class:`Suppressed`'s ``why``) as a status of the step.
_STATUS = {"small": PRIMARY, "secondary": SECONDARY, "failsafe": FAILSAFE, "dominance": PRIMARY}


#: Outlet figures 03 prints for every outlet not small (customers, product sales): never a
#: secondary cell of the outlet cards, where an ``x`` would protect nothing.
PRINTED_BY_03: tuple[str, ...] = ("customers", "sales_total")


def outlet_count_decision(
    outlet_month: pd.DataFrame,
    region_id: str,
    month: str,
    outlet_names: Mapping[str, str],
    k: int,
    region_status: str = "",
    protect_counts: bool = True,
) -> dict[str, ColumnDecision]:
    """03's decision on the region's outlets' new customers of ``month``, by outlet id, as
    :func:`protect_cards`' ``decided``: :func:`~bankanalysis.report.disclosure.
    protect_outlet_counts` over the same rows of ``outlet_month`` (the region's outlets, sorted
    by name as 03's outlet table) with the run's status of the region's own count
    (``region_status``, :func:`~bankanalysis.report.disclosure_totals.load_total_figures`;
    ``""``: published; else the decision's ``total``, and the cards' step reads the column's
    total as withheld). The workbooks then withhold what 03 withholds, under its marker, and never
    choose as a secondary cell a count 03 prints. ``protect_counts``: the run's parameter
    ``protect_outlet_counts`` (false: 03 prints every count, and so do the workbooks).

    Examples
    --------
    >>> om = pd.DataFrame({"month": "2026-10", "region_id": "R1", "outlet_id": ["O1", "O2", "O3"],
    ...                    "new_customers": [4, 30, 12]})
    >>> outlet_count_decision(om, "R1", "2026-10", {}, 10)["new_customers"].cells.to_dict()
    {'O1': 'primary', 'O2': '', 'O3': 'secondary'}
    """
    om = outlet_month[(outlet_month["region_id"] == region_id) & (outlet_month["month"] == month)]
    ids = om["outlet_id"].astype(str)
    mine = om.assign(outlet_id=ids, outlet=ids.map(lambda o: outlet_names.get(o, o)))
    mine = mine.sort_values("outlet")
    region = {"new_customers": region_status} if region_status else None
    hidden = protect_outlet_counts(mine, k, protect_counts=protect_counts, region=region)
    if "new_customers" not in hidden.columns:
        return {}
    cells = pd.Series(hidden["new_customers"].to_numpy(), index=mine["outlet_id"])
    # the region's count, withheld by the run, is not a published total
    return {"new_customers": ColumnDecision(cells, total=region_status)}


def outlet_decisions(cards: pd.DataFrame, k: int) -> dict[str, ColumnDecision]:
    """The run's decisions on the outlet scorecards' columns that 01 and 03 print too, for
    :func:`~bankanalysis.report.disclosure_cards.protect_cards`: the outlets'
    quality-and-above customers (:func:`~bankanalysis.report.disclosure_outlet_tiers.
    protect_quality_plus` over the same count, indexed by outlet id as 01 and 02 call it).

    Examples
    --------
    >>> cards = pd.DataFrame({"quality_plus_customers": [42, 7]},
    ...                      index=pd.Index(["O1", "O2"], name="outlet_id"))
    >>> outlet_decisions(cards, 10)["quality_plus_customers"].cells.tolist()
    ['secondary', 'primary']
    """
    if QUALITY_PLUS not in cards.columns:
        return {}
    return {QUALITY_PLUS: ColumnDecision(protect_quality_plus(cards[QUALITY_PLUS].fillna(0), k))}


def region_tier_decision(tiers: pd.Series, k: int) -> dict[str, ColumnDecision]:
    """01's decision on the region's tier counts (:func:`~bankanalysis.report.disclosure.
    tier_count_status` of the region's customers' ``tiers``), as :func:`protect_cards`'
    ``decided`` of the outlet cards: each tier the region's tier table withholds names a
    column whose total (the region's count, which the outlets' cards add up to) is withheld,
    so the cards' step reads it as withheld and protects the outlets' tiers without it (not
    as a published total that pins them). No outlet's cell is decided here.

    Examples
    --------
    >>> tiers = pd.Series(["mass"] * 400 + ["quality"] * 60 + ["vip"] * 25 + ["private_banking"] * 3)
    >>> {c: d.total for c, d in region_tier_decision(tiers, 10).items()}
    {'customers_vip': 'secondary', 'customers_private_banking': 'primary'}
    """
    counts = tiers.astype("object").astype(str).value_counts()
    return {
        f"customers_{tier}": ColumnDecision(total=st)
        for tier, st in tier_count_status(counts.to_dict(), k).items()
        if st
    }


def manager_covers(
    outlet_cards: pd.DataFrame,
    shown_outlets: pd.DataFrame,
    book: pd.DataFrame,
) -> dict[str, dict[Hashable, tuple[float, str, list[Hashable]]]]:
    """The outlets' cards as :func:`protect_cards`' ``covers`` of the managers' cards: per
    column and outlet, the outlet's figure, its status as the outlets' cards show it
    (``shown_outlets``, :func:`protect_cards` of ``outlet_cards``) and the managers whose
    customers (``book``: ``manager_id, outlet_id``) are all at that outlet. Those managers and
    the outlet's customers without a manager make the outlet's figure, which the region's
    scorecards print beside theirs.

    Examples
    --------
    >>> outlets = pd.DataFrame({"customers_vip": [12, 30]}, index=["O1", "O2"])
    >>> shown = outlets.astype(object)
    >>> book = pd.DataFrame({"manager_id": ["M1", "M2", None], "outlet_id": ["O1", "O1", "O2"]})
    >>> manager_covers(outlets, shown, book)
    {'customers_vip': {'O1': (12.0, '', ['M1', 'M2'])}}
    """
    rows = book.dropna(subset=["manager_id"])
    where = rows.groupby("manager_id")["outlet_id"].agg(lambda s: sorted(set(map(str, s))))
    inside: dict[str, list[Hashable]] = {}
    for m, outlets in where.items():
        if len(outlets) == 1:
            inside.setdefault(outlets[0], []).append(m)
    out: dict[str, dict[Hashable, tuple[float, str, list[Hashable]]]] = {}
    for col in outlet_cards.columns:
        for o, ms in sorted(inside.items()):
            if o not in outlet_cards.index or is_missing(outlet_cards.at[o, col]):
                continue
            v = shown_outlets.at[o, col] if col in shown_outlets.columns else None
            st = _STATUS.get(v.why, SECONDARY) if isinstance(v, Suppressed) else ""
            out.setdefault(str(col), {})[o] = (float(outlet_cards.at[o, col]), st, sorted(ms))
    return out


def protect_cards(
    cards: pd.DataFrame,
    k: int,
    level: float = DEFAULT_PROTECTION_LEVEL,
    decided: Mapping[str, ColumnDecision] | None = None,
    published: Collection[str] = (),
    covers: Mapping[str, Mapping[Hashable, tuple[float, str, Sequence[Hashable]]]] | None = None,
    totals_known: bool = False,
) -> pd.DataFrame:
    """Scorecards (one row per manager or outlet) through the disclosure step, for files read
    by more people than the unit's own manager (the region's scorecards, an outlet's workbook).

    The additive columns (customers and per tier, contacts, products sold, new customers, AUM,
    leads) go through :func:`protect_grid` with the region's totals published; a rate is
    withheld with its row, with the count of the customers it is about when the grid withholds
    that count (a rate gives its denominator back within few values), or when they are 1 to
    ``k - 1``; ``level`` is
    the money protection level (the parameter ``protection_level``); a rate whose numerator the
    card prints (the leads converted of the lead conversion rate) is withheld with it too. The
    customers of a card
    add up over its tiers (:func:`card_row_sums`), so a withheld count must not come back as
    the card's customers less its other tiers. Returns the
    cards with withheld cells as :class:`Suppressed` (``"<k"``, ``"x"``, ``"withheld"``) and
    ``attrs["protection"]``.

    ``decided`` holds the run's decision on columns the reports print too (the outlets'
    quality-and-above customers: :func:`~bankanalysis.report.disclosure_outlet_tiers.
    protect_quality_plus`, which 01 and 03 read): ``{column: ColumnDecision}``, the cells
    indexed like ``cards``. Those cells are withheld from the start and show the decision's marker, so a
    workbook never prints what a report withholds and both show the same ``<k`` and ``x``;
    the step then protects what only the workbook prints (its tiers, rates) around them
    (docs/privacy.md, "Per-unit tables"); the cells the decision publishes the reports print,
    so they are never chosen as secondary cells here, nor the columns ``published`` names
    (the reports print them whatever the cards show: an outlet's customers).

    ``covers`` (:func:`manager_covers`) are the outlets' cards against the managers' (the
    managers of an outlet and its customers without a manager make the outlet's figures), for
    the managers' cards: :func:`protect_grid`'s ``covers``. ``totals_known``: the cards are a
    block of a region's (:func:`protect_manager_cards`), whose column totals are taken as
    known and never judged.
    """
    attrs = dict(cards.attrs)
    # a cell read of a frame with attrs deep-copies them (pandas): thousands of cells at a
    # large region's managers, so the cards are read without them and get them back at the end
    cards = cards.copy(deep=False)
    cards.attrs = {}
    additive, counts = _additive(cards.columns)
    decisions = {c: d for c, d in (decided or {}).items() if c in additive}
    # the decision's cells of these cards (a column may come with its total's status only)
    decided_cells = {
        c: d.cells[d.cells.index.isin(cards.index)].fillna("").astype(str)
        for c, d in decisions.items()
    }
    forced = {cell_name(c, i) for c, st in decided_cells.items() for i, s in st.items() if s} | {
        c for c, d in decisions.items() if d.total
    }  # a total the run withholds
    # what the decision publishes, the reports print: never a secondary cell here
    shown = {cell_name(c, i) for c, st in decided_cells.items() for i, s in st.items() if not s}
    status = protect_grid(
        cards,
        additive,
        k,
        size="customers",
        counts=counts,
        money=[c for c in _MONEY if c in cards.columns],
        level=level,
        forced=forced,
        row_sums=card_row_sums(additive),
        published=[*published, *sorted(shown)],
        covers={c: v for c, v in (covers or {}).items() if c in additive},
        marked=forced,
        row_marked=[c for c in additive if c in _OPERATIONAL],
        totals_known=totals_known,
    )
    # the protection (every withheld cell and the audit) was deep-copied by each cell read
    protection = status.attrs["protection"]
    status.attrs = {}
    for c, st in decided_cells.items():  # the run's answer: what a report prints or withholds
        status.loc[st.index, c] = st
    out = grid_values(cards, status, k)
    row_hidden = (
        status["customers"] != "" if "customers" in status else pd.Series(False, cards.index)
    )
    for rate, group in _CARD_RATES.items():
        if rate not in out.columns:
            continue
        sizes = cards[group].astype("float64") if group in cards.columns else None
        small = (
            pd.Series(False, index=cards.index)
            if sizes is None
            else pd.Series(is_small(sizes.fillna(0.0), k), index=cards.index)
        )
        # a rate restricts its group to few values (16.7 % is 7/42 or 8/48): withheld with it
        by_group = status[group] if group in status.columns else pd.Series("", cards.index)
        # and with its numerator where the card prints that (rate x group = numerator)
        top = _CARD_NUMERATORS.get(rate)
        by_top = status[top] if top in status.columns else pd.Series("", cards.index)
        out[rate] = out[rate].astype("object")
        hide = row_hidden | small | by_group.ne("") | by_top.ne("")
        for i in cards.index[hide.to_numpy()]:
            if not is_missing(cards.at[i, rate]):
                why = (
                    str(status.at[i, "customers"])
                    if row_hidden[i]
                    else by_group[i] or by_top[i] or PRIMARY
                )
                out.at[i, rate] = cell_value(cards.at[i, rate], why, k)
    out.attrs = attrs | {"protection": protection}
    return out


#: Managers' cards from which a region's table is protected block by block
#: (:func:`protect_manager_cards`): below it the whole table is one problem.
BLOCKS_FROM = 200
#: Fewest managers of a block (the managers of one or more outlets).
BLOCK_MANAGERS = 100


def manager_blocks(
    managers: Sequence[Hashable], book: pd.DataFrame, size: int = BLOCK_MANAGERS
) -> list[list[Hashable]]:
    """The managers split into blocks of whole outlets, each of at least ``size`` managers.

    A manager whose customers (``book``: ``manager_id, outlet_id``) are all at one outlet
    belongs to that outlet; the outlets, in id order, are taken together until a block holds
    ``size`` managers (a last block short of it joins the one before). The managers working at
    several outlets or none make a block of their own, joined to the last block when it is
    short of ``size``. Every manager of ``managers`` is in exactly one block, in the order of
    ``managers`` within it.

    Examples
    --------
    >>> book = pd.DataFrame({"manager_id": ["M1", "M2", "M3", "M4", "M5", "M5", None],
    ...                      "outlet_id": ["O1", "O1", "O2", "O3", "O1", "O2", "O2"]})
    >>> manager_blocks(["M1", "M2", "M3", "M4", "M5"], book, size=2)
    [['M1', 'M2'], ['M3', 'M4', 'M5']]
    """
    rows = book.dropna(subset=["manager_id"])
    where = rows.groupby("manager_id")["outlet_id"].agg(lambda s: sorted(set(map(str, s))))
    home: dict[Hashable, str | None] = {
        m: (where[m][0] if m in where.index and len(where[m]) == 1 else None) for m in managers
    }
    by_outlet: dict[str, list[Hashable]] = {}
    for m in managers:
        o = home[m]
        if o is not None:
            by_outlet.setdefault(o, []).append(m)
    blocks: list[list[Hashable]] = []
    current: list[Hashable] = []
    for o in sorted(by_outlet):
        current += by_outlet[o]
        if len(current) >= size:
            blocks.append(current)
            current = []
    if current:
        if blocks:
            blocks[-1] += current
        else:
            blocks.append(current)
    elsewhere = [m for m in managers if home[m] is None]
    if elsewhere:
        if len(elsewhere) >= size or not blocks:
            blocks.append(elsewhere)
        else:
            blocks[-1] += elsewhere
    order = {m: i for i, m in enumerate(managers)}
    return [sorted(b, key=order.__getitem__) for b in blocks]


def protect_manager_cards(
    cards: pd.DataFrame,
    k: int,
    level: float = DEFAULT_PROTECTION_LEVEL,
    covers: Mapping[str, Mapping[Hashable, tuple[float, str, Sequence[Hashable]]]] | None = None,
    book: pd.DataFrame | None = None,
    blocks_from: int = BLOCKS_FROM,
    block_managers: int = BLOCK_MANAGERS,
) -> pd.DataFrame:
    """The managers' scorecards through :func:`protect_cards`, a large region's block by block.

    One problem over a region's whole table grows as the square of its managers (every
    question of the search reads the whole component the column totals make): 2,013 managers
    took about 480 s. From ``blocks_from`` managers, the table is cut into blocks of whole
    outlets (:func:`manager_blocks`) and each block is protected as if its own column totals
    were published, with the covers of its outlets. That is safe for the whole table: every
    relation a reader of the scorecards has (the region's totals, which are the blocks'
    totals added up; a card's tiers; an outlet's figure against its managers, all in one
    block) follows from the blocks' totals and the blocks' own relations, so whatever range a
    withheld cell keeps when the blocks' totals are known, it keeps at least as wide when they
    are not (a reader knows less). The price is cells withheld in a block that the whole
    table would have paired across blocks. A region whose count of a column is 1 to ``k - 1``
    (its total is itself protected) stays one problem. A block that stays unsafe on its own (its
    fail-safe included) is protected again together with the next block (the one before, for
    the last), up to the whole table as one problem. Parameters and result as
    :func:`protect_cards` (``covers``: :func:`manager_covers`; ``book``: ``manager_id,
    outlet_id``), with ``attrs["protection"]`` one :class:`~bankanalysis.rules.
    disclosure_secondary.Protection` per block.
    """
    _, counts = _additive(cards.columns)
    region = cards[counts].apply(pd.to_numeric, errors="coerce").sum()
    # a region count of 1 to k - 1 is itself protected (printed "<k"): known block totals
    # would give it back, so such a table stays one problem
    whole = book is None or len(cards) < blocks_from or is_small(region.to_numpy(), k).any()
    blocks = [] if whole else manager_blocks(list(cards.index), book, block_managers)
    if len(blocks) < 2:
        return protect_cards(cards, k, level, covers=covers)

    def protect_block(rows: list[Hashable]) -> pd.DataFrame:
        if len(rows) == len(cards):
            return protect_cards(cards, k, level, covers=covers)
        mine = set(rows)
        own = {
            c: {o: cover for o, cover in by_outlet.items() if set(cover[2]) <= mine}
            for c, by_outlet in (covers or {}).items()
        }
        return protect_cards(cards.loc[rows], k, level, covers=own, totals_known=True)

    parts: list[pd.DataFrame] = []
    todo = list(blocks)
    while todo:
        rows = todo.pop(0)
        part = protect_block(rows)
        if part.attrs["protection"].safe:
            parts.append(part)
            continue
        if len(rows) == len(cards):
            return part  # the whole table: as unsafe as one problem leaves it
        # a block unsafe on its own (an outlet's small count pinned by the block's known
        # total and its other outlets' printed figures; a manager holding most of the block's
        # AUM) is protected again with the next block, or the one before when it is the last
        logger.info("managers' scorecards: a block of %d managers joins a neighbour", len(rows))
        if todo:
            todo[0] = rows + todo[0]
        else:
            todo.append(list(parts.pop().index) + rows)
    out = pd.concat(parts).loc[cards.index]
    out.attrs = dict(cards.attrs) | {"protection": [p.attrs["protection"] for p in parts]}
    return out
