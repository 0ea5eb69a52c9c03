"""Side by side: what a report's bank-wide figures cost, before and after issue 18's change.

Every report opens with a summary (:func:`bankanalysis.report.summary.report_summary`): the
region's standing among every region (:func:`~bankanalysis.report.standing.standing_for`) and
the run's disclosure answers (:func:`~bankanalysis.report.disclosure_totals.load_total_figures`:
the withheld counts, AUM and stock retention), each computed once per run by the first report
and read back by the others from ``<processed>/_models``. The overview's scorecard
(:func:`~bankanalysis.report.overview.load_scorecard`) is the standing's data month again.
Until commit :data:`OLD_REF` the run's retention counted the lost customers in pandas (a
million text ids tested against a Python set per month-end and level) and the overview read
every scorecard column of four months of the whole bank again for its scorecard.

This script runs, in child processes, with the old code (``git archive OLD_REF src``) and with
this checkout's ``src``, alternating, each on its own view of the same processed bank
(symbolic links to its tables, an empty ``_models``):

- ``cold``: ``report_context`` and the summary of the first region's segmentation report with
  nothing cached (the first report of a run: it computes every bank-wide figure);
- ``warm``: the summary of the second region, the figures read back (every other report);
- ``overview``: the overview's summary and scorecard (the figures read back).

Each child's wall and CPU seconds and peak RSS come from ``os.wait4``. The summaries' HTML and
the overview's scorecard of the two codes are then compared exactly; a difference is an error,
not a figure. Figures (``--out`` merges them into ``reports/bench/latest.json``; the
``scale_`` prefix keeps them when ``make bench`` rewrites the file):
``scale_summary_<n>_<step>_{old,new}_{s,cpu_s,peak_rss_gb}`` and ``..._cpu_s_ratio``,
``..._peak_rss_ratio`` (new / old). Not part of ``make bench`` (minutes at a million
customers). Usage: ``python -m benchmarks.summary_figures --processed /tmp/bank/processed``.
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys
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
    write_result,
)
from benchmarks.scale import size_label

#: main before the run's retention was counted in SQL and the overview read the standing.
OLD_REF = "58bb2fc536351af44f0b3372da5514043c96fe62"
#: The steps, in the order they run on each view.
STEPS = ("cold", "warm", "overview")
#: The segmentation report's parameters the summary reads (``params/defaults.yaml``).
PARAMS = dict(
    materiality=0.005,
    tier_thresholds=[50000, 500000, 6000000],
    tier_months=3,
    lookback_months=12,
    coverage_products=3,
    wealth_card_product="wealth_card",
)


def run_step(step: str, processed: Path) -> dict:
    """One step with whichever ``bankanalysis`` is first on the path; what is compared."""
    import inspect

    from bankanalysis.data.load import load_processed
    from bankanalysis.report import overview as rov
    from bankanalysis.report import summary as rsum
    from bankanalysis.report.context import report_context

    regions = sorted(load_processed(processed).regions["region_id"].astype(str))
    if step in ("cold", "warm"):
        region = regions[0] if step == "cold" else regions[1]
        ctx = report_context(processed, None, region, None, theme=False)
        return {"html": rsum.report_summary(ctx, PARAMS, rsum.SEGMENTATION_SECTIONS)}
    ctx = report_context(processed, None, None, None, whole_bank=True, theme=False)
    standing = rsum.standing_for(ctx, PARAMS)
    html = rsum.report_summary(ctx, PARAMS, rsum.OVERVIEW_SECTIONS, standing=standing)
    scorecard_params = {k: v for k, v in PARAMS.items() if k != "materiality"}
    if "standing" in inspect.signature(rov.load_scorecard).parameters:
        scorecard_params["standing"] = standing
    card = rov.load_scorecard(ctx, rov.region_month_upto(ctx), **scorecard_params)
    return {"html": html, "scorecard": (card.regions, card.withheld, card.bank, card.base_month)}


def differences(old: dict, new: dict) -> list[str]:
    """What differs between the two codes' results (empty: nothing)."""
    import pandas as pd

    out = [] if old["html"] == new["html"] else ["summary HTML"]
    for i, (a, b) in enumerate(
        zip(old.get("scorecard", ()), new.get("scorecard", ()), strict=True)
    ):
        if isinstance(a, pd.DataFrame):
            try:
                pd.testing.assert_frame_equal(a, b, check_exact=True)
            except AssertionError as exc:
                out.append(f"scorecard part {i}: {str(exc)[:300]}")
        elif a != b:
            out.append(f"scorecard part {i}: {a} vs {b}")
    return out


def run_bank(processed: Path, old_src: Path, work: Path) -> dict[str, float]:
    """Every step with the old and the new code, alternating; compare; return the figures.

    Raises
    ------
    RuntimeError
        When the two codes' summaries or scorecards differ.
    """
    import pyarrow.parquet as pq

    n = int(pq.ParquetFile(processed / "customers.parquet").metadata.num_rows)
    stem = f"scale_summary_{size_label(n)}"
    views = {kind: bank_view(processed, work / kind / "processed") for kind in ("old", "new")}
    srcs = {"old": old_src, "new": ROOT / "src"}
    out: dict[str, float] = {}
    for step in STEPS:
        results = {}
        for kind in ("old", "new"):
            env = {**os.environ, "PYTHONPATH": f"{srcs[kind]}{os.pathsep}{ROOT}"}
            env |= {"PYTHONHASHSEED": "0", "MPLBACKEND": "Agg"}
            result = work / f"{kind}-{step}.pkl"
            cmd = [sys.executable, "-m", "benchmarks.summary_figures", "--child", step]
            cmd += ["--processed", str(views[kind]), "--result", str(result)]
            print(f"  {size_label(n)}, {step}, {kind} code (load {load_text()}) ...", flush=True)
            wall, cpu, rss = measure(cmd, env=env)
            key = f"{stem}_{step}_{kind}"
            out |= {f"{key}_s": wall, f"{key}_cpu_s": cpu, f"{key}_peak_rss_gb": rss}
            print(
                f"    {wall:.1f} s, {cpu:.1f} CPU s, {rss:.2f} GB; load {load_text()}", flush=True
            )
            with open(result, "rb") as f:
                results[kind] = pickle.load(f)
        diff = differences(results["old"], results["new"])
        if diff:
            raise RuntimeError(f"old and new {step} results differ at {size_label(n)}: {diff}")
        print(
            f"    {step}: the same summary HTML" + (" and scorecard" if step == "overview" else "")
        )
        add_ratios(out, f"{stem}_{step}")
    print_figures(out)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--processed", required=True, help="a processed bank (two regions at least)")
    add_old_code_arguments(ap, OLD_REF)
    ap.add_argument("--child", choices=STEPS, help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    processed = Path(args.processed)
    if args.child:
        found = run_step(args.child, processed)
        write_result(args.result, found)
        return 0
    with old_and_new("summary-figures-", args) as (old_src, tmp):
        figures = run_bank(processed, old_src, tmp)
    return report_figures(args, figures)


if __name__ == "__main__":
    sys.exit(main())
