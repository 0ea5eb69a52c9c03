"""The KPI dictionary: well-formed entries, one id per KPI, metric keys, the published glossary."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bankanalysis.exceptions import KpiError
from bankanalysis.rules import kpis
from bankanalysis.rules.kpis import KPI, get, is_kpi, metric_key, parse_metric_key

ROOT = Path(__file__).resolve().parents[1]

PLAN_KPIS = {
    "customer_growth",
    "product_coverage",
    "wealth_card_matching",
    "stock_retention",
    "vip_service_duration_ratio",
    "contact_plan_coverage",
    "manager_coverage",
    "manager_adequacy",
    "self_service_per_outlet",
    "device_operating_rate",
    "accounting_replacement_rate",
    "outlet_replacement_rate",
    "new_deposits",
    "fee_income",
    "upward_migration_rate",
}


def test_the_plans_kpis_are_in_the_dictionary_by_name():
    assert PLAN_KPIS <= {k.id for k in kpis.plan_kpis()}


def test_every_entry_names_numerator_denominator_or_window_and_a_compute_function():
    for k in kpis.KPIS.values():
        assert k.definition.endswith("."), k.id
        assert len(k.definition.split()) >= 6, k.id
        assert k.needs, k.id
        module, _, func = k.compute.partition(":")
        assert module.startswith("bankanalysis.") and func, k.id
    ratios = [k for k in kpis.KPIS.values() if k.unit == "share"]
    assert all("divided by" in k.definition or "/" in k.definition for k in ratios)


def test_display_names_are_unique():
    names = [k.name for k in kpis.KPIS.values()]
    assert len(names) == len(set(names))


def test_entries_are_validated():
    with pytest.raises(KpiError, match="unit"):
        KPI("x", "X", "x.", "percent", "higher", ("region",), ("holdings",), "m:f")
    with pytest.raises(KpiError, match="levels"):
        KPI("x", "X", "x.", "share", "higher", ("branch",), ("holdings",), "m:f")
    with pytest.raises(KpiError, match="id"):
        KPI("X-1", "X", "x.", "share", "higher", ("region",), ("holdings",), "m:f")


def test_metric_keys_round_trip():
    key = metric_key("customer_share", tier="vip")
    assert key == "customer_share[tier=vip]"
    assert parse_metric_key(key) == ("customer_share", {"tier": "vip"})
    assert parse_metric_key("model_auc[product=fund,region=R01]") == (
        "model_auc",
        {"product": "fund", "region": "R01"},
    )
    assert metric_key("customers") == "customers"
    assert is_kpi("product_coverage[region=R01]")
    assert not is_kpi("tiers.share.vip")
    assert not is_kpi("no_such_kpi")


def test_unknown_kpis_and_bad_keys_are_refused_with_a_hint():
    with pytest.raises(KpiError, match="not a KPI.*bankanalysis kpis"):
        get("coverage_gain")
    with pytest.raises(KpiError, match="may not contain"):
        metric_key("customer_share", tier="a,b")
    with pytest.raises(KpiError, match="dim=value"):
        parse_metric_key("customers[vip]")


def test_proxy_kpis_say_what_is_measured_instead():
    vip = get("vip_service_duration_ratio")
    assert vip.proxy and "contacts" in vip.proxy


def test_published_glossary_is_current():
    doc = (ROOT / "docs" / "kpis.md").read_text(encoding="utf-8")
    assert doc == kpis.kpis_markdown(), "run: bankanalysis kpis --markdown --out docs/kpis.md"


def test_cli_prints_the_dictionary():
    out = subprocess.run(
        [sys.executable, "-m", "bankanalysis.cli", "kpis", "--plan"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "vip_service_duration_ratio [plan]: VIP customer service duration ratio" in out
    assert "proxy:" in out
    assert "aum_gini" not in out  # --plan leaves descriptive KPIs out


def test_catalogue_errors_name_the_entry(tmp_path):
    bad = tmp_path / "kpis.yaml"
    entry = (
        "- id: a\n  name: A\n  unit: count\n  direction: higher\n  levels: [region]\n"
        "  needs: [holdings]\n  compute: m:f\n  definition: Active customers at the month-end.\n"
    )
    bad.write_text(entry + entry, encoding="utf-8")
    with pytest.raises(KpiError, match="entry 2 \\(a\\): KPI 'a' is declared twice"):
        kpis.load_catalogue(bad)
    bad.write_text(entry.replace("unit: count", "unit: count\n  colour: red"), encoding="utf-8")
    with pytest.raises(KpiError, match="unknown field.*colour"):
        kpis.load_catalogue(bad)
    bad.write_text(entry.replace("  name: A\n", ""), encoding="utf-8")
    with pytest.raises(KpiError, match="entry 1 \\(a\\)"):
        kpis.load_catalogue(bad)


def test_importing_reads_nothing():
    code = (
        "import bankanalysis.rules.kpis as k, sys; "
        "assert '_entries' not in vars(k.KPIS); print(len(k.KPIS))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(out.stdout) == len(kpis.KPIS) > 40


def test_every_kpi_names_a_function_that_exists():
    missing = []
    for kpi_id in kpis.KPIS:
        try:
            assert callable(kpis.compute_function(kpi_id))
        except KpiError:
            missing.append((kpi_id, kpis.KPIS[kpi_id].compute))
    assert not missing
