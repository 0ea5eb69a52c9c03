"""Self-contained HTML reports: render an executed notebook, its header, escaping and links.

Executed notebooks are rendered in-process with nbconvert's ``HTMLExporter`` (``basic``
template: body only) inside a page of our own: one title with the region and data month at the
top, the report's summary first (the cell whose output has ``id="summary"``), and at the end an
appendix collapsed in ``<details id="appendix">`` with provenance (data fingerprint, versions,
commit, run) and the parameters in words (:mod:`bankanalysis.report.appendix`; the notebook's
last cell writes it, the exporter adds one only when the notebook did not get that far).
The stylesheet is embedded (no script, font or stylesheet from any host): pages fit a 1,280 px
window, wide tables scroll in their box with the first column kept in view, and a print
stylesheet lays the report out on A4 landscape with tables legible and the appendix expanded.
Input code is hidden and images stay embedded as ``data:`` URIs with their alt text. Every
string taken from the data (region and outlet names) is HTML-escaped.
"""

from __future__ import annotations

import html
import logging
import numbers
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bankanalysis.contract import DEFAULT_CURRENCY
from bankanalysis.report.appendix import APPENDIX_ID, appendix_html, parameters_table_html

__all__ = [
    "ERROR_ANCHOR",
    "REPORT_CSS",
    "ReportHeader",
    "SUMMARY_ID",
    "appendix_from_header",
    "escape",
    "find_error",
    "header_html",
    "local_links",
    "mark_failed_cell",
    "parameters_table_html",
    "prepare_notebook",
    "rebase_side_links",
    "render_report",
    "report_title",
    "safe_markdown",
    "stable_styler_ids",
    "strip_active_content",
]

logger = logging.getLogger(__name__)

#: HTML id of the marker placed just before the cell that failed (papermill's own id).
ERROR_ANCHOR = "papermill-error-cell"
_ERROR_TAG = "papermill-error-cell-tag"
#: HTML id of the report's summary (shown first, right under the title).
SUMMARY_ID = "summary"
#: Widest page: a report fits a 1,280 px window (content 1,180 px plus margins).
PAGE_WIDTH_PX = 1180

