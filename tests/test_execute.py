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
