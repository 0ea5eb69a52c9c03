"""Outlet DEA: each outlet's inputs and outputs, one frontier per group, scores and peers.

The linear programs live in :mod:`bankanalysis.benchmarking.dea`; this module chooses the
data (KPI columns averaged over recent months, zero inputs offset), the frontier groups (one
per echelon by default) and combines CCR and BCC into scale efficiency. An outlet alone in its
frontier group would be efficient against itself: it is measured against the bank-wide
frontier instead (``frontier`` = ``"bank"``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from bankanalysis.benchmarking._frame import require_columns
from bankanalysis.benchmarking.dea import dea, scale_efficiency
from bankanalysis.exceptions import BenchmarkingError
from bankanalysis.rules.months import month_window

__all__ = [
    "EFFICIENT",
    "dea_inputs_outputs",
    "outlet_dea",
    "reference_peers",
]

logger = logging.getLogger(__name__)

#: Efficiency at or above this counts as on the frontier (solver tolerance).
EFFICIENT = 1 - 1e-6

#: Score columns that are NaN for an outlet with no other outlet to compare with.
_SCORE_COLUMNS = ("efficiency", "radial", "ccr", "bcc", "scale_efficiency")


def dea_inputs_outputs(
    kpis: pd.DataFrame,
    inputs: Sequence[str],
    outputs: Sequence[str],
    months: int = 6,
    input_offsets: Mapping[str, float] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Average each outlet's DEA variables over the last ``months`` months.

    Parameters
    ----------
    kpis : DataFrame
        Outlet KPIs (``bankanalysis.benchmarking.kpis.outlet_kpis``).
    inputs, outputs : sequence of str
        KPI columns used as DEA inputs and outputs.
    months : int
        Calendar months averaged, ending at the last month of ``kpis``
        (:func:`bankanalysis.rules.months.month_window`); NaN months, e.g. the first month's
        sales, are skipped.
    input_offsets : mapping, optional
        DEA needs strictly positive inputs. When some outlet has 0 (or less) in an input
        column named here, the offset is added to *every* outlet's value of that column (so
        outlets stay comparable). The default ``{"devices": 1}`` then counts the outlet's
        counter as one service point: an outlet without self-service devices enters the model
        with 1 and an outlet with 2 devices with 3. Columns without zeros are left as they are.

    Returns
    -------
    (X, Y, info)
        ``X`` and ``Y`` indexed by ``outlet_id``; ``info`` holds ``region_id, echelon,
        outlet_type`` (when present) and ``dropped`` reasons for outlets left out (an input
        still <= 0 or missing after the offset); ``info.attrs["offsets_applied"]`` says which
        offsets were used. Negative outputs (e.g. falling deposits) are clipped at 0 and
        counted in ``info["clipped_outputs"]``.
    """
    offsets = {"devices": 1.0} if input_offsets is None else dict(input_offsets)
    inputs, outputs = list(inputs), list(outputs)
    require_columns(kpis, ["month", "outlet_id", *inputs, *outputs], "outlet KPIs")
    last = month_window(str(kpis["month"].max()), months)
    cur = kpis[kpis["month"].isin(last)]
    means = cur.groupby("outlet_id", sort=True)[inputs + outputs].mean()
    X = means[inputs].copy()
    offset_applied = {}
    for c, off in offsets.items():
        if c in X and (X[c] <= 0).any():
            X[c] = X[c] + float(off)
            offset_applied[c] = float(off)
            logger.info("DEA input %s has zeros: %g added to every outlet", c, off)
    Y = means[outputs].copy()
    clipped = (Y < 0).sum(axis=1)
    Y = Y.clip(lower=0.0)
    keep_cols = [c for c in ("region_id", "echelon", "outlet_type") if c in cur.columns]
    info = cur.sort_values("month").groupby("outlet_id", sort=True)[keep_cols].last()
    info["clipped_outputs"] = clipped
    info.attrs["offsets_applied"] = offset_applied
    reason = pd.Series("", index=X.index, dtype=str)
    reason[X.isna().any(axis=1) | Y.isna().any(axis=1)] = "missing value"
    reason[(X <= 0).any(axis=1)] = "input <= 0"
    info["dropped"] = reason
    ok = reason == ""
    if (~ok).any():
        logger.warning(
            "%d outlet(s) left out of DEA, e.g. %s", int((~ok).sum()), list(X.index[~ok][:5])
        )
    return X[ok], Y[ok], info


def _models(
    X: pd.DataFrame, Y: pd.DataFrame, orientation: str, groups: pd.Series | None
) -> dict[str, object]:
    """CCR and BCC results (``"crs"``, ``"vrs"``) on the given frontiers."""
    return {r: dea(X, Y, orientation, r, groups) for r in ("crs", "vrs")}  # type: ignore[arg-type]