#: (``:nth-child(1)``, not ``:first-child``: a report's text must not contain a run id such as
#: "first", which the determinism test blanks.)
REPORT_CSS = """
*,*::before,*::after{box-sizing:border-box}
body{font-family:"Noto Sans CJK SC","WenQuanYi Micro Hei","Microsoft YaHei",Helvetica,Arial,
sans-serif;margin:0 auto;max-width:1180px;padding:1em 1.5em;color:#1b1b1b;line-height:1.45;
overflow-wrap:break-word}
main.report-body{max-width:100%}
header.report{border-bottom:3px solid #08519c;margin-bottom:1em;padding-bottom:.6em}
header.report h1{margin:.2em 0;color:#08306b}
p.scope{margin:.2em 0;font-size:1.05em;color:#333}
nav.report-links{font-size:.9em}
dl.meta{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:.15em 1em;
margin:.6em 0;font-size:.9em}
dl.meta dt{font-weight:bold;color:#555}dl.meta dd{margin:0;word-break:break-all}
table{border-collapse:collapse;margin:.6em 0;font-size:.88em}
th,td{border:1px solid #d0d0d0;padding:.25em .6em;text-align:right}
th{background:#eef3f8}td.l,th.l{text-align:left}
table.params td,table.params th{text-align:left;vertical-align:top}
table.params th code{color:#666;font-weight:normal;font-size:.85em}
table.params .was{color:#666;font-size:.85em}
.output_area img,.output_png img,main img{max-width:100%;height:auto}
.output_error pre,.output_stderr pre{background:#fdecea;border-left:4px solid #c62828;
padding:.6em;overflow-x:auto;white-space:pre-wrap}
pre{white-space:pre-wrap}
.table-scroll,.output_html{overflow-x:auto;max-width:100%}
tbody th{white-space:nowrap}
.table-scroll table th:nth-child(1),.table-scroll table td:nth-child(1),
.output_html table tr>:nth-child(1){position:sticky;left:0;z-index:1;background:#fff;
box-shadow:1px 0 0 #d0d0d0}
.table-scroll table thead th:nth-child(1),.output_html table thead tr>:nth-child(1){
background:#eef3f8}
section.summary{background:#f5f8fc;border:1px solid #c6d6e8;border-left:5px solid #08519c;
border-radius:3px;padding:.5em 1.2em .8em;margin:.8em 0 1.6em}
section.summary h2{margin:.3em 0 .4em;color:#08306b;font-size:1.35em}
section.summary h3{margin:.9em 0 .3em;color:#08306b;font-size:1.05em}
p.summary-lead{font-size:1.08em;font-weight:600;margin:.3em 0 .5em}
ol.findings{margin:.3em 0 .7em;padding-left:1.8em}
ol.findings>li{margin:.3em 0;padding-left:.2em}
ol.findings>li::marker{color:#c62828;font-weight:bold}
table.summary-standing{background:#fff}
table.summary-standing caption{caption-side:bottom;text-align:left;font-size:.85em;color:#555;
padding-top:.3em}
table.summary-standing td:nth-child(1){text-align:left}
p.finding{border-left:4px solid #6baed6;background:#f5f8fc;padding:.4em .8em;margin:.6em 0}
details.appendix{margin:2.5em 0 1em;border-top:3px solid #08519c;padding-top:.6em}
details.appendix>summary{font-size:1.15em;font-weight:bold;color:#08306b;cursor:pointer}
.status{display:inline-block;padding:.05em .5em;border-radius:3px;color:#fff;font-size:.85em}
.status.ok{background:#2e7d32}.status.failed,.status.timeout,.status.killed{background:#c62828}
.status.not_run,.status.interrupted{background:#757575}.status.reused{background:#1565c0}
.banner{background:#fdecea;border:2px solid #c62828;padding:.6em 1em;margin:1em 0}
a.anchor-link{display:none}
span.ansi-red-fg{color:#c62828}span.ansi-green-fg{color:#2e7d32}
span.ansi-cyan-fg{color:#00838f}span.ansi-blue-fg{color:#1565c0}
@page{size:A4 landscape;margin:10mm 12mm}
@media print{
body{max-width:none;padding:0;font-size:9.5pt;overflow-wrap:anywhere}
nav.report-links{display:none}
.table-scroll,.output_html{overflow:visible}
table{font-size:7.5pt;max-width:100%;table-layout:auto;page-break-inside:auto}
th,td{padding:.15em .3em;white-space:normal!important;overflow-wrap:anywhere;
word-break:normal}
tbody th{white-space:normal}
tr{break-inside:avoid;page-break-inside:avoid}
thead{display:table-header-group}
.table-scroll table th:nth-child(1),.table-scroll table td:nth-child(1),
.output_html table tr>:nth-child(1){position:static;box-shadow:none}
img{max-width:100%!important;height:auto!important;break-inside:avoid;page-break-inside:avoid}
h1,h2,h3{break-after:avoid;page-break-after:avoid}
section.summary{background:none;border:1px solid #888;border-left:3pt solid #08519c;
padding:.3em .8em;margin:0 0 1em}
section.summary a{color:inherit;text-decoration:none}
ol.findings,p.summary-lead,p.finding{break-inside:avoid;page-break-inside:avoid}
p.finding{background:none;border-left:2pt solid #6baed6}
details.appendix{display:block}
details.appendix::details-content{content-visibility:visible;display:block}
details.appendix>summary{list-style:none}
}
"""


def escape(value: Any) -> str:
    """Escape any value for HTML text and attribute context (``None`` becomes empty).

    Examples
    --------
    >>> escape('<a href="x">') + escape(None)
    '&lt;a href=&quot;x&quot;&gt;'
    """
    return html.escape("" if value is None else str(value), quote=True)


# --------------------------------------------------------------------------- notebook helpers


