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
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCHES = ("generate", "prepare", "segmentation", "propensity", "uci", "dea", "batch")


def _machine() -> str:
    import os

    return f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    ap.add_argument("--only", nargs="*", default=None, help=f"subset of {', '.join(BENCHES)}")
    ap.add_argument("--out", default=str(ROOT / "reports" / "bench" / "latest.json"))
    args = ap.parse_args(argv)

    figures: dict[str, float] = {}
    failed: list[str] = []
    for name in args.only or BENCHES:
        try:
            mod = importlib.import_module(f"benchmarks.bench_{name}")
        except ModuleNotFoundError:
            print(f"[{name}] not available", flush=True)
            failed.append(name)
            continue
        print(f"[{name}] running{' (quick)' if args.quick else ''} ...", flush=True)
        t0 = time.perf_counter()
        try:
            got = mod.run(quick=args.quick)
        except Exception:  # noqa: BLE001 - one failing benchmark must not hide the others
            traceback.print_exc()
            failed.append(name)
            continue
        for k, v in got.items():
            figures[k] = float(v)
            print(f"  {k:36s} {float(v):12.4f}", flush=True)
        print(f"[{name}] done in {time.perf_counter() - t0:.1f} s", flush=True)

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(dict(sorted(figures.items())), indent=1) + "\n", encoding="utf-8")
    tmp.replace(out)
    print(f"\nmachine: {_machine()}\nfigures written to {out}")
    if failed:
        print(f"FAILED or unavailable: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
