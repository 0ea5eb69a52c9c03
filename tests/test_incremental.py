"""Incremental re-runs: job keys, reuse of earlier outputs by hard link, ``--force``.

The fixture notebooks (``tests/fixtures/notebooks``) run on the minimal processed folder of
``stubbank``; a recording executor tells which jobs were really executed. Decision tested
here: ``00_bank_overview`` receives the defaults only (region overrides never reach it), so
changing one region's parameters re-runs only that region's jobs.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import pytest
from stubbank import FIXTURES, make_params, make_processed

from bankanalysis import batch, cli
from bankanalysis.batch import (
    Executor,
    JobResult,
    LocalProcessExecutor,
    load_job_index,
    notebook_content_hash,
    plan_jobs,
    record_jobs,
    run_batch,
)
from bankanalysis.batch import keys as batch_keys
from bankanalysis.batch import plan as batch_plan
from bankanalysis.provenance import package_root, package_source_hash, source_tree_hash

NOTEBOOKS = ["00_bank_overview", "01_customer_segmentation"]
REGIONS = ["R01", "R02"]
ALL_JOBS = {
    "_bank/00_bank_overview",
    "R01/01_customer_segmentation",
    "R02/01_customer_segmentation",
}


class Recording(Executor):
    """Local processes, remembering which jobs were handed over."""

    def __init__(self) -> None:
        self.ran: list[str] = []

    def run(self, jobs: Sequence[batch.Job], on_event: batch.EventCallback) -> list[JobResult]:
        self.ran.extend(j.name for j in jobs)
        return LocalProcessExecutor(2).run(jobs, on_event)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict:
    base = tmp_path_factory.mktemp("incremental")
    nb_dir = base / "notebooks"
    nb_dir.mkdir()
    for nb in NOTEBOOKS:
        shutil.copy(FIXTURES / f"{nb}.ipynb", nb_dir / f"{nb}.ipynb")
    common = dict(
        out=base / "reports",
        processed_dir=make_processed(base / "processed"),
        params_dir=make_params(base / "params"),
        notebooks_dir=nb_dir,
        regions=REGIONS,
        notebooks=NOTEBOOKS,
        progress=False,
    )
    return {"base": base, "nb_dir": nb_dir, "common": common}


def _run(setup: dict, run_id: str, **kw) -> tuple[batch.RunResult, list[str]]:
    rec = Recording()
    res = run_batch(run_id=run_id, executor=rec, reuse=True, **setup["common"], **kw)
    assert res.status == "complete", [(r.name, r.status, r.error) for r in res.results]
    return res, sorted(rec.ran)


@pytest.fixture(scope="module")
def runs(setup: dict) -> dict:
    """cold -> unchanged -> one region's params -> notebook edits, in one reports folder."""
    out = setup["common"]["out"]
    cold, ran_cold = _run(setup, "cold")
    (out / batch.JOBCACHE_FILE).unlink()  # the index is rebuilt from the manifests
    same, ran_same = _run(setup, "same")
    params = setup["common"]["params_dir"]
    (params / "regions" / "R02.yaml").write_text("common:\n  materiality: 0.01\n", "utf-8")
    r02, ran_r02 = _run(setup, "r02")
    # 01: outputs and execution counts only (JupyterLab saved it after a run) -> no re-run;
    # 00: one source line changed -> re-run
    p01 = setup["nb_dir"] / "01_customer_segmentation.ipynb"
    nb = json.loads(p01.read_text(encoding="utf-8"))
    for i, cell in enumerate(c for c in nb["cells"] if c["cell_type"] == "code"):
        cell["execution_count"] = i + 1
        cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["hello\n"]}]
    p01.write_text(json.dumps(nb), encoding="utf-8")
    p00 = setup["nb_dir"] / "00_bank_overview.ipynb"
    nb = json.loads(p00.read_text(encoding="utf-8"))
    nb["cells"][-1]["source"] = [*nb["cells"][-1]["source"], "\n# edited"]
    p00.write_text(json.dumps(nb), encoding="utf-8")
    edited, ran_edited = _run(setup, "edited")
    return {
        "out": out,
        "cold": (cold, ran_cold),
        "same": (same, ran_same),
        "r02": (r02, ran_r02),
        "edited": (edited, ran_edited),
    }


def test_cold_run_executes_everything(runs: dict) -> None:
    cold, ran = runs["cold"]
    assert ran == sorted(ALL_JOBS)
    assert {r.status for r in cold.results} == {"ok"}


