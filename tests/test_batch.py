"""The report batch on fixture notebooks: failure isolation, outputs, manifest, latest, two
batches at once (signals: ``tests/test_faults.py``).

The fixture notebooks (``tests/fixtures/notebooks``) carry the real notebook names and a
planted behaviour per region: ``02`` raises for R02, ``03`` kills its own kernel for R02
and sleeps past its timeout for R03. The processed folder is a minimal one built here
(``_manifest.json`` and ``regions.parquet``), which is all the fixture notebooks read.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from stubbank import EVIL, FIXTURES, make_params, make_processed

from bankanalysis import cli
from bankanalysis.batch import (
    LocalProcessExecutor,
    default_run_id,
    job_key,
    run_batch,
    switch_latest,
)
from bankanalysis.report.html import ERROR_ANCHOR, local_links

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Three runs into one reports folder: complete, then incomplete (failures), then complete."""
    base = tmp_path_factory.mktemp("batch")
    processed = make_processed(base / "processed")
    params = make_params(
        base / "params",
        {"R03": "notebooks:\n  03_outlet_benchmarking:\n    timeout_minutes: 0.25\n"},
    )
    common = dict(
        out=base / "reports",
        processed_dir=processed,
        params_dir=params,
        notebooks_dir=FIXTURES,
        jobs=2,
        progress=False,
    )
    small = dict(regions=["R01"], notebooks=["00_bank_overview", "01_customer_segmentation"])
    a1 = run_batch(run_id="a1", **small, **common)
    failing = run_batch(run_id="failing", **common)
    latest_after_failing = os.readlink(base / "reports" / "latest")
    a2 = run_batch(run_id="a2", **small, **common)
    return {
        "out": base / "reports",
        "a1": a1,
        "a2": a2,
        "failing": failing,
        "latest_after_failing": latest_after_failing,
    }


@pytest.fixture(scope="module")
def failing_run(runs: dict):
    return runs["failing"]


def _statuses(result) -> dict[str, str]:
    return {r.name: r.status for r in result.results}


def test_failures_are_isolated(failing_run) -> None:
    assert _statuses(failing_run) == {
        "_bank/00_bank_overview": "ok",
        "R01/01_customer_segmentation": "ok",
        "R01/02_cross_sell_propensity": "ok",
        "R01/03_outlet_benchmarking": "ok",
        "R02/01_customer_segmentation": "ok",
        "R02/02_cross_sell_propensity": "failed",
        "R02/03_outlet_benchmarking": "killed",
        "R03/01_customer_segmentation": "ok",
        "R03/02_cross_sell_propensity": "ok",
        "R03/03_outlet_benchmarking": "timeout",
    }
    assert failing_run.status == "incomplete"
    assert failing_run.exit_code == 1
    by_name = {r.name: r for r in failing_run.results}
    assert by_name["R02/02_cross_sell_propensity"].error == "ValueError: planted failure for R02"
    assert "0.25 minutes" in by_name["R03/03_outlet_benchmarking"].error
    # the sleeping notebook was stopped at its timeout (15 s), not after its 600 s sleep
    assert 15 <= by_name["R03/03_outlet_benchmarking"].duration_s < 120
    # the cells after the failure did not run: their metric is absent
    assert "after_failure" not in by_name["R02/02_cross_sell_propensity"].metrics
    assert by_name["R01/02_cross_sell_propensity"].metrics["after_failure"] == 1


def test_every_job_keeps_its_notebook_and_report(failing_run) -> None:
    run_dir = failing_run.run_dir
    for r in failing_run.results:
        assert (run_dir / r.html).is_file(), r.name
        assert (run_dir / r.ipynb).is_file(), r.name
        assert r.html == f"{r.name}.html"
    failed = (run_dir / "R02/02_cross_sell_propensity.html").read_text(encoding="utf-8")
    assert f'id="{ERROR_ANCHOR}"' in failed
    assert "planted failure for R02" in failed
    for name in ("R02/03_outlet_benchmarking", "R03/03_outlet_benchmarking"):
        page = (run_dir / f"{name}.html").read_text(encoding="utf-8")
        assert page.count(f'id="{ERROR_ANCHOR}"') == 1, name


