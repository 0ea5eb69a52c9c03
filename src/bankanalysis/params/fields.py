"""Parameter fields shared by more than one notebook, and the safe-id check.

Declared once here with default and meaning; :mod:`bankanalysis.params` builds the notebooks'
schemas from them.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from bankanalysis.contract import SAFE_ID_PATTERN
from bankanalysis.rules.kpis import is_kpi

_SAFE_ID = re.compile(SAFE_ID_PATTERN)


def check_safe_id(value: str, what: str = "id") -> str | None:
    """Return a problem message if ``value`` is not safe to use in a file path, else ``None``.

    Parameters
    ----------
    value : str
        The id (region id, run id, notebook stem).
    what : str
        What the id is, for the message.

    Examples
    --------
    >>> check_safe_id("R01") is None
    True
    >>> check_safe_id("../etc", "region id")
    "region id '../etc' is not a safe id: use letters, digits, '_' and '-' only (max 64), no '/' or '..'"
    """
    if isinstance(value, str) and _SAFE_ID.match(value) and ".." not in value:
        return None
    return (
        f"{what} {value!r} is not a safe id: use letters, digits, '_' and '-' only (max 64), "
        "no '/' or '..'"
    )


# --------------------------------------------------------------------------- shared fields

#: Parameters used by more than one notebook: declared once here, with default and meaning.
#: The first two are, with the common tier and look-back parameters, the scorecard's, which every
#: report's summary computes
#: (:func:`bankanalysis.report.standing.scorecard_params`).
CoverageProducts = Annotated[
    int,
    Field(
        default=3,
        ge=1,
        le=30,
        description="a customer counts as covered when holding at least this many products "
        "(products)",
    ),
]
WealthCardProduct = Annotated[
    str | None,
    Field(
        default="wealth_card",
        description="product id of the wealth card (matching rate among quality-and-above "
        "customers); null = this bank has no wealth card",
    ),
]

# the upgrade list (bankanalysis.actions.upgrade): notebook 01 shows it, notebook 02 puts each
# manager's part of it into their workbook, so both read the same band and trend
PipelineWithin = Annotated[
    float,
    Field(
        default=0.10,
        gt=0,
        lt=1,
        description="upgrade pipeline: customers within this fraction below a tier threshold "
        "(fraction of the threshold, 0.1 = 10 %)",
    ),
]
UpgradeTrendMonths = Annotated[
    int,
    Field(
        default=3,
        ge=2,
        le=24,
        description="upgrade list: AUM trend = slope of month-end AUM over the last N "
        "month-ends (months)",
    ),
]

# plan tracking (bankanalysis.planning; the plan sections of 00 and 03)
PlanPath = Annotated[
    Literal["linear", "seasonal"],
    Field(
        default="linear",
        description="how the annual plan is spread over the months for the year-to-date "
        "comparison: linear (a twelfth a month) or seasonal (by plan_season_weights)",
    ),
]
PlanSeasonWeights = Annotated[
    list[Annotated[float, Field(ge=0)]],
    Field(
        default_factory=lambda: [1.5, 1.5, 1.5, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
        min_length=12,
        max_length=12,
        description="weights of January to December for the seasonal plan path (the plan's "
        "peak-season first quarter weighs more); relative, any scale",
    ),
]
PlanStart = Annotated[
    str | None,
    Field(
        default=None,
        pattern=r"^\d{4}-(0[1-9]|1[0-2])$",
        description="first month of the plan (YYYY-MM) the self-service target is due "
        "plan_years after; null = January of the data month's year",
    ),
]
PlanYears = Annotated[
    int,
    Field(
        default=3,
        ge=1,
        le=10,
        description="years from plan_start to reach the self-service target (years)",
    ),
]


def _kpi_ids(ids: list[str]) -> list[str]:
    """Every id must be a KPI of the dictionary (``bankanalysis kpis`` lists them)."""
    bad = [k for k in ids if not is_kpi(k)]
    if bad:
        raise ValueError(f"not KPI ids of the dictionary: {bad} (bankanalysis kpis lists them)")
    return ids


QuarterKpis = Annotated[
    list[str],
    AfterValidator(_kpi_ids),
    Field(
        default_factory=lambda: [
            "new_deposits",
            "fee_income",
            "sales_total",
            "family_sales",
            "new_customers",
            "device_operating_rate",
            "outlet_replacement_rate",
            "accounting_replacement_rate",
        ],
        description="the plan's first-quarter focus KPIs shown by quarter (KPI ids)",
    ),
]
