"""Attack C (tests/attacker_prose.py): the figures the sentences of a run print.

Hand-built pages show each reading failing on a leaky page and passing on the protected one;
the run-level test reads every sentence of a whole run (``make audit`` runs it on any run).
"""

from __future__ import annotations

import functools
import json

import pytest
from attacker import linear_leaks, run_tables, same_figure_leaks, tables_html
from attacker_prose import (
    documented_kind,
    page_prose,
    prose_leaks,
    run_prose,
    sentence_figures,
)
from audit_env import auditing

from bankanalysis.report.format import Suppressed
from bankanalysis.report.segmentation import concentration_text, migration_text

AUDIT = auditing()


def _page(path, tables=(), paragraphs=(), appendix="", scope="R08, echelon 3"):
    """An HTML page as the reports write it: a header with its scope line, one ``<h2>``
    section per table (header in ``<thead>``), paragraphs (Markdown bold as ``<strong>``), an
    appendix."""
    parts = [
        "<html><body><header class='report'><h1>Report</h1>"
        f'<p class="scope">{scope} · data month 2026-10</p></header>'
    ]
    parts.append(tables_html(tables))
    for text in paragraphs:
        bold = text.split("**")
        html = "".join(f"<strong>{t}</strong>" if i % 2 else t for i, t in enumerate(bold))
        parts.append(f"<p>{html.replace('<10', '&lt;10')}</p>")
    parts.append(f"<details class='appendix'><p>{appendix}</p></details>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join([*parts, "</body></html>"]), encoding="utf-8")


TIER_HEADER = ["Tier", "Customers", "Share of AUM (%)"]


def _r08_run(tmp_path, sentence: str, metrics: dict):
    """R08's tier table (issue 17) with quality's AUM share withheld (secondary) and private
    banking small, the concentration sentence below it and the page's ``metrics.json``."""
    run = tmp_path / "run"
    page = run / "R08" / "01_customer_segmentation.html"
    _page(
        page,
        [("Tiers", TIER_HEADER,
          [["Mass", "2,980", "6.5%"], ["Quality", "494", "x"], ["VIP", "122", "48.1%"],
           ["Private banking", "&lt;10", "&lt;10"]])],
        [sentence],
        appendix="Groups of 1 to 9 customers are withheld (shown as <10). Cells withheld: 3.",
    )  # fmt: skip
    (run / "R08" / "01_customer_segmentation").mkdir(parents=True)
    (run / "R08" / "01_customer_segmentation" / "metrics.json").write_text(json.dumps(metrics))
    return run


def test_sentence_figures_keep_the_rounding_and_unit_of_what_is_printed():
    figs = sentence_figures(
        "New personal deposits fell 1,047,148 CNY since last month (2026-09), to -296,357 CNY; "
        "13.2 m CNY, 25.4 pp, 77 min, <10 lost, commit 576ece37f6."
    )
    assert [(f.text, f.unit, f.kind, f.small) for f in figs] == [
        ("1,047,148 CNY", "CNY", "money", False),
        ("-296,357 CNY", "CNY", "money", False),
        ("13.2 m CNY", "CNY", "money", False),
        ("25.4 pp", "pp", "percent", False),
        ("77 min", "min", "minutes", False),
        ("<10", "", "number", True),
    ]
    assert (figs[2].lower, figs[2].upper) == (pytest.approx(13.15e6), pytest.approx(13.25e6))
    assert (figs[5].lower, figs[5].upper) == (1.0, 9.0)


def test_page_prose_reads_paragraphs_and_list_items_not_tables_header_or_appendix(tmp_path):
    run = _r08_run(tmp_path, concentration_text("vip", 0.67), {})
    (sentence,) = page_prose(run / "R08" / "01_customer_segmentation.html", run)
    assert sentence.text == "Customers in the VIP tier and above hold 67.0% of the region's AUM."
    assert sentence.section == "Tiers" and sentence.page == "R08/01_customer_segmentation.html"


def test_r08_sentence_pins_private_bankings_aum_share_and_the_withheld_sentence_does_not(
    tmp_path,
):
    # the tier table alone: quality (x) and private banking (<10) share 100 - 6.5 - 48.1 =
    # 45.4 % of the AUM, so private banking is anywhere from 0 to 45.5 %: safe
    run = _r08_run(tmp_path / "plain", concentration_text("vip", 0.67), {})
    tables = run_tables(run)
    alone = linear_leaks(tables)
    assert alone["leak"] == [] and alone["attacked"] == 2
    # the sentence states VIP + private banking = 66.95 .. 67.05: private banking's share is
    # 67.0 - 48.1 = 18.9 (18.8 .. 19.0), its count stays 1 .. 9
    found = prose_leaks(run, tables)
    stated = found["stated"]
    assert stated == {0: [("Share of AUM (%): VIP and above = 67.0% (concentration_text)",
                           [(2, 2), (3, 2)], pytest.approx(66.95), pytest.approx(67.05))]}  # fmt: skip
    lin = linear_leaks(tables, stated=stated)
    ((_, unit, header, lo, hi),) = lin["leak"]
    assert (unit, header) == ("Private banking", "Share of AUM (%)")
    assert (lo, hi) == (pytest.approx(18.8), pytest.approx(19.0))
    # the run's metrics.json withholds the figure the sentence prints: a twin of a withheld key
    run = _r08_run(
        tmp_path / "keyed", concentration_text("vip", 0.67), {"aum_share[tier_at_least=vip]": None}
    )
    assert [(w, why) for _, w, why, _ in prose_leaks(run, run_tables(run))["leak"]] == [
        ("concentration_text: aum_share[tier_at_least=vip]", "withheld in metrics.json")
    ]
    # protected: the report withholds the sentence with the figure (protected_top_share)
    withheld = concentration_text("vip", Suppressed(10, "secondary"))
    run = _r08_run(tmp_path / "protected", withheld, {"aum_share[tier_at_least=vip]": None})
    tables = run_tables(run)
    found = prose_leaks(run, tables)
    assert found["stated"] == {} and found["leak"] == [] and found["new"] == []
    assert linear_leaks(tables, stated=found["stated"])["leak"] == []


def test_a_sentence_printing_a_withheld_count_is_its_twin(tmp_path):
    def run_with(sentence: str):
        run = tmp_path / str(abs(hash(sentence)))
        _page(
            run / "R01" / "03_outlet_benchmarking.html",
            [("Outlets", ["Outlet", "New customers", "Products sold"],
              [["North", "25", "80"], ["South", "&lt;10", "41"], ["East", "x", "12"]])],
            [sentence, "2 of 3 targets for 2026-10 missed."],
        )  # fmt: skip
        return prose_leaks(run, run_tables(run))

    found = run_with("South won 4 new customers in 2026-10; North 25.")
    assert found["named"] == 1  # the clause names South and its column, and prints a count
    ((page, where, clause, figs),) = found["leak"]
    assert where[1:] == ("South", "New customers", "<10") and figs == ["4"]
    # protected: the sentence shows the marker; North's 25 is printed by the table
    found = run_with("South won <10 new customers in 2026-10; North 25.")
    assert found["leak"] == [] and found["new"] == [] and found["named"] == 0
    assert found["numbers"] == 3 and found["matched"] == 1 and found["documented"] == 2
    # the unit named by the sentence's lead, as the summaries' plan sentences do
    found = run_with("South, 2026-10: products sold 41; new customers 4.")
    assert [(w[1], c, f) for _, w, c, f in found["leak"]] == [("South", "new customers 4.", ["4"])]
    # on the region's own report a sentence that names no unit is about the region
    run = tmp_path / "implicit"
    _page(
        run / "R01" / "03_outlet_benchmarking.html",
        [("Plan", ["Scope", "New customers"], [["North region", "&lt;10"], ["The bank", "33"]])],
        ["New customers is 4, 29 below the bank (33)."],
        scope="North region, echelon 1",
    )  # fmt: skip
    assert page_prose(run / "R01" / "03_outlet_benchmarking.html", run)[0].subject == "North region"
    found = prose_leaks(run, run_tables(run))
    assert [(w[1], f) for _, w, _, f in found["leak"]] == [("North region", ["4", "29"])]
    # a clause naming two outlets cannot say whose figure it prints: not read as a twin
    assert run_with("North and South won 29 new customers.")["leak"] == []
    # the digits of a unit's name are not a figure (the CI batch's hostile outlet
    # "<img src=x onerror=alert(2)>" named in 03's sentence on what the peer ranks leave out)
    run = tmp_path / "named"
    _page(
        run / "R01" / "03_outlet_benchmarking.html",
        [("Outlets", ["Outlet", "New customers"], [["Branch 2", "&lt;10"], ["North", "25"]])],
        ["Not ranked: Branch 2, New customers (fewer than 10 new customers this month).",
         "Branch 2 won 4 new customers."],
    )  # fmt: skip
    found = prose_leaks(run, run_tables(run))
    assert [(w[1], c, f) for _, w, c, f in found["leak"]] == [
        ("Branch 2", "Branch 2 won 4 new customers.", ["4"])
    ]


def test_closure_lists_a_figure_no_table_prints_and_a_small_count(tmp_path):
    def run_with(sentence: str):
        run = tmp_path / str(abs(hash(sentence)))
        _page(
            run / "R01" / "03_outlet_benchmarking.html",
            [("Outlets", ["Outlet", "New customers", "Fee income (CNY)", "Target (CNY)"],
              [["North", "25", "34,662", "48,100"], ["South", "&lt;10", "x", "x"]])],
            [sentence],
        )  # fmt: skip
        return prose_leaks(run, run_tables(run))

    # 21 = North's 25 minus South's withheld 4: printed nowhere, a new figure
    found = run_with("North won 25 new customers, 21 more than the other outlet.")
    assert [f for _, _, f in found["new"]] == ["21"] and found["small"] == []
    # a count of 1 to 9 customers no table prints is a small group said in words
    found = run_with("The other outlet won 4 new customers.")
    assert [f for _, _, f in found["small"]] == ["4"]
    # worked out from what is printed: the gap between a figure and its target, both printed
    # by the table
    gap = "North: fee income is 34,662 CNY against the target of 48,100 CNY, 13,438 CNY short."
    found = run_with(gap)
    assert found["new"] == [] and found["derived"] == 1 and found["matched"] == 2
    # a target printed nowhere: it and the gap are new (they do not vouch for each other)
    found = run_with(gap.replace("48,100", "48,200").replace("13,438", "13,538"))
    assert [f for _, _, f in found["new"]] == ["48,200 CNY", "13,538 CNY"]


def test_documented_kinds_are_said_by_the_sentence():
    text = "Better than the bank on 6 of 12 plan KPIs; echelon 2; 3 of 8 regions at the target."
    kinds = [documented_kind(text, f, {10.0, 9.0}) for f in sentence_figures(text)]
    assert kinds == ["count of of 12 plan kpis", "count of plan kpis", "place",
                     "count of of 8 regions", "count of regions"]  # fmt: skip
    text = (
        "Since 2025-10: 82 customers gained and 42 lost; groups of 1 to 9 customers are withheld."
    )
    kinds = [documented_kind(text, f, {10.0, 9.0}) for f in sentence_figures(text)]
    assert kinds == [None, None, "parameter", "parameter"]


def test_templates_follow_the_packages_sentences(tmp_path):
    # the migration sentence read with its slots tied to the metrics.json keys it prints
    m = {"upward_migration_rate": Suppressed(10), "downward_migration_rate": 0.05,
         "stock_retention": 0.8, "gained_customers": 12, "lost_customers": 42}  # fmt: skip
    run = tmp_path / "run"
    _page(run / "R01" / "01_customer_segmentation.html", paragraphs=[migration_text(m, "2025-10")])
    (run / "R01" / "01_customer_segmentation").mkdir()
    metrics = {"upward_migration_rate": None, "lost_customers": None, "gained_customers": 12}
    (run / "R01" / "01_customer_segmentation" / "metrics.json").write_text(json.dumps(metrics))
    found = prose_leaks(run, run_tables(run))
    assert found["templated"] == 5
    # the sentence prints 42 lost customers while metrics.json withholds them
    assert [w for _, w, _, _ in found["leak"]] == ["migration_text: lost_customers"]


@functools.cache
def _prose_attack(run_dir):
    """Attack C over a run, and attack B with the relations its sentences state (once per run
    and session)."""
    tables = run_tables(run_dir)
    sentences = run_prose(run_dir)
    found = prose_leaks(run_dir, tables, sentences)
    twins = same_figure_leaks(tables)
    lin = linear_leaks(tables, printed=twins["printed"], stated=found["stated"])
    return tables, sentences, found, lin


@pytest.mark.run_level
@pytest.mark.slow
def test_no_sentence_of_a_run_prints_or_pins_a_withheld_figure(ci_run):
    """Every sentence of every page of the run: no figure a sentence prints is a withheld
    table cell or metrics.json key (twins), no number the prose alone prints is a count of 1
    to k - 1, and the relations the sentences state give attack B no withheld cell."""
    tables, sentences, found, lin = _prose_attack(ci_run.run_dir)
    pages = {p.relative_to(ci_run.run_dir).as_posix() for p in ci_run.html_files}
    pages.discard("kpis.html")
    assert {s.page for s in sentences} == pages
    assert found["numbers"] > 0 and found["templated"] > 0
    assert found["leak"] == [], "\n".join(map(str, found["leak"]))
    assert found["small"] == [], "\n".join(map(str, found["small"]))
    assert lin["leak"] == [], lin["leak"]
    # every relation a sentence states holds with the printed cells (kept, not infeasible):
    # the templates read the sentences right
    kept = {what for _, relations in lin["relations"] for what in relations}
    stated = [what for rels in found["stated"].values() for what, *_ in rels]
    assert [what for what in stated if what not in kept] == []
    print(
        f"attack C: {len(pages)} pages, {found['sentences']} sentences, {found['numbers']} "
        f"numbers: {found['matched']} printed by a table or metrics.json, "
        f"{found['documented']} of a documented kind, {found['derived']} worked out from "
        f"printed ones, {len(found['new'])} new; {found['templated']} templated figures, "
        f"{found['named']} clauses naming a withheld cell, "
        f"{sum(map(len, found['stated'].values()))} stated relations"
    )
    if not AUDIT:  # the CI batch
        assert len(pages) == 8


def test_the_upgrade_sentence_states_the_total_of_the_upgrade_list(tmp_path):
    from bankanalysis.report.actions import upgrade_text

    m = {"upgrade_candidates": 29, "upgrade_aum_gap": Suppressed(10, "secondary"),
         "upgrade_candidates_rising": Suppressed(10), "upgrade_candidates_unassigned": 0}  # fmt: skip

    def run_with(north: str):
        run = tmp_path / north
        _page(
            run / "R01" / "01_customer_segmentation.html",
            [("Upgrade list", ["outlet", "Upgrade candidates"],
              [["North", north], ["South", "&lt;10"]])],
            [upgrade_text(m, 0.1, 3, "CNY", 2)],
        )  # fmt: skip
        tables = run_tables(run)
        return tables, prose_leaks(run, tables)

    # the sentence's 29 is the outlets' sum: South's <10 is 29 - 25 = 4
    tables, found = run_with("25")
    assert found["stated"] == {
        0: [("Upgrade candidates: the units add up to 29 (upgrade_text)", [(0, 1), (1, 1)],
             28.5, 29.5)]
    }  # fmt: skip
    lin = linear_leaks(tables, stated=found["stated"])
    assert [(u, lo, hi) for _, u, _, lo, hi in lin["leak"]] == [("South", 4.0, 4.0)]
    # without the sentence the table bears no relation: nothing to attack
    assert linear_leaks(tables)["attacked"] == 0
    # protected: North withheld too (x): South anywhere from 1 to 9
    tables, found = run_with("x")
    lin = linear_leaks(tables, stated=found["stated"])
    assert lin["leak"] == [] and lin["attacked"] == 1