def test_reports_have_no_code_no_external_urls_and_embedded_images(failing_run) -> None:
    for r in failing_run.results:
        page = (failing_run.run_dir / r.html).read_text(encoding="utf-8")
        assert "regions.groupby" not in page, r.name  # input code hidden
        assert "MetricsRecorder(output_dir)" not in page, r.name
        assert "<script" not in page.lower(), r.name
        srcs = re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)["']""", page, flags=re.I)
        assert not [s for s in srcs if re.match(r"(?i)(https?:)?//", s)], r.name
        assert page.count('src="data:image/png;base64,') >= 1, r.name
        assert "fp-test-0001" in page, r.name
        header, appendix = page[: page.index("</header>")], page[page.index('id="appendix"') :]
        assert "2024-03" in header  # data month on top, versions in the appendix at the end
        assert "bankanalysis " in appendix and "fp-test-0001" in appendix


def test_index_marks_failures_and_every_link_resolves(failing_run) -> None:
    run_dir = failing_run.run_dir
    page = (run_dir / "index.html").read_text(encoding="utf-8")
    links = local_links(page)
    for name in (
        "R02/02_cross_sell_propensity",
        "R02/03_outlet_benchmarking",
        "R03/03_outlet_benchmarking",
    ):
        assert f"{name}.html#{ERROR_ANCHOR}" in links
    assert "R01/01_customer_segmentation/leads.csv" in links  # side outputs are linked
    for link in links:
        target = run_dir / link.split("#")[0]
        assert target.is_file(), link
    assert page.count('class="status ok"') == 7
    assert "This run is incomplete: 3 jobs failed" in page


def test_names_from_the_data_are_escaped(failing_run) -> None:
    run_dir = failing_run.run_dir
    pages = [run_dir / "index.html", run_dir / "R02/01_customer_segmentation.html"]
    pages.append(run_dir / "_bank/00_bank_overview.html")  # shows the regions table
    for path in pages:
        page = path.read_text(encoding="utf-8")
        assert EVIL not in page, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page, path
        assert page.count("alert(1)") == page.count("&lt;script&gt;alert(1)&lt;/script&gt;")
    assert "East &quot;A&quot; &amp; B" in (run_dir / "index.html").read_text(encoding="utf-8")


def test_manifest_records_every_job(failing_run) -> None:
    m = json.loads((failing_run.run_dir / "manifest.json").read_text(encoding="utf-8"))
    assert (m["run_id"], m["status"], m["reason"]) == ("failing", "incomplete", "3 jobs failed")
    assert m["counts"] == {"ok": 7, "failed": 1, "killed": 1, "timeout": 1}
    assert m["data"]["fingerprint"] == "fp-test-0001"
    assert {"bankanalysis", "papermill", "nbconvert", "pandas"} <= set(m["versions"])
    assert len(m["jobs"]) == 10
    for job in m["jobs"]:
        assert re.fullmatch(r"[0-9a-f]{64}", job["key"])
        assert job["input_fingerprint"] == "fp-test-0001"
        assert job["duration_s"] > 0
        assert job["params"]["min_group_size"] == 10
        assert job["params"]["region_id"] == job["region_id"]
    timeouts = {j["name"]: j["params"]["timeout_minutes"] for j in m["jobs"]}
    assert timeouts.pop("R03/03_outlet_benchmarking") == 0.25
    assert set(timeouts.values()) == {20.0}
    assert len({j["key"] for j in m["jobs"]}) == 10
    metrics = json.loads(
        (failing_run.run_dir / "R01/01_customer_segmentation/metrics.json").read_text()
    )
    assert metrics == {"region.echelon": 1, "regions.count": 3}


def test_latest_points_at_the_newest_complete_run(runs: dict) -> None:
    out, a1, a2, failing = runs["out"], runs["a1"], runs["a2"], runs["failing"]
    assert (a1.status, failing.status, a2.status) == ("complete", "incomplete", "complete")
    assert (a1.exit_code, failing.exit_code, a2.exit_code) == (0, 1, 0)
    assert (a1.latest_switched, failing.latest_switched, a2.latest_switched) == (True, False, True)
    assert runs["latest_after_failing"] == "a1"
    assert os.readlink(out / "latest") == "a2"
    assert (out / "latest" / "index.html").is_file()
    assert not [p for p in out.iterdir() if p.name.startswith(".latest.") and "tmp" in p.name]


