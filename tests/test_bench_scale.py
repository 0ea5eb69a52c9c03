"""The growth benchmark's machinery (benchmarks/scale.py): sizes, measuring, merging figures.

No timed assertions: the structure of the figures, what the measurement sees (a process tree's
memory, a failing command) and how figures merge into reports/bench/latest.json.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._harness import merge_figures, scale_only  # noqa: E402
from benchmarks.scale import (  # noqa: E402
    END_TO_END,
    STAGES,
    StageResult,
    batch_overhead,
    cell_seconds,
    cells_by_notebook,
    disk_gb,
    fit_command,
    fit_job_seconds,
    measure_tree,
    parse_size,
    run_size,
    size_label,
    slowest_cells,
    stage_commands,
)


def test_sizes_parse_and_label_round_trip():
    for text, n in (("1m", 1_000_000), ("3M", 3_000_000), ("10m", 10_000_000), ("2k", 2_000)):
        assert parse_size(text) == n
        assert parse_size(size_label(n)) == n
    assert size_label(2_500_000) == "2.5m"
    assert size_label(1234) == "1234"
    with pytest.raises(ValueError):
        parse_size("50")


def test_measure_tree_sees_a_grandchild_bigger_than_its_parent():
    # the parent stays small; its child holds ~300 MB for a second: the largest single
    # process (not the parent) is what peak_rss_gb reports
    child = "import time; b = bytearray(300 * 1024**2); b[::4096] = b'x' * len(b[::4096]); time.sleep(1)"
    parent = (
        f"import subprocess, sys; subprocess.run([sys.executable, '-c', {child!r}], check=True)"
    )
    # measured from a fresh interpreter: Linux starts a forked child's peak RSS at its parent's,
    # so measured from this test process (large after the tests before it) the bound would
    # read this process's size, not the grandchild's
    measure = (
        "import dataclasses, json, sys; from benchmarks.scale import measure_tree; "
        f"r = measure_tree([sys.executable, '-c', {parent!r}], interval=0.05); "
        "print(json.dumps(dataclasses.asdict(r)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", measure], cwd=ROOT, capture_output=True, text=True, check=True
    )
    res = StageResult(**json.loads(out.stdout.strip().splitlines()[-1]))
    assert 0.28 < res.peak_rss_gb < 0.6
    assert res.peak_tree_rss_gb >= res.peak_rss_gb
    assert res.wall_s >= 1.0
    assert res.cpu_s > 0


def test_measure_tree_raises_when_the_command_fails():
    with pytest.raises(subprocess.CalledProcessError):
        measure_tree([sys.executable, "-c", "raise SystemExit(3)"], interval=0.01)


def test_measure_tree_unchecked_returns_what_a_failing_command_took_and_its_code():
    res = measure_tree(
        [sys.executable, "-c", "import time; time.sleep(0.3); raise SystemExit(3)"],
        interval=0.01,
        check=False,
    )
    assert res.exit_code == 3
    assert res.wall_s >= 0.3
    assert res.peak_rss_gb > 0


def _faked_stages(base: Path, failing: str, jobs: list[dict] | None = None):
    """A ``measure`` for :func:`run_size` that succeeds on every stage but ``failing``
    (exit 1) and writes the batch's manifest (``jobs``)."""

    def measure(cmd: list[str]) -> StageResult:
        stage = "generate" if "generate" in cmd else "prepare" if "prepare" in cmd else "validate"
        if "run" in cmd:
            stage = "reports"
            run_dir = base / "reports" / cmd[cmd.index("--run-id") + 1]
            run_dir.mkdir(parents=True, exist_ok=True)
            manifest = {"jobs": jobs or [{"status": "ok", "notebook": "02", "ipynb": None}]}
            (run_dir / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
        if stage == failing:
            return StageResult(1200.0, 6.4, 7.0, 400.0, 1)
        return StageResult(10.0, 0.5, 0.6, 8.0)

    return measure


def test_a_failed_prepare_keeps_its_figures_and_stops_the_stages_after_it(tmp_path):
    base = tmp_path / "bank"
    figures = run_size(500, base, measure=_faked_stages(base, "prepare"))
    assert figures["scale_500_prepare_s"] == 1200.0
    assert figures["scale_500_prepare_cpu_s"] == 400.0
    assert figures["scale_500_prepare_peak_rss_gb"] == 6.4
    assert figures["scale_500_prepare_exit_code"] == 1.0
    assert figures["scale_500_generate_s"] == 10.0
    assert figures["scale_500_peak_rss_gb"] == 6.4
    assert not [k for k in figures if k.startswith("scale_500_reports")]
    assert "scale_500_fit_job_s" not in figures
    assert "scale_500_end_to_end_s" not in figures


def test_a_batch_with_a_timed_out_job_keeps_the_stage_and_the_finished_jobs(tmp_path):
    base = tmp_path / "bank"
    fit = "02_cross_sell_propensity"
    jobs = [
        {"status": "timeout", "notebook": fit, "region_id": "R02", "ipynb": "R02/02.ipynb"},
        {"status": "ok", "notebook": "01", "region_id": "R01", "ipynb": "R01/01.ipynb"},
        {"status": "not_run", "notebook": "03", "region_id": "R01", "ipynb": None},
        # the fitting job: the 02 that started first (12:00:00), not the one listed first
        {
            "status": "ok",
            "notebook": fit,
            "region_id": "R01",
            "ipynb": "R01/02.ipynb",
            "duration_s": 600.0,
            "finished": "2026-12-03T12:10:00Z",
        },
    ]
    jobs[0].update(duration_s=1200.0, finished="2026-12-03T12:30:00Z")  # started 12:10
    measure = _faked_stages(base, "reports", jobs)

    def measure_with_a_finished_job(cmd: list[str]) -> StageResult:
        if "all" in cmd:  # the batch executed R01's 01 before its failure
            _notebook(base / "reports" / "all" / "R01" / "01.ipynb", [2.0, 3.5], ["a", "tiers()"])
        return measure(cmd)

    figures = run_size(500, base, measure=measure_with_a_finished_job)
    assert figures["scale_500_reports_s"] == 1200.0
    assert figures["scale_500_reports_cpu_s"] == 400.0
    assert figures["scale_500_reports_exit_code"] == 1.0
    assert figures["scale_500_reports_jobs_not_ok"] == 2.0
    assert figures["scale_500_fit_job_s"] == 600.0
    assert figures["scale_500_reports_01_cell_s"] == 5.5
    assert "scale_500_end_to_end_s" not in figures


def test_the_fitting_job_is_the_first_propensity_job_to_start(tmp_path):
    def job(notebook, seconds, finished):
        return {"notebook": notebook, "duration_s": seconds, "finished": finished}

    fit = "02_cross_sell_propensity"
    jobs = [
        job("01_customer_segmentation", 50.0, "2026-12-03T12:00:10Z"),  # earliest, not a 02
        job(fit, 100.0, "2026-12-03T12:05:00Z"),  # started 12:03:20
        job(fit, 400.0, "2026-12-03T12:06:00Z"),  # started 11:59:20: the fitting job
        job(fit, None, None),  # not run
    ]
    (tmp_path / "manifest.json").write_text(json.dumps({"jobs": jobs}), encoding="utf-8")
    assert fit_job_seconds(tmp_path) == 400.0
    (tmp_path / "manifest.json").write_text(json.dumps({"jobs": jobs[:1]}), encoding="utf-8")
    assert fit_job_seconds(tmp_path) is None
    assert fit_job_seconds(tmp_path / "missing") is None


def test_stage_commands_cover_every_stage_in_order(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    cmds = stage_commands(tmp_path, 2_000, n_regions=120, jobs=2)
    assert [s for s, _ in cmds] == list(STAGES)
    assert "fit" not in STAGES  # the models are fitted inside the batch, as make reports does
    gen = dict(cmds)["generate"]
    assert gen[gen.index("--customers") + 1] == "2000"
    assert gen[gen.index("--regions") + 1] == "120"
    reports = dict(cmds)["reports"]
    assert "--notebooks" not in reports and "--force" in reports
    assert reports[reports.index("--jobs") + 1] == "2"
    (tmp_path / "processed").mkdir()
    pq.write_table(
        pa.table({"region_id": ["R07", "R01"]}), tmp_path / "processed" / "regions.parquet"
    )
    fit = fit_command(tmp_path)
    assert fit[fit.index("--notebooks") + 1] == "02_cross_sell_propensity"
    assert fit[fit.index("--regions") + 1] == "R07"
    assert fit[fit.index("--jobs") + 1] == "1"


def test_run_size_figures_on_a_tiny_bank(tmp_path):
    """Generate, validate and prepare for real (500 customers); the batch faked."""
    seen: list[str] = []

    def fake_or_real(cmd: list[str]) -> StageResult:
        seen.append(cmd[cmd.index("-q") + 1])
        if cmd[cmd.index("-q") + 1] == "run":
            return StageResult(2.0, 0.5, 0.9)
        return measure_tree(cmd)

    figures = run_size(500, tmp_path / "bank", measure=fake_or_real)
    assert seen == ["data", "data", "data", "run"]
    for stage in STAGES:
        assert figures[f"scale_500_{stage}_s"] > 0
        assert figures[f"scale_500_{stage}_peak_rss_gb"] > 0
    assert figures["scale_500_generate_cpu_s"] > 0
    assert "scale_500_reports_cpu_s" not in figures  # the fake measured no CPU: absent, not 0
    assert figures["scale_500_end_to_end_s"] == pytest.approx(
        sum(figures[f"scale_500_{s}_s"] for s in END_TO_END)
    )
    assert "validate" not in END_TO_END
    assert figures["scale_500_peak_rss_gb"] == max(
        figures[f"scale_500_{s}_peak_rss_gb"] for s in STAGES
    )
    assert figures["scale_500_peak_tree_rss_gb"] >= 0.9
    bank = tmp_path / "bank"
    assert figures["scale_500_disk_gb"] == pytest.approx(disk_gb(bank / "raw", bank / "processed"))
    assert 0 < figures["scale_500_disk_gb"] < 0.1


def test_run_size_without_every_stage_has_no_end_to_end(tmp_path):
    figures = run_size(
        500,
        tmp_path / "bank",
        measure=lambda cmd: StageResult(1.0, 0.1, 0.1),
        stages=("generate", "validate"),
    )
    assert set(figures) == {
        "scale_500_generate_s",
        "scale_500_generate_peak_rss_gb",
        "scale_500_validate_s",
        "scale_500_validate_peak_rss_gb",
        "scale_500_peak_rss_gb",
        "scale_500_peak_tree_rss_gb",
        "scale_500_disk_gb",
    }
    assert figures["scale_500_disk_gb"] == 0.0  # nothing generated by the fake


def _notebook(path: Path, durations: list[float | None], sources: list | None = None) -> None:
    sources = sources or [""] * len(durations)
    cells = [
        {"source": src, "metadata": {"papermill": {"duration": d}}}
        for d, src in zip(durations, sources, strict=True)
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"cells": cells}), encoding="utf-8")


