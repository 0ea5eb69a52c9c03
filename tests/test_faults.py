"""Fault injection into the report batch: good output survives, bad runs never become ``latest``.

The batch runs small fixture notebooks (``tests/fixtures/notebooks/faults/``: ``ok``,
``kill_kernel``, ``sleep``) copied under the report notebooks' names, on a stub of the processed
data (two regions), so each scenario costs a few kernel starts:

- a kernel killed mid-notebook and a notebook timing out: the others finish, the broken job's
  report is kept with the error visible, the run is incomplete in manifest and index,
  ``reports/latest`` stays on the earlier complete run, and a re-run completes;
- SIGTERM to the batch process and Ctrl-C to its process group: the same, plus no worker or
  kernel left running;

Determinism is checked in :func:`test_same_inputs_same_reports` on a report in miniature
(seeded scikit-learn models, a seaborn chart, a styled table, names with markup).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest
from stubbank import FIXTURES as NOTEBOOK_FIXTURES
from stubbank import make_params, make_processed

from bankanalysis.batch import run_batch
from bankanalysis.report.html import ERROR_ANCHOR

pytestmark = pytest.mark.slow

FIXTURES = NOTEBOOK_FIXTURES / "faults"
NB1, NB2 = "01_customer_segmentation", "02_cross_sell_propensity"
EARLIER = "20200101T000000Z"


class StubBank:
    """What the batch needs of the processed data: regions, months, fingerprint."""

    def __init__(self) -> None:
        self.regions = pd.DataFrame(
            {"region_id": ["R1", "R2"], "name": ["中心城区", "东部拓展区"], "echelon": [1, 3]}
        )
        self.months = ["2024-01", "2024-02", "2024-03"]
        self.data_month = "2024-03"
        self.manifest = {"fingerprint": "stub-fingerprint"}


def _notebooks(folder: Path, **stems: str) -> Path:
    """Copy fixture notebooks under report names, e.g. ``_notebooks(d, **{NB1: "ok"})``."""
    folder.mkdir(parents=True, exist_ok=True)
    for stem, fixture in stems.items():
        shutil.copyfile(FIXTURES / f"{fixture}.ipynb", folder / f"{stem}.ipynb")
    return folder


def _params(
    folder: Path, nb2_timeout_minutes: float | None = None, model_cache: bool = True
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    text = "common:\n  min_group_size: 10\nnotebooks:\n"
    nb2 = []
    if nb2_timeout_minutes is not None:
        nb2.append(f"    timeout_minutes: {nb2_timeout_minutes}\n")
    if not model_cache:  # no model key: the batch keeps the plan's job order
        nb2.append("    use_model_cache: false\n")
    if nb2:
        text += f"  {NB2}:\n" + "".join(nb2)
    (folder / "defaults.yaml").write_text(text, encoding="utf-8")
    return folder


def _reports_with_earlier_run(out: Path) -> Path:
    """A reports folder whose ``latest`` points at an earlier complete run."""
    run = out / EARLIER
    run.mkdir(parents=True)
    manifest = {"run_id": EARLIER, "status": "complete", "started": "2020-01-01T00:00:00Z"}
    (run / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    (run / "index.html").write_text("<html>earlier</html>", encoding="utf-8")
    (out / "latest").symlink_to(EARLIER)
    return out


def _manifest(run_dir: Path) -> dict:
    return json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))


def _statuses(manifest: dict) -> dict[str, str]:
    return {j["name"]: j["status"] for j in manifest["jobs"]}


def _assert_incomplete_run(run_dir: Path, out: Path, broken: list[str], ok: list[str]) -> None:
    """Manifest and index say incomplete, good reports kept, broken ones show the error."""
    manifest = _manifest(run_dir)
    assert manifest["status"] == "incomplete", manifest["status"]
    statuses = _statuses(manifest)
    for name in ok:
        assert statuses[name] == "ok", statuses
        folder, nb = name.split("/")
        html = (run_dir / folder / f"{nb}.html").read_text(encoding="utf-8")
        assert f"finished {folder}" in html
        metrics = json.loads((run_dir / folder / nb / "metrics.json").read_text())
        assert metrics == {"fixture.region_id_length": len(folder), "fixture.sum_of_first_ten": 45}
    for name in broken:
        assert statuses[name] not in ("ok", "reused"), statuses
    index = (run_dir / "index.html").read_text(encoding="utf-8")
    assert "incomplete" in index
    assert os.readlink(out / "latest") == EARLIER, "latest was moved to an incomplete run"


def _finished_html(run_dir: Path, name: str) -> str:
    folder, nb = name.split("/")
    return (run_dir / folder / f"{nb}.html").read_text(encoding="utf-8")


def _batch(tmp: Path, nb_dir: Path, params: Path, out: Path, run_id: str, regions: list[str]):
    return run_batch(
        regions=regions,
        notebooks=sorted(p.stem for p in nb_dir.glob("*.ipynb")),
        jobs=2,
        run_id=run_id,
        out=out,
        processed_dir=tmp,
        params_dir=params,
        notebooks_dir=nb_dir,
        bank=StubBank(),
        progress=False,
    )


# --------------------------------------------------------------------------- in-process


def test_kernel_killed_mid_notebook_then_rerun_completes(tmp_path: Path) -> None:
    out = _reports_with_earlier_run(tmp_path / "reports")
    params = _params(tmp_path / "params")
    nbs = _notebooks(tmp_path / "nb", **{NB1: "ok", NB2: "kill_kernel"})
    res = _batch(tmp_path, nbs, params, out, "killed", ["R1"])
    assert res.status == "incomplete" and res.exit_code != 0
    assert not res.latest_switched
    broken = [f"R1/{NB2}"]
    _assert_incomplete_run(res.run_dir, out, broken, [f"R1/{NB1}"])
    manifest = _manifest(res.run_dir)
    assert {_statuses(manifest)[b] for b in broken} == {"killed"}
    for name in broken:
        html = _finished_html(res.run_dir, name)
        assert f'id="{ERROR_ANCHOR}"' in html, "the killed job's report does not mark where it died"
        # what the notebook recorded before its kernel died is kept
        metrics = json.loads((res.run_dir / name / "metrics.json").read_text())
        assert metrics == {"fixture.region_id_length": 2}
    index = (res.run_dir / "index.html").read_text(encoding="utf-8")
    assert f"{NB2}.html#{ERROR_ANCHOR}" in index, "the index does not link the failing cell"

    # the notebook is fixed: a re-run completes and becomes latest
    _notebooks(nbs, **{NB2: "ok"})
    again = _batch(tmp_path, nbs, params, out, "rerun", ["R1"])
    assert again.status == "complete", _statuses(_manifest(again.run_dir))
    assert again.exit_code == 0 and again.latest_switched
    assert os.readlink(out / "latest") == "rerun"
    assert _manifest(res.run_dir)["status"] == "incomplete", "the re-run rewrote the broken run"


def test_notebook_timing_out_is_stopped_and_reported(tmp_path: Path) -> None:
    out = _reports_with_earlier_run(tmp_path / "reports")
    params = _params(tmp_path / "params", nb2_timeout_minutes=0.1)
    nbs = _notebooks(tmp_path / "nb", **{NB1: "ok", NB2: "sleep"})
    t0 = time.monotonic()
    res = _batch(tmp_path, nbs, params, out, "slow", ["R1"])
    elapsed = time.monotonic() - t0
    assert _statuses(_manifest(res.run_dir)) == {f"R1/{NB1}": "ok", f"R1/{NB2}": "timeout"}
    assert elapsed < 120, f"the 6 s timeout did not stop a 300 s notebook ({elapsed:.0f} s)"
    _assert_incomplete_run(res.run_dir, out, [f"R1/{NB2}"], [f"R1/{NB1}"])
    html = _finished_html(res.run_dir, f"R1/{NB2}")
    assert f'id="{ERROR_ANCHOR}"' in html and "timed out" in html
    # the timed-out kernel does not live on
    assert not [
        p for p in psutil.Process().children(recursive=True) if "ipykernel" in " ".join(p.cmdline())
    ]


# --------------------------------------------------------------------------- subprocess

_SCRIPT = textwrap.dedent(
    """
    import json, signal, sys
    import pandas as pd
    from bankanalysis.batch import run_batch

    class StubBank:
        regions = pd.DataFrame(
            {"region_id": ["R1", "R2"], "name": ["中心城区", "东部拓展区"], "echelon": [1, 3]}
        )
        months = ["2024-01", "2024-02", "2024-03"]
        data_month = "2024-03"
        manifest = {"fingerprint": "stub-fingerprint"}

    if __name__ == "__main__":
        # Ctrl-C comes from a terminal to its foreground job, whose SIGINT is Python's
        # KeyboardInterrupt; a suite started in the background of a non-interactive shell
        # (`make test &`, a CI runner) passes SIGINT on ignored, and Python keeps it so
        signal.signal(signal.SIGINT, signal.default_int_handler)
        a = json.loads(sys.argv[1])
        res = run_batch(bank=StubBank(), progress=False, **a)
        sys.exit(res.exit_code)
    """
)


def _start_batch(
    tmp: Path, nb_dir: Path, params: Path, out: Path, env: dict | None = None, **kw
) -> subprocess.Popen:
    script = tmp / "run_fixture_batch.py"
    script.write_text(_SCRIPT, encoding="utf-8")
    args = {
        "regions": ["R1", "R2"],
        "notebooks": sorted(p.stem for p in nb_dir.glob("*.ipynb")),
        "out": str(out),
        "processed_dir": str(tmp),
        "params_dir": str(params),
        "notebooks_dir": str(nb_dir),
        **kw,
    }
    return subprocess.Popen(
        [sys.executable, str(script), json.dumps(args)],
        cwd=tmp,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env=env,
    )


def _wait_for(cond, timeout: float, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        if proc.poll() is not None:
            raise AssertionError(f"batch ended early:\n{proc.stdout.read().decode()}")
        time.sleep(0.2)
    proc.kill()
    raise AssertionError(f"condition not reached in {timeout} s")


@pytest.mark.parametrize("how", ["sigterm", "ctrl_c"])
def test_interrupted_batch_keeps_done_reports_and_leaves_nothing_running(
    tmp_path: Path, how: str, request: pytest.FixtureRequest
) -> None:
    out = _reports_with_earlier_run(tmp_path / "reports")
    params = _params(tmp_path / "params", model_cache=False)
    nbs = _notebooks(tmp_path / "nb", **{NB1: "ok", NB2: "sleep"})
    # the batch's temporary folders, short (kernel sockets live there) and its own
    scratch = Path(tempfile.mkdtemp(prefix="ba-"))
    request.addfinalizer(lambda: shutil.rmtree(scratch, ignore_errors=True))
    env = {**os.environ, "TMPDIR": str(scratch)}
    proc = _start_batch(tmp_path, nbs, params, out, env=env, run_id="stopped", jobs=1)
    run_dir = out / "stopped"
    # jobs run in order R1/01, R1/02 (sleeps), R2/01, R2/02 on one worker
    _wait_for(lambda: (run_dir / "R1" / NB2 / "started.txt").is_file(), 90, proc)
    descendants = psutil.Process(proc.pid).children(recursive=True)
    # a fresh kernel runs ipykernel_launcher; a warm one is forked from the worker's zygote
    # (python -m bankanalysis.batch.kernels), whose command line it keeps
    kernels = [
        p
        for p in descendants
        if re.search(r"ipykernel|bankanalysis\.batch\.kernels", " ".join(p.cmdline()))
    ]
    assert kernels, "no kernel seen"
    if how == "sigterm":
        os.kill(proc.pid, signal.SIGTERM)
    else:  # a terminal's Ctrl-C reaches the whole foreground process group
        os.killpg(proc.pid, signal.SIGINT)
    try:
        rc = proc.wait(60)
    except subprocess.TimeoutExpired:
        # what was still running, and the batch's log, say where it hung (a rare failure)
        alive = []
        for p in psutil.Process(proc.pid).children(recursive=True):
            with contextlib.suppress(psutil.Error):
                alive.append(f"{p.pid} {p.status()} {' '.join(p.cmdline())[:120]}")
        os.killpg(proc.pid, signal.SIGKILL)
        log = proc.stdout.read().decode(errors="replace")[-4000:]
        raise AssertionError(
            f"the batch did not stop within 60 s of the signal; still running: {alive};"
            f" its log:\n{log}"
        ) from None
    log = proc.stdout.read().decode()
    assert rc == 130, log  # the batch's exit code for an interrupted run
    gone, alive = psutil.wait_procs(descendants, timeout=10)
    assert not alive, f"left running after the batch stopped: {[p.cmdline() for p in alive]}"
    # the killed worker's job folder (kernel sockets, the job marker) went with its worker
    left = sorted(p.relative_to(scratch).as_posix() for p in scratch.rglob("*"))
    assert not left, f"the stopped batch left temporary files behind: {left}"
    _assert_incomplete_run(run_dir, out, [f"R1/{NB2}", f"R2/{NB1}", f"R2/{NB2}"], [f"R1/{NB1}"])
    manifest = _manifest(run_dir)
    assert manifest["finished"], "the manifest was not finalised"
    assert manifest["reason"] == "interrupted"
    assert _statuses(manifest)[f"R1/{NB2}"] == "interrupted", _statuses(manifest)
    index = (run_dir / "index.html").read_text(encoding="utf-8")
    assert "This run is incomplete: interrupted" in index

    if how != "sigterm":
        return
    # a re-run with the same inputs finishes the rest (here: everything) and becomes latest
    _notebooks(nbs, **{NB2: "ok"})
    again = _batch(tmp_path, nbs, params, out, "resumed", ["R1", "R2"])
    assert again.status == "complete" and os.readlink(out / "latest") == "resumed"


# --------------------------------------------------------------------------- determinism

_STAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?")


def normalise_html(text: str, run_id: str) -> str:
    """Blank what legitimately differs between two runs: run id and time stamps."""
    return _STAMP.sub("<time>", text.replace(run_id, "<run>"))


def test_same_inputs_same_reports(tmp_path: Path) -> None:
    """A second run on the same data and parameters gives identical metrics and HTML
    (apart from run id and time stamps) and the same job keys."""
    nb_dir = tmp_path / "nb"
    nb_dir.mkdir()
    shutil.copyfile(NOTEBOOK_FIXTURES / "kernels" / "report_like.ipynb", nb_dir / f"{NB1}.ipynb")
    common = dict(
        regions=["R01", "R02"],  # R02's name is <script>alert(1)</script>
        notebooks=[NB1],
        jobs=2,
        out=tmp_path / "reports",
        processed_dir=make_processed(tmp_path / "processed"),
        params_dir=make_params(tmp_path / "params"),
        notebooks_dir=nb_dir,
        progress=False,
    )
    first, again = (
        run_batch(run_id=run_id, **common) for run_id in ("run-one-7f3a", "run-two-9c1e")
    )
    assert first.status == again.status == "complete"
    m1, m2 = _manifest(first.run_dir), _manifest(again.run_dir)
    keys1 = {j["name"]: j["key"] for j in m1["jobs"]}
    keys2 = {j["name"]: j["key"] for j in m2["jobs"]}
    assert set(keys1) == set(keys2) == {f"R01/{NB1}", f"R02/{NB1}"}
    differences = [f"{n}: job key" for n in sorted(keys2) if keys1[n] != keys2[n]]
    for job in m2["jobs"]:
        folder, nb = job["name"].split("/")
        metrics = [run / folder / nb / "metrics.json" for run in (first.run_dir, again.run_dir)]
        assert json.loads(metrics[0].read_text(encoding="utf-8"))["holdout_auc"] > 0.5
        if metrics[0].read_bytes() != metrics[1].read_bytes():
            differences.append(f"{job['name']}/metrics.json")
        # the git commit moves when someone commits between the runs (a shared working tree)
        pages = [
            normalise_html(
                (run / folder / f"{nb}.html").read_text(encoding="utf-8"), m["run_id"]
            ).replace(m["git_commit"], "<commit>")
            for run, m in ((first.run_dir, m1), (again.run_dir, m2))
        ]
        assert 'src="data:image/png;base64,' in pages[0] and "<table" in pages[0]
        if pages[0] != pages[1]:
            a, b = pages
            at = next((i for i in range(min(len(a), len(b))) if a[i] != b[i]), min(len(a), len(b)))
            lo = max(0, at - 60)
            differences.append(
                f"{job['name']}.html at {at}: {a[lo : at + 60]!r} vs {b[lo : at + 60]!r}"
            )
    assert not differences, "runs differ:\n" + "\n".join(differences)


# --------------------------------------------------------------------------- prepare


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_prepare_killed_mid_build_leaves_processed_as_it_was(ci_bank, tmp_path: Path) -> None:
    """SIGKILL while the new processed folder is being built: the old one is intact, the next
    prepare completes and no half-built folder is left behind."""
    from tinybank import write_tiny_bank

    from bankanalysis.cli import main

    out = tmp_path / "processed"
    assert (
        main(
            ["data", "prepare", "--raw", str(write_tiny_bank(tmp_path / "tiny")), "--out", str(out)]
        )
        == 0
    )
    before = _tree(out)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bankanalysis.cli",
            "-q",
            "data",
            "prepare",
            "--raw",
            str(ci_bank.raw),
            "--out",
            str(out),
        ],
        cwd=tmp_path,
        start_new_session=True,
    )

    def building() -> bool:
        return any(
            f.is_file() for d in tmp_path.glob(".processed*") if d.is_dir() for f in d.rglob("*")
        )

    _wait_for(building, 120, proc)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)
    assert _tree(out) == before, "a killed prepare changed the processed folder"

    assert main(["data", "prepare", "--raw", str(ci_bank.raw), "--out", str(out)]) == 0
    manifest = json.loads((out / "_manifest.json").read_text(encoding="utf-8"))
    expected = json.loads((ci_bank.processed / "_manifest.json").read_text(encoding="utf-8"))
    assert manifest["fingerprint"] == expected["fingerprint"]
    assert manifest["row_counts"] == expected["row_counts"]
    leftovers = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".processed"))
    assert not leftovers, f"half-built folders of the killed prepare were left behind: {leftovers}"
