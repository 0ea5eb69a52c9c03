"""Report sections of the action lists on the hand-computed bank of ``tests/test_actions.py``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from action_data import PRODUCTS, THR, _cm, _dea, _kpis, _om, _scores, _tiers
from attacker import attack_linear, attack_unit_money, read_cell

from bankanalysis.actions import lagging_actions, product_gaps, upgrade_candidates
from bankanalysis.benchmarking.peers import moving_average_gaps
from bankanalysis.data.restricted import AUDIENCE_FILE
from bankanalysis.report import actions as ra
from bankanalysis.report import segmentation as rs
from bankanalysis.report.disclosure_grid import pipeline_dominance, protect_pipeline
from bankanalysis.report.format import Absent, Suppressed
from bankanalysis.report.metrics import MetricsRecorder
from bankanalysis.rules.tiers import TIERS
from bankanalysis.segmentation.migration import upgrade_pipeline

NAMES = {"O1": "Riverside", "O2": "Hilltop", "O3": "Harbour"}


def _list() -> pd.DataFrame:
    return upgrade_candidates(
        _tiers(), THR, 0.10, history=_cm(), scores=_scores(), products=PRODUCTS
    )


# --------------------------------------------------------------------------- upgrade list


def test_upgrade_metrics_region_totals_and_small_groups_withheld() -> None:
    m = ra.upgrade_metrics(_list(), 2)
    # 5 candidates, gaps 4,000 + 4,000 + 5,000 + 30,000 + 100,000; rising c1, c9; one unassigned
    assert m == {
        "upgrade_candidates": 5,
        "upgrade_aum_gap": 143000.0,
        "upgrade_candidates_rising": 2,
        "upgrade_candidates_unassigned": Suppressed(2),
    }
    withheld = ra.upgrade_metrics(_list(), 10)  # 5 candidates are a small group: all withheld
    assert set(withheld.values()) == {Suppressed(10)}
    rec = MetricsRecorder(None)
    rec.record_many(m)  # every key is a KPI of the dictionary
    assert rec.values["upgrade_aum_gap"] == 143000.0


def test_upgrade_metrics_without_history_say_why_the_trend_is_absent() -> None:
    m = ra.upgrade_metrics(upgrade_candidates(_tiers(), THR, 0.10), 2)
    assert m["upgrade_candidates_rising"] == Absent("no candidate has two month-ends of AUM")
    assert "Their AUM trend cannot be computed (no candidate has two month-ends of AUM); " in (
        ra.upgrade_text(m, 0.10, 3, "CNY", 2)
    )
    empty = ra.upgrade_metrics(upgrade_candidates(_tiers(), THR, 0.001), 2)
    assert empty["upgrade_candidates"] == 0 and empty["upgrade_aum_gap"] == 0.0
    assert ra.upgrade_text(empty, 0.001, 3, "CNY", 0).startswith("No customer")


def test_upgrade_text_gives_the_region_totals() -> None:
    text = ra.upgrade_text(ra.upgrade_metrics(_list(), 2), 0.10, 3, "CNY", 2)
    assert "**5** customers are within 10% below" in text
    assert "**143.00 k CNY**" in text
    assert (
        "The AUM of 2 of them rose over the last 3 month-ends; <2 have no account manager" in text
    )
    assert "2 account managers" in text
    withheld = ra.upgrade_text(ra.upgrade_metrics(_list(), 10), 0.10, 3, "CNY", 2)
    assert withheld.startswith(
        "Fewer than 10 customers of the region are within 10% below the next tier's threshold, "
        "too few to publish their figures."
    )


def test_upgrade_outlet_table_counts_per_outlet_under_the_privacy_rule() -> None:
    t = ra.upgrade_outlet_table(_list(), ["O1", "O2", "O3"], NAMES, "CNY", 2)
    assert t.frame.to_dict("records") == [
        {  # Harbour: no candidate, zeros shown as 0 (they reveal nobody; the fail-safe's
            # column says nothing of size, its zeros included)
            "outlet": "Harbour",
            "Upgrade candidates": "0",
            "AUM gap of the upgrade candidates (CNY)": "0",
            "Upgrade candidates with rising AUM": "0",
            "Upgrade candidates without an account manager": "withheld",
        },
        {  # Hilltop: c5, c6, both with manager M2, neither rising
            "outlet": "Hilltop",
            "Upgrade candidates": "2",
            "AUM gap of the upgrade candidates (CNY)": "130,000",
            "Upgrade candidates with rising AUM": "0",
            "Upgrade candidates without an account manager": "withheld",
        },
        {  # Riverside: c1, c9 rising; c2 alone without a manager: withheld; with k = 2
            # a "<2" says exactly 1, so the fail-safe withholds the column ("withheld")
            "outlet": "Riverside",
            "Upgrade candidates": "3",
            "AUM gap of the upgrade candidates (CNY)": "13,000",
            "Upgrade candidates with rising AUM": "2",
            "Upgrade candidates without an account manager": "withheld",
        },
    ]
    html = t.to_html()  # no customer or manager id (as a word: the table's own ids are T_c...)
    assert not re.search(r"\b(c\d+|M\d+)\b", html)


def test_upgrade_outlet_table_hides_a_second_outlet_when_one_alone_is_withheld() -> None:
    # k = 3: Hilltop (2) is small; with the region's total (5) published, Riverside's 3 would
    # give it back, so the disclosure step withholds Riverside's count and gap too, marked "x"
    # (secondary: not a small group); Riverside's 2 rising and 1 unassigned are small
    # themselves; Harbour's 0 reveals nobody. Hilltop's gap is most of the region's, so the
    # region's gap total is withheld instead of Riverside's gap (see the next test)
    t = ra.upgrade_outlet_table(_list(), ["O1", "O2", "O3"], NAMES, "CNY", 3)
    shown = {r["outlet"]: list(r.values())[1:] for r in t.frame.to_dict("records")}
    assert shown == {
        "Harbour": ["0"] * 4,
        "Hilltop": ["<3"] * 4,
        "Riverside": ["x", "13,000", "<3", "<3"],
    }


def test_upgrade_list_is_written_only_to_the_restricted_folder(tmp_path: Path) -> None:
    products = dict(zip(PRODUCTS["product"], PRODUCTS["name"], strict=True))
    paths = ra.write_upgrade_list(_list(), tmp_path, NAMES, "Region 1", products)
    folder = tmp_path / "restricted"
    assert paths == [folder / "upgrade_list.csv", folder / "upgrade_by_manager.csv"]
    assert [p.name for p in tmp_path.iterdir()] == ["restricted"]
    assert paths[0].read_bytes().startswith("\ufeff".encode())
    df = pd.read_csv(paths[0], encoding="utf-8-sig", keep_default_na=False)
    assert df["customer_id"].tolist() == ["c1", "c9", "c2", "c5", "c6"]
    assert df["outlet"].tolist() == ["Riverside"] * 3 + ["Hilltop"] * 2
    assert df["manager_id"].tolist() == ["M1", "M1", "", "M2", "M2"]
    assert df["next_tier"].tolist() == ["Quality", "Quality", "Quality", "VIP", "Private banking"]
    assert df["gap_to_next"].tolist() == [4000, 4000, 5000, 30000, 100000]
    assert df["aum_trend_per_month"].astype(str).tolist() == [
        "2000.0",
        "12000.0",
        "0.0",
        "-10000.0",
        "",
    ]
    assert df["products_to_close"].tolist() == [
        "Fund; Wealth product",
        "Wealth product; Fund",
        "Fund; Gold",
        "",
        "",
    ]
    per = pd.read_csv(paths[1], encoding="utf-8-sig", keep_default_na=False)
    assert per.values.tolist() == [
        ["M1", "O1", "Riverside", 2, 8000, 2, 2],
        ["M2", "O2", "Hilltop", 2, 130000, 0, 1],
        ["", "O1", "Riverside", 1, 5000, 0, 1],
    ]
    audiences = json.loads((folder / AUDIENCE_FILE).read_text(encoding="utf-8"))
    assert audiences == {
        "upgrade_list.csv": "account managers and outlet heads of Region 1: upgrade candidates",
        "upgrade_by_manager.csv": "account managers and outlet heads of Region 1: upgrade "
        "candidates per account manager",
    }
    assert ra.write_upgrade_list(_list(), None, NAMES, "Region 1") == []


def test_trend_window_keeps_the_months_of_the_data() -> None:
    assert ra.trend_months(["2025-02", "2025-03"], "2025-03", 3) == ["2025-02", "2025-03"]


# --------------------------------------------------------------------------- lagging outlets


NAMES_L = {"A": "Alpha", "B": "Beta", "C": "Gamma", "D": "Delta"}


def _actions() -> tuple[pd.DataFrame, str | None]:
    ma = moving_average_gaps(_kpis(), "sales_per_fte", 3, ["echelon", "outlet_type"])
    scores, lambdas = _dea()
    return lagging_actions(ma, "2025-03", "sales_per_fte", 3, scores, lambdas)


def test_lagging_action_table_sorted_by_gap_with_targets_and_peers_by_name() -> None:
    t = ra.lagging_action_table(_actions()[0], NAMES_L, "CNY")
    rows = t.frame.to_dict("records")
    assert [r["outlet"] for r in rows] == ["Delta", "Alpha", "Gamma"]
    assert rows[1] == {
        "outlet": "Alpha",
        "KPI": "Product sales per staff FTE",
        "this month": "10.0",
        "peers' moving average": "20.7",
        "gap to it": "-10.7",
        "months below it": "3",
        "peers' per-outlet average": "22.0",
        "gap to that": "-12.0",
        "months below that": "3",
        "DEA: now": "10.0",
        "DEA: frontier target": "15.0",
        "reference peers": "Beta, Gamma",
    }
    assert rows[2]["gap to it"] == "+0.3" and rows[2]["reference peers"] == "Beta"
    assert rows[0]["reference peers"] == "n/a"  # Delta is on its frontier


def test_lagging_notes_and_metrics() -> None:
    actions, reason = _actions()
    notes = ra.lagging_notes(actions, NAMES_L, 4, "2025-03", reason, 6)
    assert notes[0].startswith("3 of 4 outlets are below their peers' moving average or per-outlet")
    assert "2 of them below the moving average for long enough to count as lagging" in notes[0]
    assert notes[1] == (
        "Delta is the only outlet of its peer group, so it is compared with the average of every "
        "outlet of the bank."
    )
    assert len(notes) == 2
    no_dea = ra.lagging_notes(actions, NAMES_L, 4, "2025-03", "sales_total is not a DEA output", 6)
    assert no_dea[-1] == "The DEA columns are empty: sales_total is not a DEA output."
    assert ra.lagging_action_metrics(actions, "sales_per_fte") == {
        "lagging_outlets[kpi=sales_per_fte]": 3
    }
    assert ra.lagging_notes(actions.iloc[0:0], NAMES_L, 4, "2025-03", None, 6) == [
        "No outlet of the region is below its peers' moving average or per-outlet average in "
        "2025-03."
    ]


# --------------------------------------------------------------------------- product gaps


def _gaps() -> pd.DataFrame:
    return product_gaps(_om(), "2025-05", {"investment": 2})


def test_gap_matrix_exact_cells_counts_and_highlights() -> None:
    text, state = ra.gap_matrix_frame(_gaps(), NAMES, "month")
    assert text.index.tolist() == ["Hilltop", "Riverside", "outlets with a gap"]
    assert text.columns.tolist() == ["Deposit", "Investment", "Card", "gaps"]
    assert text.values.tolist() == [
        ["4", "2", "1", "0"],
        ["3", "0", "0", "2"],
        ["0", "1", "1", "2"],
    ]
    assert state.values.tolist() == [
        ["", "", "", ""],
        ["", "zero", "zero", ""],
        ["", "", "", ""],
    ]
    text_q, state_q = ra.gap_matrix_frame(_gaps(), NAMES, "quarter")
    assert text_q.values.tolist() == [
        ["4", "3", "6", "1"],
        ["5", "0", "1", "2"],
        ["0", "2", "1", "3"],
    ]
    assert state_q.values.tolist() == [
        ["", "below", "", ""],
        ["", "zero", "below", ""],
        ["", "", "", ""],
    ]
    html = ra.gap_matrix(_gaps(), NAMES, "quarter").to_html()
    css = dict(
        (colour, set(re.findall(r"row\d_col\d", sel)))
        for sel, colour in re.findall(r"([^{}]+)\{\s*background-color: (#\w+);", html)
    )
    assert css == {"#fbd9a6": {"row0_col1", "row1_col2"}, "#f4a6a6": {"row1_col1"}}


def test_gap_matrix_shows_unknown_sales_as_not_available() -> None:
    g = product_gaps(_om(), "2025-04")
    text, state = ra.gap_matrix_frame(g, NAMES, "month")
    assert text.loc["Hilltop", "Deposit"] == "n/a" and state.loc["Hilltop", "Deposit"] == "unknown"
    assert ra.gap_matrices(g.iloc[0:0], NAMES) == []
    assert len(ra.gap_matrices(g, NAMES)) == 4


def test_product_gap_metrics_and_text() -> None:
    g = _gaps()
    assert ra.product_gap_metrics(g) == {
        "product_gaps[period=month]": 2,
        "product_gaps[period=quarter]": 3,
    }
    unknown = g.assign(gap_month=None, gap_quarter=None)
    assert ra.product_gap_metrics(unknown)["product_gaps[period=month]"] == Absent(
        "no outlet has known product sales this month"
    )
    note = ra.standard_note({"investment": 2}, ["deposit", "investment", "card"])
    text = ra.product_gap_text(g, NAMES, "2025-05", note)
    assert text.startswith(
        "In 2025-05, **2** of 6 outlet x product-family cells are below the standard (2 with no "
        "sale at all); over the quarter to date, **3**."
    )
    assert "(investment: 2; one sale for the other families)" in text
    assert text.endswith("Most gaps this month (2): Riverside.")
    first = product_gaps(_om(), "2025-03").assign(sales_month=np.nan, gap_month=None)
    assert ra.product_gap_text(first, NAMES, "2025-03", note).startswith(
        "Product sales are not known for 2025-03"
    )
    assert ra.standard_note({}, ["card"]).startswith("The standard is one sale a month per family")


def test_nan_is_never_shown() -> None:
    t = ra.lagging_action_table(_actions()[0], NAMES_L, "CNY")
    assert "nan" not in t.to_html().lower()
    with pytest.raises(ValueError, match="period"):
        ra.gap_matrix_frame(_gaps(), NAMES, "year")


def test_upgrade_gap_total_is_withheld_when_a_small_outlet_holds_most_of_it() -> None:
    # k = 3: Hilltop's 2 candidates (small) need 130,000 of the region's 143,000. Withholding
    # Riverside's 13,000 as well is not enough while the region's total is published: the
    # attacker's LP bounds Hilltop's gap by 143,000, under the 195,000 its protection interval
    # (+/-50 %) needs. The step withholds the region's total instead, in the metrics, the
    # sentence and the table's note, and Riverside's gap stays shown.
    cands, k = _list(), 3
    hilltop, riverside = 130000.0, 13000.0
    lo, hi = attack_unit_money({"O1": None, "O2": None}, 143000.0)["O2"]
    assert hi == pytest.approx(143000.0) and hi < hilltop * 1.5  # what used to be published
    m = ra.upgrade_metrics(cands, k)
    assert m["upgrade_aum_gap"] == Suppressed(3, "secondary")
    assert m["upgrade_candidates"] == 5
    t = ra.upgrade_outlet_table(cands, ["O1", "O2", "O3"], NAMES, "CNY", k)
    shown = {r["outlet"]: list(r.values())[1:] for r in t.frame.to_dict("records")}
    assert shown["Hilltop"] == ["<3"] * 4
    assert shown["Riverside"][1] == "13,000"
    assert "total AUM gap is withheld" in t.note
    published = None if isinstance(m["upgrade_aum_gap"], Suppressed) else m["upgrade_aum_gap"]
    lo, hi = attack_unit_money({"O1": riverside, "O2": None, "O3": 0.0}, published)["O2"]
    assert lo <= hilltop * 0.5 and hi >= hilltop * 1.5
    text = ra.upgrade_text(m, 0.10, 3, "CNY", 2)
    assert "the AUM they need to move up is withheld" in text and "143" not in text
    # a region where no outlet dominates keeps its total (k = 2: no small outlet)
    assert ra.upgrade_metrics(cands, 2)["upgrade_aum_gap"] == 143000.0


# ------------------------------------------------------- upgrade table and pipeline read together

GAP = "AUM gap of the upgrade candidates (CNY)"


def _region(spec: dict[str, list[tuple[int, float, str]]]) -> pd.DataFrame:
    """Customer tiers of a hand-built region: outlet -> [(customers, average AUM, tier)]."""
    rows = [
        (o, aum, tier) for o, groups in spec.items() for n, aum, tier in groups for _ in range(n)
    ]
    df = pd.DataFrame(rows, columns=["outlet_id", "avg_aum", "tier"])
    df["customer_id"] = [f"c{i}" for i in range(len(df))]
    df["manager_id"] = "M1"
    df["tier"] = pd.Categorical(df["tier"], categories=list(TIERS))
    return df


def _both_tables(tiers, k, pipeline=True, joint=True):
    """The pipeline and upgrade tables as notebook 01 publishes them (the upgrade table with
    or without the pipeline's answer; the pipeline protected with the upgrade table
    (protect_upgrade_pipeline) or alone, as before), and the region totals beside them: the
    pipeline's count per target tier as metrics.json records it ("<k", None when withheld)."""
    pipe = upgrade_pipeline(tiers, THR, within=0.10, by="outlet_id")
    cands = upgrade_candidates(tiers, THR, 0.10)
    dominated = pipeline_dominance(tiers, THR, 0.10)
    if joint:
        status = ra.protect_upgrade_pipeline(pipe, cands, k, dominated)
    else:
        status = protect_pipeline(pipe, k, dominated)
    pipe = rs.label_pipeline(pipe, NAMES)
    ptable = rs.pipeline_table(pipe, "CNY", k, status).frame
    link = (pipe, status) if pipeline else None
    utable = ra.upgrade_outlet_table(cands, sorted(NAMES), NAMES, "CNY", k, link).frame
    metrics = ra.upgrade_metrics(cands, k, link)
    region = upgrade_pipeline(tiers.assign(region_id="R"), THR, within=0.10, by="region_id")
    recorded = rs.pipeline_metrics(region, k, status)
    by_tier = {
        t: (v if not isinstance(v, Suppressed) else "<k" if v.why == "small" else None)
        for t in pipe["target_tier"].unique()
        for v in [recorded[f"upgrade_candidates[target_tier={t}]"]]
    }
    return ptable, utable, metrics, by_tier


