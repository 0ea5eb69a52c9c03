"""The appendix at the end of every report: how it was made, collapsed in ``<details>``.

Provenance (data fingerprint, code version and commit, library versions, run) and the
parameters of the report, in words with their units (from the field descriptions of the
schema in :mod:`bankanalysis.params`), those that differ from the defaults first. A parameter
left unset shows what that means (``null = ...`` in its description) or "not set", never
"None".
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bankanalysis.contract import DEFAULT_CURRENCY

__all__ = [
    "APPENDIX_ID",
    "HIDDEN_PARAMS",
    "ParameterRow",
    "appendix_html",
    "notebook_params_class",
    "parameter_rows",
    "parameters_table_html",
    "value_text",
    "withheld_counts",
    "withheld_text",
]

#: HTML id of the appendix (the exporter adds one only when the notebook made none).
APPENDIX_ID = "appendix"
#: Parameters not listed: paths differ between runs, region and run are named elsewhere.
HIDDEN_PARAMS = ("processed_dir", "output_dir", "region_id", "run_id", "timeout_minutes")
NOT_SET = "not set"

_NULL = re.compile(r"[;,]?\s*null\s*=\s*([^;()]+?)\s*(?=;|\(|$)")
_UNIT = re.compile(r"\s*\(([^()]*)\)\s*$")
#: Units the schema's descriptions end with, in brackets (anything else there is meaning).
_UNITS = frozenset(
    (
        "months customers products segments trees leaves offers reasons threads ratio "
        "customer-months"
    ).split()
    + ["currency units", "input units", "KPI id", "KPI ids", "0-1"]
)


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


@dataclass(frozen=True)
class ParameterRow:
    """One parameter as the appendix shows it."""

    name: str
    label: str
    value: str
    default: str
    meaning: str
    changed: bool


def _split_description(description: str) -> tuple[str, str | None, str | None]:
    """``(meaning, unit, what null means)`` of a schema field description.

    Examples
    --------
    >>> _split_description("analysis month YYYY-MM; null = last month of the data")
    ('Analysis month YYYY-MM', None, 'last month of the data')
    >>> _split_description("tiers use the average AUM of the last N month-ends (months)")
    ('Tiers use the average AUM of the last N month-ends', 'months', None)
    """
    text = " ".join(description.split())
    null = None
    m = _NULL.search(text)
    if m:
        null = m.group(1).strip()
        text = (text[: m.start()] + text[m.end() :]).strip()
    unit = None
    m = _UNIT.search(text)
    if m and (m.group(1).strip() in _UNITS or ("=" in m.group(1) and "%" in m.group(1))):
        unit = m.group(1).strip()
        text = text[: m.start()].strip()
    text = text.rstrip(";, ")
    return (text[:1].upper() + text[1:], unit, null)


def _number(value: float) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.6g}"


def _with_unit(text: str, unit: str | None, value: Any, currency: str) -> str:
    if not unit:
        return text
    if unit == "currency units":
        unit = currency
    if unit == "0-1":
        return text
    if unit == "ratio":
        return f"{text}:1"
    if isinstance(value, int | float) and not isinstance(value, bool) and value == 1:
        unit = {"months": "month", "customers": "customer", "products": "product"}.get(unit, unit)
        unit = re.sub(r"^(\w+)s$", r"\1", unit) if unit.endswith("s") and " " not in unit else unit
    return f"{text} {unit}"


def _kpi_name(kpi: Any, currency: str) -> str:
    from bankanalysis.report.format import kpi_label

    try:
        return kpi_label(str(kpi), currency, unit=False)
    except (KeyError, ValueError):
        return str(kpi)


def value_text(
    value: Any, unit: str | None, null: str | None, currency: str = DEFAULT_CURRENCY
) -> str:
    """A parameter value in words with its unit.

    Examples
    --------
    >>> value_text(None, None, "this bank has no wealth card")
    'this bank has no wealth card'
    >>> value_text([50000.0, 500000.0], "currency units", None, "EUR")
    '50,000, 500,000 EUR'
    >>> value_text(0.1, "fraction of the threshold, 0.1 = 10 %", None)
    '10%'
    >>> value_text(True, None, None), value_text({}, None, None), value_text(1, "months", None)
    ('yes', 'not set', '1 month')
    """
    if value is None:
        return null or NOT_SET
    if isinstance(value, bool):
        return "yes" if value else "no"
    if unit and "=" in unit and "%" in unit and isinstance(value, int | float):
        return f"{value * 100:g}%"
    if unit in ("KPI id", "KPI ids"):
        items = value if isinstance(value, list | tuple) else [value]
        return ", ".join(_kpi_name(v, currency) for v in items) or NOT_SET
    if isinstance(value, Mapping):
        if not value:
            return NOT_SET
        inner = "; ".join(f"{k}: {value_text(v, None, None, currency)}" for k, v in value.items())
        return _with_unit(inner, unit, None, currency)
    if isinstance(value, list | tuple):
        if not value:
            return NOT_SET
        inner = ", ".join(value_text(v, None, None, currency) for v in value)
        return _with_unit(inner, unit, None, currency)
    if isinstance(value, int | float):
        return _with_unit(_number(value), unit, value, currency)
    return _with_unit(str(value), unit, value, currency)


def notebook_params_class(params: Mapping[str, Any], notebook: str | None = None) -> Any:
    """The schema class of a notebook: by stem, else the one whose fields hold every key and
    are all among the other such schemas' (the bank overview's parameters are all among the
    benchmarking report's too); :class:`CommonParams` when no one schema is it."""
    from bankanalysis.params import NOTEBOOK_PARAMS, CommonParams

    if notebook in NOTEBOOK_PARAMS:
        return NOTEBOOK_PARAMS[notebook]
    keys = set(params)
    fitting = [c for c in NOTEBOOK_PARAMS.values() if keys <= set(c.model_fields)]
    inner = [c for c in fitting if all(set(c.model_fields) <= set(o.model_fields) for o in fitting)]
    return inner[0] if len(inner) == 1 else CommonParams


