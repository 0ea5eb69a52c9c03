"""Lead workbooks (report/workbooks.py): one per manager and per outlet, restricted, Excel-ready."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from action_data import manager_book
from openpyxl import load_workbook

from bankanalysis.actions.upgrade import region_upgrade_candidates
from bankanalysis.data.restricted import AUDIENCE_FILE, restricted_files
from bankanalysis.propensity.leads import build_lead_lists
from bankanalysis.propensity.scorecards import scorecards
from bankanalysis.propensity.workflow import region_lead_lists, score_region
from bankanalysis.report.format import Suppressed
from bankanalysis.report.workbooks import (
    lead_sheet,
    plan_workbooks,
    reason_phrase,
    write_lead_files,
)
from bankanalysis.rules.months import shift_month

OUTLETS = {"O1": "东区支行", "O2": "West & Sons"}
PRODUCTS = {"fund": "Funds", "gold": "Gold savings", "time_deposit": "time deposit"}


def _offers(values: dict[str, float] | None = None) -> pd.DataFrame:
    """Offers of five customers; c5's offer is below a 2% cutoff."""
    values = values or {}
    df = pd.DataFrame(
        {
            "customer_id": ["c1", "c1", "c2", "c3", "c4", "c5"],
            "offer_rank": [1, 2, 1, 1, 1, 1],
            "product": ["fund", "gold", "fund", "gold", "fund", "gold"],
            "probability": [0.5, 0.2, 0.4, 0.6, 0.3, 0.015],
        }
    )
    df["value"] = df["product"].map(lambda p: values.get(p, 1.0))
    df["expected_value"] = df["probability"] * df["value"]
    return df


CUSTOMERS = pd.DataFrame(
    {
        "customer_id": ["c1", "c2", "c3", "c4", "c5"],
        "tier": ["mass", "vip", "mass", "quality", "mass"],
        "outlet_id": ["O1", "O1", "O2", "O2", "O1"],
        "manager_id": ["M7", "M7", None, None, "M9"],
    }
)


def _leads(values: dict[str, float] | None = None, cutoff: float = 0.02) -> pd.DataFrame:
    leads = build_lead_lists(_offers(values), CUSTOMERS, leads_per_sheet=50, min_probability=cutoff)
    leads["reason_1"] = reason_phrase("aum", 3_990_000)
    leads["reason_2"] = reason_phrase("hold_time_deposit", 1.0, PRODUCTS)
    return leads


UPGRADES = pd.DataFrame(
    {
        "customer_id": ["c1", "c4"],
        "outlet_id": ["O1", "O2"],
        "manager_id": ["M7", None],
        "tier": ["quality", "quality"],
        "next_tier": ["vip", "vip"],
        "aum": [480_000.0, 470_000.0],
        "gap_to_next": [20_000.0, 30_000.0],
        "aum_trend": [5_000.0, -1_000.0],
        "products_to_close": [["fund", "gold"], ["gold"]],
    }
)


# --------------------------------------------------------------------------- reasons


@pytest.mark.parametrize(
    ("feature", "value", "phrase"),
    [
        ("aum", 3_990_000, "AUM 3.99 m CNY"),
        ("contact_minutes_3m", 42.1, "42 minutes of contact in 3 months"),
        ("contact_minutes_1m", 1.0, "1 minute of contact this month"),
        ("hold_time_deposit", 1.0, "holds time deposit"),
        ("hold_gold", 0.0, "does not hold Gold savings"),
        ("txn_mobile_n_3m", 15, "15 mobile transactions in 3 months"),
        ("txn_n_1m", 3, "3 transactions this month"),
        ("aum_chg_3m", 25_000, "AUM up 25.00 k CNY in 3 months"),
        ("aum_chg_1m", 0.0, "AUM unchanged in 1 month"),
        ("n_products_chg_3m", -1, "1 product fewer in 3 months"),
        ("bal_deposit", 120_000, "deposit balance 120.00 k CNY"),
        ("contacts_1m", 2, "2 contacts with the account manager this month"),
        ("e_channel_share_3m", 0.5, "50.0% of transactions outside the counter in 3 months"),
        ("tenure_months", 62, "customer for 5 years 2 months"),
        ("age", 45, "aged 45"),
        ("has_manager", 0.0, "no account manager"),
        ("fee_income_3m", 800, "fee income 800 CNY in 3 months"),
    ],
)
def test_reason_phrases_are_plain_language(feature, value, phrase):
    got = reason_phrase(feature, value, PRODUCTS)
    assert got == phrase
    assert "_" not in got  # never a raw feature name


