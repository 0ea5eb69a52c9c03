"""Tests of the scorecards' disclosure step (bankanalysis.report.disclosure_cards)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bankanalysis.report import disclosure_cards as dc
from bankanalysis.report.format import Suppressed
from bankanalysis.rules.tiers import TIERS


def test_cards_money_is_protected_at_the_runs_protection_level() -> None:
    # M1 (3 customers, k = 5) holds 100 of AUM, the region's total is published: hiding M2's
    # 30 leaves M1 anywhere in 0 .. 130, short of 150 at level 0.5, so M3's 80 goes (0 .. 180);
    # at level 0.2, 120 is enough and M2's 30 (the smaller) does it
    cards = pd.DataFrame(
        {"customers": [3, 40, 50, 60], "aum": [100.0, 30.0, 80.0, 500.0]},
        index=pd.Index(["M1", "M2", "M3", "M4"], name="manager_id"),
    )
    shown = {lv: [str(v) for v in dc.protect_cards(cards, 5, lv)["aum"]] for lv in (0.5, 0.2)}
    assert shown[0.5] == ["<5", "30.0", "x", "500.0"]
    assert shown[0.2] == ["<5", "x", "80.0", "500.0"]
    assert [str(v) for v in dc.protect_cards(cards, 5)["aum"]] == shown[0.5]  # the default


def test_a_card_rate_is_withheld_with_the_count_it_is_over():
    """The region's scorecards (a workbook for its management): outlets of 42 and 7
    quality-and-above customers, the 7 withheld (`<10`) and the 42 with it (`x`: the region's
    49 less it gives the 7 back). The lead printed the 42's contact-plan coverage (16.7 %),
    which is 7/42 or 8/48: with the region's 49 the small outlet's 7 was 7 or 1."""
    cards = pd.DataFrame(
        {
            "customers": [300, 50],
            "quality_plus_customers": [42, 7],
            "contact_plan_coverage": [7 / 42, 2 / 7],
        },
        index=pd.Index(["O1", "O2"], name="outlet_id"),
    )
    shown = dc.protect_cards(cards, 10)
    assert [str(v) for v in shown["quality_plus_customers"]] == ["x", "<10"]
    assert [str(v) for v in shown["contact_plan_coverage"]] == ["x", "<10"]
    assert [str(v) for v in shown["customers"]] == ["300", "50"]


def _outlet_cards(qp: list[int], mass: list[int], vip: list[int]) -> pd.DataFrame:
    """Outlet scorecards with their tiers (no private banking): customers = mass + quality +
    VIP, quality-and-above = quality + VIP."""
    q, m, v = (np.array(x) for x in (qp, mass, vip))
    return pd.DataFrame(
        {
            "customers": q + m,
            "customers_mass": m,
            "customers_quality": q - v,
            "customers_vip": v,
            "customers_private_banking": 0,
            "quality_plus_customers": q,
            "vip_plus_customers": v,
            "contact_plan_coverage": [0.5] * len(q),
        },
        index=pd.Index([f"O{i + 1}" for i in range(len(q))], name="outlet_id"),
    )


def _card_bounds(shown: pd.DataFrame, cards: pd.DataFrame, k: int) -> dict:
    """The attacker over one sheet of outlet cards: every count column adds up to the region's
    figure (published: 01's tier table, 03's key figures), every card's customers are its
    tiers' customers and its quality-and-above customers its tiers from quality up."""
    from attacker import attack_linear

    counts = [c for c in cards.columns if c.startswith("customers") or c.endswith("_customers")]
    cells: dict[str, float | str | None] = {}
    relations: list[dict[str, float]] = []
    for col in counts:
        for o in cards.index:
            v = shown.at[o, col]
            cells[f"n:{col}[{o}]"] = "<k" if str(v).startswith("<") else (
                None if isinstance(v, Suppressed) else float(v)
            )  # fmt: skip
        cells[f"n:{col}"] = float(cards[col].sum())
        relations.append({f"n:{col}[{o}]": 1.0 for o in cards.index} | {f"n:{col}": -1.0})
    sums = {
        "customers": ["customers_mass", "customers_quality", "customers_vip"],
        "quality_plus_customers": ["customers_quality", "customers_vip"],
        "vip_plus_customers": ["customers_vip"],
    }
    for o in cards.index:
        for total, parts in sums.items():  # private banking is 0 and printed
            relations.append({f"n:{total}[{o}]": -1.0} | {f"n:{p}[{o}]": 1.0 for p in parts})
    return attack_linear(cells, relations, k)


