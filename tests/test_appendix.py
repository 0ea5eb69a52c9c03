"""The appendix: parameters in words with units, changed ones first, nulls in words."""

from __future__ import annotations

from bankanalysis.params import schema_defaults
from bankanalysis.report.appendix import (
    appendix_html,
    notebook_params_class,
    parameter_rows,
    parameters_table_html,
    value_text,
    withheld_counts,
    withheld_text,
)


def test_parameters_in_words_with_units_changed_first() -> None:
    params = schema_defaults("01_customer_segmentation") | {
        "migration_months": 6,
        "wealth_card_product": None,
        "processed_dir": "/secret",
        "region_id": "R01",
    }
    rows = parameter_rows(params, "01_customer_segmentation")
    assert [r.name for r in rows[:2]] == ["migration_months", "wealth_card_product"]
    assert all(r.changed for r in rows[:2]) and not any(r.changed for r in rows[2:])
    first = rows[0]
    assert first.meaning == "Month-ends between the two snapshots of the tier migration matrix"
    assert (first.value, first.default) == ("6 months", "12 months")
    assert rows[1].value == "this bank has no wealth card"
    names = {r.name for r in rows}
    assert not names & {"processed_dir", "output_dir", "region_id", "run_id"}
    by_name = {r.name: r for r in rows}
    assert by_name["tier_thresholds"].value == "50,000, 500,000, 6,000,000 CNY"
    assert by_name["pipeline_within"].value == "10%"
    assert by_name["data_month"].value == "last month of the data"


def test_null_empty_and_kpi_values_never_read_none() -> None:
    assert value_text(None, None, None) == "not set"
    assert value_text({}, None, None) == "not set"
    assert value_text([], None, None) == "not set"
    assert value_text(False, None, None) == "no"
    assert value_text(["customers_per_fte"], "KPI ids", None) == "Customers per staff FTE"
    assert value_text(3.0, "ratio", None) == "3:1"
    assert value_text(1, "customers", None) == "1 customer"
    for stem in ("00_bank_overview", "02_cross_sell_propensity", "03_outlet_benchmarking"):
        for row in parameter_rows(schema_defaults(stem) | {"products": None}, stem):
            assert row.value not in ("None", "none", "", "{}", "[]"), row
    by_name = {r.name: r for r in parameter_rows(schema_defaults("02_cross_sell_propensity"))}
    assert by_name["products"].value == "every product with cross_sell = true"
    assert by_name["product_values"].value == "not set"
    page = parameters_table_html(schema_defaults("02_cross_sell_propensity"))
    assert "Every setting has its default value." in page


def test_schema_found_from_the_keys_when_not_named() -> None:
    assert notebook_params_class({"dea_rts": "crs"}).__name__ == "BenchmarkingParams"
    assert notebook_params_class({}, "00_bank_overview").__name__ == "OverviewParams"
    # each notebook's parameters (what the batch injects) name its own schema, even where one
    # schema's fields are all in another's (the overview's are in the benchmarking report's)
    from bankanalysis.params import NOTEBOOK_PARAMS, notebook_parameters

    for stem, cls in NOTEBOOK_PARAMS.items():
        assert notebook_params_class(notebook_parameters(schema_defaults(stem))) is cls, stem
    # keys every schema has: no one schema, the common one
    assert notebook_params_class({"currency": "EUR"}).__name__ == "CommonParams"


def test_appendix_is_collapsed_and_escaped_and_states_a_given_suppressed_count() -> None:
    page = appendix_html(
        [("Data fingerprint", "<fp>"), ("Git commit", "")],
        {"min_group_size": 5, "currency": "EUR", "tier_thresholds": [1.0, 2.0, 3.0]},
        min_group_size=5,
        suppressed_cells=12,
    )
    assert page.startswith('<details id="appendix" class="appendix"><summary>')
    assert "&lt;fp&gt;" in page and "<fp>" not in page
    assert '<dd class="git-commit">unknown</dd>' in page
    assert "Groups of 1 to 4 customers are withheld (shown as &lt;5)." in page
    assert "Cells withheld in this report: 12." in page
    assert "1, 2, 3 EUR" in page
    assert page.index("min_group_size") < page.index("tier_thresholds")  # changed first


def test_appendix_says_when_no_cell_is_withheld_and_lists_method_notes() -> None:
    page = appendix_html(
        [("Data fingerprint", "fp")],
        {"min_group_size": 10},
        min_group_size=10,
        suppressed_cells=0,
        notes=["Tiers use the average AUM of the last 3 month-ends <b>", ""],
    )
    assert "No cell of this report's tables is withheld." in page
    assert "Cells withheld" not in page
    assert "<h3>How the figures were made</h3>" in page
    assert (
        '<ul class="method"><li>Tiers use the average AUM of the last 3 month-ends &lt;b&gt;</li></ul>'
        in page
    )
    assert "How the figures were made" not in appendix_html([], {}, min_group_size=10)


def test_appendix_says_why_each_withheld_cell_is_withheld() -> None:
    """A report's count of withheld cells comes with the reason of each kind: the small
    groups and dominated money (primary), the cells withheld so that those cannot be worked
    out (secondary), the ``x`` of the tables counted by their markers (either) and the
    fail-safe's -- and the parts add up to the count."""
    import pandas as pd

    from bankanalysis.report.tables import KpiTable
    from bankanalysis.rules.disclosure_secondary import LinearTable, fail_safe, protect

    # b (1 customer) would come back as the total 14 less a (13): a is withheld too, then
    # still pinned by the total, so the fail-safe withholds the row (a, b, c)
    t = LinearTable({"a": 13, "b": 1, "c": 0, "n": 14}, ({"a": 1, "b": 1, "c": 1, "n": -1},))
    t = LinearTable(t.values, t.relations, fixed=frozenset({"n"}))
    pinned = fail_safe(t, protect(t, ["b"], 10), [lambda cell: ["a", "b", "c"]], 10)
    shown = KpiTable(pd.DataFrame({"a": ["<10", "x", "12"], "b": ["x", "<10", "<10"]}))
    counts = withheld_counts(10, shown=[shown], protections=[pinned])
    # markers: 3 "<10" (primary), 2 "x"; the decision by status: b primary, a secondary, c
    # fail-safe
    assert counts == {"primary": 4, "secondary": 1, "x": 2, "fail-safe": 1}
    # a decision whose cells a table prints under "withheld", which a marker count misses:
    # its fail-safe set (a, b, c)
    assert withheld_counts(10, failsafe=[pinned]) == {
        "primary": 0,
        "secondary": 0,
        "x": 0,
        "fail-safe": 3,
    }
    text = withheld_text(counts, 10)
    assert text.startswith("Cells withheld in this report: 8 -- 4 concern fewer than 10 ")
    assert "; 1 is withheld so that a withheld figure cannot be worked out" in text
    assert "; 2 are shown x: money held mostly by one or two customers (primary) or" in text
    assert "; 1 is withheld with the whole row or column of a small group (fail-safe" in text
    page = appendix_html([], {"min_group_size": 10}, min_group_size=10, suppressed_cells=counts)
    assert "Cells withheld in this report: 8 -- 4 concern" in page
    assert "shown as &quot;withheld&quot;" in page  # escaped
    nothing = dict.fromkeys(counts, 0)
    page = appendix_html([], {}, min_group_size=10, suppressed_cells=nothing)
    assert "No cell of this report&#x27;s tables is withheld." in page
    assert "Cells withheld" not in page
