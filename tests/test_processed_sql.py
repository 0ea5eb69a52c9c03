"""DuckDB counts over the processed customer_month file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bankanalysis.data.processed_sql import base_lost_counts, quarter_unit_counts
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


def test_quarter_counts_per_unit_leave_averages_at_the_threshold_to_pandas(
    tmp_path: Path,
) -> None:
    """Quarter end 2025-03, window 2025-01..03, base 2024-03, quality from 500,000, covered
    from 3 products. a (R1/O1): 600,000 three times, 3 products, card: quality-plus with card.
    b (R1/O1): 100 once (its 2024-12 billion is outside the window), 1 product. c (R1/O2):
    499,999.99, 500,000.00, 500,000.01, an average at the threshold: near. d (R2/O3): a NaN
    and 1,000,000: near. e (R2/O3): 1,000,000, unknown products and card. Base: a (R1/O1), b
    then in R1/O2, c, f (R2/O3, gone)."""
    nan = float("nan")
    rows = [
        ("2025-01", "a", "R1", "O1", 600_000.0, 3, 1),
        ("2025-02", "a", "R1", "O1", 600_000.0, 3, 1),
        ("2025-03", "a", "R1", "O1", 600_000.0, 3, 1),
        ("2024-12", "b", "R1", "O1", 1e9, 1, 1),
        ("2025-03", "b", "R1", "O1", 100.0, 1, 1),
        ("2025-01", "c", "R1", "O2", 499_999.99, 2, 0),
        ("2025-02", "c", "R1", "O2", 500_000.00, 2, 0),
        ("2025-03", "c", "R1", "O2", 500_000.01, 2, 0),
        ("2025-02", "d", "R2", "O3", nan, 4, 1),
        ("2025-03", "d", "R2", "O3", 1e6, 4, 1),
        ("2025-01", "e", "R2", "O3", 1e6, None, None),
        ("2025-03", "e", "R2", "O3", 1e6, None, None),
        ("2024-03", "a", "R1", "O1", 5.0, 1, 0),
        ("2024-03", "b", "R1", "O2", 5.0, 1, 0),
        ("2024-03", "c", "R1", "O2", 5.0, 1, 0),
        ("2024-03", "f", "R2", "O3", 5.0, 1, 0),
    ]
    cols = ["month", "customer_id", "region_id", "outlet_id", "aum", "n_products"]
    cm = pd.DataFrame(rows, columns=[*cols, "hold_wealth_card"])
    cm = cm.astype({"n_products": "Int16", "hold_wealth_card": "Int8"})
    table = pa.Table.from_pandas(cm, preserve_index=False)
    aum = pa.array(cm["aum"].to_numpy(), from_pandas=False)  # d's NaN a NaN, not a null
    table = table.set_column(table.schema.get_field_index("aum"), "aum", aum)
    pq.write_table(table, tmp_path / "customer_month.parquet")
    window = ["2025-01", "2025-02", "2025-03"]
    got = quarter_unit_counts(
        tmp_path, "2025-03", "2024-03", window, 500_000.0, 3, "hold_wealth_card"
    )
    assert got.now.columns.tolist() == [
        "region_id", "outlet_id", "one", "n", "covered", "qplus", "qplus_card"
    ]  # fmt: skip
    assert got.now.values.tolist() == [
        ["R1", "O1", 2.0, 4.0, 1.0, 1.0, 1.0],
        ["R1", "O2", 1.0, 2.0, 0.0, 0.0, 0.0],
        ["R2", "O3", 2.0, 4.0, 1.0, 1.0, 0.0],
    ]
    assert got.base.values.tolist() == [
        ["R1", "O1", 1.0, 1.0],
        ["R1", "O2", 2.0, 2.0],
        ["R2", "O3", 1.0, 0.0],
    ]
    assert got.near.values.tolist() == [["c", "R1", "O2", False], ["d", "R2", "O3", True]]
    no_card = quarter_unit_counts(tmp_path, "2025-03", "2024-03", window, 500_000.0, 2, None)
    assert no_card.now["qplus_card"].tolist() == [0.0, 0.0, 0.0]
    assert no_card.now["covered"].tolist() == [1.0, 1.0, 1.0]  # a; c; d
    assert no_card.near["card"].tolist() == [False, False]
    with pytest.raises(ProcessedDataError, match="customer_month.parquet is missing"):
        quarter_unit_counts(tmp_path / "nowhere", "2025-03", "2024-03", window, 5e5, 3, None)
