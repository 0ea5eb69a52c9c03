"""What every benchmark shares: child processes that measure themselves, and the cached banks.

Measurements run in child processes: a child's wall time, CPU time and peak RSS are its own
(``os.wait4``), not the runner's. Banks are generated and prepared by the CLI in child
processes too, since Linux hands a process's peak RSS on to the children it forks.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pickle
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
#: Seed of the benchmark banks generated with an explicit seed.
SEED = 20261130


def cli(*args: str) -> list[str]:
    """Command line of ``bankanalysis -q ARGS`` with this interpreter."""
    return [sys.executable, "-m", "bankanalysis.cli", "-q", *args]


def measure(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, float]:
    """Run ``cmd`` to the end; return (wall s, CPU s, peak RSS GB of its largest process).

    Raises
    ------
    subprocess.CalledProcessError
        When it fails.
    """
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, cwd=ROOT, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise subprocess.CalledProcessError(code, cmd)
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024**2


def json_child(module: str, *args: str, env: dict[str, str] | None = None) -> dict:
    """Run ``python -m MODULE --child ARGS``; return the JSON object it printed last."""
    cmd = [sys.executable, "-m", module, "--child", *args]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT, env=env)
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench_bank(n_customers: int) -> Path:
    """Raw folder of the cached benchmark bank with ``n_customers`` (generated when missing)."""
    raw = ROOT / "build" / "bench" / f"bank_{n_customers}" / "raw"
    if not (raw / "_truth" / ".synthetic").exists() or not any(raw.glob("holdings.*")):
        print(f"  generating the {n_customers:,}-customer bank into {raw} ...", flush=True)
        measure(cli("data", "generate", "--customers", str(n_customers), "--out", str(raw)))
    return raw


def ensure_bank(base: Path, n_customers: int, raw: Path | None = None) -> Path:
    """Generate (when missing, seed :data:`SEED`) and prepare (when stale) a bank.

    Parameters
    ----------
    base : Path
        Folder of the bank: ``raw/`` (unless ``raw`` is given) and ``processed/``.
    n_customers : int
        Customers to generate.
    raw : Path, optional
        An existing raw folder to prepare instead of ``base/raw``.

    Returns
    -------
    Path
        The processed folder.
    """
    raw = raw or base / "raw"
    if not (raw / "_truth" / ".synthetic").exists() or not any(raw.glob("holdings.*")):
        print(f"  generating the {n_customers:,}-customer bank into {raw} ...", flush=True)
        gen = ["--customers", str(n_customers), "--seed", str(SEED), "--out", str(raw)]
        measure(cli("data", "generate", *gen))
    processed = base / "processed"
    measure(cli("data", "prepare", "--raw", str(raw), "--out", str(processed)))
    return processed


def merge_figures(
    path: Path, figures: dict[str, float], replace: bool = False, drop_prefix: str | None = None
) -> dict[str, float]:
    """Write ``figures`` into the JSON file ``path`` atomically; return what it now holds.

    Parameters
    ----------
    path : Path
        ``reports/bench/latest.json`` or another figures file (created when missing); an
        existing folder means its ``latest.json`` (a 10M run given ``--out <folder>`` lost
        its figures at the end when this was an error).
    figures : dict of str to float
        New figures; they win over figures of the same name already in the file.
    replace : bool
        Drop the file's other figures too, except those of ``make bench-scale``
        (:func:`scale_only`), which no other benchmark measures.
    drop_prefix : str, optional
        Drop the file's figures whose names start with it (e.g. ``"scale_10m_"``: a new run
        of one bank size replaces every earlier figure of that size).

    Returns
    -------
    dict of str to float
        The figures written, sorted by name.
    """
    if path.is_dir():
        path = path / "latest.json"
    old: dict[str, float] = {}
    if path.is_file():
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            old = {}
    if replace:
        old = {k: v for k, v in old.items() if scale_only(k)}
    if drop_prefix:
        old = {k: v for k, v in old.items() if not k.startswith(drop_prefix)}
    merged = dict(sorted({**old, **{k: float(v) for k, v in figures.items()}}.items()))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(merged, indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)
    return merged


def scale_only(name: str) -> bool:
    """Whether figure ``name`` comes from ``make bench-scale`` only (not from ``make bench``).

    ``make bench`` measures the 1M bank end to end itself (``scale_1m_*`` of bench_batch), so
    its own figures replace those; the other sizes, the per-stage figures it does not take
    (validate, fit) and the many-regions batch stay.

    Examples
    --------
    >>> scale_only("scale_10m_end_to_end_s"), scale_only("batch_120_regions_s")
    (True, True)
    >>> scale_only("batch_cold_s"), scale_only("generate_1m_s")
    (False, False)
    """
    return bool(re.match(r"scale_|batch_per_job_|batch_\d+_regions", name))


# ------------------------------------------------------------------ side-by-side benchmarks


def load_text() -> str:
    """The machine's load averages over 1, 5 and 15 minutes, e.g. ``"2.5 3.1 4.0"``."""
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def old_source(old_src: str | None, old_ref: str, tmp: Path) -> Path:
    """The old package source of a side-by-side benchmark: the folder ``old_src`` when given,
    else git ``old_ref``'s ``src`` exported under ``tmp``."""
    if old_src:
        return Path(old_src)
    from benchmarks.prepare_memory import export_source

    return export_source(old_ref, tmp / "old")


