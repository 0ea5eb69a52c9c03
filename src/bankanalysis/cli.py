"""Command-line interface: parse, configure logging, call the package.

Each subcommand is registered by a small ``_add_<name>`` function below and calls into the
package through a lazy import, so ``bankanalysis --help`` stays fast. Errors derived from
:class:`~bankanalysis.exceptions.BankAnalysisError` are printed without a traceback and exit
with their ``exit_code`` (2 for bad input or parameters).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from bankanalysis import __version__
from bankanalysis.exceptions import BankAnalysisError

logger = logging.getLogger("bankanalysis")


def _configure_logging(verbosity: int) -> None:
    level = logging.WARNING if verbosity < 0 else logging.INFO if verbosity == 0 else logging.DEBUG
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )


# --------------------------------------------------------------------------- data


def _cmd_generate(args: argparse.Namespace) -> int:
    from bankanalysis.synthetic import generate_bank

    summary = generate_bank(
        Path(args.out),
        n_customers=args.customers,
        n_months=args.months,
        seed=args.seed,
        fmt=args.format,
        n_regions=args.regions,
    )
    for k, v in summary.items():
        print(f"{k}: {v}")
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from bankanalysis.data.validate import validate_raw
    from bankanalysis.data.validate_shape import window_params

    windows = window_params(args.params)
    check = validate_raw(Path(args.raw), encoding=args.encoding, shape=True, windows=windows)
    warnings = check.raise_for_errors(log_warnings=False)  # printed below, once
    for w in warnings:
        print(w.format(), file=sys.stderr)
    print(f"{args.raw}: valid ({len(warnings)} warning{'s' if len(warnings) != 1 else ''})")
    return 0


def _cmd_prepare(args: argparse.Namespace) -> int:
    from bankanalysis.data.prepare import prepare

    result = prepare(Path(args.raw), Path(args.out), encoding=args.encoding, force=args.force)
    print(result.summary())
    return 0


def _cmd_contract(args: argparse.Namespace) -> int:
    from bankanalysis.contract import contract_markdown
    from bankanalysis.data.atomic import atomic_write_text

    text = contract_markdown()
    if args.out == "-":
        print(text)
    else:
        atomic_write_text(Path(args.out), text)
        print(f"wrote {args.out}")
    return 0


def _add_data(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("data", help="generate, validate and prepare data")
    dsub = p.add_subparsers(dest="data_cmd", required=True)

    g = dsub.add_parser("generate", help="write the built-in synthetic bank (with planted truth)")
    g.add_argument("--customers", type=int, default=50_000, help="number of customers")
    g.add_argument("--months", type=int, default=13, help="number of month-ends")
    g.add_argument("--seed", type=int, default=20261130, help="random seed (same seed, same files)")
    g.add_argument("--out", default="data/raw", help="output folder (default data/raw)")
    g.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    g.add_argument(
        "--regions",
        type=int,
        default=8,
        help="number of regions (secondary branches) in three echelons (default 8)",
    )
    g.set_defaults(func=_cmd_generate)

    v = dsub.add_parser("validate", help="check data/raw against the data contract")
    v.add_argument("--raw", default="data/raw")
    v.add_argument("--encoding", default="utf-8", help="CSV encoding, e.g. gbk (default utf-8)")
    v.add_argument(
        "--params",
        default=None,
        help="parameter folder whose windows (migration_months, horizon, train_windows, "
        "eval_months) the month checks use (default: the schema defaults)",
    )
    v.set_defaults(func=_cmd_validate)

    pr = dsub.add_parser("prepare", help="validate, then build data/processed atomically")
    pr.add_argument("--raw", default="data/raw")
    pr.add_argument("--out", default="data/processed")
    pr.add_argument("--encoding", default="utf-8", help="CSV encoding, e.g. gbk (default utf-8)")
    pr.add_argument(
        "--force", action="store_true", help="rebuild even if the raw data are unchanged"
    )
    pr.set_defaults(func=_cmd_prepare)

    c = dsub.add_parser("contract", help="write the data contract as Markdown")
    c.add_argument("--out", default="docs/data_contract.md", help="file, or - for stdout")
    c.set_defaults(func=_cmd_contract)


# --------------------------------------------------------------------------- run


def _csv_list(value: str | None) -> list[str] | None:
    if value is None or value.strip().lower() == "all":
        return None
    return [v.strip() for v in value.split(",") if v.strip()]


def _cmd_run(args: argparse.Namespace) -> int:
    from bankanalysis.batch import plan_jobs, run_batch

    common = dict(
        regions=_csv_list(args.regions),
        notebooks=_csv_list(args.notebooks),
        run_id=args.run_id,
        out=Path(args.out),
        processed_dir=args.processed,
        params_dir=args.params,
        notebooks_dir=args.notebooks_dir,
        timeout_minutes=args.timeout_minutes,
    )
    if args.dry_run:
        plan = plan_jobs(**common)
        for job in plan.jobs:
            print(f"{job.name}  timeout {job.timeout_s / 60:g} min  key {job.key[:12]}")
        print(f"{len(plan.jobs)} jobs would run into {plan.run_dir} (parameters valid)")
        return 0
    executor = None
    if args.executor == "dask":
        from bankanalysis.batch import DaskExecutor

        executor = DaskExecutor(args.scheduler, n_workers=args.jobs)
    elif args.scheduler:
        from bankanalysis.exceptions import ParameterError

        raise ParameterError([f"--scheduler {args.scheduler} needs --executor dask"])
    result = run_batch(
        **common,
        jobs=args.jobs,
        progress=not args.no_progress,
        executor=executor,
        reuse=not args.force,
        warm_kernels=not args.fresh_kernels,
    )
    n_reused = sum(r.status == "reused" for r in result.results)
    if n_reused:
        print(
            f"{n_reused} of {len(result.results)} jobs reused from earlier runs (--force re-runs)"
        )
    print(f"run {result.run_id}: {result.status} -> {result.run_dir / 'index.html'}")
    return result.exit_code


def _add_run(sub: argparse._SubParsersAction) -> None:
    r = sub.add_parser("run", help="run the report notebooks per region into reports/<run-id>/")
    r.add_argument("--regions", default="all", help="all (default) or region ids: R01,R02")
    r.add_argument(
        "--notebooks", default="all", help="all (default) or notebook names: 00_bank_overview,..."
    )
    r.add_argument("--jobs", type=int, default=None, help="parallel workers (default: cores)")
    r.add_argument("--run-id", default=None, help="run id (default: UTC time, e.g. 20261130T0415Z)")
    r.add_argument("--out", default="reports", help="reports folder (default reports)")
    r.add_argument("--processed", default=None, help="processed data (default data/processed)")
    r.add_argument("--params", default=None, help="parameters folder (default params)")
    r.add_argument("--notebooks-dir", default=None, help="notebooks folder (default notebooks)")
    r.add_argument(
        "--timeout-minutes",
        type=float,
        default=None,
        help="per-notebook timeout (overrides params)",
    )
    r.add_argument("--no-progress", action="store_true", help="no live progress display")
    r.add_argument(
        "--force",
        action="store_true",
        help="execute every job; by default a job whose key (notebook, parameters, package "
        "source, data fingerprint) matches a successful earlier run in --out is reused",
    )
    r.add_argument(
        "--fresh-kernels",
        action="store_true",
        help="start every notebook's kernel from scratch instead of forking it from a "
        "pre-imported process per worker (same results, slower)",
    )
    r.add_argument(
        "--executor",
        choices=("local", "dask"),
        default="local",
        help="local worker processes (default) or a Dask distributed cluster",
    )
    r.add_argument(
        "--scheduler",
        default=None,
        help="Dask scheduler address tcp://HOST:PORT (default with --executor dask: a "
        "LocalCluster of --jobs worker processes)",
    )
    r.add_argument(
        "--dry-run", action="store_true", help="validate parameters and list the jobs; run nothing"
    )
    r.set_defaults(func=_cmd_run)


# --------------------------------------------------------------------------- benchmark


def _cmd_benchmark_uci(args: argparse.Namespace) -> int:
    from bankanalysis.propensity.uci import benchmark_csv, format_benchmark, load_csv_dataset

    drop = [c.strip() for c in args.drop.split(",") if c.strip()]
    X, y = load_csv_dataset(
        Path(args.path), args.target, drop=drop, sep=args.sep, positive=args.positive
    )
    result = benchmark_csv(X, y, n_splits=args.folds, random_state=args.seed)
    print(format_benchmark(result, Path(args.path).name, drop))
    return 0


def _add_benchmark(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("benchmark", help="run the modelling code on real data")
    bsub = p.add_subparsers(dest="benchmark_cmd", required=True)
    u = bsub.add_parser(
        "uci",
        help="cross-validated and out-of-time AUC/lift on a CSV (e.g. UCI Bank Marketing)",
        description="Fits the propensity model on any CSV with a named target: 5-fold "
        "stratified CV ROC AUC and top-decile lift, and an out-of-time split in file order, "
        "beside the published anchor of Moro, Cortez & Rita (2014).",
    )
    u.add_argument(
        "path", help="CSV file, e.g. ../shared/data/uci_bank_marketing/bank-additional-full.csv"
    )
    u.add_argument("--target", default="y", help="target column (default y)")
    u.add_argument(
        "--drop",
        default="duration",
        help="comma-separated columns to leave out (default duration, known only after the call; '' for none)",
    )
    u.add_argument("--sep", default=";", help="field separator (default ;)")
    u.add_argument("--positive", default="yes", help="target value meaning 'bought' (default yes)")
    u.add_argument("--folds", type=int, default=5, help="cross-validation folds (default 5)")
    u.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    u.set_defaults(func=_cmd_benchmark_uci)


# --------------------------------------------------------------------------- params


def _cmd_params(args: argparse.Namespace) -> int:
    from bankanalysis.params import defaults_yaml

    if not args.defaults:
        args.parser.print_help(sys.stderr)
        return 2
    text = defaults_yaml()
    if args.out:
        from bankanalysis.data.atomic import atomic_write_text

        atomic_write_text(Path(args.out), text)
        print(f"wrote {args.out}")
    else:
        sys.stdout.write(text)
    return 0


def _add_params(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "params",
        help="the report parameters' schema",
        description="The parameter schema (bankanalysis.params) is the one source of default "
        "values; --defaults prints params/defaults.yaml generated from it.",
    )
    p.add_argument(
        "--defaults", action="store_true", help="print the defaults file generated from the schema"
    )
    p.add_argument("--out", default=None, help="write it to this file instead (atomically)")
    p.set_defaults(func=_cmd_params, parser=p)


# --------------------------------------------------------------------------- selfcheck


def _cmd_selfcheck(args: argparse.Namespace) -> int:
    from bankanalysis.selfcheck import DEFAULT_CUSTOMERS, DEFAULT_SEED, format_table, run_selfcheck

    report = run_selfcheck(
        n_customers=args.customers or DEFAULT_CUSTOMERS,
        seed=DEFAULT_SEED if args.seed is None else args.seed,
        keep=Path(args.keep) if args.keep else None,
    )
    print(
        f"self-check: fresh synthetic bank of {report.n_customers:,} customers, seed "
        f"{report.seed}, {report.seconds:.0f} s"
        + (f", kept in {report.folder}" if report.folder else "")
    )
    print(format_table(report.results))
    n_fail = sum(not r.passed for r in report.results)
    print("ALL PASSED" if report.passed else f"{n_fail} check(s) FAILED")
    return 0 if report.passed else 1


def _add_selfcheck(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser(
        "selfcheck",
        help="prove the analytics recover the truth planted in a fresh synthetic bank",
        description="Generates a synthetic bank with its own seed into a temporary folder, "
        "prepares it, runs every registered check and prints recovered-vs-planted scores "
        "with thresholds; exits 1 if any check fails.",
    )
    s.add_argument("--customers", type=int, default=None, help="bank size (default 20000)")
    s.add_argument("--seed", type=int, default=None, help="generator seed (default 424242)")
    s.add_argument("--keep", default=None, help="keep the generated bank in this folder")
    s.set_defaults(func=_cmd_selfcheck)


# --------------------------------------------------------------------------- kpis


def _cmd_kpis(args: argparse.Namespace) -> int:
    from bankanalysis.rules.kpis import kpi_rows, kpis_markdown

    if args.markdown:
        text = kpis_markdown()
        if args.out == "-":
            print(text, end="")
        else:
            from bankanalysis.data.atomic import atomic_write_text

            atomic_write_text(Path(args.out), text)
            print(f"wrote {args.out}")
        return 0
    rows = kpi_rows()
    if args.plan:
        rows = [r for r in rows if r["plan"]]
    for r in rows:
        flag = " [plan]" if r["plan"] else ""
        print(f"{r['id']}{flag}: {r['name']} ({r['unit']}, {r['direction']} is better)")
        print(f"    {r['definition']}")
        if r["proxy"]:
            print(f"    proxy: {r['proxy']}")
        print(f"    tables: {r['tables']}; levels: {r['levels']}; computed by {r['compute']}")
    return 0


def _add_kpis(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "kpis",
        help="print the KPI dictionary (id, name, unit, definition, tables needed)",
        description="Print every KPI the reports show: its id (the metrics.json key), name, "
        "unit, definition, the raw tables it needs and the function computing it.",
    )
    p.add_argument("--plan", action="store_true", help="only the annual plan's KPIs")
    p.add_argument("--markdown", action="store_true", help="print docs/kpis.md instead")
    p.add_argument("--out", default="-", help="with --markdown: file to write (default stdout)")
    p.set_defaults(func=_cmd_kpis)


# --------------------------------------------------------------------------- main


def build_parser() -> argparse.ArgumentParser:
    """Return the top-level argument parser."""
    parser = argparse.ArgumentParser(
        prog="bankanalysis",
        description="Customer, cross-sell and outlet analytics for a retail bank.",
    )
    parser.add_argument("--version", action="version", version=f"bankanalysis {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging")
    parser.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    sub = parser.add_subparsers(dest="cmd", required=True)
    _add_data(sub)
    _add_run(sub)
    _add_benchmark(sub)
    _add_selfcheck(sub)
    _add_kpis(sub)
    _add_params(sub)
    # one line per further subcommand, each defined in its own section above
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``bankanalysis`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_logging(-1 if args.quiet else args.verbose)
    try:
        return int(args.func(args) or 0)
    except BankAnalysisError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