def parameter_rows(
    params: Mapping[str, Any], notebook: str | None = None, currency: str | None = None
) -> list[ParameterRow]:
    """The report's parameters in words, those that differ from the defaults first.

    Parameters
    ----------
    params : mapping
        The values the notebook ran with (its globals will do: only schema fields are read).
    notebook : str, optional
        Notebook stem (a key of :data:`bankanalysis.params.NOTEBOOK_PARAMS`); inferred from
        the keys when not given.
    currency : str, optional
        Currency of money parameters; default ``params["currency"]``.
    """
    cls = notebook_params_class(
        {k: v for k, v in params.items() if not k.startswith("_")}, notebook
    )
    defaults = cls().model_dump()
    currency = str(currency or params.get("currency") or defaults.get("currency", DEFAULT_CURRENCY))
    rows = []
    for name, field in cls.model_fields.items():
        if name in HIDDEN_PARAMS or name not in params:
            continue
        meaning, unit, null = _split_description(field.description or "")
        value = params[name]
        default = defaults.get(name)
        rows.append(
            ParameterRow(
                name=name,
                label=name.replace("_", " ").capitalize(),
                value=value_text(value, unit, null, currency),
                default=value_text(default, unit, null, currency),
                meaning=meaning,
                changed=_differs(value, default),
            )
        )
    return [r for r in rows if r.changed] + [r for r in rows if not r.changed]


def _differs(value: Any, default: Any) -> bool:
    if isinstance(value, list | tuple) and isinstance(default, list | tuple):
        return list(value) != list(default)
    if isinstance(value, int | float) and isinstance(default, int | float):
        return float(value) != float(default) or isinstance(value, bool) != isinstance(
            default, bool
        )
    return value != default


