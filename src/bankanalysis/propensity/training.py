"""Train and evaluate the cross-sell models of a whole bank, out of time, with a cache.

The evaluation month ``t_eval`` is the last month whose outcome is observed
(``data_month - horizon``); the evaluation pools the ``eval_months`` months ending there
(``t_1 .. t_eval``). Models are fitted on the windows ``t`` with ``t + horizon <= t_1`` (their
labels were known before the first evaluation month) and evaluated on the customers of the
evaluation months; the same models score the customers of ``data_month``. Training is done once for the whole bank
(region and echelon are features) and cached by data fingerprint and parameters.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import numpy as np
import pandas as pd

from bankanalysis.exceptions import ModelError
from bankanalysis.propensity.cache import cache_key, load_or_build
from bankanalysis.propensity.defaults import default_tier_thresholds, schema_default
from bankanalysis.propensity.features import (
    LAG_COLUMNS,
    build_features,
    build_labels,
    cross_sell_products,
    months_needed,
    tier_aum,
)
from bankanalysis.propensity.models import (
    PropensityModel,
    TierPopularityBaseline,
    stratified_subsample,
)
from bankanalysis.rules.months import shift_month

__all__ = [
    "SCORE_CHUNK",
    "BankLike",
    "MonthData",
    "PropensityBundle",
    "TrainingSettings",
    "fit_or_load",
    "evaluation_months",
    "load_features",
    "period_text",
    "plan_months",
    "score_customers",
    "skip_reason",
    "train_propensity",
]

logger = logging.getLogger(__name__)

#: Customers :func:`score_customers` scores at a time.
SCORE_CHUNK = 200_000
#: Column of the tier-popularity baseline's input (window-average AUM over ``tier_months``).
TIER_AUM = "avg_aum"


class BankLike(Protocol):
    """What the training needs from :func:`bankanalysis.data.load.load_processed`."""

    months: list[str]
    products: pd.DataFrame
    regions: pd.DataFrame
    manifest: dict

    def customer_month(
        self,
        months: Sequence[str] | None = None,
        region_id: str | None = None,
        columns: Sequence[str] | None = None,
        customer_ids: Iterable[str] | None = None,
    ) -> pd.DataFrame: ...


@dataclass(frozen=True)
class TrainingSettings:
    """Everything that changes the trained models (and so the cache key).

    Attributes mirror :class:`bankanalysis.params.PropensityParams` and take their defaults from
    it (:mod:`bankanalysis.propensity.defaults`); see that class and ``params/defaults.yaml``
    for their meaning. ``min_buyers`` is the minimum of buyers in the training windows,
    ``min_eval_buyers`` the minimum in the ``eval_months`` evaluation months (pooled).
    """

    products: tuple[str, ...] | None = schema_default("products")
    horizon: int = schema_default("horizon")
    data_month: str | None = schema_default("data_month")
    train_windows: int = schema_default("train_windows")
    max_train_rows: int = schema_default("max_train_rows")
    max_eval_rows: int = schema_default("max_eval_rows")
    min_buyers: int = schema_default("min_buyers")
    min_eval_buyers: int = schema_default("min_eval_buyers")
    eval_months: int = schema_default("eval_months")
    tier_thresholds: tuple[float, ...] = field(default_factory=default_tier_thresholds)
    tier_months: int = schema_default("tier_months")
    max_iter: int = schema_default("max_iter")
    learning_rate: float = schema_default("learning_rate")
    max_leaf_nodes: int = schema_default("max_leaf_nodes")
    min_samples_leaf: int = schema_default("min_samples_leaf")
    additive: bool = schema_default("additive")
    calibration: str = schema_default("calibration")
    random_state: int = schema_default("random_state")
    #: OpenMP threads of the models; not part of the cache key (results do not depend on it)
    n_threads: int | None = schema_default("n_threads")

    def model_params(self) -> dict[str, Any]:
        """Keyword arguments of :class:`PropensityModel`."""
        return {
            "max_iter": self.max_iter,
            "learning_rate": self.learning_rate,
            "max_leaf_nodes": self.max_leaf_nodes,
            "min_samples_leaf": self.min_samples_leaf,
            "additive": self.additive,
            "calibration": self.calibration,
            "random_state": self.random_state,
            "n_threads": self.n_threads,
        }

    def cache_params(self) -> dict[str, Any]:
        """The settings that change the models (everything but ``n_threads``)."""
        from dataclasses import asdict

        return {k: v for k, v in asdict(self).items() if k != "n_threads"}

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> TrainingSettings:
        """Build from a notebook's parameter dict (unknown keys are ignored)."""
        names = set(cls.__dataclass_fields__)
        kw = {k: v for k, v in params.items() if k in names}
        if kw.get("products") is not None:
            kw["products"] = tuple(kw["products"])
        if "tier_thresholds" in kw:
            kw["tier_thresholds"] = tuple(float(x) for x in kw["tier_thresholds"])
        return cls(**kw)


