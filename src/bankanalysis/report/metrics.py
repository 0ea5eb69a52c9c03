"""Record a report's key numbers in ``metrics.json``, keyed by KPI id.

The batch index, the end-to-end tests and CI read these numbers, so every value must come from
the data: a finite number, or ``null`` with its reason (a figure that cannot be computed is
absent, never NaN and never 0). Keys are KPI ids of :mod:`bankanalysis.rules.kpis` or breakdown
keys built by :func:`bankanalysis.rules.kpis.metric_key`; anything else is refused, so a KPI has
the same key in every notebook.

File layout: ``{"<key>": number or null, ..., "_reasons": {"<key>": "why it is null"}}``.
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bankanalysis.data.atomic import atomic_write_text
from bankanalysis.exceptions import KpiError
from bankanalysis.report.format import Absent, Suppressed
from bankanalysis.rules.kpis import is_kpi

__all__ = [
    "FAILSAFE_REASON",
    "REASONS",
    "MetricsRecorder",
    "read_metric_reasons",
    "read_metrics",
    "suppressed_from_reason",
]

#: Key of the reasons map inside ``metrics.json``.
REASONS = "_reasons"

#: Reason of a figure withheld by the fail-safe (:func:`~bankanalysis.rules.disclosure_secondary.fail_safe`).
FAILSAFE_REASON = "withheld with the whole row or column of a small group (fail-safe)"


def _to_number(value: Any) -> tuple[float | int | None, str | None]:
    """``(number, reason)``: a finite number, or ``None`` with the reason it is missing."""
    if value is None:
        return None, "not computed"
    if isinstance(value, Absent):
        return None, value.reason or "not computed"
    if isinstance(value, Suppressed):
        if value.why == "dominance":
            return None, "withheld: dominated by one or two customers"
        if value.why == "secondary":
            return None, "withheld so that a withheld figure cannot be worked out from it"
        if value.why == "failsafe":
            return None, FAILSAFE_REASON
        return None, f"withheld: fewer than {value.k} customers" if value.k else "withheld"
    if isinstance(value, bool):
        return int(value), None
    if isinstance(value, numbers.Integral):
        return int(value), None
    if isinstance(value, numbers.Real):
        v = float(value)
        if math.isnan(v) or math.isinf(v):
            return None, "not computed"
        return v, None
    raise TypeError(f"metric values must be numbers, got {type(value).__name__}: {value!r}")


class MetricsRecorder:
    """Collect KPI values and keep ``<output_dir>/metrics.json`` up to date.

    Parameters
    ----------
    output_dir : str or Path or None
        Folder for ``metrics.json``. ``None`` keeps the numbers in memory only (an analyst
        exploring in JupyterLab).

    Examples
    --------
    >>> m = MetricsRecorder(None)
    >>> m.record("customer_share[tier=mass]", 0.8)
    >>> m.record("contact_plan_coverage", Absent("no contacts table"))
    >>> m.values, m.reasons
    ({'customer_share[tier=mass]': 0.8, 'contact_plan_coverage': None}, {'contact_plan_coverage': 'no contacts table'})
    """

    def __init__(self, output_dir: str | Path | None) -> None:
        self.output_dir = Path(output_dir) if output_dir is not None else None
        self.values: dict[str, float | int | None] = {}
        self.reasons: dict[str, str] = {}

    @property
    def path(self) -> Path | None:
        """Location of ``metrics.json`` (``None`` when in memory only)."""
        return None if self.output_dir is None else self.output_dir / "metrics.json"

    def _set(self, key: str, value: Any) -> None:
        if not isinstance(key, str) or not is_kpi(key):
            raise KpiError(
                f"metrics key {key!r} is not a KPI id of the dictionary (or kpi[dim=value]); "
                "declare the KPI in bankanalysis/rules/kpis.py first"
            )
        number, reason = _to_number(value)
        self.values[key] = number
        if reason is None:
            self.reasons.pop(key, None)
        else:
            self.reasons[key] = reason

    def record(self, key: str, value: Any) -> None:
        """Record one KPI value (or :class:`Absent`/``None``) and rewrite the file atomically."""
        self._set(key, value)
        self._flush()

    def record_many(self, values: Mapping[str, Any]) -> None:
        """Record several KPI values at once."""
        for k, v in values.items():
            self._set(k, v)
        self._flush()

    def _flush(self) -> None:
        if self.path is None:
            return
        out: dict[str, Any] = dict(sorted(self.values.items()))
        if self.reasons:
            out[REASONS] = dict(sorted(self.reasons.items()))
        text = json.dumps(out, indent=1, sort_keys=True, ensure_ascii=False)
        atomic_write_text(self.path, text + "\n")


def read_metrics(path: str | Path) -> dict[str, float | int | None]:
    """The values of a ``metrics.json`` (reasons left out; see :func:`read_metric_reasons`)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return {k: v for k, v in data.items() if k != REASONS}


def read_metric_reasons(path: str | Path) -> dict[str, str]:
    """Why each ``null`` value of a ``metrics.json`` is missing."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return dict(data.get(REASONS, {}))


def suppressed_from_reason(reason: Any) -> Suppressed | None:
    """The :class:`Suppressed` a ``metrics.json`` reason stands for (``None`` when the figure
    is missing for another reason), so that a page reading metrics (the run index) shows the
    standard marker and never fills a withheld figure from another report.

    Examples
    --------
    >>> str(suppressed_from_reason("withheld: fewer than 10 customers"))
    '<10'
    >>> str(suppressed_from_reason("withheld so that a withheld figure cannot be worked out from it"))
    'x'
    >>> str(suppressed_from_reason("withheld with the whole row or column of a small group (fail-safe)"))
    'withheld'
    >>> suppressed_from_reason("not computed") is None
    True
    """
    text = str(reason or "")
    if not text.startswith("withheld"):
        return None
    if text.startswith("withheld: fewer than "):
        head = text.removeprefix("withheld: fewer than ").split(" ")[0]
        return Suppressed(int(head) if head.isdigit() else None)
    if "dominated" in text:
        return Suppressed(None, "dominance")
    if text.startswith("withheld so that"):
        return Suppressed(None, "secondary")
    if "(fail-safe)" in text:
        return Suppressed(None, "failsafe")
    return Suppressed(None)
