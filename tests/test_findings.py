"""Findings, the summary and materiality ties: which findings qualify, their order, their words.

Every expected value is worked out by hand from the small frames below (see the comments).
"""

from __future__ import annotations

import html
import re

import numpy as np
import pandas as pd
import pytest

from bankanalysis import overview as ov
from bankanalysis.benchmarking.peers import peer_ranks
from bankanalysis.report import overview as rov
from bankanalysis.report import standing as st_mod
from bankanalysis.report import summary as sm
from bankanalysis.report.findings import (
    Finding,
    change_findings,
    change_sentence,
    compare_sentence,
    compare_word,
    lagging_finding,
    models_absent_finding,
    relative_gap,
    section_id,
    standing_findings,
    target_findings,
    top_findings,
)
from bankanalysis.report.format import Absent, Suppressed
from bankanalysis.rules.materiality import is_material, material_values, materiality_note

SECTIONS = {
    "*": ("summary-standing", "Standing on the plan's KPIs"),
    "product_coverage": ("Product-coverage", "Product coverage"),
}


# --------------------------------------------------------------------------- materiality


def test_shares_tie_in_absolute_points_other_units_relative() -> None:
    assert not is_material("customer_growth", 0.071, 0.070, 0.005)  # 0.1 pp < 0.5 pp
    assert is_material("customer_growth", 0.075, 0.070, 0.005)  # exactly 0.5 pp counts
    # money: 0.5 % of the larger (100,000) is 500
    assert not is_material("aum_per_customer", 100_000, 99_600, 0.005)
    assert is_material("aum_per_customer", 100_000, 99_500, 0.005)


def test_ties_are_anchored_at_the_best_figure_and_do_not_chain() -> None:
    s = pd.Series([0.080, 0.076, 0.072, np.nan])
    # 0.076 is within 0.5 pp of 0.080; 0.072 is 0.8 pp from the anchor 0.080: a new group
    assert material_values(s, "customer_growth", 0.005).tolist()[:3] == [0.080, 0.080, 0.072]
    assert np.isnan(material_values(s, "customer_growth", 0.005).iloc[3])
    low = material_values(pd.Series([30.0, 30.1, 40.0]), "manager_adequacy", 0.005, False)
    assert low.tolist() == [30.0, 30.0, 40.0]  # lower is better: 30 anchors, 30.1 ties


def _scorecard(values: dict[str, list[float]], echelons: list[int]) -> pd.DataFrame:
    n = len(echelons)
    return pd.DataFrame(
        {
            "region_id": [f"R{i + 1}" for i in range(n)],
            "echelon": echelons,
            "customers": [500] * n,
            **values,
        }
    )


def test_league_table_ties_growth_of_0071_0070_0070() -> None:
    sc = _scorecard({"customer_growth": [0.071, 0.070, 0.070]}, [2, 2, 2])
    tied = ov.league_table(sc, ["customer_growth"], materiality=0.005).set_index("region_id")
    assert tied["rank_customer_growth"].tolist() == [1.0, 1.0, 1.0]
    # all tied: the same percentile (0.5) for all, so the same score and league rank
    assert tied["league_score"].tolist() == [0.5, 0.5, 0.5]
    assert tied["league_rank"].tolist() == [1.0, 1.0, 1.0]
    strict = ov.league_table(sc, ["customer_growth"]).set_index("region_id")
    assert strict.loc[["R1", "R2", "R3"], "rank_customer_growth"].tolist() == [1.0, 2.0, 2.0]


