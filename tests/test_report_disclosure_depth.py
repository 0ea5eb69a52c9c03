"""01's product-depth table ("Product coverage"): its shares and the run's totals must not give
a withheld row back (docs/privacy.md, "The tables of the reports")."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from attacker import HtmlTable, attack_linear, linear_leaks, read_cell
from disclosure_data import K

from bankanalysis.report import disclosure_depth as dd
from bankanalysis.report import segmentation as rs
from bankanalysis.report.disclosure import failsafe_note, protection_summary, withheld_cells
from bankanalysis.report.format import Suppressed
from bankanalysis.rules.disclosure_secondary import FAILSAFE, PRIMARY, SECONDARY

PRODUCTS = ["0", "1", "2", "3", "4+"]


def _depth(counts: list[int]) -> pd.DataFrame:
    """:func:`product_depth`'s frame for the given counts (0, 1, 2, 3, 4+ products)."""
    n = np.array(counts, dtype="float64")
    return pd.DataFrame({"products": PRODUCTS, "customers": counts, "share": n / n.sum()})


def _on_the_books(frame: pd.DataFrame) -> int | None:
    """The customers on the books as a reader works them out from the printed table: every row
    printing its count and its share (to 0.1 pp) bounds the total to count / share; ``None``
    when no row prints both or the bounds leave more than one whole number."""
    lo, hi = 0.0, math.inf
    for count, share in zip(frame["Customers"], frame.iloc[:, 2], strict=True):
        if count == "withheld" or not isinstance(read_cell(count, K), float):
            continue
        if not share.endswith("%"):
            continue
        c, s = float(count.replace(",", "")), float(share.rstrip("%"))
        if c == 0:
            continue
        lo, hi = max(lo, 100 * c / (s + 0.05)), min(hi, 100 * c / max(s - 0.05, 1e-9))
    whole = range(math.ceil(lo - 1e-9), math.floor(hi + 1e-9) + 1) if hi < math.inf else []
    return whole[0] if len(whole) == 1 else None


def _attack(frame: pd.DataFrame, active: int, covered: int) -> dict[str, tuple[float, float]]:
    """Bounds on each withheld row of the printed table, with what the run publishes: the rows
    add up to the customers on the books (:func:`_on_the_books`), rows 1 to 4+ to the active
    customers (01's population sentence), rows 3 and 4+ to the covered customers (product
    coverage x active customers, 01's KPI sentence). ``withheld`` reads as at least 0."""
    names = [f"n:{p}" for p in PRODUCTS]
    cells: dict[str, float | str | None] = {}
    for name, text in zip(names, frame["Customers"], strict=True):
        cells[name] = None if text == "withheld" else read_cell(text, K)
    cells["n:on_books"] = _on_the_books(frame)
    cells["n:on_books"] = None if cells["n:on_books"] is None else float(cells["n:on_books"])
    cells["n:active"], cells["n:covered"] = float(active), float(covered)
    relations = [
        {**dict.fromkeys(names, 1.0), "n:on_books": -1.0},
        {**dict.fromkeys(names[1:], 1.0), "n:active": -1.0},
        {names[3]: 1.0, names[4]: 1.0, "n:covered": -1.0},
    ]
    found = attack_linear(cells, relations, K)
    return {c: b for c, b in found.items() if c != "n:on_books"}


def _html(frame: pd.DataFrame) -> HtmlTable:
    rows = [[str(v) for v in r] for r in frame.itertuples(index=False)]
    return HtmlTable("R057/01", 0, None, "Product coverage", "", list(frame.columns), rows)


#: The 120-region bank's R057: 4 one-product customers of 115 on the books, 25 with one or two
#: products (active 115 minus 90 covered).
R057 = [0, 4, 21, 23, 67]


def test_a_lone_small_row_is_not_given_back_by_the_shares_or_the_runs_totals() -> None:
    # before this change the table withheld the 4 alone: the shares (0.0 + 18.3 + 20.0 + 58.3
    # of 100 %) bounded its share to 3.2 .. 3.6 %, and 67 / 58.3 % gave 115 customers on the
    # books, so 115 - 21 - 23 - 67 = 4 exactly
    frame = rs.depth_table(_depth(R057), K).frame
    assert _on_the_books(frame) == 115  # a printed count over its printed share
    bounds = _attack(frame, active=115, covered=90)
    lo, hi = bounds["n:1"]
    assert (lo, hi) == (1.0, 9.0) and hi - lo >= (K - 1) / 2
    assert frame.values.tolist() == [
        ["0", "0", "0.0%"],
        ["1", "<10", "<10"],
        ["2", "x", "x"],
        ["3", "23", "20.0%"],
        ["4+", "67", "58.3%"],
    ]
    # attack B of the HTML attacker (the shares add up to 100 %) finds nothing narrower
    found = linear_leaks([_html(frame)], K, regions=set())
    assert found["attacked"] == 2 and found["leak"] == []
    # the table as the small-group rule alone printed it (main before this change)
    plain = frame.copy()
    plain.iloc[2, 1:] = ["21", "18.3%"]
    assert _attack(plain, active=115, covered=90)["n:1"] == (4.0, 4.0)
    (leak,) = linear_leaks([_html(plain)], K, regions=set())["leak"]
    assert leak[1:3] == ("1", "Share of customers on the books (%)")
    assert np.allclose(leak[3:], (3.2, 3.6))


