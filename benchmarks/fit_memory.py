"""Side by side: peak memory of ``make bench-scale``'s ``fit`` stage before and after issue 18's
change to notebook 02 (the propensity report of one region, models fitted from scratch).

The ``fit`` stage runs notebook 02 for the first region with an empty model cache: it fits the
bank's models, computes the summary's standing of every region (cached for the other reports),
scores the region's customers, builds the lead lists, replays last period's leads and writes
the workbooks. Until commit :data:`OLD_REF` the standing held every scorecard column of the
seven months it needs for the whole bank in pandas at once, and the region's scores, offers
and replayed outcomes were built as whole (customer x product) frames.

This script runs the notebook's code cells (this checkout's ``notebooks/02_...ipynb``, which
the change leaves as it was) in a child process with the old package (``git archive OLD_REF
src``) and then with this checkout's ``src``, one after the other in one run, each on its own
view of the same processed bank (symbolic links to its tables, an empty ``_models``: nothing
cached). Each child's wall and CPU seconds and peak RSS come from ``os.wait4``; inside, a
psutil thread records the peak RSS of each cell (and of the standing, scoring and replay
steps), so the step holding the peak is named. The two runs' scores, leads and report metrics
are then compared exactly; a difference is an error, not a figure. Cells run in one Python
process without papermill, nbconvert or a kernel (the stage adds those: about 0.1 to 0.2 GB).

Figures (``--out`` merges them into ``reports/bench/latest.json``; the ``scale_`` prefix keeps
them when ``make bench`` rewrites the file): ``scale_fit_<n>_{old,new}_peak_rss_gb``,
``..._{old,new}_s``, ``..._{old,new}_cpu_s``, ``..._peak_rss_ratio`` and ``..._cpu_s_ratio``
(new / old). Not part of ``make bench``. Usage: ``python -m benchmarks.fit_memory --processed
/tmp/bank/processed [--region R01]``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import pickle
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchmarks._harness import (
    ROOT,
    add_old_code_arguments,
    add_ratios,
    bank_view,
    frame_differences,
    load_text,
    measure,
    metric_differences,
    old_and_new,
    print_figures,
    report_figures,
    write_result,
)
from benchmarks.scale import _first_region, size_label

#: main when the fit stage's steps were changed to read and build in parts (issue 18).
OLD_REF = "576ece37f6d77c1b1133877f7a154e7ba473bcf9"
NOTEBOOK = ROOT / "notebooks" / "02_cross_sell_propensity.ipynb"
#: Inner steps whose peak is recorded apart from their cell: (module, function).
STEPS = (
    ("bankanalysis.report.standing", "load_standing"),
    ("bankanalysis.propensity.training", "train_propensity"),
    ("bankanalysis.propensity.workflow", "score_region"),
    ("bankanalysis.propensity.workflow", "next_best_offers"),
    ("bankanalysis.propensity.workflow", "add_reasons"),
    ("bankanalysis.report.lead_review", "replay_leads"),
    ("bankanalysis.report.lead_review", "replay_conversion"),
    ("bankanalysis.report.lead_review", "manager_book"),
    ("bankanalysis.report.lead_review", "write_lead_files"),
)
GB = 1024**3


def run_cells(processed: Path, region: str, out_dir: Path) -> tuple[dict[str, float], dict]:
    """Execute notebook 02's code cells for ``region``; return the peak GB of each cell and
    step, and what the runs are compared on (``scores``, ``leads``, ``metrics``)."""
    import importlib

    import psutil

    proc = psutil.Process()
    peaks: dict[str, float] = {}
    current = ["start"]

    def sample() -> None:
        while True:
            peaks[current[0]] = max(peaks.get(current[0], 0.0), proc.memory_info().rss / GB)
            time.sleep(0.05)

    threading.Thread(target=sample, daemon=True).start()
    for module, name in STEPS:
        mod = importlib.import_module(module)
        if hasattr(mod, name):
            setattr(mod, name, _labelled(getattr(mod, name), f"  {name}", current))
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    env: dict = {"__name__": "__main__"}
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        head = next(line for line in source.splitlines() if line and not line.startswith("#"))
        current[0] = f"cell {i:02d}: {head[:48]}"
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(source, f"cell {i}", "exec"), env)
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            env.update(region_id=region, processed_dir=str(processed), output_dir=str(out_dir))
    time.sleep(0.1)
    compared = {
        "scores": env["scored"].scores,
        "leads": env["leads"],
        "metrics": json.loads((out_dir / "metrics.json").read_text(encoding="utf-8")),
    }
    return peaks, compared


def _labelled(func, label: str, current: list[str]):  # noqa: ANN001, ANN202
    """``func`` recording its time under ``label`` (the enclosing label afterwards)."""

    def wrapper(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        outer, current[0] = current[0], label
        try:
            return func(*args, **kwargs)
        finally:
            current[0] = outer

    return wrapper


def differences(old: dict, new: dict) -> list[str]:
    """What differs between the two runs' scores, leads and metrics (empty: nothing)."""
    return frame_differences(old, new, ("scores", "leads")) + metric_differences(
        old["metrics"], new["metrics"]
    )


