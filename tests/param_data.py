"""Shared parameter set-ups of the tests: a params folder from the defaults with changes, and
the one parameter setting that has no fallback on data without transactions (``ma_kpi``).

Test modules import these; they may not import each other (tests/test_environment.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import yaml

DEFAULTS = Path(__file__).resolve().parents[1] / "params" / "defaults.yaml"

#: A region override asking the moving-average comparison for a KPI that needs transactions.
MA_KPI_NEEDS_TRANSACTIONS = "notebooks:\n  03_outlet_benchmarking: {ma_kpi: fee_income}\n"


def ma_kpi_refusal(scope: str) -> str:
    """The start of the message refusing :data:`MA_KPI_NEEDS_TRANSACTIONS` for ``scope``
    (a region id, or ``all regions``) on data without transactions."""
    return (
        f"03_outlet_benchmarking ({scope}): ma_kpi: fee_income (Intermediary (fee) income) "
        "needs the transactions table, which this extract lacks"
    )


def write_params_dir(
    base: Path,
    defaults: Mapping[str, object] | None = None,
    files: Mapping[str, str] | None = None,
) -> Path:
    """Write ``base/params``: the project's defaults with ``defaults`` changed, plus ``files``.

    Parameters
    ----------
    base : Path
        Folder to write ``params/`` into.
    defaults : mapping, optional
        Changes to defaults.yaml by dotted key: ``{"common.min_group_size": "ten"}``; without
        any, the file is copied as it is (comments kept).
    files : mapping, optional
        Extra files under ``params/`` by relative path: ``{"regions/R1.yaml": "common: {}"}``.
    """
    params = base / "params"
    (params / "regions").mkdir(parents=True)
    text = DEFAULTS.read_text(encoding="utf-8")
    if defaults:
        data = yaml.safe_load(text)
        for dotted, value in defaults.items():
            section, key = dotted.split(".")
            data.setdefault(section, {})[key] = value
        text = yaml.safe_dump(data, allow_unicode=True)
    (params / "defaults.yaml").write_text(text, encoding="utf-8")
    for rel, content in (files or {}).items():
        (params / rel).write_text(content, encoding="utf-8")
    return params
