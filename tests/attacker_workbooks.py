"""The workbook attacker of issue 17: withheld scorecard cells bounded by linear programming over
a region's shared workbooks and its HTML reports together.

The region's scorecards workbook (``02_cross_sell_propensity/restricted/scorecards_<region>
.xlsx``, for the region's management: sheets ``Managers`` and ``Outlets``) and each outlet's
no-manager workbook (sheet ``Scorecard``: the outlet's card) are read by more people than the
unit's own account manager, so their cells pass the disclosure step
(:func:`~bankanalysis.report.disclosure_cards.protect_cards`). The attacker knows:

- every printed cell (the workbook holds full floats: a number is exact), ``<k`` (a count of 1
  to ``k - 1``; money at least 0; in a card whose customers are ``<k`` every figure is withheld
  with the row, zeros included), ``x`` (a count at least ``k``: a secondary cell is never
  small nor 0, as the library's audit reads it; money at least 0) and ``withheld`` (the
  fail-safe's: at least 0); an empty cell is not computed and takes no part;
- within a card: customers = the tiers' customers, quality-and-above = the tiers from quality
  up, VIP-and-above = VIP and private banking;
- a printed lead conversion rate times the leads issued = the leads converted (the workbook's
  rate is exact; 02's is rounded to 0.1 %, an interval);
- the managers' cards against the outlets': the managers working at an outlet (``home``,
  known to the region's management) plus the outlet's customers without a manager (unknown,
  at least 0) make the outlet's card, column by column; region-wide, the managers' cards and
  the customers without a manager make the sum of the outlets' cards;
- the HTML reports of the same region: an outlet's figures printed by 01 (account managers:
  quality-and-above customers), 02 (outlet scorecards: customers, product sales, new
  customers, lead conversion rate) and 03 (outlet KPIs: customers, new customers, AUM,
  product sales), each a bound on the same outlet's workbook cell -- a pairing is kept only
  where every cell printed in both agrees; the region's tier
  counts and AUM of 01's tier table (the outlets' tiers add up to them).

Judged: every ``<k`` cell of the workbooks (count: interval narrower than ``(k - 1) / 2``, or
than the outlet's printed figure for a manager's share of it, :data:`OPERATIONAL`;
money: narrower than :data:`~attacker.MONEY_WIDTH` of its upper end) and every ``<k`` cell of
the HTML that a workbook prints as a number (the workbook gives it back exactly). Rates over
a count that is not printed (contact-plan coverage, VIP contact rate, service minutes per VIP
customer, book AUM growth) and the region medians (order statistics) are not modelled.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from attacker import MONEY_WIDTH, K, _bounds_ineq, _norm, page_tables, read_figure
from openpyxl import load_workbook

from bankanalysis.rules.tiers import TIERS

#: Scorecard columns that add up over units (outlets, managers) and within a card.
TIER_COLUMNS = tuple(f"customers_{t}" for t in TIERS)
ADDITIVE = (
    "customers",
    *TIER_COLUMNS,
    "quality_plus_customers",
    "vip_plus_customers",
    "contacts",
    "contact_minutes_3m",
    "sales_total",
    "new_customers",
    "aum",
    "leads_issued",
    "leads_converted",
)
#: Operational figures (docs/privacy.md, policy item 2): an outlet prints them, so a part of
#: one (a manager's) is protected to 0 .. the outlet's figure at most.
OPERATIONAL = ("contacts", "contact_minutes_3m", "sales_total")
#: Additive columns holding money (solved in millions) and other non-integer figures.
MONEY = ("aum",)
NOT_INTEGER = ("aum", "contact_minutes_3m")

#: Sums within a card: ``{total: parts}`` (``bankanalysis.report.disclosure_cards.card_row_sums``).
ROW_SUMS = {
    "customers": TIER_COLUMNS,
    "quality_plus_customers": TIER_COLUMNS[TIERS.index("quality") :],
    "vip_plus_customers": TIER_COLUMNS[TIERS.index("vip") :],
}

#: Outlet figures the HTML reports print per outlet: page, a header the table holds, and the
#: (header, workbook column or rate) pairs read. ``rate``: the lead conversion rate (percent).
HTML_OUTLET_FIGURES: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "01_customer_segmentation": (
        "Full-time account-manager coverage (%)",
        [("Quality-and-above customers", "quality_plus_customers")],
    ),
    "02_cross_sell_propensity": (
        "Lead conversion rate (%)",
        [
            ("Customers", "customers"),
            ("Product sales", "sales_total"),
            ("New customers", "new_customers"),
            ("Lead conversion rate (%)", "rate"),
        ],
    ),
    "03_outlet_benchmarking": (
        "Staff (FTE)",
        [
            ("Customers", "customers"),
            ("New customers", "new_customers"),
            ("Assets under management (CNY)", "aum"),
            ("Product sales", "sales_total"),
        ],
    ),
}

#: 01's tier table: tier label -> tier.
TIER_LABELS = {
    "mass": "mass",
    "quality": "quality",
    "vip": "vip",
    "private banking": "private_banking",
}


def read_cell(v: object, k: int) -> tuple[str, float, float]:
    """A workbook cell as ``(kind, lower, upper)``: ``number`` (exact), ``small`` (``<k``),
    ``x`` / ``withheld`` (at least 0) or ``empty`` (not computed).

    Examples
    --------
    >>> read_cell(12, 10), read_cell("<10", 10), read_cell("x", 10)[0], read_cell(None, 10)[0]
    (('number', 12.0, 12.0), ('small', 1.0, 9.0), 'x', 'empty')
    """
    if v is None:
        return "empty", math.nan, math.nan
    if isinstance(v, str):
        t = v.strip()
        if t == f"<{k}":
            return "small", 1.0, float(k - 1)
        if t in ("x", "withheld"):
            return t, 0.0, math.inf
        if not t:
            return "empty", math.nan, math.nan
        raise ValueError(f"unknown workbook cell {v!r}")
    f = float(v)  # type: ignore[arg-type]
    if math.isnan(f):
        return "empty", math.nan, math.nan
    return "number", f, f


def read_sheet(path: Path, sheet: str) -> dict[str, dict[str, object]]:
    """``{unit: {column: cell}}`` of a scorecards sheet (``Managers``, ``Outlets``)."""
    wb = load_workbook(path, read_only=True)
    if sheet not in wb.sheetnames:
        return {}
    rows = list(wb[sheet].iter_rows(values_only=True))
    head = [str(h) for h in rows[0]]
    return {str(r[0]): dict(zip(head[1:], r[1:], strict=True)) for r in rows[1:] if r[0]}


@dataclass
class Problem:
    """The attacker's linear programme of one region: variables with bounds, integrality,
    equalities and inequalities, and which variables are judged."""

    k: int = K
    names: list[tuple] = field(default_factory=list)
    bounds: list[tuple] = field(default_factory=list)
    integer: list[int] = field(default_factory=list)
    eq: list[dict[int, float]] = field(default_factory=list)
    eq_rhs: list[float] = field(default_factory=list)
    ub: list[dict[int, float]] = field(default_factory=list)
    ub_rhs: list[float] = field(default_factory=list)
    pos: dict[tuple, int] = field(default_factory=dict)
    judged: dict[tuple, str] = field(default_factory=dict)
    #: A judged cell's widest protection: a manager's share of an outlet's printed
    #: operational figure is 0 to that figure whatever is withheld (``LinearTable.caps``)
    caps: dict[tuple, float] = field(default_factory=dict)
    kept: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)

    def var(self, name: tuple, lo: float | None, hi: float | None, integer: bool) -> int:
        """The variable ``name`` (added once; a later bound narrows it)."""
        if name in self.pos:
            i = self.pos[name]
            a, b = self.bounds[i]
            lo = a if lo is None else (lo if a is None else max(a, lo))
            hi = b if hi is None else (hi if b is None else min(b, hi))
            self.bounds[i] = (lo, hi)
            return i
        self.names.append(name)
        self.bounds.append((lo, hi))
        self.integer.append(int(integer))
        self.pos[name] = len(self.names) - 1
        return self.pos[name]

    def index(self, name: tuple) -> int | None:
        """The variable's position, ``None`` when it is not in the programme."""
        return self.pos.get(name)

    def solve(self) -> dict[tuple, tuple[float, float]] | None:
        """Bounds of every judged variable; ``None`` when the relations are infeasible."""
        n = len(self.names)

        def dense(rows: list[dict[int, float]]) -> list[np.ndarray]:
            out = []
            for r in rows:
                a = np.zeros(n)
                for i, c in r.items():
                    a[i] += c
                out.append(a)
            return out

        a_eq, a_ub = dense(self.eq), dense(self.ub)
        out = {}
        for name in self.judged:
            b = _bounds_ineq(
                n, a_eq, self.eq_rhs, a_ub, self.ub_rhs, self.bounds, self.integer,
                self.pos[name],
            )  # fmt: skip
            if b is None:
                return None
            out[name] = b
        return out