def parameters_table_html(
    params: Mapping[str, Any], notebook: str | None = None, currency: str | None = None
) -> str:
    """The parameters as an escaped HTML table in words, changed ones first and marked.

    Examples
    --------
    >>> page = parameters_table_html({"min_group_size": 5, "currency": "CNY"})
    >>> page.index("min_group_size") < page.index("currency"), "5 customers" in page
    (True, True)
    >>> "default: 10 customers" in page, "None" in page
    (True, False)
    """
    rows = parameter_rows(params, notebook, currency)
    body = "".join(
        f'<tr class="{"changed" if r.changed else "default"}">'
        f'<th scope="row" class="l">{_e(r.meaning or r.label)} <code>{_e(r.name)}</code></th>'
        f'<td class="l">{_e(r.value)}'
        + (f'<br><span class="was">default: {_e(r.default)}</span>' if r.changed else "")
        + "</td></tr>"
        for r in rows
    )
    n = sum(r.changed for r in rows)
    note = (
        f"{n} setting{'s' if n != 1 else ''} differ from the defaults (listed at the top)."
        if n
        else "Every setting has its default value."
    )
    return (
        f'<p class="params-note">{_e(note)}</p><table class="params">'
        '<thead><tr><th class="l">Setting</th><th class="l">Value</th></tr></thead>'
        f"<tbody>{body}</tbody></table>"
    )


#: The keys of :func:`withheld_counts`, in the order :func:`withheld_text` says them.
WITHHELD_WHY = ("primary", "secondary", "x", "fail-safe")


def withheld_counts(
    min_group_size: int | None,
    *,
    shown: Sequence[Any] = (),
    protections: Sequence[Any] = (),
    failsafe: Sequence[Any] = (),
) -> dict[str, int]:
    """How many cells a report withholds, and why, for its appendix (:func:`withheld_text`).

    Parameters
    ----------
    min_group_size : int or None
        ``k``: the ``<k`` marker.
    shown : sequence
        Tables counted by the markers they show
        (:func:`~bankanalysis.report.tables.shown_withheld_by_marker`): a ``<k`` is a small
        group (``"primary"``); an ``x`` is money held mostly by one or two customers or a
        secondary cell, which the marker does not tell apart (``"x"``).
    protections : sequence
        Decisions counted by their cells' status
        (:func:`~bankanalysis.report.disclosure.protection_summary`): ``"primary"``,
        ``"secondary"``, ``"fail-safe"``.
    failsafe : sequence
        Decisions whose fail-safe cells the tables in ``shown`` print as ``withheld``, a word
        the marker count does not read (:func:`~bankanalysis.report.disclosure.failsafe_cells`).

    Returns
    -------
    dict
        ``{"primary", "secondary", "x", "fail-safe"}`` -> cells.
    """
    from bankanalysis.report.disclosure import failsafe_cells, protection_summary
    from bankanalysis.report.tables import shown_withheld_by_marker

    marked = shown_withheld_by_marker(min_group_size, *shown)
    summary = protection_summary(*protections)
    return {
        "primary": marked["small"] + int(summary["primary"]),
        "secondary": int(summary["secondary"]),
        "x": marked["x"],
        "fail-safe": int(summary["fail-safe"]) + failsafe_cells(*failsafe),
    }


