"""Formatting driven by the KPI dictionary: the one place a KPI becomes text.

Every KPI value a report, a table, a chart label or the run index shows passes through
:func:`format_value` (or :func:`format_change` for a difference), which takes the unit and the
decimals from :mod:`bankanalysis.rules.kpis`:

- share: ``12.3%``; a change of a share: ``+1.2 pp``;
- money: ``1,234,567 CNY`` (``3.99 m CNY`` with ``compact=True``, for sentences);
- count: ``1,234``; products: ``2.41 products``; minutes: ``42 min``; ratio ``2.62``;
  score ``0.873``; rank ``3``;
- never ``-0.0`` and never ``nan``: a value that cannot be computed is an :class:`Absent` (or
  ``None``/NaN) and shows as ``n/a`` (with the reason in text), a withheld small group shows as
  the disclosure marker (``<10``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from bankanalysis.contract import DEFAULT_CURRENCY
from bankanalysis.rules.disclosure import FAILSAFE_MARKER, SECONDARY_MARKER, suppressed_marker
from bankanalysis.rules.kpis import KPI, get

__all__ = [
    "DEFAULT_CURRENCY",
    "NOT_AVAILABLE",
    "Absent",
    "Suppressed",
    "attainment_met",
    "distinct_decimals",
    "display_round",
    "format_change",
    "format_number",
    "format_value",
    "is_missing",
    "kpi_label",
    "unit_label",
]

#: Shown for a figure that cannot be computed (the reason goes beside it in text).
NOT_AVAILABLE = "n/a"

#: Default decimals per unit.
_DECIMALS: dict[str, int] = {
    "money": 0,
    "share": 1,
    "count": 0,
    "products": 2,
    "minutes": 0,
    "ratio": 2,
    "score": 3,
    "rank": 0,
    "months": 0,
}


@dataclass(frozen=True)
class Absent:
    """A figure that cannot be computed, and why (``"no contacts table"``)."""

    reason: str

    def __str__(self) -> str:
        return f"{NOT_AVAILABLE} ({self.reason})" if self.reason else NOT_AVAILABLE


@dataclass(frozen=True)
class Suppressed:
    """A figure withheld by the disclosure rule (:mod:`bankanalysis.rules.disclosure`).

    ``why`` is ``"small"`` (a group of 1 to ``k - 1`` customers, shown ``"<k"``),
    ``"dominance"`` (money held mostly by one or two customers) or ``"secondary"`` (hidden so
    that another withheld figure cannot be worked out); the last two show ``"x"``.
    ``"failsafe"`` (withheld with a whole row or column of its table, whatever its size) shows
    ``"withheld"``.
    """

    k: int | None = None
    why: str = "small"

    def __str__(self) -> str:
        if self.why == "failsafe":
            return FAILSAFE_MARKER
        return suppressed_marker(self.k) if self.why == "small" else SECONDARY_MARKER


def is_missing(value: Any) -> bool:
    """True for ``None``, NaN, infinities, :class:`Absent` and :class:`Suppressed`."""
    if value is None or isinstance(value, Absent | Suppressed):
        return True
    try:
        return not math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _kpi(kpi: str | KPI) -> KPI:
    return kpi if isinstance(kpi, KPI) else get(kpi)


def _decimals(k: KPI, decimals: int | None) -> int:
    if decimals is not None:
        return decimals
    return k.decimals if k.decimals is not None else _DECIMALS[k.unit]


def display_round(kpi: str | KPI, value: float, decimals: int | None = None) -> float:
    """``value`` rounded as :func:`format_value` shows it (shares in percent points).

    Examples
    --------
    >>> display_round("product_coverage", 0.12345)
    0.123
    """
    k = _kpi(kpi)
    d = _decimals(k, decimals)
    if k.unit == "share":
        return round(float(value), d + 2)
    return round(float(value), d)


#: Most decimals a figure gains beyond its KPI's so that it does not display as equal to the
#: figure it is compared with (a target it misses).
MAX_EXTRA_DECIMALS = 3


def distinct_decimals(kpi: str | KPI, value: Any, other: Any, decimals: int | None = None) -> int:
    """The decimals at which ``value`` displays differently from ``other``.

    The KPI's own decimals when they already differ (or the figures are equal or missing); up
    to :data:`MAX_EXTRA_DECIMALS` more when rounding would show two different figures as one
    (29.96 % against a target of 30 % shows as 29.96 %, not 30.0 %).

    Examples
    --------
    >>> distinct_decimals("product_coverage", 0.2996, 0.30), distinct_decimals("aum", 99.4, 100)
    (2, 0)
    >>> distinct_decimals("aum", 99.6, 100)
    1
    """
    k = _kpi(kpi)
    d = _decimals(k, decimals)
    if is_missing(value) or is_missing(other) or float(value) == float(other):
        return d
    for extra in range(MAX_EXTRA_DECIMALS + 1):
        if display_round(k, float(value), d + extra) != display_round(k, float(other), d + extra):
            return d + extra
    return d + MAX_EXTRA_DECIMALS


def format_number(value: float, decimals: int, sign: bool = False) -> str:
    """``value`` with thousands separators and ``decimals`` places, never ``-0``.

    Examples
    --------
    >>> format_number(-0.0004, 2)
    '0.00'
    >>> format_number(1234.5, 0, sign=True)
    '+1,234'
    """
    v = round(float(value), decimals)
    if v == 0:
        v = 0.0
    text = f"{v:,.{decimals}f}"
    if sign and v > 0:
        text = "+" + text
    return text


def unit_label(kpi: str | KPI, currency: str = DEFAULT_CURRENCY) -> str:
    """The unit as written in a column header: ``%``, ``CNY``, ``products``, ``min`` or ``""``."""
    k = _kpi(kpi)
    return {
        "share": "%",
        "money": currency,
        "products": "products per customer",
        "minutes": "min",
    }.get(k.unit, "")


def kpi_label(kpi: str | KPI, currency: str = DEFAULT_CURRENCY, unit: bool = True) -> str:
    """Display name with its unit in brackets, e.g. ``"AUM per customer (CNY)"``.

    Examples
    --------
    >>> kpi_label("aum_per_customer", "EUR")
    'AUM per customer (EUR)'
    >>> kpi_label("product_coverage")
    'Product coverage (%)'
    >>> kpi_label("customers")
    'Customers'
    """
    k = _kpi(kpi)
    u = unit_label(k, currency) if unit else ""
    return f"{k.name} ({u})" if u else k.name


def _missing_text(value: Any, k_min: int | None, with_reason: bool) -> str:
    if isinstance(value, Suppressed):
        return str(value)
    if isinstance(value, Absent):
        return str(value) if with_reason else NOT_AVAILABLE
    if k_min is not None and value is not None:
        return suppressed_marker(k_min)
    return NOT_AVAILABLE


def format_value(
    kpi: str | KPI,
    value: Any,
    currency: str = DEFAULT_CURRENCY,
    *,
    unit: bool = True,
    compact: bool = False,
    decimals: int | None = None,
    with_reason: bool = True,
) -> str:
    """A KPI value as text.

    Parameters
    ----------
    kpi : str or KPI
        KPI id (or breakdown key) of the dictionary.
    value : float, int, Absent, Suppressed or None
        The value; shares as fractions.
    currency : str
        Currency of money values.
    unit : bool
        Append the unit (``CNY``, ``products``, ``min``); shares always carry ``%``. Tables
        whose header names the unit pass ``unit=False``.
    compact : bool
        Money in thousands (``k``), millions (``m``) or billions (``bn``) for sentences.
    decimals : int, optional
        Override the KPI's decimals.
    with_reason : bool
        For an :class:`Absent` value, add the reason in brackets.

    Examples
    --------
    >>> format_value("product_coverage", 0.4567)
    '45.7%'
    >>> format_value("aum", 92690.134, "CNY")
    '92,690 CNY'
    >>> format_value("aum", 3_990_000, "CNY", compact=True)
    '3.99 m CNY'
    >>> format_value("products_per_customer", 2.414)
    '2.41 products'
    >>> format_value("customers", None)
    'n/a'
    >>> format_value("contact_plan_coverage", Absent("no contacts table"))
    'n/a (no contacts table)'
    """
    k = _kpi(kpi)
    if is_missing(value):
        return _missing_text(value, None, with_reason)
    v = float(value)
    d = _decimals(k, decimals)
    if k.id == "target_attainment" and decimals is None:
        return _attainment_text(k, v, d)
    if k.unit == "share":
        return format_number(v * 100, d) + "%"
    if k.unit == "money":
        if compact:
            return _compact_money(v, currency if unit else "")
        text = format_number(v, d)
        return f"{text} {currency}" if unit and currency else text
    text = format_number(v, d)
    if unit and k.unit == "products":
        return f"{text} products"
    if unit and k.unit == "minutes":
        return f"{text} min"
    return text


def _attainment_text(k: KPI, v: float, d: int) -> str:
    """An attainment ratio that never reads 100 % unless it is exactly 1: met and missed are
    decided on the exact figure (:func:`attainment_met`), so 99.96 % shows as ``99.96%`` and a
    ratio closer still to 1 as ``<100%`` (``>100%`` above it)."""
    d = distinct_decimals(k, v, 1.0, d)
    if v != 1.0 and display_round(k, v, d) == 1.0:
        return ("<" if v < 1.0 else ">") + "100%"
    return format_number(v * 100, d) + "%"


def _compact_money(v: float, currency: str) -> str:
    a = abs(v)
    for size, suffix in ((1e9, "bn"), (1e6, "m"), (1e3, "k")):
        if a >= size:
            text = f"{format_number(v / size, 2)} {suffix}"
            break
    else:
        text = format_number(v, 0)
    return f"{text} {currency}".strip()


def format_change(
    kpi: str | KPI,
    delta: Any,
    currency: str = DEFAULT_CURRENCY,
    *,
    unit: bool = True,
    decimals: int | None = None,
) -> str:
    """A change of a KPI as signed text: shares in percentage points.

    Examples
    --------
    >>> format_change("product_coverage", 0.0123)
    '+1.2 pp'
    >>> format_change("products_per_customer", 0.044)
    '+0.04 products'
    >>> format_change("new_deposits", -1250.4, "CNY")
    '-1,250 CNY'
    >>> format_change("customers", -0.2)
    '0'
    """
    k = _kpi(kpi)
    if is_missing(delta):
        return _missing_text(delta, None, True)
    v = float(delta)
    d = _decimals(k, decimals)
    if k.unit == "share":
        return format_number(v * 100, d, sign=True) + " pp"
    text = format_number(v, d, sign=True)
    if not unit:
        return text
    if k.unit == "money" and currency:
        return f"{text} {currency}"
    if k.unit == "products":
        return f"{text} products"
    if k.unit == "minutes":
        return f"{text} min"
    return text


def attainment_met(kpi: str | KPI, actual: Any, target: Any) -> bool | None:
    """Whether ``actual`` meets ``target`` by the KPI's direction, on the exact values.

    The one rule of met and missed: the summary, the sections and the run index all decide
    with it (the index on the attainment ratio against a target of 1). A figure that misses by
    less than its rounding is displayed with more decimals (:func:`distinct_decimals`; an
    attainment ratio by :func:`format_value`), so a report never shows "100.0%" beside
    "missed". ``None`` when either value is missing or the KPI has no direction.

    Examples
    --------
    >>> attainment_met("product_coverage", 0.29996, 0.3), attainment_met("product_coverage", 0.3, 0.3)
    (False, True)
    >>> attainment_met("manager_adequacy", 310, 300)
    False
    """
    k = _kpi(kpi)
    if is_missing(actual) or is_missing(target) or k.direction == "none":
        return None
    a, t = float(actual), float(target)
    return bool(a >= t) if k.direction == "higher" else bool(a <= t)


def format_values(
    values: Mapping[str, Any], currency: str = DEFAULT_CURRENCY, **kwargs: Any
) -> dict[str, str]:
    """Format several ``{metric key: value}`` at once (keys are KPI ids or breakdown keys)."""
    return {key: format_value(key, v, currency, **kwargs) for key, v in values.items()}


def as_float(value: Any) -> float:
    """``value`` as a float, NaN for anything missing (for arithmetic on possibly absent KPIs)."""
    return float("nan") if is_missing(value) else float(np.float64(value))
