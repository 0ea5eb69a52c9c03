"""HTML reports: no input code, offline, escaped, deterministic."""

from __future__ import annotations

import base64
import re

import nbformat
import pandas as pd

from bankanalysis.report.html import (
    ERROR_ANCHOR,
    SUMMARY_ID,
    ReportHeader,
    appendix_from_header,
    find_error,
    header_html,
    local_links,
    mark_failed_cell,
    prepare_notebook,
    rebase_side_links,
    render_report,
    safe_markdown,
    stable_styler_ids,
    strip_active_content,
)
from bankanalysis.report.tables import style_table

EVIL = "<script>alert(1)</script>"
# a 1x1 PNG
PNG = base64.b64encode(
    bytes.fromhex(
        "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
        "0000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
    )
).decode()


def _executed(error: bool = False) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("region_id = None  # default cell")
    params.metadata["tags"] = ["parameters"]
    injected = nbformat.v4.new_code_cell('region_id = "R1"\nsecret_path = "/data/processed"')
    injected.metadata["tags"] = ["injected-parameters"]
    chart = nbformat.v4.new_code_cell("fig = make_chart_of_tiers()")
    chart.execution_count = 3
    chart.outputs = [
        nbformat.v4.new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"})
    ]
    table = nbformat.v4.new_code_cell("tiers_table")
    table.execution_count = 4
    table.outputs = [
        nbformat.v4.new_output(
            "execute_result",
            data={"text/html": "<table><tr><td>&lt;script&gt;</td></tr></table>"},
            execution_count=4,
        )
    ]
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Customer tiers\n\nWhat the manager should see."),
        params,
        injected,
        chart,
        table,
    ]
    if error:
        bad = nbformat.v4.new_code_cell("compute_the_thing()")
        bad.execution_count = 5
        bad.outputs = [
            nbformat.v4.new_output(
                "error", ename="ValueError", evalue="boom", traceback=["ValueError: boom"]
            )
        ]
        nb.cells.append(bad)
        nb.cells.append(nbformat.v4.new_code_cell("never_ran()"))
    return nb


def _header(**kw: object) -> ReportHeader:
    base = dict(
        title="Customer tiers",
        region_id="R1",
        region_name=EVIL,
        echelon="1 (central city)",
        data_month="2024-03",
        parameters={"region_id": "R1", "min_group_size": 10, "processed_dir": "/secret/path"},
        fingerprint="f1ngerpr1nt",
        package_version="0.1.0",
        git_commit="abc123",
        run_id="run1",
        run_time="2026-11-30T04:00:00Z",
    )
    base.update(kw)
    return ReportHeader(**base)


def _body(page: str) -> str:
    return page[page.index("</header>") :]


def test_header_is_one_title_with_scope_and_links_only() -> None:
    html = header_html(_header())
    assert html.count("<h1>") == 1 and "<h1>Customer tiers</h1>" in html
    assert (
        "&lt;script&gt;alert(1)&lt;/script&gt;, echelon 1 (central city) · data month 2024-03"
        in html
    )
    assert EVIL not in html
    # provenance and parameters moved to the appendix
    for moved in ("f1ngerpr1nt", "abc123", "run1", "min_group_size", "Parameters"):
        assert moved not in html, moved
    assert 'href="../index.html"' in html and 'href="../kpis.html"' in html
    assert 'href="#appendix"' in html
    bank = header_html(_header(region_id=None, region_name=None, echelon=None, data_month=None))
    assert "Whole bank · data month latest" in bank


def test_appendix_from_header_is_collapsed_with_provenance_and_parameters_in_words() -> None:
    html = appendix_from_header(_header())
    assert html.startswith('<details id="appendix" class="appendix"><summary>')
    assert "<details open" not in html  # collapsed on screen
    for text in ("f1ngerpr1nt", "bankanalysis 0.1.0", "abc123", "run1", "2026-11-30T04:00:00Z"):
        assert text in html, text
    # parameters in words with units; the batch's paths and ids are not listed
    assert "Groups with fewer customers are suppressed; one value for every report of a run" in html
    assert "10 customers" in html and "/secret/path" not in html
    assert "Groups of 1 to 9 customers are withheld (shown as &lt;10)." in html
    assert "Cells withheld" not in html  # no count without the disclosure layer's number


def test_report_hides_code_embeds_images_and_is_offline() -> None:
    page = render_report(_executed(), _header())
    for code in ("make_chart_of_tiers", "tiers_table", "secret_path", "# default cell"):
        assert code not in page
    assert "data:image/png;base64," in page
    assert "<script" not in page.lower()
    external = [u for u in local_links(page) if re.match(r"(?i)^(https?:)?//", u)]
    assert external == []
    assert "@import" not in page and "url(http" not in page
    # one title: the notebook's own "# Customer tiers" line is not repeated in the body
    assert page.count("Customer tiers</h1>") == 1
    assert "What the manager should see." in _body(page)
    # parameters and provenance only in the appendix, at the very end of the body
    body = _body(page)
    assert body.count('id="appendix"') == 1 and "f1ngerpr1nt" in body
    assert body.index('id="appendix"') > body.index("data:image/png")
    assert "Parameters of this report" not in page
    assert "&lt;script&gt;" in page and EVIL not in page


