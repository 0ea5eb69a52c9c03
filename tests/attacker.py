"""The attacker of issue 17: recovering withheld figures from published tables and metrics (shared by the tests)."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import linprog

from bankanalysis.rules.tiers import TIERS

K = 10


MONEY_WIDTH = 0.5


def _bounds_lp(n_vars, a_eq, b_eq, bounds, integer, target):
    """(min, max) of variable ``target`` subject to ``a_eq x = b_eq`` and ``bounds``."""
    out = []
    for sign in (1.0, -1.0):
        c = np.zeros(n_vars)
        c[target] = sign
        res = linprog(
            c,
            A_eq=np.array(a_eq) if a_eq else None,
            b_eq=np.array(b_eq) if b_eq else None,
            bounds=bounds,
            method="highs",
            integrality=np.array(integer, dtype=int),
        )
        if res.status in (2, 4) and any(integer):  # HiGHS MIP: "infeasible or unbounded"
            relaxed = linprog(
                c,
                A_eq=np.array(a_eq) if a_eq else None,
                b_eq=np.array(b_eq) if b_eq else None,
                bounds=bounds,
                method="highs",
            )
            assert relaxed.status == 3, res.message  # the true values are feasible
            res = relaxed
        assert res.status in (0, 3), res.message
        out.append(sign * res.fun if res.status == 0 else -sign * np.inf)  # unbounded
    return out[0], out[1]


def attack_tiers(values: dict, reasons: dict, k: int) -> list[tuple[str, float, float, bool]]:
    """Every withheld tier figure of a ``metrics.json``: (key, lower, upper, safe).

    Published constraints: the region's customer total, every shown ``customer_share`` (times
    the total: a count), every shown ``aum_share`` (shares of AUM add up to 1) and the
    ``aum_share[tier_at_least=..]`` sentence. A ``<k`` count is safe when its interval is at
    least ``(k - 1) / 2`` customers wide, the protection interval of docs/privacy.md ("Method")
    that the library audits (``k = 10``: 2 .. 9 is safe, 5 .. 9 is not).
    """
    n_total = values.get("customers")
    found = []
    tiers = [t for t in TIERS if f"customer_share[tier={t}]" in values]
    if n_total is None or not tiers:
        return found
    # counts
    unknown = [t for t in tiers if values[f"customer_share[tier={t}]"] is None]
    if unknown:
        known = sum(
            values[f"customer_share[tier={t}]"] * n_total for t in tiers if t not in unknown
        )
        bounds, integer = [], []
        for t in unknown:
            why = reasons.get(f"customer_share[tier={t}]", "")
            # the fail-safe's reason says nothing of the size
            floor = (0, None) if "(fail-safe)" in why else (k, None)
            bounds.append((1, k - 1) if "fewer than" in why else floor)
            integer.append(1)
        a_eq, b_eq = [[1.0] * len(unknown)], [round(n_total - known)]
        for i, t in enumerate(unknown):
            if "fewer than" not in reasons.get(f"customer_share[tier={t}]", ""):
                continue
            lo, hi = _bounds_lp(len(unknown), a_eq, b_eq, bounds, integer, i)
            found.append((f"customer_share[tier={t}]", lo, hi, hi - lo >= (k - 1) / 2 - 1e-6))
    # money (shares of the region's AUM)
    shares = {t: values.get(f"aum_share[tier={t}]") for t in tiers}
    unknown = [
        t
        for t in tiers
        if shares[t] is None and "withheld" in reasons.get(f"aum_share[tier={t}]", "")
    ]
    if unknown and any(v is not None for v in shares.values()):
        a_eq = [[1.0] * len(unknown)]
        b_eq = [1.0 - sum(v for t, v in shares.items() if v is not None and t not in unknown)]
        for key, s in values.items():
            if key.startswith("aum_share[tier_at_least=") and s is not None:
                top = list(TIERS)[list(TIERS).index(key.split("=")[1].rstrip("]")) :]
                a_eq.append([1.0 if t in top else 0.0 for t in unknown])
                b_eq.append(s - sum(shares[t] for t in top if t in tiers and t not in unknown))
        bounds = [(0, 1)] * len(unknown)
        for i, t in enumerate(unknown):
            if "fewer than" not in reasons.get(
                f"aum_share[tier={t}]", ""
            ) and "dominated" not in reasons.get(f"aum_share[tier={t}]", ""):
                continue
            lo, hi = _bounds_lp(len(unknown), a_eq, b_eq, bounds, [0] * len(unknown), i)
            found.append((f"aum_share[tier={t}]", lo, hi, hi - lo >= MONEY_WIDTH * hi - 1e-9))
    return found


R08 = pd.DataFrame(
    {
        "tier": list(TIERS),
        "customers": [2980, 494, 122, 5],
        "aum": [6.5e6, 26.5e6, 48.1e6, 18.9e6],
    }
)


def _metrics_of(region: pd.DataFrame, hidden: dict[str, str], top_share: float | None):
    """The metrics.json an R08 report would publish with the cells in ``hidden`` withheld."""
    n, a = region["customers"].sum(), region["aum"].sum()
    values, reasons = {"customers": int(n)}, {}
    why = {"primary": "withheld: fewer than 10 customers", "secondary": "withheld so that..."}
    for t, c, m in region.itertuples(index=False):
        for key, v, cell in (
            (f"customer_share[tier={t}]", c / n, f"customers[tier={t}]"),
            (f"aum_share[tier={t}]", m / a, f"aum[tier={t}]"),
        ):
            values[key] = None if cell in hidden else v
            if cell in hidden:
                reasons[key] = why[hidden[cell]]
    values["aum_share[tier_at_least=vip]"] = top_share
    return values, reasons


FLOW_COLUMNS = ("from", "to", "net", "up_in", "down_in", "new_in", "up_out", "down_out", "lost")


#: The fail-safe's marker: withheld, any size (0, small or large).
FAILSAFE_MARKER = "withheld"


def _cell_bounds(text: str, k: int) -> tuple[float, float | None]:
    """What a published table cell tells: a number, ``<k`` (1..k-1), ``x`` (>= k) or
    ``withheld`` (the fail-safe: >= 0)."""
    text = text.strip().replace(",", "")
    if text == f"<{k}":
        return 1, k - 1
    if text == "x":
        return k, None
    if text == FAILSAFE_MARKER:
        return 0, None
    v = float(text)
    return v, v


def attack_flows(rows: list[list[str]], k: int, lost: float | None = None):
    """Every ``<k`` count of the tier-flow table, and every count the fail-safe withholds
    (``withheld``: it may be small), as (tier, column, lower, upper, safe).

    ``rows``: tier label then the published cells in :data:`FLOW_COLUMNS` order (retention
    left out). Relations an attacker knows: customers at the start = upgraded out + downgraded
    out + lost + stayed; now = upgraded in + downgraded in + new + stayed; net = now - start;
    every upgrade out of a tier is an upgrade into another (and so for downgrades); the lost
    customers add up to ``lost_customers`` of metrics.json.
    """
    names = [(i, c) for i in range(len(rows)) for c in (*FLOW_COLUMNS, "stay")]
    pos = {n: j for j, n in enumerate(names)}
    bounds, a_eq, b_eq = [], [], []
    for i, row in enumerate(rows):
        cells = dict(zip(FLOW_COLUMNS, row[1:], strict=False))
        for c in FLOW_COLUMNS:
            if c == "net":
                text = cells[c].strip().replace(",", "").replace("−", "-")
                hidden = text in (f"<{k}", "x", FAILSAFE_MARKER)
                bounds.append((-np.inf, None) if hidden else (float(text),) * 2)
            else:
                bounds.append(_cell_bounds(cells[c], k))
        bounds.append((0, None))  # stayed in the tier: never published

        def eq(coefs, rhs=0.0):
            row_ = np.zeros(len(names))
            for name, coef in coefs.items():
                row_[pos[name]] += coef
            a_eq.append(row_)
            b_eq.append(rhs)

        eq(
            {
                (i, "from"): 1,
                (i, "up_out"): -1,
                (i, "down_out"): -1,
                (i, "lost"): -1,
                (i, "stay"): -1,
            }
        )
        eq({(i, "to"): 1, (i, "up_in"): -1, (i, "down_in"): -1, (i, "new_in"): -1, (i, "stay"): -1})
        eq({(i, "net"): 1, (i, "to"): -1, (i, "from"): 1})
    for a, b in (("up_out", "up_in"), ("down_out", "down_in")):
        eq({**{(i, a): 1 for i in range(len(rows))}, **{(i, b): -1 for i in range(len(rows))}})
    if lost is not None:
        eq({(i, "lost"): 1 for i in range(len(rows))}, lost)
    found = []
    for i, row in enumerate(rows):
        for c, text in zip(FLOW_COLUMNS, row[1:], strict=False):
            # net change is a difference, not a group: withheld with its group, but its own
            # value (e.g. 0 when every move of the row is a shown 0) reveals no customer
            if text.strip() not in (f"<{k}", FAILSAFE_MARKER) or c == "net":
                continue
            integer = [1] * len(names)
            lo, hi = _bounds_lp(
                len(names), [list(r) for r in a_eq], b_eq, bounds, integer, pos[(i, c)]
            )
            # a withheld cell pinned to 0 is a group of nobody: it reveals no customer
            found.append((row[0], c, lo, hi, hi - lo >= (k - 1) / 2 - 1e-6 or hi < 1))
    return found


class _Tables(HTMLParser):
    """Cell texts of every ``<table>`` of an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self.tables:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def tier_leaks(run_dir: Path) -> tuple[list, int]:
    """Withheld tier figures of every segmentation report's metrics.json that the attacker
    narrows below their protection interval, and how many it attacked."""
    files = sorted(Path(run_dir).glob("*/01_customer_segmentation/metrics.json"))
    assert files
    leaks, checked = [], 0
    for f in files:
        data = json.loads(f.read_text(encoding="utf-8"))
        reasons = data.pop("_reasons", {})
        # the report ran to the end: the tier figures and the sentence were published
        assert all(f"customer_share[tier={t}]" in data for t in TIERS), (f, sorted(data))
        assert "aum_share[tier_at_least=vip]" in data, f
        for key, lo, hi, ok in attack_tiers(data, reasons, K):
            checked += 1
            if not ok:
                leaks.append((str(f), key, lo, hi))
    return leaks, checked


