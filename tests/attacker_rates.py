"""Attack D of issue 17: a published rate gives the withheld count it is over back.

A rate printed to ``d`` decimals, ``r``, says ``|a / b - r| <= half a unit of its last digit``
for its numerator ``a`` and denominator ``b``. Where one of them is withheld (``<k``, ``x``,
``withheld``) and the other is printed -- or is a part of the withheld one that nobody prints
(the covered customers of a coverage rate: an integer between 0 and ``b``) -- the integer
values of the withheld count consistent with the rate are few: 16.7 % is 1/6, 2/12, ..., 7/42,
8/48. With the region's published total of the count (the outlets add up to it) the other
outlets' withheld counts follow: R02 of the CI bank, 49 quality-and-above customers, an `x`
outlet at 16.7 % is 42 or 48, so the small outlet's `<10` is 7 or 1.

Which column is a rate over which count is read from the package's KPI dictionary
(``numerator`` / ``denominator`` of :mod:`bankanalysis.rules.kpis`), the same pairs the reports
withhold together; nothing here names a KPI (but 01's migration table, whose base month is a
date in its header: :func:`migration_retention`). The tables are the HTML attacker's
(:func:`attacker.run_tables`). Modelled: every table whose rows are units (one label column,
e.g. 01's account-manager table, 02's outlet scorecards, the overview's region scorecard; two,
03's outlet table of outlet and type); the long tables with a KPI per row and a period per
column (03's quarter and changes tables) in every period, against the counts of the same
period; a rate in one table over a count of the same unit in another table of the same
region's pages (or of the run's bank pages; a region's or the bank's own row on every page);
both counts withheld (:func:`_with_other`); a declared numerator printed nowhere, a group of
customers a rate gives back beside its printed denominator (:func:`implied_counts`: 13.3 % of
30 leads is 4 who bought); withheld money beside its per-customer or per-FTE figure
(:func:`withheld_money`). Not modelled: docs/privacy.md, "Attack D".
"""

from __future__ import annotations

import bisect
import math
import re
from dataclasses import dataclass
from pathlib import Path

from attacker import MONEY_WIDTH, HtmlTable, K, _norm, _scope, read_figure

from bankanalysis.rules.kpis import KPIS

#: Largest value a withheld count is enumerated to when no published total bounds it.
CAP = 100_000
_EPS = 1e-9


@dataclass(frozen=True)
class RatePair:
    """A rate or ratio of the KPI dictionary with the counts it divides: ``kpi`` (id),
    ``name`` (its display name, how a table header names it), ``numerator`` and
    ``denominator`` (how the headers name the counts; ``""`` when none is printed) and
    ``share`` (printed in %)."""

    kpi: str
    name: str
    numerator: str
    denominator: str
    share: bool


def rate_pairs() -> list[RatePair]:
    """Every rate of the KPI dictionary that declares its numerator or denominator."""
    return [
        RatePair(k.id, k.name, k.numerator, k.denominator, k.unit == "share")
        for k in KPIS.values()
        if k.numerator or k.denominator
    ]


def _bare(header: str) -> str:
    """A header without its unit in brackets (``AUM per customer (CNY)`` -> ``aum per
    customer``), normalised."""
    return _norm(re.sub(r"\s*\([^()]*\)\s*$", "", str(header)))


def _is(header: str, name: str) -> bool:
    """Whether a column header names ``name`` (with or without its unit in brackets)."""
    return bool(name) and (_norm(header) == _norm(name) or _bare(header) == _bare(name))


@dataclass
class _Count:
    """One count of one unit as a table prints it: its figure and where."""

    figure: tuple
    where: str
    marker: str  # "", "<k", "x", "withheld"


def _marker(text: str, k: int) -> str:
    t = " ".join(str(text).split())
    if t == f"<{k}":
        return "<k"
    if t in ("x", "withheld"):
        return t
    return ""


def _read_pairs(tables: list[HtmlTable], k: int):
    """What every attack D reading starts from: the money figures' names (read where printed,
    never enumerated as whole numbers), :func:`_collect` of the counts the dictionary's rates
    divide or divide by, and those rates by KPI id: ``(money, counts, rates, columns,
    pairs)``."""
    names = {p.numerator for p in rate_pairs()} | {p.denominator for p in rate_pairs()}
    names.discard("")
    money = {k_.name for k_ in KPIS.values() if k_.unit == "money"}
    counts, rates, columns = _collect(tables, k, names)
    return money, counts, rates, columns, {p.kpi: p for p in rate_pairs()}


