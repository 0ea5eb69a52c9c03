"""Side by side: notebook 02's lead review cell (upgrade candidates, replay of last period's
leads, scorecards, workbooks) with main's code and with this checkout's, for one region.

At 10 million customers (a region of about 1.9 million) notebook 02's cell that lists the
upgrade candidates and writes the lead files (``actions.region_upgrade_candidates`` then
``lead_review.lead_review``) ran past the batch's 20-minute notebook timeout. This script runs
notebook 02's code cells that lead to it and follow it (the parameters, the context and the
models, the scoring and lead lists, then the lead review and the cells showing its sections;
not the summary, evaluation, charts or appendix) in a child process, once with main's package
(``git archive REF src``) and once with this checkout's ``src``, alternating ``--repeat``
times, each on its own view of the same processed bank (symbolic links to its tables; the
models fitted once, untimed, into a model cache both share, as the batch does after its first
report; figures other reports cache there are computed afresh in every run). Each child's wall and CPU seconds and peak RSS come from ``os.wait4``; inside, the
lead review cell's own wall and CPU seconds and the CPU seconds of its steps are recorded,
with the peak RSS while it ran (a psutil thread).

The runs' outputs are then compared: every restricted file (each workbook's cell values read
back with openpyxl, the CSV files byte for byte, the audiences), ``metrics.json`` and the lead
frame. A difference is an error, not a figure. ``--profile`` writes a cProfile of the cell
(new code) beside the figures.

Figures (``--out`` merges them into ``reports/bench/latest.json``; the ``scale_`` prefix keeps
them when ``make bench`` rewrites the file): ``scale_lead_review_<n>_{old,new}_cpu_s`` (the
cell), ``..._{old,new}_peak_rss_gb`` (the whole child) and the ratios new / old. Not part of
``make bench``. Usage: ``python -m benchmarks.lead_review_scale --processed
/tmp/bank/processed [--region R01] [--repeat 2]``.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import os
import pickle
import resource
import sys
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

#: main before issue 18's lead review changes.
OLD_REF = "58bb2fc536351af44f0b3372da5514043c96fe62"
NOTEBOOK = ROOT / "notebooks" / "02_cross_sell_propensity.ipynb"
#: Cells of notebook 02 run, by the first line of code in them (the rest are skipped).
RUN_CELLS = ("region_id = None", "import tempfile", "ctx = report_context(")
TIMED_CELL = "from bankanalysis import actions"
AFTER_CELLS = ("review.scorecards.show", "review.conversion.show")
SCORING_CELL = "from bankanalysis.report import workbooks as wb"
#: Steps of the lead review cell whose CPU seconds are recorded: (module, function). A step
#: missing from a version of the code is skipped.
STEPS = (
    ("bankanalysis.actions", "region_upgrade_candidates"),
    ("bankanalysis.report.lead_review", "replay_conversion"),
    ("bankanalysis.report.lead_review", "manager_book"),
    ("bankanalysis.report.lead_review", "scorecards"),
    ("bankanalysis.report.lead_review", "write_lead_files"),
    ("bankanalysis.report.workbooks", "protect_cards"),
    ("bankanalysis.report.workbooks", "protect_manager_cards"),
    ("bankanalysis.report.workbooks", "plan_workbooks"),
    ("bankanalysis.report.workbooks", "workbook_bytes"),
    ("bankanalysis.report.workbooks", "write_restricted"),
    ("bankanalysis.report.workbooks", "write_restricted_files"),
    ("bankanalysis.report.workbooks", "_scorecards_bytes"),
)
GB = 1024**3


def _head(source: str) -> str:
    return next((ln for ln in source.splitlines() if ln and not ln.startswith("#")), "")


def _timed(func, label: str, cpu: dict[str, float]):  # noqa: ANN001, ANN202
    """``func`` adding its CPU seconds to ``cpu[label]`` (outermost call only)."""
    depth = [0]

    def wrapper(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        depth[0] += 1
        t0 = time.process_time()
        try:
            return func(*args, **kwargs)
        finally:
            depth[0] -= 1
            if depth[0] == 0:
                cpu[label] = cpu.get(label, 0.0) + time.process_time() - t0

    return wrapper


def run_cells(
    processed: Path, region: str, out_dir: str | None, profile: Path | None, warm: bool = False
) -> dict:
    """Execute the cells for ``region``; return the cell's figures and what runs compare
    (``warm``: only the cells up to the models, nothing returned)."""
    import importlib

    import psutil

    proc = psutil.Process()
    peak = {"cell": 0.0}
    sampling = threading.Event()

    def sample() -> None:
        while True:
            if sampling.is_set():
                peak["cell"] = max(peak["cell"], proc.memory_info().rss / GB)
            time.sleep(0.05)

    threading.Thread(target=sample, daemon=True).start()
    cpu: dict[str, float] = {}
    for module, name in STEPS:
        mod = importlib.import_module(module)
        if hasattr(mod, name):
            setattr(mod, name, _timed(getattr(mod, name), name, cpu))
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    env: dict = {"__name__": "__main__"}
    figures: dict[str, float] = {}
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        head = _head(source)
        wanted = RUN_CELLS if warm else (*RUN_CELLS, SCORING_CELL, TIMED_CELL, *AFTER_CELLS)
        if not head.startswith(wanted):
            continue
        code = compile(source, "cell", "exec")
        t0, c0 = time.perf_counter(), time.process_time()
        timed = head.startswith(TIMED_CELL)
        prof = cProfile.Profile() if timed and profile is not None else None
        sampling.set() if timed else None
        with contextlib.redirect_stdout(io.StringIO()):
            if prof is not None:
                prof.runctx("exec(code, env)", {"code": code, "env": env}, {})
            else:
                exec(code, env)
        sampling.clear()
        if prof is not None:
            prof.dump_stats(str(profile))
        label = "cell" if timed else "scoring" if head.startswith(SCORING_CELL) else None
        if label:
            figures[f"{label}_s"] = time.perf_counter() - t0
            figures[f"{label}_cpu_s"] = time.process_time() - c0
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            env.update(region_id=region, processed_dir=str(processed), output_dir=out_dir)
    if warm:
        return {}
    figures["cell_peak_rss_gb"] = peak["cell"]
    figures["process_max_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    figures.update({f"step_{k}_cpu_s": v for k, v in cpu.items()})
    figures["customers"] = float(len(env["scored"].customers))
    figures["leads"] = float(len(env["leads"]))
    figures["upgrades"] = float(len(env["upgrades"]))
    figures["workbooks"] = float(env["review"].written.workbooks)
    return {"figures": figures, "leads": env["leads"], "upgrades": env["upgrades"]}


def workbook_values(path: Path) -> dict[str, list[tuple]]:
    """Every sheet's cell values of an ``.xlsx`` file (openpyxl, values only)."""
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        return {ws.title: [tuple(r) for r in ws.iter_rows(values_only=True)] for ws in wb}
    finally:
        wb.close()