def _empty_evaluation() -> pd.DataFrame:
    """The evaluation frame of a bundle without models (no rows, the usual columns)."""
    return pd.DataFrame(
        {
            "product": pd.Series([], dtype="object"),
            "region_id": pd.Series([], dtype="object"),
            "customer_id": pd.Series([], dtype="object"),
            "y": pd.Series([], dtype=np.int8),
            "p_model": pd.Series([], dtype=np.float32),
            "p_baseline": pd.Series([], dtype=np.float32),
        }
    )


@dataclass
class PropensityBundle:
    """Trained models of every cross-sell product, their evaluation and what they were fit on.

    Attributes
    ----------
    products : list of str
        Target products (including skipped ones).
    models, baselines : dict
        Per modelled product: :class:`PropensityModel` and :class:`TierPopularityBaseline`.
    skipped : dict
        Product -> why it has no model (too few buyers), in words.
    eval_month, eval_months : str, list of str
        The last evaluation month and all evaluation months pooled (``eval_months`` of the
        settings, ending at ``eval_month``); :attr:`eval_period` says them in words.
    evaluation : DataFrame
        Out-of-time scores over ``eval_months`` (no rows when no product has a model; a
        customer appears once per evaluation month):
        ``product``, ``region_id``, ``customer_id``, ``y``, ``p_model``, ``p_baseline``
        (categoricals and float32 to stay small).
    feature_names : list of str
        Feature columns in model order.
    """

    settings: TrainingSettings
    products: list[str]
    data_month: str
    eval_month: str
    train_months: list[str]
    regions: list[str]
    feature_names: list[str]
    models: dict[str, PropensityModel] = field(default_factory=dict)
    baselines: dict[str, TierPopularityBaseline] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    train_rows: dict[str, int] = field(default_factory=dict)
    train_buyers: dict[str, int] = field(default_factory=dict)
    evaluation: pd.DataFrame = field(default_factory=_empty_evaluation)
    fit_seconds: float = 0.0
    eval_months: list[str] = field(default_factory=list)
    #: Why no product could be modelled at all (the data too short for the horizon), in words;
    #: "" when the training ran (per-product reasons are in ``skipped``).
    no_model_reason: str = ""

    @property
    def eval_period(self) -> str:
        """The evaluation months in words (``"2025-09"`` or ``"2025-07 to 2025-09"``)."""
        return period_text(self.eval_months or [self.eval_month])


def plan_months(
    months: Sequence[str],
    horizon: int,
    data_month: str | None,
    train_windows: int,
    eval_months: int = 1,
) -> tuple[list[str], str, str]:
    """Choose the training windows, the (last) evaluation month and the scoring month.

    Parameters
    ----------
    eval_months : int
        Months pooled for the evaluation, ending at ``eval_month``
        (:func:`evaluation_months`); training windows end ``horizon`` months before the first.

    Returns
    -------
    (train_months, eval_month, data_month)
        ``eval_month = data_month - horizon``; training months ``t`` satisfy
        ``t + horizon <= first evaluation month`` (the latest ``train_windows`` of them), so
        no evaluation month's outcome is known to the training.

    Raises
    ------
    ModelError
        When the data are too short for one training window and the evaluation months.

    Examples
    --------
    >>> plan_months([f"2025-{m:02d}" for m in range(1, 13)], 3, None, 2)
    (['2025-05', '2025-06'], '2025-09', '2025-12')
    >>> plan_months([f"2025-{m:02d}" for m in range(1, 13)], 3, None, 2, eval_months=2)
    (['2025-04', '2025-05'], '2025-09', '2025-12')
    """
    months = sorted(months)
    data_month = data_month or months[-1]
    if data_month not in months:
        raise ModelError(f"data_month {data_month} is not in the data ({months[0]}..{months[-1]})")
    eval_month = shift_month(data_month, -horizon)
    first_eval = evaluation_months(eval_month, eval_months)[0]
    last_train = shift_month(first_eval, -horizon)
    train = [m for m in months if m <= last_train]
    if first_eval not in months or not train:
        need = 2 * horizon + eval_months
        raise ModelError(
            f"the data hold {len([m for m in months if m <= data_month])} months up to "
            f"{data_month}; out-of-time evaluation with horizon {horizon} and eval_months "
            f"{eval_months} needs at least {need}: shorten the horizon, lower eval_months or "
            "choose a later data_month"
        )
    return train[-train_windows:], eval_month, data_month