def safe_markdown(template: str, **values: Any) -> Any:
    """Markdown for a notebook cell with every value HTML-escaped (names from the data).

    ``display(Markdown(f"... {name}"))`` lets a region named ``<script>`` into the report;
    ``display(safe_markdown("... {name}", name=name))`` shows it as text.

    Examples
    --------
    >>> safe_markdown("Region **{name}**", name="<b>x</b>").data
    'Region **&lt;b&gt;x&lt;/b&gt;**'
    >>> safe_markdown("{share:.1%} of {n}", share=0.5, n=3).data
    '50.0% of 3'
    """
    from IPython.display import Markdown

    safe = {k: v if isinstance(v, numbers.Number) else escape(v) for k, v in values.items()}
    return Markdown(template.format(**safe))


_STYLER_ID = re.compile(r"\bT_([0-9a-f]{5})(?=[_\"'\s])")


def stable_styler_ids(body: str) -> str:
    """Replace pandas Styler's random table ids (``T_1a2b3``) by ids numbered in order.

    Identical inputs then render to identical HTML (the reports are compared run to run).

    Examples
    --------
    >>> stable_styler_ids('<table id="T_9f3c1"><td id="T_9f3c1_row0_col0">')
    '<table id="T_t1"><td id="T_t1_row0_col0">'
    """
    names: dict[str, str] = {}

    def sub(m: re.Match[str]) -> str:
        return "T_" + names.setdefault(m.group(1), f"t{len(names) + 1}")

    return _STYLER_ID.sub(sub, body)


# --------------------------------------------------------------------------- header


@dataclass(frozen=True)
class ReportHeader:
    """What the top of every report says.

    Attributes
    ----------
    title : str
        Report title (the notebook's first heading).
    region_id, region_name : str or None
        Region id and display name (``None`` for bank-level reports).
    echelon : str or None
        Echelon of the region, e.g. ``"1 (central city)"``.
    data_month : str or None
        Analysis month ``YYYY-MM``.
    parameters : dict
        Parameters of the run (shown as a table).
    fingerprint : str
        Processed-data fingerprint.
    package_version, git_commit : str
        Versions of the code that produced the report.
    run_id, run_time : str
        Batch run id and UTC time the report was rendered.
    status : str
        ``"ok"`` or a failure status.
    error : str or None
        ``"<ename>: <evalue>"`` of a failed notebook.
    job_key : str
        Key of the job (see :func:`bankanalysis.batch.job_key`).
    """

    title: str
    region_id: str | None
    region_name: str | None
    echelon: str | None
    data_month: str | None
    parameters: dict[str, Any] = field(default_factory=dict)
    fingerprint: str = ""
    package_version: str = ""
    git_commit: str = ""
    run_id: str = ""
    run_time: str = ""
    status: str = "ok"
    error: str | None = None
    job_key: str = ""
    #: ``(name, href)`` of the region's other reports (and the bank overview).
    siblings: list[tuple[str, str]] = field(default_factory=list)


def _scope_line(h: ReportHeader) -> str:
    """Region, echelon and data month in one line under the title."""
    if h.region_id is None:
        scope = "Whole bank"
    else:
        scope = f"{h.region_name or h.region_id}"
        if h.echelon:
            scope += f", echelon {h.echelon}"
    return f"{scope} · data month {h.data_month or 'latest'}"


def header_html(h: ReportHeader) -> str:
    """Return the top of the report as escaped HTML: one title, the scope and the links.

    Provenance and parameters are in the appendix at the end (:func:`appendix_from_header`).
    """
    banner = ""
    if h.status != "ok":
        banner = (
            f'<div class="banner"><span class="status {escape(h.status)}">{escape(h.status)}</span> '
            f"This report did not finish: {escape(h.error or h.status)}. "
            f'<a href="#{ERROR_ANCHOR}">Jump to the failing cell</a>.</div>'
        )
    return (
        f'<header class="report"><h1>{escape(h.title)}</h1>'
        f'<p class="scope">{escape(_scope_line(h))}</p>'
        '<nav class="report-links"><a href="../index.html">All reports of this run</a> · '
        '<a href="../kpis.html">KPI glossary: what each figure means</a>'
        + "".join(f' · <a href="{escape(u)}">{escape(t)}</a>' for t, u in h.siblings)
        + f' · <a href="#{APPENDIX_ID}">How this report was made</a></nav>'
        f"{banner}</header>"
    )


