"""Report shaping of the outlet report's peer sections: ranks, gaps, moving averages.

Part of the ``03_outlet_benchmarking`` report layer (re-exported by
:mod:`bankanalysis.report.benchmarking`); the comparisons themselves are
:mod:`bankanalysis.benchmarking.peers`.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from bankanalysis.benchmarking.peers import KpiSelection, lagging_outlets, peer_ranks
from bankanalysis.report.format import format_change, kpi_label
from bankanalysis.report.tables import KpiTable
from bankanalysis.rules.kpis import KPIS, get
from bankanalysis.rules.materiality import materiality_note

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "lagging_sentence",
    "moving_average_notes",
    "moving_average_position",
    "peer_basis_notes",
    "peer_gap_table",
    "peer_kpi_notes",
    "peer_rank_grid",
    "percentile_grid",
    "plot_lagging_trends",
    "region_lagging",
    "region_peer_ranks",
]


#: Columns of :func:`~bankanalysis.benchmarking.peers.lagging_outlets`.
_LAG_COLUMNS = ["outlet_id", "months_below", "last_value", "last_peer_ma", "last_gap", "mean_gap_k"]


def _e(text: object) -> str:
    return html.escape(str(text))


def _name(kpi: str) -> str:
    return KPIS[kpi].name if kpi in KPIS else kpi


def peer_kpi_notes(
    selection: KpiSelection, has_table: Callable[[str], bool] | None = None
) -> list[str]:
    """Sentences on the KPIs left out of the peer comparison (and renamed ones).

    Parameters
    ----------
    selection : KpiSelection
        :func:`bankanalysis.benchmarking.peers.select_kpis` output.
    has_table : callable, optional
        Whether the extract had a raw table (``ProcessedBank.has``): a KPI whose table is
        missing is said to need it, whatever the prepared columns hold (prepare writes 0
        counts for an absent transactions table).
    """
    notes = [
        f"`{old}` is no longer computed: it was replaced by {_name(new)}."
        for old, new in selection.renamed.items()
    ]
    for kpi, why in selection.dropped.items():
        name = _name(kpi)
        needs = get(kpi).needs if kpi in KPIS else ()
        lacking = [t for t in needs if has_table is not None and not has_table(t)]
        if why == "not computed" and needs and not lacking:
            lacking = list(needs)
        if lacking:
            tables = ", ".join(f"`{t}`" for t in lacking)
            notes.append(f"{name} is left out: it needs {tables}, which this extract lacks.")
        elif why == "not computed":
            notes.append(f"`{kpi}` is left out: it is not an outlet KPI of this report.")
        else:
            notes.append(f"{name} is left out: no outlet has a value this month.")
    return notes


def region_peer_ranks(
    kpis: pd.DataFrame,
    peer_kpis: Sequence[str],
    peer_by: Sequence[str],
    month: str,
    mine: pd.DataFrame,
    materiality: float = 0.0,
) -> pd.DataFrame:
    """Peer ranks at ``month`` (peers across the bank) of the outlets in ``mine``, named.

    Figures within ``materiality`` of each other share their percentile. Without KPIs to rank
    (all left out) the result is empty, with the columns.
    """
    ranks = peer_ranks(kpis, peer_kpis, peer_by, month, materiality)
    names = dict(zip(mine["outlet_id"], mine["outlet"], strict=True))
    ranks = ranks[ranks["outlet_id"].isin(mine["outlet_id"])]
    out = ranks.assign(outlet=ranks["outlet_id"].map(names))
    out.attrs["materiality"] = materiality
    return out


def peer_basis_notes(ranks: pd.DataFrame, n_outlets: int) -> list[str]:
    """Sentences naming the outlets compared with the bank rather than with peers."""
    notes = []
    first = ranks.drop_duplicates("outlet_id")
    for row in first[first["basis"] != "peers"].itertuples():
        if row.basis == "bank":
            notes.append(
                f"{_e(row.outlet)} is the only outlet of its peer group ({_e(row.peer_group)}), so it "
                f"is compared with all {n_outlets} outlets of the bank."
            )
        else:
            notes.append(f"{_e(row.outlet)} has no other outlet to be compared with.")
    if ranks.attrs.get("materiality"):
        notes.append(materiality_note(float(ranks.attrs["materiality"])))
    return notes


def peer_rank_grid(ranks: pd.DataFrame, kpis: Sequence[str], value: str) -> pd.DataFrame:
    """Outlet (name) x KPI grid of one peer-rank column, KPIs in the given order."""
    return ranks.pivot(index="outlet", columns="kpi", values=value)[list(kpis)]


def peer_gap_table(ranks: pd.DataFrame, kpis: Sequence[str], currency: str) -> KpiTable:
    """Gap to the peer median per outlet and KPI, as signed changes (shares in pp); the
    withheld gaps of :func:`~bankanalysis.report.disclosure.hide_outlet_ranks` as markers."""
    gaps = peer_rank_grid(ranks, kpis, "gap_shown" if "gap_shown" in ranks else "gap_to_median")
    frame = pd.DataFrame({"outlet": gaps.index.astype(str)})
    for k in kpis:
        # a share's change carries its unit ("+1.2 pp") in the cell
        header = _name(k) if get(k).unit == "share" else kpi_label(k, currency)
        frame[header] = [format_change(k, v, currency, unit=False) for v in gaps[k]]
    return KpiTable(frame)


def moving_average_position(ma: pd.DataFrame, month: str, names: Mapping[str, str]) -> pd.DataFrame:
    """Each outlet's gap to its peers' moving average at ``month``, smallest gap first.

    Returns
    -------
    DataFrame
        Moving-average rows of ``month`` with ``outlet`` (name) and ``position``
        (``"below the peers' average"`` or ``"at or above"``); outlets without a comparison
        (basis ``"none"``) are left out.
    """
    now = ma[(ma["month"] == month) & (ma["basis"] != "none")]
    now = now.assign(outlet=now["outlet_id"].map(names)).sort_values("gap")
    return now.assign(
        position=now["below"].map({True: "below the peers' average", False: "at or above"})
    )


def moving_average_notes(ma: pd.DataFrame, month: str, names: Mapping[str, str]) -> list[str]:
    """Sentences naming outlets measured against the bank's average (alone in their group)."""
    now = ma[ma["month"] == month]
    notes = []
    for row in now[now["basis"] == "bank"].itertuples():
        notes.append(
            f"{_e(names.get(row.outlet_id, row.outlet_id))} has no peer of its own type and echelon,"
            " so it is measured against the moving average of every outlet of the bank."
        )
    for row in now[now["basis"] == "none"].itertuples():
        notes.append(
            f"{_e(names.get(row.outlet_id, row.outlet_id))} has no outlet to compare with."
        )
    return notes