def _scale(col: str) -> float:
    return 1e6 if col in MONEY else 1.0


#: Counts of a card's customers (a share of its customers: at most the card's customers).
CUSTOMER_COUNTS = (
    "customers",
    *TIER_COLUMNS,
    "quality_plus_customers",
    "vip_plus_customers",
    "new_customers",
)


def _add_card_cells(p: Problem, sheet: str, cards: Mapping[str, Mapping[str, object]]) -> None:
    """Every additive cell of a sheet as a variable bounded by what it prints.

    A ``<k`` count is 1 to ``k - 1``; in a card whose customers are ``<k`` every figure is
    withheld with the row, zeros included (``protect_grid``), so there a ``<k`` count of its
    customers is 0 to ``k - 1`` and any other ``<k`` figure at least 0. A card whose customers
    are ``withheld`` (the fail-safe) may be such a card: read the same (the 120-region bank's
    R001: a manager's private banking ``<10`` was 0, and 1 .. 9 made the programme infeasible).
    """
    for unit, card in cards.items():
        small_row = read_cell(card.get("customers"), p.k)[0] in ("small", "withheld")
        for col in ADDITIVE:
            if col not in card:
                continue
            kind, lo, hi = read_cell(card[col], p.k)
            if kind == "empty":
                continue
            s = _scale(col)
            judged = {"small": "count", "withheld": "withheld"}.get(kind)
            if kind == "small" and (col in MONEY or (small_row and col not in CUSTOMER_COUNTS)):
                lo, hi, judged = 0.0, math.inf, "money" if col in MONEY else None
            elif kind == "small" and small_row and col != "customers":
                lo, judged = 0.0, "withheld"
            if col in MONEY and judged == "withheld":
                judged = None
            if kind == "x" and col not in MONEY:
                lo = float(p.k)  # never small (that is "<k") nor 0 (zeros are never hidden)
            name = (sheet, unit, col)
            p.var(name, lo / s, None if math.isinf(hi) else hi / s, col not in NOT_INTEGER)
            if judged:
                p.judged[name] = judged


