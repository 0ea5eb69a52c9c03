"""Customer segmentation analytics: tier composition, migration, behaviour segments, coverage,
account managers.

Pure modules, one concern each (DataFrames in, DataFrames or numbers out; no sentences, no
styling, no charts; report shaping lives in :mod:`bankanalysis.report.segmentation`):

- :mod:`~bankanalysis.segmentation.composition`: customers and AUM by tier, Lorenz curve, Gini.
- :mod:`~bankanalysis.segmentation.migration`: transitions between two month-ends, matrix,
  rates, flows per tier, upgrade pipeline, and the migration KPIs at any level.
- :mod:`~bankanalysis.segmentation.behaviour`: behavioural features, the segmenter, names.
- :mod:`~bankanalysis.segmentation.coverage`: products per customer, holding rates,
  cross-holding, depth, wealth card, e-banking, and the customer KPIs at any level.
- :mod:`~bankanalysis.segmentation.managers`: account-manager KPIs at any level.

Tiers and months are the bank's rules in :mod:`bankanalysis.rules.tiers` and
:mod:`bankanalysis.rules.months`. The names below are re-exported for convenience.
"""

from bankanalysis.segmentation.behaviour import (
    BehaviourSegmenter,
    TierSegments,
    behaviour_features,
    block_weights,
    feature_block,
    name_segments,
    segment_tiers,
)
from bankanalysis.segmentation.composition import (
    gini,
    lorenz_curve,
    region_tiers,
    tier_comparison,
    tier_summary,
    top_tier_aum_share,
)
from bankanalysis.segmentation.coverage import (
    CUSTOMER_KPIS,
    add_customer_sums,
    cross_holding_matrix,
    customer_kpis,
    customer_sums,
    holding_rates,
    kpis_from_sums,
    product_depth,
    products_per_customer,
    still_active,
    sums_of_units,
)
from bankanalysis.segmentation.managers import MANAGER_KPIS, manager_kpis, region_managers
from bankanalysis.segmentation.migration import (
    CLOSED,
    MIGRATION_KPIS,
    NEW,
    migration_kpis,
    migration_rates,
    migration_window,
    region_cohort,
    region_transitions,
    tier_flows,
    tier_transitions,
    transition_matrix,
    upgrade_pipeline,
)

__all__ = [
    "CLOSED",
    "CUSTOMER_KPIS",
    "MANAGER_KPIS",
    "MIGRATION_KPIS",
    "NEW",
    "BehaviourSegmenter",
    "TierSegments",
    "behaviour_features",
    "block_weights",
    "add_customer_sums",
    "cross_holding_matrix",
    "customer_kpis",
    "customer_sums",
    "feature_block",
    "gini",
    "holding_rates",
    "kpis_from_sums",
    "sums_of_units",
    "lorenz_curve",
    "manager_kpis",
    "migration_kpis",
    "migration_rates",
    "migration_window",
    "name_segments",
    "product_depth",
    "products_per_customer",
    "region_managers",
    "region_cohort",
    "region_tiers",
    "region_transitions",
    "segment_tiers",
    "still_active",
    "tier_comparison",
    "tier_flows",
    "tier_summary",
    "tier_transitions",
    "top_tier_aum_share",
    "transition_matrix",
    "upgrade_pipeline",
]