def _joint_attack(ptable, utable, metrics, by_tier, k):
    """Every withheld cell of either table, bounded by one LP over both: an outlet's figures
    in the upgrade table are the sums of its pipeline rows; the rows of a target tier add up
    to the region's count (metrics.json), the outlets to the region's totals."""
    cells: dict = {}
    rel: list[dict] = []
    labels = {rs.tier_label(t): t for t in TIERS}
    for r in ptable.to_dict("records"):
        o, t = r["Outlet"], labels[r["Target tier"]]
        cells[f"n:p:{o}:{t}"] = read_cell(r["Upgrade candidates"], k)
        cells[f"g:p:{o}:{t}"] = read_cell(r[GAP], k)
    for r in utable.to_dict("records"):
        o = r["outlet"]
        cells[f"n:u:{o}"] = read_cell(r["Upgrade candidates"], k)
        cells[f"g:u:{o}"] = read_cell(r[GAP], k)
        rel.append({f"n:u:{o}": -1.0} | {c: 1.0 for c in cells if c.startswith(f"n:p:{o}:")})
        rel.append({f"g:u:{o}": -1.0} | {c: 1.0 for c in cells if c.startswith(f"g:p:{o}:")})
    for t, n in by_tier.items():
        cells[f"n:N:{t}"] = n if n is None or n == "<k" else float(n)
        rel.append(
            {f"n:N:{t}": -1.0}
            | {c: 1.0 for c in cells if c.startswith("n:p:") and c.endswith(f":{t}")}
        )
    gap = metrics["upgrade_aum_gap"]
    cells["g:G"] = None if isinstance(gap, Suppressed) else float(gap)
    cells["n:N"] = float(metrics["upgrade_candidates"])
    for kind, total in (("n", "n:N"), ("g", "g:G")):
        rel.append({total: -1.0} | {c: 1.0 for c in cells if c.startswith(f"{kind}:u:")})
        rel.append({total: -1.0} | {c: 1.0 for c in cells if c.startswith(f"{kind}:p:")})
    return attack_linear(cells, rel, k)


