"""Outlet benchmarking analytics: pure functions, DataFrame in, DataFrame out.

Submodules, one concern each:

- :mod:`~bankanalysis.benchmarking.kpis`: outlet KPIs per month, group aggregates (region,
  echelon, bank) with ratios recomputed from sums, attainment of the plan's targets;
- :mod:`~bankanalysis.benchmarking.self_service`: self-service sites per outlet, device
  operating rate, the outlet and accounting-business replacement rates;
- :mod:`~bankanalysis.benchmarking.peers`: percentile ranks among peers, gaps to the peer
  median and to the peers' moving average, lagging outlets;
- :mod:`~bankanalysis.benchmarking.frontier`: DEA inputs and outputs per outlet, one frontier
  per group, scores, targets and reference peers;
- :mod:`~bankanalysis.benchmarking.dea`: the DEA solver (CCR and BCC, HiGHS).

Sentences, labelled tables, charts and metrics live in :mod:`bankanalysis.report.benchmarking`.
"""

from bankanalysis.benchmarking.dea import DeaResult, dea, dea_scores, dea_summary, scale_efficiency
from bankanalysis.benchmarking.frontier import (
    EFFICIENT,
    dea_inputs_outputs,
    outlet_dea,
    reference_peers,
)
from bankanalysis.benchmarking.kpis import (
    CUSTOMER_KPIS,
    attainment,
    customer_counts,
    customer_months,
    group_aggregates,
    outlet_kpis,
)
from bankanalysis.benchmarking.peers import (
    KpiSelection,
    lagging_outlets,
    moving_average_gaps,
    peer_ranks,
    select_kpis,
)
from bankanalysis.benchmarking.self_service import (
    accounting_replacement_rate,
    device_operating_rate,
    outlet_replacement_rate,
    replacement_rates,
    self_service_by_region,
)

__all__ = [
    "CUSTOMER_KPIS",
    "EFFICIENT",
    "DeaResult",
    "KpiSelection",
    "accounting_replacement_rate",
    "attainment",
    "customer_counts",
    "customer_months",
    "dea",
    "dea_inputs_outputs",
    "dea_scores",
    "dea_summary",
    "device_operating_rate",
    "group_aggregates",
    "lagging_outlets",
    "moving_average_gaps",
    "outlet_dea",
    "outlet_kpis",
    "outlet_replacement_rate",
    "peer_ranks",
    "reference_peers",
    "replacement_rates",
    "scale_efficiency",
    "select_kpis",
    "self_service_by_region",
]
