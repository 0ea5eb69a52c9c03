"""The KPI glossary page of a run (``kpis.html``): the dictionary as managers read it.

Every report links to it from its header, so each number's definition, unit and the proxy used
(where the data contract cannot measure the plan's KPI) is one click away, offline.
"""

from __future__ import annotations

from bankanalysis.report.format import DEFAULT_CURRENCY, unit_label
from bankanalysis.report.html import REPORT_CSS, escape
from bankanalysis.rules.kpis import KPI, KPIS

__all__ = ["GLOSSARY_FILE", "glossary_html"]

#: File name of the glossary in a run folder (reports link to ``../kpis.html``).
GLOSSARY_FILE = "kpis.html"

_BETTER = {"higher": "higher", "lower": "lower", "none": "-"}


def _row(k: KPI, currency: str) -> str:
    unit = unit_label(k, currency) or k.unit
    proxy = f"<br><small><b>Proxy:</b> {escape(k.proxy)}</small>" if k.proxy else ""
    return (
        f'<tr id="{escape(k.id)}"><th class="l">{escape(k.name)}<br><small>{escape(k.id)}</small>'
        f"</th><td>{escape(unit)}</td><td>{escape(_BETTER[k.direction])}</td>"
        f'<td class="l">{escape(k.definition)}{proxy}</td>'
        f'<td class="l">{escape(", ".join(k.needs))}</td></tr>'
    )


def glossary_html(currency: str = DEFAULT_CURRENCY) -> str:
    """The glossary as a self-contained HTML page (plan KPIs first), every string escaped.

    Examples
    --------
    >>> page = glossary_html("EUR")
    >>> 'id="vip_service_duration_ratio"' in page and "Proxy:" in page
    True
    """
    plan = [k for k in KPIS.values() if k.plan]
    other = [k for k in KPIS.values() if not k.plan]
    head = (
        '<tr><th class="l">KPI</th><th>unit</th><th>better</th>'
        '<th class="l">definition</th><th class="l">tables needed</th></tr>'
    )

    def table(rows: list[KPI]) -> str:
        body = "".join(_row(k, currency) for k in rows)
        return f'<div class="table-scroll"><table class="index">{head}{body}</table></div>'

    return (
        "<!DOCTYPE html>\n"
        '<html lang="zh-CN"><head><meta charset="utf-8"><title>KPI glossary</title>'
        f"<style>{REPORT_CSS}</style></head>\n<body>\n"
        '<header class="report"><h1>KPI glossary</h1>'
        '<p><a href="index.html">Back to the run index</a></p></header>\n'
        "<p>Every figure in these reports is one of the KPIs below, with one definition, "
        "computed by one function and formatted the same way everywhere. Shares are shown in %, "
        f"money in {escape(currency)}. A figure that cannot be computed reads n/a with its "
        "reason; a figure about fewer customers than the minimum group size reads &lt;k.</p>\n"
        f"<h2>The annual plan's KPIs</h2>\n{table(plan)}\n"
        f"<h2>Other KPIs</h2>\n{table(other)}\n</body></html>\n"
    )
