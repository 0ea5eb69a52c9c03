"""Report shaping of the outlet report's self-service and channel section.

Part of the ``03_outlet_benchmarking`` report layer (re-exported by
:mod:`bankanalysis.report.benchmarking`): self-service sites per outlet against the plan,
device operating rates, the two replacement rates over time and their chart.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from bankanalysis.benchmarking.self_service import (
    RATE_COLUMNS,
    replacement_rates,
    self_service_by_region,
)
from bankanalysis.report.format import format_value
from bankanalysis.rules.kpis import get

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "REPLACEMENT_KPIS",
    "channel_notes",
    "device_rates",
    "plot_replacement_trends",
    "region_self_service",
    "replacement_trends",
    "self_service_sentence",
]

#: The plan's two replacement rates (the blended e-channel rate is gone).
REPLACEMENT_KPIS: tuple[str, ...] = ("outlet_replacement_rate", "accounting_replacement_rate")


def _e(text: object) -> str:
    return html.escape(str(text))


def region_self_service(
    region_month: pd.DataFrame,
    month: str,
    target_ratio: float,
    region_id: str,
    region_names: Mapping[str, str],
    has_devices: bool = True,
) -> pd.DataFrame:
    """Self-service sites per outlet of every region at ``month``, named, with ``group``.

    ``group`` is ``"this region"`` for ``region_id`` and ``"other regions"`` otherwise;
    ``ratio`` repeats ``self_service_per_outlet`` for the chart.
    """
    ss = self_service_by_region(
        region_month[region_month["month"] == month], target_ratio, has_devices
    )
    return ss.assign(
        region=ss["region_id"].map(region_names),
        group=np.where(ss["region_id"] == region_id, "this region", "other regions"),
        ratio=ss["self_service_per_outlet"],
    )


def self_service_sentence(me: pd.Series, region_name: str, target: float) -> str:
    """The region's self-service banks per outlet against the plan, or why it is unknown."""
    if pd.isna(me["self_service_per_outlet"]):
        return (
            f"{_e(region_name)}: self-service banks per outlet cannot be counted: this extract has no "
            "device data."
        )
    ratio = format_value("self_service_per_outlet", me["self_service_per_outlet"])
    head = (
        f"{_e(region_name)}: **{ratio}** self-service banks per outlet "
        f"({int(me['self_service_sites']):,} sites, {int(me['outlets']):,} outlets)"
    )
    missing = int(me["sites_missing"])
    if missing == 0:
        return f"{head}; the plan's {target:g}:1 is met."
    return f"{head}; **{missing:,}** more sites needed for {target:g}:1."


def replacement_trends(
    kpis: pd.DataFrame, region_names: Mapping[str, str]
) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """Replacement rates by region and by echelon with a ``group`` label for the legends.

    ``None`` when no outlet has a replacement rate (no transaction counts by channel, or only
    zero counts, as prepare writes them when the transactions table is absent).
    """
    if not _has_rate(kpis, "outlet_replacement_rate"):
        return None
    by_r = replacement_rates(kpis, "region_id")
    by_e = replacement_rates(kpis, "echelon")
    return (
        by_r.assign(group=by_r["region_id"].map(region_names)),
        by_e.assign(group="echelon " + by_e["echelon"].astype(str)),
    )


def _has_rate(kpis: pd.DataFrame, kpi: str) -> bool:
    """Whether the outlets have the rate's counts and at least one value of it."""
    counts = set(RATE_COLUMNS[kpi]) <= set(kpis.columns)
    return counts and kpi in kpis.columns and bool(kpis[kpi].notna().any())


def plot_replacement_trends(
    by_region: pd.DataFrame, by_echelon: pd.DataFrame, highlight: str | None = None
) -> Figure:
    """Each replacement rate over the months by region (left) and echelon (right), in %.

    ``highlight`` names the reader's region: its line is drawn thick and dark over the other
    regions' grey ones (:func:`bankanalysis.report.heatmaps.highlighted_lines`).
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import PercentFormatter

    from bankanalysis.report.heatmaps import highlighted_lines, pivot_lines

    rates = [k for k in REPLACEMENT_KPIS if k in by_region.columns]
    fig, axes = plt.subplots(len(rates), 2, figsize=(12, 3.6 * len(rates)), squeeze=False)
    for row, kpi in zip(axes, rates, strict=True):
        for ax, data, scope in ((row[0], by_region, "region"), (row[1], by_echelon, "echelon")):
            table = pivot_lines(data.dropna(subset=[kpi]), kpi)
            highlighted_lines(ax, table, highlight if scope == "region" else None)
            ax.set_title(f"{get(kpi).name} by {scope}")
            ax.set_ylabel("%")
            ax.set_xlabel("")
            ax.yaxis.set_major_formatter(PercentFormatter(1.0))
            ax.tick_params(axis="x", labelrotation=90)
            ax.legend(fontsize=7, bbox_to_anchor=(1.01, 1), loc="upper left")
    fig.tight_layout()
    return fig


def device_rates(mine: pd.DataFrame) -> pd.DataFrame | None:
    """The region's outlets with a device operating rate, lowest first (``None`` if none)."""
    if "device_operating_rate" not in mine.columns:
        return None
    dev = mine.dropna(subset=["device_operating_rate"]).sort_values("device_operating_rate")
    return None if dev.empty else dev


def channel_notes(kpis: pd.DataFrame, has_table: Callable[[str], bool] | None = None) -> list[str]:
    """Why a replacement rate is missing from the channel section (empty when both are shown).

    ``has_table`` is ``ProcessedBank.has``: it tells a missing transactions table from an
    extract whose transactions carry no channel.
    """
    if not _has_rate(kpis, "outlet_replacement_rate"):
        if has_table is not None and not has_table("transactions"):
            return [
                "This extract has no `transactions` table: neither replacement rate can be "
                "computed."
            ]
        return [
            "No outlet has transactions at the counter or on self-service devices: neither "
            "replacement rate can be computed."
        ]
    if not _has_rate(kpis, "accounting_replacement_rate"):
        return [
            "The accounting-business replacement rate needs transaction counts by kind "
            "(`txn_accounting_n`), which the prepared data do not hold; only the outlet "
            "replacement rate is shown."
        ]
    return []
