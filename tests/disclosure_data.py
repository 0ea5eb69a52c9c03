"""Small seeded tables for the disclosure tests (report layer and attacker)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bankanalysis.report import segmentation as rs
from bankanalysis.rules.tiers import TIERS

K = 10


def _r08():
    """Region R08 of issue 17 as customers and as a tier comparison."""
    counts, aum = [2980, 494, 122, 5], [6.5e6, 26.5e6, 48.1e6, 18.9e6]
    rows = []
    for t, n, a in zip(TIERS, counts, aum, strict=True):
        rows += [{"tier": t, "aum": a / n}] * n
    tiers = pd.DataFrame(rows).assign(tier=lambda d: pd.Categorical(d["tier"], categories=TIERS))
    comp = pd.DataFrame({"tier": list(TIERS), "customers": counts, "aum": aum})
    comp = comp.assign(
        scope="region",
        share=comp["customers"] / 3601,
        aum_share=comp["aum"] / 1e8,
        aum_per_customer=comp["aum"] / comp["customers"],
    )
    return tiers, rs.shown_tier_comparison(comp, K)


MATRIX = pd.DataFrame(
    [[300, 40, 7, 0, 0], [2500, 120, 3, 0, 150], [60, 400, 30, 1, 12], [2, 25, 90, 2, 4]]
    + [[0, 0, 3, 4, 0]],
    index=["new", *TIERS],
    columns=[*TIERS, "closed"],
)


def _flows(m):
    rows = []
    for i, t in enumerate(TIERS):
        up_in = int(m.iloc[1 : i + 1, i].sum())
        down_in = int(m.iloc[i + 2 :, i].sum())
        rows.append(
            {
                "tier": t,
                "customers_from": int(m.loc[t].sum()),
                "customers_to": int(m[t].sum()),
                "net_growth": int(m[t].sum() - m.loc[t].sum()),
                "up_in": up_in,
                "down_in": down_in,
                "new_in": int(m.loc["new", t]),
                "up_out": int(m.loc[t].iloc[i + 1 : 4].sum()),
                "down_out": int(m.loc[t].iloc[:i].sum()),
                "closed_out": int(m.loc[t, "closed"]),
                "retention_rate": (
                    1 - m.loc[t, "closed"] / m.loc[t].sum() if m.loc[t].sum() else np.nan
                ),
            }
        )
    return pd.DataFrame(rows)


def _comp_of(tiers):
    g = tiers.groupby("tier", observed=False)["aum"].agg(customers="size", aum="sum")
    comp = g.reset_index().assign(tier=lambda d: d["tier"].astype(str), scope="region")
    n, a = comp["customers"].sum(), comp["aum"].sum()
    return comp.assign(
        share=comp["customers"] / n,
        aum_share=comp["aum"] / a if a else np.nan,
        aum_per_customer=comp["aum"] / comp["customers"].where(comp["customers"] > 0),
    )


def _bank_tiers() -> pd.DataFrame:
    """A tiny bank of three regions (two in echelon 1): R1 has 4 private-banking customers."""
    counts = {
        "R1": (1, [50, 30, 15, 4]),
        "R2": (1, [60, 25, 12, 11]),
        "R3": (2, [80, 40, 20, 15]),
    }
    per_customer = [10_000.0, 100_000.0, 600_000.0, 6_000_000.0]
    rows = []
    for rid, (ech, ns) in counts.items():
        for t, n, a in zip(TIERS, ns, per_customer, strict=True):
            rows += [{"region_id": rid, "echelon": ech, "tier": t, "aum": a}] * n
    out = pd.DataFrame(rows)
    out["tier"] = pd.Categorical(out["tier"], categories=TIERS)
    return out
