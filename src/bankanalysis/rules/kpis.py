"""The KPI dictionary: every figure a report shows, declared once.

Each :class:`KPI` says what the figure means (a one-sentence definition naming numerator,
denominator and window), its unit and display format, whether higher or lower is better, the
levels it exists at, the raw tables it needs and the one function that computes it. Reports,
the run index, scorecards, attainment tables and ``metrics.json`` all take names, units and
formats from here (through :mod:`bankanalysis.report.format`); nothing formats a KPI by hand.

``metrics.json`` keys are KPI ids. The key ``"<kpi>"`` is the report's own scope (its region;
the whole bank in the overview) at the data month; a breakdown adds one or more dimensions in
brackets, ``"<kpi>[<dim>=<value>,...]"`` (e.g. ``customer_share[tier=vip]``,
``product_coverage[region=R01]``), built by :func:`metric_key` and read by
:func:`parse_metric_key`. Shares are fractions (0.123); only the formatter shows them as %.

Where the data contract cannot measure a KPI as the annual plan names it, ``proxy`` says what is
measured instead, and every report shows that note beside the number.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from bankanalysis.exceptions import KpiError

__all__ = [
    "KPI",
    "KPIS",
    "LEVELS",
    "UNITS",
    "compute_function",
    "get",
    "is_kpi",
    "kpi_rows",
    "kpis_markdown",
    "metric_key",
    "parse_metric_key",
    "plan_kpis",
]

Unit = Literal["money", "share", "count", "products", "minutes", "ratio", "score", "rank", "months"]
Direction = Literal["higher", "lower", "none"]

#: Units and what a value of each means.
UNITS: dict[str, str] = {
    "money": "an amount in the bank's currency",
    "share": "a fraction of a whole, shown as %",
    "count": "a whole number of customers, outlets, products or devices",
    "products": "products per customer",
    "minutes": "minutes",
    "ratio": "a ratio of two quantities, shown with two decimals",
    "score": "an index between 0 and 1 (1 = best), shown with three decimals",
    "rank": "a position, 1 = first",
    "months": "a number of months",
}
#: Levels a KPI can exist at, from the smallest unit up.
LEVELS: tuple[str, ...] = ("customer", "outlet", "region", "echelon", "bank")
_ABOVE_OUTLET = ("outlet", "region", "echelon", "bank")
_ABOVE_REGION = ("region", "echelon", "bank")

_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_KEY = re.compile(r"^(?P<kpi>[a-z][a-z0-9_]*)(?:\[(?P<by>[^\[\]]+)\])?$")


@dataclass(frozen=True)
class KPI:
    """One entry of the dictionary.

    Parameters
    ----------
    id : str
        Stable identifier, also the ``metrics.json`` key.
    name : str
        Display name in words (what a manager reads).
    definition : str
        One sentence naming numerator, denominator and window.
    unit : str
        One of :data:`UNITS`.
    direction : str
        ``"higher"`` or ``"lower"`` is better, or ``"none"`` (descriptive figures).
    levels : tuple of str
        Levels of :data:`LEVELS` it exists at.
    needs : tuple of str
        Raw tables it is computed from; absent tables make it absent.
    compute : str
        ``"module:function"`` of the one function computing it.
    proxy : str
        What is measured instead where the contract cannot measure the plan's KPI; empty if none.
    plan : bool
        True for the annual plan's KPIs (scorecards, attainment, summaries).
    decimals : int or None
        Display decimals overriding the unit's default.
    """

    id: str
    name: str
    definition: str
    unit: Unit
    direction: Direction
    levels: tuple[str, ...]
    needs: tuple[str, ...]
    compute: str
    proxy: str = ""
    plan: bool = False
    decimals: int | None = None
    aliases: tuple[str, ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        if not _ID.match(self.id):
            raise KpiError(f"KPI id {self.id!r} must be lower-case letters, digits and _")
        if self.unit not in UNITS:
            raise KpiError(f"KPI {self.id}: unknown unit {self.unit!r}; units are {list(UNITS)}")
        if self.direction not in ("higher", "lower", "none"):
            raise KpiError(f"KPI {self.id}: direction must be higher, lower or none")
        bad = [lv for lv in self.levels if lv not in LEVELS]
        if bad or not self.levels:
            raise KpiError(f"KPI {self.id}: levels {bad or '()'} not in {LEVELS}")
        if ":" not in self.compute:
            raise KpiError(
                f"KPI {self.id}: compute must be 'module:function', got {self.compute!r}"
            )


def _k(*args: Any, **kwargs: Any) -> KPI:
    return KPI(*args, **kwargs)


_SEG = "bankanalysis.segmentation"
_BM = "bankanalysis.benchmarking"
_PR = "bankanalysis.propensity"
_OV = "bankanalysis.overview"

_ENTRIES: list[KPI] = [
    # --- plan KPIs: customers and coverage (computed by the segmentation package)
    _k(
        "customers",
        "Customers",
        "Active customers (holding at least one product) at the month-end.",
        "count",
        "higher",
        _ABOVE_OUTLET,
        ("customers", "holdings"),
        f"{_SEG}.coverage:customer_kpis",
        plan=True,
    ),
    _k(
        "customer_growth",
        "Customer growth",
        "Active customers at the month-end minus those at the base month (lookback_months "
        "earlier, or the first month of the data), divided by those at the base month.",
        "share",
        "higher",
        _ABOVE_OUTLET,
        ("customers", "holdings"),
        f"{_SEG}.coverage:customer_kpis",
        plan=True,
    ),
    _k(
        "stock_retention",
        "Stock customer retention rate",
        "Customers active at the base month (lookback_months earlier) who are still active at "
        "the month-end, divided by the customers active at the base month.",
        "share",
        "higher",
        _ABOVE_OUTLET,
        ("customers", "holdings"),
        f"{_SEG}.coverage:customer_kpis",
        plan=True,
    ),
    _k(
        "product_coverage",
        "Product coverage",
        "Active customers holding at least coverage_products products at the month-end, "
        "divided by active customers.",
        "share",
        "higher",
        _ABOVE_OUTLET,
        ("holdings",),
        f"{_SEG}.coverage:customer_kpis",
        plan=True,
    ),
    _k(
        "products_per_customer",
        "Products per customer",
        "Products held at the month-end divided by active customers.",
        "products",
        "higher",
        _ABOVE_OUTLET,
        ("holdings",),
        f"{_SEG}.coverage:customer_kpis",
    ),
    _k(
        "wealth_card_matching",
        "Wealth-management-card matching rate",
        "Quality-and-above customers holding the wealth-management card at the month-end, "
        "divided by quality-and-above customers (tiers on window-average AUM).",
        "share",
        "higher",
        _ABOVE_OUTLET,
        ("holdings", "products"),
        f"{_SEG}.coverage:customer_kpis",
        plan=True,
    ),
    _k(
        "e_banking_penetration",
        "E-banking penetration",
        "Active customers holding an e-banking product at the month-end, divided by active "
        "customers.",
        "share",
        "higher",
        _ABOVE_OUTLET,
        ("holdings", "products"),
        f"{_SEG}.coverage:customer_kpis",
    ),
    _k(
        "zero_product_share",
        "Customers holding no product",
        "Customers on the books (opened, not closed) holding no product at the month-end, "
        "divided by customers on the books.",
        "share",
        "lower",
        _ABOVE_OUTLET,
        ("customers", "holdings"),
        f"{_SEG}.coverage:product_depth",
    ),
    _k(
        "single_product_share",
        "Customers holding one product",
        "Customers on the books holding exactly one product at the month-end, divided by "
        "customers on the books.",
        "share",
        "lower",
        _ABOVE_OUTLET,
        ("customers", "holdings"),
        f"{_SEG}.coverage:product_depth",
    ),
    # --- plan KPIs: account managers (segmentation.managers)
    _k(
        "contact_plan_coverage",
        "Customer contact-plan coverage",
        "Quality-and-above customers contacted by an account manager in the month, divided by "
        "quality-and-above customers.",
        "share",
        "higher",
        _ABOVE_OUTLET,
        ("holdings", "contacts"),
        f"{_SEG}.managers:manager_kpis",
        plan=True,
    ),
    _k(
        "manager_coverage",
        "Full-time account-manager coverage",
        "Quality-and-above customers assigned to a full-time account manager at the month-end, "
        "divided by quality-and-above customers.",
        "share",
        "higher",
        _ABOVE_OUTLET,
        ("holdings", "managers"),
        f"{_SEG}.managers:manager_kpis",
        plan=True,
    ),
    _k(
        "manager_adequacy",
        "Full-time account-manager adequacy ratio",
        "Quality-and-above customers divided by full-time account managers at the month-end "
        "(customers per manager; lower means better staffed).",
        "ratio",
        "lower",
        _ABOVE_OUTLET,
        ("holdings", "managers"),
        f"{_SEG}.managers:manager_kpis",
        plan=True,
        decimals=0,
    ),
    _k(
        "vip_service_duration_ratio",
        "VIP customer service duration ratio",
        "Account-manager contact minutes with VIP-and-above customers in the month, divided by "
        "all account-manager contact minutes in the month.",
        "share",
        "higher",
        _ABOVE_OUTLET,
        ("holdings", "contacts"),
        f"{_SEG}.managers:manager_kpis",
        proxy="The data contract records account managers' contacts only; counter and "
        "phone-centre service time are not in it, so the ratio covers account-manager time.",
        plan=True,
    ),
    _k(
        "vip_contact_rate",
        "VIP customers contacted",
        "VIP-and-above customers contacted by an account manager in the last three months, "
        "divided by VIP-and-above customers.",
        "share",
        "higher",
        _ABOVE_OUTLET,
        ("holdings", "contacts"),
        f"{_SEG}.managers:manager_kpis",
    ),
    _k(
        "vip_service_minutes",
        "Service minutes per VIP customer",
        "Account-manager contact minutes with VIP-and-above customers in the last three months, "
        "divided by VIP-and-above customers.",
        "minutes",
        "higher",
        _ABOVE_OUTLET,
        ("holdings", "contacts"),
        f"{_SEG}.managers:manager_kpis",
    ),
    # --- plan KPIs: tiers and migration (segmentation)
    _k(
        "customer_share",
        "Share of customers",
        "Active customers in the group (e.g. a tier) divided by all active customers at the "
        "month-end.",
        "share",
        "none",
        _ABOVE_OUTLET,
        ("holdings",),
        f"{_SEG}.composition:tier_summary",
    ),
    _k(
        "aum_share",
        "Share of AUM",
        "Window-average AUM of the group's customers divided by the window-average AUM of all "
        "active customers.",
        "share",
        "none",
        _ABOVE_OUTLET,
        ("holdings",),
        f"{_SEG}.composition:tier_summary",
    ),
    _k(
        "aum",
        "Assets under management",
        "Month-end balances of the products counted in AUM, summed over active customers.",
        "money",
        "higher",
        ("customer", *_ABOVE_OUTLET),
        ("holdings", "products"),
        f"{_BM}.kpis:outlet_kpis",
        plan=True,
    ),
    _k(
        "upward_migration_rate",
        "Upward migration rate",
        "Customers active at the base month (migration_months earlier) who are in a higher tier "
        "at the month-end, divided by the customers active at the base month.",
        "share",
        "higher",
        _ABOVE_OUTLET,
        ("holdings",),
        f"{_SEG}.migration:migration_rates",
        plan=True,
    ),
    _k(
        "downward_migration_rate",
        "Downward migration rate",
        "Customers active at the base month who are in a lower tier at the month-end, divided "
        "by the customers active at the base month.",
        "share",
        "lower",
        _ABOVE_OUTLET,
        ("holdings",),
        f"{_SEG}.migration:migration_rates",
    ),
    _k(
        "attrition_rate",
        "Attrition rate",
        "Customers active at the base month who are no longer active at the month-end, divided "
        "by the customers active at the base month.",
        "share",
        "lower",
        _ABOVE_OUTLET,
        ("holdings",),
        f"{_SEG}.migration:migration_rates",
    ),
    _k(
        "upgrade_candidates",
        "Upgrade candidates",
        "Active customers whose window-average AUM lies within pipeline_within below the next "
        "tier's threshold at the month-end.",
        "count",
        "higher",
        _ABOVE_OUTLET,
        ("holdings",),
        f"{_SEG}.migration:upgrade_pipeline",
    ),
    _k(
        "aum_gini",
        "AUM concentration (Gini)",
        "Gini coefficient of window-average AUM over the active customers (0 = equal, "
        "1 = one customer holds everything).",
        "score",
        "none",
        _ABOVE_OUTLET,
        ("holdings",),
        f"{_SEG}.composition:gini",
    ),
    _k(
        "behaviour_segments",
        "Behaviour segments",
        "Segments found within the tier by clustering customers' products, channels, activity, "
        "tenure and age at the month-end.",
        "count",
        "none",
        ("region",),
        ("holdings", "transactions"),
        f"{_SEG}.behaviour:segment_tiers",
    ),
    _k(
        "segment_stability",
        "Segment stability",
        "Adjusted Rand index between segmentations fitted with different seeds (1 = the same "
        "segments every time).",
        "score",
        "higher",
        ("region",),
        ("holdings", "transactions"),
        f"{_SEG}.behaviour:segment_tiers",
    ),
    # --- plan KPIs: deposits, income, sales (prepared outlet/region months)
    _k(
        "new_deposits",
        "New personal deposits",
        "Personal deposit balance at the month-end minus the balance at the previous month-end.",
        "money",
        "higher",
        _ABOVE_OUTLET,
        ("holdings", "products"),
        f"{_BM}.kpis:outlet_kpis",
        plan=True,
    ),
    _k(
        "deposit_balance",
        "Personal deposit balance",
        "Month-end balances of deposit-family products, summed over active customers.",
        "money",
        "higher",
        _ABOVE_OUTLET,
        ("holdings", "products"),
        f"{_BM}.kpis:outlet_kpis",
    ),
    _k(
        "fee_income",
        "Intermediary (fee) income",
        "Fee income of the month's transactions of active customers.",
        "money",
        "higher",
        _ABOVE_OUTLET,
        ("transactions",),
        f"{_BM}.kpis:outlet_kpis",
        plan=True,
    ),
    _k(
        "new_customers",
        "New customers",
        "Customers whose relationship started (since date) in the month.",
        "count",
        "higher",
        _ABOVE_OUTLET,
        ("customers",),
        f"{_BM}.kpis:outlet_kpis",
        plan=True,
    ),
    _k(
        "sales_total",
        "Product sales",
        "New holdings in the month: products held at the month-end that the customer did not "
        "hold at the previous month-end.",
        "count",
        "higher",
        _ABOVE_OUTLET,
        ("holdings",),
        f"{_BM}.kpis:outlet_kpis",
        plan=True,
    ),
    # --- plan KPIs: channels and self-service (benchmarking.self_service)
    _k(
        "self_service_per_outlet",
        "Self-service banks per physical outlet",
        "Distinct self-service sites (on- and off-site) installed by the month-end, divided by "
        "physical outlets open at the month-end (plan target 3).",
        "ratio",
        "higher",
        _ABOVE_REGION,
        ("devices", "outlets"),
        f"{_BM}.self_service:self_service_by_region",
        plan=True,
    ),
    _k(
        "device_operating_rate",
        "Self-service device operating rate",
        "Device operating hours in the month divided by the hours the devices were available.",
        "share",
        "higher",
        _ABOVE_OUTLET,
        ("devices", "device_months"),
        f"{_BM}.kpis:outlet_kpis",
        plan=True,
    ),
    _k(
        "accounting_replacement_rate",
        "Accounting-business replacement rate",
        "Accounting transactions (deposits, withdrawals, transfers, payments) made outside the "
        "counter in the month, divided by all accounting transactions in the month.",
        "share",
        "higher",
        _ABOVE_OUTLET,
        ("transactions",),
        f"{_BM}.self_service:replacement_rates",
        plan=True,
    ),
    _k(
        "outlet_replacement_rate",
        "Outlet replacement rate",
        "Transactions on self-service devices in the month, divided by the transactions on "
        "self-service devices and at the counter.",
        "share",
        "higher",
        _ABOVE_OUTLET,
        ("transactions",),
        f"{_BM}.self_service:replacement_rates",
        plan=True,
    ),
    # --- outlet productivity (benchmarking.kpis)
    _k(
        "customers_per_fte",
        "Customers per staff FTE",
        "Active customers at the month-end divided by the outlet's staff in full-time equivalents.",
        "ratio",
        "higher",
        _ABOVE_OUTLET,
        ("customers", "holdings", "outlets"),
        f"{_BM}.kpis:outlet_kpis",
        decimals=1,
    ),
    _k(
        "sales_per_fte",
        "Product sales per staff FTE",
        "Product sales (new holdings) in the month divided by staff in full-time equivalents.",
        "ratio",
        "higher",
        _ABOVE_OUTLET,
        ("holdings", "outlets"),
        f"{_BM}.kpis:outlet_kpis",
        decimals=1,
    ),
    _k(
        "aum_per_fte",
        "AUM per staff FTE",
        "AUM at the month-end divided by staff in full-time equivalents.",
        "money",
        "higher",
        _ABOVE_OUTLET,
        ("holdings", "outlets"),
        f"{_BM}.kpis:outlet_kpis",
    ),
    _k(
        "aum_per_customer",
        "AUM per customer",
        "AUM at the month-end divided by active customers.",
        "money",
        "higher",
        _ABOVE_OUTLET,
        ("holdings",),
        f"{_BM}.kpis:outlet_kpis",
    ),
    _k(
        "share_quality_plus",
        "Quality-and-above customers",
        "Quality-and-above customers (window-average AUM at or above the first tier threshold) "
        "divided by active customers at the month-end.",
        "share",
        "higher",
        _ABOVE_OUTLET,
        ("holdings",),
        f"{_BM}.kpis:outlet_kpis",
    ),
    _k(
        "staff_fte",
        "Staff (FTE)",
        "Staff of the outlet in full-time equivalents.",
        "ratio",
        "none",
        _ABOVE_OUTLET,
        ("outlets",),
        f"{_BM}.kpis:outlet_kpis",
        decimals=1,
    ),
    _k(
        "outlets",
        "Outlets",
        "Physical outlets open at the month-end.",
        "count",
        "none",
        _ABOVE_REGION,
        ("outlets",),
        f"{_BM}.kpis:group_aggregates",
    ),
    _k(
        "outlets_below_moving_average",
        "Outlets below their peers' moving average",
        "Outlets whose monthly output (ma_kpi) was below the moving average of their peer group "
        "in each of the last lagging_months months.",
        "count",
        "lower",
        _ABOVE_REGION,
        ("holdings", "outlets"),
        f"{_BM}.peers:lagging_outlets",
    ),
    _k(
        "peer_percentile",
        "Percentile among peers",
        "Share of the outlet's peer group (same echelon and outlet type) it does better than on "
        "the KPI, 100 = best.",
        "ratio",
        "higher",
        ("outlet",),
        ("holdings", "outlets"),
        f"{_BM}.peers:peer_ranks",
        decimals=0,
    ),
    _k(
        "dea_efficiency",
        "DEA efficiency",
        "Output-oriented data envelopment analysis score of the outlet's mean outputs over "
        "dea_months months against its frontier group (1 = on the frontier).",
        "score",
        "higher",
        _ABOVE_OUTLET,
        ("holdings", "outlets"),
        f"{_BM}.frontier:outlet_dea",
    ),
    _k(
        "dea_efficient_outlets",
        "Outlets on the DEA frontier",
        "Outlets whose DEA efficiency is 1 (best practice within their frontier group).",
        "count",
        "higher",
        _ABOVE_REGION,
        ("holdings", "outlets"),
        f"{_BM}.frontier:outlet_dea",
    ),
    # --- bank overview (overview)
    _k(
        "regions",
        "Regions",
        "Secondary branches (regions) in the extract.",
        "count",
        "none",
        ("echelon", "bank"),
        ("regions",),
        f"{_OV}:echelon_comparison",
    ),
    _k(
        "league_score",
        "League score",
        "Mean percentile rank of the region within its echelon over the plan's KPIs "
        "(0 = last, 1 = first).",
        "score",
        "higher",
        ("region",),
        ("holdings",),
        f"{_OV}:league_table",
    ),
    _k(
        "target_attainment",
        "Target attainment",
        "Actual divided by target for the KPI and period (1 = on plan); met or missed by the "
        "KPI's direction.",
        "share",
        "higher",
        _ABOVE_OUTLET,
        ("targets",),
        f"{_OV}:target_attainment",
    ),
    _k(
        "targets_missed",
        "Targets missed",
        "KPI targets of the period whose actual is on the wrong side of the target.",
        "count",
        "lower",
        _ABOVE_OUTLET,
        ("targets",),
        f"{_OV}:target_attainment",
    ),
    # --- cross-sell propensity (propensity)
    _k(
        "model_auc",
        "Model AUC (out of time)",
        "Area under the ROC curve of the product's propensity model on the evaluation month "
        "(0.5 = no better than chance).",
        "score",
        "higher",
        ("region", "bank"),
        ("holdings",),
        f"{_PR}.evaluation:evaluate",
    ),
    _k(
        "top_decile_lift",
        "Top-decile lift",
        "Buyer rate among the 10 % of customers the model scores highest, divided by the buyer "
        "rate of all customers, in the evaluation month.",
        "ratio",
        "higher",
        ("region", "bank"),
        ("holdings",),
        f"{_PR}.evaluation:evaluate",
    ),
    _k(
        "models_beating_baseline",
        "Models beating the tier baseline",
        "Products whose model's out-of-time AUC exceeds the tier-popularity baseline's.",
        "count",
        "higher",
        ("bank",),
        ("holdings",),
        f"{_PR}.evaluation:evaluate",
    ),
    _k(
        "leads",
        "Leads",
        "Customer-product offers on the lead lists issued for the data month.",
        "count",
        "none",
        _ABOVE_OUTLET,
        ("holdings",),
        f"{_PR}.leads:region_lead_lists",
    ),
    _k(
        "expected_sales",
        "Expected new products",
        "Sum of the calibrated purchase probabilities of the leads: the sales to expect if every "
        "lead is worked.",
        "count",
        "higher",
        _ABOVE_OUTLET,
        ("holdings",),
        f"{_PR}.leads:region_lead_lists",
        decimals=0,
    ),
    _k(
        "expected_new_products_per_customer",
        "Expected new products per customer",
        "Expected new products from the lead lists divided by the region's active customers "
        "(the expected change in products per customer).",
        "products",
        "higher",
        _ABOVE_OUTLET,
        ("holdings",),
        f"{_PR}.leads:offer_summary",
    ),
    # --- segmentation KPIs (added by the segmentation report)
    # --- benchmarking KPIs (added by the outlet benchmarking report)
    # --- overview KPIs (added by the bank overview)
    # --- propensity KPIs (added by the cross-sell report)
]

KPIS: dict[str, KPI] = {}
for _kpi in _ENTRIES:
    if _kpi.id in KPIS:
        raise KpiError(f"KPI {_kpi.id!r} is declared twice")
    KPIS[_kpi.id] = _kpi
del _kpi


def get(kpi_id: str) -> KPI:
    """Return the dictionary entry of ``kpi_id`` (a plain id or a breakdown key).

    Raises
    ------
    KpiError
        When the id is not in the dictionary.

    Examples
    --------
    >>> get("product_coverage").unit
    'share'
    >>> get("customer_share[tier=vip]").name
    'Share of customers'
    """
    base = parse_metric_key(kpi_id)[0] if "[" in kpi_id else kpi_id
    try:
        return KPIS[base]
    except KeyError:
        close = [k for k in KPIS if base.split("_")[0] in k][:5]
        hint = f" Close ids: {', '.join(close)}." if close else ""
        raise KpiError(
            f"{base!r} is not a KPI of the dictionary (bankanalysis kpis lists them).{hint}"
        ) from None


def is_kpi(key: str) -> bool:
    """True when ``key`` is a KPI id or a well-formed breakdown key of one."""
    m = _KEY.match(key)
    return bool(m) and m.group("kpi") in KPIS


def metric_key(kpi_id: str, **by: object) -> str:
    """The ``metrics.json`` key of a KPI, optionally broken down.

    Examples
    --------
    >>> metric_key("customer_share", tier="vip")
    'customer_share[tier=vip]'
    >>> metric_key("model_auc", product="fund", region="R01")
    'model_auc[product=fund,region=R01]'
    """
    get(kpi_id)
    if not by:
        return kpi_id
    parts = []
    for dim, value in by.items():
        text = str(value)
        if any(c in text for c in "[],="):
            raise KpiError(f"breakdown value {text!r} of {kpi_id} may not contain [ ] , =")
        parts.append(f"{dim}={text}")
    return f"{kpi_id}[{','.join(parts)}]"


def parse_metric_key(key: str) -> tuple[str, dict[str, str]]:
    """Split a ``metrics.json`` key into the KPI id and its breakdown.

    Examples
    --------
    >>> parse_metric_key("customer_share[tier=vip]")
    ('customer_share', {'tier': 'vip'})
    >>> parse_metric_key("customers")
    ('customers', {})
    """
    m = _KEY.match(key)
    if not m:
        raise KpiError(f"{key!r} is not a metrics key (kpi or kpi[dim=value,...])")
    by: dict[str, str] = {}
    if m.group("by"):
        for part in m.group("by").split(","):
            dim, sep, value = part.partition("=")
            if not sep or not dim:
                raise KpiError(f"{key!r}: breakdown {part!r} is not dim=value")
            by[dim] = value
    return m.group("kpi"), by


def compute_function(kpi_id: str) -> Callable[..., Any]:
    """Import and return the one function that computes the KPI."""
    module, _, name = get(kpi_id).compute.partition(":")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise KpiError(f"KPI {kpi_id}: compute function {module}:{name} not found") from exc


def plan_kpis() -> list[KPI]:
    """The annual plan's KPIs in dictionary order."""
    return [k for k in KPIS.values() if k.plan]