def _collect(tables: list[HtmlTable], k: int, names: set[str]):
    """Per scope: ``counts[(scope, unit, count name)]`` -> list of :class:`_Count`,
    ``rates[(scope, unit, kpi)]`` -> list of ``(lower, upper, where)`` (in ratio units), and
    ``columns[(table name, scope, count name)]`` -> the units of a wide table's count column
    (for the region's total).

    A wide table (one label column) is read whole; a long table (a unit and a KPI per row, a
    period per column: 03's quarter and changes tables, 00's) in every period column: the
    data month's (:func:`_data_month_columns`, whose stock figures are the ones 01 and 02
    print) as the unit itself, an earlier month or quarter end as the unit at that month
    (``"<unit> @ 2026-06"``, :func:`_period`), so a rate of a period is read against the
    count of the same period. A unit named by a region's name or "The bank" is the same
    unit on every page (scope ``""``): a region's page against the overview."""
    pairs = rate_pairs()
    money = {k_.name for k_ in KPIS.values() if k_.unit == "money"}
    counts: dict = {}
    rates: dict = {}
    columns: dict = {}
    latest = _data_month_columns(tables)
    shared = _shared_units(tables)
    # long tables of gaps (pp) and wide tables' gap columns (03's peer ranks: "Customers per
    # staff FTE" is "-0.8" there; 02's conversion table prints a gap beside its rates)
    gap_tables = {
        t.name
        for t in tables
        if t.label_columns(k) != 1 and any(read_figure(c, k)[3] == "pp" for r in t.rows for c in r)
    }

    def add(scope, unit, count, rate, text, where, column_key):
        if unit.split(" @ ")[0] in shared:
            scope = ""
        fig = read_figure(text, k)
        mark = _marker(text, k)
        if count is not None:
            if fig[0] == "text" and not mark:
                return  # n/a, a name
            counts.setdefault((scope, unit, count), []).append(_Count(fig, where, mark))
            if column_key is not None:
                columns.setdefault(column_key, []).append(unit)
        elif rate is not None and fig[0] == "number" and where not in gap_tables:
            if str(text).strip()[:1] in "+-−":
                return  # a change or a gap (signed), not the rate
            if rate.share and fig[3] != "%":
                return  # a gap in pp, not the rate
            if not rate.share and fig[3] not in ("", "products") and len(fig[3]) != 3:
                return
            div = 100.0 if rate.share else 1.0
            rates.setdefault((scope, unit, rate.kpi), []).append(
                (max(fig[1], 0.0) / div, fig[2] / div, where)
            )

    for t in tables:
        scope = _scope(t.page)
        n = t.label_columns(k)
        long = n == 2 and any(
            _is(row[1], c) for row in t.rows for c in [*names, *(p.name for p in pairs)]
        )
        if n == 1 or (n == 2 and not long):
            # a wide table: units per row (named by the first label column whose names are
            # all different: 03's outlet table heads "outlet" and "type"), figures per column
            u = next((i for i in range(n) if len({_norm(r[i]) for r in t.rows}) == len(t.rows)), 0)
            for j, head in enumerate(t.header[n:], start=n):
                count = next((c for c in names if _is(head, c)), None)
                if count is not None and not _count_column(t, j, k):
                    count = None  # a share or a gap under the count's name (03's peer ranks)
                rate = next((p for p in pairs if _is(head, p.name)), None)
                if _gap_column(t, j, k):
                    rate = None
                for row in t.rows:
                    if _norm(row[u]):
                        key = (t.name, scope, count)
                        add(scope, _norm(row[u]), count, rate, row[j], t.name, key)
        elif n == 2:
            periods = [(j, _period(h, latest)) for j, h in enumerate(t.header) if j >= 2]
            for j, period in (jp for jp in periods if jp[1] is not None):
                for row in t.rows:
                    text = row[j]
                    count = next((c for c in names if _is(row[1], c)), None)
                    unit_of = read_figure(text, k)[3]
                    if count is not None and unit_of and not (count in money and len(unit_of) == 3):
                        count = None  # "Quality-and-above customers (%)": the share
                    rate = next((p for p in pairs if _is(row[1], p.name)), None)
                    if _norm(row[0]):
                        unit = _norm(row[0]) + (f" @ {period}" if period else "")
                        add(scope, unit, count, rate, text, t.name, None)
    return counts, rates, columns