def test_reason_phrase_of_a_missing_value_says_so():
    assert reason_phrase("aum_chg_3m", float("nan")) == "aum chg 3m not known"


# --------------------------------------------------------------------------- sheets


def test_lead_sheet_shows_names_and_hides_expected_value_when_values_are_equal():
    leads = _leads()
    sheet = lead_sheet(leads, OUTLETS, PRODUCTS, with_value=False)
    assert list(sheet.columns) == [
        "Rank", "Customer id", "Tier", "Outlet", "Product", "Probability", "Reason 1", "Reason 2",
    ]  # fmt: skip
    assert set(sheet["Outlet"]) == {"东区支行", "West & Sons"}
    assert set(sheet["Product"]) <= set(PRODUCTS.values())
    assert "c5" not in set(sheet["Customer id"]), "an offer below the cutoff became a lead"


def test_lead_sheet_never_shows_certainty():
    leads = _leads()
    leads["probability"] = np.linspace(0.99996, 0.00004, len(leads))
    shown = lead_sheet(leads, OUTLETS, PRODUCTS)["Probability"]
    # PERCENT shows one decimal: 0.99996 would read 100.0 %, 0.00004 0.0 %
    assert shown.max() == pytest.approx(0.999) and shown.min() == pytest.approx(0.001)
    assert f"{shown.max():.1%}" == "99.9%"


def test_plan_one_workbook_per_manager_and_per_outlet_without_manager():
    specs = plan_workbooks(_leads(), OUTLETS, UPGRADES)
    files = [s.file for s in specs]
    # M7 holds O1's customers; M9 (only lead under the cutoff) has no workbook without a card
    assert files == ["leads_O1_am1.xlsx", "leads_O2_no_manager.xlsx"]
    m7 = specs[0]
    assert m7.manager_id == "M7" and m7.leads["customer_id"].tolist() == ["c1", "c2", "c1"]
    assert m7.upgrades["customer_id"].tolist() == ["c1"]
    assert specs[1].upgrades["customer_id"].tolist() == ["c4"]
    for s in specs:
        assert "M7" not in s.file and "M7" not in s.audience


def _written(tmp_path, values=None, upgrades=UPGRADES):
    leads = _leads(values)
    book = manager_book()
    cards = scorecards(book, None, True, by="manager_id")
    outlet_cards = scorecards(book, None, True, by="outlet_id")
    facts = {"data_month": "2025-12", "min_probability": 0.02, "notes": ["How to read"]}
    out = write_lead_files(
        leads,
        tmp_path / "02",
        "R1",
        OUTLETS,
        PRODUCTS,
        facts,
        upgrades,
        cards,
        outlet_cards,
        book,
    )
    return out, leads


def test_workbooks_open_in_excel_with_summary_first_frozen_filtered_and_formatted(tmp_path):
    written, leads = _written(tmp_path)
    folder = tmp_path / "02" / "restricted"
    assert written.folder == folder
    # M9 has a scorecard (a customer) but no lead above the cutoff: a workbook, no padded lead
    assert sorted(p.name for p in folder.glob("leads_*.xlsx")) == [
        "leads_O1_am1.xlsx", "leads_O1_am2.xlsx", "leads_O2_no_manager.xlsx",
    ]  # fmt: skip
    wb = load_workbook(folder / "leads_O1_am1.xlsx")
    assert wb.sheetnames == ["Summary", "Leads", "Upgrade candidates", "Scorecard"]
    assert wb["Summary"]["A1"].value == "Account manager M7, 东区支行"
    ws = wb["Leads"]
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:H4"
    header = [c.value for c in ws[1]]
    assert "Expected value" not in header  # every product worth the same
    prob = header.index("Probability") + 1
    cells = [ws.cell(row=r, column=prob) for r in range(2, ws.max_row + 1)]
    assert [c.value for c in cells] == [0.5, 0.4, 0.2]
    assert {c.number_format for c in cells} == {"0.0%"}
    products = [ws.cell(row=r, column=header.index("Product") + 1).value for r in range(2, 5)]
    assert products == ["Funds", "Funds", "Gold savings"]
    outlets = {ws.cell(row=r, column=header.index("Outlet") + 1).value for r in range(2, 5)}
    assert outlets == {"东区支行"}
    assert ws.cell(row=2, column=header.index("Reason 1") + 1).value == "AUM 3.99 m CNY"
    assert ws.column_dimensions["B"].width >= len("Customer id")
    up = wb["Upgrade candidates"]
    assert [c.value for c in up[2]] == [
        "c1",
        "Quality",
        "VIP",
        480000,
        20000,
        5000,
        "Funds, Gold savings",
    ]
    assert up.freeze_panes == "A2" and up["D2"].number_format == "#,##0"
    card = {r[0]: r[1:] for r in wb["Scorecard"].iter_rows(min_row=2, values_only=True)}
    assert card["Customers"][0] == 2
    assert card["AUM growth of the book"][0] == pytest.approx(80_000 / 1_200_000)
    empty = load_workbook(folder / "leads_O1_am2.xlsx")
    assert empty["Leads"].max_row == 1, "a list is shorter, never padded below the cutoff"


