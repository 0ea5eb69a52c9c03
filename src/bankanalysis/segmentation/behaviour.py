"""Behaviour segments: features, a clusterer with a stated choice of k, names, per-tier fits.

Pure: customer rows in, features, labels and profiles out (no sentences, no charts).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.mixture import GaussianMixture
from sklearn.preprocessing import StandardScaler

from bankanalysis.contract import CHANNELS, PRODUCT_FAMILIES
from bankanalysis.exceptions import ModelError
from bankanalysis.segmentation.common import family_map as _family_map
from bankanalysis.segmentation.common import require_columns as _require

__all__ = [
    "BehaviourSegmenter",
    "TierSegments",
    "behaviour_features",
    "block_weights",
    "feature_block",
    "name_segments",
    "segment_tiers",
]

logger = logging.getLogger(__name__)


def behaviour_features(cm_month: pd.DataFrame, products: pd.DataFrame) -> pd.DataFrame:
    """Behavioural features of each customer at one month-end.

    Parameters
    ----------
    cm_month : DataFrame
        ``customer_month`` rows of one month (``customer_id``, ``n_products``,
        ``hold_<product>``, ``txn_n_3m``, ``txn_<channel>_n_3m``, ``tenure_months``, ``age``).
    products : DataFrame
        The product catalogue (``product``, ``family``).

    Returns
    -------
    DataFrame
        Indexed by ``customer_id``: ``n_products``; ``has_<family>`` (0/1, any product of the
        family held); ``share_<channel>`` (share of the last 3 months' transactions, 0 when
        none); ``activity`` (log(1 + transactions in 3 months)); ``tenure_years``; ``age``.
    """
    _require(
        cm_month, ("customer_id", "n_products", "txn_n_3m", "tenure_months", "age"), "features"
    )
    fam = _family_map(products, cm_month.columns)
    out: dict[str, np.ndarray] = {"n_products": cm_month["n_products"].to_numpy("float64")}
    for f in PRODUCT_FAMILIES:
        if f in fam:
            out[f"has_{f}"] = (cm_month[fam[f]].to_numpy().sum(axis=1) > 0).astype("float64")
    n = cm_month["txn_n_3m"].to_numpy("float64")
    safe = np.where(n > 0, n, 1.0)
    for ch in CHANNELS:
        c = f"txn_{ch}_n_3m"
        if c in cm_month.columns:
            out[f"share_{ch}"] = np.where(n > 0, cm_month[c].to_numpy("float64") / safe, 0.0)
    out["activity"] = np.log1p(n)
    out["tenure_years"] = cm_month["tenure_months"].to_numpy("float64") / 12.0
    out["age"] = cm_month["age"].to_numpy("float64")
    return pd.DataFrame(out, index=pd.Index(cm_month["customer_id"].to_numpy(), name="customer_id"))


#: (feature, sign, word) for the style adjective of a segment name, in priority order.
_STYLE_TRAITS: tuple[tuple[str, int, str], ...] = (
    ("e_share", 1, "digital"),
    ("share_counter", 1, "branch-loyal"),
    ("share_self_service", 1, "self-service"),
    ("share_phone", 1, "phone-banking"),
    ("age", 1, "senior"),
    ("age", -1, "young"),
    ("activity", -1, "dormant"),
    ("activity", 1, "active"),
    ("tenure_years", -1, "new"),
    ("tenure_years", 1, "long-standing"),
)
#: (feature, word) for the noun of a segment name, from the products held.
_PRODUCT_TRAITS: tuple[tuple[str, str], ...] = (
    ("has_investment", "investors"),
    ("has_insurance", "protection buyers"),
    ("has_loan", "borrowers"),
    ("n_products", "multi-product holders"),
)


def name_segments(z_profiles: pd.DataFrame, min_z: float = 0.25) -> list[str]:
    """Name segments from their dominant traits, e.g. ``"digital savers"``.

    Parameters
    ----------
    z_profiles : DataFrame
        One row per segment: mean standardized features (0 = the population average).
        An ``e_share`` column (online + mobile share) is derived when missing.
    min_z : float
        A product trait must be at least this far above average to name the segment;
        otherwise the segment is called "savers".

    Returns
    -------
    list of str
        One unique name per row: "<style> <products>", the style word taken from the
        strongest channel, age, activity or tenure trait.
    """
    z = z_profiles.copy()
    if "e_share" not in z.columns:
        e = [c for c in ("share_online", "share_mobile") if c in z.columns]
        z["e_share"] = z[e].mean(axis=1) if e else 0.0
    names: list[str] = []
    for _, row in z.iterrows():
        styles = sorted(
            (
                (sign * float(row[f]), word)
                for f, sign, word in _STYLE_TRAITS
                if f in row.index and np.isfinite(row[f])
            ),
            key=lambda x: -x[0],
        )
        prods = sorted(
            ((float(row[f]), word) for f, word in _PRODUCT_TRAITS if f in row.index),
            key=lambda x: -x[0],
        )
        noun = prods[0][1] if prods and prods[0][0] >= min_z else "savers"
        cand = [f"{w} {noun}" for _, w in styles] or [noun]
        name = next((c for c in cand if c not in names), None)
        if name is None:
            name = f"{cand[0]} {sum(n.startswith(cand[0]) for n in names) + 1}"
        names.append(name)
    return names


def feature_block(name: str) -> str:
    """Behaviour dimension a feature belongs to: ``products``, ``channels`` or itself.

    Examples
    --------
    >>> feature_block("has_loan"), feature_block("share_mobile"), feature_block("age")
    ('products', 'channels', 'age')
    """
    if name.startswith("has_") or name == "n_products":
        return "products"
    if name.startswith("share_"):
        return "channels"
    return name


def block_weights(columns: Sequence[str]) -> np.ndarray:
    """Weights ``1 / sqrt(block size)`` so every behaviour dimension weighs the same.

    After standardization each feature has variance 1; a dimension described by 8 product
    flags would otherwise count 8 times as much as age in the distance.

    Examples
    --------
    >>> block_weights(["has_a", "has_b", "n_products", "has_c", "age"]).round(2).tolist()
    [0.5, 0.5, 0.5, 0.5, 1.0]
    """
    blocks = [feature_block(str(c)) for c in columns]
    size = {b: blocks.count(b) for b in blocks}
    return np.array([1.0 / np.sqrt(size[b]) for b in blocks])


class BehaviourSegmenter(ClusterMixin, BaseEstimator):
    """Cluster customers on standardized behavioural features; k chosen by a stated criterion.

    ``fit`` standardizes the features, draws a seeded sample of at most ``sample_size``
    customers, fits a model for every k in ``k_range`` on the sample and keeps the k with
    the best criterion: the silhouette (on a seeded sub-sample of ``silhouette_sample``) for
    ``method="kmeans"``, the lowest BIC for ``method="gmm"``. Every customer is then assigned
    to a segment; segments are numbered by decreasing size, profiled and named. With
    ``balance_blocks`` the standardized features are weighted by :func:`block_weights` so that
    product holdings, channel mix, activity, tenure and age weigh the same.

    Parameters
    ----------
    k_range : tuple of int
        Smallest and largest number of segments tried (inclusive).
    method : {"kmeans", "gmm"}
        KMeans (criterion: silhouette) or a Gaussian mixture (criterion: BIC).
    sample_size : int
        Customers used to fit the models (all when fewer).
    silhouette_sample : int
        Customers used to compute the silhouette.
    n_init : int
        Restarts of each model.
    n_stability_seeds : int
        Extra seeds refitted at ``k_`` to measure stability (0 = skip).
    balance_blocks : bool
        Weight features so each behaviour dimension counts the same (needs named columns).
    random_state : int
        Seed of every random draw.

    Attributes
    ----------
    k_ : int
        Number of segments chosen.
    scores_ : dict
        Criterion per k tried.
    labels_ : ndarray
        Segment (0 = largest) of each row of ``X``.
    profiles_ : DataFrame
        Per segment: ``segment, name, customers, share`` and the mean of every feature.
    names_ : list of str
        Segment names by segment number.
    stability_ari_ : float
        Mean adjusted Rand index between the chosen model and refits with other seeds
        (NaN when ``n_stability_seeds`` is 0).
    feature_names_in_ : ndarray
        Feature names when ``X`` was a DataFrame.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(0, 0.1, (30, 2)), rng.normal(5, 0.1, (30, 2))])
    >>> BehaviourSegmenter(k_range=(2, 4), random_state=0).fit(X).k_
    2
    """

    def __init__(
        self,
        k_range: tuple[int, int] = (4, 8),
        method: str = "kmeans",
        sample_size: int = 5000,
        silhouette_sample: int = 3000,
        n_init: int = 4,
        n_stability_seeds: int = 2,
        balance_blocks: bool = True,
        random_state: int = 0,
    ) -> None:
        self.k_range = k_range
        self.method = method
        self.sample_size = sample_size
        self.silhouette_sample = silhouette_sample
        self.n_init = n_init
        self.n_stability_seeds = n_stability_seeds
        self.balance_blocks = balance_blocks
        self.random_state = random_state

    def _model(self, k: int, seed: int) -> KMeans | GaussianMixture:
        if self.method == "kmeans":
            return KMeans(n_clusters=k, n_init=self.n_init, random_state=seed)
        if self.method == "gmm":
            return GaussianMixture(
                n_components=k, n_init=self.n_init, covariance_type="full", random_state=seed
            )
        raise ValueError(f"method must be 'kmeans' or 'gmm', got {self.method!r}")

    def fit(self, X: pd.DataFrame | np.ndarray, y: None = None) -> BehaviourSegmenter:
        """Choose k, fit the segments and profile them.

        Parameters
        ----------
        X : DataFrame or ndarray
            Behavioural features, one row per customer (e.g. :func:`behaviour_features`).
        y : None
            Ignored.

        Returns
        -------
        BehaviourSegmenter
            ``self``.

        Raises
        ------
        ModelError
            When there are too few customers for the smallest k.
        """
        k_min, k_max = int(self.k_range[0]), int(self.k_range[1])
        if not 2 <= k_min <= k_max:
            raise ValueError(f"k_range must satisfy 2 <= k_min <= k_max, got {self.k_range}")
        if isinstance(X, pd.DataFrame):
            self.feature_names_in_ = np.asarray(X.columns, dtype=object)
            raw = X.to_numpy("float64")
        else:
            raw = np.asarray(X, dtype="float64")
        n = raw.shape[0]
        if n < 2 * k_min + 1:
            raise ModelError(
                f"{n} customers are too few for {k_min} segments; lower k_range or skip this group"
            )
        self.scaler_ = StandardScaler().fit(raw)
        cols = (
            list(self.feature_names_in_)
            if hasattr(self, "feature_names_in_")
            else [f"x{i}" for i in range(raw.shape[1])]
        )
        self.weights_ = block_weights(cols) if self.balance_blocks else np.ones(len(cols))
        Z = self.scaler_.transform(raw) * self.weights_
        rng = np.random.default_rng(self.random_state)
        idx = np.sort(rng.choice(n, size=min(n, self.sample_size), replace=False))
        Zs = Z[idx]
        sil_idx = np.sort(
            rng.choice(len(idx), size=min(len(idx), self.silhouette_sample), replace=False)
        )
        self.scores_: dict[int, float] = {}
        models: dict[int, KMeans | GaussianMixture] = {}
        for k in range(k_min, min(k_max, len(idx) - 1) + 1):
            m = self._model(k, self.random_state).fit(Zs)
            models[k] = m
            if self.method == "gmm":
                self.scores_[k] = float(m.bic(Zs))
            else:
                lab = m.predict(Zs[sil_idx])
                ok = len(np.unique(lab)) > 1
                self.scores_[k] = (
                    float(silhouette_score(Zs[sil_idx], lab, random_state=self.random_state))
                    if ok
                    else -1.0
                )
        pick = min if self.method == "gmm" else max
        self.k_ = int(pick(self.scores_, key=lambda k: (self.scores_[k], -k)))
        self.model_ = models[self.k_]
        raw_labels = self.model_.predict(Z)
        sizes = np.bincount(raw_labels, minlength=self.k_)
        order = np.lexsort((np.arange(self.k_), -sizes))
        self.label_map_ = np.empty(self.k_, dtype="int64")
        self.label_map_[order] = np.arange(self.k_)
        self.labels_ = self.label_map_[raw_labels]
        base = self.model_.predict(Zs)
        aris = []
        for s in range(1, int(self.n_stability_seeds) + 1):
            other = self._model(self.k_, self.random_state + 1000 * s).fit(Zs)
            aris.append(adjusted_rand_score(base, other.predict(Zs)))
        self.stability_ari_ = float(np.mean(aris)) if aris else float("nan")
        self.profiles_, self.names_ = self._profile(raw, Z / self.weights_, cols)
        return self

    def _profile(
        self, raw: np.ndarray, Z: np.ndarray, cols: list[str]
    ) -> tuple[pd.DataFrame, list[str]]:
        lab = self.labels_
        counts = np.bincount(lab, minlength=self.k_)
        means = pd.DataFrame(raw, columns=cols).groupby(lab).mean().reindex(range(self.k_))
        zmeans = pd.DataFrame(Z, columns=cols).groupby(lab).mean().reindex(range(self.k_))
        names = name_segments(zmeans)
        prof = pd.DataFrame(
            {
                "segment": np.arange(self.k_),
                "name": names,
                "customers": counts.astype("int64"),
                "share": counts / counts.sum(),
            }
        )
        prof = pd.concat([prof, means.reset_index(drop=True)], axis=1)
        return prof, names

    def predict(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Segment of new customers (same features as ``fit``)."""
        raw = X.to_numpy("float64") if isinstance(X, pd.DataFrame) else np.asarray(X, "float64")
        return self.label_map_[self.model_.predict(self.scaler_.transform(raw) * self.weights_)]