def test_league_view_marks_shared_ranks_and_says_what_a_tie_is() -> None:
    sc = rov.Scorecard(
        regions=_scorecard({"customer_growth": [0.071, 0.070, 0.060]}, [2, 2, 2]),
        withheld=pd.DataFrame({"customer_growth": [False] * 3}),
        bank=pd.DataFrame(),
        base_month="2025-01",
        absent={k: "test" for k in ov.SCORECARD_KPIS if k != "customer_growth"},
    )
    table = rov.league(sc, {"R1": "North", "R2": "South", "R3": "East"}, materiality=0.005)
    view = rov.league_view(table).frame.set_index("Region")
    assert view["Rank: Customer growth"].to_dict() == {"North": "1=", "South": "1=", "East": "3"}
    assert materiality_note(0.005) in rov.league_view(table).note
    assert materiality_note(0.005) == (
        "Differences smaller than 0.5 pp (shares) or 0.5 % (other figures) are ties: tied "
        "figures share the better rank."
    )


def test_peer_percentiles_tie_within_materiality() -> None:
    kpis = pd.DataFrame(
        {
            "month": ["2025-06"] * 3,
            "outlet_id": ["O1", "O2", "O3"],
            "echelon": [1, 1, 1],
            "outlet_type": ["full", "full", "full"],
            "product_coverage": [0.071, 0.070, 0.070],
        }
    )
    tied = peer_ranks(kpis, ["product_coverage"], materiality=0.005).set_index("outlet_id")
    # one tie group of three: average rank 2 of 3 -> percentile 66.7 for each
    assert tied["percentile"].round(1).tolist() == [66.7, 66.7, 66.7]
    strict = peer_ranks(kpis, ["product_coverage"]).set_index("outlet_id")
    assert strict["percentile"].round(1).tolist() == [100.0, 50.0, 50.0]


# --------------------------------------------------------------------------- sentences


def test_section_ids_follow_the_html_export() -> None:
    assert section_id("Peer ranks") == "Peer-ranks"
    assert section_id("How good are the models?") == "How-good-are-the-models?"
    assert section_id("Against the peers' moving average") == ("Against-the-peers'-moving-average")


def test_comparison_and_change_sentences() -> None:
    assert compare_word("product_coverage", 0.27, 0.30, 0.005) == "3.0 pp below"
    assert compare_word("product_coverage", Suppressed(10), 0.30, 0.005) == ""
    assert compare_sentence("aum_per_customer", 120_000, 100_000, "the bank", 0.005, "EUR") == (
        "AUM per customer is 120,000 EUR, 20,000 EUR above the bank (100,000 EUR)."
    )
    assert change_sentence("manager_adequacy", 34, 30, "2025-05", 0.005) == (
        "Full-time account-manager adequacy ratio rose 4 since 2025-05, to 34."
    )
    assert change_sentence("customer_growth", 0.05, Absent("x"), "2025-05", 0.005) == (
        "Customer growth: no published figure for 2025-05 to compare with."
    )
    assert relative_gap(0.27, 0.30) == pytest.approx(0.1)


# --------------------------------------------------------------------------- rules


def test_target_findings_qualify_on_displayed_rounding_and_direction() -> None:
    targets = pd.DataFrame(
        {
            "kpi": ["product_coverage", "product_coverage", "manager_adequacy", "new_customers"],
            "target": [0.30, 0.30, 300.0, 5.0],
            "actual": [0.27, 0.29996, 310.0, 5.0],
        }
    )
    found = target_findings(targets, "Targets-id", "Targets", "CNY", who="North: ")
    # 0.29996 shows as 30.0% = the target: met; 5 of 5: met
    assert [f.sentence for f in found] == [
        "North: Product coverage is 27.0% against the target of 30.0%, 3.0 pp short.",
        "North: Full-time account-manager adequacy ratio is 310 against the target of 300, "
        "10 over.",
    ]
    # score = 2 x relative shortfall: 2 x 0.03 / 0.30 and 2 x 10 / 300
    assert [round(f.score, 6) for f in found] == [0.2, round(2 * 10 / 300, 6)]
    assert found[0].html().endswith('<a href="#Targets-id">(see Targets)</a>')


