"""Propensity estimators following scikit-learn conventions.

:class:`PropensityModel` is a gradient-boosting classifier
(:class:`~sklearn.ensemble.HistGradientBoostingClassifier`) whose probabilities are calibrated
on a held-out slice of the training rows (isotonic regression through
:class:`~sklearn.calibration.CalibratedClassifierCV` over the frozen booster). Its
probabilities lie in the open interval ``(1 / (n + 2), 1 - 1 / (n + 2))``, ``n`` the rows the
probability was estimated from (the calibration slice; the training rows without calibration):
isotonic regression returns exactly 0 or 1 for a block of rows without a buyer (or without a
non-buyer), which only says none was seen among ``n``, never that a purchase is certain or
impossible (Laplace's rule of succession bounds an estimate from ``n`` rows the same way).
:class:`TierPopularityBaseline` is the simple benchmark every model must beat: the buyer rate of
the customer's AUM tier in the training windows.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin

from bankanalysis.exceptions import ModelError
from bankanalysis.propensity.defaults import default_tier_thresholds
from bankanalysis.rules.tiers import TIERS, assign_tiers

__all__ = ["PropensityModel", "TierPopularityBaseline", "stratified_subsample"]

logger = logging.getLogger(__name__)


def stratified_subsample(y: np.ndarray, max_rows: int, random_state: int) -> np.ndarray:
    """Row positions of a seeded subsample of at most ``max_rows`` with the same class shares.

    Parameters
    ----------
    y : ndarray
        Binary labels.
    max_rows : int
        Largest sample; all rows when there are fewer.
    random_state : int
        Seed.

    Returns
    -------
    ndarray
        Sorted row positions.

    Examples
    --------
    >>> idx = stratified_subsample(np.array([0] * 90 + [1] * 10), 50, 0)
    >>> len(idx), int((idx >= 90).sum())
    (50, 5)
    """
    y = np.asarray(y)
    n = y.size
    if n <= max_rows:
        return np.arange(n)
    rng = np.random.default_rng(random_state)
    keep = []
    for cls in np.unique(y):
        pos = np.flatnonzero(y == cls)
        k = int(round(max_rows * pos.size / n))
        keep.append(rng.choice(pos, size=min(k, pos.size), replace=False))
    return np.sort(np.concatenate(keep))


def _eval_tree(nodes: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Leaf values of one single-feature tree for raw values ``v`` (sklearn's routing rules)."""
    node = np.zeros(v.size, dtype=np.intp)
    is_leaf = nodes["is_leaf"].astype(bool)
    for _ in range(nodes.size):
        leaf = is_leaf[node]
        if leaf.all():
            break
        go_left = np.where(
            np.isnan(v),
            nodes["missing_go_to_left"][node].astype(bool),
            v <= nodes["num_threshold"][node],
        )
        nxt = np.where(go_left, nodes["left"][node], nodes["right"][node])
        node = np.where(leaf, node, nxt).astype(np.intp)
    return nodes["value"][node]