def test_expected_value_shown_only_where_product_values_differ(tmp_path):
    _written(tmp_path, values={"gold": 3.0})
    ws = load_workbook(tmp_path / "02" / "restricted" / "leads_O1_am1.xlsx")["Leads"]
    header = [c.value for c in ws[1]]
    assert "Expected value" in header
    col = header.index("Expected value") + 1
    assert [ws.cell(row=r, column=col).value for r in range(2, 5)] == [0.6, 0.5, 0.4]


def test_workbooks_without_upgrade_candidates_say_so(tmp_path):
    _written(tmp_path, upgrades=None)
    wb = load_workbook(tmp_path / "02" / "restricted" / "leads_O1_am1.xlsx")
    assert "Upgrade candidates" not in wb.sheetnames
    summary = {r[0]: r[1] for r in wb["Summary"].iter_rows(min_row=2, values_only=True)}
    assert summary["Upgrade candidates"] == "not part of this run"
    assert summary["Leads"] == 3 and summary["Expected sales from the leads"] == pytest.approx(1.1)


def test_every_file_is_restricted_with_an_audience_and_no_manager_id_outside(tmp_path):
    written, leads = _written(tmp_path)
    out = tmp_path / "02"
    assert [p for p in out.rglob("*") if p.is_file() and "restricted" not in p.parts] == []
    listed = restricted_files(out, tmp_path)
    assert {e["path"] for e in listed} == {f"02/restricted/{f}" for f in written.files}
    audiences = json.loads((out / "restricted" / AUDIENCE_FILE).read_text("utf-8"))
    assert set(audiences) == set(written.files)
    text = json.dumps(listed, ensure_ascii=False)
    assert "M7" not in text and "M9" not in text and "c1" not in text
    contents = pd.read_csv(out / "restricted" / "contents.csv", encoding="utf-8-sig", dtype=str)
    assert dict(zip(contents["file"], contents["manager_id"].fillna(""), strict=True)) == {
        "leads_O1_am1.xlsx": "M7",
        "leads_O1_am2.xlsx": "M9",
        "leads_O2_no_manager.xlsx": "",
    }
    region = pd.read_csv(out / "restricted" / "leads_R1.csv", encoding="utf-8-sig")
    assert len(region) == len(leads) == written.leads
    cards = load_workbook(out / "restricted" / "scorecards_R1.xlsx")
    assert cards.sheetnames == ["Summary", "Managers", "Outlets"]
    outlets = [r[0] for r in cards["Outlets"].iter_rows(min_row=2, values_only=True)]
    assert outlets == ["东区支行", "West & Sons"]


def test_scorecard_medians_over_too_few_peers_are_withheld():
    from bankanalysis.report.workbooks import scorecard_sheet

    cards = scorecards(manager_book(), None, True, by="manager_id")
    card = scorecard_sheet(cards.loc["M7"], cards, {}, min_peers=3).set_index("Measure")
    assert card.loc["Customers", "Value"] == 2 and card.loc["Customers", "Region median"] is None
    assert card.loc["Customers", "Note"] == "median withheld: fewer than 3 with a value"
    shown = scorecard_sheet(cards.loc["M7"], cards, {}, min_peers=2).set_index("Measure")
    assert shown.loc["Customers", "Region median"] == 1.5


