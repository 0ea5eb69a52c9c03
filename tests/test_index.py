"""The run index: every report linked, statuses shown, headline numbers, names escaped."""

from __future__ import annotations

from bankanalysis.report.html import ERROR_ANCHOR, local_links
from bankanalysis.report.index import index_html, key_metrics

EVIL = "<script>alert(1)</script>"


def test_index_links_statuses_and_escaping() -> None:
    manifest = {
        "run_id": "run1",
        "status": "incomplete",
        "reason": "1 job failed",
        "counts": {"ok": 1, "failed": 1},
        "notebooks": ["00_bank_overview", "01_customer_segmentation"],
        "regions": [{"region_id": "R1", "name": EVIL, "echelon": "1 (central city)"}],
        "data": {"fingerprint": "f1ngerpr1nt", "data_month": "2024-03"},
        "jobs": [
            {
                "region_id": None,
                "notebook": "00_bank_overview",
                "status": "ok",
                "duration_s": 2.5,
                "html": "_bank/00_bank_overview.html",
                "metrics": {"regions": 2, "aum": 123456789.0},
                "outputs": ["_bank/00_bank_overview/metrics.json"],
            },
            {
                "region_id": "R1",
                "notebook": "01_customer_segmentation",
                "status": "failed",
                "duration_s": 1.0,
                "error": "ValueError: <b>bad</b>",
                "html": "R1/01_customer_segmentation.html",
                "outputs": ["R1/01_customer_segmentation/leads.xlsx"],
            },
        ],
    }
    page = index_html({**manifest, "currency": "EUR"})
    links = local_links(page)
    assert "_bank/00_bank_overview.html" in links
    assert f"R1/01_customer_segmentation.html#{ERROR_ANCHOR}" in links
    assert "R1/01_customer_segmentation/leads.xlsx" in links
    assert "manifest.json" in links
    assert EVIL not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>bad</b>" not in page
    assert "This run is incomplete: 1 job failed" in page
    assert "<li>Assets under management: 123,456,789 EUR</li>" in page
    assert "<li>Regions: 2</li>" in page


def test_index_shows_each_notebooks_headline_kpis_first() -> None:
    metrics = {
        "aum_per_customer": 92690.134,
        "aum": 2.5e9,
        "customers": 1200,
        "targets_met_share": 0.75,
    }
    assert key_metrics(metrics, "00_bank_overview") == [
        ("Customers", "1,200"),
        ("Assets under management", "2,500,000,000 CNY"),
        ("Targets met", "75.0%"),
    ]
    # a headline the report did not record is skipped; others fill up in key order
    del metrics["targets_met_share"]
    assert key_metrics(metrics, "00_bank_overview", currency="EUR") == [
        ("Customers", "1,200"),
        ("Assets under management", "2,500,000,000 EUR"),
        ("AUM per customer", "92,690 EUR"),
    ]
    assert key_metrics(metrics, "99_unknown", n=2) == [
        ("Assets under management", "2,500,000,000 CNY"),
        ("AUM per customer", "92,690 CNY"),
    ]


def test_index_never_prints_a_change_of_products_as_a_percentage() -> None:
    """The old index showed +0.044 products per customer as "expected coverage gain: 4.4 %"."""
    metrics = {"leads": 523, "expected_new_products_per_customer": 0.044}
    assert key_metrics(metrics, "02_cross_sell_propensity") == [
        ("Leads", "523"),
        ("Expected new products per customer", "0.04 products"),
    ]


def test_index_labels_breakdowns_and_gives_the_reason_of_a_missing_value() -> None:
    metrics = {
        "customer_share[tier=vip]": 0.0292,
        "upward_migration_rate": None,
        "_reasons": {"upward_migration_rate": "no base month"},
        "tiers.share.vip": 0.5,  # not a KPI id (an older report): left out
    }
    assert key_metrics(metrics, "01_customer_segmentation") == [
        ("Share of customers (tier vip)", "2.9%"),
        ("Upward migration rate", "n/a (no base month)"),
    ]


def test_index_shows_why_a_job_failed_in_words_not_the_exception_name() -> None:
    """Issue 13: the index showed only "AttributeError: 'NoneType' ..." for the propensity
    reports; the package's own errors are shown by their message, others as unexpected."""
    from bankanalysis.report.index import readable_error

    msg = "the data hold 5 months up to 2025-05; out-of-time evaluation needs at least 7"
    jobs = [
        {
            "region_id": None,
            "notebook": "02_cross_sell_propensity",
            "status": "failed",
            "error": f"ModelError: {msg}",
        },
    ]
    page = index_html({"notebooks": ["02_cross_sell_propensity"], "jobs": jobs})
    assert f'<small title="ModelError">{msg}</small>' in page
    assert readable_error("AttributeError: 'NoneType' object has no attribute 'groupby'") == (
        "unexpected error: 'NoneType' object has no attribute 'groupby'",
        "AttributeError",
    )
    assert readable_error("kernel died (exit 9)") == ("kernel died (exit 9)", "")


def test_index_shows_the_reason_no_product_has_a_model() -> None:
    why = "no product has a model: fund: too few buyers in training: 29 in 2025-01 to 2025-06"
    metrics = {
        "models_beating_baseline": None,
        "leads": 0,
        "_reasons": {"models_beating_baseline": why},
    }
    shown = dict(key_metrics(metrics, "02_cross_sell_propensity"))
    assert why in shown["Models beating the tier baseline"]
