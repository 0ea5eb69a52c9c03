"""DEA benchmark: CCR and BCC for 2,000 outlets (3 inputs, 4 outputs), and pyfrontier side by side.

``run()`` returns ``dea_2000_s`` (input-oriented CCR + BCC scores for 2,000 units, one warm-started
HiGHS model per model type), ``dea_vs_pyfrontier_speedup`` (pyfrontier time / our time on the
same fixed 200-unit subset, CCR + BCC) and ``dea_vs_pyfrontier_max_abs_diff`` (largest score
difference on that subset). pyfrontier is a benchmark-only dependency (``pip install -e .[bench]``);
without it the two comparison figures are NaN and a warning is printed.
"""

from __future__ import annotations

import math
import time

import numpy as np

from bankanalysis.benchmarking.dea import dea_scores

SEED = 20240601


def make_outlets(n: int, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic outlets: 3 strictly positive inputs, 4 outputs from a noisy frontier."""
    rng = np.random.default_rng(seed)
    X = rng.lognormal(mean=[2.5, 1.0, 3.0], sigma=0.5, size=(n, 3))
    eff = rng.beta(5, 2, size=n)
    size = X @ np.array([0.5, 0.2, 0.3])
    mix = rng.dirichlet(np.ones(4) * 3, size=n)
    Y = (eff * size ** rng.uniform(0.8, 1.1, size=n))[:, None] * mix * np.array([100, 5, 20, 3])
    return X, Y


def _ours(
    X: np.ndarray, Y: np.ndarray, n_jobs: int = 1
) -> tuple[np.ndarray, np.ndarray, float, float]:
    """CCR and BCC input-oriented scores; wall time and this process's CPU time."""
    t, c = time.perf_counter(), time.process_time()
    ccr = dea_scores(X, Y, "input", "crs", n_jobs=n_jobs)
    bcc = dea_scores(X, Y, "input", "vrs", n_jobs=n_jobs)
    return ccr, bcc, time.perf_counter() - t, time.process_time() - c


def _pyfrontier(X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray, float] | None:
    try:
        from Pyfrontier.frontier_model import EnvelopDEA
    except ImportError:
        print("pyfrontier not installed (pip install -e .[bench]); comparison skipped")
        return None
    t = time.perf_counter()
    out = []
    for frontier in ("CRS", "VRS"):
        model = EnvelopDEA(frontier, "in")
        model.fit(X, Y)
        out.append(np.array([r.score for r in model.result], dtype=float))
    return out[0], out[1], time.perf_counter() - t


def run(quick: bool = False) -> dict[str, float]:
    """Run the benchmark and return its figures.

    Parameters
    ----------
    quick : bool
        Smoke variant: 300 units and a 40-unit comparison subset (same figure names).

    Returns
    -------
    dict
        ``dea_2000_s`` (one process, wall clock), ``dea_2000_cpu_s`` (its CPU time, which
        other load on the machine inflates less), ``dea_2000_2proc_s`` (two process chunks),
        ``dea_vs_pyfrontier_speedup`` and ``dea_vs_pyfrontier_max_abs_diff``.
    """
    n, n_sub = (300, 40) if quick else (2000, 200)
    X, Y = make_outlets(n)
    _ours(X[:50], Y[:50])  # warm-up: imports and the HiGHS banner outside the timing
    ccr, bcc, t_all, cpu_all = _ours(X, Y)
    assert np.all(bcc >= ccr - 1e-9), "BCC must not be below CCR"
    print(
        f"DEA CCR+BCC input-oriented, {n} units x (3 in, 4 out): {t_all:.2f} s (1 process, "
        f"{cpu_all:.2f} s CPU)"
    )
    c2, b2, t_two, _ = _ours(X, Y, n_jobs=2)
    assert np.allclose(c2, ccr, atol=1e-9) and np.allclose(b2, bcc, atol=1e-9)
    print(f"  the same in 2 process chunks: {t_two:.2f} s")
    idx = np.random.default_rng(SEED + 1).choice(n, size=n_sub, replace=False)
    Xs, Ys = X[idx], Y[idx]
    c_ours, b_ours, t_ours, _ = _ours(Xs, Ys)
    ref = _pyfrontier(Xs, Ys)
    if ref is None:
        speedup = diff = math.nan
    else:
        c_ref, b_ref, t_ref = ref
        diff = float(max(np.abs(c_ours - c_ref).max(), np.abs(b_ours - b_ref).max()))
        speedup = t_ref / t_ours
        print(
            f"pyfrontier on the same {n_sub} units: {t_ref:.2f} s vs ours {t_ours:.3f} s "
            f"-> {speedup:.1f}x faster; max |score difference| = {diff:.2e}"
        )
    return {
        "dea_2000_s": float(t_all),
        "dea_2000_cpu_s": float(cpu_all),
        "dea_2000_2proc_s": float(t_two),
        "dea_vs_pyfrontier_speedup": float(speedup),
        "dea_vs_pyfrontier_max_abs_diff": float(diff),
    }


if __name__ == "__main__":
    print(run())
