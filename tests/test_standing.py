"""The summary's standing takes the report's own scorecard parameters (issue 14)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bankanalysis.params import notebook_parameters, schema_defaults
from bankanalysis.report import overview as rov
from bankanalysis.report.context import report_context
from bankanalysis.report.standing import scorecard_params
from bankanalysis.report.summary import standing_for


@pytest.fixture()
def ctx(ci_bank, tmp_path: Path):
    folder = tmp_path / "processed"
    shutil.copytree(ci_bank.processed, folder)
    return report_context(str(folder), None, "R02", None)


@pytest.mark.parametrize(
    "notebook", ["01_customer_segmentation", "02_cross_sell_propensity", "03_outlet_benchmarking"]
)
def test_a_report_s_coverage_products_reaches_its_summary(ctx, notebook: str) -> None:
    """A region report run with coverage_products 1 summarises coverage at 1 product."""
    params = notebook_parameters(schema_defaults(notebook)) | {"coverage_products": 1}
    standing = standing_for(ctx, params)
    expected = rov.load_scorecard(ctx, rov.region_month_upto(ctx), **scorecard_params(params))
    row = expected.regions.index[expected.regions["region_id"] == "R02"][0]
    shown = standing.frame("R02").at["product_coverage", "value"]
    assert float(shown) == pytest.approx(float(expected.value("product_coverage", row)))
    default = standing_for(ctx, notebook_parameters(schema_defaults(notebook)))
    assert float(default.frame("R02").at["product_coverage", "value"]) < float(shown)


def test_month_tiers_read_narrowly_equal_the_wide_read_on_the_ci_bank(ci_bank) -> None:
    """The standing reads one month's columns and the window's AUM alone; its tiers, base
    customers and region scorecards equal those cut from reading every column of every month
    the standing needs at once (how they were computed before)."""
    import pandas as pd

    from bankanalysis import overview as ov
    from bankanalysis.data.load import load_processed
    from bankanalysis.report.overview import scorecard_options
    from bankanalysis.report.standing import month_tiers
    from bankanalysis.rules.months import base_month
    from bankanalysis.rules.tiers import customer_tiers

    bank = load_processed(ci_bank.processed)
    cols = ov.scorecard_columns("wealth_card", bank.has("contacts"))
    months = list(bank.months)
    thresholds = [50_000.0, 500_000.0, 6_000_000.0]
    wide = bank.customer_month(columns=cols)
    common = scorecard_options(bank, 3, "wealth_card")
    rm, om = bank.region_month(), bank.outlet_month()
    for m in (months[-1], months[-4]):
        base = base_month([x for x in months if x <= m], m, 12)
        tiers, cm_base = month_tiers(bank, m, base, cols, thresholds, 3)
        expected = customer_tiers(wide, m, thresholds, 3)
        pd.testing.assert_frame_equal(tiers, expected, check_exact=True)
        assert tiers["tier"].value_counts().sum() == (wide["month"] == m).sum() > 100
        expected_base = wide.loc[wide["month"] == base, ["customer_id", "region_id"]]
        pd.testing.assert_frame_equal(cm_base, expected_base.reset_index(drop=True))
        assert len(cm_base) > 100
        got = ov.region_scorecard(tiers, cm_base, rm, om, m, **common)
        want = ov.region_scorecard(expected, expected_base, rm, om, m, **common)
        pd.testing.assert_frame_equal(got, want, check_exact=True)
        assert got["customers"].sum() == len(tiers)


def test_the_standing_s_overlapping_tier_windows_read_each_month_end_once(ci_bank) -> None:
    """Months processed oldest first with one ``month_aum``: each month-end of the windows is
    read once (the month's own full read serves its window), and the tiers still equal those
    of the wide read."""
    import pandas as pd

    from bankanalysis import overview as ov
    from bankanalysis.data.load import load_processed
    from bankanalysis.report.standing import month_tiers
    from bankanalysis.rules.months import base_month
    from bankanalysis.rules.tiers import customer_tiers

    bank = load_processed(ci_bank.processed)
    cols = ov.scorecard_columns("wealth_card", bank.has("contacts"))
    months = list(bank.months)
    thresholds = [50_000.0, 500_000.0, 6_000_000.0]
    wide = bank.customer_month(columns=cols)
    reads: list[tuple[str, ...]] = []
    read = bank.customer_month

    def counted(months=None, **kw):
        if kw.get("columns") != ["customer_id", "region_id"]:  # not the base month
            reads.append(tuple(months))
        return read(months=months, **kw)

    bank.customer_month = counted
    month_aum: dict[str, pd.DataFrame] = {}
    wanted = [months[-4], months[-2], months[-1]]
    for m in wanted:
        base = base_month([x for x in months if x <= m], m, 12)
        tiers, _ = month_tiers(bank, m, base, cols, thresholds, 3, month_aum)
        expected = customer_tiers(wide, m, thresholds, 3)
        pd.testing.assert_frame_equal(tiers, expected, check_exact=True)
    assert [r for r in reads if len(r) != 1] == []
    # every month-end from the oldest window's start to the data month, each read once
    assert sorted(r[0] for r in reads) == months[-6:]
    assert set(month_aum) == set(months[-6:])