def outlet_dea(
    kpis: pd.DataFrame,
    inputs: Sequence[str] = ("staff_fte", "devices"),
    outputs: Sequence[str] = ("deposit_balance", "new_customers", "sales_total", "fee_income"),
    months: int = 6,
    orientation: str = "output",
    rts: str = "crs",
    frontier_by: str | None = "echelon",
    input_offsets: Mapping[str, float] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """DEA of outlets: efficiency, CCR/BCC/scale efficiency, targets, slacks and peers.

    Parameters
    ----------
    kpis : DataFrame
        Outlet KPIs (``bankanalysis.benchmarking.kpis.outlet_kpis``).
    inputs, outputs : sequence of str
        DEA variables (KPI columns).
    months : int
        Months averaged per outlet (see :func:`dea_inputs_outputs`).
    orientation : {"input", "output"}
        Orientation of the model whose targets are reported (output: how much more each
        outlet should produce with what it has).
    rts : {"crs", "vrs"}
        Returns to scale of that model (CCR or BCC).
    frontier_by : str or None
        One frontier per value of this column (default the echelon); ``None`` = one frontier.
        An outlet alone in its group is measured against the bank-wide frontier.
    input_offsets : mapping, optional
        See :func:`dea_inputs_outputs`.

    Returns
    -------
    (scores, lambdas)
        ``scores`` indexed by ``outlet_id``: ``efficiency`` (of the chosen model), ``ccr``,
        ``bcc``, ``scale_efficiency``, ``returns_to_scale``, ``slack_*``, ``target_*``,
        ``actual_*``, ``n_peers``, ``peers``, ``frontier`` (the group's value as text,
        ``"bank"`` for one bank-wide frontier or an outlet alone in its group, ``"none"`` when
        the bank has a single outlet: its scores are NaN) and the outlet's ``region_id,
        echelon, outlet_type``; ``lambdas``: ``unit, peer, weight``.
    """
    X, Y, info = dea_inputs_outputs(kpis, inputs, outputs, months, input_offsets)
    if X.empty:
        raise BenchmarkingError("no outlet has usable DEA inputs and outputs; check the data")
    if rts not in ("crs", "vrs"):
        raise BenchmarkingError(f"rts must be 'crs' (CCR) or 'vrs' (BCC), got {rts!r}")
    groups = None
    frontier = pd.Series("bank", index=X.index, dtype=object)
    if frontier_by is not None:
        if frontier_by not in info:
            raise BenchmarkingError(f"frontier_by column {frontier_by!r} is not in the outlet data")
        groups = info.loc[X.index, frontier_by]
        frontier = groups.astype(str).astype(object)
    both = _models(X, Y, orientation, groups)
    scores = {r: res.scores.drop(columns=["group"], errors="ignore") for r, res in both.items()}
    lambdas = both[rts].lambdas
    alone = (
        groups.map(groups.value_counts()).to_numpy() <= 1
        if groups is not None
        else np.zeros(len(X), dtype=bool)
    )
    if alone.any() and len(X) > 1:
        ids = X.index[alone]
        logger.info(
            "outlets alone in their %s measured on the bank frontier: %s", frontier_by, list(ids)
        )
        pooled = _models(X, Y, orientation, None)
        for r in scores:
            scores[r].loc[ids] = pooled[r].scores.loc[ids, scores[r].columns]
        pooled_lam = pooled[rts].lambdas
        lambdas = pd.concat(
            [lambdas[~lambdas["unit"].isin(ids)], pooled_lam[pooled_lam["unit"].isin(ids)]],
            ignore_index=True,
        )
        frontier[ids] = "bank"
    summ = scale_efficiency(scores["crs"]["efficiency"], scores["vrs"]["efficiency"])
    out = scores[rts].join(summ).join(info.drop(columns=["dropped"]))
    for c in inputs:
        out[f"actual_{c}"] = X[c]
    for c in outputs:
        out[f"actual_{c}"] = Y[c]
    out["frontier"] = frontier
    if len(X) == 1:
        logger.warning("one outlet with usable DEA data: no frontier to compare it with")
        out["frontier"] = "none"
        out[list(_SCORE_COLUMNS)] = np.nan
        lambdas = lambdas.iloc[0:0]
    out.index.name = "outlet_id"
    return out, lambdas.reset_index(drop=True)


def reference_peers(lambdas: pd.DataFrame, unit_ids: Sequence[str]) -> pd.DataFrame:
    """The frontier peers of ``unit_ids`` with their weights, largest first per unit.

    Returns
    -------
    DataFrame
        ``unit, peer, weight`` (empty, with these columns, when ``unit_ids`` is empty, e.g.
        every outlet of the region is on the frontier).
    """
    w = lambdas[lambdas["unit"].isin(list(unit_ids))][["unit", "peer", "weight"]]
    return w.sort_values(["unit", "weight"], ascending=[True, False], kind="stable").reset_index(
        drop=True
    )
