"""Benchmark: generate the 1,000,000-customer synthetic bank (13 months, with transactions).

Runs ``bankanalysis data generate`` in a child process into a temporary folder and measures the
wall time and the child's peak resident memory (``ru_maxrss`` from ``os.wait4``). Targets (issue 2): <= 180 s and <= 6 GB on the
2-core reference machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FULL_CUSTOMERS = 1_000_000
QUICK_CUSTOMERS = 20_000


def run(quick: bool = False) -> dict[str, float]:
    """Generate the benchmark bank and return its time and peak memory.

    Parameters
    ----------
    quick : bool
        Generate 20,000 customers instead of 1,000,000 (a smoke run; same figure names).

    Returns
    -------
    dict of str to float
        ``generate_1m_s`` (wall seconds) and ``generate_1m_peak_rss_gb`` (peak RSS of the child).
    """
    n = QUICK_CUSTOMERS if quick else FULL_CUSTOMERS
    with tempfile.TemporaryDirectory(prefix="bench-generate-") as tmp:
        out = Path(tmp) / "raw"
        cmd = [
            sys.executable,
            "-m",
            "bankanalysis.cli",
            "-q",
            "data",
            "generate",
            "--customers",
            str(n),
            "--out",
            str(out),
        ]
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
        # wait4 gives this child's own rusage (RUSAGE_CHILDREN would be the maximum over every
        # child this process has waited for, e.g. earlier benchmarks)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - t0
        if proc.returncode != 0:
            raise subprocess.CalledProcessError(proc.returncode, cmd)
    return {"generate_1m_s": seconds, "generate_1m_peak_rss_gb": usage.ru_maxrss / 1024**2}


if __name__ == "__main__":  # pragma: no cover
    for k, v in run(quick="--quick" in sys.argv).items():
        print(f"{k}: {v:.2f}")