def flow_leaks(run_dir: Path) -> tuple[list, int]:
    """The same for the tier-flow table of every segmentation report (with its
    ``lost_customers``)."""
    pages = sorted(Path(run_dir).glob("*/01_customer_segmentation.html"))
    assert pages
    leaks, checked = [], 0
    for page in pages:
        parser = _Tables()
        parser.feed(page.read_text(encoding="utf-8"))
        flows = [t for t in parser.tables if t and any("Upgraded out" in c for c in t[0])]
        assert len(flows) == 1, page
        metrics = json.loads((page.parent / page.stem / "metrics.json").read_text("utf-8"))
        rows = [r[:10] for r in flows[0][1:] if r]
        for found in attack_flows(rows, K, lost=metrics.get("lost_customers")):
            checked += 1
            if not found[4]:
                leaks.append((page.parent.name, *found))
    return leaks, checked


# --------------------------------------------------------------------------- across reports


def attack_region_totals(
    regions: dict[str, float | None],
    reasons: dict[str, str],
    echelon_of: dict[str, object],
    echelons: dict[object, float | None],
    bank: float | None,
    k: int,
) -> list[tuple[str, float, float, bool]]:
    """Every withheld region total of a run: (region, lower, upper, safe).

    What the attacker combines: each region's customer total as any report of the run
    publishes it (its own reports, the overview's ``customers[region=R]``), the echelons'
    totals and the bank's (the overview). ``None`` is withheld; ``reasons`` says how (``"fewer
    than"``: 1 to k - 1, else at least k). Relations: each echelon is the sum of its regions,
    the bank the sum of the echelons.
    """
    names = [*(f"r:{r}" for r in regions), *(f"e:{e}" for e in echelons), "bank"]
    pos = {n: i for i, n in enumerate(names)}
    bounds = []
    for r, v in regions.items():
        if v is not None:
            bounds.append((v, v))
        else:
            bounds.append((1, k - 1) if "fewer than" in reasons.get(r, "") else (k, None))
    for v in [*echelons.values(), bank]:
        bounds.append((v, v) if v is not None else (0, None))
    a_eq, b_eq = [], []
    for e in echelons:
        row = np.zeros(len(names))
        row[pos[f"e:{e}"]] = -1
        for r in regions:
            if echelon_of[r] == e:
                row[pos[f"r:{r}"]] = 1
        a_eq.append(row)
        b_eq.append(0.0)
    row = np.zeros(len(names))
    row[pos["bank"]] = -1
    for e in echelons:
        row[pos[f"e:{e}"]] = 1
    a_eq.append(row)
    b_eq.append(0.0)
    found = []
    for r, v in regions.items():
        if v is not None or "fewer than" not in reasons.get(r, ""):
            continue
        lo, hi = _bounds_lp(
            len(names), [list(x) for x in a_eq], b_eq, bounds, [1] * len(names), pos[f"r:{r}"]
        )
        found.append((r, lo, hi, hi - lo >= (k - 1) / 2 - 1e-6))
    return found


def _metrics(path: Path) -> tuple[dict, dict]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return data, data.pop("_reasons", {}) or {}


def read_run(run_dir: Path) -> tuple[dict, dict, dict, dict]:
    """What a run publishes in ``metrics.json``: ``(per_region, echelon_of, overview,
    overview_reasons)``; ``per_region[R]`` lists ``(values, reasons, notebook)`` of each of the
    region's reports, ``echelon_of`` every region of the manifest with its echelon."""
    run_dir = Path(run_dir)
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    overview_files = sorted(run_dir.glob("*/00_bank_overview/metrics.json"))
    assert overview_files, "the run has no overview"
    ov, ov_why = _metrics(overview_files[0])
    per_region: dict[str, list[tuple[dict, dict, str]]] = {}
    for job in manifest.get("jobs", []):
        rid = job.get("region_id")
        html = job.get("html")
        if rid is None or not html:
            continue
        f = run_dir / Path(html).with_suffix("") / "metrics.json"
        if f.exists():
            data, why = _metrics(f)
            per_region.setdefault(str(rid), []).append((data, why, job["notebook"]))
    echelon_of = {
        str(r["region_id"]): int(str(r.get("echelon")).split()[0])  # "1 (central city)"
        for r in manifest.get("regions", [])
    }
    return per_region, echelon_of, ov, ov_why


def cross_report_leaks(
    run_dir: Path,
    k: int = K,
    region_aum: dict[str, float] | None = None,
    region_fte: dict[tuple[str, str], float] | None = None,
    echelon_of: dict[str, int] | None = None,
) -> tuple[list, int]:
    """Read every report of a run (00 overview and each region's reports) and combine them.

    Four attacks: (1) a figure one report withholds and another prints (the region's own key
    ``kpi`` against the overview's ``kpi[region=R]``, and between the region's reports); (2)
    the region totals by linear programming over the regions', echelons' and bank's totals
    (:func:`attack_region_totals`); (3) the tier-mix scope bars every 01 records
    (:func:`scope_bar_leaks`: the echelon's and the bank's customer and AUM shares against
    every region's published tier figures; the AUM shares only with ``region_aum``, each
    region's AUM taken as published); (4) 03's productivity trends every 03 records
    (:func:`trend_leaks`, with ``region_fte``: each region's staff FTE per month, which its
    outlet tables publish). ``echelon_of``: every region of the bank and its echelon (the
    bank's structure, public; default: the manifest's regions, i.e. the run's only, with which
    the attacks over echelons and the bank cannot be set up when the run leaves regions out).
    Returns the leaks and how many withheld figures were attacked.
    """
    per_region, manifest_regions, ov, ov_why = read_run(run_dir)
    manifest_regions |= dict(echelon_of or {})
    leaks, checked = [], 0
    for rid, reports in per_region.items():
        published: dict[str, tuple[float, str]] = {}
        withheld: dict[str, str] = {}
        for data, why, nb in reports:
            for key, v in data.items():
                if "[" in key:
                    continue  # breakdowns of a region report are the report's own tables
                if v is None and str(why.get(key, "")).startswith("withheld"):
                    withheld[key] = nb
                elif isinstance(v, int | float):
                    published[key] = (v, nb)
        for key, v in ov.items():
            if key.endswith(f"[region={rid}]") and key.count("=") == 1:
                plain = key.split("[")[0]
                if v is None and str(ov_why.get(key, "")).startswith("withheld"):
                    withheld.setdefault(plain, "00_bank_overview")
                elif isinstance(v, int | float):
                    published.setdefault(plain, (v, "00_bank_overview"))
        for key, nb in withheld.items():
            checked += 1
            if key in published:
                leaks.append((rid, key, f"withheld in {nb}", f"printed in {published[key][1]}"))
    # region totals
    echelon_of = dict(manifest_regions)
    regions: dict[str, float | None] = {}
    reasons: dict[str, str] = {}
    for key, v in ov.items():
        if key.startswith("customers[region="):
            rid = key.split("=")[1].rstrip("]")
            regions[rid] = v
            reasons[rid] = str(ov_why.get(key, ""))
    echelons = {
        int(key.split("=")[1].rstrip("]")): v
        for key, v in ov.items()
        if key.startswith("customers[echelon=")
    }
    if regions and echelons and all(r in echelon_of for r in regions):
        for rid, reports in per_region.items():  # the region's own reports, when they print it
            for data, _, _ in reports:
                if regions.get(rid) is None and isinstance(data.get("customers"), int | float):
                    regions[rid] = data["customers"]
        # the manifest names an echelon "1 (central city)"; the overview keys it echelon=1
        echelon_of = {r: int(str(echelon_of[r]).split()[0]) for r in regions}
        for found in attack_region_totals(
            regions, reasons, echelon_of, echelons, ov.get("customers"), k
        ):
            checked += 1
            if not found[3]:
                leaks.append(found)
    for more, n in (
        scope_bar_leaks(per_region, manifest_regions, ov, ov_why, k, region_aum),
        trend_leaks(per_region, manifest_regions, k, region_fte),
    ):
        leaks += more
        checked += n
    return leaks, checked


