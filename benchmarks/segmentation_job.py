"""Side by side: one region's ``01_customer_segmentation`` report, cell by cell, old and new code.

Each code runs the notebook's cells in a child process of its own (``exec`` of each code cell
in one namespace, as the kernel would, with the parameters the batch injects for the region;
no papermill, no kernel): once on its own view of the processed bank with an empty
``_models`` (``cold``: the first report of a run, which computes every bank-wide figure) and
once more with what that left in ``_models`` (``warm``: what every other report pays). The
child's environment is what the code's own ``bankanalysis.batch.limit_threads`` gives a kernel
of a one-worker run (``--threads``, default the machine's cores), so an environment change
made there is measured too. Old is ``git archive OLD_REF src`` and the notebook of that commit;
new is this checkout.

Per cell: CPU seconds (``time.process_time`` of the child, every thread) and wall seconds;
per child: CPU seconds and peak RSS from ``os.wait4``. Compared exactly between the codes,
and an error when they differ: ``metrics.json``, every file the notebook writes into its
output folder (the upgrade list), and what every cell displays (each displayed object's HTML,
Markdown or text, and the cell's last value). Figures are printed; ``--out`` merges
``scale_segmentation_<n>_<region>_<step>_{old,new}_{cpu_s,peak_rss_gb}`` and their
``..._cpu_s_ratio`` / ``..._peak_rss_ratio`` (new / old) into a JSON file. Not part of
``make bench`` (several minutes at a million customers). Usage:
``python -m benchmarks.segmentation_job --processed /tmp/bank/processed --region R01``.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import pickle
import re
import subprocess
import sys
import time
from pathlib import Path

from benchmarks._harness import (
    ROOT,
    add_old_code_arguments,
    add_ratios,
    bank_view,
    load_text,
    measure,
    old_and_new,
    print_figures,
    report_figures,
)
from benchmarks.scale import size_label

#: main before this benchmark's changes (OpenMP threads wait passively).
OLD_REF = "213b63d"
NOTEBOOK = "01_customer_segmentation"
#: ``cold``: empty ``_models``; ``warm``: the figures the cold run cached, read back.
STEPS = ("cold", "warm")
#: Thread variables a kernel's environment takes from ``limit_threads``.
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_WAIT_POLICY")


def _shown(obj: object) -> str:
    """What a displayed object shows: its HTML, else Markdown, else ``repr``."""
    for attr in ("_repr_html_", "_repr_markdown_"):
        fn = getattr(obj, attr, None)
        if fn is not None:
            got = fn()
            if got is not None:
                return str(got)
    return repr(obj)


def run_cells(notebook: Path, params: dict, processed: Path) -> tuple[list[dict], list[str]]:
    """Execute the notebook's code cells in one namespace; per-cell seconds and what each
    shows (the parameters cell first, then ``params`` as papermill injects them)."""
    import IPython.display
    import matplotlib

    matplotlib.use("Agg")
    shown: list[str] = []
    IPython.display.display = lambda *objs, **_: shown.extend(_shown(o) for o in objs)
    cells = [c for c in json.loads(notebook.read_text())["cells"] if c["cell_type"] == "code"]
    ns: dict = {"__name__": "__main__"}
    exec("".join(cells[0]["source"]), ns)  # noqa: S102 - the notebook's own parameters cell
    ns.update(params)
    timings = []
    for i, cell in enumerate(cells[1:], 1):
        tree = ast.parse("".join(cell["source"]))
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        c0, w0 = time.process_time(), time.perf_counter()
        exec(compile(tree, f"<cell {i}>", "exec"), ns)  # noqa: S102
        if last is not None:
            value = eval(compile(ast.Expression(last.value), f"<cell {i}>", "eval"), ns)  # noqa: S307
            if value is not None:
                shown.append(_shown(value))
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        first = "".join(cell["source"]).strip().splitlines()[0][:60]
        timings.append({"cell": i, "cpu_s": cpu, "wall_s": wall, "first_line": first})
        import matplotlib.pyplot as plt

        plt.close("all")
    return timings, shown


def child(step: str, processed: Path, notebook: Path, region: str, out: Path, result: Path) -> None:
    """One report with whichever ``bankanalysis`` is first on the path; pickle what is compared."""
    from bankanalysis.batch.plan import plan_jobs

    plan = plan_jobs(
        regions=[region],
        notebooks=[NOTEBOOK],
        run_id=step,
        out=out,
        processed_dir=processed,
        params_dir=ROOT / "params",
        notebooks_dir=notebook.parent,
    )
    params = plan.jobs[0].injected()
    output_dir = Path(params["output_dir"])
    output_dir.mkdir(parents=True, exist_ok=True)
    timings, shown = run_cells(notebook, params, processed)
    files = {
        str(p.relative_to(output_dir)): p.read_bytes()
        for p in sorted(output_dir.rglob("*"))
        if p.is_file()
    }
    with open(result, "wb") as f:
        pickle.dump({"timings": timings, "shown": shown, "files": files}, f)


def kernel_env(src: Path, threads: int) -> dict[str, str]:
    """The environment ``src``'s ``limit_threads(threads)`` gives the kernels it starts."""
    base = {k: v for k, v in os.environ.items() if k not in THREAD_VARS}
    base |= {"PYTHONPATH": f"{src}{os.pathsep}{ROOT}", "PYTHONHASHSEED": "0", "MPLBACKEND": "Agg"}
    code = (
        "import json, os; from bankanalysis.batch.executors import limit_threads; "
        f"limit_threads({int(threads)}); print(json.dumps(dict(os.environ)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=base, check=True, capture_output=True, text=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


#: What differs between two runs of the same code: pandas Styler table ids, the run time and
#: the git commit (of the exported old source) in the appendix's provenance.
_VOLATILE = (
    (re.compile(r"\bT_[0-9a-f]{5}"), "T_id"),
    (re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z"), "<time>"),
    (re.compile(r'(<dd class="git-commit">)[^<]*'), r"\1<commit>"),
)


def normal(text: str) -> str:
    """``text`` with :data:`_VOLATILE` parts replaced.

    Examples
    --------
    >>> normal('<th id="T_3ef32_level0"> 2026-12-01T22:10:00Z <dd class="git-commit">213b63d</dd>')
    '<th id="T_id_level0"> <time> <dd class="git-commit"><commit></dd>'
    """
    for pattern, by in _VOLATILE:
        text = pattern.sub(by, text)
    return text


def differences(old: dict, new: dict) -> list[str]:
    """What differs between the two codes' reports (empty: nothing), :func:`normal` aside."""
    import difflib

    out = []
    for name in sorted(set(old["files"]) | set(new["files"])):
        if old["files"].get(name) != new["files"].get(name):
            out.append(f"file {name}")
    if len(old["shown"]) != len(new["shown"]):
        out.append(f"{len(old['shown'])} shown objects vs {len(new['shown'])}")
    for i, (a, b) in enumerate(zip(old["shown"], new["shown"], strict=False)):
        if normal(a) != normal(b):
            lines = difflib.unified_diff(normal(a).splitlines(), normal(b).splitlines(), n=0)
            out.append(f"shown object {i}: " + " | ".join(list(lines)[2:8]))
    return out


def run_bank(
    processed: Path, region: str, old_src: Path, old_nb: Path, work: Path, threads: int
) -> dict[str, float]:
    """Both steps with the old and the new code; compare; return the figures.

    Raises
    ------
    RuntimeError
        When the two codes' reports differ.
    """
    import pyarrow.parquet as pq

    n = int(pq.ParquetFile(processed / "customers.parquet").metadata.num_rows)
    stem = f"scale_segmentation_{size_label(n)}_{region.lower()}"
    srcs = {"old": old_src, "new": ROOT / "src"}
    nbs = {"old": old_nb, "new": ROOT / "notebooks" / f"{NOTEBOOK}.ipynb"}
    views = {kind: bank_view(processed, work / kind / "processed") for kind in srcs}
    envs = {kind: kernel_env(srcs[kind], threads) for kind in srcs}
    for kind in srcs:
        print(f"  {kind}: " + ", ".join(f"{v}={envs[kind].get(v)}" for v in THREAD_VARS))
    out: dict[str, float] = {}
    problems: list[str] = []
    for step in STEPS:
        results = {}
        for kind in ("old", "new"):
            result = work / f"{kind}-{step}.pkl"
            cmd = [sys.executable, "-m", "benchmarks.segmentation_job", "--child", step]
            cmd += ["--processed", str(views[kind]), "--region", region, "--result", str(result)]
            cmd += ["--notebook", str(nbs[kind]), "--reports", str(work / kind / "reports")]
            print(f"  {region}, {step}, {kind} code (load {load_text()}) ...", flush=True)
            wall, cpu, rss = measure(cmd, env=envs[kind])
            key = f"{stem}_{step}_{kind}"
            out |= {f"{key}_s": wall, f"{key}_cpu_s": cpu, f"{key}_peak_rss_gb": rss}
            print(f"    {wall:.1f} s, {cpu:.1f} CPU s, {rss:.2f} GB; load {load_text()}")
            with open(result, "rb") as f:
                results[kind] = pickle.load(f)
        diff = differences(results["old"], results["new"])
        if diff:
            problems.append(f"old and new {step} reports differ: {diff[:10]}")
            print(f"    {step}: DIFFERENT: {diff[:10]}")
        else:
            print(
                f"    {step}: the same metrics.json, upgrade list and "
                f"{len(results['new']['shown'])} displayed objects"
            )
        print(
            f"    {'cell':52s} {'old CPU s':>9s} {'new CPU s':>9s} {'old wall':>9s} {'new wall':>9s}"
        )
        for a, b in zip(results["old"]["timings"], results["new"]["timings"], strict=True):
            print(
                f"    {a['cell']:2d} {a['first_line'][:49]:49s} {a['cpu_s']:9.2f} {b['cpu_s']:9.2f}"
                f" {a['wall_s']:9.2f} {b['wall_s']:9.2f}"
            )
        add_ratios(out, f"{stem}_{step}")
    print_figures(out)
    if problems:
        raise RuntimeError("; ".join(problems))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--processed", required=True, help="a processed bank")
    ap.add_argument("--region", default="R01", help="the region of the report (default R01)")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="kernel threads")
    add_old_code_arguments(ap, OLD_REF)
    ap.add_argument("--old-notebook", help="the old notebook file instead of --old-ref's")
    ap.add_argument("--child", choices=STEPS, help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    ap.add_argument("--notebook", help=argparse.SUPPRESS)
    ap.add_argument("--reports", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    processed = Path(args.processed)
    if args.child:
        child(
            args.child,
            processed,
            Path(args.notebook),
            args.region,
            Path(args.reports),
            Path(args.result),
        )
        return 0
    with old_and_new("segmentation-job-", args) as (old_src, work):
        old_nb = work / f"{NOTEBOOK}.ipynb"
        if args.old_notebook:
            old_nb.write_bytes(Path(args.old_notebook).read_bytes())
        else:
            shown = subprocess.run(
                ["git", "show", f"{args.old_ref}:notebooks/{NOTEBOOK}.ipynb"],
                cwd=ROOT,
                check=True,
                capture_output=True,
            )
            old_nb.write_bytes(shown.stdout)
        figures = run_bank(processed, args.region, old_src, old_nb, work, args.threads)
    return report_figures(args, figures)


if __name__ == "__main__":
    sys.exit(main())
