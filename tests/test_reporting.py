"""HTML reports and the run index: no input code, offline, escaped, deterministic."""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path

import nbformat
import pytest

from bankanalysis.data import io as reporting_io
from bankanalysis.reporting import (
    ERROR_ANCHOR,
    ReportHeader,
    atomic_write_text,
    find_error,
    header_html,
    index_html,
    local_links,
    mark_failed_cell,
    parameters_table_html,
    render_report,
)

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


def test_parameters_table_escapes_and_hides_paths() -> None:
    html = parameters_table_html({"region_id": EVIL, "output_dir": "/x/y", "tiers": [1.0, 2.5]})
    assert "&lt;script&gt;" in html and EVIL not in html
    assert "/x/y" not in html and "output_dir" not in html
    assert "<td>1, 2.5</td>" in html


def test_header_has_fingerprint_versions_and_escaped_names() -> None:
    html = header_html(_header())
    for text in ("f1ngerpr1nt", "bankanalysis 0.1.0", "abc123", "2024-03", "run1"):
        assert text in html
    assert EVIL not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; (R1)" in html
    assert "/secret/path" not in html


def test_report_hides_code_embeds_images_and_is_offline() -> None:
    page = render_report(_executed(), _header())
    for code in ("make_chart_of_tiers", "tiers_table", "secret_path", "# default cell"):
        assert code not in page
    assert "data:image/png;base64," in page
    assert "<script" not in page.lower()
    external = [u for u in local_links(page) if re.match(r"(?i)^(https?:)?//", u)]
    assert external == []
    assert "@import" not in page and "url(http" not in page
    # the injected-parameters cell became a table of the job's parameters
    assert "Parameters of this report" in page
    assert page.count("<td>min_group_size</td>") == 1
    assert "f1ngerpr1nt" in page
    assert "&lt;script&gt;" in page and EVIL not in page


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


def test_index_links_statuses_and_escaping() -> None:
    manifest = {
        "run_id": "run1",
        "status": "incomplete",
        "reason": "1 job failed",
        "counts": {"ok": 1, "failed": 1},
        "notebooks": ["00_bank_overview", "01_customer_segmentation"],
        "regions": [{"region_id": "R1", "name": EVIL, "echelon": "1 (central city)"}],
        "data": {"fingerprint": "f1ngerpr1nt", "data_month": "2024-03"},
        "jobs": [
            {
                "region_id": None,
                "notebook": "00_bank_overview",
                "status": "ok",
                "duration_s": 2.5,
                "html": "_bank/00_bank_overview.html",
                "metrics": {"regions.count": 2, "aum.total": 123456789.0},
                "outputs": ["_bank/00_bank_overview/metrics.json"],
            },
            {
                "region_id": "R1",
                "notebook": "01_customer_segmentation",
                "status": "failed",
                "duration_s": 1.0,
                "error": "ValueError: <b>bad</b>",
                "html": "R1/01_customer_segmentation.html",
                "outputs": ["R1/01_customer_segmentation/leads.xlsx"],
            },
        ],
    }
    page = index_html(manifest)
    links = local_links(page)
    assert "_bank/00_bank_overview.html" in links
    assert f"R1/01_customer_segmentation.html#{ERROR_ANCHOR}" in links
    assert "R1/01_customer_segmentation/leads.xlsx" in links
    assert "manifest.json" in links
    assert EVIL not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>bad</b>" not in page
    assert "This run is incomplete: 1 job failed" in page
    assert "aum.total: 123,456,789" in page and "regions.count: 2" in page


def test_atomic_write_leaves_no_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "index.html"
    atomic_write_text(target, "old")
    assert oct(target.stat().st_mode & 0o444) == oct(0o444 & ~_umask())

    def broken(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(reporting_io.os, "replace", broken)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_text(target, "new content")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.html"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_notebook_helpers_escape_names_from_the_data() -> None:
    import pandas as pd

    from bankanalysis.reporting import safe_markdown, style_table

    md = safe_markdown("Region **{name}** has {n} outlets", name=EVIL, n=3)
    assert md.data == "Region **&lt;script&gt;alert(1)&lt;/script&gt;** has 3 outlets"
    df = pd.DataFrame({"aum": [1234567.891, float("nan")]}, index=pd.Index([EVIL, "R&D"]))
    df.columns = pd.Index(["<b>aum</b>"])
    page = style_table(df, precision=1).to_html()
    assert EVIL not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "R&amp;D" in page and "&lt;b&gt;aum&lt;/b&gt;" in page
    assert "1,234,567.9" in page
    assert ">&lt;n<" in page  # a suppressed cell shows the marker as text


def test_active_content_never_reaches_a_report() -> None:
    from bankanalysis.reporting import strip_active_content

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

    from bankanalysis.reporting import stable_styler_ids, style_table

    df = pd.DataFrame({"outlet": ["<b>O'Brien & Sons</b>", "人民路"], "share": [0.5, 0.25]})
    a = stable_styler_ids(style_table(df, formatter={"share": "{:.0%}"}).to_html())
    b = stable_styler_ids(style_table(df, formatter={"share": "{:.0%}"}).to_html())
    assert a == b
    assert "<b>O" not in a and "&lt;b&gt;O&#39;Brien &amp; Sons&lt;/b&gt;" in a
    assert "50%" in a and "人民路" in a
    assert 'id="T_t1"' in a


def test_links_to_side_files_point_where_the_batch_put_them():
    from bankanalysis.reporting import rebase_side_links

    body = (
        '<a href="leads_R01.xlsx">wb</a> <a href="#Calibration">toc</a> '
        '<a href="other.csv">kept</a> <a href="leads_R01.csv">csv</a>'
    )
    side = {"leads_R01.xlsx": "02_x/leads_R01.xlsx", "leads_R01.csv": "02_x/leads_R01.csv"}
    out = rebase_side_links(body, side)
    assert 'href="02_x/leads_R01.xlsx"' in out and 'href="02_x/leads_R01.csv"' in out
    assert 'href="#Calibration"' in out and 'href="other.csv"' in out


def test_index_shows_each_notebooks_headline_metrics_first() -> None:
    from bankanalysis.reporting import key_metrics

    metrics = {"a.first": 1, "bank.aum": 2.5e9, "bank.customers": 1200, "targets.share_met": 0.75}
    assert key_metrics(metrics, "00_bank_overview") == [
        ("customers", "1,200"),
        ("AUM", "2,500,000,000"),
        ("targets met", "75.0%"),
    ]
    # a headline the report did not record is skipped; others fill up in name order
    del metrics["targets.share_met"]
    assert key_metrics(metrics, "00_bank_overview") == [
        ("customers", "1,200"),
        ("AUM", "2,500,000,000"),
        ("a.first", "1"),
    ]
    assert key_metrics(metrics, "99_unknown", n=2) == [
        ("a.first", "1"),
        ("bank.aum", "2,500,000,000"),
    ]
    assert key_metrics({"tiers.share.vip": None}, "01_customer_segmentation") == [
        ("VIP share", "n/a")
    ]
