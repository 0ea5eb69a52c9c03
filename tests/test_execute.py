"""The job watchdog of :mod:`bankanalysis.batch.execute`: a job stops at its timeout."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from types import SimpleNamespace

import pytest

from bankanalysis.batch import execute


def _sleeper() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])


def test_the_watchdog_kills_a_kernel_that_was_still_starting_at_the_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On a loaded machine a short timeout can come before the kernel has a process; the
    watchdog used to give up then, and the notebook ran on to the per-cell backstop (36 s
    for a 6 s timeout). It now waits for the kernel and kills it."""
    monkeypatch.setattr(execute, "WATCHDOG_RETRY_S", 0.05)
    provisioner = SimpleNamespace(pid=None)  # the kernel has not started yet
    client = SimpleNamespace(km=SimpleNamespace(provisioner=provisioner))
    thread_id = 123456789
    monkeypatch.setitem(execute._ACTIVE_CLIENTS, thread_id, client)
    fired, done = threading.Event(), threading.Event()
    watchdog = threading.Thread(target=execute._kill_kernel, args=(thread_id, fired, done))
    kernel = _sleeper()
    try:
        watchdog.start()
        time.sleep(0.3)
        assert fired.is_set() and watchdog.is_alive() and kernel.poll() is None
        provisioner.pid = kernel.pid  # the kernel starts after the timeout
        assert kernel.wait(30) == -9, "the late kernel was not killed"
        watchdog.join(5)
        assert not watchdog.is_alive()
    finally:
        done.set()
        kernel.kill()
        kernel.wait()


def test_the_watchdog_stops_looking_when_the_job_has_ended(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(execute, "WATCHDOG_RETRY_S", 0.05)
    fired, done = threading.Event(), threading.Event()
    watchdog = threading.Thread(target=execute._kill_kernel, args=(987654321, fired, done))
    watchdog.start()
    time.sleep(0.2)
    assert watchdog.is_alive()  # no client, no kernel yet: still looking
    done.set()
    watchdog.join(5)
    assert fired.is_set() and not watchdog.is_alive()


def _watch(monkeypatch: pytest.MonkeyPatch, workdir, timeout_s: float):
    """A watchdog over a sleeping stand-in kernel, its extra seconds and the kernel."""
    from bankanalysis.shared_work import mark_job_folder

    mark_job_folder(workdir)
    kernel = _sleeper()
    client = SimpleNamespace(km=SimpleNamespace(provisioner=SimpleNamespace(pid=kernel.pid)))
    thread_id = 55555
    monkeypatch.setitem(execute._ACTIVE_CLIENTS, thread_id, client)
    fired, done, extra = threading.Event(), threading.Event(), [0.0]
    watchdog = threading.Thread(
        target=execute._watchdog, args=(thread_id, fired, done, timeout_s, workdir, extra)
    )
    return watchdog, fired, done, extra, kernel


def test_the_watchdog_waits_while_the_kernel_computes_figures_the_run_shares(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    """The first report of a 10M run was killed at its timeout while computing the figures
    every report reads (1,140 of its 1,200 s): the deadline now moves by the seconds the
    kernel's ledger says it spent on them, and the kernel is killed once they stop."""
    import json

    from bankanalysis.shared_work import LEDGER

    ledger = tmp_path / LEDGER
    ledger.write_text(json.dumps({"seconds": 0.0, "since": time.time()}))  # computing
    watchdog, fired, done, extra, kernel = _watch(monkeypatch, tmp_path, 1.0)
    try:
        watchdog.start()
        time.sleep(1.5)  # past the timeout, inside its credit (at most 2 s more)
        assert kernel.poll() is None and not fired.is_set() and extra[0] >= 1.0
        ledger.write_text(json.dumps({"seconds": 0.5, "since": None}))  # done: no more credit
        assert kernel.wait(30) == -9, "the kernel was not killed once the shared work ended"
        assert fired.is_set()
    finally:
        done.set()
        kernel.kill()
        kernel.wait()


def test_the_watchdog_grants_at_most_max_credit_timeouts_more(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    """A shared computation that never ends still ends the job: at most MAX_CREDIT times the
    timeout more."""
    import json

    from bankanalysis.shared_work import LEDGER, MAX_CREDIT

    (tmp_path / LEDGER).write_text(json.dumps({"seconds": 0.0, "since": time.time() - 1000}))
    watchdog, fired, done, extra, kernel = _watch(monkeypatch, tmp_path, 0.2)
    try:
        watchdog.start()
        assert kernel.wait(30) == -9
        assert fired.is_set() and extra[0] == pytest.approx(MAX_CREDIT * 0.2)
    finally:
        done.set()
        kernel.kill()
        kernel.wait()