def _standing() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "value": [0.27, 0.071, 30.1, Suppressed(10), 1000.0],
            "echelon": [0.30, 0.070, 30.0, 0.50, Absent("no data")],
            "bank": [0.28, 0.060, 25.0, 0.50, 2000.0],
            "month": [0.28, 0.090, 30.1, Suppressed(10), np.nan],
            "quarter": [0.26, 0.071, 33.0, 0.40, 1500.0],
        },
        index=[
            "product_coverage",
            "customer_growth",
            "manager_adequacy",
            "wealth_card_matching",
            "new_deposits",
        ],
        dtype=object,
    )


def test_standing_findings_only_material_and_worse_never_suppressed() -> None:
    found = standing_findings(_standing(), 0.005, SECTIONS, "CNY")
    # product coverage: 3.0 pp below the echelon and 1.0 pp below the bank: two findings;
    # growth is above both; adequacy 30.1 vs 30.0 is within 0.5 % (tie), 30.1 vs 25 is worse;
    # wealth card is withheld (never stated); new deposits has no echelon, 1,000 < 2,000 bank.
    assert [(f.kpi, f.rule) for f in found] == [
        ("product_coverage", "echelon"),
        ("product_coverage", "bank"),
        ("manager_adequacy", "bank"),
        ("new_deposits", "bank"),
    ]
    assert found[0].sentence == "Product coverage is 27.0%, 3.0 pp below the echelon (30.0%)."
    assert found[2].sentence == (
        "Full-time account-manager adequacy ratio is 30, 5 above the bank (25; lower is better)."
    )
    assert found[3].sentence == (
        "New personal deposits is 1,000 CNY, 1,000 CNY below the bank (2,000 CNY)."
    )
    assert found[0].section == "Product-coverage"
    assert found[2].section == "summary-standing"
    assert all("wealth" not in f.sentence.lower() for f in found)


def test_change_findings_worsening_only() -> None:
    since = {"month": "2025-05", "quarter": "2025-03"}
    found = change_findings(_standing(), 0.005, SECTIONS, since, "CNY")
    # coverage: 0.27 vs 0.28 last month (fell 1.0 pp) and rose vs 0.26; growth fell 1.9 pp vs
    # 0.090; adequacy fell from 33 (better); new deposits fell from 1,500 last quarter.
    assert [(f.kpi, f.rule) for f in found] == [
        ("product_coverage", "month"),
        ("customer_growth", "month"),
        ("new_deposits", "quarter"),
    ]
    assert [f.sentence for f in found] == [
        "Product coverage fell 1.0 pp since last month (2025-05), to 27.0%.",
        "Customer growth fell 1.9 pp since last month (2025-05), to 7.1%.",
        "New personal deposits fell 500 CNY since last quarter (2025-03), to 1,000 CNY.",
    ]


def test_top_findings_rank_by_severity_one_per_kpi() -> None:
    st = _standing()
    since = {"month": "2025-05", "quarter": "2025-03"}
    found = [
        *standing_findings(st, 0.005, SECTIONS),
        *change_findings(st, 0.005, SECTIONS, since),
        *lagging_finding(2, 8, 3, "lag", "Lagging"),
    ]
    top = top_findings(found, 4)
    # scores: coverage echelon 1 x 0.1 = 0.1, bank 0.75 x 0.0357 = 0.027, month 0.75 x 0.0357;
    # growth month 0.75 x 0.2111 = 0.158; adequacy bank 0.75 x 0.204 = 0.153; new deposits
    # bank 0.75 x 0.5 = 0.375, quarter 1 x 0.3333 = 0.333; lagging 1 x 2/8 = 0.25.
    assert [(f.kpi, f.rule) for f in top] == [
        ("new_deposits", "bank"),
        ("outlets_below_moving_average", "lagging"),
        ("customer_growth", "month"),
        ("manager_adequacy", "bank"),
    ]
    assert [f.kpi for f in top_findings(found, 10)][-1] == "product_coverage"
    assert len(top_findings(found, 10)) == 5  # one per KPI