def _normalise(page: str) -> list[str]:
    """The page's lines with the run time and run id blanked."""
    page = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "<time>", page)
    page = re.sub(r"(>|run_id = )a[12]\b", r"\1<run>", page)
    # other commits may land between the two runs (the commit is in the header)
    page = re.sub(r'"git-commit">[^<]*<', '"git-commit"><commit><', page)
    return page.replace("><", ">\n<").splitlines()


def test_same_inputs_give_identical_metrics_and_reports(runs: dict) -> None:
    a, b = runs["a1"], runs["a2"]
    for name in ("_bank/00_bank_overview", "R01/01_customer_segmentation"):
        ma = (a.run_dir / name / "metrics.json").read_bytes()
        mb = (b.run_dir / name / "metrics.json").read_bytes()
        assert ma == mb
        ha = (a.run_dir / f"{name}.html").read_text(encoding="utf-8")
        hb = (b.run_dir / f"{name}.html").read_text(encoding="utf-8")
        assert ha != hb  # run id and time differ ...
        assert _normalise(ha) == _normalise(hb)  # ... and nothing else
    keys_a = {
        r["name"]: r["key"] for r in json.loads((a.run_dir / "manifest.json").read_text())["jobs"]
    }
    keys_b = {
        r["name"]: r["key"] for r in json.loads((b.run_dir / "manifest.json").read_text())["jobs"]
    }
    assert keys_a == keys_b


def test_older_run_does_not_take_latest_back(runs: dict) -> None:
    out = runs["out"]
    assert switch_latest(out, "a1") is False
    assert os.readlink(out / "latest") == "a2"