def withheld_text(counts: Mapping[str, int], min_group_size: int) -> str:
    """The appendix sentence on how many cells a report withholds and why.

    Examples
    --------
    >>> withheld_text({"primary": 3, "secondary": 0, "x": 2, "fail-safe": 0}, 10)
    'Cells withheld in this report: 5 -- 3 concern fewer than 10 customers or money held mostly by one or two customers (primary); 2 are shown x: money held mostly by one or two customers (primary) or a figure that would let a withheld one be worked out from totals, shares or other figures (secondary).'
    >>> withheld_text({"primary": 0, "secondary": 0, "x": 0, "fail-safe": 0}, 10)
    "No cell of this report's tables is withheld."
    """
    k = int(min_group_size)
    said = {  # (one cell, several)
        "primary": ("concerns", "concern"),
        "secondary": ("is withheld", "are withheld"),
        "x": ("is shown", "are shown"),
        "fail-safe": ("is withheld", "are withheld"),
    }
    why_text = {
        "primary": f"fewer than {k} customers or money held mostly by one or two customers "
        "(primary)",
        "secondary": "so that a withheld figure cannot be worked out from totals, shares and "
        "other figures (secondary)",
        "x": "x: money held mostly by one or two customers (primary) or a figure that would "
        "let a withheld one be worked out from totals, shares or other figures (secondary)",
        "fail-safe": "with the whole row or column of a small group (fail-safe, shown as "
        '"withheld", whatever their size)',
    }
    n = {why: int(counts.get(why, 0)) for why in WITHHELD_WHY}
    total = sum(n.values())
    if not total:
        return "No cell of this report's tables is withheld."
    parts = "; ".join(
        f"{n[why]:,} {said[why][n[why] != 1]} {why_text[why]}" for why in WITHHELD_WHY if n[why]
    )
    return f"Cells withheld in this report: {total:,} -- {parts}."


def appendix_html(
    provenance: Sequence[tuple[str, str]],
    params: Mapping[str, Any],
    *,
    notebook: str | None = None,
    currency: str | None = None,
    min_group_size: int | None = None,
    suppressed_cells: int | Mapping[str, int] | None = None,
    notes: Sequence[str] = (),
) -> str:
    """The appendix: provenance and parameters, collapsed in ``<details id="appendix">``.

    Parameters
    ----------
    provenance : sequence of (str, str)
        ``(what, value)`` pairs: data fingerprint, versions, commit, run ...
    params : mapping
        The report's parameters (see :func:`parameter_rows`).
    notebook, currency : str, optional
        See :func:`parameter_rows`.
    min_group_size : int, optional
        ``k`` of the disclosure rule, stated with the count of withheld cells.
    suppressed_cells : int or mapping, optional
        Table cells withheld by the disclosure rule in this report, when the disclosure layer
        counts them; the appendix then states the number (never a guess when it does not);
        0 says that no cell is withheld. A mapping (:func:`withheld_counts`) says why, too
        (:func:`withheld_text`).
    notes : sequence of str
        How the report's figures were made, in plain sentences (tier basis, model windows),
        listed under the provenance (escaped).
    """
    meta = "".join(
        f'<dt>{_e(k)}</dt><dd class="{_e(k.lower().replace(" ", "-"))}">{_e(v or "unknown")}</dd>'
        for k, v in provenance
    )
    disclosure = ""
    if min_group_size is not None:
        rule = (
            f"Groups of 1 to {int(min_group_size) - 1} customers are withheld (shown as "
            f"&lt;{int(min_group_size)})."
        )
        if isinstance(suppressed_cells, Mapping):
            rule += " " + _e(withheld_text(suppressed_cells, int(min_group_size)))
        elif suppressed_cells is not None and int(suppressed_cells) == 0:
            rule += " No cell of this report's tables is withheld."
        elif suppressed_cells is not None:
            rule += f" Cells withheld in this report: {int(suppressed_cells):,}."
        disclosure = f'<p class="disclosure">{rule}</p>'
    method = "".join(f"<li>{_e(n)}</li>" for n in notes if n)
    method = f'<h3>How the figures were made</h3><ul class="method">{method}</ul>' if method else ""
    return (
        f'<details id="{APPENDIX_ID}" class="appendix">'
        "<summary>Appendix: how this report was made (data, code and parameters)</summary>"
        f'<h3>Provenance</h3><dl class="meta">{meta}</dl>{disclosure}{method}'
        f"<h3>Parameters</h3>{parameters_table_html(params, notebook, currency)}</details>"
    )