def test_unchanged_rerun_executes_nothing_and_links_outputs(runs: dict) -> None:
    cold, _ = runs["cold"]
    same, ran = runs["same"]
    assert ran == []
    assert {r.name: (r.status, r.reused_from) for r in same.results} == {
        n: ("reused", "cold") for n in ALL_JOBS
    }
    assert same.latest_switched and os.readlink(runs["out"] / "latest") != "cold"
    for r in same.results:
        assert r.outputs, r.name
        for rel in [r.html, r.ipynb, *r.outputs]:
            new, old = os.stat(same.run_dir / rel), os.stat(cold.run_dir / rel)
            assert (new.st_ino, new.st_dev) == (old.st_ino, old.st_dev), rel  # a hard link
    by_cold = {r.name: r for r in cold.results}
    for r in same.results:
        assert r.metrics == by_cold[r.name].metrics and r.metrics
        assert r.duration_s == by_cold[r.name].duration_s
    manifest = json.loads((same.run_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["counts"] == {"reused": 3}
    assert {j["reused_from"] for j in manifest["jobs"]} == {"cold"}
    index = (same.run_dir / "index.html").read_text(encoding="utf-8")
    assert index.count("reused from run cold") == 3


def test_one_regions_parameters_rerun_only_that_region(runs: dict) -> None:
    r02, ran = runs["r02"]
    assert ran == ["R02/01_customer_segmentation"]
    status = {r.name: (r.status, r.reused_from) for r in r02.results}
    # a reuse of a reuse names the run that executed the job
    assert status["R01/01_customer_segmentation"] == ("reused", "cold")
    assert status["_bank/00_bank_overview"] == ("reused", "cold")
    assert status["R02/01_customer_segmentation"] == ("ok", None)
    page = (r02.run_dir / "R02/01_customer_segmentation.html").read_text(encoding="utf-8")
    assert "r02" in page  # executed now: its header carries this run's id


def test_notebook_source_edit_reruns_it_outputs_do_not(runs: dict) -> None:
    edited, ran = runs["edited"]
    assert ran == ["_bank/00_bank_overview"]
    status = {r.name: (r.status, r.reused_from) for r in edited.results}
    assert status["R01/01_customer_segmentation"] == ("reused", "cold")
    assert status["R02/01_customer_segmentation"] == ("reused", "r02")


def test_index_file_lists_where_each_key_lives(runs: dict) -> None:
    edited, _ = runs["edited"]
    index = load_job_index(runs["out"])
    manifest = json.loads((edited.run_dir / "manifest.json").read_text(encoding="utf-8"))
    for job in manifest["jobs"]:
        entry = index[job["key"]]
        assert (entry["name"], entry["run"]) == (job["name"], "edited")
        assert entry["origin"] == (job["reused_from"] or "edited")


def test_force_on_the_command_line_executes_everything(runs: dict, setup: dict) -> None:
    c = setup["common"]
    argv = [
        "run",
        "--regions",
        "R01",
        "--notebooks",
        "01_customer_segmentation",
        "--processed",
        str(c["processed_dir"]),
        "--params",
        str(c["params_dir"]),
        "--notebooks-dir",
        str(setup["nb_dir"]),
        "--out",
        str(c["out"]),
        "--no-progress",
        "--jobs",
        "1",
    ]
    assert cli.main([*argv, "--run-id", "cli_reuse"]) == 0
    assert cli.main([*argv, "--run-id", "cli_force", "--force"]) == 0
    jobs = {
        rid: json.loads((c["out"] / rid / "manifest.json").read_text(encoding="utf-8"))["jobs"]
        for rid in ("cli_reuse", "cli_force")
    }
    assert [(j["status"], j["reused_from"]) for j in jobs["cli_reuse"]] == [("reused", "cold")]
    assert [(j["status"], j["reused_from"]) for j in jobs["cli_force"]] == [("ok", None)]
    assert jobs["cli_force"][0]["key"] == jobs["cli_reuse"][0]["key"]
    page = (c["out"] / "cli_force/R01/01_customer_segmentation.html").read_text(encoding="utf-8")
    assert "cli_force" in page


def _keys(setup: dict, **kw) -> dict[str, str]:
    c = {k: v for k, v in setup["common"].items() if k != "progress"}
    plan = plan_jobs(run_id=None, **c, **kw)
    return {j.name: j.key for j in plan.jobs}


def test_data_fingerprint_and_package_source_change_every_key(
    runs: dict, setup: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _keys(setup)
    assert set(before) == ALL_JOBS
    monkeypatch.setattr(batch_plan, "package_source_hash", lambda: "edited-package")
    after_pkg = _keys(setup)
    monkeypatch.undo()
    processed = setup["common"]["processed_dir"]
    manifest = json.loads((processed / "_manifest.json").read_text(encoding="utf-8"))
    try:
        (processed / "_manifest.json").write_text(
            json.dumps(manifest | {"fingerprint": "fp-test-0002"}), encoding="utf-8"
        )
        after_data = _keys(setup)
    finally:
        (processed / "_manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert _keys(setup) == before
    for changed in (after_pkg, after_data):
        assert all(changed[n] != before[n] for n in ALL_JOBS)


def test_editing_any_package_module_changes_the_source_hash(tmp_path: Path) -> None:
    src = package_root()
    copy = tmp_path / "bankanalysis"
    shutil.copytree(src, copy, ignore=shutil.ignore_patterns("__pycache__"))
    h0 = source_tree_hash(copy)
    assert h0 == source_tree_hash(src) == package_source_hash()
    (copy / "__pycache__").mkdir(exist_ok=True)
    (copy / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"compiled")
    assert source_tree_hash(copy) == h0  # byte code does not count
    for module in sorted(copy.rglob("*.py"))[:: max(1, len(list(copy.rglob("*.py"))) // 4)]:
        original = module.read_bytes()
        module.write_bytes(original + b"\n# edited\n")
        assert source_tree_hash(copy) != h0, module
        module.write_bytes(original)
    assert source_tree_hash(copy) == h0


def test_model_cache_key_enters_the_keys_of_model_notebooks() -> None:
    from bankanalysis.propensity.cache import cache_key
    from bankanalysis.propensity.training import TrainingSettings

    params = {"use_model_cache": True, "horizon": 3, "max_iter": 50, "n_threads": 1}
    expected = cache_key("fp", TrainingSettings(horizon=3, max_iter=50).cache_params())
    assert batch.model_cache_extra(params, "fp") == {"model_cache": expected}
    assert batch.model_cache_extra(params | {"n_threads": 4}, "fp") == {"model_cache": expected}
    assert batch.model_cache_extra(params | {"max_iter": 60}, "fp") != {"model_cache": expected}
    assert batch.model_cache_extra({"use_model_cache": False}, "fp") == {}
    assert batch.model_cache_extra({"min_group_size": 10}, "fp") == {}


def test_notebook_hash_ignores_outputs_and_counts(tmp_path: Path) -> None:
    cell = {"cell_type": "code", "metadata": {}, "source": ["x = 1\n", "x"]}
    plain = {"cells": [cell | {"outputs": [], "execution_count": None}], "metadata": {}}
    ran = {"cells": [cell | {"outputs": [{"data": 1}], "execution_count": 7}], "metadata": {}}
    a, b = tmp_path / "a.ipynb", tmp_path / "b.ipynb"
    a.write_text(json.dumps(plain), encoding="utf-8")
    b.write_text(json.dumps(ran, indent=2), encoding="utf-8")
    assert notebook_content_hash(a) == notebook_content_hash(b)
    tagged = {"cells": [cell | {"metadata": {"tags": ["parameters"]}}], "metadata": {}}
    b.write_text(json.dumps(tagged), encoding="utf-8")
    assert notebook_content_hash(a) != notebook_content_hash(b)
    edited = {"cells": [cell | {"source": "x = 2\nx"}], "metadata": {}}
    b.write_text(json.dumps(edited), encoding="utf-8")
    assert notebook_content_hash(a) != notebook_content_hash(b)


def _record_many(args: tuple[str, int]) -> None:
    out, worker = args
    for i in range(15):
        r = JobResult(name=f"R{worker}/nb{i}", region_id=f"R{worker}", notebook=f"nb{i}")
        r.status, r.duration_s = "ok", float(i)
        record_jobs(out, f"run{worker}", [(f"key-{worker}-{i}", r)])


def test_concurrent_batches_do_not_corrupt_the_job_index(tmp_path: Path) -> None:
    failed = JobResult(name="R9/x", region_id="R9", notebook="x", status="failed")
    record_jobs(tmp_path, "run9", [("key-failed", failed)])
    assert not (tmp_path / batch.JOBCACHE_FILE).exists()  # failures are never reused
    with ProcessPoolExecutor(4, mp_context=get_context("spawn")) as pool:
        list(pool.map(_record_many, [(str(tmp_path), w) for w in range(4)]))
    index = json.loads((tmp_path / batch.JOBCACHE_FILE).read_text(encoding="utf-8"))["jobs"]
    assert len(index) == 60
    assert index["key-3-14"] == {
        "name": "R3/nb14",
        "run": "run3",
        "origin": "run3",
        "duration_s": 14.0,
        "started": None,
        "finished": None,
    }
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".jobcache.json.")]


def test_model_cache_keys_are_remembered_so_reruns_skip_the_model_imports(
    setup: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = {k: v for k, v in setup["common"].items() if k not in ("progress", "out", "notebooks")}
    nbs = ["01_customer_segmentation", "02_cross_sell_propensity"]
    shutil.copy(FIXTURES / f"{nbs[1]}.ipynb", setup["nb_dir"] / f"{nbs[1]}.ipynb")
    first = plan_jobs(run_id=None, out=tmp_path, notebooks=nbs, **c)
    # one memo entry per region's parameters; both share the training settings, so one model
    fp = first.data["fingerprint"]
    model_job = next(j for j in first.jobs if j.notebook == nbs[1])
    assert len(first.model_keys) == 2
    assert set(first.model_keys.values()) == {
        batch.model_cache_extra(model_job.params, fp)["model_cache"]
    }
    record_jobs(tmp_path, "x", [], model_keys=first.model_keys)

    def no_import(*a, **k):  # pragma: no cover - must not be called
        raise AssertionError("model cache key recomputed")

    monkeypatch.setattr(batch_keys, "model_cache_extra", no_import)  # where plan_jobs looks
    second = plan_jobs(run_id=None, out=tmp_path, notebooks=nbs, **c)
    assert second.model_keys == {}
    assert [j.key for j in second.jobs] == [j.key for j in first.jobs]
