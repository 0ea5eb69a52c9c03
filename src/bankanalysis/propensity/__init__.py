"""Cross-sell propensity: labels and features at t, models, evaluation, next best offer, leads.

Analytics only (DataFrames in, DataFrames out; no sentences, styling or charts: those are
:mod:`bankanalysis.report.propensity`). Submodules: :mod:`~bankanalysis.propensity.features`
(targets, labels, features without leakage, the tier AUM),
:mod:`~bankanalysis.propensity.models` (calibrated boosting, tier baseline),
:mod:`~bankanalysis.propensity.evaluation` (AUC, lift, gains, calibration; per-product tables of
a bundle), :mod:`~bankanalysis.propensity.training` (whole-bank out-of-time training, scoring),
:mod:`~bankanalysis.propensity.defaults` (defaults from the parameter schema),
:mod:`~bankanalysis.propensity.cache` (model cache), :mod:`~bankanalysis.propensity.leads` (next
best offer, reason codes, lead lists), :mod:`~bankanalysis.propensity.conversion` (did last
period's leads work?), :mod:`~bankanalysis.propensity.scorecards` (account-manager scorecards),
:mod:`~bankanalysis.propensity.workflow` (a region's scores, lists and books) and
:mod:`~bankanalysis.propensity.uci` (real-data benchmark).
"""

from bankanalysis.propensity.conversion import lead_conversion
from bankanalysis.propensity.evaluation import (
    brier_score,
    calibration_by_product,
    calibration_table,
    capture_rate,
    evaluate_scores,
    evaluation_table,
    expected_calibration_error,
    gains_by_product,
    gains_curve,
    pr_auc,
    roc_auc,
    top_fraction_lift,
)
from bankanalysis.propensity.features import (
    build_features,
    build_labels,
    cross_sell_products,
    tier_aum,
)
from bankanalysis.propensity.leads import (
    build_lead_lists,
    leads_by_product,
    next_best_offers,
    offer_summary,
)
from bankanalysis.propensity.models import PropensityModel, TierPopularityBaseline
from bankanalysis.propensity.scorecards import scorecards
from bankanalysis.propensity.training import (
    PropensityBundle,
    TrainingSettings,
    fit_or_load,
    score_customers,
    skip_reason,
    train_propensity,
)
from bankanalysis.propensity.workflow import (
    RegionScores,
    manager_book,
    region_lead_lists,
    replay_leads,
    score_region,
)

__all__ = [
    "PropensityBundle",
    "PropensityModel",
    "RegionScores",
    "TierPopularityBaseline",
    "TrainingSettings",
    "brier_score",
    "build_features",
    "build_labels",
    "build_lead_lists",
    "calibration_by_product",
    "calibration_table",
    "capture_rate",
    "cross_sell_products",
    "evaluate_scores",
    "evaluation_table",
    "expected_calibration_error",
    "fit_or_load",
    "gains_by_product",
    "gains_curve",
    "lead_conversion",
    "leads_by_product",
    "manager_book",
    "next_best_offers",
    "offer_summary",
    "pr_auc",
    "region_lead_lists",
    "replay_leads",
    "roc_auc",
    "score_customers",
    "score_region",
    "scorecards",
    "skip_reason",
    "tier_aum",
    "top_fraction_lift",
    "train_propensity",
]
