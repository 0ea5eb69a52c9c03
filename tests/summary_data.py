"""A hand-made :class:`~bankanalysis.report.standing.Standing` for the summary's tests.

R1 and R2 in echelon 1; R3 alone in echelon 2 with 5 customers (small: withheld at k=10).
Only product coverage is measured: R1 20.0% (25.0% last month), echelon 1 33.3%, bank 34.0%.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bankanalysis import overview as ov
from bankanalysis.report import standing as st_mod


def raw_scorecard(ids: list[str], echelons: list[float], customers: list[int], cov: list[float]):
    raw = pd.DataFrame(
        {
            "region_id": ids,
            "echelon": echelons,
            "customers": customers,
            "base_customers": customers,
            "quality_plus_customers": customers,
            "vip_plus_customers": customers,
        }
    )
    for k in ov.SCORECARD_KPIS:
        raw[k] = np.nan
    raw["product_coverage"] = cov
    raw.attrs["absent"] = {
        k: "not in this test" for k in ov.SCORECARD_KPIS if k != "product_coverage"
    }
    return raw


def hand_standing() -> st_mod.Standing:
    """The standing of the module docstring (data month 2025-06, compared with 2025-05)."""

    def month(cov: list[float], e_cov: list[float], b_cov: float, base: str) -> tuple:
        return (
            st_mod.Scorecard.withheld_from(
                raw_scorecard(["R1", "R2", "R3"], [1, 1, 2], [100, 200, 5], cov), 10, base
            ),
            st_mod.Scorecard.withheld_from(
                raw_scorecard(["1", "2"], [1, 2], [300, 5], e_cov), 10, base
            ),
            st_mod.Scorecard.withheld_from(
                raw_scorecard(["all"], [np.nan], [305], [b_cov]), 10, base
            ),
        )

    now = month([0.20, 0.40, 0.90], [0.333, 0.90], 0.34, "2024-06")
    prev = month([0.25, 0.40, 0.80], [0.35, 0.80], 0.35, "2024-05")
    return st_mod.Standing(
        month="2025-06",
        since={"month": "2025-05"},
        regions={"2025-06": now[0], "2025-05": prev[0]},
        echelons={"2025-06": now[1], "2025-05": prev[1]},
        bank={"2025-06": now[2], "2025-05": prev[2]},
        region_echelon={"R1": 1, "R2": 1, "R3": 2},
    )