def _additive_tables(booster: object, X: pd.DataFrame) -> dict | None:
    """Compile an additive booster into one lookup table per feature (``None`` if not additive).

    With one feature per tree the raw score is ``F(b) + sum_j [g_j(x_j) - g_j(b_j)]`` for any
    reference row ``b``; ``g_j`` is a step function whose steps are the trees' thresholds.
    Categorical features are tabulated by scoring ``b`` with each category.
    """
    predictors = getattr(booster, "_predictors", None)
    if predictors is None or any(len(it) != 1 for it in predictors):
        return None
    cats = [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)]
    # the booster's own column order: categorical columns first (its ordinal encoder), then the rest
    names = cats + [c for c in X.columns if c not in cats]
    trees: dict[int, list[np.ndarray]] = {}
    for it in predictors:
        nodes = it[0].nodes
        inner = nodes[~nodes["is_leaf"].astype(bool)]
        if inner.size == 0:
            continue
        feats = np.unique(inner["feature_idx"])
        if feats.size != 1:
            return None
        f = int(feats[0])
        if names[f] in cats:
            continue
        if inner["is_categorical"].any():
            return None
        trees.setdefault(f, []).append(nodes)
    b = X.iloc[[0]]
    base = float(booster.decision_function(b)[0])
    tables = {}
    for f, ts in trees.items():
        inner_thr = [t["num_threshold"][~t["is_leaf"].astype(bool)] for t in ts]
        thr = np.unique(np.concatenate(inner_thr))
        reps = np.concatenate([thr, [np.inf, np.nan]])
        vals = np.sum([_eval_tree(t, reps) for t in ts], axis=0)
        ref = np.sum([_eval_tree(t, b[names[f]].to_numpy(np.float64)) for t in ts], axis=0)
        tables[names[f]] = (thr, vals - ref[0])
    cat_tables = {}
    for c in cats:
        levels = X[c].cat.categories
        probe = b.iloc[np.zeros(len(levels) + 1, dtype=np.intp)].copy()
        probe[c] = pd.Categorical([*levels, None], categories=levels)
        cat_tables[c] = booster.decision_function(probe) - base
    return {"base": base, "tables": tables, "categorical": cat_tables}


def _additive_score(compiled: dict, X: pd.DataFrame) -> np.ndarray:
    """Raw score from the tables of :func:`_additive_tables`."""
    out = np.full(len(X), compiled["base"], dtype=np.float64)
    for name, (thr, vals) in compiled["tables"].items():
        x = X[name].to_numpy(dtype=np.float64, na_value=np.nan)
        idx = np.searchsorted(thr, x, side="left")
        idx[np.isnan(x)] = thr.size + 1
        out += vals[idx]
    for name, vals in compiled["categorical"].items():
        out += vals[X[name].cat.codes.to_numpy()]
    return out


def _open_bounds(n: int) -> tuple[float, float]:
    """``(1 / (n + 2), 1 - 1 / (n + 2))``: where a probability estimated from ``n`` rows may lie.

    Examples
    --------
    >>> _open_bounds(98)
    (0.01, 0.99)
    """
    eps = 1.0 / (int(n) + 2)
    return eps, 1.0 - eps


