"""Warm kernels (bankanalysis.batch.kernels): as isolated as fresh kernels, and the same results.

Two proofs the issue asks for before a pool of warm kernels may be used, both on fixture
notebooks (the real report notebooks run only in the end-to-end test and nbval):

- isolation: one worker runs a probe notebook for three regions in a row; each job first
  records what it sees of the state the previous job tampered with (a module global of this
  package, a cached function, a pandas option, a matplotlib rcParam, an environment
  variable, an extra module in ``sys.modules``, an open file, the working directory), then
  tampers with all of it. Every job must see a pristine kernel, in a process of its own,
  forked from the worker's zygote (its parent process; the batch records ``kernel: "warm"``);
- equivalence: a report in miniature (pandas, a styled table, seeded k-means and gradient
  boosting from scikit-learn, a seaborn chart, ``metrics.json``) run with warm and with fresh
  kernels gives identical ``metrics.json`` and identical cell outputs (text and images).

A warm kernel that silently fell back to a fresh start fails these tests: the batch records
how each kernel was started, and the fallback is tested to be recorded as ``"fresh"``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import sys
from dataclasses import replace
from pathlib import Path

import nbformat
import pytest
from stubbank import FIXTURES, make_params, make_processed

from bankanalysis.batch import kernels, plan_jobs, run_batch
from bankanalysis.batch.execute import execute_job
from bankanalysis.exceptions import KernelStartError

NB = "01_customer_segmentation"
REPORT_LIKE = FIXTURES / "kernels" / "report_like.ipynb"

PROBE = """\
import json, os, sys
from pathlib import Path

preloaded = all(m in sys.modules for m in ("pandas", "sklearn.cluster", "bankanalysis.report.metrics"))

import matplotlib
import pandas as pd
import psutil

from bankanalysis import exceptions, provenance

parent = psutil.Process().parent()
seen = {
    "pid": os.getpid(),
    "parent_pid": parent.pid,
    "parent_cmdline": parent.cmdline(),
    "preloaded": preloaded,
    "module_global": getattr(provenance, "_LEAKED_REGION", None),
    "module_dict": sorted(k for k in vars(exceptions) if k.startswith("_leak")),
    "cache_size": provenance.package_source_hash.cache_info().currsize,
    "pandas_option": pd.get_option("display.max_rows"),
    "rc_dpi": matplotlib.rcParams["figure.dpi"],
    "env": os.environ.get("BANKANALYSIS_LEAK"),
    "extra_module": "leaky_module" in sys.modules,
    "open_files": sorted(f.path for f in psutil.Process().open_files() if f.path.endswith("leak.txt")),
    "cwd_files": sorted(os.listdir(".")),
    "omp_threads": os.environ.get("OMP_NUM_THREADS"),
}
Path(output_dir, "seen.json").write_text(json.dumps(seen))