def test_a_regions_workbooks_take_the_medians_once_per_kind_of_card(tmp_path, monkeypatch):
    import bankanalysis.report.workbooks as wbk

    calls = []
    real = wbk.peer_medians

    def spy(peers, min_peers=0):
        calls.append((len(peers), min_peers))
        return real(peers, min_peers)

    monkeypatch.setattr(wbk, "peer_medians", spy)
    leads = _leads(None)
    book = manager_book()
    cards = scorecards(book, None, True, by="manager_id")
    outlet_cards = scorecards(book, None, True, by="outlet_id")
    facts = {"data_month": "2025-12", "min_probability": 0.02, "notes": [], "min_group_size": 2}
    out = wbk.write_lead_files(
        leads, tmp_path, "R1", OUTLETS, PRODUCTS, facts, UPGRADES, cards, outlet_cards
    )
    # one call for the managers' cards and one for the outlets', whatever the workbooks
    assert out.workbooks >= 2 and sorted(calls) == sorted([(len(cards), 2), (len(outlet_cards), 2)])
    # and the sheet from the medians taken once is the sheet that takes its own
    shown = wbk.protect_cards(cards, 2)
    once = wbk.scorecard_sheet(cards.loc["M7"], shown, {}, min_peers=2, medians=real(shown, 2))
    own = wbk.scorecard_sheet(cards.loc["M7"], shown, {}, min_peers=2)
    pd.testing.assert_frame_equal(once, own)


def test_the_scorecards_are_protected_at_the_level_the_facts_give(tmp_path, monkeypatch):
    """``write_lead_files`` protects the outlet and region scorecards with the run's
    ``protection_level`` (lead_review puts the context's in ``facts``), 0.5 when absent."""
    import bankanalysis.report.workbooks as wbk

    seen = []
    for name in ("protect_cards", "protect_manager_cards"):  # the outlets', the managers'
        real = getattr(wbk, name)
        monkeypatch.setattr(
            wbk,
            name,
            lambda c, k, lv, *a, _real=real, **kw: seen.append(lv) or _real(c, k, lv, *a, **kw),
        )
    book = manager_book()
    cards = scorecards(book, None, True, by="manager_id")
    outlet_cards = scorecards(book, None, True, by="outlet_id")
    facts = {"data_month": "2025-12", "min_probability": 0.02, "notes": [], "min_group_size": 2}
    for extra, level in (({"protection_level": 0.8}, 0.8), ({}, 0.5)):
        seen.clear()
        wbk.write_lead_files(
            _leads(None), tmp_path / str(level), "R1", OUTLETS, PRODUCTS, facts | extra,
            UPGRADES, cards, outlet_cards,
        )  # fmt: skip
        assert seen == [level, level]


def test_scorecard_medians_are_over_the_peers(tmp_path):
    _written(tmp_path)
    wb = load_workbook(tmp_path / "02" / "restricted" / "leads_O1_am1.xlsx")
    card = {r[0]: r for r in wb["Scorecard"].iter_rows(min_row=2, values_only=True)}
    # managers M7 (2 customers) and M9 (1): median 1.5
    assert card["Customers"][2] == pytest.approx(1.5)
    assert card["Lead conversion rate"][1] is None
    assert card["Lead conversion rate"][4] == "no leads issued then"
    assert np.isclose(card["Product sales"][1], 1)


# --------------------------------------------------------------------------- seeded bank


def _hand_upgrades(cm: pd.DataFrame, region: str, month: str) -> pd.DataFrame:
    """The region's customers within 10 % below the next threshold, computed directly."""
    thr = [50_000.0, 500_000.0, 6_000_000.0]
    window = [shift_month(month, -2), shift_month(month, -1), month]
    avg = cm[cm["month"].isin(window)].groupby("customer_id")["aum"].mean()
    now = cm[(cm["month"] == month) & (cm["region_id"] == region)].set_index("customer_id")
    a = avg.reindex(now.index)
    nxt = pd.Series(np.select([a < thr[0], a < thr[1], a < thr[2]], thr, np.nan), index=a.index)
    band = (a >= 0.9 * nxt) & (a < nxt)
    return now.loc[band[band].index, ["manager_id", "outlet_id"]]


