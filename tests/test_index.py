"""The run index as a portal: regions by name, plan KPIs with met/missed, bank figures once,
search by outlet, sorting and an echelon filter, provenance last, names escaped."""

from __future__ import annotations

import copy
import re
from html.parser import HTMLParser

import pandas as pd

from bankanalysis.report.html import ERROR_ANCHOR, local_links
from bankanalysis.report.index import (
    INDEX_SCRIPT,
    bank_figures,
    index_columns,
    index_html,
    key_metrics,
    outlet_entries,
    region_rows,
    report_name,
    target_met,
)

EVIL = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(2)>"


class Page(HTMLParser):
    """The parts of the index the tests look at: the regions table, outlet items, scripts."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.heads: list[str] = []
        self.rows: list[dict] = []
        self.outlets: list[dict] = []
        self.scripts: list[str] = []
        self.handlers: list[str] = []
        self.text: list[str] = []
        self._stack: list[str] = []
        self._cell: list[str] | None = None
        self._cell_attrs: dict = {}
        self._in_regions = False
        self._li: dict | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.handlers += [k for k in a if k.startswith("on")]
        self._stack.append(tag)
        if tag == "table" and a.get("id") == "regions":
            self._in_regions = True
        elif tag == "tr" and self._in_regions and "data-echelon" in a:
            self.rows.append({"attrs": a, "cells": [], "values": [], "links": []})
        elif tag in ("td", "th") and self._in_regions:
            self._cell, self._cell_attrs = [], a
        elif tag == "a" and self._in_regions and self.rows and self._cell is not None:
            self.rows[-1]["links"].append(a.get("href"))
        elif tag == "li" and "data-q" in a:
            self._li = {"q": a["data-q"], "links": [], "text": []}
            self.outlets.append(self._li)
        elif tag == "a" and self._li is not None:
            self._li["links"].append(a.get("href"))
        elif tag == "script":
            self.scripts.append("")

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            text = " ".join("".join(self._cell).split())
            if self.rows and "data-echelon" in self.rows[-1]["attrs"] and self._stack_has("tbody"):
                self.rows[-1]["cells"].append(text)
                self.rows[-1]["values"].append(self._cell_attrs.get("data-v"))
            else:
                self.heads.append(text)
            self._cell = None
        if tag == "table":
            self._in_regions = False
        if tag == "li":
            self._li = None
        while self._stack and self._stack.pop() != tag:
            pass

    def _stack_has(self, tag):
        return tag in self._stack

    def handle_data(self, data):
        if self._stack and self._stack[-1] == "script":
            self.scripts[-1] += data
            return
        if "style" in self._stack:
            return
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)
        if self._li is not None:
            self._li["text"].append(data)


def _manifest() -> dict:
    """Two regions, a bank overview with their plan KPIs and targets, two region reports each."""
    overview = {
        "regions": 2,
        "customers": 3000,
        "aum": 123456789.0,
        "targets_met_share": 0.5,
        "customers[region=R1]": 1000,
        "customers[region=R2]": 2000,
        "product_coverage[region=R1]": 0.4567,
        "product_coverage[region=R2]": 0.3,
        "manager_adequacy[region=R1]": None,
        "target_attainment[region=R1,kpi=aum]": 1.02,
        "target_attainment[region=R1,kpi=fee_income]": 0.9996,
        "target_attainment[region=R2,kpi=aum]": 0.8,
        "target_attainment[region=R2,kpi=customers]": 1.0,
        "_reasons": {"manager_adequacy[region=R1]": "no managers table"},
    }
    jobs = [
        {
            "region_id": None,
            "notebook": "00_bank_overview",
            "status": "ok",
            "html": "_bank/00_bank_overview.html",
            "metrics": overview,
        }
    ]
    for rid in ("R1", "R2"):
        jobs += [
            {
                "region_id": rid,
                "notebook": "01_customer_segmentation",
                "status": "ok",
                "html": f"{rid}/01_customer_segmentation.html",
                "metrics": {"customers": 1000 if rid == "R1" else 2000, "stock_retention": 0.9},
                "outputs": [f"{rid}/01_customer_segmentation/metrics.json"],
            },
            {
                "region_id": rid,
                "notebook": "02_cross_sell_propensity",
                "status": "ok",
                "html": f"{rid}/02_cross_sell_propensity.html",
                "metrics": {"models_beating_baseline": 8, "leads": 500},
                "outputs": [f"{rid}/02_cross_sell_propensity/leads.xlsx"],
            },
        ]
    return {
        "run_id": "run1",
        "status": "complete",
        "reason": "5 jobs succeeded",
        "counts": {"ok": 5},
        "currency": "EUR",
        "git_commit": "c0ffee1234",
        "notebooks": ["00_bank_overview", "01_customer_segmentation", "02_cross_sell_propensity"],
        "regions": [
            {"region_id": "R1", "name": EVIL, "echelon": "1 (central city)"},
            {"region_id": "R2", "name": "东湖分行", "echelon": "2 (key development area)"},
        ],
        "outlets": [
            {"name": "明州幸福路支行", "region_id": "R1"},
            {"name": IMG, "region_id": "R1"},
            {"name": "湖滨路支行", "region_id": "R2"},
        ],
        "data": {"fingerprint": "f1ngerpr1nt", "data_month": "2024-03"},
        "jobs": jobs,
    }


def test_regions_are_rows_by_name_with_echelon_reports_and_plan_kpis() -> None:
    page = Page(index_html(_manifest()))
    assert page.heads[:4] == ["Region", "Echelon", "Reports", "Targets met"]
    assert "Assets under management (EUR)" in page.heads
    assert "Product coverage (%)" in page.heads and "Customers" in page.heads
    # no notebook file names as headers
    assert not [h for h in page.heads if "_" in h]
    r1, r2 = page.rows
    assert r1["cells"][0] == EVIL and r2["cells"][0] == "东湖分行"
    assert r1["cells"][1] == "1 (central city)"
    assert r1["links"][:2] == [
        "R1/01_customer_segmentation.html",
        "R1/02_cross_sell_propensity.html",
    ]
    assert "R1/02_cross_sell_propensity/leads.xlsx" in r1["links"]
    assert "Customer segmentation" in r1["cells"][2] and "Cross-sell leads" in r1["cells"][2]
    col = {h: i for i, h in enumerate(page.heads)}
    assert r1["cells"][col["Customers"]] == "1,000"
    assert r1["values"][col["Customers"]] == "1000.0"
    assert r1["cells"][col["Product coverage (%)"]] == "45.7%"
    assert r1["cells"][col["Stock customer retention rate (%)"]] == "90.0%"
    # met / missed on the exact attainment: 99.96% is missed and shown so, never as "100.0%"
    assert r1["cells"][col["Assets under management (EUR)"]] == "✓ met (102.0% of target)"
    assert r1["cells"][col["Intermediary (fee) income (EUR)"]] == "✗ missed (99.96% of target)"
    assert r2["cells"][col["Assets under management (EUR)"]] == "✗ missed (80.0% of target)"
    assert r2["cells"][col["Intermediary (fee) income (EUR)"]] == "n/a"
    assert r2["cells"][col["Customers"]] == "2,000 ✓ met (100.0% of target)"
    assert r1["cells"][col["Targets met"]] == "1 of 2" and r1["values"][col["Targets met"]] == "0.5"
    assert r2["cells"][col["Targets met"]] == "1 of 2"
    # a value the report could not compute keeps its reason (in a tooltip), never 0
    assert r1["cells"][col["Full-time account-manager adequacy ratio"]] == "n/a"
    assert 'title="no managers table"' in index_html(_manifest())


def test_bank_wide_figures_are_shown_once_with_the_currency() -> None:
    manifest = _manifest()
    page = index_html(manifest)
    text = "".join(Page(page).text)
    assert text.count("Models beating the tier baseline") == 1
    assert "Models beating the tier baseline: 8" in text
    assert "Assets under management: 123,456,789 EUR" in text
    assert "money in EUR" in text
    assert bank_figures(manifest, "EUR") == [
        ("Regions", "2"),
        ("Customers", "3,000"),
        ("Assets under management", "123,456,789 EUR"),
        ("Targets met", "50.0%"),
        ("Models beating the tier baseline", "8"),
    ]
    manifest["jobs"][-1]["metrics"]["models_beating_baseline"] = 6
    assert bank_figures(manifest)[-1] == (
        "Models beating the tier baseline",
        "6 to 8 (differs between the regions' reports)",
    )
    assert "_bank/00_bank_overview.html" in local_links(page)
    assert page.index('id="bank"') < page.index('id="regions"')


def test_search_list_holds_every_outlet_with_its_regions_reports() -> None:
    page = Page(index_html(_manifest()))
    names = [o["q"] for o in page.outlets]
    assert names == ["明州幸福路支行", IMG, "湖滨路支行"]
    east = page.outlets[2]
    assert east["links"] == [
        "R2/01_customer_segmentation.html",
        "R2/02_cross_sell_propensity.html",
    ]
    assert "东湖分行" in "".join(east["text"])
    # a region row is found by its name or any of its outlets' names
    assert "湖滨路支行" in page.rows[1]["attrs"]["data-q"]
    assert "东湖分行" in page.rows[1]["attrs"]["data-q"]


def test_hostile_names_are_text_and_the_only_script_is_the_indexs_own() -> None:
    raw = index_html(_manifest())
    page = Page(raw)
    assert EVIL not in raw and IMG not in raw
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in raw
    assert page.scripts == [INDEX_SCRIPT]
    assert "alert" not in INDEX_SCRIPT and page.handlers == []
    assert EVIL in "".join(page.text) and IMG in [o["q"] for o in page.outlets]
    # the script reads names only as data, never writes markup
    assert "innerHTML" not in INDEX_SCRIPT and "eval" not in INDEX_SCRIPT


def test_sorting_and_filtering_are_wired_and_degrade_without_script() -> None:
    raw = index_html(_manifest())
    page = Page(raw)
    n_kpis = len(page.heads) - 4
    assert raw.count('class="sortable"') == 1 + n_kpis  # targets met + every KPI column
    assert raw.count('class="name sortable" data-type="text"') == 1
    assert '<div class="controls" id="controls" hidden>' in raw  # shown by the script only
    assert '<option value="1 (central city)">' in raw
    assert [r["attrs"]["data-echelon"] for r in page.rows] == [
        "1 (central city)",
        "2 (key development area)",
    ]
    for needle in ('addEventListener("click"', 'getElementById("echelon")', "aria-sort"):
        assert needle in INDEX_SCRIPT
    # without script the outlet list is a plain collapsed list of links
    assert '<details id="outlets">' in raw


def test_provenance_is_at_the_bottom() -> None:
    raw = index_html(_manifest())
    table_end = raw.index("</table>")
    for needle in ("f1ngerpr1nt", "c0ffee1234", "Data fingerprint", "run1"):
        assert raw.index(needle, raw.index("<body>")) > table_end, needle
    assert raw.index('<footer class="provenance"') > table_end
    assert "<dt>Currency</dt><dd>EUR</dd>" in raw


def test_index_links_statuses_and_failures() -> None:
    manifest = _manifest()
    manifest.update(status="incomplete", reason="1 job failed")
    job = manifest["jobs"][1]
    job.update(status="failed", error="ValueError: <b>bad</b>")
    page = index_html(manifest)
    links = local_links(page)
    assert f"R1/01_customer_segmentation.html#{ERROR_ANCHOR}" in links
    assert "manifest.json" in links and "kpis.html" in links
    assert "<b>bad</b>" not in page and "unexpected error: &lt;b&gt;bad&lt;/b&gt;" in page
    assert "This run is incomplete: 1 job failed" in page
    assert page.count('class="status ok"') == 4 and page.count('class="status failed"') == 1


def test_region_values_prefer_the_regions_report_and_fall_back_to_the_overview() -> None:
    manifest = _manifest()
    rows = region_rows(manifest)
    assert [r.name for r in rows] == [EVIL, "东湖分行"]
    assert rows[0].values["customers"] == 1000.0
    assert rows[0].values["product_coverage"] == 0.4567  # from the overview only
    assert rows[0].values["manager_adequacy"].reason == "no managers table"
    assert rows[0].attainment == {"aum": 1.02, "fee_income": 0.9996}
    assert rows[0].targets == (1, 2)
    # the region report's own attainment wins over the overview's
    manifest["jobs"][1]["metrics"]["target_attainment[kpi=aum]"] = 0.5
    assert region_rows(manifest)[0].attainment["aum"] == 0.5
    cols = index_columns(rows)
    assert cols[:3] == ["customers", "stock_retention", "product_coverage"]
    assert "fee_income" in cols and "leads" not in cols


def test_a_figure_one_report_withholds_is_not_filled_from_another() -> None:
    manifest = _manifest()
    own = manifest["jobs"][1]["metrics"]
    own["product_coverage"] = None  # the region's report withholds what the overview prints
    own["target_attainment[kpi=aum]"] = None
    own["_reasons"] = {
        "product_coverage": "withheld so that a withheld figure cannot be worked out from it",
        "target_attainment[kpi=aum]": "withheld: fewer than 10 customers",
    }
    row = region_rows(manifest)[0]
    assert str(row.values["product_coverage"]) == "x"  # not the overview's 45.7 %
    assert "aum" not in row.attainment and row.attainment["fee_income"] == 0.9996
    html = index_html(manifest)
    assert "45.7%" not in html


def test_a_kpi_known_only_through_its_withheld_attainment_is_shown_withheld() -> None:
    """The run withholds a region's AUM (docs/privacy.md): no report records its value, the
    overview its attainment as withheld; the index shows the column with ``x`` rather than
    leaving the figure (or the column, when every region's is withheld) out."""
    manifest = _manifest()
    overview = manifest["jobs"][0]["metrics"]
    own = manifest["jobs"][1]["metrics"]
    own.pop("target_attainment[kpi=aum]", None)
    overview["target_attainment[region=R1,kpi=aum]"] = None
    overview.setdefault("_reasons", {})["target_attainment[region=R1,kpi=aum]"] = (
        "withheld so that a withheld figure cannot be worked out from it"
    )
    rows = region_rows(manifest)
    assert "aum" not in rows[0].attainment
    assert str(rows[0].values["aum"]) == "x"
    assert "aum" in index_columns(rows)


def test_target_met_uses_the_exact_attainment_and_the_kpis_direction() -> None:
    from bankanalysis.report.format import attainment_met

    assert target_met("aum", 1.0) is True
    # 99.96 % misses, as the summary's "targets missed" says (the same function decides)
    assert target_met("aum", 0.9996) is False
    assert target_met("aum", 0.9996) == attainment_met("aum", 99.96, 100.0)
    assert target_met("aum", 0.9994) is False
    assert target_met("manager_adequacy", 0.95) is True  # lower is better
    assert target_met("manager_adequacy", 1.01) is False
    assert target_met("aum", None) is None


def test_outlet_entries_follow_the_regions_of_the_run() -> None:
    outlets = pd.DataFrame(
        {
            "outlet_id": ["O1", "O2", "O3"],
            "region_id": ["R1", "R2", "R1"],
            "name": ["East", "West", "North"],
        }
    )
    assert outlet_entries(outlets, ["R1", "R9"]) == [
        {"name": "East", "region_id": "R1"},
        {"name": "North", "region_id": "R1"},
    ]
    assert outlet_entries(outlets.drop(columns="name"), ["R2"]) == [
        {"name": "O2", "region_id": "R2"}
    ]
    assert outlet_entries(None, ["R1"]) == []


def test_120_regions_stay_one_table_with_every_row_and_echelon() -> None:
    base = _manifest()
    manifest = copy.deepcopy(base)
    manifest["regions"] = [
        {"region_id": f"R{i:03d}", "name": f"Region {i}", "echelon": str(1 + i % 3)}
        for i in range(120)
    ]
    manifest["outlets"] = [
        {"name": f"Outlet {i}-{k}", "region_id": f"R{i:03d}"} for i in range(120) for k in range(3)
    ]
    manifest["jobs"] = [base["jobs"][0]] + [
        {
            "region_id": f"R{i:03d}",
            "notebook": "01_customer_segmentation",
            "status": "ok",
            "html": f"R{i:03d}/01_customer_segmentation.html",
            "metrics": {"customers": 1000 + i, "product_coverage": i / 200},
        }
        for i in range(120)
    ]
    raw = index_html(manifest)
    page = Page(raw)
    assert len(page.rows) == 120 and len(page.outlets) == 360
    assert {r["attrs"]["data-echelon"] for r in page.rows} == {"1", "2", "3"}
    assert raw.count("<option value=") == 4  # all + three echelons
    assert len(raw) < 1_000_000


def test_report_names_are_words() -> None:
    assert report_name("00_bank_overview") == "Bank overview"
    assert report_name("07_new_report") == "New report"


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
    del metrics["targets_met_share"]
    assert key_metrics(metrics, "00_bank_overview", currency="EUR") == [
        ("Customers", "1,200"),
        ("Assets under management", "2,500,000,000 EUR"),
        ("AUM per customer", "92,690 EUR"),
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
    assert f'<small class="why" title="ModelError">{msg}</small>' in page
    assert readable_error("AttributeError: 'NoneType' object has no attribute 'groupby'") == (
        "unexpected error: 'NoneType' object has no attribute 'groupby'",
        "AttributeError",
    )
    assert readable_error("kernel died (exit 9)") == ("kernel died (exit 9)", "")


def test_bank_figures_give_the_reason_no_product_has_a_model() -> None:
    why = "no product has a model: fund: too few buyers in training: 29 in 2025-01 to 2025-06"
    manifest = {
        "jobs": [
            {
                "region_id": "R1",
                "notebook": "02_cross_sell_propensity",
                "metrics": {
                    "models_beating_baseline": None,
                    "_reasons": {"models_beating_baseline": why},
                },
            }
        ]
    }
    shown = dict(bank_figures(manifest))
    assert why in shown["Models beating the tier baseline"]


def test_every_report_links_to_its_regions_other_reports_and_the_overview() -> None:
    from bankanalysis.report.html import ReportHeader, header_html
    from bankanalysis.report.index import sibling_links

    planned = [
        (None, "00_bank_overview"),
        ("R1", "01_customer_segmentation"),
        ("R1", "02_cross_sell_propensity"),
        ("R1", "03_outlet_benchmarking"),
        ("R2", "01_customer_segmentation"),
    ]
    links = sibling_links("R1", "02_cross_sell_propensity", planned)
    assert links == [
        ("Bank overview", "../_bank/00_bank_overview.html"),
        ("Customer segmentation", "01_customer_segmentation.html"),
        ("Outlet benchmarking", "03_outlet_benchmarking.html"),
    ]
    assert sibling_links(None, "00_bank_overview", planned) == []
    assert sibling_links("R2", "01_customer_segmentation", planned) == [
        ("Bank overview", "../_bank/00_bank_overview.html")
    ]
    header = ReportHeader("t", "R1", EVIL, "1", "2024-03", siblings=links)
    page = header_html(header)
    nav = page[page.index("<nav") : page.index("</nav>")]
    assert local_links(nav) == [
        "../index.html",
        "../kpis.html",
        "../_bank/00_bank_overview.html",
        "01_customer_segmentation.html",
        "03_outlet_benchmarking.html",
        "#appendix",
    ]
    assert ">Outlet benchmarking</a>" in nav


def test_region_rows_carry_the_plan_progress_columns_sortable() -> None:
    manifest = _manifest()
    overview = manifest["jobs"][0]["metrics"]
    overview["plan_ytd_attainment[region=R1,kpi=new_deposits]"] = 0.8123
    overview["plan_ytd_attainment[region=R2,kpi=new_deposits]"] = 1.05
    overview["plan_ytd_attainment[region=R2,kpi=fee_income]"] = None
    overview["_reasons"]["plan_ytd_attainment[region=R2,kpi=fee_income]"] = "no fee income"
    # the region's own report wins over the overview
    manifest["jobs"][1]["metrics"]["plan_ytd_attainment[kpi=new_deposits]"] = 0.9
    rows = region_rows(manifest)
    assert rows[0].values["plan_ytd_attainment[kpi=new_deposits]"] == 0.9
    assert rows[1].values["plan_ytd_attainment[kpi=new_deposits]"] == 1.05
    assert rows[1].values["plan_ytd_attainment[kpi=fee_income]"].reason == "no fee income"
    cols = index_columns(rows)
    assert cols[-2:] == [
        "plan_ytd_attainment[kpi=new_deposits]",
        "plan_ytd_attainment[kpi=fee_income]",
    ]
    text = index_html(manifest)
    page = Page(text)
    col = {h: i for i, h in enumerate(page.heads)}
    head = "Year-to-date attainment of the annual plan: New personal deposits (%)"
    fee = "Year-to-date attainment of the annual plan: Intermediary (fee) income (%)"
    r1, r2 = page.rows
    assert (r1["cells"][col[head]], r1["values"][col[head]]) == ("90.0%", "0.9")
    assert (r2["cells"][col[head]], r2["values"][col[head]]) == ("105.0%", "1.05")
    assert (r2["cells"][col[fee]], r2["values"][col[fee]]) == ("n/a", "")
    # sortable like the other KPI columns, the KPI's definition as the tooltip
    assert re.search(
        r'<th class="sortable" scope="col" title="The KPI[^"]*">' + re.escape(head), text
    )


def test_120_branches_of_the_region_catalogue_sort_by_any_kpi_and_filter_by_echelon_offline():
    """A bank of 120 secondary branches (the synthetic catalogue's names and echelons), three
    reports each: every KPI column sorts by a number per row, echelons filter, nothing online."""
    from bankanalysis.contract import ECHELONS
    from bankanalysis.synthetic.spec import region_catalogue

    cat = region_catalogue(120)
    label = {e: f"{e} ({name})" for e, name in ECHELONS.items()}
    regions = [{"region_id": r[0], "name": r[1], "echelon": label[r[2]]} for r in cat]
    jobs = [dict(_manifest()["jobs"][0], metrics={"regions": 120})]
    for i, (rid, *_rest) in enumerate(cat):
        seg = {"customers": 5000 + (i * 37) % 120, "stock_retention": 0.8 + (i % 17) / 100}
        if i % 10 == 3:
            del seg["stock_retention"]  # a missing value sorts as empty, never as 0
        for nb, metrics in (
            ("01_customer_segmentation", seg),
            ("02_cross_sell_propensity", {"models_beating_baseline": i % 9}),
            ("03_outlet_benchmarking", {}),
        ):
            jobs.append(
                {"region_id": rid, "notebook": nb, "status": "ok", "html": f"{rid}/{nb}.html"}
                | {"metrics": metrics}
            )
    manifest = _manifest() | {"regions": regions, "outlets": [], "jobs": jobs}
    raw = index_html(manifest)
    page = Page(raw)
    assert len(page.rows) == 120
    assert [r["cells"][0] for r in page.rows] == [r[1] for r in cat]
    # echelon filter: one option per echelon, every row tagged with its own
    for e in (1, 2, 3):
        assert f'<option value="{label[e]}">' in raw
    tags = pd.Series([r["attrs"]["data-echelon"] for r in page.rows]).value_counts().to_dict()
    assert tags == {label[1]: 12, label[2]: 36, label[3]: 72}
    # every sortable KPI column: one data-v per row, a number or empty when the value is missing
    kpi_heads = page.heads[4:]
    columns = index_columns(region_rows(manifest))
    assert len(columns) == len(kpi_heads)
    col_of = {k: 4 + i for i, k in enumerate(columns)}
    assert kpi_heads and raw.count('class="sortable"') == 1 + len(kpi_heads)
    assert {r["values"][3] for r in page.rows} == {""}  # no targets: "Targets met" sorts empty
    for col in range(4, 4 + len(kpi_heads)):
        values = [r["values"][col] for r in page.rows]
        assert all(v is not None for v in values)
        numbers = [float(v) for v in values if v != ""]
        assert numbers, page.heads[col]
    customers = [float(r["values"][col_of["customers"]]) for r in page.rows]
    assert customers == [5000 + (i * 37) % 120 for i in range(120)]
    retention = [r["values"][col_of["stock_retention"]] for r in page.rows]
    assert retention.count("") == 12 and "0.0" not in retention
    # offline: one inline script, no remote resources or links
    assert page.scripts == [INDEX_SCRIPT] and "<script src" not in raw
    assert "http://" not in raw and "https://" not in raw and 'src="//' not in raw
    assert len(raw) < 1_000_000