def kpi_rows(kpis: Iterable[KPI] | None = None) -> list[dict[str, str]]:
    """One plain row per KPI (id, name, unit, direction, levels, tables, definition, proxy)."""
    rows = []
    for k in kpis if kpis is not None else KPIS.values():
        rows.append(
            {
                "id": k.id,
                "name": k.name,
                "unit": k.unit,
                "direction": k.direction,
                "levels": ", ".join(k.levels),
                "tables": ", ".join(k.needs),
                "plan": "yes" if k.plan else "",
                "definition": k.definition,
                "proxy": k.proxy,
                "compute": k.compute,
            }
        )
    return rows


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def kpis_markdown(extra: Mapping[str, str] | None = None) -> str:
    """The KPI glossary as Markdown (``docs/kpis.md`` is this text; a test keeps it current)."""
    lines = [
        "# KPI dictionary",
        "",
        "Generated from `src/bankanalysis/rules/kpis.py` by `bankanalysis kpis --markdown`; do "
        "not edit by hand. Every figure the reports, the run index and `metrics.json` show is "
        "one of these KPIs, named, formatted and compared by this entry.",
        "",
        "`metrics.json` keys are KPI ids: `<kpi>` is the report's own scope (its region, or the "
        "bank in the overview) at the data month; a breakdown adds dimensions in brackets, e.g. "
        "`customer_share[tier=vip]` or `product_coverage[region=R01]`. Shares are fractions "
        "(0.123 = 12.3 %). A figure that cannot be computed is `null` with its reason under "
        "`_reasons`, never 0.",
        "",
        "Units: " + "; ".join(f"**{u}**: {d}" for u, d in UNITS.items()) + ".",
        "",
        "## The annual plan's KPIs",
        "",
    ]
    header = "| id | name | unit | better | levels | tables needed | definition |"
    sep = "|---|---|---|---|---|---|---|"

    def table(kpis: Iterable[KPI]) -> list[str]:
        out = [header, sep]
        for k in kpis:
            definition = k.definition + (f" *Proxy:* {k.proxy}" if k.proxy else "")
            out.append(
                f"| `{k.id}` | {_md_cell(k.name)} | {k.unit} | {k.direction} | "
                f"{', '.join(k.levels)} | {', '.join(k.needs)} | {_md_cell(definition)} |"
            )
        return out

    lines += table(plan_kpis())
    lines += ["", "## Other KPIs", ""]
    lines += table(k for k in KPIS.values() if not k.plan)
    lines += ["", "## Where each is computed", ""]
    lines += [f"- `{k.id}`: `{k.compute}`" for k in KPIS.values()]
    for title, text in (extra or {}).items():
        lines += ["", f"## {title}", "", text]
    return "\n".join(lines) + "\n"