def test_top_findings_equal_scores_follow_rule_then_dictionary_order() -> None:
    a = Finding("product_coverage", 0.2, "20%", 0.5, "s", "a", "bank")
    b = Finding("customer_growth", 0.2, "20%", 0.5, "s", "b", "bank")
    c = Finding("stock_retention", 0.2, "20%", 0.5, "s", "c", "target")
    assert [f.sentence for f in top_findings([a, b, c])] == ["c", "b", "a"]


def test_report_specific_findings() -> None:
    assert lagging_finding(1, 4, 3, "x")[0].sentence == (
        "1 of 4 outlets was below its peers' moving average in each of the last 3 months."
    )
    assert lagging_finding(0, 4, 3, "x") == []
    (m,) = models_absent_finding(["Gold"], 4, "How-good-are-the-models?", "How good")
    assert m.sentence == (
        "1 of 4 cross-sell products has no model (too few buyers to fit or test one): Gold."
    )
    assert m.score == pytest.approx(0.5 * 1 / 4)
    assert models_absent_finding([], 4, "x") == []


# --------------------------------------------------------------------------- summary


def _raw(ids: list[str], echelons: list[float], customers: list[int], cov: list[float]):
    raw = pd.DataFrame(
        {
            "region_id": ids,
            "echelon": echelons,
            "customers": customers,
            "base_customers": customers,
            "quality_plus_customers": customers,
            "vip_plus_customers": customers,
        }
    )
    for k in ov.SCORECARD_KPIS:
        raw[k] = np.nan
    raw["product_coverage"] = cov
    raw.attrs["absent"] = {
        k: "not in this test" for k in ov.SCORECARD_KPIS if k != "product_coverage"
    }
    return raw


def _hand_standing() -> st_mod.Standing:
    # R1, R2 in echelon 1; R3 alone in echelon 2 with 5 customers (small: withheld at k=10).
    def month(cov: list[float], e_cov: list[float], b_cov: float, base: str) -> tuple:
        return (
            st_mod.Scorecard.withheld_from(
                _raw(["R1", "R2", "R3"], [1, 1, 2], [100, 200, 5], cov), 10, base
            ),
            st_mod.Scorecard.withheld_from(_raw(["1", "2"], [1, 2], [300, 5], e_cov), 10, base),
            st_mod.Scorecard.withheld_from(_raw(["all"], [np.nan], [305], [b_cov]), 10, base),
        )

    now = month([0.20, 0.40, 0.90], [0.333, 0.90], 0.34, "2024-06")
    prev = month([0.25, 0.40, 0.80], [0.35, 0.80], 0.35, "2024-05")
    return st_mod.Standing(
        month="2025-06",
        since={"month": "2025-05"},
        regions={"2025-06": now[0], "2025-05": prev[0]},
        echelons={"2025-06": now[1], "2025-05": prev[1]},
        bank={"2025-06": now[2], "2025-05": prev[2]},
        region_echelon={"R1": 1, "R2": 1, "R3": 2},
    )


def test_standing_frame_publishes_only_what_disclosure_allows() -> None:
    st = _hand_standing()
    r1 = st.frame("R1").loc["product_coverage"]
    assert (r1["value"], r1["echelon"], r1["bank"], r1["month"]) == (0.20, 0.333, 0.34, 0.25)
    r3 = st.frame("R3").loc["product_coverage"]
    assert isinstance(r3["value"], Suppressed) and r3["echelon"] is None  # small and alone
    assert st.lone("R3") and not st.lone("R1")
    assert list(st.frame("R1").index) == ["product_coverage"]


