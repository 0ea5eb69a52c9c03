"""How good is a propensity ranking: AUC, PR AUC, lift, gains, calibration (pure functions).

The per-product tables of a bundle's out-of-time scores (:func:`evaluation_table`,
:func:`gains_by_product`, :func:`calibration_by_product`) are at the end.

Every function takes binary outcomes ``y`` (0/1) and scores ``s`` (any real numbers for
ranking metrics, probabilities in [0, 1] for calibration metrics) and returns plain numbers
or small DataFrames. Ties in the ranking are broken by input order (stable sort), so the
figures are deterministic.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import pandas as pd

__all__ = [
    "EVALUATION_TABLE_COLUMNS",
    "INTERVAL_COLUMNS",
    "bootstrap_intervals",
    "brier_score",
    "calibration_by_product",
    "calibration_table",
    "capture_rate",
    "evaluate_scores",
    "evaluation_table",
    "expected_calibration_error",
    "gains_by_product",
    "gains_curve",
    "pr_auc",
    "roc_auc",
    "top_fraction_lift",
]

logger = logging.getLogger(__name__)


def _arrays(y: object, s: object) -> tuple[np.ndarray, np.ndarray]:
    ya = np.asarray(y, dtype=np.float64).ravel()
    sa = np.asarray(s, dtype=np.float64).ravel()
    if ya.shape != sa.shape:
        raise ValueError(f"y and scores differ in length: {ya.shape[0]} vs {sa.shape[0]}")
    return ya, sa


def roc_auc(y: object, s: object) -> float:
    """Area under the ROC curve (ties count one half); NaN with a single class.

    Examples
    --------
    >>> roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    """
    ya, sa = _arrays(y, s)
    n_pos = float(ya.sum())
    n_neg = float(ya.size - n_pos)
    if n_pos == 0 or n_neg == 0:
        return math.nan
    ranks = pd.Series(sa).rank(method="average").to_numpy()
    return float((ranks[ya == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def pr_auc(y: object, s: object) -> float:
    """Area under the precision-recall curve as average precision; NaN without positives.

    Examples
    --------
    >>> round(pr_auc([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1]), 4)
    0.8333
    """
    from sklearn.metrics import average_precision_score

    ya, sa = _arrays(y, s)
    if ya.sum() == 0:
        return math.nan
    return float(average_precision_score(ya, sa))


def _top_mask(sa: np.ndarray, fraction: float) -> np.ndarray:
    n_top = int(math.ceil(fraction * sa.size))
    order = np.argsort(-sa, kind="stable")
    mask = np.zeros(sa.size, dtype=bool)
    mask[order[:n_top]] = True
    return mask


def top_fraction_lift(y: object, s: object, fraction: float = 0.1) -> float:
    """Buyer rate among the top ``fraction`` by score divided by the overall buyer rate.

    The top group is the first ``ceil(fraction * n)`` rows by descending score.

    Examples
    --------
    >>> top_fraction_lift([1, 0, 0, 0, 0, 0, 0, 0, 0, 1], [9, 8, 7, 6, 5, 4, 3, 2, 1, 0])
    5.0
    """
    ya, sa = _arrays(y, s)
    if ya.size == 0 or ya.sum() == 0:
        return math.nan
    mask = _top_mask(sa, fraction)
    return float(ya[mask].mean() / ya.mean())


def capture_rate(y: object, s: object, fraction: float = 0.1) -> float:
    """Share of all buyers found in the top ``fraction`` by score.

    Examples
    --------
    >>> capture_rate([1, 0, 0, 0, 0, 0, 0, 0, 0, 1], [9, 8, 7, 6, 5, 4, 3, 2, 1, 0])
    0.5
    """
    ya, sa = _arrays(y, s)
    if ya.sum() == 0:
        return math.nan
    return float(ya[_top_mask(sa, fraction)].sum() / ya.sum())


def gains_curve(y: object, s: object, n_points: int = 20) -> pd.DataFrame:
    """Cumulative gains: share of buyers captured when contacting the top x% by score.

    Parameters
    ----------
    y, s : array-like
        Outcomes and scores.
    n_points : int
        Number of equally spaced contact shares (plus the origin).

    Returns
    -------
    DataFrame
        ``share_contacted`` (0..1), ``share_of_buyers`` (0..1), ``random`` (the diagonal).
    """
    ya, sa = _arrays(y, s)
    order = np.argsort(-sa, kind="stable")
    cum = np.concatenate([[0.0], np.cumsum(ya[order])])
    total = cum[-1] if cum[-1] > 0 else math.nan
    shares = np.linspace(0.0, 1.0, n_points + 1)
    idx = np.ceil(shares * ya.size).astype(int)
    return pd.DataFrame(
        {"share_contacted": shares, "share_of_buyers": cum[idx] / total, "random": shares}
    )


def calibration_table(y: object, p: object, n_bins: int = 10) -> pd.DataFrame:
    """Observed buyer rate against mean predicted probability in equal-width bins of [0, 1].

    Returns
    -------
    DataFrame
        One row per non-empty bin: ``bin``, ``n``, ``mean_predicted``, ``observed_rate``.
    """
    ya, pa = _arrays(y, p)
    bins = np.clip((pa * n_bins).astype(int), 0, n_bins - 1)
    df = pd.DataFrame({"bin": bins, "y": ya, "p": pa})
    out = (
        df.groupby("bin", observed=True)
        .agg(n=("y", "size"), mean_predicted=("p", "mean"), observed_rate=("y", "mean"))
        .reset_index()
    )
    return out


def expected_calibration_error(y: object, p: object, n_bins: int = 10) -> float:
    """Expected calibration error: sum over bins of (bin share) x |observed - predicted|.

    Examples
    --------
    >>> expected_calibration_error([0, 1, 0, 1], [0.05, 0.05, 0.95, 0.95])
    0.45
    """
    ya, pa = _arrays(y, p)
    if ya.size == 0:
        return math.nan
    t = calibration_table(ya, pa, n_bins)
    gap = (t["observed_rate"] - t["mean_predicted"]).abs()
    return float(round((t["n"] / ya.size * gap).sum(), 12))


def brier_score(y: object, p: object) -> float:
    """Mean squared difference between outcome and probability.

    Examples
    --------
    >>> brier_score([0, 1], [0.2, 0.6])
    0.1
    """
    ya, pa = _arrays(y, p)
    return float(round(np.mean((ya - pa) ** 2), 12)) if ya.size else math.nan


def evaluate_scores(y: object, p: object, fraction: float = 0.1, n_bins: int = 10) -> dict:
    """Every evaluation figure of one product's scores.

    Returns
    -------
    dict
        ``n``, ``buyers``, ``base_rate``, ``auc``, ``pr_auc``, ``lift`` (top ``fraction``),
        ``capture`` (share of buyers in the top ``fraction``), ``brier``, ``ece``.
    """
    ya, pa = _arrays(y, p)
    return {
        "n": int(ya.size),
        "buyers": int(ya.sum()),
        "base_rate": float(ya.mean()) if ya.size else math.nan,
        "auc": roc_auc(ya, pa),
        "pr_auc": pr_auc(ya, pa),
        "lift": top_fraction_lift(ya, pa, fraction),
        "capture": capture_rate(ya, pa, fraction),
        "brier": brier_score(ya, pa),
        "ece": expected_calibration_error(ya, pa, n_bins),
    }


# --------------------------------------------------------------------------- bootstrap

#: Figures of :func:`bootstrap_intervals`, in order.
INTERVAL_COLUMNS: tuple[str, ...] = ("auc_low", "auc_high", "lift_low", "lift_high")


def _level_counts(ya: np.ndarray, sa: np.ndarray, max_levels: int) -> tuple[np.ndarray, np.ndarray]:
    """Buyers and non-buyers per distinct score, ascending; at most ``max_levels`` levels.

    More distinct scores than ``max_levels`` (uncalibrated or sigmoid scores) are merged into
    ``max_levels`` groups of neighbouring scores by rank (equal scores stay together).
    """
    _, inv, counts = np.unique(sa, return_inverse=True, return_counts=True)
    if counts.size > max_levels:
        start = np.cumsum(counts) - counts  # rank of each distinct score's first row
        inv = (start * max_levels // sa.size)[inv]
    pos = np.bincount(inv, weights=ya).astype(np.int64)
    neg = np.bincount(inv).astype(np.int64) - pos
    keep = (pos + neg) > 0
    return pos[keep], neg[keep]


def _auc_from_levels(pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """AUC of each row of per-level counts (levels in ascending score; ties count one half)."""
    below = np.cumsum(neg, axis=-1) - neg
    n_pos = pos.sum(axis=-1)
    n_neg = neg.sum(axis=-1)
    return (pos * (below + 0.5 * neg)).sum(axis=-1) / (n_pos * n_neg)


def _lift_from_levels(pos: np.ndarray, neg: np.ndarray, fraction: float) -> np.ndarray:
    """Top-``fraction`` lift of each row of per-level counts (levels ascending).

    The top group is the ``ceil(fraction * n)`` highest-scored rows; a level cut by the boundary
    contributes its buyers pro rata (the expected value over orders of its tied rows).
    """
    pos, neg = pos[..., ::-1].astype(np.float64), neg[..., ::-1].astype(np.float64)
    total = pos + neg
    n = total.sum(axis=-1)
    n_top = np.ceil(fraction * n)
    cum = np.cumsum(total, axis=-1)
    edge = np.argmax(cum >= n_top[..., None], axis=-1)[..., None]
    before = np.take_along_axis(cum - total, edge, axis=-1)[..., 0]
    pos_before = np.take_along_axis(np.cumsum(pos, axis=-1) - pos, edge, axis=-1)[..., 0]
    edge_pos = np.take_along_axis(pos, edge, axis=-1)[..., 0]
    edge_total = np.take_along_axis(total, edge, axis=-1)[..., 0]
    buyers = pos_before + edge_pos * (n_top - before) / edge_total
    return (buyers / n_top) / (pos.sum(axis=-1) / n)


def bootstrap_intervals(
    y: object,
    s: object,
    n_boot: int = 200,
    level: float = 0.95,
    random_state: int = 0,
    fraction: float = 0.1,
    max_levels: int = 2048,
) -> dict[str, float]:
    """Percentile bootstrap intervals of the AUC and the top-``fraction`` lift.

    Resampling is stratified (buyers and non-buyers resampled separately, so every resample
    keeps their numbers) and vectorised: rows with the same score are interchangeable for both
    figures, so each resample is a vector of counts per distinct score (isotonic-calibrated
    scores have few), drawn from the multinomial. Cost grows with ``n_boot`` times the distinct
    scores, not with the rows. With more than ``max_levels`` distinct scores, neighbouring
    scores are grouped by rank and the interval is shifted by what the grouping changes in the
    point estimate (an AUC shift of at most ``0.5 / max_levels``). Ties at the top-fraction
    boundary count pro rata in the resamples.

    Parameters
    ----------
    y, s : array-like
        Outcomes (0/1) and scores.
    n_boot : int
        Resamples (0: no intervals).
    level : float
        Coverage of the interval (0.95: the 2.5 % and 97.5 % percentiles).
    random_state : int
        Seed (same seed and data, same interval).
    fraction : float
        Top share for the lift.
    max_levels : int
        Most distinct score levels resampled (cost and memory bound).

    Returns
    -------
    dict
        ``auc_low, auc_high, lift_low, lift_high`` (:data:`INTERVAL_COLUMNS`); NaN without
        buyers or non-buyers, or when ``n_boot`` is 0.

    Examples
    --------
    >>> ci = bootstrap_intervals([0, 1] * 50, [0.2, 0.8] * 50, n_boot=50)
    >>> ci["auc_low"], ci["auc_high"], ci["lift_low"], ci["lift_high"]
    (1.0, 1.0, 2.0, 2.0)
    """
    ya, sa = _arrays(y, s)
    n_pos = int(ya.sum())
    n_neg = int(ya.size - n_pos)
    if n_pos == 0 or n_neg == 0 or n_boot < 1:
        return dict.fromkeys(INTERVAL_COLUMNS, math.nan)
    pos, neg = _level_counts(ya, sa, max_levels)
    rng = np.random.default_rng(random_state)
    chunk = max(1, min(n_boot, 4_000_000 // pos.size))
    aucs, lifts = [], []
    for start in range(0, n_boot, chunk):
        b = min(chunk, n_boot - start)
        P = rng.multinomial(n_pos, pos / n_pos, size=b)
        N = rng.multinomial(n_neg, neg / n_neg, size=b)
        aucs.append(_auc_from_levels(P, N))
        lifts.append(_lift_from_levels(P, N, fraction))
    # centre on the figures shown: shift by what the levels change in the point estimate
    auc_shift = roc_auc(ya, sa) - float(_auc_from_levels(pos, neg))
    lift_shift = top_fraction_lift(ya, sa, fraction) - float(_lift_from_levels(pos, neg, fraction))
    q = [(1 - level) / 2, (1 + level) / 2]
    auc_lo, auc_hi = np.quantile(np.concatenate(aucs), q) + auc_shift
    lift_lo, lift_hi = np.quantile(np.concatenate(lifts), q) + lift_shift
    return {
        "auc_low": float(np.clip(auc_lo, 0.0, 1.0)),
        "auc_high": float(np.clip(auc_hi, 0.0, 1.0)),
        "lift_low": float(max(lift_lo, 0.0)),
        "lift_high": float(lift_hi),
    }


# --------------------------------------------------------------------------- per product


#: Columns of :func:`evaluation_table`, in order.
EVALUATION_TABLE_COLUMNS: tuple[str, ...] = (
    "product",
    "n",
    "buyers",
    "base_rate",
    "auc",
    "pr_auc",
    "lift",
    "capture",
    "brier",
    "ece",
    "baseline_auc",
    "baseline_lift",
    "baseline_brier",
    *INTERVAL_COLUMNS,
)


def evaluation_table(
    evaluation: pd.DataFrame | None,
    region_id: str | None = None,
    fraction: float = 0.1,
    min_buyers: int = 1,
    n_boot: int = 0,
    level: float = 0.95,
    random_state: int = 0,
) -> pd.DataFrame:
    """Out-of-time figures per product for the model and the baseline.

    Parameters
    ----------
    evaluation : DataFrame
        ``PropensityBundle.evaluation``.
    region_id : str, optional
        Restrict to one region's customers.
    fraction : float
        Top share for lift and capture (0.1 = top decile).
    min_buyers : int
        Products with fewer buyers in the selection get NaN figures (``n`` and ``buyers`` kept).
    n_boot, level, random_state : int, float, int
        Bootstrap intervals of the model's AUC and lift (:func:`bootstrap_intervals`; product
        ``i`` in catalogue order is seeded ``random_state + i``); ``n_boot=0``: NaN intervals.

    Returns
    -------
    DataFrame
        One row per product: ``n, buyers, base_rate``, then ``auc, pr_auc, lift, capture,
        brier, ece`` for the model, ``baseline_auc, baseline_lift, baseline_brier`` and the
        model's ``auc_low, auc_high, lift_low, lift_high`` (:data:`EVALUATION_TABLE_COLUMNS`);
        no rows when no product has a model.
    """
    if evaluation is None or evaluation.empty:
        return pd.DataFrame(columns=list(EVALUATION_TABLE_COLUMNS))
    ev = evaluation if region_id is None else evaluation[evaluation["region_id"] == region_id]
    rows = []
    seeds = {str(p): random_state + i for i, p in enumerate(ev["product"].unique())}
    if isinstance(ev["product"].dtype, pd.CategoricalDtype):
        seeds = {str(p): random_state + i for i, p in enumerate(ev["product"].cat.categories)}
    for p, g in ev.groupby("product", observed=True, sort=True):
        y = g["y"].to_numpy()
        m = evaluate_scores(y, g["p_model"].to_numpy(), fraction)
        b = evaluate_scores(y, g["p_baseline"].to_numpy(), fraction)
        row = {"product": str(p), **m}
        row.update({"baseline_auc": b["auc"], "baseline_lift": b["lift"]})
        row["baseline_brier"] = b["brier"]
        row.update(
            bootstrap_intervals(
                y, g["p_model"].to_numpy(), n_boot, level, seeds[str(p)], fraction=fraction
            )
        )
        if m["buyers"] < min_buyers:
            for k in row:
                if k not in ("product", "n", "buyers", "base_rate"):
                    row[k] = np.nan
        rows.append(row)
    return pd.DataFrame(rows, columns=list(EVALUATION_TABLE_COLUMNS))


def _scoped(evaluation: pd.DataFrame, region_id: str | None, min_buyers: int) -> dict:
    """Per product: the region's rows when they hold ``min_buyers`` buyers, else the bank's."""
    out: dict = {}
    if evaluation is None:
        return out
    for p, g in evaluation.groupby("product", observed=True, sort=True):
        if region_id is not None:
            r = g[g["region_id"] == region_id]
            if int(r["y"].sum()) >= min_buyers:
                out[str(p)] = ("region", r)
                continue
        out[str(p)] = ("bank", g)
    return out


def gains_by_product(
    evaluation: pd.DataFrame,
    region_id: str | None = None,
    min_buyers: int = 30,
    n_points: int = 20,
) -> pd.DataFrame:
    """Cumulative gains of the model and the baseline per product (long format for seaborn).

    Uses the region's customers when they include at least ``min_buyers`` buyers of the
    product, otherwise the whole bank (column ``scope`` says which).

    Returns
    -------
    DataFrame
        ``product, scope, ranking (model / baseline / random), share_contacted,
        share_of_buyers``.
    """
    frames = []
    for p, (scope, g) in _scoped(evaluation, region_id, min_buyers).items():
        y = g["y"].to_numpy()
        for name, col in (("model", "p_model"), ("baseline", "p_baseline")):
            c = gains_curve(y, g[col].to_numpy(), n_points)
            frames.append(c.assign(product=p, scope=scope, ranking=name).drop(columns="random"))
        c = gains_curve(y, g["p_model"].to_numpy(), n_points)
        frames.append(
            c.assign(product=p, scope=scope, ranking="random", share_of_buyers=c["random"]).drop(
                columns="random"
            )
        )
    cols = ["product", "scope", "ranking", "share_contacted", "share_of_buyers"]
    return pd.concat(frames, ignore_index=True)[cols] if frames else pd.DataFrame(columns=cols)


def calibration_by_product(
    evaluation: pd.DataFrame,
    region_id: str | None = None,
    min_buyers: int = 30,
    n_bins: int = 10,
) -> pd.DataFrame:
    """Calibration bins (10 equal-width by default) of the model per product, long format.

    Returns
    -------
    DataFrame
        ``product, scope, bin, n, mean_predicted, observed_rate`` (scope as in
        :func:`gains_by_product`).
    """
    frames = []
    for p, (scope, g) in _scoped(evaluation, region_id, min_buyers).items():
        t = calibration_table(g["y"].to_numpy(), g["p_model"].to_numpy(), n_bins)
        frames.append(t.assign(product=p, scope=scope))
    cols = ["product", "scope", "bin", "n", "mean_predicted", "observed_rate"]
    return pd.concat(frames, ignore_index=True)[cols] if frames else pd.DataFrame(columns=cols)
