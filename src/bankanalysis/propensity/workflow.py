"""A region's propensity view: score its customers, pick offers, build lead lists, replay last
period's lists and read the managers' books.

These functions read the processed data; the report shaping (tables, sentences, charts,
metrics) is :mod:`bankanalysis.report.propensity`, the restricted workbooks
:mod:`bankanalysis.report.workbooks`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bankanalysis.exceptions import ModelError
from bankanalysis.propensity.conversion import add_counts, comparable_counts, lead_outcomes
from bankanalysis.propensity.leads import (
    build_lead_lists,
    next_best_offers,
    reason_codes,
)
from bankanalysis.propensity.scorecards import new_holdings
from bankanalysis.propensity.training import (
    BankLike,
    PropensityBundle,
    load_features,
    score_customers,
)
from bankanalysis.rules.months import shift_month
from bankanalysis.rules.tiers import assign_tiers

__all__ = [
    "OUTCOME_CHUNK",
    "RegionScores",
    "ReplayedLeads",
    "add_reasons",
    "manager_book",
    "replay_conversion",
    "replay_leads",
    "region_lead_lists",
    "score_region",
]

logger = logging.getLogger(__name__)

#: Customers whose lead outcomes :func:`replay_conversion` builds at a time (one part's
#: long frame holds this many customers times the products).
OUTCOME_CHUNK = 100_000


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
    month: str | None = None,
) -> RegionScores:
    """Score every active customer of a region (``None``: the whole bank) at the data month
    (or at ``month``, e.g. the month last period's leads were issued).

    The tier is the bank's (:mod:`bankanalysis.rules.tiers`): the average AUM of the last
    ``tier_months`` month-ends at which the customer was active, cut at ``tier_thresholds``.
    """
    t = month or bundle.data_month
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
    describe: Callable[[str, float], str] | None = None,
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
        rc = reason_codes(
            model, Xp, reference, n_reasons, product_names, candidates=feats, describe=describe
        )
        for c in rc.columns:
            out.loc[rows, c] = rc[c].to_numpy()
    return out


def region_lead_lists(
    bundle: PropensityBundle,
    region: RegionScores,
    values: dict[str, float] | None,
    offers_per_customer: int,
    leads_per_sheet: int,
    n_reasons: int = 3,
    product_names: dict[str, str] | None = None,
    min_probability: float = 0.0,
    describe: Callable[[str, float], str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Next best offers of a region and its lead lists with reason codes.

    Parameters
    ----------
    min_probability : float
        Offers below it are not leads (:func:`~bankanalysis.propensity.leads.build_lead_lists`).
    describe : callable, optional
        ``(feature, value) -> phrase`` for the reasons (default
        :func:`~bankanalysis.propensity.leads.describe_feature`).

    Returns
    -------
    (offers, leads)
    """
    offers = next_best_offers(region.scores, values, offers_per_customer)
    leads = build_lead_lists(offers, region.customers, leads_per_sheet, min_probability)
    leads = add_reasons(bundle, leads, region.X, n_reasons, product_names, describe)
    names = product_names or {}
    leads.insert(
        leads.columns.get_loc("product") + 1,
        "product_name",
        leads["product"].map(lambda p: names.get(p, p)).astype("str"),
    )
    return offers, leads


def replay_leads(
    bank: BankLike,
    bundle: PropensityBundle,
    region_id: str,
    tier_thresholds: Sequence[float],
    tier_months: int,
    values: dict[str, float] | None,
    offers_per_customer: int,
    leads_per_sheet: int,
    min_probability: float = 0.0,
) -> tuple[pd.DataFrame, str] | tuple[None, str]:
    """The leads issued ``horizon`` months ago and what became of them.

    The lists are rebuilt with today's models and parameters at the month they would have been
    issued: the evaluation month (``data_month - horizon``), which no model was fitted on, so
    the replay is out of time. Purchases are read ``horizon`` months later (the data month).

    Returns
    -------
    (outcomes, issue_month) or (None, reason)
        :func:`~bankanalysis.propensity.conversion.lead_outcomes` with each pair's
        ``manager_id`` and ``outlet_id`` at the issue month; ``None`` and the reason in words
        when the issue month is not in the data or nothing was modelled.
    """
    t0 = shift_month(bundle.data_month, -bundle.settings.horizon)
    if not bundle.models:
        return None, "no product has a model"
    if t0 not in set(bank.months):
        return None, f"the data do not reach back to {t0}, when those leads would have been issued"
    then = score_region(bank, bundle, region_id, tier_thresholds, tier_months, month=t0)
    offers = next_best_offers(then.scores, values, offers_per_customer)
    leads = build_lead_lists(offers, then.customers, leads_per_sheet, min_probability)
    holds = [f"hold_{p}" for p in then.scores.columns]
    later = bank.customer_month(
        months=[bundle.data_month], region_id=region_id, columns=["customer_id", *holds]
    ).set_index("customer_id")
    later.columns = [c[5:] for c in later.columns]
    outcomes = lead_outcomes(then.scores, leads, later)
    info = then.customers.set_index("customer_id")[["manager_id", "outlet_id"]]
    outcomes = outcomes.join(info, on="customer_id")
    return outcomes, t0


@dataclass
class ReplayedLeads:
    """Last period's leads and what became of them, as the report reads them.

    Attributes
    ----------
    leads : DataFrame
        The lead rows of :func:`~bankanalysis.propensity.conversion.lead_outcomes` (same
        columns and order), with each lead's ``manager_id`` and ``outlet_id`` at the issue
        month.
    comparable : DataFrame
        :func:`~bankanalysis.propensity.conversion.comparable_counts` of the non-leads.
    issue_month : str
        When the leads would have been issued.
    """

    leads: pd.DataFrame
    comparable: pd.DataFrame
    issue_month: str


def replay_conversion(
    bank: BankLike,
    bundle: PropensityBundle,
    region_id: str,
    tier_thresholds: Sequence[float],
    tier_months: int,
    values: dict[str, float] | None,
    offers_per_customer: int,
    leads_per_sheet: int,
    min_probability: float = 0.0,
    chunk: int | None = None,
) -> ReplayedLeads | str:
    """:func:`replay_leads` for the report, a part of the region's customers at a time.

    The outcomes of every (customer, product) pair are built ``chunk`` customers at a time
    (default :data:`OUTCOME_CHUNK`): each part's lead rows are kept and its non-leads
    counted per product and score band, all that
    :func:`~bankanalysis.propensity.conversion.lead_conversion` and
    :func:`~bankanalysis.propensity.conversion.conversion_by_group` read. The lead rows are the
    lead rows of :func:`replay_leads`, in the same order; the counts are those of its non-lead
    rows.

    Returns
    -------
    ReplayedLeads or str
        The replay, or why there is none (as :func:`replay_leads`).
    """
    size = OUTCOME_CHUNK if chunk is None else int(chunk)
    if size < 1:
        raise ModelError(f"replay_conversion: chunk must be at least 1, got {size}")
    t0 = shift_month(bundle.data_month, -bundle.settings.horizon)
    if not bundle.models:
        return "no product has a model"
    if t0 not in set(bank.months):
        return f"the data do not reach back to {t0}, when those leads would have been issued"
    then = score_region(bank, bundle, region_id, tier_thresholds, tier_months, month=t0)
    scores, customers = then.scores, then.customers
    del then  # the features are not needed any more
    offers = next_best_offers(scores, values, offers_per_customer)
    leads = build_lead_lists(offers, customers, leads_per_sheet, min_probability)
    del offers
    holds = [f"hold_{p}" for p in scores.columns]
    later = bank.customer_month(
        months=[bundle.data_month], region_id=region_id, columns=["customer_id", *holds]
    ).set_index("customer_id")
    later.columns = [c[5:] for c in later.columns]
    kept, counts = [], []
    # where each lead's and each later row's customer is in ``scores`` (-1: not scored), so a
    # part's rows are a range of positions (an isin of Arrow strings against each part took
    # 35 of this step's 123 profiled seconds in the 10M bank's largest region)
    lead_at = scores.index.get_indexer(leads["customer_id"])
    later_at = scores.index.get_indexer(later.index)
    for start in range(0, len(scores), size):
        part = scores.iloc[start : start + size]
        end = start + len(part)
        mine = leads.loc[(lead_at >= start) & (lead_at < end)]
        o = lead_outcomes(part, mine, later.loc[(later_at >= start) & (later_at < end)])
        kept.append(o.loc[o["lead"].to_numpy(dtype=bool)])
        counts.append(comparable_counts(o))
        del o
    lead_rows = pd.concat(kept, ignore_index=True)
    # the whole frame is product after product (each in customer order): so are the parts'
    # lead rows once stably sorted by product
    order = {p: i for i, p in enumerate(scores.columns)}
    lead_rows = lead_rows.iloc[
        np.argsort(lead_rows["product"].map(order).to_numpy(), kind="stable")
    ].reset_index(drop=True)
    info = customers.set_index("customer_id")[["manager_id", "outlet_id"]]
    lead_rows = lead_rows.join(info, on="customer_id")
    return ReplayedLeads(lead_rows, add_counts(counts), t0)


def manager_book(
    bank: BankLike, region: RegionScores, month: str, products: Sequence[str] | None = None
) -> pd.DataFrame:
    """The region's customers at ``month`` as :func:`~bankanalysis.propensity.scorecards.
    scorecards` reads them: tier, manager, outlet, contacts, AUM now and three months
    earlier, new holdings in the month and whether the relationship started in the month.

    ``products``: the products whose new holdings are counted; ``None`` (the default) counts
    every product of the catalogue, the definition of ``sales_total`` in the KPI dictionary,
    so the scorecards' product sales are 03's (the scored products alone printed 123 for an
    outlet whose product sales 03 printed as 167).
    """
    if products is None:
        products = bank.products["product"].astype(str).tolist()
    X = region.X
    book = region.customers[["customer_id", "tier", "outlet_id", "manager_id"]].copy()
    for c in ("contacts_1m", "contact_minutes_1m", "contact_minutes_3m", "aum"):
        book[c] = X[c].to_numpy(dtype=np.float64) if c in X.columns else 0.0
    change = X["aum_chg_3m"].to_numpy(dtype=np.float64) if "aum_chg_3m" in X else np.nan
    base = book["aum"].to_numpy() - change
    book["aum_base"] = np.where(np.isnan(base), 0.0, base)
    holds = [f"hold_{p}" for p in products if f"hold_{p}" in X.columns]
    prev_month = shift_month(month, -1)
    if prev_month in set(bank.months):
        # the book's own customers wherever their home outlet was (one who moved in holds
        # what they held before), read alone rather than the whole bank's month
        before = bank.customer_month(
            months=[prev_month], columns=["customer_id", *holds], customer_ids=book["customer_id"]
        ).set_index("customer_id")
    else:
        before = pd.DataFrame(columns=holds)
    book["new_holdings"] = new_holdings(X[holds], before, products).to_numpy()
    since = bank.customers_of(book["customer_id"], ["customer_id", "since"])
    since = since.set_index("customer_id")["since"]
    started = pd.to_datetime(since.reindex(book["customer_id"])).dt.strftime("%Y-%m")
    book["is_new"] = (started.to_numpy() == month).astype(np.int64)
    return book
