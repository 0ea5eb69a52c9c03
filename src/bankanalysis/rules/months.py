"""Month arithmetic on ``'YYYY-MM'`` strings: the one place the bank's calendar rules live.

Every table keys its month-ends as ``'YYYY-MM'`` text. These helpers parse and validate such
strings, shift them, build the windows the KPIs use (tier windows, the base month of growth
and migration, quarters, year to date) and never touch data. Bad input raises
:class:`~bankanalysis.exceptions.ParameterError` naming the value and the expected form.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

import pandas as pd

from bankanalysis.exceptions import ParameterError

__all__ = [
    "base_month",
    "month_end",
    "month_index",
    "month_range",
    "month_window",
    "months_between",
    "parse_month",
    "quarter_months",
    "quarter_of",
    "shift_month",
    "year_to_date",
]

logger = logging.getLogger(__name__)

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")


def parse_month(month: object) -> tuple[int, int]:
    """Return ``(year, month)`` of a ``'YYYY-MM'`` string.

    Parameters
    ----------
    month : str
        A month such as ``'2024-03'``.

    Returns
    -------
    (int, int)
        Year and month number (1-12).

    Raises
    ------
    ParameterError
        When ``month`` is not a string of the form ``YYYY-MM`` with a month 01-12.

    Examples
    --------
    >>> parse_month("2024-03")
    (2024, 3)
    """
    m = _MONTH.match(month) if isinstance(month, str) else None
    if m is None:
        raise ParameterError(
            [f"month {month!r} is not a month of the form 'YYYY-MM' (e.g. '2024-03')"]
        )
    return int(m.group(1)), int(m.group(2))


def month_index(month: str) -> int:
    """Months since year 0 (``year * 12 + month - 1``): differences are month counts.

    Examples
    --------
    >>> month_index("2024-02") - month_index("2023-12")
    2
    """
    y, m = parse_month(month)
    return y * 12 + m - 1


def _from_index(idx: int) -> str:
    return f"{idx // 12:04d}-{idx % 12 + 1:02d}"


def shift_month(month: str, k: int) -> str:
    """Return the month ``k`` months after ``month`` (negative ``k``: before).

    Examples
    --------
    >>> shift_month("2024-03", -3)
    '2023-12'
    >>> shift_month("2025-11", 3)
    '2026-02'
    """
    return _from_index(month_index(month) + int(k))


def months_between(start: str, end: str) -> int:
    """Number of months from ``start`` to ``end`` (negative when ``end`` is earlier).

    Examples
    --------
    >>> months_between("2023-11", "2024-02")
    3
    """
    return month_index(end) - month_index(start)


def month_range(start: str, end: str) -> list[str]:
    """Every month from ``start`` to ``end``, both included, oldest first.

    Raises
    ------
    ParameterError
        When ``end`` is before ``start``.

    Examples
    --------
    >>> month_range("2023-11", "2024-01")
    ['2023-11', '2023-12', '2024-01']
    """
    n = months_between(start, end)
    if n < 0:
        raise ParameterError([f"month range {start!r}..{end!r} ends before it starts"])
    return [shift_month(start, k) for k in range(n + 1)]


def month_window(month: str, n_months: int) -> list[str]:
    """The ``n_months`` month-ends ending at ``month``, oldest first.

    Raises
    ------
    ParameterError
        When ``n_months`` is below 1 or ``month`` is not ``YYYY-MM``.

    Examples
    --------
    >>> month_window("2024-02", 3)
    ['2023-12', '2024-01', '2024-02']
    """
    if int(n_months) < 1:
        raise ParameterError([f"a month window needs at least 1 month, got {n_months}"])
    return [shift_month(month, -k) for k in range(int(n_months) - 1, -1, -1)]


def quarter_of(month: str) -> str:
    """The calendar quarter of a month, ``'YYYY-Qn'``.

    Examples
    --------
    >>> quarter_of("2024-05")
    '2024-Q2'
    """
    y, m = parse_month(month)
    return f"{y}-Q{(m - 1) // 3 + 1}"


def quarter_months(quarter: str) -> list[str]:
    """The three months of a quarter given as ``'YYYY-Qn'`` or as any of its months.

    Examples
    --------
    >>> quarter_months("2024-Q4")
    ['2024-10', '2024-11', '2024-12']
    >>> quarter_months("2024-05")
    ['2024-04', '2024-05', '2024-06']
    """
    q = _QUARTER.match(quarter) if isinstance(quarter, str) else None
    if q is None:
        if not (isinstance(quarter, str) and _MONTH.match(quarter)):
            raise ParameterError(
                [f"quarter {quarter!r} is neither 'YYYY-Qn' (e.g. '2024-Q2') nor 'YYYY-MM'"]
            )
        q = _QUARTER.match(quarter_of(quarter))
    assert q is not None
    y, n = int(q.group(1)), int(q.group(2))
    first = f"{y:04d}-{3 * (n - 1) + 1:02d}"
    return month_range(first, shift_month(first, 2))


def year_to_date(month: str) -> list[str]:
    """January to ``month`` of the same year, oldest first.

    Examples
    --------
    >>> year_to_date("2024-03")
    ['2024-01', '2024-02', '2024-03']
    """
    y, _ = parse_month(month)
    return month_range(f"{y:04d}-01", month)


def month_end(month: str) -> pd.Timestamp:
    """The last instant of a month (for comparing with dates such as ``customers.since``).

    Examples
    --------
    >>> str(month_end("2024-02").date())
    '2024-02-29'
    """
    parse_month(month)
    return pd.Period(month, freq="M").end_time


def base_month(months: Sequence[str], month: str, lookback: int = 12) -> str:
    """The comparison month of growth, retention and migration.

    ``lookback`` months before ``month``; when the data start later, their first month. When
    the wanted month falls in a gap of the data, the first month of the data after it.

    Parameters
    ----------
    months : sequence of str
        Months present in the data (any order).
    month : str
        The data month; must be in ``months``.
    lookback : int
        Months to look back (``lookback_months``, 12 by default); at least 1.

    Raises
    ------
    ParameterError
        When ``month`` is not in ``months`` or ``lookback`` is below 1.

    Examples
    --------
    >>> base_month(["2024-01", "2024-02", "2024-03"], "2024-03", 12)
    '2024-01'
    >>> base_month([f"2024-{m:02d}" for m in range(1, 13)] + ["2025-01"], "2025-01", 12)
    '2024-01'
    """
    have = sorted({m for m in months})
    for m in have:
        parse_month(m)
    parse_month(month)
    if month not in have:
        span = f"{have[0]}..{have[-1]}" if have else "no months"
        raise ParameterError([f"month {month!r} is not in the data ({span}); choose a data month"])
    if int(lookback) < 1:
        raise ParameterError([f"the look-back must be at least 1 month, got {lookback}"])
    wanted = shift_month(month, -int(lookback))
    return next(m for m in have if m >= wanted)