def bank_view(processed: Path, dest: Path) -> Path:
    """A processed folder of symbolic links to ``processed``'s tables, without ``_models`` (so
    each code fits or caches its own models)."""
    dest.mkdir(parents=True)
    for f in processed.iterdir():
        if f.name != "_models":
            (dest / f.name).symlink_to(f.resolve())
    return dest


def frame_differences(old: dict, new: dict, keys: tuple[str, ...]) -> list[str]:
    """What differs between the frames ``keys`` of two runs, exactly (empty: nothing)."""
    import pandas as pd

    out = []
    for key in keys:
        try:
            pd.testing.assert_frame_equal(old[key], new[key], check_exact=True)
        except AssertionError as exc:
            out.append(f"{key}: {str(exc)[:300]}")
    return out


def metric_differences(old: dict, new: dict) -> list[str]:
    """The metrics (``metrics.json`` entries) whose values differ between two runs."""
    return [
        f"metric {k}: {old.get(k)} vs {new.get(k)}"
        for k in sorted(set(old) | set(new))
        if old.get(k) != new.get(k)
    ]


def add_ratios(out: dict[str, float], stem: str) -> None:
    """Put ``<stem>_cpu_s_ratio`` and ``<stem>_peak_rss_ratio`` (new over old) into ``out``,
    from the ``<stem>_old_*`` and ``<stem>_new_*`` figures of a side-by-side run."""
    out[f"{stem}_cpu_s_ratio"] = out[f"{stem}_new_cpu_s"] / out[f"{stem}_old_cpu_s"]
    out[f"{stem}_peak_rss_ratio"] = out[f"{stem}_new_peak_rss_gb"] / out[f"{stem}_old_peak_rss_gb"]


def print_figures(out: dict[str, float]) -> None:
    """Print a benchmark's figures, one a line, sorted by name."""
    width = max((len(k) for k in out), default=0)
    for k in sorted(out):
        print(f"    {k:{width}s} {out[k]:10.3f}", flush=True)


def add_old_code_arguments(ap: argparse.ArgumentParser, old_ref: str) -> None:
    """The options of a side-by-side benchmark: the old code (a git ref or a source folder)
    and the JSON file its figures are merged into."""
    ap.add_argument("--old-ref", default=old_ref, help="git ref of the old code")
    ap.add_argument("--old-src", help="a folder with the old package source instead of --old-ref")
    ap.add_argument("--out", help="merge the figures into this JSON file")


def write_result(path: str | Path, found: Any) -> None:
    """A side-by-side benchmark's child: its answer, pickled to ``--result`` for the parent."""
    with open(path, "wb") as f:
        pickle.dump(found, f, pickle.HIGHEST_PROTOCOL)


@contextlib.contextmanager
def old_and_new(prefix: str, args: argparse.Namespace) -> Iterator[tuple[Path, Path]]:
    """The parent of a side-by-side benchmark: print the cores and load, then yield the old
    package source (:func:`old_source` of ``--old-src``/``--old-ref``) and a temporary folder
    under ``build/`` (named ``prefix...``, removed afterwards) for the children's files."""
    print(f"{os.cpu_count()} cores; load {load_text()}", flush=True)
    (ROOT / "build").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=prefix, dir=ROOT / "build") as tmp:
        yield old_source(args.old_src, args.old_ref, Path(tmp)), Path(tmp)


def report_figures(args: argparse.Namespace, figures: dict[str, float]) -> int:
    """Merge ``figures`` into ``--out`` (when given), print the load at the end; exit code 0."""
    if args.out:
        merge_figures(Path(args.out), figures)
    print(f"load at the end {load_text()}")
    return 0