def test_two_small_rows_whose_sum_is_published_read_withheld() -> None:
    # R063 of the 120-region bank: 8 and 9 customers with one and two products, 17 together
    # (active 90 minus 73 covered): "<10" and "<10" would say 8 and 9 (8 .. 9 each)
    depth = dd.protect_depth(_depth([0, 8, 9, 21, 52]), K)
    assert depth[dd.DEPTH_COUNT_STATUS].tolist() == ["", FAILSAFE, FAILSAFE, "", ""]
    frame = rs.depth_table(depth, K).frame
    assert frame["Customers"].tolist() == ["0", "withheld", "withheld", "21", "52"]
    bounds = _attack(frame, active=90, covered=73)
    assert bounds == {"n:1": (0.0, 17.0), "n:2": (0.0, 17.0)}
    prot = depth.attrs["protection"]
    assert prot.safe and protection_summary(depth)[PRIMARY] == 2
    assert withheld_cells(depth) == 2 and failsafe_note(depth) == ""


def test_a_small_zero_product_row_withholds_every_share() -> None:
    # 4 customers on the books hold nothing: the customers on the books (108, from any printed
    # count and share) minus the 104 active ones give them back, so no share may be printed
    counts = [4, 40, 30, 20, 14]
    depth = dd.protect_depth(_depth(counts), K)
    frame = rs.depth_table(depth, K).frame
    assert frame.values.tolist() == [
        ["0", "<10", "<10"],
        ["1", "40", "x"],
        ["2", "30", "x"],
        ["3", "20", "x"],
        ["4+", "14", "x"],
    ]
    assert _on_the_books(frame) is None
    assert _attack(frame, active=104, covered=34)["n:0"] == (1.0, 9.0)
    # with the shares printed (the small-group rule alone) the 4 comes back exactly
    plain = frame.assign(**{frame.columns[2]: ["<10", "37.0%", "27.8%", "18.5%", "13.0%"]})
    assert _on_the_books(plain) == 108 and _attack(plain, 104, 34)["n:0"] == (4.0, 4.0)
    assert dict(depth.attrs["protection"].status)["customers"] == SECONDARY
    # also when the customers on the books are fewer than k (one on the books, none active):
    # the total is withheld by the step itself, not chosen by the search (which hides only
    # cells of k or more)
    lone = dd.protect_depth(_depth([1, 0, 0, 0, 0]), K)
    assert rs.depth_table(lone, K).frame["Customers"].tolist() == ["<10", "0", "0", "0", "0"]
    assert lone.attrs["protection"].safe and "customers" in lone.attrs["protection"].status


def test_metrics_follow_the_tables_protection() -> None:
    row = pd.Series(
        {"products_per_customer": 3.1, "wealth_card_matching": 0.5, "e_banking_penetration": 0.9}
    )
    ppc = pd.DataFrame({"tier": ["all"], "customers": [115.0], "products_per_customer": [3.1]})
    depth = dd.protect_depth(_depth(R057), K)
    m = rs.coverage_metrics(row, {}, depth, ppc, K)
    assert m["zero_product_share"] == 0.0
    assert m["single_product_share"] == Suppressed(K)
    assert str(m["single_product_share"]) == "<10"
    # a secondary row's share is recorded as "x", as the table shows it
    swapped = dd.protect_depth(_depth([0, 21, 4, 23, 67]), K)
    assert swapped[dd.DEPTH_COUNT_STATUS].tolist() == ["", SECONDARY, PRIMARY, "", ""]
    assert str(rs.coverage_metrics(row, {}, swapped, ppc, K)["single_product_share"]) == "x"


def test_the_relations_the_run_publishes() -> None:
    d = _depth(R057)
    assert dd.depth_relations(d, 3) == {
        "active": (115.0, [f"customers[row={p}]" for p in PRODUCTS[1:]], ""),
        "covered": (90.0, ["customers[row=3]", "customers[row=4+]"], ""),
    }
    assert dd.depth_relations(d, 2)["covered"][0] == 111.0
    assert list(dd.depth_relations(d, 5)) == ["active"]  # 5 products split the 4+ row
    assert list(dd.depth_relations(d, None)) == ["active"]
    # the covered customers pin rows 3 and 4+ together: withholding row 3 (12) beside the 4
    # gives nothing (12 = covered - 67), so row 2 is withheld; without the coverage sentence
    # row 3, the smallest, is enough (4 + 12 = 16: the 4 is 1 .. 6)
    d = _depth([0, 4, 30, 12, 67])
    assert dd.protect_depth(d, K, 3)[dd.DEPTH_COUNT_STATUS].tolist() == [
        "",
        PRIMARY,
        SECONDARY,
        "",
        "",
    ]
    assert dd.protect_depth(d, K, None)[dd.DEPTH_COUNT_STATUS].tolist() == [
        "",
        PRIMARY,
        "",
        SECONDARY,
        "",
    ]


def test_nothing_is_withheld_without_a_small_row() -> None:
    depth = dd.protect_depth(_depth([0, 34, 83, 92, 406]), K)  # the CI bank's R01
    assert (depth[[dd.DEPTH_COUNT_STATUS, dd.DEPTH_SHARE_STATUS]] == "").all().all()
    assert depth["customers"].tolist() == [0.0, 34.0, 83.0, 92.0, 406.0]
    assert rs.depth_table(depth, K).frame["Customers"].tolist() == ["0", "34", "83", "92", "406"]
    assert withheld_cells(depth) == 0