# --------------------------------------------------------------------------- per-unit money


def attack_unit_money(
    shown: dict[str, float | None], total: float | None, level: float = MONEY_WIDTH
) -> dict[str, tuple[float, float]]:
    """Bounds on every withheld money cell of a per-unit column (the upgrade table's AUM gap
    per outlet): ``shown`` is each unit's published figure (``None`` withheld), ``total`` the
    region's published total (``None`` withheld). The units add up to the total; money is
    non-negative. Returns ``{unit: (lower, upper)}``; a cell of true value ``v`` is protected
    when ``lower <= v (1 - level)`` and ``upper >= v (1 + level)``.
    """
    units = list(shown)
    names = [*units, "total"]
    bounds = [(v, v) if v is not None else (0, None) for v in shown.values()]
    bounds.append((total, total) if total is not None else (0, None))
    row = [1.0] * len(units) + [-1.0]
    out = {}
    for i, u in enumerate(units):
        if shown[u] is None:
            out[u] = _bounds_lp(len(names), [row], [0.0], bounds, [0] * len(names), i)
    return out


# --------------------------------------------------------------------------- tier-mix bars


def attack_scope_shares(
    region_counts: dict[str, dict[str, float | None]],
    region_totals: dict[str, float],
    scope_shares: dict[str, float | None],
    scope_total: float | None,
    k: int,
) -> list[tuple[str, str, float, float, bool]]:
    """Every withheld tier count of the regions of a scope (echelon or bank), attacked with the
    scope's tier shares of the tier-mix chart read exactly (its data, as the chart is built).

    ``region_counts[r][t]``: the count region ``r``'s report publishes for tier ``t`` (``None``
    when withheld: 1..k-1 if ``region_totals`` says nothing else; the attacker takes
    ``None`` as at least 0, the weakest reading); ``region_totals``: each region's published
    total; ``scope_shares[t]``: the scope's customer share of tier ``t`` (``None`` withheld);
    ``scope_total``: the scope's published total (``None``: unknown, a variable). Relations:
    each region's tiers add up to its total; ``sum_r n[r, t] - share_t * N = 0`` for every
    shown share (linear in the counts and ``N``). Returns (region, tier, lower, upper, safe)
    for every withheld count whose true value the caller knows to be small.
    """
    found = _scope_bounds(region_counts, region_totals, scope_shares, scope_total)
    return [(r, t, lo, hi, hi - lo >= (k - 1) / 2 - 1e-6) for r, t, lo, hi in found]


def attack_scope_aum_shares(
    region_aum: dict[str, dict[str, float | None]],
    region_totals: dict[str, float | None],
    scope_shares: dict[str, float | None],
    scope_total: float | None,
    true: dict[tuple[str, str], float] | None,
    level: float = MONEY_WIDTH,
) -> list[tuple[str, str, float, float, bool]]:
    """Every withheld tier AUM of the regions of a scope, attacked with the scope's AUM shares
    of the tier-mix chart read exactly: :func:`attack_scope_shares` with money for counts.

    ``region_aum[r][t]``: the tier AUM region ``r``'s report publishes (``None`` withheld, at
    least 0); ``region_totals``: each region's AUM total (taken as published, the strongest
    reading; ``None`` where the run withholds it); ``scope_shares[t]``: the scope's AUM share of tier ``t`` (``None`` withheld);
    ``scope_total``: the scope's AUM (``None``: a variable, so only the ratios of the shares
    count); ``true[(r, t)]``: the real value of each withheld cell that needs protection (a
    primary cell: small group or dominance); a withheld cell missing from ``true`` is a
    secondary one and is bounded but not judged, as statistical offices set protection
    intervals for primary cells only. Returns (region, tier,
    lower, upper, safe); a cell of true value ``v`` is safe when ``lower <= v (1 - level)``
    and ``upper >= v (1 + level)``. With ``true=None`` (what a reader of the run knows) a
    cell is unsafe when its interval is narrower than ``level`` times its upper end.
    """
    # in millions: equalities of figures near 1e9 with float rounding make HiGHS call exact
    # published relations infeasible at its absolute tolerance
    found = _scope_bounds(region_aum, region_totals, scope_shares, scope_total, scale=1e6)
    out = []
    for r, t, lo, hi in found:
        if true is not None and (r, t) not in true:
            continue  # a secondary cell: withheld to protect another, no interval of its own
        if true is None:  # the attacker's own reading: pinned to within ``level`` of the top
            out.append((r, t, lo, hi, not (np.isfinite(hi) and hi - lo < level * hi - 1e-9)))
            continue
        v = true[(r, t)]
        out.append((r, t, lo, hi, lo <= v * (1 - level) + 1e-6 and hi >= v * (1 + level) - 1e-6))
    return out


def _scope_bounds(
    region_cells: dict[str, dict[str, float | None]],
    region_totals: dict[str, float | None],
    scope_shares: dict[str, float | None],
    scope_total: float | None,
    scale: float = 1.0,
) -> list[tuple[str, str, float, float]]:
    """(region, tier, lower, upper) of every withheld cell (a tier missing from
    ``region_cells[r]`` is withheld): each region's tiers add up to its total (when known);
    ``sum_r x[r, t] - share_t * N = 0`` for every shown share (linear in the cells and the
    scope's total ``N``, a variable when ``scope_total`` is ``None``). The programme is solved
    in units of ``scale`` (money in millions) and the bounds returned in the cells' units."""
    region_cells = {
        r: {t: (None if v is None else v / scale) for t, v in cells.items()}
        for r, cells in region_cells.items()
    }
    region_totals = {r: (None if v is None else v / scale) for r, v in region_totals.items()}
    scope_total = None if scope_total is None else scope_total / scale
    tiers = list(scope_shares)
    hidden = [(r, t) for r in region_cells for t in tiers if region_cells[r].get(t) is None]
    names = [*hidden, "N"]
    pos = {n: i for i, n in enumerate(names)}
    bounds = [(0, None)] * len(hidden)
    bounds.append((scope_total, scope_total) if scope_total is not None else (0, None))
    a_eq, b_eq = [], []
    for r in region_cells:
        row = np.zeros(len(names))
        known = 0.0
        for t in tiers:
            v = region_cells[r].get(t)
            if v is None:
                row[pos[(r, t)]] = 1
            else:
                known += v
        if row.any() and region_totals.get(r) is not None:
            a_eq.append(row)
            b_eq.append(region_totals[r] - known)
    for t in tiers:
        s = scope_shares[t]
        if s is None:
            continue
        row = np.zeros(len(names))
        row[pos["N"]] = -s
        known = 0.0
        for r in region_cells:
            v = region_cells[r].get(t)
            if v is None:
                row[pos[(r, t)]] = 1
            else:
                known += v
        a_eq.append(row)
        b_eq.append(-known)
    found = []
    for r, t in hidden:
        lo, hi = _bounds_lp(
            len(names), [list(x) for x in a_eq], b_eq, bounds, [0] * len(names), pos[(r, t)]
        )
        found.append((r, t, lo * scale, hi * scale))
    return found


_BAR_KEY = re.compile(
    r"^(customer_share|aum_share)\[(?:(echelon=[^,\]]+|level=bank),)?tier=([a-z_]+)\]$"
)


def _tier_figures(data: dict) -> tuple[dict, dict]:
    """A 01 ``metrics.json``'s tier shares: ``({kind: {tier: share}}`` of the region,
    ``{(kind, scope): {tier: share}}`` of the scope bars); ``kind`` is ``customer_share`` or
    ``aum_share``, ``scope`` ``echelon=<e>`` or ``level=bank``."""
    own: dict[str, dict[str, float | None]] = {}
    bars: dict[tuple[str, str], dict[str, float | None]] = {}
    for key, v in data.items():
        m = _BAR_KEY.match(key)
        if m is None:
            continue
        kind, scope, tier = m.groups()
        where = own.setdefault(kind, {}) if scope is None else bars.setdefault((kind, scope), {})
        where[tier] = v
    return own, bars


