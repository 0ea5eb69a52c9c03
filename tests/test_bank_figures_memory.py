"""benchmarks/bank_figures_memory.py: what counts as the same bank-wide figure, and the old code.

No timed assertions: the comparison of an old and a new result (exact values, dtypes, index
and row order; the tuple of the tiers part by part) and that the old code is main's one read.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bank_figures_memory import OLD_REF, differences  # noqa: E402
from benchmarks.prepare_memory import export_source  # noqa: E402


def _frame(aum: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"customer_id": ["C1", "C2"][: len(aum)], "aum": aum})


def test_the_same_results_have_no_difference() -> None:
    assert differences(_frame([1.0, 2.0]), _frame([1.0, 2.0])) is None
    assert differences(("2025-01", _frame([1.0])), ("2025-01", _frame([1.0]))) is None


def test_a_bit_a_dtype_an_order_or_a_part_differs() -> None:
    a = _frame([1.0, 2.0])
    assert "part 0" in differences(a, _frame([1.0, 2.0 + 2**-51]))  # one bit: exact compare
    assert "part 0" in differences(a, a.astype({"aum": "float32"}))
    assert "part 0" in differences(a, a.iloc[::-1])
    assert "part 0" in differences(a, a.set_index(pd.Index([1, 2])))
    assert differences(("2025-01", a), ("2025-02", a)) == "part 0: '2025-01' vs '2025-02'"
    assert differences(("2025-01", a), ("2025-01", a, a)) == "2 vs 3 parts"


def test_the_old_code_reads_every_month_of_every_customer_at_once(tmp_path: Path) -> None:
    src = export_source(OLD_REF, tmp_path / "old")
    text = (src / "bankanalysis" / "report" / "planning_scope.py").read_text(encoding="utf-8")
    assert "cm = ctx.bank.customer_month(months=needed, columns=cols)\n" in text
    assert "customer_ranges" not in text