def test_seeded_workbooks_hold_each_managers_own_upgrade_candidates(
    propensity_bank, propensity_fit, tmp_path
):
    bank = propensity_bank
    bundle = propensity_fit[0]
    month = bundle.data_month
    scored = score_region(bank, bundle, "R2", [50_000, 500_000, 6_000_000], 3)
    ups = region_upgrade_candidates(
        bank, "R2", month, [50_000, 500_000, 6_000_000], 3, 0.10, 3, scored.scores
    )
    want = _hand_upgrades(bank.cm, "R2", month)
    assert sorted(ups["customer_id"]) == sorted(want.index) and len(want) >= 10
    assert ups["manager_id"].notna().any() and ups["manager_id"].isna().any()
    offers, leads = region_lead_lists(bundle, scored, {}, 2, 5, 2, {"fund": "Funds"})
    names = {o: f"Outlet {o}" for o in bank.cm["outlet_id"].unique()}
    write_lead_files(leads, tmp_path, "R2", names, {}, {"data_month": month}, ups)
    folder = tmp_path / "restricted"
    contents = pd.read_csv(folder / "contents.csv", encoding="utf-8-sig", dtype=str)
    seen = []
    for r in contents.itertuples():
        sheet = load_workbook(folder / r.file)["Upgrade candidates"]
        got = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True) if row[0]]
        if isinstance(r.manager_id, str):  # a manager's own candidates, and only theirs
            mine = want[want["manager_id"] == r.manager_id]
        else:  # the outlet's candidates without a manager
            mine = want[want["manager_id"].isna() & (want["outlet_id"] == r.outlet_id)]
        assert sorted(got) == sorted(mine.index), r.file
        assert int(r.upgrade_candidates) == len(mine)
        seen += got
    assert sorted(seen) == sorted(want.index), "every candidate is in exactly one workbook"


def test_shared_scorecards_go_through_the_disclosure_step_own_cards_stay_whole(tmp_path):
    leads = _leads(None)
    book = manager_book()
    cards = scorecards(book, None, True, by="manager_id")
    outlet_cards = scorecards(book, None, True, by="outlet_id")
    facts = {"data_month": "2025-12", "min_probability": 0.02, "notes": [], "min_group_size": 2}
    out = tmp_path / "02"
    write_lead_files(leads, out, "R1", OUTLETS, PRODUCTS, facts, UPGRADES, cards, outlet_cards)
    # the region's scorecards (read by the region's management): M9's single customer is a
    # group of 1 < 2 and M7's row completes the total; with k = 2 a "<2" says exactly 1, so
    # the fail-safe withholds the column under "withheld" (M9 anywhere from 0 to 3)
    sheet = load_workbook(out / "restricted" / "scorecards_R1.xlsx")["Managers"]
    rows = list(sheet.iter_rows(values_only=True))
    col = rows[0].index("customers")
    by_manager = {r[0]: r[col] for r in rows[1:]}
    assert by_manager == {"M7": "withheld", "M9": "withheld"}
    vip = rows[0].index("customers_vip")
    # M7's one VIP is a group of 1 ("<2": exactly 1), M9's 0 is withheld with M9's row
    assert {r[0]: r[vip] for r in rows[1:]} == {"M7": "withheld", "M9": "withheld"}
    # M7's own workbook shows M7's own card as it is (the manager's own customers)
    own = load_workbook(out / "restricted" / "leads_O1_am1.xlsx")["Scorecard"]
    values = {r[0]: r[1] for r in own.iter_rows(min_row=2, values_only=True)}
    assert values["Customers"] == 2


def test_scorecard_median_is_over_published_cards_so_a_withheld_card_is_never_the_median():
    from bankanalysis.report.disclosure_cards import protect_cards
    from bankanalysis.report.workbooks import scorecard_sheet

    # k = 3: M2's VIP group (2 customers) is small, so its VIP contact rate is withheld; over
    # every card the median of M1 20 %, M2 50 %, M3 80 % would be M2's 50 %
    cards = pd.DataFrame(
        {
            "customers": [50, 60, 70],
            "vip_plus_customers": [20, 2, 30],
            "vip_contact_rate": [0.2, 0.5, 0.8],
        },
        index=pd.Index(["M1", "M2", "M3"], name="manager_id"),
    )
    shown = protect_cards(cards, 3)
    assert isinstance(shown.at["M2", "vip_contact_rate"], Suppressed)
    assert cards["vip_contact_rate"].median() == 0.5  # what the old median published
    card = scorecard_sheet(cards.loc["M1"], shown, {}, min_peers=3).set_index("Measure")
    row = card.loc[card.index.str.contains("VIP customers contacted")].iloc[0]
    assert pd.isna(row["Region median"])  # two published values: fewer than k
    assert row["Note"] == "median withheld: fewer than 3 with a value"
    more = pd.concat(
        [
            cards,
            pd.DataFrame(
                {
                    "customers": [80, 90],
                    "vip_plus_customers": [25, 40],
                    "vip_contact_rate": [0.9, 0.6],
                },
                index=pd.Index(["M4", "M5"], name="manager_id"),
            ),
        ]
    )
    # M2's 2 comes back as the region's VIP total less the others: M1's 20 is withheld too
    # (x), and with it M1's rate (20 % is 4/20 or 5/25), so M1 is no median either
    assert str(protect_cards(more, 3).at["M1", "vip_contact_rate"]) == "x"
    card = scorecard_sheet(more.loc["M1"], protect_cards(more, 3), {}, min_peers=3)
    row = (
        card.set_index("Measure")
        .loc[lambda d: d.index.str.contains("VIP customers contacted")]
        .iloc[0]
    )
    assert row["Region median"] == pytest.approx(0.8)  # over 80 %, 90 %, 60 %, not 60 %