def test_card_row_sums_are_the_tiers_of_a_card():
    cols = ["customers", "quality_plus_customers"] + [f"customers_{t}" for t in TIERS]
    assert dc.card_row_sums(cols) == {
        "customers": ("customers_mass", "customers_quality", "customers_vip",
                      "customers_private_banking"),
        "quality_plus_customers": ("customers_quality", "customers_vip",
                                   "customers_private_banking"),
    }  # fmt: skip
    assert dc.card_row_sums(["customers", "customers_mass"]) == {}


def test_outlet_cards_withhold_what_the_outlet_decision_withholds_and_give_none_of_it_back():
    """The region's scorecards (outlets of 42 and 7 quality-and-above customers, 300 and 50
    customers). 01 and 03 withhold the 7 (`<10`) and the 42 (`x`; the region's 49 less it
    gives the 7 back) by `protect_quality_plus`. The lead's workbook marked the same cells but
    printed each outlet's customers and mass tier (300 and 258, 50 and 43): 50 - 43 gives
    the 7 back exactly. Now the cards read the decision (same markers) and the grid knows
    that a card's customers are its tiers', so the mass tier is withheld with the count."""
    from bankanalysis.report.disclosure_outlet_tiers import protect_quality_plus

    cards = _outlet_cards([42, 7], [258, 43], [12, 2])
    decided = protect_quality_plus(cards["quality_plus_customers"], 10)
    assert decided.tolist() == ["secondary", "primary"]
    shown = dc.protect_cards(
        cards,
        10,
        decided={"quality_plus_customers": dc.ColumnDecision(decided)},
        published=["customers"],
    )
    assert [str(v) for v in shown["quality_plus_customers"]] == ["x", "<10"]
    assert [str(v) for v in shown["contact_plan_coverage"]] == ["x", "<10"]
    assert shown["customers"].tolist() == [300, 50]  # printed by 01 and 03 as well
    assert [str(v) for v in shown["customers_mass"]] == ["x", "x"]
    lo, hi = _card_bounds(shown, cards, 10)["n:quality_plus_customers[O2]"]
    assert lo <= 1 and hi >= 9  # 1 to 9 for the attacker, not 7
    assert shown.attrs["protection"].safe


def test_outlet_cards_show_the_outlet_decisions_fail_safe_marker():
    """Outlets of 11 and 2 quality-and-above customers: an `x` on the 11 (at least 10) leaves
    the 2 at most 3 under the region's 13, so the decision withholds both under `withheld`
    (01 and 03 print that marker); the cards print the same, and their rates with it."""
    from bankanalysis.report.disclosure_outlet_tiers import protect_quality_plus

    cards = _outlet_cards([11, 2], [100, 40], [3, 0])
    decided = protect_quality_plus(cards["quality_plus_customers"], 10)
    shown = dc.protect_cards(
        cards,
        10,
        decided={"quality_plus_customers": dc.ColumnDecision(decided)},
        published=["customers"],
    )
    assert [str(v) for v in shown["quality_plus_customers"]] == ["withheld", "withheld"]
    assert [str(v) for v in shown["contact_plan_coverage"]] == ["withheld", "withheld"]
    lo, hi = _card_bounds(shown, cards, 10)["n:quality_plus_customers[O2]"]
    assert lo <= 1 and hi >= 9