# now leave every kind of trace for whoever runs next in this worker
provenance._LEAKED_REGION = region_id
exceptions._leak_marker = region_id
provenance.package_source_hash()
pd.set_option("display.max_rows", 7)
matplotlib.rcParams["figure.dpi"] = 33
os.environ["BANKANALYSIS_LEAK"] = region_id
sys.modules["leaky_module"] = type(sys)("leaky_module")
leak = open(Path(output_dir) / "leak.txt", "w")
Path("left_behind.txt").write_text(region_id)
"""


def _probe_notebook(folder: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(
        "region_id = None\nprocessed_dir = None\noutput_dir = None\nrun_id = None"
    )
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# Probe"), params, nbformat.v4.new_code_cell(PROBE)]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / f"{NB}.ipynb")
    return folder


def _probe_batch(base: Path, regions: list[str], warm: bool = True):
    """The probe notebook for ``regions`` on ONE worker (one zygote: every job after the
    first follows a tampering one)."""
    return run_batch(
        regions=regions,
        notebooks=[NB],
        processed_dir=make_processed(base / "processed"),
        params_dir=make_params(base / "params"),
        notebooks_dir=_probe_notebook(base / "nb"),
        out=base / "reports",
        run_id="probe",
        jobs=1,
        progress=False,
        warm_kernels=warm,
    )


@pytest.fixture(scope="module")
def probe_run(tmp_path_factory: pytest.TempPathFactory):
    return _probe_batch(tmp_path_factory.mktemp("probe"), ["R01", "R02", "R03"])


def _zygote_cmdline(cmdline: list[str]) -> bool:
    return cmdline[1:3] == ["-m", "bankanalysis.batch.kernels"]


def test_every_warm_job_starts_from_a_pristine_kernel(probe_run) -> None:
    assert probe_run.status == "complete", [(r.name, r.error) for r in probe_run.results]
    seen = [
        json.loads((probe_run.run_dir / r.name / "seen.json").read_text())
        for r in probe_run.results
    ]
    assert len(seen) == 3
    # really warm: the batch says so, and each kernel's parent is the worker's one zygote
    assert [r.kernel for r in probe_run.results] == ["warm"] * 3
    manifest = json.loads((probe_run.run_dir / "manifest.json").read_text(encoding="utf-8"))
    assert [j["kernel"] for j in manifest["jobs"]] == ["warm"] * 3
    assert all(_zygote_cmdline(s["parent_cmdline"]) for s in seen), seen[0]["parent_cmdline"]
    assert len({s["parent_pid"] for s in seen}) == 1, "the kernels came from several zygotes"
    assert all(s["preloaded"] for s in seen), "the kernels did not inherit the zygote's imports"
    assert len({s["pid"] for s in seen}) == 3, "a kernel process served two jobs"
    assert len({r.worker_pid for r in probe_run.results}) == 1, "jobs ran on several workers"
    for s in seen:
        assert s["module_global"] is None
        assert s["module_dict"] == []
        assert s["cache_size"] == 0
        assert s["pandas_option"] == 60
        assert s["env"] is None
        assert s["extra_module"] is False
        assert s["open_files"] == []
        assert "left_behind.txt" not in s["cwd_files"]  # (IPC sockets of the kernel live there)
    # one worker: its kernels may use every core (unless the environment already says)
    cores = str(os.environ.get("OMP_NUM_THREADS") or os.cpu_count() or 1)
    assert {s["omp_threads"] for s in seen} == {cores}
    rc = {s["rc_dpi"] for s in seen}
    assert len(rc) == 1 and 33 not in rc


def test_fresh_kernels_when_asked_and_for_foreign_kernels(tmp_path: Path) -> None:
    result = _probe_batch(tmp_path, ["R01"], warm=False)
    assert result.status == "complete"
    assert [r.kernel for r in result.results] == ["fresh"]
    seen = json.loads((result.run_dir / f"R01/{NB}/seen.json").read_text())
    assert seen["preloaded"] is False
    assert not _zygote_cmdline(seen["parent_cmdline"])
    assert seen["parent_pid"] == result.results[0].worker_pid  # the worker started it
    # only a standard ipykernel command of this very interpreter is forked
    exe = os.path.realpath(sys.executable)
    conn = "/tmp/k.json"
    assert kernels._forkable([exe, "-m", "ipykernel_launcher", "-f", conn]) == (conn, [])
    extra = "--HistoryManager.hist_file=:memory:"
    assert kernels._forkable([exe, "-m", "ipykernel_launcher", "-f", conn, extra]) == (
        conn,
        [extra],
    )
    assert kernels._forkable(["/usr/bin/python2", "-m", "ipykernel_launcher", "-f", conn]) is None
    assert kernels._forkable([exe, "-m", "other_kernel", "-f", conn]) is None
    assert kernels._forkable([exe, "-m", "ipykernel_launcher", "-f", conn, "-i"]) is None


def test_a_warm_kernel_that_falls_back_is_recorded_as_fresh(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ``kernel`` record is what happened, not what was asked for."""
    plan = plan_jobs(
        regions=["R01"],
        notebooks=[NB],
        run_id="fallback",
        out=tmp_path / "reports",
        processed_dir=make_processed(tmp_path / "processed"),
        params_dir=make_params(tmp_path / "params"),
        notebooks_dir=_probe_notebook(tmp_path / "nb"),
    )
    job = replace(plan.jobs[0], warm_kernel=True)
    job.run_dir.mkdir(parents=True)

    def no_zygote() -> kernels.KernelZygote:
        raise KernelStartError("no zygote in this test")

    monkeypatch.setattr(kernels, "process_zygote", no_zygote)  # looked up at launch
    for var in ("MPLBACKEND", "PYTHONHASHSEED", "PYDEVD_DISABLE_FILE_VALIDATION"):
        monkeypatch.setenv(var, os.environ.get(var, ""))  # execute_job sets them; restored
    result = execute_job(job)
    assert result.status == "ok", result.error
    assert result.kernel == "fresh"
    seen = json.loads((job.output_dir / "seen.json").read_text())
    assert seen["preloaded"] is False and not _zygote_cmdline(seen["parent_cmdline"])


def test_a_different_environment_is_refused_by_the_zygote() -> None:
    zygote = kernels.KernelZygote(env={**os.environ, "PYTHONHASHSEED": "0"})
    try:
        assert zygote.wait_ready()
        other = {**zygote.env, "PYTHONHASHSEED": "1"}
        with pytest.raises(kernels.KernelStartError, match="PYTHONHASHSEED"):
            zygote.fork_kernel("/nonexistent.json", "/", other)
        # per-launch variables are not a difference
        assert kernels.env_difference(zygote.env, {**zygote.env, "JPY_PARENT_PID": "1"}) == []
    finally:
        zygote.close()
    assert zygote.proc.poll() is not None