def test_batch_overhead_is_worker_time_outside_cells_per_job(tmp_path):
    _notebook(tmp_path / "R01" / "a.ipynb", [1.0, 2.0, None])
    _notebook(tmp_path / "R02" / "a.ipynb", [4.0])
    jobs = [{"ipynb": "R01/a.ipynb"}, {"ipynb": "R02/a.ipynb"}]
    (tmp_path / "manifest.json").write_text(
        json.dumps({"status": "complete", "jobs": jobs}), encoding="utf-8"
    )
    assert cell_seconds(tmp_path / "R01" / "a.ipynb") == 3.0
    got = batch_overhead(tmp_path, wall_s=5.0, workers=2)
    assert got == {"jobs": 2.0, "cell_s": 7.0, "per_job_overhead_s": 1.5}
    (tmp_path / "manifest.json").write_text(
        json.dumps({"status": "failed", "reason": "x", "jobs": jobs}), encoding="utf-8"
    )
    with pytest.raises(RuntimeError, match="failed"):
        batch_overhead(tmp_path, wall_s=5.0, workers=2)


def test_merge_keeps_other_figures_and_new_ones_win(tmp_path):
    out = tmp_path / "bench" / "latest.json"
    merge_figures(out, {"batch_cold_s": 10.0, "scale_1m_end_to_end_s": 200.0})
    got = merge_figures(out, {"scale_1m_end_to_end_s": 190.0, "scale_3m_end_to_end_s": 600})
    assert got == {
        "batch_cold_s": 10.0,
        "scale_1m_end_to_end_s": 190.0,
        "scale_3m_end_to_end_s": 600.0,
    }
    assert json.loads(out.read_text(encoding="utf-8")) == got
    assert list(got) == sorted(got)
    assert [p.name for p in out.parent.iterdir()] == ["latest.json"]  # no temp file left


