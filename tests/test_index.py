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
                "metrics": {"regions.count": 2, "aum.total": 123456789.0},
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
    page = index_html(manifest)
    links = local_links(page)
    assert "_bank/00_bank_overview.html" in links
    assert f"R1/01_customer_segmentation.html#{ERROR_ANCHOR}" in links
    assert "R1/01_customer_segmentation/leads.xlsx" in links
    assert "manifest.json" in links
    assert EVIL not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>bad</b>" not in page
    assert "This run is incomplete: 1 job failed" in page
    assert "aum.total: 123,456,789" in page and "regions.count: 2" in page


def test_index_shows_each_notebooks_headline_metrics_first() -> None:
    metrics = {"a.first": 1, "bank.aum": 2.5e9, "bank.customers": 1200, "targets.share_met": 0.75}
    assert key_metrics(metrics, "00_bank_overview") == [
        ("customers", "1,200"),
        ("AUM", "2,500,000,000"),
        ("targets met", "75.0%"),
    ]
    # a headline the report did not record is skipped; others fill up in name order
    del metrics["targets.share_met"]
    assert key_metrics(metrics, "00_bank_overview") == [
        ("customers", "1,200"),
        ("AUM", "2,500,000,000"),
        ("a.first", "1"),
    ]
    assert key_metrics(metrics, "99_unknown", n=2) == [
        ("a.first", "1"),
        ("bank.aum", "2,500,000,000"),
    ]
    assert key_metrics({"tiers.share.vip": None}, "01_customer_segmentation") == [
        ("VIP share", "n/a")
    ]