def _gap_column(t: HtmlTable, j: int, k: int) -> bool:
    """Whether column ``j`` of a wide table prints gaps or changes (a signed or pp cell)."""
    cells = [str(r[j]).strip() for r in t.rows]
    return any(
        c[:1] in "+-\u2212" and read_figure(c, k)[0] == "number" or read_figure(c, k)[3] == "pp"
        for c in cells
    )


def _shared_units(tables: list[HtmlTable]) -> set[str]:
    """Units every page names alike: the regions (by the name the overview and the index
    print in their "Region" column) and the bank."""
    out = {"the bank"}
    for t in tables:
        if not _scope(t.page) and t.header and _norm(t.header[0]) == "region":
            out |= {_norm(r[0]) for r in t.rows if _norm(r[0])}
    return out


_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")


def _period(header: str, latest: set[str]) -> str | None:
    """The month a long table's column holds the stock figures of: ``""`` for the data
    month's column, ``"2026-06"`` for the column 2026-06 or 2026-Q2, ``None`` for a column
    that is not a period (a change, a gap)."""
    if header in latest:
        return ""
    if _MONTH.match(header):
        return header
    m = _QUARTER.match(header)
    return f"{m.group(1)}-{int(m.group(2)) * 3:02d}" if m else None


_MONTH = re.compile(r"^\d{4}-\d{2}$")


def _data_month_columns(tables: list[HtmlTable]) -> set[str]:
    """Headers of a long table's column of the data month: the latest month printed as a
    column (``2026-10``) and the quarter to date (``2026-Q4 (to date)``, whose stock figures
    are the data month's)."""
    months = {h for t in tables for h in t.header if _MONTH.match(h)}
    out = {h for t in tables for h in t.header if h.endswith("(to date)")}
    return out | ({max(months)} if months else set())


def _count_column(t: HtmlTable, j: int, k: int) -> bool:
    """Whether column ``j`` prints a count (or money): its printed numbers carry no unit but a
    currency, and at least one cell is printed or marked."""
    figs = [read_figure(r[j], k) for r in t.rows]
    numbers = [f for f in figs if f[0] == "number"]
    if any(f[3] != "" and len(f[3]) != 3 for f in numbers):
        return False
    if numbers:
        return True
    # a column of markers only: a count unless the table prints gaps (pp), e.g. 03's peer
    # ranks, whose "Quality-and-above customers" is the share's gap to the peer median
    gaps = any(read_figure(c, k)[3] == "pp" for r in t.rows for c in r)
    return not gaps and any(_marker(r[j], k) for r in t.rows)


def _printed(found: list[_Count]) -> tuple[float, float, bool] | None:
    """The one interval every printed copy of a count agrees on, with whether it is a whole
    number (``None`` when none is printed or two copies disagree)."""
    numbers = [c.figure for c in found if c.figure[0] == "number"]
    if not numbers:
        return None
    lo, hi = max(f[1] for f in numbers), min(f[2] for f in numbers)
    if lo > hi + _EPS:
        return None
    whole = all(f[3] == "" and math.isclose(f[2] - f[1], 1.0) for f in numbers)
    return lo, hi, whole


def _domain(found: list[_Count], k: int, cap: int) -> set[int] | None:
    """What the markers of a withheld count say: ``<k`` 1 .. k-1, ``x`` 0 or k .. cap,
    ``withheld`` 0 .. cap (``None`` when some copy prints the count)."""
    if not found or any(c.figure[0] == "number" for c in found):
        return None
    marks = {c.marker for c in found}
    out = set(range(0, cap + 1))
    if "<k" in marks:
        out &= set(range(1, k))
    if "x" in marks:
        out &= {0, *range(k, cap + 1)}
    return out