def test_charts_get_alt_text_never_the_nbconvert_placeholder() -> None:
    nb = _executed()
    nb.cells.insert(3, nbformat.v4.new_markdown_cell("## Tiers\n\ntext"))
    page = render_report(nb, _header())
    assert "No description has been provided" not in page
    assert 'alt="Chart of the section Tiers"' in page
    nb = _executed()
    nb.cells[3].outputs[0]["metadata"] = {
        "image/png": {"width": 400, "height": 300, "alt": "Chart. Sales: highest <b>"}
    }
    page = render_report(nb, _header())
    assert 'alt="Chart. Sales: highest &lt;b&gt;"' in page
    assert 'width="400"' in page and 'height="300"' in page


def _with_summary_and_appendix() -> nbformat.NotebookNode:
    nb = _executed()
    summary = nbformat.v4.new_code_cell("HTML(summary)")
    summary.outputs = [
        nbformat.v4.new_output(
            "display_data", data={"text/html": '<section id="summary">Standing</section>'}
        )
    ]
    appendix = nbformat.v4.new_code_cell("report_appendix(ctx)")
    appendix.outputs = [
        nbformat.v4.new_output(
            "execute_result",
            data={"text/html": '<details id="appendix">from the notebook</details>'},
            execution_count=9,
        )
    ]
    nb.cells.insert(4, summary)
    nb.cells.append(appendix)
    return nb


def test_summary_comes_first_and_the_notebooks_appendix_is_kept() -> None:
    page = render_report(_with_summary_and_appendix(), _header())
    body = _body(page)
    assert body.index(f'id="{SUMMARY_ID}"') < body.index("What the manager should see.")
    assert body.index(f'id="{SUMMARY_ID}"') < body.index("data:image/png")
    assert body.count('id="appendix"') == 1 and "from the notebook" in body
    assert "f1ngerpr1nt" not in body  # the exporter added no second appendix
    prepared = prepare_notebook(_with_summary_and_appendix(), "<p>fallback</p>")
    assert [c["id"] for c in prepared.cells] == [f"c{i:03d}" for i in range(len(prepared.cells))]
    assert prepared.cells[0].outputs[0]["data"]["text/html"].startswith('<section id="summary">')


def test_stylesheet_fits_1280_scrolls_wide_tables_and_prints_a4_landscape() -> None:
    from bankanalysis.report.html import REPORT_CSS

    css = REPORT_CSS.replace("\n", "")
    assert "max-width:1180px" in css  # + padding: fits a 1,280 px window
    assert ".table-scroll,.output_html{overflow-x:auto;max-width:100%}" in css
    assert "position:sticky;left:0" in css
    assert "@page{size:A4 landscape" in css
    screen, printed = css.split("@media print{", 1)
    assert "overflow:visible" in printed and "position:static" in printed
    assert "details-content" in printed  # the appendix prints expanded
    assert "overflow-x:hidden" not in css  # nothing hidden to pass the width check


def _rules(css: str) -> str:
    """The selectors of a stylesheet's rules, one string (declarations dropped)."""
    return " ".join(re.findall(r"([^{}]+)\{[^{}]*\}", css))


def test_the_summary_is_styled_on_screen_and_in_print() -> None:
    """Issue 14: the summary's classes had no rule; the summary read as plain body text."""
    from summary_data import hand_standing

    from bankanalysis.report import summary as sm
    from bankanalysis.report.html import REPORT_CSS
    from bankanalysis.report.narrative import paragraph

    targets = pd.DataFrame({"kpi": ["new_customers"], "target": [10.0], "actual": [8.0]})
    summary = sm.region_summary_html(hand_standing(), "R1", "North", targets, sm.sections(), 0.005)
    summary += paragraph("Product coverage is 20.0%.").data
    classes = set(re.findall(r"""class=["']([^"']+)["']""", summary))
    assert {"summary", "summary-standing", "findings", "summary-lead", "finding"} <= classes
    css = REPORT_CSS.replace("\n", "")
    screen, printed = css.split("@media print{", 1)
    for cls in classes:
        assert re.search(rf"\.{cls}\b", _rules(screen)), cls
    assert "section.summary{" in printed and "ol.findings" in printed
    nb = _executed()
    cell = nbformat.v4.new_code_cell("HTML(summary)")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/html": summary})]
    nb.cells.insert(4, cell)
    page = render_report(nb, _header())
    style = page[page.index("<style>") : page.index("</style>")]
    assert "section.summary{" in style and "ol.findings>li{" in style
    body = _body(page)
    opening = re.search(r"<section[^>]*\bclass=\"summary\"[^>]*>", body)
    assert opening and 'id="summary"' in opening.group(0)
    assert opening.start() < body.index("data:image/png")  # first, and styled by its class


