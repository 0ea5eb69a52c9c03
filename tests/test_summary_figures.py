"""benchmarks/summary_figures.py: what counts as the same summary and scorecard, and the old code.

No timed assertions: the comparison of the two codes' results (the summary HTML as text, the
scorecard's frames exactly) and that the old code is main's pandas count of lost customers.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.prepare_memory import export_source  # noqa: E402
from benchmarks.summary_figures import OLD_REF, differences  # noqa: E402


def _result(value: float, html: str = "<section>12.5 %</section>") -> dict:
    frame = pd.DataFrame({"region_id": ["R01"], "product_coverage": [value]})
    return {"html": html, "scorecard": (frame, frame.isna(), frame, "2025-10")}


def test_the_same_results_have_no_difference() -> None:
    assert differences(_result(0.125), _result(0.125)) == []
    assert differences({"html": "<p>a</p>"}, {"html": "<p>a</p>"}) == []


def test_a_character_of_the_html_a_bit_or_the_base_month_differs() -> None:
    assert differences(_result(0.125), _result(0.125, "<section>12.6 %</section>")) == [
        "summary HTML"
    ]
    found = differences(_result(0.125), _result(0.125 + 2**-55))  # one bit: exact compare
    assert [d.split(":")[0] for d in found] == ["scorecard part 0", "scorecard part 2"]
    late = _result(0.125)
    late["scorecard"] = (*late["scorecard"][:3], "2025-11")
    assert differences(_result(0.125), late) == ["scorecard part 3: 2025-10 vs 2025-11"]


def test_the_old_code_counts_lost_customers_in_pandas(tmp_path: Path) -> None:
    src = export_source(OLD_REF, tmp_path / "old")
    text = (src / "bankanalysis" / "report" / "disclosure_retention.py").read_text(encoding="utf-8")
    assert "parts.append(lost_counts(cm, ends, months, lookback, echelon_of))" in text
    assert not (src / "bankanalysis" / "report" / "retention_counts.py").exists()