def test_a_tier_count_does_not_come_back_as_the_cards_customers_less_its_other_tiers():
    """Without the decision too: a VIP count of 3 (withheld; the region's 15 less an `x`, at
    least 10, leaves it 5 at most, so under `withheld`) beside printed customers, mass and
    quality came back as 60 - 40 - 17 in the lead's cards; the grid now withholds another
    cell of the card."""
    cards = _outlet_cards([20, 25], [40, 50], [3, 12])
    shown = dc.protect_cards(cards, 10, published=["customers"])
    assert str(shown.at["O1", "customers_vip"]) == "withheld"
    lo, hi = _card_bounds(shown, cards, 10)["n:customers_vip[O1]"]
    assert lo <= 1 and hi >= 9, (lo, hi)


def test_a_count_the_outlet_decision_publishes_is_never_a_secondary_cell_of_the_cards():
    """Three outlets, none with 1 to 9 quality-and-above customers (01 prints 30, 25 and 40),
    but 3 private-banking customers at O1 (12 at O2): the card's quality-and-above customers less its
    quality and VIP tiers would give them back, so the grid withholds another cell of O1's
    row -- never the quality-and-above count 01 prints (on the CI batch the first version of
    this step chose it: `x` in the workbook, 73 in 01), but its quality or VIP tier."""
    from bankanalysis.report.disclosure_outlet_tiers import protect_quality_plus

    cards = _outlet_cards([30, 25, 40], [100, 90, 120], [12, 14, 15])
    cards["customers_private_banking"] = [3, 12, 0]
    cards["customers_quality"] -= cards["customers_private_banking"]
    cards["vip_plus_customers"] += cards["customers_private_banking"]
    decided = protect_quality_plus(cards["quality_plus_customers"], 10)
    assert decided.tolist() == ["", "", ""]
    shown = dc.protect_cards(
        cards,
        10,
        decided={"quality_plus_customers": dc.ColumnDecision(decided)},
        published=["customers"],
    )
    assert shown["quality_plus_customers"].tolist() == [30, 25, 40]
    assert shown["customers"].tolist() == [130, 115, 160]
    # the 3 withheld (under the fail-safe's marker: an `x` at O2 would leave it too narrow),
    # with another cell of O1's row, which would give it back as 30 - 15 - 12
    assert str(shown.at["O1", "customers_private_banking"]) == "withheld"
    o1 = [shown.at["O1", c] for c in ("customers_quality", "customers_vip", "vip_plus_customers")]
    assert any(isinstance(v, Suppressed) for v in o1)
    assert shown.attrs["protection"].safe


def test_a_managers_count_does_not_come_back_as_its_outlets_less_the_other_managers():
    """The region's scorecards print the managers' cards beside the outlets'. M1 (10 VIP
    customers) and M2 (3, `<10`) work at O1, whose 13 VIP customers are printed: M2 and O1's
    VIP customers without a manager (at least 0) are 13 - 10 = 3, so M2 is 1 .. 3 for the
    attacker. With the outlets as covers, no secondary cell helps (M1's `x` reads at least
    10, so M2 stays at most 3) and the fail-safe withholds the VIP column (`withheld`, at least
    0): M2 is 0 .. 13; the customers, which nothing pins, stay printed."""
    from attacker_workbooks import workbook_problem

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
    shown_o = dc.protect_cards(outlets, 10, published=("customers",))
    covers = dc.manager_covers(outlets, shown_o, book)
    assert covers["customers_vip"] == {"O1": (13.0, "", ["M1", "M2"]), "O2": (31.0, "", ["M3"])}

    def cells(frame: pd.DataFrame) -> dict:
        return {
            i: {c: str(v) if isinstance(v, Suppressed) else float(v) for c, v in row.items()}
            for i, row in frame.iterrows()
        }

    def m2(shown_m: pd.DataFrame) -> tuple[float, float]:
        p = workbook_problem(cells(shown_m), cells(shown_o), {"M1": "O1", "M2": "O1", "M3": "O2"})
        bounds = p.solve()
        assert bounds is not None
        return bounds[("Managers", "M2", "customers_vip")]

    before = dc.protect_cards(managers, 10)
    assert [str(v) for v in before["customers_vip"]] == ["10", "<10", "x"]
    assert m2(before) == (1.0, 3.0)
    after = dc.protect_cards(managers, 10, covers=covers)
    assert [str(v) for v in after["customers_vip"]] == ["withheld"] * 3
    assert after["customers"].tolist() == [40, 30, 60]
    assert m2(after) == (0.0, 13.0)