def appendix_from_header(h: ReportHeader) -> str:
    """The appendix the exporter adds when the notebook did not write one (it failed early)."""
    provenance = [
        ("Data fingerprint", h.fingerprint),
        ("Data month", h.data_month or "latest"),
        ("Package version", f"bankanalysis {h.package_version}" if h.package_version else ""),
        ("Git commit", h.git_commit),
        ("Run", h.run_id),
        ("Run time (UTC)", h.run_time),
        ("Status", h.status),
    ]
    params = dict(h.parameters)
    k = params.get("min_group_size")
    return appendix_html(
        provenance,
        params,
        currency=str(params.get("currency") or DEFAULT_CURRENCY),
        min_group_size=int(k) if isinstance(k, int) else None,
    )


# --------------------------------------------------------------------------- notebook


def report_title(nb: Any, default: str) -> str:
    """Return the text of the notebook's first Markdown ``# `` heading, else ``default``."""
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            if line.startswith("# "):
                return line[2:].strip()
    return default


def find_error(nb: Any) -> tuple[int, str, str] | None:
    """Return ``(cell_index, ename, evalue)`` of the first failing cell, or ``None``.

    A cell fails when it has an ``error`` output (other than a clean ``SystemExit``) or
    papermill marked it ``exception`` or left it ``running`` (kernel died or timed out).
    """
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                if out.get("ename") == "SystemExit" and out.get("evalue") in ("", "0"):
                    continue
                return i, str(out.get("ename", "")), str(out.get("evalue", ""))
        pm = cell.get("metadata", {}).get("papermill", {})
        if pm.get("exception") is True:
            return i, "CellExecutionError", ""
        if pm.get("status") == "running":
            return i, "NotFinished", "the cell did not finish"
    return None


def mark_failed_cell(nb: Any, cell_index: int, message: str) -> Any:
    """Insert papermill-style error markers before ``cell_index`` unless already present.

    The marker carries the HTML id :data:`ERROR_ANCHOR`, so links ``<report>.html#<id>``
    land on the failing cell.
    """
    import nbformat

    if any(_ERROR_TAG in c.get("metadata", {}).get("tags", []) for c in nb.cells):
        return nb
    anchor = nbformat.v4.new_markdown_cell(
        f'<span id="{ERROR_ANCHOR}" style="color:#c62828;font-size:1.5em">'
        f"Execution stopped here: {escape(message)}</span>"
    )
    anchor.metadata["tags"] = [_ERROR_TAG]
    nb.cells.insert(cell_index, anchor)
    return nb


def _html_cell(html_text: str) -> Any:
    """A code cell without source whose only output is ``html_text`` (rendered verbatim)."""
    import nbformat

    cell = nbformat.v4.new_code_cell("")
    cell.outputs = [
        nbformat.v4.new_output("display_data", data={"text/html": html_text, "text/plain": ""})
    ]
    return cell


def _output_text(cell: Any) -> str:
    """The HTML and Markdown a code cell displays (to find the summary and the appendix)."""
    parts = []
    for out in cell.get("outputs", []):
        data = out.get("data", {})
        for mime in ("text/html", "text/markdown"):
            value = data.get(mime, "")
            parts.append("".join(value) if isinstance(value, list) else str(value))
    return "".join(parts)


def _has_id(cell: Any, html_id: str) -> bool:
    return cell.cell_type == "code" and bool(
        re.search(rf"""\bid\s*=\s*["']{re.escape(html_id)}["']""", _output_text(cell))
    )