@pytest.mark.run_level
@pytest.mark.slow
def test_the_runs_workbooks_and_reports_show_the_same_outlet_quality_and_above_figures(ci_run):
    """Every region's scorecards workbook (sheet Outlets) against 01's account-manager table,
    02's outlet scorecards and 03's outlet table, outlet by outlet: the quality-and-above
    customers and the contact-plan coverage over them are the same number or the same marker
    in every file (``tests/workbook_agreement.py``); a workbook never prints what a report
    withholds. The customers and product sales of 03's outlet table are the workbook's (02
    counted the new holdings of the scored products only: the product sales of all 100
    outlets of the default bank differed, e.g. 123 against 167)."""
    from workbook_agreement import outlet_agreement

    compared, found, _ = outlet_agreement(ci_run.run_dir)
    assert compared > 0
    assert found == []


def test_outlet_agreement_reads_a_disagreement(tmp_path):
    """The comparison itself: a workbook printing 42 where 01 prints `x` is found."""
    import xlsxwriter
    from workbook_agreement import outlet_agreement

    folder = tmp_path / "R1" / "02_cross_sell_propensity" / "restricted"
    folder.mkdir(parents=True)
    wb = xlsxwriter.Workbook(str(folder / "scorecards_R1.xlsx"))
    ws = wb.add_worksheet("Outlets")
    for r, row in enumerate(
        [
            ("Outlet", "quality_plus_customers", "contact_plan_coverage"),
            ("Big", 42, 0.5),
            ("Small", "<10", "<10"),
        ]
    ):
        ws.write_row(r, 0, row)
    wb.close()
    (tmp_path / "R1" / "01_customer_segmentation.html").write_text(
        "<table><thead><tr><th>Outlet</th><th>Quality-and-above customers</th>"
        "<th>Customer contact-plan coverage (%)</th></tr></thead><tbody>"
        "<tr><td>Big</td><td>x</td><td>x</td></tr>"
        "<tr><td>Small</td><td>&lt;10</td><td>&lt;10</td></tr></tbody></table>",
        encoding="utf-8",
    )
    compared, found, withheld = outlet_agreement(tmp_path)
    assert compared == 4 and withheld == 2
    assert found == [
        "R1 Big quality_plus_customers: workbook 42.0, 01_customer_segmentation 'x'",
        "R1 Big contact_plan_coverage: workbook 0.5, 01_customer_segmentation 'x'",
    ]


def test_the_managers_sheet_is_protected_against_the_outlets_sheet(tmp_path):
    """The region's scorecards print M1's 10 VIP customers and O1's 13: M2's 3 (`<10`, both
    work at O1) was 1 .. 3 by subtraction (the outlet's customers without a manager are at
    least 0). write_lead_files gives the managers' step the outlets' cards and the book, so
    the VIP column of the Managers sheet is withheld (`withheld`) and the Outlets sheet stays
    as it was."""
    from attacker_workbooks import attack_region

    managers = pd.DataFrame(
        {"customers": [40, 30, 60], "customers_vip": [10, 3, 30]},
        index=pd.Index(["M1", "M2", "M3"], name="manager_id"),
    )
    outlets = pd.DataFrame(
        {"customers": [80, 70], "customers_vip": [13, 31]},
        index=pd.Index(["O1", "O2"], name="outlet_id"),
    )
    book = pd.DataFrame(
        {"manager_id": ["M1", "M2", "M3", None], "outlet_id": ["O1", "O1", "O2", "O2"]}
    )
    facts = {"data_month": "2025-12", "min_probability": 0.02, "notes": [], "min_group_size": 10}
    out = tmp_path / "R1" / "02_cross_sell_propensity"
    write_lead_files(
        _leads(None), out, "R1", OUTLETS, PRODUCTS, facts, None, managers, outlets, book
    )
    sheets = load_workbook(out / "restricted" / "scorecards_R1.xlsx")
    rows = list(sheets["Managers"].iter_rows(values_only=True))
    vip = rows[0].index("customers_vip")
    assert [r[vip] for r in rows[1:]] == ["withheld"] * 3
    assert [r[vip] for r in list(sheets["Outlets"].iter_rows(values_only=True))[1:]] == [13, 31]
    home = {"M1": "O1", "M2": "O1", "M3": "O2"}
    v = attack_region(tmp_path / "R1", tmp_path, home, 10)
    assert v is not None and v.attacked == 3 and v.leaks == []  # M2: `withheld`, 0 .. 13


