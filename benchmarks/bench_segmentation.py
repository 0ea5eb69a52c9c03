"""Benchmark: segmentation of the 1,000,000-customer bank for every region (issue 4).

One full run of the segmentation report's analytics, region by region: tiers (whole bank, for
the echelon and bank comparison), migration over 12 months, the upgrade pipeline, behaviour
segments within every tier, product coverage and manager KPIs. The work runs in a child process
that reports its own wall time and peak RSS. Targets: <= 60 s and <= 4 GB on the 2-core
reference machine.

The 1M bank is generated and prepared once into ``build/bench/segmentation_1m/`` (a few minutes)
and reused while its raw files are unchanged; ``quick=True`` uses a 3,000-customer bank in a
temporary folder instead (same figure names).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._harness import ROOT, ensure_bank, json_child

FULL_CUSTOMERS = 1_000_000
QUICK_CUSTOMERS = 3_000
CACHE = ROOT / "build" / "bench" / "segmentation_1m"


def workload(processed_dir: Path) -> dict[str, float]:
    """Run the segmentation analytics for every region; return counts that prove the work."""
    import pandas as pd

    from bankanalysis import segmentation as seg
    from bankanalysis.data.load import load_processed
    from bankanalysis.params import SegmentationParams
    from bankanalysis.rules.months import month_window, shift_month
    from bankanalysis.rules.tiers import customer_tiers

    p = SegmentationParams()
    bank = load_processed(processed_dir)
    month = bank.data_month
    t0 = max(shift_month(month, -p.migration_months), bank.months[0])
    window = sorted(
        {
            m
            for m in month_window(month, p.tier_months) + month_window(t0, p.tier_months)
            if m in bank.months
        }
    )
    cm_all = bank.customer_month(
        months=window, columns=["outlet_id", "region_id", "echelon", "aum"]
    )
    tiers_all = customer_tiers(cm_all, month, p.tier_thresholds, p.tier_months)
    tiers_t0 = customer_tiers(cm_all, t0, p.tier_thresholds, p.tier_months)
    del cm_all
    customers = bank.customers
    managers = bank.managers
    has_contacts = bank.has("contacts")
    out = {"regions": 0.0, "customers": 0.0, "segments": 0.0}
    for region_id in bank.regions["region_id"].astype(str):
        seg.tier_comparison(tiers_all, region_id, min_group_size=p.min_group_size)
        now = bank.customer_month(months=[month], region_id=region_id)
        mine = tiers_all.loc[
            tiers_all["region_id"] == region_id, ["customer_id", "avg_aum", "months_used", "tier"]
        ]
        tiers = mine.merge(now, on="customer_id", how="inner")
        seg.gini(tiers["aum"])
        seg.lorenz_curve(tiers["aum"])
        trans = seg.tier_transitions(
            tiers_t0[tiers_t0["region_id"] == region_id],
            tiers[["customer_id", "outlet_id", "tier"]],
        )
        seg.transition_matrix(trans)
        seg.migration_rates(trans)
        seg.tier_flows(trans, min_group_size=p.min_group_size)
        seg.upgrade_pipeline(
            tiers, p.tier_thresholds, p.pipeline_within, "outlet_id", p.min_group_size
        )
        features = seg.behaviour_features(tiers, bank.products)
        segs = seg.segment_tiers(
            features,
            tiers,
            k_range=tuple(p.segment_k_range),
            min_customers=p.segment_min_customers,
            method=p.segment_method,
            sample_size=p.segment_sample_size,
            random_state=p.segment_seed,
        )
        seg.products_per_customer(tiers, p.min_group_size)
        seg.holding_rates(tiers, bank.products, by="tier", min_group_size=p.min_group_size)
        seg.cross_holding_matrix(tiers)
        seg.product_depth(tiers, customers[customers["region_id"] == region_id], month)
        seg.wealth_card_matching(tiers, p.wealth_card_product)
        seg.e_banking_penetration(tiers, bank.products)
        region_managers = (
            None if managers is None else managers[managers["outlet_id"].isin(tiers["outlet_id"])]
        )
        seg.manager_kpis(tiers, region_managers, has_contacts)
        seg.manager_kpis_by_outlet(
            tiers, region_managers, has_contacts, min_group_size=p.min_group_size
        )
        out["regions"] += 1
        out["customers"] += len(tiers)
        out["segments"] += float(pd.Series(segs.summary["k"]).fillna(1).sum())
    return out


def _child(processed_dir: str) -> None:
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    counts = workload(Path(processed_dir))
    result = {
        "seconds": time.perf_counter() - t0,
        "cpu_seconds": time.process_time() - cpu0,
        "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2,
        **counts,
    }
    print(json.dumps(result))


def run(quick: bool = False) -> dict[str, float]:
    """Time the segmentation of every region of the 1M bank in a child process.

    Parameters
    ----------
    quick : bool
        Use a 3,000-customer bank in a temporary folder (a smoke run; same figure names).

    Returns
    -------
    dict of str to float
        ``segmentation_1m_s`` (wall seconds of the child's work, data loading included),
        ``segmentation_1m_peak_rss_gb`` (the child's peak RSS) and
        ``segmentation_1m_cpu_s`` (the child's CPU seconds; the machine may be shared).
    """
    with tempfile.TemporaryDirectory(prefix="bench-segmentation-") as tmp:
        base = Path(tmp) if quick else CACHE
        processed = ensure_bank(base, QUICK_CUSTOMERS if quick else FULL_CUSTOMERS)
        # one BLAS/OpenMP thread, as when the batch runs one notebook per core (on a shared
        # machine more threads only spin)
        env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
        got = json_child("benchmarks.bench_segmentation", str(processed), env=env)
    return {
        "segmentation_1m_s": got["seconds"],
        "segmentation_1m_peak_rss_gb": got["peak_rss_gb"],
        "segmentation_1m_cpu_s": got["cpu_seconds"],
    }


if __name__ == "__main__":  # pragma: no cover
    if "--child" in sys.argv:
        _child(sys.argv[sys.argv.index("--child") + 1])
    else:
        for k, v in run(quick="--quick" in sys.argv).items():
            print(f"{k}: {v:.2f}")