def output_differences(a: Path, b: Path) -> list[str]:
    """What differs between two runs' output folders: restricted files (workbooks by cell
    values, the rest byte for byte) and ``metrics.json`` (empty: nothing)."""
    out = []
    ra, rb = a / "restricted", b / "restricted"
    names = sorted(p.name for p in ra.iterdir()) if ra.is_dir() else []
    if names != (sorted(p.name for p in rb.iterdir()) if rb.is_dir() else []):
        return [f"restricted files differ: {len(names)} against the other run's"]
    for name in names:
        fa, fb = ra / name, rb / name
        if name.endswith(".xlsx"):
            same = workbook_values(fa) == workbook_values(fb)
        else:
            same = fa.read_bytes() == fb.read_bytes()
        if not same:
            out.append(f"restricted/{name}")
    ma = json.loads((a / "metrics.json").read_text(encoding="utf-8"))
    mb = json.loads((b / "metrics.json").read_text(encoding="utf-8"))
    return out + metric_differences(ma, mb)


def warm_models(processed: Path, region: str, src: Path) -> None:
    """Fit (or find) the bank's models in ``processed/_models`` once, untimed: the notebook's
    cells up to the models."""
    env = {**os.environ, "PYTHONPATH": f"{src}{os.pathsep}{ROOT}", "PYTHONHASHSEED": "0"}
    cmd = [sys.executable, "-m", "benchmarks.lead_review_scale", "--child", "--warm"]
    measure([*cmd, "--region", region, "--processed", str(processed)], env=env)


def models_view(processed: Path, dest: Path) -> Path:
    """A processed folder of links to ``processed``'s tables whose ``_models`` links only the
    fitted models: the figures a run caches beside them are computed afresh in every run."""
    view = bank_view(processed, dest)
    (view / "_models").mkdir()
    for entry in (processed / "_models").iterdir():
        if (entry / "bundle.pkl").exists():
            (view / "_models" / entry.name).symlink_to(entry.resolve())
    return view