def test_upgrade_table_does_not_give_back_a_cell_the_pipeline_withholds() -> None:
    # Riverside: 3 customers near the quality threshold (withheld in the pipeline, with
    # Harbour's 25 so that the region's count does not give them back) and 30 near VIP (shown).
    # The upgrade table used to print Riverside's 33 candidates: 33 - 30 = 3.
    tiers = _region(
        {
            o: [(nq, aq, "mass"), (20, 10000.0, "mass"), (nv, av, "quality"), (10, 2e5, "quality")]
            for o, nq, aq, nv, av in [
                ("O1", 3, 47000.0, 30, 480000.0),
                ("O2", 40, 46000.0, 25, 470000.0),
                ("O3", 25, 48000.0, 20, 490000.0),
            ]
        }
    )
    old = _both_tables(tiers, 10, pipeline=False)
    assert (
        old[0]
        .set_index(["Outlet", "Target tier"])
        .loc[("Riverside", "Quality"), "Upgrade candidates"]
        == "<10"
    )
    assert old[1].set_index("outlet").loc["Riverside", "Upgrade candidates"] == "33"
    bounds = _joint_attack(*old, 10)
    assert bounds["n:p:Riverside:quality"] == (3, 3)  # recovered across the two tables
    new = _both_tables(tiers, 10)
    u = new[1].set_index("outlet")
    assert (
        u.loc["Riverside", "Upgrade candidates"] == "x"
        and u.loc["Hilltop", "Upgrade candidates"] == "65"
    )
    bounds = _joint_attack(*new, 10)
    lo, hi = bounds["n:p:Riverside:quality"]
    assert hi - lo >= (10 - 1) / 2
    lo, hi = bounds["g:p:Riverside:quality"]  # its gap, 9,000: +/-50 % at least
    assert lo <= 9000.0 * 0.5 and hi >= 9000.0 * 1.5
    assert new[0].equals(old[0])  # the pipeline table itself is unchanged