def region_lagging(ma: pd.DataFrame, months: int) -> tuple[pd.DataFrame, int, str | None]:
    """The lagging outlets of ``ma``, the months required and, for a short extract, a note.

    With fewer months of data than ``months`` (the ``lagging_months`` parameter) an outlet
    lags when it was below its peers' average in every month of the data, and the note says
    so; with no month at all nothing lags.

    Returns
    -------
    (DataFrame, int, str or None)
        :func:`~bankanalysis.benchmarking.peers.lagging_outlets` output, the months used and
        the note.
    """
    n = int(ma["month"].nunique())
    if n == 0:
        empty = pd.DataFrame(columns=_LAG_COLUMNS)
        return empty, 0, "No month has a value of the compared KPI: no outlet can be said to lag."
    if n < months:
        note = (
            f"The data hold {n} month(s), fewer than the {months} asked for: an outlet lags here "
            f"when it was below its peers' average in each of the {n}."
        )
        return lagging_outlets(ma, n), n, note
    return lagging_outlets(ma, months), months, None


def lagging_sentence(n_lagging: int, n_outlets: int, months: int) -> str:
    """How many of the region's outlets lag their peers' moving average."""
    if months <= 0:
        return "No outlet can be compared with its peers' moving average."
    return (
        f"**{n_lagging}** of {n_outlets} outlets were below their peers' moving average in each "
        f"of the last {months} months."
    )


def percentile_grid(ranks: pd.DataFrame, kpis: Sequence[str]) -> pd.DataFrame:
    """Outlet x KPI name grid of percentile ranks among peers (for the heat map)."""
    return peer_rank_grid(ranks, kpis, "percentile").rename(columns=_name)


def plot_lagging_trends(
    ma: pd.DataFrame,
    outlet_ids: Sequence[str],
    names: Mapping[str, str] | None = None,
    unit: str = "",
    ncols: int = 3,
) -> Figure:
    """Small multiples: each lagging outlet's monthly value against its peers' moving average.

    Parameters
    ----------
    ma : DataFrame
        Output of :func:`bankanalysis.benchmarking.peers.moving_average_gaps`.
    outlet_ids : sequence of str
        Outlets to draw (e.g. the lagging ones).
    names : mapping, optional
        Display name per outlet id (Chinese names render with the project theme).
    unit : str
        Unit of the KPI for the y axis label.
    ncols : int
        Charts per row.
    """
    import matplotlib.pyplot as plt

    names = dict(names or {})
    n = max(len(outlet_ids), 1)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(3.2 * ncols, 2.4 * nrows), squeeze=False, sharex=True
    )
    for ax in axes.flat[len(outlet_ids) :]:
        ax.set_visible(False)
    for ax, oid in zip(axes.flat, outlet_ids, strict=False):
        g = ma[ma["outlet_id"] == oid].sort_values("month")
        ax.plot(g["month"], g["value"], marker="o", ms=3, label="outlet")
        ax.plot(g["month"], g["peer_ma"], ls="--", color="grey", label="peer moving average")
        ax.set_title(names.get(oid, str(oid)), fontsize=10)
        ax.tick_params(axis="x", labelrotation=90, labelsize=7)
        ax.set_ylabel(unit, fontsize=8)
    if len(outlet_ids):
        axes.flat[0].legend(fontsize=7)
    fig.tight_layout()
    return fig