def _relation(p: Problem, terms: dict[tuple, float], rhs: float, what: str) -> None:
    """``sum(coef * var) = rhs`` over existing variables; skipped when one is missing."""
    idx = {p.index(n): c for n, c in terms.items()}
    if None in idx:
        return
    p.eq.append(idx)  # type: ignore[arg-type]
    p.eq_rhs.append(rhs)
    p.kept.append(what)


def _rate(p: Problem, sheet: str, unit: str, lo: float, hi: float, what: str) -> None:
    """``lo * issued <= converted <= hi * issued`` (a printed lead conversion rate)."""
    i, c = p.index((sheet, unit, "leads_issued")), p.index((sheet, unit, "leads_converted"))
    if i is None or c is None:
        return
    if lo == hi:
        p.eq.append({c: 1.0, i: -lo})
        p.eq_rhs.append(0.0)
    else:
        p.ub += [{i: lo, c: -1.0}, {c: 1.0, i: -hi}]
        p.ub_rhs += [0.0, 0.0]
    p.kept.append(what)


def workbook_problem(
    managers: Mapping[str, Mapping[str, object]],
    outlets: Mapping[str, Mapping[str, object]],
    home: Mapping[str, str] | None = None,
    k: int = K,
) -> Problem:
    """The programme of one region's scorecards workbook: cells, card sums, rates and the
    managers' cards against the outlets' (``home``: manager id -> outlet as the sheet names
    it; managers not in it enter the region-wide relation only)."""
    p = Problem(k=k)
    for sheet, cards in (("Managers", managers), ("Outlets", outlets)):
        _add_card_cells(p, sheet, cards)
        for unit, card in cards.items():
            for total, parts in ROW_SUMS.items():
                _relation(
                    p,
                    {(sheet, unit, total): -1.0} | {(sheet, unit, c): 1.0 for c in parts},
                    0.0,
                    f"{sheet}: {total} = sum of its parts",
                )
            kind, r, _ = read_cell(card.get("lead_conversion_rate"), k)
            if kind == "number":
                _rate(p, sheet, unit, r, r, f"{sheet}: lead conversion rate x leads issued")
    # managers + customers without a manager = outlets (per outlet where known, and region)
    home = dict(home or {})
    for col in ADDITIVE:
        if not any((("Outlets", o, col) in p.pos) for o in outlets):
            continue
        by_outlet: dict[str, list[str]] = {}
        for m in managers:
            if m in home and home[m] in outlets:
                by_outlet.setdefault(home[m], []).append(m)
        for o, ms in by_outlet.items():
            if ("Outlets", o, col) not in p.pos:
                continue
            rest = p.var(("no manager", o, col), 0.0, None, col not in NOT_INTEGER)
            terms = {("Managers", m, col): 1.0 for m in ms} | {("Outlets", o, col): -1.0}
            kind, v, _ = read_cell(outlets[o].get(col), k)
            if col in OPERATIONAL and kind == "number":
                p.caps.update({("Managers", m, col): v for m in ms})
            if all(t in p.pos for t in terms):
                _relation(p, terms, 0.0, f"managers of an outlet + no manager = outlet: {col}")
                p.eq[-1][rest] = 1.0
        rest = p.var(("no manager", "region", col), 0.0, None, col not in NOT_INTEGER)
        terms = {("Managers", m, col): 1.0 for m in managers} | {
            ("Outlets", o, col): -1.0 for o in outlets
        }
        if all(t in p.pos for t in terms):
            _relation(p, terms, 0.0, f"managers + no manager = outlets: {col}")
            p.eq[-1][rest] = 1.0
    return p