def test_a_new_run_of_a_size_replaces_every_earlier_figure_of_that_size(tmp_path):
    out = tmp_path / "latest.json"
    merge_figures(
        out, {"scale_10m_fit_s": 900.0, "scale_10m_reports_s": 1300.0, "scale_3m_fit_s": 300.0}
    )
    got = merge_figures(out, {"scale_10m_reports_s": 1400.0}, drop_prefix="scale_10m_")
    assert got == {"scale_10m_reports_s": 1400.0, "scale_3m_fit_s": 300.0}


def test_a_full_bench_run_keeps_only_the_scale_figures(tmp_path):
    out = tmp_path / "latest.json"
    merge_figures(
        out,
        {"batch_cold_s": 10.0, "scale_10m_disk_gb": 30.0, "batch_120_regions_s": 900.0},
    )
    got = merge_figures(out, {"dea_2000_s": 1.0}, replace=True)
    assert got == {"batch_120_regions_s": 900.0, "dea_2000_s": 1.0, "scale_10m_disk_gb": 30.0}
    assert scale_only("batch_per_job_overhead_s") and not scale_only("batch_rerun_s")


def test_merge_survives_a_corrupt_file(tmp_path):
    out = tmp_path / "latest.json"
    out.write_text("{not json", encoding="utf-8")
    assert merge_figures(out, {"a": 1}) == {"a": 1.0}