def evaluation_months(eval_month: str, eval_months: int = 1) -> list[str]:
    """The ``eval_months`` months pooled for the evaluation, ending at ``eval_month``.

    Examples
    --------
    >>> evaluation_months("2025-09", 3)
    ['2025-07', '2025-08', '2025-09']
    """
    return [shift_month(eval_month, -k) for k in range(eval_months - 1, -1, -1)]


def period_text(months: Sequence[str]) -> str:
    """A run of months in words: ``"2025-07"`` or ``"2025-07 to 2025-09"``.

    Examples
    --------
    >>> period_text(["2025-07", "2025-08", "2025-09"])
    '2025-07 to 2025-09'
    """
    return months[0] if len(months) == 1 else f"{months[0]} to {months[-1]}"


class MonthData(NamedTuple):
    """What one month contributes: features, labels and the AUM the tiers use.

    Attributes
    ----------
    X : DataFrame
        Features of the customers active at the month (customers as sorted index).
    Y : DataFrame or None
        Labels (``None`` without a horizon).
    tier_aum : Series
        Window-average AUM of the same customers
        (:func:`~bankanalysis.propensity.features.tier_aum`), the tier-popularity baseline's
        input.
    """

    X: pd.DataFrame
    Y: pd.DataFrame | None
    tier_aum: pd.Series


def load_features(
    bank: BankLike,
    t: str,
    regions: Sequence[str],
    region_id: str | None = None,
    label_horizon: int | None = None,
    products: Sequence[str] = (),
    tier_months: int = 1,
    customer_ids: Sequence[str] | None = None,
) -> MonthData:
    """Read what month ``t`` needs from the processed data and build its features (and labels).

    Only month ``t`` is read in full; look-back months (change features and the
    ``tier_months`` tier window) read ``aum`` and ``n_products``, and the label month
    (``t + label_horizon``) reads the holding flags. With ``customer_ids`` only those
    customers' rows are read: every feature, label and tier AUM is the customer's own, so
    their rows equal those of the whole read.

    Returns
    -------
    MonthData
        ``(X, Y, tier_aum)``.
    """
    available = set(bank.months)
    only = {} if customer_ids is None else {"customer_ids": customer_ids}
    cm = bank.customer_month(months=[t], region_id=region_id, **only)
    lag_months = [m for m in months_needed(t, tier_months)[1:] if m in available]
    cols = ["month", "customer_id", *LAG_COLUMNS]
    history = (
        bank.customer_month(months=lag_months, region_id=region_id, columns=cols, **only)
        if lag_months
        else cm[cols].iloc[:0]
    )
    Y = None
    if label_horizon is not None:
        t_end = shift_month(t, label_horizon)
        cols = ["month", "customer_id", *[f"hold_{p}" for p in products]]
        fut = bank.customer_month(months=[t_end], region_id=region_id, columns=cols, **only)
        Y = build_labels(pd.concat([cm[cols], fut]), t, label_horizon, products)
    positions: dict = {}  # each look-back month is looked up once for features and tiers
    X = build_features(cm, t, regions=regions, history=history, positions=positions)
    aum = tier_aum(cm, t, tier_months, history, positions).reindex(X.index)
    return MonthData(X, Y, aum)