def scope_bar_leaks(
    per_region: dict[str, list[tuple[dict, dict, str]]],
    echelon_of: dict[str, object],
    ov: dict,
    ov_why: dict,
    k: int,
    region_aum: dict[str, float] | None = None,
) -> tuple[list, int]:
    """The tier-mix scope bars every 01 of a run records (``customer_share[echelon=<e>,
    tier=..]``, ``customer_share[level=bank,tier=..]``, the same for ``aum_share``), each
    attacked with every region's tier figures as the run publishes them.

    A region with a 01 report publishes its tier counts (its ``customer_share[tier=..]``
    times its ``customers``) and its tier AUM (``aum_share[tier=..]`` times its AUM, taken
    from ``region_aum``: the strongest reading); a region without one is unknown (its tiers
    variables, its customer total the overview's ``customers[region=R]`` when printed). The
    scope's customer total is the overview's (``customers[echelon=<e>]``, ``customers``) or a
    variable; its AUM the sum of ``region_aum`` or a variable (only the ratios of the shares).
    Judged: every tier count a region withholds as a small group (:func:`attack_scope_shares`)
    and every tier AUM it withholds as small or dominated (:func:`attack_scope_aum_shares`,
    unsafe when the interval is narrower than :data:`MONEY_WIDTH` of its upper end). Returns
    ``(leaks, attacked)``.
    """
    counts: dict[str, dict[str, float | None]] = {}
    money: dict[str, dict[str, float | None]] = {}
    totals: dict[str, float | None] = {r: ov.get(f"customers[region={r}]") for r in echelon_of}
    judged: dict[str, set[tuple[str, str]]] = {"customer_share": set(), "aum_share": set()}
    bars: list[tuple[str, str, str, dict]] = []
    for rid, reports in per_region.items():
        for data, why, nb in reports:
            if nb != "01_customer_segmentation":
                continue
            own, scoped = _tier_figures(data)
            n = data.get("customers")
            if isinstance(n, int | float):
                totals[rid] = float(n)
            a = (region_aum or {}).get(rid)
            counts[rid] = {
                t: None if v is None or totals.get(rid) is None else float(round(v * totals[rid]))
                for t, v in own.get("customer_share", {}).items()
            }
            money[rid] = {
                t: None if v is None or a is None else v * a
                for t, v in own.get("aum_share", {}).items()
            }
            for kind in judged:
                for t, v in own.get(kind, {}).items():
                    reason = str(why.get(f"{kind}[tier={t}]", ""))
                    if v is None and ("fewer than" in reason or "dominated" in reason):
                        if kind == "aum_share" or "fewer than" in reason:
                            judged[kind].add((rid, t))
            bars += [(rid, kind, scope, shares) for (kind, scope), shares in scoped.items()]
    leaks, checked = [], 0
    for rid, kind, scope, shares in bars:
        if scope == "level=bank":
            members, n_scope = list(echelon_of), ov.get("customers")
        else:
            e = scope.split("=")[1]
            members = [q for q, x in echelon_of.items() if str(x) == e]
            n_scope = ov.get(f"customers[echelon={e}]")
        if kind == "customer_share":
            cells = {q: counts.get(q, {}) for q in members}
            found = attack_scope_shares(
                cells, {q: totals.get(q) for q in members}, shares, n_scope, k
            )
        else:
            if region_aum is None:
                continue
            cells = {q: money.get(q, {}) for q in members}
            aum = {q: region_aum.get(q) for q in members}
            known = sum(aum.values()) if all(v is not None for v in aum.values()) else None
            found = []
            for total in dict.fromkeys((known, None)):
                found += attack_scope_aum_shares(cells, aum, shares, total, None)
        for q, t, lo, hi, ok in found:
            if (q, t) not in judged[kind]:
                continue
            checked += 1
            if not ok:
                leaks.append((rid, f"{kind}[{scope}]", q, t, lo, hi))
    return leaks, checked


def attack_unit_counts(
    shown: dict[str, str], total: float | None, k: int
) -> dict[str, tuple[float, float]]:
    """Bounds on every ``<k`` count of a per-unit column (the pipeline's candidates per
    outlet of one target tier): ``shown`` is each unit's published cell text (a number, ``<k``
    or ``x``), ``total`` the region's published count (``None`` withheld). The units add up to
    the total. Returns ``{unit: (lower, upper)}``; a ``<k`` cell is protected when the
    interval is at least ``(k - 1) / 2`` wide.
    """
    units = list(shown)
    bounds = [_cell_bounds(v, k) for v in shown.values()]
    bounds.append((total, total) if total is not None else (0, None))
    row = [1.0] * len(units) + [-1.0]
    out = {}
    for i, u in enumerate(units):
        if shown[u].strip() == f"<{k}":
            out[u] = _bounds_lp(len(bounds), [row], [0.0], bounds, [1] * len(bounds), i)
    return out


# --------------------------------------------------------------------------- tables read together


def read_cell(text: str, k: int) -> float | str | None:
    """A published table cell for :func:`attack_linear`: a number, ``"<k"`` (1 to ``k - 1``
    customers) or ``None`` (withheld, ``"x"``)."""
    if text == f"<{k}":
        return "<k"
    if text == "x":
        return None
    return float(str(text).replace(",", ""))


def attack_linear(
    cells: dict[str, float | str | None], relations: list[dict[str, float]], k: int
) -> dict[str, tuple[float, float]]:
    """Bounds on every withheld cell given everything published: ``cells`` maps each cell to
    its published value (``"<k"``: a count of 1 to ``k - 1``; ``None``: withheld, at least 0);
    each relation ``{cell: coefficient}`` sums to 0 (a total is a cell with coefficient -1),
    e.g. an outlet's upgrade-table figure minus its pipeline rows. Counts (integers; ``"<k"``
    bounds them) are the cells whose name starts with ``n:``, money (``"<k"`` only says
    withheld) the others. Returns ``{cell: (lower, upper)}`` for every cell
    not published as a number. Money is solved in millions when no relation mixes it with
    counts (HiGHS calls exact relations of figures near 1e10 with float rounding infeasible
    at its absolute tolerance)."""
    mixed = any(len({c.startswith("n:") for c in rel if rel[c]}) > 1 for rel in relations)
    unit = 1.0 if mixed else 1e6

    def scaled(c: str) -> float:
        return float(cells[c]) if c.startswith("n:") else float(cells[c]) / unit

    hidden = [c for c, v in cells.items() if not isinstance(v, float | int)]
    pos = {c: i for i, c in enumerate(hidden)}
    bounds = [(1, k - 1) if cells[c] == "<k" and c.startswith("n:") else (0, None) for c in hidden]
    integer = [int(c.startswith("n:")) for c in hidden]
    a_eq, b_eq = [], []
    for rel in relations:
        row = [0.0] * len(hidden)
        rhs = 0.0
        for c, coef in rel.items():
            if c in pos:
                row[pos[c]] += coef
            else:
                rhs -= coef * scaled(c)
        if any(row):
            a_eq.append(row)
            b_eq.append(rhs)
    out = {}
    for c in hidden:
        lo, hi = _bounds_lp(len(hidden), a_eq, b_eq, bounds, integer, pos[c])
        f = 1.0 if c.startswith("n:") else unit
        out[c] = (lo * f, hi * f)
    return out


# --------------------------------------------------------------------------- 03's trend levels

#: What 03's trends publish per level and month (chart: customers and sales per FTE; the
#: sentences: AUM per FTE) and the figure each gives back times the level's staff FTE.
LEVEL_FIGURES: dict[str, str] = {
    "customers_per_fte": "customers",
    "sales_per_fte": "sales_total",
    "aum_per_fte": "aum",
}


def attack_levels(
    published: dict[str, pd.DataFrame],
    echelon: dict[str, int],
    fte: dict[tuple[str, str], float],
    k: int,
) -> list[tuple[str, str, str, float, float]]:
    """Bounds on every region month a region's 03 trends withhold, from every region's 03.

    ``published`` maps each region with a 03 report to its trends as 03 shows them (``month,
    level`` and the
    :data:`LEVEL_FIGURES` ratios, NaN when withheld (``withheld`` True: the note under the
    chart names the month) or not measured; the region's own level first, then
    ``"echelon <e>"`` when shown and ``"whole bank"``); ``fte`` is each ``(region, month)``'s
    staff FTE (every outlet table publishes its outlets' FTE, so the attacker adds them up).
    A ratio times the level's FTE is the level's figure (linear); the regions of an echelon add
    up to it and the echelons to the bank. A withheld month of a region says it has 1 to
    ``k - 1`` customers (``"<k"``); its sales and AUM, and a figure not measured, are at least
    0. Returns
    ``(region, month, figure, lower, upper)`` for every withheld region figure.
    """
    found = []
    months = sorted({str(m) for f in published.values() for m in f["month"]})
    regions = [*published, *(q for q in echelon if q not in published)]  # unreported: unknown
    for month in months:
        for ratio, figure in LEVEL_FIGURES.items():
            cells: dict[str, float | str | None] = {}
            relations: list[dict[str, float]] = []
            scope_cells: dict[str, float | None] = {}
            for r, frame in published.items():
                rows = frame[frame["month"].astype(str) == month]
                if rows.empty or ratio not in rows.columns:
                    continue
                flags = rows["withheld"] if "withheld" in rows else pd.Series(False, rows.index)
                for level, value, hidden in zip(
                    rows["level"].astype(str), rows[ratio], flags, strict=True
                ):
                    if level == "whole bank" or level.startswith("echelon "):
                        members = (
                            regions
                            if level == "whole bank"
                            else [q for q in regions if f"echelon {echelon[q]}" == level]
                        )
                        staff = sum(fte.get((q, month), 0.0) for q in members)
                        if not pd.isna(value):
                            scope_cells[level] = float(value) * staff
                        else:
                            scope_cells.setdefault(level, None)
                    else:
                        name = f"{'n:' if figure == 'customers' else ''}{figure}[{r}]"
                        if pd.isna(value):  # withheld (the note names it) or not measured
                            cells[name] = "<k" if hidden else None
                        else:
                            v = float(value) * fte.get((r, month), 0.0)
                            cells[name] = float(round(v)) if figure == "customers" else v
            prefix = "n:" if figure == "customers" else ""
            for level, v in scope_cells.items():
                cells[f"{prefix}{figure}[{level}]"] = v
            members_of = {
                f"echelon {e}": [q for q in regions if echelon[q] == e]
                for e in sorted(set(echelon.values()))
            }
            for level, members in members_of.items():
                key = f"{prefix}{figure}[{level}]"
                if key in cells:
                    relations.append({key: -1.0} | {f"{prefix}{figure}[{q}]": 1.0 for q in members})
            bank = f"{prefix}{figure}[whole bank]"
            if bank in cells:
                relations.append({bank: -1.0} | {f"{prefix}{figure}[{q}]": 1.0 for q in regions})
            missing = [q for q in regions if f"{prefix}{figure}[{q}]" not in cells]
            if missing:  # a region without a report this month: unknown, at least 0
                cells |= {f"{prefix}{figure}[{q}]": None for q in missing}
            bounds = attack_linear(cells, relations, k)
            for r in regions:
                name = f"{prefix}{figure}[{r}]"
                if cells.get(name) == "<k":
                    found.append((r, month, figure, *bounds[name]))
    return found


