"""Behaviour segments for display (``bankanalysis.report.segments``): table, metrics, the
segments a chart may draw (following the tier table's protection) and their traits."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bankanalysis import segmentation as seg
from bankanalysis.report import segments as rsg
from bankanalysis.report.format import Absent
from bankanalysis.rules.kpis import is_kpi
from bankanalysis.rules.tiers import TIERS

K = 10


def test_segment_metrics_tables_and_traits() -> None:
    summary = pd.DataFrame(
        {
            "tier": ["mass", "vip"],
            "customers": [170, 4],
            "k": [2.0, np.nan],
            "criterion": [0.41234, np.nan],
            "stability_ari": [0.8, np.nan],
        }
    )
    profiles = pd.DataFrame(
        {
            "tier": ["mass", "mass", "vip"],
            "name": ["savers", "digital", "all customers (too few to split)"],
            "customers": [165, 5, 4],
            "age": [30.0, 35.0, 50.0],
            "n_products": [2.0, 2.0, 2.0],
        }
    )
    segs = seg.TierSegments(labels=pd.DataFrame(), profiles=profiles, summary=summary)
    m = rsg.segment_metrics(segs, 200)
    assert m["behaviour_segments[tier=mass]"] == 2 and m["behaviour_segments[tier=vip]"] == 1
    assert m["segment_stability[tier=mass]"] == 0.8
    assert m["segment_stability[tier=vip]"] == Absent("fewer than 200 customers: kept as one group")
    assert m["behaviour_segments"] == 3 and m["segment_stability"] == 0.8
    assert all(is_kpi(key) for key in m)
    table = rsg.segment_summary_table(summary, K).frame
    assert table.iloc[0].tolist() == ["Mass", "170", "2", "0.412", "0.800"]
    assert table.iloc[1].tolist() == ["VIP", "<10", "1", "kept as one group", "<10"]
    assert rsg.segment_summary_table(summary, K).note == ""
    assert rsg.segment_summary_table(summary, K, has_transactions=False).note.startswith(
        "This extract has no transactions table: the segments rest on the products held"
    )
    # "digital" (5) and the vip group (4) left out, and "savers" too: the table prints mass's
    # 170 customers, and 170 - 165 would give digital's 5 back
    assert rsg.shown_segments(profiles, K).empty
    big = profiles.assign(customers=[160, 5, 4])
    big = pd.concat([big, big.iloc[[1]].assign(name="young", customers=7)], ignore_index=True)
    prof = rsg.shown_segments(big, K)  # digital 5 + young 7 = 12 left out: savers shown
    assert prof["segment"].tolist() == ["Mass: savers"]
    z, means = rsg.segment_trait_z(
        rsg.shown_segments(profiles.assign(customers=[165, 50, 40]), K),
        pd.DataFrame({"age": [20.0, 40.0], "n_products": [2.0, 2.0]}),
    )
    assert z["age"].tolist() == [0.0, 0.5, 2.0]  # mean 30, population sd 10
    assert z["n_products"].isna().all()  # no spread: no distance
    assert means.loc["VIP: all customers (too few to split)", "age"] == "50.00"


def test_segment_table_withholds_the_counts_the_tier_table_withholds() -> None:
    # R08 of issue 17: the tier table withholds private banking (5, primary) and VIP (122,
    # secondary, else 3,601 - 2,980 - 494 - 122 gives the 5 back). The segment table printed
    # VIP's 122 beside the tier table's "x" (the HTML attacker's attack A on the CI batch)
    summary = pd.DataFrame(
        {
            "tier": list(TIERS),
            "customers": [2980, 494, 122, 5],
            "k": [4.0, 3.0, np.nan, np.nan],
            "criterion": [0.3, 0.25, np.nan, np.nan],
            "stability_ari": [0.9, 0.8, np.nan, np.nan],
        }
    )
    tier_mix = pd.DataFrame(
        {
            "scope": ["region"] * 4 + ["bank"] * 4,
            "tier": list(TIERS) * 2,
            "count_protection": ["", "", "secondary", "primary", "", "", "", ""],
        }
    )
    plain = rsg.segment_summary_table(summary, K).frame
    assert plain["Customers"].tolist() == ["2,980", "494", "122", "<10"]
    table = rsg.segment_summary_table(summary, K, tier_mix=tier_mix).frame
    assert table["Customers"].tolist() == ["2,980", "494", "x", "<10"]
    assert table.iloc[2].tolist() == ["VIP", "x", "1", "kept as one group", "n/a"]
    # a tier the tier table withholds for dominance is withheld too; shown tiers stay shown
    dominated = tier_mix.assign(count_protection=["", "dominance", "", "primary"] + [""] * 4)
    shown = rsg.segment_summary_table(summary, K, tier_mix=dominated).frame
    assert shown["Customers"].tolist() == ["2,980", "x", "122", "<10"]
    # the segment chart draws no bar of a withheld tier: VIP's one segment is its 122
    profiles = pd.DataFrame(
        {
            "tier": ["mass", "mass", "quality", "vip", "private_banking"],
            "name": ["savers", "digital", "investors", "all customers", "all customers"],
            "customers": [2000, 980, 494, 122, 5],
        }
    )
    assert rsg.shown_segments(profiles, K)["customers"].tolist() == [2000, 980, 494, 122]
    prof = rsg.shown_segments(profiles, K, tier_mix=tier_mix)
    assert prof["segment"].tolist() == ["Mass: savers", "Mass: digital", "Quality: investors"]