def test_failed_report_shows_the_error_and_an_anchor() -> None:
    nb = _executed(error=True)
    assert find_error(nb) == (5, "ValueError", "boom")
    marked = mark_failed_cell(nb, 5, "ValueError: boom")
    assert len(marked.cells) == 8
    assert mark_failed_cell(marked, 5, "again") is marked and len(marked.cells) == 8
    page = render_report(marked, _header(status="failed", error="ValueError: boom"))
    assert page.count(f'id="{ERROR_ANCHOR}"') == 1
    assert f'href="#{ERROR_ANCHOR}"' in page
    assert "ValueError: boom" in page
    anchor_at = page.index(f'id="{ERROR_ANCHOR}"')
    assert anchor_at < page.index("ValueError: boom</pre>")


def test_find_error_sees_a_cell_left_running() -> None:
    nb = _executed()
    nb.cells[4].metadata["papermill"] = {"status": "running"}
    assert find_error(nb) == (4, "NotFinished", "the cell did not finish")
    assert find_error(_executed()) is None


def test_rendering_is_deterministic() -> None:
    assert render_report(_executed(), _header()) == render_report(_executed(), _header())


def test_safe_markdown_escapes_names_from_the_data() -> None:
    md = safe_markdown("Region **{name}** has {n} outlets", name=EVIL, n=3)
    assert md.data == "Region **&lt;script&gt;alert(1)&lt;/script&gt;** has 3 outlets"


def test_active_content_never_reaches_a_report() -> None:
    nb = _executed()
    nb.cells[4].outputs[0]["data"]["text/html"] = (
        '<table><tr><td onmouseover="steal()">x</td></tr></table>'
        "<script>alert(1)</script><SCRIPT src=x.js></SCRIPT><iframe src=a></iframe>"
        '<a href="javascript:alert(2)">y</a>'
    )
    page = render_report(nb, _header())
    low = page.lower()
    for bad in ("<script", "<iframe", "onmouseover", "javascript:", "steal()"):
        assert bad not in low, bad
    assert "<td>x</td>" in page and ">y</a>" in page
    clean, n = strip_active_content("<p>plain &lt;script&gt; text</p>")
    assert (clean, n) == ("<p>plain &lt;script&gt; text</p>", 0)


def test_styler_tables_render_identically_and_escaped():
    import pandas as pd

    df = pd.DataFrame({"outlet": ["<b>O'Brien & Sons</b>", "人民路"], "share": [0.5, 0.25]})
    a = stable_styler_ids(style_table(df, formatter={"share": "{:.0%}"}).to_html())
    b = stable_styler_ids(style_table(df, formatter={"share": "{:.0%}"}).to_html())
    assert a == b
    assert "<b>O" not in a and "&lt;b&gt;O&#39;Brien &amp; Sons&lt;/b&gt;" in a
    assert "50%" in a and "人民路" in a
    assert 'id="T_t1"' in a


def test_links_to_side_files_point_where_the_batch_put_them():
    body = (
        '<a href="leads_R01.xlsx">wb</a> <a href="#Calibration">toc</a> '
        '<a href="other.csv">kept</a> <a href="leads_R01.csv">csv</a>'
    )
    side = {"leads_R01.xlsx": "02_x/leads_R01.xlsx", "leads_R01.csv": "02_x/leads_R01.csv"}
    out = rebase_side_links(body, side)
    assert 'href="02_x/leads_R01.xlsx"' in out and 'href="02_x/leads_R01.csv"' in out
    assert 'href="#Calibration"' in out and 'href="other.csv"' in out


def test_a_name_quoted_in_alt_text_survives_the_active_content_filter() -> None:
    tag = '<img alt="highest &lt;img src=x onerror=alert(2)&gt; 17" src="a.png" onload="x()">'
    clean, n = strip_active_content(tag)
    assert n == 1 and "onload" not in clean
    assert 'alt="highest &lt;img src=x onerror=alert(2)&gt; 17"' in clean
    assert strip_active_content("<img src=x onerror=alert(2)>") == ("<img src=x>", 1)


def test_the_appendix_lists_the_parameters_the_batch_injected() -> None:
    """A notebook may reassign a parameter's variable before its appendix reads globals()."""
    from bankanalysis.report.appendix import appendix_html

    nb = _executed()
    cell = nbformat.v4.new_code_cell("report_appendix(ctx, stem, globals())")
    reassigned = {"min_group_size": 3, "dea_outputs": ["fee_income"], "currency": "CNY"}
    cell.outputs = [
        nbformat.v4.new_output(
            "execute_result",
            data={"text/html": appendix_html([("Data fingerprint", "nb-fp")], reassigned)},
            execution_count=9,
        )
    ]
    nb.cells.append(cell)
    page = render_report(nb, _header(parameters={"min_group_size": 10, "currency": "CNY"}))
    appendix = page[page.index('id="appendix"') :]
    assert "nb-fp" in appendix  # the notebook's provenance is kept
    assert "10 customers" in appendix and "3 customers" not in appendix
    assert "fee_income" not in appendix
    assert page.count('id="appendix"') == 1
