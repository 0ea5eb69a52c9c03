"""The summary's standing takes the report's own scorecard parameters (issue 14)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bankanalysis.params import notebook_parameters, schema_defaults
from bankanalysis.report import overview as rov
from bankanalysis.report.context import report_context
from bankanalysis.report.standing import scorecard_params, standing_for


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
