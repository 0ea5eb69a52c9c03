"""Do a run's workbooks and its reports show the same outlet figures?

The region's scorecards workbook (restricted, for the region's management: sheet ``Outlets``)
prints each outlet's quality-and-above customers and the contact-plan coverage over them;
01's account-manager table prints the same count and rate, 02's outlet scorecards the rate,
03's outlet table the share of quality-and-above customers (withheld by the same decision),
and 03's outlet volumes the customers, new customers and product sales the sheet prints too.
Two files of one run must not disagree: the same number, or the same marker (``<k``, ``x``,
``withheld``), never a number in one and a marker in the other.
"""

from __future__ import annotations

import math
from pathlib import Path

from attacker import page_tables
from openpyxl import load_workbook

#: Report pages and their tables (a header the table holds) with the columns compared:
#: (header of the outlet figure, workbook column, kind). ``marker``: only whether and how it
#: is withheld (03 prints a share of a count the workbook prints).
PAGES: tuple[tuple[str, str, list[tuple[str, str, str]]], ...] = (
    (
        "01_customer_segmentation",
        "Quality-and-above customers",
        [
            ("Quality-and-above customers", "quality_plus_customers", "count"),
            ("Customer contact-plan coverage (%)", "contact_plan_coverage", "rate"),
        ],
    ),
    (
        "02_cross_sell_propensity",
        "Customer contact-plan coverage (%)",
        [("Customer contact-plan coverage (%)", "contact_plan_coverage", "rate")],
    ),
    (
        "03_outlet_benchmarking",
        "Quality-and-above customers (%)",
        [("Quality-and-above customers (%)", "quality_plus_customers", "marker")],
    ),
    # 03's outlet volumes: customers, new customers (03's decision, which the workbooks follow)
    # and product sales (one definition: 02's scorecards counted the scored products only)
    (
        "03_outlet_benchmarking",
        "New personal deposits (CNY)",
        [
            ("Customers", "customers", "count"),
            ("New customers", "new_customers", "count"),
            ("Product sales", "sales_total", "count"),
        ],
    ),
)


def _workbook_cell(v: object) -> str | float | None:
    """A workbook cell: a marker (text), a number, or None (empty: not computed)."""
    if v is None:
        return None
    if isinstance(v, str):
        return v.strip()
    f = float(v)  # type: ignore[arg-type]
    return None if math.isnan(f) else f


def _page_cell(text: str) -> str | float | None:
    t = text.strip().replace(",", "")
    if t in ("", "n/a", "-") or t.startswith("n/a"):
        return None
    try:
        return float(t[:-1]) / 100 if t.endswith("%") else float(t)
    except ValueError:
        return t


def _agree(a: str | float | None, b: str | float | None, kind: str) -> bool:
    if kind == "marker":
        return (isinstance(a, str) and a) == (isinstance(b, str) and b)
    if isinstance(a, float) and isinstance(b, float):
        return round(a, 3) == round(b, 3) if kind == "rate" else a == b
    return a == b


def outlet_agreement(run_dir: Path) -> tuple[int, list[str], int]:
    """``(pairs compared, disagreements, cells withheld in the workbooks' outlet figures
    compared)`` over every region of ``run_dir`` with a scorecards workbook."""
    run_dir = Path(run_dir)
    compared, found, withheld = 0, [], 0
    for book in sorted(run_dir.glob("*/02_cross_sell_propensity/restricted/scorecards_*.xlsx")):
        region = book.parents[2].name
        rows = list(load_workbook(book, read_only=True)["Outlets"].iter_rows(values_only=True))
        head = [str(h) for h in rows[0]]
        cards = {str(r[0]): dict(zip(head, r, strict=True)) for r in rows[1:]}
        withheld += sum(
            isinstance(c[col], str)
            for c in cards.values()
            for col in ("quality_plus_customers", "contact_plan_coverage")
        )
        for page, holds, columns in PAGES:
            path = run_dir / region / f"{page}.html"
            if not path.exists():
                continue
            tables = [t for t in page_tables(path, run_dir) if holds in t.header]
            for t in tables[:1]:
                for label, col, kind in columns:
                    if label not in t.header or col not in head:
                        continue
                    j = t.header.index(label)
                    for r in t.rows:
                        if r[0] not in cards:
                            continue
                        a, b = _workbook_cell(cards[r[0]][col]), _page_cell(r[j])
                        compared += 1
                        if not _agree(a, b, kind):
                            found.append(f"{region} {r[0]} {col}: workbook {a!r}, {page} {b!r}")
    return compared, found, withheld
