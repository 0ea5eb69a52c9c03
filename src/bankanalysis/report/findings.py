"""Findings: the tested rules that decide what a report's summary and narrative say.

A :class:`Finding` is one sentence about one KPI with its number and unit (formatted by
:mod:`bankanalysis.report.format`), a severity score and the id of the report section it links
to. The rules below are pure functions on small frames; each decides which findings qualify:

- :func:`target_findings`: a plan target missed (by the KPI's direction, on the exact values,
  :func:`~bankanalysis.report.format.attainment_met`; shown with the decimals that tell the
  actual from the target);
- :func:`standing_findings`: the region materially worse than its echelon or the bank
  (:mod:`bankanalysis.rules.materiality`);
- :func:`change_findings`: a KPI materially worse than last month or last quarter;
- :func:`lagging_finding`, :func:`models_absent_finding`: outlets lagging their peers, products
  without a model.

:func:`top_findings` ranks them (severity, then rule, then the dictionary's order) and keeps one
per KPI. Severity is the size of the gap relative to the figure compared with (a target missed
by 10 % scores 0.10), weighted by the rule (:data:`RULE_WEIGHTS`): a missed target matters more
than a gap to the bank. Withheld (small-group) and absent figures never qualify and are never
stated: the rules skip every :func:`~bankanalysis.report.format.is_missing` value.

Sentences that interpret one number for the narrative (:func:`compare_sentence`,
:func:`change_sentence`) live here too, so the summary and the sections say the same thing.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pandas as pd

from bankanalysis.report.format import (
    DEFAULT_CURRENCY,
    attainment_met,
    display_round,
    distinct_decimals,
    format_change,
    format_value,
    is_missing,
)
from bankanalysis.rules import kpis
from bankanalysis.rules.materiality import is_material

__all__ = [
    "RULE_WEIGHTS",
    "Finding",
    "change_findings",
    "change_sentence",
    "compare_sentence",
    "compare_word",
    "differs",
    "findings_html",
    "lagging_finding",
    "models_absent_finding",
    "relative_gap",
    "section_id",
    "standing_findings",
    "target_findings",
    "top_findings",
]

logger = logging.getLogger(__name__)

#: Weight of each rule in the severity score (a gap of the same size matters this much).
RULE_WEIGHTS: dict[str, float] = {
    "target": 2.0,
    "echelon": 1.0,
    "quarter": 1.0,
    "bank": 0.75,
    "month": 0.75,
    "lagging": 1.0,
    "models": 0.5,
}
#: The comparison months of the change rules, in words.
_PERIODS = {"month": "last month", "quarter": "last quarter"}
#: Order of the rules when severities are equal.
_RULE_ORDER = list(RULE_WEIGHTS)


def section_id(header: str) -> str:
    """The id the HTML export gives a Markdown section header (nbconvert's rule).

    Spaces become ``-``; characters not allowed in a URL fragment are percent-encoded.

    Examples
    --------
    >>> section_id("Peer ranks")
    'Peer-ranks'
    >>> section_id("Attainment against the plan's targets")
    "Attainment-against-the-plan's-targets"
    """
    return quote(header.replace(" ", "-"), safe="?/:@!$&'()*+,;=")


@dataclass(frozen=True)
class Finding:
    """One finding: a sentence about one KPI, its number, how much it needs action, and where.

    Attributes
    ----------
    kpi : str
        KPI id of the dictionary.
    value : Any
        The region's (or bank's) figure the sentence states.
    text : str
        ``value`` formatted by its KPI (``27.1%``, ``1,250 CNY``).
    score : float
        Severity: the relative gap weighted by the rule (higher needs more action).
    section : str
        Id of the report section the finding links to (``#section``).
    sentence : str
        The finding in one plain-text sentence, number and unit included.
    rule : str
        The rule that produced it (a key of :data:`RULE_WEIGHTS`).
    section_title : str
        Words of the link (the section's header).
    """

    kpi: str
    value: Any
    text: str
    score: float
    section: str
    sentence: str
    rule: str
    section_title: str = ""

    def html(self) -> str:
        """The sentence as HTML with a link to its section."""
        title = self.section_title or "details"
        return (
            f'{html.escape(self.sentence)} <a href="#{html.escape(self.section, quote=True)}">'
            f"(see {html.escape(title)})</a>"
        )


def relative_gap(value: float, reference: float) -> float:
    """``|value - reference| / |reference|``, capped at 1 (a flow near zero, such as new
    deposits, would otherwise swamp every other finding); 1 when the reference is 0.

    Examples
    --------
    >>> relative_gap(0.27, 0.30)
    0.1
    >>> relative_gap(5.0, 0.0)
    1.0
    >>> relative_gap(-100.0, 300.0)
    1.0
    """
    diff = abs(float(value) - float(reference))
    if float(reference) == 0:
        return 1.0 if diff > 0 else 0.0
    return min(1.0, round(diff / abs(float(reference)), 12))


def differs(kpi: str, value: Any, reference: Any, materiality: float) -> bool:
    """True when two figures differ materially (:func:`~bankanalysis.rules.materiality.
    is_material`) and as displayed: a report never says "fell 0" or "0.0 below".

    Examples
    --------
    >>> differs("manager_adequacy", 34.2, 33.9, 0.005)  # 0.9 % apart, but both show as 34
    False
    >>> differs("manager_adequacy", 34.6, 34.4, 0.005)  # shown as 35 and 34, gap shows as 0
    False
    >>> differs("product_coverage", 0.30, 0.29, 0.005)
    True
    """
    if not is_material(kpi, value, reference, materiality):
        return False
    shown_apart = display_round(kpi, float(value)) != display_round(kpi, float(reference))
    return shown_apart and display_round(kpi, abs(float(value) - float(reference))) != 0


def _worse(kpi: str, value: float, reference: float) -> bool:
    """True when ``value`` is worse than ``reference`` by the KPI's direction."""
    direction = kpis.get(kpi).direction
    if direction == "higher":
        return float(value) < float(reference)
    if direction == "lower":
        return float(value) > float(reference)
    return False


def _gap(kpi: str, diff: float, currency: str, decimals: int | None = None) -> str:
    """An unsigned difference in the KPI's unit (``2.9 pp``, ``1,250 CNY``)."""
    return format_change(kpi, abs(float(diff)), currency, decimals=decimals).lstrip("+")


def compare_word(
    kpi: str, value: Any, reference: Any, materiality: float, currency: str = DEFAULT_CURRENCY
) -> str:
    """``"2.9 pp below"``, ``"10 above"`` or ``"tied within 0.5 pp"``; empty when unknown.

    Examples
    --------
    >>> compare_word("product_coverage", 0.271, 0.30, 0.005)
    '2.9 pp below'
    >>> compare_word("customer_growth", 0.071, 0.070, 0.005)
    'tied within 0.5 pp'
    """
    if is_missing(value) or is_missing(reference):
        return ""
    if not differs(kpi, value, reference, materiality):
        return f"tied within {_tie_text(kpi, materiality)}"
    word = "above" if float(value) > float(reference) else "below"
    return f"{_gap(kpi, float(value) - float(reference), currency)} {word}"


def _tie_text(kpi: str, materiality: float) -> str:
    number = f"{materiality * 100:.2f}".rstrip("0").rstrip(".")
    return f"{number} pp" if kpi and kpis.get(kpi).unit == "share" else f"{number} %"


@dataclass(frozen=True)
class _Pair:
    """What :func:`compare_sentence` and :func:`change_sentence` both state about two figures."""

    name: str
    value: str
    tied: bool
    tie: str


def _pair(kpi: str, value: Any, other: Any, materiality: float, currency: str) -> _Pair:
    """The KPI's name, ``value`` formatted (empty when missing), whether the two figures are
    tied (``None`` when either is missing) and the tie's width in words."""
    both = not (is_missing(value) or is_missing(other))
    return _Pair(
        name=kpis.get(kpi).name,
        value="" if is_missing(value) else format_value(kpi, value, currency),
        tied=both and not differs(kpi, value, other, materiality),
        tie=_tie_text(kpi, materiality),
    )


def compare_sentence(
    kpi: str,
    value: Any,
    reference: Any,
    against: str,
    materiality: float,
    currency: str = DEFAULT_CURRENCY,
) -> str:
    """One sentence setting a figure against a reference: what it means, in words.

    Examples
    --------
    >>> compare_sentence("product_coverage", 0.271, 0.30, "the echelon", 0.005)
    'Product coverage is 27.1%, 2.9 pp below the echelon (30.0%).'
    >>> compare_sentence("manager_adequacy", 310, 300, "the echelon", 0.005)
    'Full-time account-manager adequacy ratio is 310, 10 above the echelon (300; lower is better).'
    >>> compare_sentence("customer_growth", 0.071, 0.070, "the bank", 0.005)
    'Customer growth is 7.1%, level with the bank (7.0%; tied within 0.5 pp).'
    """
    p = _pair(kpi, value, reference, materiality, currency)
    if is_missing(value):
        return f"{p.name} is not available for this comparison."
    if is_missing(reference):
        return f"{p.name} is {p.value}; {against} has no published figure to compare with."
    r = format_value(kpi, reference, currency)
    lower = "; lower is better" if kpis.get(kpi).direction == "lower" else ""
    if p.tied:
        return f"{p.name} is {p.value}, level with {against} ({r}; tied within {p.tie})."
    return f"{p.name} is {p.value}, {compare_word(kpi, value, reference, materiality, currency)} {against} ({r}{lower})."


def change_sentence(
    kpi: str,
    now: Any,
    before: Any,
    since: str,
    materiality: float,
    currency: str = DEFAULT_CURRENCY,
) -> str:
    """One sentence on how a figure moved since an earlier month.

    Examples
    --------
    >>> change_sentence("product_coverage", 0.271, 0.283, "2026-03", 0.005)
    'Product coverage fell 1.2 pp since 2026-03, to 27.1%.'
    >>> change_sentence("product_coverage", 0.271, 0.269, "2026-03", 0.005)
    'Product coverage is unchanged since 2026-03 within 0.5 pp (27.1%).'
    """
    p = _pair(kpi, now, before, materiality, currency)
    if is_missing(now) or is_missing(before):
        return f"{p.name}: no published figure for {since} to compare with."
    if p.tied:
        return f"{p.name} is unchanged since {since} within {p.tie} ({p.value})."
    verb = "rose" if float(now) > float(before) else "fell"
    return f"{p.name} {verb} {_gap(kpi, float(now) - float(before), currency)} since {since}, to {p.value}."


# --------------------------------------------------------------------------- rules


def target_findings(
    targets: pd.DataFrame,
    section: str,
    section_title: str = "",
    currency: str = DEFAULT_CURRENCY,
    who: str = "",
) -> list[Finding]:
    """One finding per target missed.

    Parameters
    ----------
    targets : DataFrame
        ``kpi, target, actual`` (one scope; e.g. a region's rows of
        :func:`bankanalysis.overview.target_attainment`). Withheld actuals must already be
        missing: they never qualify.
    section, section_title : str
        Anchor id and header of the section showing the targets.
    currency : str
        Currency of money figures.
    who : str
        Prefix naming the scope (``"North: "``) in a bank-wide summary.

    Returns
    -------
    list of Finding
        Rule ``"target"``; score 2 x the relative shortfall.
    """
    out = []
    for row in targets.itertuples(index=False):
        if attainment_met(row.kpi, row.actual, row.target) is not False:
            continue
        k = kpis.get(row.kpi)
        short = "short" if k.direction == "higher" else "over"
        d = distinct_decimals(row.kpi, row.actual, row.target)  # missed by less than rounding
        actual = format_value(row.kpi, row.actual, currency, decimals=d)
        sentence = (
            f"{who}{k.name} is {actual} against the target of "
            f"{format_value(row.kpi, row.target, currency, decimals=d)}, "
            f"{_gap(row.kpi, float(row.actual) - float(row.target), currency, d)} {short}."
        )
        out.append(
            Finding(
                kpi=row.kpi,
                value=row.actual,
                text=actual,
                score=RULE_WEIGHTS["target"] * relative_gap(row.actual, row.target),
                section=section,
                sentence=sentence,
                rule="target",
                section_title=section_title,
            )
        )
    return out


def standing_findings(
    standing: pd.DataFrame,
    materiality: float,
    sections: Mapping[str, tuple[str, str]],
    currency: str = DEFAULT_CURRENCY,
    who: str = "",
) -> list[Finding]:
    """Findings for KPIs where the region is materially worse than its echelon or the bank.

    Parameters
    ----------
    standing : DataFrame
        Index KPI id; columns ``value`` (the region), ``echelon`` and ``bank`` (published
        figures; withheld or absent ones missing). ``echelon`` is missing for a region alone in
        its echelon (compared with the bank only).
    materiality : float
        Tie threshold (:mod:`bankanalysis.rules.materiality`).
    sections : mapping
        KPI id -> (anchor id, header) of the section showing it; ``"*"`` is the default.
    currency, who : str
        Currency; prefix naming the scope.

    Returns
    -------
    list of Finding
        Rules ``"echelon"`` and ``"bank"``.
    """
    out = []
    for kpi, row in standing.iterrows():
        value = row["value"]
        if is_missing(value):
            continue
        for rule, col, against in (
            ("echelon", "echelon", "the echelon"),
            ("bank", "bank", "the bank"),
        ):
            ref = row.get(col)
            if is_missing(ref) or not _worse(str(kpi), value, ref):
                continue
            if not differs(str(kpi), value, ref, materiality):
                continue
            section, title = sections.get(str(kpi), sections["*"])
            out.append(
                Finding(
                    kpi=str(kpi),
                    value=value,
                    text=format_value(str(kpi), value, currency),
                    score=RULE_WEIGHTS[rule] * relative_gap(value, ref),
                    section=section,
                    sentence=who
                    + compare_sentence(str(kpi), value, ref, against, materiality, currency),
                    rule=rule,
                    section_title=title,
                )
            )
    return out


def change_findings(
    standing: pd.DataFrame,
    materiality: float,
    sections: Mapping[str, tuple[str, str]],
    since: Mapping[str, str],
    currency: str = DEFAULT_CURRENCY,
    who: str = "",
) -> list[Finding]:
    """Findings for KPIs materially worse than last month or last quarter.

    Parameters
    ----------
    standing : DataFrame
        Index KPI id; columns ``value``, ``month`` (last month's figure) and ``quarter`` (three
        months earlier); missing where not published or not in the data.
    since : mapping
        ``{"month": "2026-05", "quarter": "2026-03"}``: the months compared with.
    materiality, sections, currency, who
        As :func:`standing_findings`.

    Returns
    -------
    list of Finding
        Rules ``"month"`` and ``"quarter"``.
    """
    out = []
    for kpi, row in standing.iterrows():
        value = row["value"]
        if is_missing(value):
            continue
        for rule in ("month", "quarter"):
            before = row.get(rule)
            if rule not in since or is_missing(before) or not _worse(str(kpi), value, before):
                continue
            if not differs(str(kpi), value, before, materiality):
                continue
            section, title = sections.get(str(kpi), sections["*"])
            out.append(
                Finding(
                    kpi=str(kpi),
                    value=value,
                    text=format_value(str(kpi), value, currency),
                    score=RULE_WEIGHTS[rule] * relative_gap(value, before),
                    section=section,
                    sentence=who
                    + change_sentence(
                        str(kpi), value, before, _since(rule, since), materiality, currency
                    ),
                    rule=rule,
                    section_title=title,
                )
            )
    return out


def _since(rule: str, since: Mapping[str, str]) -> str:
    """``"last month (2026-09)"``: the comparison month in words."""
    return f"{_PERIODS[rule]} ({since[rule]})"


def lagging_finding(
    n_lagging: int, n_outlets: int, months: int, section: str, section_title: str = ""
) -> list[Finding]:
    """A finding when outlets were below their peers' moving average for ``months`` months.

    Examples
    --------
    >>> lagging_finding(3, 12, 3, "x")[0].sentence
    "3 of 12 outlets were below their peers' moving average in each of the last 3 months."
    >>> lagging_finding(0, 12, 3, "x")
    []
    """
    if n_lagging <= 0 or n_outlets <= 0:
        return []
    verb = "was below its" if n_lagging == 1 else "were below their"
    sentence = (
        f"{n_lagging} of {n_outlets} outlets {verb} peers' moving average in each of the "
        f"last {months} months."
    )
    return [
        Finding(
            kpi="outlets_below_moving_average",
            value=n_lagging,
            text=format_value("outlets_below_moving_average", n_lagging),
            score=RULE_WEIGHTS["lagging"] * n_lagging / n_outlets,
            section=section,
            sentence=sentence,
            rule="lagging",
            section_title=section_title,
        )
    ]


def models_absent_finding(
    without: Sequence[str], n_products: int, section: str, section_title: str = ""
) -> list[Finding]:
    """A finding naming the cross-sell products without a model (too few buyers).

    Examples
    --------
    >>> models_absent_finding(["Fund", "Gold"], 8, "x")[0].sentence
    '2 of 8 cross-sell products have no model (too few buyers to fit or test one): Fund, Gold.'
    """
    n = len(without)
    if n == 0 or n_products <= 0:
        return []
    verb = "has" if n == 1 else "have"
    sentence = (
        f"{n} of {n_products} cross-sell products {verb} no model (too few buyers to fit or "
        f"test one): {', '.join(without)}."
    )
    return [
        Finding(
            kpi="products_without_model",
            value=n,
            text=format_value("products_without_model", n),
            score=RULE_WEIGHTS["models"] * n / n_products,
            section=section,
            sentence=sentence,
            rule="models",
            section_title=section_title,
        )
    ]


def top_findings(findings: Iterable[Finding], n: int = 5, per: str = "kpi") -> list[Finding]:
    """The ``n`` findings that most need action, at most one per KPI (or per ``who``).

    Ordered by severity (highest first), then by rule (:data:`RULE_WEIGHTS` order), then by the
    KPI dictionary's order, so equal scores always come out the same way.

    Parameters
    ----------
    findings : iterable of Finding
        Candidates from the rules.
    n : int
        How many to keep (the summary shows three to five).
    per : str
        ``"kpi"`` keeps one finding per KPI; ``"sentence-prefix"`` one per scope prefix (the
        text before ``": "``, a region in the bank summary).
    """
    order = {k: i for i, k in enumerate(kpis.KPIS)}
    ranked = sorted(
        findings,
        key=lambda f: (-f.score, _RULE_ORDER.index(f.rule), order.get(f.kpi, len(order))),
    )
    seen: set[str] = set()
    out: list[Finding] = []
    for f in ranked:
        key = f.kpi if per == "kpi" else f.sentence.split(": ", 1)[0]
        if key in seen:
            continue
        seen.add(key)
        out.append(f)
        if len(out) == n:
            break
    return out


def findings_html(findings: Sequence[Finding], empty: str) -> str:
    """An ordered list of findings (``<ol>``), or the ``empty`` sentence in a paragraph."""
    if not findings:
        return f"<p>{html.escape(empty)}</p>"
    items = "".join(f"<li>{f.html()}</li>" for f in findings)
    return f'<ol class="findings">{items}</ol>'
