"""A region's propensity view: score its customers, pick offers, build and write lead lists.

These functions read the processed data and write the lead files, and shape the model
evaluation into the tables, metrics and chart data the notebook shows; the notebook calls them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bankanalysis.exceptions import ModelError
from bankanalysis.privacy import suppress_small_groups
from bankanalysis.propensity.features import assign_tier, month_add
from bankanalysis.propensity.leads import (
    build_lead_lists,
    reason_codes,
    write_lead_csv,
    write_lead_workbook,
)
from bankanalysis.propensity.training import (
    BankLike,
    PropensityBundle,
    calibration_by_product,
    evaluation_table,
    gains_by_product,
    load_features,
    score_customers,
)

__all__ = [
    "EVALUATION_COLUMNS",
    "EVALUATION_FORMATS",
    "RegionScores",
    "add_reasons",
    "calibration_plot_data",
    "evaluation_metrics",
    "evaluation_report_table",
    "evaluation_text",
    "gains_plot_data",
    "region_evaluation_table",
    "region_lead_lists",
    "score_region",
    "write_region_leads",
]

logger = logging.getLogger(__name__)


@dataclass
class RegionScores:
    """Scores of a region's active customers at the data month.

    Attributes
    ----------
    X : DataFrame
        Features (customers as index).
    scores : DataFrame
        Probability per modelled product (NaN where held).
    customers : DataFrame
        ``customer_id, tier, outlet_id, manager_id, n_products``.
    """

    X: pd.DataFrame
    scores: pd.DataFrame
    customers: pd.DataFrame


def score_region(
    bank: BankLike,
    bundle: PropensityBundle,
    region_id: str | None,
    tier_thresholds: list[float] | tuple[float, ...],
    tier_months: int = 3,
) -> RegionScores:
    """Score every active customer of a region (``None``: the whole bank) at the data month.

    The tier uses the average AUM of the last ``tier_months`` month-ends (months missing for a
    customer are left out of the average).
    """
    t = bundle.data_month
    X, _ = load_features(bank, t, bundle.regions, region_id=region_id)
    if X.empty:
        raise ModelError(f"region {region_id} has no active customers in {t}")
    scores = score_customers(bundle, X)
    info = bank.customer_month(
        months=[t], region_id=region_id, columns=["customer_id", "outlet_id", "manager_id"]
    ).set_index("customer_id")
    months = [m for m in (month_add(t, -k) for k in range(tier_months)) if m in set(bank.months)]
    aum = bank.customer_month(months=months, region_id=region_id, columns=["customer_id", "aum"])
    avg = aum.groupby("customer_id")["aum"].mean().reindex(X.index)
    customers = pd.DataFrame(
        {
            "customer_id": X.index.to_numpy(),
            "tier": assign_tier(avg.fillna(0.0), tier_thresholds).to_numpy(),
            "outlet_id": info["outlet_id"].reindex(X.index).to_numpy(),
            "manager_id": info["manager_id"].reindex(X.index).to_numpy(),
            "n_products": X["n_products"].to_numpy(dtype=np.float64),
        }
    )
    return RegionScores(X=X, scores=scores, customers=customers)


def add_reasons(
    bundle: PropensityBundle,
    leads: pd.DataFrame,
    X: pd.DataFrame,
    n_reasons: int = 3,
    product_names: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Add ``reason_1..reason_n`` to lead rows (per product model, against its population median).

    Parameters
    ----------
    bundle : PropensityBundle
        Trained models.
    leads : DataFrame
        From :func:`~bankanalysis.propensity.leads.build_lead_lists`.
    X : DataFrame
        Features of the scored customers (customers as index).
    """
    out = leads.copy()
    for r in range(n_reasons):
        out[f"reason_{r + 1}"] = ""
    feats = [f for f in bundle.feature_names if f != "region"]
    for p, rows in out.groupby("product", sort=True).groups.items():
        model = bundle.models[p]
        Xp = X.loc[out.loc[rows, "customer_id"].to_numpy(), bundle.feature_names]
        pop = X.loc[X[f"hold_{p}"] <= 0, feats]
        reference = pop.median(numeric_only=True)
        rc = reason_codes(model, Xp, reference, n_reasons, product_names, candidates=feats)
        for c in rc.columns:
            out.loc[rows, c] = rc[c].to_numpy()
    return out


