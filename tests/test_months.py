"""Month arithmetic on 'YYYY-MM' strings (bankanalysis.rules.months)."""

from __future__ import annotations

import pytest

from bankanalysis.exceptions import ParameterError
from bankanalysis.rules import months as mo


def test_parse_month_and_index() -> None:
    assert mo.parse_month("2024-12") == (2024, 12)
    assert mo.month_index("2024-01") == 2024 * 12
    assert mo.month_index("2024-03") - mo.month_index("2023-03") == 12


@pytest.mark.parametrize(
    "bad", ["2024-13", "2024-00", "2024-1", "24-01", "2024/01", "", None, 202401]
)
def test_bad_month_strings_name_the_value_and_the_form(bad: object) -> None:
    with pytest.raises(ParameterError, match="YYYY-MM") as exc:
        mo.parse_month(bad)
    assert repr(bad) in str(exc.value)


def test_shift_month_crosses_years_both_ways() -> None:
    assert mo.shift_month("2024-01", -1) == "2023-12"
    assert mo.shift_month("2024-03", -3) == "2023-12"
    assert mo.shift_month("2025-11", 3) == "2026-02"
    assert mo.shift_month("2024-06", 0) == "2024-06"
    assert mo.shift_month("2024-06", -30) == "2021-12"
    with pytest.raises(ParameterError, match="'2024-6'"):
        mo.shift_month("2024-6", 1)


def test_months_between_and_month_range() -> None:
    assert mo.months_between("2023-11", "2024-02") == 3
    assert mo.months_between("2024-02", "2023-11") == -3
    assert mo.month_range("2023-11", "2024-01") == ["2023-11", "2023-12", "2024-01"]
    assert mo.month_range("2024-05", "2024-05") == ["2024-05"]
    with pytest.raises(ParameterError, match="ends before it starts"):
        mo.month_range("2024-05", "2024-04")


def test_month_window_ends_at_the_month() -> None:
    assert mo.month_window("2024-04", 2) == ["2024-03", "2024-04"]
    assert mo.month_window("2024-02", 3) == ["2023-12", "2024-01", "2024-02"]
    assert mo.month_window("2024-02", 1) == ["2024-02"]
    with pytest.raises(ParameterError, match="at least 1 month, got 0"):
        mo.month_window("2024-02", 0)
    with pytest.raises(ParameterError, match="'2024-02-01'"):
        mo.month_window("2024-02-01", 3)


def test_quarters_and_year_to_date() -> None:
    assert [mo.quarter_of(f"2024-{m:02d}") for m in (1, 3, 4, 6, 7, 9, 10, 12)] == [
        "2024-Q1",
        "2024-Q1",
        "2024-Q2",
        "2024-Q2",
        "2024-Q3",
        "2024-Q3",
        "2024-Q4",
        "2024-Q4",
    ]
    assert mo.quarter_months("2024-Q1") == ["2024-01", "2024-02", "2024-03"]
    assert mo.quarter_months("2024-11") == ["2024-10", "2024-11", "2024-12"]
    with pytest.raises(ParameterError, match="'2024-Q5'"):
        mo.quarter_months("2024-Q5")
    assert mo.year_to_date("2024-01") == ["2024-01"]
    assert mo.year_to_date("2024-03") == ["2024-01", "2024-02", "2024-03"]


def test_month_end_is_the_last_instant() -> None:
    end = mo.month_end("2024-02")
    assert (end.year, end.month, end.day, end.hour) == (2024, 2, 29, 23)


def test_base_month_lookback_first_month_and_gaps() -> None:
    months = [f"2024-{m:02d}" for m in range(1, 13)] + ["2025-01", "2025-02"]
    assert mo.base_month(months, "2025-01", 12) == "2024-01"
    assert mo.base_month(months, "2025-02", 12) == "2024-02"
    # the data start later than the look-back: the first month
    assert mo.base_month(months, "2024-06", 12) == "2024-01"
    assert mo.base_month(months, "2024-01", 12) == "2024-01"
    # the wanted month is a gap in the data: the first month after it
    gappy = ["2023-01", "2023-02", "2023-05", "2023-06", "2024-03"]
    assert mo.base_month(gappy, "2024-03", 12) == "2023-05"
    assert mo.base_month(reversed(gappy), "2023-06", 3) == "2023-05"
    with pytest.raises(ParameterError, match=r"'2030-01' is not in the data \(2023-01..2024-03\)"):
        mo.base_month(gappy, "2030-01")
    with pytest.raises(ParameterError, match="at least 1 month"):
        mo.base_month(gappy, "2024-03", 0)