def test_upgrade_table_withholds_a_gap_the_pipeline_withholds_for_dominance() -> None:
    # Riverside's 12 candidates, all near the quality threshold (its only target tier): one
    # needs 4,900 of its 5,010 gap (p% rule); the upgrade table printed 5,010 as it is
    aum = [(1, 45100.0), (11, 49990.0)]
    tiers = _region(
        {
            "O1": [(n, a, "mass") for n, a in aum],
            "O2": [(15, 46000.0, "mass")],
            "O3": [(15, 47000.0, "mass")],
        }
    )
    old = _both_tables(tiers, 10, pipeline=False)
    p = old[0].set_index(["Outlet", "Target tier"])
    assert p.loc[("Riverside", "Quality"), GAP] == "x"
    assert old[1].set_index("outlet").loc["Riverside", GAP] == "5,010"
    new = _both_tables(tiers, 10)
    u = new[1].set_index("outlet")
    assert u.loc["Riverside", GAP] == "x" and u.loc["Riverside", "Upgrade candidates"] == "12"
    lo, hi = _joint_attack(*new, 10)["g:p:Riverside:quality"]
    assert lo <= 5010.0 * 0.5 and hi >= 5010.0 * 1.5


def test_pipeline_withholds_more_cells_when_the_upgrade_table_alone_cannot_protect_it() -> None:
    # Riverside: 3 customers near the quality threshold, Hilltop 12: hiding Hilltop's 12 would
    # leave Riverside in 1..5 (15 - at least 10), so the pipeline withholds the region's
    # quality count (15) instead. But the upgrade list's 90 candidates minus the published VIP
    # count (75) gives those 15 back, hence Riverside's 3: no upgrade-table cell can change
    # that, and the old joint step only logged it. Now the pipeline withholds more of its own
    # cells (re-run with them forced hidden) until the two tables read together are safe.
    tiers = _region(
        {
            "O1": [(3, 47000.0, "mass"), (20, 1e4, "mass"), (30, 480000.0, "quality"), (10, 2e5, "quality")],
            "O2": [(12, 46000.0, "mass"), (20, 1e4, "mass"), (25, 470000.0, "quality"), (10, 2e5, "quality")],
            "O3": [(20, 1e4, "mass"), (20, 490000.0, "quality"), (10, 2e5, "quality")],
        }
    )  # fmt: skip
    old = _both_tables(tiers, 10, joint=False)
    assert old[3] == {"quality": None, "vip": 75, "private_banking": 0}
    assert old[2]["upgrade_candidates"] == 90
    assert (old[1]["Upgrade candidates"] == "x").all()  # all of it, and still:
    assert _joint_attack(*old, 10)["n:p:Riverside:quality"] == (3, 3)
    new = _both_tables(tiers, 10)
    p = new[0].set_index(["Outlet", "Target tier"])["Upgrade candidates"]
    assert p[("Riverside", "Quality")] == "<10"
    assert p[("Hilltop", "Quality")] == "x" and p[("Riverside", "VIP")] == "x"
    assert new[3] == {"quality": None, "vip": None, "private_banking": 0}
    bounds = _joint_attack(*new, 10)
    lo, hi = bounds["n:p:Riverside:quality"]
    assert hi - lo >= (10 - 1) / 2  # 1 .. 9
    lo, hi = bounds["g:p:Riverside:quality"]  # its gap, 3 x 3,000: +/-50 % at least
    assert lo <= 9000.0 * 0.5 and hi >= 9000.0 * 1.5
    # the upgrade table itself can now show its counts; the same data give the same cells
    assert new[1].set_index("outlet")["Upgrade candidates"].to_dict() == {
        "Harbour": "20",
        "Hilltop": "37",
        "Riverside": "33",
    }
    assert all(a.equals(b) for a, b in zip(_both_tables(tiers, 10)[:2], new[:2], strict=True))