def skip_reason(
    train_buyers: int,
    train_rows: int,
    eval_buyers: int,
    train_months: Sequence[str],
    eval_month: str | Sequence[str],
    settings: TrainingSettings,
) -> str:
    """Why a product gets no model, in words (empty when it gets one).

    A product needs ``min_buyers`` buyers in the training windows (and at least one
    non-buyer) and ``min_eval_buyers`` buyers in the evaluation month(s) ``eval_month``
    (a month or the list of pooled months). Both shortfalls are stated, with their numbers.

    Examples
    --------
    >>> s = TrainingSettings(min_buyers=30, min_eval_buyers=10)
    >>> skip_reason(574, 9000, 26, ["2025-01"], "2025-04", s)
    ''
    >>> skip_reason(29, 9000, 19, ["2025-01", "2025-02"], "2025-05", s)
    'too few buyers in training: 29 in 2025-01 to 2025-02; at least 30 needed (min_buyers)'
    >>> for why in skip_reason(29, 9000, 9, ["2025-01"], ["2025-04", "2025-05"], s).split("; "):
    ...     print(why)
    too few buyers in training: 29 in 2025-01
    at least 30 needed (min_buyers)
    too few buyers in evaluation: 9 in 2025-04 to 2025-05
    at least 10 needed (min_eval_buyers)
    """
    months = period_text(train_months)
    if not isinstance(eval_month, str):
        eval_month = period_text(eval_month)
    problems = []
    if train_buyers < settings.min_buyers:
        problems.append(
            f"too few buyers in training: {train_buyers} in {months}; at least "
            f"{settings.min_buyers} needed (min_buyers)"
        )
    elif train_buyers == train_rows:
        problems.append(f"every one of the {train_rows} training customers bought: nothing to rank")
    if eval_buyers < settings.min_eval_buyers:
        problems.append(
            f"too few buyers in evaluation: {eval_buyers} in {eval_month}; at least "
            f"{settings.min_eval_buyers} needed (min_eval_buyers)"
        )
    return "; ".join(problems)


def _uniform_rows(n: int, max_rows: int, rng: np.random.Generator) -> np.ndarray:
    if n <= max_rows:
        return np.arange(n)
    return np.sort(rng.choice(n, size=max_rows, replace=False))


def _active_ids(bank: BankLike, t: str) -> np.ndarray:
    """Sorted ids of the customers active at ``t`` (the rows of :func:`load_features`' X).

    ``customer_month`` gives one month's rows sorted by ``customer_id`` (Arrow's byte order
    of UTF-8, which is Python's order of the strings), so they are not sorted again as
    Python objects (seconds at millions of customers); a reader that breaks that order is
    sorted here, not trusted.
    """
    ids = bank.customer_month(months=[t], columns=["customer_id"])["customer_id"]
    out = ids.to_numpy(dtype=object)
    if len(out) > 1 and not bool((out[1:] > out[:-1]).all()):
        out = np.sort(out)
    return out


def _sampled_features(
    bank: BankLike,
    t: str,
    regions: Sequence[str],
    products: Sequence[str],
    s: Any,
    sample: list | None,
    expected: int,
) -> Any:
    """:func:`load_features` of month ``t`` for the sampled customers (``None``: all of the
    month's), checked to hold the ``expected`` number of rows."""
    part = load_features(
        bank,
        t,
        regions,
        label_horizon=s.horizon,
        products=products,
        tier_months=s.tier_months,
        customer_ids=sample,
    )
    if len(part.X) != expected:
        raise ModelError(f"month {t}: read {len(part.X)} of {expected} sampled customers")
    return part


def _evaluation_sample(
    bank: BankLike,
    eval_list: Sequence[str],
    regions: Sequence[str],
    products: Sequence[str],
    s: TrainingSettings,
    rng: np.random.Generator,
) -> list[MonthData]:
    """The seeded ``max_eval_rows`` sample of the pooled evaluation months, read sample only.

    The sample is drawn over the pooled customer ids of ``eval_list`` (month after month,
    each sorted, as :func:`load_features` orders X) with the same generator call as sampling
    the pooled rows, and only the sampled customers' rows of each month are read: the same
    rows, in the same order, as reading every evaluation month whole and then sampling.
    """
    ids = [_active_ids(bank, t) for t in eval_list]
    keep = _uniform_rows(sum(len(i) for i in ids), s.max_eval_rows, rng)
    parts, start = [], 0
    for t, month_ids in zip(eval_list, ids, strict=True):
        mine = keep[(keep >= start) & (keep < start + len(month_ids))] - start
        start += len(month_ids)
        if mine.size == 0 and keep.size:
            continue  # none of this month's customers drawn: nothing to read
        sample = None if mine.size == len(month_ids) else month_ids[mine].tolist()
        part = _sampled_features(bank, t, regions, products, s, sample, mine.size)
        parts.append(part)
        logger.info("evaluation month %s: %d of %d customers", t, mine.size, len(month_ids))
    return parts


