"""Self-contained HTML reports: render an executed notebook, its header, escaping and links.

Executed notebooks are rendered in-process with nbconvert's ``HTMLExporter`` (``basic``
template: body only) inside a page of our own: a header (title, region, data month,
parameters, data fingerprint, versions, run time), a small offline stylesheet and no script,
font or stylesheet from any host. Input code is hidden, the papermill ``injected-parameters``
cell becomes a parameters table, images stay embedded as ``data:`` URIs. Every string taken
from the data (region and outlet names) is HTML-escaped.
"""

from __future__ import annotations

import html
import logging
import numbers
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ERROR_ANCHOR",
    "REPORT_CSS",
    "ReportHeader",
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
#: Parameters not shown in the report's parameter table (paths differ between runs).
_HIDDEN_PARAMS = ("processed_dir", "output_dir")

REPORT_CSS = """
body{font-family:"Noto Sans CJK SC","WenQuanYi Micro Hei","Microsoft YaHei",Helvetica,Arial,
sans-serif;margin:0 auto;max-width:1100px;padding:1em 2em;color:#1b1b1b;line-height:1.45}
header.report{border-bottom:3px solid #08519c;margin-bottom:1.5em;padding-bottom:.8em}
header.report h1{margin:.2em 0;color:#08306b}
dl.meta{display:grid;grid-template-columns:max-content auto;gap:.15em 1em;margin:.6em 0;
font-size:.9em}
dl.meta dt{font-weight:bold;color:#555}dl.meta dd{margin:0;word-break:break-all}
table{border-collapse:collapse;margin:.6em 0;font-size:.88em}
th,td{border:1px solid #d0d0d0;padding:.25em .6em;text-align:right}
th{background:#eef3f8}td.l,th.l{text-align:left}
table.params td,table.params th{text-align:left}
.output_area img{max-width:100%;height:auto}
.output_error pre,.output_stderr pre{background:#fdecea;border-left:4px solid #c62828;
padding:.6em;overflow-x:auto;white-space:pre-wrap}
pre{white-space:pre-wrap}
.output_html{overflow-x:auto}tbody th{white-space:nowrap}
.status{display:inline-block;padding:.05em .5em;border-radius:3px;color:#fff;font-size:.85em}
.status.ok{background:#2e7d32}.status.failed,.status.timeout,.status.killed{background:#c62828}
.status.not_run,.status.interrupted{background:#757575}.status.reused{background:#1565c0}
.banner{background:#fdecea;border:2px solid #c62828;padding:.6em 1em;margin:1em 0}
a.anchor-link{display:none}
span.ansi-red-fg{color:#c62828}span.ansi-green-fg{color:#2e7d32}
span.ansi-cyan-fg{color:#00838f}span.ansi-blue-fg{color:#1565c0}
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


def _format_value(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return f"{int(v):,}" if abs(v) >= 1000 else str(int(v))
    if isinstance(v, list | tuple):
        return ", ".join(_format_value(x) for x in v)
    return "none" if v is None else str(v)


def parameters_table_html(params: Mapping[str, Any]) -> str:
    """Return the parameters as a small escaped HTML table (paths left out).

    Examples
    --------
    >>> parameters_table_html({"region_id": "R<1>", "min_group_size": 10})
    '<table class="params"><tr><th>parameter</th><th>value</th></tr><tr><td>min_group_size</td><td>10</td></tr><tr><td>region_id</td><td>R&lt;1&gt;</td></tr></table>'
    """
    rows = "".join(
        f"<tr><td>{escape(k)}</td><td>{escape(_format_value(v))}</td></tr>"
        for k, v in sorted(params.items())
        if k not in _HIDDEN_PARAMS
    )
    return f'<table class="params"><tr><th>parameter</th><th>value</th></tr>{rows}</table>'


def _params_line(params: Mapping[str, Any]) -> str:
    """The common parameters in one line (the full table follows in the body)."""
    from bankanalysis.params import CommonParams

    common = set(CommonParams.model_fields) - set(_HIDDEN_PARAMS)
    return "; ".join(f"{k} = {_format_value(v)}" for k, v in sorted(params.items()) if k in common)


def header_html(h: ReportHeader) -> str:
    """Return the report header as escaped HTML."""
    region = "whole bank" if h.region_id is None else f"{h.region_name} ({h.region_id})"
    items = [
        ("Region", region),
        ("Echelon", h.echelon or "all"),
        ("Data month", h.data_month or "latest"),
        ("Data fingerprint", h.fingerprint),
        ("Package version", f"bankanalysis {h.package_version}"),
        ("Git commit", h.git_commit or "unknown"),
        ("Run", h.run_id),
        ("Run time (UTC)", h.run_time),
    ]
    meta = "".join(
        f'<dt>{escape(k)}</dt><dd class="{escape(k.lower().replace(" ", "-"))}">{escape(v)}</dd>'
        for k, v in items
    )
    banner = ""
    if h.status != "ok":
        banner = (
            f'<div class="banner"><span class="status {escape(h.status)}">{escape(h.status)}</span> '
            f"This report did not finish: {escape(h.error or h.status)}. "
            f'<a href="#{ERROR_ANCHOR}">Jump to the failing cell</a>.</div>'
        )
    return (
        f'<header class="report"><h1>{escape(h.title)}</h1>'
        '<nav class="report-links"><a href="../index.html">All reports of this run</a> · '
        '<a href="../kpis.html">KPI glossary: what each figure means</a>'
        + "".join(f' · <a href="{escape(u)}">{escape(t)}</a>' for t, u in h.siblings)
        + "</nav>"
        f'<dl class="meta">{meta}</dl>'
        f'<p class="params-line"><b>Parameters:</b> {escape(_params_line(h.parameters))}</p>'
        f"{banner}</header>"
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


def prepare_notebook(nb: Any, params: Mapping[str, Any]) -> Any:
    """Return a copy ready for rendering.

    The ``injected-parameters`` cell becomes an HTML parameters table, the tagged
    ``parameters`` cell (defaults) is dropped, papermill's error markers become one clean
    anchor before the failing cell, and cell ids are renumbered so the HTML is deterministic.
    """
    import copy

    nb = copy.deepcopy(nb)
    cells = []
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if "injected-parameters" in tags:
            cells.append(
                _html_cell(
                    '<div class="params"><b>Parameters of this report</b>'
                    f"{parameters_table_html(params)}</div>"
                )
            )
        elif "parameters" in tags:
            continue
        elif _ERROR_TAG in tags:
            if f'id="{ERROR_ANCHOR}"' in cell.source:
                cells.append(
                    _html_cell(
                        f'<div id="{ERROR_ANCHOR}" class="banner">'
                        "Execution stopped at the next cell.</div>"
                    )
                )
        else:
            cells.append(cell)
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
_EVENT_ATTR = re.compile(
    r"""(<[a-zA-Z][^<>]*?)\s+on[a-zA-Z]+\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+)""", re.DOTALL
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
    prepared = prepare_notebook(nb, header.parameters)
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
