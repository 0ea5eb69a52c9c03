"""benchmarks/run_figures_sql.py: what counts as the same figures, and the old code.

No timed assertions: the comparison of the two codes' results (frames exactly, their attrs,
other values by equality) and that the old code is main's pandas count of the quarters.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.prepare_memory import export_source  # noqa: E402
from benchmarks.run_figures_sql import OLD_REF, differences  # noqa: E402


def _result(value: float, absent: str = "no managers table") -> dict:
    frame = pd.DataFrame({"level": ["bank"], "stock_retention": [value]})
    frame.attrs["absent"] = {"manager_coverage": absent}
    return {"quarters": frame, "since": {"month": "2025-09"}}


def test_the_same_results_have_no_difference() -> None:
    assert differences(_result(0.875), _result(0.875)) == []


def test_a_bit_an_attr_a_value_or_a_key_differs() -> None:
    found = differences(_result(0.875), _result(0.875 + 2**-53))  # one bit: exact compare
    assert [d.split(":")[0] for d in found] == ["quarters"]
    found = differences(_result(0.875), _result(0.875, "no contacts table"))
    assert found == [
        "quarters: attrs {'absent': {'manager_coverage': 'no managers table'}} vs "
        "{'absent': {'manager_coverage': 'no contacts table'}}"
    ]
    later = {**_result(0.875), "since": {"month": "2025-10"}}
    assert differences(_result(0.875), later) == [
        "since: {'month': '2025-09'} vs {'month': '2025-10'}"
    ]
    assert differences(_result(0.875), {"quarters": _result(0.875)["quarters"]}) == [
        "since: only in one"
    ]


def test_the_old_code_counts_the_quarters_in_pandas_parts(tmp_path: Path) -> None:
    src = export_source(OLD_REF, tmp_path / "old")
    text = (src / "bankanalysis" / "report" / "planning_scope.py").read_text(encoding="utf-8")
    assert "for id_range in ranges:" in text
    assert "quarter_unit_counts" not in text
    sql = (src / "bankanalysis" / "data" / "processed_sql.py").read_text(encoding="utf-8")
    assert "def base_lost_counts(" in sql and "def quarter_unit_counts(" not in sql
