"""The notebook preamble: scope, names and metrics from one call; bad scope named clearly."""

from __future__ import annotations

import pytest

from bankanalysis.exceptions import ParameterError
from bankanalysis.report.context import appendix_provenance, report_appendix, report_context


def test_region_scope(ci_bank, tmp_path):
    ctx = report_context(ci_bank.processed, tmp_path, None, None, currency="EUR", theme=False)
    regions = ctx.bank.regions
    first = str(regions["region_id"].iloc[0])
    assert ctx.region_id == first
    assert ctx.region_name == str(regions["name"].iloc[0])
    assert ctx.echelon == int(regions["echelon"].iloc[0])
    assert ctx.month == ctx.bank.data_month
    assert ctx.currency == "EUR" and ctx.min_group_size == 10
    outlets = ctx.bank.outlets
    assert sorted(ctx.region_outlets) == sorted(
        outlets.loc[outlets["region_id"] == first, "outlet_id"].astype(str)
    )
    assert set(ctx.outlet_names) == set(outlets["outlet_id"].astype(str))
    ctx.metrics.record("customers", 5)
    assert (tmp_path / "metrics.json").is_file()


def test_whole_bank_scope(ci_bank):
    ctx = report_context(ci_bank.processed, None, whole_bank=True, theme=False)
    assert ctx.region_id is None and ctx.echelon is None
    assert len(ctx.region_outlets) == len(ctx.bank.outlets)


def test_unknown_region_and_month_are_named(ci_bank):
    with pytest.raises(ParameterError, match="region_id 'R99' is not in the regions table"):
        report_context(ci_bank.processed, None, "R99", theme=False)
    with pytest.raises(ParameterError, match="data_month '1999-01' is not in the data"):
        report_context(ci_bank.processed, None, None, "1999-01", theme=False)


def test_appendix_has_provenance_and_the_notebooks_parameters(ci_bank):
    from bankanalysis.params import schema_defaults

    ctx = report_context(ci_bank.processed, None, None, None, min_group_size=5, theme=False)
    params = schema_defaults("03_outlet_benchmarking") | {
        "min_group_size": 5,
        "run_id": "run-7",
        "unrelated_global": object(),
    }
    html = report_appendix(ctx, "03_outlet_benchmarking", params).data
    assert html.startswith('<details id="appendix"')
    assert html.count("<details") == 1 and html.rstrip().endswith("</details>")
    provenance = dict(appendix_provenance(ctx, "run-7"))
    assert provenance["Data fingerprint"] == ctx.bank.manifest["fingerprint"] != ""
    assert provenance["Data month"] == ctx.month
    assert provenance["Run"] == "run-7"
    assert provenance["Package version"].startswith("bankanalysis ")
    assert "pandas " in provenance["Libraries"]
    for value in provenance.values():
        assert value in html or value.replace("'", "&#x27;") in html
    # parameters in words, the one changed from its default first
    assert html.index("min_group_size") < html.index("tier_thresholds")
    assert "5 customers" in html and "default: 10 customers" in html
    assert "Groups of 1 to 4 customers are withheld (shown as &lt;5)." in html
    assert "unrelated_global" not in html and "run-7" in html
    interactive = dict(appendix_provenance(ctx))
    assert interactive["Run"] == "interactive session (not a batch run)"


def test_every_report_notebook_ends_with_its_own_appendix():
    import json
    from pathlib import Path

    from bankanalysis.params import NOTEBOOK_PARAMS

    root = Path(__file__).resolve().parents[1] / "notebooks"
    for stem in NOTEBOOK_PARAMS:
        nb = json.loads((root / f"{stem}.ipynb").read_text(encoding="utf-8"))
        last = nb["cells"][-1]
        assert last["cell_type"] == "code" and last["outputs"] == [], stem
        assert f'report_appendix(ctx, "{stem}", globals()' in "".join(last["source"]), stem


def test_no_report_states_its_scope_above_the_summary():
    """Issue 14: a line under the title repeated region, echelon and month (the page header
    and the summary state them once)."""
    import json
    import re
    from pathlib import Path

    from bankanalysis.params import NOTEBOOK_PARAMS

    root = Path(__file__).resolve().parents[1] / "notebooks"
    shows = re.compile(r"\b(print|display|show|Markdown|HTML)\(")
    for stem in NOTEBOOK_PARAMS:
        nb = json.loads((root / f"{stem}.ipynb").read_text(encoding="utf-8"))
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        first = next(i for i, c in enumerate(code) if "report_summary(" in "".join(c["source"]))
        for c in code[:first]:
            text = "".join(c["source"])
            assert not shows.search(text), (stem, text)
            for gone in ("intro_text", "heading(", "header_section", "Data month"):
                assert gone not in text, (stem, gone)