def test_cells_by_notebook_and_the_slowest_cells_name_where_reports_spend(tmp_path):
    _notebook(tmp_path / "R01" / "seg.ipynb", [1.0, 5.0], ["x = 1", ["\n", "tiers = load()\n"]])
    _notebook(tmp_path / "R02" / "seg.ipynb", [2.0, None], ["a", "b"])
    _notebook(tmp_path / "bank" / "ov.ipynb", [4.5], ["overview()  # slow"])
    jobs = [
        {"notebook": "01_seg", "region_id": "R01", "ipynb": "R01/seg.ipynb"},
        {"notebook": "01_seg", "region_id": "R02", "ipynb": "R02/seg.ipynb"},
        {"notebook": "00_ov", "region_id": None, "ipynb": "bank/ov.ipynb"},
        {"notebook": "03_gone", "region_id": "R03", "ipynb": "R03/missing.ipynb"},
        {"notebook": "02_running", "region_id": "R04", "ipynb": None},
    ]
    (tmp_path / "manifest.json").write_text(json.dumps({"jobs": jobs}), encoding="utf-8")
    assert cells_by_notebook(tmp_path) == {"01_seg": 8.0, "00_ov": 4.5}
    assert slowest_cells(tmp_path, n=3) == [
        ("01_seg", "R01", "tiers = load()", 5.0),
        ("00_ov", "bank", "overview()  # slow", 4.5),
        ("01_seg", "R02", "a", 2.0),
    ]
