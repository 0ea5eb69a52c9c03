"""Where a result came from: source hashes, the git commit and library versions.

The one place that hashes source code: the batch's job keys, the warm-kernel zygote and
prepare's code version all call :func:`source_tree_hash` (over whole folders, never files
picked by name). Nothing here runs on import.
"""

from __future__ import annotations

import contextlib
import hashlib
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

from bankanalysis import __version__

__all__ = ["git_commit", "package_root", "package_source_hash", "source_tree_hash", "versions"]

#: File kinds that shape results (code, templates, styles, data shipped with the package).
SOURCE_SUFFIXES = (".py", ".j2", ".css", ".json", ".yaml")


def package_root() -> Path:
    """Folder of the installed ``bankanalysis`` package."""
    return Path(__file__).resolve().parent


def source_tree_hash(root: str | Path) -> str:
    """Return a sha256 over the relative names and bytes of the source files under ``root``.

    Source files are those ending in :data:`SOURCE_SUFFIXES`; ``__pycache__`` is left out, so
    byte code does not count. Any edit, addition, removal or rename changes the hash.
    """
    root = Path(root)
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file() and p.suffix in SOURCE_SUFFIXES and "__pycache__" not in p.parts:
            h.update(p.relative_to(root).as_posix().encode())
            h.update(b"\0")
            h.update(p.read_bytes())
            h.update(b"\0")
    return h.hexdigest()


@lru_cache(maxsize=1)
def package_source_hash() -> str:
    """Hash of the whole ``bankanalysis`` package as this process first saw it.

    Any edit to any module changes it (imports are not traced: the conservative choice).
    Use :func:`source_tree_hash` on :func:`package_root` for the source as it is on disk now.
    """
    return source_tree_hash(package_root())


def git_commit(root: Path) -> str:
    """Return the project's git commit (``+dirty`` when tracked files changed), or ``unknown``."""
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head}+dirty" if dirty else head


def versions() -> dict[str, str]:
    """Versions of the software that shapes the reports."""
    from importlib import metadata

    out = {"bankanalysis": __version__, "python": sys.version.split()[0]}
    for dist in (
        "pandas",
        "numpy",
        "scikit-learn",
        "matplotlib",
        "seaborn",
        "papermill",
        "nbconvert",
        "ipykernel",
    ):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[dist] = metadata.version(dist)
    return out
