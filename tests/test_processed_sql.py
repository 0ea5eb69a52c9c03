"""DuckDB counts over the processed customer_month file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from bankanalysis.data.processed_sql import base_lost_counts
from bankanalysis.exceptions import ProcessedDataError


def _write(folder: Path, rows: list[tuple[str, str, str, str]]) -> Path:
    cm = pd.DataFrame(rows, columns=["month", "customer_id", "region_id", "outlet_id"])
    cm = cm.assign(aum=1.0)  # a column the counts must not read
    cm.to_parquet(folder / "customer_month.parquet", index=False)
    return folder


def test_base_customers_are_counted_in_their_base_unit_and_lost_when_gone_everywhere(
    tmp_path: Path,
) -> None:
    folder = _write(
        tmp_path,
        [
            # base 2025-01: a, b in R1/O1; c in R1/O2; d in R2/O3
            ("2025-01", "a", "R1", "O1"),
            ("2025-01", "b", "R1", "O1"),
            ("2025-01", "c", "R1", "O2"),
            ("2025-01", "d", "R2", "O3"),
            # end 2025-03: a stayed, c moved to R2 (still active: not lost), e is new
            ("2025-03", "a", "R1", "O1"),
            ("2025-03", "c", "R2", "O3"),
            ("2025-03", "e", "R2", "O3"),
            # another month, not asked for
            ("2025-02", "b", "R1", "O1"),
        ],
    )
    out = base_lost_counts(folder, [("2025-03", "2025-01"), ("2025-02", "2025-01")])
    assert out.columns.tolist() == ["end", "region_id", "outlet_id", "base", "lost"]
    assert out.values.tolist() == [
        # at 2025-02 only b is active: a, c and d are lost
        ["2025-02", "R1", "O1", 2, 1],
        ["2025-02", "R1", "O2", 1, 1],
        ["2025-02", "R2", "O3", 1, 1],
        # at 2025-03 b (R1/O1) and d (R2/O3) are lost; c moved but is not lost
        ["2025-03", "R1", "O1", 2, 1],
        ["2025-03", "R1", "O2", 1, 0],
        ["2025-03", "R2", "O3", 1, 1],
    ]
    assert str(out["base"].dtype) == str(out["lost"].dtype) == "int64"


def test_no_pairs_give_an_empty_frame_and_a_missing_file_names_it(tmp_path: Path) -> None:
    folder = _write(tmp_path, [("2025-01", "a", "R1", "O1")])
    empty = base_lost_counts(folder, [])
    assert empty.empty and empty.columns.tolist() == [
        "end",
        "region_id",
        "outlet_id",
        "base",
        "lost",
    ]
    with pytest.raises(ProcessedDataError, match="customer_month.parquet is missing"):
        base_lost_counts(tmp_path / "nowhere", [("2025-01", "2025-01")])
