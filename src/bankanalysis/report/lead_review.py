"""Report parts of notebook 02 about the lead files, the scorecards and last period's leads.

What the report may show of restricted material (:mod:`bankanalysis.data.restricted`): how many
lead workbooks were written and where they are kept, in words, never a link; the distribution
of the account managers' scorecards (quartiles, withheld for fewer than ``min_group_size``
managers) and per-outlet aggregates (outlets with few customers withheld); per product, how the
leads issued ``h`` months ago converted against comparable customers
(:mod:`bankanalysis.propensity.conversion`). No customer or manager id reaches a page.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bankanalysis.propensity.conversion import conversion_by_group, lead_conversion
from bankanalysis.propensity.scorecards import scorecards
from bankanalysis.propensity.training import PropensityBundle
from bankanalysis.propensity.workflow import (
    RegionScores,
    ReplayedLeads,
    manager_book,
    replay_conversion,
)
from bankanalysis.report.disclosure_cards import (
    PRINTED_BY_03,
    outlet_count_decision,
    region_tier_decision,
)
from bankanalysis.report.disclosure_outlet_tiers import (
    QUALITY_PLUS,
    mark_withheld_rows,
    protect_quality_plus,
    quality_plus_rate_note,
)
from bankanalysis.report.format import (
    DEFAULT_CURRENCY,
    Absent,
    Suppressed,
    format_change,
    format_value,
)
from bankanalysis.report.propensity import Section
from bankanalysis.report.tables import KpiTable, kpi_table
from bankanalysis.report.workbooks import WrittenLeads, write_lead_files
from bankanalysis.rules import kpis
from bankanalysis.rules.disclosure import KPI_GROUP, is_small, is_small_part
from bankanalysis.rules.kpis import metric_key

if TYPE_CHECKING:
    from bankanalysis.report.context import ReportContext
    from bankanalysis.report.disclosure_plan import PlanCounts

__all__ = [
    "CONVERSION_KPIS",
    "LeadReview",
    "lead_review",
    "SCORECARD_DISTRIBUTION",
    "conversion_metrics",
    "conversion_table",
    "converted_is_small",
    "conversion_text",
    "lead_files_metrics",
    "lead_files_text",
    "outlet_scorecard_table",
    "scorecard_distribution",
    "scorecard_distribution_table",
]

logger = logging.getLogger(__name__)

#: Scorecard columns whose distribution over the managers the report shows, and their KPI ids.
SCORECARD_DISTRIBUTION: dict[str, str] = {
    "customers": "customers",
    "contact_plan_coverage": "contact_plan_coverage",
    "vip_service_minutes": "vip_service_minutes",
    "sales_total": "sales_total",
    "new_customers": "new_customers",
    "book_aum_growth": "book_aum_growth",
    "lead_conversion_rate": "lead_conversion_rate",
}
#: Scorecard measures that count customers.
_CUSTOMER_COUNTS = ("customers", "new_customers")
#: Columns of :func:`~bankanalysis.propensity.conversion.lead_conversion` shown, and KPI ids.
CONVERSION_KPIS: dict[str, str] = {
    "leads": "leads",
    "lead_conversion": "lead_conversion_rate",
    "comparable_conversion": "comparable_conversion_rate",
    "conversion_uplift": "lead_conversion_uplift",
}


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


# --------------------------------------------------------------------------- lead files


def lead_files_text(written: WrittenLeads, notebook: str = "02_cross_sell_propensity") -> str:
    """Markdown: how many lead workbooks were written and where they are kept, without a link.

    Examples
    --------
    >>> from pathlib import Path
    >>> from bankanalysis.report.workbooks import WrittenLeads
    >>> w = WrittenLeads(Path("x/restricted"), 12, 10, 2, 340, [])
    >>> print(lead_files_text(w))  # doctest: +NORMALIZE_WHITESPACE
    **12 lead workbooks** were written: 10 for account managers (their leads, upgrade candidates and scorecard) and 2 for outlets' customers without a manager, 340 leads in all. They hold customer ids, so they are kept in the folder *restricted* inside this report's output folder *02_cross_sell_propensity*, listed with their audience in the run's manifest, and not linked from any report; *contents.csv* in that folder says which workbook belongs to whom.
    """
    n = format_value("lead_workbooks", written.workbooks)
    return (
        f"**{n} lead workbooks** were written: "
        f"{format_value('lead_workbooks', written.manager_workbooks)} for account managers "
        "(their leads, upgrade candidates and scorecard) and "
        f"{format_value('lead_workbooks', written.outlet_workbooks)} for outlets' customers "
        f"without a manager, {format_value('leads', written.leads)} leads in all. They hold "
        "customer ids, so they are kept in the folder *restricted* inside this report's output "
        f"folder *{_e(notebook)}*, listed with their audience in the run's manifest, and not "
        "linked from any report; *contents.csv* in that folder says which workbook belongs to "
        "whom."
    )


def lead_files_metrics(written: WrittenLeads, leads: pd.DataFrame) -> dict[str, int]:
    """Lead lists, leads and workbooks, keyed by KPI id.

    Examples
    --------
    >>> from pathlib import Path
    >>> from bankanalysis.report.workbooks import WrittenLeads
    >>> lead_files_metrics(WrittenLeads(Path("."), 3, 2, 1, 5, []),
    ...                    pd.DataFrame({"sheet": ["M1", "M1", "M2", "M2", "unassigned O1"]}))
    {'lead_lists': 3, 'leads': 5, 'lead_workbooks': 3}
    """
    return {
        "lead_lists": int(leads["sheet"].nunique()) if len(leads) else 0,
        "leads": len(leads),
        "lead_workbooks": written.workbooks,
    }


# --------------------------------------------------------------------------- scorecards


def scorecard_distribution(cards: pd.DataFrame, min_group_size: int) -> pd.DataFrame:
    """Quartiles of each scorecard measure over the managers (no manager's own row).

    Parameters
    ----------
    cards : DataFrame
        :func:`~bankanalysis.propensity.scorecards.scorecards` by manager.
    min_group_size : int
        Fewer managers with a value than this: the measure's figures are withheld.

    Returns
    -------
    DataFrame
        ``measure, kpi, managers, q1, median, q3, suppressed``, one row per measure of
        :data:`SCORECARD_DISTRIBUTION`.

    Examples
    --------
    >>> cards = pd.DataFrame({"customers": [10, 20, 30, 40, 50], "sales_total": [1, 2, 3, 4, 5]})
    >>> d = scorecard_distribution(cards, 5)
    >>> d[["measure", "managers", "q1", "median", "q3"]].values.tolist()
    [['customers', 5, 20.0, 30.0, 40.0], ['sales_total', 5, 2.0, 3.0, 4.0]]
    """
    rows = []
    for col, kpi in SCORECARD_DISTRIBUTION.items():
        if col not in cards.columns:
            continue
        v = cards[col].astype("float64").dropna()
        q = v.quantile([0.25, 0.5, 0.75]).to_numpy() if len(v) else [np.nan] * 3
        rows.append(
            {"measure": col, "kpi": kpi, "managers": len(v), "q1": q[0], "median": q[1], "q3": q[2]}
        )
    out = pd.DataFrame(rows, columns=["measure", "kpi", "managers", "q1", "median", "q3"])
    small = is_small(out["managers"], min_group_size)
    out.loc[small, ["q1", "median", "q3"]] = np.nan
    out["suppressed"] = small
    # a quartile of a count of customers is itself a count: 1 to k-1 is withheld
    counts = out["measure"].isin(_CUSTOMER_COUNTS).to_numpy()
    for q in ("q1", "median", "q3"):
        few = counts & (out[q] > 0).to_numpy() & (out[q] < min_group_size).to_numpy()
        out.loc[few, q] = np.nan
        out["suppressed"] |= few
    return out


def scorecard_distribution_table(
    dist: pd.DataFrame, min_group_size: int, currency: str = DEFAULT_CURRENCY
) -> KpiTable:
    """:func:`scorecard_distribution` as a table: one row per measure, figures in its unit."""
    marker = str(Suppressed(min_group_size))
    rows = []
    for r in dist.itertuples():
        k = kpis.get(r.kpi)
        cells = [
            marker
            if r.suppressed and pd.isna(v)
            else format_value(r.kpi, v, currency, with_reason=False)
            for v in (r.q1, r.median, r.q3)
        ]
        rows.append([k.name, format_value("managers_scored", r.managers), *cells])
    frame = pd.DataFrame(
        rows, columns=["Measure", "Managers", "Lower quartile", "Median", "Upper quartile"]
    )
    return KpiTable(
        frame,
        caption="Account managers' scorecards: spread over the managers",
        note=f"Quartiles over the managers with a value; fewer than {min_group_size} managers: "
        "withheld. Each manager's own scorecard is in their workbook.",
    )


def outlet_scorecard_table(
    cards: pd.DataFrame,
    outlet_names: Mapping[str, str],
    min_group_size: int,
    currency: str = DEFAULT_CURRENCY,
    shown: pd.DataFrame | None = None,
) -> KpiTable:
    """The scorecard measures per outlet (every customer, with or without a manager).

    The small-group rule per cell: an outlet with 1 to ``min_group_size - 1`` customers is
    withheld, and each figure also when the customers it is about (``KPI_GROUP``; the leads
    issued for the lead conversion rate; the new customers themselves) are that few. A rate
    over the outlet's quality-and-above customers (contact-plan coverage) is withheld wherever
    :func:`~bankanalysis.report.disclosure_outlet_tiers.protect_quality_plus` withholds that
    count (01's decision: ``<k``, ``x`` or ``withheld``), and a note says why.

    ``shown`` is the outlet cards as the workbooks print them (:func:`~bankanalysis.report.
    disclosure_cards.protect_cards`, :attr:`~bankanalysis.report.workbooks.WrittenLeads.
    outlet_cards`): a figure the workbooks withhold is withheld here under the same marker
    (the region's management reads both; 02's rate rounded to 0.1 % times the workbook's leads
    issued gives the leads converted the workbook withholds: 10.2 % of 88 is 9).

    Examples
    --------
    >>> cards = pd.DataFrame({"customers": [50, 50], "quality_plus_customers": [20, 3],
    ...     "contact_plan_coverage": [0.5, 1 / 3], "leads_issued": [12, 0],
    ...     "lead_conversion_rate": [0.25, float("nan")]},
    ...     index=pd.Index(["O1", "O2"], name="outlet_id"))
    >>> outlet_scorecard_table(cards, {}, 10).frame.values.tolist()
    [['O1', '50', 'x', '25.0%'], ['O2', '50', '<10', 'n/a']]
    """
    df = cards.reset_index()
    key = df.columns[0]
    df.insert(0, "outlet", [outlet_names.get(o, o) for o in df[key].astype(str)])
    cols = {c: k for c, k in SCORECARD_DISTRIBUTION.items() if c in df.columns}
    # a count of customers is its own group: 1 to k-1 new customers are withheld too
    groups = {"lead_conversion_rate": "leads_issued", "new_customers": "new_customers"}
    small_outlet = is_small(df["customers"], min_group_size)
    withheld = pd.DataFrame(index=df.index)
    for col, kpi in cols.items():
        group = groups.get(col) or KPI_GROUP.get(kpi, "customers")
        mask = small_outlet.copy()
        if group in df.columns:
            n = df[group].astype("float64")
            mask |= is_small(n, min_group_size) & (n > 0).to_numpy()
        withheld[col] = mask
    status = pd.Series("", index=df.index)
    if QUALITY_PLUS in df.columns:
        decided = protect_quality_plus(cards[QUALITY_PLUS].fillna(0), min_group_size)
        status = pd.Series(decided.to_numpy(), index=df.index)
        for col in (c for c in withheld.columns if KPI_GROUP.get(cols[c]) == QUALITY_PLUS):
            withheld[col] |= status.ne("")
    table = kpi_table(
        df,
        cols,
        labels=["outlet"],
        currency=currency,
        min_group_size=min_group_size,
        suppressed=withheld,
        caption="Scorecard measures per outlet",
    )
    rates = [
        table.frame.columns[1 + i]
        for i, c in enumerate(cols)
        if KPI_GROUP.get(cols[c]) == QUALITY_PLUS
    ]
    table.frame = mark_withheld_rows(table.frame, rates, status.tolist(), min_group_size)
    if note := quality_plus_rate_note(status.loc[status.ne("")], min_group_size):
        table.note = f"{table.note} {note}".strip() if table.note else note
    if shown is not None:
        # 03 prints these for every outlet: shown as 03 does, never under a workbook marker;
        # new customers follow the workbooks, which carry 03's decision (outlet_count_decision)
        own = [c if c not in PRINTED_BY_03 else "" for c in cols]
        marked = _as_the_workbooks_show(table.frame, own, shown, df[key])
        if not marked.equals(table.frame):
            note = (
                "Other cells marked x, <k or withheld are withheld as in the region's "
                "scorecards workbook (with the count a figure is over, or that it gives back)."
            ).replace("<k", f"<{min_group_size}")
            table.note = f"{table.note} {note}".strip() if table.note else note
        table.frame = marked
    return table


def _as_the_workbooks_show(
    frame: pd.DataFrame, columns: Sequence[str], shown: pd.DataFrame, units: pd.Series
) -> pd.DataFrame:
    """The formatted outlet table (``frame``: a label column, then one column per ``columns``)
    with every cell the workbooks withhold (``shown``: :class:`Suppressed` cells, indexed by
    outlet id) under the workbooks' marker, where the table prints a figure.

    Examples
    --------
    >>> f = pd.DataFrame({"outlet": ["A", "B"], "Rate": ["14.0%", "10.2%"]})
    >>> shown = pd.DataFrame({"rate": [0.14, Suppressed(10, "secondary")]}, index=["O1", "O2"])
    >>> _as_the_workbooks_show(f, ["rate"], shown, pd.Series(["O1", "O2"]))["Rate"].tolist()
    ['14.0%', 'x']
    """
    out = frame.copy()
    for j, col in enumerate(columns):
        if col not in shown.columns:
            continue
        head = out.columns[1 + j]
        for r, unit in enumerate(units):
            v = shown[col].get(unit)
            if isinstance(v, Suppressed) and not _is_marker(str(out.iat[r, 1 + j])):
                out.at[out.index[r], head] = str(v)
    return out


def _is_marker(text: str) -> bool:
    return text == "x" or text == "withheld" or text.startswith("<")


# --------------------------------------------------------------------------- conversion


def converted_is_small(conv: pd.DataFrame, min_group_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Per product of :func:`~bankanalysis.propensity.conversion.lead_conversion`: whether the
    leads who bought (``leads x lead_conversion``) and the compared leads who bought
    (``matched_leads x matched_conversion``) are 1 to ``min_group_size - 1`` customers, a
    small group a printed rate beside its leads would give back
    (:func:`~bankanalysis.rules.disclosure.is_small_part`; docs/privacy.md, "Attack D").

    Examples
    --------
    >>> conv = pd.DataFrame({"leads": [30, 40], "lead_conversion": [4 / 30, 0.25],
    ...                      "matched_leads": [15, 40], "matched_conversion": [0.0, 0.25]})
    >>> [a.tolist() for a in converted_is_small(conv, 10)]
    [[True, False], [False, False]]
    """
    small_all = is_small_part(conv["lead_conversion"], conv["leads"], min_group_size)
    if "matched_leads" in conv.columns and "matched_conversion" in conv.columns:
        small_matched = is_small_part(
            conv["matched_conversion"], conv["matched_leads"], min_group_size
        )
    else:
        small_matched = np.zeros(len(conv), dtype=bool)
    return small_all, small_matched


def conversion_table(
    conv: pd.DataFrame,
    product_names: Mapping[str, str],
    min_group_size: int,
) -> KpiTable:
    """Per product: leads issued then, their conversion and what the scores predicted; the
    leads that have comparable
    customers, their conversion, the comparable customers' and the difference. A product with
    1 to ``min_group_size - 1`` leads is withheld; a comparison resting on that few leads too.
    A conversion rate whose converted leads are 1 to ``min_group_size - 1`` (the rate times
    the leads printed beside it: 13.3 % of 30 is 4 customers who bought) is withheld, and
    with the comparison's conversion its difference to the comparable customers (their
    conversion plus the difference would give it back): :func:`converted_is_small`.

    Examples
    --------
    >>> conv = pd.DataFrame({"product": ["fund", "gold"], "leads": [40, 30],
    ...     "lead_conversion": [0.25, 4 / 30], "predicted_conversion": [0.22, 0.2],
    ...     "matched_leads": [30, 20], "matched_conversion": [0.4, 0.15],
    ...     "comparable_conversion": [0.1, 0.1], "conversion_uplift": [0.3, 0.05]})
    >>> conversion_table(conv, {"fund": "Funds"}, 10).frame.values.tolist()[0]
    ['Funds', '40', '25.0%', '22.0%', '30', '40.0%', '10.0%', '+30.0 pp']
    >>> conversion_table(conv, {"fund": "Funds"}, 10).frame.values.tolist()[1]
    ['gold', '30', '<10', '20.0%', '20', '<10', '10.0%', '<10']
    """
    marker = str(Suppressed(min_group_size))
    small_all, small_matched = converted_is_small(conv, min_group_size)
    rows = []
    for i, r in enumerate(conv.itertuples()):
        name = product_names.get(r.product, r.product)
        if is_small(np.array([r.leads]), min_group_size)[0]:
            rows.append([name] + [marker] * 7)
            continue
        head = [
            name,
            format_value("leads", r.leads),
            marker
            if small_all[i]
            else format_value("lead_conversion_rate", r.lead_conversion, with_reason=False),
            format_value(
                "lead_conversion_rate", getattr(r, "predicted_conversion", None), with_reason=False
            ),
        ]
        if r.matched_leads == 0:
            rows.append(head + ["0", "n/a", "n/a", "n/a"])
        elif is_small(np.array([r.matched_leads]), min_group_size)[0]:
            rows.append(head + [marker] * 4)
        else:
            matched = [
                format_value("lead_conversion_rate", r.matched_conversion),
                format_change("lead_conversion_uplift", r.conversion_uplift),
            ]
            if small_matched[i]:
                matched = [marker, marker]
            rows.append(
                head
                + [
                    format_value("leads", r.matched_leads),
                    matched[0],
                    format_value("comparable_conversion_rate", r.comparable_conversion),
                    matched[1],
                ]
            )
    frame = pd.DataFrame(
        rows,
        columns=[
            "product name",
            "Leads",
            f"{kpis.get('lead_conversion_rate').name} (%)",
            "Predicted by the scores (%)",
            "Leads with comparable customers",
            "Their conversion (%)",
            f"{kpis.get('comparable_conversion_rate').name} (%)",
            kpis.get("lead_conversion_uplift").name,
        ],
    )
    return KpiTable(
        frame,
        caption="Leads issued then and what they bought since",
        note=f"Comparable customers: non-leads with a probability in the same score band; bands "
        f"with fewer than {min_group_size} of them hold leads only and are left out of the "
        "comparison (the best-scored customers are nearly all leads).",
    )


def conversion_metrics(
    conv: pd.DataFrame, min_group_size: int, why_absent: str | None = None
) -> dict[str, Any]:
    """Per product ``lead_conversion_rate``, ``comparable_conversion_rate`` and
    ``lead_conversion_uplift`` (``[product=<p>]``); withheld or absent values carry why.

    Examples
    --------
    >>> conv = pd.DataFrame({"product": ["fund"], "leads": [40], "lead_conversion": [0.25],
    ...                      "comparable_conversion": [0.2], "conversion_uplift": [0.05]})
    >>> conversion_metrics(conv, 10)["lead_conversion_uplift[product=fund]"]
    0.05
    >>> conversion_metrics(conv.iloc[:0], 10, "the data are too short")
    {'lead_conversion_rate': Absent(reason='the data are too short')}
    """
    if why_absent is not None or conv.empty:
        return {"lead_conversion_rate": Absent(why_absent or "no leads were issued then")}
    out: dict[str, Any] = {}
    small_all, small_matched = converted_is_small(conv, min_group_size)
    for i, r in enumerate(conv.itertuples()):
        for col, kpi in (
            ("lead_conversion", "lead_conversion_rate"),
            ("comparable_conversion", "comparable_conversion_rate"),
            ("conversion_uplift", "lead_conversion_uplift"),
        ):
            n = r.leads if col == "lead_conversion" else getattr(r, "matched_leads", r.leads)
            small = bool(is_small(np.array([n]), min_group_size)[0])
            # the leads who bought are a small group (the table withholds the same cells)
            small |= bool(small_all[i]) if col == "lead_conversion" else False
            small |= bool(small_matched[i]) if col == "conversion_uplift" else False
            value = getattr(r, col)
            key = metric_key(kpi, product=r.product)
            if small:
                out[key] = Suppressed(min_group_size)
            elif pd.isna(value):
                out[key] = Absent("no comparable customer in the leads' score bands")
            else:
                out[key] = float(value)
    return out


def conversion_text(
    conv: pd.DataFrame,
    issue_month: str,
    data_month: str,
    product_names: Mapping[str, str],
    min_group_size: int,
) -> str:
    """Markdown: did last period's leads convert better than comparable customers?

    Examples
    --------
    >>> conv = pd.DataFrame({"product": ["fund", "gold"], "leads": [40, 30],
    ...                      "lead_conversion": [0.25, 0.1], "matched_leads": [40, 30],
    ...                      "matched_conversion": [0.25, 0.1],
    ...                      "comparable_conversion": [0.2, 0.1],
    ...                      "conversion_uplift": [0.05, 0.0]})
    >>> print(conversion_text(conv, "2025-09", "2025-12", {"fund": "Funds"}, 10))  # doctest: +NORMALIZE_WHITESPACE
    The lists of 2025-09 (rebuilt with today's models and parameters) held 70 leads; by 2025-12, 25.0% of the 40 Funds leads that have comparable customers had bought it against 20.0% of those comparable customers who were not leads (+5.0 pp). Comparable customers had a probability in the same score band, so the difference estimates what working the lists added to the customers' own likelihood (near zero where the lists were not worked).
    """
    _, small_matched = converted_is_small(conv, min_group_size)
    shown = conv[~is_small(conv["matched_leads"], min_group_size) & ~small_matched]
    shown = shown[(shown["matched_leads"] > 0) & shown["comparable_conversion"].notna()]
    total = format_value("leads", conv["leads"].sum())
    head = (
        f"The lists of {_e(issue_month)} (rebuilt with today's models and parameters) held "
        f"{total} leads"
    )
    if shown.empty:
        return (
            f"{head}; no product had enough leads (at least {min_group_size}) with comparable "
            f"customers, none or at least {min_group_size} of them buying, to measure what the "
            "lists added."
        )
    best = shown.loc[shown["matched_leads"].idxmax()]
    name = _e(product_names.get(best["product"], best["product"]))
    return (
        f"{head}; by {_e(data_month)}, "
        f"{format_value('lead_conversion_rate', best['matched_conversion'])} of the "
        f"{format_value('leads', best['matched_leads'])} {name} leads that have comparable "
        "customers had bought it against "
        f"{format_value('comparable_conversion_rate', best['comparable_conversion'])} of "
        "those comparable customers who were not leads "
        f"({format_change('lead_conversion_uplift', best['conversion_uplift'])}). Comparable "
        "customers had a probability in the same score band, so the difference estimates what "
        "working the lists added to the customers' own likelihood (near zero where the lists "
        "were not worked)."
    )


# --------------------------------------------------------------------------- the notebook


@dataclass
class LeadReview:
    """The three parts of notebook 02 built by :func:`lead_review`, each a ``Section``."""

    files: Section
    scorecards: Section
    conversion: Section
    written: WrittenLeads | None = None


def lead_review(
    ctx: ReportContext,
    bundle: PropensityBundle,
    scored: RegionScores,
    leads: pd.DataFrame,
    product_names: Mapping[str, str],
    output_dir: str | Path,
    *,
    tier_thresholds: Sequence[float],
    tier_months: int,
    product_values: Mapping[str, float] | None,
    offers_per_customer: int,
    leads_per_sheet: int,
    min_lead_probability: float,
    upgrades: pd.DataFrame | None = None,
    totals: PlanCounts | None = None,
    protect_outlet_counts: bool = True,
) -> LeadReview:
    """Replay last period's leads, build the scorecards, write every restricted file and shape
    what the report shows of them.

    Parameters
    ----------
    ctx, bundle, scored, leads, product_names
        As in the notebook (``scored``: :func:`~bankanalysis.propensity.workflow.score_region`
        at the data month; ``leads``: the region's lead lists with reasons).
    output_dir : str or Path
        The notebook's output folder; files go to its ``restricted`` folder.
    upgrades : DataFrame, optional
        Upgrade candidates to put in each manager's workbook.
    totals : PlanCounts, optional
        The run's withheld totals (:func:`~bankanalysis.report.disclosure_totals.
        load_total_figures`): the outlet cards withhold the new customers 03 withholds, which
        reads the region's own count there (``None``: the region's count is published).
    protect_outlet_counts : bool
        The run's parameter: false publishes the outlets' new customers, in 03 and here.
    """
    bank = ctx.bank
    k = ctx.min_group_size
    outlet_names = dict(
        zip(bank.outlets["outlet_id"].astype(str), bank.outlets["name"].astype(str), strict=True)
    )
    replay = replay_conversion(
        bank, bundle, str(ctx.region_id), tier_thresholds, tier_months,
        dict(product_values or {}), offers_per_customer, leads_per_sheet, min_lead_probability,
    )  # fmt: skip
    outcomes = replay.leads if isinstance(replay, ReplayedLeads) else None
    book = manager_book(bank, scored, bundle.data_month)
    has_contacts = bank.has("contacts")
    by_mgr = by_outlet = None
    if outcomes is not None:
        by_mgr = conversion_by_group(outcomes, "manager_id")
        by_outlet = conversion_by_group(outcomes, "outlet_id")
    cards = scorecards(book, bank.managers, has_contacts, "manager_id", by_mgr)
    outlet_cards = scorecards(book, bank.managers, has_contacts, "outlet_id", by_outlet)
    facts = {
        "data_month": bundle.data_month,
        "min_probability": min_lead_probability,
        "min_group_size": k,
        "protection_level": ctx.protection_level,
        "notes": [
            "Leads: work them in rank order; the probability is the chance the customer buys "
            f"the product within {bundle.settings.horizon} month(s).",
            "Reasons: what raises this customer's score most against a typical customer.",
            "Scorecard: this list's measures at the data month, beside the region's median.",
        ],
    }
    region_new = (
        ""
        if totals is None
        else totals.of_level("region", str(ctx.region_id), "new_customers", bundle.data_month)
    )
    decided = outlet_count_decision(
        bank.outlet_month(), str(ctx.region_id), bundle.data_month, ctx.outlet_names, k,
        region_new, protect_outlet_counts,
    ) | region_tier_decision(book["tier"], k) if k else None  # fmt: skip
    written = write_lead_files(
        leads, output_dir, str(ctx.region_id), outlet_names, product_names, facts, upgrades,
        cards, outlet_cards, book, bank.managers, ctx.currency, decided,
    )  # fmt: skip
    files = Section([lead_files_text(written)], lead_files_metrics(written, leads))
    dist = scorecard_distribution(cards, k)
    card_parts: list[Any] = [
        f"{format_value('managers_scored', len(cards))} account managers have customers at "
        f"{bundle.data_month}; each one's scorecard is in their workbook, the region's "
        "management has all of them in the restricted scorecards workbook."
    ]
    if len(cards):
        card_parts.append(scorecard_distribution_table(dist, k, ctx.currency))
    card_parts.append(
        outlet_scorecard_table(
            outlet_cards, outlet_names, k, ctx.currency, shown=written.outlet_cards
        )
    )
    card_metrics = {"managers_scored": len(cards)}
    if not isinstance(replay, ReplayedLeads):
        conv_section = Section(
            [f"Last period's leads cannot be checked: {_e(replay)}."],
            conversion_metrics(pd.DataFrame(), k, replay),
        )
    else:
        conv = lead_conversion(replay.leads, min_comparable=k, comparable=replay.comparable)
        issued = replay.issue_month
        parts: list[Any] = [conversion_text(conv, issued, bundle.data_month, product_names, k)]
        if not conv.empty:
            parts.append(conversion_table(conv, product_names, k))
        conv_section = Section(parts, conversion_metrics(conv, k))
    return LeadReview(files, Section(card_parts, card_metrics), conv_section, written)