def write_region_leads(leads: pd.DataFrame, output_dir: str | Path, region_id: str) -> dict:
    """Write ``leads_<region_id>.xlsx`` and ``leads_<region_id>.csv`` atomically.

    Returns
    -------
    dict
        ``xlsx`` and ``csv`` file names (relative to ``output_dir``) and ``sheets``.
    """
    out = Path(output_dir)
    xlsx, csv = f"leads_{region_id}.xlsx", f"leads_{region_id}.csv"
    sheets = write_lead_workbook(leads, out / xlsx)
    write_lead_csv(leads, out / csv)
    logger.info("wrote %d leads in %d lists to %s", len(leads), len(sheets), out / xlsx)
    return {"xlsx": xlsx, "csv": csv, "sheets": sheets}


def region_lead_lists(
    bundle: PropensityBundle,
    region: RegionScores,
    values: dict[str, float] | None,
    offers_per_customer: int,
    leads_per_sheet: int,
    n_reasons: int = 3,
    product_names: dict[str, str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Next best offers of a region and its lead lists with reason codes.

    Returns
    -------
    (offers, leads)
    """
    from bankanalysis.propensity.leads import next_best_offers

    offers = next_best_offers(region.scores, values, offers_per_customer)
    leads = build_lead_lists(offers, region.customers, leads_per_sheet)
    leads = add_reasons(bundle, leads, region.X, n_reasons, product_names)
    names = product_names or {}
    leads.insert(
        leads.columns.get_loc("product") + 1,
        "product_name",
        leads["product"].map(lambda p: names.get(p, p)).astype("str"),
    )
    return offers, leads


#: Figures of the region's evaluation that small groups (few buyers) blank out.
REGION_EVALUATION_COLUMNS: tuple[str, ...] = ("buyers", "auc", "lift", "capture", "ece")
#: Per-product figures of the whole bank recorded as metrics (``<product>.<key>``).
BANK_EVALUATION_METRICS: tuple[str, ...] = (
    "auc",
    "pr_auc",
    "lift",
    "capture",
    "brier",
    "ece",
    "baseline_auc",
    "baseline_lift",
)
#: Columns of the evaluation report table (:func:`evaluation_report_table`) and their titles.
EVALUATION_COLUMNS: dict[str, str] = {
    "name": "product",
    "n": "customers",
    "buyers": "buyers",
    "base_rate": "take-up rate",
    "auc": "AUC",
    "baseline_auc": "baseline AUC",
    "pr_auc": "PR AUC",
    "lift": "top-10% lift",
    "baseline_lift": "baseline lift",
    "capture": "top 10% captures",
    "brier": "Brier",
    "ece": "ECE",
    "auc_region": "AUC (region)",
    "lift_region": "lift (region)",
    "capture_region": "captures (region)",
}
#: Cell formats of the evaluation report table that differ from the default (3 decimals).
EVALUATION_FORMATS: dict[str, str] = {
    "take-up rate": "{:.1%}",
    "top 10% captures": "{:.1%}",
    "captures (region)": "{:.1%}",
    "customers": "{:,.0f}",
    "buyers": "{:,.0f}",
}


def region_evaluation_table(
    evaluation: pd.DataFrame, region_id: str, min_group_size: int, fraction: float = 0.1
) -> pd.DataFrame:
    """The out-of-time figures of one region's customers, small groups blanked.

    Parameters
    ----------
    evaluation : DataFrame
        ``PropensityBundle.evaluation``.
    region_id : str
        Region whose customers are evaluated.
    min_group_size : int
        Products with fewer buyers in the region get NaN in :data:`REGION_EVALUATION_COLUMNS`
        (the buyer count included).
    fraction : float
        Top share for lift and capture.

    Returns
    -------
    DataFrame
        As :func:`~bankanalysis.propensity.training.evaluation_table`, plus ``suppressed``.
    """
    table = evaluation_table(evaluation, region_id=region_id, fraction=fraction)
    return suppress_small_groups(
        table, "buyers", min_group_size, value_cols=list(REGION_EVALUATION_COLUMNS)
    )


def evaluation_metrics(
    bundle: PropensityBundle, bank_eval: pd.DataFrame, region_eval: pd.DataFrame
) -> dict[str, float]:
    """The evaluation figures a propensity report records (without the ``propensity.`` prefix).

    Parameters
    ----------
    bundle : PropensityBundle
        Trained models (for the numbers of modelled and skipped products).
    bank_eval : DataFrame
        :func:`~bankanalysis.propensity.training.evaluation_table` of the whole bank.
    region_eval : DataFrame
        :func:`region_evaluation_table` of the region.

    Returns
    -------
    dict
        ``<product>.<figure>`` for each of :data:`BANK_EVALUATION_METRICS`,
        ``region.<product>.auc``, ``products_modelled``, ``products_skipped`` and
        ``products_beating_baseline`` (model AUC above the baseline's).
    """
    out: dict[str, float] = {}
    for row in bank_eval.itertuples():
        for key in BANK_EVALUATION_METRICS:
            out[f"{row.product}.{key}"] = getattr(row, key)
    for row in region_eval.itertuples():
        out[f"region.{row.product}.auc"] = row.auc
    out["products_modelled"] = len(bundle.models)
    out["products_skipped"] = len(bundle.skipped)
    out["products_beating_baseline"] = int((bank_eval["auc"] > bank_eval["baseline_auc"]).sum())
    return out


def evaluation_report_table(
    bank_eval: pd.DataFrame,
    region_eval: pd.DataFrame,
    product_names: Mapping[str, str],
) -> pd.DataFrame:
    """The bank's figures per product next to the region's, titled for the report.

    Parameters
    ----------
    bank_eval, region_eval : DataFrame
        As for :func:`evaluation_metrics`.
    product_names : mapping
        Product code -> display name.

    Returns
    -------
    DataFrame
        One row per product of both tables, the columns of :data:`EVALUATION_COLUMNS`
        renamed to their titles (format them with :data:`EVALUATION_FORMATS`).
    """
    region = region_eval[["product", "buyers", "auc", "lift", "capture"]]
    table = bank_eval.merge(region, on="product", suffixes=("", "_region"))
    table.insert(0, "name", table["product"].map(product_names))
    return table[list(EVALUATION_COLUMNS)].rename(columns=EVALUATION_COLUMNS)


def evaluation_text(bank_eval: pd.DataFrame) -> str:
    """One Markdown sentence: how often and by how much the model beats the tier baseline.

    Parameters
    ----------
    bank_eval : DataFrame
        :func:`~bankanalysis.propensity.training.evaluation_table` of the whole bank.

    Returns
    -------
    str
        Markdown without names from the data (products are counted, not named).
    """
    better = int((bank_eval["auc"] > bank_eval["baseline_auc"]).sum())
    return (
        f"The model ranks better than the tier baseline for **{better} of {len(bank_eval)}** "
        f"products; median out-of-time AUC {bank_eval['auc'].median():.2f} against "
        f"{bank_eval['baseline_auc'].median():.2f} for the baseline, and the top 10% of customers "
        f"by score hold on median {bank_eval['capture'].median():.0%} of the buyers."
    )


def _label_scoped(df: pd.DataFrame, product_names: Mapping[str, str]) -> pd.DataFrame:
    """``product`` replaced by ``<name> (<scope>)`` (the product code when it has no name)."""
    out = df.copy()
    names = out["product"].map(lambda p: product_names.get(p, p))
    out["product"] = names + " (" + out["scope"] + ")"
    return out


def gains_plot_data(
    evaluation: pd.DataFrame,
    region_id: str | None,
    min_buyers: int,
    product_names: Mapping[str, str],
) -> pd.DataFrame:
    """Cumulative gains per product for a faceted chart, products labelled ``name (scope)``.

    Parameters
    ----------
    evaluation : DataFrame
        ``PropensityBundle.evaluation``.
    region_id : str, optional
        Region whose customers are used when they include ``min_buyers`` buyers.
    min_buyers : int
        Fewer buyers in the region: the whole bank's customers (``scope`` says which).
    product_names : mapping
        Product code -> display name.

    Returns
    -------
    DataFrame
        As :func:`~bankanalysis.propensity.training.gains_by_product`, ``product`` labelled.
    """
    gains = gains_by_product(evaluation, region_id=region_id, min_buyers=min_buyers)
    return _label_scoped(gains, product_names)


def calibration_plot_data(
    evaluation: pd.DataFrame,
    region_id: str | None,
    min_buyers: int,
    min_group_size: int,
    product_names: Mapping[str, str],
) -> pd.DataFrame:
    """Calibration bins per product for a faceted chart, small bins left out.

    Parameters
    ----------
    evaluation, region_id, min_buyers, product_names
        As for :func:`gains_plot_data`.
    min_group_size : int
        Bins with fewer customers are dropped.

    Returns
    -------
    DataFrame
        As :func:`~bankanalysis.propensity.training.calibration_by_product`, ``product``
        labelled ``name (scope)``.
    """
    calib = calibration_by_product(evaluation, region_id=region_id, min_buyers=min_buyers)
    return _label_scoped(calib[calib["n"] >= min_group_size], product_names)
