"""A region's propensity view: score its customers, pick offers, build and write lead lists.

These functions read the processed data and write the lead files; the report shaping (tables,
sentences, charts, metrics) is :mod:`bankanalysis.report.propensity`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bankanalysis.exceptions import ModelError
from bankanalysis.propensity.leads import (
    build_lead_lists,
    next_best_offers,
    reason_codes,
    write_lead_csv,
    write_lead_workbook,
)
from bankanalysis.propensity.training import (
    BankLike,
    PropensityBundle,
    load_features,
    score_customers,
)
from bankanalysis.rules.tiers import assign_tiers

__all__ = [
    "RegionScores",
    "add_reasons",
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
    tier_thresholds: Sequence[float],
    tier_months: int,
) -> RegionScores:
    """Score every active customer of a region (``None``: the whole bank) at the data month.

    The tier is the bank's (:mod:`bankanalysis.rules.tiers`): the average AUM of the last
    ``tier_months`` month-ends at which the customer was active, cut at ``tier_thresholds``.
    """
    t = bundle.data_month
    X, _, avg_aum = load_features(
        bank, t, bundle.regions, region_id=region_id, tier_months=tier_months
    )
    if X.empty:
        raise ModelError(f"region {region_id} has no active customers in {t}")
    scores = score_customers(bundle, X)
    info = bank.customer_month(
        months=[t], region_id=region_id, columns=["customer_id", "outlet_id", "manager_id"]
    ).set_index("customer_id")
    customers = pd.DataFrame(
        {
            "customer_id": X.index.to_numpy(),
            "tier": np.asarray(assign_tiers(avg_aum.fillna(0.0), tier_thresholds), dtype=object),
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