def test_a_killed_kernel_is_gone_and_the_zygote_keeps_serving(tmp_path: Path) -> None:
    zygote = kernels.KernelZygote()
    try:
        assert zygote.wait_ready()
        conn = tmp_path / "kernel.json"
        ports = []
        for _ in range(5):
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                ports.append(s.getsockname()[1])
        conn.write_text(
            json.dumps(
                dict(
                    zip(
                        ["shell_port", "iopub_port", "stdin_port", "control_port", "hb_port"],
                        ports,
                        strict=True,
                    )
                )
                | {
                    "ip": "127.0.0.1",
                    "transport": "tcp",
                    "key": "k",
                    "signature_scheme": "hmac-sha256",
                }
            )
        )
        pid = zygote.fork_kernel(str(conn), str(tmp_path), dict(zygote.env))
        handle = kernels.ForkedKernel(pid)
        assert handle.poll() is None
        handle.kill()
        assert handle.wait(timeout=10) == -signal.SIGKILL
        pid2 = zygote.fork_kernel(str(conn), str(tmp_path), dict(zygote.env))
        assert pid2 != pid
        kernels.ForkedKernel(pid2).kill()
    finally:
        zygote.close()


# --------------------------------------------------------------------------- equivalence

_VOLATILE = [
    (re.compile(r"/tmp/[^\s'\"<>)]+"), "<tmp>"),
    (re.compile(r"T_[0-9a-f]{5}(?=[_\\\"\s])"), "T_<styler-id>"),  # pandas Styler's random id
    (re.compile(r" at 0x[0-9a-f]+"), " at <address>"),  # object reprs
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z?"), "<time>"),
]


def _outputs(path: Path) -> list:
    nb = nbformat.read(path, as_version=4)
    cells = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        outs = []
        for out in cell.get("outputs", []):
            out = {k: v for k, v in out.items() if k not in ("execution_count", "metadata")}
            text = json.dumps(out, sort_keys=True)
            for pattern, repl in _VOLATILE:
                text = pattern.sub(repl, text)
            outs.append(text)
        cells.append(outs)
    return cells


@pytest.fixture(scope="module")
def warm_and_fresh(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The report in miniature for two regions on one worker, with warm and fresh kernels."""
    base = tmp_path_factory.mktemp("equivalence")
    nb_dir = base / "nb"
    nb_dir.mkdir()
    shutil.copyfile(REPORT_LIKE, nb_dir / f"{NB}.ipynb")
    common = dict(
        regions=["R01", "R02"],
        notebooks=[NB],
        processed_dir=make_processed(base / "processed"),
        params_dir=make_params(base / "params"),
        notebooks_dir=nb_dir,
        jobs=1,
        progress=False,
    )
    return {
        mode: run_batch(out=base / f"reports_{mode}", run_id=mode, warm_kernels=warm, **common)
        for mode, warm in (("warm", True), ("fresh", False))
    }


def test_warm_and_fresh_kernels_give_identical_reports(warm_and_fresh: dict) -> None:
    warm, fresh = warm_and_fresh["warm"], warm_and_fresh["fresh"]
    assert warm.status == fresh.status == "complete", [(r.name, r.error) for r in warm.results]
    assert [r.kernel for r in warm.results] == ["warm", "warm"]
    assert [r.kernel for r in fresh.results] == ["fresh", "fresh"]
    assert [r.name for r in warm.results] == [r.name for r in fresh.results]
    for a, b in zip(warm.results, fresh.results, strict=True):
        assert set(a.metrics) == {
            "customers",
            "segments",
            "largest_segment_share",
            "kmeans_inertia",
            "holdout_auc",
        }
        assert a.metrics["segments"] == 4 and 0.5 < a.metrics["holdout_auc"] <= 1.0
        assert a.metrics == b.metrics, a.name
        outputs = _outputs(warm.run_dir / a.ipynb)
        assert outputs == _outputs(fresh.run_dir / b.ipynb), a.name
        text = json.dumps(outputs)
        assert "image/png" in text and "text/html" in text, "no chart or no table to compare"
        assert sorted(a.outputs) == sorted(b.outputs)
    # the regions' data differ, so equal outputs are not the same output twice
    assert warm.results[0].metrics != warm.results[1].metrics


def test_the_zygote_is_replaced_when_the_package_source_changes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source = {"hash": "before"}
    monkeypatch.setattr(kernels, "_package_source", lambda: source["hash"])
    monkeypatch.setattr(kernels, "_ZYGOTE", None)
    try:
        first = kernels.process_zygote()
        assert kernels.process_zygote() is first  # reused while nothing changes
        source["hash"] = "after"  # e.g. a Dask worker serving a run after an edit
        second = kernels.process_zygote()
        assert second is not first
        assert first.proc.poll() is not None, "the stale zygote still runs"
        assert second.wait_ready()
    finally:
        kernels.stop_process_zygote()


def test_kernel_manager_does_not_interrupt_a_kernel_it_shuts_down():
    """Issue 13 s6: jupyter_client's SIGINT before shutdown logged "KeyboardInterrupt caught in
    kernel" in completed runs; the batch's kernel managers skip it while shutting down."""
    import asyncio

    km = kernels.QuietKernelManager()
    km.shutting_down = True
    asyncio.run(km._async_interrupt_kernel())  # no kernel, no signal, no error
    km.shutting_down = False
    with pytest.raises(RuntimeError, match="No kernel is running"):
        asyncio.run(km._async_interrupt_kernel())
    assert issubclass(kernels.WarmKernelManager, kernels.QuietKernelManager)