def test_parameter_errors_stop_the_batch_before_any_kernel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    processed = make_processed(tmp_path / "processed")
    params = make_params(
        tmp_path / "params", {"R01": "common:\n  materiality: ten\n  colour: blue\n"}
    )

    def no_kernels(self, jobs, on_event):  # pragma: no cover - must not be called
        raise AssertionError("a kernel was about to start")

    monkeypatch.setattr(LocalProcessExecutor, "run", no_kernels)
    code = cli.main(
        [
            "run",
            "--regions",
            "R01,R99,../up",
            "--run-id",
            "../escape",
            "--processed",
            str(processed),
            "--params",
            str(params),
            "--notebooks-dir",
            str(FIXTURES),
            "--out",
            str(tmp_path / "reports"),
            "--no-progress",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert re.search(r"\d+ parameter problems", err)
    for fragment in (
        "run id '../escape' is not a safe id",
        "region id '../up' is not a safe id",
        "region 'R99' is not in the data",
        "materiality: Input should be a valid number",
        "colour: unknown parameter",
    ):
        assert fragment in err, fragment
    assert not (tmp_path / "reports").exists()


def test_job_key_changes_with_inputs_that_change_results(tmp_path: Path) -> None:
    nb = tmp_path / "n.ipynb"
    nb.write_text('{"cells": []}', encoding="utf-8")
    p = {"region_id": "R01", "min_group_size": 10, "output_dir": "/a", "run_id": "x"}
    k = job_key(nb, p, "pkg", "fp")
    assert k == job_key(
        nb, p | {"output_dir": "/b", "run_id": "y", "timeout_minutes": 5}, "pkg", "fp"
    )
    assert k != job_key(nb, p | {"min_group_size": 11}, "pkg", "fp")
    assert k != job_key(nb, p | {"region_id": "R02"}, "pkg", "fp")
    assert k != job_key(nb, p, "pkg2", "fp")
    assert k != job_key(nb, p, "pkg", "fp2")
    assert k != job_key(nb, p, "pkg", "fp", extra={"model": "m1"})
    nb.write_text('{"cells": [1]}', encoding="utf-8")
    assert k != job_key(nb, p, "pkg", "fp")


def test_default_run_id_is_a_safe_utc_stamp() -> None:
    from datetime import UTC, datetime

    assert default_run_id(datetime(2026, 11, 30, 4, 5, 6, tzinfo=UTC)) == "20261130T040506Z"


def test_plan_takes_the_next_free_default_run_id_and_orders_jobs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bankanalysis import batch
    from bankanalysis.batch import plan as batch_plan

    processed = make_processed(tmp_path / "processed")
    params = make_params(tmp_path / "params")
    out = tmp_path / "reports"
    (out / "20261130T040506Z").mkdir(parents=True)
    monkeypatch.setattr(batch_plan, "default_run_id", lambda now=None: "20261130T040506Z")
    plan = batch.plan_jobs(
        regions=["R02", "R01"],
        notebooks=["01_customer_segmentation", "00_bank_overview"],
        run_id=None,
        out=out,
        processed_dir=processed,
        params_dir=params,
        notebooks_dir=FIXTURES,
    )
    assert plan.run_id == "20261130T040506Z-2"
    assert [j.name for j in plan.jobs] == [
        "_bank/00_bank_overview",
        "R01/01_customer_segmentation",
        "R02/01_customer_segmentation",
    ]
    bank_job = plan.jobs[0]
    assert bank_job.html_path == plan.run_dir / "_bank" / "00_bank_overview.html"
    assert bank_job.injected()["output_dir"] == str(plan.run_dir / "_bank" / "00_bank_overview")
    assert bank_job.injected()["region_id"] is None
    assert "timeout_minutes" not in bank_job.injected()
    assert bank_job.header["region_name"] is None
    assert plan.jobs[2].header["region_name"] == EVIL  # escaped only when rendered
    assert plan.jobs[2].header["echelon"] == "2 (key development area)"
    # each report links to the bank overview and its region's other reports
    assert plan.jobs[2].header["siblings"] == [("Bank overview", "../_bank/00_bank_overview.html")]
    assert not (out / plan.run_id).exists()  # planning writes nothing


def test_two_batches_at_once_keep_separate_runs(tmp_path: Path) -> None:
    processed = make_processed(tmp_path / "processed")
    params = make_params(tmp_path / "params")
    out = tmp_path / "reports"
    cmd = [sys.executable, "-m", "bankanalysis.cli", "-q", "run", "--regions", "R01"]
    cmd += ["--notebooks", "00_bank_overview", "--jobs", "1", "--no-progress"]
    cmd += ["--processed", str(processed), "--params", str(params)]
    cmd += ["--notebooks-dir", str(FIXTURES), "--out", str(out)]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)]
    procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [e for _, e in outputs]
    runs = sorted(p.name for p in out.iterdir() if p.is_dir() and not p.is_symlink())
    assert len(runs) == 2 and all(re.fullmatch(r"\d{8}T\d{6}Z(-\d+)?", r) for r in runs)
    for run in runs:
        m = json.loads((out / run / "manifest.json").read_text(encoding="utf-8"))
        assert (m["run_id"], m["status"]) == (run, "complete")
        assert (out / run / "_bank" / "00_bank_overview.html").is_file()
        assert m["jobs"][0]["params"]["run_id"] == run
        index = (out / run / "index.html").read_text(encoding="utf-8")
        for link in local_links(index):
            assert (out / run / link.split("#")[0]).is_file(), f"{run}: dead link {link}"
    started = {
        r: json.loads((out / r / "manifest.json").read_text(encoding="utf-8"))["started"]
        for r in runs
    }
    assert os.readlink(out / "latest") == max(runs, key=lambda r: (started[r], r))
    assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp")]
    assert not [p.name for p in out.iterdir() if p.name.startswith(".latest.") and "tmp" in p.name]