def test_a_cover_the_managers_overrun_sets_up_no_relation():
    """A manager with customers at two outlets is in no outlet's cover (manager_covers), and
    rows adding up to more than the cover (5 + 9 > 12) set up no relation: M2's `<10` is
    withheld with M1 against the column's total only."""
    managers = pd.DataFrame(
        {"customers_vip": [5, 9, 40]}, index=pd.Index(["M1", "M2", "M3"], name="manager_id")
    )
    book = pd.DataFrame({"manager_id": ["M1", "M1", "M2"], "outlet_id": ["O1", "O2", "O1"]})
    outlets = pd.DataFrame({"customers_vip": [12, 42]}, index=["O1", "O2"])
    assert dc.manager_covers(outlets, outlets.astype(object), book) == {
        "customers_vip": {"O1": (12.0, "", ["M2"])}
    }
    wrong = {"customers_vip": {"O1": (12.0, "", ["M1", "M2"])}}
    plain = dc.protect_cards(managers, 10)
    assert [str(v) for v in dc.protect_cards(managers, 10, covers=wrong)["customers_vip"]] == [
        str(v) for v in plain["customers_vip"]
    ]


def test_an_outlets_withheld_tier_does_not_come_back_through_its_own_row_and_a_managers_card():
    """The default bank's R05: an outlet card printed 362 customers, mass 291 and quality 55
    (printed by the reports too), VIP `x` and private banking `<10`, so VIP and private
    banking made 16; its one manager's 14 VIP customers, printed, then left private banking
    1 or 2. The managers' step reads the covers' own row sums and withholds around them."""
    from attacker_workbooks import judge, workbook_problem

    tiers = ["customers", "customers_mass", "customers_quality", "customers_vip"]
    tiers.append("customers_private_banking")
    outlets = pd.DataFrame(
        [
            [362, 291, 55, 14, 2],
            [500, 360, 80, 40, 20],
            [420, 290, 60, 45, 25],
            [600, 400, 120, 50, 30],
            [700, 480, 130, 55, 35],
        ],
        columns=tiers,
        index=pd.Index([f"O{i}" for i in range(1, 6)], name="outlet_id"),
    )
    managers = pd.DataFrame(
        [
            [200, 140, 46, 14, 0],
            [250, 180, 40, 20, 10],
            [260, 180, 30, 30, 20],
            [300, 200, 60, 25, 15],
            [350, 240, 65, 25, 20],
        ],
        columns=tiers,
        index=pd.Index([f"M{i}" for i in range(1, 6)], name="manager_id"),
    )
    home = {f"M{i}": f"O{i}" for i in range(1, 6)}
    book = pd.DataFrame({"manager_id": [*home, None], "outlet_id": [*home.values(), "O1"]})
    shown_o = dc.protect_cards(outlets, 10, published=tiers[:3])
    assert [str(v) for v in shown_o.loc["O1"]] == ["362", "291", "55", "x", "<10"]
    covers = dc.manager_covers(outlets, shown_o, book)

    def leaks(shown_m: pd.DataFrame) -> list[tuple]:
        def cells(frame: pd.DataFrame) -> dict:
            return {
                i: {c: str(v) if isinstance(v, Suppressed) else float(v) for c, v in r.items()}
                for i, r in frame.iterrows()
            }

        p = workbook_problem(cells(shown_m), cells(shown_o), home)
        bounds = p.solve()
        assert bounds is not None
        return judge(p, bounds, "R05")

    # the managers' cards printed whole (as the step printed them before it read the covers'
    # row sums): O1's private banking is 1 .. 2 for the attacker
    before = dc.protect_cards(managers, 10)
    assert str(before.at["M1", "customers_vip"]) == "14"
    assert ("R05", "Outlets", "O1", "customers_private_banking", 1.0, 2.0) in leaks(before)
    after = dc.protect_cards(managers, 10, covers=covers)
    assert isinstance(after.at["M1", "customers_vip"], Suppressed)
    assert leaks(after) == []