def _html_outlet_tables(region_dir: Path, run_dir: Path, outlets: set[str]):
    """``(page, table, [(header index, column)])`` of the region's HTML outlet tables."""
    for page, (holds, columns) in HTML_OUTLET_FIGURES.items():
        path = region_dir / f"{page}.html"
        if not path.exists():
            continue
        for t in page_tables(path, run_dir):
            if holds not in t.header or not any(r[0] in outlets for r in t.rows):
                continue
            yield page, t, [(t.header.index(h), c) for h, c in columns if h in t.header]
            break


#: Relative slack of a printed money figure against the workbook's (sums of floats in another
#: order: 98,297,808.69 in the workbook, 98,297,810 in 03).
MONEY_SLACK = 1e-6


def _fits(v: tuple[str, float, float], lo: float, hi: float) -> bool:
    slack = 1e-6 + MONEY_SLACK * max(abs(lo), abs(hi))
    return v[0] != "number" or lo - slack <= v[1] <= hi + slack


def add_html(
    p: Problem,
    outlets: Mapping[str, Mapping[str, object]],
    region_dir: Path,
    run_dir: Path,
) -> list[tuple]:
    """Read the region's HTML outlet tables and tier table into ``p``: each printed outlet
    figure bounds the workbook cell (a pairing kept only where every cell printed in both
    agrees), the outlets' tiers add up to 01's tier counts. Returns the HTML ``<k`` cells the
    workbook prints as a number: ``(page, outlet, column, value)``."""
    k = p.k
    given_back = []
    for page, t, pairs in _html_outlet_tables(region_dir, run_dir, set(outlets)):
        for j, col in pairs:
            rows = [(r[0], read_figure(r[j], k)) for r in t.rows if r[0] in outlets]
            if col == "rate":
                agree = all(
                    _fits(
                        read_cell(outlets[o].get("lead_conversion_rate"), k),
                        f[1] / 100,
                        f[2] / 100,
                    )
                    for o, f in rows
                    if f[0] == "number"
                )
                if not agree:
                    p.rejected.append(f"{page}: {t.header[j]} disagrees with the workbook")
                    continue
                for o, f in rows:
                    if f[0] == "number":
                        _rate(p, "Outlets", o, f[1] / 100, f[2] / 100, f"{page}: {t.header[j]}")
                continue
            cells = {o: read_cell(outlets[o].get(col), k) for o, _ in rows}
            if not all(_fits(cells[o], f[1], f[2]) for o, f in rows if f[0] == "number"):
                p.rejected.append(f"{page}: {t.header[j]} disagrees with the workbook ({col})")
                continue
            s = _scale(col)
            for o, f in rows:
                name = ("Outlets", o, col)
                if name not in p.pos:
                    continue
                if f[0] == "number":
                    slack = MONEY_SLACK * abs(f[2]) if col in MONEY else 0.0
                    p.var(name, (f[1] - slack) / s, (f[2] + slack) / s, col not in NOT_INTEGER)
                    p.judged.pop(name, None)  # printed by the report: not the workbook's leak
                elif f[0] == "small" and col not in MONEY:
                    p.var(name, 1.0, float(k - 1), True)
                    if cells[o][0] == "number":
                        given_back.append((page, o, col, cells[o][1]))
            p.kept.append(f"{page}: {t.header[j]} = the workbook's {col}")
    _add_tier_totals(p, outlets, region_dir, run_dir)
    return given_back


