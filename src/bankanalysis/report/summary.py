"""The summary every report opens with (``<section id="summary">``), built from the data.

The plan's KPIs of the region, its echelon and the bank at this month, last month and last
quarter come from :mod:`bankanalysis.report.standing` (as the disclosure rule lets a report
publish them); :func:`region_summary_html` and :func:`bank_summary_html` turn them, the targets and any
report-specific findings into the summary through the rules of
:mod:`bankanalysis.report.findings`. Nothing here is written by hand: every sentence comes from
a rule that a test pins down.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from bankanalysis import overview as ov
from bankanalysis.report.context import ReportContext
from bankanalysis.report.findings import (
    Finding,
    change_findings,
    change_sentence,
    compare_sentence,
    compare_word,
    differs,
    findings_html,
    relative_gap,
    section_id,
    standing_findings,
    target_findings,
    top_findings,
)
from bankanalysis.report.format import (
    DEFAULT_CURRENCY,
    Absent,
    Suppressed,
    format_value,
    is_missing,
    kpi_label,
)
from bankanalysis.report.standing import Standing, cached_standing, echelon_key, raw_standing
from bankanalysis.rules import kpis

__all__ = [
    "BENCHMARKING_SECTIONS",
    "CHANNEL_KPIS",
    "OVERVIEW_SECTIONS",
    "PROPENSITY_SECTIONS",
    "SEGMENTATION_MANAGER_KPIS",
    "SEGMENTATION_SECTIONS",
    "STANDING_ID",
    "TARGETS_ID",
    "Standing",
    "bank_summary_html",
    "cached_standing",
    "changes_sentence",
    "kpi_sentences",
    "published_targets",
    "region_rows",
    "region_summary_html",
    "report_summary",
    "sections",
    "standing_counts",
    "standing_for",
    "standing_table_html",
]

logger = logging.getLogger(__name__)

#: Id of the summary's own table of the plan's KPIs (the link of KPIs without a section).
STANDING_ID = "summary-standing"
_STANDING = (STANDING_ID, "Standing on the plan's KPIs")
#: Id of the summary's targets paragraph (the link of a missed target without a section).
TARGETS_ID = "summary-targets"
_TARGETS = (TARGETS_ID, "Targets")
#: The comparison months in words.
_PERIOD = {"month": "last month", "quarter": "last quarter"}


def sections(default: str | None = None, **by_header: Sequence[str]) -> dict[str, tuple[str, str]]:
    """KPI id -> (anchor id, header) of the report section showing it; ``"*"`` the default.

    Parameters
    ----------
    default : str, optional
        Header of the section for every KPI not listed (default: the summary's own table).
    **by_header
        ``header=[kpi ids]``; headers with spaces are passed through a dict: ``**{"Peer ranks":
        [...]}``.

    Examples
    --------
    >>> sections(**{"Product coverage": ["product_coverage"]})["product_coverage"]
    ('Product-coverage', 'Product coverage')
    >>> sections()["*"]
    ('summary-standing', "Standing on the plan's KPIs")
    """
    out = {"*": (section_id(default), default) if default else _STANDING}
    for header, ids in by_header.items():
        for k in ids:
            out[k] = (section_id(header), header)
    return out


# --------------------------------------------------------------------------- pure builders


def published_targets(attain: pd.DataFrame, region_id: str, customers: Any) -> pd.DataFrame:
    """The region's rows of :func:`bankanalysis.overview.target_attainment`, actuals withheld
    (NaN) when the region's customers are a small group."""
    mine = attain.loc[attain["region_id"].astype(str) == region_id, ["kpi", "target", "actual"]]
    mine = mine.astype({"target": "float64", "actual": "float64"})
    if isinstance(customers, Suppressed | Absent):
        mine = mine.assign(actual=float("nan"))
    return mine.reset_index(drop=True)


def standing_counts(standing: pd.DataFrame, column: str, materiality: float) -> dict[str, int]:
    """How many KPIs are better, level (tied) and worse than ``column``, by direction.

    KPIs without a direction or without both figures published are not counted.
    """
    out = {"better": 0, "level": 0, "worse": 0}
    for kpi, row in standing.iterrows():
        v, ref = row["value"], row.get(column)
        if is_missing(v) or is_missing(ref) or kpis.get(str(kpi)).direction == "none":
            continue
        if not differs(str(kpi), v, ref, materiality):
            out["level"] += 1
        elif (float(v) > float(ref)) == (kpis.get(str(kpi)).direction == "higher"):
            out["better"] += 1
        else:
            out["worse"] += 1
    return out


def _counts_text(counts: Mapping[str, int], against: str) -> str:
    n = sum(counts.values())
    if n == 0:
        return f"no plan KPI can be compared with {against}"
    return (
        f"better than {against} on {counts['better']} of {n} plan KPIs, level on "
        f"{counts['level']}, worse on {counts['worse']}"
    )


def changes_sentence(
    standing: pd.DataFrame,
    column: str,
    since: str,
    materiality: float,
    currency: str = DEFAULT_CURRENCY,
    max_moves: int = 3,
) -> str:
    """What moved most since ``since`` (at most ``max_moves``, largest relative move first),
    in one sentence; how many more moved and how many are unchanged within materiality.

    Examples
    --------
    >>> st = pd.DataFrame({"value": [0.271, 0.05], "month": [0.283, 0.049]},
    ...                   index=["product_coverage", "customer_growth"])
    >>> changes_sentence(st, "month", "2026-05", 0.005)
    'Since 2026-05: Product coverage fell 1.2 pp; 1 unchanged within 0.5 pp (shares) or 0.5 % (other figures).'
    """
    moved: list[tuple[float, int, str]] = []
    compared = 0
    for i, (kpi, row) in enumerate(standing.iterrows()):
        v, before = row["value"], row.get(column)
        if is_missing(v) or is_missing(before):
            continue
        compared += 1
        if differs(str(kpi), v, before, materiality):
            verb = "rose" if float(v) > float(before) else "fell"
            gap = compare_word(str(kpi), v, before, materiality, currency).rsplit(" ", 1)[0]
            text = f"{kpis.get(str(kpi)).name} {verb} {gap}"
            moved.append((-relative_gap(v, before), i, text))
    if compared == 0:
        return f"No plan KPI has a published figure for {since} to compare with."
    pp = f"{materiality * 100:.2f}".rstrip("0").rstrip(".")
    within = f"within {pp} pp (shares) or {pp} % (other figures)"
    if not moved:
        return f"Since {since}: every plan KPI is unchanged {within}."
    shown = [t for _, _, t in sorted(moved)[:max_moves]]
    more = len(moved) - len(shown)
    rest = f"; {more} more moved (table below)" if more else ""
    still = compared - len(moved)
    rest += f"; {still} unchanged {within}" if still else ""
    return f"Since {since}: {'; '.join(shown)}{rest}."


def _cell(kpi: str, value: Any, currency: str) -> str:
    if value is None:
        return ""
    return html.escape(format_value(kpi, value, currency, with_reason=False))


def standing_table_html(
    standing: pd.DataFrame,
    since: Mapping[str, str],
    scope: str,
    materiality: float,
    currency: str = DEFAULT_CURRENCY,
    bank_scope: bool = False,
    lone: bool = False,
    beside: pd.DataFrame | None = None,
) -> str:
    """The plan's KPIs of the scope against its echelon and the bank, and their moves.

    Withheld figures show the disclosure marker, absent ones ``n/a``; the comparison columns
    say ``2.9 pp below`` or ``tied within 0.5 pp``. ``beside`` (index KPI) adds columns of
    figures after the scope's (the echelons in the bank's summary).
    """
    extra = beside if beside is not None else pd.DataFrame(index=standing.index)
    head = ["KPI", scope, *map(str, extra.columns)]
    if not bank_scope:
        head += ["Echelon", "Bank", "Against the echelon", "Against the bank"]
    head += [f"Since {_PERIOD[col]} ({m})" for col, m in since.items()]
    rows = []
    for kpi, row in standing.iterrows():
        k = str(kpi)
        cells = [html.escape(kpi_label(k, currency)), _cell(k, row["value"], currency)]
        cells += [
            _cell(k, extra.at[k, c] if k in extra.index else None, currency) for c in extra.columns
        ]
        if not bank_scope:
            cells += [
                _cell(k, row["echelon"], currency) or "–",
                _cell(k, row["bank"], currency),
                html.escape(compare_word(k, row["value"], row["echelon"], materiality, currency)),
                html.escape(compare_word(k, row["value"], row["bank"], materiality, currency)),
            ]
        cells += [
            html.escape(compare_word(k, row["value"], row[col], materiality, currency))
            for col in since
        ]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    header = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    caption = (
        "The region is the only one of its echelon: it is compared with the bank. " if lone else ""
    )
    caption += (
        f"Differences within {_pp(materiality)} pp (shares) or {_pp(materiality)} % (other "
        "figures) are ties; withheld figures (small groups) show the marker."
    )
    return (
        f'<table id="{STANDING_ID}" class="summary-standing"><caption>{html.escape(caption)}'
        f"</caption><thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _pp(materiality: float) -> str:
    return f"{materiality * 100:.2f}".rstrip("0").rstrip(".")


def _targets_text(targets: pd.DataFrame, month: str, missed: Sequence[Finding]) -> str:
    if targets.empty:
        return f"The data carry no targets for {month}."
    known = int(targets["actual"].notna().sum())
    if known == 0:
        return f"{len(targets)} target(s) for {month}; no actual is published to compare."
    names = ", ".join(kpis.get(f.kpi).name for f in missed)
    if not missed:
        return f"All {known} target(s) for {month} are met."
    return f"{len(missed)} of {known} target(s) for {month} missed: {names}."


def _wrap(title: str, parts: Sequence[str]) -> str:
    body = "".join(parts)
    return f'<section id="summary" class="summary"><h2>{html.escape(title)}</h2>{body}</section>'


def region_summary_html(
    standing: Standing,
    region_id: str,
    region_name: str,
    targets: pd.DataFrame,
    sections_: Mapping[str, tuple[str, str]],
    materiality: float,
    currency: str = DEFAULT_CURRENCY,
    extra: Sequence[Finding] = (),
    n: int = 5,
) -> str:
    """The summary of a region's report as HTML (``<section id="summary">``).

    Parameters
    ----------
    standing : Standing
        :func:`load_standing`.
    region_id, region_name : str
        The region.
    targets : DataFrame
        :func:`published_targets` (``kpi, target, actual``).
    sections_ : mapping
        :func:`sections` of the report (where each KPI's finding links to).
    materiality : float
        The ``materiality`` parameter.
    currency : str
        Display currency.
    extra : sequence of Finding
        Report-specific findings (lagging outlets, products without a model).
    n : int
        Most findings listed.
    """
    frame = standing.frame(region_id)
    target_section = sections_.get("targets", _TARGETS)
    missed = target_findings(targets, *target_section, currency=currency)
    found = [
        *missed,
        *standing_findings(frame, materiality, sections_, currency),
        *change_findings(frame, materiality, sections_, standing.since, currency),
        *extra,
    ]
    top = top_findings(found, n)
    e = standing.region_echelon.get(region_id)
    lone = standing.lone(region_id)
    lead = [
        f"{region_name} (echelon {echelon_key(e)}) in {standing.month}: "
        + (
            "the only region of its echelon, compared with the bank: "
            if lone
            else _counts_text(standing_counts(frame, "echelon", materiality), "its echelon") + "; "
        )
        + _counts_text(standing_counts(frame, "bank", materiality), "the bank")
        + "."
    ]
    changes = [
        changes_sentence(frame, col, f"{_PERIOD[col]} ({m})", materiality, currency)
        for col, m in standing.since.items()
    ] or ["The data hold no earlier month to compare with."]
    parts = [
        f"<p class='summary-lead'>{html.escape(lead[0])}</p>",
        "<h3>Needs action</h3>",
        findings_html(
            top,
            "No plan KPI is materially below the echelon or the bank, no target is missed and "
            "nothing worsened materially.",
        ),
        f"<p id='{TARGETS_ID}'><strong>Targets.</strong> {html.escape(_targets_text(targets, standing.month, missed))}</p>",
        "<p><strong>What changed.</strong> " + " ".join(html.escape(c) for c in changes) + "</p>",
        f"<h3>{html.escape(_STANDING[1])}</h3>",
        standing_table_html(frame, standing.since, region_name, materiality, currency, lone=lone),
    ]
    return _wrap(f"Summary: {region_name}, {standing.month}", parts)


def bank_summary_html(
    standing: Standing,
    attain: pd.DataFrame,
    names: Mapping[str, str],
    sections_: Mapping[str, tuple[str, str]],
    materiality: float,
    currency: str = DEFAULT_CURRENCY,
    n: int = 5,
) -> str:
    """The bank overview's summary: the bank's plan KPIs, their moves, targets missed, and the
    regions that most need attention (one finding each, ranked by the same rules)."""
    frame = standing.frame(None)
    target_section = sections_.get("targets", _TARGETS)
    per_region: list[Finding] = []
    for rid in sorted(standing.region_echelon):
        who = f"{names.get(rid, rid)}: "
        mine = published_targets(attain, rid, standing.customers(rid))
        per_region += target_findings(mine, *target_section, currency=currency, who=who)
        per_region += standing_findings(
            standing.frame(rid).assign(bank=None), materiality, sections_, currency, who=who
        )
        if standing.lone(rid):
            per_region += standing_findings(
                standing.frame(rid), materiality, sections_, currency, who=who
            )
    top = top_findings(per_region, n, per="sentence-prefix")
    attention = [f.sentence.split(": ", 1)[0] for f in top]
    # a withheld actual (met missing) is counted neither as met nor as missed
    met = attain["met"].dropna().astype(bool) if not attain.empty else pd.Series(dtype=bool)
    lead = f"The bank in {standing.month}: {len(standing.region_echelon)} regions. " + (
        f"Regions needing attention: {', '.join(attention)}."
        if attention
        else "No region is materially below its echelon or misses a target."
    )
    targets = (
        f"{int((~met).sum())} of {len(met)} region targets for {standing.month} missed."
        if len(met)
        else f"The data carry no region targets for {standing.month}."
    )
    changes = [
        changes_sentence(frame, col, f"{_PERIOD[col]} ({m})", materiality, currency)
        for col, m in standing.since.items()
    ] or ["The data hold no earlier month to compare with."]
    parts = [
        f"<p class='summary-lead'>{html.escape(lead)}</p>",
        "<h3>Needs action</h3>",
        findings_html(top, "No region finding qualifies."),
        f"<p id='{TARGETS_ID}'><strong>Targets.</strong> {html.escape(targets)}</p>",
        "<p><strong>What changed for the bank.</strong> "
        + " ".join(html.escape(c) for c in changes)
        + "</p>",
    ]
    parts += [
        f"<h3>{html.escape(_STANDING[1])}</h3>",
        standing_table_html(
            frame,
            standing.since,
            "The bank",
            materiality,
            currency,
            bank_scope=True,
            beside=standing.echelon_frame(),
        ),
    ]
    return _wrap(f"Summary: the bank, {standing.month}", parts)


# --------------------------------------------------------------------------- per report

#: Where each report shows what its summary's findings are about (KPI -> section); KPIs a
#: report does not show link to the summary's own table, targets without a section to the
#: summary's targets paragraph.
OVERVIEW_SECTIONS = sections(
    "Scorecard of the plan's KPIs per region",
    **{"Progress against the annual plan": ["targets"]},
)
#: The plan's account-manager KPIs (the segmentation report's "Account managers" section).
SEGMENTATION_MANAGER_KPIS: tuple[str, ...] = (
    "contact_plan_coverage",
    "manager_coverage",
    "manager_adequacy",
    "vip_service_duration_ratio",
)
#: The plan's self-service and channel KPIs (the benchmarking report's channel section).
CHANNEL_KPIS: tuple[str, ...] = (
    "self_service_per_outlet",
    "accounting_replacement_rate",
    "outlet_replacement_rate",
)
SEGMENTATION_SECTIONS = sections(
    **{
        "Product coverage": ["product_coverage", "wealth_card_matching"],
        "Account managers": list(SEGMENTATION_MANAGER_KPIS),
    }
)
PROPENSITY_SECTIONS = sections(**{"How good are the models?": ["products_without_model"]})
BENCHMARKING_SECTIONS = sections(
    **{
        "Outlet KPIs": ["new_deposits"],
        "Attainment against the plan's targets": ["targets"],
        "Against the peers' moving average": ["outlets_below_moving_average"],
        "Self-service and channels": list(CHANNEL_KPIS),
    }
)


def kpi_sentences(
    standing: Standing,
    region_id: str,
    kpi_ids: Sequence[str],
    materiality: float,
    currency: str = DEFAULT_CURRENCY,
) -> str:
    """What the region's figures of ``kpi_ids`` mean: against its echelon (the bank when it is
    alone in its echelon) and against last month. Withheld or absent figures are not stated.

    The sentences come from :func:`~bankanalysis.report.findings.compare_sentence` and
    :func:`~bankanalysis.report.findings.change_sentence`, as in the summary.
    """
    frame = standing.frame(region_id)
    out = []
    for k in kpi_ids:
        if k not in frame.index or is_missing(frame.at[k, "value"]):
            continue
        row = frame.loc[k]
        lone = row["echelon"] is None
        ref, against = (row["bank"], "the bank") if lone else (row["echelon"], "the echelon")
        out.append(compare_sentence(k, row["value"], ref, against, materiality, currency))
        if "month" in standing.since and not is_missing(row["month"]):
            out.append(
                change_sentence(
                    k,
                    row["value"],
                    row["month"],
                    f"last month ({standing.since['month']})",
                    materiality,
                    currency,
                )
            )
    return " ".join(out)


def standing_for(ctx: ReportContext, params: Mapping[str, Any]) -> Standing:
    """The report's :class:`Standing` as every report publishes it: the cached figures
    (:func:`~bankanalysis.report.standing.raw_standing`) with those the run withholds for all
    of them (a stock retention of 1 to ``k - 1`` lost customers, a share with a side of 1 to
    ``k - 1``: :func:`~bankanalysis.report.disclosure_totals.load_total_figures`) withheld,
    so that a sentence drawn from it says no more than the tables."""
    from bankanalysis.report.disclosure_retention import withhold_standing
    from bankanalysis.report.disclosure_totals import load_total_figures

    return withhold_standing(raw_standing(ctx, params), load_total_figures(ctx, params))


def report_summary(
    ctx: ReportContext,
    params: Mapping[str, Any],
    sections_: Mapping[str, tuple[str, str]],
    extra: Sequence[Finding] = (),
    standing: Standing | None = None,
) -> str:
    """The summary HTML of a report: the bank's for the overview (``ctx.region_id`` ``None``),
    the region's otherwise.

    Parameters
    ----------
    ctx : ReportContext
        The report's context.
    params : mapping
        The report's parameters (``globals()`` of the notebook): ``materiality`` and the
        scorecard's parameters (:func:`load_standing`; missing ones take the overview's
        defaults).
    sections_ : mapping
        The report's :func:`sections` (e.g. :data:`BENCHMARKING_SECTIONS`).
    extra : sequence of Finding
        Report-specific findings.
    standing : Standing, optional
        :func:`standing_for` when the report already has it.
    """
    materiality = float(params.get("materiality", 0.0))
    if standing is None:
        standing = standing_for(ctx, params)
    from bankanalysis.report.disclosure_plan import withhold_attainment
    from bankanalysis.report.disclosure_retention import withhold_standing
    from bankanalysis.report.disclosure_totals import load_total_figures
    from bankanalysis.report.planning import plan_summary_html

    # a region's count of 1 to k-1, an AUM that pins a tier's, a stock retention of 1 to k-1
    # lost customers, a share with a side of 1 to k-1 (and what would give any back) are
    # withheld in every report alike
    totals = load_total_figures(ctx, params)
    standing = withhold_standing(standing, totals)
    rm = ctx.bank.region_month()
    attain = ov.target_attainment(rm.loc[rm["month"] <= ctx.month], ctx.bank.targets, ctx.month)
    attain = withhold_attainment(attain, totals, ctx.month)
    if ctx.region_id is None:
        out = bank_summary_html(
            standing, attain, ctx.region_names, sections_, materiality, ctx.currency
        )
    else:
        rid = str(ctx.region_id)
        targets = published_targets(attain, rid, standing.customers(rid))
        out = region_summary_html(
            standing, rid, ctx.region_name, targets, sections_, materiality, ctx.currency, extra
        )
    plan = plan_summary_html(ctx, params, totals)  # plan progress (issue 16)
    return out.removesuffix("</section>") + plan + "</section>"


def region_rows(frame: pd.DataFrame, mine: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``frame`` about the region's outlets (``outlet_id`` in ``mine``)."""
    return frame.loc[frame["outlet_id"].isin(mine["outlet_id"])]
