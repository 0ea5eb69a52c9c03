"""The run's KPI glossary page and the links every report and the index make to it."""

from __future__ import annotations

from bankanalysis.report.glossary import GLOSSARY_FILE, glossary_html
from bankanalysis.report.html import local_links
from bankanalysis.rules.kpis import KPIS


def test_glossary_lists_every_kpi_with_definition_unit_and_proxy():
    page = glossary_html("EUR")
    for k in KPIS.values():
        assert f'id="{k.id}"' in page
    assert page.index("Customer contact-plan coverage") < page.index("Other KPIs")
    assert "Proxy:" in page and "EUR" in page
    assert "<script" not in page


def test_the_run_links_reports_to_the_glossary_and_back(ci_run):
    run = ci_run.run_dir
    assert (run / GLOSSARY_FILE).is_file()
    assert GLOSSARY_FILE in local_links((run / "index.html").read_text(encoding="utf-8"))
    for r in ci_run.result.results:
        page = (run / r.html).read_text(encoding="utf-8")
        links = local_links(page)
        assert "../kpis.html" in links and "../index.html" in links, r.name
        assert (run / r.html).parent.joinpath("../kpis.html").resolve().is_file()
