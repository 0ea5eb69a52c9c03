"""Plan tracking: targets for any KPI and period, year to date, quarters, changes over time,
echelon gaps and the path to the plan's self-service target.

Pure functions (DataFrame in, DataFrame out) behind the plan sections of the overview (00) and
the outlet benchmarking report (03). Every KPI value comes from its one function
(:mod:`bankanalysis.benchmarking.kpis` for the outlet KPIs and their region, echelon and bank
aggregates, :mod:`bankanalysis.benchmarking.self_service` for the self-service figures); this
package only puts them over periods and against the plan. Report shaping is
:mod:`bankanalysis.report.planning`.

- :mod:`~bankanalysis.planning.periods`: targets normalised to periods; KPI values over months,
  quarters and years at the outlet, region, echelon and bank levels; attainment.
- :mod:`~bankanalysis.planning.progress`: year to date against the annual plan and its path.
- :mod:`~bankanalysis.planning.changes`: month-on-month and year-on-year changes.
- :mod:`~bankanalysis.planning.echelons`: echelon contribution shares and gaps over time.
- :mod:`~bankanalysis.planning.self_service_path`: the 3:1 path.
"""

from bankanalysis.planning.changes import changes
from bankanalysis.planning.echelons import (
    echelon_contributions,
    echelon_gaps,
    first_echelon_ratios,
)
from bankanalysis.planning.periods import (
    CUSTOMER_PERIOD_KPIS,
    FLOW_KPIS,
    LEVEL_COLUMNS,
    attainment,
    customer_period_from_sums,
    customer_period_values,
    level_values,
    normalise_targets,
    period_label,
    period_values,
)
from bankanalysis.planning.progress import PLAN_FLOW_KPIS, annual_targets, plan_path, ytd_progress
from bankanalysis.planning.self_service_path import (
    install_pace,
    operating_rate_trend,
    self_service_path,
    self_service_trend,
)

__all__ = [
    "CUSTOMER_PERIOD_KPIS",
    "FLOW_KPIS",
    "LEVEL_COLUMNS",
    "PLAN_FLOW_KPIS",
    "annual_targets",
    "attainment",
    "changes",
    "customer_period_from_sums",
    "customer_period_values",
    "echelon_contributions",
    "echelon_gaps",
    "first_echelon_ratios",
    "install_pace",
    "level_values",
    "normalise_targets",
    "operating_rate_trend",
    "period_label",
    "period_values",
    "plan_path",
    "self_service_path",
    "self_service_trend",
    "ytd_progress",
]
