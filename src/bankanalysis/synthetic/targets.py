"""The plan's business targets per outlet and region, from the simulated actuals."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bankanalysis.synthetic.spec import (
    DEVICE_STAFF_EQUIV,
    S_TARGETS,
    TARGET_KPIS,
    Calendar,
    rng_for,
)


def build_targets(
    actuals: pd.DataFrame, outlets: pd.DataFrame, cal: Calendar, seed: int
) -> pd.DataFrame:
    """Monthly outlet and region targets for :data:`TARGET_KPIS`.

    The plan is 3% above the bank's actual total, split over outlets half by their capacity
    (staff and devices, blind to efficiency) and half by their own track record (their share of
    the KPI over the window), so efficient outlets tend to beat their targets and inefficient
    ones to miss them.
    """
    rng = rng_for(seed, S_TARGETS)
    capacity = (
        outlets["staff_fte"].to_numpy() + DEVICE_STAFF_EQUIV * outlets["n_devices"].to_numpy()
    )
    capacity = capacity / capacity.sum()
    n_out = len(outlets)
    frames = []
    totals = actuals.groupby("t")[list(TARGET_KPIS)].sum(min_count=1)
    record = actuals.groupby("outlet")[list(TARGET_KPIS)].sum()
    record = record / record.sum().replace(0.0, 1.0)
    for t, label in enumerate(cal.labels):
        for kpi in TARGET_KPIS:
            total = totals.loc[t, kpi]
            if not np.isfinite(total):
                total = totals[kpi].dropna().iloc[0] if totals[kpi].notna().any() else 0.0
            plan = 0.5 * capacity + 0.5 * record[kpi].to_numpy()
            val = total * 1.03 * plan * rng.lognormal(0.0, 0.05, n_out)
            val = np.round(val) if kpi in ("new_customers", "sales_total") else np.round(val, -2)
            frames.append(
                pd.DataFrame(
                    {
                        "month": label,
                        "level": "outlet",
                        "id": outlets["outlet_id"].to_numpy(),
                        "region_id": outlets["region_id"].to_numpy(),
                        "kpi": kpi,
                        "target": val,
                    }
                )
            )
    out = pd.concat(frames, ignore_index=True)
    reg = (
        out.groupby(["month", "region_id", "kpi"], observed=True, sort=True)["target"]
        .sum()
        .reset_index()
        .rename(columns={"region_id": "id"})
    )
    reg["level"] = "region"
    out = pd.concat([out.drop(columns="region_id"), reg], ignore_index=True)
    return out[["month", "level", "id", "kpi", "target"]]