#: Relative difference allowed between two sums of the same AUM (float sums in other orders).
AUM_SLACK = 1e-7


def _add_tier_totals(
    p: Problem, outlets: Mapping[str, object], region_dir: Path, run_dir: Path
) -> None:
    """The outlets' tier counts and AUM add up to the region's (01's tier table)."""
    path = region_dir / "01_customer_segmentation.html"
    if not path.exists():
        return
    for t in page_tables(path, run_dir):
        if _norm(t.header[0]) != "tier" or "Assets under management (CNY)" not in t.header:
            continue
        j_n, j_aum = t.header.index("Customers"), t.header.index("Assets under management (CNY)")
        aum_terms: dict[tuple, float] = {}
        for r in t.rows:
            tier = TIER_LABELS.get(_norm(r[0]))
            if tier is None:
                continue
            col = f"customers_{tier}"
            f = read_figure(r[j_n], p.k)
            lo, hi = (1.0, p.k - 1.0) if f[0] == "small" else (f[1], f[2])
            total = p.var(("region", "01", col), max(lo, 0.0), None if math.isinf(hi) else hi, True)
            terms = {("Outlets", o, col): 1.0 for o in outlets}
            if all(n in p.pos for n in terms):
                _relation(p, terms, 0.0, f"01's tier table: outlets' {col} add up")
                p.eq[-1][total] = -1.0
            g = read_figure(r[j_aum], p.k)
            glo, ghi = (g[1], g[2]) if g[0] == "number" else (0.0, math.inf)
            name = ("region", "01", f"aum_{tier}")
            p.var(name, glo / 1e6, None if math.isinf(ghi) else ghi / 1e6, False)
            aum_terms[name] = 1.0
        terms = {("Outlets", o, "aum"): 1.0 for o in outlets}
        if aum_terms and all(n in p.pos for n in terms):
            # the two sums of the same customers' AUM differ in the last units of their float
            # sums (R03 of the default bank: the workbook's outlets 566,777,255.x CNY, 01's
            # tiers 566,777,250 .. 254 as printed): equal within AUM_SLACK of the region's AUM
            row = {p.pos[n]: 1.0 for n in terms} | {p.pos[n]: -1.0 for n in aum_terms}
            slack = AUM_SLACK * sum(p.bounds[p.pos[n]][0] or 0.0 for n in aum_terms)
            p.ub += [row, {i: -c for i, c in row.items()}]
            p.ub_rhs += [slack, slack]
            p.kept.append("01's tier table: outlets' AUM add up")
        return


@dataclass
class Verdict:
    """What the attacker found in one region: leaks ``(region, sheet, unit, column, lower,
    upper)``, HTML cells the workbook gives back, cells attacked, relations kept / rejected."""

    leaks: list[tuple] = field(default_factory=list)
    given_back: list[tuple] = field(default_factory=list)
    attacked: int = 0
    kept: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)


def judge(p: Problem, bounds: Mapping[tuple, tuple[float, float]], region: str) -> list[tuple]:
    """The judged cells narrower than their protection interval."""
    leaks = []
    for name, kind in p.judged.items():
        lo, hi = bounds[name]
        s = _scale(name[2])
        lo, hi = lo * s, hi * s
        if kind == "money":
            narrow = bool(np.isfinite(hi)) and hi - lo < MONEY_WIDTH * hi - 1e-9
        else:
            narrow = hi - lo < min((p.k - 1) / 2, p.caps.get(name, math.inf)) - 1e-6
        if kind == "withheld":  # says nothing of its size: a leak when it pins a small group
            narrow = narrow and lo <= p.k - 1 and hi >= 1
        if narrow:
            leaks.append((region, *name, lo, hi))
    return leaks