def test_a_small_region_count_per_target_tier_cannot_be_worked_out_from_the_upgrade_list() -> None:
    # Riverside and Hilltop have 4 customers each near the quality threshold: metrics.json
    # records the region's quality count as "<10", but the upgrade list's 83 candidates minus
    # the published VIP count (75) gave it back as 8. The joint step now audits that count like
    # the pipeline's small rows and withholds the VIP count and rows until it keeps 1 to 9.
    tiers = _region(
        {
            "O1": [(4, 47000.0, "mass"), (20, 1e4, "mass"), (30, 480000.0, "quality"), (10, 2e5, "quality")],
            "O2": [(4, 46000.0, "mass"), (20, 1e4, "mass"), (25, 470000.0, "quality"), (10, 2e5, "quality")],
            "O3": [(20, 1e4, "mass"), (20, 490000.0, "quality"), (10, 2e5, "quality")],
        }
    )  # fmt: skip
    old = _both_tables(tiers, 10, joint=False)
    assert old[3] == {"quality": "<k", "vip": 75, "private_banking": 0}
    assert old[2]["upgrade_candidates"] == 83
    assert _joint_attack(*old, 10)["n:N:quality"] == (8, 8)
    new = _both_tables(tiers, 10)
    assert new[3] == {"quality": "<k", "vip": None, "private_banking": 0}
    p = new[0].set_index(["Outlet", "Target tier"])["Upgrade candidates"]
    assert p[("Riverside", "VIP")] == "x" and p[("Hilltop", "VIP")] == "x"
    bounds = _joint_attack(*new, 10)
    # Hilltop's 29 and Riverside's 34 are shown, their VIP rows withheld: the count is only
    # their two quality rows' sum, each 1 to 9, and "<10" itself: 2 to 9
    assert bounds["n:N:quality"] == (2, 9)
    for outlet in ("Riverside", "Hilltop"):
        lo, hi = bounds[f"n:p:{outlet}:quality"]
        assert hi - lo >= (10 - 1) / 2


