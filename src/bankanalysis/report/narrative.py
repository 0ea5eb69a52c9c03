"""Sentences that say what a section's numbers mean, generated from the data.

Each function takes the frame a section already shows and returns one or two sentences: who
leads and who trails the league within each echelon (ties within the materiality threshold
said as ties), which targets are missed most often and by whom, and where the region's
productivity stands against its echelon and how it moved since last month. Comparisons go
through :mod:`bankanalysis.rules.materiality` and :func:`bankanalysis.report.findings.
compare_sentence`, so the sections and the summary use the same words for the same gap.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import pandas as pd

from bankanalysis.report.findings import change_sentence, compare_sentence
from bankanalysis.report.format import DEFAULT_CURRENCY, format_value, is_missing
from bankanalysis.rules import kpis
from bankanalysis.rules.disclosure import is_small
from bankanalysis.rules.materiality import is_material
from bankanalysis.rules.months import shift_month

__all__ = [
    "attainment_conclusion",
    "comparison_months",
    "league_conclusion",
    "level_sentences",
    "paragraph",
    "trend_sentences",
]

logger = logging.getLogger(__name__)


def _names(names: Sequence[str]) -> str:
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def league_conclusion(table: pd.DataFrame, materiality: float = 0.0) -> str:
    """Who leads and who trails each echelon's league, ties said as ties.

    Parameters
    ----------
    table : DataFrame
        :func:`bankanalysis.report.overview.league` (``region, echelon, league_score,
        league_rank, compared_with``).
    materiality : float
        Scores within this (relative, :mod:`bankanalysis.rules.materiality`) of the leader's
        share the lead.

    Examples
    --------
    >>> t = pd.DataFrame({"region": ["A", "B", "C"], "echelon": [1, 1, 1],
    ...                   "league_score": [0.8, 0.799, 0.2], "league_rank": [1.0, 2.0, 3.0],
    ...                   "compared_with": ["echelon"] * 3})
    >>> league_conclusion(t, 0.005)
    'Echelon 1: A and B share the lead (score 0.800 and 0.799, within 0.5 % of each other); C is last (0.200).'
    """
    out = []
    for e, grp in table.groupby("echelon", sort=True):
        ranked = grp.dropna(subset=["league_score"]).sort_values(
            "league_score", ascending=False, kind="stable"
        )
        if grp.get("compared_with", pd.Series(dtype=object)).eq("bank").all():
            continue
        if len(ranked) < 2:
            continue
        top = float(ranked["league_score"].iloc[0])
        leaders = ranked[
            [
                not is_material("league_score", float(s), top, materiality)
                for s in ranked["league_score"]
            ]
        ]
        if len(leaders) == len(ranked):
            out.append(
                f"Echelon {e}: all {len(ranked)} regions are level (scores within "
                f"{_pct(materiality)} of each other)."
            )
            continue
        if len(leaders) > 1:
            scores = _names([format_value("league_score", s) for s in leaders["league_score"]])
            lead = (
                f"{_names(leaders['region'].astype(str))} share the lead (score {scores}, within "
                f"{_pct(materiality)} of each other)"
            )
        else:
            lead = f"{ranked['region'].iloc[0]} leads (score {format_value('league_score', top)})"
        last = ranked.iloc[-1]
        out.append(
            f"Echelon {e}: {lead}; {last['region']} is last "
            f"({format_value('league_score', last['league_score'])})."
        )
    return " ".join(out)


def _pct(materiality: float) -> str:
    return f"{materiality * 100:.2f}".rstrip("0").rstrip(".") + " %"


def attainment_conclusion(attain: pd.DataFrame, names: Mapping[str, str]) -> str:
    """What the attainment table means: how many targets are missed, which KPI most often,
    which region most.

    Examples
    --------
    >>> a = pd.DataFrame({"region_id": ["R1", "R1", "R2", "R2"],
    ...                   "kpi": ["aum", "fee_income", "aum", "fee_income"],
    ...                   "met": [False, False, False, True]})
    >>> attainment_conclusion(a, {"R1": "North", "R2": "South"})
    '3 of 4 region targets are missed. Most often missed: Assets under management (2 of 2 regions). Most targets missed: North (2 of 2).'
    """
    if attain.empty:
        return "The data carry no region targets for this month."
    missed = ~attain["met"].astype(bool)
    text = f"{int(missed.sum())} of {len(attain)} region targets are missed."
    if not missed.any():
        return text
    by_kpi = attain.assign(missed=missed).groupby("kpi", sort=True)["missed"].agg(["sum", "size"])
    worst = by_kpi.sort_values("sum", ascending=False, kind="stable").iloc[0]
    text += (
        f" Most often missed: {kpis.get(str(worst.name)).name} ({int(worst['sum'])} of "
        f"{int(worst['size'])} regions)."
    )
    by_region = (
        attain.assign(missed=missed).groupby("region_id", sort=True)["missed"].agg(["sum", "size"])
    )
    top = by_region.sort_values("sum", ascending=False, kind="stable").iloc[0]
    text += (
        f" Most targets missed: {names.get(str(top.name), str(top.name))} "
        f"({int(top['sum'])} of {int(top['size'])})."
    )
    return text


#: Productivity KPIs the "Region and echelon" section charts.
LEVEL_KPIS: tuple[str, ...] = ("customers_per_fte", "sales_per_fte", "aum_per_fte")


def level_sentences(
    levels: pd.DataFrame,
    month: str,
    materiality: float,
    currency: str = DEFAULT_CURRENCY,
    min_group_size: int = 10,
    kpi_ids: Sequence[str] = LEVEL_KPIS,
) -> str:
    """The region's productivity at ``month`` against its echelon (or the bank when it is alone
    in its echelon) and against last month.

    Parameters
    ----------
    levels : DataFrame
        :func:`bankanalysis.report.benchmarking.level_aggregates` rows (``month, level`` and the
        KPI columns): the region first, ``"echelon <e>"`` when present, ``"whole bank"``.
    month : str
        Data month.
    materiality : float
        Tie threshold.
    currency : str
        Display currency.
    min_group_size : int
        A region with fewer customers states nothing (its figures are withheld).
    """
    region = str(levels["level"].iloc[0])
    others = [lv for lv in levels["level"].unique() if lv != region]
    against = next((lv for lv in others if str(lv).startswith("echelon")), "whole bank")
    words = "its echelon" if against != "whole bank" else "the bank"
    now = levels.loc[levels["month"] == month].set_index("level")
    earlier = sorted(m for m in levels["month"].unique() if m < month)
    before = levels.loc[levels["month"] == earlier[-1]].set_index("level") if earlier else None
    if region not in now.index or against not in now.index:
        return ""
    if "customers" in now.columns and is_small(now.at[region, "customers"], min_group_size)[()]:
        return ""
    out = []
    for k in kpi_ids:
        if k not in now.columns or is_missing(now.at[region, k]):
            continue
        out.append(
            compare_sentence(k, now.at[region, k], now.at[against, k], words, materiality, currency)
        )
        if before is not None and region in before.index and not is_missing(before.at[region, k]):
            out.append(
                change_sentence(
                    k, now.at[region, k], before.at[region, k], earlier[-1], materiality, currency
                )
            )
    return " ".join(out)


def trend_sentences(
    trends: pd.DataFrame,
    month: str,
    since: Mapping[str, str],
    materiality: float,
    currency: str = DEFAULT_CURRENCY,
    min_group_size: int = 10,
) -> str:
    """What the monthly trends mean: the bank's AUM against last month and last quarter, and
    each echelon's AUM against last month (withheld for an echelon with few customers).

    Parameters
    ----------
    trends : DataFrame
        :func:`bankanalysis.overview.monthly_trends` (``month, echelon, customers, aum``).
    month : str
        Data month.
    since : mapping
        Words -> month compared with, e.g. ``{"last month": "2026-09"}``; months absent from
        ``trends`` are skipped.
    materiality, currency, min_group_size
        Tie threshold, display currency, ``k`` of the disclosure rule.

    Examples
    --------
    >>> t = pd.DataFrame({"month": ["2026-09", "2026-09", "2026-10", "2026-10"],
    ...                   "echelon": [1, 2, 1, 2], "customers": [500, 400, 510, 5],
    ...                   "aum": [1e6, 2e6, 1.1e6, 2e6]})
    >>> trend_sentences(t, "2026-10", {"last month": "2026-09"}, 0.005)
    'The bank: Assets under management rose 100,000 CNY since last month (2026-09), to 3,100,000 CNY. Echelon 1: Assets under management rose 100,000 CNY since last month (2026-09), to 1,100,000 CNY.'
    """
    out = []
    months = set(trends["month"])
    bank = trends.groupby("month", sort=True)[["customers", "aum"]].sum(min_count=1)
    if month not in bank.index:
        return ""
    for words, m in since.items():
        if m in months and not is_small(bank.at[month, "customers"], min_group_size)[()]:
            out.append(
                "The bank: "
                + change_sentence(
                    "aum",
                    bank.at[month, "aum"],
                    bank.at[m, "aum"],
                    f"{words} ({m})",
                    materiality,
                    currency,
                )
            )
    first = next(iter(since.items()), None)
    if first is not None and first[1] in months:
        words, m = first
        by = trends.set_index(["month", "echelon"])
        for e in sorted(trends["echelon"].unique()):
            if (month, e) not in by.index or (m, e) not in by.index:
                continue
            if is_small(by.at[(month, e), "customers"], min_group_size)[()]:
                continue
            out.append(
                f"Echelon {e}: "
                + change_sentence(
                    "aum",
                    by.at[(month, e), "aum"],
                    by.at[(m, e), "aum"],
                    f"{words} ({m})",
                    materiality,
                    currency,
                )
            )
    return " ".join(out)


def paragraph(text: str) -> object:
    """``text`` as an HTML paragraph for the notebook (nothing shown when empty)."""
    import html

    from IPython.display import HTML

    return HTML(f'<p class="finding">{html.escape(text)}</p>' if text else "")


def comparison_months(month: str) -> dict[str, str]:
    """The months a narrative compares with, in words.

    Examples
    --------
    >>> comparison_months("2026-01")
    {'last month': '2025-12', 'last quarter': '2025-10'}
    """
    return {"last month": shift_month(month, -1), "last quarter": shift_month(month, -3)}
