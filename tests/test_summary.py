"""The summary's figures on the CI bank: the overview's numbers, computed once per run."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bankanalysis.report import overview as rov
from bankanalysis.report.context import report_context
from bankanalysis.report.format import is_missing
from bankanalysis.report.standing import cached_standing
from bankanalysis.report.summary import sections

PARAMS = dict(
    tier_thresholds=[50000.0, 500000.0, 6000000.0],
    tier_months=3,
    lookback_months=12,
    coverage_products=3,
    wealth_card_product="wealth_card",
)


@pytest.fixture()
def ctx(ci_bank, tmp_path: Path):
    folder = tmp_path / "processed"
    shutil.copytree(ci_bank.processed, folder)
    return report_context(str(folder), None, None, None, whole_bank=True)


def test_standing_is_computed_once_per_data_and_parameters(ctx) -> None:
    first, hit_first = cached_standing(ctx, **PARAMS)
    again, hit_again = cached_standing(ctx, **PARAMS)
    other, hit_other = cached_standing(ctx, **{**PARAMS, "lookback_months": 6})
    assert (hit_first, hit_again, hit_other) == (False, True, False)
    assert first.frame("R02").equals(again.frame("R02"))
    # beside the models: the one folder of processed data that prepare keeps
    assert (ctx.bank.folder / "_models" / "summary").is_dir()


def test_region_figures_are_the_overview_scorecard(ctx) -> None:
    standing, _ = cached_standing(ctx, **PARAMS)
    rm = rov.region_month_upto(ctx)
    sc = rov.load_scorecard(ctx, rm, **PARAMS)
    for i, rid in sc.regions["region_id"].items():
        frame = standing.frame(str(rid))
        for kpi in standing.kpi_ids:
            mine, theirs = frame.at[kpi, "value"], sc.value(kpi, i)
            assert is_missing(mine) == is_missing(theirs), (rid, kpi)
            if not is_missing(mine):
                assert float(mine) == pytest.approx(float(theirs)), (rid, kpi)
    bank = standing.frame(None)
    assert bank.at["product_coverage", "value"] == pytest.approx(
        float(sc.bank.iloc[0]["product_coverage"])
    )


def test_sections_map_kpis_to_header_ids() -> None:
    s = sections("Scorecard of the plan's KPIs per region", **{"Peer ranks": ["sales_per_fte"]})
    assert s["sales_per_fte"] == ("Peer-ranks", "Peer ranks")
    assert s["*"] == (
        "Scorecard-of-the-plan's-KPIs-per-region",
        "Scorecard of the plan's KPIs per region",
    )


def test_the_summary_ends_with_the_plan_progress_paragraph(ctx) -> None:
    from bankanalysis.report.summary import OVERVIEW_SECTIONS, report_summary

    page = report_summary(ctx, {**PARAMS, "materiality": 0.005}, OVERVIEW_SECTIONS)
    assert page.endswith("</p></section>")
    plan = page[page.index("<p id='summary-plan'>") :]
    assert plan.startswith("<p id='summary-plan'><strong>Plan progress.</strong> The bank, ")
    assert " CNY on the " in plan  # a change in money, with its unit
