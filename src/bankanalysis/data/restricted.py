"""Restricted outputs: files holding customer or account-manager ids, kept apart and never linked.

Every file a report writes with a customer id or a manager id in it (lead workbooks, upgrade
candidates, manager scorecards, the region's lead CSV) goes to the ``restricted`` folder of the
notebook's output folder (``reports/<run>/<region>/<notebook>/restricted/``) through
:func:`write_restricted`, which also records who the file is for (its *audience*) in the
folder's ``.audiences.json``. The batch lists those files with their audience in the run
manifest, apart from the linked outputs (:func:`restricted_files`); the index and the HTML
reports never link them. Audiences and file names carry no ids, so the manifest does not either.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from bankanalysis.data.atomic import atomic_write_bytes, atomic_write_text

__all__ = [
    "AUDIENCE_FILE",
    "RESTRICTED_FOLDER",
    "is_restricted",
    "read_audiences",
    "restricted_dir",
    "restricted_files",
    "write_restricted",
    "write_restricted_files",
]

logger = logging.getLogger(__name__)

#: Name of the folder of restricted files inside a notebook's output folder.
RESTRICTED_FOLDER = "restricted"
#: File of a restricted folder recording each file's audience (``{file name: audience}``).
AUDIENCE_FILE = ".audiences.json"
#: Audience given to a restricted file written without :func:`write_restricted`.
UNRECORDED = "not recorded (restricted: holds customer or manager ids)"


def restricted_dir(output_dir: str | Path) -> Path:
    """The restricted folder of a notebook's output folder.

    Examples
    --------
    >>> restricted_dir("reports/r1/R01/02_cross_sell_propensity").as_posix()
    'reports/r1/R01/02_cross_sell_propensity/restricted'
    """
    return Path(output_dir) / RESTRICTED_FOLDER


def is_restricted(path: str | Path) -> bool:
    """Whether a (relative) output path lies in a restricted folder.

    Examples
    --------
    >>> is_restricted("R01/02_cross_sell_propensity/restricted/leads_R01.csv")
    True
    >>> is_restricted("R01/02_cross_sell_propensity/metrics.json")
    False
    """
    return RESTRICTED_FOLDER in PurePosixPath(Path(path).as_posix()).parts[:-1]


def read_audiences(folder: str | Path) -> dict[str, str]:
    """``{file name: audience}`` recorded in a restricted folder (``{}`` when none or unreadable)."""
    path = Path(folder) / AUDIENCE_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def write_restricted(folder: str | Path, name: str, data: bytes, audience: str) -> Path:
    """Write one restricted file atomically and record its audience.

    Parameters
    ----------
    folder : str or Path
        The restricted folder (:func:`restricted_dir`); created when missing.
    name : str
        File name (no folder part; no customer or manager id: it is listed in the manifest).
    data : bytes
        Content.
    audience : str
        Who may read it, in words ("account manager 2 of outlet O016"); no ids.

    Returns
    -------
    Path
        The file written.
    """
    return write_restricted_files(folder, [(name, data, audience)])[0]


def write_restricted_files(
    folder: str | Path, files: Iterable[tuple[str, bytes, str]]
) -> list[Path]:
    """Write restricted files atomically, one after the other, and record their audiences
    once at the end (:func:`write_restricted` of each, with one write of the audience file
    instead of one per file: a region's workbooks are thousands of files at a large bank).

    Parameters
    ----------
    folder : str or Path
        The restricted folder (:func:`restricted_dir`); created when missing.
    files : iterable of (name, data, audience)
        As :func:`write_restricted`; taken one at a time (a generator writes each file before
        the next one is made).

    Returns
    -------
    list of Path
        The files written, in order. A failure part-way leaves the files written so far
        without a recorded audience (:func:`restricted_files` lists them as
        :data:`UNRECORDED`; they stay in the restricted folder).

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> [p.name for p in write_restricted_files(d, [("a.csv", b"1", "x"), ("b.csv", b"2", "y")])]
    ['a.csv', 'b.csv']
    >>> read_audiences(d)
    {'a.csv': 'x', 'b.csv': 'y'}
    """
    folder = Path(folder)
    written: list[Path] = []
    recorded: dict[str, str] = {}
    for name, data, audience in files:
        if Path(name).name != name or name.startswith("."):
            raise ValueError(f"not a plain file name: {name!r}")
        path = folder / name
        atomic_write_bytes(path, data, sync_dir=False)  # the folder is flushed once, below
        recorded[name] = str(audience)
        written.append(path)
        logger.info("wrote restricted file %s (%s)", path, audience)
    if recorded:
        audiences = read_audiences(folder) | recorded
        text = json.dumps(audiences, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
        atomic_write_text(folder / AUDIENCE_FILE, text)  # flushes the folder: every rename
    return written


def restricted_files(output_dir: str | Path, relative_to: str | Path) -> list[dict[str, str]]:
    """Every restricted file under ``output_dir`` with its audience, for the run manifest.

    Parameters
    ----------
    output_dir : str or Path
        A notebook's output folder.
    relative_to : str or Path
        Paths are given relative to this folder (the run folder).

    Returns
    -------
    list of dict
        ``{"path", "audience"}`` sorted by path; files without a recorded audience get
        :data:`UNRECORDED`.
    """
    out = []
    base = Path(output_dir)
    if not base.is_dir():
        return out
    for folder in sorted(p for p in base.rglob(RESTRICTED_FOLDER) if p.is_dir()):
        audiences = read_audiences(folder)
        for f in sorted(folder.iterdir()):
            if f.is_file() and not f.name.startswith("."):
                out.append(
                    {
                        "path": f.relative_to(relative_to).as_posix(),
                        "audience": audiences.get(f.name, UNRECORDED),
                    }
                )
    return out
