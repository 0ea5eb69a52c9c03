"""Benchmark: cross-sell propensity on the 1,000,000-customer synthetic bank (issue 5).

The bank is generated once with the generator CLI into ``build/bench/bank_1000000/raw``
(shared with the prepare benchmark) and prepared into ``build/bench/propensity_1m/processed``
(skipped while the raw fingerprint is unchanged). A child process then

- trains every cross-sell product model with the report's default parameters (reading the
  training windows, subsampling, fitting, calibrating and the out-of-time evaluation), and
- scores every active customer of the data month (features + every product's probability),

and reports both wall times and its own peak RSS. Targets: training <= 120 s, scoring
<= 10 s, peak RSS <= 6 GB on the 2-core reference machine. ``quick=True`` uses a
3,000-customer bank in a temporary folder (same figure names).
Usage: ``python -m benchmarks.bench_propensity [--quick]``.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._harness import ROOT, ensure_bank, json_child

FULL_CUSTOMERS = 1_000_000
QUICK_CUSTOMERS = 3_000


def workload(processed_dir: Path) -> dict[str, float]:
    """Train every product model, then score every active customer; return timings and counts."""
    from bankanalysis.data.load import load_processed
    from bankanalysis.params import PropensityParams
    from bankanalysis.propensity import TrainingSettings, score_customers, train_propensity
    from bankanalysis.propensity.training import load_features

    params = PropensityParams().model_dump()  # the report's defaults (one thread per model)
    settings = TrainingSettings.from_params(params)
    bank = load_processed(processed_dir)
    t0, c0 = time.perf_counter(), time.process_time()
    bundle = train_propensity(bank, settings)
    train_s, train_cpu = time.perf_counter() - t0, time.process_time() - c0
    t0, c0 = time.perf_counter(), time.process_time()
    X = load_features(bank, bundle.data_month, bundle.regions, tier_months=settings.tier_months).X
    scores = score_customers(bundle, X)
    score_s, score_cpu = time.perf_counter() - t0, time.process_time() - c0
    return {
        "train_s": train_s,
        "train_cpu_s": train_cpu,
        "score_s": score_s,
        "score_cpu_s": score_cpu,
        "models": float(len(bundle.models)),
        "customers_scored": float(len(scores)),
        "scores": float(scores.notna().to_numpy().sum()),
    }


def _child(processed_dir: str) -> None:
    import resource

    got = workload(Path(processed_dir))
    got["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(json.dumps(got))


def run(quick: bool = False) -> dict[str, float]:
    """Time training and scoring in a child process.

    Parameters
    ----------
    quick : bool
        Use a 3,000-customer bank in a temporary folder (a smoke run; same figure names).

    Returns
    -------
    dict of str to float
        ``propensity_train_1m_s``, ``propensity_score_1m_s`` (wall seconds) and
        ``propensity_1m_peak_rss_gb`` (the child's peak RSS); ``propensity_train_1m_cpu_s`` and
        ``propensity_score_1m_cpu_s`` (CPU seconds: the machine may be shared).
    """
    with tempfile.TemporaryDirectory(prefix="bench-propensity-") as tmp:
        if quick:
            processed = ensure_bank(Path(tmp), QUICK_CUSTOMERS)
        else:
            raw = ROOT / "build" / "bench" / f"bank_{FULL_CUSTOMERS}" / "raw"
            processed = ensure_bank(ROOT / "build" / "bench" / "propensity_1m", FULL_CUSTOMERS, raw)
        got = json_child("benchmarks.bench_propensity", str(processed))
    print(
        f"  {int(got['models'])} product models; {int(got['customers_scored']):,} customers "
        f"scored ({int(got['scores']):,} probabilities)",
        flush=True,
    )
    return {
        "propensity_train_1m_s": got["train_s"],
        "propensity_score_1m_s": got["score_s"],
        "propensity_1m_peak_rss_gb": got["peak_rss_gb"],
        "propensity_train_1m_cpu_s": got["train_cpu_s"],
        "propensity_score_1m_cpu_s": got["score_cpu_s"],
    }


if __name__ == "__main__":  # pragma: no cover
    if "--child" in sys.argv:
        _child(sys.argv[sys.argv.index("--child") + 1])
    else:
        for k, v in run(quick="--quick" in sys.argv).items():
            print(f"{k}: {v:.2f}")