def test_the_upgrade_table_audits_its_gaps_at_the_pipelines_protection_level(monkeypatch) -> None:
    """01 passes ``protection_level`` to protect_upgrade_pipeline only; the upgrade table and
    its metrics (the sums of the pipeline's rows) audit their AUM gaps at the same level."""
    tiers = _region(
        {"O1": [(1, 45100.0, "mass"), (11, 49990.0, "mass")], "O2": [(15, 46000.0, "mass")]}
    )
    pipe = upgrade_pipeline(tiers, THR, within=0.10, by="outlet_id")
    cands = upgrade_candidates(tiers, THR, 0.10)
    seen: list = []
    real = ra.protect_grid
    monkeypatch.setattr(
        ra, "protect_grid", lambda *a, **kw: seen.append(kw.get("level")) or real(*a, **kw)
    )
    status = ra.protect_upgrade_pipeline(pipe, cands, 10, level=0.8)
    assert status.attrs["level"] == 0.8
    seen.clear()
    ra.upgrade_metrics(cands, 10, (pipe, status))
    ra.upgrade_outlet_table(cands, sorted(NAMES), NAMES, "CNY", 10, (pipe, status))
    assert seen and set(seen) == {0.8}
    seen.clear()
    ra.upgrade_metrics(cands, 10)  # no pipeline: the default
    assert set(seen) == {0.5}