def _shown_cells(frame: pd.DataFrame) -> dict:
    """A protected card frame as the workbook attacker reads a sheet."""
    return {
        i: {c: str(v) if isinstance(v, Suppressed) else float(v) for c, v in row.items()}
        for i, row in frame.iterrows()
    }


def test_region_tier_decision_names_the_totals_01s_tier_table_withholds():
    """01's tier table of 400 mass, 60 quality, 25 VIP and 3 private-banking customers
    withholds private banking (`<10`) and VIP (`x`, else the region's customers less the
    other tiers give the 3 back): those columns' totals are withheld for the cards' step,
    the others are not named (published), and no outlet's cell is decided."""
    tiers = pd.Series(["mass"] * 400 + ["quality"] * 60 + ["vip"] * 25 + ["private_banking"] * 3)
    got = dc.region_tier_decision(tiers, 10)
    assert {c: d.total for c, d in got.items()} == {
        "customers_vip": "secondary",
        "customers_private_banking": "primary",
    }
    assert all(d.cells.empty for d in got.values())
    assert dc.region_tier_decision(pd.Series(["mass"] * 50 + ["quality"] * 20), 10) == {}


def _tier_outlets(rows: list[list[int]], ids: list[str]) -> tuple[pd.DataFrame, pd.Series]:
    """Outlet cards (customers, each tier, quality and above, VIP and above) and the region's
    customers' tiers they add up to."""
    cols = ["customers", *(f"customers_{t}" for t in TIERS)]
    cols += ["quality_plus_customers", "vip_plus_customers"]
    outlets = pd.DataFrame(rows, columns=cols, index=pd.Index(ids, name="outlet_id"))
    tiers = pd.Series(
        [t for t in TIERS for _ in range(int(outlets[f"customers_{t}"].sum()))], dtype=object
    )
    return outlets, tiers


def test_an_outlets_tier_does_not_come_back_from_its_quality_and_above_count_and_an_x():
    """The 120-region bank's R054 (138 customers, two outlets): O107 printed quality and
    above 14 (01 and 03 print it), VIP 0 and quality `x` (at least 10), so its private
    banking `<10` was 1 .. 4. The cards' step read the region's quality count (21) as
    published, which with the region's quality and above (25) pinned VIP and private banking
    together at 4, so no step helped and the fail-safe withheld nothing. 01's tier table
    withholds quality, VIP and private banking at this region; with the region's tier counts
    as 01 shows them (`region_tier_decision`) the fail-safe withholds the outlets' tiers and
    no withheld cell comes back."""
    from attacker_workbooks import judge, workbook_problem

    outlets, tiers = _tier_outlets(
        [[85, 71, 13, 0, 1, 14, 1], [53, 42, 8, 3, 0, 11, 3]], ["O107", "O108"]
    )
    qp = {"quality_plus_customers": dc.ColumnDecision(pd.Series(["", ""], index=outlets.index))}
    region = dc.region_tier_decision(tiers, 10)
    assert {c: d.total for c, d in region.items()} == {
        "customers_quality": "secondary",
        "customers_vip": "primary",
        "customers_private_banking": "primary",
    }

    def leaks(decided: dict) -> list[tuple]:
        shown = dc.protect_cards(outlets, 10, decided=decided, published=("customers",))
        p = workbook_problem({}, _shown_cells(shown), {})
        bounds = p.solve()
        assert bounds is not None
        return judge(p, bounds, "R054")

    assert ("R054", "Outlets", "O107", "customers_private_banking", 1.0, 4.0) in leaks(qp)
    assert leaks(qp | region) == []
    shown = dc.protect_cards(outlets, 10, decided=qp | region, published=("customers",))
    assert shown.at["O107", "quality_plus_customers"] == 14
    assert str(shown.at["O107", "customers_private_banking"]) == "withheld"