def _drop_title(cells: list[Any]) -> list[Any]:
    """Remove the notebook's ``# `` title line: the page header shows the one title."""
    for i, cell in enumerate(cells):
        if cell.cell_type != "markdown":
            continue
        lines = cell.source.splitlines()
        if not any(line.startswith("# ") for line in lines):
            return cells
        first = next(j for j, line in enumerate(lines) if line.startswith("# "))
        rest = "\n".join(lines[:first] + lines[first + 1 :]).strip()
        if rest:
            cell.source = rest
            return cells
        return cells[:i] + cells[i + 1 :]
    return cells


def _summary_first(cells: list[Any]) -> list[Any]:
    """Move the cell that shows the summary (``id="summary"``) to the top of the body."""
    at = next((i for i, c in enumerate(cells) if _has_id(c, SUMMARY_ID)), None)
    if at is None:
        return cells
    return [cells[at]] + cells[:at] + cells[at + 1 :]


def _fallback_alt(cells: list[Any]) -> None:
    """Alt text for a chart that came without one: the section it sits in."""
    section = ""
    for cell in cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("## "):
                    section = line[3:].strip()
            continue
        for out in cell.get("outputs", []):
            if "image/png" not in out.get("data", {}):
                continue
            meta = out.setdefault("metadata", {}).setdefault("image/png", {})
            if not meta.get("alt"):
                meta["alt"] = f"Chart of the section {section}" if section else "Report chart"


_PARAMS_BLOCK = re.compile(r'<p class="params-note">.*?</table>', re.DOTALL)


def _set_appendix_parameters(cells: list[Any], parameters: Mapping[str, Any]) -> None:
    """Show the parameters the job ran with in the notebook's appendix.

    A notebook may reassign a parameter's variable (e.g. keep only the DEA outputs the data
    measures) before its last cell reads ``globals()``; the batch knows what it injected.
    """
    table = parameters_table_html(
        parameters, currency=str(parameters.get("currency") or DEFAULT_CURRENCY)
    )
    for cell in cells:
        if not _has_id(cell, APPENDIX_ID):
            continue
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if "text/html" in data:
                text = data["text/html"]
                text = "".join(text) if isinstance(text, list) else str(text)
                data["text/html"] = _PARAMS_BLOCK.sub(lambda _: table, text, count=1)


def prepare_notebook(
    nb: Any, appendix: str | None = None, parameters: Mapping[str, Any] | None = None
) -> Any:
    """Return a copy laid out for reading.

    The parameter cells are dropped (the parameters are in the appendix), the notebook's
    ``# `` title line goes (the header shows it), the summary cell moves to the top, every
    chart gets alt text, papermill's error markers become one clean anchor before the failing
    cell, ``appendix`` (HTML) is added at the end when no cell wrote ``id="appendix"``, the
    appendix lists ``parameters`` (the values the batch injected) when given, and cell ids
    are renumbered so the HTML is deterministic.
    """
    import copy

    nb = copy.deepcopy(nb)
    cells = []
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if "injected-parameters" in tags or "parameters" in tags:
            continue
        if _ERROR_TAG in tags:
            if f'id="{ERROR_ANCHOR}"' in cell.source:
                cells.append(
                    _html_cell(
                        f'<div id="{ERROR_ANCHOR}" class="banner">'
                        "Execution stopped at the next cell.</div>"
                    )
                )
        else:
            cells.append(cell)
    cells = _summary_first(_drop_title(cells))
    _fallback_alt(cells)
    if parameters:
        _set_appendix_parameters(cells, parameters)
    if appendix and not any(_has_id(c, APPENDIX_ID) for c in cells):
        cells.append(_html_cell(appendix))
    for i, cell in enumerate(cells):
        cell["id"] = f"c{i:03d}"
    nb.cells = cells
    return nb


def _exporter() -> Any:
    from nbconvert import HTMLExporter

    return HTMLExporter(
        template_name="basic",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )


