"""metrics.json: KPI ids only, absent values null with their reason, atomic rewrites."""

from __future__ import annotations

import json

import pytest

from bankanalysis.exceptions import KpiError
from bankanalysis.report.format import Absent, Suppressed
from bankanalysis.report.metrics import MetricsRecorder, read_metric_reasons, read_metrics


def test_records_kpis_and_reasons(tmp_path):
    m = MetricsRecorder(tmp_path)
    m.record("customers", 3601)
    m.record_many(
        {
            "customer_share[tier=vip]": 0.0339,
            "wealth_card_matching": Absent("not applicable: no wealth card in the product table"),
            "customer_share[tier=private_banking]": Suppressed(10),
            "aum_gini": float("nan"),
        }
    )
    values = read_metrics(tmp_path / "metrics.json")
    assert values == {
        "aum_gini": None,
        "customer_share[tier=private_banking]": None,
        "customer_share[tier=vip]": 0.0339,
        "customers": 3601,
        "wealth_card_matching": None,
    }
    reasons = read_metric_reasons(tmp_path / "metrics.json")
    assert reasons["wealth_card_matching"].startswith("not applicable")
    assert reasons["customer_share[tier=private_banking]"] == "withheld: fewer than 10 customers"
    assert reasons["aum_gini"] == "not computed"
    raw = json.loads((tmp_path / "metrics.json").read_text())
    assert "NaN" not in (tmp_path / "metrics.json").read_text()
    assert set(raw) == {*values, "_reasons"}


def test_a_value_recorded_later_clears_its_reason(tmp_path):
    m = MetricsRecorder(tmp_path)
    m.record("customers", None)
    m.record("customers", 12)
    assert read_metric_reasons(tmp_path / "metrics.json") == {}


def test_keys_that_are_not_kpis_are_refused():
    m = MetricsRecorder(None)
    with pytest.raises(KpiError, match="not a KPI id"):
        m.record("tiers.share.vip", 0.1)
    with pytest.raises(TypeError):
        m.record("customers", "many")
