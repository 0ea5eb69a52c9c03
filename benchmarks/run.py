"""Run every benchmark side by side and write the figures to reports/bench/latest.json.

Usage: ``python -m benchmarks.run [--quick] [--only NAME ...]``. Each ``benchmarks/bench_<name>.py``
exposes ``run(quick: bool = False) -> dict[str, float]``. Figures are ratios or absolute
measurements taken in this one run on this machine; a benchmark that fails is reported and the
others still run (exit code 1 at the end).
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

from benchmarks._harness import merge_figures

ROOT = Path(__file__).resolve().parents[1]
BENCHES = ("generate", "prepare", "segmentation", "propensity", "uci", "dea", "disclosure", "batch")


def _machine() -> str:
    import os

    return f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}"


def _run_one(name: str, quick: bool, result: Path) -> int:
    """Run one benchmark in this (fresh) process and write its figures to ``result``."""
    try:
        mod = importlib.import_module(f"benchmarks.bench_{name}")
    except ModuleNotFoundError:
        print(f"[{name}] not available", flush=True)
        return 1
    try:
        got = mod.run(quick=quick)
    except Exception:  # noqa: BLE001 - reported, and the runner goes on with the others
        traceback.print_exc()
        return 1
    result.write_text(json.dumps({k: float(v) for k, v in got.items()}), encoding="utf-8")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    ap.add_argument("--only", nargs="*", default=None, help=f"subset of {', '.join(BENCHES)}")
    ap.add_argument("--out", default=str(ROOT / "reports" / "bench" / "latest.json"))
    ap.add_argument("--one", help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        return _run_one(args.one, args.quick, Path(args.result))

    figures: dict[str, float] = {}
    failed: list[str] = []
    for name in args.only or BENCHES:
        print(f"[{name}] running{' (quick)' if args.quick else ''} ...", flush=True)
        t0 = time.perf_counter()
        # each benchmark in a fresh interpreter: peak-memory figures of one benchmark's child
        # processes must not carry over the memory another benchmark left in this process
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as fh:
            result_file = Path(fh.name)
        cmd = [sys.executable, "-m", "benchmarks.run", "--one", name, "--result", str(result_file)]
        if args.quick:
            cmd.append("--quick")
        proc = subprocess.run(cmd, cwd=ROOT, check=False)
        got = json.loads(result_file.read_text() or "{}") if result_file.exists() else {}
        result_file.unlink(missing_ok=True)
        if proc.returncode != 0:
            failed.append(name)
            continue
        for k, v in got.items():
            figures[k] = float(v)
            print(f"  {k:36s} {float(v):12.4f}", flush=True)
        print(f"[{name}] done in {time.perf_counter() - t0:.1f} s", flush=True)

    out = Path(args.out)
    # a subset updates its own figures and keeps the others of the last full run; a full run
    # replaces them all but those only `make bench-scale` measures (benchmarks/scale.py)
    merge_figures(out, figures, replace=not args.only or args.quick)
    print(f"\nmachine: {_machine()}\nfigures written to {out}")
    if failed:
        print(f"FAILED or unavailable: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
