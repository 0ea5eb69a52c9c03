"""The workbook attacker (tests/attacker_workbooks.py): hand-built workbooks where it must find
a withheld cell, where it must not, and every region of a finished run."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import xlsxwriter
from attacker_workbooks import attack_region, run_workbook_leaks, workbook_problem

from bankanalysis.report.disclosure_cards import protect_cards
from bankanalysis.report.workbooks import _scorecards_bytes

K = 10


def _workbook(folder: Path, sheets: dict[str, list[tuple]]) -> None:
    """A scorecards workbook with the given sheets (first row: the header)."""
    folder.mkdir(parents=True, exist_ok=True)
    wb = xlsxwriter.Workbook(str(folder / "scorecards_R1.xlsx"))
    for name, rows in sheets.items():
        ws = wb.add_worksheet(name)
        for r, row in enumerate(rows):
            ws.write_row(r, 0, row)
    wb.close()


def _region(tmp_path: Path, sheets: dict[str, list[tuple]]) -> Path:
    region = tmp_path / "R1"
    _workbook(region / "02_cross_sell_propensity" / "restricted", sheets)
    return region


def _leaks(region: Path, home: dict[str, str] | None = None) -> list[tuple]:
    v = attack_region(region, region.parent, home, K)
    assert v is not None and not v.rejected
    return v.leaks


CONVERSION = ("Outlet", "customers", "leads_issued", "leads_converted", "lead_conversion_rate")


def test_a_printed_conversion_rate_gives_back_the_withheld_converted_leads(tmp_path):
    """The lead's Outlets sheet (CI batch, R01): 9 of 88 leads converted withheld (`<10`) and
    14 of 100 with it (`x`), but the rates printed in full: 0.1022727... x 88 = 9 exactly."""
    region = _region(
        tmp_path,
        {
            "Outlets": [
                CONVERSION,
                ("North", 358, 100, "x", 0.14),
                ("South", 257, 88, "<10", 9 / 88),
            ]
        },
    )
    assert _leaks(region) == [("R1", "Outlets", "South", "leads_converted", 9.0, 9.0)]


def test_the_protected_cards_give_no_converted_leads_back(tmp_path):
    """The same cards through protect_cards: the rates are withheld with the leads converted
    (`<10` with the 9, `x` with the 14 that protects it), and the 9 is anywhere in 1 .. 9."""
    cards = pd.DataFrame(
        {
            "customers": [358, 257],
            "leads_issued": [100, 88],
            "leads_converted": [14, 9],
            "lead_conversion_rate": [0.14, 9 / 88],
        },
        index=pd.Index(["O1", "O2"], name="outlet_id"),
    )
    shown = protect_cards(cards, K)
    assert [str(v) for v in shown["leads_converted"]] == ["x", "<10"]
    assert [str(v) for v in shown["lead_conversion_rate"]] == ["x", "<10"]
    folder = tmp_path / "R1" / "02_cross_sell_propensity" / "restricted"
    folder.mkdir(parents=True)
    names = {"O1": "North", "O2": "South"}
    (folder / "scorecards_R1.xlsx").write_bytes(_scorecards_bytes(None, shown, names, {}))
    v = attack_region(tmp_path / "R1", tmp_path, None, K)
    assert v is not None and v.leaks == [] and v.attacked == 1


MANAGERS = ("Manager id", "customers_vip")


@pytest.mark.parametrize(
    ("outlet_vip", "interval"),
    [(12, (1.0, 2.0)), ("x", (1.0, 9.0))],
)
def test_a_managers_count_is_bounded_by_its_outlets_less_the_other_managers(
    tmp_path, outlet_vip, interval
):
    """Managers M1 and M2 work at North: their VIP customers plus North's VIP customers
    without a manager (at least 0) are North's. With North's 12 printed and M1's 10, M2's
    `<10` is at most 12 - 10 = 2: 1 .. 2, narrower than (k - 1) / 2; with North's `x` it is
    1 .. 9."""
    region = _region(
        tmp_path,
        {
            "Managers": [MANAGERS, ("M1", 10), ("M2", "<10")],
            "Outlets": [("Outlet", "customers_vip"), ("North", outlet_vip), ("South", 30)],
        },
    )
    v = attack_region(region, tmp_path, {"M1": "North", "M2": "North"}, K)
    p = workbook_problem(
        {"M1": {"customers_vip": 10}, "M2": {"customers_vip": "<10"}},
        {"North": {"customers_vip": outlet_vip}, "South": {"customers_vip": 30}},
        {"M1": "North", "M2": "North"},
    )
    bounds = p.solve()
    assert bounds is not None
    assert bounds[("Managers", "M2", "customers_vip")] == pytest.approx(interval)
    leaks = (
        []
        if interval[1] - interval[0] >= 4.5
        else [("R1", "Managers", "M2", "customers_vip", *interval)]
    )
    assert v is not None and v.leaks == leaks
    # without knowing where the managers work only the region's total bounds them
    assert _leaks(region) == []


def test_a_cards_tier_comes_back_as_its_customers_less_the_other_tiers(tmp_path):
    """A card's customers are its tiers: 60 - 40 - 17 - 0 = 3 VIP customers (`<10`)."""
    head = ("Outlet", "customers", "customers_mass", "customers_quality", "customers_vip",
            "customers_private_banking")  # fmt: skip
    region = _region(
        tmp_path, {"Outlets": [head, ("North", 60, 40, 17, "<10", 0), ("South", 90, 50, 20, 20, 0)]}
    )
    assert _leaks(region) == [("R1", "Outlets", "North", "customers_vip", 3.0, 3.0)]