def _has_integer(lo: float, hi: float) -> bool:
    return math.ceil(lo - _EPS) <= math.floor(hi + _EPS)


def _denominator_ok(b: int, rate: tuple, num: tuple | None, share: bool = True) -> bool:
    """Whether ``b`` can be the denominator of ``rate`` with numerator ``num`` (printed
    interval and wholeness) or, when ``num`` is ``None``, an unprinted whole number: a part of
    ``b`` for a share (covered customers), any for a ratio (products held)."""
    rlo, rhi = rate[0], rate[1]
    if b == 0:
        return False  # a rate over nobody is not printed
    lo, hi = rlo * b, rhi * b
    if num is None:
        return _has_integer(max(lo, 0.0), min(hi, float(b)) if share else hi)
    nlo, nhi, whole = num
    lo, hi = max(lo, nlo), min(hi, nhi)
    return _has_integer(lo, hi) if whole else lo <= hi + _EPS


def _any_in(values: list[int], lo: float, hi: float) -> bool:
    """Whether the sorted whole numbers ``values`` hold one within ``lo .. hi`` (``hi`` may be
    infinite)."""
    if lo > hi + _EPS or math.isnan(lo):
        return False
    i = bisect.bisect_left(values, math.ceil(lo - _EPS) if math.isfinite(lo) else lo)
    return i < len(values) and (math.isinf(hi) or values[i] <= math.floor(hi + _EPS))


def _with_other(
    dom: set[int], rate: tuple, other: list[int], numerator: bool, share: bool
) -> set[int]:
    """The values of ``dom`` for which the withheld other count (``other``: the values its
    markers leave, sorted) has a value with ``numerator / denominator`` within ``rate``:
    e.g. 87.5 % with both counts `<10` is 7 of 8."""
    rlo, rhi = rate[0], rate[1]

    def any_in(lo: float, hi: float) -> bool:
        return _any_in(other, lo, hi)

    if numerator:  # dom holds numerators a, ``other`` denominators b: a / rhi <= b <= a / rlo
        return {
            a
            for a in dom
            if any_in(max(a / rhi if rhi > 0 else math.inf, 1.0, a if share else 1.0),
                      a / rlo if rlo > 0 else math.inf)
        }  # fmt: skip
    return {  # dom holds denominators b, ``other`` numerators a: rlo b <= a <= rhi b
        b for b in dom if b > 0 and any_in(rlo * b, min(rhi * b, float(b)) if share else rhi * b)
    }


def _numerator_ok(a: int, rate: tuple, den: tuple) -> bool:
    """Whether ``a`` can be the numerator of ``rate`` over the printed denominator ``den``."""
    rlo, rhi = rate[0], rate[1]
    dlo, dhi, whole = den
    lo = a / rhi if rhi > 0 else math.inf
    hi = a / rlo if rlo > 0 else math.inf
    if a == 0:
        lo, hi = (0.0, math.inf) if rlo <= 0 else (math.inf, -math.inf)
    lo, hi = max(lo, dlo, _EPS), min(hi, dhi)
    return _has_integer(lo, hi) if whole else lo <= hi + _EPS


