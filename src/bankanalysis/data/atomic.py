"""Atomic writes: every output of the project goes through here.

A temporary file in the same folder, flushed and fsynced, then moved over the final name with
:func:`os.replace`, so a crash never leaves a partial file under the final name; folders are
swapped in whole with :func:`swap_in_dir`.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["atomic_write_bytes", "atomic_write_parquet", "atomic_write_text", "swap_in_dir"]


@contextlib.contextmanager
def _atomic_target(path: Path, suffix: str = "", sync_dir: bool = True) -> Iterator[Path]:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{suffix}", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_umask())
        with open(tmp_path, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp_path.unlink()
        raise
    if sync_dir:
        _fsync_dir(path.parent)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write_bytes(path: Path, data: bytes, sync_dir: bool = True) -> None:
    """Write ``data`` to ``path`` atomically (temp file in the same folder, fsync, rename).

    Parameters
    ----------
    path : Path
        Final file name; its folder is created when missing.
    data : bytes
        Content.
    sync_dir : bool
        Flush the folder too, so the rename survives a crash; a caller writing many files
        into one folder passes False and flushes it once at the end.
    """
    with _atomic_target(Path(path), sync_dir=sync_dir) as tmp, open(tmp, "wb") as f:
        f.write(data)


def atomic_write_text(path: Path, text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` atomically.

    Parameters
    ----------
    path : Path
        Final file name.
    text : str
        Content.
    encoding : str
        Text encoding (UTF-8 by default).
    """
    atomic_write_bytes(Path(path), text.encode(encoding))


def atomic_write_parquet(df: pd.DataFrame | pa.Table, path: Path, **kwargs: object) -> None:
    """Write a DataFrame (or Arrow table) to Parquet atomically, without the pandas index.

    Parameters
    ----------
    df : pandas.DataFrame or pyarrow.Table
        Data to write.
    path : Path
        Final file name.
    **kwargs
        Passed to :func:`pyarrow.parquet.write_table`.
    """
    table = df if isinstance(df, pa.Table) else pa.Table.from_pandas(df, preserve_index=False)
    with _atomic_target(Path(path), ".parquet") as tmp:
        pq.write_table(table, tmp, **kwargs)


def swap_in_dir(tmp_dir: Path, final_dir: Path) -> None:
    """Replace ``final_dir`` by ``tmp_dir`` (same parent folder) as atomically as folders allow.

    On Linux the two folders are exchanged in one atomic ``renameat2(RENAME_EXCHANGE)``, so
    ``final_dir`` exists at every moment; the old content (then under ``tmp_dir``) is deleted.
    Elsewhere (or on file systems without it) the old folder is renamed aside, the new one
    renamed in, then the old one deleted; between the two renames ``final_dir`` is briefly
    absent. If renaming the new one in fails, the old one is put back.

    Parameters
    ----------
    tmp_dir : Path
        Fully written new folder, next to ``final_dir``.
    final_dir : Path
        Folder to replace (may not exist yet).
    """
    tmp_dir, final_dir = Path(tmp_dir), Path(final_dir)
    if final_dir.exists() and _exchange_dirs(tmp_dir, final_dir):
        # One atomic step: readers see either the old or the new folder, never none.
        _fsync_dir(final_dir.parent)
        shutil.rmtree(tmp_dir, ignore_errors=True)  # now holds the old folder
        return
    old = None
    if final_dir.exists():
        old = final_dir.with_name(f".{final_dir.name}.old-{os.getpid()}")
        if old.exists():
            shutil.rmtree(old)
        os.replace(final_dir, old)
    try:
        os.replace(tmp_dir, final_dir)
    except BaseException:
        if old is not None:
            os.replace(old, final_dir)
        raise
    _fsync_dir(final_dir.parent)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _exchange_dirs(a: Path, b: Path) -> bool:
    """Atomically exchange two paths with Linux ``renameat2(RENAME_EXCHANGE)``.

    Returns
    -------
    bool
        False when the platform, C library or file system does not support it (nothing
        was changed); True when exchanged.

    Raises
    ------
    OSError
        On any other failure of the system call.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    at_fdcwd, rename_exchange = -100, 2
    if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(a))