def level_leaks(found: list[tuple[str, str, str, float, float]], k: int) -> list:
    """The bounds of :func:`attack_levels` that give a withheld figure back: a count whose
    interval does not cover 1 .. ``k - 1``, a money figure (sales, AUM) pinned to within
    :data:`MONEY_WIDTH` of its upper end."""
    out = []
    for r, month, figure, lo, hi in found:
        if figure == "customers":
            leak = lo > 1 + 1e-6 or hi < k - 1 - 1e-6
        else:
            leak = np.isfinite(hi) and hi - lo < MONEY_WIDTH * hi
        if leak:
            out.append((r, month, figure, lo, hi))
    return out


_TREND_KEY = re.compile(
    r"^(customers_per_fte|sales_per_fte|aum_per_fte)\[(?:(echelon=[^,\]]+|level=bank),)?"
    r"month=([^\]]+)\]$"
)


def trend_leaks(
    per_region: dict[str, list[tuple[dict, dict, str]]],
    echelon_of: dict[str, object],
    k: int,
    region_fte: dict[tuple[str, str], float] | None,
) -> tuple[list, int]:
    """03's productivity trends as every 03 of a run records them (``<ratio>[month=..]`` of the
    region, ``[echelon=<e>,month=..]``, ``[level=bank,month=..]``), read together by
    :func:`attack_levels` with every region's staff FTE per month (``region_fte[(region,
    month)]``, which the outlet tables publish; ``None``: the attack needs it and is
    skipped). A region without a 03 report in the run is unknown. Returns ``(leaks,
    attacked)``: the withheld region months :func:`level_leaks` finds narrowed, and how many
    region figures were attacked."""
    if region_fte is None:
        return [], 0
    published: dict[str, pd.DataFrame] = {}
    for rid, reports in per_region.items():
        for data, why, nb in reports:
            if nb != "03_outlet_benchmarking":
                continue
            rows: dict[tuple[str, str], dict] = {}
            for key, v in data.items():
                m = _TREND_KEY.match(key)
                if m is None:
                    continue
                ratio, scope, month = m.groups()
                level = rid if scope is None else (
                    "whole bank" if scope == "level=bank" else f"echelon {scope.split('=')[1]}"
                )  # fmt: skip
                row = rows.setdefault((month, level), {"month": month, "level": level})
                row[ratio] = np.nan if v is None else float(v)
                if v is None and "fewer than" in str(why.get(key, "")):
                    row["withheld"] = True
            if rows:
                frame = pd.DataFrame(list(rows.values()))
                published[rid] = frame.assign(
                    withheld=frame.get("withheld", pd.Series(False, frame.index))
                    .fillna(False)
                    .astype(bool)
                )
    if not published:
        return [], 0
    echelon = {str(r): int(e) for r, e in echelon_of.items()}
    found = attack_levels(published, echelon, region_fte, k)
    return [("trend", *f) for f in level_leaks(found, k)], len(found)


# --------------------------------------------------------------------------- every HTML table of a run

#: Tables that are not data (the report's parameters).
_SKIP_CLASSES = ("params",)
#: A column (or, in a long table, a row's KPI) whose figures do not add up over units: rates,
#: ratios, averages, ranks, scores, model figures, changes in percent.
NON_ADDITIVE = re.compile(
    r"(\bper\b|rate|ratio|average|mean|median|quartile|rank|score|share|%|efficiency|auc|"
    r"lift|capture|calibration|silhouette|stability|growth|coverage|retention|probability|"
    r"against|index|conversion|attainment|segments|months|per customer|per staff|adequacy|"
    r"\bpp\b|managers|gaps?\b|products held|on pace)",
    re.IGNORECASE,
)
#: Row labels that are totals of the rows beneath them, by level (bank > echelon > region).
_TOTAL_LEVELS = (
    (3, re.compile(r"^(the bank|whole bank|bank|total|all|all outlets)$", re.IGNORECASE)),
    (2, re.compile(r"^echelon \d+$", re.IGNORECASE)),
)
_NUMBER = re.compile(
    r"^(?P<sign>[+\-−]?)(?P<num>\d{1,3}(?:,\d{3})*|\d+)(?:\.(?P<dec>\d+))?"
    r"(?:\s*(?P<mult>k|m|bn)\b)?\s*(?P<unit>%|pp|min|products|[A-Z]{3})?$"
)
_MULT = {None: 1.0, "k": 1e3, "m": 1e6, "bn": 1e9}


def _norm(text: str) -> str:
    """A label as the attacker compares it: case, spaces and the anchor mark ignored."""
    return " ".join(str(text).replace("¶", " ").replace("\xa0", " ").split()).lower()


def read_figure(text: str, k: int = K) -> tuple[str, float, float, str]:
    """What one published table cell says: ``(kind, lower, upper, unit)``.

    ``kind`` is ``"number"`` (the shown figure with its rounding: ``1,234`` is 1,233.5 ..
    1,234.5, ``12.3%`` is 12.25 .. 12.35 in percent), ``"small"`` (``<k``: 1 to ``k - 1``),
    ``"x"`` (withheld, not small) or ``"text"`` (a name, ``n/a``, a range, a tie mark; also
    ``withheld``: the fail-safe's marker is the word the plan tables print as a status, so the
    HTML attacker leaves it unread -- :func:`attack_flows` reads it in the flow table).

    Examples
    --------
    >>> read_figure("1,234")
    ('number', 1233.5, 1234.5, '')
    >>> read_figure("<10")[0], read_figure("x")[0], read_figure("n/a (no data)")[0]
    ('small', 'x', 'text')
    """
    t = " ".join(str(text).replace("\xa0", " ").split())
    if t == f"<{k}":
        return "small", 1.0, float(k - 1), ""
    if t == "x":
        return "x", 0.0, np.inf, ""
    m = _NUMBER.match(t)
    if m is None:
        return "text", np.nan, np.nan, ""
    v, half = number_value(m)
    return "number", v - half, v + half, m.group("unit") or ""


def number_value(m: re.Match) -> tuple[float, float]:
    """A printed number's value and half its rounding step, from a match with the groups
    ``sign``, ``num``, ``dec`` and ``mult`` (:data:`_NUMBER`; the prose attacker's pattern
    has the same groups)."""
    dec = m.group("dec") or ""
    mult = _MULT[m.group("mult")]
    v = float(m.group("num").replace(",", "") + ("." + dec if dec else "")) * mult
    if m.group("sign") in ("-", "−"):
        v = -v
    return v, 0.5 * 10.0 ** (-len(dec)) * mult


class HtmlTable:
    """One table of a published page: ``page`` (path in the run), ``number`` (its place on the
    page), ``section`` (the heading above it), ``caption``, ``header`` (one label per column,
    header rows joined) and ``rows`` (body rows, every cell's text, spans expanded)."""

    def __init__(self, page, number, ident, section, caption, header, rows):
        self.page, self.number, self.ident = page, number, ident
        self.section, self.caption = section, caption
        self.header, self.rows = header, rows

    @property
    def name(self) -> str:
        """``page#number (section: caption)`` for messages."""
        what = self.section + (f": {self.caption}" if self.caption else "")
        return f"{self.page}#{self.number} ({what})"

    def label_columns(self, k: int = K) -> int:
        """How many leading columns name the row (unit, KPI, period): those with a cell that is
        not a figure or a marker (at least the first)."""
        n = 1
        width = len(self.header)
        for j in range(1, width):
            # the fail-safe's marker is a figure withheld, not a label (a period column of
            # the overview's quarter table holds it beside figures)
            cells = [r[j] for r in self.rows if j < len(r) and r[j].strip()]
            cells = [c for c in cells if " ".join(c.split()) != FAILSAFE_MARKER]
            if cells and any(read_figure(c, k)[0] == "text" for c in cells):
                texts = [c for c in cells if read_figure(c, k)[0] == "text"]
                if all(not c.lower().startswith("n/a") for c in texts):
                    n = j + 1
                    continue
            break
        return n


