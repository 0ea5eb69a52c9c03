"""Benchmark: the propensity model on real bank data (UCI Bank Marketing), issue 5.

Runs the same code as ``bankanalysis benchmark uci`` on ``bank-additional-full.csv`` (41,188
calls, target ``y``, ``duration`` dropped because it is only known after the call), found at
``<project root>/../shared/data/uci_bank_marketing/``. Without that file the benchmark returns
no figures. ``quick=True`` uses the 4,119-row sample in ``tests/data`` with 3 folds instead.

Published anchor: AUC 0.80 (Moro, Cortez & Rita 2014). Target: 5-fold stratified CV AUC >= 0.80.
Data: S. Moro, P. Cortez and P. Rita, "A Data-Driven Approach to Predict the Success of Bank
Telemarketing", Decision Support Systems 62 (2014) 22-31, doi:10.1016/j.dss.2014.03.001
(UCI Machine Learning Repository, CC BY 4.0).
Usage: ``python -m benchmarks.bench_uci [--quick]``.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FULL = ROOT.parent / "shared" / "data" / "uci_bank_marketing" / "bank-additional-full.csv"
SAMPLE = ROOT / "tests" / "data" / "uci_bank_additional_sample.csv"


def run(quick: bool = False) -> dict[str, float]:
    """Cross-validated and out-of-time figures on the UCI file (empty dict when it is absent).

    Returns
    -------
    dict of str to float
        ``uci_cv_auc`` (mean 5-fold stratified CV ROC AUC), ``uci_top_decile_lift`` (mean CV
        top-decile lift) and ``uci_oot_auc`` (train on the first 80% of the file, test on the
        last 20%, file order = date order).
    """
    from bankanalysis.propensity.uci import benchmark_csv, format_benchmark, load_csv_dataset

    path = SAMPLE if quick else FULL
    if not path.is_file():
        print(f"  {path} not found: UCI benchmark skipped", flush=True)
        return {}
    X, y = load_csv_dataset(path, "y", drop=["duration"], sep=";", positive="yes")
    result = benchmark_csv(X, y, n_splits=3 if quick else 5)
    print(format_benchmark(result, path.name, ["duration"]), flush=True)
    return {
        "uci_cv_auc": result["cv_auc"],
        "uci_top_decile_lift": result["cv_top_decile_lift"],
        "uci_oot_auc": result["oot_auc"],
    }


if __name__ == "__main__":  # pragma: no cover
    for k, v in run(quick="--quick" in sys.argv).items():
        print(f"{k}: {v:.4f}")