def attack_region(
    region_dir: Path, run_dir: Path, home: Mapping[str, str] | None = None, k: int = K
) -> Verdict | None:
    """Attack one region's shared workbooks with its HTML reports; ``None`` without a
    scorecards workbook. ``home`` maps manager ids to outlet ids (the sheet names outlets:
    mapped through the no-manager workbooks' titles and ``contents.csv``)."""
    folder = region_dir / "02_cross_sell_propensity" / "restricted"
    books = sorted(folder.glob("scorecards_*.xlsx"))
    if not books:
        return None
    managers, outlets = read_sheet(books[0], "Managers"), read_sheet(books[0], "Outlets")
    v = Verdict()
    v.given_back += _outlet_workbooks_agree(folder, outlets, k)
    names = _outlet_names(folder)
    home_named = {m: names.get(o, o) for m, o in (home or {}).items()}
    p = workbook_problem(managers, outlets, home_named, k)
    v.given_back += add_html(p, outlets, region_dir, run_dir)
    v.kept, v.rejected = list(dict.fromkeys(p.kept)), p.rejected
    v.attacked = len(p.judged)
    bounds = p.solve()
    if bounds is None:
        v.rejected.append("the relations kept are infeasible with the printed cells")
        v.leaks.append((region_dir.name, "infeasible", "", "", math.nan, math.nan))
        return v
    v.leaks = judge(p, bounds, region_dir.name)
    return v


def _outlet_names(folder: Path) -> dict[str, str]:
    """Outlet id -> name as the workbooks print it (``contents.csv``)."""
    path = folder / "contents.csv"
    if not path.exists():
        return {}
    import pandas as pd

    c = pd.read_csv(path, encoding="utf-8-sig", dtype=str)
    return dict(zip(c["outlet_id"], c["outlet"], strict=True))


def _outlet_workbooks_agree(
    folder: Path, outlets: Mapping[str, Mapping[str, object]], k: int
) -> list[tuple]:
    """Each no-manager workbook's Scorecard sheet against the Outlets sheet, measure by
    measure: a cell printed in one and withheld in the other is given back
    ``("workbook", outlet, column, value)``."""
    import pandas as pd

    from bankanalysis.report.workbooks import _scorecard_rows

    path = folder / "contents.csv"
    if not path.exists():
        return []
    contents = pd.read_csv(path, encoding="utf-8-sig", dtype=str).fillna("")
    labels = {label: col for col, label, _ in _scorecard_rows(TIERS)}
    found = []
    for r in contents.itertuples():
        if r.manager_id or r.outlet not in outlets:
            continue
        wb = load_workbook(folder / r.file, read_only=True)
        if "Scorecard" not in wb.sheetnames:
            continue
        for row in wb["Scorecard"].iter_rows(min_row=2, values_only=True):
            col = labels.get(str(row[0]))
            if col is None or col not in outlets[r.outlet]:
                continue
            a, b = read_cell(outlets[r.outlet][col], k), read_cell(row[1], k)
            if (a[0] == "number") != (b[0] == "number") and "empty" not in (a[0], b[0]):
                value = a[1] if a[0] == "number" else b[1]
                found.append((r.file, r.outlet, col, value))
    return found


def run_workbook_leaks(
    run_dir: Path, homes: Mapping[str, Mapping[str, str]] | None = None, k: int = K
) -> tuple[list[tuple], list[tuple], int, dict[str, Verdict]]:
    """Every region of a run: ``(leaks, HTML cells given back, cells attacked, verdicts)``."""
    leaks, back, attacked, verdicts = [], [], 0, {}
    for region_dir in sorted(p for p in Path(run_dir).iterdir() if p.is_dir()):
        v = attack_region(region_dir, Path(run_dir), (homes or {}).get(region_dir.name), k)
        if v is None:
            continue
        verdicts[region_dir.name] = v
        leaks += v.leaks
        back += [(region_dir.name, *b) for b in v.given_back]
        attacked += v.attacked
    return leaks, back, attacked, verdicts
