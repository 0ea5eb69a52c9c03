"""Formatting driven by the KPI dictionary: units, signs, absent and withheld values."""

from __future__ import annotations

import math

import pytest

from bankanalysis.report.format import (
    Absent,
    Suppressed,
    attainment_met,
    distinct_decimals,
    format_change,
    format_value,
    kpi_label,
)


@pytest.mark.parametrize(
    ("kpi", "value", "kwargs", "text"),
    [
        ("product_coverage", 0.867, {}, "86.7%"),
        ("product_coverage", 1.0, {}, "100.0%"),
        ("aum_per_customer", 92690.134, {"currency": "CNY"}, "92,690 CNY"),
        ("aum_per_customer", 92690.134, {"currency": "EUR", "unit": False}, "92,690"),
        ("aum", 3_990_000, {"compact": True}, "3.99 m CNY"),
        ("aum", -1_250_000_000, {"compact": True, "currency": "USD"}, "-1.25 bn USD"),
        ("customers", 1234, {}, "1,234"),
        ("products_per_customer", 2.414, {}, "2.41 products"),
        ("vip_service_minutes", 41.6, {}, "42 min"),
        ("self_service_per_outlet", 2.6249, {}, "2.62"),
        ("dea_efficiency", 0.87349, {}, "0.873"),
        ("manager_adequacy", 312.4, {}, "312"),
        ("staff_fte", 1.0, {}, "1.0"),
    ],
)
def test_values_by_unit(kpi, value, kwargs, text):
    assert format_value(kpi, value, **kwargs) == text


def test_never_minus_zero_and_never_nan():
    assert format_value("new_deposits", -0.0001, unit=False) == "0"
    assert format_value("product_coverage", -0.00001) == "0.0%"
    for missing in (None, math.nan, math.inf):
        assert format_value("product_coverage", missing) == "n/a"


def test_absent_says_why_and_withheld_shows_the_marker():
    assert format_value("wealth_card_matching", Absent("no wealth card in the product table")) == (
        "n/a (no wealth card in the product table)"
    )
    assert format_value("customers", Absent("x"), with_reason=False) == "n/a"
    assert format_value("customers", Suppressed(10)) == "<10"


def test_changes_are_signed_in_their_unit():
    assert format_change("product_coverage", 0.0123) == "+1.2 pp"
    assert format_change("products_per_customer", 0.044) == "+0.04 products"
    assert format_change("new_deposits", -1250.4, "CNY") == "-1,250 CNY"
    assert format_change("customers", -0.2) == "0"


def test_labels_carry_units():
    assert kpi_label("aum_per_customer", "EUR") == "AUM per customer (EUR)"
    assert kpi_label("product_coverage") == "Product coverage (%)"
    assert kpi_label("customers") == "Customers"
    assert kpi_label("customer_share[tier=vip]") == "Share of customers (%)"


def test_attainment_is_decided_on_the_exact_value_and_displayed_so():
    # 29.996 % misses a 30 % target (one rule, on the exact value) ...
    assert attainment_met("product_coverage", 0.29996, 0.30) is False
    assert attainment_met("product_coverage", 0.30, 0.30) is True
    assert attainment_met("product_coverage", 0.2994, 0.30) is False
    # ... and is shown with the decimals that tell it from the target, never as "30.0%"
    d = distinct_decimals("product_coverage", 0.29996, 0.30)
    assert d == 3 and format_value("product_coverage", 0.29996, decimals=d) == "29.996%"
    assert distinct_decimals("product_coverage", 0.27, 0.30) == 1  # already apart
    # an attainment ratio reads 100 % only when it is exactly 1
    assert format_value("target_attainment", 0.9996) == "99.96%"
    assert format_value("target_attainment", 1.0004) == "100.04%"
    assert format_value("target_attainment", 0.9999999) == "<100%"
    assert format_value("target_attainment", 1.0) == "100.0%"
    assert format_value("target_attainment", 0.9994) == "99.9%"
    # lower is better: more customers per manager than the target misses it
    assert attainment_met("manager_adequacy", 310, 300) is False
    assert attainment_met("manager_adequacy", 290, 300) is True
    assert attainment_met("customer_share", 0.5, 0.4) is None  # no direction
    assert attainment_met("fee_income", None, 100.0) is None


def test_the_default_currency_is_written_once() -> None:
    """Every report function's currency default is DEFAULT_CURRENCY, not a "CNY" of its own."""
    import ast
    import inspect
    from pathlib import Path

    import bankanalysis
    from bankanalysis.contract import DEFAULT_CURRENCY
    from bankanalysis.params import CommonParams
    from bankanalysis.report import findings, format, summary

    src = Path(bankanalysis.__file__).parent
    literal = [
        f"{p.relative_to(src)}:{node.lineno}"
        for p in sorted(src.rglob("*.py"))
        if p.parts[-2] != "synthetic" and p.name != "contract.py"
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant) and node.value == DEFAULT_CURRENCY
    ]
    assert literal == []
    assert CommonParams().currency == DEFAULT_CURRENCY
    for fn in (format.format_value, findings.compare_sentence, summary.kpi_sentences):
        assert inspect.signature(fn).parameters["currency"].default == DEFAULT_CURRENCY
