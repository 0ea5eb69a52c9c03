"""Project folders in one place. Nothing here does I/O or logging on import.

Parameter defaults (currency, thresholds, ...) are not here: they live in the parameter schema,
:mod:`bankanalysis.params`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def project_root() -> Path:
    """Return the project root.

    ``BANKANALYSIS_ROOT`` wins; otherwise the nearest parent of the working directory
    holding ``pyproject.toml`` and ``params/``; otherwise the working directory.
    """
    env = os.environ.get("BANKANALYSIS_ROOT")
    if env:
        return Path(env).resolve()
    here = Path.cwd().resolve()
    for p in (here, *here.parents):
        if (p / "pyproject.toml").is_file() and (p / "params").is_dir():
            return p
    return here


@dataclass(frozen=True)
class Paths:
    """Standard project folders the package reads by default, relative to a root."""

    root: Path

    @classmethod
    def default(cls) -> Paths:
        """Paths under :func:`project_root`."""
        return cls(project_root())

    @property
    def processed(self) -> Path:
        return self.root / "data" / "processed"

    @property
    def params(self) -> Path:
        return self.root / "params"

    @property
    def notebooks(self) -> Path:
        return self.root / "notebooks"