def feasible_counts(
    tables: list[HtmlTable],
    k: int = K,
    totals: dict | None = None,
    cap: int = CAP,
) -> dict[tuple, dict]:
    """Every withheld count over which (or of which) a rate is printed, with the integer
    values the printed rates and totals leave it.

    Parameters
    ----------
    tables : list of HtmlTable
        The run's tables (:func:`attacker.run_tables`).
    k : int
        ``min_group_size``.
    totals : dict, optional
        ``{(scope, count name): set of possible integer totals}``: the region's published total
        of a count (its outlets add up to it), e.g. from :func:`region_totals`. Also an upper
        bound of every unit's count.
    cap : int
        Upper end of a withheld count without a total.

    Returns
    -------
    dict
        ``{(scope, unit, count name): {"marker", "values" (sorted list), "rates" (the KPI ids
        read), "where"}}``.
    """
    totals = totals or {}
    money, counts, rates, columns, pairs = _read_pairs(tables, k)
    out: dict[tuple, dict] = {}
    for (scope, unit, count), found in counts.items():
        if count in money:
            continue
        limit = min(max(totals.get((scope, count), {cap}) or {cap}), cap)
        tables_of = {c.where for c in found}
        values: set[int] = set()
        used: set[str] = set()
        # each table's withheld copy apart (two tables may name two figures alike: 02's leads
        # of this period and of the last), read with the rates of its own table and of the
        # tables that print no copy of the count
        for where in sorted({c.where for c in found if c.figure[0] != "number"}):
            dom = _domain([c for c in found if c.where == where], k, limit)
            read = []
            for (s_, u, kpi), printed in rates.items():
                p = pairs[kpi]
                if (s_, u) != (scope, unit) or count not in (p.numerator, p.denominator):
                    continue
                other = p.denominator if count == p.numerator else p.numerator
                for rate in printed:
                    if rate[2] != where and rate[2] in tables_of:
                        continue  # another table's own copy of the count
                    copies = counts.get((scope, unit, other), []) if other else []
                    same = [c for c in copies if c.where == rate[2]]
                    known = _printed(same or copies)
                    if copies and known is None:
                        # both withheld: each value of one needs a value of the other
                        both = _domain(same or copies, k, cap)
                        if both is None:
                            continue  # two printed copies disagree: not read
                        dom = _with_other(dom, rate, sorted(both), count == p.numerator, p.share)
                    elif count == p.denominator:
                        dom = {b for b in dom if _denominator_ok(b, rate, known, p.share)}
                    else:
                        if known is None:
                            continue
                        dom = {a for a in dom if _numerator_ok(a, rate, known)}
                    read.append(kpi)
            if read:  # a copy no rate reads adds nothing (the same figure, or another)
                values |= dom
                used |= set(read)
        if used:
            out[(scope, unit, count)] = {
                "marker": "".join(sorted({c.marker for c in found})),
                "values": values,
                "rates": sorted(used),
                "where": sorted(tables_of),
            }
    _with_totals(out, counts, columns, totals, k)
    for v in out.values():
        v["values"] = sorted(v["values"])
    return out


def _with_totals(out: dict, counts: dict, columns: dict, totals: dict, k: int) -> None:
    """Narrow the counts of each table column whose region total is published: the units'
    counts add up to one of the totals (every unit of the column with a withheld count
    enters with the values its markers and rates leave)."""
    for (_, scope, count), units in columns.items():
        if (scope, count) not in totals:
            continue
        units = list(dict.fromkeys(units))
        cells = [(scope, u, count) for u in units]
        if not any(c in out for c in cells):
            continue
        fixed, sets = 0, []
        for c in cells:
            found = counts[c]
            known = _printed(found)
            if known is not None:
                if not known[2] or not math.isclose(known[1] - known[0], 1.0):
                    sets = None
                    break
                fixed += round((known[0] + known[1]) / 2)
            elif c in out:
                sets.append((c, set(out[c]["values"])))
            else:
                cap = max(totals[(scope, count)])
                sets.append((c, _domain(found, k, cap)))
        if sets is None or not sets:
            continue
        targets = {t - fixed for t in totals[(scope, count)]}
        # reachable partial sums forward and backward, then each cell's consistent values
        forward = [{0}]
        for _, s in sets:
            forward.append({a + v for a in forward[-1] for v in s if a + v <= max(targets)})
        backward = [set(targets)]
        for _, s in reversed(sets):
            backward.append({a - v for a in backward[-1] for v in s if a - v >= 0})
        backward.reverse()
        for i, (c, s) in enumerate(sets):
            keep = {v for v in s if any((v + a) in backward[i + 1] for a in forward[i])}
            if c not in out:
                out[c] = {
                    "marker": "".join(sorted({x.marker for x in counts[c]})),
                    "rates": [],
                    "where": sorted({x.where for x in counts[c]}),
                }
            out[c]["values"] = keep
            out[c]["total"] = sorted(totals[(scope, count)])


