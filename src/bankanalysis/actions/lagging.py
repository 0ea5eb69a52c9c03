"""The lagging-outlet action table: who is below its peers, by how much, and what to aim for.

An outlet is on the table when, at the data month, its value of the compared KPI is below its
peer group's trailing moving average or below the group's per-outlet average that month (the
plan's "点均"), both from :func:`bankanalysis.benchmarking.peers.moving_average_gaps` (an
outlet alone in its peer group is compared with the whole bank there, ``basis`` ``"bank"``).
Each row carries the gaps in the KPI's unit, the months it has been below, and, from the DEA
(:func:`bankanalysis.benchmarking.frontier.outlet_dea`), the level of the KPI that would put the
outlet on its frontier and its reference peers.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from bankanalysis.benchmarking.frontier import reference_peers
from bankanalysis.exceptions import AnalysisError

__all__ = ["LAGGING_COLUMNS", "dea_kpi_target", "lagging_actions"]

logger = logging.getLogger(__name__)

#: Columns of :func:`lagging_actions`, in order.
LAGGING_COLUMNS: tuple[str, ...] = (
    "outlet_id",
    "kpi",
    "value",
    "basis",
    "peer_ma",
    "gap_to_ma",
    "peer_mean",
    "gap_to_mean",
    "months_below",
    "months_below_mean",
    "lagging",
    "dea_actual",
    "dea_target",
    "dea_efficiency",
    "reference_peers",
)


def dea_kpi_target(scores: pd.DataFrame, kpi: str) -> tuple[pd.DataFrame, str | None]:
    """The DEA's actual and frontier level of ``kpi`` per outlet, or why there is none.

    A DEA output has its target directly (``target_<kpi>``). A per-FTE KPI ``<x>_per_fte``
    whose numerator ``<x>`` (``sales_total`` for ``sales_per_fte``) is a DEA output is that
    output's target divided by the outlet's staff FTE: the productivity it would reach on the
    frontier with the staff it has. Both are means over the DEA months.

    Parameters
    ----------
    scores : DataFrame
        :func:`bankanalysis.benchmarking.frontier.outlet_dea` scores (indexed by outlet id).
    kpi : str
        The compared KPI id.

    Returns
    -------
    (DataFrame, str or None)
        ``actual, target`` indexed like ``scores`` (NaN when not derivable) and the reason when
        the KPI has no DEA target (``None`` when it has one).

    Examples
    --------
    >>> s = pd.DataFrame({"actual_sales_total": [40.0], "target_sales_total": [50.0],
    ...                   "actual_staff_fte": [4.0]}, index=["O1"])
    >>> dea_kpi_target(s, "sales_per_fte")[0].loc["O1"].tolist()
    [10.0, 12.5]
    """
    out = pd.DataFrame(index=scores.index, columns=["actual", "target"], dtype="float64")
    if f"target_{kpi}" in scores.columns:
        out["actual"] = scores[f"actual_{kpi}"].astype("float64")
        out["target"] = scores[f"target_{kpi}"].astype("float64")
        return out, None
    if kpi.endswith("_per_fte"):
        base = kpi.removesuffix("_per_fte")
        base = {"sales": "sales_total"}.get(base, base)
        if f"target_{base}" in scores.columns and "actual_staff_fte" in scores.columns:
            fte = scores["actual_staff_fte"].astype("float64").where(lambda s: s > 0)
            out["actual"] = scores[f"actual_{base}"].astype("float64") / fte
            out["target"] = scores[f"target_{base}"].astype("float64") / fte
            return out, None
        return out, f"its numerator ({base}) is not a DEA output or staff FTE is not a DEA input"
    return out, f"{kpi} is not a DEA output"


def _run_below(flags: pd.Series) -> int:
    """Consecutive True values at the end of ``flags`` (in month order)."""
    values = flags.to_numpy(dtype=bool)[::-1]
    return len(values) if values.all() else int(np.argmin(values))


def lagging_actions(
    ma: pd.DataFrame,
    month: str,
    kpi: str,
    lagging_months: int = 3,
    dea_scores: pd.DataFrame | None = None,
    dea_lambdas: pd.DataFrame | None = None,
    outlets: Sequence[str] | None = None,
) -> tuple[pd.DataFrame, str | None]:
    """Outlets below their peers' moving average or per-outlet average at ``month``.

    Parameters
    ----------
    ma : DataFrame
        :func:`bankanalysis.benchmarking.peers.moving_average_gaps` of ``kpi`` (every month up
        to ``month``; ``value, basis, peer_mean, peer_ma, gap, below``).
    month : str
        The data month.
    kpi : str
        The KPI compared (the ``ma_kpi`` parameter), carried in the ``kpi`` column.
    lagging_months : int
        An outlet *lags* when below the moving average in each of the last this many months
        (as :func:`bankanalysis.benchmarking.peers.lagging_outlets`).
    dea_scores, dea_lambdas : DataFrame, optional
        :func:`bankanalysis.benchmarking.frontier.outlet_dea` output; without it the DEA
        columns are NaN / empty.
    outlets : sequence of str, optional
        Restrict the table to these outlets (e.g. the region's).

    Returns
    -------
    (DataFrame, str or None)
        :data:`LAGGING_COLUMNS`, one row per outlet below either average at ``month``, sorted
        by ``gap_to_ma`` then ``gap_to_mean`` (largest shortfall first): ``gap_to_ma`` =
        value - peer_ma and ``gap_to_mean`` = value - peer_mean in the KPI's unit;
        ``months_below`` / ``months_below_mean``: consecutive months up to ``month`` below the
        moving average / the per-outlet average; ``lagging`` = ``months_below >=
        lagging_months``; ``dea_actual`` / ``dea_target``: the KPI's mean over the DEA months
        and the level on the frontier (:func:`dea_kpi_target`); ``dea_efficiency``;
        ``reference_peers``: tuple of frontier outlet ids, largest weight first (the outlet
        itself left out). Outlets with no comparison (basis ``"none"``) are left out. The
        second item says why the DEA columns are empty, when they are.
    """
    need = ["month", "outlet_id", "value", "basis", "peer_mean", "peer_ma"]
    missing = [c for c in need if c not in ma.columns]
    if missing:
        raise AnalysisError(
            f"lagging_actions: moving-average frame lacks {missing}; pass "
            "benchmarking.peers.moving_average_gaps() output"
        )
    if int(lagging_months) < 1:
        raise AnalysisError(f"lagging_months must be at least 1, got {lagging_months}")
    hist = ma[ma["month"].astype(str) <= month]
    if outlets is not None:
        hist = hist[hist["outlet_id"].isin(list(outlets))]
    hist = hist.sort_values(["outlet_id", "month"], kind="stable")
    hist = hist.assign(
        below_ma=(hist["value"] < hist["peer_ma"]).to_numpy(),
        below_mean=(hist["value"] < hist["peer_mean"]).to_numpy(),
    )
    now = hist[(hist["month"].astype(str) == month) & (hist["basis"] != "none")]
    now = now[now["below_ma"] | now["below_mean"]]
    runs = hist[hist["outlet_id"].isin(now["outlet_id"])].groupby("outlet_id", sort=True)
    out = pd.DataFrame(
        {
            "outlet_id": now["outlet_id"].astype(str).to_numpy(),
            "kpi": kpi,
            "value": now["value"].to_numpy(dtype="float64"),
            "basis": now["basis"].astype(str).to_numpy(),
            "peer_ma": now["peer_ma"].to_numpy(dtype="float64"),
            "peer_mean": now["peer_mean"].to_numpy(dtype="float64"),
        }
    )
    out["gap_to_ma"] = out["value"] - out["peer_ma"]
    out["gap_to_mean"] = out["value"] - out["peer_mean"]
    below_ma = runs["below_ma"].apply(_run_below) if len(out) else pd.Series(dtype="int64")
    below_mean = runs["below_mean"].apply(_run_below) if len(out) else pd.Series(dtype="int64")
    out["months_below"] = out["outlet_id"].map(below_ma).fillna(0).astype("int64")
    out["months_below_mean"] = out["outlet_id"].map(below_mean).fillna(0).astype("int64")
    out["lagging"] = out["months_below"] >= int(lagging_months)
    reason: str | None = None
    if dea_scores is None:
        reason = "no DEA scores"
        out["dea_actual"] = np.nan
        out["dea_target"] = np.nan
        out["dea_efficiency"] = np.nan
        out["reference_peers"] = [() for _ in range(len(out))]
    else:
        levels, reason = dea_kpi_target(dea_scores, kpi)
        ids = out["outlet_id"]
        out["dea_actual"] = levels["actual"].reindex(ids).to_numpy(dtype="float64")
        out["dea_target"] = levels["target"].reindex(ids).to_numpy(dtype="float64")
        eff = dea_scores["efficiency"] if "efficiency" in dea_scores.columns else None
        out["dea_efficiency"] = (
            np.nan if eff is None else eff.reindex(ids).to_numpy(dtype="float64")
        )
        peers = (
            reference_peers(dea_lambdas, ids.tolist())
            if dea_lambdas is not None
            else pd.DataFrame(columns=["unit", "peer", "weight"])
        )
        peers = peers[peers["unit"] != peers["peer"]]
        named = peers.groupby("unit", sort=False)["peer"].agg(lambda s: tuple(map(str, s)))
        out["reference_peers"] = [named.get(o, ()) for o in ids]
    out = out.sort_values(["gap_to_ma", "gap_to_mean", "outlet_id"], kind="stable")
    return out[list(LAGGING_COLUMNS)].reset_index(drop=True), reason