def _contact_cards(contacts: list[int], customers: list[int], index: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {"customers": customers, "contacts": contacts},
        index=pd.Index(index, name="manager_id"),
    )


def test_a_managers_share_of_an_outlets_printed_contacts_is_protected_to_that_range():
    """The 120-region bank's R014: O028 printed 1 contact (an outlet's operational figure,
    printed by policy item 2); its one manager M2's card of 6 customers withholds its
    contacts with the row, yet they are 0 .. 1 whatever is withheld, and the attacker judged
    that a leak; the step gave up on it and the fail-safe withheld every manager's contacts
    (M1's 4 too). A part of a printed figure is protected to 0 .. that figure at most
    (`LinearTable.caps`, `Problem.caps`): the attacker finds nothing, M1's contacts stay
    printed. (The step itself reads the managers' column sums as printed, which they are
    not, so it still finds M2 pinned at 1 -- M1's 4 + M2 = 5 -- and logs it: a reading that
    knows more than any reader, never less.)"""
    from attacker_workbooks import judge, workbook_problem

    managers = _contact_cards([4, 1], [40, 6], ["M1", "M2"])
    outlets = pd.DataFrame(
        {"customers": [114, 35], "contacts": [4, 1]},
        index=pd.Index(["O027", "O028"], name="outlet_id"),
    )
    book = pd.DataFrame({"manager_id": ["M1", "M2", None], "outlet_id": ["O027", "O028", "O028"]})
    shown_o = dc.protect_cards(outlets, 10, published=("customers",))
    covers = dc.manager_covers(outlets, shown_o, book)
    shown_m = dc.protect_cards(managers, 10, covers=covers)
    assert shown_m.at["M1", "contacts"] == 4
    assert str(shown_m.at["M2", "contacts"]) == "<10"
    home = {"M1": "O027", "M2": "O028"}
    p = workbook_problem(_shown_cells(shown_m), _shown_cells(shown_o), home)
    bounds = p.solve()
    assert p.caps == {("Managers", "M1", "contacts"): 4.0, ("Managers", "M2", "contacts"): 1.0}
    assert judge(p, bounds, "R014") == []
    # the same card without the cap: 0 .. 1 is narrower than 4.5, a leak for the old reading
    withheld = _shown_cells(shown_m)
    withheld["M2"]["contacts"] = "withheld"
    p = workbook_problem(withheld, _shown_cells(shown_o), home)
    p.caps.clear()
    assert ("R014", "Managers", "M2", "contacts", 0.0, 1.0) in judge(p, p.solve(), "R014")


