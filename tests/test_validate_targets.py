"""Validation of the targets table: KPI ids, levels, ids, periods and the key (validate_targets)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from tinybank import tiny_tables, write_tables

from bankanalysis.data.validate import validate_raw
from bankanalysis.data.validate_targets import target_problems
from bankanalysis.exceptions import DataContractError

GOOD = pd.DataFrame(
    {
        "month": ["2024-03", "2024-03", "2024-03", "2024-03", "2024-12", "2024-03"],
        "level": ["region", "outlet", "echelon", "bank", "bank", "bank"],
        "id": ["R1", "O1", "1", "bank", "bank", "bank"],
        "kpi": [
            "new_customers",
            "aum",
            "fee_income",
            "product_coverage",
            "new_deposits",
            "product_coverage",
        ],
        "target": [2.0, 100000.0, 500.0, 0.3, 1e6, 0.32],
        "period": ["", "month", "quarter", "month", "year", "quarter"],
    }
)


def _raw(tmp_path: Path, targets: pd.DataFrame, fmt: str = "csv") -> Path:
    tables = tiny_tables()
    tables["targets"] = targets
    return write_tables(tables, tmp_path / fmt, fmt=fmt)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_old_and_new_targets_files_are_valid(tmp_path: Path, fmt: str) -> None:
    # the old layout (no period column, outlet and region rows) and the grown one
    assert validate_raw(_raw(tmp_path / "old", tiny_tables()["targets"], fmt)).errors == []
    assert validate_raw(_raw(tmp_path / "new", GOOD, fmt)).errors == []


BAD_CASES = [
    # (case, row index changed, column, value, rule, column named, text)
    ("unknown kpi", 0, "kpi", "new_clients", "unknown_kpi", "kpi", "new_clients"),
    ("kpi not at level", 1, "kpi", "regions", "kpi_level", "level", "regions at outlet"),
    ("unknown outlet", 1, "id", "O9", "unknown_target_id", "id", "outlet_id of outlets"),
    ("unknown echelon", 2, "id", "4", "unknown_target_id", "id", "echelon level 1, 2 or 3"),
    ("quarter not at its end", 2, "month", "2024-02", "period_month", "month", "quarter"),
    ("year not december", 4, "month", "2024-03", "period_month", "month", "December"),
    ("empty period is month", 1, "period", "", None, None, None),
]


@pytest.mark.parametrize(
    ("row", "column", "value", "rule", "named", "text"),
    [c[1:] for c in BAD_CASES],
    ids=[c[0] for c in BAD_CASES],
)
def test_bad_targets_name_file_column_rows_and_an_example(
    tmp_path: Path, row: int, column: str, value: str, rule: str | None, named: str, text: str
) -> None:
    bad = GOOD.copy()
    bad.loc[row, column] = value
    check = validate_raw(_raw(tmp_path, bad))
    if rule is None:
        assert check.errors == []
        return
    with pytest.raises(DataContractError):
        check.raise_for_errors()
    (v,) = [v for v in check.errors if v.table == "targets"]
    assert (v.rule, v.column, v.n_rows) == (rule, named, 1)
    assert v.file.endswith("targets.csv")
    assert text in v.message
    # the example is the changed row, numbered as in the file (1 = first row under the header)
    assert v.examples[0]["row"] == row + 1
    assert v.examples[0][column] == value
    paragraph = v.format()
    assert "targets.csv" in paragraph and f"column '{named}'" in paragraph
    assert "(1 row)" in paragraph and "'row': " in paragraph


def test_duplicate_targets_count_an_empty_period_as_month(tmp_path: Path) -> None:
    dup = pd.concat([GOOD, GOOD.iloc[[0]].assign(period="month")], ignore_index=True)
    (v,) = [v for v in validate_raw(_raw(tmp_path, dup)).errors if v.table == "targets"]
    assert (v.rule, v.n_rows) == ("duplicate_key", 2)
    assert [e["row"] for e in v.examples] == [1, 7]
    # a quarter target on a quarter-end month is not a duplicate of the month target
    assert validate_raw(_raw(tmp_path / "ok", GOOD)).errors == []


def test_target_problems_collect_every_rule_at_once() -> None:
    rows = pd.DataFrame(
        {
            "row": [1, 2, 3],
            "month": ["2024-03", "2024-05", "2024-03"],
            "level": ["region", "region", "outlet"],
            "id": ["R1", "R1", "O2"],
            "kpi": ["nope", "fee_income", "fee_income"],
            "period": [None, "quarter", None],
        }
    )
    found = target_problems(rows, {"O1"}, {"R1"})
    assert [(c, r, b["row"].tolist()) for c, r, b, _ in found] == [
        ("kpi", "unknown_kpi", [1]),
        ("id", "unknown_target_id", [3]),
        ("month", "period_month", [2]),
    ]
    # without the outlets table the outlet ids are not checked (its absence is its own error)
    assert [r for _, r, _, _ in target_problems(rows, None, {"R1"})] == [
        "unknown_kpi",
        "period_month",
    ]