def test_the_reports_rounded_rate_and_the_workbooks_leads_issued_give_the_count(tmp_path):
    """02's outlet table prints 10.2 % (10.15 .. 10.25 %) where the workbook withholds the
    rate but prints 88 leads issued: 8.9 .. 9.0 converted leads, i.e. 9."""
    region = _region(
        tmp_path,
        {"Outlets": [CONVERSION, ("North", 358, 100, "x", "x"), ("South", 257, 88, "<10", "x")]},
    )
    (region / "02_cross_sell_propensity.html").write_text(
        "<table><thead><tr><th>outlet</th><th>Customers</th><th>Lead conversion rate (%)</th>"
        "</tr></thead><tbody><tr><td>North</td><td>358</td><td>x</td></tr>"
        "<tr><td>South</td><td>257</td><td>10.2%</td></tr></tbody></table>",
        encoding="utf-8",
    )
    v = attack_region(region, tmp_path, None, K)
    assert v is not None
    assert "02_cross_sell_propensity: Lead conversion rate (%)" in v.kept
    assert v.leaks == [("R1", "Outlets", "South", "leads_converted", 9.0, 9.0)]


def test_a_report_disagreeing_with_the_workbook_is_not_paired(tmp_path):
    """03's product sales count another thing than the workbook's: a column whose printed
    cells disagree with the workbook's is rejected, not read as the same figure."""
    region = _region(
        tmp_path,
        {
            "Outlets": [
                ("Outlet", "customers", "sales_total"),
                ("North", 358, 29),
                ("South", 257, 18),
            ]
        },
    )
    (region / "02_cross_sell_propensity.html").write_text(
        "<table><thead><tr><th>outlet</th><th>Product sales</th>"
        "<th>Lead conversion rate (%)</th></tr></thead><tbody>"
        "<tr><td>North</td><td>42</td><td>x</td></tr>"
        "<tr><td>South</td><td>27</td><td>x</td></tr></tbody></table>",
        encoding="utf-8",
    )
    v = attack_region(region, tmp_path, None, K)
    assert v is not None and v.leaks == []
    assert v.rejected == [
        "02_cross_sell_propensity: Product sales disagrees with the workbook (sales_total)"
    ]


def _homes(processed: Path) -> dict[str, dict[str, str]]:
    """Where each manager works (the region's management knows it), per region: the outlet of
    every customer a manager has at the last month of the processed data; a manager with
    customers at several outlets is in no outlet's relation (only the region's)."""
    cm = pd.read_parquet(
        processed / "customer_month.parquet",
        columns=["month", "region_id", "outlet_id", "manager_id"],
    )
    now = cm[cm["month"] == cm["month"].max()].dropna(subset=["manager_id"])
    out: dict[str, dict[str, str]] = {}
    for (region, manager), g in now.groupby(["region_id", "manager_id"], sort=True):
        outlets = set(g["outlet_id"].astype(str))
        if len(outlets) == 1:
            out.setdefault(str(region), {})[str(manager)] = outlets.pop()
    return out


@pytest.mark.run_level
@pytest.mark.slow
def test_no_withheld_workbook_cell_is_recoverable_from_the_workbooks_and_reports(ci_run):
    """Every region of the run: its shared workbooks (scorecards: Managers and Outlets; the
    no-manager workbooks' Scorecard) read with its HTML reports; no ``<k`` cell (nor a
    fail-safe cell pinned to a small group) narrower than its protection interval, no cell
    printed in one file and withheld in another."""
    leaks, back, attacked, verdicts = run_workbook_leaks(ci_run.run_dir, _homes(ci_run.processed))
    assert verdicts, "no scorecards workbook in the run"
    assert attacked > 0
    assert not [r for r, v in verdicts.items() if "infeasible" in " ".join(v.rejected)]
    assert back == []
    assert leaks == []