_ACTIVE_BLOCK = re.compile(
    r"<(script|iframe|object|embed)\b[^>]*>.*?</\1\s*>|<(?:script|iframe|object|embed)\b[^>]*>",
    re.IGNORECASE | re.DOTALL,
)
# an event attribute of a tag, never text inside a quoted value (alt text may quote a name)
_EVENT_ATTR = re.compile(
    r"""(<[a-zA-Z](?:[^<>"']|"[^"<>]*"|'[^'<>]*')*?)\s+on[a-zA-Z]+\s*=\s*"""
    r"""(?:"[^"]*"|'[^']*'|[^\s>]+)""",
    re.DOTALL,
)
_JS_URL = re.compile(r"""((?:href|src)\s*=\s*["']?)\s*javascript:""", re.IGNORECASE)


def strip_active_content(page: str) -> tuple[str, int]:
    """Remove scripts, frames, event-handler attributes and ``javascript:`` URLs.

    Reports are static: nothing in them may run in the reader's browser. This is a second
    line of defence; names from the data must still be escaped where they are displayed
    (:func:`safe_markdown`, :func:`bankanalysis.report.tables.style_table`).

    Returns
    -------
    tuple of (str, int)
        The cleaned page and the number of removals.

    Examples
    --------
    >>> strip_active_content('<p onclick="x()">a<script>alert(1)</script></p>')
    ('<p>a</p>', 2)
    """
    n = 0
    page, k = _ACTIVE_BLOCK.subn("", page)
    n += k
    while True:
        page, k = _EVENT_ATTR.subn(r"\1", page)
        n += k
        if not k:
            break
    page, k = _JS_URL.subn(r"\1#", page)
    return page, n + k


def rebase_side_links(body: str, side_files: Mapping[str, str]) -> str:
    """Point links to a notebook's side files (lead lists ...) at where the batch put them.

    A notebook links ``leads_R01.xlsx`` relative to its own output folder; the report lives
    one folder up. ``side_files`` maps such a bare name to its path relative to the report.

    Examples
    --------
    >>> rebase_side_links('<a href="leads.csv">x</a>', {"leads.csv": "02/leads.csv"})
    '<a href="02/leads.csv">x</a>'
    """
    if not side_files:
        return body

    def sub(m: re.Match[str]) -> str:
        target = html.unescape(m.group(2))
        if target in side_files:
            return f"{m.group(1)}{escape(side_files[target])}{m.group(3)}"
        return m.group(0)

    return re.sub(r'(\bhref=")([^"#:?/][^"]*)(")', sub, body)


def render_report(
    nb: Any, header: ReportHeader, side_files: Mapping[str, str] | None = None
) -> str:
    """Render an executed notebook as one self-contained HTML page.

    Parameters
    ----------
    nb : NotebookNode
        Executed notebook (papermill output).
    header : ReportHeader
        What the header says.
    side_files : mapping, optional
        Bare file names the notebook links to, mapped to their path relative to the report
        (see :func:`rebase_side_links`).

    Returns
    -------
    str
        The HTML page: no input code, no external resources.
    """
    prepared = prepare_notebook(nb, appendix_from_header(header), header.parameters)
    body, _ = _exporter().from_notebook_node(prepared)
    body, removed = strip_active_content(body)
    body = stable_styler_ids(body)
    body = rebase_side_links(body, side_files or {})
    if removed:
        logger.warning(
            "%s (%s): removed %d active element(s) from the report; escape names from the "
            "data with bankanalysis.report.html.safe_markdown and report.tables",
            header.title,
            header.region_id or "bank",
            removed,
        )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(header.title)} - {escape(header.region_name or 'whole bank')}</title>"
        f"<style>{REPORT_CSS}</style></head>\n<body>\n{header_html(header)}\n"
        f'<main class="report-body">\n{body}\n</main>\n</body></html>\n'
    )


_HREF = re.compile(r"""(?:href|src)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)


def local_links(page: str) -> list[str]:
    """Return every ``href``/``src`` value of an HTML page (used by tests and the index check)."""
    return _HREF.findall(page)