def rate_leaks(found: dict[tuple, dict], k: int = K) -> list[tuple]:
    """The counts :func:`feasible_counts` narrows below their protection interval:
    ``(scope, unit, count, marker, values)`` for every ``<k`` count whose values span less than
    ``(k - 1) / 2``, and every ``withheld`` count that may be 1 .. k-1 and is so narrowed
    (an empty set means the rates contradict the markers: reported too)."""
    leaks = []
    for (scope, unit, count), v in sorted(found.items()):
        vals, marker = v["values"], v["marker"]
        if not vals:
            leaks.append((scope, unit, count, marker, vals))
            continue
        narrow = max(vals) - min(vals) < (k - 1) / 2 - _EPS
        small = any(1 <= x <= k - 1 for x in vals)
        if narrow and ("<k" in marker or ("withheld" in marker and small)):
            leaks.append((scope, unit, count, marker, vals))
    return leaks


def implied_counts(tables: list[HtmlTable], k: int = K) -> dict[tuple, dict]:
    """The counts a printed rate and its printed denominator give that no table prints nor
    withholds: the whole numbers ``a`` with ``a / b`` within the rate for a printed ``b``
    (13.3 % of 30 leads: 4 leads converted; 37.5 % of 16 buyers: 6 in the top decile).

    Returns ``{(scope, unit, numerator, table): {"values", "rates"}}`` for every declared
    numerator (the KPI dictionary's ``numerator``) that is a count, not money, per table
    printing the rate.
    """
    money, counts, rates, _, pairs = _read_pairs(tables, k)
    out: dict[tuple, dict] = {}
    for (scope, unit, kpi), printed in sorted(rates.items()):
        p = pairs[kpi]
        if not p.numerator or p.numerator in money or counts.get((scope, unit, p.numerator)):
            continue  # printed or withheld somewhere: feasible_counts reads it
        copies = counts.get((scope, unit, p.denominator), [])
        for rlo, rhi, where in printed:
            den = _printed([c for c in copies if c.where == where] or copies)
            if den is None:
                continue
            dlo, dhi, whole = den
            if whole:
                bs = range(math.ceil(dlo - _EPS), math.floor(dhi + _EPS) + 1)
                vals = {
                    a
                    for b in bs
                    for a in range(math.ceil(rlo * b - _EPS), math.floor(rhi * b + _EPS) + 1)
                    if not p.share or a <= b
                }
            else:
                vals = set(range(math.ceil(rlo * dlo - _EPS), math.floor(rhi * dhi + _EPS) + 1))
            # per table: two tables may print one unit's rates of two figures alike (02's
            # model table of the whole bank and of the region's customers)
            key = (scope, unit, p.numerator, where)
            if key in out:
                out[key]["values"] &= vals
                out[key]["rates"] = sorted({*out[key]["rates"], kpi})
            else:
                out[key] = {"values": vals, "rates": [kpi]}
    for v in out.values():
        v["values"] = sorted(v["values"])
    return out


def implied_leaks(found: dict[tuple, dict], k: int = K) -> list[tuple]:
    """The counts of :func:`implied_counts` that are a group of 1 to ``k - 1`` customers
    published within less than its protection interval (``(k - 1) / 2``):
    ``(scope, unit, numerator, values)``."""
    return [
        (scope, unit, count, v["values"])
        for (scope, unit, count, _), v in sorted(found.items())
        if v["values"]
        and any(1 <= x <= k - 1 for x in v["values"])
        and max(v["values"]) - min(v["values"]) < (k - 1) / 2 - _EPS
    ]


def withheld_money(tables: list[HtmlTable], k: int = K) -> dict[tuple, dict]:
    """Money withheld (``x``, ``<k``) beside a printed figure per customer or per staff FTE
    and its printed count: ``AUM = AUM per customer x customers`` within both roundings.

    Returns ``{(scope, unit, money): {"lower", "upper", "rates", "where"}}``."""
    money, counts, rates, _, pairs = _read_pairs(tables, k)
    out: dict[tuple, dict] = {}
    for (scope, unit, count), found in sorted(counts.items()):
        if count not in money or any(c.figure[0] == "number" for c in found):
            continue
        lo, hi, used = 0.0, math.inf, []
        for (s_, u, kpi), printed in rates.items():
            p = pairs[kpi]
            if (s_, u) != (scope, unit) or p.numerator != count or not p.denominator:
                continue
            copies = counts.get((scope, unit, p.denominator), [])
            for rlo, rhi, where in printed:
                den = _printed([c for c in copies if c.where == where] or copies)
                if den is not None:
                    dlo, dhi, whole = den
                    if whole:  # 358 customers, not 357.5 .. 358.5
                        dlo, dhi = math.ceil(dlo - _EPS), math.floor(dhi + _EPS)
                    lo, hi = max(lo, rlo * dlo), min(hi, rhi * dhi)
                    used.append(kpi)
        if used:
            out[(scope, unit, count)] = {
                "lower": lo,
                "upper": hi,
                "rates": sorted(set(used)),
                "where": sorted({c.where for c in found}),
            }
    return out