@dataclass
class TierSegments:
    """Behaviour segments within each tier (output of :func:`segment_tiers`).

    Attributes
    ----------
    labels : DataFrame
        ``customer_id, tier, segment, segment_name`` (internal; never shown in reports).
    profiles : DataFrame
        Per (tier, segment): name, customers, share of the tier, mean features.
    summary : DataFrame
        Per tier: ``tier, customers, k, criterion, stability_ari`` (NaN k for tiers too small
        to segment, kept as one segment).
    """

    labels: pd.DataFrame
    profiles: pd.DataFrame
    summary: pd.DataFrame
    segmenters: dict[str, BehaviourSegmenter] = field(default_factory=dict)


def segment_tiers(
    features: pd.DataFrame,
    tiers: pd.DataFrame,
    k_range: tuple[int, int] = (4, 8),
    min_customers: int = 200,
    **segmenter_kwargs: object,
) -> TierSegments:
    """Fit a :class:`BehaviourSegmenter` within each tier.

    Parameters
    ----------
    features : DataFrame
        :func:`behaviour_features` (indexed by ``customer_id``).
    tiers : DataFrame
        :func:`customer_tiers` of the same month (``customer_id``, ``tier``).
    k_range : tuple of int
        Range of k tried in each tier.
    min_customers : int
        Tiers with fewer customers are not split (one segment named after the tier).
    **segmenter_kwargs
        Passed to :class:`BehaviourSegmenter` (``method``, ``random_state``...).

    Returns
    -------
    TierSegments
    """
    tier_of = tiers.set_index("customer_id")["tier"].reindex(features.index)
    labels, profiles, summary, fitted = [], [], [], {}
    for tier in tiers["tier"].cat.categories:
        mask = (tier_of == tier).to_numpy()
        X = features.loc[mask]
        n = len(X)
        if n == 0:
            continue
        if n < max(min_customers, 2 * k_range[0] + 1):
            seg = np.zeros(n, dtype="int64")
            name = "all customers (too few to split)"
            prof = pd.DataFrame({"segment": [0], "name": [name], "customers": [n], "share": [1.0]})
            prof = pd.concat([prof, X.mean().to_frame().T.reset_index(drop=True)], axis=1)
            summary.append(
                {
                    "tier": tier,
                    "customers": n,
                    "k": np.nan,
                    "criterion": np.nan,
                    "stability_ari": np.nan,
                }
            )
            names = [name]
        else:
            sgm = BehaviourSegmenter(k_range=k_range, **segmenter_kwargs).fit(X)
            fitted[tier] = sgm
            seg, prof, names = sgm.labels_, sgm.profiles_.copy(), sgm.names_
            summary.append(
                {
                    "tier": tier,
                    "customers": n,
                    "k": float(sgm.k_),
                    "criterion": sgm.scores_[sgm.k_],
                    "stability_ari": sgm.stability_ari_,
                }
            )
        labels.append(
            pd.DataFrame(
                {
                    "customer_id": X.index.to_numpy(),
                    "tier": tier,
                    "segment": seg,
                    "segment_name": np.asarray(names, dtype=object)[seg],
                }
            )
        )
        prof.insert(0, "tier", tier)
        profiles.append(prof)
    return TierSegments(
        labels=pd.concat(labels, ignore_index=True),
        profiles=pd.concat(profiles, ignore_index=True),
        summary=pd.DataFrame(summary),
        segmenters=fitted,
    )
