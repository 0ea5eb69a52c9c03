"""Record a notebook's key numbers in a machine-readable ``metrics.json``.

The batch index, the end-to-end tests and CI read these numbers, so every value must
come from the data: a finite number (or ``None`` where a figure is undefined, e.g.
suppressed for privacy).
"""

from __future__ import annotations

import json
import math
import numbers
from pathlib import Path
from typing import Any

from bankanalysis.data.atomic import atomic_write_text

__all__ = ["MetricsRecorder", "read_metrics"]


def _to_number(value: Any) -> float | int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        v = float(value)
        return None if math.isnan(v) or math.isinf(v) else v
    raise TypeError(f"metric values must be numbers, got {type(value).__name__}: {value!r}")


class MetricsRecorder:
    """Collect named numbers and keep ``<output_dir>/metrics.json`` up to date.

    Parameters
    ----------
    output_dir : str or Path or None
        Folder for ``metrics.json``. ``None`` keeps the numbers in memory only
        (an analyst exploring in JupyterLab).

    Examples
    --------
    >>> m = MetricsRecorder(None)
    >>> m.record("tiers.share.mass", 0.8)
    >>> m.values
    {'tiers.share.mass': 0.8}
    """

    def __init__(self, output_dir: str | Path | None) -> None:
        self.output_dir = Path(output_dir) if output_dir is not None else None
        self.values: dict[str, float | int | None] = {}

    @property
    def path(self) -> Path | None:
        """Location of ``metrics.json`` (``None`` when in memory only)."""
        return None if self.output_dir is None else self.output_dir / "metrics.json"

    def record(self, name: str, value: Any) -> None:
        """Record one number under a dotted name and rewrite the file atomically."""
        if not isinstance(name, str) or not name:
            raise ValueError("metric name must be a non-empty string")
        self.values[name] = _to_number(value)
        self._flush()

    def record_many(self, values: dict[str, Any], prefix: str = "") -> None:
        """Record several numbers at once, names prefixed with ``prefix``."""
        for k, v in values.items():
            self.values[f"{prefix}{k}"] = _to_number(v)
        self._flush()

    def _flush(self) -> None:
        if self.path is None:
            return
        text = json.dumps(dict(sorted(self.values.items())), indent=1, sort_keys=True)
        atomic_write_text(self.path, text + "\n")


def read_metrics(path: str | Path) -> dict[str, float | int | None]:
    """Read a ``metrics.json`` written by :class:`MetricsRecorder`."""
    return json.loads(Path(path).read_text(encoding="utf-8"))
