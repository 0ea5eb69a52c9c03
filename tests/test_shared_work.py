"""Tests of the shared-work ledger (bankanalysis.shared_work)."""

from __future__ import annotations

import json
import time

import pytest

from bankanalysis import shared_work as sw
from bankanalysis.propensity.cache import load_or_build


def test_outside_a_batch_job_nothing_is_written(tmp_path, monkeypatch):
    """In JupyterLab (no marker in the working folder) a shared figure leaves no file."""
    monkeypatch.chdir(tmp_path)
    with sw.shared_work():
        pass
    assert not (tmp_path / sw.LEDGER).exists()
    assert sw.credited_seconds(tmp_path) == 0.0


def test_a_jobs_shared_work_adds_up_and_nested_work_counts_once(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sw.mark_job_folder(tmp_path)
    with sw.shared_work():
        time.sleep(0.05)
        with sw.shared_work():  # a shared figure computed inside another
            time.sleep(0.05)
            inside = json.loads((tmp_path / sw.LEDGER).read_text())
        assert inside["since"] is not None  # the outer one is still in progress
    first = sw.credited_seconds(tmp_path)
    assert 0.1 <= first < 5
    with sw.shared_work():
        time.sleep(0.05)
    ledger = json.loads((tmp_path / sw.LEDGER).read_text())
    assert ledger["since"] is None and ledger["seconds"] == pytest.approx(first + 0.05, abs=2)
    assert ledger["seconds"] > first


def test_a_cached_figure_built_in_a_job_folder_is_credited_and_a_reused_one_is_not(
    tmp_path, monkeypatch
):
    """The models and the run's figures (load_or_build) are built once for every report:
    their build time is the job's credit; reading them back costs no credit."""
    job = tmp_path / "job"
    job.mkdir()
    monkeypatch.chdir(job)
    sw.mark_job_folder(job)
    obj, reused = load_or_build(tmp_path / "cache", "k", lambda: time.sleep(0.1) or 42)
    assert (obj, reused) == (42, False)
    built = sw.credited_seconds(job)
    assert built >= 0.1
    assert load_or_build(tmp_path / "cache", "k", lambda: 0) == (42, True)
    assert sw.credited_seconds(job) == built