def train_propensity(bank: BankLike, settings: TrainingSettings) -> PropensityBundle:
    """Fit one calibrated model and one baseline per cross-sell product; evaluate out of time.

    Parameters
    ----------
    bank : BankLike
        Processed data.
    settings : TrainingSettings
        Horizon, windows, sample sizes, model parameters, seed.

    Returns
    -------
    PropensityBundle
        Products with fewer than ``min_buyers`` buyers in the training windows or fewer than
        ``min_eval_buyers`` in the evaluation month are listed in ``skipped`` (with the reason,
        :func:`skip_reason`) instead of failing the run; ``evaluation`` then has no rows for
        them (no rows at all when no product has a model). Data too short for one training
        window and the evaluation months give a bundle without models whose
        ``no_model_reason`` says so (the report completes and states it).

    Raises
    ------
    ModelError
        No cross-sell product in the catalogue, or ``data_month`` not in the data.
    """
    start = time.perf_counter()
    s = settings
    products = cross_sell_products(bank.products, s.products)
    if not products:
        raise ModelError("the product catalogue has no product with cross_sell = true")
    regions = sorted(str(r) for r in bank.regions["region_id"])
    try:
        train_months, eval_month, data_month = plan_months(
            bank.months, s.horizon, s.data_month, s.train_windows, s.eval_months
        )
    except ModelError as exc:
        if s.data_month is not None and s.data_month not in bank.months:
            raise
        # too few months for out-of-time training: a bundle without models, with the reason
        logger.warning("no model for any product: %s", exc)
        data_month = s.data_month or max(bank.months)
        return PropensityBundle(
            settings=s,
            products=products,
            data_month=data_month,
            eval_month=shift_month(data_month, -s.horizon),
            train_months=[],
            regions=regions,
            feature_names=[],
            no_model_reason=str(exc),
            fit_seconds=time.perf_counter() - start,
        )
    eval_list = evaluation_months(eval_month, s.eval_months)
    rng = np.random.default_rng(s.random_state)
    pool_per_window = max(1, 4 * s.max_train_rows // len(train_months))
    Xs, Ys, As = [], [], []
    for t in train_months:
        # the seeded sample of the window's customers is drawn from their ids first and only
        # their rows are read: the same rows, in the same order, as sampling the whole window
        ids = _active_ids(bank, t)
        keep = _uniform_rows(len(ids), pool_per_window, rng)
        sample = None if keep.size == len(ids) else ids[keep].tolist()
        X, Y, A = _sampled_features(bank, t, regions, products, s, sample, keep.size)
        Xs.append(X)
        Ys.append(Y)
        As.append(A)
        logger.info("training window %s: %d of %d customers", t, keep.size, len(ids))
    X_all = pd.concat(Xs)
    Y_all = pd.concat(Ys)
    # the baseline's one feature: window-average AUM, the tiers of every report
    A_all = pd.concat(As).to_frame(TIER_AUM)
    del Xs, Ys, As
    parts = _evaluation_sample(bank, eval_list, regions, products, s, rng)
    X_eval = pd.concat([m.X for m in parts])
    Y_eval = pd.concat([m.Y for m in parts])
    A_eval = pd.concat([m.tier_aum for m in parts]).to_frame(TIER_AUM)
    del parts
    bundle = PropensityBundle(
        settings=s,
        products=products,
        data_month=data_month,
        eval_month=eval_month,
        train_months=train_months,
        regions=regions,
        feature_names=list(X_all.columns),
        eval_months=eval_list,
    )
    evals = []
    region_eval = X_eval["region"]
    for i, p in enumerate(products):
        lab = Y_all[p].to_numpy()
        pop = np.flatnonzero(~np.isnan(lab))
        y = lab[pop].astype(np.int8)
        lab_e = Y_eval[p].to_numpy()
        pop_e = np.flatnonzero(~np.isnan(lab_e))
        y_e = lab_e[pop_e].astype(np.int8)
        why = skip_reason(int(y.sum()), int(y.size), int(y_e.sum()), train_months, eval_list, s)
        if why:
            bundle.skipped[p] = why
            logger.warning("no model for %s: %s", p, why)
            continue
        idx = stratified_subsample(y, s.max_train_rows, s.random_state + i)
        Xp = X_all.iloc[pop[idx]]
        model = PropensityModel(**s.model_params()).fit(Xp, y[idx])
        base = TierPopularityBaseline(tier_thresholds=s.tier_thresholds, aum_column=TIER_AUM)
        base.fit(A_all.iloc[pop[idx]], y[idx])
        bundle.models[p], bundle.baselines[p] = model, base
        bundle.train_rows[p], bundle.train_buyers[p] = int(idx.size), int(y[idx].sum())
        Xe = X_eval.iloc[pop_e]
        evals.append(
            pd.DataFrame(
                {
                    "product": p,
                    "region_id": region_eval.iloc[pop_e].to_numpy(),
                    "customer_id": Xe.index.to_numpy(),
                    "y": y_e,
                    "p_model": model.predict_proba(Xe)[:, 1].astype(np.float32),
                    "p_baseline": base.predict_proba(A_eval.iloc[pop_e])[:, 1].astype(np.float32),
                }
            )
        )
        logger.info("model %s: %d rows, %d buyers", p, idx.size, int(y[idx].sum()))
    ev = pd.concat(evals, ignore_index=True) if evals else _empty_evaluation()
    ev["product"] = pd.Categorical(ev["product"], categories=products)
    ev["region_id"] = pd.Categorical(ev["region_id"].astype(object), categories=regions)
    bundle.evaluation = ev
    bundle.fit_seconds = time.perf_counter() - start
    return bundle


def fit_or_load(
    bank: BankLike, settings: TrainingSettings, cache_dir: str | Path | None
) -> tuple[PropensityBundle, bool]:
    """Return the bank's trained bundle, from the cache when the data and settings match.

    Parameters
    ----------
    bank : BankLike
        Processed data; ``bank.manifest["fingerprint"]`` identifies them.
    settings : TrainingSettings
        Training settings (part of the key).
    cache_dir : str or Path or None
        Cache root (``<processed>/_models``); ``None`` trains without caching.

    Returns
    -------
    (PropensityBundle, bool)
        The bundle and whether it was reused from the cache.
    """
    if cache_dir is None:
        return train_propensity(bank, settings), False
    fingerprint = str(bank.manifest.get("fingerprint", ""))
    if not fingerprint:
        raise ModelError(
            "the processed data's _manifest.json has no 'fingerprint'; re-run "
            "`bankanalysis data prepare --force` so models can be cached"
        )
    key = cache_key(fingerprint, settings.cache_params())
    return load_or_build(Path(cache_dir), key, lambda: train_propensity(bank, settings))


def score_customers(
    bundle: PropensityBundle, X: pd.DataFrame, chunk: int | None = None
) -> pd.DataFrame:
    """Calibrated probability of each customer taking up each modelled product.

    A customer's probability depends on their own features alone, so the rows are scored in
    parts of ``chunk`` customers (default :data:`SCORE_CHUNK`): the models' float64 copy of the
    features never holds a whole region at once, and the probabilities are those of scoring
    every row at once.

    Parameters
    ----------
    bundle : PropensityBundle
        Trained models.
    X : DataFrame
        Features from :func:`build_features` (customers as index).
    chunk : int, optional
        Customers scored at a time (at least 1).

    Returns
    -------
    DataFrame
        Same index, one float32 column per modelled product; NaN where the customer already
        holds the product.
    """
    missing = [c for c in bundle.feature_names if c not in X.columns]
    if missing:
        raise ModelError(
            f"features {missing[:5]} used in training are missing from the scoring data; "
            "the processed data changed shape: retrain (delete data/processed/_models)"
        )
    size = SCORE_CHUNK if chunk is None else int(chunk)
    if size < 1:
        raise ModelError(f"score_customers: chunk must be at least 1, got {size}")
    out = {p: np.full(len(X), np.nan, dtype=np.float32) for p in bundle.models}
    for start in range(0, len(X), size):
        part = X.iloc[start : start + size][bundle.feature_names]
        for p, model in bundle.models.items():
            rows = np.flatnonzero(~(part[f"hold_{p}"].to_numpy() > 0))
            if rows.size:
                out[p][start + rows] = model.predict_proba(part.iloc[rows])[:, 1]
    return pd.DataFrame(out, index=X.index)