def money_leaks(found: dict[tuple, dict]) -> list[tuple]:
    """The withheld money of :func:`withheld_money` bounded narrower than
    :data:`~attacker.MONEY_WIDTH` of its upper end: ``(scope, unit, money, lower, upper)``."""
    return [
        (scope, unit, money, v["lower"], v["upper"])
        for (scope, unit, money), v in sorted(found.items())
        if math.isfinite(v["upper"]) and v["upper"] - v["lower"] < MONEY_WIDTH * v["upper"] - _EPS
    ]


_BASE = re.compile(r"^Customers at (\d{4}-\d{2})$")


def _figure_domain(text: str, k: int, cap: int) -> list[int] | None:
    """The whole values one count cell allows, sorted: its printed number, ``<k`` 1 .. k-1,
    ``x`` 0 or k .. cap, ``withheld`` 0 .. cap (``None`` for text)."""
    fig, mark = read_figure(text, k), _marker(text, k)
    if fig[0] == "number" and fig[3] == "":
        return list(range(math.ceil(fig[1] - _EPS), math.floor(fig[2] + _EPS) + 1))
    if mark == "<k":
        return list(range(1, k))
    if mark == "x":
        return [0, *range(k, cap + 1)]
    if mark == "withheld":
        return list(range(0, cap + 1))
    return None


def migration_retention(tables: list[HtmlTable], k: int = K, cap: int = CAP) -> dict[tuple, dict]:
    """01's migration table: each tier's stock retention over its customers at the base
    month (the earlier ``Customers at <month>`` column) with its lost customers: retention =
    (base - lost) / base, so a printed retention leaves a withheld base and lost only the
    pairs it allows (95.0 % with 2 lost is a base of 40).

    Returns ``{(scope, tier, "base" | "lost"): {"marker", "values", "where"}}`` for every
    withheld base or lost count of a row whose retention is printed.
    """
    name = KPIS["stock_retention"].name
    out: dict[tuple, dict] = {}
    for t in tables:
        bases = sorted((m.group(1), j) for j, h in enumerate(t.header) if (m := _BASE.match(h)))
        ret = [j for j, h in enumerate(t.header) if _is(h, name)]
        if not bases or not ret or "Lost" not in t.header:
            continue
        jb, jl, jr = bases[0][1], t.header.index("Lost"), ret[0]
        for row in t.rows:
            fig = read_figure(row[jr], k)
            base, lost = _figure_domain(row[jb], k, cap), _figure_domain(row[jl], k, cap)
            if fig[0] != "number" or fig[3] != "%" or base is None or lost is None:
                continue
            rlo, rhi = max(fig[1], 0.0) / 100, fig[2] / 100

            # lost within base x (1 - rhi) .. base x (1 - rlo)
            keep = {
                "base": [b for b in base if b > 0 and _any_in(lost, b * (1 - rhi), b * (1 - rlo))],
                "lost": [
                    n
                    for n in lost
                    if _any_in(
                        base,
                        max(n / (1 - rlo) if rlo < 1 else math.inf, 1.0),
                        n / (1 - rhi) if rhi < 1 else math.inf,
                    )
                ],
            }
            for part, j in (("base", jb), ("lost", jl)):
                if read_figure(row[j], k)[0] == "number":
                    continue
                out[(_scope(t.page), _norm(row[0]), part)] = {
                    "marker": _marker(row[j], k),
                    "values": keep[part],
                    "where": t.name,
                }
    return out


_KEY_SHARE = "quality-and-above customers"


