"""A write that fails half-way never leaves a partial file under the final name.

Covers the atomic write helpers of :mod:`bankanalysis.data.io` (bytes, text, Parquet, folder
swap) and :class:`bankanalysis.report.metrics.MetricsRecorder`. Failures are simulated by
monkeypatching the file object so that it writes part of the data and then raises (a full
disk), or by interrupting with ``KeyboardInterrupt`` (Ctrl-C) at the same point.
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import json
import os
import resource
import signal
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from bankanalysis.data import atomic as bio
from bankanalysis.report.metrics import MetricsRecorder, read_metrics


class _HalfWriter:
    """File wrapper whose first big write stores half the data, then raises ``exc``."""

    def __init__(self, fh, exc: BaseException) -> None:
        self._fh = fh
        self._exc = exc

    def write(self, data):
        half = len(data) // 2
        self._fh.write(data[:half])
        self._fh.flush()
        raise self._exc

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self._fh.close()
        return False

    def __getattr__(self, name):
        return getattr(self._fh, name)


def _failing_open(exc: BaseException, paths_opened: list[Path]):
    """An ``open`` that fails half-way through writing (any mode with ``w``)."""
    real_open = builtins.open

    def fake_open(file, mode="r", *args, **kwargs):
        fh = real_open(file, mode, *args, **kwargs)
        if "w" in mode:
            paths_opened.append(Path(file))
            return _HalfWriter(fh, exc)
        return fh

    return fake_open


def _disk_full() -> OSError:
    return OSError(errno.ENOSPC, "No space left on device")


def _entries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --------------------------------------------------------------------------- data.io


@pytest.mark.parametrize("exc", [_disk_full(), KeyboardInterrupt()], ids=["disk_full", "ctrl_c"])
@pytest.mark.parametrize("helper", ["bytes", "text"])
def test_failed_write_keeps_the_old_file_and_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exc: BaseException, helper: str
) -> None:
    final = tmp_path / "out" / "report.html"
    final.parent.mkdir()
    old = "<html>old report, complete</html>\n" * 50
    final.write_text(old, encoding="utf-8")
    new = "<html>new report</html>\n" * 500
    opened: list[Path] = []
    monkeypatch.setattr(bio, "open", _failing_open(exc, opened), raising=False)
    with pytest.raises(type(exc)):
        if helper == "bytes":
            bio.atomic_write_bytes(final, new.encode("utf-8"))
        else:
            bio.atomic_write_text(final, new)
    # the half-write really happened (to a temporary name in the same folder)...
    assert opened and all(p.parent == final.parent and p != final for p in opened)
    # ...and left neither a partial final file nor the temporary one
    assert final.read_text(encoding="utf-8") == old
    assert _entries(final.parent) == ["report.html"]


def test_failed_first_write_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    final = tmp_path / "new" / "metrics.json"
    monkeypatch.setattr(bio, "open", _failing_open(_disk_full(), []), raising=False)
    with pytest.raises(OSError):
        bio.atomic_write_text(final, json.dumps({"a": 1.5}) * 100)
    assert not final.exists()
    assert _entries(final.parent) == []


def test_failure_when_renaming_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    final = tmp_path / "index.html"
    final.write_bytes(b"old")

    def broken_replace(src, dst):
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(bio.os, "replace", broken_replace)
    with pytest.raises(OSError):
        bio.atomic_write_bytes(final, b"new content")
    monkeypatch.undo()
    assert final.read_bytes() == b"old"
    assert _entries(tmp_path) == ["index.html"]


def test_successful_write_replaces_content_and_leaves_no_temp(tmp_path: Path) -> None:
    final = tmp_path / "a.txt"
    final.write_text("first", encoding="utf-8")
    bio.atomic_write_text(final, "二次写入\n")
    assert final.read_text(encoding="utf-8") == "二次写入\n"
    assert _entries(tmp_path) == ["a.txt"]


def test_atomic_files_get_normal_permissions(tmp_path: Path) -> None:
    """Reports are read by others on the intranet: a temp file's 0600 must not leak through."""
    umask = os.umask(0o022)
    try:
        bio.atomic_write_text(tmp_path / "report.html", "<html></html>")
        plain = tmp_path / "plain.html"
        plain.write_text("<html></html>", encoding="utf-8")
    finally:
        os.umask(umask)
    got = (tmp_path / "report.html").stat().st_mode & 0o777
    assert got == plain.stat().st_mode & 0o777 == 0o644, f"mode {oct(got)}"


