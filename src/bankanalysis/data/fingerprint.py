"""Fingerprint of a prepare: the raw files' names, sizes and bytes, the encoding and the code.

When the fingerprint recorded in the processed folder's manifest equals the current one,
prepare has nothing to do.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from bankanalysis import __version__
from bankanalysis.contract import TABLE_ORDER
from bankanalysis.data.io import find_table_file
from bankanalysis.provenance import package_source_hash

#: Bump when the processed layout or a definition changes (part of the fingerprint).
PREPARE_VERSION = "2"


def code_version() -> str:
    """Hash of the package version, :data:`PREPARE_VERSION` and the whole package's source.

    The source hash is :func:`bankanalysis.provenance.package_source_hash` (the one source
    hasher): any edit to any module of the package makes the processed data stale.
    """
    h = hashlib.sha256(f"{__version__}|{PREPARE_VERSION}|".encode())
    h.update(package_source_hash().encode())
    return h.hexdigest()


def raw_files(raw_dir: Path) -> list[Path]:
    """The contract table files present in ``raw_dir`` (``_truth/`` and others excluded)."""
    files = [find_table_file(raw_dir, t) for t in TABLE_ORDER]
    return [f for f in files if f is not None]


def compute_fingerprint(raw_dir: Path, encoding: str = "utf-8") -> str:
    """Return a sha256 over the raw files' names, sizes and contents and the prepare code.

    Parameters
    ----------
    raw_dir : Path
        Folder of raw tables.
    encoding : str
        CSV encoding (part of the fingerprint: it changes what is read).

    Returns
    -------
    str
        Hex digest.
    """
    h = hashlib.sha256()
    h.update(code_version().encode())
    h.update(encoding.lower().replace("_", "-").encode())
    for path in raw_files(Path(raw_dir)):
        h.update(f"|{path.name}|{path.stat().st_size}|".encode())
        with open(path, "rb") as f:
            while chunk := f.read(8 * 1024 * 1024):
                h.update(chunk)
    return h.hexdigest()
