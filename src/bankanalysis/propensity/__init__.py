"""Cross-sell propensity: labels and features at t, models, evaluation, next best offer, leads.

Submodules: :mod:`~bankanalysis.propensity.features` (targets, labels, features without
leakage), :mod:`~bankanalysis.propensity.models` (calibrated boosting, baseline),
:mod:`~bankanalysis.propensity.evaluation` (AUC, lift, gains, calibration),
:mod:`~bankanalysis.propensity.training` (whole-bank out-of-time training, scoring),
:mod:`~bankanalysis.propensity.cache` (model cache), :mod:`~bankanalysis.propensity.leads`
(next best offer, reason codes, lead lists), :mod:`~bankanalysis.propensity.workflow` (a
region's view) and :mod:`~bankanalysis.propensity.uci` (real-data benchmark).
"""

from bankanalysis.propensity.evaluation import (
    brier_score,
    calibration_table,
    capture_rate,
    evaluate_scores,
    expected_calibration_error,
    gains_curve,
    pr_auc,
    roc_auc,
    top_fraction_lift,
)
from bankanalysis.propensity.features import (
    build_features,
    build_labels,
    cross_sell_products,
    month_add,
)
from bankanalysis.propensity.leads import (
    build_lead_lists,
    expected_sales_plot_data,
    lead_files_text,
    lead_list_metrics,
    lead_product_summary,
    lead_product_table,
    next_best_offers,
    offer_summary,
    offer_summary_text,
    write_lead_csv,
    write_lead_workbook,
)
from bankanalysis.propensity.models import PropensityModel, TierPopularityBaseline
from bankanalysis.propensity.training import (
    PropensityBundle,
    TrainingSettings,
    calibration_by_product,
    evaluation_table,
    fit_or_load,
    gains_by_product,
    score_customers,
    train_propensity,
)
from bankanalysis.propensity.workflow import (
    EVALUATION_COLUMNS,
    EVALUATION_FORMATS,
    calibration_plot_data,
    evaluation_metrics,
    evaluation_report_table,
    evaluation_text,
    gains_plot_data,
    region_evaluation_table,
    region_lead_lists,
    score_region,
    write_region_leads,
)

__all__ = [
    "EVALUATION_COLUMNS",
    "EVALUATION_FORMATS",
    "PropensityBundle",
    "PropensityModel",
    "TierPopularityBaseline",
    "TrainingSettings",
    "brier_score",
    "build_features",
    "build_labels",
    "build_lead_lists",
    "calibration_by_product",
    "calibration_plot_data",
    "calibration_table",
    "capture_rate",
    "cross_sell_products",
    "evaluate_scores",
    "evaluation_metrics",
    "evaluation_report_table",
    "evaluation_table",
    "evaluation_text",
    "expected_calibration_error",
    "expected_sales_plot_data",
    "fit_or_load",
    "gains_by_product",
    "gains_curve",
    "gains_plot_data",
    "lead_files_text",
    "lead_list_metrics",
    "lead_product_summary",
    "lead_product_table",
    "month_add",
    "next_best_offers",
    "offer_summary",
    "offer_summary_text",
    "pr_auc",
    "region_evaluation_table",
    "region_lead_lists",
    "roc_auc",
    "score_customers",
    "score_region",
    "top_fraction_lift",
    "train_propensity",
    "write_lead_csv",
    "write_lead_workbook",
    "write_region_leads",
]