def test_parquet_failing_half_way_keeps_the_old_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    final = tmp_path / "customer_month.parquet"
    old = pd.DataFrame({"customer_id": ["C1", "C2"], "aum": [1.0, 2.0]})
    bio.atomic_write_parquet(old, final)
    real_write = pq.write_table
    calls: list[Path] = []

    def half_then_fail(table, where, **kwargs):
        real_write(table, where, **kwargs)
        data = Path(where).read_bytes()
        Path(where).write_bytes(data[: len(data) // 2])
        calls.append(Path(where))
        raise _disk_full()

    monkeypatch.setattr(bio.pq, "write_table", half_then_fail)
    new = pd.DataFrame({"customer_id": [f"C{i}" for i in range(1000)], "aum": range(1000)})
    with pytest.raises(OSError):
        bio.atomic_write_parquet(new, final)
    monkeypatch.undo()
    assert calls and calls[0] != final
    pd.testing.assert_frame_equal(pq.read_table(final).to_pandas(), old)
    assert _entries(tmp_path) == ["customer_month.parquet"]


def test_folder_swap_failing_puts_the_old_folder_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    final = tmp_path / "processed"
    final.mkdir()
    (final / "a.parquet").write_bytes(b"old")
    new = tmp_path / ".processed.tmp"
    new.mkdir()
    (new / "a.parquet").write_bytes(b"new")
    real_replace = os.replace
    n = {"calls": 0}

    def second_call_fails(src, dst):
        n["calls"] += 1
        if n["calls"] == 2:  # 1: old aside, 2: new in
            raise OSError(errno.EIO, "I/O error")
        return real_replace(src, dst)

    # the two-rename fallback (used where an atomic exchange of folders is not available)
    monkeypatch.setattr(bio, "_exchange_dirs", lambda a, b: False)
    monkeypatch.setattr(bio.os, "replace", second_call_fails)
    with pytest.raises(OSError):
        bio.swap_in_dir(new, final)
    monkeypatch.undo()
    assert (final / "a.parquet").read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".processed.tmp", "processed"]


def test_folder_swap_replaces_the_whole_folder(tmp_path: Path) -> None:
    final = tmp_path / "processed"
    final.mkdir()
    (final / "stale.parquet").write_bytes(b"old")
    new = tmp_path / ".processed.tmp"
    new.mkdir()
    (new / "fresh.parquet").write_bytes(b"new")
    bio.swap_in_dir(new, final)
    assert _entries(final) == ["fresh.parquet"]
    assert _entries(tmp_path) == ["processed"]


# --------------------------------------------------------------------------- metrics


@pytest.mark.parametrize("exc", [_disk_full(), KeyboardInterrupt()], ids=["disk_full", "ctrl_c"])
def test_metrics_failing_half_way_keep_the_last_complete_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exc: BaseException
) -> None:
    rec = MetricsRecorder(tmp_path)
    rec.record("customer_share[tier=mass]", 0.8)
    rec.record("customers", 120)
    before = (tmp_path / "metrics.json").read_bytes()
    made: list[Path] = []
    # the recorder writes through bankanalysis.data.atomic's writer
    monkeypatch.setattr(bio, "open", _failing_open(exc, made), raising=False)
    with pytest.raises(type(exc)):
        rec.record("model_auc[product=fund]", 0.71)
    monkeypatch.undo()
    assert made and all(p.parent == tmp_path and p.name != "metrics.json" for p in made)
    assert _entries(tmp_path) == ["metrics.json"], "a half-written temporary file was left behind"
    assert (tmp_path / "metrics.json").read_bytes() == before
    assert read_metrics(tmp_path / "metrics.json") == {
        "customer_share[tier=mass]": 0.8,
        "customers": 120,
    }


@contextlib.contextmanager
def _file_size_limit(limit: int) -> Iterator[None]:
    """Make every write of this process beyond ``limit`` bytes of a file fail (EFBIG).

    An OS-level disk-full that does not depend on how the code under test writes.
    """
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, old_handler)


def test_metrics_hitting_a_full_disk_keep_the_old_file_and_leave_no_temp(tmp_path: Path) -> None:
    rec = MetricsRecorder(tmp_path)
    rec.record("customers", 1)
    before = (tmp_path / "metrics.json").read_bytes()
    with _file_size_limit(64), pytest.raises(OSError):
        rec.record_many({f"customer_share[segment={i}]": i / 100 for i in range(50)})
    assert (tmp_path / "metrics.json").read_bytes() == before
    assert _entries(tmp_path) == ["metrics.json"], "a half-written temporary file was left behind"


def test_metrics_failing_first_write_create_no_metrics_file(tmp_path: Path) -> None:
    with _file_size_limit(16), pytest.raises(OSError):
        MetricsRecorder(tmp_path / "R1").record_many(
            {f"customers[outlet=O{i}]": float(i) for i in range(20)}
        )
    assert not (tmp_path / "R1" / "metrics.json").exists()


@pytest.mark.parametrize("helper", ["text", "parquet"])
def test_io_helpers_hitting_a_full_disk_keep_the_old_file(tmp_path: Path, helper: str) -> None:
    """The same OS-level failure for the data.io helpers (pyarrow writes from C++)."""
    final = tmp_path / ("t.parquet" if helper == "parquet" else "t.html")
    old = pd.DataFrame({"x": [1, 2]})
    new = pd.DataFrame({"x": range(5000), "y": [f"value {i}" for i in range(5000)]})
    if helper == "parquet":
        bio.atomic_write_parquet(old, final)
    else:
        bio.atomic_write_text(final, "old")
    before = final.read_bytes()
    with _file_size_limit(2048), pytest.raises(OSError):
        if helper == "parquet":
            bio.atomic_write_parquet(new, final, compression="none")
        else:
            bio.atomic_write_text(final, new.to_csv())
    assert final.read_bytes() == before
    assert _entries(tmp_path) == [final.name]