def test_dry_run_lists_jobs_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    processed = make_processed(tmp_path / "processed")
    params = make_params(tmp_path / "params")
    args = ["run", "--dry-run", "--regions", "R01,R03", "--notebooks", "all", "--run-id", "d1"]
    args += ["--processed", str(processed), "--params", str(params)]
    args += ["--notebooks-dir", str(FIXTURES), "--out", str(tmp_path / "reports")]
    assert cli.main(args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("_bank/00_bank_overview  timeout 20 min  key ")
    assert [ln.split()[0] for ln in lines[1:-1]] == [
        f"{r}/{nb}"
        for r in ("R01", "R03")
        for nb in ("01_customer_segmentation", "02_cross_sell_propensity", "03_outlet_benchmarking")
    ]
    assert lines[-1].startswith("7 jobs would run into ")
    assert not (tmp_path / "reports").exists()


def test_model_fitting_job_goes_first_and_its_followers_last(tmp_path: Path) -> None:
    from bankanalysis.batch import Job, execution_order

    def job(rid: str, nb: str, model: str = "") -> Job:
        return Job(rid, nb, tmp_path / f"{nb}.ipynb", tmp_path, {}, model_key=model)

    plan = [
        job("R01", "01_customer_segmentation"),
        job("R01", "02_cross_sell_propensity", "m1"),
        job("R01", "03_outlet_benchmarking"),
        job("R02", "01_customer_segmentation"),
        job("R02", "02_cross_sell_propensity", "m1"),
        job("R02", "03_outlet_benchmarking"),
        job("R03", "02_cross_sell_propensity", "m2"),  # other parameters: its own models
    ]
    order = [(j.region_id, j.notebook[:2]) for j in execution_order(plan)]
    assert order == [
        ("R01", "02"),
        ("R03", "02"),
        ("R01", "01"),
        ("R01", "03"),
        ("R02", "01"),
        ("R02", "03"),
        ("R02", "02"),
    ]
    assert execution_order([]) == []


def test_kernels_get_the_cores_divided_among_the_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    from bankanalysis.batch import limit_threads

    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_WAIT_POLICY"):
        monkeypatch.setenv(var, "")  # records the original, restored after the test
        monkeypatch.delenv(var)
    limit_threads(0)
    assert os.environ["OMP_NUM_THREADS"] == os.environ["OPENBLAS_NUM_THREADS"] == "1"
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"  # threads sleep, never spin
    monkeypatch.delenv("OMP_NUM_THREADS")
    monkeypatch.setenv("MKL_NUM_THREADS", "8")  # what the user set stays
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    limit_threads(3)
    assert (os.environ["OMP_NUM_THREADS"], os.environ["MKL_NUM_THREADS"]) == ("3", "8")
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"


def test_batch_modules_import_one_way_and_stay_small() -> None:
    """Each module of the batch package imports (at the top or inside a function) only modules
    listed before it in the package docstring's order, so there is no import cycle; none is
    over 600 lines."""
    import ast

    import bankanalysis.batch

    order = ["jobs", "keys", "kernels", "execute", "executors", "jobcache", "plan", "progress"]
    order += ["run"]
    folder = Path(bankanalysis.batch.__file__).parent
    assert sorted(p.stem for p in folder.glob("*.py")) == sorted([*order, "__init__"])
    for i, name in enumerate(order):
        path = folder / f"{name}.py"
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for full in names:
                parts = full.split(".")
                if parts[:2] == ["bankanalysis", "batch"]:
                    assert len(parts) > 2, f"{name} imports the package bankanalysis.batch"
                    if parts[2] in order:
                        imported.add(parts[2])
        assert imported <= set(order[:i]), (name, sorted(imported - set(order[:i])))
        assert len(path.read_text(encoding="utf-8").splitlines()) <= 600, name


def test_manifest_records_the_currency_and_the_outlet_names_the_index_searches() -> None:
    from types import SimpleNamespace

    import pandas as pd

    from bankanalysis.batch.run import _currency, _outlets

    outlets = pd.DataFrame({"region_id": ["R1", "R2", "R1"], "name": ["East", "West", "North"]})
    bank = SimpleNamespace(read=lambda name, columns=None: outlets[columns])
    jobs = [SimpleNamespace(params={"currency": "EUR"}), SimpleNamespace(params={})]
    plan = SimpleNamespace(run_id="r", bank=bank, regions=[{"region_id": "R1"}], jobs=jobs)
    assert _currency(plan) == "EUR"
    assert _outlets(plan) == [
        {"name": "East", "region_id": "R1"},
        {"name": "North", "region_id": "R1"},
    ]
    no_outlets = SimpleNamespace(bank=object(), regions=[{"region_id": "R1"}])
    assert _outlets(no_outlets) == []  # the search then finds regions only


def test_every_report_links_to_its_regions_other_reports(failing_run) -> None:
    """Issue 14 §7: a report's header links the index, the bank overview and its region's other
    reports, and every such link resolves in the run folder (failed reports included)."""
    run_dir = failing_run.run_dir
    page = (run_dir / "R01/02_cross_sell_propensity.html").read_text(encoding="utf-8")
    nav = page[page.index("<nav") : page.index("</nav>")]
    links = [link for link in local_links(nav) if not link.startswith("#")]
    assert links == [
        "../index.html",
        "../kpis.html",
        "../_bank/00_bank_overview.html",
        "01_customer_segmentation.html",
        "03_outlet_benchmarking.html",
    ]
    for report in run_dir.glob("*/*.html"):
        text = report.read_text(encoding="utf-8")
        for link in local_links(text[text.index("<nav") : text.index("</nav>")]):
            if not link.startswith("#"):
                assert (report.parent / link).is_file(), (report.name, link)
