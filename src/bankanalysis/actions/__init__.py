"""Monday-morning action lists: upgrade candidates, lagging outlets, product gaps per outlet.

Pure analytics (DataFrame in, DataFrame out, no text) on top of the tier rule
(:mod:`bankanalysis.rules.tiers`), the peer comparisons and DEA
(:mod:`bankanalysis.benchmarking`) and the propensity scores:

- :mod:`~bankanalysis.actions.upgrade`: customers just below the next tier threshold, with their
  AUM gap, AUM trend, account manager and the products most likely to close the gap;
- :mod:`~bankanalysis.actions.lagging`: outlets below their peers' moving average or per-outlet
  average, with the gap, months below, DEA target and reference peers;
- :mod:`~bankanalysis.actions.product_gaps`: outlets x product families with zero or
  below-standard sales this month and this quarter ("sweeping zero").

The report sections are :mod:`bankanalysis.report.actions`.
"""

from bankanalysis.actions.lagging import dea_kpi_target, lagging_actions
from bankanalysis.actions.product_gaps import gap_counts, product_gaps, sales_families
from bankanalysis.actions.upgrade import (
    aum_trend,
    region_upgrade_candidates,
    upgrade_candidates,
    upgrade_summary,
)

__all__ = [
    "aum_trend",
    "dea_kpi_target",
    "gap_counts",
    "lagging_actions",
    "product_gaps",
    "region_upgrade_candidates",
    "sales_families",
    "upgrade_candidates",
    "upgrade_summary",
]