def run_bank(
    processed: Path,
    region: str,
    old_src: Path,
    work: Path,
    repeat: int,
    profile: bool,
    outputs_differ: bool = False,
) -> dict[str, float]:
    """The cells with the old and the new code, alternating; compare; return the figures.

    ``outputs_differ``: the new code is meant to change what the cell writes (another choice
    of withheld cells): each code's runs are compared with its own first run, and the files
    that differ between the old and the new code are counted
    (``..._files_differing``) instead of raising.

    Raises
    ------
    RuntimeError
        When two runs' outputs differ (two runs of one code, with ``outputs_differ``).
    """
    import pyarrow.parquet as pq

    n = int(pq.ParquetFile(processed / "customers.parquet").metadata.num_rows)
    stem = f"scale_lead_review_{size_label(n)}"
    print(f"  warming the model cache of {processed} (untimed, load {load_text()}) ...", flush=True)
    warm_models(processed, region, ROOT / "src")
    runs: dict[str, list[dict]] = {"old": [], "new": []}
    outputs: list[Path] = []
    first: dict[str, tuple[dict, Path]] = {}
    for i in range(repeat):
        for kind, src in (("old", old_src), ("new", ROOT / "src")):
            env = {**os.environ, "PYTHONPATH": f"{src}{os.pathsep}{ROOT}", "PYTHONHASHSEED": "0"}
            env["MPLBACKEND"] = "Agg"
            out_dir = work / f"{kind}{i}" / "out"
            result = work / f"{kind}{i}.pkl"
            cmd = [sys.executable, "-m", "benchmarks.lead_review_scale", "--child"]
            view = models_view(processed, work / f"{kind}{i}" / "processed")
            cmd += ["--region", region, "--processed", str(view)]
            cmd += ["--result", str(result), "--output", str(out_dir)]
            if profile and kind == "new" and i == 0:
                cmd += ["--profile-to", str(ROOT / "build" / f"{stem}.prof")]
            print(f"  {size_label(n)}, {region}, {kind} code, run {i + 1} (load {load_text()})")
            wall, cpu, rss = measure(cmd, env=env)
            with open(result, "rb") as f:
                found = pickle.load(f)
            fig = found["figures"] | {"child_s": wall, "child_cpu_s": cpu, "child_rss_gb": rss}
            runs[kind].append(fig)
            print(
                f"    cell {fig['cell_s']:.1f} s, {fig['cell_cpu_s']:.1f} CPU s, peak "
                f"{fig['cell_peak_rss_gb']:.2f} GB; child {wall:.1f} s, {cpu:.1f} CPU s, "
                f"{rss:.2f} GB; load {load_text()}",
                flush=True,
            )
            steps = {k[5:-6]: v for k, v in fig.items() if k.startswith("step_")}
            print("    steps (CPU s): " + ", ".join(f"{k} {v:.1f}" for k, v in steps.items()))
            outputs.append(out_dir)
            mine = kind if outputs_differ else ""
            if mine not in first:
                first[mine] = (found, out_dir)
            else:
                diff = frame_differences(
                    first[mine][0], found, ("leads", "upgrades")
                ) + output_differences(first[mine][1], out_dir)
                if diff:
                    raise RuntimeError(f"runs differ at {size_label(n)}: {diff[:20]}")
    differing = 0
    if outputs_differ:
        diff = frame_differences(
            first["old"][0], first["new"][0], ("leads", "upgrades")
        ) + output_differences(first["old"][1], first["new"][1])
        differing = len(diff)
        print(f"    the old and the new code differ in {differing} outputs: {diff[:5]}")
    base = runs["new"][0]
    print(
        f"    {int(base['customers']):,} customers, {int(base['leads']):,} leads, "
        f"{int(base['upgrades']):,} upgrade candidates, {int(base['workbooks']):,} workbooks: "
        + ("each code's outputs the same in its runs" if outputs_differ else "the same outputs")
        + f" ({2 * repeat} runs)",
        flush=True,
    )
    out: dict[str, float] = {}
    for kind, figs in runs.items():
        out[f"{stem}_{kind}_s"] = min(f["cell_s"] for f in figs)
        out[f"{stem}_{kind}_cpu_s"] = min(f["cell_cpu_s"] for f in figs)
        out[f"{stem}_{kind}_peak_rss_gb"] = max(f["child_rss_gb"] for f in figs)
        out[f"{stem}_{kind}_cell_peak_rss_gb"] = max(f["cell_peak_rss_gb"] for f in figs)
    add_ratios(out, stem)
    out[f"{stem}_region_customers"] = base["customers"]
    if outputs_differ:
        out[f"{stem}_files_differing"] = differing
    print_figures(out)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--processed", required=True, help="a processed bank")
    ap.add_argument("--region", help="the region (default: the first)")
    add_old_code_arguments(ap, OLD_REF)
    ap.add_argument("--repeat", type=int, default=1, help="pairs of runs (old, new), alternating")
    ap.add_argument("--profile", action="store_true", help="cProfile the new code's cell once")
    ap.add_argument(
        "--outputs-differ",
        action="store_true",
        help="the new code changes the outputs: count the differences instead of failing",
    )
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    ap.add_argument("--output", help=argparse.SUPPRESS)
    ap.add_argument("--profile-to", help=argparse.SUPPRESS)
    ap.add_argument("--warm", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    processed = Path(args.processed)
    region = args.region or _first_region(processed)
    if args.child:
        prof = Path(args.profile_to) if args.profile_to else None
        out = None if args.warm else str(Path(args.output))
        found = run_cells(processed, region, out, prof, args.warm)
        if args.warm:
            return 0
        write_result(args.result, found)
        return 0
    with old_and_new("lead-review-", args) as (old_src, tmp):
        figures = run_bank(
            processed, region, old_src, tmp, args.repeat, args.profile, args.outputs_differ
        )
    return report_figures(args, figures)


if __name__ == "__main__":
    sys.exit(main())