def test_the_outlet_cards_carry_03s_new_customer_decision(tmp_path):
    """03 decides the outlets' new customers with the run's status of the region's own count
    (``outlet_count_decision``): here the run withholds the region's count, so 03 withholds
    O1's 4 (`<10`) and prints O2's 30 and O3's 12, which no total gives anything back from.
    The workbooks' own step took the region's total as published and withheld O3's 12 (`x`),
    a cell 03 prints; with 03's decision the Outlets sheet shows what 03 shows."""
    from bankanalysis.report.disclosure_cards import outlet_count_decision

    outlets = pd.DataFrame(
        {"customers": [200, 300, 250], "new_customers": [4, 30, 12]},
        index=pd.Index(["O1", "O2", "O3"], name="outlet_id"),
    )
    om = outlets.reset_index().assign(month="2025-12", region_id="R1")
    facts = {"data_month": "2025-12", "min_probability": 0.02, "notes": [], "min_group_size": 10}

    def sheet(decided: dict | None, name: str) -> list:
        out = tmp_path / name
        write_lead_files(
            _leads(None), out, "R1", OUTLETS, PRODUCTS, facts, None, None, outlets,
            decided=decided,
        )  # fmt: skip
        rows = list(load_workbook(out / "restricted" / "scorecards_R1.xlsx")["Outlets"].rows)
        col = [c.value for c in rows[0]].index("new_customers")
        return [r[col].value for r in rows[1:]]

    assert sheet(None, "own") == ["<10", 30, "x"]
    decided = outlet_count_decision(om, "R1", "2025-12", {}, 10, region_status="primary")
    assert decided["new_customers"].cells.to_dict() == {"O1": "primary", "O2": "", "O3": ""}
    assert decided["new_customers"].total == "primary"
    assert sheet(decided, "03s") == ["<10", 30, 12]
    # with the region's count published, 03 withholds O3 as the partner: so does the sheet
    published = outlet_count_decision(om, "R1", "2025-12", {}, 10)
    assert sheet(published, "published") == ["<10", 30, "x"]


def test_the_outlet_cards_publish_new_customers_when_the_run_does(tmp_path):
    """``protect_outlet_counts: false`` (run-wide): 03 prints every outlet's new customers, the
    4 included, and so does the Outlets sheet (it follows 03's decision, not its own rule)."""
    from bankanalysis.report.disclosure_cards import outlet_count_decision

    outlets = pd.DataFrame(
        {"customers": [200, 300, 250], "new_customers": [4, 30, 12]},
        index=pd.Index(["O1", "O2", "O3"], name="outlet_id"),
    )
    om = outlets.reset_index().assign(month="2025-12", region_id="R1")
    facts = {"data_month": "2025-12", "min_probability": 0.02, "notes": [], "min_group_size": 10}
    decided = outlet_count_decision(om, "R1", "2025-12", {}, 10, protect_counts=False)
    assert decided["new_customers"].cells.tolist() == ["", "", ""]
    out = tmp_path / "02"
    write_lead_files(
        _leads(None), out, "R1", OUTLETS, PRODUCTS, facts, None, None, outlets, decided=decided
    )
    rows = list(load_workbook(out / "restricted" / "scorecards_R1.xlsx")["Outlets"].rows)
    col = [c.value for c in rows[0]].index("new_customers")
    assert [r[col].value for r in rows[1:]] == [4, 30, 12]