def run_bank(processed: Path, region: str, old_src: Path, work: Path) -> dict[str, float]:
    """The fit stage's notebook with the old and the new code; compare; return the figures.

    Raises
    ------
    RuntimeError
        When the two runs' scores, leads or metrics differ.
    """
    import pyarrow.parquet as pq

    n = int(pq.ParquetFile(processed / "customers.parquet").metadata.num_rows)
    stem = f"scale_fit_{size_label(n)}"
    out: dict[str, float] = {}
    results = {}
    for kind, src in (("old", old_src), ("new", ROOT / "src")):
        env = {**os.environ, "PYTHONPATH": f"{src}{os.pathsep}{ROOT}", "PYTHONHASHSEED": "0"}
        env["MPLBACKEND"] = "Agg"
        view = bank_view(processed, work / kind / "processed")
        result = work / f"{kind}.pkl"
        cmd = [sys.executable, "-m", "benchmarks.fit_memory", "--child", "--region", region]
        cmd += ["--processed", str(view), "--result", str(result)]
        print(
            f"  {size_label(n)} customers, {region}, {kind} code (load {load_text()}) ...",
            flush=True,
        )
        wall, cpu, rss = measure(cmd, env=env)
        out.update({f"{stem}_{kind}_s": wall, f"{stem}_{kind}_cpu_s": cpu})
        out[f"{stem}_{kind}_peak_rss_gb"] = rss
        with open(result, "rb") as f:
            peaks, results[kind] = pickle.load(f)
        print(
            f"    {wall:.1f} s, {cpu:.1f} CPU s, {rss:.2f} GB; load {load_text()}; peak per step:"
        )
        for step, gb in peaks.items():
            print(f"      {gb:6.2f} GB  {step}", flush=True)
    diff = differences(results["old"], results["new"])
    if diff:
        raise RuntimeError(f"old and new fit-stage results differ at {size_label(n)}: {diff}")
    print(f"    same scores, {len(results['new']['leads'])} same leads, same metrics")
    add_ratios(out, stem)
    print_figures(out)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--processed", required=True, help="a processed bank")
    ap.add_argument("--region", help="the region (default: the first, as the fit stage)")
    add_old_code_arguments(ap, OLD_REF)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    processed = Path(args.processed)
    region = args.region or _first_region(processed)
    if args.child:
        with tempfile.TemporaryDirectory(prefix="fit-out-") as tmp:
            found = run_cells(processed, region, Path(tmp))
        write_result(args.result, found)
        return 0
    with old_and_new("fit-memory-", args) as (old_src, tmp):
        figures = run_bank(processed, region, old_src, tmp)
    return report_figures(args, figures)


if __name__ == "__main__":
    sys.exit(main())
