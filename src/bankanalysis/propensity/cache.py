"""Model cache under ``data/processed/_models/<key>/``, safe for concurrent region runs.

The key is a hash of the processed-data fingerprint (``_manifest.json``) and the training
parameters, so the first notebook of a batch trains and every other region reuses the result.
A lock file serialises training of the same key across processes, and the entry is written to
a temporary folder and renamed into place, so a reader never sees a half-written entry.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import pickle
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bankanalysis.shared_work import shared_work

__all__ = ["cache_key", "cached_for_data", "load_or_build"]

logger = logging.getLogger(__name__)

_BUNDLE = "bundle.pkl"
#: Version of what a cache entry holds; raise it when the fitted models change their attributes
#: (2: probabilities clipped into an open interval), so older entries are never read.
CACHE_FORMAT = 2


def cache_key(fingerprint: str, params: dict[str, Any]) -> str:
    """Short stable hash of the data fingerprint and the training parameters.

    Examples
    --------
    >>> cache_key("abc", {"horizon": 3}) == cache_key("abc", {"horizon": 3})
    True
    >>> cache_key("abc", {"horizon": 3}) == cache_key("abc", {"horizon": 1})
    False
    """
    text = json.dumps(
        {"fingerprint": fingerprint, "params": params, "format": CACHE_FORMAT},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _read(entry: Path) -> Any:
    with open(entry / _BUNDLE, "rb") as fh:
        return pickle.load(fh)


def load_or_build(
    cache_dir: Path, key: str, build: Callable[[], Any], what: str = "propensity models"
) -> tuple[Any, bool]:
    """Return the cached object under ``key``, building and storing it when absent.

    Parameters
    ----------
    cache_dir : Path
        The cache root (``data/processed/_models``).
    key : str
        Entry name (:func:`cache_key`).
    build : callable
        Called without arguments when the entry is missing; its result must pickle.
    what : str
        What is cached, for the log.

    Returns
    -------
    (object, bool)
        The object and whether it came from the cache (``True``) or was built now.
    """
    cache_dir = Path(cache_dir)
    entry = cache_dir / key
    if (entry / _BUNDLE).is_file():
        logger.info("reusing cached %s %s", what, entry)
        return _read(entry), True
    # building, or waiting for another report's build, is work for the whole run: a batch
    # job's timeout does not count it (bankanalysis.shared_work)
    with shared_work(), _locked(cache_dir / f".{key}.lock"):
        if (entry / _BUNDLE).is_file():  # built by another process while we waited
            logger.info("reusing %s built by another run: %s", what, entry)
            return _read(entry), True
        obj = build()
        tmp = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=cache_dir))
        try:
            with open(tmp / _BUNDLE, "wb") as fh:
                pickle.dump(obj, fh, protocol=pickle.HIGHEST_PROTOCOL)
                fh.flush()
                os.fsync(fh.fileno())
            if entry.exists():  # an incomplete entry left by a crashed run
                shutil.rmtree(entry)
            os.replace(tmp, entry)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        logger.info("cached %s in %s", what, entry)
        return obj, False


def cached_for_data(
    bank: Any, folder: str, params: dict[str, Any], build: Callable[[], Any]
) -> tuple[Any, bool]:
    """A figure every report of a run needs, computed once per data, ``params`` and package
    source: stored under ``<processed>/_models/<folder>`` by :func:`load_or_build` (locked
    against parallel workers) and read back by the other reports.

    ``bank`` is the processed data (its ``manifest`` fingerprint and its ``folder``);
    ``params`` says what is computed and from which parameters (``what``, ``month``, ...).
    Without a data fingerprint nothing is cached: ``(build(), False)``.
    """
    from bankanalysis.data.prepare import MODELS_DIR
    from bankanalysis.provenance import package_source_hash

    fingerprint = str(getattr(bank, "manifest", {}).get("fingerprint", ""))
    if not fingerprint:
        return build(), False
    key = cache_key(fingerprint, {**params, "source": package_source_hash()})
    what = str(params.get("what", folder))
    return load_or_build(Path(bank.folder) / MODELS_DIR / folder, key, build, what)