def test_the_cap_does_not_excuse_a_share_pinned_by_the_other_managers():
    """O1 printed 18 contacts: M1 (15, printed) and M2 (a card of 6 customers, 3 contacts)
    work there, so M2 would be 0 .. 3 while the outlet alone allows 0 .. 18: the cap is 18,
    not 3, and the step withholds M1's contacts too (`x`: at least 10, so M2 is 0 .. 8)."""
    managers = _contact_cards([15, 3, 30], [40, 6, 50], ["M1", "M2", "M3"])
    outlets = pd.DataFrame(
        {"customers": [60, 55], "contacts": [18, 30]},
        index=pd.Index(["O1", "O2"], name="outlet_id"),
    )
    book = pd.DataFrame(
        {"manager_id": ["M1", "M2", "M3", None], "outlet_id": ["O1", "O1", "O2", "O2"]}
    )
    shown_o = dc.protect_cards(outlets, 10, published=("customers",))
    covers = dc.manager_covers(outlets, shown_o, book)
    shown_m = dc.protect_cards(managers, 10, covers=covers)
    assert [str(v) for v in shown_m["contacts"]] == ["x", "<10", "30"]
    assert shown_m.attrs["protection"].safe
    audit = shown_m.attrs["protection"].audit.set_index("cell")
    assert audit.loc["contacts[row=M2]", ["lower", "upper"]].tolist() == [0.0, 8.0]


def test_the_fail_safe_leaves_the_runs_markers_and_protects_around_them():
    """The 120-region bank's R070: O140 printed 15 customers, VIP and private banking 0 and
    its quality and above `<10` (01's decision, printed by 01 and 03). The fail-safe withheld
    that column as `withheld` in its reasoning (at least 0: quality and above 0 .. 5 looked
    protected) while the sheet shows the run's `<10` (at least 1), and the mass `x` (at least
    10) left it 1 .. 5. The fail-safe now leaves the decided cells under their markers and
    withholds the tiers around them."""
    from attacker_workbooks import judge, workbook_problem

    outlets, tiers = _tier_outlets(
        [[156, 123, 27, 5, 1, 33, 6], [15, 13, 2, 0, 0, 2, 0]], ["O139", "O140"]
    )
    qp = pd.Series(["secondary", "primary"], index=outlets.index)
    decided = {"quality_plus_customers": dc.ColumnDecision(qp)} | dc.region_tier_decision(tiers, 10)
    shown = dc.protect_cards(outlets, 10, decided=decided, published=("customers",))
    assert [str(v) for v in shown["quality_plus_customers"]] == ["x", "<10"]
    prot = shown.attrs["protection"]
    assert prot.safe
    assert not {c for c in prot.failsafe if c.startswith("quality_plus_customers[")}
    assert str(shown.at["O140", "customers_mass"]) == "withheld"
    p = workbook_problem({}, _shown_cells(shown), {})
    assert judge(p, p.solve(), "R070") == []


def test_manager_blocks_are_whole_outlets_of_at_least_the_block_size():
    """M1-M3 work at O1, M4 at O2, M5-M6 at O3, M7 at O1 and O2: with blocks of 3, O1 is a
    block; O2 and O3 make the next (1, then 3 managers); M7, at two outlets, is short of 3 and
    joins the last block. Each block keeps the cards' order."""
    book = pd.DataFrame(
        {
            "manager_id": ["M1", "M2", "M3", "M4", "M5", "M6", "M7", "M7", None],
            "outlet_id": ["O1", "O1", "O1", "O2", "O3", "O3", "O1", "O2", "O3"],
        }
    )
    managers = ["M6", "M1", "M2", "M3", "M4", "M5", "M7"]
    assert dc.manager_blocks(managers, book, size=3) == [
        ["M1", "M2", "M3"],
        ["M6", "M4", "M5", "M7"],
    ]
    # a short last outlet joins the block before; blocks as large as the region: one block
    assert dc.manager_blocks(managers, book, size=4) == [["M6", "M1", "M2", "M3", "M4", "M5", "M7"]]
    assert dc.manager_blocks(managers, book, size=1) == [
        ["M1", "M2", "M3"],
        ["M4"],
        ["M6", "M5"],
        ["M7"],
    ]


