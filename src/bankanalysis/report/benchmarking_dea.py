"""Report shaping of the outlet report's DEA section: notes, tables, reference peers.

Part of the ``03_outlet_benchmarking`` report layer (re-exported by
:mod:`bankanalysis.report.benchmarking`); the DEA itself is
:mod:`bankanalysis.benchmarking.frontier`.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from bankanalysis.benchmarking.frontier import EFFICIENT, reference_peers
from bankanalysis.report.format import format_value, kpi_label
from bankanalysis.report.tables import KpiTable, style_table

__all__ = [
    "DEA_MEASURES",
    "dea_frontier_notes",
    "dea_notes",
    "dea_reference_peers",
    "dea_scores_long",
    "dea_target_items",
    "dea_targets_table",
    "region_dea",
]

#: DEA measures and their labels in the efficiency chart.
DEA_MEASURES: dict[str, str] = {
    "ccr": "CCR (constant returns)",
    "bcc": "BCC (variable returns)",
    "scale_efficiency": "scale efficiency",
}


def _e(text: object) -> str:
    return html.escape(str(text))


def dea_notes(info: pd.DataFrame) -> list[str]:
    """What the reader must know about the DEA data (``dea_inputs_outputs`` ``info``).

    One note per input offset applied, one for outlets left out and one for outlets whose
    mean output was negative; empty when nothing happened.
    """
    notes = [
        f"Some outlets have no `{col}`; DEA needs positive inputs, so {off:g} was added to "
        f"every outlet's `{col}` (the counter counts as one service point)."
        for col, off in info.attrs.get("offsets_applied", {}).items()
    ]
    dropped = int((info["dropped"] != "").sum())
    if dropped:
        notes.append(f"{dropped} outlet(s) left out of DEA (missing or non-positive inputs).")
    if info["clipped_outputs"].sum():
        clipped = int((info["clipped_outputs"] > 0).sum())
        notes.append(f"{clipped} outlet(s) had a negative mean output (clipped at 0).")
    return notes


def region_dea(scores: pd.DataFrame, region_id: str, names: Mapping[str, str]) -> pd.DataFrame:
    """The region's rows of the outlet DEA scores with the outlet's ``outlet`` name."""
    d = scores[scores["region_id"] == region_id]
    return d.assign(outlet=d.index.map(names))


def dea_frontier_notes(d: pd.DataFrame, frontier_by: str | None) -> list[str]:
    """Sentences naming outlets measured on the bank-wide frontier instead of their group's."""
    if frontier_by is None:
        return []
    notes = [
        f"{_e(row.outlet)} is the only outlet of its {frontier_by.replace('_', ' ')} with DEA data, "
        "so it is measured against the bank-wide frontier."
        for row in d[d["frontier"] == "bank"].itertuples()
    ]
    notes += [
        f"{_e(row.outlet)} is the only outlet with DEA data: there is no frontier to measure it on."
        for row in d[d["frontier"] == "none"].itertuples()
    ]
    return notes


def dea_scores_long(d: pd.DataFrame) -> pd.DataFrame:
    """CCR, BCC and scale efficiency per outlet in long form (``outlet, measure, score``).

    Outlets in increasing CCR order; measures labelled by :data:`DEA_MEASURES`.
    """
    return (
        d.sort_values("ccr")
        .rename(columns=DEA_MEASURES)
        .melt(
            id_vars="outlet",
            value_vars=list(DEA_MEASURES.values()),
            var_name="measure",
            value_name="score",
        )
    )


def dea_targets_table(
    d: pd.DataFrame, lagging_ids: Sequence[str], outputs: Sequence[str], currency: str
) -> KpiTable:
    """Outlets below the DEA frontier or lagging their peers, with their output targets.

    Parameters
    ----------
    d : DataFrame
        :func:`region_dea` output.
    lagging_ids : sequence of str
        Outlets lagging their peers' moving average.
    outputs : sequence of str
        DEA outputs (KPI ids).
    currency : str
        Currency of money outputs.

    Returns
    -------
    KpiTable
        ``outlet``, DEA efficiency, ``lagging`` (yes/no) and ``<output> now`` /
        ``<output> target`` per output; least efficient first. Its ``frame`` is indexed by
        ``outlet_id``.
    """
    d = d.assign(lagging=d.index.isin(list(lagging_ids)))
    behind = d[(d["efficiency"] < EFFICIENT) | d["lagging"]].sort_values("efficiency")
    frame = pd.DataFrame({"outlet": behind["outlet"].astype(str)}, index=behind.index)
    frame[kpi_label("dea_efficiency")] = [
        format_value("dea_efficiency", v) for v in behind["efficiency"]
    ]
    frame["lagging"] = behind["lagging"].map({True: "yes", False: "no"})
    for c in outputs:
        label = kpi_label(c, currency)
        for col, word in ((f"actual_{c}", "now"), (f"target_{c}", "target")):
            frame[f"{label} {word}"] = [
                format_value(c, v, currency, unit=False) for v in behind[col]
            ]
    return KpiTable(frame)


def dea_reference_peers(
    lambdas: pd.DataFrame, unit_ids: Sequence[str], names: Mapping[str, str]
) -> pd.DataFrame | None:
    """``outlet, peer (weight)``: each unit's frontier peers as ``"name (0.42), ..."``.

    ``None`` when ``unit_ids`` is empty (every outlet of the region on the frontier and none
    lagging): there are no reference peers to show.
    """
    w = reference_peers(lambdas, unit_ids)
    if w.empty:
        return None
    w = w.assign(
        outlet=w["unit"].map(names).astype(str),
        label=[f"{names.get(p, p)} ({v:.2f})" for p, v in zip(w["peer"], w["weight"], strict=True)],
    )
    order = {u: i for i, u in enumerate(unit_ids)}
    w = w.sort_values("unit", key=lambda s: s.map(order), kind="stable")
    out = w.groupby("outlet", sort=False)["label"].agg(", ".join).reset_index()
    return out.rename(columns={"label": "peer (weight)"})


def dea_target_items(behind: KpiTable, peers_table: pd.DataFrame | None, months: int) -> list[Any]:
    """The DEA targets table and the reference peers, or why there are none."""
    if behind.frame.empty:
        return [
            "Every outlet of the region is on its DEA frontier and none lags its peers' moving "
            "average: there are no output targets or reference peers to show."
        ]
    items: list[Any] = [
        "Outlets below the frontier or lagging their peers' moving average (*lagging*), with "
        f"the monthly output (mean of the last {months} months) that would put them on the "
        "frontier:",
        behind,
    ]
    if peers_table is not None:
        items += [
            "Reference peers: the frontier outlets each one is compared with, and their weights:",
            style_table(peers_table).hide(axis="index"),
        ]
    return items