class PropensityModel(ClassifierMixin, BaseEstimator):
    """Calibrated gradient boosting for one product's purchase propensity.

    Parameters
    ----------
    max_iter : int
        Boosting iterations (trees); early stopping may use fewer.
    learning_rate : float
        Shrinkage.
    max_leaf_nodes : int
        Leaves per tree.
    min_samples_leaf : int
        Smallest leaf.
    l2_regularization : float
        L2 penalty on leaf values.
    additive : bool
        Each tree splits on one feature only (``interaction_cst="no_interactions"``): the
        model is a sum of one smooth-ish curve per feature (a boosted additive model), which
        resists overfitting on small samples and makes reason codes exact contributions.
    calibration : {"isotonic", "sigmoid", "none"}
        How the booster's probabilities are calibrated.
    calibration_fraction : float
        Share of the training rows held out (stratified) to fit the calibration.
    random_state : int
        Seed of the split and the booster.
    n_threads : int or None
        OpenMP threads for fitting and scoring (``None``: all cores). One thread per process
        is fastest when several report notebooks run side by side.

    Attributes
    ----------
    booster_ : HistGradientBoostingClassifier
        The fitted booster.
    calibrated_ : CalibratedClassifierCV or None
        The calibration over the frozen booster (``None`` when ``calibration="none"``).
    lookup_ : dict or None
        For additive models, one step-function table per feature that reproduces the
        booster's raw score exactly (checked at fit time); scoring then costs a few array
        lookups per feature instead of a walk through every tree.
    feature_names_in_ : ndarray of str
        Feature names seen in ``fit``.
    classes_ : ndarray
        ``[0, 1]``.
    proba_bounds_ : tuple of float
        ``(1 / (n + 2), 1 - 1 / (n + 2))``: every probability is clipped into this interval,
        ``n`` the rows the probabilities were estimated from (calibration slice, or the
        training rows with ``calibration="none"``), so no probability is exactly 0 or 1.
    """

    def __init__(
        self,
        max_iter: int = 300,
        learning_rate: float = 0.1,
        max_leaf_nodes: int = 4,
        min_samples_leaf: int = 100,
        l2_regularization: float = 1.0,
        additive: bool = True,
        calibration: str = "isotonic",
        calibration_fraction: float = 0.2,
        random_state: int = 0,
        n_threads: int | None = 1,
    ) -> None:
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.additive = additive
        self.calibration = calibration
        self.calibration_fraction = calibration_fraction
        self.random_state = random_state
        self.n_threads = n_threads

    def fit(self, X: pd.DataFrame, y: Sequence[float]) -> PropensityModel:
        """Fit the booster on most rows and the calibration on a held-out slice.

        Parameters
        ----------
        X : DataFrame
            Features (numeric; categorical columns as pandas ``category``).
        y : array-like
            0/1 labels.

        Returns
        -------
        PropensityModel
            ``self``.
        """
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=self.n_threads, user_api="openmp"):
            return self._fit(X, y)

    def _fit(self, X: pd.DataFrame, y: Sequence[float]) -> PropensityModel:
        """Fit without touching the thread pools (see :meth:`fit`)."""
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.ensemble import HistGradientBoostingClassifier
        from sklearn.frozen import FrozenEstimator
        from sklearn.model_selection import train_test_split

        y = np.asarray(y, dtype=np.int8)
        if y.min() == y.max():
            raise ModelError(
                f"cannot fit a propensity model: all {y.size:,} training labels are {y[0]}; "
                "widen the training windows or drop the product"
            )
        self.classes_ = np.array([0, 1])
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        booster = HistGradientBoostingClassifier(
            max_iter=self.max_iter,
            learning_rate=self.learning_rate,
            max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=self.min_samples_leaf,
            l2_regularization=self.l2_regularization,
            interaction_cst="no_interactions" if self.additive else None,
            early_stopping=True,
            validation_fraction=0.1,
            n_iter_no_change=10,
            random_state=self.random_state,
        )
        if self.calibration == "none":
            self.proba_bounds_ = _open_bounds(len(y))
            self.booster_ = booster.fit(X, y)
            self.calibrated_ = None
            self.lookup_ = self.calibrator_ = None
            return self
        if self.calibration not in ("isotonic", "sigmoid"):
            raise ModelError(
                f"calibration must be 'isotonic', 'sigmoid' or 'none', got {self.calibration!r}"
            )
        X_fit, X_cal, y_fit, y_cal = train_test_split(
            X,
            y,
            test_size=self.calibration_fraction,
            stratify=y,
            random_state=self.random_state,
        )
        self.booster_ = booster.fit(X_fit, y_fit)
        self.proba_bounds_ = _open_bounds(len(y_cal))
        self.calibrated_ = CalibratedClassifierCV(
            FrozenEstimator(self.booster_), method=self.calibration
        ).fit(X_cal, y_cal)
        self._compile(X_cal)
        return self

    def _compile(self, X: pd.DataFrame) -> None:
        """Tabulate an additive model for fast scoring, kept only if it reproduces the model.

        The check compares raw scores and calibrated probabilities on up to 2,000 rows.
        """
        self.lookup_ = None
        self.calibrator_ = None
        if not self.additive:
            return
        compiled = _additive_tables(self.booster_, X)
        if compiled is None:
            return
        sample = X.iloc[: min(len(X), 2000)]
        raw = self.booster_.decision_function(sample)
        if not np.allclose(_additive_score(compiled, sample), raw, rtol=0, atol=1e-9):
            logger.warning("additive lookup does not reproduce the booster; scoring uses trees")
            return
        calibrator = self.calibrated_.calibrated_classifiers_[0].calibrators[0]
        proba = np.clip(calibrator.predict(raw), 0.0, 1.0)
        if not np.allclose(proba, self.calibrated_.predict_proba(sample)[:, 1], atol=1e-12):
            logger.warning("calibration shortcut does not reproduce the model; using sklearn's")
            return
        self.lookup_ = compiled
        self.calibrator_ = calibrator

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated probabilities, shape ``(n, 2)``, inside :attr:`proba_bounds_`."""
        from threadpoolctl import threadpool_limits

        lo, hi = self.proba_bounds_
        if getattr(self, "lookup_", None) is not None:
            p = self.calibrator_.predict(_additive_score(self.lookup_, X))
        else:
            with threadpool_limits(limits=self.n_threads, user_api="openmp"):
                model = self.booster_ if self.calibrated_ is None else self.calibrated_
                p = model.predict_proba(X)[:, 1]
        p = np.clip(p, lo, hi)
        return np.column_stack([1.0 - p, p])

    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        """The booster's raw score (log-odds before calibration), for reason codes."""
        from threadpoolctl import threadpool_limits

        if getattr(self, "lookup_", None) is not None:
            return _additive_score(self.lookup_, X)
        with threadpool_limits(limits=self.n_threads, user_api="openmp"):
            return self.booster_.decision_function(X)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Class 1 where the calibrated probability is at least one half."""
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)


class TierPopularityBaseline(ClassifierMixin, BaseEstimator):
    """Baseline: the product's buyer rate in the customer's tier (training windows).

    Tiers are the bank's (:mod:`bankanalysis.rules.tiers`): the column ``aum_column`` holds the
    AUM averaged over the last ``tier_months`` month-ends (the same tiers as every report; the
    training passes :func:`~bankanalysis.propensity.features.tier_aum`), cut at
    ``tier_thresholds``.

    Parameters
    ----------
    tier_thresholds : sequence of float
        AUM lower bounds of quality, VIP and private banking (default: the parameter schema's).
    aum_column : str
        Column holding the window-average AUM (missing AUM counts as 0).
    prior_strength : float
        Pseudo-count pulling small tiers towards the overall rate.

    Attributes
    ----------
    rates_ : dict
        Buyer rate per tier id (:data:`bankanalysis.rules.tiers.TIERS`).
    classes_ : ndarray
        ``[0, 1]``.

    Examples
    --------
    >>> X = pd.DataFrame({"avg_aum": [1.0, 2.0, 100.0, 200.0]})
    >>> b = TierPopularityBaseline([50, 500, 6000], prior_strength=0).fit(X, [0, 1, 1, 1])
    >>> b.predict_proba(X)[:, 1].tolist()
    [0.5, 0.5, 1.0, 1.0]
    """

    def __init__(
        self,
        tier_thresholds: Sequence[float] = default_tier_thresholds(),
        aum_column: str = "avg_aum",
        prior_strength: float = 10.0,
    ) -> None:
        self.tier_thresholds = tier_thresholds
        self.aum_column = aum_column
        self.prior_strength = prior_strength

    def _tiers(self, X: pd.DataFrame) -> np.ndarray:
        aum = np.nan_to_num(X[self.aum_column].to_numpy(dtype=float))
        return np.asarray(assign_tiers(aum, self.tier_thresholds).codes)

    def fit(self, X: pd.DataFrame, y: Sequence[float]) -> TierPopularityBaseline:
        """Learn the buyer rate per tier; returns ``self``."""
        y = np.asarray(y, dtype=float)
        tiers = self._tiers(X)
        overall = float(y.mean())
        self.classes_ = np.array([0, 1])
        self.overall_rate_ = overall
        self.rates_ = {}
        for i, name in enumerate(TIERS):
            sel = y[tiers == i]
            weight = sel.size + self.prior_strength
            rate = (sel.sum() + self.prior_strength * overall) / weight if weight else overall
            self.rates_[name] = float(rate)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Tier buyer rates as probabilities, shape ``(n, 2)``."""
        rates = np.array([self.rates_[n] for n in TIERS])
        p = rates[self._tiers(X)]
        return np.column_stack([1 - p, p])