def test_a_large_regions_cards_protected_by_blocks_give_no_withheld_cell_back():
    """48 managers at 6 outlets (the benchmark's synthetic cards: many small tiers, contacts,
    products sold, AUM), protected in blocks of at least 12 managers (three blocks of two
    outlets, each as if its own totals were printed), two seeds. The workbook attacker reads
    both sheets with every relation a reader has (the region's totals across blocks, the
    cards' tiers, each outlet against its managers) and bounds no withheld cell narrower than
    its protection; the same cards below the block threshold are the whole table's problem,
    cell for cell."""
    from attacker_workbooks import judge, workbook_problem

    from benchmarks.bench_disclosure import make_cards

    for seed in (7, 1):
        cards, outlet_cards, book = make_cards(48, seed=seed)
        managed = book.dropna(subset=["manager_id"])
        home = dict(zip(managed["manager_id"], managed["outlet_id"], strict=True))
        shown_o = dc.protect_cards(outlet_cards, 10, published=("customers",))
        covers = dc.manager_covers(outlet_cards, shown_o, book)
        blocked = dc.protect_manager_cards(
            cards, 10, covers=covers, book=book, blocks_from=40, block_managers=12
        )
        prots = blocked.attrs["protection"]
        assert len(prots) == 3 and all(p.safe for p in prots)
        shown = _shown_cells(blocked)
        withheld = sum(isinstance(v, str) for card in shown.values() for v in card.values())
        tiers = cards[["customers_vip", "customers_private_banking"]]
        assert withheld > int(tiers.isin(range(1, 10)).sum().sum()) > 0
        p = workbook_problem(shown, _shown_cells(shown_o), home)
        assert judge(p, p.solve(), "R01") == [], seed
    whole = dc.protect_manager_cards(cards, 10, covers=covers, book=book, blocks_from=49)
    plain = dc.protect_cards(cards, 10, covers=covers)
    assert _shown_cells(whole) == _shown_cells(plain)


def test_a_block_unsafe_on_its_own_is_protected_with_its_neighbour():
    """Blocks of one outlet each: M1 is O1's only manager and its 3 VIP customers would be its
    block's total, pinned whatever the block withholds, so M1's block joins the next (M2's):
    M2's 30 is withheld beside M1's `<10` and M3's block stays on its own, printed whole."""
    cards = pd.DataFrame(
        {"customers": [40, 60, 70], "customers_vip": [3, 30, 40]},
        index=pd.Index(["M1", "M2", "M3"], name="manager_id"),
    )
    book = pd.DataFrame({"manager_id": ["M1", "M2", "M3"], "outlet_id": ["O1", "O2", "O3"]})
    shown = dc.protect_manager_cards(cards, 10, book=book, blocks_from=1, block_managers=1)
    assert [str(v) for v in shown["customers_vip"]] == ["<10", "x", "40"]
    assert shown["customers"].tolist() == [40, 60, 70]
    assert [sorted(p.status) for p in shown.attrs["protection"]] == [
        ["customers_vip[row=M1]", "customers_vip[row=M2]"],
        [],
    ]


def test_a_region_count_of_a_small_group_keeps_the_whole_table_one_problem():
    """The region's 5 private-banking customers are themselves a small group, printed `<10`
    and protected: known block totals would add up to them, so the managers' cards stay one
    problem (one protection, the whole table's cells) however many managers there are."""
    cards = pd.DataFrame(
        {"customers": [40, 60, 70, 55], "customers_private_banking": [2, 3, 0, 0]},
        index=pd.Index(["M1", "M2", "M3", "M4"], name="manager_id"),
    )
    book = pd.DataFrame(
        {"manager_id": ["M1", "M2", "M3", "M4"], "outlet_id": ["O1", "O2", "O3", "O4"]}
    )
    shown = dc.protect_manager_cards(cards, 10, book=book, blocks_from=1, block_managers=1)
    plain = dc.protect_cards(cards, 10)
    assert _shown_cells(shown) == _shown_cells(plain)
    assert shown.attrs["protection"].status == plain.attrs["protection"].status
    assert "customers_private_banking" in plain.attrs["protection"].status
