"""The attacker on the regions' lost customers: stock retention read across a run.

A region's stock retention times its base customers is its lost customers; the base is
published (the overview's customers and customer growth: base = customers / (1 + growth)).
The regions' lost customers add up to their echelon's and the echelons' to the bank's. This
reads the overview's ``metrics.json`` (every region's and the bank's retention, growth and
customers at the data month) and its quarter table (each echelon's retention of the quarter
so far, printed to 0.1 %, i.e. the data month's figure) and bounds every withheld region's
lost customers by linear programming, written independently of
:mod:`bankanalysis.report.disclosure_retention`.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
from attacker import K, _metrics, page_tables
from scipy.optimize import linprog

#: The quarter table's row label of the retention KPI.
RETENTION_ROW = "Stock customer retention rate (%)"


def attack_lost(
    regions: dict[str, tuple[str, float | None]],
    echelons: dict[int, tuple[float, float] | None],
    bank: float | None,
    echelon_of: dict[str, int],
    k: int = K,
) -> list[tuple[str, float, float, bool]]:
    """Bounds on every region's lost customers shown as ``<k``.

    ``regions[r]``: ``("shown", lost)``, ``("<k", None)`` (1 to ``k - 1``), ``("x", None)``
    (at least ``k``) or ``("?", None)`` (unknown, at least 0); ``echelons[e]``: the interval
    the echelon's printed retention gives (``None`` withheld); ``bank``: the bank's lost
    customers (``None`` withheld). Returns ``(region, lower, upper, safe)`` per ``<k`` region;
    safe when the interval is at least ``(k - 1) / 2`` wide.

    Examples
    --------
    >>> eo = {"R1": 1, "R2": 1, "R3": 2}
    >>> attack_lost({"R1": ("<k", None), "R2": ("shown", 14.0), "R3": ("shown", 20.0)},
    ...             {1: None, 2: None}, 38.0, eo)
    [('R1', 4.0, 4.0, False)]
    >>> attack_lost({"R1": ("<k", None), "R2": ("x", None), "R3": ("shown", 20.0)},
    ...             {1: (17.9, 18.1), 2: None}, 38.0, eo)
    [('R1', 1.0, 8.0, True)]
    """
    names = sorted(regions)
    pos = {r: i for i, r in enumerate(names)}
    bounds = []
    for r in names:
        kind, v = regions[r]
        bounds.append(
            (v, v)
            if kind == "shown"
            else (1, k - 1)
            if kind == "<k"
            else (k, None)
            if kind == "x"
            else (0, None)
        )
    a_ub, b_ub, a_eq, b_eq = [], [], [], []
    for e, iv in echelons.items():
        if iv is None:
            continue
        row = np.zeros(len(names))
        for r in names:
            if echelon_of.get(r) == e:
                row[pos[r]] = 1.0
        a_ub += [row, -row]
        b_ub += [iv[1], -iv[0]]
    if bank is not None:
        a_eq.append(np.ones(len(names)))
        b_eq.append(bank)
    out = []
    for r in names:
        if regions[r][0] != "<k":
            continue
        ends = []
        for sign in (1.0, -1.0):
            cost = np.zeros(len(names))
            cost[pos[r]] = sign
            res = linprog(
                cost,
                A_ub=np.array(a_ub) if a_ub else None,
                b_ub=np.array(b_ub) if b_ub else None,
                A_eq=np.array(a_eq) if a_eq else None,
                b_eq=np.array(b_eq) if b_eq else None,
                bounds=bounds,
                method="highs",
            )
            assert res.status == 0, (r, res.message)
            ends.append(sign * res.fun)
        lo, hi = math.ceil(ends[0] - 1e-6), math.floor(ends[1] + 1e-6)
        out.append((r, float(lo), float(hi), hi - lo >= (k - 1) / 2 - 1e-9))
    return out


def _base(customers: object, growth: object) -> float | None:
    if isinstance(customers, int | float) and isinstance(growth, int | float):
        return float(customers) / (1.0 + float(growth))
    return None


def read_retention(run_dir: Path, echelon_of: dict[str, int], k: int = K) -> tuple:
    """What a run publishes of the data month's retention: ``(regions, echelons, bank)`` for
    :func:`attack_lost`, read from the overview's ``metrics.json`` and quarter table."""
    run_dir = Path(run_dir)
    (path,) = sorted(run_dir.glob("*/00_bank_overview/metrics.json"))
    ov, why = _metrics(path)
    regions: dict[str, tuple[str, float | None]] = {}
    bases: dict[str, float | None] = {}
    for r in echelon_of:
        key = f"stock_retention[region={r}]"
        base = _base(ov.get(f"customers[region={r}]"), ov.get(f"customer_growth[region={r}]"))
        bases[r] = base
        v = ov.get(key)
        if isinstance(v, int | float) and base is not None:
            regions[r] = ("shown", float(round(base * (1.0 - float(v)))))
        elif v is None and str(why.get(key, "")).startswith("withheld: fewer"):
            regions[r] = ("<k", None)
        elif v is None and str(why.get(key, "")).startswith("withheld"):
            regions[r] = ("x", None)
        else:
            regions[r] = ("?", None)
    b = _base(ov.get("customers"), ov.get("customer_growth"))
    ret = ov.get("stock_retention")
    bank = b * (1.0 - float(ret)) if b is not None and isinstance(ret, int | float) else None
    bank = float(round(bank)) if bank is not None else None
    echelons: dict[int, tuple[float, float] | None] = dict.fromkeys(set(echelon_of.values()))
    html = path.parent.with_suffix(".html")
    for t in page_tables(html, run_dir) if html.exists() else []:
        # the quarter table: the last quarter's column is the data month's figure
        now = [j for j, h in enumerate(t.header) if re.match(r"\d{4}-Q\d", h)]
        if not now or "KPI" not in t.header:
            continue
        kpi = t.header.index("KPI")
        for row in t.rows:
            if not row[0].startswith("Echelon ") or row[kpi] != RETENTION_ROW:
                continue
            e = int(row[0].split()[1])
            text = row[now[-1]].rstrip("%")
            members = [bases[r] for r in echelon_of if echelon_of[r] == e]
            try:
                share = float(text) / 100.0
            except ValueError:
                continue  # withheld
            if all(x is not None for x in members):
                base = float(sum(members))  # type: ignore[arg-type]
                echelons[e] = (base * (1 - share - 0.0005), base * (1 - share + 0.0005))
    return regions, echelons, bank


def retention_leaks(run_dir: Path, echelon_of: dict[str, int], k: int = K) -> tuple[list, int]:
    """:func:`attack_lost` on a run: the leaks and how many withheld figures were attacked."""
    regions, echelons, bank = read_retention(run_dir, echelon_of, k)
    found = attack_lost(regions, echelons, bank, echelon_of, k)
    return [f for f in found if not f[3]], len(found)