def test_region_summary_states_findings_in_order_with_links() -> None:
    st = _hand_standing()
    targets = pd.DataFrame({"kpi": ["new_customers"], "target": [10.0], "actual": [8.0]})
    page = sm.region_summary_html(st, "R1", "North", targets, SECTIONS, 0.005, "CNY")
    assert page.startswith('<section id="summary" class="summary"><h2>Summary: North, 2025-06')
    items = re.findall(r"<li>(.*?) <a", page)
    # target missed: 2 x 2/10 = 0.4; 20.0% vs echelon 33.3%: 1 x 0.4 = 0.4 (rule order: target
    # first); vs bank 34.0%: 0.75 x 0.4118 (one per KPI: dropped); fell 5.0 pp: dropped too.
    assert [html.unescape(i) for i in items] == [
        "New customers is 8 against the target of 10, 2 short.",
        "Product coverage is 20.0%, 13.3 pp below the echelon (33.3%).",
    ]
    assert "better than its echelon on 0 of 1 plan KPIs, level on 0, worse on 1" in page
    assert "Since last month (2025-05): Product coverage fell 5.0 pp." in page
    ids = set(re.findall(r'id="([^"]+)"', page)) | set(re.findall(r"id='([^']+)'", page))
    links = {html.unescape(h) for h in re.findall(r'href="#([^"]+)"', page)}
    assert links - ids == {"Product-coverage"}  # a section of the report, not of the summary


def test_summary_of_a_small_region_states_no_withheld_figure() -> None:
    st = _hand_standing()
    targets = sm.published_targets(
        pd.DataFrame(
            {"region_id": ["R3"], "kpi": ["new_customers"], "target": [10.0], "actual": [3.0]}
        ),
        "R3",
        st.customers("R3"),
    )
    page = sm.region_summary_html(st, "R3", "East", targets, SECTIONS, 0.005, "CNY")
    assert "90.0%" not in page and "80.0%" not in page and ">3 " not in page
    assert "&lt;10" in page  # the marker in the table
    assert "the only region of its echelon, compared with the bank" in page
    assert "1 target(s) for 2025-06; no actual is published to compare." in page


def test_bank_summary_names_the_regions_needing_attention() -> None:
    st = _hand_standing()
    attain = pd.DataFrame(
        {
            "region_id": ["R2"],
            "kpi": ["new_customers"],
            "target": [10.0],
            "actual": [9.0],
            "met": [False],
        }
    )
    names = {"R1": "North", "R2": "South", "R3": "East"}
    page = sm.bank_summary_html(st, attain, names, SECTIONS, 0.005, "CNY")
    # North: 13.3 pp below its echelon (score 0.4); South: target missed by 10 % (0.2) and
    # 40.0% vs 33.3% is above; East is withheld.
    assert "Regions needing attention: North, South." in page
    items = [html.unescape(i) for i in re.findall(r"<li>(.*?) <a", page)]
    assert items == [
        "North: Product coverage is 20.0%, 13.3 pp below the echelon (33.3%).",
        "South: New customers is 9 against the target of 10, 1 short.",
    ]
    assert "1 of 1 region targets for 2025-06 missed." in page


def test_changes_sentence_lists_the_largest_moves_first() -> None:
    st = pd.DataFrame(
        {"value": [0.30, 40.0, 0.10], "month": [0.28, 30.0, 0.101]},
        index=["product_coverage", "manager_adequacy", "customer_growth"],
    )
    assert sm.changes_sentence(st, "month", "2025-05", 0.005, max_moves=1) == (
        "Since 2025-05: Full-time account-manager adequacy ratio rose 10; 1 more moved (table "
        "below); 1 unchanged within 0.5 pp (shares) or 0.5 % (other figures)."
    )


# --------------------------------------------------------------------------- exported reports