class _PageTables(HTMLParser):
    """Every ``<table>`` of a page with its heading, caption, header rows and body rows."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[dict] = []
        self._stack: list[dict] = []
        self._cell: list[str] | None = None
        self._span = (1, 1)
        self._head_text: list[str] | None = None
        self._caption: list[str] | None = None
        self._in_head = False
        self.heading = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("h1", "h2", "h3", "h4") and not self._stack:
            self._head_text = []
        elif tag == "table":
            self._stack.append(
                {"id": a.get("id"), "cls": a.get("class") or "", "head": [], "body": [],
                 "section": self.heading, "caption": ""}
            )  # fmt: skip
        elif not self._stack:
            return
        elif tag == "caption":
            self._caption = []
        elif tag == "thead":
            self._in_head = True
        elif tag == "tbody":
            self._in_head = False
        elif tag == "tr":
            t = self._stack[-1]
            (t["head"] if self._in_head else t["body"]).append([])
        elif tag in ("td", "th"):
            self._cell = []
            self._span = (int(a.get("colspan") or 1), int(a.get("rowspan") or 1))
            self._tag = tag

    def handle_endtag(self, tag):
        if tag in ("h1", "h2", "h3", "h4") and self._head_text is not None:
            self.heading = " ".join("".join(self._head_text).replace("¶", " ").split())
            self._head_text = None
        elif tag == "caption" and self._caption is not None and self._stack:
            self._stack[-1]["caption"] = " ".join("".join(self._caption).split())
            self._caption = None
        elif tag in ("td", "th") and self._cell is not None and self._stack:
            t = self._stack[-1]
            rows = t["head"] if self._in_head else t["body"]
            if not rows:
                rows.append([])
            rows[-1].append(("".join(self._cell).strip(), *self._span, self._tag))
            self._cell = None
        elif tag == "thead":
            self._in_head = False
        elif tag == "table" and self._stack:
            self.found.append(self._stack.pop())

    def handle_data(self, data):
        for buf in (self._cell, self._head_text, self._caption):
            if buf is not None:
                buf.append(data)


def _expand(rows: list[list[tuple]]) -> list[list[str]]:
    """Rows of ``(text, colspan, rowspan, tag)`` as a grid of texts (spans repeated)."""
    grid: list[list[str]] = []
    carry: dict[int, tuple[str, int]] = {}  # column -> (text, rows left)
    for row in rows:
        out: list[str] = []
        cells = list(row)
        j = 0
        while cells or j in carry:
            if j in carry:
                text, left = carry[j]
                out.append(text)
                carry = {**carry, j: (text, left - 1)} if left > 1 else {
                    c: v for c, v in carry.items() if c != j
                }  # fmt: skip
                j += 1
                continue
            text, colspan, rowspan, _ = cells.pop(0)
            for _ in range(colspan):
                if rowspan > 1:
                    carry[j] = (text, rowspan - 1)
                out.append(text)
                j += 1
        grid.append(out)
    return grid


def page_tables(path: Path, run_dir: Path) -> list[HtmlTable]:
    """Every data table of one page of a run (the parameters table left out)."""
    parser = _PageTables()
    parser.feed(Path(path).read_text(encoding="utf-8"))
    page = str(Path(path).relative_to(run_dir))
    out = []
    for number, t in enumerate(parser.found):
        if any(c in t["cls"].split() for c in _SKIP_CLASSES):
            continue
        head, body = _expand(t["head"]), _expand(t["body"])
        if not head and body and all(c[3] == "th" for c in t["body"][0]):
            head, body = body[:1], body[1:]
        width = max([len(r) for r in head + body] or [0])
        header = []
        for j in range(width):
            parts = [r[j] for r in head if j < len(r) and r[j]]
            header.append(" ".join(dict.fromkeys(parts)))
        body = [r + [""] * (width - len(r)) for r in body if any(c.strip() for c in r)]
        if body:
            out.append(HtmlTable(page, number, t["id"], t["section"], t["caption"], header, body))
    return out


def run_tables(run_dir: Path) -> list[HtmlTable]:
    """Every data table of every HTML page of a run: the index, the overview, every region's
    reports (``kpis.html``, the KPI dictionary, holds no figure of the bank and is left out)."""
    run_dir = Path(run_dir)
    pages = [p for p in sorted(run_dir.rglob("*.html")) if p.name != "kpis.html"]
    return [t for p in pages for t in page_tables(p, run_dir)]


def _cells(table: HtmlTable, k: int):
    """``(row, column, unit, tokens, figure)`` of every figure cell of a table: ``unit`` the
    row's first label, ``tokens`` its labels and the column's header (normalised)."""
    n = table.label_columns(k)
    for i, row in enumerate(table.rows):
        labels = [_norm(c) for c in row[:n] if c.strip()]
        if not labels:
            continue
        for j in range(n, len(table.header)):
            fig = read_figure(row[j], k)
            if fig[0] != "text":
                yield i, j, labels[0], frozenset([*labels, _norm(table.header[j])]), fig


def _scope(page: str) -> str:
    """The region a page is about (its folder), ``""`` for the index and the overview."""
    parts = Path(page).parts
    return "" if len(parts) < 2 or parts[0] == "_bank" else parts[0]


def _comparable(page_a: str, page_b: str) -> bool:
    """Rows of two pages can name the same unit: pages of one region, or a region's page and
    a page of the whole run (index, overview). Two regions' pages name their own tiers,
    products and outlets (a tier of R01 is not the tier of R02)."""
    a, b = _scope(page_a), _scope(page_b)
    return a == b or not a or not b


#: A column that prints a change, a comparison or a target of a figure rather than the figure.
NOT_THE_FIGURE = re.compile(
    r"(on the month|on the year|\bgap\b|change|against|attainment|target|rank|share|\bper\b|%)",
    re.IGNORECASE,
)


def _may_be(a: tuple, b: tuple, tables: list[HtmlTable], k: int) -> bool:
    """Whether printed cell ``b`` can be withheld cell ``a`` when no unit tells (ambiguous):
    not when ``b``'s column is a change, comparison or target of the figure (unless it has
    ``a``'s header), nor when ``b``'s number is outside what ``a``'s marker says (``<k``: 1
    to ``k - 1``)."""
    head_a, head_b = _norm(tables[a[0]].header[a[2]]), _norm(tables[b[0]].header[b[2]])
    if head_a != head_b and NOT_THE_FIGURE.search(head_b):
        return False
    if a[5][0] == "small":
        return b[5][2] >= 1 - 1e-9 and b[5][1] <= k - 1 + 1e-9
    return True


def same_figure_leaks(tables: list[HtmlTable], k: int = K) -> dict[str, list]:
    """Attack A: a withheld cell printed as a number elsewhere in the run.

    A cell is its unit (the row's first label: an outlet, a region, a tier, a KPI) and its
    tokens (the row's labels and the column's header). For every withheld cell (``<k`` or
    ``x``) every table of the same region's pages, the overview and the index
    (:func:`_comparable`) is searched for a cell of the same unit printed as a number whose
    tokens hold the withheld cell's header (or the other way round): the outlet table's "New
    customers" of an outlet and the change table's row "outlet, New customers" under
    "2026-10"; a KPI row under a region's column and the region's row under the KPI's column.
    The two columns are taken to be the same figure only when the units both print agree
    within their rounding (at least one non-zero, none apart; compared over the cells matched the same
    way, i.e. the same two columns and the same shared labels): then the number is a
    ``leak``. Columns that print another value for a common unit hold another figure (a gap,
    another month, the bank's model instead of the region's) and are ``different``; columns
    without a common printed unit cannot be told apart and are ``ambiguous`` (for a reader
    to check) unless the printed number cannot be the withheld one (:func:`_may_be`: a change
    or a target column, a number outside the marker's range), then ``different``.

    Not compared: a column that is a change, a comparison or a target of the figure (another
    header matching :data:`NOT_THE_FIGURE`), and a unit printed in several rows under the
    header, in either table (the upgrade pipeline's rows per target tier of an outlet: parts of
    the outlet's figure in the upgrade list, counted in ``parts``; their sum is not modelled
    here).

    Returns ``{"leak": [...], "ambiguous": [...], "different": [...], "withheld": n,
    "parts": n, "printed": {(table index, row, column): (lower, upper)}}``; each list entry ``(withheld
    table, unit, header, marker, other table, printed text)``; ``printed`` is what the leaks
    give the attacker, for :func:`linear_leaks`.
    """
    by_unit: dict[str, list[tuple]] = {}
    withheld = []
    for ti, t in enumerate(tables):
        for i, j, unit, tokens, fig in _cells(t, k):
            cell = (ti, i, j, unit, tokens, fig)
            by_unit.setdefault(unit, []).append(cell)
            if fig[0] in ("small", "x"):
                withheld.append(cell)

    def matches(a: tuple, b: tuple) -> frozenset | None:
        """The labels two cells share besides their unit when they name the same figure."""
        (ta, _, ja, ua, tok_a, _), (tb, _, jb, ub, tok_b, _) = a, b
        if ta == tb or ua != ub or not _comparable(tables[ta].page, tables[tb].page):
            return None
        head_a, head_b = _norm(tables[ta].header[ja]), _norm(tables[tb].header[jb])
        if head_a != head_b and (NOT_THE_FIGURE.search(head_b) or NOT_THE_FIGURE.search(head_a)):
            return None  # a change, a comparison or a target of the figure, not the figure
        if head_a in tok_b or head_b in tok_a:
            return (tok_a & tok_b) - {ua}
        return None

    verdict: dict[tuple, str] = {}

    def same_figure(ta: int, ja: int, tb: int, jb: int, shared: frozenset) -> str:
        key = (ta, ja, tb, jb, shared)
        if key not in verdict:
            agree = apart = 0
            for a in [c for cs in by_unit.values() for c in cs if c[0] == ta and c[2] == ja]:
                if a[5][0] != "number":
                    continue
                for b in by_unit[a[3]]:
                    if b[0] != tb or b[2] != jb or b[5][0] != "number":
                        continue
                    if matches(a, b) != shared:
                        continue
                    f, g = a[5], b[5]
                    if not (f[1] <= g[2] + 1e-9 and g[1] <= f[2] + 1e-9):
                        apart += 1
                    elif f[1] > 0 or f[2] < 0:  # two zeros agree whatever the figures are
                        agree += 1
            verdict[key] = "different" if apart else ("leak" if agree else "ambiguous")
        return verdict[key]

    out: dict[str, list] = {"leak": [], "ambiguous": [], "different": []}
    printed: dict[tuple[int, int, int], tuple[float, float]] = {}
    parts = 0
    for a in withheld:
        ta, ia, ja, unit, _, fig_a = a
        twins = [(b, matches(a, b)) for b in by_unit[unit]]
        twins = [(b, shared) for b, shared in twins if shared is not None]
        per_column: dict[tuple[int, int, frozenset], int] = {}
        for b, shared in twins:
            per_column[(b[0], b[2], shared)] = per_column.get((b[0], b[2], shared), 0) + 1
        for b, shared in twins:
            if b[5][0] != "number":
                continue
            mine = [c for c in by_unit[unit] if c[0] == ta and c[2] == ja]
            if (
                per_column[(b[0], b[2], shared)] > 1
                or sum(matches(c, b) is not None for c in mine) > 1
            ):
                parts += 1  # several rows of the unit under one header: parts, not the figure
                continue
            kind = same_figure(ta, ja, b[0], b[2], shared)
            if kind == "ambiguous" and not _may_be(a, b, tables, k):
                kind = "different"
            if kind == "leak":
                printed[(ta, ia, ja)] = (b[5][1], b[5][2])
            row_a = tables[ta].rows[ia]
            out[kind].append(
                (tables[ta].name, unit, tables[ta].header[ja], row_a[ja], tables[b[0]].name,
                 f"{' / '.join(sorted(b[4]))}: {tables[b[0]].rows[b[1]][b[2]]}")
            )  # fmt: skip
    out["withheld"] = len(withheld)  # type: ignore[assignment]
    out["parts"] = parts  # type: ignore[assignment]
    out["printed"] = printed  # type: ignore[assignment]
    return out


_CURRENCY_HEADER = re.compile(r"\(([A-Z]{3})\)")


_LEVEL_NAMES = {0: "unit", 1: "region", 2: "echelon", 3: "bank (total)"}


def _level(label: str, regions: set[str]) -> int:
    """How high a row stands: 3 the bank (or a total), 2 an echelon, 1 a region, 0 a unit."""
    for level, pattern in _TOTAL_LEVELS:
        if pattern.match(label):
            return level
    return 1 if _norm(label) in regions else 0


def _series(table: HtmlTable, k: int):
    """``(column, group labels, {row: figure})`` of every column of a table per group of rows
    (a long table's rows of one KPI and period; a plain table has one group)."""
    n = table.label_columns(k)
    for j in range(n, len(table.header)):
        groups: dict[tuple, dict[int, tuple]] = {}
        for i, row in enumerate(table.rows):
            groups.setdefault(tuple(row[1:n]), {})[i] = read_figure(row[j], k)
        for g, figs in groups.items():
            yield j, g, figs


def _kind(table: HtmlTable, j: int, group: tuple, figs: dict[int, tuple]) -> str | None:
    """``"count"`` or ``"money"`` for a series that adds up over units, ``"share"`` for a
    "share of" column in percent, ``None`` for anything else (rates, ratios, text)."""
    head = table.header[j]
    numbers = [f for f in figs.values() if f[0] == "number"]
    if any(f[0] == "text" for f in figs.values()):
        return None
    if re.match(r"^share of", _norm(head)) and all(f[3] == "%" for f in numbers):
        return "share"
    if NON_ADDITIVE.search(head) or any(NON_ADDITIVE.search(str(g)) for g in group):
        return None
    money = bool(_CURRENCY_HEADER.search(head)) or any(len(f[3]) == 3 for f in numbers)
    if money and all(f[3] in ("", *[u for u in [f[3]] if len(u) == 3]) for f in numbers):
        return "money"
    if all(f[3] == "" and f[2] - f[1] == 1.0 for f in numbers):  # whole numbers, no unit
        return "count"
    return None


def _share_base(head: str) -> str:
    """What a "Share of X (%)" column is a share of: ``x`` normalised (``aum`` named in
    full)."""
    x = re.sub(r"\(.*?\)", "", _norm(head)).replace("share of", "", 1).strip()
    return "assets under management" if x == "aum" else x


def _bounds_ineq(c_n, a_eq, b_eq, a_ub, b_ub, bounds, integer, target):
    """(min, max) of variable ``target`` under equalities and inequalities (HiGHS)."""
    out = []
    for sign in (1.0, -1.0):
        c = np.zeros(c_n)
        c[target] = sign
        kw = {
            "A_eq": np.array(a_eq) if a_eq else None,
            "b_eq": np.array(b_eq) if b_eq else None,
            "A_ub": np.array(a_ub) if a_ub else None,
            "b_ub": np.array(b_ub) if b_ub else None,
            "bounds": bounds,
            "method": "highs",
        }
        res = linprog(c, integrality=np.array(integer, dtype=int), **kw)
        if res.status in (2, 4) and any(integer):
            res = linprog(c, **kw)
        if res.status == 2:
            return None  # the relations do not hold: rejected by the caller
        out.append(sign * res.fun if res.status == 0 else -sign * np.inf)
    return out[0], out[1]


def linear_leaks(
    tables: list[HtmlTable],
    k: int = K,
    printed: dict | None = None,
    regions: set[str] | None = None,
    stated: dict | None = None,
) -> dict[str, list]:
    """Attack B: every withheld cell bounded by linear programming over its own table.

    Relations, each set up only where the table itself bears it out:

    - **totals**: a row of the bank (``The bank``, ``Total``), an echelon or a region is the
      sum of the rows one level below it in the same group (a long table's rows of one KPI and
      period), on every column that adds up (counts: whole numbers without unit; money: a
      currency) -- kept for the table only when a column printing every cell of the relation
      confirms it within rounding and none contradicts it;
    - **shares**: a ``Share of X (%)`` column adds up to 100 % over the units (contradicted,
      and dropped, when its printed cells exceed 100 % or a fully printed column misses it),
      and each printed share links its unit's ``X`` to the units' total ``N``: ``lower * N <=
      x <= upper * N`` (``N`` unknown, the sum of the ``X`` column).

    Printed cells are their rounding intervals, ``<k`` a count of 1 to ``k - 1`` (money or a
    share: at least 0), ``x`` at least 0 (any sign for a column with negative figures);
    ``printed`` (attack A's ``printed``) pins withheld cells another table prints;
    ``stated`` (attack C's ``stated``, :mod:`attacker_prose`) adds the relations the page's
    sentences state about a table: ``{table index: [(what, [(row, column), ...], lower,
    upper)]}``, the printed cells' sum between ``lower`` and ``upper`` ("the VIP tier and
    above hold 67.0 %": VIP's and private banking's AUM shares add up to 66.95 .. 67.05). Judged:
    every ``<k`` cell; a count is recovered when its interval is narrower than ``(k - 1) /
    2``, money or a share when narrower than :data:`MONEY_WIDTH` of its upper end. Withheld
    ``x`` money cells are bounded and reported (``"x_pinned"``) when pinned so, since a
    dominated cell needs protection but the page does not say which ``x`` is dominance and
    which secondary.

    Returns ``{"leak", "x_pinned", "relations", "rejected": [...], "attacked": n}``;
    ``relations`` names each table and the relations kept.
    """
    printed = printed or {}
    if regions is None:
        regions = {_norm(r[0]) for t in tables if _norm(t.header[0]) == "region" for r in t.rows}
    out: dict[str, list] = {"leak": [], "x_pinned": [], "relations": [], "rejected": []}
    attacked = 0
    stated = stated or {}
    for ti, t in enumerate(tables):
        found = _table_lp(ti, t, k, printed, regions, stated.get(ti, []))
        if found is None:
            continue
        kept, rejected, results = found
        if kept:
            out["relations"].append((t.name, kept))
        out["rejected"] += [(t.name, r) for r in rejected]
        for what, lo, hi, kind, marker in results:
            if marker == "small":
                attacked += 1
                narrow = (
                    hi - lo < (k - 1) / 2 - 1e-6
                    if kind == "count"
                    else np.isfinite(hi) and hi - lo < MONEY_WIDTH * hi - 1e-9
                )
                if narrow:
                    out["leak"].append((t.name, *what, lo, hi))
            elif kind != "count" and np.isfinite(hi) and hi - lo < MONEY_WIDTH * hi - 1e-9:
                out["x_pinned"].append((t.name, *what, lo, hi))
    out["attacked"] = attacked  # type: ignore[assignment]
    return out


def _stated_kind(head: str, figs: dict[int, tuple]) -> str | None:
    """``"money"`` or ``"count"`` for a column a sentence states the sum of, ``None`` when its
    cells are not figures (text) or not of one kind."""
    if any(f[0] == "text" for f in figs.values()):
        return None
    numbers = [f for f in figs.values() if f[0] == "number"]
    if _CURRENCY_HEADER.search(head) or any(len(f[3]) == 3 for f in numbers):
        return "money"
    return "count" if all(f[3] == "" and f[2] - f[1] == 1.0 for f in numbers) else None


def _table_lp(ti, t: HtmlTable, k: int, printed: dict, regions: set[str], stated=()):
    """The programme of one table (see :func:`linear_leaks`): ``(relations kept, relations
    rejected, [((unit, header), lower, upper, kind, marker)])`` or ``None`` without any."""
    levels = [_level(r[0], regions) for r in t.rows]
    series = [(j, g, figs, _kind(t, j, g, figs)) for j, g, figs in _series(t, k)]
    # a column a sentence adds up ("together they need 1.68 m CNY": the upgrade list's AUM
    # gaps) adds up whatever its header says
    summed = {j for _, cells, _, _ in stated for _, j in cells}
    series = [
        (j, g, figs, kind or _stated_kind(t.header[j], figs) if j in summed else kind)
        for j, g, figs, kind in series
    ]
    series = [s for s in series if s[3] is not None]
    if not series:
        return None
    # totals: which (level above, level below) pairs the printed columns confirm
    shapes: dict[tuple[int, int], list[int]] = {}
    sums: list[tuple[int, tuple, int, list[int]]] = []  # (series index, group, total, members)
    for si, (_, g, figs, kind) in enumerate(series):
        if kind == "share":
            continue
        rows = list(figs)
        for r in rows:
            if levels[r] == 0:
                continue
            below = [levels[q] for q in rows if levels[q] < levels[r]]
            if not below:
                continue
            members = [q for q in rows if levels[q] == max(below)]
            shape = (levels[r], max(below))
            sums.append((si, g, r, members))
            cells = [figs[q] for q in [r, *members]]
            if all(c[0] == "number" for c in cells):
                lo = figs[r][1] - sum(figs[q][2] for q in members)
                hi = figs[r][2] - sum(figs[q][1] for q in members)
                verdict = 1 if lo <= 1e-6 and hi >= -1e-6 else -1
                shapes.setdefault(shape, []).append(verdict)
    confirmed = {s for s, v in shapes.items() if 1 in v and -1 not in v}
    kept = [f"{t.header[series[si][0]]}: {_LEVEL_NAMES[levels[r]]} = sum of its "
            f"{_LEVEL_NAMES[levels[m[0]]]}s" for si, g, r, m in sums
            if (levels[r], levels[m[0]]) in confirmed]  # fmt: skip
    rejected = [f"{_LEVEL_NAMES[a]} = sum of its {_LEVEL_NAMES[b]}s: {v.count(-1)} of {len(v)} "
                "printed columns disagree" for (a, b), v in shapes.items()
                if (a, b) not in confirmed]  # fmt: skip
    # variables
    names: list[tuple] = []
    bounds: list[tuple] = []
    integer: list[int] = []
    pos: dict[tuple, int] = {}
    judged: list[tuple] = []
    scale = {}
    for si, (j, _, figs, kind) in enumerate(series):
        unit = 1e6 if kind == "money" else 1.0
        scale[si] = unit
        # a printed 0 (-0.5 .. 0.5) is not a negative figure
        negative = any(f[0] == "number" and f[1] + f[2] < 0 for f in figs.values())
        for r, f in figs.items():
            key = (si, r)
            pos[key] = len(names)
            names.append(key)
            pin = printed.get((ti, r, j))
            if f[0] == "number":
                bounds.append((f[1] / unit, f[2] / unit))
            elif pin is not None:
                bounds.append((pin[0] / unit, pin[1] / unit))
            elif f[0] == "small" and kind == "count":
                bounds.append((1, k - 1))
            elif kind == "share":
                bounds.append((0, 100))
            else:
                bounds.append((None if negative else 0, None))
            integer.append(int(kind == "count"))
            if f[0] in ("small", "x") and pin is None:
                judged.append((key, (t.rows[r][0], t.header[j]), kind, f[0]))
    a_eq, b_eq, a_ub, b_ub = [], [], [], []
    for si, _, r, members in sums:
        if (levels[r], max(levels[q] for q in members)) not in confirmed:
            continue
        row = np.zeros(len(names))
        row[pos[(si, r)]] = -1
        for q in members:
            row[pos[(si, q)]] = 1
        a_eq.append(row)
        b_eq.append(0.0)
    # shares: add up to 100 over the units, and tie each unit's base figure to the units' total
    for si, (j, g, figs, kind) in enumerate(series):
        if kind != "share":
            continue
        lowest = min(levels[r] for r in figs)
        units = [r for r in figs if levels[r] == lowest]  # the echelons, when no region is
        shown = [figs[r] for r in units if figs[r][0] == "number"]
        if sum(f[1] for f in shown) > 100 + 1e-6 or (
            len(shown) == len(units) and sum(f[2] for f in shown) < 100 - 1e-6
        ):
            rejected.append(f"{t.header[j]}: the shares do not add up to 100 %")
            continue
        row = np.zeros(len(names))
        for r in units:
            row[pos[(si, r)]] = 1
        a_eq.append(row)
        b_eq.append(100.0)
        kept.append(f"{t.header[j]}: adds up to 100 %")
        base = _share_base(t.header[j])
        for sb, (jb, gb, _, kind_b) in enumerate(series):
            head_b = re.sub(r"\(.*?\)", "", _norm(t.header[jb])).strip()
            if gb != g or kind_b not in ("count", "money") or head_b != base:
                continue
            total = len(names)  # N: the units' total of the base column
            names.append(("N", si, sb))
            bounds.append((0, None))
            integer.append(0)
            row = np.zeros(len(names))
            row[total] = -1
            for r in units:
                row[pos[(sb, r)]] = 1
            for rr in a_eq:
                rr.resize(len(names), refcheck=False)
            for rr in a_ub:
                rr.resize(len(names), refcheck=False)
            a_eq.append(row)
            b_eq.append(0.0)
            for r in units:
                f = figs[r]
                if f[0] != "number":
                    continue
                for coef, rhs_sign in ((f[1] / 100, 1), (f[2] / 100, -1)):
                    ub = np.zeros(len(names))  # lower*N - x <= 0 ; x - upper*N <= 0
                    ub[total] = coef * rhs_sign
                    ub[pos[(sb, r)]] = -rhs_sign
                    a_ub.append(ub)
                    b_ub.append(0.0)
            kept.append(f"{t.header[j]}: each share times the total of {t.header[jb]}")
    a_eq = [np.resize(r, len(names)) if len(r) != len(names) else r for r in a_eq]
    a_ub = [np.resize(r, len(names)) if len(r) != len(names) else r for r in a_ub]
    # relations a sentence of the page states: lower <= sum of the cells <= upper
    column_of = {(j, r): si for si, (j, _, figs, _) in enumerate(series) for r in figs}
    for what, cells, lower, upper in stated:
        if not all((j, r) in column_of for r, j in cells):
            rejected.append(f"{what}: a cell it names is not in a column that adds up")
            continue
        row = np.zeros(len(names))
        for r, j in cells:
            row[pos[(column_of[(j, r)], r)]] = 1.0
        unit = scale[column_of[(cells[0][1], cells[0][0])]]  # one column: money in millions
        a_ub += [row, -row]
        b_ub += [upper / unit, -lower / unit]
        kept.append(what)
    kept = list(dict.fromkeys(kept))
    results = []
    if not kept or not judged:
        return kept, rejected, results
    for key, what, kind, marker in judged:
        b = _bounds_ineq(len(names), a_eq, b_eq, a_ub, b_ub, bounds, integer, pos[key])
        if b is None:
            return [], [*rejected, "the kept relations are infeasible with the printed cells"], []
        unit = scale[key[0]]
        results.append((what, b[0] * unit, b[1] * unit, kind, marker))
    return kept, rejected, results


def tables_html(tables) -> str:
    """HTML of hand-built tables as the reports write them: one ``<h2>`` section and one table
    per ``(section, header, rows)``, header in ``<thead>``, rows in ``<tbody>``."""
    parts = []
    for section, header, rows in tables:
        parts.append(f"<h2>{section}¶</h2><table><thead><tr>")
        parts += [f"<th>{h}</th>" for h in header]
        parts.append("</tr></thead><tbody>")
        for row in rows:
            parts.append("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>")
        parts.append("</tbody></table>")
    return "".join(parts)


def write_page(path, *tables) -> None:
    """Write a page holding only :func:`tables_html` of ``tables``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"<html><body>{tables_html(tables)}</body></html>", encoding="utf-8")
