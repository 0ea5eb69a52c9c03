"""Peak memory of ``bankanalysis data generate`` before and after customer chunks, side by side.

Not part of ``make bench`` (no ``bench_`` prefix). For each size (``--sizes 300k,1m``) it
generates the bank with the old generator (``--old-src``: the ``src`` folder of a checkout from
before the chunks, e.g. a git worktree of main at that commit) and with this checkout's, one
right after the other (same seed, :data:`~benchmarks._harness.SEED`), each as its own child
process measured like ``make bench-scale`` (:func:`benchmarks.scale.measure_tree`: psutil
samples plus ``os.wait4``). ``--chunks 125000,500000`` also generates each size with this
checkout's generator at other chunk sizes (a child calling
:func:`bankanalysis.synthetic.generate_bank` with ``chunk_customers``), to choose
:data:`~bankanalysis.synthetic.spec.CHUNK_CUSTOMERS` by measurement.

Prints a Markdown table and writes the figures to ``build/bench/generate_chunks.json``.
Usage: ``python -m benchmarks.generate_chunks --old-src /path/to/old/src --sizes 300k,1m``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
from pathlib import Path

from benchmarks._harness import ROOT, SEED, cli
from benchmarks.scale import measure_tree, parse_size, size_label

#: Where the figures go.
OUT = ROOT / "build" / "bench" / "generate_chunks.json"


def _env(src: Path) -> dict[str, str]:
    """Environment of a child that imports ``bankanalysis`` from ``src``."""
    return {**os.environ, "PYTHONPATH": str(src), "PYTHONHASHSEED": "0"}


def _chunk_cmd(out: Path, n: int, chunk: int) -> list[str]:
    """Command line of a child that generates ``n`` customers in chunks of ``chunk``."""
    code = (
        "from bankanalysis.synthetic import generate_bank; "
        f"generate_bank({str(out)!r}, n_customers={n}, seed={SEED}, chunk_customers={chunk})"
    )
    return [sys.executable, "-c", code]


def runs(sizes: list[int], old_src: Path | None, chunks: list[int]) -> list[dict]:
    """Generate every size with every variant; one row per run (variant, customers, figures)."""
    new_src = ROOT / "src"
    rows = []
    for n in sizes:
        variants: list[tuple[str, list[str], Path]] = []
        with tempfile.TemporaryDirectory(prefix="generate-chunks-", dir=ROOT / "build") as tmp:
            out = Path(tmp) / "raw"
            gen = cli("data", "generate", "--customers", str(n), "--seed", str(SEED))
            if old_src is not None:
                variants.append(("old (main)", [*gen, "--out", str(out)], old_src))
            variants.append(("new (default chunk)", [*gen, "--out", str(out)], new_src))
            variants += [(f"new, chunk {c:,}", _chunk_cmd(out, n, c), new_src) for c in chunks]
            for name, cmd, src in variants:
                shutil.rmtree(out, ignore_errors=True)
                load = os.getloadavg()[0]
                res = measure_tree(cmd, env=_env(src))
                rows.append(
                    {
                        "variant": name,
                        "customers": n,
                        "wall_s": round(res.wall_s, 1),
                        "cpu_s": round(res.cpu_s, 1),
                        "peak_rss_gb": round(res.peak_rss_gb, 3),
                        "load_at_start": round(load, 1),
                    }
                )
                print(f"  {size_label(n)} {name}: {rows[-1]}", flush=True)
    return rows


def table(rows: list[dict]) -> str:
    """The runs as a Markdown table.

    Examples
    --------
    >>> print(table([{"variant": "old", "customers": 1000, "wall_s": 1.0, "cpu_s": 0.9,
    ...     "peak_rss_gb": 0.25, "load_at_start": 2.0}]))
    | customers | generator | wall s | CPU s | peak RSS GB | load at start |
    |---|---|---|---|---|---|
    | 1,000 | old | 1.0 | 0.9 | 0.25 | 2.0 |
    """
    lines = [
        "| customers | generator | wall s | CPU s | peak RSS GB | load at start |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['customers']:,} | {r['variant']} | {r['wall_s']:.1f} | {r['cpu_s']:.1f} | "
            f"{r['peak_rss_gb']:.2f} | {r['load_at_start']:.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line: measure, print the table, write :data:`OUT`."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="300k,1m", help="bank sizes, e.g. 300k,1m")
    ap.add_argument("--old-src", type=Path, help="src folder of the generator before chunks")
    ap.add_argument("--chunks", default="", help="other chunk sizes to try, e.g. 125000,500000")
    args = ap.parse_args(argv)
    sizes = [parse_size(s) for s in args.sizes.split(",") if s]
    chunks = [int(c) for c in args.chunks.split(",") if c]
    (ROOT / "build").mkdir(exist_ok=True)
    rows = runs(sizes, args.old_src, chunks)
    print(table(rows))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    meta = {"machine": platform.processor() or platform.machine(), "cpus": os.cpu_count()}
    OUT.write_text(json.dumps({"meta": meta, "runs": rows}, indent=2) + "\n", encoding="utf-8")
    print(f"figures: {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