@pytest.mark.slow
def test_every_report_opens_with_its_summary_and_its_links_resolve(ci_run) -> None:
    """In every exported report the summary comes before any section, chart or table of the
    report, and every in-page link (``#id``) of the page has its target."""
    pages = [p for p in ci_run.html_files if p.name != "index.html" and p.name != "kpis.html"]
    assert {p.stem for p in pages} >= {
        "00_bank_overview",
        "01_customer_segmentation",
        "02_cross_sell_propensity",
        "03_outlet_benchmarking",
    }
    for path in pages:
        page = path.read_text(encoding="utf-8")
        at = page.find('id="summary"')
        assert at > 0, f"{path}: no summary"
        before = page[:at]
        assert "<h2" not in before and "<img" not in before, f"{path}: content before summary"
        assert "Needs action" in page[at : at + 5000]
        ids = {
            html.unescape(a or b) for a, b in re.findall(r"""\bid="([^"]*)"|\bid='([^']*)'""", page)
        }
        links = {html.unescape(h) for h in re.findall(r'href="#([^"]+)"', page)}
        assert links <= ids, f"{path}: links without a target: {sorted(links - ids)}"


def test_peer_notes_say_what_a_tie_is() -> None:
    from bankanalysis.report.benchmarking_peers import peer_basis_notes, region_peer_ranks

    kpis = pd.DataFrame(
        {
            "month": ["2025-06"] * 3,
            "outlet_id": ["O1", "O2", "O3"],
            "echelon": [1, 1, 1],
            "outlet_type": ["full", "full", "full"],
            "product_coverage": [0.071, 0.070, 0.070],
        }
    )
    mine = pd.DataFrame({"outlet_id": ["O1", "O2"], "outlet": ["Main St", "Harbour"]})
    ranks = region_peer_ranks(
        kpis, ["product_coverage"], ["echelon", "outlet_type"], "2025-06", mine, 0.005
    )
    assert ranks["percentile"].round(1).tolist() == [66.7, 66.7]
    assert peer_basis_notes(ranks, 3) == [materiality_note(0.005)]


def test_kpi_sentences_against_echelon_or_bank_and_last_month() -> None:
    st = _hand_standing()
    assert sm.kpi_sentences(st, "R1", ["product_coverage", "customer_growth"], 0.005) == (
        "Product coverage is 20.0%, 13.3 pp below the echelon (33.3%). "
        "Product coverage fell 5.0 pp since last month (2025-05), to 20.0%."
    )
    # R3 is small (withheld): nothing is stated
    assert sm.kpi_sentences(st, "R3", ["product_coverage"], 0.005) == ""


def test_a_move_invisible_at_the_displayed_rounding_is_no_move() -> None:
    # adequacy shows without decimals: 34.2 and 33.9 both show as 34 though 0.9 % apart
    assert change_sentence("manager_adequacy", 34.2, 33.9, "2025-05", 0.005) == (
        "Full-time account-manager adequacy ratio is unchanged since 2025-05 within 0.5 % (34)."
    )
    st = pd.DataFrame(
        {"value": [34.2], "echelon": [33.9], "bank": [33.9], "month": [33.9]},
        index=["manager_adequacy"],
        dtype=object,
    )
    # shown as 35 and 34, but the gap (0.2) shows as 0: no "0 below" either
    assert compare_word("manager_adequacy", 34.6, 34.4, 0.005) == "tied within 0.5 %"
    assert standing_findings(st, 0.005, SECTIONS) == []
    assert change_findings(st, 0.005, SECTIONS, {"month": "2025-05"}) == []


def test_bank_standing_table_shows_each_echelon_withheld_where_small() -> None:
    st = _hand_standing()
    ech = st.echelon_frame()
    assert list(ech.columns) == ["Echelon 1", "Echelon 2"]
    assert ech.at["product_coverage", "Echelon 1"] == 0.333
    assert isinstance(ech.at["product_coverage", "Echelon 2"], Suppressed)  # 5 customers
    page = sm.bank_summary_html(
        st,
        pd.DataFrame(columns=["region_id", "kpi", "target", "actual", "attainment", "met"]),
        {},
        SECTIONS,
        0.005,
    )
    row = re.search(r"<td>Product coverage \(%\)</td>(.*?)</tr>", page).group(1)
    assert re.findall(r"<td>(.*?)</td>", row) == ["34.0%", "33.3%", "&lt;10", "1.0 pp below"]
    assert "The data carry no region targets for 2025-06." in page
