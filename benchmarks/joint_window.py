"""Side by side: the run's withheld region, echelon and bank counts decided alone (main) and
jointly with the lost customers (this checkout's ``window_step``).

``load_total_counts`` computes ``protect_total_counts`` once per run (the first report pays
it, the others read it back from ``<processed>/_models/total_counts``). Main decides the
new-customer counts alone; this code adds the joint step with the lost customers
(``report/disclosure_window.py``). Each child process runs the decision on the same processed
bank (the children call ``protect_total_counts``, not its cached loader; the new one reads
the lost customers and the retention decision through their run caches, ``load_lost_counts``
and ``load_retention``, which main's first report computes as well), the old one with main's
package first on its ``PYTHONPATH`` (``git archive OLD_REF src`` or ``--old-src``), the new
one with this checkout's ``src``. Each child's wall and CPU seconds and
peak RSS come from ``os.wait4``; inside, the CPU seconds of ``protect_total_counts`` (old), of
the lost customers and the joint step's inputs (``load_window``) and of the joint step (new).
The new child also audits both answers under the joint relation (``joint_table``, every primary
cell of both decisions; :class:`~bankanalysis.rules.disclosure_pieces.PieceIntervals`): how
many lost and new-customer counts are narrower than their protection interval before the step
(the separate decision the step is handed: main's algorithm) and after (the parent checks that
the new answer keeps every cell the old one withholds and changes no other count).

Figures (``--out`` merges them into ``reports/bench/latest.json``; the ``scale_`` prefix keeps
them when ``make bench`` rewrites the file): ``scale_joint_window_<n>_{old,new}_cpu_s`` (the
decision as the first report pays it), ``..._new_step_cpu_s``, ``..._{old,new}_peak_rss_gb``,
the ratios, and ``..._{before,after}_{lost,new}_narrow``. Not part of ``make bench``. Usage:
``python -m benchmarks.joint_window --processed /tmp/bank/processed``.
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys
import time
from pathlib import Path

from benchmarks._harness import (
    ROOT,
    add_old_code_arguments,
    add_ratios,
    load_text,
    measure,
    old_and_new,
    print_figures,
    report_figures,
    write_result,
)
from benchmarks.scale import size_label

#: main before the joint decision of new and lost customers.
OLD_REF = "15e80ba"


def _narrow(audit: object) -> dict[str, int]:
    cells = audit["cell"].str.startswith("lost[")  # type: ignore[index]
    unsafe = ~audit["safe"]  # type: ignore[index]
    return {
        "lost_narrow": int((unsafe & cells).sum()),
        "lost_audited": int(cells.sum()),
        "new_narrow": int((unsafe & ~cells).sum()),
        "new_audited": int((~cells).sum()),
    }


def child(kind: str, processed: Path) -> dict:
    """The decision with whichever ``bankanalysis`` is first on the path: its status and CPU
    seconds (and, new code, the joint audits before and after the step)."""
    from bankanalysis.report.context import report_context
    from bankanalysis.report.disclosure_plan import protect_total_counts
    from bankanalysis.report.planning_scope import load_plan_kpis

    ctx = report_context(processed, None, None, theme=False)
    kpis = load_plan_kpis(ctx)
    k = int(ctx.min_group_size)
    if kind == "old":
        c0 = time.process_time()
        counts = protect_total_counts(kpis, ctx.month, k)
        return {"status": dict(counts.status), "cpu_s": time.process_time() - c0}
    from bankanalysis.report.disclosure_retention import retention_setup
    from bankanalysis.report.disclosure_window import joint_table, load_window, window_step
    from bankanalysis.rules.disclosure_pieces import PieceIntervals

    c0 = time.process_time()
    window = load_window(ctx, {})
    echelon_of = retention_setup(ctx, {})[3]
    window_cpu = time.process_time() - c0
    inner = window_step(window, echelon_of, k)
    out: dict = {}

    def step(col, table, prot, cells, free, groupings):  # noqa: ANN001, ANN202
        if col != "new_customers":
            return inner(col, table, prot, cells, free, groupings)
        paused = time.process_time()
        joint, status, _ = joint_table(table, prot, cells, window, echelon_of)
        out["before"] = _narrow(PieceIntervals(joint, k).audit(status))
        skipped = time.process_time() - paused
        s0 = time.process_time()
        got = inner(col, table, prot, cells, free, groupings)
        out["step_cpu_s"] = time.process_time() - s0
        paused = time.process_time()
        joint, status, _ = joint_table(table, got, cells, window, echelon_of)
        out["after"] = _narrow(PieceIntervals(joint, k).audit(status))
        out["added"] = len(set(got.status) - set(prot.status))
        out["failsafe"] = len(set(got.failsafe) - set(prot.failsafe))
        out["skip"] = skipped + time.process_time() - paused
        return got

    c0 = time.process_time()
    counts = protect_total_counts(kpis, ctx.month, k, joint=step)
    decided = time.process_time() - c0 - out.pop("skip")
    return {**out, "status": dict(counts.status), "cpu_s": window_cpu + decided}


def run_bank(processed: Path, old_src: Path, work: Path) -> dict[str, float]:
    """The old and the new decision; check that the new one only adds withheld
    new-customer cells; return the figures.

    Raises
    ------
    RuntimeError
        When the new answer drops or changes a cell the old one withholds, or changes another
        count's cells.
    """
    import pyarrow.parquet as pq

    n = int(pq.ParquetFile(processed / "customers.parquet").metadata.num_rows)
    stem = f"scale_joint_window_{size_label(n)}"
    srcs = {"old": old_src, "new": ROOT / "src"}
    out: dict[str, float] = {}
    results = {}
    for kind in ("old", "new"):
        env = {**os.environ, "PYTHONPATH": f"{srcs[kind]}{os.pathsep}{ROOT}"}
        env |= {"PYTHONHASHSEED": "0", "MPLBACKEND": "Agg"}
        result = work / f"{kind}.pkl"
        cmd = [sys.executable, "-m", "benchmarks.joint_window", "--child", kind]
        cmd += ["--processed", str(processed), "--result", str(result)]
        print(f"  {stem}, {kind} code (load {load_text()}) ...", flush=True)
        wall, cpu, rss = measure(cmd, env=env)
        with open(result, "rb") as f:
            results[kind] = pickle.load(f)
        out |= {f"{stem}_{kind}_process_s": wall, f"{stem}_{kind}_process_cpu_s": cpu}
        out |= {f"{stem}_{kind}_peak_rss_gb": rss, f"{stem}_{kind}_cpu_s": results[kind]["cpu_s"]}
        print(f"    {wall:.1f} s, {cpu:.1f} CPU s, {rss:.2f} GB", flush=True)
    old, new = results["old"]["status"], results["new"]["status"]
    lost = [key for key, s in old.items() if new.get(key) not in (s, "fail-safe")]
    other = [key for key in set(old) ^ set(new) if key[1] != "new_customers"]
    if lost or other:
        raise RuntimeError(f"the joint answer drops or changes old cells: {(lost + other)[:5]}")
    got = results["new"]
    out[f"{stem}_new_step_cpu_s"] = got["step_cpu_s"]
    for when in ("before", "after"):
        for key, v in got[when].items():
            out[f"{stem}_{when}_{key}"] = float(v)
    out[f"{stem}_added_x"] = float(got["added"])
    out[f"{stem}_added_withheld"] = float(got["failsafe"])
    add_ratios(out, stem)
    print_figures(out)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--processed", required=True, help="a processed bank (read only)")
    add_old_code_arguments(ap, OLD_REF)
    ap.add_argument("--child", choices=("old", "new"), help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        found = child(args.child, Path(args.processed))
        write_result(args.result, found)
        return 0
    with old_and_new("joint-window-", args) as (old_src, tmp):
        figures = run_bank(Path(args.processed), old_src, tmp)
    return report_figures(args, figures)


if __name__ == "__main__":
    sys.exit(main())
