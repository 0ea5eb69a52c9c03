"""The plan's business targets per outlet and region, from the simulated actuals.

Besides the monthly targets, the plan's year targets of the last calendar year are planted per
region (and their sum for the bank) for the cumulative KPIs of :data:`PLAN_YEAR_KPIS`: every
other region (by id) is planted ahead of its annual target and the rest behind it, at the pace
of its year to date, so the self-check can recover which regions meet the plan and by how much
(``_truth/plan_targets.parquet``).
"""

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

#: Cumulative KPIs whose year targets are planted.
PLAN_YEAR_KPIS: tuple[str, ...] = ("new_customers", "fee_income", "sales_total")
#: Annual target / year-to-date pace of a region planted ahead of (below 1) or behind the plan.
AHEAD_FACTOR = 0.85
BEHIND_FACTOR = 1.15
#: Share of the annual target planted for the first quarter: the plan's peak season carries a
#: third of the year (a linear plan would carry a quarter).
Q1_SHARE = 1.0 / 3.0


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
    out["period"] = "month"
    year, _ = plan_year_targets(actuals, outlets, cal)
    out = pd.concat([out, year], ignore_index=True)
    return out[["month", "level", "id", "kpi", "target", "period"]]


def plan_year_targets(
    actuals: pd.DataFrame, outlets: pd.DataFrame, cal: Calendar
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Year targets of the last calendar year per region and for the bank, and their truth.

    A region's annual target is its year-to-date pace (year to date x 12 / months of the year
    in the data) times :data:`AHEAD_FACTOR` (planted ahead: the target is below its pace) or
    :data:`BEHIND_FACTOR` (behind), alternating over the regions sorted by id. KPIs whose year to
    date is unknown (the first month of the data has no sales) are not planted.

    Returns
    -------
    (DataFrame, DataFrame)
        Target rows (``month`` = December of the year, ``period`` ``"year"``) and the truth:
        ``region_id`` (``"bank"`` for the bank), ``kpi``, ``year``, ``annual_target``,
        ``ytd_actual`` (as simulated), ``side`` (``ahead``/``behind``) and ``gap_share``
        (projected year-end at the linear pace / annual target - 1); with the first quarter of
        the year in the data also its quarter targets (:data:`Q1_SHARE` of the annual target:
        the peak season) and ``q1_actual, q1_target, q1_attainment``.
    """
    year = cal.labels[-1][:4]
    ts = [t for t, label in enumerate(cal.labels) if label.startswith(year)]
    q1 = [t for t in ts if cal.labels[t][5:] in ("01", "02", "03")]
    act = actuals.loc[actuals["t"].isin(ts)]
    act = act.assign(region_id=outlets["region_id"].to_numpy()[act["outlet"].to_numpy()])
    ytd = act.groupby("region_id", sort=True)[list(PLAN_YEAR_KPIS)].sum(min_count=1)
    q1_act = (
        act.loc[act["t"].isin(q1)]
        .groupby("region_id", sort=True)[list(PLAN_YEAR_KPIS)]
        .sum()
        .reindex(ytd.index)
    )
    complete = act.groupby("region_id", sort=True)[list(PLAN_YEAR_KPIS)].count()
    rows, truth = [], []
    for kpi in PLAN_YEAR_KPIS:
        if (complete[kpi] < act.groupby("region_id")["t"].count()).any():
            continue  # a month without the figure: the year to date is unknown
        total, total_q1 = 0.0, 0.0
        for i, (rid, value) in enumerate(ytd[kpi].items()):
            side = "ahead" if i % 2 == 0 else "behind"
            pace = float(value) * 12.0 / len(ts)
            target = float(np.round(pace * (AHEAD_FACTOR if side == "ahead" else BEHIND_FACTOR)))
            q1_target = float(np.round(target * Q1_SHARE))
            total += target
            total_q1 += q1_target
            rows.append((rid, kpi, target, "year"))
            if len(q1) == 3:
                rows.append((rid, kpi, q1_target, "quarter"))
            truth.append(
                (rid, kpi, float(value), target, side, float(q1_act.at[rid, kpi]), q1_target)
            )
        rows.append(("bank", kpi, total, "year"))
        if len(q1) == 3:
            rows.append(("bank", kpi, total_q1, "quarter"))
        bank_q1 = float(q1_act[kpi].sum())
        truth.append(("bank", kpi, float(ytd[kpi].sum()), total, "", bank_q1, total_q1))
    targets = pd.DataFrame(rows, columns=["id", "kpi", "target", "period"])
    targets["level"] = np.where(targets["id"] == "bank", "bank", "region")
    targets["month"] = np.where(targets["period"] == "year", f"{year}-12", f"{year}-03")
    cols = ["region_id", "kpi", "ytd_actual", "annual_target", "side", "q1_actual", "q1_target"]
    tr = pd.DataFrame(truth, columns=cols)
    tr["year"] = int(year)
    tr["gap_share"] = tr["ytd_actual"] * 12.0 / len(ts) / tr["annual_target"] - 1.0
    if len(q1) == 3:
        tr["q1_attainment"] = tr["q1_actual"] / tr["q1_target"].where(tr["q1_target"] > 0)
    else:  # the first quarter is not in the data: no quarter target is planted
        tr = tr.drop(columns=["q1_actual", "q1_target"])
    return targets, tr