def region_totals(tables: list[HtmlTable], k: int = K) -> dict[tuple, set[int]]:
    """The region's published total of its quality-and-above customers, per region scope:
    the integers ``t`` for which ``t / customers`` is 03's key-figure share as printed, the
    region's customers being the sum of the outlets' customers in 03's outlet table (all
    printed), intersected with what 01's tier table gives (customers less mass, or quality +
    VIP + private banking, where printed)."""
    out: dict[tuple, set[int]] = {}
    by_scope: dict[str, list[HtmlTable]] = {}
    for t in tables:
        by_scope.setdefault(_scope(t.page), []).append(t)
    for scope, ts in by_scope.items():
        if not scope:
            continue
        customers = None
        for t in ts:
            if t.section.startswith("Outlet KPIs") and "Customers" in t.header:
                j = t.header.index("Customers")
                figs = [read_figure(r[j], k) for r in t.rows]
                if figs and all(f[0] == "number" and f[3] == "" for f in figs):
                    customers = sum(round((f[1] + f[2]) / 2) for f in figs)
        found: set[int] | None = None
        for t in ts:
            if customers and t.section.startswith("Key figures"):
                for r in t.rows:
                    f = read_figure(r[1], k)
                    if _norm(r[0]) == _KEY_SHARE and f[0] == "number" and f[3] == "%":
                        lo, hi = f[1] / 100 * customers, f[2] / 100 * customers
                        ok = set(range(math.ceil(lo - _EPS), math.floor(hi + _EPS) + 1))
                        found = ok if found is None else found & ok
            if t.section.startswith("Tiers") and "Customers" in t.header and customers:
                j = t.header.index("Customers")
                tiers = {_norm(r[0]): read_figure(r[j], k) for r in t.rows}
                rest = [f for name, f in tiers.items() if name != "mass"]
                mass = tiers.get("mass")
                if mass is not None and mass[0] == "number":
                    ok = {customers - round((mass[1] + mass[2]) / 2)}
                    found = ok if found is None else found & ok
                elif rest and all(f[0] == "number" for f in rest):
                    ok = {sum(round((f[1] + f[2]) / 2) for f in rest)}
                    found = ok if found is None else found & ok
        if found:
            out[(scope, "Quality-and-above customers")] = found
    return out


def reading(tables: list[HtmlTable], k: int = K) -> dict[str, int]:
    """What attack D reads of a run, so that a test sees it read something: withheld counts
    of the dictionary's pairs (``withheld_counts``, per unit and count), printed rates and
    ratios (``printed_rates``, per unit, KPI and table) and the withheld counts sharing a
    unit with a rate over them or of them (``paired``, read by :func:`feasible_counts`)."""
    _, counts, rates, _, pairs = _read_pairs(tables, k)
    withheld = {c for c, found in counts.items() if _domain(found, k, 1) is not None}
    paired = {
        (s, u, c)
        for (s, u, c) in withheld
        for (s2, u2, kpi) in rates
        if (s2, u2) == (s, u) and c in (pairs[kpi].numerator, pairs[kpi].denominator)
    }
    return {
        "withheld_counts": len(withheld),
        "printed_rates": sum(len(v) for v in rates.values()),
        "paired": len(paired),
    }


def run_rate_leaks(run_dir: Path, tables: list[HtmlTable] | None = None, k: int = K):
    """Attack D on a finished run: ``(feasible counts, leaks)``."""
    from attacker import run_tables

    tables = run_tables(run_dir) if tables is None else tables
    found = feasible_counts(tables, k, totals=region_totals(tables, k))
    return found, rate_leaks(found, k)


def run_implied_leaks(tables: list[HtmlTable], k: int = K):
    """The counts printed rates give that no table prints (:func:`implied_counts`) and the
    withheld money a per-customer or per-FTE figure gives (:func:`withheld_money`) of a
    finished run's tables: ``(implied, their leaks, money, its leaks)``."""
    implied, money = implied_counts(tables, k), withheld_money(tables, k)
    return implied, implied_leaks(implied, k), money, money_leaks(money)


def run_migration_leaks(tables: list[HtmlTable], k: int = K):
    """01's retention per tier over its base and lost customers
    (:func:`migration_retention`): ``(found, leaks)``, judged as :func:`rate_leaks`."""
    found = migration_retention(tables, k)
    return found, rate_leaks(found, k)
