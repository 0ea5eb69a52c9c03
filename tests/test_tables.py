"""KPI tables: words and units in headers, one format per KPI, withheld and absent cells."""

from __future__ import annotations

import pandas as pd

from bankanalysis.report.tables import (
    KpiTable,
    kpi_table,
    shown_withheld_cells,
    style_table,
    table_frame,
)


def test_table_frame_formats_by_kpi_and_marks_withheld_rows():
    df = pd.DataFrame(
        {
            "outlet": ["东城支行", "<b>West</b>"],
            "c": [1234, 7],
            "cov": [0.4567, 0.5],
            "aum": [1_234_567.8, None],
            "suppressed": [False, True],
        }
    )
    frame = table_frame(
        df,
        {"c": "customers", "cov": "product_coverage", "aum": "aum_per_customer"},
        labels=["outlet"],
        currency="EUR",
        min_group_size=10,
    )
    assert list(frame.columns) == [
        "outlet",
        "Customers",
        "Product coverage (%)",
        "AUM per customer (EUR)",
    ]
    assert frame.iloc[0].tolist() == ["东城支行", "1,234", "45.7%", "1,234,568"]
    assert frame.iloc[1].tolist()[1:] == ["<10", "<10", "<10"]


def test_missing_cells_that_are_not_withheld_read_na():
    df = pd.DataFrame({"cov": [None, 0.25]})
    frame = table_frame(df, {"cov": "product_coverage"}, suppressed=pd.Series([False, False]))
    assert frame.iloc[:, 0].tolist() == ["n/a", "25.0%"]


def test_cellwise_suppression():
    df = pd.DataFrame({"a": [3.0, 40.0], "b": [50.0, 60.0]})
    mask = pd.DataFrame({"a": [True, False], "b": [False, False]})
    frame = table_frame(df, {"a": "customers", "b": "customers_per_fte"}, suppressed=mask)
    assert frame.iloc[:, 0].tolist() == ["<k", "40"]
    assert frame.iloc[:, 1].tolist() == ["50.0", "60.0"]


def test_kpi_table_html_is_escaped_and_scrolls():
    df = pd.DataFrame({"outlet": ["<script>x</script>"], "c": [12]})
    html = kpi_table(df, {"c": "customers"}, labels=["outlet"], note="a & b").to_html()
    assert html.startswith('<div class="table-scroll">')
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'class="kpi-table"' in html and "a &amp; b" in html


def test_style_table_escapes():
    html = style_table(pd.DataFrame({"<b>": ["<i>x</i>"]}, index=["<s>"])).to_html()
    assert "<i>" not in html and "<b>" not in html and "<s>" not in html


def test_kpi_table_sits_in_the_scroll_box_the_stylesheet_keeps_in_view() -> None:
    from bankanalysis.report.html import REPORT_CSS
    from bankanalysis.report.tables import kpi_table

    df = pd.DataFrame({"outlet": ["A"], "n": [120]})
    html = kpi_table(df, {"n": "customers"}, labels=["outlet"]).to_html()
    assert html.startswith('<div class="table-scroll">') and 'class="kpi-table"' in html
    css = REPORT_CSS.replace("\n", "")
    assert ".table-scroll table td:nth-child(1)" in css and "position:sticky;left:0" in css
    assert ".table-scroll,.output_html{overflow-x:auto" in css


def test_shown_withheld_cells_counts_the_markers_of_the_tables_shown() -> None:
    df = pd.DataFrame({"tier": ["mass", "vip", "pb"], "n": [120, 4, 0], "s": [0.8, 0.1, None]})
    small = pd.DataFrame({"n": [False, True, False], "s": [False, True, False]})
    t = kpi_table(
        df,
        {"n": "customers", "s": "customer_share"},
        labels=["tier"],
        min_group_size=10,
        suppressed=small,
    )
    assert shown_withheld_cells(10, t) == 2  # vip's two cells; pb's n/a is absent, not withheld

    class Section:  # a report section: its parts in display order
        parts = ["text <10", t, KpiTable(pd.DataFrame({"a": ["x", "<5"]}))]

    # the secondary marker counts; "<5" is not this report's marker; text is no cell
    assert shown_withheld_cells(10, Section(), [t]) == 2 + 1 + 2
    nothing = kpi_table(df.iloc[:1], {"n": "customers"}, min_group_size=10)
    assert shown_withheld_cells(10, nothing, "figure") == 0
