"""The Dask executor: a LocalCluster of 2 worker processes gives the same reports as local ones."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from stubbank import FIXTURES, make_params, make_processed

from bankanalysis import cli
from bankanalysis.batch import DaskExecutor, run_batch

distributed = pytest.importorskip("distributed")

NOTEBOOKS = ["00_bank_overview", "01_customer_segmentation"]
NAMES = ["_bank/00_bank_overview", "R01/01_customer_segmentation"]


def _normalise(page: str, run_id: str) -> str:
    page = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "<time>", page)
    page = page.replace(run_id, "<run>")
    return re.sub(r'"git-commit">[^<]*<', '"git-commit"><commit><', page)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    base = tmp_path_factory.mktemp("dask")
    out = base / "reports"
    common = dict(
        regions=["R01"],
        notebooks=NOTEBOOKS,
        processed_dir=make_processed(base / "processed"),
        params_dir=make_params(base / "params"),
        notebooks_dir=FIXTURES,
    )
    local = run_batch(run_id="run_local", out=out, jobs=2, progress=False, **common)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        argv = ["run", "--executor", "dask", "--scheduler", cluster.scheduler_address]
        argv += ["--regions", "R01", "--notebooks", ",".join(NOTEBOOKS), "--no-progress"]
        argv += ["--processed", str(common["processed_dir"]), "--params", str(common["params_dir"])]
        argv += [
            "--notebooks-dir",
            str(FIXTURES),
            "--out",
            str(out),
            "--run-id",
            "run_dask",
            "--force",
        ]
        code = cli.main(argv)
        worker_pids = _pids(cluster)
    # --executor dask without --scheduler starts its own LocalCluster
    own = run_batch(
        run_id="run_own", out=out, progress=False, executor=DaskExecutor(n_workers=2), **common
    )
    return {
        "out": out,
        "run_local": local,
        "code": code,
        "run_own": own,
        "worker_pids": worker_pids,
    }


def _pids(cluster) -> set[int]:
    from distributed import Client

    with Client(cluster) as client:
        return set(client.run(lambda: __import__("os").getpid()).values())


def _manifest(out: Path, run_id: str) -> dict:
    return json.loads((out / run_id / "manifest.json").read_text(encoding="utf-8"))


def test_dask_run_completes_on_the_cluster_workers(runs: dict) -> None:
    assert runs["code"] == 0
    m = _manifest(runs["out"], "run_dask")
    assert m["status"] == "complete"
    assert [(j["name"], j["status"]) for j in m["jobs"]] == [(n, "ok") for n in NAMES]
    # the jobs ran in the cluster's worker processes, not in this one
    assert {j["worker_pid"] for j in m["jobs"]} <= runs["worker_pids"]
    assert runs["run_own"].status == "complete"


@pytest.mark.parametrize("run_id", ["run_dask", "run_own"])
def test_dask_reports_and_metrics_equal_the_local_run(runs: dict, run_id: str) -> None:
    out = runs["out"]
    keys_local = {j["name"]: j["key"] for j in _manifest(out, "run_local")["jobs"]}
    assert {j["name"]: j["key"] for j in _manifest(out, run_id)["jobs"]} == keys_local
    for name in NAMES:
        ml = (out / "run_local" / name / "metrics.json").read_bytes()
        md = (out / run_id / name / "metrics.json").read_bytes()
        assert ml == md and json.loads(md)
        hl = (out / "run_local" / f"{name}.html").read_text(encoding="utf-8")
        hd = (out / run_id / f"{name}.html").read_text(encoding="utf-8")
        assert _normalise(hl, "run_local") == _normalise(hd, run_id)
    side = "R01/01_customer_segmentation/leads.csv"
    assert (out / "run_local" / side).read_bytes() == (out / run_id / side).read_bytes()


def test_scheduler_without_dask_executor_is_refused(tmp_path: Path) -> None:
    code = cli.main(["run", "--scheduler", "tcp://127.0.0.1:1", "--out", str(tmp_path / "r")])
    assert code == 2
    assert not (tmp_path / "r").exists()
